// /wallet (demo): the holder signs in, picks a licence, shows its QR code (refreshed 5 s before
// it expires), answers an officer's check code with this phone's device key, reads who checked
// or used the licence, and grants departments its use. Every call carries X-Sidian-Wallet: 1;
// the session is an HttpOnly cookie this script never sees.
import { t, translate } from './site.js';

const $ = (id) => document.getElementById(id);
const HEADERS = { 'X-Sidian-Wallet': '1' };
/** Seconds before expiry at which a new code is fetched. */
const REFRESH_BEFORE_S = 5;
/** How often the screen-reader countdown speaks (s). */
const SPOKEN_EVERY_S = 10;

let current = null; // { id, title }
let presentation = null; // { token, expiresAt (ms) }
let refreshTimer = 0;
let tickTimer = 0;
let lastSpoken = 0;

class ApiError extends Error {
  constructor(status, code, message) {
    super(message);
    this.status = status;
    this.code = code;
  }
}

async function api(method, path, body) {
  const init = { method, headers: { ...HEADERS }, credentials: 'same-origin' };
  if (body !== undefined) {
    init.headers['Content-Type'] = 'application/json';
    init.body = JSON.stringify(body);
  }
  const res = await fetch(`/wallet/api${path}`, init);
  if (res.status === 204) return null;
  let json = null;
  try { json = await res.json(); } catch (_) { /* empty body */ }
  if (!res.ok) {
    const e = json && json.error ? json.error : { code: 'http_' + res.status, message: res.statusText };
    if (res.status === 401 && e.code === 'no_session') showLogin();
    throw new ApiError(res.status, e.code, e.message);
  }
  return json;
}

function el(tag, text, cls) {
  const e = document.createElement(tag);
  if (text !== undefined && text !== null) e.textContent = text;
  if (cls) e.className = cls;
  return e;
}

function when(iso) {
  const d = new Date(iso);
  return Number.isNaN(d.getTime()) ? iso : d.toLocaleString(t('zh-CN', 'en-GB'));
}

const STATUS = {
  valid: ['有效', 'valid'], suspended: ['暂扣', 'suspended'], revoked: ['吊销', 'revoked'],
  cancelled: ['注销', 'cancelled'], expired: ['已过期', 'expired'], superseded: ['已变更', 'superseded'],
};
const VERDICT = {
  VALID: ['核验通过', 'valid'], EXPIRED: ['已过期', 'expired'], REVOKED: ['已撤销', 'revoked'],
  SUSPENDED: ['已暂扣', 'suspended'], WRONG_TYPE: ['证照类型不符', 'wrong type'], INVALID: ['无效', 'invalid'],
};
const label = (table, key) => (table[key] ? t(table[key][0], table[key][1]) : key);

// ---- session ----

function showLogin() {
  stopPresenting();
  current = null;
  $('login').hidden = false;
  $('session').hidden = true;
  $('licences-section').hidden = true;
  $('present').hidden = true;
}

async function showSession(session) {
  $('login').hidden = true;
  $('session').hidden = false;
  $('holder-name-shown').textContent = session.holder_name;
  await loadLicences();
}

$('login').addEventListener('submit', async (ev) => {
  ev.preventDefault();
  $('login-error').textContent = '';
  try {
    const s = await api('POST', '/session', {
      holder_code: $('holder-code').value.trim(),
      holder_name: $('holder-name').value.trim(),
    });
    $('holder-code').value = '';
    await showSession(s);
  } catch (e) {
    $('login-error').textContent = e.status === 429
      ? t('尝试次数过多，请稍后再试。', 'Too many attempts; try again later.')
      : t('未找到该持证主体代码和名称的证照。', 'No licence is held under this code and name.');
  }
});

$('logout').addEventListener('click', async () => {
  try { await api('DELETE', '/session'); } finally { showLogin(); }
});

// ---- licences ----

