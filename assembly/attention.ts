// Decode-time attention kernels (query length 1) over a KV cache in this memory: dense attention,
// SparQ, and the baselines (LM-Infinite, FlexGen / oracle, H2O). Each call runs a list of head
// tasks (one KV head of one sequence with its group of g query heads); the threads of a call take
// tasks from a shared counter (claim), each with its own workspace.
//
// Memory behaviour, which decides the speed (shared/engine-measurements.md sections 3-4):
// - dense streams K, then V, one row at a time (a single stream keeps the hardware prefetcher
//   on; interleaving rows halved the bandwidth);
// - SparQ step 1 reads r rows of the transposed K (long contiguous runs, streaming rate), 4 at a
//   time, each f16 vector widened once for the whole query group; with K stored once, r scattered
//   components of every K row (which touch nearly every cache line of it) as a dot product with q
//   masked to i1 over the 8-component chunks that hold one (a NaN result, 0 times an infinity,
//   is recomputed component by component);
// - step 2 (SparQ and the baselines) walks the selected positions in two passes, each over one
//   region in ascending order: the K rows (logits), then the V rows (weighted sum), 4 rows per
//   iteration as independent loads, the next 16 rows touched in one burst (wasm has no prefetch
//   instruction; a gathered row usually starts a new page, so a TLB miss and a DRAM miss);
// - reading two adjacent rows per loop iteration instead of one was measured 1.7x slower for the
//   dense V pass (the prefetcher follows one stream), so dense keeps one row at a time;
// - selection is exact top-k in O(n), nearly all of it one SIMD pass: a histogram of a strided
//   sample brackets the threshold, the pass collects the candidates, radix select finishes on the
//   band between the brackets (topkIndices); with one query head SparQ folds that pass into the one
//   that sums the exponentials, and ranks the logits themselves (selectOneHead);
// - an f16 cache (descriptor field D_ES = 2) is widened in registers: eight halves load as one
//   vector and become two f32x4 by integer ops and one multiply (halfToF32x4: exact, subnormals,
//   infinities and NaN included), the multiply folded into q or the weights where that is exact;
//   a row that several query heads reuse is widened once into a workspace row.
// head dim d must be a multiple of 4 (JS falls back to the reference kernels otherwise).

import { hmax, hsum, madd } from './vmath';
import { claim } from './tasks';

// Task descriptor: 8 i32 fields (src/backend/wasm/attention.ts writes them).
const D_BLOCK: usize = 0; // the KV block (layout below)
const D_CAP: usize = 4; // its capacity (positions)
const D_LEN: usize = 8; // positions stored
const D_ES: usize = 12; // bytes per K/V element: 4 (f32) or 2 (f16)
const D_Q: usize = 16; // q rows [g, d]
const D_OUT: usize = 20; // out rows [g, d]
const D_SCORES: usize = 24; // H2O: the score vector [>= len] (-inf = evicted), else 0
const D_FLAGS: usize = 28; // bit 0: an f16 block that may hold inf or NaN
const DESC_BYTES: usize = 32;


// The KV block layout, in bytes from the block's start. It is defined once, in TypeScript
// (kvBlockLayout, src/ops/attention-kernels.ts); this module cannot import it, so it repeats it
// and kv_block_offset lets test/attention/wasm-kernels.test.ts check that the two agree.
//   [ mean of V: d f32 ][ running sum of V: d f32 ][ K rows: cap x d ][ V rows: cap x d ][ K^T: d x cap ]
// with K, V and K^T elements of e bytes (4: f32, 2: f16).
const PART_MEAN = 0;
const PART_SUM = 1;
const PART_K = 2;
const PART_V = 3;
const PART_KT = 4;

// @ts-ignore: decorator
@inline
function blockOffset(part: i32, d: i32, cap: i32, e: i32): i32 {
  if (part == PART_MEAN) return 0;
  if (part == PART_SUM) return 4 * d;
  if (part == PART_K) return 8 * d;
  if (part == PART_V) return 8 * d + cap * d * e;
  return 8 * d + 2 * cap * d * e;
}

/** Byte offset of a part of the block layout (0 mean, 1 sum, 2 K, 3 V, 4 K^T) for elements of e bytes. */
export function kv_block_offset(part: i32, d: i32, cap: i32, e: i32): i32 {
  return blockOffset(part, d, cap, e);
}

/** Byte address of a part of task dp's block. */
// @ts-ignore: decorator
@inline
function partPtr(dp: usize, part: i32, d: i32): usize {
  return <usize>load<i32>(dp + D_BLOCK) + <usize>blockOffset(part, d, load<i32>(dp + D_CAP), load<i32>(dp + D_ES));
}

/** Whether task dp's cache holds f16 K/V. */
// @ts-ignore: decorator
@inline
function isHalf(dp: usize): bool {
  return load<i32>(dp + D_ES) == 2;
}

/** Whether task dp's f16 block may hold inf or NaN (then the exact widening). */
// @ts-ignore: decorator
@inline
function mayHoldSpecial(dp: usize): bool {
  return (load<i32>(dp + D_FLAGS) & 1) != 0;
}

// ------------------------------------------------------------------------------------------------
// f16 -> f32 in registers. A half moved into the top 16 bits of an i32 lane and shifted right
// arithmetically by 3 has its exponent and mantissa in f32's place (the sign copied into bits
// 28-30, masked off); read as an f32 it is 2^112 too small (the exponent biases differ by 112),
// subnormal halves reading as subnormal f32s: one multiply by 2^112 makes every finite half exact
// (wasm keeps subnormals). Halves with the top exponent (inf, NaN) would come out as large finite
// values: the cache flags a block that ever received one (D_FLAGS), and the kernels then take the
// exact path (halfToF32x4, which gives them the f32 top exponent and keeps the NaN payload) for
// that block. Element type tags: f32; u16 = f16, all finite (fast path); i16 = f16 that may hold
// inf or NaN (exact path). 3 ops per 4 floats on the fast path (the multiply folded into q, below),
// 9 on the exact one; a per-vector check for inf/NaN cost another 2 and made dense f16 slower.

// @ts-ignore: decorator
@inline
function halfTopToF32x4(x: v128): v128 {
  // x: four halves in the top 16 bits of each i32 lane, zeros below.
  return f32x4.mul(v128.and(i32x4.shr_s(x, 3), i32x4.splat(0x8fffe000)), f32x4.splat(reinterpret<f32>(0x77800000)));
}

// @ts-ignore: decorator
@inline
function halfToF32x4(h: v128): v128 {
  // h: four halves sign-extended to i32 (bit 31 = the sign).
  const mag = i32x4.shr_u(i32x4.shl(h, 17), 4);
  let x = f32x4.mul(mag, f32x4.splat(reinterpret<f32>(0x77800000)));
  x = v128.or(x, v128.and(f32x4.ge(x, f32x4.splat(65536.0)), i32x4.splat(0x7f800000)));
  return v128.or(x, v128.and(h, i32x4.splat(0x80000000)));
}

/** Halves 0-3 of eight as f32x4 (special: the block may hold inf or NaN). */
// @ts-ignore: decorator
@inline
function widenLo(v: v128, special: bool): v128 {
  if (special) return halfToF32x4(i32x4.extend_low_i16x8_s(v));
  return halfTopToF32x4(i8x16.shuffle(f32x4.splat(0), v, 0, 1, 16, 17, 2, 3, 18, 19, 4, 5, 20, 21, 6, 7, 22, 23));
}

/** Halves 4-7 of eight as f32x4. */
// @ts-ignore: decorator
@inline
function widenHi(v: v128, special: bool): v128 {
  if (special) return halfToF32x4(i32x4.extend_high_i16x8_s(v));
  return halfTopToF32x4(i8x16.shuffle(f32x4.splat(0), v, 8, 9, 24, 25, 10, 11, 26, 27, 12, 13, 28, 29, 14, 15, 30, 31));
}

// The "scaled" forms leave out the multiply: they return value * 2^-112 (exact: a half's value
// times 2^-112 is an f32, normal or subnormal, inf or NaN). A dot product with q * 2^112 (exact
// while |q| < 2^15) or an axpy with w * 2^112 (w <= 1) then gets each product q k, w v rounded once,
// as from the widened values, one multiply per 4 floats fewer.
const TWO_112: f32 = 5.192296858534828e33;
const TWO_M112: f32 = 1.925929944387236e-34;
/** Below this, q * 2^112 stays finite with room for the sums. */
const SCALED_Q_LIMIT: f32 = 32768;

// @ts-ignore: decorator
@inline
function widenLoScaled(v: v128, special: bool): v128 {
  if (special) return f32x4.mul(halfToF32x4(i32x4.extend_low_i16x8_s(v)), f32x4.splat(TWO_M112));
  return v128.and(i32x4.shr_s(i8x16.shuffle(f32x4.splat(0), v, 0, 1, 16, 17, 2, 3, 18, 19, 4, 5, 20, 21, 6, 7, 22, 23), 3), i32x4.splat(0x8fffe000));
}

// @ts-ignore: decorator
@inline
function widenHiScaled(v: v128, special: bool): v128 {
  if (special) return f32x4.mul(halfToF32x4(i32x4.extend_high_i16x8_s(v)), f32x4.splat(TWO_M112));
  return v128.and(i32x4.shr_s(i8x16.shuffle(f32x4.splat(0), v, 8, 9, 24, 25, 10, 11, 26, 27, 12, 13, 28, 29, 14, 15, 30, 31), 3), i32x4.splat(0x8fffe000));
}

// K^T of an f16 cache is kept in bf16 (src/attention/kv-cache.ts): step 1 only ranks positions and
// estimates alpha, and a bf16 is the top half of its f32, so widening is one shuffle per 4 values
// (f16 takes three) and is exact for every value, infinities and NaN included.

/** bf16 values 0-3 of eight as f32x4. */
// @ts-ignore: decorator
@inline
function bf16Lo(v: v128): v128 {
  return i8x16.shuffle(f32x4.splat(0), v, 0, 1, 16, 17, 2, 3, 18, 19, 4, 5, 20, 21, 6, 7, 22, 23);
}

/** bf16 values 4-7 of eight as f32x4. */
// @ts-ignore: decorator
@inline
function bf16Hi(v: v128): v128 {
  return i8x16.shuffle(f32x4.splat(0), v, 8, 9, 24, 25, 10, 11, 26, 27, 12, 13, 28, 29, 14, 15, 30, 31);
}

/** Four halves at p as f32x4, times 2^-112. */
// @ts-ignore: decorator
@inline
function loadHalf4Scaled(p: usize, special: bool): v128 {
  return widenLoScaled(v128.load64_zero(p), special);
}

/** Four halves at p as f32x4. */
// @ts-ignore: decorator
@inline
function loadHalf4(p: usize, special: bool): v128 {
  return widenLo(v128.load64_zero(p), special);
}

/** One half as f32 (the scalar twin of halfToF32x4). */
// @ts-ignore: decorator
@inline
function halfToF32(h: u32): f32 {
  let x = reinterpret<f32>((h & 0x7fff) << 13) * reinterpret<f32>(0x77800000);
  if (x >= 65536.0) x = reinterpret<f32>(reinterpret<u32>(x) | 0x7f800000);
  return reinterpret<f32>(reinterpret<u32>(x) | ((h & 0x8000) << 16));
}

/** Widens d halves (d a multiple of 4) at src to f32 at dst. */
function widenRow(src: usize, dst: usize, d: i32, special: bool): void {
  let j = 0;
  if (special) {
    for (; j + 8 <= d; j += 8) {
      const v = v128.load(src + (<usize>j << 1));
      v128.store(dst + (<usize>j << 2), widenLo(v, true));
      v128.store(dst + (<usize>j << 2), widenHi(v, true), 16);
    }
  } else {
    for (; j + 8 <= d; j += 8) {
      const v = v128.load(src + (<usize>j << 1));
      v128.store(dst + (<usize>j << 2), widenLo(v, false));
      v128.store(dst + (<usize>j << 2), widenHi(v, false), 16);
    }
  }
  if (j < d) v128.store(dst + (<usize>j << 2), loadHalf4(src + (<usize>j << 1), special));
}

/**
 * Widens n halves at src to f32 at dst (tests). mode 0: the fast vector path (finite halves only),
 * 1: the scalar halfToF32, 2: the exact vector path, 3: the fast path's scaled form (value * 2^-112);
 * n a multiple of 4.
 */
export function kv_widen_f16(src: usize, dst: usize, n: i32, mode: i32): void {
  if (mode == 1) {
    for (let i = 0; i < n; i++) store<f32>(dst + (<usize>i << 2), halfToF32(<u32>load<u16>(src + (<usize>i << 1))));
  } else if (mode == 3) {
    for (let i = 0; i < n; i += 4) store<v128>(dst + (<usize>i << 2), loadHalf4Scaled(src + (<usize>i << 1), false));
  } else {
    widenRow(src, dst, n, mode == 2);
  }
}

/** A K/V row of element type T (f32, u16 or i16 = f16 bits) as f32: the row itself, or widened into scratch. */
// @ts-ignore: decorator
@inline
function rowF32<T>(p: usize, scratch: usize, d: i32): usize {
  if (sizeof<T>() == 2) {
    widenRow(p, scratch, d, isSigned<T>());
    return scratch;
  }
  return p;
}

/** Element c of a K/V row of element type T, as f32 (finite f16: the fast path's scalar form). */
// @ts-ignore: decorator
@inline
function elem<T>(p: usize, c: i32): f32 {
  if (sizeof<T>() == 2 && isSigned<T>()) return halfToF32(<u32>load<u16>(p + (<usize>c << 1)));
  if (sizeof<T>() == 2) return reinterpret<f32>(((<i32>load<u16>(p + (<usize>c << 1)) << 16) >> 3) & 0x8fffe000) * TWO_112;
  return load<f32>(p + (<usize>c << 2));
}

/** Bytes of the 8 f32 rows a thread widens f16 rows into and a row of zeros (the start of every workspace). */
// @ts-ignore: decorator
@inline
function convBytes(d: i32): i32 {
  return (align16(d) << 2) * 9;
}

const FLT_MAX: f32 = 3.4028234663852886e38;
// Bins of the radix select's histograms.
const HIST_BITS = 11;
const HIST_BINS = 1 << HIST_BITS;

