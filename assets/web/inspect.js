// /inspect: read a 亮证 code (camera or paste), check it online, or on this device when the
// network is gone (offline.mjs, against the trust list and status lists kept in the cache).
import { el, fields, t, translate, when } from './site.js';
import { keyring, statusLists, verifyOffline } from './offline.mjs';

const DATA_CACHE = 'sidian-inspect-data';
const TRUST_URL = '/v1/presentations/trust';
const KEY_STORE = 'sidian.inspector-key';
const $ = (id) => document.getElementById(id);

const result = $('result');
const offlineState = $('offline-state');

// ---- the service worker, and the trust list and status lists kept for offline checks ----

if ('serviceWorker' in navigator) {
  navigator.serviceWorker.register('/inspect-sw.js').catch(() => { /* offline checks need it */ });
}

function apiKey() {
  try { return localStorage.getItem(KEY_STORE) || ''; } catch (_) { return ''; }
}

/** Fetches and keeps a GET answer (the service worker keeps it too when it controls the page). */
async function keep(url) {
  const response = await fetch(url, { cache: 'no-store' });
  if (!response.ok) throw new Error(`${url}: ${response.status}`);
  if ('caches' in self && !response.headers.has('sidian-fetched-at')) {
    const headers = new Headers(response.headers);
    headers.set('sidian-fetched-at', new Date().toISOString());
    const copy = new Response(await response.clone().blob(), { status: 200, headers });
    await (await caches.open(DATA_CACHE)).put(url, copy);
  }
  return response;
}

/** Refreshes the trust list and every status list it names. */
async function refreshOfflineData() {
  try {
    const response = await keep(TRUST_URL);
    const kept = response.headers.get('sidian-fetched-at');
    if (kept) {
      // The service worker answered from its cache: there is no network.
      offlineState.textContent = t(`无网络：将使用 ${when(kept)} 获取的离线核验数据。`, `No network: the offline data fetched ${when(kept)} will be used.`);
      return;
    }
    const trust = await response.json();
    const ids = (trust.issuers || []).flatMap((i) => i.status_lists || []);
    await Promise.all(ids.map((id) => keep(`/v1/status-lists/${encodeURIComponent(id)}`).catch(() => null)));
    offlineState.textContent = t(`已保存离线核验数据（${ids.length} 个状态列表），${new Date().toLocaleString()}`,
      `Offline data kept (${ids.length} status lists), ${new Date().toLocaleString()}`);
    offlineState.dataset.lists = String(ids.length);
  } catch (_) {
    offlineState.textContent = t('无法更新离线核验数据，将使用已保存的数据。', 'Could not refresh the offline data; the kept data will be used.');
  }
}

let ringCache = { text: null, ring: null };

/** The kept trust list (as a keyring) and status lists, with when the lists were fetched. */
async function offlineData() {
  if (!('caches' in self)) return null;
  const cache = await caches.open(DATA_CACHE);
  const trustResponse = await cache.match(TRUST_URL);
  if (!trustResponse) return null;
  const text = await trustResponse.text();
  if (ringCache.text !== text) ringCache = { text, ring: await keyring(JSON.parse(text)) };
  const jwts = [];
  const fetched = new Map();
  for (const issuer of ringCache.ring.issuers) {
    for (const id of issuer.statusLists) {
      const r = await cache.match(`/v1/status-lists/${encodeURIComponent(id)}`);
      if (r) {
        jwts.push(await r.text());
        fetched.set(id, r.headers.get('sidian-fetched-at'));
      }
    }
  }
  return { ring: ringCache.ring, lists: statusLists(jwts), fetched };
}

// ---- showing a verdict ----

const VERDICTS = {
  VALID: ['ok', '有效', 'VALID'],
  EXPIRED: ['bad', '已过期', 'EXPIRED'],
  REVOKED: ['bad', '已注销或吊销', 'REVOKED'],
  SUSPENDED: ['bad', '已暂扣', 'SUSPENDED'],
  INVALID: ['bad', '无效：不是真实的亮证码', 'INVALID: not a genuine code'],
  WRONG_TYPE: ['bad', '证照类型不符', 'WRONG TYPE'],
  UNKNOWN: ['warn', '状态未知', 'STATUS UNKNOWN'],
};

const STATUSES = {
  valid: ['有效', 'valid'], suspended: ['暂扣', 'suspended'], revoked: ['吊销', 'revoked'],
  cancelled: ['注销', 'cancelled'], expired: ['失效', 'expired'], superseded: ['已变更', 'superseded'],
  invalid: ['无效（注销、吊销、失效或已变更）', 'invalid (revoked, cancelled, expired or superseded)'],
};