async function loadLicences() {
  const list = await api('GET', '/licences');
  const ul = $('licences');
  ul.replaceChildren();
  for (const l of list.items) {
    const title = l.type_name || l.type;
    const b = el('button', undefined, 'licence');
    b.type = 'button';
    b.dataset.id = l.id;
    b.setAttribute('aria-pressed', 'false');
    b.append(el('strong', title), el('span', `${l.number_masked} · ${label(STATUS, l.status)}`), el('br'),
      el('span', `${t('有效期', 'Valid')} ${l.valid_from} – ${l.valid_to}`, 'muted'));
    b.addEventListener('click', () => openLicence(l.id, title, b));
    const li = el('li');
    li.append(b);
    ul.append(li);
  }
  $('licences-empty').hidden = list.items.length > 0;
  $('licences-section').hidden = false;
}

async function openLicence(id, title, button) {
  for (const b of document.querySelectorAll('#licences button')) b.setAttribute('aria-pressed', String(b === button));
  current = { id, title };
  $('present-title').textContent = title;
  $('present').hidden = false;
  $('answer-status').textContent = '';
  $('grant-code-box').hidden = true;
  await present();
  // Independent of the code: none of these may hold the QR code back.
  ensureDevice(id).catch(() => { /* no WebCrypto or IndexedDB: answering is unavailable */ });
  loadUses().catch(() => {});
  loadGrants().catch(() => {});
  $('present').scrollIntoView({ behavior: 'smooth', block: 'start' });
}

// ---- the QR code, its countdown and refresh ----

function profile() {
  const r = document.querySelector('input[name="profile"]:checked');
  return r ? r.value : 'basic';
}

for (const r of document.querySelectorAll('input[name="profile"]')) {
  r.addEventListener('change', () => { if (current) present(); });
}

function stopPresenting() {
  clearTimeout(refreshTimer);
  clearInterval(tickTimer);
  presentation = null;
}

async function present() {
  if (!current) return;
  const id = current.id;
  stopPresenting();
  $('present-error').textContent = '';
  try {
    const p = await api('POST', `/licences/${encodeURIComponent(id)}/presentations`, { profile: profile(), ttl_s: 60 });
    if (!current || current.id !== id) return;
    presentation = { token: p.token, expiresAt: Date.parse(p.expires_at) };
    $('qr-img').src = 'data:image/svg+xml;charset=utf-8,' + encodeURIComponent(p.qr_svg);
    $('qr-img').dataset.token = p.token;
    $('token').value = p.token;
    lastSpoken = 0;
    tick();
    tickTimer = setInterval(tick, 1000);
    const wait = Math.max(1000, presentation.expiresAt - Date.now() - REFRESH_BEFORE_S * 1000);
    // A phone in a pocket makes no codes: a hidden page refreshes when it is shown again.
    refreshTimer = setTimeout(() => { if (!document.hidden) present(); }, wait);
  } catch (e) {
    $('qr-img').removeAttribute('src');
    $('token').value = '';
    $('countdown').textContent = '';
    $('present-error').textContent = e.status === 409
      ? t('该证照当前不是有效状态，不能亮证。', 'This licence is not valid now and cannot be shown.')
      : t('二维码生成失败，请稍后重试。', 'The code could not be made; try again.');
  }
}

function tick() {
  if (!presentation) return;
  const left = Math.max(0, Math.round((presentation.expiresAt - Date.now()) / 1000));
  const text = t(`${left} 秒后自动刷新`, `Refreshes in ${left} s`);
  $('countdown').textContent = text;
  $('countdown').classList.toggle('soon', left <= 10);
  // Screen readers hear it once every 10 s, not every second.
  const now = Date.now();
  if (now - lastSpoken >= SPOKEN_EVERY_S * 1000) {
    lastSpoken = now;
    $('countdown-live').textContent = t(`二维码 ${left} 秒后刷新`, `The code refreshes in ${left} seconds`);
  }
}

document.addEventListener('visibilitychange', () => {
  // Back on screen after a pause longer than the code lives: fetch a fresh one at once.
  if (document.visibilityState === 'visible' && current && presentation
      && presentation.expiresAt - Date.now() < REFRESH_BEFORE_S * 1000) present();
});

// ---- the device key (IndexedDB, non-extractable) and answering a check code ----

