// Block-sparse products (wrapped by src/backend/wasm/block-sparse.ts; plain twins in
// src/backend/reference/block-sparse.ts). The weight W [rows, cols] keeps its active b x b blocks
// listed per block row (ptr, idx = block column) with the values block after block, row-major.
//
// SIMD runs over tokens, which works the same for every block size (1x1 included): activations are
// transposed into [features][ld] panels (ld >= tokens rounded up to 4, padded with zeros), so a
// weight element is splatted and multiplied into 4-token vectors. A thread owns a range of tokens
// and transposes in and out only its own columns, so the parts never touch each other's memory.
//   Y = X Wᵀ:  Yt[R b + i, :] += W_k[i][j] Xt[C b + j, :]  over the blocks k = (R, C) of block row R
//   dX = dY W: the same over the block columns of W (CSC, blocks gathered in that order), W_k read transposed
//   dW_k[i][j] = Σ_t dYt[R b + i, t] Xt[C b + j, t]  (a sampled dense product, split over blocks)
// Register tiles: 4 weight rows x 8 tokens (8 accumulators, as the dense gemm's 4x8) for b >= 4;
// one weight row x 16 tokens for b = 1.

import { madd, hsum } from './vmath';

/** Tokens per panel of bsr_spmm (a multiple of 16). */
const PANEL: i32 = 64;

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

// dst[c * ldd + r] = src[r * lds + c] for r < rows, c < cols, in 16x16 blocks. Rows 1 KiB apart
// (a multiple of 256 floats, e.g. Y [n, 1024]) share cache sets, so the side with such a stride is
// walked 4 of its rows at a time, each line completed while hot; the panels' strides never are
// (panelStride). With one active block (transposes only), the forward of W [1024, 256] at n = 1024
// fell from ~15 ms to 1.5-4 ms on the loaded development VM.
function transpose(src: usize, lds: i32, dst: usize, ldd: i32, rows: i32, cols: i32): void {
  const ldsb = <usize>lds << 2;
  const lddb = <usize>ldd << 2;
  const r16 = rows & ~15;
  const c16 = cols & ~15;
  const bySource = (lds & 255) == 0;
  for (let r0 = 0; r0 < r16; r0 += 16) {
    for (let c0 = 0; c0 < c16; c0 += 16) {
      if (bySource) {
        for (let r = r0; r < r0 + 16; r += 4) {
          tile4(src, ldsb, dst, lddb, r, c0);
          tile4(src, ldsb, dst, lddb, r, c0 + 4);
          tile4(src, ldsb, dst, lddb, r, c0 + 8);
          tile4(src, ldsb, dst, lddb, r, c0 + 12);
        }
      } else {
        for (let c = c0; c < c0 + 16; c += 4) {
          tile4(src, ldsb, dst, lddb, r0, c);
          tile4(src, ldsb, dst, lddb, r0 + 4, c);
          tile4(src, ldsb, dst, lddb, r0 + 8, c);
          tile4(src, ldsb, dst, lddb, r0 + 12, c);
        }
      }
    }
  }
  transposeRect(src, ldsb, dst, lddb, 0, r16, c16, cols);
  transposeRect(src, ldsb, dst, lddb, r16, rows, 0, cols);
}

/** End of the padded token range of a part: the last part (ending at n) rounds up to 4. */
// @ts-ignore: decorator
@inline
function paddedEnd(t0: i32, count: i32, n: i32): i32 {
  const end = t0 + count;
  return end == n ? (n + 3) & ~3 : end;
}

/**
 * Rows [t0, t0 + count) of src [n, f] into the columns of dstT [f][ld]; the last part also zeroes
 * the padding columns up to n rounded to 4.
 */
