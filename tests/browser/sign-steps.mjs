// The signing page's steps in the browser run (tests/browser/run.mjs): an approval system enrols
// a signer and opens a signing session; the applicant opens /sign/{token} on a phone, sees who
// signs and the consent text, is stopped from sending an empty pad, has a too-short scribble
// refused by the server with the drawing kept, then signs with a pen (pressure), a mouse and a
// finger, agrees and submits; the session then holds that capture, and the link is gone. Last,
// a second session's page in large-type mode.
//
// ctx as run.mjs makes it: { env, BASE, api, browser, state }, env.SIGN_KEY (a client with scope
// `sign`) and env.ARTEFACTS. The steps use a page of their own (ctx.sign, a phone with touch),
// so they may run anywhere in the list, and each ends with $ARTEFACTS/sign-NN-name.png.
import assert from 'node:assert/strict';

const SIGNER = {
  name: '张三', id_type: 'resident_id', id_number: '11010519491231002X', phone: '13800138000', verified_by: 'face',
};
const CONSENT = '本人已阅读《食品经营许可申请书》全部内容，确认所填信息真实有效，同意以本手写签名签署该申请书。\n'
  + 'I have read the application and sign it with this handwritten signature.';

/** The phone the applicant signs on, made at the first step. */
async function phone(ctx) {
  if (!ctx.sign) {
    const context = await ctx.browser.newContext({
      locale: 'zh-CN', viewport: { width: 412, height: 915 }, deviceScaleFactor: 2, isMobile: true, hasTouch: true,
    });
    const page = await context.newPage();
    page.setDefaultTimeout(15000);
    // What the page does wrong (a script error, a CSP refusal) fails the step it happens in.
    ctx.signProblems = [];
    page.on('pageerror', (e) => ctx.signProblems.push(String(e)));
    // (A 4xx answer is logged as "Failed to load resource": the steps check those answers.)
    page.on('console', (m) => {
      if (m.type() === 'error' && !m.text().startsWith('Failed to load resource')) ctx.signProblems.push(m.text());
    });
    ctx.signCaptures = [];
    page.on('request', (r) => { if (r.method() === 'POST' && /\/sign\/[^/]+\/capture$/.test(r.url())) ctx.signCaptures.push(r); });
    ctx.sign = page;
    ctx.signShots = 0;
  }
  return ctx.sign;
}

/** Screenshot of the signing page, and no page errors so far. */
async function shot(ctx, name) {
  ctx.signShots += 1;
  await ctx.sign.screenshot({ path: `${ctx.env.ARTEFACTS}/sign-${String(ctx.signShots).padStart(2, '0')}-${name}.png`, fullPage: true });
  assert.deepEqual(ctx.signProblems, [], 'the signing page logged errors');
}

async function open(ctx, url) {
  const page = await phone(ctx);
  const res = await page.goto(`${ctx.BASE}${url}`);
  return res;
}

async function ready(page) {
  await page.waitForSelector('#sign-form[data-state="ready"]');
}

const strokesShown = (page) => page.getAttribute('#sign-form', 'data-strokes').then(Number);

/**
 * Pen strokes as a tablet sends them: PointerEvents with pointerType 'pen', a pressure curve, a
 * sample every 8 ms (real waits, so the times are real). Each stroke is a list of [fx, fy]
 * fractions of the pad.
 */
function penStrokes(page, strokes) {
  return page.evaluate(async (list) => {
    const pad = document.getElementById('pad');
    const wait = (ms) => new Promise((r) => setTimeout(r, ms));
    let id = 41;
    for (const pts of list) {
      id += 1;
      const at = ([fx, fy], i, r = pad.getBoundingClientRect()) => ({
        pointerId: id, pointerType: 'pen', isPrimary: true, bubbles: true, cancelable: true, composed: true,
        clientX: r.left + fx * r.width, clientY: r.top + fy * r.height,
        pressure: 0.25 + 0.5 * Math.sin((Math.PI * i) / (pts.length - 1 || 1)), width: 1, height: 1,
      });
      pad.dispatchEvent(new PointerEvent('pointerdown', { ...at(pts[0], 0), button: 0, buttons: 1 }));
      for (let i = 1; i < pts.length; i++) {
        await wait(8);
        pad.dispatchEvent(new PointerEvent('pointermove', { ...at(pts[i], i), button: -1, buttons: 1 }));
      }
      await wait(8);
      pad.dispatchEvent(new PointerEvent('pointerup', { ...at(pts[pts.length - 1], pts.length - 1), pressure: 0, button: 0, buttons: 0 }));
      await wait(120); // the pen lifted between strokes
    }
  }, strokes);
}

