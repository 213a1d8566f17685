// Dense f32 matrix products, row-major, pointers into the shared memory (byte addresses),
// leading dimensions in elements.
//
// Packed path (GotoBLAS/BLIS loop order): for each NC block of columns, for each KC block of
// the inner dimension, B is packed into 8-column panels (kc x 8, zero padded); for each MC block
// of rows, A is packed into 4-row interleaved panels (kc x 4, zero padded); a 4x8 register tile
// (8 f32x4 accumulators) walks the panels. 4x8 is the sweet spot for 128-bit SIMD in V8: 8x8 needs
// 16 accumulators, spills, and ran at 7 GFLOP/s against 22-34 (shared/engine-measurements.md).
// The B micro-panel (8 KiB) stays in L1 while the A block (MC x KC = 128 KiB) streams from L2.
//
// Small-m paths avoid packing when C has few rows (decode-time linear layers): packing B would
// cost as much as the product itself.

import { madd, hsum, loadPartial, storePartial } from './vmath';

const MR: i32 = 4;
const NR: i32 = 8;
const KC: i32 = 256;
const MC: i32 = 128;
const NC: i32 = 2048;

/** Workspace one thread needs for gemm (bytes): packed A block, packed B block, one edge tile. */
export function gemm_work_bytes(): i32 {
  return (MC * KC + KC * NC + MR * NR) * 4 + 64;
}

// Largest m served by the unpacked small-m paths (x . W^T and x . W); above, the packed kernel wins
// (measured at k = n = 4096, 1 thread: nt small 36 vs packed 28 GFLOP/s at m = 12; nn small 18.6
// vs 17.4 at m = 6 and 21 vs 23 at m = 8).
export const SMALL_M_NT: i32 = 16;
export const SMALL_M_NN: i32 = 6;

// Packs op(A)[0..mc, 0..kc] (a points at op(A)[0, 0]) into 4-row panels: panel r holds, for each p,
// the 4 values op(A)[4r..4r+3, p].
function packA(mc: i32, kc: i32, a: usize, lda: i32, transA: i32, dst: usize): void {
  const ldab = <usize>lda << 2;
  for (let ir = 0; ir < mc; ir += MR) {
    const rows = min(MR, mc - ir);
    if (transA) {
      // A stored [k][m]: op(A)[i, p] = A[p][i], 4 consecutive rows of op(A) are contiguous.
      let src = a + (<usize>ir << 2);
      if (rows == MR) {
        for (let p = 0; p < kc; p++) {
          v128.store(dst, v128.load(src));
          src += ldab;
          dst += 16;
        }
      } else {
        for (let p = 0; p < kc; p++) {
          for (let i = 0; i < MR; i++) {
            store<f32>(dst + (<usize>i << 2), i < rows ? load<f32>(src + (<usize>i << 2)) : 0);
          }
          src += ldab;
          dst += 16;
        }
      }
    } else {
      const r0 = a + <usize>ir * ldab;
      if (rows == MR) {
        const r1 = r0 + ldab;
        const r2 = r1 + ldab;
        const r3 = r2 + ldab;
        let p = 0;
        // 4x4 transposes: 4 loads along k from 4 rows become 4 stores of one column each.
        for (; p + 4 <= kc; p += 4) {
          const off = <usize>p << 2;
          const x0 = v128.load(r0 + off);
          const x1 = v128.load(r1 + off);
          const x2 = v128.load(r2 + off);
          const x3 = v128.load(r3 + off);
          const t0 = v128.shuffle<f32>(x0, x1, 0, 4, 1, 5);
          const t1 = v128.shuffle<f32>(x2, x3, 0, 4, 1, 5);
          const t2 = v128.shuffle<f32>(x0, x1, 2, 6, 3, 7);
          const t3 = v128.shuffle<f32>(x2, x3, 2, 6, 3, 7);
          v128.store(dst, v128.shuffle<f32>(t0, t1, 0, 1, 4, 5));
          v128.store(dst, v128.shuffle<f32>(t0, t1, 2, 3, 6, 7), 16);
          v128.store(dst, v128.shuffle<f32>(t2, t3, 0, 1, 4, 5), 32);
          v128.store(dst, v128.shuffle<f32>(t2, t3, 2, 3, 6, 7), 48);
          dst += 64;
        }
        for (; p < kc; p++) {
          const off = <usize>p << 2;
          store<f32>(dst, load<f32>(r0 + off));
          store<f32>(dst, load<f32>(r1 + off), 4);
          store<f32>(dst, load<f32>(r2 + off), 8);
          store<f32>(dst, load<f32>(r3 + off), 12);
          dst += 16;
        }
      } else {
        for (let p = 0; p < kc; p++) {
          const off = <usize>p << 2;
          for (let i = 0; i < MR; i++) {
            store<f32>(dst + (<usize>i << 2), i < rows ? load<f32>(r0 + <usize>i * ldab + off) : 0);
          }
          dst += 16;
        }
      }
    }
  }
}

