// Products with weights kept in their GGUF format (wrapped by src/backend/wasm/quant.ts; plain twin
// in src/backend/reference/quant.ts): y[t, r] = Σ_c W[r, c] x[t, c] with W [rows, cols] stored row
// after row, `rowBytes` bytes a row, as ggml lays it out:
//   Q8_0: blocks of 32, f16 scale d then 32 int8 q; w = d q
//   Q4_0: blocks of 32, f16 scale d then 16 bytes; element j < 16 is the low nibble of byte j,
//         element j + 16 the high nibble; w = d (nibble - 8)
//   F16, BF16: one half per element.
//
// Q8_0 and Q4_0 (q_matmul_q) take the activations quantised as llama.cpp does for its dot products
// (q_quantize_act: per block of 32, an f32 scale dx = max|x| / 127 and q = round(x / dx) in
// [-127, 127]), so a block's dot product is an exact integer sum, Σ_b dw dx Σ_j qw qx: 8-bit
// weights meet 16-bit (or, relaxed, 8-bit) activations in i32x4.dot_i16x8_s (relaxed:
// i16x8.relaxed_dot_i8x16_i7x16_s with Q4_0's nibbles, 0..15, as the 7-bit operand; its -8
// offset is -8 Σ qx, precomputed per block). Both builds compute the same integer sums, so they
// differ only in the f32 sum over blocks. Decoding (n == 1) streams one row at a time (dotQ8Row,
// dotQ4Row: four rows side by side are four short streams the prefetcher does not follow);
// otherwise four rows run together and share the activation loads;
// their four block sums are reduced into one vector (relaxed Q4_0: in i16 lanes, which cannot
// overflow, widened once), scaled by the four rows' dw (converted 4 at a time by a finite-only
// conversion of three instructions; a tile whose scales hold an infinity or NaN is redone with the
// exact one) and accumulated as one f32x4. A block of x holding NaN or an infinity makes dx NaN or
// infinite, so every output that reads it is NaN (the reference computes the same).
//
// F16 and BF16 (q_matmul) keep x in f32: decode (n == 1) streams one row at a time against x split
// once into even and odd elements (the order the in-register conversion yields 8 halves in);
// prefill (n > 1) dequantises a tile of 4 rows into the caller's scratch (16 cols bytes, stays in
// L1/L2) and multiplies every token with it (gemm_nt_small). The threads of a call take rows in
// chunks from a shared counter (tasks.ts), or one thread runs them all.

import { gemm_nt_small } from './gemm';
import { claim } from './tasks';
import { madd, hsum } from './vmath';

export const QF_Q8_0: i32 = 0;
export const QF_Q4_0: i32 = 1;
export const QF_F16: i32 = 2;
export const QF_BF16: i32 = 3;

const HALF_MASK: i32 = <i32>0x8fffe000;
/** 2^112 as f32 bits: rebiases an f16 exponent placed in an f32. */
const HALF_SCALE: i32 = 0x77800000;
const SPECIAL_HALF: i32 = <i32>0xf8000000;

// @ts-ignore: decorator
@inline
function anySpecial(top: v128): bool {
  return v128.any_true(i32x4.ge_u(top, i32x4.splat(SPECIAL_HALF)));
}

// 0, from a count the optimisers cannot prove non-negative. The hot loops take their v128
// constants as splats of (constant | opaqueZero(n)), computed once before the loop: V8 keeps such a
// value in a register or a stack slot, whereas a constant v128 is rematerialised at every use
// inside the loop (3 instructions each).
// @ts-ignore: decorator
@inline
function opaqueZero(n: i32): i32 {
  return <i32>(<u32>n >>> 31);
}


// f16 bits (in the low 16 of each i32 lane) to f32: the exponent is rebiased by a multiply by 2^112,
// which also makes subnormals exact; infinities and NaNs get the all-ones exponent.
// @ts-ignore: decorator
@inline
function halfToF32x4(h: v128): v128 {
  const mag = v128.and(h, i32x4.splat(0x7fff));
  const scaled = f32x4.mul(i32x4.shl(mag, 13), f32x4.splat(5.192296858534828e+33));
  const special = i32x4.ge_s(mag, i32x4.splat(0x7c00));
  const inf = v128.or(i32x4.shl(mag, 13), i32x4.splat(0x7f800000));
  const sign = i32x4.shl(v128.and(h, i32x4.splat(0x8000)), 16);
  return v128.or(v128.bitselect(inf, scaled, special), sign);
}

// @ts-ignore: decorator
@inline
function halfToF32(h: u32): f32 {
  return f32x4.extract_lane(halfToF32x4(i32x4.splat(<i32>h)), 0);
}

// @ts-ignore: decorator
@inline
function f16Group(p: usize): v128 {
  return halfToF32x4(i32x4.extend_low_i16x8_u(v128.load64_zero(p)));
}

// The even (0, 2, 4, 6) and odd elements of 8 finite halves at v as f32: each half's sign and
// 15 magnitude bits are moved to bits 31 and 27..13 (an arithmetic shift, then the copies of the
// sign in bits 30..28 cleared), and the multiply by 2^112 rebiases the exponent (subnormals exact).
// @ts-ignore: decorator
@inline
function f16Even(v: v128): v128 {
  return f32x4.mul(v128.and(i32x4.shr_s(i32x4.shl(v, 16), 3), i32x4.splat(<i32>0x8fffe000)), f32x4.splat(5.192296858534828e+33));
}

// @ts-ignore: decorator
@inline
function f16Odd(v: v128): v128 {
  return f32x4.mul(v128.and(i32x4.shr_s(v, 3), i32x4.splat(<i32>0x8fffe000)), f32x4.splat(5.192296858534828e+33));
}

// @ts-ignore: decorator
@inline
function bf16Group(p: usize): v128 {
  return i32x4.shl(i32x4.extend_low_i16x8_u(v128.load64_zero(p)), 16);
}

