// The offline check of a presentation token, as src/present/offline.rs makes it (procedure:
// schemas/presentation-token.md §5.1): the code taken apart, its signature checked with the
// trust list's key of its id whose window holds its issue time, its times with the fixed 10 s
// leeway, the required type, then the licence's slot in the issuer's signed status list. A
// list that does not verify, or is stale, leaves the status UNKNOWN, never VALID.

import { sm2Verify } from './sm2.mjs';

export const LEEWAY_S = 10;
const PREFIX = 'LZ1:';
const MAX_CODE_CHARS = 300;
const SIG_LEN = 64;
const MAX_LIST_BYTES = (1 << 24) / 4; // src/licence/status_list.rs: MAX_SLOTS / 4
const ALPHABET = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ $%*+-./:';
const subtle = globalThis.crypto && globalThis.crypto.subtle;

/** Bytes of a base45 text (RFC 9285), or null. */
export function base45(text) {
  const v = [];
  for (const c of text) {
    const i = ALPHABET.indexOf(c);
    if (i < 0) return null;
    v.push(i);
  }
  const out = [];
  for (let i = 0; i < v.length; i += 3) {
    const g = v.slice(i, i + 3);
    if (g.length === 3) {
      const x = g[0] + 45 * g[1] + 2025 * g[2];
      if (x > 0xffff) return null;
      out.push(x >> 8, x & 0xff);
    } else if (g.length === 2) {
      const x = g[0] + 45 * g[1];
      if (x > 0xff) return null;
      out.push(x);
    } else return null;
  }
  return new Uint8Array(out);
}

const hex = (bytes) => Array.from(bytes, (x) => x.toString(16).padStart(2, '0')).join('');

function b64(text) {
  const s = atob(text.replace(/-/g, '+').replace(/_/g, '/').padEnd(Math.ceil(text.length / 4) * 4, '='));
  return Uint8Array.from(s, (c) => c.charCodeAt(0));
}

const ALNUM = /^[A-Za-z0-9]{1,32}$/;

/** The payload of a code, with the signed bytes and the signature, or null when malformed. */
export function parse(code) {
  if (typeof code !== 'string' || code.length > MAX_CODE_CHARS || !code.startsWith(PREFIX)) return null;
  const bytes = base45(code.slice(PREFIX.length));
  if (!bytes || bytes.length < SIG_LEN) return null;
  const signed = bytes.subarray(0, bytes.length - SIG_LEN);
  const signature = bytes.subarray(bytes.length - SIG_LEN);
  const dv = new DataView(signed.buffer, signed.byteOffset, signed.byteLength);
  let at = 0;
  const need = (k) => { if (at + k > signed.length) throw new Error('truncated'); const o = at; at += k; return o; };
  try {
    if (signed[need(1)] !== 1) return null;
    const profile = ['valid', 'basic', 'full'][signed[need(1)]];
    if (!profile) return null;
    const kid = hex(signed.subarray(need(8), at));
    need(16); // handle
    need(8); // nonce
    const issuedAt = dv.getUint32(need(4));
    const ttl = dv.getUint16(need(2));
    if (ttl === 0 || ttl > 300) return null;
    const list = 'sl_' + hex(signed.subarray(need(16), at));
    const slot = dv.getUint32(need(4));
    const typeLen = signed[need(1)];
    const type = new TextDecoder().decode(signed.subarray(need(typeLen), at));
    if (!ALNUM.test(type)) return null;
    let disclosed = null;
    if (profile !== 'valid') {
      const from = dv.getUint16(need(2));
      if (from === 0xffff) return null;
      const to = dv.getUint16(need(2));
      const nameLen = signed[need(1)];
      const name = new TextDecoder('utf-8', { fatal: true }).decode(signed.subarray(need(nameLen), at));
      if (/\p{Cc}/u.test(name)) return null;
      disclosed = { holderName: name, validFrom: from, validTo: to === 0xffff ? null : to };
    }
    if (at !== signed.length) return null;
    return { profile, kid, issuedAt, ttl, list, slot, type, disclosed, signed, signature };
  } catch (_) {
    return null;
  }
}

/** RFC 3339 text (UTC, whole seconds) of seconds since the epoch, as the Rust side writes it. */
export function timeText(s) {
  return new Date(s * 1000).toISOString().replace(/\.\d{3}Z$/, 'Z');
}

const dateText = (days) => new Date(days * 86400000).toISOString().slice(0, 10);
const parseTime = (t) => { const ms = Date.parse(t); return Number.isNaN(ms) ? null : Math.floor(ms / 1000); };

