// Decode-time attention: the KV cache, SparQ and its baselines behind one interface, their kernels
// (reference here; fast ones supplied by a backend), transfer accounting and the planner.

export { KvCache, type KvCacheOptions, type KvHeadBlock } from './kv-cache.js';
export { buildHeadTasks, notResident } from './decode-policy.js';
export {
  ATTENTION_KINDS, createAttentionPolicy, defaultReallocation,
  type AttentionKind, type AttentionOptions, type AttentionShape, type AttentionSpec, type DecodeAttention,
} from './policy.js';
export { denseAttentionHead } from './dense.js';
export {
  sparqApproxLogits, sparqAttentionHead, selectWithLocalWindow, type SparqHeadResult, type SparqParams, type SparqStep1,
} from './sparq.js';
export {
  HeavyHitterState, exactTopKHead, exactTopKSelect, h2oHead, h2oSelect, lmInfiniteHead, lmInfiniteSelect, oracleHead,
} from './baselines.js';
export {
  DenseAttention, ExactTopKAttention, H2oAttention, LmInfiniteAttention, RandomProjectionAttention, SparqAttention,
  type RandomProjectionSpec, type SparqSpec,
} from './policies.js';
export {
  ProjectedKeyState, RANDOM_PROJECTION_SEED, randomProjectionHead, randomProjectionMatrix,
  type ProjectedKeys, type RandomProjectionParams,
} from './random-projection.js';
export { ReferenceAttentionKernels, referenceAttentionKernels } from './reference-kernels.js';
export {
  type AttentionHeadTask, type AttentionKernelName, type AttentionKernels, type H2oHeadTask, type KvBlock, type KvBlockLayout, type KvDType,
  type ProjectedHeadTask, type RandomProjectionKernelParams, type SparqKernelParams, KV_DTYPES, kvBlockLayout, kvElementBytes,
} from '../ops/attention-kernels.js';
export { blockHeadView, cacheHeadView, type HeadView } from './head.js';
export { SelectWork, nthLargest, topKIndices } from './select.js';
export {
  TRANSFER_KINDS, TransferCounters, denseTransfers, sparqTransfers, transferBytes, transferModel, transferRatio, transferTotal,
  type TransferBreakdown, type TransferCounts, type TransferKind, type TransferSpec, type TransferSummary,
} from './transfers.js';
export {
  PAPER_TOP_K, attentionSpecFromSettings, formatRatio, parseCompression, planCompression, planTopK, plannedRatio, sparqBreakEven,
  type AttentionSettings, type CompressionPlan, type CompressionRecipe, type PlanShape,
} from './planner.js';