// One F16 / BF16 weight row · x, dequantising in registers.
function rowDot(format: i32, w: usize, x: usize, cols: i32): f32 {
  let a0 = f32x4.splat(0);
  let a1 = f32x4.splat(0);
  const c8 = cols & ~7;
  let c = 0;
  if (format == QF_F16) {
    // 8 halves per load, split into the even and odd elements (x shuffled to match); the cheap
    // conversion is exact for finite halves, and a row holding an infinity or NaN is redone with
    // the general one (its magnitude bits, shifted left by one, reach 0xf800).
    let top = i16x8.splat(0);
    for (; c < c8; c += 8) {
      const v = v128.load(w + (<usize>c << 1));
      top = i16x8.max_u(top, i16x8.shl(v, 1));
      const x0 = v128.load(x + (<usize>c << 2));
      const x1 = v128.load(x + (<usize>c << 2), 16);
      a0 = madd(f16Even(v), v128.shuffle<f32>(x0, x1, 0, 2, 4, 6), a0);
      a1 = madd(f16Odd(v), v128.shuffle<f32>(x0, x1, 1, 3, 5, 7), a1);
    }
    if (v128.any_true(i16x8.ge_u(top, i16x8.splat(<i16>0xf800)))) {
      a0 = f32x4.splat(0);
      a1 = f32x4.splat(0);
      for (let e = 0; e < c8; e += 8) {
        a0 = madd(f16Group(w + (<usize>e << 1)), v128.load(x + (<usize>e << 2)), a0);
        a1 = madd(f16Group(w + (<usize>e << 1) + 8), v128.load(x + (<usize>e << 2), 16), a1);
      }
    }
  } else {
    for (; c < c8; c += 8) {
      const v = v128.load(w + (<usize>c << 1));
      const x0 = v128.load(x + (<usize>c << 2));
      const x1 = v128.load(x + (<usize>c << 2), 16);
      a0 = madd(i32x4.shl(v, 16), v128.shuffle<f32>(x0, x1, 0, 2, 4, 6), a0);
      a1 = madd(v128.and(v, i32x4.splat(<i32>0xffff0000)), v128.shuffle<f32>(x0, x1, 1, 3, 5, 7), a1);
    }
  }
  let s = hsum(f32x4.add(a0, a1));
  for (; c < cols; c++) {
    const h = <u32>load<u16>(w + (<usize>c << 1));
    const v = format == QF_F16 ? halfToF32(h) : reinterpret<f32>(h << 16);
    s += v * load<f32>(x + (<usize>c << 2));
  }
  return s;
}

// F16 / BF16 row w into dst [cols] f32.
function dequantRow(format: i32, w: usize, dst: usize, cols: i32): void {
  const c4 = cols & ~3;
  let c = 0;
  for (; c < c4; c += 4) {
    const p = w + (<usize>c << 1);
    v128.store(dst + (<usize>c << 2), format == QF_F16 ? f16Group(p) : bf16Group(p));
  }
  for (; c < cols; c++) {
    const h = <u32>load<u16>(w + (<usize>c << 1));
    store<f32>(dst + (<usize>c << 2), format == QF_F16 ? halfToF32(h) : reinterpret<f32>(h << 16));
  }
}

// x [c8] split per 8 columns into the even then the odd elements (the order f16Even / f16Odd and
// the BF16 split produce), so that the decode loop loads x without shuffles, each multiplied
// by `scale` (a power of two, so exactly; see dotHalfRowBody). Returns the largest magnitude's bits
// (an infinity or NaN counts as larger than any finite value).
function splitEvenOdd(x: usize, dst: usize, c8: i32, scale: f32): u32 {
  const s = f32x4.splat(scale);
  let top = i32x4.splat(0);
  for (let c = 0; c < c8; c += 8) {
    const x0 = v128.load(x + (<usize>c << 2));
    const x1 = v128.load(x + (<usize>c << 2), 16);
    top = i32x4.max_u(top, i32x4.max_u(v128.and(x0, i32x4.splat(0x7fffffff)), v128.and(x1, i32x4.splat(0x7fffffff))));
    v128.store(dst + (<usize>c << 2), f32x4.mul(v128.shuffle<f32>(x0, x1, 0, 2, 4, 6), s));
    v128.store(dst + (<usize>c << 2), f32x4.mul(v128.shuffle<f32>(x0, x1, 1, 3, 5, 7), s), 16);
  }
  return max(max(i32x4.extract_lane(top, 0), i32x4.extract_lane(top, 1)), max(i32x4.extract_lane(top, 2), i32x4.extract_lane(top, 3)));
}

// Set by dotHalfRowBody when a row holds an infinity or NaN (per instance, so per thread).
let specialHalves = false;