// Packs op(B)[0..kc, 0..nc] (b points at op(B)[0, 0]) into 8-column panels: panel j holds, for
// each p, the 8 values op(B)[p, 8j..8j+7].
function packB(kc: i32, nc: i32, b: usize, ldb: i32, transB: i32, dst: usize): void {
  const ldbb = <usize>ldb << 2;
  for (let jr = 0; jr < nc; jr += NR) {
    const cols = min(NR, nc - jr);
    if (!transB) {
      let src = b + (<usize>jr << 2);
      if (cols == NR) {
        for (let p = 0; p < kc; p++) {
          v128.store(dst, v128.load(src));
          v128.store(dst, v128.load(src, 16), 16);
          src += ldbb;
          dst += 32;
        }
      } else {
        for (let p = 0; p < kc; p++) {
          for (let j = 0; j < NR; j++) {
            store<f32>(dst + (<usize>j << 2), j < cols ? load<f32>(src + (<usize>j << 2)) : 0);
          }
          src += ldbb;
          dst += 32;
        }
      }
    } else {
      // B stored [n][k]: op(B)[p, j] = B[j][p].
      const r0 = b + <usize>jr * ldbb;
      if (cols == NR) {
        let p = 0;
        for (; p + 4 <= kc; p += 4) {
          const off = <usize>p << 2;
          // Two 4x4 transposes (rows 0-3 and 4-7) give 4 output rows of 8.
          for (let h = 0; h < 2; h++) {
            const base = r0 + <usize>(h * 4) * ldbb + off;
            const x0 = v128.load(base);
            const x1 = v128.load(base + ldbb);
            const x2 = v128.load(base + 2 * ldbb);
            const x3 = v128.load(base + 3 * ldbb);
            const t0 = v128.shuffle<f32>(x0, x1, 0, 4, 1, 5);
            const t1 = v128.shuffle<f32>(x2, x3, 0, 4, 1, 5);
            const t2 = v128.shuffle<f32>(x0, x1, 2, 6, 3, 7);
            const t3 = v128.shuffle<f32>(x2, x3, 2, 6, 3, 7);
            const d = dst + (<usize>h << 4);
            v128.store(d, v128.shuffle<f32>(t0, t1, 0, 1, 4, 5));
            v128.store(d, v128.shuffle<f32>(t0, t1, 2, 3, 6, 7), 32);
            v128.store(d, v128.shuffle<f32>(t2, t3, 0, 1, 4, 5), 64);
            v128.store(d, v128.shuffle<f32>(t2, t3, 2, 3, 6, 7), 96);
          }
          dst += 128;
        }
        for (; p < kc; p++) {
          const off = <usize>p << 2;
          for (let j = 0; j < NR; j++) {
            store<f32>(dst + (<usize>j << 2), load<f32>(r0 + <usize>j * ldbb + off));
          }
          dst += 32;
        }
      } else {
        for (let p = 0; p < kc; p++) {
          const off = <usize>p << 2;
          for (let j = 0; j < NR; j++) {
            store<f32>(dst + (<usize>j << 2), j < cols ? load<f32>(r0 + <usize>j * ldbb + off) : 0);
          }
          dst += 32;
        }
      }
    }
  }
}