// Each algorithm's SubjectPublicKeyInfo: its length and the OIDs it names (DER, hex): the
// registered algorithm must be the key's, as the Rust keyring requires.
const SPKI = {
  sm2: [91, '06082a811ccf5501822d'], // id-ecPublicKey on sm2p256v1
  p256: [91, '06082a8648ce3d030107'], // id-ecPublicKey on prime256v1
  ed25519: [44, '06032b6570'],
};

function spkiIs(spki, alg) {
  const [len, oid] = SPKI[alg] || [];
  return spki.length === len && hex(spki.subarray(0, len - (alg === 'ed25519' ? 32 : 65))).includes(oid);
}

/** The public key bytes at the end of a SubjectPublicKeyInfo of this algorithm. */
function rawKey(spki, alg) {
  return alg === 'ed25519' ? spki.subarray(spki.length - 32) : spki.subarray(spki.length - 65);
}

/**
 * A trust list read and checked: each key's id is recomputed from its key (a list that lies is
 * refused, as the Rust keyring refuses it); WebCrypto keys imported once.
 */
export async function keyring(list) {
  if (!list || list.format !== 'sidian-presentation-trust/1') throw new Error('not a sidian-presentation-trust/1 document');
  const ring = { issuers: [], byKid: new Map(), types: new Map() };
  for (const t of list.licence_types || []) ring.types.set(t.code, t.name);
  for (const is of list.issuers || []) {
    const sk = is.status_key;
    if (sk.alg !== 'ES256') throw new Error(`issuer ${is.id}: status key not ES256`);
    const statusKey = await subtle.importKey('spki', b64(sk.public_key), { name: 'ECDSA', namedCurve: 'P-256' }, false, ['verify']);
    const issuer = { id: is.id, name: is.name, uscc: is.uscc, statusKid: sk.kid, statusKey, statusLists: is.status_lists || [] };
    ring.issuers.push(issuer);
    for (const k of is.presentation_keys || []) {
      const spki = b64(k.public_key);
      const digest = new Uint8Array(await subtle.digest('SHA-256', spki));
      if (hex(digest.subarray(0, 8)) !== k.kid) throw new Error(`issuer ${is.id}: key ${k.kid}: the key id is not the key's`);
      if (!spkiIs(spki, k.alg)) throw new Error(`issuer ${is.id}: key ${k.kid}: its algorithm is not the key's, or not allowed`);
      const key = { alg: k.alg, notBefore: parseTime(k.not_before), notAfter: k.not_after == null ? null : parseTime(k.not_after), issuer };
      if (key.notBefore == null || (k.not_after != null && key.notAfter == null)) throw new Error(`issuer ${is.id}: key ${k.kid}: window`);
      if (k.alg === 'sm2') key.point = rawKey(spki, 'sm2');
      else if (k.alg === 'p256') key.crypto = await subtle.importKey('spki', spki, { name: 'ECDSA', namedCurve: 'P-256' }, false, ['verify']);
      else if (k.alg === 'ed25519') {
        try {
          key.crypto = await subtle.importKey('spki', spki, { name: 'Ed25519' }, false, ['verify']);
        } catch (_) {
          key.unsupported = true; // this browser has no Ed25519: its tokens cannot be checked offline
        }
      } else throw new Error(`issuer ${is.id}: key ${k.kid}: algorithm ${k.alg} not allowed`);
      if (!ring.byKid.has(k.kid)) ring.byKid.set(k.kid, []);
      ring.byKid.get(k.kid).push(key);
    }
  }
  return ring;
}

async function signatureVerifies(key, signed, signature) {
  if (key.alg === 'sm2') return sm2Verify(key.point, signed, signature);
  if (key.unsupported) return false;
  if (key.alg === 'p256') return subtle.verify({ name: 'ECDSA', hash: 'SHA-256' }, key.crypto, signature, signed);
  return subtle.verify({ name: 'Ed25519' }, key.crypto, signature, signed);
}

/** A status list token (`statuslist+jwt`) taken apart: its list id (`sub`'s last segment). */
export function parseStatusList(jwt) {
  const parts = String(jwt).trim().split('.');
  if (parts.length !== 3) return null;
  try {
    const header = JSON.parse(new TextDecoder().decode(b64(parts[0])));
    if (header.typ !== 'statuslist+jwt') return null;
    const payload = JSON.parse(new TextDecoder().decode(b64(parts[1])));
    const id = typeof payload.sub === 'string' ? payload.sub.split('/').pop() : '';
    if (!id) return null;
    return { id, header, payload, signingInput: new TextEncoder().encode(parts[0] + '.' + parts[1]), signature: b64(parts[2]) };
  } catch (_) {
    return null;
  }
}

