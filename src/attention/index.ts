// Decode-time attention: the KV cache, SparQ and its baselines behind one interface, transfer
// accounting and the ratio planner.

export { KvCache, type KvCacheOptions, type KvHeadBlock } from './kv-cache.js';
export {
  ATTENTION_KINDS, createAttentionPolicy, defaultReallocation,
  type AttentionKind, type AttentionOptions, type AttentionShape, type AttentionSpec, type DecodeAttention,
} from './policy.js';
export { DenseAttention, denseAttentionHead } from './dense.js';
export {
  SparqAttention, sparqApproxLogits, sparqAttentionHead, selectWithLocalWindow,
  type SparqHeadResult, type SparqParams, type SparqStep1,
} from './sparq.js';
export {
  ExactTopKAttention, H2oAttention, HeavyHitterState, LmInfiniteAttention, exactTopKHead, h2oSelect, lmInfiniteHead, lmInfiniteSelect,
} from './baselines.js';
export { cacheHeadView, type HeadView } from './head.js';
export { SelectWork, nthLargest, topKIndices } from './select.js';
export {
  TRANSFER_KINDS, TransferCounters, denseTransfers, sparqTransfers,
  type TransferCounts, type TransferKind, type TransferSummary,
} from './transfers.js';
export {
  PAPER_RANKS, PAPER_TOP_K, attentionSpecFromSettings, parseCompression, planCompression,
  type AttentionSettings, type CompressionPlan, type CompressionRecipe,
} from './planner.js';