export function bsr_transpose(t0: i32, count: i32, n: i32, f: i32, src: usize, dstT: usize, ld: i32): void {
  if (count <= 0) return;
  transpose(src + (<usize>t0 * <usize>f << 2), f, dstT + (<usize>t0 << 2), ld, count, f);
  const end = t0 + count;
  const pad = paddedEnd(t0, count, n);
  const ldb = <usize>ld << 2;
  for (let j = 0; j < f; j++) {
    for (let t = end; t < pad; t++) store<f32>(dstT + <usize>j * ldb + (<usize>t << 2), 0);
  }
}

// Yt rows i0..i0+3 of block row `br`, tokens t..t+7, from the blocks k0..k1 (b a multiple of 4).
// @ts-ignore: decorator
@inline
function tile4x8(k0: i32, k1: i32, idx: usize, values: usize, b: i32, i0: i32, si: i32, sj: i32,
  srcT: usize, ldb: usize, t: i32, out: usize): void {
  let a0 = f32x4.splat(0), a1 = f32x4.splat(0), a2 = f32x4.splat(0), a3 = f32x4.splat(0);
  let a4 = f32x4.splat(0), a5 = f32x4.splat(0), a6 = f32x4.splat(0), a7 = f32x4.splat(0);
  const bb = <usize>(b * b);
  const sib = <usize>si << 2;
  const sjb = <usize>sj << 2;
  const tOff = <usize>t << 2;
  for (let k = k0; k < k1; k++) {
    const c = <usize>load<i32>(idx + (<usize>k << 2));
    let w = values + ((<usize>k * bb + <usize>i0 * <usize>si) << 2);
    let xp = srcT + c * <usize>b * ldb + tOff;
    for (let j = 0; j < b; j++) {
      const x0 = v128.load(xp);
      const x1 = v128.load(xp, 16);
      const w0 = v128.load32_splat(w);
      const w1 = v128.load32_splat(w + sib);
      const w2 = v128.load32_splat(w + 2 * sib);
      const w3 = v128.load32_splat(w + 3 * sib);
      a0 = madd(w0, x0, a0); a1 = madd(w0, x1, a1);
      a2 = madd(w1, x0, a2); a3 = madd(w1, x1, a3);
      a4 = madd(w2, x0, a4); a5 = madd(w2, x1, a5);
      a6 = madd(w3, x0, a6); a7 = madd(w3, x1, a7);
      xp += ldb;
      w += sjb;
    }
  }
  const o = out + tOff;
  v128.store(o, a0); v128.store(o, a1, 16);
  v128.store(o + ldb, a2); v128.store(o + ldb, a3, 16);
  v128.store(o + 2 * ldb, a4); v128.store(o + 2 * ldb, a5, 16);
  v128.store(o + 3 * ldb, a6); v128.store(o + 3 * ldb, a7, 16);
}

// As tile4x8 for 4 tokens.
// @ts-ignore: decorator
@inline
function tile4x4(k0: i32, k1: i32, idx: usize, values: usize, b: i32, i0: i32, si: i32, sj: i32,
  srcT: usize, ldb: usize, t: i32, out: usize): void {
  let a0 = f32x4.splat(0), a1 = f32x4.splat(0), a2 = f32x4.splat(0), a3 = f32x4.splat(0);
  const bb = <usize>(b * b);
  const sib = <usize>si << 2;
  const sjb = <usize>sj << 2;
  const tOff = <usize>t << 2;
  for (let k = k0; k < k1; k++) {
    const c = <usize>load<i32>(idx + (<usize>k << 2));
    let w = values + ((<usize>k * bb + <usize>i0 * <usize>si) << 2);
    let xp = srcT + c * <usize>b * ldb + tOff;
    for (let j = 0; j < b; j++) {
      const x0 = v128.load(xp);
      a0 = madd(v128.load32_splat(w), x0, a0);
      a1 = madd(v128.load32_splat(w + sib), x0, a1);
      a2 = madd(v128.load32_splat(w + 2 * sib), x0, a2);
      a3 = madd(v128.load32_splat(w + 3 * sib), x0, a3);
      xp += ldb;
      w += sjb;
    }
  }
  const o = out + tOff;
  v128.store(o, a0);
  v128.store(o + ldb, a1);
  v128.store(o + 2 * ldb, a2);
  v128.store(o + 3 * ldb, a3);
}

