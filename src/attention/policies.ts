// The decode-attention policies: each checks and normalises its settings and hands the tasks of a
// step to its kernel (AttentionKernels, src/ops/attention-kernels.ts: the reference loops or a
// backend's fast implementation). Transfers are counted by PolicyBase from the transfer model.

import type { AttentionHeadTask, H2oHeadTask, ProjectedHeadTask } from '../ops/attention-kernels.js';
import { HeavyHitterState } from './baselines.js';
import { ProjectedKeyState, RANDOM_PROJECTION_SEED, randomProjectionMatrix } from './random-projection.js';
import { type AttentionOptions, type AttentionShape, notResident, PolicyBase } from './decode-policy.js';
import type { KvCache } from './kv-cache.js';

function checkTopK(policy: string, topK: number): void {
  if (!Number.isInteger(topK) || topK <= 0) throw new RangeError(`${policy}: topK must be a positive integer, got ${topK}`);
}

export class DenseAttention extends PolicyBase {
  readonly name = 'dense' as const;
  readonly spec = { kind: 'dense' } as const;

  constructor(shape: AttentionShape, options: AttentionOptions = {}) {
    super(shape, options);
  }

  protected run(tasks: readonly AttentionHeadTask[], _cache: KvCache, _layer: number, _seqs: readonly number[],
    q: Float32Array, out: Float32Array): void {
    this.kernels.dense(tasks, q, out, this.shape.headDim, this.group);
  }
}

export interface SparqSpec {
  readonly rank: number;
  readonly topK: number;
  readonly localWindow: number;
  readonly reallocation?: boolean | undefined;
}

export class SparqAttention extends PolicyBase {
  readonly name = 'sparq' as const;
  readonly spec: { kind: 'sparq'; rank: number; topK: number; localWindow: number; reallocation: boolean };

  constructor(spec: SparqSpec, shape: AttentionShape, options: AttentionOptions = {}) {
    super(shape, options);
    for (const key of ['rank', 'topK'] as const) {
      if (!Number.isInteger(spec[key]) || spec[key] <= 0) throw new RangeError(`sparq: ${key} must be a positive integer, got ${spec[key]}`);
    }
    if (!Number.isInteger(spec.localWindow) || spec.localWindow < 0) {
      throw new RangeError(`sparq: localWindow must be a non-negative integer, got ${spec.localWindow}`);
    }
    this.spec = {
      kind: 'sparq',
      rank: Math.min(spec.rank, shape.headDim),
      topK: spec.topK,
      localWindow: Math.min(spec.localWindow, spec.topK),
      reallocation: spec.reallocation ?? shape.heads === shape.kvHeads,
    };
  }

  protected run(tasks: readonly AttentionHeadTask[], cache: KvCache, _layer: number, _seqs: readonly number[],
    q: Float32Array, out: Float32Array): void {
    this.kernels.sparq(tasks, q, out, this.shape.headDim, this.group, {
      rank: this.spec.rank,
      topK: this.spec.topK,
      localWindow: this.spec.localWindow,
      reallocation: this.spec.reallocation,
      transposed: cache.storeKTransposed,
    });
  }
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

  protected run(tasks: readonly AttentionHeadTask[], _cache: KvCache, _layer: number, _seqs: readonly number[],
    q: Float32Array, out: Float32Array): void {
    this.kernels.lmInfinite(tasks, q, out, this.shape.headDim, this.group, { topK: this.spec.topK, sinks: this.spec.sinks });
  }
}

/** FlexGen and the oracle: top-k of the exact scores (the same output; different transfers). */
export class ExactTopKAttention extends PolicyBase {
  readonly name: 'flexgen' | 'oracle';
  readonly spec: { kind: 'flexgen' | 'oracle'; topK: number };

  constructor(kind: 'flexgen' | 'oracle', spec: { topK: number }, shape: AttentionShape, options: AttentionOptions = {}) {
    super(shape, options);
    checkTopK(kind, spec.topK);
    this.name = kind;
    this.spec = { kind, topK: spec.topK };
  }

  protected run(tasks: readonly AttentionHeadTask[], _cache: KvCache, _layer: number, _seqs: readonly number[],
    q: Float32Array, out: Float32Array): void {
    this.kernels.exactTopK(tasks, q, out, this.shape.headDim, this.group, { topK: this.spec.topK, oracle: this.name === 'oracle' });
  }
}

export class H2oAttention extends PolicyBase {
  readonly name = 'h2o' as const;
  readonly spec: { kind: 'h2o'; topK: number; localWindow: number };
  private readonly states = new Map<number, HeavyHitterState>();

  constructor(spec: { topK: number; localWindow?: number | undefined }, shape: AttentionShape, options: AttentionOptions = {}) {
    super(shape, options);
    checkTopK('h2o', spec.topK);
    const l = spec.localWindow ?? Math.floor(spec.topK / 4);
    if (!Number.isInteger(l) || l < 0) throw new RangeError(`h2o: localWindow must be a non-negative integer, got ${l}`);
    this.spec = { kind: 'h2o', topK: spec.topK, localWindow: Math.min(l, spec.topK) };
  }