// C[4, 8] (+)= Apanel(kc x 4) . Bpanel(kc x 8). ldcb is the row stride of C in bytes.
// Kept as its own function: V8 tiers hot wasm functions up one at a time, so a small hot callee
// reaches TurboFan code early even inside the first large call.
function micro(kc: i32, a: usize, b: usize, c: usize, ldcb: usize, beta: i32): void {
  let c00 = f32x4.splat(0), c01 = f32x4.splat(0);
  let c10 = f32x4.splat(0), c11 = f32x4.splat(0);
  let c20 = f32x4.splat(0), c21 = f32x4.splat(0);
  let c30 = f32x4.splat(0), c31 = f32x4.splat(0);
  for (let p = 0; p < kc; p++) {
    const b0 = v128.load(b);
    const b1 = v128.load(b, 16);
    let av = v128.load32_splat(a);
    c00 = madd(av, b0, c00); c01 = madd(av, b1, c01);
    av = v128.load32_splat(a, 4);
    c10 = madd(av, b0, c10); c11 = madd(av, b1, c11);
    av = v128.load32_splat(a, 8);
    c20 = madd(av, b0, c20); c21 = madd(av, b1, c21);
    av = v128.load32_splat(a, 12);
    c30 = madd(av, b0, c30); c31 = madd(av, b1, c31);
    a += 16;
    b += 32;
  }
  if (beta) {
    c00 = f32x4.add(c00, v128.load(c)); c01 = f32x4.add(c01, v128.load(c, 16));
    c += ldcb;
    c10 = f32x4.add(c10, v128.load(c)); c11 = f32x4.add(c11, v128.load(c, 16));
    c += ldcb;
    c20 = f32x4.add(c20, v128.load(c)); c21 = f32x4.add(c21, v128.load(c, 16));
    c += ldcb;
    c30 = f32x4.add(c30, v128.load(c)); c31 = f32x4.add(c31, v128.load(c, 16));
    c -= 3 * ldcb;
  }
  v128.store(c, c00); v128.store(c, c01, 16);
  c += ldcb;
  v128.store(c, c10); v128.store(c, c11, 16);
  c += ldcb;
  v128.store(c, c20); v128.store(c, c21, 16);
  c += ldcb;
  v128.store(c, c30); v128.store(c, c31, 16);
}

// Splits len into ceil(len / block) nearly equal parts rounded up to a multiple of align, so the
// last block is not a sliver (k = 300 runs as 152 + 148, not 256 + 44).
// @ts-ignore: decorator
@inline
function evenBlock(len: i32, block: i32, align: i32): i32 {
  const parts = (len + block - 1) / block;
  const size = (len + parts - 1) / parts;
  return (size + align - 1) / align * align;
}

function zeroOrKeep(m: i32, n: i32, c: usize, ldc: i32, accumulate: i32): void {
  if (accumulate) return;
  for (let i = 0; i < m; i++) {
    memory.fill(c + <usize>i * (<usize>ldc << 2), 0, <usize>n << 2);
  }
}

/**
 * C[m, n] (+)= op(A)[m, k] . op(B)[k, n], packed path.
 * op(A)[i, p] = transA ? a[p * lda + i] : a[i * lda + p]; op(B)[p, j] = transB ? b[j * ldb + p] : b[p * ldb + j].
 * work: gemm_work_bytes() bytes owned by the calling thread.
 */
