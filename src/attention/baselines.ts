// The baselines SparQ was compared with, as reference kernels for one KV head (plain TypeScript;
// the policies are in policies.ts):
//   h2o          k slots: the l most recent positions plus the heavy hitters by accumulated
//                attention; evicted positions never come back (Zhang et al. 2023)
//   lm-infinite  the first `sinks` positions plus the most recent k - sinks (Han et al. 2023)
//   flexgen      top-k of the exact attention scores, then attention over those (Sheng et al. 2023)
//   oracle       same selection as flexgen, counted as if the exact top-k were known for free
// Selections are per KV head; GQA groups sum their query heads' scores (H2O: the mean, as in
// the SparQ authors' implementation).

import {
  attendSelected, exactLogits, type HeadView, softmaxRowsInPlace, sumOverGroup, validCount,
} from './head.js';
import { SelectWork, topKIndices } from './select.js';

// ---------------------------------------------------------------------------------------------
// LM-Infinite

/** First `sinks` valid positions plus the most recent valid ones, min(k, valid) in all, ascending. */
export function lmInfiniteSelect(view: HeadView, topK: number, sinks: number): Int32Array {
  const S = view.length;
  const valid = validCount(view);
  const count = Math.min(topK, valid);
  const head = Math.min(sinks, count);
  const out = new Int32Array(count);
  const ok = (i: number): boolean => !view.mask || view.mask[i] !== 0;
  let c = 0;
  let firstTail = S;
  for (let i = 0; i < S && c < head; i++) if (ok(i)) out[c++] = i;
  const lastHead = c > 0 ? out[c - 1]! : -1;
  // Most recent count - head valid positions after the sinks.
  let need = count - c;
  for (let i = S - 1; i > lastHead && need > 0; i--) {
    if (ok(i)) {
      firstTail = i;
      need--;
    }
  }
  for (let i = firstTail; i < S && c < count; i++) if (ok(i)) out[c++] = i;
  return out;
}

export function lmInfiniteHead(view: HeadView, q: Float32Array, qOffset: number, group: number,
  topK: number, sinks: number, out: Float32Array, outOffset: number): Int32Array {
  const idx = lmInfiniteSelect(view, topK, sinks);
  attendSelected(view, q, qOffset, group, idx, idx.length, out, outOffset);
  return idx;
}

// ---------------------------------------------------------------------------------------------
// FlexGen and the oracle: top-k of the exact scores

/** The k positions with the largest exact attention probabilities summed over the group, ascending. */
export function exactTopKSelect(view: HeadView, q: Float32Array, qOffset: number, group: number, topK: number,
  work: SelectWork = new SelectWork(), logits: Float64Array = exactLogits(view, q, qOffset, group)): Int32Array {
  const S = view.length;
  const probs = logits.slice();
  softmaxRowsInPlace(probs, group, S, view.mask);
  const summed = sumOverGroup(probs, group, S);
  const idx = new Int32Array(Math.min(topK, S));
  const count = topKIndices(summed, S, topK, idx, work, view.mask);
  return idx.slice(0, count);
}

/** FlexGen for one head: exact scores of every position, then attention over the top k (reusing them). */
export function exactTopKHead(view: HeadView, q: Float32Array, qOffset: number, group: number, topK: number,
  out: Float32Array, outOffset: number, work: SelectWork = new SelectWork()): Int32Array {
  const logits = exactLogits(view, q, qOffset, group);
  const idx = exactTopKSelect(view, q, qOffset, group, topK, work, logits);
  attendSelected(view, q, qOffset, group, idx, idx.length, out, outOffset, undefined, undefined, logits);
  return idx;
}

/**
 * The oracle for one head: handed FlexGen's selection for free (computed from `selectionView`, by
 * definition not traffic), it reads only the k selected K and V rows of `view`.
 */
