// Products with weights kept in their GGUF format (wrapped by src/backend/wasm/quant.ts; plain twin
// in src/backend/reference/quant.ts): y[t, r] = Σ_c W[r, c] x[t, c] with W [rows, cols] stored row
// after row, `rowBytes` bytes a row, as ggml lays it out:
//   Q8_0: blocks of 32, f16 scale d then 32 int8 q; w = d q
//   Q4_0: blocks of 32, f16 scale d then 16 bytes; element j < 16 is the low nibble of byte j,
//         element j + 16 the high nibble; w = d (nibble - 8)
//   F16, BF16: one half per element.
// Every dequantised value is exact in f32 (d has 11 significant bits, q at most 8), so the result is
// the dense product of the dequantised matrix up to summation order.
//
// Decode (n == 1) dequantises 4 weights at a time in registers (integer widening, convert, scale)
// and multiply-adds them into the accumulators: each weight byte is read once, from memory.
// Prefill (n > 1) dequantises a tile of 4 rows into the caller's scratch (16 cols bytes, stays in
// L1/L2) and reuses it for every token. A thread owns the rows [r0, r0 + count).

import { madd, hsum } from './vmath';

export const QF_Q8_0: i32 = 0;
export const QF_Q4_0: i32 = 1;
export const QF_F16: i32 = 2;
export const QF_BF16: i32 = 3;

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

// The 4 weights at group k (elements 4k..4k+3) of the 32-element block at p.
// @ts-ignore: decorator
@inline
function q8Group(p: usize, k: i32, d: v128): v128 {
  const b = v128.load32_zero(p + 2 + (<usize>k << 2));
  return f32x4.mul(d, f32x4.convert_i32x4_s(i32x4.extend_low_i16x8_s(i16x8.extend_low_i8x16_s(b))));
}

// @ts-ignore: decorator
@inline
function q4Group(p: usize, k: i32, d: v128): v128 {
  const b = v128.load32_zero(p + 2 + (<usize>(k & 3) << 2));
  const nib = k < 4 ? v128.and(b, i8x16.splat(0x0f)) : i8x16.shr_u(b, 4);
  const q = i8x16.sub(nib, i8x16.splat(8));
  return f32x4.mul(d, f32x4.convert_i32x4_s(i32x4.extend_low_i16x8_s(i16x8.extend_low_i8x16_s(q))));
}

// @ts-ignore: decorator
@inline
function f16Group(p: usize): v128 {
  return halfToF32x4(i32x4.extend_low_i16x8_u(v128.load64_zero(p)));
}

// @ts-ignore: decorator
@inline
function bf16Group(p: usize): v128 {
  return i32x4.shl(i32x4.extend_low_i16x8_u(v128.load64_zero(p)), 16);
}

