// Block-sparse products (wrapped by src/backend/wasm/block-sparse.ts; plain twins in
// src/backend/reference/block-sparse.ts). The weight W [rows, cols] keeps its active b x b blocks
// listed per block row (ptr, idx = block column) with the values block after block, row-major.
//
// Activations stay row-major ([tokens, features]); no kernel transposes a whole matrix (at 1024
// tokens those passes over Y and dY cost as much as the sparse product at density 0.1).
//   b >= 8 (multiples of 8): features run along the vectors, tokens are splatted, so every block is
//     a small dense tile (4 tokens x 8 outputs, the dense gemm's micro-tile):
//     Y = X Wᵀ   bsr_rows over block rows, blocks transposed by bsr_pack
//     dX = dY W  bsr_rows over block columns (a CSC index; blocks gathered in that order)
//     dW         bsr_sddmm_rows: chunks of 32 tokens packed per block row / column, tiles over tokens
//   b = 1 and b = 4: tokens run along the vectors; chunks of 16 (products) or 32 (dW) tokens are
//     transposed into a small workspace that stays in cache, and the outputs are transposed back
//     while hot (bsr_rows1, bsr_sddmm1; bsr_rows4, bsr_sddmm4). A 4-wide block row has too few
//     outputs to fill a vector tile along features: 8 tokens x 4 outputs there needs 36 loads per
//     32 multiply-adds, 4 outputs x 8 tokens along the tokens 24 (as the dense gemm's tile).
// Threads split the products by tokens (equal work) and dW by active blocks (equal nnz).

import { madd, hsum } from './vmath';

// One 4x4 tile: dst[c + i][r + j] = src[r + j][c + i] (byte strides ldsb, lddb).
// @ts-ignore: decorator
@inline
function tile4(src: usize, ldsb: usize, dst: usize, lddb: usize, r: i32, c: i32): void {
  const sp = src + <usize>r * ldsb + (<usize>c << 2);
  const a = v128.load(sp);
  const b = v128.load(sp + ldsb);
  const e = v128.load(sp + 2 * ldsb);
  const f = v128.load(sp + 3 * ldsb);
  const t0 = v128.shuffle<f32>(a, b, 0, 4, 1, 5);
  const t1 = v128.shuffle<f32>(a, b, 2, 6, 3, 7);
  const t2 = v128.shuffle<f32>(e, f, 0, 4, 1, 5);
  const t3 = v128.shuffle<f32>(e, f, 2, 6, 3, 7);
  const dp = dst + <usize>c * lddb + (<usize>r << 2);
  v128.store(dp, v128.shuffle<f32>(t0, t2, 0, 1, 4, 5));
  v128.store(dp + lddb, v128.shuffle<f32>(t0, t2, 2, 3, 6, 7));
  v128.store(dp + 2 * lddb, v128.shuffle<f32>(t1, t3, 0, 1, 4, 5));
  v128.store(dp + 3 * lddb, v128.shuffle<f32>(t1, t3, 2, 3, 6, 7));
}

// The rectangle [r0, r1) x [c0, c1) of a transpose: 4x4 tiles where they fit, scalar edges.
function transposeRect(src: usize, ldsb: usize, dst: usize, lddb: usize, r0: i32, r1: i32, c0: i32, c1: i32): void {
  const r4 = r0 + ((r1 - r0) & ~3);
  const c4 = c0 + ((c1 - c0) & ~3);
  for (let r = r0; r < r4; r += 4) {
    for (let c = c0; c < c4; c += 4) tile4(src, ldsb, dst, lddb, r, c);
    for (let c = c4; c < c1; c++) {
      for (let i = 0; i < 4; i++) {
        store<f32>(dst + <usize>c * lddb + (<usize>(r + i) << 2), load<f32>(src + <usize>(r + i) * ldsb + (<usize>c << 2)));
      }
    }
  }
  for (let r = r4; r < r1; r++) {
    for (let c = c0; c < c1; c++) {
      store<f32>(dst + <usize>c * lddb + (<usize>r << 2), load<f32>(src + <usize>r * ldsb + (<usize>c << 2)));
    }
  }
}

// As transposeRect over [0, rows) x [0, cols), walking the destination's rows 4 at a time so each
// of their lines is completed while hot: destination rows 1 or 4 KiB apart share cache sets, and
// partial lines evicted between their 4 writes cost (~2x) in a whole 1x1 forward.
function transposeByDst(src: usize, ldsb: usize, dst: usize, lddb: usize, rows: i32, cols: i32): void {
  const r4 = rows & ~3;
  const c4 = cols & ~3;
  for (let c = 0; c < c4; c += 4) {
    for (let r = 0; r < r4; r += 4) tile4(src, ldsb, dst, lddb, r, c);
  }
  transposeRect(src, ldsb, dst, lddb, 0, r4, c4, cols);
  transposeRect(src, ldsb, dst, lddb, r4, rows, 0, cols);
}

// ---------------------------------------------------------------------------------------------
// Row-major products without whole-matrix transposes (bsr_rows for b a multiple of 8, bsr_rows1
// for b = 1). out[t, R b + i] = Σ_k Σ_j wt_k[j][i] src[t, C_k b + j] over the blocks k = (R, C_k)
// listed for R in (ptr, idx), with wt_k the b x b block stored [j][i] (i contiguous):
//   Y = X Wᵀ:  the blocks of W per block row, each block transposed (bsr_pack)
//   dX = dY W: the blocks of W per block column (CSC), as they are (W_k[i][j] is [j'][i'] of the roles)
// For b >= 8 the output runs along features in the vectors and tokens are splatted, so rows of the
// output are written where they belong: 4 tokens x 8 outputs per register tile (the dense gemm's
// micro-tile; 8 accumulators).