// Why the status is unknown, as offline.mjs (and src/present/offline.rs) words it.
const REASONS = {
  'no status list of the licence is held': '本设备没有该证照的状态列表。',
  "the status list is not signed by the issuer's status key": '状态列表不是颁证单位签名的。',
  'the status list has no iat or exp': '状态列表缺少签发或过期时间。',
  'the status list expired': '状态列表已过期。',
  'the status list is older than allowed': '状态列表过旧。',
  'the status list is dated in the future': '状态列表的时间在未来。',
  'the status list has no such slot': '状态列表中没有该证照。',
};

function reasonText(r) {
  return REASONS[r] ? t(REASONS[r], r) : r;
}

function statusText(s) {
  return s && STATUSES[s] ? t(...STATUSES[s]) : s;
}

/** Shows a verdict: online answers and offline reports share most of their shape. */
function show(report, { offline = false, fetchedAt = null, device = null } = {}) {
  const [tone, zh, en] = VERDICTS[report.verdict] || VERDICTS.INVALID;
  const l = report.licence || {};
  const status = report.status || {};
  let headline = t(zh, en);
  if (report.verdict === 'UNKNOWN' && status.unknown_since) {
    headline = t(`状态未知，自 ${when(status.unknown_since)} 起`, `Status unknown since ${when(status.unknown_since)}`);
  }
  result.replaceChildren();
  result.dataset.verdict = report.verdict;
  result.dataset.mode = offline ? 'offline' : 'online';
  result.append(el('div', { class: `verdict ${tone}`, 'data-verdict': report.verdict }, headline));
  if (offline) {
    const fetched = fetchedAt ? when(fetchedAt) : t('未知', 'unknown');
    const asOf = status.as_of ? when(status.as_of) : t('无', 'none');
    result.append(el('p', { class: 'offline-note' },
      t(`无网络：已在本设备离线核验。状态列表获取于 ${fetched}（列表签发于 ${asOf}）。`,
        `No network: checked offline on this device. Status list fetched ${fetched} (list made ${asOf}).`)));
    if (report.verdict === 'UNKNOWN' && status.reason) result.append(el('p', { class: 'muted' }, reasonText(status.reason)));
  }
  result.append(fields([
    ['证照', 'Licence', l.type_name ? `${l.type_name}（${l.type}）` : l.type],
    ['持证主体', 'Holder', (l.holder && l.holder.name) || l.holder_name],
    ['有效期起始', 'Valid from', l.valid_from],
    ['有效期截止', 'Valid to', l.valid_to],
    ['颁发机构', 'Issued by', l.issuer && l.issuer.name],
    ['统一社会信用代码', 'USCC', l.issuer && l.issuer.uscc],
    ['证照状态', 'Licence status', statusText(l.status || status.value)],
    ['二维码有效至', 'Code valid until', report.token && when(report.token.expires_at)],
    ['核验时间', 'Checked at', when(report.checked_at)],
    ['设备应答', 'Device answer', device == null ? null : (device === 'answered' ? t('已应答', 'answered') : t('未应答', 'not answered'))],
  ]));
  if (report.full) {
    // The record as the vault holds it: top-level values, then the holder's and the face
    // fields one level down (the signature and links are left out).
    const rows = [];
    for (const [k, v] of Object.entries(report.full)) {
      if (['signature', 'file_url', 'verify_url', 'status_list'].includes(k) || v == null) continue;
      if (typeof v !== 'object') rows.push([k, k, v]);
      else for (const [k2, v2] of Object.entries(v)) if (v2 != null && typeof v2 !== 'object') rows.push([`${k}.${k2}`, `${k}.${k2}`, v2]);
    }
    result.append(el('details', { open: '' }, el('summary', {}, t('证照全部信息', 'The whole licence')), fields(rows)));
  }
}

// ---- checking ----

let challenge = null;

async function checkOnline(code, type) {
  const body = { token: code };
  if (type) body.type = type;
  if (challenge) body.challenge = challenge;
  const headers = { 'content-type': 'application/json' };
  const key = apiKey();
  if (key) headers.authorization = `Bearer ${key}`;
  const response = await fetch('/v1/presentations/verify', { method: 'POST', headers, body: JSON.stringify(body), cache: 'no-store' });
  if ([502, 503, 504].includes(response.status)) throw new TypeError('service unavailable');
  return response;
}

async function checkOffline(code, type) {
  const data = await offlineData();
  if (!data) {
    result.replaceChildren(el('p', { class: 'error' }, t('无网络，且本设备没有保存离线核验数据。', 'No network, and this device keeps no offline data.')));
    return;
  }
  const now = Math.floor(Date.now() / 1000);
  const t0 = performance.now();
  const report = await verifyOffline(code, data.ring, data.lists, now, type || null, null);
  const ms = performance.now() - t0;
  const fetchedAt = report.status ? data.fetched.get(report.status.list) : null;
  show(report, { offline: true, fetchedAt });
  result.dataset.offlineMs = ms.toFixed(1);
}