export function oracleHead(selectionView: HeadView, view: HeadView, q: Float32Array, qOffset: number, group: number,
  topK: number, out: Float32Array, outOffset: number, work: SelectWork = new SelectWork()): Int32Array {
  const idx = exactTopKSelect(selectionView, q, qOffset, group, topK, work);
  attendSelected(view, q, qOffset, group, idx, idx.length, out, outOffset);
  return idx;
}

// ---------------------------------------------------------------------------------------------
// H2O

/**
 * Heavy-hitter state of one (layer, sequence, KV head): the score vector, one f32 per cached
 * position, the attention accumulated so far; -Infinity marks an evicted position (evicted for
 * good). The wasm kernel keeps the same vector in wasm memory.
 */
export class HeavyHitterState {
  scores: Float32Array;
  private readonly allocate: (floats: number) => Float32Array;
  private readonly release: ((view: Float32Array) => void) | undefined;

  constructor(allocate: (floats: number) => Float32Array = (n) => new Float32Array(n), release?: (view: Float32Array) => void) {
    this.allocate = allocate;
    this.release = release;
    this.scores = allocate(64);
  }

  /** Room for `length` positions; new positions start at 0 (live). */
  ensure(length: number): void {
    if (this.scores.length >= length) return;
    const size = Math.max(length, this.scores.length * 2);
    const scores = this.allocate(size);
    scores.fill(0);
    scores.set(this.scores);
    this.release?.(this.scores);
    this.scores = scores;
  }

  clear(): void {
    this.scores.fill(0);
  }

  dispose(): void {
    this.release?.(this.scores);
    this.scores = new Float32Array(0);
  }
}

/**
 * H2O's kept set for this step: the last l valid positions plus the live positions with the
 * largest accumulated scores, min(k, valid) in all, ascending. Reads scores[0 .. S).
 */
export function h2oSelect(view: HeadView, scores: Float32Array, topK: number, localWindow: number,
  work: SelectWork = new SelectWork()): Int32Array {
  const S = view.length;
  const l = Math.min(localWindow, topK);
  const live = new Uint8Array(S);
  for (let i = 0; i < S; i++) live[i] = (view.mask && view.mask[i] === 0) || scores[i] === -Infinity ? 0 : 1;
  // The local window is always kept (a position enters it before it can be evicted).
  let localStart = S;
  let localCount = 0;
  for (let i = S - 1; i >= 0 && localCount < l; i--) {
    if (view.mask && view.mask[i] === 0) continue;
    localStart = i;
    localCount++;
    live[i] = 0; // taken separately below
  }
  const kept = new Int32Array(Math.min(topK, S));
  const heavy = topKIndices(scores, S, topK - localCount, kept, work, live);
  let c = heavy;
  for (let i = localStart; i < S; i++) if (!view.mask || view.mask[i] !== 0) kept[c++] = i;
  return kept.slice(0, c).sort();
}

/**
 * Reference H2O for one KV head: select, attend, then one pass over the score vector writes every
 * position's new score (kept: + this step's attention, the mean over the group; not kept and before
 * the local window: evicted). Returns the kept positions.
 */
export function h2oHead(view: HeadView, scores: Float32Array, q: Float32Array, qOffset: number, group: number,
  topK: number, localWindow: number, out: Float32Array, outOffset: number, work: SelectWork = new SelectWork()): Int32Array {
  const S = view.length;
  if (scores.length < S) throw new RangeError(`h2o: score vector holds ${scores.length} positions, the cache ${S}`);
  const kept = h2oSelect(view, scores, topK, localWindow, work);
  const { weights } = attendSelected(view, q, qOffset, group, kept, kept.length, out, outOffset);
  const n = kept.length;
  let j = 0;
  for (let i = 0; i < S; i++) {
    if (j < n && kept[j] === i) {
      let w = 0;
      for (let h = 0; h < group; h++) w += weights[h * n + j]!;
      scores[i] = scores[i]! + w / group;
      j++;
    } else {
      // Not kept and valid: evicted (every valid position of the local window is kept).
      scores[i] = view.mask && view.mask[i] === 0 ? scores[i]! : -Infinity;
    }
  }
  return kept;
}