// How dotHalfRowBody reads halves (xs = x split by splitEvenOdd):
// F16: each half's sign and magnitude bits are moved into place (as f16Even / f16Odd) but the
// exponent is not rebiased: the float read is w 2^-112 exactly (subnormal halves included). The
// caller splits x scaled by 2^64 (x has no magnitude of 2^62 or more), so each product is
// w x 2^-48, and the sum, scaled by 2^48, is the sum of the w x: scaling by powers of two changes no
// rounding while the partial sums stay normal floats (|Σ| >= 2^-78; below that the absolute error
// is under 2^-101). Two multiplies per 8 weights fewer than the rebiasing conversion. An infinity
// or NaN weight would come out finite and wrong: the maximum of (h << 1) over the rows is tracked,
// and specialHalves set when it reaches 0xf800 (the caller redoes the row with rowDot).
// BF16: a half is the top 16 bits of its f32, read in place.
//
// One F16 / BF16 row · x over the first c8 columns, reading the row alone from start to end: four
// rows side by side (as this kernel once did, to share the loads of x) are four short streams the
// hardware prefetcher does not follow (that tile read DRAM at ~10 GB/s on one thread, a plain
// stream 27). 16 halves per iteration into four accumulators.
// @ts-ignore: decorator
@inline
function dotHalfRowBody(format: i32, w: usize, xs: usize, c8: i32): f32 {
  const z = opaqueZero(c8);
  const mask = i32x4.splat(HALF_MASK | z);
  const hiMask = i32x4.splat(<i32>0xffff0000 | z);
  let a0 = f32x4.splat(0);
  let a1 = f32x4.splat(0);
  let a2 = f32x4.splat(0);
  let a3 = f32x4.splat(0);
  let top = i16x8.splat(0);
  let p = w;
  let xp = xs;
  const end = xs + (<usize>c8 << 2);
  const end16 = xs + (<usize>(c8 & ~15) << 2);
  for (; xp < end16; xp += 64) {
    const v0 = v128.load(p);
    const v1 = v128.load(p, 16);
    if (format == QF_F16) {
      top = i16x8.max_u(top, i16x8.max_u(i16x8.shl(v0, 1), i16x8.shl(v1, 1)));
      a0 = madd(v128.and(i32x4.shr_s(i32x4.shl(v0, 16), 3), mask), v128.load(xp), a0);
      a1 = madd(v128.and(i32x4.shr_s(v0, 3), mask), v128.load(xp, 16), a1);
      a2 = madd(v128.and(i32x4.shr_s(i32x4.shl(v1, 16), 3), mask), v128.load(xp, 32), a2);
      a3 = madd(v128.and(i32x4.shr_s(v1, 3), mask), v128.load(xp, 48), a3);
    } else {
      a0 = madd(i32x4.shl(v0, 16), v128.load(xp), a0);
      a1 = madd(v128.and(v0, hiMask), v128.load(xp, 16), a1);
      a2 = madd(i32x4.shl(v1, 16), v128.load(xp, 32), a2);
      a3 = madd(v128.and(v1, hiMask), v128.load(xp, 48), a3);
    }
    p += 32;
  }
  if (xp < end) {
    const v0 = v128.load(p);
    if (format == QF_F16) {
      top = i16x8.max_u(top, i16x8.shl(v0, 1));
      a0 = madd(v128.and(i32x4.shr_s(i32x4.shl(v0, 16), 3), mask), v128.load(xp), a0);
      a1 = madd(v128.and(i32x4.shr_s(v0, 3), mask), v128.load(xp, 16), a1);
    } else {
      a0 = madd(i32x4.shl(v0, 16), v128.load(xp), a0);
      a1 = madd(v128.and(v0, hiMask), v128.load(xp, 16), a1);
    }
  }
  const sum = hsum(f32x4.add(f32x4.add(a0, a1), f32x4.add(a2, a3)));
  if (format != QF_F16) return sum;
  if (v128.any_true(i16x8.ge_u(top, i16x8.splat(<i16>0xf800)))) specialHalves = true;
  return sum * <f32>2.81474976710656e14; // 2^48
}

function dotF16Row(w: usize, xs: usize, c8: i32): f32 {
  return dotHalfRowBody(QF_F16, w, xs, c8);
}

function dotBF16Row(w: usize, xs: usize, c8: i32): f32 {
  return dotHalfRowBody(QF_BF16, w, xs, c8);
}

// The tail columns [c8, cols) of row w · x, in order.
function tailDot(format: i32, w: usize, x: usize, c8: i32, cols: i32): f32 {
  let s: f32 = 0;
  for (let c = c8; c < cols; c++) {
    const h = <u32>load<u16>(w + (<usize>c << 1));
    const v = format == QF_F16 ? halfToF32(h) : reinterpret<f32>(h << 16);
    s += v * load<f32>(x + (<usize>c << 2));
  }
  return s;
}

/** Bytes of scratch one part of q_matmul needs (a tile of 4 dequantised rows, or x split for decode). */
export function q_matmul_work_bytes(cols: i32): i32 {
  return cols << 4;
}

/**
 * F16 / BF16: y[t * ldy + r] = W[r, :] · x[t * cols, :] for rows r < rows, tokens t < n. `work`:
 * q_matmul_work_bytes(cols) bytes owned by this thread. With next != 0 the rows are taken `chunk`
 * at a time (a multiple of 4) from the call's shared counter (see tasks.ts); with next == 0 this
 * thread runs them all.
 */
export function q_matmul(rows: i32, n: i32, cols: i32, format: i32, w: usize, rowBytes: i32,
  x: usize, y: usize, ldy: i32, work: usize, chunk: i32, next: usize): void {
  if (rows <= 0 || n <= 0) return;
  const size = next != 0 ? chunk : rows;
  let c = claim(next, 0);
  if (c * size >= rows) return;
  // Decode: x split once per thread into even and odd elements; F16 reads it scaled by 2^64 (see
  // dotHalfRowBody); an x with a magnitude of 2^62 or more, an infinity or a NaN takes rowDot.
  const c8 = cols & ~7;
  let fast = false;
  if (n == 1) {
    const prescale: f32 = format == QF_F16 ? <f32>1.8446744073709552e19 : 1; // 2^64
    const xTop = splitEvenOdd(x, work, c8, prescale);
    fast = format != QF_F16 || xTop < 0x5e800000;
  }
  for (; c * size < rows; c = claim(next, c + 1)) {
    const a = c * size;
    const b = min(rows, a + size);
    if (n == 1) halfDecodeRows(a, b, cols, c8, format, w, rowBytes, x, y, work, fast);
    else halfPrefillRows(a, b, n, cols, format, w, rowBytes, x, y, ldy, work);
  }
}