export function gemm(
  m: i32, n: i32, k: i32,
  a: usize, lda: i32, transA: i32,
  b: usize, ldb: i32, transB: i32,
  c: usize, ldc: i32, accumulate: i32, work: usize,
): void {
  if (m <= 0 || n <= 0) return;
  if (k <= 0) {
    zeroOrKeep(m, n, c, ldc, accumulate);
    return;
  }
  const packedA = (work + 63) & ~(<usize>63);
  const packedB = packedA + (<usize>(MC * KC) << 2);
  const tile = packedB + (<usize>(KC * NC) << 2);
  const ldcb = <usize>ldc << 2;
  const kcBlock = evenBlock(k, KC, 4);
  const mcBlock = evenBlock(m, MC, MR);
  for (let jc = 0; jc < n; jc += NC) {
    const nc = min(NC, n - jc);
    for (let pc = 0; pc < k; pc += kcBlock) {
      const kc = min(kcBlock, k - pc);
      const bsrc = transB
        ? b + ((<usize>jc * <usize>ldb + <usize>pc) << 2)
        : b + ((<usize>pc * <usize>ldb + <usize>jc) << 2);
      packB(kc, nc, bsrc, ldb, transB, packedB);
      const beta = accumulate | <i32>(pc > 0);
      for (let ic = 0; ic < m; ic += mcBlock) {
        const mc = min(mcBlock, m - ic);
        const asrc = transA
          ? a + ((<usize>pc * <usize>lda + <usize>ic) << 2)
          : a + ((<usize>ic * <usize>lda + <usize>pc) << 2);
        packA(mc, kc, asrc, lda, transA, packedA);
        for (let jr = 0; jr < nc; jr += NR) {
          const cols = min(NR, nc - jr);
          const pb = packedB + <usize>jr * (<usize>kc << 2);
          for (let ir = 0; ir < mc; ir += MR) {
            const rows = min(MR, mc - ir);
            const pa = packedA + <usize>ir * (<usize>kc << 2);
            const cp = c + <usize>(ic + ir) * ldcb + (<usize>(jc + jr) << 2);
            if (rows == MR && cols == NR) {
              micro(kc, pa, pb, cp, ldcb, beta);
            } else {
              // Edge tile: compute the full 4x8 into scratch, then add the valid part.
              micro(kc, pa, pb, tile, <usize>NR << 2, 0);
              for (let i = 0; i < rows; i++) {
                const crow = cp + <usize>i * ldcb;
                const trow = tile + (<usize>(i * NR) << 2);
                for (let j = 0; j < cols; j++) {
                  const jo = <usize>j << 2;
                  const v = load<f32>(trow + jo);
                  store<f32>(crow + jo, beta ? load<f32>(crow + jo) + v : v);
                }
              }
            }
          }
        }
      }
    }
  }
}

// Dot-product tiles for gemm_nt_small: C[i.., j..] (+)= A[i..] . B[j..] over k, with one f32x4
// accumulator per (row, column) pair. A 4x2 tile needs 2 + 4 loads per 8 multiply-adds; 2x4 and
// 1x4 serve the leftover rows while the same 4 rows of B are still in cache.

// @ts-ignore: decorator
@inline
function storeDot(c: usize, acc: v128, tail: f32, accumulate: i32): void {
  const v = hsum(acc) + tail;
  store<f32>(c, accumulate ? load<f32>(c) + v : v);
}

function ntTile4x2(k: i32, a: usize, ldab: usize, b: usize, ldbb: usize, c: usize, ldcb: usize, accumulate: i32): void {
  const a1 = a + ldab, a2 = a1 + ldab, a3 = a2 + ldab;
  const b1 = b + ldbb;
  let s00 = f32x4.splat(0), s01 = f32x4.splat(0), s10 = f32x4.splat(0), s11 = f32x4.splat(0);
  let s20 = f32x4.splat(0), s21 = f32x4.splat(0), s30 = f32x4.splat(0), s31 = f32x4.splat(0);
  const k4 = k & ~3;
  for (let p = 0; p < k4; p += 4) {
    const o = <usize>p << 2;
    const x0 = v128.load(b + o);
    const x1 = v128.load(b1 + o);
    let av = v128.load(a + o);
    s00 = madd(av, x0, s00); s01 = madd(av, x1, s01);
    av = v128.load(a1 + o);
    s10 = madd(av, x0, s10); s11 = madd(av, x1, s11);
    av = v128.load(a2 + o);
    s20 = madd(av, x0, s20); s21 = madd(av, x1, s21);
    av = v128.load(a3 + o);
    s30 = madd(av, x0, s30); s31 = madd(av, x1, s31);
  }
  let t00: f32 = 0, t01: f32 = 0, t10: f32 = 0, t11: f32 = 0, t20: f32 = 0, t21: f32 = 0, t30: f32 = 0, t31: f32 = 0;
  for (let p = k4; p < k; p++) {
    const o = <usize>p << 2;
    const x0 = load<f32>(b + o), x1 = load<f32>(b1 + o);
    const y0 = load<f32>(a + o), y1 = load<f32>(a1 + o), y2 = load<f32>(a2 + o), y3 = load<f32>(a3 + o);
    t00 += y0 * x0; t01 += y0 * x1; t10 += y1 * x0; t11 += y1 * x1;
    t20 += y2 * x0; t21 += y2 * x1; t30 += y3 * x0; t31 += y3 * x1;
  }
  storeDot(c, s00, t00, accumulate); storeDot(c + 4, s01, t01, accumulate);
  c += ldcb;
  storeDot(c, s10, t10, accumulate); storeDot(c + 4, s11, t11, accumulate);
  c += ldcb;
  storeDot(c, s20, t20, accumulate); storeDot(c + 4, s21, t21, accumulate);
  c += ldcb;
  storeDot(c, s30, t30, accumulate); storeDot(c + 4, s31, t31, accumulate);
}