// 4 tokens x 8 outputs of block row R (outputs i0..i0+7), s* / d* the token rows of src / dst,
// block by block (b >= 16: a block's b inputs per inner loop; see rowsTile4x8 for b = 8).
// @ts-ignore: decorator
@inline
function rowsTile4x8Blocks(k0: i32, k1: i32, idx: usize, wt: usize, b: i32, i0: i32,
  s0: usize, sstride: usize, d0: usize, dstride: usize): void {
  let a0 = f32x4.splat(0), a1 = f32x4.splat(0), a2 = f32x4.splat(0), a3 = f32x4.splat(0);
  let a4 = f32x4.splat(0), a5 = f32x4.splat(0), a6 = f32x4.splat(0), a7 = f32x4.splat(0);
  const bb = <usize>(b * b);
  const bbytes = <usize>b << 2;
  const s1 = s0 + sstride;
  const s2 = s1 + sstride;
  const s3 = s2 + sstride;
  for (let k = k0; k < k1; k++) {
    const c = <usize>load<i32>(idx + (<usize>k << 2));
    let w = wt + ((<usize>k * bb + <usize>i0) << 2);
    let xo = c * bbytes;
    const xe = xo + bbytes;
    for (; xo < xe; xo += 4) {
      const w0 = v128.load(w);
      const w1 = v128.load(w, 16);
      let x = v128.load32_splat(s0 + xo);
      a0 = madd(x, w0, a0); a1 = madd(x, w1, a1);
      x = v128.load32_splat(s1 + xo);
      a2 = madd(x, w0, a2); a3 = madd(x, w1, a3);
      x = v128.load32_splat(s2 + xo);
      a4 = madd(x, w0, a4); a5 = madd(x, w1, a5);
      x = v128.load32_splat(s3 + xo);
      a6 = madd(x, w0, a6); a7 = madd(x, w1, a7);
      w += bbytes;
    }
  }
  v128.store(d0, a0); v128.store(d0, a1, 16);
  let d = d0 + dstride;
  v128.store(d, a2); v128.store(d, a3, 16);
  d += dstride;
  v128.store(d, a4); v128.store(d, a5, 16);
  d += dstride;
  v128.store(d, a6); v128.store(d, a7, 16);
}

// 4 tokens x 8 outputs of block row R (outputs i0..i0+7), s* / d* the token rows of src / dst.
// The inputs of the block row's blocks run as one loop: offs [q0, q1) holds each input's byte
// offset in a token row (bsr_offsets), and the weights of consecutive blocks of a block row are
// consecutive (w advances b floats per input across block boundaries), so there is no per-block
// setup or inner-loop exit. Used for b = 8 (density 0.1: 3-7% off the 8 x 8 products, whose block
// rows hold 3.2 blocks of 8 inputs); at 16 x 16 the extra index load per input cost 2-3% instead.
// @ts-ignore: decorator
@inline
function rowsTile4x8(q0: usize, q1: usize, w: usize, bbytes: usize,
  s0: usize, sstride: usize, d0: usize, dstride: usize): void {
  let a0 = f32x4.splat(0), a1 = f32x4.splat(0), a2 = f32x4.splat(0), a3 = f32x4.splat(0);
  let a4 = f32x4.splat(0), a5 = f32x4.splat(0), a6 = f32x4.splat(0), a7 = f32x4.splat(0);
  const s1 = s0 + sstride;
  const s2 = s1 + sstride;
  const s3 = s2 + sstride;
  for (let q = q0; q < q1; q += 4) {
    const xo = <usize>load<i32>(q);
    const w0 = v128.load(w);
    const w1 = v128.load(w, 16);
    let x = v128.load32_splat(s0 + xo);
    a0 = madd(x, w0, a0); a1 = madd(x, w1, a1);
    x = v128.load32_splat(s1 + xo);
    a2 = madd(x, w0, a2); a3 = madd(x, w1, a3);
    x = v128.load32_splat(s2 + xo);
    a4 = madd(x, w0, a4); a5 = madd(x, w1, a5);
    x = v128.load32_splat(s3 + xo);
    a6 = madd(x, w0, a6); a7 = madd(x, w1, a7);
    w += bbytes;
  }
  v128.store(d0, a0); v128.store(d0, a1, 16);
  let d = d0 + dstride;
  v128.store(d, a2); v128.store(d, a3, 16);
  d += dstride;
  v128.store(d, a4); v128.store(d, a5, 16);
  d += dstride;
  v128.store(d, a6); v128.store(d, a7, 16);
}

/**
 * The input offsets bsr_rows reads by for b = 8: out[k b + j] = (idx[k] b + j) * 4, the byte offset
 * in a token row of input j of block k, for the `count` blocks listed in idx.
 */
export function bsr_offsets(idx: usize, count: i32, b: i32, out: usize): void {
  let o = out;
  for (let k = 0; k < count; k++) {
    const base = load<i32>(idx + (<usize>k << 2)) * b * 4;
    for (let j = 0; j < b; j++) {
      store<i32>(o, base + (j << 2));
      o += 4;
    }
  }
}

/**
 * dst[t, fout] = src[t, fin] · Sᵀ for the tokens [t0, t0 + count), S [fout, fin] block-sparse with
 * blocks of b (a multiple of 8; 4 x 4 blocks run in bsr_rows4) listed per block row (ptr [fout/b + 1], idx), block k stored
 * transposed at wt + k b² floats (element (i, j) of S's block at [j b + i]); offs = bsr_offsets of idx (read for b = 8).
 */