// Decode rows [a, b) one at a time (dotHalfRowBody) against xs = x split by splitEvenOdd at work.
function halfDecodeRows(a: i32, b: i32, cols: i32, c8: i32, format: i32, w: usize, rowBytes: i32, x: usize, y: usize,
  work: usize, fast: bool): void {
  const rb = <usize>rowBytes;
  let r = a;
  for (; fast && r < b; r++) {
    const wr = w + <usize>r * rb;
    specialHalves = false;
    let out = format == QF_F16 ? dotF16Row(wr, work, c8) : dotBF16Row(wr, work, c8);
    if (specialHalves) out = rowDot(format, wr, x, cols);
    else if (c8 < cols) out += tailDot(format, wr, x, c8, cols);
    store<f32>(y + (<usize>r << 2), out);
  }
  for (; r < b; r++) store<f32>(y + (<usize>r << 2), rowDot(format, w + <usize>r * rb, x, cols));
}

// Prefill rows [a, b): a tile of 4 rows dequantised into work, every token against it.
function halfPrefillRows(a: i32, b: i32, n: i32, cols: i32, format: i32, w: usize, rowBytes: i32, x: usize, y: usize,
  ldy: i32, work: usize): void {
  const rb = <usize>rowBytes;
  const xStride = <usize>cols << 2;
  for (let r = a; r < b; r += 4) {
    const rows = min(4, b - r);
    for (let i = 0; i < rows; i++) dequantRow(format, w + <usize>(r + i) * rb, work + <usize>i * xStride, cols);
    // The tokens against the 4 dequantised rows with the dense small-m kernel (4x2 register tiles).
    gemm_nt_small(n, rows, cols, x, cols, work, cols, y + (<usize>r << 2), ldy, 0);
  }
}

// ---------------------------------------------------------------------------------------------
// Q8_0 / Q4_0 against quantised activations.

// @ts-ignore: decorator
@inline
function align16(p: usize): usize {
  return (p + 15) & ~(<usize>15);
}

// Regions of the quantised activations of n tokens at `base` (16-byte aligned): scales f32
// [n * nb], Q4_0 offsets i32 [n * nb] (-8 Σ qx per block), q as i8 [n * cols] and as
// i16 [n * cols].
// @ts-ignore: decorator
@inline
function actBias(base: usize, n: i32, nb: i32): usize {
  return align16(base + (<usize>(n * nb) << 2));
}

// @ts-ignore: decorator
@inline
function actQ8(base: usize, n: i32, nb: i32): usize {
  return align16(actBias(base, n, nb) + (<usize>(n * nb) << 2));
}

// @ts-ignore: decorator
@inline
function actQ16(base: usize, n: i32, nb: i32, cols: i32): usize {
  return align16(actQ8(base, n, nb) + <usize>n * <usize>cols);
}

/** Bytes q_quantize_act writes for n tokens of cols (a multiple of 32) elements, from a 16-byte aligned base. */
export function q_act_bytes(n: i32, cols: i32): i32 {
  const nb = cols >> 5;
  return <i32>actQ16(0, n, nb, cols) + ((n * cols) << 1);
}

// round-half-even(x * inv) clamped to [-127, 127] (the clamp only acts when 1 / d overflowed, for a
// block whose largest magnitude is below ~2^-120); NaN -> 0.
// @ts-ignore: decorator
@inline
function quantize4(x: v128, inv: v128): v128 {
  const q = i32x4.trunc_sat_f32x4_s(f32x4.nearest(f32x4.mul(x, inv)));
  return i32x4.max_s(i32x4.min_s(q, i32x4.splat(127)), i32x4.splat(-127));
}

/** Quantises tokens [t0, t0 + count) of x [n, cols] (f32) into the regions at base (see actBias). */
export function q_quantize_act(t0: i32, count: i32, n: i32, cols: i32, x: usize, base: usize): void {
  const nb = cols >> 5;
  const bias = actBias(base, n, nb);
  const q8 = actQ8(base, n, nb);
  const q16 = actQ16(base, n, nb, cols);
  for (let t = t0; t < t0 + count; t++) {
    for (let b = 0; b < nb; b++) {
      const i = t * nb + b;
      const e = <usize>t * <usize>cols + (<usize>b << 5);
      const xp = x + (e << 2);
      // f32x4.max propagates NaN, so a NaN anywhere in the block makes the scale NaN.
      let m = f32x4.abs(v128.load(xp));
      for (let k = 1; k < 8; k++) m = f32x4.max(m, f32x4.abs(v128.load(xp + (<usize>k << 4))));
      const amax = max(max(f32x4.extract_lane(m, 0), f32x4.extract_lane(m, 1)), max(f32x4.extract_lane(m, 2), f32x4.extract_lane(m, 3)));
      const d: f32 = amax / 127;
      const inv = f32x4.splat(d != 0 ? <f32>1 / d : 0);
      store<f32>(base + (<usize>i << 2), d);
      let sum = i32x4.splat(0);
      for (let k = 0; k < 8; k += 2) {
        const a = quantize4(v128.load(xp + (<usize>k << 4)), inv);
        const c = quantize4(v128.load(xp + (<usize>k << 4), 16), inv);
        sum = i32x4.add(sum, i32x4.add(a, c));
        const h = i16x8.narrow_i32x4_s(a, c);
        v128.store(q16 + ((e + (<usize>k << 2)) << 1), h);
        v128.store64_lane(q8 + e + (<usize>k << 2), i8x16.narrow_i16x8_s(h, h), 0);
      }
      const total = i32x4.extract_lane(sum, 0) + i32x4.extract_lane(sum, 1) + i32x4.extract_lane(sum, 2) + i32x4.extract_lane(sum, 3);
      store<i32>(bias + (<usize>i << 2), -8 * total);
    }
  }
}