// @ts-ignore: decorator
@inline
function f(p: usize, i: i32): f32 {
  return load<f32>(p + (<usize>i << 2));
}

// @ts-ignore: decorator
@inline
function setf(p: usize, i: i32, v: f32): void {
  store<f32>(p + (<usize>i << 2), v);
}

// @ts-ignore: decorator
@inline
function idx(p: usize, i: i32): i32 {
  return load<i32>(p + (<usize>i << 2));
}

// @ts-ignore: decorator
@inline
function setIdx(p: usize, i: i32, v: i32): void {
  store<i32>(p + (<usize>i << 2), v);
}

// @ts-ignore: decorator
@inline
function align16(n: i32): i32 {
  return (n + 15) & ~15;
}

// @ts-ignore: decorator
@inline
function clampLogit(v: v128): v128 {
  // pmin / pmax are one instruction each (min / max are several, for their NaN and -0 rules); with
  // the constant second, NaN stays NaN (the comparison is false) and +-inf become +-FLT_MAX.
  return f32x4.pmax(f32x4.pmin(v, f32x4.splat(FLT_MAX)), f32x4.splat(-FLT_MAX));
}

/** q . k over d floats (d multiple of 4), 4 accumulators. */
// @ts-ignore: decorator
@inline
function dot(q: usize, k: usize, d: i32): f32 {
  let a0 = f32x4.splat(0);
  let a1 = f32x4.splat(0);
  let a2 = f32x4.splat(0);
  let a3 = f32x4.splat(0);
  const d16 = d & ~15;
  let j = 0;
  for (; j < d16; j += 16) {
    const o = <usize>j << 2;
    a0 = madd(v128.load(q + o), v128.load(k + o), a0);
    a1 = madd(v128.load(q + o, 16), v128.load(k + o, 16), a1);
    a2 = madd(v128.load(q + o, 32), v128.load(k + o, 32), a2);
    a3 = madd(v128.load(q + o, 48), v128.load(k + o, 48), a3);
  }
  for (; j < d; j += 4) {
    const o = <usize>j << 2;
    a0 = madd(v128.load(q + o), v128.load(k + o), a0);
  }
  return hsum(f32x4.add(f32x4.add(a0, a1), f32x4.add(a2, a3)));
}

/** q . k over d elements with k f16 (d multiple of 4) and q scaled by 2^112; 4 accumulators. */
// @ts-ignore: decorator
@inline
function dotHalfScaled(q: usize, k: usize, d: i32, special: bool): f32 {
  let a0 = f32x4.splat(0);
  let a1 = f32x4.splat(0);
  let a2 = f32x4.splat(0);
  let a3 = f32x4.splat(0);
  const d16 = d & ~15;
  let j = 0;
  for (; j < d16; j += 16) {
    const o = <usize>j << 2;
    const k0 = v128.load(k + (<usize>j << 1));
    const k1 = v128.load(k + (<usize>j << 1), 16);
    const sp = special;
    a0 = madd(v128.load(q + o), widenLoScaled(k0, sp), a0);
    a1 = madd(v128.load(q + o, 16), widenHiScaled(k0, sp), a1);
    a2 = madd(v128.load(q + o, 32), widenLoScaled(k1, sp), a2);
    a3 = madd(v128.load(q + o, 48), widenHiScaled(k1, sp), a3);
  }
  for (; j < d; j += 4) a0 = madd(v128.load(q + (<usize>j << 2)), loadHalf4Scaled(k + (<usize>j << 1), special), a0);
  return hsum(f32x4.add(f32x4.add(a0, a1), f32x4.add(a2, a3)));
}

/** q . k over d elements with k f16 (d multiple of 4), widened in registers; 4 accumulators. */
// @ts-ignore: decorator
@inline
function dotHalf(q: usize, k: usize, d: i32, special: bool): f32 {
  let a0 = f32x4.splat(0);
  let a1 = f32x4.splat(0);
  let a2 = f32x4.splat(0);
  let a3 = f32x4.splat(0);
  const d16 = d & ~15;
  let j = 0;
  for (; j < d16; j += 16) {
    const o = <usize>j << 2;
    const k0 = v128.load(k + (<usize>j << 1));
    const k1 = v128.load(k + (<usize>j << 1), 16);
    const sp = special;
    a0 = madd(v128.load(q + o), widenLo(k0, sp), a0);
    a1 = madd(v128.load(q + o, 16), widenHi(k0, sp), a1);
    a2 = madd(v128.load(q + o, 32), widenLo(k1, sp), a2);
    a3 = madd(v128.load(q + o, 48), widenHi(k1, sp), a3);
  }
  for (; j < d; j += 4) a0 = madd(v128.load(q + (<usize>j << 2)), loadHalf4(k + (<usize>j << 1), special), a0);
  return hsum(f32x4.add(f32x4.add(a0, a1), f32x4.add(a2, a3)));
}

/** out[0..d) += w * v[0..d) with v f16 (d multiple of 4), widened in registers; w in [0, 1]. */
// @ts-ignore: decorator
@inline
function axpyHalf(out: usize, w0: v128, v: usize, d: i32, special: bool): void {
  const w = f32x4.mul(w0, f32x4.splat(TWO_112));
  let j = 0;
  for (; j + 8 <= d; j += 8) {
    const o = <usize>j << 2;
    const h = v128.load(v + (<usize>j << 1));
    const sp = special;
    v128.store(out + o, madd(w, widenLoScaled(h, sp), v128.load(out + o)));
    v128.store(out + o, madd(w, widenHiScaled(h, sp), v128.load(out + o, 16)), 16);
  }
  if (j < d) {
    const o = <usize>j << 2;
    v128.store(out + o, madd(w, loadHalf4Scaled(v + (<usize>j << 1), special), v128.load(out + o)));
  }
}

const LOG2E: f32 = 1.4426950408889634;
// ln 2 split so that n * LN2_HI is exact for the |n| <= 126 used here.
const LN2_HI: f32 = 0.693145751953125;
const LN2_LO: f32 = 1.428606765330187e-6;
// Degree-5 polynomial for exp(r), |r| <= ln2/2, fitted for relative error (max 2.2e-7 in f32).
const E0: f32 = 1.0000001192092896;
const E1: f32 = 0.9999997019767761;
const E2: f32 = 0.49998897314071655;
const E3: f32 = 0.16667574644088745;
const E4: f32 = 0.041915103793144226;
const E5: f32 = 0.008297525346279144;

/**
 * exp(x) for softmax arguments x <= 0 (max-subtracted logits; -inf allowed): results below
 * exp(-87) become 0, NaN propagates. Half the work of vmath's general vexp: the selection pass
 * exponentiates every cached position, and this is its arithmetic bottleneck.
 */
// @ts-ignore: decorator
@inline
function softmaxExp(x0: v128): v128 {
  const x = f32x4.pmax(x0, f32x4.splat(-87.0));
  const n = f32x4.nearest(f32x4.mul(x, f32x4.splat(LOG2E)));
  let r = madd(n, f32x4.splat(-LN2_HI), x);
  r = madd(n, f32x4.splat(-LN2_LO), r);
  const p = horner5(r, E0, E1, E2, E3, E4, E5);
  return v128.andnot(f32x4.mul(p, pow2Int(n)), f32x4.lt(x0, f32x4.splat(-87.0)));
}

/** c0 + c1 r + ... + c5 r^5, by Horner's rule. */
// @ts-ignore: decorator
@inline
function horner5(r: v128, c0: f32, c1: f32, c2: f32, c3: f32, c4: f32, c5: f32): v128 {
  let p = madd(f32x4.splat(c5), r, f32x4.splat(c4));
  p = madd(p, r, f32x4.splat(c3));
  p = madd(p, r, f32x4.splat(c2));
  p = madd(p, r, f32x4.splat(c1));
  return madd(p, r, f32x4.splat(c0));
}

/**
 * 2^n for integers n (as floats) in [-126, 0]: n + 127 + 1.5 * 2^23 holds n + 127 in its low
 * mantissa bits, and the shift moves it into the exponent (the same bits as trunc_sat + 127 << 23,
 * which V8 spends several instructions on).
 */
// @ts-ignore: decorator
@inline
function pow2Int(n: v128): v128 {
  return i32x4.shl(f32x4.add(n, f32x4.splat(12583039.0)), 23);
}

// Degree-5 polynomial for 2^f, |f| <= 1/2, fitted for relative error (max 2.3e-7 in f32).
const P0: f32 = 1.0000001192092896;
const P1: f32 = 0.6931469440460205;
const P2: f32 = 0.24022120237350464;
const P3: f32 = 0.05550713092088699;
const P4: f32 = 0.009675541892647743;
const P5: f32 = 0.0013276472454890609;

/**
 * 2^t for t <= 0 (NaN propagates; below 2^-126 it gives 2^-126): the terms of the selection's
 * softmax sum, whose arguments come in base 2 with the scale and the maximum folded into one
 * multiply-add. Four operations fewer than softmaxExp: no ln 2 reduction, no mask (a term of
 * 2^-126 instead of 0 changes no sum whose largest term is 1).
 */
// @ts-ignore: decorator
@inline
function sumExp2(t0: v128): v128 {
  const t = f32x4.pmax(t0, f32x4.splat(-126.0));
  const n = f32x4.nearest(t);
  return f32x4.mul(horner5(f32x4.sub(t, n), P0, P1, P2, P3, P4, P5), pow2Int(n));
}

/** Max over n floats padded with -inf to a multiple of 4. */
function maxOf(p: usize, n4: i32): f32 {
  let m0 = f32x4.splat(-Infinity);
  let m1 = f32x4.splat(-Infinity);
  let i = 0;
  for (; i + 8 <= n4; i += 8) {
    const o = <usize>i << 2;
    m0 = f32x4.max(m0, v128.load(p + o));
    m1 = f32x4.max(m1, v128.load(p + o, 16));
  }
  for (; i < n4; i += 4) m0 = f32x4.max(m0, v128.load(p + (<usize>i << 2)));
  return hmax(f32x4.max(m0, m1));
}

/** p[i] = exp(p[i] - mx) for n4 floats (padding -inf gives 0); returns the sum (f64). */
function expInPlace(p: usize, n4: i32, mx: f32): f64 {
  const mv = f32x4.splat(mx);
  let s0 = f32x4.splat(0);
  let s1 = f32x4.splat(0);
  let i = 0;
  for (; i + 8 <= n4; i += 8) {
    const o = <usize>i << 2;
    const e0 = softmaxExp(f32x4.sub(v128.load(p + o), mv));
    const e1 = softmaxExp(f32x4.sub(v128.load(p + o, 16), mv));
    v128.store(p + o, e0);
    v128.store(p + o, e1, 16);
    s0 = f32x4.add(s0, e0);
    s1 = f32x4.add(s1, e1);
  }
  for (; i < n4; i += 4) {
    const o = <usize>i << 2;
    const e = softmaxExp(f32x4.sub(v128.load(p + o), mv));
    v128.store(p + o, e);
    s0 = f32x4.add(s0, e);
  }
  return <f64>hsum(f32x4.add(s0, s1));
}

/** p[i] *= s for n4 floats. */
function scaleInPlace(p: usize, n4: i32, s: f32): void {
  const sv = f32x4.splat(s);
  for (let i = 0; i < n4; i += 4) {
    const o = <usize>i << 2;
    v128.store(p + o, f32x4.mul(v128.load(p + o), sv));
  }
}

/** Writes -inf to p[n .. n4) (the padding of the last vector). */
// @ts-ignore: decorator
@inline
function padTail(p: usize, n: i32, n4: i32): void {
  for (let i = n; i < n4; i++) setf(p, i, -Infinity);
}

// ------------------------------------------------------------------------------------------------
// Selection

// @ts-ignore: decorator
@inline
function median3(a: f32, b: f32, c: f32): f32 {
  if (a < b) {
    if (b < c) return b;
    return a < c ? c : a;
  }
  if (a < c) return a;
  return b < c ? c : b;
}

function siftDown(p: usize, start: i32, end: i32): void {
  // Min-heap (so that heap sort yields descending order).
  let root = start;
  for (;;) {
    let child = 2 * root + 1;
    if (child > end) return;
    if (child + 1 <= end && f(p, child + 1) < f(p, child)) child++;
    if (f(p, child) < f(p, root)) {
      const t = f(p, root);
      setf(p, root, f(p, child));
      setf(p, child, t);
      root = child;
    } else return;
  }
}

/** Sorts p[0..n) in descending order (the quickselect fallback: O(n log n) worst case). */
function heapSortDesc(p: usize, n: i32): void {
  for (let s = (n - 2) >> 1; s >= 0; s--) siftDown(p, s, n - 1);
  for (let end = n - 1; end > 0; end--) {
    const t = f(p, 0);
    setf(p, 0, f(p, end));
    setf(p, end, t);
    siftDown(p, 0, end - 1);
  }
}

/** The value at `rank` of vals[0..n) sorted descending (reorders vals; no NaN allowed). */
function nthLargest(vals: usize, n: i32, rank: i32): f32 {
  let lo = 0;
  let hi = n - 1;
  let budget = 2 * (32 - clz<i32>(n)) + 4;
  while (hi - lo > 16) {
    if (budget-- <= 0) {
      heapSortDesc(vals + (<usize>lo << 2), hi - lo + 1);
      return f(vals, rank);
    }
    const pivot = median3(f(vals, lo), f(vals, lo + ((hi - lo) >> 1)), f(vals, hi));
    let lt = lo;
    let gt = hi;
    let i = lo;
    while (i <= gt) {
      const v = f(vals, i);
      if (v > pivot) {
        setf(vals, i, f(vals, lt));
        setf(vals, lt, v);
        lt++;
        i++;
      } else if (v < pivot) {
        setf(vals, i, f(vals, gt));
        setf(vals, gt, v);
        gt--;
      } else {
        i++;
      }
    }
    if (rank < lt) hi = lt - 1;
    else if (rank > gt) lo = gt + 1;
    else return pivot;
  }
  for (let i = lo + 1; i <= hi; i++) {
    const v = f(vals, i);
    let j = i - 1;
    while (j >= lo && f(vals, j) < v) {
      setf(vals, j + 1, f(vals, j));
      j--;
    }
    setf(vals, j + 1, v);
  }
  return f(vals, rank);
}

