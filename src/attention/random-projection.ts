// The key-compression ablation's third policy (SparQ paper, section on alternatives to step 1): SparQ
// with its first step replaced by a random low-rank projection of K. A seeded Gaussian matrix P
// [d, r] (entries N(0, 1/r), so (P^T q) . (P^T k) estimates q . k without bias) is applied to q and
// to every key; the approximate logits are (P^T q) . (P^T K_i) / sqrt(d), their softmax ranks the
// positions, and step 2 (the last l positions and the top k - l of the rest, exact attention over
// them, reallocation by the approximate mass left out) is SparQ's.
//
// Unlike SparQ's components of K (a subset of what the cache holds anyway), the projected keys are
// state of their own: r floats per position, written once when a key is appended (the policy keeps
// them beside the cache, as H2O keeps its scores) and read by step 1 (S r per step). A real
// implementation projects each key as it is computed; the reference catches up on the keys appended
// since the last step before it attends (src/attention/policies.ts), outside the counted kernel.

import type { KvBlock } from '../ops/attention-kernels.js';
import { Rng } from '../tensor/rng.js';
import { blockHeadView, type HeadView } from './head.js';
import { SelectWork } from './select.js';
import { attendTopOfApproxLogits } from './sparq.js';

/** The default seed of the projection (a policy's `seed` overrides it). */
export const RANDOM_PROJECTION_SEED = 20231207;

/** P [headDim, rank] row-major, entries N(0, 1/rank), from `seed` alone (the same for every head). */
export function randomProjectionMatrix(headDim: number, rank: number, seed: number): Float32Array {
  if (!Number.isInteger(headDim) || headDim <= 0) throw new RangeError(`random-projection: headDim must be a positive integer, got ${headDim}`);
  if (!Number.isInteger(rank) || rank <= 0) throw new RangeError(`random-projection: rank must be a positive integer, got ${rank}`);
  const rng = new Rng(seed);
  const p = new Float32Array(headDim * rank);
  const std = 1 / Math.sqrt(rank);
  for (let i = 0; i < p.length; i++) p[i] = rng.normal() * std;
  return p;
}

/** Projected keys of one (sequence, layer, KV head): component-major, row c at data[c * capacity]. */
export class ProjectedKeyState {
  data: Float32Array;
  capacity: number;
  /** Positions projected so far. */
  length = 0;
  readonly rank: number;
  private readonly allocate: (floats: number) => Float32Array;
  private readonly release: ((view: Float32Array) => void) | undefined;

  constructor(rank: number, allocate: (floats: number) => Float32Array = (n) => new Float32Array(n), release?: (view: Float32Array) => void) {
    this.rank = rank;
    this.allocate = allocate;
    this.release = release;
    this.capacity = 64;
    this.data = allocate(rank * this.capacity);
  }

  /** Projects the keys of `block` appended since the last call (all of them after a reset of the cache). */
  update(block: KvBlock, projection: Float32Array): void {
    const d = block.headDim;
    // The keys as f32 rows whatever the cache's dtype (offsets in a block are bytes).
    const keys = blockHeadView(block, false).keys;
    const r = this.rank;
    if (block.length < this.length) this.length = 0; // the cache was emptied and refilled
    if (block.length > this.capacity) {
      const capacity = Math.max(block.length, this.capacity * 2);
      const data = this.allocate(r * capacity);
      for (let c = 0; c < r; c++) data.set(this.data.subarray(c * this.capacity, c * this.capacity + this.length), c * capacity);
      this.release?.(this.data);
      this.data = data;
      this.capacity = capacity;
    }
    for (let i = this.length; i < block.length; i++) {
      const ko = i * d;
      for (let c = 0; c < r; c++) {
        let dot = 0;
        for (let j = 0; j < d; j++) dot += keys[ko + j]! * projection[j * r + c]!;
        this.data[c * this.capacity + i] = dot;
      }
    }
    this.length = block.length;
  }

  dispose(): void {
    this.release?.(this.data);
    this.data = new Float32Array(0);
    this.capacity = 0;
    this.length = 0;
  }
}

export interface RandomProjectionParams {
  /** r: dimensions of the projection (at most headDim). */
  readonly rank: number;
  readonly topK: number;
  readonly localWindow: number;
  readonly reallocation: boolean;
}

/** The projected keys a step reads: row c (component c of P^T K) at data[c * stride], `length` positions valid. */
export interface ProjectedKeys {
  readonly data: Float32Array;
  readonly stride: number;
}

export interface RandomProjectionHeadResult {
  /** i2, ascending. */
  readonly selected: Int32Array;
  readonly alpha: Float64Array;
  readonly weights: Float64Array;
}

/** Approximate logits (P^T q_h) . (P^T K_i) / sqrt(d) of every position for the group [group, length]. */
export function randomProjectionLogits(view: HeadView, projected: ProjectedKeys, projection: Float32Array, rank: number,
  q: Float32Array, qOffset: number, group: number): Float64Array {
  const d = view.headDim;
  const S = view.length;
  const scale = 1 / Math.sqrt(d);
  const logits = new Float64Array(group * S);
  const pq = new Float64Array(rank);
  for (let h = 0; h < group; h++) {
    const qo = qOffset + h * d;
    pq.fill(0);
    for (let j = 0; j < d; j++) {
      const qj = q[qo + j]!;
      for (let c = 0; c < rank; c++) pq[c]! += qj * projection[j * rank + c]!;
    }
    const row = logits.subarray(h * S, (h + 1) * S);
    for (let c = 0; c < rank; c++) {
      const base = c * projected.stride;
      const w = pq[c]!;
      for (let i = 0; i < S; i++) row[i]! += w * projected.data[base + i]!;
    }
    for (let i = 0; i < S; i++) row[i] = view.mask && view.mask[i] === 0 ? -Infinity : row[i]! * scale;
  }
  return logits;
}

/** Reference random-projection attention for one KV head and its group of query heads; writes y to out[outOffset ...]. */
export function randomProjectionHead(view: HeadView, projected: ProjectedKeys, projection: Float32Array, q: Float32Array, qOffset: number,
  group: number, params: RandomProjectionParams, out: Float32Array, outOffset: number, work: SelectWork = new SelectWork()): RandomProjectionHeadResult {
  const r = Math.max(1, Math.min(params.rank, view.headDim));
  if (projection.length < view.headDim * r) throw new RangeError(`random-projection: the projection has ${projection.length} elements, needs ${view.headDim} x ${r}`);
  const scores = randomProjectionLogits(view, projected, projection, r, q, qOffset, group);
  return attendTopOfApproxLogits(view, scores, q, qOffset, group, params, out, outOffset, work);
}
