// Every page: the large-type switch (remembered on this device) and the English fallback.
const root = document.documentElement;
const button = document.getElementById('large-type');

function setLarge(on) {
  root.classList.toggle('large', on);
  if (button) button.setAttribute('aria-pressed', String(on));
  try { localStorage.setItem('sidian.large', on ? '1' : '0'); } catch (_) { /* private mode */ }
}

let stored = null;
try { stored = localStorage.getItem('sidian.large'); } catch (_) { /* private mode */ }
setLarge(stored === '1');
if (button) button.addEventListener('click', () => setLarge(!root.classList.contains('large')));

/** Whether the reader asked for something other than Chinese. */
export const english = !(navigator.languages || [navigator.language || 'zh'])
  .some((l) => l.toLowerCase().startsWith('zh'));

/** Swaps each element's `data-en` text in when the reader prefers English. */
export function translate(scope = document) {
  if (!english) return;
  root.lang = 'en';
  for (const el of scope.querySelectorAll('[data-en]')) el.textContent = el.dataset.en;
  for (const el of scope.querySelectorAll('[data-en-label]')) el.setAttribute('aria-label', el.dataset.enLabel);
  for (const el of scope.querySelectorAll('[data-en-placeholder]')) el.placeholder = el.dataset.enPlaceholder;
}

/** Chinese or English text, as the reader prefers. */
export function t(zh, en) {
  return english ? en : zh;
}

/** An element with attributes and children (text is always set as text, never as markup). */
export function el(tag, attrs = {}, ...children) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v != null) e.setAttribute(k, v);
  }
  for (const c of children) {
    if (c != null) e.append(c);
  }
  return e;
}

/** A definition list of `[zh, en, value]` rows, the empty values left out. */
export function fields(rows) {
  const dl = el('dl', { class: 'fields' });
  for (const [zh, en, value] of rows) {
    if (value == null || value === '') continue;
    dl.append(el('dt', {}, t(zh, en)), el('dd', {}, String(value)));
  }
  return dl;
}

/** An RFC 3339 time in the reader's local form; null for none. */
export function when(text) {
  if (!text) return null;
  const d = new Date(text);
  return Number.isNaN(d.getTime()) ? text : d.toLocaleString();
}

translate();