// Radix select: the order key of an f32 (no NaN) is a u32 that sorts like the value, -0 and +0
// alike. A histogram of the keys' range (HIST_BINS bins) finds the bin holding the threshold; the
// keys in that bin are compacted and the range narrows by 2^11 per level, so at most 3 levels
// (the first over all n keys, the others over one bin) reach a single key or a few values.

// @ts-ignore: decorator
@inline
function orderKey(v: f32): u32 {
  // v + 0 turns -0 into +0 (binaryen keeps it: the fold would be wrong for -0); NaN ranks as -inf.
  const u = reinterpret<u32>(v == v ? v + <f32>0 : -Infinity);
  return u ^ (<u32>(<i32>u >> 31) | 0x80000000);
}

// @ts-ignore: decorator
@inline
function orderKey4(v: v128): v128 {
  const u = v128.bitselect(f32x4.add(v, f32x4.splat(0)), f32x4.splat(-Infinity), f32x4.eq(v, v));
  return v128.xor(u, v128.or(i32x4.shr_s(u, 31), i32x4.splat(0x80000000)));
}

// @ts-ignore: decorator
@inline
function fromOrderKey(k: u32): f32 {
  return reinterpret<f32>((k & 0x80000000) != 0 ? k ^ 0x80000000 : ~k);
}

// @ts-ignore: decorator
@inline
function minLaneU(v: v128): u32 {
  return min(min(<u32>i32x4.extract_lane(v, 0), <u32>i32x4.extract_lane(v, 1)),
    min(<u32>i32x4.extract_lane(v, 2), <u32>i32x4.extract_lane(v, 3)));
}

// @ts-ignore: decorator
@inline
function maxLaneU(v: v128): u32 {
  return max(max(<u32>i32x4.extract_lane(v, 0), <u32>i32x4.extract_lane(v, 1)),
    max(<u32>i32x4.extract_lane(v, 2), <u32>i32x4.extract_lane(v, 3)));
}

/** Four floats from anywhere as one vector (a gather). */
// @ts-ignore: decorator
@inline
function loadLanes(a: usize, b: usize, c: usize, d: usize): v128 {
  let v = f32x4.splat(load<f32>(a));
  v = f32x4.replace_lane(v, 1, load<f32>(b));
  v = f32x4.replace_lane(v, 2, load<f32>(c));
  return f32x4.replace_lane(v, 3, load<f32>(d));
}

/**
 * Histogram of keys[0..cnt), all in [lo, hi], in bins of equal width, at most HIST_BINS and at most
 * the power of two above cnt (filling and scanning 2,048 bins for a band of ~300 keys cost more
 * than the level it might save); returns the shift (a key's bin is (key - lo) >> shift; there are
 * ((hi - lo) >> shift) + 1 bins).
 */
function keyHistogram(keys: usize, cnt: i32, lo: u32, hi: u32, hist: usize): i32 {
  const range = hi - lo;
  const bits = 32 - <i32>clz<u32>(range);
  const hb = min(HIST_BITS, 32 - <i32>clz<u32>(<u32>cnt));
  const shift = bits > hb ? bits - hb : 0;
  memory.fill(hist, 0, <usize>((range >> shift) + 1) << 2);
  for (let j = 0; j < cnt; j++) {
    const b = <usize>((load<u32>(keys + (<usize>j << 2)) - lo) >> shift) << 2;
    store<i32>(hist + b, load<i32>(hist + b) + 1);
  }
  return shift;
}

/** Below this many values the selection copies them and runs quickselect (nthLargest). */
const RADIX_MIN = 256;
/** A narrowed bin with at most this many keys finishes with quickselect. */
const RADIX_SMALL = 48;

/**
 * The value of rank want - 1 (descending) of vals[0..n) (1 <= want <= n; NaN ranks as -inf), found
 * by radix select, and how many values are strictly above it (written to aboveOut). keys: n u32 of scratch.
 */
function radixThreshold(vals: usize, n: i32, want: i32, keys: usize, hist: usize, aboveOut: usize): f32 {
  // Keys of every value, and their range.
  let lo4 = i32x4.splat(-1);
  let hi4 = i32x4.splat(0);
  const n4 = n & ~3;
  let i = 0;
  for (; i < n4; i += 4) {
    const k = orderKey4(v128.load(vals + (<usize>i << 2)));
    v128.store(keys + (<usize>i << 2), k);
    lo4 = i32x4.min_u(lo4, k);
    hi4 = i32x4.max_u(hi4, k);
  }
  let lo = minLaneU(lo4);
  let hi = maxLaneU(hi4);
  for (; i < n; i++) {
    const k = orderKey(f(vals, i));
    store<u32>(keys + (<usize>i << 2), k);
    lo = min(lo, k);
    hi = max(hi, k);
  }
  let cnt = n;
  let need = want;
  let above = 0;
  for (;;) {
    if (lo == hi) {
      store<i32>(aboveOut, above);
      return fromOrderKey(lo);
    }
    if (cnt <= RADIX_SMALL) {
      // Back to values: quickselect on the few left, then count those above.
      for (let j = 0; j < cnt; j++) setf(keys, j, fromOrderKey(load<u32>(keys + (<usize>j << 2))));
      const t = nthLargest(keys, cnt, need - 1);
      for (let j = 0; j < cnt; j++) if (f(keys, j) > t) above++;
      store<i32>(aboveOut, above);
      return t;
    }
    const shift = keyHistogram(keys, cnt, lo, hi, hist);
    const bins = <i32>((hi - lo) >> shift) + 1;
    // The bin holding rank need - 1 from the top.
    let b = bins - 1;
    let acc = 0;
    for (;;) {
      const c = idx(hist, b);
      if (acc + c >= need) break;
      acc += c;
      b--;
    }
    need -= acc;
    above += acc;
    // Keep the keys of that bin, and their range.
    let w = 0;
    let nlo: u32 = 0xffffffff;
    let nhi: u32 = 0;
    const bb = <u32>b;
    for (let j = 0; j < cnt; j++) {
      const k = load<u32>(keys + (<usize>j << 2));
      if (((k - lo) >> shift) == bb) {
        store<u32>(keys + (<usize>w << 2), k);
        w++;
        nlo = min(nlo, k);
        nhi = max(nhi, k);
      }
    }
    cnt = w;
    lo = nlo;
    hi = nhi;
  }
  // Unreachable: every level narrows the range by 2^11 until one key or a few values are left.
  return 0;
}

/** Strided sample size of the selection's bracket. */
const SAMPLE = 1024;

// hist's last slots carry the bracket's cuts (cutLo, cutHi) to the candidate pass; they are read
// before the histogram is built again.
// @ts-ignore: decorator
@inline
function bracketCutsPtr(hist: usize): usize {
  return hist + (<usize>(HIST_BINS - 4) << 2);
}

/**
 * The bracket of the selection of the `want` largest of vals[0..n): a histogram of a strided sample
 * (min(n / 4, SAMPLE) values) gives cutHi (values >= it are surely in; NaN: none is) and cutLo (every
 * value of the top is >= it), with a margin of 3 standard deviations of the sample rank. Writes them
 * to bracketCutsPtr(hist) (cutLo, cutHi); returns false when the sample cannot bracket (want too close to n).
 */
function sampleBracket(vals: usize, n: i32, want: i32, keys: usize, hist: usize): bool {
  const m = n >> 2 < SAMPLE ? n >> 2 : SAMPLE;
  const step = n / m;
  const expected = <f64>want * <f64>m / <f64>n;
  const margin = 3 * Math.sqrt(expected * (1 - <f64>want / <f64>n)) + 3;
  const rHi = <i32>Math.floor(expected - margin);
  const rLo = <i32>Math.ceil(expected + margin);
  if (rLo >= m) return false;
  // Four sampled values a vector (their keys and range in lanes).
  const stride = <usize>step << 2;
  let lo4 = i32x4.splat(-1);
  let hi4 = i32x4.splat(0);
  let s = 0;
  let p = vals;
  for (; s + 4 <= m; s += 4) {
    const k = orderKey4(loadLanes(p, p + stride, p + 2 * stride, p + 3 * stride));
    p += 4 * stride;
    v128.store(keys + (<usize>s << 2), k);
    lo4 = i32x4.min_u(lo4, k);
    hi4 = i32x4.max_u(hi4, k);
  }
  let lo = minLaneU(lo4);
  let hi = maxLaneU(hi4);
  for (; s < m; s++) {
    const k = orderKey(f(vals, s * step));
    store<u32>(keys + (<usize>s << 2), k);
    lo = min(lo, k);
    hi = max(hi, k);
  }
  const shift = keyHistogram(keys, m, lo, hi, hist);
  const bins = <i32>((hi - lo) >> shift) + 1;
  // The bins of sample ranks rHi and rLo (0 = the largest); cutHi: the lower edge of the bin
  // above rHi's (NaN: no value is surely in), cutLo: the lower edge of rLo's (at least -inf).
  let cutHi: f32 = NaN;
  let cutLo: f32 = -Infinity;
  let acc = 0;
  let b = bins - 1;
  let seenHi = rHi < 0;
  for (; b >= 0; b--) {
    acc += idx(hist, b);
    if (!seenHi && acc > rHi) {
      seenHi = true;
      if (b < bins - 1) cutHi = fromOrderKey(lo + (<u32>(b + 1) << shift));
    }
    if (acc > rLo) break;
  }
  const loKey = lo + (<u32>(b < 0 ? 0 : b) << shift);
  if (loKey > 0x007fffff) cutLo = fromOrderKey(loKey);
  const cuts = bracketCutsPtr(hist);
  store<f32>(cuts, cutLo);
  store<f32>(cuts, cutHi, 4);
  return true;
}

// Shuffle patterns that move the i32 lanes set in a 4-bit mask to the front (the others zero), by mask.
const COMPACT_LANES = memory.data<u8>([
  128, 128, 128, 128, 128, 128, 128, 128, 128, 128, 128, 128, 128, 128, 128, 128,
  0, 1, 2, 3, 128, 128, 128, 128, 128, 128, 128, 128, 128, 128, 128, 128,
  4, 5, 6, 7, 128, 128, 128, 128, 128, 128, 128, 128, 128, 128, 128, 128,
  0, 1, 2, 3, 4, 5, 6, 7, 128, 128, 128, 128, 128, 128, 128, 128,
  8, 9, 10, 11, 128, 128, 128, 128, 128, 128, 128, 128, 128, 128, 128, 128,
  0, 1, 2, 3, 8, 9, 10, 11, 128, 128, 128, 128, 128, 128, 128, 128,
  4, 5, 6, 7, 8, 9, 10, 11, 128, 128, 128, 128, 128, 128, 128, 128,
  0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 128, 128, 128, 128,
  12, 13, 14, 15, 128, 128, 128, 128, 128, 128, 128, 128, 128, 128, 128, 128,
  0, 1, 2, 3, 12, 13, 14, 15, 128, 128, 128, 128, 128, 128, 128, 128,
  4, 5, 6, 7, 12, 13, 14, 15, 128, 128, 128, 128, 128, 128, 128, 128,
  0, 1, 2, 3, 4, 5, 6, 7, 12, 13, 14, 15, 128, 128, 128, 128,
  8, 9, 10, 11, 12, 13, 14, 15, 128, 128, 128, 128, 128, 128, 128, 128,
  0, 1, 2, 3, 8, 9, 10, 11, 12, 13, 14, 15, 128, 128, 128, 128,
  4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 128, 128, 128, 128,
  0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15,
], 16);

/**
 * Appends the positions of a vector's lanes set in m (ids: the 4 positions) to candIdx[c..], without a
 * branch: one table shuffle and a 16-byte store (candIdx has room for 4 past the last position);
 * returns the new count.
 */
// @ts-ignore: decorator
@inline
function appendLanes(candIdx: usize, c: i32, ids: v128, m: v128): i32 {
  const bits = i32x4.bitmask(m);
  v128.store(candIdx + (<usize>c << 2), i8x16.swizzle(ids, v128.load(COMPACT_LANES + (<usize>bits << 4))));
  return c + <i32>popcnt<u32>(bits);
}

/** Copies the candidates' values not >= cutHi (not surely in) to band; returns their count. */
function bandOf(vals: usize, candIdx: usize, c: i32, cutHi: f32, band: usize): i32 {
  let nb = 0;
  for (let j = 0; j < c; j++) {
    const v = f(vals, idx(candIdx, j));
    if (!(v >= cutHi)) setf(band, nb++, v);
  }
  return nb;
}

/**
 * The selection's end from its candidates (candIdx[0..c), ascending; band[0..nb) those below
 * cutHi): the threshold is ranked within the band, the indices written to out. Returns the count,
 * or -1 when the bracket missed (the caller selects over everything).
 */
function finishFromCandidates(vals: usize, want: i32, out: usize, candIdx: usize, c: i32, band: usize, nb: i32, keys: usize, hist: usize): i32 {
  const sure = c - nb;
  if (!(sure < want && c >= want)) return -1;
  // The threshold is in the band: rank need - 1 of it.
  const need = want - sure;
  let t: f32;
  let above = sure;
  if (nb < RADIX_MIN) {
    memory.copy(keys, band, <usize>nb << 2);
    t = nthLargest(keys, nb, need - 1);
    for (let j = 0; j < nb; j++) above += <i32>(f(band, j) > t);
  } else {
    t = radixThreshold(band, nb, need, keys, hist, hist);
    above += idx(hist, 0);
  }
  // A threshold of -inf has NaN among its ties (NaN ranks as -inf): the fallback handles that.
  if (t == -Infinity) return -1;
  // Emit from the candidates (every value above t is one of them), without a branch on the values:
  // about half of them are above t, in no order a predictor could learn. Each step writes out[w]
  // and counts it only if taken; w < want at every write.
  let ties = want - above;
  let w = 0;
  for (let j = 0; j < c && w < want; j++) {
    const ix = idx(candIdx, j);
    const v = f(vals, ix);
    const tie = <i32>(v == t) & <i32>(ties > 0);
    setIdx(out, w, ix);
    w += <i32>(v > t) | tie;
    ties -= tie;
  }
  return w;
}