  reset(seq?: number): void {
    for (const [key, state] of this.states) {
      if (seq !== undefined && this.seqOf(key) !== seq) continue;
      state.dispose();
      this.states.delete(key);
    }
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
      const scores = state.scores;
      for (let h = kv * g; h < (kv + 1) * g; h++) {
        for (let r = 0; r < rows; r++) {
          const o = (h * rows + r) * keyLength;
          for (let i = 0; i < keyLength; i++) scores[i] = scores[i]! + probs[o + i]! / g;
        }
      }
    }
  }

  protected run(tasks: readonly AttentionHeadTask[], _cache: KvCache, layer: number, seqs: readonly number[],
    q: Float32Array, out: Float32Array): void {
    const kvHeads = this.shape.kvHeads;
    const h2oTasks: H2oHeadTask[] = tasks.map((task, i) => {
      const seq = seqs[Math.floor(i / kvHeads)]!;
      const state = this.state(layer, seq, i % kvHeads);
      state.ensure(task.block.length);
      if (!this.kernels.isResident(state.scores)) throw notResident(this.kernels, `h2o scores of sequence ${seq}, layer ${layer}`);
      return { ...task, scores: state.scores };
    });
    this.kernels.h2o(h2oTasks, q, out, this.shape.headDim, this.group, { topK: this.spec.topK, localWindow: this.spec.localWindow });
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
      const { cacheAllocator, cacheRelease } = this.kernels;
      state = new HeavyHitterState(cacheAllocator, cacheRelease);
      this.states.set(key, state);
    }
    return state;
  }
}

export interface RandomProjectionSpec {
  readonly rank: number;
  readonly topK: number;
  readonly localWindow: number;
  readonly reallocation?: boolean | undefined;
  /** Seed of the projection matrix (default RANDOM_PROJECTION_SEED). */
  readonly seed?: number | undefined;
}

/**
 * The key-compression ablation: SparQ's step 2 after approximate scores from a seeded random
 * r-dimensional projection of q and K (src/attention/random-projection.ts). The projected keys are
 * kept per (sequence, layer, KV head) beside the cache and brought up to date before each step.
 */
export class RandomProjectionAttention extends PolicyBase {
  readonly name = 'random-projection' as const;
  readonly spec: { kind: 'random-projection'; rank: number; topK: number; localWindow: number; reallocation: boolean; seed: number };
  /** P [headDim, rank]. */
  readonly projection: Float32Array;
  private readonly states = new Map<number, ProjectedKeyState>();

  constructor(spec: RandomProjectionSpec, shape: AttentionShape, options: AttentionOptions = {}) {
    super(shape, options);
    if (!this.kernels.supports(shape.headDim, 'random-projection')) {
      throw new RangeError(`random-projection: the ${this.kernels.name} attention kernels have no random-projection kernel; use the reference kernels`);
    }
    for (const key of ['rank', 'topK'] as const) {
      if (!Number.isInteger(spec[key]) || spec[key] <= 0) throw new RangeError(`random-projection: ${key} must be a positive integer, got ${spec[key]}`);
    }
    if (!Number.isInteger(spec.localWindow) || spec.localWindow < 0) {
      throw new RangeError(`random-projection: localWindow must be a non-negative integer, got ${spec.localWindow}`);
    }
    const seed = spec.seed ?? RANDOM_PROJECTION_SEED;
    if (!Number.isInteger(seed) || seed < 0) throw new RangeError(`random-projection: seed must be a non-negative integer, got ${seed}`);
    const rank = Math.min(spec.rank, shape.headDim);
    this.spec = {
      kind: 'random-projection',
      rank,
      topK: spec.topK,
      localWindow: Math.min(spec.localWindow, spec.topK),
      reallocation: spec.reallocation ?? shape.heads === shape.kvHeads,
      seed,
    };
    this.projection = randomProjectionMatrix(shape.headDim, rank, seed);
  }

  reset(seq?: number): void {
    for (const [key, state] of this.states) {
      if (seq !== undefined && Math.floor(key / (this.shape.layers * this.shape.kvHeads)) !== seq) continue;
      state.dispose();
      this.states.delete(key);
    }
  }

  protected run(tasks: readonly AttentionHeadTask[], _cache: KvCache, layer: number, seqs: readonly number[],
    q: Float32Array, out: Float32Array): void {
    const kvHeads = this.shape.kvHeads;
    const projected: ProjectedHeadTask[] = tasks.map((task, i) => {
      const seq = seqs[Math.floor(i / kvHeads)]!;
      const key = (seq * this.shape.layers + layer) * kvHeads + (i % kvHeads);
      let state = this.states.get(key);
      if (!state) {
        state = new ProjectedKeyState(this.spec.rank, this.kernels.cacheAllocator, this.kernels.cacheRelease);
        this.states.set(key, state);
      }
      // Keys appended since the last step (the whole prompt at the first): projected as a real
      // implementation would when it writes them.
      state.update(task.block, this.projection);
      return { ...task, projectedKeys: state.data, projectedStride: state.capacity };
    });
    this.kernels.randomProjection(projected, q, out, this.shape.headDim, this.group, {
      rank: this.spec.rank,
      topK: this.spec.topK,
      localWindow: this.spec.localWindow,
      reallocation: this.spec.reallocation,
      projection: this.projection,
    });
  }
}