// [Σ a, Σ b, Σ c, Σ d] of four i32x4.
// @ts-ignore: decorator
@inline
function reduce4(a: v128, b: v128, c: v128, d: v128): v128 {
  const ab = i32x4.add(v128.shuffle<i32>(a, b, 0, 4, 1, 5), v128.shuffle<i32>(a, b, 2, 6, 3, 7));
  const cd = i32x4.add(v128.shuffle<i32>(c, d, 0, 4, 1, 5), v128.shuffle<i32>(c, d, 2, 6, 3, 7));
  return i32x4.add(v128.shuffle<i32>(ab, cd, 0, 1, 4, 5), v128.shuffle<i32>(ab, cd, 2, 3, 6, 7));
}

// The f16 scales of block p of four rows (p0..p3 at the block's first byte) as f32x4, exactly
// (infinities and NaNs included).
// @ts-ignore: decorator
@inline
function scales4(p0: usize, p1: usize, p2: usize, p3: usize): v128 {
  let h = i32x4.splat(0);
  h = v128.load16_lane(p0, h, 0);
  h = v128.load16_lane(p1, h, 2);
  h = v128.load16_lane(p2, h, 4);
  h = v128.load16_lane(p3, h, 6);
  return halfToF32x4(h);
}

// The same scales' bits in the high half of each i32 lane (h << 16), for the fast conversion.
// @ts-ignore: decorator
@inline
function scaleBits4(p0: usize, p1: usize, p2: usize, p3: usize): v128 {
  let h = i32x4.splat(0);
  h = v128.load16_lane(p0, h, 1);
  h = v128.load16_lane(p1, h, 3);
  h = v128.load16_lane(p2, h, 5);
  return v128.load16_lane(p3, h, 7);
}

// Finite halves held as h << 16 to f32 (as f16Even: exact, subnormals included); an infinity or NaN
// comes out finite and wrong, so callers track (h << 1) with i32x4.max_u and redo a tile whose
// maximum reaches 0xf8000000 (SPECIAL_HALF) with scales4. mask and scale are HALF_MASK and
// HALF_SCALE splatted (see opaqueZero).
// @ts-ignore: decorator
@inline
function finiteHighHalfToF32(h: v128, mask: v128, scale: v128): v128 {
  return f32x4.mul(v128.and(i32x4.shr_s(h, 3), mask), scale);
}

// The hot loops below advance one pointer per row and address the fields of a block with
// immediate offsets, which V8 folds into the instructions' addressing (an address computed as
// p + 2 costs an instruction per load).

// @ts-ignore: decorator
@inline
function q8Block(p: usize, x0: v128, x1: v128, x2: v128, x3: v128): v128 {
  let s = i32x4.dot_i16x8_s(v128.load8x8_s(p, 2), x0);
  s = i32x4.add(s, i32x4.dot_i16x8_s(v128.load8x8_s(p, 10), x1));
  s = i32x4.add(s, i32x4.dot_i16x8_s(v128.load8x8_s(p, 18), x2));
  return i32x4.add(s, i32x4.dot_i16x8_s(v128.load8x8_s(p, 26), x3));
}

// Q4_0, plain SIMD: nibbles widened to i16 (unsigned), against 16-bit activations. The high
// nibbles are shifted in 16-bit lanes and masked (i8x16.shr_u has no x64 instruction).
// @ts-ignore: decorator
@inline
function q4Block16(p: usize, nibble: v128, bias: v128, x0: v128, x1: v128, x2: v128, x3: v128): v128 {
  const v = v128.load(p, 2);
  const lo = v128.and(v, nibble);
  const hi = v128.and(i16x8.shr_u(v, 4), nibble);
  let s = i32x4.add(bias, i32x4.dot_i16x8_s(i16x8.extend_low_i8x16_u(lo), x0));
  s = i32x4.add(s, i32x4.dot_i16x8_s(i16x8.extend_high_i8x16_u(lo), x1));
  s = i32x4.add(s, i32x4.dot_i16x8_s(i16x8.extend_low_i8x16_u(hi), x2));
  return i32x4.add(s, i32x4.dot_i16x8_s(i16x8.extend_high_i8x16_u(hi), x3));
}

// Q4_0, relaxed SIMD: the nibbles (0..15) are the 7-bit operand of the i8 dot product. (Node 20's
// V8 11.3 gets i32x4.relaxed_dot_i8x16_i7x16_add_s wrong: it ignores the addend and doubles the
// sum; the i16x8 form is right, so that one is used.) Returns the block's 8 pair sums as i16 (each
// at most 2 * 2 * 15 * 127 = 7620 in magnitude); q4Reduce4 adds them up.
// @ts-ignore: decorator
@inline
function q4Pairs8(p: usize, nibble: v128, x0: v128, x1: v128): v128 {
  const v = v128.load(p, 2);
  const lo = v128.and(v, nibble);
  const hi = v128.and(i16x8.shr_u(v, 4), nibble);
  return i16x8.add(i16x8.relaxed_dot_i8x16_i7x16_s(x0, lo), i16x8.relaxed_dot_i8x16_i7x16_s(x1, hi));
}

// [Σ a, Σ b, Σ c, Σ d] (i32) of four rows' q4Pairs8 (i16x8): halves are added in i16 twice (at
// most 4 * 7620 = 30480 per lane, no overflow), then the last pairs widen to i32 (a dot product
// with `ones`, i16x8 1s).
// @ts-ignore: decorator
@inline
function q4Reduce4(a: v128, b: v128, c: v128, d: v128, ones: v128): v128 {
  const ab = i16x8.add(v128.shuffle<i64>(a, b, 0, 2), v128.shuffle<i64>(a, b, 1, 3));
  const cd = i16x8.add(v128.shuffle<i64>(c, d, 0, 2), v128.shuffle<i64>(c, d, 1, 3));
  return i32x4.dot_i16x8_s(i16x8.add(v128.shuffle<i32>(ab, cd, 0, 2, 4, 6), v128.shuffle<i32>(ab, cd, 1, 3, 5, 7)), ones);
}