/**
 * Ascending indices of the `want` largest of vals[0..n) (ties toward lower indices; NaN ranks as
 * -inf, as in topKIndices), written to out; returns the count (min(want, n)). vals stays unchanged.
 * Exact, O(n) and nearly all of it one SIMD pass: the sample bracket (sampleBracket), the pass
 * collects the candidates >= cutLo, those >= cutHi are in, and the threshold is selected among the
 * rest (the band) by radix select (finishFromCandidates). A bracket that misses (an adversarial
 * order) falls back to radix select over everything. Below RADIX_MIN values: quickselect.
 * Work: scratch (3 * align16(n) floats) and hist (HIST_BINS ints).
 */
function topkIndices(vals: usize, n: i32, want: i32, out: usize, scratch: usize, hist: usize): i32 {
  if (want <= 0) return 0;
  if (want >= n) {
    for (let i = 0; i < n; i++) setIdx(out, i, i);
    return n;
  }
  const candIdx = scratch;
  const band = scratch + (<usize>align16(n) << 2);
  const keys = band + (<usize>align16(n) << 2);
  if (n < RADIX_MIN) {
    for (let i = 0; i < n; i++) {
      const v = f(vals, i);
      setf(band, i, v == v ? v : -Infinity);
    }
    const t = nthLargest(band, n, want - 1);
    let above = 0;
    for (let i = 0; i < n; i++) if (f(vals, i) > t) above++;
    return emitTop(vals, n, want, t, above, out);
  }
  if (sampleBracket(vals, n, want, keys, hist)) {
    const cuts = bracketCutsPtr(hist);
    const cutLo = load<f32>(cuts);
    const cutHi = load<f32>(cuts, 4);
    const cv = f32x4.splat(cutLo);
    const four = i32x4.splat(4);
    let ids = i32x4(0, 1, 2, 3);
    let c = 0;
    let i = 0;
    for (; i + 4 <= n; i += 4) {
      c = appendLanes(candIdx, c, ids, f32x4.ge(v128.load(vals + (<usize>i << 2)), cv));
      ids = i32x4.add(ids, four);
    }
    for (; i < n; i++) if (f(vals, i) >= cutLo) setIdx(candIdx, c++, i);
    const nb = bandOf(vals, candIdx, c, cutHi, band);
    const w = finishFromCandidates(vals, want, out, candIdx, c, band, nb, keys, hist);
    if (w >= 0) return w;
  }
  // No usable bracket: radix select over everything.
  const t = radixThreshold(vals, n, want, keys, hist, hist);
  return emitTop(vals, n, want, t, idx(hist, 0), out);
}

/** Writes the ascending indices of the values above t and the first (want - above) equal to it. */
function emitTop(vals: usize, n: i32, want: i32, t: f32, above: i32, out: usize): i32 {
  let ties = want - above;
  let w = 0;
  if (t == -Infinity) {
    // NaN ranks as -inf (and may be among the ties): the plain loop.
    for (let i = 0; i < n; i++) {
      const v = f(vals, i);
      if (v > t) {
        setIdx(out, w++, i);
      } else if ((v == t || v != v) && ties > 0) {
        setIdx(out, w++, i);
        ties--;
      }
    }
    return w;
  }
  const tv = f32x4.splat(t);
  const n4 = n & ~3;
  let i = 0;
  for (; i < n4; i += 4) {
    let bits = i32x4.bitmask(f32x4.ge(v128.load(vals + (<usize>i << 2)), tv));
    while (bits != 0) {
      const lane = ctz<i32>(bits);
      bits &= bits - 1;
      if (f(vals, i + lane) > t) {
        setIdx(out, w++, i + lane);
      } else if (ties > 0) {
        setIdx(out, w++, i + lane);
        ties--;
      }
    }
  }
  for (; i < n; i++) {
    const v = f(vals, i);
    if (v > t) {
      setIdx(out, w++, i);
    } else if (v == t && ties > 0) {
      setIdx(out, w++, i);
      ties--;
    }
  }
  return w;
}

// ------------------------------------------------------------------------------------------------
// Dense

/** Bytes of workspace one thread needs for dense attention over up to maxLen positions. */
export function attn_dense_work_bytes(maxLen: i32, g: i32, d: i32): i32 {
  return convBytes(d) + ((g * align16(maxLen) + 64) << 2);
}

/** Dense decode attention for tasks [0, count) of the descriptor table. */
export function attn_dense(desc: usize, count: i32, d: i32, g: i32, work: usize, next: usize): void {
  for (let t = claim(next, 0); t < count; t = claim(next, t + 1)) {
    const dp = desc + <usize>t * DESC_BYTES;
    if (!isHalf(dp)) denseTask<f32>(dp, d, g, work);
    else if (mayHoldSpecial(dp)) denseTask<i16>(dp, d, g, work);
    else denseTask<u16>(dp, d, g, work);
  }
}

// @ts-ignore: decorator
@inline
function denseTask<T>(dp: usize, d: i32, g: i32, work: usize): void {
  const scale = <f32>(1.0 / Math.sqrt(<f64>d));
  const rowBytes = <usize>d << 2;
  const rowT = <usize>d * sizeof<T>();
  const conv = work;
  const scores = work + <usize>convBytes(d);
  const kp = partPtr(dp, PART_K, d);
  const vp = partPtr(dp, PART_V, d);
  const len = load<i32>(dp + D_LEN);
  const qp = <usize>load<i32>(dp + D_Q);
  const op = <usize>load<i32>(dp + D_OUT);
  const L = align16(len);
  const n4 = (len + 3) & ~3;
  // One f16 row serving one query head is widened inside the dot product; several heads share
  // one widened copy.
  const fused = sizeof<T>() == 2 && g == 1;
  // The fused dot takes q * 2^112 (in conv) when that stays finite.
  let scaledQ = false;
  if (fused) {
    let qmax: f32 = 0;
    for (let c = 0; c < d; c++) qmax = max(qmax, abs(f(qp, c)));
    scaledQ = qmax < SCALED_Q_LIMIT;
    if (scaledQ) for (let c = 0; c < d; c += 4) v128.store(conv + (<usize>c << 2), f32x4.mul(v128.load(qp + (<usize>c << 2)), f32x4.splat(TWO_112)));
  }
  // Scores for every query head, one K row at a time (the row stays in L1 across the group).
  for (let i = 0; i < len; i++) {
    const ka = kp + <usize>i * rowT;
    if (fused) {
      let s = (scaledQ ? dotHalfScaled(conv, ka, d, isSigned<T>()) : dotHalf(qp, ka, d, isSigned<T>())) * scale;
      s = min(max(s, -FLT_MAX), FLT_MAX);
      setf(scores, i, s);
      continue;
    }
    const kr = rowF32<T>(ka, conv, d);
    for (let h = 0; h < g; h++) {
      let s = dot(qp + <usize>h * rowBytes, kr, d) * scale;
      s = min(max(s, -FLT_MAX), FLT_MAX);
      setf(scores, h * L + i, s);
    }
  }
  for (let h = 0; h < g; h++) {
    const sp = scores + (<usize>(h * L) << 2);
    padTail(sp, len, n4);
    const mx = maxOf(sp, n4);
    const sum = expInPlace(sp, n4, mx);
    scaleInPlace(sp, n4, <f32>(1.0 / sum));
    memory.fill(op + <usize>h * rowBytes, 0, rowBytes);
  }
  // Weighted sum of V, one row at a time, into out (L1-resident accumulators).
  for (let i = 0; i < len; i++) {
    const va = vp + <usize>i * rowT;
    if (fused) {
      axpyHalf(op, f32x4.splat(f(scores, i)), va, d, isSigned<T>());
      continue;
    }
    const vr = rowF32<T>(va, conv, d);
    for (let h = 0; h < g; h++) {
      const pv = f32x4.splat(f(scores, h * L + i));
      const orow = op + <usize>h * rowBytes;
      for (let j = 0; j < d; j += 4) {
        const o = <usize>j << 2;
        v128.store(orow + o, madd(pv, v128.load(vr + o), v128.load(orow + o)));
      }
    }
  }
}

// ------------------------------------------------------------------------------------------------
// Step 2, shared by SparQ and the baselines

// Step 2 reads rows scattered over the cache, each one a DRAM miss (and, with the 4 KiB pages wasm
// memory gets, usually a TLB miss). Each pass therefore walks its selected rows in blocks of
// TOUCH_BYTES: one loop of plain loads first touches every cache line of the block's rows
// (touchRows), then the arithmetic reads them from L1. The touch loop has no stores and a few
// instructions per line, so the out-of-order window holds the misses of dozens of rows at once;
// the arithmetic over a row in place keeps about one row's misses in flight, and a copy loop (as
// step 2 once gathered rows, 32 at a time, into a contiguous chunk) two or three before its stores
// fill the store buffer. Measured at S = 16384, 32 heads of 128, f16 cache, 1 thread, against those
// gathers: the paper recipe at 1/8 (k = 128) 3.42 -> 3.07 ms per layer, the even split at 1/8
// (k = 1022) 6.36 -> 4.38 ms and at 1/2 (k = 4094) 18.7 -> 12.9 ms. Blocks of 16-64 KiB measured
// alike, 1 MiB (past L2) slower (15.0 ms at 1/2); touching the next block's rows a few per
// iteration of the arithmetic, instead of in one burst, was 2x slower (each touch that misses
// holds up retirement in the middle of the arithmetic).
const TOUCH_BYTES = 32768;

/**
 * Loads every 64-byte line of the rows sel[j0 .. j0 + n) of base (rowT bytes each, a multiple of
 * 8); returns a sum that keeps the loads alive. The last load covers a row that does not start on
 * a line.
 */
function touchRows(base: usize, sel: usize, j0: i32, n: i32, rowT: usize): i32 {
  if (rowT == 256) {
    // The usual row (128 halves), unrolled: a loop per row costs a branch per line.
    let v = i32x4.splat(0);
    for (let x = 0; x < n; x++) {
      const p = base + <usize>idx(sel, j0 + x) * rowT;
      v = i32x4.add(v, i32x4.add(i32x4.add(v128.load(p), v128.load(p, 64)), i32x4.add(v128.load(p, 128), v128.load(p, 240))));
    }
    return i32x4.extract_lane(v, 0);
  }
  let s = 0;
  const last = rowT - 4;
  for (let x = 0; x < n; x++) {
    const p = base + <usize>idx(sel, j0 + x) * rowT;
    for (let o: usize = 0; o < last; o += 64) s += load<i32>(p + o);
    s += load<i32>(p + last);
  }
  return s;
}

/** [hsum(x0), hsum(x1), hsum(x2), hsum(x3)] by two transposing adds. */
// @ts-ignore: decorator
@inline
function sum4(x0: v128, x1: v128, x2: v128, x3: v128): v128 {
  const s01 = f32x4.add(
    i8x16.shuffle(x0, x1, 0, 1, 2, 3, 16, 17, 18, 19, 4, 5, 6, 7, 20, 21, 22, 23),
    i8x16.shuffle(x0, x1, 8, 9, 10, 11, 24, 25, 26, 27, 12, 13, 14, 15, 28, 29, 30, 31));
  const s23 = f32x4.add(
    i8x16.shuffle(x2, x3, 0, 1, 2, 3, 16, 17, 18, 19, 4, 5, 6, 7, 20, 21, 22, 23),
    i8x16.shuffle(x2, x3, 8, 9, 10, 11, 24, 25, 26, 27, 12, 13, 14, 15, 28, 29, 30, 31));
  return f32x4.add(
    i8x16.shuffle(s01, s23, 0, 1, 2, 3, 4, 5, 6, 7, 16, 17, 18, 19, 20, 21, 22, 23),
    i8x16.shuffle(s01, s23, 8, 9, 10, 11, 12, 13, 14, 15, 24, 25, 26, 27, 28, 29, 30, 31));
}

/** The dot products of q with four f32 rows (d a multiple of 4), as one vector; 8 accumulators. */
// @ts-ignore: decorator
@inline
function dot4(q: usize, r0: usize, r1: usize, r2: usize, r3: usize, d: i32): v128 {
  let a0 = f32x4.splat(0);
  let a1 = f32x4.splat(0);
  let a2 = f32x4.splat(0);
  let a3 = f32x4.splat(0);
  let b0 = f32x4.splat(0);
  let b1 = f32x4.splat(0);
  let b2 = f32x4.splat(0);
  let b3 = f32x4.splat(0);
  let c = 0;
  for (; c + 8 <= d; c += 8) {
    const o = <usize>c << 2;
    const qa = v128.load(q + o);
    const qb = v128.load(q + o, 16);
    a0 = madd(qa, v128.load(r0 + o), a0);
    b0 = madd(qb, v128.load(r0 + o, 16), b0);
    a1 = madd(qa, v128.load(r1 + o), a1);
    b1 = madd(qb, v128.load(r1 + o, 16), b1);
    a2 = madd(qa, v128.load(r2 + o), a2);
    b2 = madd(qb, v128.load(r2 + o, 16), b2);
    a3 = madd(qa, v128.load(r3 + o), a3);
    b3 = madd(qb, v128.load(r3 + o, 16), b3);
  }
  if (c < d) {
    const o = <usize>c << 2;
    const qa = v128.load(q + o);
    a0 = madd(qa, v128.load(r0 + o), a0);
    a1 = madd(qa, v128.load(r1 + o), a1);
    a2 = madd(qa, v128.load(r2 + o), a2);
    a3 = madd(qa, v128.load(r3 + o), a3);
  }
  return sum4(f32x4.add(a0, b0), f32x4.add(a1, b1), f32x4.add(a2, b2), f32x4.add(a3, b3));
}

/**
 * The dot products of q with four f16 rows, widened in registers (d a multiple of 4). scaled: q is
 * q * 2^112 and the rows are widened without their multiply (see widenLoScaled).
 */
