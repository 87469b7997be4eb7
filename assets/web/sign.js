// /sign/{token}: the applicant reads the consent text, ticks that they agree and draws their
// signature on the pad with a finger, pen or mouse (Pointer Events, every coalesced sample).
// Each point is x, y in CSS pixels of the pad (top-left origin), ms since the first touch and,
// from a pen or a pointer that measures it, pressure. The capture goes with the consent text as
// shown to POST /sign/{token}/capture, which checks it as src/handsign/capture.rs says.
import { t, translate } from './site.js';

const $ = (id) => document.getElementById(id);
const form = $('sign-form');
const canvas = $('pad');
const g = canvas.getContext('2d');
const token = form.dataset.token;

/** The capture's limits (src/handsign/capture.rs). */
const MAX_POINTS = 10000;
const MAX_STROKES = 200;
const MAX_DEVICE = 200;
/** CSS pixels per inch. */
const DPI = 96;
const INK = '#0d1a59';

/** Pen-down to pen-up runs of points, and each run's pointer type. */
let strokes = [];
let kinds = [];
let points = 0;
/** The capture's canvas (CSS px), fixed at its first stroke: a later resize only rescales. */
let frame = null;
/** The first pointerdown's time stamp, and the last t_ms given (kept non-decreasing). */
let t0 = 0;
let lastT = 0;
/** The stroke being drawn: { id, points }. */
let active = null;
/** 'ready' | 'sending' | 'captured' | 'gone' | 'conflict': input is taken only when ready. */
let state = 'loading';

const clamp = (v, lo, hi) => Math.min(hi, Math.max(lo, v));
const round = (v, places) => Math.round(v * 10 ** places) / 10 ** places;

function setState(s) {
  state = s;
  form.dataset.state = s;
  const busy = s !== 'ready';
  for (const c of form.elements) c.disabled = busy;
  form.classList.toggle('locked', busy);
}

function say(text) {
  $('status').textContent = text;
}

function fail(text) {
  $('error').textContent = text;
}

// ---- the pad: size and ink ----

/** The pad's place and size in CSS px now (it has no border or padding of its own). */
const box = () => canvas.getBoundingClientRect();

/** The capture's frame, or before the first stroke the pad's size. */
function currentFrame() {
  if (frame) return frame;
  const r = box();
  return { w: r.width, h: r.height };
}

/** The backing store at the screen's resolution, the strokes drawn again at the new scale. */
function resize() {
  const r = box();
  const dpr = window.devicePixelRatio || 1;
  const w = Math.max(1, Math.round(r.width * dpr));
  const h = Math.max(1, Math.round(r.height * dpr));
  if (canvas.width !== w || canvas.height !== h) {
    canvas.width = w;
    canvas.height = h;
  }
  redraw();
}

function toFrame() {
  const f = currentFrame();
  g.setTransform(canvas.width / f.w, 0, 0, canvas.height / f.h, 0, 0);
  g.strokeStyle = INK;
  g.fillStyle = INK;
  g.lineCap = 'round';
  g.lineJoin = 'round';
}

/** Line width in CSS px: the pen's pressure where there is one. */
const widthAt = (p) => (p.pressure === undefined ? 2.5 : 1 + 3.5 * p.pressure);

function dot(p) {
  g.beginPath();
  g.arc(p.x, p.y, widthAt(p) / 2, 0, 2 * Math.PI);
  g.fill();
}

function segment(a, b) {
  g.lineWidth = (widthAt(a) + widthAt(b)) / 2;
  g.beginPath();
  g.moveTo(a.x, a.y);
  g.lineTo(b.x, b.y);
  g.stroke();
}

function redraw() {
  g.setTransform(1, 0, 0, 1, 0, 0);
  g.clearRect(0, 0, canvas.width, canvas.height);
  toFrame();
  for (const s of strokes) {
    if (s.length) dot(s[0]);
    for (let i = 1; i < s.length; i++) segment(s[i - 1], s[i]);
  }
}

if (typeof ResizeObserver === 'function') new ResizeObserver(resize).observe(canvas);
else window.addEventListener('resize', resize);

// ---- the pointer ----

const stamp = (ev) => (ev.timeStamp > 0 ? ev.timeStamp : performance.now());