const DB = 'sidian-wallet';
const STORE = 'devices';

function idb() {
  return new Promise((resolve, reject) => {
    const req = indexedDB.open(DB, 1);
    req.onupgradeneeded = () => req.result.createObjectStore(STORE);
    req.onsuccess = () => resolve(req.result);
    req.onerror = () => reject(req.error);
  });
}

async function idbDo(mode, fn) {
  const db = await idb();
  try {
    return await new Promise((resolve, reject) => {
      const tx = db.transaction(STORE, mode);
      const req = fn(tx.objectStore(STORE));
      tx.oncomplete = () => resolve(req.result);
      tx.onerror = () => reject(tx.error);
    });
  } finally {
    db.close();
  }
}

const deviceOf = (licenceId) => idbDo('readonly', (s) => s.get(licenceId));
const keepDevice = (licenceId, d) => idbDo('readwrite', (s) => s.put(d, licenceId));

function b64url(buf) {
  let s = '';
  for (const b of new Uint8Array(buf)) s += String.fromCharCode(b);
  return btoa(s).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
}

const registering = new Map();

/** The licence's device key on this phone: made (non-extractable) and registered once. */
function ensureDevice(licenceId) {
  if (!registering.has(licenceId)) {
    const p = makeDevice(licenceId);
    registering.set(licenceId, p);
    p.catch(() => registering.delete(licenceId));
  }
  return registering.get(licenceId);
}

async function makeDevice(licenceId) {
  const known = await deviceOf(licenceId);
  if (known && known.keyId) return known;
  const pair = await crypto.subtle.generateKey({ name: 'ECDSA', namedCurve: 'P-256' }, false, ['sign']);
  const spki = await crypto.subtle.exportKey('spki', pair.publicKey);
  const name = (navigator.userAgentData && navigator.userAgentData.platform) || navigator.platform || 'phone';
  const r = await api('POST', `/licences/${encodeURIComponent(licenceId)}/devices`, {
    public_key: b64url(spki), label: String(name).slice(0, 64),
  });
  const d = { keyId: r.key_id, privateKey: pair.privateKey, createdAt: r.created_at };
  await keepDevice(licenceId, d);
  return d;
}

async function answer() {
  const status = $('answer-status');
  status.className = '';
  const challenge = $('challenge').value.trim();
  if (!/^[0-9]{8}$/.test(challenge)) {
    status.className = 'error';
    status.textContent = t('请输入 8 位数字核验码。', 'Enter the 8-digit check code.');
    return;
  }
  if (!current) return;
  const id = current.id;
  const signAndSend = async () => {
    const d = await ensureDevice(id);
    const message = new TextEncoder().encode(`sidian-device-v1\n${challenge}\n${id}`);
    const sig = await crypto.subtle.sign({ name: 'ECDSA', hash: 'SHA-256' }, d.privateKey, message);
    await api('POST', `/licences/${encodeURIComponent(id)}/answer`, {
      challenge, key_id: d.keyId, signature: b64url(sig),
    });
  };
  try {
    try {
      await signAndSend();
    } catch (e) {
      if (e.code !== 'device_not_verified') throw e;
      // The vault does not know this phone's key (a vault set up anew): register a new one.
      registering.delete(id);
      await idbDo('readwrite', (s) => s.delete(id));
      await signAndSend();
    }
    status.className = 'ok';
    status.textContent = t(`已回应核验码 ${challenge}，请核验人员扫码。`, `Check code ${challenge} answered; the officer may scan now.`);
    $('challenge').value = '';
  } catch (e) {
    status.className = 'error';
    status.textContent = e.status === 404
      ? t('核验码不存在、已过期或已被回应。', 'The check code is unknown, expired or answered already.')
      : t('回应失败：本机无法签名或密钥未登记。', 'Could not answer: this phone cannot sign or its key is not registered.');
  }
}

$('answer').addEventListener('click', answer);
$('challenge').addEventListener('keydown', (ev) => { if (ev.key === 'Enter') { ev.preventDefault(); answer(); } });

// ---- uses ----

