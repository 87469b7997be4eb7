// SM3 (GB/T 32905) and SM2 signature verification (GB/T 32918.2) over BigInt, for checking
// presentation tokens offline: browsers' WebCrypto has neither. Only verification, so nothing
// here handles a secret and constant time does not matter. The digest signed is
// SM3(Z_A ‖ message) with Z_A over the default user ID "1234567812345678", as sidian signs.

const IV = [0x7380166f, 0x4914b2b9, 0x172442d7, 0xda8a0600, 0xa96f30bc, 0x163138aa, 0xe38dee4d, 0xb0fb0e4e];

const rotl = (x, n) => ((x << n) | (x >>> (32 - n))) >>> 0;
const P0 = (x) => (x ^ rotl(x, 9) ^ rotl(x, 17)) >>> 0;
const P1 = (x) => (x ^ rotl(x, 15) ^ rotl(x, 23)) >>> 0;
const T = new Uint32Array(64);
for (let j = 0; j < 64; j++) T[j] = rotl(j < 16 ? 0x79cc4519 : 0x7a879d8a, j % 32);

/** SM3 digest of bytes (Uint8Array), 32 bytes. */
export function sm3(msg) {
  const len = msg.length;
  const blocks = Math.ceil((len + 9) / 64);
  const buf = new Uint8Array(blocks * 64);
  buf.set(msg);
  buf[len] = 0x80;
  const dv = new DataView(buf.buffer);
  const bits = len * 8;
  dv.setUint32(buf.length - 8, Math.floor(bits / 0x100000000));
  dv.setUint32(buf.length - 4, bits >>> 0);
  const V = IV.slice();
  const W = new Uint32Array(68);
  const W1 = new Uint32Array(64);
  for (let b = 0; b < blocks; b++) {
    for (let j = 0; j < 16; j++) W[j] = dv.getUint32(b * 64 + j * 4);
    for (let j = 16; j < 68; j++) {
      W[j] = (P1(W[j - 16] ^ W[j - 9] ^ rotl(W[j - 3], 15)) ^ rotl(W[j - 13], 7) ^ W[j - 6]) >>> 0;
    }
    for (let j = 0; j < 64; j++) W1[j] = (W[j] ^ W[j + 4]) >>> 0;
    let [A, B, C, D, E, F, G, H] = V;
    for (let j = 0; j < 64; j++) {
      const a12 = rotl(A, 12);
      const SS1 = rotl((a12 + E + T[j]) >>> 0, 7);
      const SS2 = (SS1 ^ a12) >>> 0;
      const FF = j < 16 ? (A ^ B ^ C) : ((A & B) | (A & C) | (B & C));
      const GG = j < 16 ? (E ^ F ^ G) : ((E & F) | (~E & G));
      const TT1 = ((FF >>> 0) + D + SS2 + W1[j]) >>> 0;
      const TT2 = ((GG >>> 0) + H + SS1 + W[j]) >>> 0;
      D = C;
      C = rotl(B, 9);
      B = A;
      A = TT1;
      H = G;
      G = rotl(F, 19);
      F = E;
      E = P0(TT2);
    }
    V[0] ^= A; V[1] ^= B; V[2] ^= C; V[3] ^= D; V[4] ^= E; V[5] ^= F; V[6] ^= G; V[7] ^= H;
  }
  const out = new Uint8Array(32);
  const ov = new DataView(out.buffer);
  for (let i = 0; i < 8; i++) ov.setUint32(i * 4, V[i] >>> 0);
  return out;
}

// The curve of GM/T 0003.5 (sm2p256v1).
const p = 0xfffffffeffffffffffffffffffffffffffffffff00000000ffffffffffffffffn;
const a = 0xfffffffeffffffffffffffffffffffffffffffff00000000fffffffffffffffcn;
const b = 0x28e9fa9e9d9f5e344d5a9e4bcf6509a7f39789f515ab8f92ddbcbd414d940e93n;
const n = 0xfffffffeffffffffffffffffffffffff7203df6b21c6052b53bbf40939d54123n;
const Gx = 0x32c4ae2c1f1981195f9904466a39c9948fe30bbff2660be1715a4589334c74c7n;
const Gy = 0xbc3736a2f4f6779c59bdcee36b692153d0a9877cc62a474002df32e52139f0a0n;

const mod = (x, m) => { const r = x % m; return r < 0n ? r + m : r; };

function inv(x, m) {
  let [r0, r1] = [mod(x, m), m];
  let [s0, s1] = [1n, 0n];
  while (r1 !== 0n) {
    const q = r0 / r1;
    [r0, r1] = [r1, r0 - q * r1];
    [s0, s1] = [s1, s0 - q * s1];
  }
  return mod(s0, m);
}

export function bytesToBig(bytes) {
  let hex = '';
  for (const x of bytes) hex += x.toString(16).padStart(2, '0');
  return hex ? BigInt('0x' + hex) : 0n;
}

