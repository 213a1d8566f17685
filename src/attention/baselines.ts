// The baselines SparQ was compared with, as decode-attention policies (plain TypeScript):
//   h2o          k slots: the l most recent positions plus the heavy hitters by accumulated
//                attention; evicted positions never come back (Zhang et al. 2023)
//   lm-infinite  the first `sinks` positions plus the most recent k - sinks (Han et al. 2023)
//   flexgen      top-k of the exact attention scores, then attention over those (Sheng et al. 2023)
//   oracle       same selection as flexgen, counted as if the exact top-k were known for free
// Selections are per KV head; GQA groups sum their query heads' scores (H2O: the mean, as in
// the SparQ authors' implementation).

import { type AttentionOptions, type AttentionShape, PolicyBase } from './decode-policy.js';
import {
  attendSelected, cacheHeadView, exactLogits, type HeadView, softmaxRowsInPlace, sumOverGroup, validCount,
} from './head.js';
import type { KvCache } from './kv-cache.js';
import { SelectWork, topKIndices } from './select.js';

function checkTopK(policy: string, topK: number): void {
  if (!Number.isInteger(topK) || topK <= 0) throw new RangeError(`${policy}: topK must be a positive integer, got ${topK}`);
}

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

export class LmInfiniteAttention extends PolicyBase {
  readonly name = 'lm-infinite' as const;
  readonly spec: { kind: 'lm-infinite'; topK: number; sinks: number };

  constructor(spec: { topK: number; sinks?: number | undefined }, shape: AttentionShape, options: AttentionOptions = {}) {
    super(shape, options);
    checkTopK('lm-infinite', spec.topK);
    const sinks = spec.sinks ?? 16;
    if (!Number.isInteger(sinks) || sinks < 0) throw new RangeError(`lm-infinite: sinks must be a non-negative integer, got ${sinks}`);
    this.spec = { kind: 'lm-infinite', topK: spec.topK, sinks: Math.min(sinks, spec.topK) };
  }

  protected attendHead(cache: KvCache, layer: number, seq: number, kvHead: number,
    q: Float32Array, qOffset: number, out: Float32Array, outOffset: number): void {
    lmInfiniteHead(cacheHeadView(cache, layer, seq, kvHead), q, qOffset, this.group, this.spec.topK, this.spec.sinks, out, outOffset);
  }

  protected count(layer: number, kvHead: number, S: number): void {
    const k = Math.min(this.spec.topK, S);
    this.counters.add(layer, kvHead, 'kRead', k * this.shape.headDim);
    this.counters.add(layer, kvHead, 'vRead', k * this.shape.headDim);
  }
}

// ---------------------------------------------------------------------------------------------
// FlexGen and the oracle: top-k of the exact scores

/** Exact top-k for one head: returns the selection; writes the attention over it to out. */
export function exactTopKHead(view: HeadView, q: Float32Array, qOffset: number, group: number, topK: number,
  out: Float32Array, outOffset: number, work: SelectWork = new SelectWork()): Int32Array {
  const S = view.length;
  const logits = exactLogits(view, q, qOffset, group);
  const probs = logits.slice();
  softmaxRowsInPlace(probs, group, S, view.mask);
  const summed = sumOverGroup(probs, group, S);
  const idx = new Int32Array(Math.min(topK, S));
  const count = topKIndices(summed, S, topK, idx, work, view.mask);
  attendSelected(view, q, qOffset, group, idx, count, out, outOffset, undefined, undefined, logits);
  return idx.slice(0, count);
}

export class ExactTopKAttention extends PolicyBase {
  readonly name: 'flexgen' | 'oracle';
  readonly spec: { kind: 'flexgen' | 'oracle'; topK: number };
  private readonly work = new SelectWork();

  constructor(kind: 'flexgen' | 'oracle', spec: { topK: number }, shape: AttentionShape, options: AttentionOptions = {}) {
    super(shape, options);
    checkTopK(kind, spec.topK);
    this.name = kind;
    this.spec = { kind, topK: spec.topK };
  }

  protected attendHead(cache: KvCache, layer: number, seq: number, kvHead: number,
    q: Float32Array, qOffset: number, out: Float32Array, outOffset: number): void {
    exactTopKHead(cacheHeadView(cache, layer, seq, kvHead), q, qOffset, this.group, this.spec.topK, out, outOffset, this.work);
  }

  protected count(layer: number, kvHead: number, S: number): void {
    const d = this.shape.headDim;
    const k = Math.min(this.spec.topK, S);
    // FlexGen reads every key to score it; the oracle is handed the top-k.
    this.counters.add(layer, kvHead, 'kRead', (this.name === 'flexgen' ? S : k) * d);
    this.counters.add(layer, kvHead, 'vRead', k * d);
  }
}

// ---------------------------------------------------------------------------------------------
// H2O

/** Heavy-hitter state of one (layer, sequence, KV head): accumulated attention and evictions. */
export class HeavyHitterState {
  scores = new Float64Array(0);
  evicted = new Uint8Array(0);

