// Decode-time attention kernels (query length 1) over a KV cache in this memory: dense attention,
// SparQ, and the baselines (LM-Infinite, FlexGen / oracle, H2O). Each call runs a list of head
// tasks (one KV head of one sequence with its group of g query heads); JS splits the list over
// threads, each with its own workspace.
//
// Memory behaviour, which decides the speed (shared/engine-measurements.md sections 3-4):
// - dense streams K, then V, one row at a time (a single stream keeps the hardware prefetcher
//   on; interleaving rows halved the bandwidth);
// - SparQ step 1 reads r rows of the transposed K (long contiguous runs, streaming rate), 4 at a
//   time, or, with K stored once, r scattered components of every K row;
// - SparQ step 2 makes one pass over the k selected positions, 4 at a time, with an online
//   softmax: the 4 K rows and 4 V rows of a group are independent loads (8 rows in flight), and
//   rows 8 positions ahead are touched first (wasm has no prefetch instruction; each gathered row
//   usually starts a new page, so a TLB miss and a DRAM miss) - measured 5-30% faster;
// - reading two adjacent rows per loop iteration instead of one was measured 1.7x slower for the
//   dense V pass (the prefetcher follows one stream), so dense keeps one row at a time;
// - selection is exact top-k in O(S): a strided sample gives a threshold that keeps a few times k
//   candidates, one SIMD pass collects them, and quickselect finishes on the candidates.
// head dim d must be a multiple of 4 (JS falls back to the reference kernels otherwise).

import { hmax, hsum, madd } from './vmath';

// Task descriptor: 8 i32 fields (src/backend/wasm/attention.ts writes them).
const D_BLOCK: usize = 0; // the KV block (layout below)
const D_CAP: usize = 4; // its capacity (positions)
const D_LEN: usize = 8; // positions stored
// 12: unused (0)
const D_Q: usize = 16; // q rows [g, d]
const D_OUT: usize = 20; // out rows [g, d]
const D_SCORES: usize = 24; // H2O: the score vector [>= len] (-inf = evicted), else 0
const DESC_BYTES: usize = 32;

// The KV block layout, in floats from the block's start. It is defined once, in TypeScript
// (kvBlockLayout, src/ops/attention-kernels.ts); this module cannot import it, so it repeats it
// and kv_block_offset lets test/attention/wasm-kernels.test.ts check that the two agree.
//   [ mean of V: d ][ running sum of V: d ][ K rows: cap x d ][ V rows: cap x d ][ K^T: d x cap ]
const PART_MEAN = 0;
const PART_SUM = 1;
const PART_K = 2;
const PART_V = 3;
const PART_KT = 4;

// @ts-ignore: decorator
@inline
function blockOffset(part: i32, d: i32, cap: i32): i32 {
  if (part == PART_MEAN) return 0;
  if (part == PART_SUM) return d;
  if (part == PART_K) return 2 * d;
  if (part == PART_V) return 2 * d + cap * d;
  return 2 * d + 2 * cap * d;
}

/** Offset (floats) of a part of the block layout: 0 mean, 1 sum, 2 K, 3 V, 4 K^T. */
export function kv_block_offset(part: i32, d: i32, cap: i32): i32 {
  return blockOffset(part, d, cap);
}

/** Byte address of a part of task dp's block. */
// @ts-ignore: decorator
@inline
function partPtr(dp: usize, part: i32, d: i32): usize {
  return <usize>load<i32>(dp + D_BLOCK) + (<usize>blockOffset(part, d, load<i32>(dp + D_CAP)) << 2);
}

const FLT_MAX: f32 = 3.4028234663852886e38;
const SAMPLE = 1024;

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
  return f32x4.max(f32x4.min(v, f32x4.splat(FLT_MAX)), f32x4.splat(-FLT_MAX));
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
  let p = madd(f32x4.splat(E5), r, f32x4.splat(E4));
  p = madd(p, r, f32x4.splat(E3));
  p = madd(p, r, f32x4.splat(E2));
  p = madd(p, r, f32x4.splat(E1));
  p = madd(p, r, f32x4.splat(E0));
  const scale = i32x4.shl(i32x4.add(i32x4.trunc_sat_f32x4_s(n), i32x4.splat(127)), 23);
  return v128.andnot(f32x4.mul(p, scale), f32x4.lt(x0, f32x4.splat(-87.0)));
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

