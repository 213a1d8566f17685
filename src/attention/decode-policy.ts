// The decode-attention interface shared by all policies, and the loop over sequences and KV heads
// that they have in common. Prefill (query length > 1) is not a policy's business: the model does
// it densely with ordinary ops and appends the prompt's K/V to the cache.

import type { AttentionHeadTask, AttentionKernels } from '../ops/attention-kernels.js';
import type { KvCache } from './kv-cache.js';
import { referenceAttentionKernels } from './reference-kernels.js';
import { TransferCounters, transferModel } from './transfers.js';

export type AttentionSpec =
  | { kind: 'dense' }
  | { kind: 'sparq'; rank: number; topK: number; localWindow: number; reallocation?: boolean }
  | { kind: 'h2o'; topK: number; localWindow?: number }
  | { kind: 'lm-infinite'; topK: number; sinks?: number }
  | { kind: 'flexgen'; topK: number }
  | { kind: 'oracle'; topK: number }
  /** SparQ with step 1 on a seeded random r-dimensional projection of q and K (the key-compression ablation). */
  | { kind: 'random-projection'; rank: number; topK: number; localWindow: number; reallocation?: boolean; seed?: number };

export type AttentionKind = AttentionSpec['kind'];

export const ATTENTION_KINDS: readonly AttentionKind[] = ['dense', 'sparq', 'h2o', 'lm-infinite', 'flexgen', 'oracle', 'random-projection'];

export interface AttentionShape {
  readonly layers: number;
  /** Query heads. */
  readonly heads: number;
  readonly kvHeads: number;
  readonly headDim: number;
}

export interface AttentionOptions {
  /**
   * The kernels that run the policy (default: the reference kernels). A backend supplies fast ones
   * (Backend.attention); they need the cache allocated with their cacheAllocator.
   */
  kernels?: AttentionKernels | undefined;
}

export interface DecodeAttention {
  readonly name: AttentionKind;
  readonly spec: AttentionSpec;
  readonly shape: AttentionShape;
  /**
   * Decode-step attention (query length 1) for seqs.length sequences at once, after the current
   * position's K/V were appended to `layer`. q and out: [seqs.length, heads, headDim]. GQA: query
   * head h uses KV head floor(h / (heads / kvHeads)). Scale 1 / sqrt(headDim).
   */
  attend(cache: KvCache, layer: number, seqs: readonly number[], q: Float32Array, out: Float32Array, heads: number): void;
  /** Forgets per-sequence state (H2O's accumulated scores); call with KvCache.reset. */
  reset?(seq?: number): void;
  /**
   * H2O only: the prefill's causal softmax probabilities for `rows` query rows of one sequence,
   * laid out [heads, rows, keyLength], so that H2O's heavy-hitter scores include the prompt.
   */
  observePrefill?(layer: number, seq: number, probs: Float32Array, heads: number, rows: number, keyLength: number): void;
  /** Cache elements read and written, per layer and KV head. */
  readonly counters: TransferCounters;
}

/** Shape checks, the task list and the counting; subclasses pick the kernel. */
export abstract class PolicyBase implements DecodeAttention {
  abstract readonly name: AttentionKind;
  abstract readonly spec: AttentionSpec;
  readonly shape: AttentionShape;
  readonly counters: TransferCounters;
  /** The kernels this policy runs on. */
  readonly kernels: AttentionKernels;
  protected readonly group: number;

  constructor(shape: AttentionShape, options: AttentionOptions) {
    for (const key of ['layers', 'heads', 'kvHeads', 'headDim'] as const) {
      const v = shape[key];
      if (!Number.isInteger(v) || v <= 0) throw new RangeError(`attention: shape.${key} must be a positive integer, got ${v}`);
    }
    if (shape.heads % shape.kvHeads !== 0) {
      throw new RangeError(`attention: heads (${shape.heads}) must be a multiple of kvHeads (${shape.kvHeads})`);
    }
    this.shape = { layers: shape.layers, heads: shape.heads, kvHeads: shape.kvHeads, headDim: shape.headDim };
    this.group = shape.heads / shape.kvHeads;
    this.counters = new TransferCounters(shape.layers, shape.kvHeads);
    this.kernels = options.kernels ?? referenceAttentionKernels;
    if (!this.kernels.supports(shape.headDim)) {
      throw new RangeError(`attention: the ${this.kernels.name} kernels do not handle heads of ${shape.headDim}; use the reference kernels`);
    }
  }