/** One sample of `ev` in the capture's frame; null when it adds nothing to the last one. */
function sample(ev, r) {
  const f = frame;
  const x = round(clamp(((ev.clientX - r.left) * f.w) / r.width, 0, f.w), 2);
  const y = round(clamp(((ev.clientY - r.top) * f.h) / r.height, 0, f.h), 2);
  const p = { x, y, t_ms: Math.max(lastT, round(stamp(ev) - t0, 1)) };
  const pressure = ev.pressure;
  // A mouse says 0.5 with a button down and 0 without: that is no measurement.
  if (Number.isFinite(pressure) && (ev.pointerType === 'pen' || (pressure !== 0.5 && pressure !== 0))) {
    p.pressure = round(clamp(pressure, 0, 1), 3);
  }
  return p;
}

function add(ev, r, lift = false) {
  const pts = active.points;
  const p = sample(ev, r);
  const prev = pts[pts.length - 1];
  if (lift) {
    // Pen-up says where the pen left but has no pressure (0: lifted); most often it is where the
    // last move was, and adds nothing. Elsewhere, the pen pressed as it did a moment before.
    if (!prev || (prev.x === p.x && prev.y === p.y)) return;
    if (prev.pressure === undefined) delete p.pressure;
    else p.pressure = prev.pressure;
  }
  if (prev && prev.x === p.x && prev.y === p.y && prev.pressure === p.pressure) return;
  if (points >= MAX_POINTS) {
    fail(t('签名过长，请清除后重新书写。', 'The signature is too long; clear it and sign again.'));
    return;
  }
  pts.push(p);
  points += 1;
  lastT = p.t_ms;
  toFrame();
  if (prev) segment(prev, p);
  else dot(p);
}

function counted() {
  const n = strokes.length;
  $('pad-count').textContent = n === 0
    ? t('尚未书写。', 'Nothing drawn yet.')
    : t(`已书写 ${n} 笔。`, `${n} ${n === 1 ? 'stroke' : 'strokes'} drawn.`);
  form.dataset.strokes = String(n);
  form.dataset.points = String(points);
}

canvas.addEventListener('pointerdown', (ev) => {
  // One pointer at a time: a palm or a second finger does not write.
  if (state !== 'ready' || active) return;
  if (ev.pointerType === 'mouse' && ev.button !== 0) return;
  ev.preventDefault();
  if (strokes.length >= MAX_STROKES || points >= MAX_POINTS) {
    fail(t('签名过长，请清除后重新书写。', 'The signature is too long; clear it and sign again.'));
    return;
  }
  const r = box();
  if (!strokes.length) {
    frame = { w: round(r.width, 2), h: round(r.height, 2) };
    t0 = stamp(ev);
    lastT = 0;
  }
  try {
    canvas.setPointerCapture(ev.pointerId);
  } catch (_) { /* a pointer the browser does not track (a synthetic one): its events still come here */ }
  active = { id: ev.pointerId, points: [] };
  strokes.push(active.points);
  kinds.push(ev.pointerType || 'mouse');
  fail('');
  say('');
  add(ev, r);
});

canvas.addEventListener('pointermove', (ev) => {
  if (!active || ev.pointerId !== active.id) return;
  ev.preventDefault();
  const r = box();
  const all = typeof ev.getCoalescedEvents === 'function' ? ev.getCoalescedEvents() : [];
  for (const e of all.length ? all : [ev]) add(e, r);
});

function end(ev) {
  if (!active || ev.pointerId !== active.id) return;
  if (ev.type === 'pointerup') add(ev, box(), true);
  active = null;
  counted();
}

canvas.addEventListener('pointerup', end);
canvas.addEventListener('pointercancel', end);
canvas.addEventListener('lostpointercapture', end);
// Older mobile browsers scroll or zoom on a touch despite touch-action: none.
for (const type of ['touchstart', 'touchmove']) {
  canvas.addEventListener(type, (ev) => { if (state === 'ready') ev.preventDefault(); }, { passive: false });
}
canvas.addEventListener('contextmenu', (ev) => ev.preventDefault());

// ---- clear and submit ----

function clear() {
  strokes = [];
  kinds = [];
  points = 0;
  frame = null;
  active = null;
  lastT = 0;
  redraw();
  counted();
}