// @ts-ignore: decorator
@inline
function dot4Half(q: usize, r0: usize, r1: usize, r2: usize, r3: usize, d: i32, special: bool, scaled: bool): v128 {
  let a0 = f32x4.splat(0);
  let a1 = f32x4.splat(0);
  let a2 = f32x4.splat(0);
  let a3 = f32x4.splat(0);
  let b0 = f32x4.splat(0);
  let b1 = f32x4.splat(0);
  let b2 = f32x4.splat(0);
  let b3 = f32x4.splat(0);
  let c = 0;
  for (; c + 8 <= d; c += 8) {
    const o = <usize>c << 2;
    const ob = <usize>c << 1;
    const qa = v128.load(q + o);
    const qb = v128.load(q + o, 16);
    const h0 = v128.load(r0 + ob);
    const h1 = v128.load(r1 + ob);
    const h2 = v128.load(r2 + ob);
    const h3 = v128.load(r3 + ob);
    if (scaled) {
      a0 = madd(qa, widenLoScaled(h0, special), a0);
      b0 = madd(qb, widenHiScaled(h0, special), b0);
      a1 = madd(qa, widenLoScaled(h1, special), a1);
      b1 = madd(qb, widenHiScaled(h1, special), b1);
      a2 = madd(qa, widenLoScaled(h2, special), a2);
      b2 = madd(qb, widenHiScaled(h2, special), b2);
      a3 = madd(qa, widenLoScaled(h3, special), a3);
      b3 = madd(qb, widenHiScaled(h3, special), b3);
    } else {
      a0 = madd(qa, widenLo(h0, special), a0);
      b0 = madd(qb, widenHi(h0, special), b0);
      a1 = madd(qa, widenLo(h1, special), a1);
      b1 = madd(qb, widenHi(h1, special), b1);
      a2 = madd(qa, widenLo(h2, special), a2);
      b2 = madd(qb, widenHi(h2, special), b2);
      a3 = madd(qa, widenLo(h3, special), a3);
      b3 = madd(qb, widenHi(h3, special), b3);
    }
  }
  if (c < d) {
    const o = <usize>c << 2;
    const ob = <usize>c << 1;
    const qa = v128.load(q + o);
    if (scaled) {
      a0 = madd(qa, loadHalf4Scaled(r0 + ob, special), a0);
      a1 = madd(qa, loadHalf4Scaled(r1 + ob, special), a1);
      a2 = madd(qa, loadHalf4Scaled(r2 + ob, special), a2);
      a3 = madd(qa, loadHalf4Scaled(r3 + ob, special), a3);
    } else {
      a0 = madd(qa, loadHalf4(r0 + ob, special), a0);
      a1 = madd(qa, loadHalf4(r1 + ob, special), a1);
      a2 = madd(qa, loadHalf4(r2 + ob, special), a2);
      a3 = madd(qa, loadHalf4(r3 + ob, special), a3);
    }
  }
  return sum4(f32x4.add(a0, b0), f32x4.add(a1, b1), f32x4.add(a2, b2), f32x4.add(a3, b3));
}

/** out[0..d) += w0 r0 + w1 r1 + w2 r2 + w3 r3 over f32 rows (d a multiple of 4). */
// @ts-ignore: decorator
@inline
function axpy4(out: usize, w0: v128, w1: v128, w2: v128, w3: v128, r0: usize, r1: usize, r2: usize, r3: usize, d: i32): void {
  for (let c = 0; c < d; c += 4) {
    const o = <usize>c << 2;
    let acc = v128.load(out + o);
    acc = madd(w0, v128.load(r0 + o), acc);
    acc = madd(w1, v128.load(r1 + o), acc);
    acc = madd(w2, v128.load(r2 + o), acc);
    acc = madd(w3, v128.load(r3 + o), acc);
    v128.store(out + o, acc);
  }
}

/** out[0..d) += w0 r0 + ... + w3 r3 over f16 rows widened in registers; the weights are w * 2^112 (w <= 1). */
// @ts-ignore: decorator
@inline
function axpy4Half(out: usize, w0: v128, w1: v128, w2: v128, w3: v128, r0: usize, r1: usize, r2: usize, r3: usize, d: i32,
  special: bool): void {
  let c = 0;
  for (; c + 8 <= d; c += 8) {
    const o = <usize>c << 2;
    const ob = <usize>c << 1;
    const h0 = v128.load(r0 + ob);
    const h1 = v128.load(r1 + ob);
    const h2 = v128.load(r2 + ob);
    const h3 = v128.load(r3 + ob);
    let lo = v128.load(out + o);
    let hi = v128.load(out + o, 16);
    lo = madd(w0, widenLoScaled(h0, special), lo);
    hi = madd(w0, widenHiScaled(h0, special), hi);
    lo = madd(w1, widenLoScaled(h1, special), lo);
    hi = madd(w1, widenHiScaled(h1, special), hi);
    lo = madd(w2, widenLoScaled(h2, special), lo);
    hi = madd(w2, widenHiScaled(h2, special), hi);
    lo = madd(w3, widenLoScaled(h3, special), lo);
    hi = madd(w3, widenHiScaled(h3, special), hi);
    v128.store(out + o, lo);
    v128.store(out + o, hi, 16);
  }
  if (c < d) {
    const o = <usize>c << 2;
    const ob = <usize>c << 1;
    let lo = v128.load(out + o);
    lo = madd(w0, loadHalf4Scaled(r0 + ob, special), lo);
    lo = madd(w1, loadHalf4Scaled(r1 + ob, special), lo);
    lo = madd(w2, loadHalf4Scaled(r2 + ob, special), lo);
    lo = madd(w3, loadHalf4Scaled(r3 + ob, special), lo);
    v128.store(out + o, lo);
  }
}

// @ts-ignore: decorator
@inline
function lane(v: v128, i: i32): v128 {
  if (i == 0) return f32x4.splat(f32x4.extract_lane(v, 0));
  if (i == 1) return f32x4.splat(f32x4.extract_lane(v, 1));
  if (i == 2) return f32x4.splat(f32x4.extract_lane(v, 2));
  return f32x4.splat(f32x4.extract_lane(v, 3));
}

/**
 * Step 2, shared by SparQ and the baselines: exact attention of the group's query heads over the
 * positions sel[0 .. cnt) (ascending, cnt >= 1), in two passes that each walk one region in
 * ascending order, 4 rows at a time, each block of rows touched first (see TOUCH_BYTES): the K
 * rows give the logits (into w), a softmax turns them into weights, then the V rows are summed.
 * f16 rows are widened in registers for a single query head; for a group, each row is widened once
 * into conv and read by every head. Leaves out unnormalised (the caller scales row h by
 * alpha / lrun[h]); mrun[h] is the max logit, and w ([g, K] floats, K a multiple of 16 >= cnt)
 * ends holding the weights exp(logit - mrun[h]) (H2O reads them).
 */
// Step 1's passes and step 2 are functions of their own, not inlined into the task: V8 allocates
// registers per function, and inside the one large task function the K-once step 1 ran 2.3x
// slower (measured, 1 thread, S = 16384); step 2 measured the same either way, in a smaller binary.
function attendSelectedRows<T>(kp: usize, vp: usize, qp: usize, op: usize, sel: usize, cnt: i32, d: i32, g: i32,
  mrun: usize, lrun: usize, w: usize, K: i32, sinkp: usize, conv: usize): void {
  const scale = <f32>(1.0 / Math.sqrt(<f64>d));
  const sv = f32x4.splat(scale);
  const rowBytes = <usize>d << 2;
  const rowT = <usize>d * sizeof<T>();
  const half = sizeof<T>() == 2;
  const special = isSigned<T>();
  const convRow = <usize>(align16(d) << 2);
  const c4 = cnt & ~3;
  const n4 = (cnt + 3) & ~3;
  // Rows per touched block (see TOUCH_BYTES): a multiple of 4, so blocks start where the 4-row loops do.
  const block = max(4, (TOUCH_BYTES / <i32>rowT) & ~3);
  let sink = 0;
  // Pass 1: logits.
  if (g == 1) {
    // f16: q * 2^112 (in conv) for the scaled widening when that stays finite.
    let scaled = false;
    if (half) {
      let qmax: f32 = 0;
      for (let c = 0; c < d; c++) qmax = max(qmax, abs(f(qp, c)));
      scaled = qmax < SCALED_Q_LIMIT;
      if (scaled) for (let c = 0; c < d; c += 4) v128.store(conv + (<usize>c << 2), f32x4.mul(v128.load(qp + (<usize>c << 2)), f32x4.splat(TWO_112)));
    }
    let mx = f32x4.splat(-Infinity);
    let j = 0;
    for (; j < c4; j += 4) {
      if (j % block == 0) sink += touchRows(kp, sel, j, min(block, cnt - j), rowT);
      const r0 = kp + <usize>idx(sel, j) * rowT;
      const r1 = kp + <usize>idx(sel, j + 1) * rowT;
      const r2 = kp + <usize>idx(sel, j + 2) * rowT;
      const r3 = kp + <usize>idx(sel, j + 3) * rowT;
      let s: v128;
      if (!half) s = dot4(qp, r0, r1, r2, r3, d);
      else if (scaled) s = dot4Half(conv, r0, r1, r2, r3, d, special, true);
      else s = dot4Half(qp, r0, r1, r2, r3, d, special, false);
      s = clampLogit(f32x4.mul(s, sv));
      v128.store(w + (<usize>j << 2), s);
      mx = f32x4.max(mx, s);
    }
    let m = hmax(mx);
    for (; j < cnt; j++) {
      const r = kp + <usize>idx(sel, j) * rowT;
      let s: f32;
      if (!half) s = dot(qp, r, d);
      else if (scaled) s = dotHalfScaled(conv, r, d, special);
      else s = dotHalf(qp, r, d, special);
      s = min(max(s * scale, -FLT_MAX), FLT_MAX);
      setf(w, j, s);
      m = max(m, s);
    }
    padTail(w, cnt, n4);
    setf(mrun, 0, m);
  } else {
    for (let h = 0; h < g; h++) setf(mrun, h, -Infinity);
    const last = idx(sel, cnt - 1);
    for (let j = 0; j < cnt; j += 4) {
      if (j % block == 0) sink += touchRows(kp, sel, j, min(block, cnt - j), rowT);
      const n = cnt - j < 4 ? cnt - j : 4;
      // A short last group repeats the last row; its logits become -inf (weight 0).
      const k0 = rowF32<T>(kp + <usize>idx(sel, j) * rowT, conv, d);
      const k1 = rowF32<T>(kp + <usize>(n > 1 ? idx(sel, j + 1) : last) * rowT, conv + convRow, d);
      const k2 = rowF32<T>(kp + <usize>(n > 2 ? idx(sel, j + 2) : last) * rowT, conv + 2 * convRow, d);
      const k3 = rowF32<T>(kp + <usize>(n > 3 ? idx(sel, j + 3) : last) * rowT, conv + 3 * convRow, d);
      for (let h = 0; h < g; h++) {
        let s = clampLogit(f32x4.mul(dot4(qp + <usize>h * rowBytes, k0, k1, k2, k3, d), sv));
        if (n < 4) {
          if (n < 2) s = f32x4.replace_lane(s, 1, -Infinity);
          if (n < 3) s = f32x4.replace_lane(s, 2, -Infinity);
          s = f32x4.replace_lane(s, 3, -Infinity);
        }
        v128.store(w + (<usize>(h * K + j) << 2), s);
        setf(mrun, h, max(f(mrun, h), hmax(s)));
      }
    }
  }
  // Softmax numerators and their sums.
  for (let h = 0; h < g; h++) {
    setf(lrun, h, <f32>expInPlace(w + (<usize>(h * K) << 2), n4, f(mrun, h)));
    memory.fill(op + <usize>h * rowBytes, 0, rowBytes);
  }
  // Pass 2: the weighted V rows.
  if (g == 1) {
    let j = 0;
    for (; j < c4; j += 4) {
      if (j % block == 0) sink += touchRows(vp, sel, j, min(block, cnt - j), rowT);
      const r0 = vp + <usize>idx(sel, j) * rowT;
      const r1 = vp + <usize>idx(sel, j + 1) * rowT;
      const r2 = vp + <usize>idx(sel, j + 2) * rowT;
      const r3 = vp + <usize>idx(sel, j + 3) * rowT;
      const wv = v128.load(w + (<usize>j << 2));
      if (half) {
        const ws = f32x4.mul(wv, f32x4.splat(TWO_112));
        axpy4Half(op, lane(ws, 0), lane(ws, 1), lane(ws, 2), lane(ws, 3), r0, r1, r2, r3, d, special);
      } else {
        axpy4(op, lane(wv, 0), lane(wv, 1), lane(wv, 2), lane(wv, 3), r0, r1, r2, r3, d);
      }
    }
    for (; j < cnt; j++) {
      const r = vp + <usize>idx(sel, j) * rowT;
      const wj = f32x4.splat(f(w, j));
      if (half) {
        axpyHalf(op, wj, r, d, special);
      } else {
        for (let c = 0; c < d; c += 4) {
          const o = <usize>c << 2;
          v128.store(op + o, madd(wj, v128.load(r + o), v128.load(op + o)));
        }
      }
    }
  } else {
    // The padding lanes of a short last group weigh a row of zeros (0 * an infinite V would be NaN).
    const zeroRow = conv + 8 * convRow;
    memory.fill(zeroRow, 0, rowBytes);
    for (let j = 0; j < cnt; j += 4) {
      if (j % block == 0) sink += touchRows(vp, sel, j, min(block, cnt - j), rowT);
      const n = cnt - j < 4 ? cnt - j : 4;
      const v0 = rowF32<T>(vp + <usize>idx(sel, j) * rowT, conv + 4 * convRow, d);
      const v1 = n > 1 ? rowF32<T>(vp + <usize>idx(sel, j + 1) * rowT, conv + 5 * convRow, d) : zeroRow;
      const v2 = n > 2 ? rowF32<T>(vp + <usize>idx(sel, j + 2) * rowT, conv + 6 * convRow, d) : zeroRow;
      const v3 = n > 3 ? rowF32<T>(vp + <usize>idx(sel, j + 3) * rowT, conv + 7 * convRow, d) : zeroRow;
      for (let h = 0; h < g; h++) {
        const wv = v128.load(w + (<usize>(h * K + j) << 2));
        axpy4(op + <usize>h * rowBytes, lane(wv, 0), lane(wv, 1), lane(wv, 2), lane(wv, 3), v0, v1, v2, v3, d);
      }
    }
  }
  // Keeps the touch loads alive (the value itself is meaningless).
  store<i32>(sinkp, sink);
}