  attend(cache: KvCache, layer: number, seqs: readonly number[], q: Float32Array, out: Float32Array, heads: number): void {
    const { kvHeads, headDim } = this.shape;
    if (heads !== this.shape.heads) throw new RangeError(`attention: heads ${heads} differs from the policy's ${this.shape.heads}`);
    if (cache.kvHeads !== kvHeads || cache.headDim !== headDim) {
      throw new RangeError(`attention: cache has ${cache.kvHeads} kv heads of ${cache.headDim}, the policy expects ${kvHeads} of ${headDim}`);
    }
    if (!(layer >= 0 && layer < this.shape.layers)) throw new RangeError(`attention: layer ${layer} out of range [0, ${this.shape.layers})`);
    const need = seqs.length * heads * headDim;
    if (q.length < need) throw new RangeError(`attention: q has ${q.length} elements, needs ${need} (${seqs.length} seqs x ${heads} heads x ${headDim})`);
    if (out.length < need) throw new RangeError(`attention: out has ${out.length} elements, needs ${need}`);
    const tasks = buildHeadTasks(this.kernels, cache, layer, seqs, heads);
    this.run(tasks, cache, layer, seqs, q, out);
    this.countAll(cache, layer, seqs);
  }

  /** Runs the policy's kernel on the tasks (one per sequence and KV head, in order). */
  protected abstract run(tasks: readonly AttentionHeadTask[], cache: KvCache, layer: number, seqs: readonly number[],
    q: Float32Array, out: Float32Array): void;

  private countAll(cache: KvCache, layer: number, seqs: readonly number[]): void {
    for (const seq of seqs) {
      const S = cache.length(seq, layer);
      for (let h = 0; h < this.shape.kvHeads; h++) {
        this.counters.beginStep(layer, h, S, this.shape.headDim, cache.elementBytes);
        // The model includes the current position's K and V, written to the cache for this step.
        this.counters.addModel(layer, h, transferModel(this.spec, S, this.shape.headDim), cache.elementBytes);
        if (cache.storeKTransposed) this.counters.add(layer, h, 'kTransposedWrite', this.shape.headDim, cache.elementBytes);
      }
    }
  }
}

/**
 * One task per (sequence, KV head) of `layer`, in that order, with the offsets of its query-head
 * group in q/out ([seqs.length, heads, headDim]). Throws when a block is not where the kernels can
 * read it.
 */
export function buildHeadTasks(kernels: AttentionKernels, cache: KvCache, layer: number, seqs: readonly number[],
  heads: number): AttentionHeadTask[] {
  const { kvHeads, headDim } = cache;
  const group = heads / kvHeads;
  const tasks: AttentionHeadTask[] = [];
  for (let s = 0; s < seqs.length; s++) {
    const seq = seqs[s]!;
    if (cache.length(seq, layer) === 0) throw new RangeError(`attention: sequence ${seq} has no cached positions in layer ${layer} (append this step's K/V first)`);
    for (let h = 0; h < kvHeads; h++) {
      const block = cache.head(layer, seq, h);
      if (!kernels.isResident(block.data)) throw notResident(kernels, `sequence ${seq}, layer ${layer}`);
      const offset = (s * heads + h * group) * headDim;
      tasks.push({ block, qOffset: offset, outOffset: offset });
    }
  }
  return tasks;
}

/** The error for storage a fast implementation cannot read in place (no silent copy, no slow path). */
export function notResident(kernels: AttentionKernels, what: string): Error {
  return new Error(`attention: the KV cache (${what}) is not in the ${kernels.name} kernels' memory; `
    + 'create the KvCache with their cacheAllocator and cacheRelease (the Generator does)');
}