function ntTile2x4(k: i32, a: usize, ldab: usize, b: usize, ldbb: usize, c: usize, ldcb: usize, accumulate: i32): void {
  const a1 = a + ldab;
  const b1 = b + ldbb, b2 = b1 + ldbb, b3 = b2 + ldbb;
  let s00 = f32x4.splat(0), s01 = f32x4.splat(0), s02 = f32x4.splat(0), s03 = f32x4.splat(0);
  let s10 = f32x4.splat(0), s11 = f32x4.splat(0), s12 = f32x4.splat(0), s13 = f32x4.splat(0);
  const k4 = k & ~3;
  for (let p = 0; p < k4; p += 4) {
    const o = <usize>p << 2;
    const y0 = v128.load(a + o);
    const y1 = v128.load(a1 + o);
    let x = v128.load(b + o);
    s00 = madd(y0, x, s00); s10 = madd(y1, x, s10);
    x = v128.load(b1 + o);
    s01 = madd(y0, x, s01); s11 = madd(y1, x, s11);
    x = v128.load(b2 + o);
    s02 = madd(y0, x, s02); s12 = madd(y1, x, s12);
    x = v128.load(b3 + o);
    s03 = madd(y0, x, s03); s13 = madd(y1, x, s13);
  }
  let t00: f32 = 0, t01: f32 = 0, t02: f32 = 0, t03: f32 = 0, t10: f32 = 0, t11: f32 = 0, t12: f32 = 0, t13: f32 = 0;
  for (let p = k4; p < k; p++) {
    const o = <usize>p << 2;
    const y0 = load<f32>(a + o), y1 = load<f32>(a1 + o);
    const x0 = load<f32>(b + o), x1 = load<f32>(b1 + o), x2 = load<f32>(b2 + o), x3 = load<f32>(b3 + o);
    t00 += y0 * x0; t01 += y0 * x1; t02 += y0 * x2; t03 += y0 * x3;
    t10 += y1 * x0; t11 += y1 * x1; t12 += y1 * x2; t13 += y1 * x3;
  }
  storeDot(c, s00, t00, accumulate); storeDot(c + 4, s01, t01, accumulate);
  storeDot(c + 8, s02, t02, accumulate); storeDot(c + 12, s03, t03, accumulate);
  c += ldcb;
  storeDot(c, s10, t10, accumulate); storeDot(c + 4, s11, t11, accumulate);
  storeDot(c + 8, s12, t12, accumulate); storeDot(c + 12, s13, t13, accumulate);
}

