// Vectorised f32x4 helpers and transcendental approximations shared by the kernels.
//
// Measured accuracy: max relative error against f64 references over dense sweeps (400k points;
// 2^-23 = 1.19e-7). The conformance suite in test/backend/wasm checks these with margin.
//   exp        8.1e-8 on [-87, 88.7]; below -87.3 the result is subnormal (absolute accuracy only)
//   log        7.6e-8 for normal inputs (subnormals are rescaled first); IEEE special cases
//   tanh       1.6e-7
//   sigmoid    1.3e-7; silu 1.7e-7 (for x > -87, where the result is still a normal float)
//   softplus   1.2e-7
//   erf        1.6e-7
//   gelu_erf   4.1e-7 everywhere, including the x < 0 tail (erfc is evaluated directly and x^2 is
//              split so that exp(-x^2/2) keeps its relative accuracy)
//   gelu_tanh  ~(2 + |2u|) * 2^-24 with 2u = 2 sqrt(2/pi)(x + 0.044715x^3): 8.4e-7 at x = -2.9,
//              1.3e-5 near x = -10 where the value is ~1e-36 (the rounding of u is amplified by
//              exp; any f32 implementation has this limit, and 0.5x(1 + tanh u) is far worse)
// All polynomial coefficients were fitted for this file (weighted least squares iterated to
// near-minimax against mpmath, then rounded to f32); exp, log and erf below 0.8 use Taylor terms.

// Multiply-add used by the matmul and gemv micro-kernels. The relaxed build turns it into a
// fused multiply-add (one rounding, 2x the flops per instruction on x64); the plain build keeps
// mul + add. Everything else in the module is identical between the two builds.
// @ts-ignore: decorator
@inline
export function madd(a: v128, b: v128, c: v128): v128 {
  if (ASC_FEATURE_RELAXED_SIMD) {
    return f32x4.relaxed_madd(a, b, c);
  } else {
    return f32x4.add(c, f32x4.mul(a, b));
  }
}

// @ts-ignore: decorator
@inline
export function hsum(v: v128): f32 {
  return (f32x4.extract_lane(v, 0) + f32x4.extract_lane(v, 1)) +
    (f32x4.extract_lane(v, 2) + f32x4.extract_lane(v, 3));
}

// @ts-ignore: decorator
@inline
export function hmax(v: v128): f32 {
  const a = max(f32x4.extract_lane(v, 0), f32x4.extract_lane(v, 1));
  const b = max(f32x4.extract_lane(v, 2), f32x4.extract_lane(v, 3));
  return max(a, b);
}

// Loads 1-3 trailing floats into a vector (zero in the other lanes) without reading past the end.
// @ts-ignore: decorator
@inline
export function loadPartial(p: usize, count: i32): v128 {
  let v = f32x4.splat(0);
  v = f32x4.replace_lane(v, 0, load<f32>(p));
  if (count > 1) v = f32x4.replace_lane(v, 1, load<f32>(p, 4));
  if (count > 2) v = f32x4.replace_lane(v, 2, load<f32>(p, 8));
  return v;
}

// Stores 1-3 lanes without writing past the end.
// @ts-ignore: decorator
@inline
export function storePartial(p: usize, v: v128, count: i32): void {
  store<f32>(p, f32x4.extract_lane(v, 0));
  if (count > 1) store<f32>(p, f32x4.extract_lane(v, 1), 4);
  if (count > 2) store<f32>(p, f32x4.extract_lane(v, 2), 8);
}

const LOG2E: f32 = 1.4426950408889634;
// ln2 split so that n * LN2_HI is exact for |n| < 2^9 (LN2_HI has 15 significant bits).
const LN2_HI: f32 = 0.693145751953125;
const LN2_LO: f32 = 1.428606765330187e-6;