export function bsr_rows(t0: i32, count: i32, fin: i32, fout: i32, b: i32, ptr: usize, idx: usize, offs: usize, wt: usize,
  src: usize, dst: usize, work: usize): void {
  if (count <= 0) return;
  // The token rows of a group are copied into work first, read in order (so the hardware
  // prefetcher runs ahead; the kernel then reads them in block order) and 64 bytes further apart
  // than in src, so rows 1 KiB or 4 KiB apart do not share cache sets.
  const rowBytes = <usize>fin << 2;
  const sstride = rowBytes + 64;
  const tileSrc = (work + 63) & ~(<usize>63);
  const dstride = <usize>fout << 2;
  const blockRows = fout / b;
  const bb = <usize>(b * b);
  const bbytes = <usize>b << 2;
  const end = t0 + count;
  let t = t0;
  while (t + 4 <= end) {
    // A group of ROWS_GROUP tokens (or the 4-token tiles left): a block row's weights are read
    // once per group, from L1 for all its tiles.
    const rowsHere = min(ROWS_GROUP, (end - t) & ~3);
    for (let r = 0; r < rowsHere; r++) memory.copy(tileSrc + <usize>r * sstride, src + <usize>(t + r) * rowBytes, rowBytes);
    const d0 = dst + <usize>t * dstride;
    for (let br = 0; br < blockRows; br++) {
      const k0 = load<i32>(ptr + (<usize>br << 2));
      const k1 = load<i32>(ptr + (<usize>(br + 1) << 2));
      if (b == 8) {
        const q0 = offs + (<usize>(k0 * b) << 2);
        const q1 = offs + (<usize>(k1 * b) << 2);
        const w = wt + (<usize>(k0 * 64) << 2);
        for (let g = 0; g < rowsHere; g += 4) {
          const dr = d0 + <usize>g * dstride + <usize>br * bbytes;
          rowsTile4x8(q0, q1, w, bbytes, tileSrc + <usize>g * sstride, sstride, dr, dstride);
        }
      } else {
        for (let g = 0; g < rowsHere; g += 4) {
          const s0 = tileSrc + <usize>g * sstride;
          const dr = d0 + <usize>g * dstride + <usize>br * bbytes;
          for (let i0 = 0; i0 < b; i0 += 8) rowsTile4x8Blocks(k0, k1, idx, wt, b, i0, s0, sstride, dr + (<usize>i0 << 2), dstride);
        }
      }
    }
    t += rowsHere;
  }
  // Leftover tokens (fewer than 4), one at a time, 4 outputs per accumulator.
  for (; t < end; t++) {
    const s0 = src + <usize>t * rowBytes;
    const d0 = dst + <usize>t * dstride;
    for (let br = 0; br < blockRows; br++) {
      const k0 = load<i32>(ptr + (<usize>br << 2));
      const k1 = load<i32>(ptr + (<usize>(br + 1) << 2));
      for (let i0 = 0; i0 < b; i0 += 4) {
        let a0 = f32x4.splat(0);
        for (let k = k0; k < k1; k++) {
          const xo = <usize>load<i32>(idx + (<usize>k << 2)) * bbytes;
          let w = wt + ((<usize>k * bb + <usize>i0) << 2);
          for (let j = 0; j < b; j++) {
            a0 = madd(v128.load32_splat(s0 + xo + (<usize>j << 2)), v128.load(w), a0);
            w += bbytes;
          }
        }
        v128.store(d0 + <usize>(br * b + i0) * 4, a0);
      }
    }
  }
}

/** Token rows bsr_rows copies and runs together (a multiple of 4). */
const ROWS_GROUP: i32 = 8;

/** Workspace bytes one part of bsr_rows needs (a group of token rows of fin features). */
export function bsr_rows_work_bytes(fin: i32): i32 {
  return ROWS_GROUP * (fin * 4 + 64) + 64;
}

/** Tokens per chunk of bsr_rows1 (a multiple of 4). */
const CHUNK1: i32 = 16;

/** Workspace bytes one part of bsr_rows1 needs: a transposed panel of pf input features and the staged outputs. */
export function bsr_rows1_work_bytes(pf: i32, fout: i32): i32 {
  return (pf + fout) * CHUNK1 * 4 + 64;
}

/**
 * As bsr_rows for 1 x 1 blocks (a CSR matrix, values in idx order). Tokens run along the vectors:
 * each chunk of 16 tokens of src is transposed, one panel of pf input features at a time, into
 * work [pf][16] (16 KiB at pf = 256, so it stays in L1 however wide src is), and every row of S
 * gathers its columns' token vectors from the panel. bounds [(panels + 1) * fout] splits the rows
 * by panel: row r's entries in panel p are [bounds[p fout + r], bounds[(p + 1) fout + r]). The
 * outputs accumulate in work [fout][16] and go back into dst 16 rows at a time (a whole cache line of each token row), transposed, while hot.
 */