// One row of A against `cols` (1-4) rows of B.
function ntTile1xN(k: i32, a: usize, b: usize, ldbb: usize, cols: i32, c: usize, accumulate: i32): void {
  const b1 = cols > 1 ? b + ldbb : b;
  const b2 = cols > 2 ? b1 + ldbb : b;
  const b3 = cols > 3 ? b2 + ldbb : b;
  let s0 = f32x4.splat(0), s1 = f32x4.splat(0), s2 = f32x4.splat(0), s3 = f32x4.splat(0);
  const k4 = k & ~3;
  for (let p = 0; p < k4; p += 4) {
    const o = <usize>p << 2;
    const y = v128.load(a + o);
    s0 = madd(y, v128.load(b + o), s0);
    s1 = madd(y, v128.load(b1 + o), s1);
    s2 = madd(y, v128.load(b2 + o), s2);
    s3 = madd(y, v128.load(b3 + o), s3);
  }
  let t0: f32 = 0, t1: f32 = 0, t2: f32 = 0, t3: f32 = 0;
  for (let p = k4; p < k; p++) {
    const o = <usize>p << 2;
    const y = load<f32>(a + o);
    t0 += y * load<f32>(b + o); t1 += y * load<f32>(b1 + o);
    t2 += y * load<f32>(b2 + o); t3 += y * load<f32>(b3 + o);
  }
  storeDot(c, s0, t0, accumulate);
  if (cols > 1) storeDot(c + 4, s1, t1, accumulate);
  if (cols > 2) storeDot(c + 8, s2, t2, accumulate);
  if (cols > 3) storeDot(c + 12, s3, t3, accumulate);
}

/**
 * C[m, n] (+)= A[m, k] . B[n, k]^T for small m (no packing): B is streamed once, 4 rows at a time,
 * and every row of A (which stays in cache) is dotted with them. Used for decode-time x . W^T.
 */
export function gemm_nt_small(
  m: i32, n: i32, k: i32, a: usize, lda: i32, b: usize, ldb: i32,
  c: usize, ldc: i32, accumulate: i32,
): void {
  const ldab = <usize>lda << 2;
  const ldbb = <usize>ldb << 2;
  const ldcb = <usize>ldc << 2;
  for (let j = 0; j < n; j += 4) {
    const cols = min(4, n - j);
    const bj = b + <usize>j * ldbb;
    const cj = c + (<usize>j << 2);
    let i = 0;
    if (cols == 4) {
      for (; i + 4 <= m; i += 4) {
        const ai = a + <usize>i * ldab;
        const ci = cj + <usize>i * ldcb;
        ntTile4x2(k, ai, ldab, bj, ldbb, ci, ldcb, accumulate);
        ntTile4x2(k, ai, ldab, bj + 2 * ldbb, ldbb, ci + 8, ldcb, accumulate);
      }
      for (; i + 2 <= m; i += 2) {
        ntTile2x4(k, a + <usize>i * ldab, ldab, bj, ldbb, cj + <usize>i * ldcb, ldcb, accumulate);
      }
    }
    for (; i < m; i++) {
      ntTile1xN(k, a + <usize>i * ldab, bj, ldbb, cols, cj + <usize>i * ldcb, accumulate);
    }
  }
}

const NN_SMALL_NB: i32 = 512;

/**
 * C[m, n] (+)= A[m, k] . B[k, n] for small m (no packing). For each block of NN_SMALL_NB columns
 * and each group of 4 rows of B (in L1), every row of C (m x NB floats, in L1) takes the 4 scaled
 * B rows at once, so B is read from memory exactly once.
 */