function bigToBytes(x) {
  const hex = x.toString(16).padStart(64, '0');
  const out = new Uint8Array(32);
  for (let i = 0; i < 32; i++) out[i] = parseInt(hex.slice(i * 2, i * 2 + 2), 16);
  return out;
}

// Points in Jacobian coordinates [X, Y, Z]; Z = 0 is the point at infinity.
const INF = [1n, 1n, 0n];

function dbl([X, Y, Z]) {
  if (Z === 0n || Y === 0n) return INF;
  const YY = (Y * Y) % p;
  const S = (4n * X * YY) % p;
  const ZZ = (Z * Z) % p;
  const M = (3n * X * X + a * ((ZZ * ZZ) % p)) % p;
  const X3 = mod(M * M - 2n * S, p);
  const Y3 = mod(M * (S - X3) - 8n * YY * YY, p);
  const Z3 = (2n * Y * Z) % p;
  return [X3, Y3, Z3];
}

function add(P, Q) {
  if (P[2] === 0n) return Q;
  if (Q[2] === 0n) return P;
  const [X1, Y1, Z1] = P;
  const [X2, Y2, Z2] = Q;
  const Z1Z1 = (Z1 * Z1) % p;
  const Z2Z2 = (Z2 * Z2) % p;
  const U1 = (X1 * Z2Z2) % p;
  const U2 = (X2 * Z1Z1) % p;
  const S1 = (Y1 * Z2 * Z2Z2) % p;
  const S2 = (Y2 * Z1 * Z1Z1) % p;
  const H = mod(U2 - U1, p);
  const R = mod(S2 - S1, p);
  if (H === 0n) return R === 0n ? dbl(P) : INF;
  const HH = (H * H) % p;
  const HHH = (H * HH) % p;
  const V = (U1 * HH) % p;
  const X3 = mod(R * R - HHH - 2n * V, p);
  const Y3 = mod(R * (V - X3) - S1 * HHH, p);
  const Z3 = (Z1 * Z2 * H) % p;
  return [X3, Y3, Z3];
}

/** u·A + v·B (Shamir's trick), as affine [x, y], or null for the point at infinity. */
function twoMul(u, A, v, B) {
  const AB = add(A, B);
  let R = INF;
  const bits = Math.max(u.toString(2).length, v.toString(2).length);
  for (let i = bits - 1; i >= 0; i--) {
    R = dbl(R);
    const bu = (u >> BigInt(i)) & 1n;
    const bv = (v >> BigInt(i)) & 1n;
    if (bu && bv) R = add(R, AB);
    else if (bu) R = add(R, A);
    else if (bv) R = add(R, B);
  }
  if (R[2] === 0n) return null;
  const zi = inv(R[2], p);
  const zi2 = (zi * zi) % p;
  return [(R[0] * zi2) % p, (R[1] * zi2 * zi) % p];
}

const onCurve = (x, y) => x < p && y < p && mod(y * y - (x * x * x + a * x + b), p) === 0n;

const DEFAULT_ID = new TextEncoder().encode('1234567812345678');

/** Z_A of a public key (x, y as 32-byte arrays) with the default user ID. */
export function za(x, y, id = DEFAULT_ID) {
  const entl = id.length * 8;
  const parts = [new Uint8Array([entl >> 8, entl & 0xff]), id, bigToBytes(a), bigToBytes(b),
    bigToBytes(Gx), bigToBytes(Gy), x, y];
  const all = new Uint8Array(parts.reduce((s, q) => s + q.length, 0));
  let at = 0;
  for (const q of parts) { all.set(q, at); at += q.length; }
  return sm3(all);
}

/**
 * Whether `sig` (64 bytes, r ‖ s) is an SM2 signature with SM3 of `msg` under the public key
 * `point` (65 bytes, 0x04 ‖ x ‖ y).
 */
export function sm2Verify(point, msg, sig) {
  if (point.length !== 65 || point[0] !== 4 || sig.length !== 64) return false;
  const xb = point.subarray(1, 33);
  const yb = point.subarray(33, 65);
  const Px = bytesToBig(xb);
  const Py = bytesToBig(yb);
  if (!onCurve(Px, Py)) return false;
  const r = bytesToBig(sig.subarray(0, 32));
  const s = bytesToBig(sig.subarray(32, 64));
  if (r < 1n || r >= n || s < 1n || s >= n) return false;
  const z = za(xb, yb);
  const m = new Uint8Array(32 + msg.length);
  m.set(z);
  m.set(msg, 32);
  const e = bytesToBig(sm3(m));
  const t = (r + s) % n;
  if (t === 0n) return false;
  const X = twoMul(s, [Gx, Gy, 1n], t, [Px, Py, 1n]);
  if (!X) return false;
  return (e + X[0]) % n === r;
}