// One weight row · x, dequantising in registers.
function rowDot(format: i32, w: usize, x: usize, cols: i32): f32 {
  let a0 = f32x4.splat(0);
  let a1 = f32x4.splat(0);
  if (format == QF_Q8_0 || format == QF_Q4_0) {
    const nb = cols >> 5;
    const stride: usize = format == QF_Q8_0 ? 34 : 18;
    for (let b = 0; b < nb; b++) {
      const p = w + <usize>b * stride;
      const d = f32x4.splat(halfToF32(<u32>load<u16>(p)));
      const xp = x + (<usize>b << 7);
      if (format == QF_Q8_0) {
        for (let k = 0; k < 8; k += 2) {
          a0 = madd(q8Group(p, k, d), v128.load(xp + (<usize>k << 4)), a0);
          a1 = madd(q8Group(p, k + 1, d), v128.load(xp + (<usize>k << 4), 16), a1);
        }
      } else {
        for (let k = 0; k < 8; k += 2) {
          a0 = madd(q4Group(p, k, d), v128.load(xp + (<usize>k << 4)), a0);
          a1 = madd(q4Group(p, k + 1, d), v128.load(xp + (<usize>k << 4), 16), a1);
        }
      }
    }
    return hsum(f32x4.add(a0, a1));
  }
  const c8 = cols & ~7;
  let c = 0;
  if (format == QF_F16) {
    for (; c < c8; c += 8) {
      a0 = madd(f16Group(w + (<usize>c << 1)), v128.load(x + (<usize>c << 2)), a0);
      a1 = madd(f16Group(w + (<usize>c << 1) + 8), v128.load(x + (<usize>c << 2), 16), a1);
    }
  } else {
    for (; c < c8; c += 8) {
      a0 = madd(bf16Group(w + (<usize>c << 1)), v128.load(x + (<usize>c << 2)), a0);
      a1 = madd(bf16Group(w + (<usize>c << 1) + 8), v128.load(x + (<usize>c << 2), 16), a1);
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

// Row w into dst [cols] f32.
function dequantRow(format: i32, w: usize, dst: usize, cols: i32): void {
  if (format == QF_Q8_0 || format == QF_Q4_0) {
    const nb = cols >> 5;
    const stride: usize = format == QF_Q8_0 ? 34 : 18;
    for (let b = 0; b < nb; b++) {
      const p = w + <usize>b * stride;
      const d = f32x4.splat(halfToF32(<u32>load<u16>(p)));
      const o = dst + (<usize>b << 7);
      if (format == QF_Q8_0) {
        for (let k = 0; k < 8; k++) v128.store(o + (<usize>k << 4), q8Group(p, k, d));
      } else {
        for (let k = 0; k < 8; k++) v128.store(o + (<usize>k << 4), q4Group(p, k, d));
      }
    }
    return;
  }
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

// @ts-ignore: decorator
@inline
function denseDot(a: usize, x: usize, cols: i32): f32 {
  let a0 = f32x4.splat(0);
  let a1 = f32x4.splat(0);
  const c8 = cols & ~7;
  let c = 0;
  for (; c < c8; c += 8) {
    a0 = madd(v128.load(a + (<usize>c << 2)), v128.load(x + (<usize>c << 2)), a0);
    a1 = madd(v128.load(a + (<usize>c << 2), 16), v128.load(x + (<usize>c << 2), 16), a1);
  }
  let s = hsum(f32x4.add(a0, a1));
  for (; c < cols; c++) s += load<f32>(a + (<usize>c << 2)) * load<f32>(x + (<usize>c << 2));
  return s;
}

/** Bytes of scratch one part of q_matmul needs (a tile of 4 dequantised rows). */
export function q_matmul_work_bytes(cols: i32): i32 {
  return cols << 4;
}

/**
 * y[t * ldy + r] = W[r, :] · x[t * cols, :] for rows r in [r0, r0 + count), tokens t < n.
 * `work`: q_matmul_work_bytes(cols) bytes owned by this part (unused when n == 1).
 */
export function q_matmul(r0: i32, count: i32, n: i32, cols: i32, format: i32, w: usize, rowBytes: i32,
  x: usize, y: usize, ldy: i32, work: usize): void {
  if (count <= 0 || n <= 0) return;
  const xStride = <usize>cols << 2;
  const yStride = <usize>ldy << 2;
  if (n == 1) {
    for (let r = r0; r < r0 + count; r++) {
      store<f32>(y + (<usize>r << 2), rowDot(format, w + <usize>r * <usize>rowBytes, x, cols));
    }
    return;
  }
  const end = r0 + count;
  for (let r = r0; r < end; r += 4) {
    const rows = min(4, end - r);
    for (let i = 0; i < rows; i++) dequantRow(format, w + <usize>(r + i) * <usize>rowBytes, work + <usize>i * xStride, cols);
    for (let t = 0; t < n; t++) {
      const xp = x + <usize>t * xStride;
      const yp = y + <usize>t * yStride + (<usize>r << 2);
      for (let i = 0; i < rows; i++) store<f32>(yp + (<usize>i << 2), denseDot(work + <usize>i * xStride, xp, cols));
    }
  }
}
