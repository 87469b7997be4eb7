// The wallet page's steps in the browser run (run.mjs puts them right after the tokens are
// made): the holder shows the licence in /wallet, the QR code is read back from the page, and
// the code the wallet shows is the one /inspect then checks online and offline; the holder's
// device answers an officer's check code; a department uses the licence with a grant and a
// reason. `walletUsesSteps` runs after the revocation: the holder's list shows the inspections
// and the department's use.
import assert from 'node:assert/strict';
import { walletSteps as showInWallet, walletUses, walletAnswer } from './wallet.mjs';

const HOLDER = { holderCode: '91370100MA3C123459', holderName: '济南某某科技有限公司' };
const DEPARTMENT = 'tax-bureau';

export const walletSteps = [
  ['wallet-shows-licence', async (ctx) => {
    const { env, BASE } = ctx;
    ctx.wallet = await ctx.page.context().newPage();
    const shot = (name) => ctx.wallet.screenshot({ path: `${env.ARTEFACTS}/wallet-${name}.png`, fullPage: true });
    const token = await showInWallet(ctx.wallet, BASE, { ...HOLDER, shot });
    assert.match(token, /^LZ1:/);
    // The code the officer scans is the wallet's.
    ctx.state.online = token;
    ctx.state.offline = token;
    ctx.state.walletToken = token;
  }],
  ['wallet-qr-read-from-page', async (ctx) => {
    const page = ctx.wallet;
    await page.addScriptTag({ url: '/assets/vendor/jsQR.js' });
    const read = await page.evaluate(async () => {
      const img = document.getElementById('qr-img');
      const scale = Math.max(1, Math.ceil(600 / (img.naturalWidth || 1)));
      const w = img.naturalWidth * scale;
      const h = img.naturalHeight * scale;
      const canvas = document.createElement('canvas');
      canvas.width = w;
      canvas.height = h;
      const g = canvas.getContext('2d');
      g.fillStyle = '#fff';
      g.fillRect(0, 0, w, h);
      g.imageSmoothingEnabled = false;
      g.drawImage(img, 0, 0, w, h);
      const found = window.jsQR(g.getImageData(0, 0, w, h).data, w, h);
      return { text: found && found.data, shown: img.dataset.token };
    });
    assert.equal(read.text, read.shown, 'the QR symbol holds the code shown under it');
    assert.equal(read.text, ctx.state.walletToken);
    assert.ok(!/\d{17}[\dX]/.test(read.text), 'no 18-digit identifier in the code');
  }],
  ['wallet-device-answers-check-code', async (ctx) => {
    const { api, env } = ctx;
    const { challenge } = await api('POST', '/v1/presentations/challenges', env.INSPECTOR_KEY, {});
    assert.match(challenge, /^\d{8}$/);
    const text = await walletAnswer(ctx.wallet, challenge);
    assert.ok(text.length > 0);
    const answer = await api('POST', '/v1/presentations/verify', env.INSPECTOR_KEY, {
      token: ctx.state.walletToken, challenge, inspector: 'officer-7',
    });
    assert.equal(answer.verdict, 'VALID');
    assert.equal(answer.device, 'answered');
  }],
  ['department-uses-with-grant', async (ctx) => {
    const { api, env, BASE } = ctx;
    const id = encodeURIComponent(ctx.state.licence.id);
    const refused = await fetch(`${BASE}/v1/licence-use/fetch`, {
      method: 'POST',
      headers: { authorization: `Bearer ${env.DEPT_KEY}`, 'content-type': 'application/json' },
      body: JSON.stringify({ licence_id: ctx.state.licence.id, reason: '办理税务登记', grant_code: '0'.repeat(32) }),
    });
    assert.equal(refused.status, 403);
    assert.equal((await refused.json()).error.code, 'use_denied');
    const grant = await api('POST', `/v1/licences/${id}/grants`, env.WALLET_KEY, {
      department: { id: env.DEPT_ID, name: '国家税务总局济南市税务局' }, purpose: '办理税务登记',
    });
    const link = await api('POST', '/v1/licence-use/fetch', env.DEPT_KEY, {
      licence_id: ctx.state.licence.id, reason: '办理税务登记', grant_code: grant.code,
    });
    const file = await fetch(`${BASE}${link.url}`);
    assert.equal(file.status, 200);
    assert.ok((await file.arrayBuffer()).byteLength > 1000);
  }],
];

export const walletUsesSteps = [
  ['wallet-lists-uses', async (ctx) => {
    const rows = await walletUses(ctx.wallet, ctx.BASE);
    const all = rows.join('\n');
    assert.ok(rows.length >= 3, all);
    assert.ok(all.includes(DEPARTMENT) || all.includes('税务'), `the department's use is listed:\n${all}`);
    assert.ok(all.includes('办理税务登记'), `with its reason:\n${all}`);
    await ctx.wallet.screenshot({ path: `${ctx.env.ARTEFACTS}/wallet-uses.png`, fullPage: true });
  }],
];