export function bsr_rows1(t0: i32, count: i32, fin: i32, fout: i32, panels: i32, pf: i32, bounds: usize, idx: usize,
  values: usize, src: usize, dst: usize, work: usize): void {
  if (count <= 0) return;
  const srcT = (work + 63) & ~(<usize>63);
  const stage = srcT + (<usize>(pf * CHUNK1) << 2);
  const ldb = <usize>CHUNK1 << 2;
  const sstride = <usize>fin << 2;
  const dstride = <usize>fout << 2;
  const end = t0 + count;
  for (let p0 = t0; p0 < end; p0 += CHUNK1) {
    const m = min(CHUNK1, end - p0);
    const m4 = (m + 3) & ~3;
    const dchunk = dst + <usize>p0 * dstride;
    for (let p = 0; p < panels; p++) {
      const f0 = p * pf;
      const f1 = min(fin, f0 + pf);
      transposeRect(src + <usize>p0 * sstride + (<usize>f0 << 2), sstride, srcT, ldb, 0, m, 0, f1 - f0);
      // Zero the token columns past m up to a multiple of 4.
      for (let j = 0; j < f1 - f0; j++) {
        for (let t = m; t < m4; t++) store<f32>(srcT + <usize>j * ldb + (<usize>t << 2), 0);
      }
      // Column c of src is row c - f0 of the panel.
      const base = srcT - <usize>f0 * ldb;
      const lo = bounds + (<usize>(p * fout) << 2);
      const hi = lo + (<usize>fout << 2);
      const last = p == panels - 1;
      for (let r0 = 0; r0 < fout; r0 += 16) {
        const r1 = min(r0 + 16, fout);
        for (let r = r0; r < r1; r++) {
          const k0 = load<i32>(lo + (<usize>r << 2));
          const k1 = load<i32>(hi + (<usize>r << 2));
          const o = stage + <usize>r * ldb;
          if (m == CHUNK1) {
            let a0 = f32x4.splat(0), a1 = f32x4.splat(0), a2 = f32x4.splat(0), a3 = f32x4.splat(0);
            if (p > 0) {
              a0 = v128.load(o); a1 = v128.load(o, 16); a2 = v128.load(o, 32); a3 = v128.load(o, 48);
            }
            for (let k = k0; k < k1; k++) {
              const xp = base + <usize>load<i32>(idx + (<usize>k << 2)) * ldb;
              const w = v128.load32_splat(values + (<usize>k << 2));
              a0 = madd(w, v128.load(xp), a0);
              a1 = madd(w, v128.load(xp, 16), a1);
              a2 = madd(w, v128.load(xp, 32), a2);
              a3 = madd(w, v128.load(xp, 48), a3);
            }
            v128.store(o, a0); v128.store(o, a1, 16); v128.store(o, a2, 32); v128.store(o, a3, 48);
          } else {
            for (let t = 0; t < m4; t += 4) {
              let a0 = p > 0 ? v128.load(o + (<usize>t << 2)) : f32x4.splat(0);
              for (let k = k0; k < k1; k++) {
                const xp = base + <usize>load<i32>(idx + (<usize>k << 2)) * ldb + (<usize>t << 2);
                a0 = madd(v128.load32_splat(values + (<usize>k << 2)), v128.load(xp), a0);
              }
              v128.store(o + (<usize>t << 2), a0);
            }
          }
        }
        // stage [rows r0..r1][tokens] -> dst [tokens][features r0..r1].
        if (last) transposeByDst(stage + <usize>r0 * ldb, ldb, dchunk + (<usize>r0 << 2), dstride, r1 - r0, m);
      }
    }
  }
}

// 4 outputs x 8 tokens of one 4 x 4 block row (bsr_rows4): tokens run along the vectors, the
// block's 16 weights are splatted. Per block: 8 token-vector loads and 16 splats feed 32
// multiply-adds (the dense gemm's 4x8 ratio; 8 tokens x 4 outputs with features along the
// vectors needs 36 loads for the same 32).
// @ts-ignore: decorator
@inline
function rows4Tile(k0: i32, k1: i32, idx: usize, wts: usize, base: usize, tOff: usize, o: usize, accumulate: bool): void {
  const ldb: usize = <usize>CHUNK4 << 2;
  let a0 = f32x4.splat(0), a1 = f32x4.splat(0), a2 = f32x4.splat(0), a3 = f32x4.splat(0);
  let a4 = f32x4.splat(0), a5 = f32x4.splat(0), a6 = f32x4.splat(0), a7 = f32x4.splat(0);
  if (accumulate) {
    a0 = v128.load(o + tOff); a1 = v128.load(o + tOff, 16);
    a2 = v128.load(o + ldb + tOff); a3 = v128.load(o + ldb + tOff, 16);
    a4 = v128.load(o + 2 * ldb + tOff); a5 = v128.load(o + 2 * ldb + tOff, 16);
    a6 = v128.load(o + 3 * ldb + tOff); a7 = v128.load(o + 3 * ldb + tOff, 16);
  }
  for (let k = k0; k < k1; k++) {
    // Input feature rows C*4 .. C*4+3 of the panel (ldb = 64 bytes each: 4 consecutive lines).
    const xp = base + (<usize>load<i32>(idx + (<usize>k << 2)) << 8) + tOff;
    const w = wts + (<usize>k << 6);
    let x0 = v128.load(xp), x1 = v128.load(xp, 16);
    let w0 = v128.load32_splat(w);
    a0 = madd(w0, x0, a0); a1 = madd(w0, x1, a1);
    w0 = v128.load32_splat(w, 16);
    a2 = madd(w0, x0, a2); a3 = madd(w0, x1, a3);
    w0 = v128.load32_splat(w, 32);
    a4 = madd(w0, x0, a4); a5 = madd(w0, x1, a5);
    w0 = v128.load32_splat(w, 48);
    a6 = madd(w0, x0, a6); a7 = madd(w0, x1, a7);
    x0 = v128.load(xp, 64); x1 = v128.load(xp, 80);
    w0 = v128.load32_splat(w, 4);
    a0 = madd(w0, x0, a0); a1 = madd(w0, x1, a1);
    w0 = v128.load32_splat(w, 20);
    a2 = madd(w0, x0, a2); a3 = madd(w0, x1, a3);
    w0 = v128.load32_splat(w, 36);
    a4 = madd(w0, x0, a4); a5 = madd(w0, x1, a5);
    w0 = v128.load32_splat(w, 52);
    a6 = madd(w0, x0, a6); a7 = madd(w0, x1, a7);
    x0 = v128.load(xp, 128); x1 = v128.load(xp, 144);
    w0 = v128.load32_splat(w, 8);
    a0 = madd(w0, x0, a0); a1 = madd(w0, x1, a1);
    w0 = v128.load32_splat(w, 24);
    a2 = madd(w0, x0, a2); a3 = madd(w0, x1, a3);
    w0 = v128.load32_splat(w, 40);
    a4 = madd(w0, x0, a4); a5 = madd(w0, x1, a5);
    w0 = v128.load32_splat(w, 56);
    a6 = madd(w0, x0, a6); a7 = madd(w0, x1, a7);
    x0 = v128.load(xp, 192); x1 = v128.load(xp, 208);
    w0 = v128.load32_splat(w, 12);
    a0 = madd(w0, x0, a0); a1 = madd(w0, x1, a1);
    w0 = v128.load32_splat(w, 28);
    a2 = madd(w0, x0, a2); a3 = madd(w0, x1, a3);
    w0 = v128.load32_splat(w, 44);
    a4 = madd(w0, x0, a4); a5 = madd(w0, x1, a5);
    w0 = v128.load32_splat(w, 60);
    a6 = madd(w0, x0, a6); a7 = madd(w0, x1, a7);
  }
  v128.store(o + tOff, a0); v128.store(o + tOff, a1, 16);
  v128.store(o + ldb + tOff, a2); v128.store(o + ldb + tOff, a3, 16);
  v128.store(o + 2 * ldb + tOff, a4); v128.store(o + 2 * ldb + tOff, a5, 16);
  v128.store(o + 3 * ldb + tOff, a6); v128.store(o + 3 * ldb + tOff, a7, 16);
}