// ------------------------------------------------------------------------------------------------
// SparQ

// @ts-ignore: decorator
@inline
function sparqScoresBytes(L: i32, g: i32): i32 {
  return (g * L) << 2;
}

// Workspace of SparQ and the baselines (attn_sparq_work_bytes), in this order:
//   conv     f16 rows widened (convBytes; with one query head, its row 0 holds q * 2^112)
//   scores   [g, L] f32: approximate (SparQ) or exact (FlexGen) logits, then probabilities
//   summed   [L] f32: the selection key summed over the group
//   scratch  [3 C] f32: the selection's candidates, band and keys (FlexGen: exponentials, weights)
//   sel      [K] i32: the selected positions
//   hist     [HIST_BINS] i32: the selection's histogram
//   comps, absq, chunks: [align16(d)] each: i1, |q| summed over the group, K-once chunks
//   qsplat   [g, align16(d)] v128: q's components in i1, splatted (K once: q masked to i1)
//   mrun, lrun, invTau, alpha: [align16(g)] f32 each
//   w        [g, K] f32: step 2's logits, then its weights
//   sink     the touch loads' sink
// with L = align16(positions), K = align16(k), C = max(L, align16(d)).

/** Bytes of workspace one thread needs for SparQ (and the baselines) over up to maxLen positions. */
export function attn_sparq_work_bytes(maxLen: i32, g: i32, k: i32, d: i32): i32 {
  const L = align16(maxLen);
  const K = align16(k);
  const D = align16(d);
  const C = L > D ? L : D;
  return convBytes(d)
    + sparqScoresBytes(L, g)
    + (L << 2)
    + (C << 2) * 3
    + (K << 2)
    + (HIST_BINS << 2)
    + (D << 2) * 3
    + (g * D) * 16
    + (align16(g) << 2) * 4
    + ((g * K) << 2)
    + 64
    + 256;
}

/**
 * SparQ with one query head, after step 1 (x: the raw approximate logits, [0, len) of a row of
 * align16(len); tv = 1 / tau): selectGeneral's work for g = 1. Only two things are used of the scores
 * softmax(x / tau): their order (the selection) and alpha (the selected share of their sum), so one
 * pass over x does the work of scaling, exponentiating and the selection's candidate pass: the sum of
 * exp(x / tau - max / tau) over running per-lane maxima (a lane's sum rescaled when its maximum rises),
 * and the candidates of the sample bracket taken on x itself (exp is monotone: the same order, without
 * the ties f32 exponentials make of nearby logits). Selects the `want` largest of [0, limit) and the
 * local window [limit, len) into sel and writes alpha (1 without reallocation) to alphaOut. Returns
 * the count, or -1 (selectGeneral then runs on x, unchanged but for -inf padding) when a logit is NaN
 * or infinite, there are too few positions for the bracket, or it misses.
 */
function selectOneHead(x: usize, len: i32, limit: i32, want: i32, tv: f32, realloc: i32, sel: usize, scratch: usize, hist: usize,
  alphaOut: usize): i32 {
  if (want <= 0 || want >= limit || limit < RADIX_MIN) return -1;
  const candIdx = scratch;
  const band = scratch + (<usize>align16(limit) << 2);
  const keys = band + (<usize>align16(limit) << 2);
  if (!sampleBracket(x, limit, want, keys, hist)) return -1;
  const cuts = bracketCutsPtr(hist);
  const cutLo = load<f32>(cuts);
  const cv = f32x4.splat(cutLo);
  const cutHi = load<f32>(cuts, 4);
  // -inf up to a multiple of 16 (the score row holds align16(len) floats) for the tail's max and
  // terms, in vectors: it adds 2^-126 a term, never a maximum.
  const n16 = align16(len);
  padTail(x, len, n16);
  // The sum in base 2: each term 2^(x t2 - max t2), t2 = tv log2(e), its exponent one multiply-add
  // (nmt: -max t2 per lane).
  const t2 = f32x4.splat(tv * LOG2E);
  const four = i32x4.splat(4);
  let ids = i32x4(0, 1, 2, 3);
  let mx = f32x4.splat(-Infinity);
  let nmt = f32x4.splat(Infinity);
  let sum = f32x4.splat(0);
  let c = 0;
  // The blocks wholly before limit (no position mask); the rest (the local window, padding) after.
  const free = limit & ~15;
  for (let i = 0; i < free; i += 16) {
    const p = x + (<usize>i << 2);
    const v0 = v128.load(p);
    const v1 = v128.load(p, 16);
    const v2 = v128.load(p, 32);
    const v3 = v128.load(p, 48);
    const bm = f32x4.pmax(f32x4.pmax(v0, v1), f32x4.pmax(v2, v3));
    if (v128.any_true(f32x4.gt(bm, mx))) {
      const nm = f32x4.pmax(mx, bm);
      const nnmt = f32x4.neg(f32x4.mul(nm, t2));
      sum = f32x4.mul(sum, sumExp2(madd(mx, t2, nnmt)));
      mx = nm;
      nmt = nnmt;
    }
    const e01 = f32x4.add(sumExp2(madd(v0, t2, nmt)), sumExp2(madd(v1, t2, nmt)));
    const e23 = f32x4.add(sumExp2(madd(v2, t2, nmt)), sumExp2(madd(v3, t2, nmt)));
    sum = f32x4.add(sum, f32x4.add(e01, e23));
    // The candidates, without a branch (a taken branch per block of candidates on fresh logits
    // cost more than the table shuffles).
    c = appendLanes(candIdx, c, ids, f32x4.ge(v0, cv));
    const ids1 = i32x4.add(ids, four);
    c = appendLanes(candIdx, c, ids1, f32x4.ge(v1, cv));
    const ids2 = i32x4.add(ids1, four);
    c = appendLanes(candIdx, c, ids2, f32x4.ge(v2, cv));
    const ids3 = i32x4.add(ids2, four);
    c = appendLanes(candIdx, c, ids3, f32x4.ge(v3, cv));
    ids = i32x4.add(ids3, four);
  }
  for (let i = free; i < limit; i++) if (f(x, i) >= cutLo) setIdx(candIdx, c++, i);
  const nb = bandOf(x, candIdx, c, cutHi, band);
  // The lanes' sums relative to the largest maximum, the tail's terms added (a NaN or infinite
  // logit leaves a NaN or +inf).
  const m = max(hmax(mx), maxOf(x + (<usize>free << 2), n16 - free));
  const nm2 = -m * tv * LOG2E;
  const nmAll = f32x4.splat(nm2);
  let acc = f32x4.mul(sum, sumExp2(madd(mx, t2, nmAll)));
  for (let i = free; i < n16; i += 4) acc = f32x4.add(acc, sumExp2(madd(v128.load(x + (<usize>i << 2)), t2, nmAll)));
  const total = <f64>hsum(acc);
  if (!(total > 0 && total < Infinity && nm2 > -Infinity)) return -1;
  let cnt = finishFromCandidates(x, want, sel, candIdx, c, band, nb, keys, hist);
  if (cnt < 0) return -1;
  for (let i = limit; i < len; i++) setIdx(sel, cnt++, i);
  // alpha: the selected terms, four a vector (gathered), computed as the pass computed them (the
  // same bits, so their rounding cancels in the share).
  let a: f32 = 1;
  if (realloc != 0) {
    let acc = f32x4.splat(0);
    let j = 0;
    for (; j + 4 <= cnt; j += 4) {
      const v = loadLanes(x + (<usize>idx(sel, j) << 2), x + (<usize>idx(sel, j + 1) << 2),
        x + (<usize>idx(sel, j + 2) << 2), x + (<usize>idx(sel, j + 3) << 2));
      acc = f32x4.add(acc, sumExp2(madd(v, t2, nmAll)));
    }
    let sm = <f64>hsum(acc);
    for (; j < cnt; j++) sm += <f64>f32x4.extract_lane(sumExp2(madd(f32x4.splat(f(x, idx(sel, j))), t2, nmAll)), 0);
    sm /= total;
    a = sm < 1 ? <f32>sm : <f32>1;
  }
  setf(alphaOut, 0, a);
  return cnt;
}

/**
 * SparQ decode attention for tasks [0, count): r components, k positions, local window l,
 * reallocation on/off, transposed: read step 1 from K^T (else from the K rows).
 */
export function attn_sparq(desc: usize, count: i32, d: i32, g: i32, r: i32, k: i32, l: i32,
  realloc: i32, transposed: i32, work: usize, next: usize): void {
  for (let t = claim(next, 0); t < count; t = claim(next, t + 1)) {
    const dp = desc + <usize>t * DESC_BYTES;
    if (!isHalf(dp)) sparqTask<f32>(dp, d, g, r, k, l, realloc, transposed, work);
    else if (mayHoldSpecial(dp)) sparqTask<i16>(dp, d, g, r, k, l, realloc, transposed, work);
    else sparqTask<u16>(dp, d, g, r, k, l, realloc, transposed, work);
  }
}

/**
 * One step-1 pass over 4 K^T rows (components) into every head's score row: positions [0, n4),
 * 8 at a time for f16 (each half vector widened once for the whole group), 4 for f32.
 * qs: the group's splatted q components (head h's 4 at qs + h * qStride); first: the first pass
 * (the score rows start at zero).
 */
function approxPass4<T>(scores: usize, L: i32, g: i32, qs: usize, qStride: usize, r0: usize, r1: usize, r2: usize, r3: usize,
  n4: i32, first: bool): void {
  const rowStride = <usize>L << 2;
  if (sizeof<T>() == 2) {
    // An f16 cache keeps K^T in bf16 (see bf16Lo). The steps past n4 stay inside the K^T rows
    // (capacity is a multiple of 16) and the score rows (L), and are never read.
    // (One query head: approxPassOneHeadBf16.)
    for (let i = 0; i < n4; i += 8) {
      const ob = <usize>i << 1;
      const h0 = v128.load(r0 + ob);
      const h1 = v128.load(r1 + ob);
      const h2 = v128.load(r2 + ob);
      const h3 = v128.load(r3 + ob);
      const x0 = bf16Lo(h0);
      const y0 = bf16Hi(h0);
      const x1 = bf16Lo(h1);
      const y1 = bf16Hi(h1);
      const x2 = bf16Lo(h2);
      const y2 = bf16Hi(h2);
      const x3 = bf16Lo(h3);
      const y3 = bf16Hi(h3);
      let sp = scores + (<usize>i << 2);
      let q = qs;
      for (let h = 0; h < g; h++) {
        let lo = first ? f32x4.splat(0) : v128.load(sp);
        let hi = first ? f32x4.splat(0) : v128.load(sp, 16);
        const q0 = v128.load(q);
        const q1 = v128.load(q, 16);
        const q2 = v128.load(q, 32);
        const q3 = v128.load(q, 48);
        lo = madd(q0, x0, lo);
        hi = madd(q0, y0, hi);
        lo = madd(q1, x1, lo);
        hi = madd(q1, y1, hi);
        lo = madd(q2, x2, lo);
        hi = madd(q2, y2, hi);
        lo = madd(q3, x3, lo);
        hi = madd(q3, y3, hi);
        v128.store(sp, lo);
        v128.store(sp, hi, 16);
        sp += rowStride;
        q += qStride;
      }
    }
  } else {
    if (g == 1) {
      const q0 = v128.load(qs);
      const q1 = v128.load(qs, 16);
      const q2 = v128.load(qs, 32);
      const q3 = v128.load(qs, 48);
      for (let i = 0; i < n4; i += 4) {
        const o = <usize>i << 2;
        let acc = first ? f32x4.splat(0) : v128.load(scores + o);
        acc = madd(q0, v128.load(r0 + o), acc);
        acc = madd(q1, v128.load(r1 + o), acc);
        acc = madd(q2, v128.load(r2 + o), acc);
        acc = madd(q3, v128.load(r3 + o), acc);
        v128.store(scores + o, acc);
      }
      return;
    }
    for (let i = 0; i < n4; i += 4) {
      const o = <usize>i << 2;
      const x0 = v128.load(r0 + o);
      const x1 = v128.load(r1 + o);
      const x2 = v128.load(r2 + o);
      const x3 = v128.load(r3 + o);
      let sp = scores + o;
      let q = qs;
      for (let h = 0; h < g; h++) {
        let acc = first ? f32x4.splat(0) : v128.load(sp);
        acc = madd(v128.load(q), x0, acc);
        acc = madd(v128.load(q, 16), x1, acc);
        acc = madd(v128.load(q, 32), x2, acc);
        acc = madd(v128.load(q, 48), x3, acc);
        v128.store(sp, acc);
        sp += rowStride;
        q += qStride;
      }
    }
  }
}

/**
 * approxPass4 for one query head over a bf16 K^T (its 4 components stay in registers), with e = 0-3
 * more rows (r4..r6, their q after the first 4 at qs): the components left after the groups of 4
 * ride along with the last group instead of a pass of their own over the scores.
 */
