// The per-(sequence, KV head) work list handed to the wasm kernels.

import { type AttentionHeadTask, WasmAttention } from '../backend/wasm/attention.js';
import type { KvCache } from './kv-cache.js';

/**
 * One task per (sequence, KV head) of `layer`, with the offsets of its query-head group in q/out
 * ([seqs.length, heads, headDim]); null when the cache is not in wasm memory (then the policies
 * use the reference kernels).
 */
export function buildHeadTasks(kernels: WasmAttention, cache: KvCache, layer: number, seqs: readonly number[],
  heads: number): AttentionHeadTask[] | null {
  const kvHeads = cache.kvHeads;
  const d = cache.headDim;
  const group = heads / kvHeads;
  if (!WasmAttention.supports(d)) return null;
  const tasks: AttentionHeadTask[] = [];
  for (let s = 0; s < seqs.length; s++) {
    for (let h = 0; h < kvHeads; h++) {
      const block = cache.head(layer, seqs[s]!, h);
      if (!kernels.isResident(block.data)) return null;
      const offset = (s * heads + h * group) * d;
      tasks.push({ block, qOffset: offset, outOffset: offset });
    }
  }
  return tasks;
}