/** Tokens per chunk of bsr_rows4 (two 8-token tiles). */
const CHUNK4: i32 = 16;

/** Workspace bytes one part of bsr_rows4 needs: a transposed panel of pf input features and the staged outputs. */
export function bsr_rows4_work_bytes(pf: i32, fout: i32): i32 {
  return (pf + fout) * CHUNK4 * 4 + 64;
}

/**
 * As bsr_rows for 4 x 4 blocks, with tokens along the vectors (as bsr_rows1): each chunk of 16
 * tokens of src is transposed, one panel of pf input features at a time, into work [pf][16], and
 * every block row accumulates its 4 outputs x 16 tokens in work [fout][16] from the panel; the
 * outputs go back into dst 16 rows at a time while hot. Block k's weights are read at
 * wts + k 64 bytes as [i][j] (i: output within the block, j: input). bounds
 * [(panels + 1) * fout / 4] splits each block row's blocks by panel (pf / 4 block columns each).
 */
export function bsr_rows4(t0: i32, count: i32, fin: i32, fout: i32, panels: i32, pf: i32, bounds: usize, idx: usize,
  wts: usize, src: usize, dst: usize, work: usize): void {
  if (count <= 0) return;
  const srcT = (work + 63) & ~(<usize>63);
  const stage = srcT + (<usize>(pf * CHUNK4) << 2);
  const ldb = <usize>CHUNK4 << 2;
  const sstride = <usize>fin << 2;
  const dstride = <usize>fout << 2;
  const blockRows = fout >> 2;
  const end = t0 + count;
  for (let p0 = t0; p0 < end; p0 += CHUNK4) {
    const m = min(CHUNK4, end - p0);
    const dchunk = dst + <usize>p0 * dstride;
    for (let p = 0; p < panels; p++) {
      const f0 = p * pf;
      const f1 = min(fin, f0 + pf);
      transposeRect(src + <usize>p0 * sstride + (<usize>f0 << 2), sstride, srcT, ldb, 0, m, 0, f1 - f0);
      // Tokens past m read zeros (their outputs are never written back).
      if (m < CHUNK4) {
        for (let j = 0; j < f1 - f0; j++) {
          for (let t = m; t < CHUNK4; t++) store<f32>(srcT + <usize>j * ldb + (<usize>t << 2), 0);
        }
      }
      // Column c of src is row c - f0 of the panel.
      const base = srcT - <usize>f0 * ldb;
      const lo = bounds + (<usize>(p * blockRows) << 2);
      const hi = lo + (<usize>blockRows << 2);
      const last = p == panels - 1;
      for (let r0 = 0; r0 < blockRows; r0 += 4) {
        const r1 = min(r0 + 4, blockRows);
        for (let r = r0; r < r1; r++) {
          const k0 = load<i32>(lo + (<usize>r << 2));
          const k1 = load<i32>(hi + (<usize>r << 2));
          const o = stage + (<usize>(r << 2)) * ldb;
          rows4Tile(k0, k1, idx, wts, base, 0, o, p > 0);
          if (m > 8) rows4Tile(k0, k1, idx, wts, base, 32, o, p > 0);
        }
        // stage [rows 4 r0 .. 4 r1][tokens] -> dst [tokens][features 4 r0 .. 4 r1].
        if (last) transposeByDst(stage + <usize>(r0 << 2) * ldb, ldb, dchunk + (<usize>r0 << 4), dstride, (r1 - r0) << 2, m);
      }
    }
  }
}