function who(u) {
  if (u.department) return u.department.name || u.department.id;
  if (u.client) {
    const sys = u.client.name || u.client.id;
    return u.inspector ? `${u.inspector}（${sys}）` : sys;
  }
  if (u.inspector) return u.inspector;
  return t('匿名核验', 'anonymous check');
}

function what(u) {
  let s = u.verdict ? label(VERDICT, u.verdict) : (u.operation || u.kind || '');
  if (u.device === 'answered') s += t('（本机已回应）', ' (answered by this phone)');
  else if (u.device === 'not_answered') s += t('（未回应核验码）', ' (check code not answered)');
  return s;
}

async function loadUses() {
  if (!current) return;
  const id = current.id;
  const list = await api('GET', `/licences/${encodeURIComponent(id)}/uses?limit=200`);
  if (!current || current.id !== id) return;
  const body = document.querySelector('#uses tbody');
  body.replaceChildren();
  for (const u of [...list.items].reverse()) {
    const tr = el('tr');
    tr.append(el('td', when(u.at)), el('td', who(u)), el('td', what(u)), el('td', u.reason || ''));
    body.append(tr);
  }
  $('uses-empty').hidden = list.items.length > 0;
  $('uses').dataset.loaded = String((Number($('uses').dataset.loaded) || 0) + 1);
}

$('uses-refresh').addEventListener('click', () => loadUses().catch(() => {}));

// ---- grants ----

const GRANT_STATUS = { active: ['有效', 'active'], withdrawn: ['已撤回', 'withdrawn'], expired: ['已过期', 'expired'], used: ['已使用', 'used'] };

async function loadGrants() {
  if (!current) return;
  const id = current.id;
  let list;
  try {
    list = await api('GET', `/licences/${encodeURIComponent(id)}/grants`);
  } catch (e) {
    if (e.status === 404 && e.code !== 'no_session') $('grants-section').hidden = true;
    return;
  }
  if (!current || current.id !== id) return;
  $('grants-section').hidden = false;
  const ul = $('grants');
  ul.replaceChildren();
  for (const g of list.items || []) {
    const li = el('li');
    li.append(el('strong', g.department ? g.department.name : ''), el('span', ` · ${g.purpose || ''}`), el('br'),
      el('span', `${label(GRANT_STATUS, g.status)} · ${t('至', 'until')} ${when(g.expires_at)}`, 'muted'));
    if (g.status === 'active') {
      const b = el('button', t('撤回', 'Withdraw'), 'secondary');
      b.type = 'button';
      b.addEventListener('click', async () => {
        b.disabled = true;
        try {
          await api('POST', `/licences/${encodeURIComponent(id)}/grants/${encodeURIComponent(g.id)}/withdraw`, {});
        } finally {
          loadGrants().catch(() => {});
        }
      });
      li.append(' ', b);
    }
    ul.append(li);
  }
  $('grants-empty').hidden = (list.items || []).length > 0;
}

$('grant-form').addEventListener('submit', async (ev) => {
  ev.preventDefault();
  if (!current) return;
  $('grant-error').textContent = '';
  try {
    const g = await api('POST', `/licences/${encodeURIComponent(current.id)}/grants`, {
      department: { id: $('grant-dept-id').value.trim(), name: $('grant-dept-name').value.trim() },
      purpose: $('grant-purpose').value.trim(),
      expires_in_s: Number($('grant-expires').value),
    });
    $('grant-code').textContent = g.code;
    $('grant-copied').textContent = '';
    $('grant-code-box').hidden = false;
    $('grant-form').reset();
    await loadGrants();
  } catch (e) {
    $('grant-error').textContent = t('授权失败：', 'The grant failed: ') + (e.message || e.code);
  }
});

$('grant-copy').addEventListener('click', async () => {
  try {
    await navigator.clipboard.writeText($('grant-code').textContent);
    $('grant-copied').textContent = t('已复制', 'Copied');
  } catch (_) {
    $('grant-copied').textContent = t('请手动复制', 'Copy it by hand');
  }
});

// ---- start ----

translate();
api('GET', '/session').then(showSession).catch(() => showLogin());
