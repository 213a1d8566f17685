// SparQ Attention (Ribar et al., ICML 2024, arXiv 2312.04985), decode steps only.
//
// Per KV head, with the group of query heads that share it (GQA):
//   1. i1 = the r components with the largest |q| summed over the group. Approximate logits
//      q_h[i1] . K[:, i1] / tau_h with tau_h = sqrt(d * ||q_h[i1]||_1 / ||q_h||_1), and approximate
//      scores s_hat_h = softmax of those. (With K stored twice, K[:, i1] is r contiguous rows of K^T.)
//   2. i2 = the last l positions plus the top (k - l) of the other positions by s_hat summed over
//      the group; exact softmax of q_h . K[i2] / sqrt(d); y_h = s_h . V[i2].
//   3. With reallocation: y_h = alpha_h y_h + (1 - alpha_h) mean(V), alpha_h = sum of s_hat_h over i2.
// Selection is O(S) (quickselect). Reallocation defaults to on for MHA and off for GQA models,
// the paper's choice.

import { attendSelected, type HeadView, meanValue, softmaxRowsInPlace, sumOverGroup } from './head.js';
import { SelectWork, topKIndices } from './select.js';

export interface SparqParams {
  /** r: query components used for the approximate scores (clamped to headDim). */
  readonly rank: number;
  /** k: positions attended exactly. */
  readonly topK: number;
  /** l: most recent positions always attended (clamped to k). */
  readonly localWindow: number;
  /** Mix the mean of V in by the approximate score mass left out. */
  readonly reallocation: boolean;
}

export interface SparqStep1 {
  /** i1, ascending. */
  readonly components: Int32Array;
  /** tau per query head. */
  readonly temperature: Float64Array;
  /** Approximate logits (already divided by tau) [group, length]; -Infinity at masked positions. */
  readonly logits: Float64Array;
}

export interface SparqHeadResult {
  readonly components: Int32Array;
  /** i2, ascending. */
  readonly selected: Int32Array;
  /** alpha per query head (1 without reallocation). */
  readonly alpha: Float64Array;
  /** Exact softmax weights over `selected` per query head [group, selected.length]. */
  readonly weights: Float64Array;
}

/** Step 1: i1 and the approximate logits of every position for the group's query heads. */
export function sparqApproxLogits(view: HeadView, q: Float32Array, qOffset: number, group: number,
  rank: number, work: SelectWork = new SelectWork()): SparqStep1 {
  const d = view.headDim;
  const S = view.length;
  const r = Math.max(0, Math.min(rank, d));
  const absSum = new Float64Array(d);
  for (let h = 0; h < group; h++) {
    for (let c = 0; c < d; c++) absSum[c]! += Math.abs(q[qOffset + h * d + c]!);
  }
  const components = new Int32Array(r);
  topKIndices(absSum, d, r, components, work);
  const temperature = new Float64Array(group);
  const logits = new Float64Array(group * S);
  const kt = view.keysTransposed;
  for (let h = 0; h < group; h++) {
    const qo = qOffset + h * d;
    let full = 0;
    for (let c = 0; c < d; c++) full += Math.abs(q[qo + c]!);
    let part = 0;
    for (const c of components) part += Math.abs(q[qo + c]!);
    // A query with no mass in i1 has all approximate logits 0: any temperature gives the same result.
    const tau = full > 0 && part > 0 ? Math.sqrt((d * part) / full) : 1;
    temperature[h] = tau;
    const row = logits.subarray(h * S, (h + 1) * S);
    for (const c of components) {
      const qc = q[qo + c]!;
      if (kt) {
        const base = c * kt.stride;
        for (let i = 0; i < S; i++) row[i]! += qc * kt.data[base + i]!;
      } else {
        for (let i = 0; i < S; i++) row[i]! += qc * view.keys[i * d + c]!;
      }
    }
    for (let i = 0; i < S; i++) row[i] = view.mask && view.mask[i] === 0 ? -Infinity : row[i]! / tau;
  }
  return { components, temperature, logits };
}

/**
 * i2: the valid positions among the last `localWindow` (clamped to k), plus the top of the other
 * valid positions by `score`, min(k, valid) in all, ascending.
 */
export function selectWithLocalWindow(score: ArrayLike<number>, length: number, topK: number, localWindow: number,
  mask: ArrayLike<number> | undefined, work: SelectWork = new SelectWork()): Int32Array {
  const l = Math.max(0, Math.min(localWindow, topK, length));
  const localStart = length - l;
  let localCount = 0;
  for (let i = localStart; i < length; i++) if (!mask || mask[i] !== 0) localCount++;
  const picked = new Int32Array(Math.max(0, Math.min(topK, length)));
  const count = topKIndices(score, localStart, topK - localCount, picked, work, mask);
  let c = count;
  for (let i = localStart; i < length; i++) if (!mask || mask[i] !== 0) picked[c++] = i;
  return picked.slice(0, c);
}

/** Reference SparQ for one KV head and its group of query heads; writes y to out[outOffset ...]. */
export function sparqAttentionHead(view: HeadView, q: Float32Array, qOffset: number, group: number,
  params: SparqParams, out: Float32Array, outOffset: number, work: SelectWork = new SelectWork()): SparqHeadResult {
  const step1 = sparqApproxLogits(view, q, qOffset, group, params.rank, work);
  return { components: step1.components, ...attendTopOfApproxLogits(view, step1.logits, q, qOffset, group, params, out, outOffset, work) };
}

/**
 * SparQ's steps 2-3 from approximate logits [group, S] (softmaxed in place): the top-k positions of
 * the group's summed scores plus the local window, exact attention over them, and (with
 * reallocation) the mean of V weighted by the approximate mass left out. Shared by every policy
 * that approximates the scores first (SparQ, random projection).
 */
export function attendTopOfApproxLogits(view: HeadView, scores: Float64Array, q: Float32Array, qOffset: number, group: number,
  params: { readonly topK: number; readonly localWindow: number; readonly reallocation: boolean }, out: Float32Array, outOffset: number,
  work: SelectWork): { selected: Int32Array; alpha: Float64Array; weights: Float64Array } {
  const S = view.length;
  softmaxRowsInPlace(scores, group, S, view.mask);
  const summed = sumOverGroup(scores, group, S);
  const selected = selectWithLocalWindow(summed, S, params.topK, params.localWindow, view.mask, work);
  const alpha = new Float64Array(group).fill(1);
  let mean: Float64Array | undefined;
  if (params.reallocation) {
    for (let h = 0; h < group; h++) {
      let a = 0;
      for (const i of selected) a += scores[h * S + i]!;
      alpha[h] = Math.min(1, a);
    }
    mean = meanValue(view);
  }
  const { weights } = attendSelected(view, q, qOffset, group, selected, selected.length, out, outOffset, alpha, mean);
  return { selected, alpha, weights };
}