async function check(code) {
  code = code.trim();
  const type = $('type').value.trim();
  if (!code) return;
  result.replaceChildren(el('p', { class: 'muted' }, t('核验中…', 'Checking…')));
  let response;
  try {
    response = await checkOnline(code, type);
  } catch (_) {
    await checkOffline(code, type);
    return;
  }
  const body = await response.json().catch(() => ({}));
  if (response.ok) {
    show(body, { device: body.device ?? null });
    if (challenge) {
      challenge = null;
      $('challenge-digits').textContent = '';
      $('challenge-help').hidden = true;
    }
  } else if (response.status === 401) {
    result.replaceChildren(el('p', { class: 'error' }, t('检查员 API 密钥无效，请更正或清除。', "The inspector's API key is not valid: correct or forget it.")));
  } else {
    result.replaceChildren(el('p', { class: 'error' }, `${response.status}: ${body.message || body.error || ''}`));
  }
}

$('check-form').addEventListener('submit', (e) => {
  e.preventDefault();
  check($('code').value);
});

// ---- the camera ----

let stream = null;

async function stopCamera() {
  if (stream) for (const track of stream.getTracks()) track.stop();
  stream = null;
  $('video').hidden = true;
  $('camera-stop').hidden = true;
  $('camera').hidden = false;
}

async function startCamera() {
  const note = $('camera-note');
  if (!navigator.mediaDevices || !navigator.mediaDevices.getUserMedia) {
    note.textContent = t('此浏览器无法使用摄像头，请粘贴二维码内容。', 'This browser cannot use the camera: paste the code.');
    return;
  }
  try {
    await import('./vendor/jsQR.js');
    stream = await navigator.mediaDevices.getUserMedia({ video: { facingMode: 'environment' }, audio: false });
  } catch (_) {
    note.textContent = t('无法打开摄像头，请粘贴二维码内容。', 'The camera could not be opened: paste the code.');
    return;
  }
  const video = $('video');
  const canvas = $('frame');
  const ctx = canvas.getContext('2d', { willReadFrequently: true });
  video.srcObject = stream;
  video.hidden = false;
  $('camera').hidden = true;
  $('camera-stop').hidden = false;
  note.textContent = t('请将二维码对准取景框。', 'Point the camera at the code.');
  await video.play();
  const scan = () => {
    if (!stream) return;
    if (video.readyState >= 2) {
      const scale = Math.min(1, 640 / video.videoWidth);
      canvas.width = Math.round(video.videoWidth * scale);
      canvas.height = Math.round(video.videoHeight * scale);
      ctx.drawImage(video, 0, 0, canvas.width, canvas.height);
      const img = ctx.getImageData(0, 0, canvas.width, canvas.height);
      const found = self.jsQR(img.data, img.width, img.height, { inversionAttempts: 'dontInvert' });
      if (found && found.data.startsWith('LZ1:')) {
        stopCamera();
        note.textContent = t('已读取二维码。', 'Code read.');
        $('code').value = found.data;
        check(found.data);
        return;
      }
    }
    requestAnimationFrame(scan);
  };
  requestAnimationFrame(scan);
}

$('camera').addEventListener('click', startCamera);
$('camera-stop').addEventListener('click', stopCamera);

// ---- the inspector's key ----

function showKeyState() {
  $('key-state').textContent = apiKey() ? t('已保存密钥：核验时将使用。', 'A key is kept and used for checks.') : t('未保存密钥：以匿名方式核验。', 'No key kept: checks are anonymous.');
}

$('save-key').addEventListener('click', () => {
  const v = $('api-key').value.trim();
  try { if (v) localStorage.setItem(KEY_STORE, v); } catch (_) { /* private mode */ }
  $('api-key').value = '';
  showKeyState();
});
$('forget-key').addEventListener('click', () => {
  try { localStorage.removeItem(KEY_STORE); } catch (_) { /* private mode */ }
  showKeyState();
});

// ---- the device challenge (shown only where the vault has the route) ----

async function probeChallenges() {
  try {
    const r = await fetch('/v1/presentations/challenges', { method: 'GET', cache: 'no-store' });
    $('challenge-box').hidden = r.status === 404;
  } catch (_) {
    $('challenge-box').hidden = true;
  }
}

$('challenge').addEventListener('click', async () => {
  const headers = { 'content-type': 'application/json' };
  const key = apiKey();
  if (key) headers.authorization = `Bearer ${key}`;
  try {
    const r = await fetch('/v1/presentations/challenges', { method: 'POST', headers, body: '{}', cache: 'no-store' });
    const body = await r.json();
    if (!r.ok || !body.challenge) throw new Error(String(r.status));
    challenge = body.challenge;
    $('challenge-digits').textContent = body.challenge;
    $('challenge-digits').setAttribute('aria-label', t(`应答数字 ${body.challenge.split('').join(' ')}`, `Digits ${body.challenge.split('').join(' ')}`));
    $('challenge-help').hidden = false;
  } catch (_) {
    $('challenge-digits').textContent = t('无法获取应答数字。', 'Could not get the digits.');
  }
});

showKeyState();
translate();
probeChallenges();
refreshOfflineData();