// Set by dotQ8x4 / dotQ4x4 when a tile's weight scales hold an infinity or NaN (the fast scale
// conversion is wrong for those); the caller then runs the exact variant. Per instance, so per thread.
let specialScales = false;

// y for rows w0..w3 (row pointers; repeats allowed) against one token's quantised activations: sc
// its block scales, q16 its i16 values. exact: convert the weight scales with halfToF32x4 (any
// half) instead of the finite-only conversion.
// @ts-ignore: decorator
@inline
function dotQ8x4Body(w0: usize, w1: usize, w2: usize, w3: usize, nb: i32, sc: usize, q16: usize, exact: bool): v128 {
  const z = opaqueZero(nb);
  const mask = i32x4.splat(HALF_MASK | z);
  const scale = i32x4.splat(HALF_SCALE | z);
  let acc = f32x4.splat(0);
  let top = i32x4.splat(0);
  let p0 = w0;
  let p1 = w1;
  let p2 = w2;
  let p3 = w3;
  let xq = q16;
  const end = sc + (<usize>nb << 2);
  for (let s = sc; s < end; s += 4) {
    const x0 = v128.load(xq);
    const x1 = v128.load(xq, 16);
    const x2 = v128.load(xq, 32);
    const x3 = v128.load(xq, 48);
    const sum = reduce4(q8Block(p0, x0, x1, x2, x3), q8Block(p1, x0, x1, x2, x3), q8Block(p2, x0, x1, x2, x3), q8Block(p3, x0, x1, x2, x3));
    let dw: v128;
    if (exact) {
      dw = scales4(p0, p1, p2, p3);
    } else {
      const h = scaleBits4(p0, p1, p2, p3);
      top = i32x4.max_u(top, i32x4.shl(h, 1));
      dw = finiteHighHalfToF32(h, mask, scale);
    }
    acc = madd(f32x4.convert_i32x4_s(sum), f32x4.mul(dw, v128.load32_splat(s)), acc);
    p0 += 34;
    p1 += 34;
    p2 += 34;
    p3 += 34;
    xq += 64;
  }
  if (!exact && anySpecial(top)) specialScales = true;
  return acc;
}

function dotQ8x4(w0: usize, w1: usize, w2: usize, w3: usize, nb: i32, sc: usize, q16: usize): v128 {
  return dotQ8x4Body(w0, w1, w2, w3, nb, sc, q16, false);
}

function dotQ8x4Exact(w0: usize, w1: usize, w2: usize, w3: usize, nb: i32, sc: usize, q16: usize): v128 {
  return dotQ8x4Body(w0, w1, w2, w3, nb, sc, q16, true);
}

// One Q8_0 block of one row (at p) against the token's i16 activations of that block (at xq).
// @ts-ignore: decorator
@inline
function q8BlockX(p: usize, xq: usize): v128 {
  return q8Block(p, v128.load(xq), v128.load(xq, 16), v128.load(xq, 32), v128.load(xq, 48));
}

// y of one Q8_0 row (at w) against one token (sc its block scales, q16 its i16 values), reading the
// row alone from start to end. Decode (n == 1) streams every weight from DRAM once, and four rows
// read side by side are four short streams (a 1024-column row is 17 cache lines) that the hardware
// prefetcher does not follow: that tile kernel read 7 GB/s from DRAM on one thread, against 27 for
// a plain stream (the f32 gemv streams rows one at a time for the same reason). Four blocks per
// iteration share one conversion of their four scales; a row whose scales hold an infinity or NaN
// sets specialScales (the caller redoes it exactly).
function dotQ8Row(w: usize, nb: i32, sc: usize, q16: usize): f32 {
  const z = opaqueZero(nb);
  const mask = i32x4.splat(HALF_MASK | z);
  const scale = i32x4.splat(HALF_SCALE | z);
  let acc0 = f32x4.splat(0);
  let acc1 = f32x4.splat(0);
  let top = i32x4.splat(0);
  let p = w;
  let xq = q16;
  let s = sc;
  const end4 = sc + (<usize>(nb & ~3) << 2);
  for (; s < end4; s += 16) {
    let h = i32x4.splat(0);
    h = v128.load16_lane(p, h, 1);
    h = v128.load16_lane(p, h, 3, 34);
    h = v128.load16_lane(p, h, 5, 68);
    h = v128.load16_lane(p, h, 7, 102);
    top = i32x4.max_u(top, i32x4.shl(h, 1));
    const d = f32x4.mul(finiteHighHalfToF32(h, mask, scale), v128.load(s));
    acc0 = madd(f32x4.convert_i32x4_s(q8BlockX(p, xq)), v128.shuffle<f32>(d, d, 0, 0, 0, 0), acc0);
    acc1 = madd(f32x4.convert_i32x4_s(q8BlockX(p + 34, xq + 64)), v128.shuffle<f32>(d, d, 1, 1, 1, 1), acc1);
    acc0 = madd(f32x4.convert_i32x4_s(q8BlockX(p + 68, xq + 128)), v128.shuffle<f32>(d, d, 2, 2, 2, 2), acc0);
    acc1 = madd(f32x4.convert_i32x4_s(q8BlockX(p + 102, xq + 192)), v128.shuffle<f32>(d, d, 3, 3, 3, 3), acc1);
    p += 136;
    xq += 256;
  }
  const end = sc + (<usize>nb << 2);
  for (; s < end; s += 4) {
    const h = v128.load16_lane(p, i32x4.splat(0), 1);
    top = i32x4.max_u(top, i32x4.shl(h, 1));
    const d = f32x4.mul(finiteHighHalfToF32(h, mask, scale), v128.load32_splat(s));
    acc0 = madd(f32x4.convert_i32x4_s(q8BlockX(p, xq)), v128.shuffle<f32>(d, d, 0, 0, 0, 0), acc0);
    p += 34;
    xq += 64;
  }
  if (anySpecial(top)) specialScales = true;
  return hsum(f32x4.add(acc0, acc1));
}