// exp(x): x = n ln2 + r, |r| <= ln2/2, Taylor degree 7 (truncation < 6e-9), 2^n applied in two
// halves so that results down to the subnormal range (n = -149) and up to overflow come out right.
// @ts-ignore: decorator
@inline
export function vexp(x0: v128): v128 {
  // pmin/pmax keep a NaN in the first operand, so NaN propagates.
  const x = f32x4.pmax(f32x4.pmin(x0, f32x4.splat(89.0)), f32x4.splat(-104.0));
  const n = f32x4.nearest(f32x4.mul(x, f32x4.splat(LOG2E)));
  let r = f32x4.sub(x, f32x4.mul(n, f32x4.splat(LN2_HI)));
  r = f32x4.sub(r, f32x4.mul(n, f32x4.splat(LN2_LO)));
  let p = f32x4.splat(1.0 / 5040.0);
  p = f32x4.add(f32x4.mul(p, r), f32x4.splat(1.0 / 720.0));
  p = f32x4.add(f32x4.mul(p, r), f32x4.splat(1.0 / 120.0));
  p = f32x4.add(f32x4.mul(p, r), f32x4.splat(1.0 / 24.0));
  p = f32x4.add(f32x4.mul(p, r), f32x4.splat(1.0 / 6.0));
  p = f32x4.add(f32x4.mul(p, r), f32x4.splat(0.5));
  p = f32x4.mul(p, f32x4.mul(r, r));
  p = f32x4.add(f32x4.add(p, r), f32x4.splat(1.0));
  const ni = i32x4.trunc_sat_f32x4_s(n);
  const n1 = i32x4.shr_s(ni, 1);
  const n2 = i32x4.sub(ni, n1);
  const s1 = i32x4.shl(i32x4.add(n1, i32x4.splat(127)), 23);
  const s2 = i32x4.shl(i32x4.add(n2, i32x4.splat(127)), 23);
  return f32x4.mul(f32x4.mul(p, s1), s2);
}

// log(1 + f) for f in [sqrt(1/2) - 1, sqrt(2) - 1], written as f - hfsq + s (hfsq + R(s^2)),
// s = f / (2 + f), with R the atanh series 2/3 z + 2/5 z^2 + ... (z <= 0.0295: truncation < 3e-9).
// Keeping f exact and the rounding in the small terms gives ~1 ulp.
// @ts-ignore: decorator
@inline
function vlog1pReduced(f: v128, dk: v128, c: v128): v128 {
  const s = f32x4.div(f, f32x4.add(f, f32x4.splat(2.0)));
  const z = f32x4.mul(s, s);
  let R = f32x4.splat(2.0 / 9.0);
  R = f32x4.add(f32x4.mul(R, z), f32x4.splat(2.0 / 7.0));
  R = f32x4.add(f32x4.mul(R, z), f32x4.splat(2.0 / 5.0));
  R = f32x4.add(f32x4.mul(R, z), f32x4.splat(2.0 / 3.0));
  R = f32x4.mul(R, z);
  const hfsq = f32x4.mul(f32x4.splat(0.5), f32x4.mul(f, f));
  let lo = f32x4.add(f32x4.mul(s, f32x4.add(hfsq, R)), f32x4.add(f32x4.mul(dk, f32x4.splat(LN2_LO)), c));
  lo = f32x4.sub(lo, hfsq);
  return f32x4.add(f32x4.add(lo, f), f32x4.mul(dk, f32x4.splat(LN2_HI)));
}

// log(x) with IEEE special cases (0 -> -inf, < 0 -> NaN, inf -> inf, NaN -> NaN).
// @ts-ignore: decorator
@inline
export function vlog(x: v128): v128 {
  // Subnormals: scale by 2^23 and correct the exponent.
  const tiny = f32x4.lt(x, f32x4.splat(1.17549435e-38));
  const xs = v128.bitselect(f32x4.mul(x, f32x4.splat(8388608.0)), x, tiny);
  const kadj = v128.and(tiny, i32x4.splat(23));
  // Reduce to m in [sqrt(1/2), sqrt(2)), x = 2^k m.
  let ix = i32x4.add(xs, i32x4.splat(0x3f800000 - 0x3f3504f3));
  const k = i32x4.sub(i32x4.sub(i32x4.shr_s(ix, 23), i32x4.splat(127)), kadj);
  ix = i32x4.add(v128.and(ix, i32x4.splat(0x007fffff)), i32x4.splat(0x3f3504f3));
  const f = f32x4.sub(ix, f32x4.splat(1.0));
  let r = vlog1pReduced(f, f32x4.convert_i32x4_s(k), f32x4.splat(0));
  // Specials, in order of increasing priority.
  r = v128.bitselect(f32x4.splat(Infinity), r, f32x4.eq(x, f32x4.splat(Infinity)));
  r = v128.bitselect(f32x4.splat(-Infinity), r, f32x4.eq(x, f32x4.splat(0)));
  r = v128.bitselect(f32x4.splat(NaN), r, f32x4.lt(x, f32x4.splat(0)));
  r = v128.bitselect(x, r, f32x4.ne(x, x));
  return r;
}

// log1p(e) for e in [0, 1]; used by softplus. u = 1 + e is rounded, c = (e - (u - 1)) / u puts the
// lost low bits back, so tiny e (x << 0 in softplus) keep full relative accuracy.
// @ts-ignore: decorator
@inline
export function vlog1pUnit(e: v128): v128 {
  const u = f32x4.add(e, f32x4.splat(1.0));
  let ix = i32x4.add(u, i32x4.splat(0x3f800000 - 0x3f3504f3));
  const k = i32x4.sub(i32x4.shr_s(ix, 23), i32x4.splat(127));
  ix = i32x4.add(v128.and(ix, i32x4.splat(0x007fffff)), i32x4.splat(0x3f3504f3));
  const f = f32x4.sub(ix, f32x4.splat(1.0));
  const c = f32x4.div(f32x4.sub(e, f32x4.sub(u, f32x4.splat(1.0))), u);
  return vlog1pReduced(f, f32x4.convert_i32x4_s(k), c);
}

