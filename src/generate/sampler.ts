// Choosing the next token from logits: greedy (temperature 0), or a draw from the softmax at a
// temperature, optionally restricted to the k most likely tokens and/or the smallest set whose
// probability reaches p (nucleus). Draws come from a seeded Rng, so a seed fixes the text.

import { Rng } from '../tensor/rng.js';

export interface SamplerOptions {
  /** 0 = greedy (argmax, first maximum). Default 1. */
  readonly temperature?: number | undefined;
  /** Keep only the k most likely tokens (0 or absent: no limit). */
  readonly topK?: number | undefined;
  /** Keep the most likely tokens until their probability reaches p (1 or absent: no limit). */
  readonly topP?: number | undefined;
  readonly seed?: number | undefined;
}

/** Index of the largest value (the first one on ties, as llama2.c's argmax). */
export function argmaxIndex(values: ArrayLike<number>): number {
  let best = 0;
  let bestValue = -Infinity;
  for (let i = 0; i < values.length; i++) {
    const v = values[i]!;
    if (v > bestValue) {
      bestValue = v;
      best = i;
    }
  }
  return best;
}

export class Sampler {
  readonly temperature: number;
  readonly topK: number;
  readonly topP: number;
  private readonly rng: Rng;
  // Reused between calls: no allocation per token once the vocabulary size is known.
  private probs = new Float64Array(0);
  private order = new Int32Array(0);

  constructor(options: SamplerOptions = {}) {
    this.temperature = options.temperature ?? 1;
    this.topK = options.topK ?? 0;
    this.topP = options.topP ?? 1;
    if (!(this.temperature >= 0) || !Number.isFinite(this.temperature)) throw new Error(`sampler: temperature must be a finite number >= 0, got ${this.temperature}`);
    if (!Number.isInteger(this.topK) || this.topK < 0) throw new Error(`sampler: top-k must be a non-negative integer, got ${this.topK}`);
    if (!(this.topP > 0 && this.topP <= 1)) throw new Error(`sampler: top-p must be in (0, 1], got ${this.topP}`);
    this.rng = new Rng(options.seed ?? 0);
  }

  /** The next token id for one row of logits. */
  sample(logits: ArrayLike<number>): number {
    const n = logits.length;
    if (n === 0) throw new Error('sampler: empty logits');
    if (this.temperature === 0 || this.topK === 1) return argmaxIndex(logits);
    if (this.probs.length !== n) {
      this.probs = new Float64Array(n);
      this.order = new Int32Array(n);
    }
    const probs = this.probs;
    let maxLogit = -Infinity;
    for (let i = 0; i < n; i++) maxLogit = Math.max(maxLogit, logits[i]!);
    if (maxLogit === -Infinity || Number.isNaN(maxLogit)) throw new Error(`sampler: logits have no finite maximum (${maxLogit})`);
    let total = 0;
    for (let i = 0; i < n; i++) {
      const p = Math.exp((logits[i]! - maxLogit) / this.temperature);
      probs[i] = p;
      total += p;
    }
    let count = n;
    const order = this.order;
    for (let i = 0; i < n; i++) order[i] = i;
    if (this.topK > 0 && this.topK < n) {
      selectLargest(order, probs, this.topK);
      count = this.topK;
    }
    if (this.topP < 1) {
      // Nucleus over the candidates, most likely first; the token that crosses p stays in.
      const candidates = Array.from(order.subarray(0, count)).sort((a, b) => probs[b]! - probs[a]! || a - b);
      let mass = 0;
      for (const id of candidates) mass += probs[id]!;
      const threshold = this.topP * mass;
      let kept = 0;
      let cumulative = 0;
      for (const id of candidates) {
        order[kept++] = id;
        cumulative += probs[id]!;
        if (cumulative >= threshold) break;
      }
      count = kept;
    } else if (count === n) {
      return drawFrom(order, probs, count, total, this.rng.uniform());
    }
    let mass = 0;
    for (let i = 0; i < count; i++) mass += probs[order[i]!]!;
    return drawFrom(order, probs, count, mass, this.rng.uniform());
  }
}

function drawFrom(order: Int32Array, probs: Float64Array, count: number, mass: number, u: number): number {
  const target = u * mass;
  let cumulative = 0;
  for (let i = 0; i < count; i++) {
    cumulative += probs[order[i]!]!;
    if (target < cumulative) return order[i]!;
  }
  return order[count - 1]!; // rounding: the last candidate
}

/** Moves the k largest (by probs) of order[0..n) into order[0..k) in O(n) expected (quickselect). */
function selectLargest(order: Int32Array, probs: Float64Array, k: number): void {
  let lo = 0;
  let hi = order.length - 1;
  while (lo < hi) {
    const pivot = probs[order[(lo + hi) >>> 1]!]!;
    let i = lo;
    let j = hi;
    while (i <= j) {
      while (probs[order[i]!]! > pivot) i++;
      while (probs[order[j]!]! < pivot) j--;
      if (i <= j) {
        const t = order[i]!;
        order[i] = order[j]!;
        order[j] = t;
        i++;
        j--;
      }
    }
    if (k - 1 <= j) hi = j;
    else if (k - 1 >= i) lo = i;
    else break;
  }
}
