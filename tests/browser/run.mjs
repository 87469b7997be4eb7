// The pages in headless Chromium, as a person uses them: a list of named steps, each ending
// with a screenshot in $ARTEFACTS/NN-name.png. Run by tools/browser-test.sh, which prepares the
// data directory, the clients (keys in the environment) and playwright-core.
//
// The wallet page's steps are in tests/browser/wallet-steps.mjs (lists of [name, async (ctx) =>
// {}]): they run right after the presentation tokens are made, and after the revocation. The
// handwriting capture page's (tests/browser/sign-steps.mjs) run last, on a page of their own.
import { spawn } from 'node:child_process';
import { createRequire } from 'node:module';
import { readFileSync } from 'node:fs';
import assert from 'node:assert/strict';

const env = process.env;
const require = createRequire(`${env.BROWSER_MODULES}/`);
const { chromium } = require('playwright-core');
const BASE = `http://127.0.0.1:${env.PORT}`;
const started = Date.now();

// ---- the server ----

let server = null;

async function startServer() {
  server = spawn(env.SIDIAN_BIN, ['serve', '--data', env.SIDIAN_DATA, '--listen', `127.0.0.1:${env.PORT}`], {
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let log = '';
  server.stderr.on('data', (d) => { log += d; });
  server.log = () => log;
  for (let i = 0; i < 200; i++) {
    try {
      if ((await fetch(`${BASE}/healthz`)).ok) return;
    } catch (_) { /* not yet */ }
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`the server did not start:\n${log}`);
}

async function stopServer() {
  const s = server;
  server = null;
  if (!s || s.exitCode !== null) return;
  const exited = new Promise((r) => s.once('exit', r));
  s.kill('SIGTERM');
  await exited;
}

// ---- the API ----

async function api(method, path, key, body, headers = {}) {
  const h = { ...headers };
  if (key) h.authorization = `Bearer ${key}`;
  if (body !== undefined && !(body instanceof Uint8Array)) h['content-type'] = 'application/json';
  const r = await fetch(`${BASE}${path}`, {
    method, headers: h,
    body: body === undefined ? undefined : (body instanceof Uint8Array ? body : JSON.stringify(body)),
  });
  const type = r.headers.get('content-type') || '';
  const out = type.includes('json') ? await r.json() : new Uint8Array(await r.arrayBuffer());
  if (!r.ok) throw new Error(`${method} ${path}: ${r.status} ${JSON.stringify(out)}`);
  return out;
}

const ctx = { env, BASE, api, state: {} };

async function makeToken() {
  const p = await api('POST', `/v1/licences/${encodeURIComponent(ctx.state.licence.id)}/presentations`, env.WALLET_KEY, { profile: 'basic', ttl_s: 300 });
  assert.match(p.token, /^LZ1:/);
  return p.token;
}

async function paste(page, token) {
  await page.fill('#code', token);
  await page.click('#check');
  await page.waitForSelector('#result .verdict');
}

async function verdictOf(page) {
  return page.getAttribute('#result .verdict', 'data-verdict');
}

// ---- the steps ----

const STEPS = [
  ['issue-licence', async () => {
    await startServer();
    ctx.state.licence = await api('POST', '/v1/licences', env.LICENCE_KEY, {
      type: '111000009000000146001',
      holder: { name: '济南某某科技有限公司', id_type: '001', id_number: '91370100MA3C123459' },
      fields: {
        entity_type: '有限责任公司', legal_representative: '张三', established_on: '2020-05-01',
        operating_from: '2020-05-01', operating_to: '长期', domicile: '济南市历下区某某路1号', business_scope: '软件开发',
      },
    }, { 'idempotency-key': 'browser-licence-1' });
    await ctx.page.goto(`${BASE}/`);
  }],
  ['make-tokens', async () => {
    ctx.state.online = await makeToken();
    ctx.state.offline = await makeToken();
    ctx.state.afterRevoke = await makeToken();
  }],
  ['inspect-online-valid', async () => {
    const { page } = ctx;
    await page.goto(`${BASE}/inspect`);
    await paste(page, ctx.state.online);
    assert.equal(await verdictOf(page), 'VALID');
    assert.equal(await page.getAttribute('#result', 'data-mode'), 'online');
    const text = await page.textContent('#result');
    assert.ok(text.includes('营业执照') && text.includes('济南******公司') && text.includes('济南市市场监督管理局'), text);
  }],
  ['inspect-full-view-with-inspector-key', async () => {
    const { page } = ctx;
    // The device challenge shows only where the vault has its route.
    const probe = await fetch(`${BASE}/v1/presentations/challenges`);
    assert.equal(await page.isHidden('#challenge-box'), probe.status === 404);
    await page.click('#key-box summary');
    await page.fill('#api-key', env.INSPECTOR_KEY);
    await page.click('#save-key');
    assert.equal(await page.evaluate(() => localStorage.getItem('sidian.inspector-key')), env.INSPECTOR_KEY);
    const p = await api('POST', `/v1/licences/${encodeURIComponent(ctx.state.licence.id)}/presentations`, env.WALLET_KEY, { profile: 'full' });
    await paste(page, p.token);
    assert.equal(await verdictOf(page), 'VALID');
    const full = await page.textContent('#result details');
    assert.ok(full.includes('91370100MA3C123459') || full.includes(ctx.state.licence.id), full);
    await page.click('#forget-key');
  }],
  ['english-and-large-type', async () => {
    const context = await ctx.browser.newContext({ locale: 'en-US', viewport: { width: 412, height: 915 } });
    const page = await context.newPage();
    await page.goto(`${BASE}/inspect`);
    assert.equal(await page.textContent('h1'), 'Inspect a licence');
    assert.equal(await page.textContent('label[for=code]'), 'Or paste the code (LZ1:…)');
    await page.click('#large-type');
    assert.equal(await page.getAttribute('html', 'class'), 'large');
    assert.equal(await page.getAttribute('#large-type', 'aria-pressed'), 'true');
    await paste(page, ctx.state.online);
    assert.equal(await page.textContent('#result .verdict'), 'VALID');
    await page.screenshot({ path: `${env.ARTEFACTS}/english-large.png`, fullPage: true });
    await context.close();
  }],
  ['inspect-reload-under-service-worker', async () => {
    const { page } = ctx;
    await page.reload();
    await page.waitForFunction(() => navigator.serviceWorker.controller !== null, null, { timeout: 10000 });
    await page.waitForFunction(() => Number(document.getElementById('offline-state').dataset.lists) > 0, null, { timeout: 10000 });
    const kept = await page.evaluate(async () => {
      const c = await caches.open('sidian-inspect-data');
      return (await c.keys()).map((r) => new URL(r.url).pathname);
    });
    assert.ok(kept.includes('/v1/presentations/trust') && kept.some((p) => p.startsWith('/v1/status-lists/sl_')), kept.join());
  }],
  ['server-stopped-offline-valid', async () => {
    const { page } = ctx;
    await stopServer();
    await page.reload(); // the page and its scripts from the service worker's cache
    await page.waitForSelector('#check');
    await paste(page, ctx.state.offline);
    assert.equal(await verdictOf(page), 'VALID');
    assert.equal(await page.getAttribute('#result', 'data-mode'), 'offline');
    const note = await page.textContent('#result .offline-note');
    assert.ok(note.includes('离线') && note.includes('获取于'), note);
    const ms = Number(await page.getAttribute('#result', 'data-offline-ms'));
    // The first check includes the keyring's set-up; a second scan is what an officer waits for.
    await paste(page, ctx.state.offline);
    const again = Number(await page.getAttribute('#result', 'data-offline-ms'));
    ctx.state.offlineMs = [ms, again];
    console.log(`offline verification: ${ms} ms first scan, ${again} ms next scan`);
    assert.ok(again <= 50, `offline verification took ${again} ms`);
  }],
  ['offline-without-its-list-unknown', async () => {
    const { page } = ctx;
    // Without the licence's signed status list the device cannot say it is valid: amber.
    await page.evaluate(async () => {
      const c = await caches.open('sidian-inspect-data');
      for (const r of await c.keys()) {
        if (new URL(r.url).pathname.startsWith('/v1/status-lists/')) await c.delete(r);
      }
    });
    await paste(page, ctx.state.offline);
    assert.equal(await verdictOf(page), 'UNKNOWN');
    assert.equal(await page.getAttribute('#result .verdict', 'class'), 'verdict warn');
  }],
  ['server-back-revoked', async () => {
    const { page } = ctx;
    await startServer();
    await api('POST', `/v1/licences/${encodeURIComponent(ctx.state.licence.id)}/revoke`, env.LICENCE_KEY, { reason: '违法经营' });
    await page.reload();
    await paste(page, ctx.state.afterRevoke);
    assert.equal(await verdictOf(page), 'REVOKED');
    assert.equal(await page.getAttribute('#result', 'data-mode'), 'online');
  }],
  ['verify-sealed-pdf', async () => {
    const { page } = ctx;
    const seal = await api('POST', '/v1/seals', env.SEAL_KEY, {
      name: '某某有限公司合同专用章', type: 'contract', holder: { name: '某某有限公司', uscc: '91370406L24894136J' }, alg: 'p256',
    });
    const pdf = readFileSync(new URL('../data/pdf/doc-1p.pdf', import.meta.url));
    const sealed = await api('POST', `/v1/seals/${seal.id}/stamp`, env.SEAL_KEY, new Uint8Array(pdf), { 'content-type': 'application/pdf' });
    await page.goto(`${BASE}/verify`);
    await page.setInputFiles('#file', { name: 'sealed.pdf', mimeType: 'application/pdf', buffer: Buffer.from(sealed) });
    await page.waitForSelector('#report .verdict', { timeout: 30000 });
    assert.equal(await page.getAttribute('#report .verdict', 'data-verdict'), 'VALID');
    const text = await page.textContent('#report');
    assert.ok(text.includes('某某有限公司'), text);
  }],
];

// ---- running them ----

const { walletSteps, walletUsesSteps } = await import('./wallet-steps.mjs');
const { signSteps } = await import('./sign-steps.mjs');
const steps = [...STEPS, ...signSteps];
steps.splice(steps.findIndex(([n]) => n === 'make-tokens') + 1, 0, ...walletSteps);
steps.splice(steps.findIndex(([n]) => n === 'server-back-revoked') + 1, 0, ...walletUsesSteps);

const browser = await chromium.launch({
  executablePath: env.CHROMIUM || '/usr/bin/chromium',
  headless: true,
  args: process.getuid && process.getuid() === 0 ? ['--no-sandbox'] : [],
});
ctx.browser = browser;
const context = await browser.newContext({ locale: 'zh-CN', viewport: { width: 412, height: 915 }, deviceScaleFactor: 1 });
ctx.page = await context.newPage();
ctx.page.setDefaultTimeout(15000);

let passed = 0;
let failed = 0;
try {
  for (const [i, [name, run]] of steps.entries()) {
    const label = `${String(i + 1).padStart(2, '0')}-${name}`;
    const t0 = Date.now();
    try {
      await run(ctx);
      passed += 1;
      console.log(`ok ${label} (${Date.now() - t0} ms)`);
    } catch (err) {
      failed += 1;
      console.log(`FAILED ${label}: ${err.stack || err}`);
    }
    await ctx.page.screenshot({ path: `${env.ARTEFACTS}/${label}.png`, fullPage: true }).catch(() => {});
    if (failed) break;
  }
} finally {
  await browser.close();
  await stopServer();
}
console.log(`browser: ${((Date.now() - started) / 1000).toFixed(1)} s, screenshots in ${env.ARTEFACTS}`);
console.log(`${passed} passed, ${failed} failed`);
process.exit(failed ? 1 : 0);