const SIGN_MASK: i32 = 0x80000000;

// @ts-ignore: decorator
@inline
export function vtanh(x: v128): v128 {
  const ax = f32x4.abs(x);
  // |x| < 0.55: x + x^3 P(x^2), fitted relative error 1.0e-9.
  const z = f32x4.mul(x, x);
  let p = f32x4.splat(-0.006274238228797913);
  p = f32x4.add(f32x4.mul(p, z), f32x4.splat(0.021071678027510643));
  p = f32x4.add(f32x4.mul(p, z), f32x4.splat(-0.05385230854153633));
  p = f32x4.add(f32x4.mul(p, z), f32x4.splat(0.13332585990428925));
  p = f32x4.add(f32x4.mul(p, z), f32x4.splat(-0.33333316445350647));
  const small = f32x4.add(x, f32x4.mul(f32x4.mul(x, z), p));
  // |x| >= 0.55: 1 - 2 / (exp(2|x|) + 1); exp overflow gives exactly 1.
  const e = vexp(f32x4.add(ax, ax));
  const t = f32x4.sub(f32x4.splat(1.0), f32x4.div(f32x4.splat(2.0), f32x4.add(e, f32x4.splat(1.0))));
  const big = v128.or(t, v128.and(x, i32x4.splat(SIGN_MASK)));
  return v128.bitselect(small, big, f32x4.lt(ax, f32x4.splat(0.55)));
}

// @ts-ignore: decorator
@inline
export function vsigmoid(x: v128): v128 {
  return f32x4.div(f32x4.splat(1.0), f32x4.add(f32x4.splat(1.0), vexp(f32x4.neg(x))));
}

// silu(x) = x / (1 + exp(-x)): dividing (rather than x * sigmoid(x)) keeps full precision where
// sigmoid(x) itself would be subnormal (x < -87).
// @ts-ignore: decorator
@inline
export function vsilu(x: v128): v128 {
  return f32x4.div(x, f32x4.add(f32x4.splat(1.0), vexp(f32x4.neg(x))));
}

// erfc(z) for z >= 0, given z^2 = zzHi + zzLo with zzHi exact.
// erfc(z) = t P(t) exp(-z^2), t = 1 / (1 + z/2); P has degree 10 (fitted relative error 3.6e-9;
// in f32, the rounding of t dominates, ~2e-7). exp(-zzHi) is exact-argument, exp(-zzLo) is small.
// @ts-ignore: decorator
@inline
function verfcSplit(z: v128, zzHi: v128, zzLo: v128): v128 {
  const t = f32x4.div(f32x4.splat(1.0), f32x4.add(f32x4.splat(1.0), f32x4.mul(z, f32x4.splat(0.5))));
  let p = f32x4.splat(0.03630655258893967);
  p = f32x4.add(f32x4.mul(p, t), f32x4.splat(-0.19423089921474457));
  p = f32x4.add(f32x4.mul(p, t), f32x4.splat(0.38972538709640503));
  p = f32x4.add(f32x4.mul(p, t), f32x4.splat(-0.30201455950737));
  p = f32x4.add(f32x4.mul(p, t), f32x4.splat(-0.010141623206436634));
  p = f32x4.add(f32x4.mul(p, t), f32x4.splat(0.027951765805482864));
  p = f32x4.add(f32x4.mul(p, t), f32x4.splat(0.05802593752741814));
  p = f32x4.add(f32x4.mul(p, t), f32x4.splat(0.1847182959318161));
  p = f32x4.add(f32x4.mul(p, t), f32x4.splat(0.24533282220363617));
  p = f32x4.add(f32x4.mul(p, t), f32x4.splat(0.28223711252212524));
  p = f32x4.add(f32x4.mul(p, t), f32x4.splat(0.2820891737937927));
  const g = f32x4.mul(t, p);
  return f32x4.mul(f32x4.mul(g, vexp(f32x4.neg(zzHi))), vexp(f32x4.neg(zzLo)));
}

// Splits a >= 0 into hi (12 mantissa bits, so hi*hi is exact) and returns a^2 as hi*hi + lo part.
// @ts-ignore: decorator
@inline
function sqHi(a: v128): v128 {
  const hi = v128.and(a, i32x4.splat(0xfffff000));
  return f32x4.mul(hi, hi);
}
// @ts-ignore: decorator
@inline
function sqLo(a: v128): v128 {
  const hi = v128.and(a, i32x4.splat(0xfffff000));
  return f32x4.mul(f32x4.sub(a, hi), f32x4.add(a, hi));
}