$('clear').addEventListener('click', () => {
  if (state !== 'ready') return;
  clear();
  fail('');
  say(t('已清除，请重新书写。', 'Cleared; sign again.'));
});

$('agree').addEventListener('change', () => {
  $('agree').removeAttribute('aria-invalid');
  if ($('agree').checked) fail('');
});

/** The pointer types used and a short summary of the browser, e.g. "pen+mouse; Chrome/131; Linux; Android 14". */
function device() {
  const used = [...new Set(kinds)].join('+') || 'unknown';
  const ua = navigator.userAgent || '';
  let browser = 'browser';
  for (const name of ['MicroMessenger', 'DingTalk', 'AlipayClient', 'UCBrowser', 'SamsungBrowser', 'EdgA', 'EdgiOS',
    'Edg', 'OPR', 'FxiOS', 'Firefox', 'CriOS', 'HeadlessChrome', 'Chrome', 'Version']) {
    const m = ua.match(new RegExp(`${name}/(\\d+)`));
    if (m) {
      browser = `${name === 'Version' ? 'Safari' : name}/${m[1]}`;
      break;
    }
  }
  const platform = (ua.match(/\(([^)]*)\)/) || [])[1] || '';
  const text = [used, browser, platform].filter(Boolean).join('; ');
  // The server refuses control characters.
  return text.replace(/[\u0000-\u001f\u007f-\u009f]/g, ' ').slice(0, MAX_DEVICE);
}

function capture() {
  const f = frame;
  return {
    canvas: { width: f.w, height: f.h, dpi: DPI },
    device: device(),
    consent: $('consent').textContent,
    strokes: strokes.filter((s) => s.length),
  };
}

form.addEventListener('submit', async (ev) => {
  ev.preventDefault();
  if (state !== 'ready') return;
  fail('');
  say('');
  if (!points) {
    fail(t('请先在签名框内写下您的签名。', 'Please draw your signature in the box first.'));
    canvas.scrollIntoView({ block: 'nearest' });
    return;
  }
  if (!$('agree').checked) {
    $('agree').setAttribute('aria-invalid', 'true');
    fail(t('请先勾选“我已阅读并同意以上内容”。', 'Please tick “I have read and agree” first.'));
    $('agree').focus();
    return;
  }
  const body = JSON.stringify(capture());
  setState('sending');
  say(t('正在提交…', 'Sending…'));
  let res;
  let json = null;
  try {
    res = await fetch(`/sign/${encodeURIComponent(token)}/capture`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body,
      credentials: 'same-origin',
      cache: 'no-store',
    });
    try { json = await res.json(); } catch (_) { /* no JSON body */ }
  } catch (_) {
    setState('ready');
    say('');
    fail(t('网络连接失败，签名未提交，请稍后重试。', 'The network failed and the signature was not sent; try again.'));
    return;
  }
  if (res.ok) {
    setState('captured');
    say(t('签名已提交。', 'Signature received.'));
    $('done').hidden = false;
    $('done-title').focus();
    return;
  }
  say('');
  const e = (json && json.error) || { code: `http_${res.status}`, message: res.statusText };
  const why = e.message ? `（${e.message}）` : '';
  if (res.status === 400) {
    // The drawing stays: the signer clears it and signs again.
    setState('ready');
    fail(t(`签名未通过检查，请清除后重新书写。${why}`, `The signature was not accepted; clear it and sign again. ${e.message || ''}`.trim()));
  } else if (res.status === 404) {
    setState('gone');
    fail(t(`此签名链接已失效，请联系向您发送链接的机构重新获取。${why}`,
      `This signing link is no longer valid; ask the service that sent it for a new one. ${e.message || ''}`.trim()));
  } else if (res.status === 409) {
    setState('conflict');
    fail(t(`此链接已提交过签名，无需再次提交。${why}`, `A signature has already been given with this link. ${e.message || ''}`.trim()));
  } else {
    setState('ready');
    fail(t(`提交失败，请稍后重试。${why}`, `Sending failed; try again. ${e.message || ''}`.trim()));
  }
});

// ---- start ----

translate();
resize();
counted();
setState('ready');
