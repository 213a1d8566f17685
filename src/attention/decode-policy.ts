// The decode-attention interface shared by all policies, and the loop over sequences and KV heads
// that they have in common. Prefill (query length > 1) is not a policy's business: the model does
// it densely with ordinary ops and appends the prompt's K/V to the cache.

import type { WasmAttention } from '../backend/wasm/attention.js';
import type { KvCache } from './kv-cache.js';
import { TransferCounters } from './transfers.js';

export type AttentionSpec =
  | { kind: 'dense' }
  | { kind: 'sparq'; rank: number; topK: number; localWindow: number; reallocation?: boolean }
  | { kind: 'h2o'; topK: number; localWindow?: number }
  | { kind: 'lm-infinite'; topK: number; sinks?: number }
  | { kind: 'flexgen'; topK: number }
  | { kind: 'oracle'; topK: number };

export type AttentionKind = AttentionSpec['kind'];

export const ATTENTION_KINDS: readonly AttentionKind[] = ['dense', 'sparq', 'h2o', 'lm-infinite', 'flexgen', 'oracle'];

export interface AttentionShape {
  readonly layers: number;
  /** Query heads. */
  readonly heads: number;
  readonly kvHeads: number;
  readonly headDim: number;
}

export interface AttentionOptions {
  /** Wasm SIMD kernels; used when the cache lives in wasm arenas (see WasmAttention.cacheAllocator). */
  kernels?: WasmAttention | undefined;
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

/** Shape checks and the per-head loop; subclasses implement one KV head (and optionally a batched fast path). */
export abstract class PolicyBase implements DecodeAttention {
  abstract readonly name: AttentionKind;
  abstract readonly spec: AttentionSpec;
  readonly shape: AttentionShape;
  readonly counters: TransferCounters;
  protected readonly group: number;
  protected readonly kernels: WasmAttention | undefined;

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
    this.kernels = options.kernels;
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
    for (const seq of seqs) {
      if (cache.length(seq, layer) === 0) throw new RangeError(`attention: sequence ${seq} has no cached positions in layer ${layer} (append this step's K/V first)`);
    }
    if (this.kernels && this.attendFast(this.kernels, cache, layer, seqs, q, out)) {
      this.countAll(cache, layer, seqs);
      return;
    }
    const g = this.group;
    for (let s = 0; s < seqs.length; s++) {
      const seq = seqs[s]!;
      for (let h = 0; h < kvHeads; h++) {
        const offset = (s * heads + h * g) * headDim;
        this.attendHead(cache, layer, seq, h, q, offset, out, offset);
      }
    }
    this.countAll(cache, layer, seqs);
  }

  /** One KV head with its group of query heads at q[qOffset ...], result to out[outOffset ...]. */
  protected abstract attendHead(cache: KvCache, layer: number, seq: number, kvHead: number,
    q: Float32Array, qOffset: number, out: Float32Array, outOffset: number): void;

  /** Batched wasm path; returns false when it does not apply (then the reference loop runs). */
  protected attendFast(_kernels: WasmAttention, _cache: KvCache, _layer: number, _seqs: readonly number[],
    _q: Float32Array, _out: Float32Array): boolean {
    return false;
  }

  /** Adds one head-step's transfers for a KV head attended over seqLen positions. */
  protected abstract count(layer: number, kvHead: number, seqLen: number, cache: KvCache): void;

  private countAll(cache: KvCache, layer: number, seqs: readonly number[]): void {
    for (const seq of seqs) {
      const S = cache.length(seq, layer);
      for (let h = 0; h < this.shape.kvHeads; h++) {
        this.counters.beginStep(layer, h, S, this.shape.headDim);
        this.count(layer, h, S, cache);
        // The current position's K and V were written to the cache for this step.
        this.counters.add(layer, h, 'kWrite', this.shape.headDim);
        this.counters.add(layer, h, 'vWrite', this.shape.headDim);
        if (cache.storeKTransposed) this.counters.add(layer, h, 'kTransposedWrite', this.shape.headDim);
      }
    }
  }
}