// erfc(|x|) with |x| given. |x| is clamped at 12 (erfc(12) underflows to 0 anyway) so that
// |x| = inf gives 0, not inf - inf = NaN in the split square.
// @ts-ignore: decorator
@inline
export function verfcAbs(ax: v128): v128 {
  const a = f32x4.min(ax, f32x4.splat(12));
  return verfcSplit(a, sqHi(a), sqLo(a));
}

// erfc(|x| / sqrt(2)), with x^2 / 2 split exactly (the halving is exact), for gelu_erf.
// @ts-ignore: decorator
@inline
export function verfcAbsHalf(ax: v128): v128 {
  const half = f32x4.splat(0.5);
  // Clamped as in verfcAbs: erfc(20 / sqrt 2) underflows to 0.
  const a = f32x4.min(ax, f32x4.splat(20));
  return verfcSplit(f32x4.mul(a, f32x4.splat(0.7071067811865476)), f32x4.mul(sqHi(a), half), f32x4.mul(sqLo(a), half));
}

// erf(x): odd Taylor series below 0.8 (9 terms, truncation < 3e-9), 1 - erfc(|x|) above (where
// erfc(x) < 0.26, so its relative error shrinks by 3x in erf).
// @ts-ignore: decorator
@inline
export function verf(x: v128): v128 {
  const ax = f32x4.abs(x);
  const z = f32x4.mul(x, x);
  // 2/sqrt(pi) * sum (-1)^n x^(2n+1) / (n! (2n+1))
  let p = f32x4.splat(<f32>(1.0 / (40320.0 * 17.0)));
  p = f32x4.add(f32x4.mul(p, z), f32x4.splat(<f32>(-1.0 / (5040.0 * 15.0))));
  p = f32x4.add(f32x4.mul(p, z), f32x4.splat(<f32>(1.0 / (720.0 * 13.0))));
  p = f32x4.add(f32x4.mul(p, z), f32x4.splat(<f32>(-1.0 / (120.0 * 11.0))));
  p = f32x4.add(f32x4.mul(p, z), f32x4.splat(<f32>(1.0 / (24.0 * 9.0))));
  p = f32x4.add(f32x4.mul(p, z), f32x4.splat(<f32>(-1.0 / (6.0 * 7.0))));
  p = f32x4.add(f32x4.mul(p, z), f32x4.splat(<f32>(1.0 / (2.0 * 5.0))));
  p = f32x4.add(f32x4.mul(p, z), f32x4.splat(<f32>(-1.0 / 3.0)));
  p = f32x4.mul(p, z);
  const small = f32x4.mul(f32x4.add(x, f32x4.mul(x, p)), f32x4.splat(1.1283791670955126));
  const big = f32x4.sub(f32x4.splat(1.0), verfcAbs(ax));
  const signed = v128.or(big, v128.and(x, i32x4.splat(SIGN_MASK)));
  return v128.bitselect(small, signed, f32x4.lt(ax, f32x4.splat(0.8)));
}

// gelu_erf(x) = x Phi(x), Phi(x) = erfc(-x/sqrt 2)/2: x < 0 uses erfc directly (no cancellation).
// @ts-ignore: decorator
@inline
export function vgeluErf(x: v128): v128 {
  const h = f32x4.mul(verfcAbsHalf(f32x4.abs(x)), f32x4.splat(0.5));
  const phi = v128.bitselect(h, f32x4.sub(f32x4.splat(1.0), h), f32x4.lt(x, f32x4.splat(0)));
  return f32x4.mul(x, phi);
}

// gelu_tanh(x) = 0.5x(1 + tanh(u)) = x sigmoid(2u): the sigmoid form has no cancellation for x < 0.
// @ts-ignore: decorator
@inline
export function vgeluTanh(x: v128): v128 {
  const x2 = f32x4.mul(x, x);
  const u2 = f32x4.mul(x, f32x4.add(f32x4.splat(1.5957691216057308), f32x4.mul(x2, f32x4.splat(0.07135481627260025))));
  return f32x4.div(x, f32x4.add(f32x4.splat(1.0), vexp(f32x4.neg(u2))));
}

// softplus(x) = max(x, 0) + log1p(exp(-|x|)).
// @ts-ignore: decorator
@inline
export function vsoftplus(x: v128): v128 {
  const e = vexp(f32x4.neg(f32x4.abs(x)));
  return f32x4.add(f32x4.pmax(x, f32x4.splat(0)), vlog1pUnit(e));
}