async function inflate(bytes) {
  const stream = new Blob([bytes]).stream().pipeThrough(new DecompressionStream('deflate'));
  return new Uint8Array(await new Response(stream).arrayBuffer());
}

/** The licence's slot as its issuer's list, verified and fresh, says it. */
async function slotStatus(issuer, lists, list, slot, now, maxAge) {
  const finding = { list, slot };
  const t = lists.get(list);
  if (!t) return { ...finding, reason: 'no status list of the licence is held' };
  const signed = t.header.alg === 'ES256' && t.header.kid === issuer.statusKid && t.signature.length === 64 &&
    await subtle.verify({ name: 'ECDSA', hash: 'SHA-256' }, issuer.statusKey, t.signature, t.signingInput);
  if (!signed) return { ...finding, reason: "the status list is not signed by the issuer's status key" };
  const { iat, exp } = t.payload;
  if (!Number.isInteger(iat) || !Number.isInteger(exp)) return { ...finding, reason: 'the status list has no iat or exp' };
  finding.as_of = timeText(iat);
  const staleAt = maxAge == null ? exp : Math.min(exp, iat + maxAge);
  if (now >= staleAt) {
    return { ...finding, unknown_since: timeText(staleAt), reason: staleAt === exp ? 'the status list expired' : 'the status list is older than allowed' };
  }
  if (iat > now + LEEWAY_S) return { ...finding, reason: 'the status list is dated in the future' };
  let value = null;
  try {
    const sl = t.payload.status_list;
    if (sl && sl.bits === 2 && typeof sl.lst === 'string') {
      if (!t.slots) t.slots = await inflate(b64(sl.lst));
      if (t.slots.length > MAX_LIST_BYTES) t.slots = new Uint8Array(0); // longer than any list
      const byte = t.slots[Math.floor(slot / 4)];
      if (byte !== undefined) value = ['valid', 'invalid', 'suspended', 'invalid'][(byte >> (2 * (slot % 4))) & 3];
    }
  } catch (_) { value = null; }
  if (value) finding.value = value;
  else finding.reason = 'the status list has no such slot';
  return finding;
}

/**
 * Checks `code` at `now` (seconds): against `ring` (from `keyring`), the status lists `lists`
 * (a Map of list id to `parseStatusList` results), an optional required type and maximum list
 * age. The report has the shape of the Rust `Report` (verdict, checked_at, token, licence,
 * status).
 */
export async function verifyOffline(code, ring, lists, now, requiredType = null, maxAge = null) {
  const checked_at = timeText(now);
  const invalid = { verdict: 'INVALID', checked_at };
  const tok = parse(code);
  if (!tok) return invalid;
  let issuer = null;
  for (const key of ring.byKid.get(tok.kid) || []) {
    const covers = key.notBefore <= tok.issuedAt && (key.notAfter == null || tok.issuedAt < key.notAfter);
    if (covers && await signatureVerifies(key, tok.signed, tok.signature)) { issuer = key.issuer; break; }
  }
  if (!issuer || tok.issuedAt > now + LEEWAY_S) return invalid;
  const d = tok.disclosed;
  const licence = {
    type: tok.type,
    ...(ring.types.has(tok.type) ? { type_name: ring.types.get(tok.type) } : {}),
    issuer: { id: issuer.id, name: issuer.name, uscc: issuer.uscc },
    ...(d ? { holder_name: d.holderName, valid_from: dateText(d.validFrom), valid_to: d.validTo == null ? '长期' : dateText(d.validTo) } : {}),
  };
  const token = { profile: tok.profile, issued_at: timeText(tok.issuedAt), expires_at: timeText(tok.issuedAt + tok.ttl) };
  if (now > tok.issuedAt + tok.ttl + LEEWAY_S) return { verdict: 'EXPIRED', checked_at, token, licence };
  if (requiredType != null && requiredType !== tok.type) return { verdict: 'WRONG_TYPE', checked_at, token, licence };
  const status = await slotStatus(issuer, lists, tok.list, tok.slot, now, maxAge);
  const today = Math.floor((now + 8 * 3600) / 86400); // a day in China Standard Time
  const ended = d && d.validTo != null && d.validTo < today;
  let verdict;
  if (ended) verdict = 'EXPIRED';
  else if (!status.value) verdict = 'UNKNOWN';
  else verdict = { valid: 'VALID', suspended: 'SUSPENDED' }[status.value] || 'REVOKED';
  return { verdict, checked_at, token, licence, status };
}

/** A Map of list id to parsed status list, from JWS texts (unparseable ones skipped). */
export function statusLists(jwts) {
  const m = new Map();
  for (const j of jwts) {
    const t = parseStatusList(j);
    if (t) m.set(t.id, t);
  }
  return m;
}