function approxPassOneHeadBf16(scores: usize, qs: usize, r0: usize, r1: usize, r2: usize, r3: usize, e: i32, r4: usize, r5: usize, r6: usize,
  n4: i32, first: bool): void {
  const q0 = v128.load(qs);
  const q1 = v128.load(qs, 16);
  const q2 = v128.load(qs, 32);
  const q3 = v128.load(qs, 48);
  const q4 = e > 0 ? v128.load(qs, 64) : f32x4.splat(0);
  const q5 = e > 1 ? v128.load(qs, 80) : f32x4.splat(0);
  const q6 = e > 2 ? v128.load(qs, 96) : f32x4.splat(0);
  for (let i = 0; i < n4; i += 8) {
    const ob = <usize>i << 1;
    const sp = scores + (<usize>i << 2);
    const h0 = v128.load(r0 + ob);
    const h1 = v128.load(r1 + ob);
    const h2 = v128.load(r2 + ob);
    const h3 = v128.load(r3 + ob);
    let lo = first ? f32x4.splat(0) : v128.load(sp);
    let hi = first ? f32x4.splat(0) : v128.load(sp, 16);
    lo = madd(q0, bf16Lo(h0), lo);
    hi = madd(q0, bf16Hi(h0), hi);
    lo = madd(q1, bf16Lo(h1), lo);
    hi = madd(q1, bf16Hi(h1), hi);
    lo = madd(q2, bf16Lo(h2), lo);
    hi = madd(q2, bf16Hi(h2), hi);
    lo = madd(q3, bf16Lo(h3), lo);
    hi = madd(q3, bf16Hi(h3), hi);
    // The same branch every iteration (predicted).
    if (e > 0) {
      const h4 = v128.load(r4 + ob);
      lo = madd(q4, bf16Lo(h4), lo);
      hi = madd(q4, bf16Hi(h4), hi);
      if (e > 1) {
        const h5 = v128.load(r5 + ob);
        lo = madd(q5, bf16Lo(h5), lo);
        hi = madd(q5, bf16Hi(h5), hi);
        if (e > 2) {
          const h6 = v128.load(r6 + ob);
          lo = madd(q6, bf16Lo(h6), lo);
          hi = madd(q6, bf16Hi(h6), hi);
        }
      }
    }
    v128.store(sp, lo);
    v128.store(sp, hi, 16);
  }
}

/** approxPass4 for a single K^T row (the 1-3 components left after the groups of 4). */
function approxPass1<T>(scores: usize, L: i32, g: i32, qs: usize, qStride: usize, r0: usize, n4: i32, first: bool): void {
  const rowStride = <usize>L << 2;
  if (sizeof<T>() == 2) {
    for (let i = 0; i < n4; i += 8) {
      const h0 = v128.load(r0 + (<usize>i << 1));
      const x0 = bf16Lo(h0);
      const y0 = bf16Hi(h0);
      let sp = scores + (<usize>i << 2);
      let q = qs;
      for (let h = 0; h < g; h++) {
        const q0 = v128.load(q);
        v128.store(sp, madd(q0, x0, first ? f32x4.splat(0) : v128.load(sp)));
        v128.store(sp, madd(q0, y0, first ? f32x4.splat(0) : v128.load(sp, 16)), 16);
        sp += rowStride;
        q += qStride;
      }
    }
  } else {
    for (let i = 0; i < n4; i += 4) {
      const o = <usize>i << 2;
      const x0 = v128.load(r0 + o);
      let sp = scores + o;
      let q = qs;
      for (let h = 0; h < g; h++) {
        v128.store(sp, madd(v128.load(q), x0, first ? f32x4.splat(0) : v128.load(sp)));
        sp += rowStride;
        q += qStride;
      }
    }
  }
}

/**
 * Step 1 with K stored once: every K row's dot product with q masked to i1 (qm: [g, D] f32; times
 * 2^112 for scaled f16 reads), over the 8-component chunks that hold a component of i1
 * (chunks[0..nch); tail: the last 4 components of a d that is not a multiple of 8 hold one). The
 * row is read whole either way (r scattered components touch nearly every cache line of it). A
 * masked component adds 0 times its value: a NaN result (0 times an infinity, or a NaN in the row)
 * is recomputed component by component, which gives the unmasked sum exactly as the reference.
 */
function approxRowsMasked<T>(kp: usize, len: i32, d: i32, g: i32, qp: usize, qm: usize, D: i32, comps: usize, rr: i32,
  chunks: usize, nch: i32, tail: bool, scaled: bool, scores: usize, L: i32): void {
  const rowT = <usize>d * sizeof<T>();
  const rowBytes = <usize>d << 2;
  const d8 = d & ~7;
  const special = isSigned<T>();
  for (let i = 0; i < len; i++) {
    const kr = kp + <usize>i * rowT;
    for (let h = 0; h < g; h++) {
      const q = qm + (<usize>(h * D) << 2);
      let a = f32x4.splat(0);
      let b = f32x4.splat(0);
      for (let t = 0; t < nch; t++) {
        const c = idx(chunks, t);
        const qa = v128.load(q + (<usize>c << 2));
        const qb = v128.load(q + (<usize>c << 2), 16);
        if (sizeof<T>() == 2) {
          const hv = v128.load(kr + (<usize>c << 1));
          if (scaled) {
            a = madd(qa, widenLoScaled(hv, special), a);
            b = madd(qb, widenHiScaled(hv, special), b);
          } else {
            a = madd(qa, widenLo(hv, special), a);
            b = madd(qb, widenHi(hv, special), b);
          }
        } else {
          a = madd(qa, v128.load(kr + (<usize>c << 2)), a);
          b = madd(qb, v128.load(kr + (<usize>c << 2), 16), b);
        }
      }
      if (tail) {
        const qa = v128.load(q + (<usize>d8 << 2));
        if (sizeof<T>() == 2) a = madd(qa, scaled ? loadHalf4Scaled(kr + (<usize>d8 << 1), special) : loadHalf4(kr + (<usize>d8 << 1), special), a);
        else a = madd(qa, v128.load(kr + (<usize>d8 << 2)), a);
      }
      let s = hsum(f32x4.add(a, b));
      if (s != s) {
        const qh = qp + <usize>h * rowBytes;
        s = 0;
        for (let j = 0; j < rr; j++) {
          const c = idx(comps, j);
          s += f(qh, c) * elem<T>(kr, c);
        }
      }
      setf(scores, h * L + i, s);
    }
  }
}

/**
 * SparQ's selection and alpha for any group (selectOneHead declined, or g > 1): s_hat =
 * softmax(logits / tau) per query head, in place (one pass scales, clamps and finds the max, one
 * exponentiates; with g = 1 the exponentials are not normalised: selection only needs their order,
 * and alpha divides by the sum); the key s_hat summed over the group; its top want of [0, localStart)
 * and the local window into sel (returns the count); alpha per query head.
 */
function selectGeneral(scores: usize, len: i32, n4: i32, L: i32, g: i32, realloc: i32, invTau: usize, summed: usize, localStart: i32,
  want: i32, sel: usize, scratch: usize, hist: usize, alpha: usize): i32 {
  for (let h = 0; h < g; h++) {
    const sp = scores + (<usize>(h * L) << 2);
    padTail(sp, len, n4);
    const sv = f32x4.splat(f(invTau, h));
    // The max by pmax (one instruction), a NaN logit remembered on the side: the max is then NaN
    // (as f32x4.max would give), and so is every score.
    let m0 = f32x4.splat(-Infinity);
    let nan = f32x4.splat(0);
    for (let i = 0; i < n4; i += 4) {
      const o = <usize>i << 2;
      const v = clampLogit(f32x4.mul(v128.load(sp + o), sv));
      v128.store(sp + o, v);
      m0 = f32x4.pmax(m0, v);
      nan = v128.or(nan, f32x4.ne(v, v));
    }
    // The padding lanes were clamped to -FLT_MAX (never above the max); back to -inf so that they
    // exponentiate to 0 even when every logit is -FLT_MAX.
    padTail(sp, len, n4);
    const sum = expInPlace(sp, n4, v128.any_true(nan) ? <f32>NaN : hmax(m0));
    if (g > 1) scaleInPlace(sp, n4, <f32>(1.0 / sum));
    else setf(alpha, 0, <f32>sum);
  }
  // Selection key: s_hat summed over the group (for g = 1 the exponentials themselves).
  let key = scores;
  if (g > 1) {
    key = summed;
    memory.copy(summed, scores, <usize>n4 << 2);
    for (let h = 1; h < g; h++) {
      const sp = scores + (<usize>(h * L) << 2);
      for (let i = 0; i < n4; i += 4) {
        const o = <usize>i << 2;
        v128.store(summed + o, f32x4.add(v128.load(summed + o), v128.load(sp + o)));
      }
    }
  }
  let cnt = topkIndices(key, localStart, want, sel, scratch, hist);
  for (let i = localStart; i < len; i++) setIdx(sel, cnt++, i);
  // alpha per query head (g = 1: alpha temporarily holds the sum of the exponentials).
  for (let h = 0; h < g; h++) {
    let a: f32 = 1;
    if (realloc != 0) {
      const sp = scores + (<usize>(h * L) << 2);
      let sm: f64 = 0;
      for (let j = 0; j < cnt; j++) sm += <f64>f(sp, idx(sel, j));
      if (g == 1) sm /= <f64>f(alpha, 0);
      a = sm < 1 ? <f32>sm : <f32>1;
    }
    setf(alpha, h, a);
  }
  return cnt;
}

// @ts-ignore: decorator
@inline
function sparqTask<T>(dp: usize, d: i32, g: i32, r: i32, k: i32, l: i32, realloc: i32, transposed: i32, work0: usize): void {
  const rowBytes = <usize>d << 2;
  const rowT = <usize>d * sizeof<T>();
  const half = sizeof<T>() == 2;
  const conv = work0;
  const kp = partPtr(dp, PART_K, d);
  const vp = partPtr(dp, PART_V, d);
  const ktp = partPtr(dp, PART_KT, d);
  const ktStride = load<i32>(dp + D_CAP);
  const meanp = partPtr(dp, PART_MEAN, d);
  const len = load<i32>(dp + D_LEN);
  const qp = <usize>load<i32>(dp + D_Q);
  const op = <usize>load<i32>(dp + D_OUT);
  const L = align16(len);
  const K = align16(k);
  const D = align16(d);
  const C = L > D ? L : D;
  const n4 = (len + 3) & ~3;
  // Workspace carving (attn_sparq_work_bytes' order).
  const scores = work0 + <usize>convBytes(d);
  const summed = scores + <usize>sparqScoresBytes(L, g);
  const scratch = summed + (<usize>L << 2);
  const sel = scratch + (<usize>(3 * C) << 2);
  const hist = sel + (<usize>K << 2);
  const comps = hist + (<usize>HIST_BINS << 2);
  const absq = comps + (<usize>D << 2);
  const chunks = absq + (<usize>D << 2);
  const qsplat = chunks + (<usize>D << 2);
  const mrun = qsplat + <usize>(g * D) * 16;
  const lrun = mrun + (<usize>align16(g) << 2);
  const invTau = lrun + (<usize>align16(g) << 2);
  const alpha = invTau + (<usize>align16(g) << 2);
  const w = alpha + (<usize>align16(g) << 2);
  const sinkp = w + (<usize>(g * K) << 2);

  // i1: top-r components of |q| summed over the group.
  for (let c = 0; c < d; c++) {
    let s: f32 = 0;
    for (let h = 0; h < g; h++) s += abs(f(qp + <usize>h * rowBytes, c));
    setf(absq, c, s);
  }
  const rr = r < d ? r : d;
  topkIndices(absq, d, rr, comps, scratch, hist);
  // Temperatures; f16 reads use q * 2^112 when every component in i1 stays below the limit.
  let qmax: f32 = 0;
  for (let h = 0; h < g; h++) {
    const qh = qp + <usize>h * rowBytes;
    let full: f32 = 0;
    for (let c = 0; c < d; c++) full += abs(f(qh, c));
    let part: f32 = 0;
    for (let j = 0; j < rr; j++) {
      const a = abs(f(qh, idx(comps, j)));
      part += a;
      qmax = max(qmax, a);
    }
    const tau = full > 0 && part > 0 ? <f32>Math.sqrt(<f64>d * <f64>part / <f64>full) : <f32>1;
    setf(invTau, h, <f32>1 / tau);
  }
  // The scaled f16 forms need q * 2^112 finite for every component in i1 (K once; K^T is bf16 or f32).
  const scaled = half && qmax < SCALED_Q_LIMIT;
  const up: f32 = scaled ? TWO_112 : 1;

  // Step 1: approximate logits of every position.
  if (transposed != 0) {
    // q's components in i1 splatted, head h's at qsplat + h * rr vectors.
    for (let h = 0; h < g; h++) {
      const qh = qp + <usize>h * rowBytes;
      for (let j = 0; j < rr; j++) v128.store(qsplat + <usize>(h * rr + j) * 16, f32x4.splat(f(qh, idx(comps, j))));
    }
    const qStride = <usize>rr * 16;
    const es = <usize>sizeof<T>();
    let j0 = 0;
    if (g == 1 && sizeof<T>() == 2 && rr >= 4) {
      for (; j0 + 4 <= rr; j0 += 4) {
        const e = j0 + 8 > rr ? rr - j0 - 4 : 0;
        const r0 = ktp + <usize>(idx(comps, j0) * ktStride) * es;
        const r1 = ktp + <usize>(idx(comps, j0 + 1) * ktStride) * es;
        const r2 = ktp + <usize>(idx(comps, j0 + 2) * ktStride) * es;
        const r3 = ktp + <usize>(idx(comps, j0 + 3) * ktStride) * es;
        const r4 = e > 0 ? ktp + <usize>(idx(comps, j0 + 4) * ktStride) * es : r0;
        const r5 = e > 1 ? ktp + <usize>(idx(comps, j0 + 5) * ktStride) * es : r0;
        const r6 = e > 2 ? ktp + <usize>(idx(comps, j0 + 6) * ktStride) * es : r0;
        approxPassOneHeadBf16(scores, qsplat + <usize>j0 * 16, r0, r1, r2, r3, e, r4, r5, r6, n4, j0 == 0);
        j0 += e;
      }
    }
    for (; j0 + 4 <= rr; j0 += 4) {
      const r0 = ktp + <usize>(idx(comps, j0) * ktStride) * es;
      const r1 = ktp + <usize>(idx(comps, j0 + 1) * ktStride) * es;
      const r2 = ktp + <usize>(idx(comps, j0 + 2) * ktStride) * es;
      const r3 = ktp + <usize>(idx(comps, j0 + 3) * ktStride) * es;
      const qs = qsplat + <usize>j0 * 16;
      if (j0 == 0) approxPass4<T>(scores, L, g, qs, qStride, r0, r1, r2, r3, n4, true);
      else approxPass4<T>(scores, L, g, qs, qStride, r0, r1, r2, r3, n4, false);
    }
    for (; j0 < rr; j0++) {
      const r0 = ktp + <usize>(idx(comps, j0) * ktStride) * es;
      const qs = qsplat + <usize>j0 * 16;
      if (j0 == 0) approxPass1<T>(scores, L, g, qs, qStride, r0, n4, true);
      else approxPass1<T>(scores, L, g, qs, qStride, r0, n4, false);
    }
  } else {
    // K stored once: q masked to i1 (times 2^112 for scaled f16 reads), over the chunks that hold i1.
    const qm = qsplat;
    memory.fill(qm, 0, <usize>(g * D) << 2);
    for (let h = 0; h < g; h++) {
      for (let j = 0; j < rr; j++) {
        const c = idx(comps, j);
        setf(qm, h * D + c, f(qp + <usize>h * rowBytes, c) * up);
      }
    }
    const d8 = d & ~7;
    // comps is ascending: one pass lists each chunk once.
    let nch = 0;
    let tail = false;
    let lastChunk = -1;
    for (let j = 0; j < rr; j++) {
      const c = idx(comps, j);
      if (c >= d8) {
        tail = true;
      } else if ((c & ~7) != lastChunk) {
        lastChunk = c & ~7;
        setIdx(chunks, nch++, lastChunk);
      }
    }
    if (scaled) approxRowsMasked<T>(kp, len, d, g, qp, qm, D, comps, rr, chunks, nch, tail, true, scores, L);
    else approxRowsMasked<T>(kp, len, d, g, qp, qm, D, comps, rr, chunks, nch, tail, false, scores, L);
  }
  // i2: the local window plus the top of the rest.
  const kk = k < len ? k : len;
  const ll = l < kk ? l : kk;
  const localStart = len - ll;
  // One query head: selection and alpha in one pass over the logits (selectOneHead); the
  // general path when that declines.
  let cnt = g == 1 ? selectOneHead(scores, len, localStart, kk - ll, f(invTau, 0), realloc, sel, scratch, hist, alpha) : -1;
  if (cnt < 0) cnt = selectGeneral(scores, len, n4, L, g, realloc, invTau, summed, localStart, kk - ll, sel, scratch, hist, alpha);
  attendSelectedRows<T>(kp, vp, qp, op, sel, cnt, d, g, mrun, lrun, w, K, sinkp, conv);
  // Normalise, with alpha folded in.
  for (let h = 0; h < g; h++) {
    const fv = f32x4.splat(<f32>(<f64>f(alpha, h) / <f64>f(lrun, h)));
    const orow = op + <usize>h * rowBytes;
    for (let c = 0; c < d; c += 4) {
      const o = <usize>c << 2;
      v128.store(orow + o, f32x4.mul(v128.load(orow + o), fv));
    }
  }
  // Reallocation: the left-over mass goes to the mean of V.
  if (realloc != 0) {
    for (let h = 0; h < g; h++) {
      const rest = f32x4.splat(<f32>1 - f(alpha, h));
      const orow = op + <usize>h * rowBytes;
      for (let c = 0; c < d; c += 4) {
        const o = <usize>c << 2;
        v128.store(orow + o, madd(rest, v128.load(meanp + o), v128.load(orow + o)));
      }
    }
  }
}

