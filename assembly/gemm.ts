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
// Small-m paths avoid packing when C has at most SMALL_M rows (decode-time linear layers):
// they stream B once, which is what bounds them.

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

/** Largest m served by the unpacked small-m paths. */
export const SMALL_M: i32 = 4;

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

/**
 * C[m, n] (+)= A[m, k] . B[n, k]^T for small m (no packing): each row of B is streamed once and
 * dotted with all m rows of A (which stay in cache). Used for decode-time x . W^T.
 */
export function gemm_nt_small(
  m: i32, n: i32, k: i32, a: usize, lda: i32, b: usize, ldb: i32,
  c: usize, ldc: i32, accumulate: i32,
): void {
  const ldab = <usize>lda << 2;
  const ldbb = <usize>ldb << 2;
  const ldcb = <usize>ldc << 2;
  const k8 = k & ~7;
  for (let j = 0; j < n; j++) {
    const br = b + <usize>j * ldbb;
    let i = 0;
    for (; i + 2 <= m; i += 2) {
      const a0 = a + <usize>i * ldab;
      const a1 = a0 + ldab;
      let s00 = f32x4.splat(0), s01 = f32x4.splat(0), s10 = f32x4.splat(0), s11 = f32x4.splat(0);
      let p = 0;
      for (; p < k8; p += 8) {
        const o = <usize>p << 2;
        const b0 = v128.load(br + o);
        const b1 = v128.load(br + o, 16);
        s00 = madd(v128.load(a0 + o), b0, s00);
        s01 = madd(v128.load(a0 + o, 16), b1, s01);
        s10 = madd(v128.load(a1 + o), b0, s10);
        s11 = madd(v128.load(a1 + o, 16), b1, s11);
      }
      let r0 = hsum(f32x4.add(s00, s01));
      let r1 = hsum(f32x4.add(s10, s11));
      for (; p < k; p++) {
        const o = <usize>p << 2;
        const bv = load<f32>(br + o);
        r0 += load<f32>(a0 + o) * bv;
        r1 += load<f32>(a1 + o) * bv;
      }
      const c0 = c + <usize>i * ldcb + (<usize>j << 2);
      const c1 = c0 + ldcb;
      store<f32>(c0, accumulate ? load<f32>(c0) + r0 : r0);
      store<f32>(c1, accumulate ? load<f32>(c1) + r1 : r1);
    }
    if (i < m) {
      const a0 = a + <usize>i * ldab;
      let s0 = f32x4.splat(0), s1 = f32x4.splat(0);
      let p = 0;
      for (; p < k8; p += 8) {
        const o = <usize>p << 2;
        s0 = madd(v128.load(a0 + o), v128.load(br + o), s0);
        s1 = madd(v128.load(a0 + o, 16), v128.load(br + o, 16), s1);
      }
      let r0 = hsum(f32x4.add(s0, s1));
      for (; p < k; p++) {
        const o = <usize>p << 2;
        r0 += load<f32>(a0 + o) * load<f32>(br + o);
      }
      const c0 = c + <usize>i * ldcb + (<usize>j << 2);
      store<f32>(c0, accumulate ? load<f32>(c0) + r0 : r0);
    }
  }
}

const NN_SMALL_NB: i32 = 512;

/**
 * C[m, n] (+)= A[m, k] . B[k, n] for small m (no packing): C rows are built as sums of B rows
 * scaled by A entries, in column blocks of NN_SMALL_NB so the C block stays in L1.
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
    for (let i = 0; i < m; i++) {
      const cr = c + <usize>i * ldcb + joff;
      const ar = a + <usize>i * ldab;
      let p = 0;
      // Four rows of B per pass: C is loaded and stored once per 4 products.
      for (; p + 4 <= k; p += 4) {
        const x0 = v128.load32_splat(ar + (<usize>p << 2));
        const x1 = v128.load32_splat(ar + (<usize>p << 2), 4);
        const x2 = v128.load32_splat(ar + (<usize>p << 2), 8);
        const x3 = v128.load32_splat(ar + (<usize>p << 2), 12);
        const b0 = b + <usize>p * ldbb + joff;
        const b1 = b0 + ldbb;
        const b2 = b1 + ldbb;
        const b3 = b2 + ldbb;
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
      for (; p < k; p++) {
        const x0 = v128.load32_splat(ar + (<usize>p << 2));
        const b0 = b + <usize>p * ldbb + joff;
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
  const small = m <= SMALL_M && !transA;
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
 * y[rows] (+)= W[rows, cols] . x[cols]; W row stride ldw (elements). Memory-bound: each row is
 * streamed once with 8 independent accumulators (one stream at a time; interleaving several rows
 * defeated the prefetcher in the measurements).
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