/**
 * A pen stroke through the browser's own input pipeline (CDP, trusted events: pointer capture
 * and coalescing as from a tablet), the pen's force following the same curve; [fx, fy] points.
 */
async function cdpPen(page, pts) {
  const cdp = await page.context().newCDPSession(page);
  const at = await onPad(page);
  const send = (type, i) => {
    const [x, y] = at(pts[i]);
    return cdp.send('Input.dispatchMouseEvent', {
      type, x, y, button: 'left', buttons: type === 'mouseReleased' ? 0 : 1, clickCount: 1, pointerType: 'pen',
      force: 0.25 + 0.5 * Math.sin((Math.PI * i) / (pts.length - 1)),
    });
  };
  await send('mousePressed', 0);
  for (let i = 1; i < pts.length; i++) {
    await page.waitForTimeout(8);
    await send('mouseMoved', i);
  }
  await send('mouseReleased', pts.length - 1);
  await cdp.detach();
  await page.waitForTimeout(120);
}

/** `n` + 1 points along f(u), u from 0 to 1. */
const path = (n, f) => Array.from({ length: n + 1 }, (_, i) => f(i / n));

/** Page coordinates of a fraction of the pad. */
async function onPad(page) {
  const r = await page.locator('#pad').boundingBox();
  return ([fx, fy]) => [r.x + fx * r.width, r.y + fy * r.height];
}