export function gemm_nn_small(
  m: i32, n: i32, k: i32, a: usize, lda: i32, b: usize, ldb: i32,
  c: usize, ldc: i32, accumulate: i32,
): void {
  const ldab = <usize>lda << 2;
  const ldbb = <usize>ldb << 2;
  const ldcb = <usize>ldc << 2;
  zeroOrKeep(m, n, c, ldc, accumulate);
  for (let j0 = 0; j0 < n; j0 += NN_SMALL_NB) {
    const nb = min(NN_SMALL_NB, n - j0);
    const nb4 = nb & ~3;
    const joff = <usize>j0 << 2;
    let p = 0;
    for (; p + 4 <= k; p += 4) {
      const b0 = b + <usize>p * ldbb + joff;
      const b1 = b0 + ldbb;
      const b2 = b1 + ldbb;
      const b3 = b2 + ldbb;
      for (let i = 0; i < m; i++) {
        const ar = a + <usize>i * ldab + (<usize>p << 2);
        const cr = c + <usize>i * ldcb + joff;
        const x0 = v128.load32_splat(ar);
        const x1 = v128.load32_splat(ar, 4);
        const x2 = v128.load32_splat(ar, 8);
        const x3 = v128.load32_splat(ar, 12);
        let j = 0;
        for (; j < nb4; j += 4) {
          const o = <usize>j << 2;
          let acc = v128.load(cr + o);
          acc = madd(x0, v128.load(b0 + o), acc);
          acc = madd(x1, v128.load(b1 + o), acc);
          acc = madd(x2, v128.load(b2 + o), acc);
          acc = madd(x3, v128.load(b3 + o), acc);
          v128.store(cr + o, acc);
        }
        if (j < nb) {
          const o = <usize>j << 2;
          const cnt = nb - j;
          let acc = loadPartial(cr + o, cnt);
          acc = madd(x0, loadPartial(b0 + o, cnt), acc);
          acc = madd(x1, loadPartial(b1 + o, cnt), acc);
          acc = madd(x2, loadPartial(b2 + o, cnt), acc);
          acc = madd(x3, loadPartial(b3 + o, cnt), acc);
          storePartial(cr + o, acc, cnt);
        }
      }
    }
    for (; p < k; p++) {
      const b0 = b + <usize>p * ldbb + joff;
      for (let i = 0; i < m; i++) {
        const x0 = v128.load32_splat(a + <usize>i * ldab + (<usize>p << 2));
        const cr = c + <usize>i * ldcb + joff;
        let j = 0;
        for (; j < nb4; j += 4) {
          const o = <usize>j << 2;
          v128.store(cr + o, madd(x0, v128.load(b0 + o), v128.load(cr + o)));
        }
        if (j < nb) {
          const o = <usize>j << 2;
          const cnt = nb - j;
          storePartial(cr + o, madd(x0, loadPartial(b0 + o, cnt), loadPartial(cr + o, cnt)), cnt);
        }
      }
    }
  }
}

/**
 * Batched gemm: for t in [0, batch): C_t (+)= op(A_t) . op(B_t), with A_t = a + t * strideA
 * (elements; 0 broadcasts), likewise B. strideC = 0 accumulates every product into one C (the
 * first one honours `accumulate`). Chooses the small-m path by the same rule as the JS side.
 */
export function gemm_batched(
  batch: i32, m: i32, n: i32, k: i32,
  a: usize, lda: i32, strideA: i32, transA: i32,
  b: usize, ldb: i32, strideB: i32, transB: i32,
  c: usize, ldc: i32, strideC: i32, accumulate: i32, work: usize,
): void {
  const small = !transA && m <= (transB ? SMALL_M_NT : SMALL_M_NN);
  for (let t = 0; t < batch; t++) {
    // strideC == 0 sums all products into one C (e.g. a weight gradient over a batch).
    const acc = accumulate | <i32>(strideC == 0 && t > 0);
    const at = a + (<usize>t * <usize>strideA << 2);
    const bt = b + (<usize>t * <usize>strideB << 2);
    const ct = c + (<usize>t * <usize>strideC << 2);
    if (small && transB) {
      gemm_nt_small(m, n, k, at, lda, bt, ldb, ct, ldc, acc);
    } else if (small) {
      gemm_nn_small(m, n, k, at, lda, bt, ldb, ct, ldc, acc);
    } else {
      gemm(m, n, k, at, lda, transA, bt, ldb, transB, ct, ldc, acc, work);
    }
  }
}

/**
 * y[rows] (+)= W[rows, cols] . x[cols]; W row stride ldw (elements). Memory-bound: W is streamed
 * row after row (one sequential stream: interleaving 2 or 4 rows to share the x loads measured
 * 15-35% slower), 64 floats per iteration into 8 accumulators (22-25 GB/s against 20-21 with 32).
 */