// As dotQ8x4Body for Q4_0: bias the token's -8 Σ qx per block (i32), q8 its i8 values
// (relaxed build) and q16 its i16 values (plain build).
// @ts-ignore: decorator
@inline
function dotQ4x4Body(w0: usize, w1: usize, w2: usize, w3: usize, nb: i32, sc: usize, bias: usize, q8: usize, q16: usize, exact: bool): v128 {
  const z = opaqueZero(nb);
  const mask = i32x4.splat(HALF_MASK | z);
  const scale = i32x4.splat(HALF_SCALE | z);
  const nibble = i8x16.splat(<i8>(0x0f | z));
  const ones = i16x8.splat(<i16>(1 | z));
  let acc = f32x4.splat(0);
  let top = i32x4.splat(0);
  let p0 = w0;
  let p1 = w1;
  let p2 = w2;
  let p3 = w3;
  let bp = bias;
  let x8 = q8;
  let x16 = q16;
  const end = sc + (<usize>nb << 2);
  for (let s = sc; s < end; s += 4) {
    let sum: v128;
    if (ASC_FEATURE_RELAXED_SIMD) {
      const x0 = v128.load(x8);
      const x1 = v128.load(x8, 16);
      sum = i32x4.add(v128.load32_splat(bp),
        q4Reduce4(q4Pairs8(p0, nibble, x0, x1), q4Pairs8(p1, nibble, x0, x1), q4Pairs8(p2, nibble, x0, x1), q4Pairs8(p3, nibble, x0, x1), ones));
    } else {
      const bv = v128.load32_zero(bp);
      const x0 = v128.load(x16);
      const x1 = v128.load(x16, 16);
      const x2 = v128.load(x16, 32);
      const x3 = v128.load(x16, 48);
      sum = reduce4(q4Block16(p0, nibble, bv, x0, x1, x2, x3), q4Block16(p1, nibble, bv, x0, x1, x2, x3),
        q4Block16(p2, nibble, bv, x0, x1, x2, x3), q4Block16(p3, nibble, bv, x0, x1, x2, x3));
    }
    let dw: v128;
    if (exact) {
      dw = scales4(p0, p1, p2, p3);
    } else {
      const h = scaleBits4(p0, p1, p2, p3);
      top = i32x4.max_u(top, i32x4.shl(h, 1));
      dw = finiteHighHalfToF32(h, mask, scale);
    }
    acc = madd(f32x4.convert_i32x4_s(sum), f32x4.mul(dw, v128.load32_splat(s)), acc);
    p0 += 18;
    p1 += 18;
    p2 += 18;
    p3 += 18;
    bp += 4;
    x8 += 32;
    x16 += 64;
  }
  if (!exact && anySpecial(top)) specialScales = true;
  return acc;
}

// As dotQ8Row for Q4_0: one row (at w) against one token (sc its block scales, bias its
// -8 Σ qx per block, q8 / q16 its i8 / i16 values), read alone from start to end (the
// 4-row tile read DRAM at ~9 GB/s on one thread, against 15-16 from L3). Four blocks per iteration
// give one i32x4 of block sums (q4Reduce4 / reduce4 over blocks instead of rows), scaled by their
// four scales converted at once.
function dotQ4Row(w: usize, nb: i32, sc: usize, bias: usize, q8: usize, q16: usize): f32 {
  const z = opaqueZero(nb);
  const mask = i32x4.splat(HALF_MASK | z);
  const scale = i32x4.splat(HALF_SCALE | z);
  const nibble = i8x16.splat(<i8>(0x0f | z));
  const ones = i16x8.splat(<i16>(1 | z));
  const zero = i32x4.splat(z);
  let acc = f32x4.splat(0);
  let top = i32x4.splat(0);
  let p = w;
  let bp = bias;
  let x8 = q8;
  let x16 = q16;
  let s = sc;
  const end4 = sc + (<usize>(nb & ~3) << 2);
  for (; s < end4; s += 16) {
    let h = i32x4.splat(0);
    h = v128.load16_lane(p, h, 1);
    h = v128.load16_lane(p, h, 3, 18);
    h = v128.load16_lane(p, h, 5, 36);
    h = v128.load16_lane(p, h, 7, 54);
    top = i32x4.max_u(top, i32x4.shl(h, 1));
    const d = f32x4.mul(finiteHighHalfToF32(h, mask, scale), v128.load(s));
    // The four blocks' Q4_0 offsets (one i32 each).
    const b = v128.load(bp);
    let sum: v128;
    if (ASC_FEATURE_RELAXED_SIMD) {
      sum = i32x4.add(b, q4Reduce4(q4Pairs8(p, nibble, v128.load(x8), v128.load(x8, 16)),
        q4Pairs8(p + 18, nibble, v128.load(x8, 32), v128.load(x8, 48)),
        q4Pairs8(p + 36, nibble, v128.load(x8, 64), v128.load(x8, 80)),
        q4Pairs8(p + 54, nibble, v128.load(x8, 96), v128.load(x8, 112)), ones));
    } else {
      sum = i32x4.add(b, reduce4(q4Block16(p, nibble, zero, v128.load(x16), v128.load(x16, 16), v128.load(x16, 32), v128.load(x16, 48)),
        q4Block16(p + 18, nibble, zero, v128.load(x16, 64), v128.load(x16, 80), v128.load(x16, 96), v128.load(x16, 112)),
        q4Block16(p + 36, nibble, zero, v128.load(x16, 128), v128.load(x16, 144), v128.load(x16, 160), v128.load(x16, 176)),
        q4Block16(p + 54, nibble, zero, v128.load(x16, 192), v128.load(x16, 208), v128.load(x16, 224), v128.load(x16, 240))));
    }
    acc = madd(f32x4.convert_i32x4_s(sum), d, acc);
    p += 72;
    bp += 16;
    x8 += 128;
    x16 += 256;
  }
  const end = sc + (<usize>nb << 2);
  for (; s < end; s += 4) {
    // One block: its sum in lane 0 (the other rows of the reduction are zero).
    const h = v128.load16_lane(p, i32x4.splat(0), 1);
    top = i32x4.max_u(top, i32x4.shl(h, 1));
    const d = f32x4.mul(finiteHighHalfToF32(h, mask, scale), v128.load32_splat(s));
    let sum: v128;
    if (ASC_FEATURE_RELAXED_SIMD) {
      sum = q4Reduce4(q4Pairs8(p, nibble, v128.load(x8), v128.load(x8, 16)), zero, zero, zero, ones);
    } else {
      sum = reduce4(q4Block16(p, nibble, zero, v128.load(x16), v128.load(x16, 16), v128.load(x16, 32), v128.load(x16, 48)), zero, zero, zero);
    }
    sum = i32x4.add(sum, v128.load32_zero(bp));
    acc = madd(f32x4.convert_i32x4_s(sum), v128.shuffle<f32>(d, zero, 0, 4, 4, 4), acc);
    p += 18;
    bp += 4;
    x8 += 32;
    x16 += 64;
  }
  if (anySpecial(top)) specialScales = true;
  return hsum(acc);
}