  ensure(length: number): void {
    if (this.scores.length >= length) return;
    const size = Math.max(length, this.scores.length * 2, 64);
    const scores = new Float64Array(size);
    scores.set(this.scores);
    const evicted = new Uint8Array(size);
    evicted.set(this.evicted);
    this.scores = scores;
    this.evicted = evicted;
  }

  clear(): void {
    this.scores.fill(0);
    this.evicted.fill(0);
  }
}

/**
 * H2O's kept set for this step: the last l valid positions plus the live positions with the
 * largest accumulated scores, min(k, valid) in all; everything else is evicted for good.
 */
export function h2oSelect(view: HeadView, state: HeavyHitterState, topK: number, localWindow: number,
  work: SelectWork = new SelectWork()): Int32Array {
  const S = view.length;
  state.ensure(S);
  const l = Math.min(localWindow, topK);
  const live = new Uint8Array(S);
  for (let i = 0; i < S; i++) live[i] = (view.mask && view.mask[i] === 0) || state.evicted[i] ? 0 : 1;
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
  const heavy = topKIndices(state.scores, S, topK - localCount, kept, work, live);
  let c = heavy;
  for (let i = localStart; i < S; i++) if (!view.mask || view.mask[i] !== 0) kept[c++] = i;
  // Evict the live positions that were not kept.
  const keep = new Uint8Array(S);
  for (let j = 0; j < c; j++) keep[kept[j]!] = 1;
  for (let i = 0; i < localStart; i++) if (live[i] && !keep[i]) state.evicted[i] = 1;
  return kept.slice(0, c).sort();
}

export class H2oAttention extends PolicyBase {
  readonly name = 'h2o' as const;
  readonly spec: { kind: 'h2o'; topK: number; localWindow: number };
  private readonly states = new Map<number, HeavyHitterState>();
  private readonly work = new SelectWork();

  constructor(spec: { topK: number; localWindow?: number | undefined }, shape: AttentionShape, options: AttentionOptions = {}) {
    super(shape, options);
    checkTopK('h2o', spec.topK);
    const l = spec.localWindow ?? Math.floor(spec.topK / 4);
    if (!Number.isInteger(l) || l < 0) throw new RangeError(`h2o: localWindow must be a non-negative integer, got ${l}`);
    this.spec = { kind: 'h2o', topK: spec.topK, localWindow: Math.min(l, spec.topK) };
  }

  reset(seq?: number): void {
    if (seq === undefined) {
      this.states.clear();
      return;
    }
    for (const [key, state] of this.states) if (this.seqOf(key) === seq) state.clear();
  }

  observePrefill(layer: number, seq: number, probs: Float32Array, heads: number, rows: number, keyLength: number): void {
    if (heads !== this.shape.heads) throw new RangeError(`h2o.observePrefill: heads ${heads} differs from the policy's ${this.shape.heads}`);
    if (probs.length < heads * rows * keyLength) {
      throw new RangeError(`h2o.observePrefill: probs has ${probs.length} elements, needs ${heads * rows * keyLength}`);
    }
    const g = this.group;
    for (let kv = 0; kv < this.shape.kvHeads; kv++) {
      const state = this.state(layer, seq, kv);
      state.ensure(keyLength);
      for (let h = kv * g; h < (kv + 1) * g; h++) {
        for (let r = 0; r < rows; r++) {
          const o = (h * rows + r) * keyLength;
          for (let i = 0; i < keyLength; i++) state.scores[i]! += probs[o + i]! / g;
        }
      }
    }
  }

  protected attendHead(cache: KvCache, layer: number, seq: number, kvHead: number,
    q: Float32Array, qOffset: number, out: Float32Array, outOffset: number): void {
    const view = cacheHeadView(cache, layer, seq, kvHead);
    const state = this.state(layer, seq, kvHead);
    const kept = h2oSelect(view, state, this.spec.topK, this.spec.localWindow, this.work);
    const { weights } = attendSelected(view, q, qOffset, this.group, kept, kept.length, out, outOffset);
    // Accumulate this step's attention (mean over the group) into the heavy-hitter scores.
    const g = this.group;
    for (let j = 0; j < kept.length; j++) {
      let w = 0;
      for (let h = 0; h < g; h++) w += weights[h * kept.length + j]!;
      state.scores[kept[j]!]! += w / g;
    }
  }

  protected count(layer: number, kvHead: number, S: number): void {
    const d = this.shape.headDim;
    const k = Math.min(this.spec.topK, S);
    this.counters.add(layer, kvHead, 'kRead', k * d);
    this.counters.add(layer, kvHead, 'vRead', k * d);
    this.counters.add(layer, kvHead, 'scoreRead', S);
    this.counters.add(layer, kvHead, 'scoreWrite', S);
  }

  private key(layer: number, seq: number, kvHead: number): number {
    return (seq * this.shape.layers + layer) * this.shape.kvHeads + kvHead;
  }

  private seqOf(key: number): number {
    return Math.floor(key / (this.shape.layers * this.shape.kvHeads));
  }

  private state(layer: number, seq: number, kvHead: number): HeavyHitterState {
    const key = this.key(layer, seq, kvHead);
    let state = this.states.get(key);
    if (!state) {
      state = new HeavyHitterState();
      this.states.set(key, state);
    }
    return state;
  }
}