export function gemv(rows: i32, cols: i32, w: usize, ldw: i32, x: usize, y: usize, accumulate: i32): void {
  const ldwb = <usize>ldw << 2;
  const c32 = cols & ~31;
  const c4 = cols & ~3;
  for (let r = 0; r < rows; r++) {
    const wr = w + <usize>r * ldwb;
    let s0 = f32x4.splat(0), s1 = f32x4.splat(0), s2 = f32x4.splat(0), s3 = f32x4.splat(0);
    let s4 = f32x4.splat(0), s5 = f32x4.splat(0), s6 = f32x4.splat(0), s7 = f32x4.splat(0);
    let j = 0;
    for (; j < c32; j += 32) {
      const o = <usize>j << 2;
      const wp = wr + o;
      const xp = x + o;
      s0 = madd(v128.load(wp), v128.load(xp), s0);
      s1 = madd(v128.load(wp, 16), v128.load(xp, 16), s1);
      s2 = madd(v128.load(wp, 32), v128.load(xp, 32), s2);
      s3 = madd(v128.load(wp, 48), v128.load(xp, 48), s3);
      s4 = madd(v128.load(wp, 64), v128.load(xp, 64), s4);
      s5 = madd(v128.load(wp, 80), v128.load(xp, 80), s5);
      s6 = madd(v128.load(wp, 96), v128.load(xp, 96), s6);
      s7 = madd(v128.load(wp, 112), v128.load(xp, 112), s7);
    }
    for (; j < c4; j += 4) {
      const o = <usize>j << 2;
      s0 = madd(v128.load(wr + o), v128.load(x + o), s0);
    }
    s0 = f32x4.add(f32x4.add(s0, s1), f32x4.add(s2, s3));
    s4 = f32x4.add(f32x4.add(s4, s5), f32x4.add(s6, s7));
    let acc = hsum(f32x4.add(s0, s4));
    for (; j < cols; j++) {
      const o = <usize>j << 2;
      acc += load<f32>(wr + o) * load<f32>(x + o);
    }
    const yp = y + (<usize>r << 2);
    store<f32>(yp, accumulate ? load<f32>(yp) + acc : acc);
  }
}

/**
 * y[cols] (+)= W[rows, cols]^T . x[rows]. Streams W row by row, 4 rows per pass so y (which
 * stays in L1/L2) is read and written once per 4 rows.
 */
export function gemv_t(rows: i32, cols: i32, w: usize, ldw: i32, x: usize, y: usize, accumulate: i32): void {
  const ldwb = <usize>ldw << 2;
  const c4 = cols & ~3;
  if (!accumulate) memory.fill(y, 0, <usize>cols << 2);
  let r = 0;
  for (; r + 4 <= rows; r += 4) {
    const x0 = v128.load32_splat(x + (<usize>r << 2));
    const x1 = v128.load32_splat(x + (<usize>r << 2), 4);
    const x2 = v128.load32_splat(x + (<usize>r << 2), 8);
    const x3 = v128.load32_splat(x + (<usize>r << 2), 12);
    const w0 = w + <usize>r * ldwb;
    const w1 = w0 + ldwb;
    const w2 = w1 + ldwb;
    const w3 = w2 + ldwb;
    let j = 0;
    for (; j < c4; j += 4) {
      const o = <usize>j << 2;
      let acc = v128.load(y + o);
      acc = madd(x0, v128.load(w0 + o), acc);
      acc = madd(x1, v128.load(w1 + o), acc);
      acc = madd(x2, v128.load(w2 + o), acc);
      acc = madd(x3, v128.load(w3 + o), acc);
      v128.store(y + o, acc);
    }
    for (; j < cols; j++) {
      const o = <usize>j << 2;
      store<f32>(y + o, load<f32>(y + o) + f32x4.extract_lane(x0, 0) * load<f32>(w0 + o)
        + f32x4.extract_lane(x1, 0) * load<f32>(w1 + o)
        + f32x4.extract_lane(x2, 0) * load<f32>(w2 + o)
        + f32x4.extract_lane(x3, 0) * load<f32>(w3 + o));
    }
  }
  for (; r < rows; r++) {
    const xs = load<f32>(x + (<usize>r << 2));
    const x0 = f32x4.splat(xs);
    const w0 = w + <usize>r * ldwb;
    let j = 0;
    for (; j < c4; j += 4) {
      const o = <usize>j << 2;
      v128.store(y + o, madd(x0, v128.load(w0 + o), v128.load(y + o)));
    }
    for (; j < cols; j++) {
      const o = <usize>j << 2;
      store<f32>(y + o, load<f32>(y + o) + xs * load<f32>(w0 + o));
    }
  }
}
