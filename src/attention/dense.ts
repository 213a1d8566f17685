// Dense decode attention: every cached position, exact softmax. The baseline that the sparse
// policies are measured against.

import type { WasmAttention } from '../backend/wasm/attention.js';
import { type AttentionOptions, type AttentionShape, PolicyBase } from './decode-policy.js';
import { allValid, attendSelected, cacheHeadView, type HeadView } from './head.js';
import type { KvCache } from './kv-cache.js';
import { buildHeadTasks } from './tasks.js';

/** Reference dense attention for one KV head and its `group` query heads (rows of q at qOffset). */
export function denseAttentionHead(view: HeadView, q: Float32Array, qOffset: number, group: number,
  out: Float32Array, outOffset: number): void {
  const idx = allValid(view);
  attendSelected(view, q, qOffset, group, idx, idx.length, out, outOffset);
}

export class DenseAttention extends PolicyBase {
  readonly name = 'dense' as const;
  readonly spec = { kind: 'dense' } as const;

  constructor(shape: AttentionShape, options: AttentionOptions = {}) {
    super(shape, options);
  }

  protected attendHead(cache: KvCache, layer: number, seq: number, kvHead: number,
    q: Float32Array, qOffset: number, out: Float32Array, outOffset: number): void {
    denseAttentionHead(cacheHeadView(cache, layer, seq, kvHead), q, qOffset, this.group, out, outOffset);
  }

  protected override attendFast(kernels: WasmAttention, cache: KvCache, layer: number, seqs: readonly number[],
    q: Float32Array, out: Float32Array): boolean {
    const tasks = buildHeadTasks(kernels, cache, layer, seqs, this.shape.heads);
    if (!tasks) return false;
    kernels.dense(tasks, q, out, this.shape.headDim, this.group);
    return true;
  }

  protected count(layer: number, kvHead: number, S: number): void {
    const d = this.shape.headDim;
    this.counters.add(layer, kvHead, 'kRead', S * d);
    this.counters.add(layer, kvHead, 'vRead', S * d);
  }
}