/**
 * Packs `count` blocks of b x b (b a multiple of 4) for bsr_rows and bsr_rows4: out block i = block perm[i] of
 * values (perm = 0: block i), transposed when `transposeBlocks` is set.
 */
export function bsr_pack(values: usize, perm: usize, count: i32, b: i32, transposeBlocks: i32, out: usize): void {
  const bbBytes = <usize>(b * b) << 2;
  const ldb = <usize>b << 2;
  for (let i = 0; i < count; i++) {
    const from = perm ? <usize>load<i32>(perm + (<usize>i << 2)) : <usize>i;
    const s = values + from * bbBytes;
    const d = out + <usize>i * bbBytes;
    if (transposeBlocks) {
      for (let r = 0; r < b; r += 4) {
        for (let c = 0; c < b; c += 4) tile4(s, ldb, d, ldb, r, c);
      }
    } else if (b == 1) {
      store<f32>(d, load<f32>(s));
    } else {
      for (let e: usize = 0; e < bbBytes; e += 16) v128.store(d + e, v128.load(s + e));
    }
  }
}

/** Tokens per chunk of bsr_sddmm_rows. */
const CHUNK_DW: i32 = 32;

/** Workspace bytes one part of bsr_sddmm_rows needs: a chunk of dY (its block rows) and of X, packed. */
export function bsr_sddmm_rows_work_bytes(rowFeatures: i32, cols: i32): i32 {
  return (rowFeatures + cols) * CHUNK_DW * 4 + 128;
}

// dst[f][t][0..b) = src[t0 + t, f b .. f b + b) for the block columns f in [f0, f1) of src [n, ld]
// and the m tokens of a chunk (b a multiple of 4): b-wide segments copied, no shuffles.
function packSegments(src: usize, ld: i32, t0: i32, m: i32, b: i32, f0: i32, f1: i32, dst: usize): void {
  const ldb = <usize>ld << 2;
  const seg = <usize>b << 2;
  const panel = <usize>(CHUNK_DW * b) << 2;
  for (let t = 0; t < m; t++) {
    let s = src + <usize>(t0 + t) * ldb + <usize>f0 * seg;
    let d = dst + <usize>t * seg;
    for (let f = f0; f < f1; f++) {
      for (let e: usize = 0; e < seg; e += 16) v128.store(d + e, v128.load(s + e));
      s += seg;
      d += panel;
    }
  }
}

/**
 * dW at the active blocks [k0, k0 + count) (b a multiple of 8; 4 x 4 blocks run in bsr_sddmm4), from
 * row-major dy [n, rows] and x [n, cols]: out[k b² + i b + j] = Σ_t dy[t, R b + i] x[t, C b + j].
 * Chunks of 32 tokens are packed per block row / block column into work (each block's slice
 * contiguous, in L1), then 4 x 8 tiles of each block accumulate over the chunk with j along the vectors.
 * accumulate = 1 adds to out instead (the wrapper stages the tokens in chunks of its own).
 */
export function bsr_sddmm_rows(k0: i32, count: i32, b: i32, ptr: usize, blockRows: i32, idx: usize,
  dy: usize, x: usize, n: i32, rows: i32, cols: i32, out: usize, accumulate: i32, work: usize): void {
  if (count <= 0) return;
  const bb = b * b;
  const k1 = k0 + count;
  if (!accumulate) memory.fill(out + (<usize>(k0 * bb) << 2), 0, <usize>(count * bb) << 2);
  if (n <= 0) return;
  // Block rows of this part's blocks: [brA, brB).
  let brA = 0;
  while (brA < blockRows && load<i32>(ptr + (<usize>(brA + 1) << 2)) <= k0) brA++;
  let brB = brA;
  while (brB < blockRows && load<i32>(ptr + (<usize>brB << 2)) < k1) brB++;
  const dyp = (work + 63) & ~(<usize>63);
  const xp = dyp + (<usize>((brB - brA) * b * CHUNK_DW) << 2);
  const panel = <usize>(CHUNK_DW * b) << 2;
  const seg = <usize>b << 2;
  for (let p0 = 0; p0 < n; p0 += CHUNK_DW) {
    const m = min(CHUNK_DW, n - p0);
    packSegments(dy, rows, p0, m, b, brA, brB, dyp);
    packSegments(x, cols, p0, m, b, 0, cols / b, xp);
    let br = brA;
    for (let k = k0; k < k1; k++) {
      while (load<i32>(ptr + (<usize>(br + 1) << 2)) <= k) br++;
      const dBase = dyp + <usize>(br - brA) * panel;
      const xBase = xp + <usize>load<i32>(idx + (<usize>k << 2)) * panel;
      const o = out + (<usize>(k * bb) << 2);
      for (let i0 = 0; i0 < b; i0 += 4) {
        for (let j0 = 0; j0 < b; j0 += 8) {
          const r0 = o + (<usize>(i0 * b + j0) << 2);
          const r1 = r0 + seg;
          const r2 = r1 + seg;
          const r3 = r2 + seg;
          let a0 = v128.load(r0), a1 = v128.load(r0, 16);
          let a2 = v128.load(r1), a3 = v128.load(r1, 16);
          let a4 = v128.load(r2), a5 = v128.load(r2, 16);
          let a6 = v128.load(r3), a7 = v128.load(r3, 16);
          let dp = dBase + (<usize>i0 << 2);
          let xq = xBase + (<usize>j0 << 2);
          for (let t = 0; t < m; t++) {
            const x0 = v128.load(xq);
            const x1 = v128.load(xq, 16);
            let d = v128.load32_splat(dp);
            a0 = madd(d, x0, a0); a1 = madd(d, x1, a1);
            d = v128.load32_splat(dp, 4);
            a2 = madd(d, x0, a2); a3 = madd(d, x1, a3);
            d = v128.load32_splat(dp, 8);
            a4 = madd(d, x0, a4); a5 = madd(d, x1, a5);
            d = v128.load32_splat(dp, 12);
            a6 = madd(d, x0, a6); a7 = madd(d, x1, a7);
            dp += seg;
            xq += seg;
          }
          v128.store(r0, a0); v128.store(r0, a1, 16);
          v128.store(r1, a2); v128.store(r1, a3, 16);
          v128.store(r2, a4); v128.store(r2, a5, 16);
          v128.store(r3, a6); v128.store(r3, a7, 16);
        }
      }
    }
  }
}

