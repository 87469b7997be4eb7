// The offline verifier in JS (assets/web/offline.mjs, sm2.mjs) against the presentation token
// test vectors (tests/data/present/vectors.json, made by the Rust code) and the vectors of
// tests/browser/vectors.json (written by `cargo test --test web`: SM2 and P-256 signatures
// the Rust side made, with ones it refuses). Run: node --test tests/browser/
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { keyring, statusLists, verifyOffline } from '../../assets/web/offline.mjs';
import { sm2Verify, sm3 } from '../../assets/web/sm2.mjs';

const root = new URL('../../', import.meta.url);
const json = (p) => JSON.parse(readFileSync(new URL(p, root), 'utf8'));
const hexBytes = (h) => Uint8Array.from(h.match(/../g) || [], (x) => parseInt(x, 16));
const b64 = (s) => Uint8Array.from(Buffer.from(s, 'base64'));

test('SM3 of the standard examples', () => {
  const h = (s) => Buffer.from(sm3(new TextEncoder().encode(s))).toString('hex');
  assert.equal(h('abc'), '66c7f0f462eeedd9d1f2d46bdc10e4e24167c4875cf2f7a2297da02b8f4ba8e0');
  assert.equal(h('abcd'.repeat(16)), 'debe9ff92275b8a138604889c18e5a4d6fdb70e5387e5765293dcba39c0c5732');
});

test('presentation token vectors give their verdicts', async () => {
  const file = json('tests/data/present/vectors.json');
  const ring = await keyring(file.trust);
  const lists = statusLists(file.status_lists);
  for (const v of file.vectors) {
    const r = await verifyOffline(v.token, ring, lists, v.now, v.type, v.max_age);
    assert.equal(r.verdict, v.verdict, v.name);
  }
});

test('signatures made by the Rust side verify, and altered ones do not', async () => {
  const file = json('tests/browser/vectors.json');
  let sm2Ms = 0;
  let sm2Count = 0;
  for (const v of file.signatures) {
    const msg = hexBytes(v.message);
    const sig = hexBytes(v.signature);
    const spki = b64(v.public_key);
    let ok;
    if (v.alg === 'sm2') {
      const t0 = performance.now();
      ok = sm2Verify(spki.subarray(spki.length - 65), msg, sig);
      if (v.valid) {
        sm2Ms += performance.now() - t0;
        sm2Count += 1;
      }
    } else {
      const key = await crypto.subtle.importKey('spki', spki, { name: 'ECDSA', namedCurve: 'P-256' }, false, ['verify']);
      ok = await crypto.subtle.verify({ name: 'ECDSA', hash: 'SHA-256' }, key, sig, msg);
    }
    assert.equal(ok, v.valid, v.name);
  }
  console.log(`SM2 verify in JS: ${(sm2Ms / sm2Count).toFixed(1)} ms a valid signature (mean of ${sm2Count})`);
});

test('a trust list whose key ids or algorithms lie is refused, as the Rust keyring refuses it', async () => {
  const file = json('tests/data/present/vectors.json');
  const p256 = json('tests/browser/vectors.json').signatures.find((v) => v.alg === 'p256').public_key;
  const kid = async (b) => Buffer.from(await crypto.subtle.digest('SHA-256', b64(b))).subarray(0, 8).toString('hex');
  const withKey = (entry) => {
    const trust = structuredClone(file.trust);
    trust.issuers[0].presentation_keys = [entry];
    return trust;
  };
  const entry = { kid: await kid(p256), alg: 'p256', public_key: p256, not_before: '2026-01-01T00:00:00Z', not_after: null };
  await keyring(withKey(entry));
  await assert.rejects(keyring(withKey({ ...entry, alg: 'sm2' })));
  await assert.rejects(keyring(withKey({ ...entry, alg: 'ed25519' })));
  await assert.rejects(keyring(withKey({ ...entry, kid: '0000000000000000' })));
  const sm2 = file.trust.issuers[0].presentation_keys[0];
  await assert.rejects(keyring(withKey({ ...sm2, alg: 'p256' })));
  await assert.rejects(keyring({ ...file.trust, format: 'x' }));
});