// ------------------------------------------------------------------------------------------------
// Baselines: LM-Infinite, FlexGen / oracle, H2O. Same workspace as SparQ (attn_sparq_work_bytes).

/** Scales out row h by alpha / lrun[h] (alpha 1): the end of step 2 without reallocation. */
function normaliseRows(op: usize, lrun: usize, d: i32, g: i32): void {
  const rowBytes = <usize>d << 2;
  for (let h = 0; h < g; h++) {
    const fv = f32x4.splat(<f32>(1.0 / <f64>f(lrun, h)));
    const orow = op + <usize>h * rowBytes;
    for (let c = 0; c < d; c += 4) {
      const o = <usize>c << 2;
      v128.store(orow + o, f32x4.mul(v128.load(orow + o), fv));
    }
  }
}

/** LM-Infinite: the first `sinks` positions plus the most recent, min(k, len) in all. */
export function attn_lminf(desc: usize, count: i32, d: i32, g: i32, k: i32, sinks: i32, work0: usize, next: usize): void {
  const K = align16(k);
  const conv = work0;
  const work = work0 + <usize>convBytes(d);
  const mrun = work;
  const lrun = mrun + (<usize>align16(g) << 2);
  const sel = lrun + (<usize>align16(g) << 2);
  const w = sel + (<usize>K << 2);
  const sinkp = w + (<usize>(g * K) << 2);
  for (let t = claim(next, 0); t < count; t = claim(next, t + 1)) {
    const dp = desc + <usize>t * DESC_BYTES;
    const len = load<i32>(dp + D_LEN);
    const cnt = k < len ? k : len;
    const head = sinks < cnt ? sinks : cnt;
    let c = 0;
    for (let i = 0; i < head; i++) setIdx(sel, c++, i);
    for (let i = len - (cnt - head); i < len; i++) setIdx(sel, c++, i);
    const op = <usize>load<i32>(dp + D_OUT);
    const kp = partPtr(dp, PART_K, d);
    const vp = partPtr(dp, PART_V, d);
    const qp = <usize>load<i32>(dp + D_Q);
    if (!isHalf(dp)) attendSelectedRows<f32>(kp, vp, qp, op, sel, cnt, d, g, mrun, lrun, w, K, sinkp, conv);
    else if (mayHoldSpecial(dp)) attendSelectedRows<i16>(kp, vp, qp, op, sel, cnt, d, g, mrun, lrun, w, K, sinkp, conv);
    else attendSelectedRows<u16>(kp, vp, qp, op, sel, cnt, d, g, mrun, lrun, w, K, sinkp, conv);
    normaliseRows(op, lrun, d, g);
  }
}

/**
 * FlexGen (and the oracle): exact logits of every position, the top k of the softmax
 * probabilities summed over the group, then attention over those from the same logits (the K
 * rows are read once).
 */
export function attn_exact(desc: usize, count: i32, d: i32, g: i32, k: i32, maxLen: i32, work0: usize, next: usize): void {
  for (let t = claim(next, 0); t < count; t = claim(next, t + 1)) {
    const dp = desc + <usize>t * DESC_BYTES;
    if (!isHalf(dp)) exactTask<f32>(dp, d, g, k, maxLen, work0);
    else if (mayHoldSpecial(dp)) exactTask<i16>(dp, d, g, k, maxLen, work0);
    else exactTask<u16>(dp, d, g, k, maxLen, work0);
  }
}

// @ts-ignore: decorator
@inline
function exactTask<T>(dp: usize, d: i32, g: i32, k: i32, maxLen: i32, work0: usize): void {
  const rowT = <usize>d * sizeof<T>();
  const conv = work0;
  const convRow = <usize>(align16(d) << 2);
  const work = work0 + <usize>convBytes(d);
  const scale = <f32>(1.0 / Math.sqrt(<f64>d));
  const rowBytes = <usize>d << 2;
  const LM = align16(maxLen);
  const C = LM > align16(d) ? LM : align16(d);
  const K = align16(k);
  const scores = work;
  const summed = scores + <usize>sparqScoresBytes(LM, g);
  const scratch = summed + (<usize>LM << 2);
  const sel = scratch + (<usize>(3 * C) << 2);
  const hist = sel + (<usize>K << 2);
  const kp = partPtr(dp, PART_K, d);
  const vp = partPtr(dp, PART_V, d);
  const len = load<i32>(dp + D_LEN);
  const qp = <usize>load<i32>(dp + D_Q);
  const op = <usize>load<i32>(dp + D_OUT);
  const L = align16(len);
  const n4 = (len + 3) & ~3;
  // Exact logits, one K row at a time (the row stays in L1 across the group).
  for (let i = 0; i < len; i++) {
    const kr = rowF32<T>(kp + <usize>i * rowT, conv, d);
    for (let h = 0; h < g; h++) {
      let sc = dot(qp + <usize>h * rowBytes, kr, d) * scale;
      sc = min(max(sc, -FLT_MAX), FLT_MAX);
      setf(scores, h * L + i, sc);
    }
  }
  // Selection key: softmax probabilities summed over the group (g = 1: the exponentials, same order).
  for (let h = 0; h < g; h++) {
    const sp = scores + (<usize>(h * L) << 2);
    padTail(sp, len, n4);
    const mx = maxOf(sp, n4);
    const tmp = h == 0 ? summed : scratch;
    memory.copy(tmp, sp, <usize>n4 << 2);
    const sum = expInPlace(tmp, n4, mx);
    if (g > 1) scaleInPlace(tmp, n4, <f32>(1.0 / sum));
    if (h > 0) {
      for (let i = 0; i < n4; i += 4) {
        const o = <usize>i << 2;
        v128.store(summed + o, f32x4.add(v128.load(summed + o), v128.load(tmp + o)));
      }
    }
  }
  const cnt = topkIndices(summed, len, k < len ? k : len, sel, scratch, hist);
  // Softmax over the selected logits per head, then the weighted V rows, 4 at a time.
  for (let h = 0; h < g; h++) {
    const sp = scores + (<usize>(h * L) << 2);
    let m: f32 = -Infinity;
    for (let j = 0; j < cnt; j++) m = max(m, f(sp, idx(sel, j)));
    let l: f64 = 0;
    for (let j = 0; j < cnt; j++) {
      const w = f32x4.extract_lane(softmaxExp(f32x4.splat(f(sp, idx(sel, j)) - m)), 0);
      setf(scratch, j, w);
      l += <f64>w;
    }
    const inv = <f32>(1.0 / l);
    const orow = op + <usize>h * rowBytes;
    memory.fill(orow, 0, rowBytes);
    let j = 0;
    for (; j + 4 <= cnt; j += 4) {
      const v0 = rowF32<T>(vp + <usize>idx(sel, j) * rowT, conv, d);
      const v1 = rowF32<T>(vp + <usize>idx(sel, j + 1) * rowT, conv + convRow, d);
      const v2 = rowF32<T>(vp + <usize>idx(sel, j + 2) * rowT, conv + 2 * convRow, d);
      const v3 = rowF32<T>(vp + <usize>idx(sel, j + 3) * rowT, conv + 3 * convRow, d);
      const w0 = f32x4.splat(f(scratch, j) * inv);
      const w1 = f32x4.splat(f(scratch, j + 1) * inv);
      const w2 = f32x4.splat(f(scratch, j + 2) * inv);
      const w3 = f32x4.splat(f(scratch, j + 3) * inv);
      axpy4(orow, w0, w1, w2, w3, v0, v1, v2, v3, d);
    }
    for (; j < cnt; j++) {
      const vr = rowF32<T>(vp + <usize>idx(sel, j) * rowT, conv, d);
      const w = f32x4.splat(f(scratch, j) * inv);
      for (let c = 0; c < d; c += 4) {
        const o = <usize>c << 2;
        v128.store(orow + o, madd(w, v128.load(vr + o), v128.load(orow + o)));
      }
    }
  }
}

/**
 * H2O: keeps the last l positions and the top (k - l) live positions by accumulated score
 * (-inf = evicted), attends over them, then one pass writes every position's score: kept ones
 * gain this step's attention (the mean over the group), the others are evicted.
 */
export function attn_h2o(desc: usize, count: i32, d: i32, g: i32, k: i32, l: i32, maxLen: i32, work0: usize, next: usize): void {
  const conv = work0;
  const work = work0 + <usize>convBytes(d);
  const LM = align16(maxLen);
  const C = LM > align16(d) ? LM : align16(d);
  const K = align16(k);
  const scratch = work;
  const sel = scratch + (<usize>(3 * C) << 2);
  const hist = sel + (<usize>K << 2);
  const mrun = hist + (<usize>HIST_BINS << 2);
  const lrun = mrun + (<usize>align16(g) << 2);
  const w = lrun + (<usize>align16(g) << 2);
  const sinkp = w + (<usize>(g * K) << 2);
  for (let t = claim(next, 0); t < count; t = claim(next, t + 1)) {
    const dp = desc + <usize>t * DESC_BYTES;
    const len = load<i32>(dp + D_LEN);
    const sp = <usize>load<i32>(dp + D_SCORES);
    const op = <usize>load<i32>(dp + D_OUT);
    const kk = k < len ? k : len;
    const lw = l < k ? l : k;
    const localCount = lw < len ? lw : len;
    const localStart = len - localCount;
    let live = 0;
    for (let i = 0; i < localStart; i++) if (f(sp, i) != -Infinity) live++;
    let want = kk - localCount;
    if (want > live) want = live;
    let cnt = topkIndices(sp, localStart, want, sel, scratch, hist);
    for (let i = localStart; i < len; i++) setIdx(sel, cnt++, i);
    const kp = partPtr(dp, PART_K, d);
    const vp = partPtr(dp, PART_V, d);
    const qp = <usize>load<i32>(dp + D_Q);
    if (!isHalf(dp)) attendSelectedRows<f32>(kp, vp, qp, op, sel, cnt, d, g, mrun, lrun, w, K, sinkp, conv);
    else if (mayHoldSpecial(dp)) attendSelectedRows<i16>(kp, vp, qp, op, sel, cnt, d, g, mrun, lrun, w, K, sinkp, conv);
    else attendSelectedRows<u16>(kp, vp, qp, op, sel, cnt, d, g, mrun, lrun, w, K, sinkp, conv);
    normaliseRows(op, lrun, d, g);
    // Score update: kept positions gain the mean over the group of their attention weights.
    const invG = <f32>1 / <f32>g;
    let j = 0;
    for (let i = 0; i < len; i++) {
      if (j < cnt && idx(sel, j) == i) {
        let gain: f32 = 0;
        for (let h = 0; h < g; h++) gain += f(w, h * K + j) / f(lrun, h);
        setf(sp, i, f(sp, i) + gain * invG);
        j++;
      } else {
        setf(sp, i, -Infinity);
      }
    }
  }
}

/** Bytes of work for attn_topk over n values. */
export function attn_topk_work_bytes(n: i32): i32 {
  return (align16(n) << 2) * 3 + (HIST_BINS << 2) + 64;
}

/**
 * The selection used by SparQ, exported on its own (tests, and policies that select in JS):
 * ascending indices of the `want` largest of vals[0..n) (no NaN) into out; returns the count.
 */
export function attn_topk(vals: usize, n: i32, want: i32, out: usize, work: usize): i32 {
  return topkIndices(vals, n, want, out, work, work + (<usize>(3 * align16(n)) << 2));
}