/**
 * out[t, fout] = in[t, fin] · Sᵀ for the tokens [t0, t0 + count) of n, where S [fout, fin] is
 * block-sparse with blocks of b (1 or a multiple of 4) listed per block row of S: ptr [fout/b + 1],
 * idx (block columns), element (i, j) of block k at values[k b² + i si + j sj] (si = b, sj = 1 for W
 * itself; si = 1, sj = b for Wᵀ, its blocks gathered into block-column order by the caller).
 * srcT [fin][ld] and dstT [fout][ld] are workspaces shared by all parts (each uses its columns).
 */
export function bsr_spmm(t0: i32, count: i32, n: i32, fin: i32, fout: i32, b: i32,
  ptr: usize, idx: usize, values: usize, si: i32, sj: i32,
  src: usize, dst: usize, srcT: usize, dstT: usize, ld: i32): void {
  if (count <= 0) return;
  bsr_transpose(t0, count, n, fin, src, srcT, ld);
  const pad = paddedEnd(t0, count, n);
  const ldb = <usize>ld << 2;
  const blockRows = fout / b;
  // Token panels keep the input rows the panel reads (fin x PANEL floats) in L2 across all block rows.
  for (let p0 = t0; p0 < pad; p0 += PANEL) {
    const p1 = min(p0 + PANEL, pad);
    for (let br = 0; br < blockRows; br++) {
      const k0 = load<i32>(ptr + (<usize>br << 2));
      const k1 = load<i32>(ptr + (<usize>(br + 1) << 2));
      if (b == 1) {
        const out = dstT + <usize>br * ldb;
        let t = p0;
        for (; t + 16 <= p1; t += 16) {
          let a0 = f32x4.splat(0), a1 = f32x4.splat(0), a2 = f32x4.splat(0), a3 = f32x4.splat(0);
          const tOff = <usize>t << 2;
          for (let k = k0; k < k1; k++) {
            const c = <usize>load<i32>(idx + (<usize>k << 2));
            const w = v128.load32_splat(values + (<usize>k << 2));
            const xp = srcT + c * ldb + tOff;
            a0 = madd(w, v128.load(xp), a0);
            a1 = madd(w, v128.load(xp, 16), a1);
            a2 = madd(w, v128.load(xp, 32), a2);
            a3 = madd(w, v128.load(xp, 48), a3);
          }
          const o = out + tOff;
          v128.store(o, a0); v128.store(o, a1, 16); v128.store(o, a2, 32); v128.store(o, a3, 48);
        }
        for (; t < p1; t += 4) {
          let a0 = f32x4.splat(0);
          const tOff = <usize>t << 2;
          for (let k = k0; k < k1; k++) {
            const c = <usize>load<i32>(idx + (<usize>k << 2));
            a0 = madd(v128.load32_splat(values + (<usize>k << 2)), v128.load(srcT + c * ldb + tOff), a0);
          }
          v128.store(out + tOff, a0);
        }
      } else {
        for (let i0 = 0; i0 < b; i0 += 4) {
          const out = dstT + <usize>(br * b + i0) * ldb;
          let t = p0;
          for (; t + 8 <= p1; t += 8) tile4x8(k0, k1, idx, values, b, i0, si, sj, srcT, ldb, t, out);
          for (; t < p1; t += 4) tile4x4(k0, k1, idx, values, b, i0, si, sj, srcT, ldb, t, out);
        }
      }
    }
  }
  transpose(dstT + (<usize>t0 << 2), ld, dst + (<usize>t0 * <usize>fout << 2), fout, fout, count);
}