function dotQ4x4(w0: usize, w1: usize, w2: usize, w3: usize, nb: i32, sc: usize, bias: usize, q8: usize, q16: usize): v128 {
  return dotQ4x4Body(w0, w1, w2, w3, nb, sc, bias, q8, q16, false);
}

function dotQ4x4Exact(w0: usize, w1: usize, w2: usize, w3: usize, nb: i32, sc: usize, bias: usize, q8: usize, q16: usize): v128 {
  return dotQ4x4Body(w0, w1, w2, w3, nb, sc, bias, q8, q16, true);
}

/**
 * Q8_0 / Q4_0: y[t * ldy + r] = W[r, :] · x[t, :] for rows r < rows, tokens t < n, with x quantised
 * by q_quantize_act into `act` (the regions of n tokens). chunk and next as q_matmul's.
 */
export function q_matmul_q(rows: i32, n: i32, cols: i32, format: i32, w: usize, rowBytes: i32,
  act: usize, y: usize, ldy: i32, chunk: i32, next: usize): void {
  if (rows <= 0 || n <= 0) return;
  const size = next != 0 ? chunk : rows;
  for (let c = claim(next, 0); c * size < rows; c = claim(next, c + 1)) {
    const a = c * size;
    blockRows(a, min(rows, a + size), n, cols, format, w, rowBytes, act, y, ldy);
  }
}

// q_matmul_q over rows [a, b).
function blockRows(a: i32, b: i32, n: i32, cols: i32, format: i32, w: usize, rowBytes: i32, act: usize, y: usize, ldy: i32): void {
  const nb = cols >> 5;
  const bias = actBias(act, n, nb);
  const q8 = actQ8(act, n, nb);
  const q16 = actQ16(act, n, nb, cols);
  const rb = <usize>rowBytes;
  if (n == 1) {
    const q8fmt = format == QF_Q8_0;
    for (let r = a; r < b; r++) {
      const wr = w + <usize>r * rb;
      specialScales = false;
      let out = q8fmt ? dotQ8Row(wr, nb, act, q16) : dotQ4Row(wr, nb, act, bias, q8, q16);
      // Rare (a hostile or broken file): the tile's exact conversion, the row in all four lanes.
      if (specialScales) {
        out = f32x4.extract_lane(q8fmt ? dotQ8x4Exact(wr, wr, wr, wr, nb, act, q16)
          : dotQ4x4Exact(wr, wr, wr, wr, nb, act, bias, q8, q16), 0);
      }
      store<f32>(y + (<usize>r << 2), out);
    }
    return;
  }
  for (let r = a; r < b; r += 4) {
    const rows = min(4, b - r);
    const w0 = w + <usize>r * rb;
    // Missing rows of the last tile repeat row 0 (their lanes are not stored).
    const w1 = rows > 1 ? w0 + rb : w0;
    const w2 = rows > 2 ? w0 + 2 * rb : w0;
    const w3 = rows > 3 ? w0 + 3 * rb : w0;
    for (let t = 0; t < n; t++) {
      const i = <usize>(t * nb);
      const sc = act + (i << 2);
      const tq16 = q16 + (<usize>t * <usize>cols << 1);
      const tq8 = q8 + <usize>t * <usize>cols;
      const tb = bias + (i << 2);
      specialScales = false;
      let out = format == QF_Q8_0 ? dotQ8x4(w0, w1, w2, w3, nb, sc, tq16) : dotQ4x4(w0, w1, w2, w3, nb, sc, tb, tq8, tq16);
      if (specialScales) {
        out = format == QF_Q8_0 ? dotQ8x4Exact(w0, w1, w2, w3, nb, sc, tq16) : dotQ4x4Exact(w0, w1, w2, w3, nb, sc, tb, tq8, tq16);
      }
      const yp = y + ((<usize>t * <usize>ldy + <usize>r) << 2);
      if (rows == 4) {
        v128.store(yp, out);
      } else {
        store<f32>(yp, f32x4.extract_lane(out, 0));
        if (rows > 1) store<f32>(yp, f32x4.extract_lane(out, 1), 4);
        if (rows > 2) store<f32>(yp, f32x4.extract_lane(out, 2), 8);
      }
    }
  }
}