/** Tokens per chunk of bsr_sddmm1 (8 vectors: one row of dY's chunk stays in registers). */
const CHUNK_DW1: i32 = 32;

/** Workspace bytes one part of bsr_sddmm1 needs: transposed chunks of dY (rows) and X, and a vector per block. */
export function bsr_sddmm1_work_bytes(rows: i32, cols: i32, count: i32): i32 {
  return (rows + cols) * CHUNK_DW1 * 4 + count * 16 + 192;
}

/**
 * dW at the active entries [k0, k0 + count) of a 1 x 1-block (CSR) weight, from row-major dy [n, rows]
 * and x [n, cols]: out[k] = Σ_t dy[t, r_k] x[t, c_k]. Chunks of 32 tokens are transposed into work
 * (token-minor, 8 vectors per feature); for each row r its 8 dY vectors stay in registers while the
 * row's entries multiply their x vectors into one partial-sum vector per entry, summed at the end (added to out when accumulate = 1).
 */
export function bsr_sddmm1(k0: i32, count: i32, ptr: usize, rows: i32, idx: usize,
  dy: usize, x: usize, n: i32, cols: i32, out: usize, accumulate: i32, work: usize): void {
  if (count <= 0) return;
  const k1 = k0 + count;
  let rA = 0;
  while (rA < rows && load<i32>(ptr + (<usize>(rA + 1) << 2)) <= k0) rA++;
  let rB = rA;
  while (rB < rows && load<i32>(ptr + (<usize>rB << 2)) < k1) rB++;
  const ldb = <usize>CHUNK_DW1 << 2;
  const dyT = (work + 63) & ~(<usize>63);
  const xT = dyT + <usize>(rB - rA) * ldb;
  const acc = xT + <usize>cols * ldb;
  memory.fill(acc, 0, <usize>count << 4);
  const dyStride = <usize>rows << 2;
  const xStride = <usize>cols << 2;
  for (let p0 = 0; p0 < n; p0 += CHUNK_DW1) {
    const m = min(CHUNK_DW1, n - p0);
    const m4 = (m + 3) & ~3;
    transposeRect(dy + <usize>p0 * dyStride + (<usize>rA << 2), dyStride, dyT, ldb, 0, m, 0, rB - rA);
    transposeRect(x + <usize>p0 * xStride, xStride, xT, ldb, 0, m, 0, cols);
    if (m < m4) {
      for (let f = 0; f < rB - rA; f++) for (let t = m; t < m4; t++) store<f32>(dyT + <usize>f * ldb + (<usize>t << 2), 0);
      for (let f = 0; f < cols; f++) for (let t = m; t < m4; t++) store<f32>(xT + <usize>f * ldb + (<usize>t << 2), 0);
    }
    for (let r = rA; r < rB; r++) {
      const ka = max(k0, load<i32>(ptr + (<usize>r << 2)));
      const kb = min(k1, load<i32>(ptr + (<usize>(r + 1) << 2)));
      const d = dyT + <usize>(r - rA) * ldb;
      if (m4 == CHUNK_DW1) {
        const d0 = v128.load(d), d1 = v128.load(d, 16), d2 = v128.load(d, 32), d3 = v128.load(d, 48);
        const d4 = v128.load(d, 64), d5 = v128.load(d, 80), d6 = v128.load(d, 96), d7 = v128.load(d, 112);
        for (let k = ka; k < kb; k++) {
          const xq = xT + <usize>load<i32>(idx + (<usize>k << 2)) * ldb;
          const a = acc + (<usize>(k - k0) << 4);
          let s0 = madd(d0, v128.load(xq), v128.load(a));
          let s1 = f32x4.mul(d1, v128.load(xq, 16));
          s0 = madd(d2, v128.load(xq, 32), s0);
          s1 = madd(d3, v128.load(xq, 48), s1);
          s0 = madd(d4, v128.load(xq, 64), s0);
          s1 = madd(d5, v128.load(xq, 80), s1);
          s0 = madd(d6, v128.load(xq, 96), s0);
          s1 = madd(d7, v128.load(xq, 112), s1);
          v128.store(a, f32x4.add(s0, s1));
        }
      } else {
        for (let k = ka; k < kb; k++) {
          const xq = xT + <usize>load<i32>(idx + (<usize>k << 2)) * ldb;
          const a = acc + (<usize>(k - k0) << 4);
          let s0 = v128.load(a);
          for (let t = 0; t < m4; t += 4) s0 = madd(v128.load(d + (<usize>t << 2)), v128.load(xq + (<usize>t << 2)), s0);
          v128.store(a, s0);
        }
      }
    }
  }
  for (let k = k0; k < k1; k++) {
    const o = out + (<usize>k << 2);
    const sum = hsum(v128.load(acc + (<usize>(k - k0) << 4)));
    store<f32>(o, accumulate ? load<f32>(o) + sum : sum);
  }
}