/**
 * dW at the active blocks [k0, k0 + count): out[k b² + i b + j] = Σ_t dyT[R b + i, t] xT[C b + j, t]
 * over the npad (multiple of 4, zero padded) token columns of dyT [rows][ld] and xT [cols][ld].
 */
export function bsr_sddmm(k0: i32, count: i32, b: i32, ptr: usize, blockRows: i32, idx: usize,
  dyT: usize, xT: usize, ld: i32, npad: i32, out: usize): void {
  if (count <= 0) return;
  const ldb = <usize>ld << 2;
  const bb = b * b;
  let br = 0;
  while (br < blockRows && load<i32>(ptr + (<usize>(br + 1) << 2)) <= k0) br++;
  const n16 = npad & ~15;
  for (let k = k0; k < k0 + count; k++) {
    while (load<i32>(ptr + (<usize>(br + 1) << 2)) <= k) br++;
    const c = <usize>load<i32>(idx + (<usize>k << 2));
    const o = out + (<usize>(k * bb) << 2);
    if (b == 1) {
      const dp = dyT + <usize>br * ldb;
      const xp = xT + c * ldb;
      let s0 = f32x4.splat(0), s1 = f32x4.splat(0), s2 = f32x4.splat(0), s3 = f32x4.splat(0);
      let t = 0;
      for (; t < n16; t += 16) {
        const off = <usize>t << 2;
        s0 = madd(v128.load(dp + off), v128.load(xp + off), s0);
        s1 = madd(v128.load(dp + off, 16), v128.load(xp + off, 16), s1);
        s2 = madd(v128.load(dp + off, 32), v128.load(xp + off, 32), s2);
        s3 = madd(v128.load(dp + off, 48), v128.load(xp + off, 48), s3);
      }
      for (; t < npad; t += 4) {
        const off = <usize>t << 2;
        s0 = madd(v128.load(dp + off), v128.load(xp + off), s0);
      }
      store<f32>(o, hsum(f32x4.add(f32x4.add(s0, s1), f32x4.add(s2, s3))));
      continue;
    }
    for (let i = 0; i < b; i += 2) {
      const d0 = dyT + <usize>(br * b + i) * ldb;
      const d1 = d0 + ldb;
      for (let j = 0; j < b; j += 4) {
        const x0 = xT + (c * <usize>b + <usize>j) * ldb;
        const x1 = x0 + ldb;
        const x2 = x1 + ldb;
        const x3 = x2 + ldb;
        let a0 = f32x4.splat(0), a1 = f32x4.splat(0), a2 = f32x4.splat(0), a3 = f32x4.splat(0);
        let a4 = f32x4.splat(0), a5 = f32x4.splat(0), a6 = f32x4.splat(0), a7 = f32x4.splat(0);
        for (let t = 0; t < npad; t += 4) {
          const off = <usize>t << 2;
          const u = v128.load(d0 + off);
          const v = v128.load(d1 + off);
          const p0 = v128.load(x0 + off);
          const p1 = v128.load(x1 + off);
          const p2 = v128.load(x2 + off);
          const p3 = v128.load(x3 + off);
          a0 = madd(u, p0, a0); a1 = madd(u, p1, a1); a2 = madd(u, p2, a2); a3 = madd(u, p3, a3);
          a4 = madd(v, p0, a4); a5 = madd(v, p1, a5); a6 = madd(v, p2, a6); a7 = madd(v, p3, a7);
        }
        const r0 = o + (<usize>(i * b + j) << 2);
        const r1 = r0 + (<usize>b << 2);
        store<f32>(r0, hsum(a0)); store<f32>(r0, hsum(a1), 4); store<f32>(r0, hsum(a2), 8); store<f32>(r0, hsum(a3), 12);
        store<f32>(r1, hsum(a4)); store<f32>(r1, hsum(a5), 4); store<f32>(r1, hsum(a6), 8); store<f32>(r1, hsum(a7), 12);
      }
    }
  }
}
