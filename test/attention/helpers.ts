// Shared test helpers: random caches, literal (sort-based) implementations of the policies
// written from the issue text, independent of src/attention.

import type { HeadView } from '../../src/attention/head.js';
import { KvCache } from '../../src/attention/kv-cache.js';
import type { KvDType } from '../../src/ops/attention-kernels.js';
import type { Rng } from '../../src/tensor/rng.js';

export interface Problem {
  readonly S: number;
  readonly d: number;
  readonly g: number;
  readonly K: number[][];
  readonly V: number[][];
  /** Query rows of the group [g][d]. */
  readonly Q: number[][];
  readonly mask?: number[] | undefined;
}

export function randomMatrix(rng: Rng, rows: number, cols: number, scale = 1): number[][] {
  return Array.from({ length: rows }, () => Array.from({ length: cols }, () => Math.fround(rng.normal() * scale)));
}

export function randomProblem(rng: Rng, S: number, d: number, g: number, withMask = false): Problem {
  const mask = withMask ? Array.from({ length: S }, (_, i) => (i === S - 1 || rng.uniform() < 0.7 ? 1 : 0)) : undefined;
  return { S, d, g, K: randomMatrix(rng, S, d), V: randomMatrix(rng, S, d), Q: randomMatrix(rng, g, d, 1.5), mask };
}

export const flat = (m: number[][]): Float32Array => Float32Array.from(m.flat());

export function softmax(xs: number[]): number[] {
  const finite = xs.filter((x) => x !== -Infinity);
  if (finite.length === 0) return xs.map(() => 0);
  const mx = Math.max(...finite);
  const e = xs.map((x) => (x === -Infinity ? 0 : Math.exp(x - mx)));
  const s = e.reduce((a, b) => a + b, 0);
  return e.map((x) => x / s);
}

const isValid = (p: Problem, i: number): boolean => !p.mask || p.mask[i] !== 0;

/** Indices sorted by (key desc, index asc); the first n. */
export function sortedTop(keys: number[], candidates: number[], n: number): number[] {
  return [...candidates].sort((a, b) => keys[b]! - keys[a]! || a - b).slice(0, Math.max(0, n));
}

export function meanValid(p: Problem): number[] {
  const mean = new Array<number>(p.d).fill(0);
  let n = 0;
  for (let i = 0; i < p.S; i++) {
    if (!isValid(p, i)) continue;
    n++;
    for (let c = 0; c < p.d; c++) mean[c]! += p.V[i]![c]!;
  }
  return mean.map((x) => x / n);
}

/** Exact attention of query row q over the positions `sel` (ascending), with alpha and mean. */
export function attendOver(p: Problem, q: number[], sel: number[], alpha = 1, mean?: number[]): number[] {
  const logits = sel.map((i) => q.reduce((s, qc, c) => s + qc * p.K[i]![c]!, 0) / Math.sqrt(p.d));
  const w = softmax(logits);
  return Array.from({ length: p.d }, (_, c) => {
    const y = sel.reduce((s, i, j) => s + w[j]! * p.V[i]![c]!, 0);
    return alpha * y + (alpha < 1 && mean ? (1 - alpha) * mean[c]! : 0);
  });
}

export function naiveDense(p: Problem): number[][] {
  const all = Array.from({ length: p.S }, (_, i) => i).filter((i) => isValid(p, i));
  return p.Q.map((q) => attendOver(p, q, all));
}

export interface NaiveSparq {
  readonly out: number[][];
  readonly components: number[];
  readonly selected: number[];
  readonly logits: number[][];
  readonly alpha: number[];
}

/** SparQ exactly as the issue states it, with full sorts. */
export function naiveSparq(p: Problem, r: number, k: number, l: number, reallocation: boolean): NaiveSparq {
  const { d, S } = p;
  const absSum = Array.from({ length: d }, (_, c) => p.Q.reduce((s, q) => s + Math.abs(q[c]!), 0));
  const components = sortedTop(absSum, Array.from({ length: d }, (_, c) => c), Math.min(r, d)).sort((a, b) => a - b);
  const logits = p.Q.map((q) => {
    const full = q.reduce((s, x) => s + Math.abs(x), 0);
    const part = components.reduce((s, c) => s + Math.abs(q[c]!), 0);
    const tau = full > 0 && part > 0 ? Math.sqrt((d * part) / full) : 1;
    return Array.from({ length: S }, (_, i) => (isValid(p, i) ? components.reduce((s, c) => s + q[c]! * p.K[i]![c]!, 0) / tau : -Infinity));
  });
  const shat = logits.map(softmax);
  const summed = Array.from({ length: S }, (_, i) => shat.reduce((s, row) => s + row[i]!, 0));
  const valid = Array.from({ length: S }, (_, i) => i).filter((i) => isValid(p, i));
  const kk = Math.min(k, valid.length);
  const lw = Math.min(l, k, S);
  const local = valid.filter((i) => i >= S - lw);
  const rest = sortedTop(summed, valid.filter((i) => i < S - lw), kk - local.length);
  const selected = [...rest, ...local].sort((a, b) => a - b);
  const alpha = shat.map((row) => (reallocation ? Math.min(1, selected.reduce((s, i) => s + row[i]!, 0)) : 1));
  const mean = meanValid(p);
  const out = p.Q.map((q, h) => attendOver(p, q, selected, alpha[h]!, mean));
  return { out, components, selected, logits, alpha };
}