/** Tokens per chunk of bsr_sddmm4. */
const CHUNK_DW4: i32 = 32;

/** Workspace bytes one part of bsr_sddmm4 needs: transposed chunks of dY (rows) and X. */
export function bsr_sddmm4_work_bytes(rows: i32, cols: i32): i32 {
  return (rows + cols) * CHUNK_DW4 * 4 + 128;
}

// [Σ a, Σ b, Σ c, Σ d]: the lane sums of four vectors as one vector.
// @ts-ignore: decorator
@inline
function sum4(a: v128, b: v128, c: v128, d: v128): v128 {
  const ab = f32x4.add(v128.shuffle<f32>(a, b, 0, 4, 1, 5), v128.shuffle<f32>(a, b, 2, 6, 3, 7));
  const cd = f32x4.add(v128.shuffle<f32>(c, d, 0, 4, 1, 5), v128.shuffle<f32>(c, d, 2, 6, 3, 7));
  return f32x4.add(v128.shuffle<f32>(ab, cd, 0, 1, 4, 5), v128.shuffle<f32>(ab, cd, 2, 3, 6, 7));
}

/**
 * dW at the active 4 x 4 blocks [k0, k0 + count), from row-major dy [n, rows] and x [n, cols] (as
 * bsr_sddmm_rows), with tokens along the vectors: chunks of 32 tokens of dY (this part's block rows)
 * and X are transposed into work, and each block's 16 sums run as two 2 x 4 register tiles over the
 * chunk's token vectors (6 loads per 8 multiply-adds), reduced across lanes once per chunk; accumulate = 1 adds to out.
 */
export function bsr_sddmm4(k0: i32, count: i32, ptr: usize, blockRows: i32, idx: usize,
  dy: usize, x: usize, n: i32, rows: i32, cols: i32, out: usize, accumulate: i32, work: usize): void {
  if (count <= 0) return;
  const k1 = k0 + count;
  if (!accumulate) memory.fill(out + (<usize>(k0 * 16) << 2), 0, <usize>count << 6);
  if (n <= 0) return;
  let brA = 0;
  while (brA < blockRows && load<i32>(ptr + (<usize>(brA + 1) << 2)) <= k0) brA++;
  let brB = brA;
  while (brB < blockRows && load<i32>(ptr + (<usize>brB << 2)) < k1) brB++;
  const ldb = <usize>CHUNK_DW4 << 2;
  const dyT = (work + 63) & ~(<usize>63);
  const xT = dyT + <usize>((brB - brA) << 2) * ldb;
  const dyStride = <usize>rows << 2;
  const xStride = <usize>cols << 2;
  for (let p0 = 0; p0 < n; p0 += CHUNK_DW4) {
    const m = min(CHUNK_DW4, n - p0);
    const m4 = (m + 3) & ~3;
    const tEnd = <usize>m4 << 2;
    transposeRect(dy + <usize>p0 * dyStride + (<usize>(brA << 2) << 2), dyStride, dyT, ldb, 0, m, 0, (brB - brA) << 2);
    transposeRect(x + <usize>p0 * xStride, xStride, xT, ldb, 0, m, 0, cols);
    if (m < m4) {
      for (let f = 0; f < (brB - brA) << 2; f++) for (let t = m; t < m4; t++) store<f32>(dyT + <usize>f * ldb + (<usize>t << 2), 0);
      for (let f = 0; f < cols; f++) for (let t = m; t < m4; t++) store<f32>(xT + <usize>f * ldb + (<usize>t << 2), 0);
    }
    let br = brA;
    for (let k = k0; k < k1; k++) {
      while (load<i32>(ptr + (<usize>(br + 1) << 2)) <= k) br++;
      const xq = xT + (<usize>load<i32>(idx + (<usize>k << 2)) << 2) * ldb;
      const o = out + (<usize>k << 6);
      for (let i: usize = 0; i < 4; i += 2) {
        const d = dyT + ((<usize>(br - brA) << 2) + i) * ldb;
        let a0 = f32x4.splat(0), a1 = f32x4.splat(0), a2 = f32x4.splat(0), a3 = f32x4.splat(0);
        let a4 = f32x4.splat(0), a5 = f32x4.splat(0), a6 = f32x4.splat(0), a7 = f32x4.splat(0);
        for (let t: usize = 0; t < tEnd; t += 16) {
          const d0 = v128.load(d + t);
          const d1 = v128.load(d + ldb + t);
          let xv = v128.load(xq + t);
          a0 = madd(d0, xv, a0); a4 = madd(d1, xv, a4);
          xv = v128.load(xq + ldb + t);
          a1 = madd(d0, xv, a1); a5 = madd(d1, xv, a5);
          xv = v128.load(xq + 2 * ldb + t);
          a2 = madd(d0, xv, a2); a6 = madd(d1, xv, a6);
          xv = v128.load(xq + 3 * ldb + t);
          a3 = madd(d0, xv, a3); a7 = madd(d1, xv, a7);
        }
        const r0 = o + (i << 4);
        v128.store(r0, f32x4.add(v128.load(r0), sum4(a0, a1, a2, a3)));
        v128.store(r0, f32x4.add(v128.load(r0, 16), sum4(a4, a5, a6, a7)), 16);
      }
    }
  }
}