export const signSteps = [
  ['sign-session-opened', async (ctx) => {
    const { api, env } = ctx;
    const signer = await api('POST', '/v1/signers', env.SIGN_KEY, SIGNER);
    assert.ok(signer.id, JSON.stringify(signer));
    const session = await api('POST', `/v1/signers/${encodeURIComponent(signer.id)}/sessions`, env.SIGN_KEY, { consent: CONSENT });
    assert.ok(session.id && session.expires_at, JSON.stringify(session));
    assert.match(session.url, /^\/sign\/[^/?#]+$/);
    assert.ok(Date.parse(session.expires_at) > Date.now());
    ctx.state.signer = signer;
    ctx.state.signSession = session;
    const res = await open(ctx, session.url);
    assert.equal(res.status(), 200);
    await ready(ctx.sign);
    await shot(ctx, 'opened');
  }],
  ['sign-page-shows-signer-and-consent', async (ctx) => {
    const page = ctx.sign;
    assert.equal(await page.textContent('#signer'), '张*');
    // Exactly the session's text, line break kept.
    assert.equal(await page.textContent('#consent'), CONSENT);
    assert.equal(await page.evaluate(() => document.getElementById('consent').innerText.split('\n').length), 2);
    // Every control has its name; the pad has a name and says how to sign.
    await page.getByRole('checkbox', { name: '我已阅读并同意以上内容' }).waitFor();
    const pad = page.getByRole('img', { name: '签名区' });
    await pad.waitFor();
    const described = await pad.evaluate((c) => c.getAttribute('aria-describedby').split(' ')
      .map((id) => document.getElementById(id).textContent).join(' '));
    assert.ok(described.includes('手指') && described.includes('手写笔') && described.includes('鼠标'), described);
    await page.getByRole('button', { name: '清除重写' }).waitFor();
    await page.getByRole('button', { name: '提交签名' }).waitFor();
    assert.equal(await page.getAttribute('#status', 'role'), 'status');
    assert.equal(await page.getAttribute('#error', 'role'), 'alert');
    // A phone: the pad as wide as the page, nothing wider than the screen, large buttons.
    const m = await page.evaluate(() => ({
      pad: document.getElementById('pad').getBoundingClientRect().width,
      main: document.querySelector('main').clientWidth,
      scroll: document.documentElement.scrollWidth,
      inner: window.innerWidth,
      buttons: [...document.querySelectorAll('.actions button')].map((b) => b.getBoundingClientRect().height),
      touchAction: getComputedStyle(document.getElementById('pad')).touchAction,
    }));
    assert.ok(m.pad >= m.main - 2 * 18 - 8, JSON.stringify(m));
    assert.ok(m.scroll <= m.inner, JSON.stringify(m));
    assert.ok(m.buttons.every((h) => h >= 44), JSON.stringify(m));
    assert.equal(m.touchAction, 'none');
    await shot(ctx, 'consent');
  }],
  ['sign-empty-pad-refused-here', async (ctx) => {
    const page = ctx.sign;
    const before = ctx.signCaptures.length;
    await page.click('#submit');
    await page.locator('#error').filter({ hasText: '请先在签名框内写下您的签名' }).waitFor();
    assert.equal(ctx.signCaptures.length, before, 'nothing is sent for an empty pad');
    assert.equal(await page.getAttribute('#sign-form', 'data-state'), 'ready');
    await shot(ctx, 'empty-refused');
  }],
  ['sign-scribble-refused-by-server', async (ctx) => {
    const page = ctx.sign;
    // A flick of 6 points in 40 ms: the server's checks refuse it, and the drawing stays.
    await page.evaluate(async () => {
      const pad = document.getElementById('pad');
      const ev = (type, i, r = pad.getBoundingClientRect()) => new PointerEvent(type, {
        pointerId: 7, pointerType: 'pen', isPrimary: true, bubbles: true, pressure: 0.4,
        clientX: r.left + r.width * (0.4 + i * 0.01), clientY: r.top + r.height * 0.5, buttons: type === 'pointerup' ? 0 : 1,
      });
      pad.dispatchEvent(ev('pointerdown', 0));
      for (let i = 1; i <= 5; i++) {
        await new Promise((res) => setTimeout(res, 8));
        pad.dispatchEvent(ev('pointermove', i));
      }
      pad.dispatchEvent(ev('pointerup', 5));
    });
    assert.equal(await strokesShown(page), 1);
    await page.check('#agree');
    const [res] = await Promise.all([
      page.waitForResponse((r) => /\/capture$/.test(r.url())),
      page.click('#submit'),
    ]);
    assert.equal(res.status(), 400);
    const body = await res.json();
    assert.equal(body.error.code, 'invalid_capture');
    await page.locator('#error').filter({ hasText: '签名未通过检查' }).waitFor();
    assert.ok((await page.textContent('#error')).includes(body.error.message));
    assert.equal(await page.getAttribute('#sign-form', 'data-state'), 'ready');
    assert.equal(await strokesShown(page), 1, 'the drawing is kept');
    await shot(ctx, 'scribble-refused');
  }],
  ['sign-draw-pen-mouse-finger', async (ctx) => {
    const page = ctx.sign;
    await page.click('#clear');
    assert.equal(await strokesShown(page), 0);
    await page.locator('#status').filter({ hasText: '已清除' }).waitFor();
    // Two pen strokes with pressure: a wave (PointerEvents made in the page) and a loop (the
    // browser's input pipeline), 36 and 40 samples.
    await penStrokes(page, [path(35, (u) => [0.1 + 0.45 * u, 0.55 - 0.18 * Math.sin(4 * Math.PI * u) * (1 - u / 2)])]);
    await cdpPen(page, path(39, (u) => [0.42 + 0.12 * Math.cos(2 * Math.PI * u) + 0.12 * u, 0.45 + 0.2 * Math.sin(2 * Math.PI * u)]));
    // A mouse underline, a sample every ~10 ms.
    const at = await onPad(page);
    let [x, y] = at([0.1, 0.75]);
    await page.mouse.move(x, y);
    await page.mouse.down();
    for (const p of path(24, (u) => [0.1 + 0.5 * u, 0.75 + 0.04 * Math.sin(Math.PI * u)]).slice(1)) {
      [x, y] = at(p);
      await page.waitForTimeout(10);
      await page.mouse.move(x, y);
    }
    await page.mouse.up();
    // A finger's tick, through the touch screen.
    const cdp = await page.context().newCDPSession(page);
    const touch = path(19, (u) => [0.7 + 0.15 * u, 0.6 - 0.3 * u + 0.4 * Math.max(0, 0.3 - u)]);
    const tp = (p) => { const [tx, ty] = at(p); return { x: tx, y: ty, id: 1, radiusX: 4, radiusY: 4 }; };
    await cdp.send('Input.dispatchTouchEvent', { type: 'touchStart', touchPoints: [tp(touch[0])] });
    for (const p of touch.slice(1)) {
      await page.waitForTimeout(10);
      await cdp.send('Input.dispatchTouchEvent', { type: 'touchMove', touchPoints: [tp(p)] });
    }
    await cdp.send('Input.dispatchTouchEvent', { type: 'touchEnd', touchPoints: [] });
    await cdp.detach();
    await page.waitForFunction(() => document.getElementById('sign-form').dataset.strokes === '4');
    ctx.state.signDrawn = { strokes: 4, points: Number(await page.getAttribute('#sign-form', 'data-points')) };
    assert.ok(ctx.state.signDrawn.points >= 36 + 40 + 20 + 15, JSON.stringify(ctx.state.signDrawn));
    // Ink on the pad.
    const inked = await page.evaluate(() => {
      const c = document.getElementById('pad');
      const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
      let n = 0;
      for (let i = 3; i < d.length; i += 4) if (d[i] > 0) n += 1;
      return n;
    });
    assert.ok(inked > 2000, `${inked} inked pixels`);
    assert.equal(await page.textContent('#pad-count'), '已书写 4 笔。');
    await shot(ctx, 'drawn');
  }],
  ['sign-submitted-and-kept', async (ctx) => {
    const { api, env } = ctx;
    const page = ctx.sign;
    await page.check('#agree');
    const [res] = await Promise.all([
      page.waitForResponse((r) => /\/capture$/.test(r.url())),
      page.click('#submit'),
    ]);
    assert.equal(res.status(), 200);
    assert.deepEqual(await res.json(), { status: 'captured' });
    await page.locator('#done').waitFor({ state: 'visible' });
    assert.equal(await page.getAttribute('#sign-form', 'data-state'), 'captured');
    assert.equal(await page.evaluate(() => document.activeElement.id), 'done-title');
    assert.ok((await page.textContent('#done')).includes('可以关闭此页面'));
    for (const id of ['#submit', '#clear', '#agree']) assert.ok(await page.isDisabled(id), `${id} disabled`);
    // The pad takes no more ink.
    await penStrokes(page, [path(20, (u) => [0.2 + 0.5 * u, 0.3])]);
    assert.equal(await strokesShown(page), 4);

    const { signer, signSession } = ctx.state;
    const s = await api('GET', `/v1/signers/${encodeURIComponent(signer.id)}/sessions/${encodeURIComponent(signSession.id)}`, env.SIGN_KEY);
    assert.equal(s.status, 'captured', JSON.stringify(s));
    const c = s.capture;
    assert.equal(c.consent, CONSENT);
    assert.equal(c.canvas.dpi, 96);
    assert.ok(c.canvas.width > 300 && c.canvas.width <= 412 && c.canvas.height > 150, JSON.stringify(c.canvas));
    assert.equal(c.strokes.length, ctx.state.signDrawn.strokes);
    assert.equal(c.strokes.flat().length, ctx.state.signDrawn.points);
    const [pen1, pen2, mouse, finger] = c.strokes;
    assert.ok([...pen1, ...pen2].every((p) => typeof p.pressure === 'number' && p.pressure >= 0 && p.pressure <= 1), 'pen points have pressure');
    for (const pen of [pen1, pen2]) {
      const pr = pen.map((p) => p.pressure);
      assert.ok(Math.max(...pr) - Math.min(...pr) > 0.3, `the pen's pressure varies: ${pr}`);
    }
    assert.ok(mouse.every((p) => p.pressure === undefined), 'mouse points have none');
    assert.ok(finger.length >= 15);
    assert.match(c.device, /pen/);
    assert.match(c.device, /mouse/);
    assert.match(c.device, /touch/);
    assert.ok(c.device.length <= 200);
    // Time runs from the first touch, never backwards, over real time.
    const times = c.strokes.flat().map((p) => p.t_ms);
    assert.equal(times[0], 0);
    assert.ok(times.every((t, i) => i === 0 || t >= times[i - 1]), 'monotonic t_ms');
    assert.ok(times[times.length - 1] > 500, `${times[times.length - 1]} ms`);
    assert.ok(c.strokes.flat().every((p) => p.x >= 0 && p.x <= c.canvas.width && p.y >= 0 && p.y <= c.canvas.height));
    await shot(ctx, 'submitted');
  }],
  ['sign-link-gone-after-use', async (ctx) => {
    const page = ctx.sign;
    await open(ctx, ctx.state.signSession.url);
    await page.locator('#sign-gone').waitFor();
    assert.ok((await page.textContent('#sign-gone')).includes('签名链接已失效'));
    assert.equal(await page.locator('#sign-form').count(), 0);
    await shot(ctx, 'gone');
  }],
  ['sign-large-type', async (ctx) => {
    const { api, env } = ctx;
    const session = await api('POST', `/v1/signers/${encodeURIComponent(ctx.state.signer.id)}/sessions`, env.SIGN_KEY, { consent: CONSENT });
    const page = ctx.sign;
    await open(ctx, session.url);
    await ready(page);
    await page.click('#large-type');
    assert.equal(await page.getAttribute('html', 'class'), 'large');
    assert.equal(await page.getAttribute('#large-type', 'aria-pressed'), 'true');
    const m = await page.evaluate(() => ({
      font: parseFloat(getComputedStyle(document.documentElement).fontSize),
      scroll: document.documentElement.scrollWidth,
      inner: window.innerWidth,
      pad: document.getElementById('pad').getBoundingClientRect().width,
    }));
    assert.ok(m.font >= 26 && m.scroll <= m.inner && m.pad > 300, JSON.stringify(m));
    // The pad still writes where the pen touches.
    await penStrokes(page, [path(30, (u) => [0.15 + 0.7 * u, 0.5 + 0.15 * Math.sin(3 * Math.PI * u)])]);
    assert.equal(await strokesShown(page), 1);
    await shot(ctx, 'large-type');
    await page.context().close();
    ctx.sign = null;
  }],
];