/** p[i] *= s for n4 floats (a multiple of 4). */
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

/** dst[i] += src[i] for n4 floats. */
function addInPlace(dst: usize, src: usize, n4: i32): void {
  for (let i = 0; i < n4; i += 4) {
    const o = <usize>i << 2;
    v128.store(dst + o, f32x4.add(v128.load(dst + o), v128.load(src + o)));
  }
}

/** out[c] += w * row[c] for d floats (d a multiple of 4; w splatted). */
// @ts-ignore: decorator
@inline
function addScaledRow(out: usize, row: usize, w: v128, d: i32): void {
  for (let c = 0; c < d; c += 4) {
    const o = <usize>c << 2;
    v128.store(out + o, madd(w, v128.load(row + o), v128.load(out + o)));
  }
}

/** out[c] += w0 * r0[c] + w1 * r1[c] + w2 * r2[c] + w3 * r3[c], added in that order (4 independent row loads). */
// @ts-ignore: decorator
@inline
function addScaledRows4(out: usize, r0: usize, r1: usize, r2: usize, r3: usize,
  w0: v128, w1: v128, w2: v128, w3: v128, d: i32): void {
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

/**
 * scores[h * L + i] = q_h . k_i / sqrt(d), clamped to the finite range, for every position i < len
 * and query head h < g: one K row at a time (the row stays in L1 across the group).
 */
// @ts-ignore: decorator
@inline
function exactLogits(qp: usize, kp: usize, len: i32, d: i32, g: i32, scores: usize, L: i32): void {
  const scale = <f32>(1.0 / Math.sqrt(<f64>d));
  const rowBytes = <usize>d << 2;
  for (let i = 0; i < len; i++) {
    const kr = kp + <usize>i * rowBytes;
    for (let h = 0; h < g; h++) {
      let s = dot(qp + <usize>h * rowBytes, kr, d) * scale;
      s = min(max(s, -FLT_MAX), FLT_MAX);
      setf(scores, h * L + i, s);
    }
  }
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

/**
 * Ascending indices of the `want` largest of vals[0..n) (ties toward lower indices), written to
 * out; returns the count (min(want, n)). vals must hold no NaN and stays unchanged. Work: candVals
 * and candIdx (n floats / ints each) and sample (SAMPLE floats).
 */
function topkIndices(vals: usize, n: i32, want: i32, out: usize, candVals: usize, candIdx: usize, sample: usize): i32 {
  if (want <= 0) return 0;
  if (want >= n) {
    for (let i = 0; i < n; i++) setIdx(out, i, i);
    return n;
  }
  // Candidates: every value >= a threshold estimated from a strided sample; fall back to all of them.
  let count = 0;
  if (n >= 256 && want * 8 <= n) {
    const m = n >> 2 < SAMPLE ? n >> 2 : SAMPLE;
    const step = n / m;
    for (let s = 0; s < m; s++) setf(sample, s, f(vals, s * step));
    // Keep about 2x the expected number of sample hits above the cut, plus a margin.
    let rank = <i32>((<i64>want * m * 2) / n) + 8;
    if (rank > m - 1) rank = m - 1;
    const cut = nthLargest(sample, m, rank);
    const cv = f32x4.splat(cut);
    const n4 = n & ~3;
    let i = 0;
    for (; i < n4; i += 4) {
      const v = v128.load(vals + (<usize>i << 2));
      let bits = i32x4.bitmask(f32x4.ge(v, cv));
      while (bits != 0) {
        const lane = ctz<i32>(bits);
        bits &= bits - 1;
        setf(candVals, count, f(vals, i + lane));
        setIdx(candIdx, count, i + lane);
        count++;
      }
    }
    for (; i < n; i++) {
      const v = f(vals, i);
      if (v >= cut) {
        setf(candVals, count, v);
        setIdx(candIdx, count, i);
        count++;
      }
    }
    if (count < want) count = 0;
  }
  if (count == 0) {
    for (let i = 0; i < n; i++) {
      setf(candVals, i, f(vals, i));
      setIdx(candIdx, i, i);
    }
    count = n;
  }
  // candVals is reordered by nthLargest; candIdx keeps ascending order, values are re-read from vals.
  const threshold = nthLargest(candVals, count, want - 1);
  let above = 0;
  for (let c = 0; c < count; c++) if (f(vals, idx(candIdx, c)) > threshold) above++;
  let ties = want - above;
  let w = 0;
  for (let c = 0; c < count; c++) {
    const i = idx(candIdx, c);
    const v = f(vals, i);
    if (v > threshold) {
      setIdx(out, w++, i);
    } else if (v == threshold && ties > 0) {
      setIdx(out, w++, i);
      ties--;
    }
  }
  return w;
}

// ------------------------------------------------------------------------------------------------
// Dense

/** Bytes of workspace one thread needs for dense attention over up to maxLen positions. */
export function attn_dense_work_bytes(maxLen: i32, g: i32): i32 {
  return (g * align16(maxLen) + 64) << 2;
}

/** Dense decode attention for tasks [0, count) of the descriptor table. */
export function attn_dense(desc: usize, count: i32, d: i32, g: i32, work: usize): void {
  const rowBytes = <usize>d << 2;
  for (let t = 0; t < count; t++) {
    const dp = desc + <usize>t * DESC_BYTES;
    const kp = partPtr(dp, PART_K, d);
    const vp = partPtr(dp, PART_V, d);
    const len = load<i32>(dp + D_LEN);
    const qp = <usize>load<i32>(dp + D_Q);
    const op = <usize>load<i32>(dp + D_OUT);
    const L = align16(len);
    const n4 = (len + 3) & ~3;
    exactLogits(qp, kp, len, d, g, work, L);
    for (let h = 0; h < g; h++) {
      const sp = work + (<usize>(h * L) << 2);
      padTail(sp, len, n4);
      const mx = maxOf(sp, n4);
      const sum = expInPlace(sp, n4, mx);
      scaleInPlace(sp, n4, <f32>(1.0 / sum));
      memory.fill(op + <usize>h * rowBytes, 0, rowBytes);
    }
    // Weighted sum of V, one row at a time, into out (L1-resident accumulators).
    for (let i = 0; i < len; i++) {
      const vr = vp + <usize>i * rowBytes;
      for (let h = 0; h < g; h++) addScaledRow(op + <usize>h * rowBytes, vr, f32x4.splat(f(work, h * L + i)), d);
    }
  }
}

// ------------------------------------------------------------------------------------------------
// SparQ

// Rows this far ahead (in the selection) are touched before their turn (see the top of the file).
// 16 rows ahead, or two lines per row, measured no better.
const AHEAD = 8;

// @ts-ignore: decorator
@inline
function touchRows(base: usize, sel: usize, j: i32, rowBytes: usize): f32 {
  const r0 = base + <usize>idx(sel, j) * rowBytes;
  const r1 = base + <usize>idx(sel, j + 1) * rowBytes;
  const r2 = base + <usize>idx(sel, j + 2) * rowBytes;
  const r3 = base + <usize>idx(sel, j + 3) * rowBytes;
  return (load<f32>(r0) + load<f32>(r1)) + (load<f32>(r2) + load<f32>(r3));
}

/**
 * Step 2, shared by SparQ and the baselines: exact attention of the group's query heads over the
 * positions sel[0 .. cnt) (ascending, cnt >= 1) in one pass, 4 at a time. Leaves out unnormalised:
 * the caller scales row h by alpha / lrun[h]. With logits != 0 the scaled logits are kept there
 * ([g, K] floats, K a multiple of 4 >= cnt) for H2O's weights (exp(logit - mrun[h]) / lrun[h]).
 */
// Inlined into each kernel, as step 2 was inside attn_sparq before it was shared.
// @ts-ignore: decorator
@inline
function attendSelectedRows(kp: usize, vp: usize, qp: usize, op: usize, sel: usize, cnt: i32, d: i32, g: i32,
  mrun: usize, lrun: usize, logits: usize, K: i32, sinkp: usize): void {
  const scale = <f32>(1.0 / Math.sqrt(<f64>d));
  const rowBytes = <usize>d << 2;
  let sink: f32 = 0;
  // Step 2 in one pass over the selected positions, 4 at a time: exact logits from the K rows,
  // an online softmax (running max and sum, rescaling the accumulator when the max grows), and
  // the weighted V rows. The K and V rows of a group are independent loads, so 8 rows are in
  // flight; the rows stay in L1 for the other heads of the group.
  for (let h = 0; h < g; h++) {
    setf(mrun, h, -Infinity);
    setf(lrun, h, 0);
    memory.fill(op + <usize>h * rowBytes, 0, rowBytes);
  }
  const last = idx(sel, cnt - 1);
  for (let j = 0; j < cnt; j += 4) {
    if (j + AHEAD + 4 <= cnt) {
      sink += touchRows(kp, sel, j + AHEAD, rowBytes);
      sink += touchRows(vp, sel, j + AHEAD, rowBytes);
    }
    const n = cnt - j < 4 ? cnt - j : 4;
    // A short last group repeats the last row with weight 0.
    const i0 = <usize>idx(sel, j) * rowBytes;
    const i1 = <usize>(n > 1 ? idx(sel, j + 1) : last) * rowBytes;
    const i2 = <usize>(n > 2 ? idx(sel, j + 2) : last) * rowBytes;
    const i3 = <usize>(n > 3 ? idx(sel, j + 3) : last) * rowBytes;
    for (let h = 0; h < g; h++) {
      const qh = qp + <usize>h * rowBytes;
      let a0 = f32x4.splat(0);
      let a1 = f32x4.splat(0);
      let a2 = f32x4.splat(0);
      let a3 = f32x4.splat(0);
      for (let c = 0; c < d; c += 4) {
        const o = <usize>c << 2;
        const qv = v128.load(qh + o);
        a0 = madd(qv, v128.load(kp + i0 + o), a0);
        a1 = madd(qv, v128.load(kp + i1 + o), a1);
        a2 = madd(qv, v128.load(kp + i2 + o), a2);
        a3 = madd(qv, v128.load(kp + i3 + o), a3);
      }
      let sv = f32x4.splat(hsum(a0));
      sv = f32x4.replace_lane(sv, 1, hsum(a1));
      sv = f32x4.replace_lane(sv, 2, hsum(a2));
      sv = f32x4.replace_lane(sv, 3, hsum(a3));
      sv = clampLogit(f32x4.mul(sv, f32x4.splat(scale)));
      if (n < 4) {
        if (n < 2) sv = f32x4.replace_lane(sv, 1, -Infinity);
        if (n < 3) sv = f32x4.replace_lane(sv, 2, -Infinity);
        sv = f32x4.replace_lane(sv, 3, -Infinity);
      }
      if (logits != 0) v128.store(logits + (<usize>(h * K + j) << 2), sv);
      const orow = op + <usize>h * rowBytes;
      const mx = hmax(sv);
      let m = f(mrun, h);
      if (mx > m) {
        const factor = f32x4.extract_lane(softmaxExp(f32x4.splat(m - mx)), 0);
        scaleInPlace(orow, d, factor);
        setf(lrun, h, f(lrun, h) * factor);
        m = mx;
        setf(mrun, h, m);
      }
      const w = softmaxExp(f32x4.sub(sv, f32x4.splat(m)));
      setf(lrun, h, f(lrun, h) + hsum(w));
      addScaledRows4(orow, vp + i0, vp + i1, vp + i2, vp + i3,
        f32x4.splat(f32x4.extract_lane(w, 0)), f32x4.splat(f32x4.extract_lane(w, 1)),
        f32x4.splat(f32x4.extract_lane(w, 2)), f32x4.splat(f32x4.extract_lane(w, 3)), d);
    }
  }
  // Keeps the touch loads alive (the value itself is meaningless).
  store<f32>(sinkp, sink);
}

// @ts-ignore: decorator
@inline
function sparqScoresBytes(L: i32, g: i32): i32 {
  return (g * L) << 2;
}

/** Bytes of workspace one thread needs for SparQ (and the baselines) over up to maxLen positions. */
export function attn_sparq_work_bytes(maxLen: i32, g: i32, k: i32, d: i32): i32 {
  const L = align16(maxLen);
  const K = align16(k);
  const C = L > align16(d) ? L : align16(d);
  return sparqScoresBytes(L, g) // approximate scores [g, L]
    + (L << 2) // summed scores (GQA)
    + (C << 2) * 2 // candidate values and indices (positions, or components for i1)
    + (K << 2) // selected indices
    + (SAMPLE << 2)
    + (align16(d) << 2) * 2 // components, |q| sums
    + (g * align16(d)) * 16 // q components splatted (v128)
    + (align16(g) << 2) * 4 // running max and sum of step 2, 1/tau, alpha
    + ((g * K) << 2) // H2O: the logits of the selected positions
    + 64 // the sink of the touch loads
    + 256;
}

/**
 * SparQ decode attention for tasks [0, count): r components, k positions, local window l,
 * reallocation on/off, transposed: read step 1 from K^T (else from the K rows).
 */
export function attn_sparq(desc: usize, count: i32, d: i32, g: i32, r: i32, k: i32, l: i32,
  realloc: i32, transposed: i32, work: usize): void {
  const rowBytes = <usize>d << 2;
  for (let t = 0; t < count; t++) {
    const dp = desc + <usize>t * DESC_BYTES;
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
    const C = L > align16(d) ? L : align16(d);
    const n4 = (len + 3) & ~3;
    // Workspace carving (same order as attn_sparq_work_bytes).
    const scores = work;
    const summed = scores + <usize>sparqScoresBytes(L, g);
    const candVals = summed + (<usize>L << 2);
    const candIdx = candVals + (<usize>C << 2);
    const sel = candIdx + (<usize>C << 2);
    const sample = sel + (<usize>K << 2);
    const comps = sample + (<usize>SAMPLE << 2);
    const absq = comps + (<usize>align16(d) << 2);
    const qsplat = absq + (<usize>align16(d) << 2);
    const mrun = qsplat + <usize>(g * align16(d)) * 16;
    const lrun = mrun + (<usize>align16(g) << 2);
    const invTau = lrun + (<usize>align16(g) << 2);
    const alpha = invTau + (<usize>align16(g) << 2);
    const sinkp = alpha + (<usize>align16(g) << 2);

    // i1: top-r components of |q| summed over the group.
    for (let c = 0; c < d; c++) {
      let s: f32 = 0;
      for (let h = 0; h < g; h++) s += abs(f(qp + <usize>h * rowBytes, c));
      setf(absq, c, s);
    }
    const rr = r < d ? r : d;
    topkIndices(absq, d, rr, comps, candVals, candIdx, sample);
    // Temperatures and the splatted components of q.
    for (let h = 0; h < g; h++) {
      const qh = qp + <usize>h * rowBytes;
      let full: f32 = 0;
      for (let c = 0; c < d; c++) full += abs(f(qh, c));
      let part: f32 = 0;
      for (let j = 0; j < rr; j++) {
        const qc = f(qh, idx(comps, j));
        part += abs(qc);
        v128.store(qsplat + <usize>(h * rr + j) * 16, f32x4.splat(qc));
      }
      const tau = full > 0 && part > 0 ? <f32>Math.sqrt(<f64>d * <f64>part / <f64>full) : <f32>1;
      setf(invTau, h, <f32>1 / tau);
    }

    // Step 1: approximate logits of every position.
    if (transposed != 0) {
      // Components 4 at a time: 4 contiguous K^T rows streamed together into the score rows.
      for (let j0 = 0; j0 < rr; j0 += 4) {
        const nc = rr - j0 < 4 ? rr - j0 : 4;
        const r0 = ktp + (<usize>(idx(comps, j0) * ktStride) << 2);
        const r1 = nc > 1 ? ktp + (<usize>(idx(comps, j0 + 1) * ktStride) << 2) : r0;
        const r2 = nc > 2 ? ktp + (<usize>(idx(comps, j0 + 2) * ktStride) << 2) : r0;
        const r3 = nc > 3 ? ktp + (<usize>(idx(comps, j0 + 3) * ktStride) << 2) : r0;
        for (let h = 0; h < g; h++) {
          const qs = qsplat + <usize>(h * rr + j0) * 16;
          const q0 = v128.load(qs);
          const q1 = nc > 1 ? v128.load(qs, 16) : f32x4.splat(0);
          const q2 = nc > 2 ? v128.load(qs, 32) : f32x4.splat(0);
          const q3 = nc > 3 ? v128.load(qs, 48) : f32x4.splat(0);
          const sp = scores + (<usize>(h * L) << 2);
          const first = j0 == 0;
          for (let i = 0; i < n4; i += 4) {
            const o = <usize>i << 2;
            let acc = first ? f32x4.splat(0) : v128.load(sp + o);
            acc = madd(q0, v128.load(r0 + o), acc);
            acc = madd(q1, v128.load(r1 + o), acc);
            acc = madd(q2, v128.load(r2 + o), acc);
            acc = madd(q3, v128.load(r3 + o), acc);
            v128.store(sp + o, acc);
          }
        }
      }
      if (rr == 0) for (let h = 0; h < g; h++) memory.fill(scores + (<usize>(h * L) << 2), 0, <usize>n4 << 2);
    } else {
      // K stored once: r scattered components of every row.
      for (let i = 0; i < len; i++) {
        const kr = kp + <usize>i * rowBytes;
        for (let h = 0; h < g; h++) {
          const qh = qp + <usize>h * rowBytes;
          let s: f32 = 0;
          for (let j = 0; j < rr; j++) {
            const c = idx(comps, j);
            s += f(qh, c) * f(kr, c);
          }
          setf(scores, h * L + i, s);
        }
      }
    }
    // Approximate scores s_hat = softmax(logits / tau) per query head: one pass scales, clamps and
    // finds the max, one exponentiates. With g = 1 the exponentials are not normalised: selection
    // only needs their order, and alpha divides by the sum.
    for (let h = 0; h < g; h++) {
      const sp = scores + (<usize>(h * L) << 2);
      padTail(sp, len, n4);
      const sv = f32x4.splat(f(invTau, h));
      let m0 = f32x4.splat(-Infinity);
      for (let i = 0; i < n4; i += 4) {
        const o = <usize>i << 2;
        const v = clampLogit(f32x4.mul(v128.load(sp + o), sv));
        v128.store(sp + o, v);
        m0 = f32x4.max(m0, v);
      }
      // The padding lanes were clamped to -FLT_MAX (never above the max); back to -inf so that they
      // exponentiate to 0 even when every logit is -FLT_MAX.
      padTail(sp, len, n4);
      const sum = expInPlace(sp, n4, hmax(m0));
      if (g > 1) scaleInPlace(sp, n4, <f32>(1.0 / sum));
      else setf(alpha, 0, <f32>sum);
    }
    // Selection key: s_hat summed over the group (for g = 1 the exponentials themselves).
    let key = scores;
    if (g > 1) {
      key = summed;
      memory.copy(summed, scores, <usize>n4 << 2);
      for (let h = 1; h < g; h++) addInPlace(summed, scores + (<usize>(h * L) << 2), n4);
    }
    // i2: the local window plus the top of the rest.
    const kk = k < len ? k : len;
    const ll = l < kk ? l : kk;
    const localStart = len - ll;
    let cnt = topkIndices(key, localStart, kk - ll, sel, candVals, candIdx, sample);
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

    attendSelectedRows(kp, vp, qp, op, sel, cnt, d, g, mrun, lrun, 0, 0, sinkp);
    // Normalise, with alpha folded in.
    for (let h = 0; h < g; h++) scaleInPlace(op + <usize>h * rowBytes, d, <f32>(<f64>f(alpha, h) / <f64>f(lrun, h)));
    // Reallocation: the left-over mass goes to the mean of V.
    if (realloc != 0) {
      for (let h = 0; h < g; h++) addScaledRow(op + <usize>h * rowBytes, meanp, f32x4.splat(<f32>1 - f(alpha, h)), d);
    }
  }
}

// ------------------------------------------------------------------------------------------------
// Baselines: LM-Infinite, FlexGen / oracle, H2O. Same workspace as SparQ (attn_sparq_work_bytes).

/** Scales out row h by alpha / lrun[h] (alpha 1): the end of step 2 without reallocation. */
function normaliseRows(op: usize, lrun: usize, d: i32, g: i32): void {
  const rowBytes = <usize>d << 2;
  for (let h = 0; h < g; h++) scaleInPlace(op + <usize>h * rowBytes, d, <f32>(1.0 / <f64>f(lrun, h)));
}

/** LM-Infinite: the first `sinks` positions plus the most recent, min(k, len) in all. */
export function attn_lminf(desc: usize, count: i32, d: i32, g: i32, k: i32, sinks: i32, work: usize): void {
  const K = align16(k);
  const mrun = work;
  const lrun = mrun + (<usize>align16(g) << 2);
  const sel = lrun + (<usize>align16(g) << 2);
  const sinkp = sel + (<usize>K << 2);
  for (let t = 0; t < count; t++) {
    const dp = desc + <usize>t * DESC_BYTES;
    const len = load<i32>(dp + D_LEN);
    const cnt = k < len ? k : len;
    const head = sinks < cnt ? sinks : cnt;
    let c = 0;
    for (let i = 0; i < head; i++) setIdx(sel, c++, i);
    for (let i = len - (cnt - head); i < len; i++) setIdx(sel, c++, i);
    const op = <usize>load<i32>(dp + D_OUT);
    attendSelectedRows(partPtr(dp, PART_K, d), partPtr(dp, PART_V, d), <usize>load<i32>(dp + D_Q), op, sel, cnt, d, g,
      mrun, lrun, 0, 0, sinkp);
    normaliseRows(op, lrun, d, g);
  }
}

/**
 * FlexGen (and the oracle): exact logits of every position, the top k of the softmax
 * probabilities summed over the group, then attention over those from the same logits (the K
 * rows are read once).
 */
export function attn_exact(desc: usize, count: i32, d: i32, g: i32, k: i32, maxLen: i32, work: usize): void {
  const rowBytes = <usize>d << 2;
  const LM = align16(maxLen);
  const C = LM > align16(d) ? LM : align16(d);
  const K = align16(k);
  const scores = work;
  const summed = scores + <usize>sparqScoresBytes(LM, g);
  const candVals = summed + (<usize>LM << 2);
  const candIdx = candVals + (<usize>C << 2);
  const sel = candIdx + (<usize>C << 2);
  const sample = sel + (<usize>K << 2);
  for (let t = 0; t < count; t++) {
    const dp = desc + <usize>t * DESC_BYTES;
    const kp = partPtr(dp, PART_K, d);
    const vp = partPtr(dp, PART_V, d);
    const len = load<i32>(dp + D_LEN);
    const qp = <usize>load<i32>(dp + D_Q);
    const op = <usize>load<i32>(dp + D_OUT);
    const L = align16(len);
    const n4 = (len + 3) & ~3;
    exactLogits(qp, kp, len, d, g, scores, L);
    // Selection key: softmax probabilities summed over the group (g = 1: the exponentials, same order).
    for (let h = 0; h < g; h++) {
      const sp = scores + (<usize>(h * L) << 2);
      padTail(sp, len, n4);
      const mx = maxOf(sp, n4);
      const tmp = h == 0 ? summed : candVals;
      memory.copy(tmp, sp, <usize>n4 << 2);
      const sum = expInPlace(tmp, n4, mx);
      if (g > 1) scaleInPlace(tmp, n4, <f32>(1.0 / sum));
      if (h > 0) addInPlace(summed, tmp, n4);
    }
    const cnt = topkIndices(summed, len, k < len ? k : len, sel, candVals, candIdx, sample);
    // Softmax over the selected logits per head, then the weighted V rows, 4 at a time.
    for (let h = 0; h < g; h++) {
      const sp = scores + (<usize>(h * L) << 2);
      let m: f32 = -Infinity;
      for (let j = 0; j < cnt; j++) m = max(m, f(sp, idx(sel, j)));
      let l: f64 = 0;
      for (let j = 0; j < cnt; j++) {
        const w = f32x4.extract_lane(softmaxExp(f32x4.splat(f(sp, idx(sel, j)) - m)), 0);
        setf(candVals, j, w);
        l += <f64>w;
      }
      const inv = <f32>(1.0 / l);
      const orow = op + <usize>h * rowBytes;
      memory.fill(orow, 0, rowBytes);
      let j = 0;
      for (; j + 4 <= cnt; j += 4) {
        const v0 = vp + <usize>idx(sel, j) * rowBytes;
        const v1 = vp + <usize>idx(sel, j + 1) * rowBytes;
        const v2 = vp + <usize>idx(sel, j + 2) * rowBytes;
        const v3 = vp + <usize>idx(sel, j + 3) * rowBytes;
        addScaledRows4(orow, v0, v1, v2, v3, f32x4.splat(f(candVals, j) * inv), f32x4.splat(f(candVals, j + 1) * inv),
          f32x4.splat(f(candVals, j + 2) * inv), f32x4.splat(f(candVals, j + 3) * inv), d);
      }
      for (; j < cnt; j++) addScaledRow(orow, vp + <usize>idx(sel, j) * rowBytes, f32x4.splat(f(candVals, j) * inv), d);
    }
  }
}

/**
 * H2O: keeps the last l positions and the top (k - l) live positions by accumulated score
 * (-inf = evicted), attends over them, then one pass writes every position's score: kept ones
 * gain this step's attention (the mean over the group), the others are evicted.
 */
export function attn_h2o(desc: usize, count: i32, d: i32, g: i32, k: i32, l: i32, maxLen: i32, work: usize): void {
  const LM = align16(maxLen);
  const C = LM > align16(d) ? LM : align16(d);
  const K = align16(k);
  const candVals = work;
  const candIdx = candVals + (<usize>C << 2);
  const sel = candIdx + (<usize>C << 2);
  const sample = sel + (<usize>K << 2);
  const mrun = sample + (<usize>SAMPLE << 2);
  const lrun = mrun + (<usize>align16(g) << 2);
  const logits = lrun + (<usize>align16(g) << 2);
  const sinkp = logits + (<usize>(g * K) << 2);
  for (let t = 0; t < count; t++) {
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
    let cnt = topkIndices(sp, localStart, want, sel, candVals, candIdx, sample);
    for (let i = localStart; i < len; i++) setIdx(sel, cnt++, i);
    attendSelectedRows(partPtr(dp, PART_K, d), partPtr(dp, PART_V, d), <usize>load<i32>(dp + D_Q), op, sel, cnt, d, g,
      mrun, lrun, logits, K, sinkp);
    normaliseRows(op, lrun, d, g);
    // Score update: kept positions gain the mean over the group of their attention weights.
    const invG = <f32>1 / <f32>g;
    let j = 0;
    for (let i = 0; i < len; i++) {
      if (j < cnt && idx(sel, j) == i) {
        let w: f32 = 0;
        for (let h = 0; h < g; h++) {
          const e = f32x4.extract_lane(softmaxExp(f32x4.splat(f(logits, h * K + j) - f(mrun, h))), 0);
          w += e / f(lrun, h);
        }
        setf(sp, i, f(sp, i) + w * invG);
        j++;
      } else {
        setf(sp, i, -Infinity);
      }
    }
  }
}

/** Bytes of work for attn_topk over n values. */
export function attn_topk_work_bytes(n: i32): i32 {
  return (align16(n) << 3) + (SAMPLE << 2) + 64;
}

/**
 * The selection used by SparQ, exported on its own (tests, and policies that select in JS):
 * ascending indices of the `want` largest of vals[0..n) (no NaN) into out; returns the count.
 */
export function attn_topk(vals: usize, n: i32, want: i32, out: usize, work: usize): i32 {
  const candVals = work;
  const candIdx = candVals + (<usize>align16(n) << 2);
  const sample = candIdx + (<usize>align16(n) << 2);
  return topkIndices(vals, n, want, out, candVals, candIdx, sample);
}
