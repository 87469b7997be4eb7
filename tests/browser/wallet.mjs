// The wallet page (/wallet, `sidian serve --demo-wallet`) driven as a holder uses it, for the
// browser runner (tests/browser/run.mjs): playwright-core page objects only, no runner of its
// own. The server must run with --demo-wallet (or SIDIAN_DEMO_WALLET=1), and the holder must
// hold a valid licence under `holderCode` and `holderName`.
//
//   walletSteps(page, base, { holderCode, holderName, shot })  → the token text shown
//   walletUses(page, base)                                     → the uses rows' texts
//   walletAnswer(page, challenge)                              → the confirmation text
//
// `shot(name)` takes a screenshot (the runner names and stores it).

/** Logs in on /wallet, opens the first licence, waits for its QR code; the token text. */
export async function walletSteps(page, base, { holderCode, holderName, shot = async () => {} }) {
  await page.goto(`${base}/wallet`);
  // The demo banner is there before anything else.
  await page.locator('p.demo').filter({ hasText: '演示登录' }).waitFor();
  await page.locator('#login').waitFor({ state: 'visible' });
  await shot('wallet-login');
  await page.fill('#holder-code', holderCode);
  await page.fill('#holder-name', holderName);
  await page.click('#login button[type="submit"]');
  const first = page.locator('#licences button.licence').first();
  await first.waitFor({ state: 'visible' });
  await shot('wallet-licences');
  await first.click();
  // The QR image and the token text under it come from one presentation.
  await page.waitForFunction(() => {
    const img = document.getElementById('qr-img');
    const token = document.getElementById('token');
    return img && img.getAttribute('src') && img.complete && img.naturalWidth > 0
      && token && token.value.startsWith('LZ1:') && img.dataset.token === token.value;
  });
  await page.locator('#countdown').filter({ hasText: /\d/ }).waitFor();
  await shot('wallet-qr');
  return page.inputValue('#token');
}

/** The rows of the uses table of the licence open on the page (newest first), as text. */
export async function walletUses(page, base) {
  if (!page.url().startsWith(`${base}/wallet`)) throw new Error('the wallet page is not open');
  // The list as it is now: the page's refresh button, then wait for that load to finish.
  const before = Number(await page.getAttribute('#uses', 'data-loaded')) || 0;
  await page.click('#uses-refresh');
  await page.waitForFunction((n) => Number(document.getElementById('uses').dataset.loaded) > n, before);
  return page.locator('#uses tbody tr').allInnerTexts();
}

/**
 * Answers an officer's 8-digit check code with this browser's device key for the licence open
 * on the page (made non-extractable and registered on first use); the confirmation text.
 */
export async function walletAnswer(page, challenge) {
  // The device key is made and registered when the licence opens; wait until it is stored.
  await page.waitForFunction(async () => {
    const licence = document.querySelector('#licences button[aria-pressed="true"]');
    if (!licence) return false;
    const db = await new Promise((resolve, reject) => {
      const req = indexedDB.open('sidian-wallet', 1);
      req.onupgradeneeded = () => req.result.createObjectStore('devices');
      req.onsuccess = () => resolve(req.result);
      req.onerror = () => reject(req.error);
    });
    try {
      const d = await new Promise((resolve, reject) => {
        const req = db.transaction('devices').objectStore('devices').get(licence.dataset.id);
        req.onsuccess = () => resolve(req.result);
        req.onerror = () => reject(req.error);
      });
      return Boolean(d && d.keyId);
    } finally {
      db.close();
    }
  }, undefined, { polling: 250 });
  await page.fill('#challenge', challenge);
  await page.click('#answer');
  const status = page.locator('#answer-status.ok');
  await status.waitFor({ state: 'visible' });
  return status.innerText();
}