/** A cache holding random K/V for `seqs` sequences of the given lengths; returns it with the rows. */
export function filledCache(rng: Rng, opts: {
  layers: number; kvHeads: number; headDim: number; lengths: readonly number[]; storeKTransposed?: boolean;
  allocator?: (n: number) => Float32Array; release?: (v: Float32Array) => void; initialCapacity?: number; scale?: number;
  dtype?: KvDType;
}): KvCache {
  const cache = new KvCache({
    layers: opts.layers, kvHeads: opts.kvHeads, headDim: opts.headDim, batch: opts.lengths.length,
    storeKTransposed: opts.storeKTransposed ?? false, initialCapacity: opts.initialCapacity ?? 16, dtype: opts.dtype ?? 'f32',
    ...(opts.allocator ? { allocator: opts.allocator } : {}), ...(opts.release ? { release: opts.release } : {}),
  });
  const scale = opts.scale ?? 1;
  for (let layer = 0; layer < opts.layers; layer++) {
    opts.lengths.forEach((len, seq) => {
      const n = len * opts.kvHeads * opts.headDim;
      const k = Float32Array.from({ length: n }, () => rng.normal() * scale);
      const v = Float32Array.from({ length: n }, () => rng.normal());
      // Prefill all but the last position, then the decode step's position.
      if (len > 1) cache.append(layer, seq, k, v, len - 1);
      const rowLen = opts.kvHeads * opts.headDim;
      cache.append(layer, seq, k.subarray((len - 1) * rowLen), v.subarray((len - 1) * rowLen), 1);
    });
  }
  return cache;
}

export function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  assertSameLength(a, b);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]! - b[i]!));
  return m;
}

function assertSameLength(a: ArrayLike<number>, b: ArrayLike<number>): void {
  if (a.length !== b.length) throw new Error(`length ${a.length} vs ${b.length}`);
}

/** Distinct elements of one array read and written (each element counts once per kind). */
export class ElementCounter {
  readonly read: Uint8Array;
  readonly written: Uint8Array;

  constructor(length: number) {
    this.read = new Uint8Array(length);
    this.written = new Uint8Array(length);
  }

  get reads(): number {
    return this.read.reduce((n, x) => n + x, 0);
  }

  get writes(): number {
    return this.written.reduce((n, x) => n + x, 0);
  }

  /** The array seen through a proxy that records every element index read or written. */
  wrap(array: Float32Array): Float32Array {
    const isIndex = (p: string | symbol): p is string => typeof p === 'string' && /^\d+$/.test(p);
    return new Proxy(array, {
      get: (target, p) => {
        if (isIndex(p)) this.read[Number(p)] = 1;
        const value = Reflect.get(target, p, target) as unknown;
        // Methods run on the real array; a test that needs them is not counting element reads.
        return typeof value === 'function' ? (value as (...a: unknown[]) => unknown).bind(target) : value;
      },
      set: (target, p, value) => {
        if (isIndex(p)) this.written[Number(p)] = 1;
        return Reflect.set(target, p, value, target);
      },
    });
  }
}

/**
 * A counting head view: every K, V, K^T and mean element the reference kernels touch is recorded
 * (K and K^T are both K traffic).
 */
export function countingHeadView(view: HeadView): { view: HeadView; keys: ElementCounter; keysT: ElementCounter; values: ElementCounter; mean: ElementCounter } {
  const keys = new ElementCounter(view.keys.length);
  const values = new ElementCounter(view.values.length);
  const kt = view.keysTransposed ?? null;
  const keysT = new ElementCounter(kt ? kt.data.length : 0);
  const mean = new ElementCounter(view.headDim);
  return {
    view: {
      ...view,
      keys: keys.wrap(view.keys),
      values: values.wrap(view.values),
      valueMean: view.valueMean ? mean.wrap(view.valueMean) : undefined,
      keysTransposed: kt ? { data: keysT.wrap(kt.data), stride: kt.stride } : null,
    },
    keys, keysT, values, mean,
  };
}
