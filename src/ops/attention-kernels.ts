// Decode-attention kernels as a backend supplies them: the KV block layout (defined here, once),
// the task a kernel runs (one KV head of one sequence with its group of query heads), and the
// interface every implementation provides. src/attention holds the policies, the cache and the
// reference implementation (plain loops, the oracle); a fast backend supplies its own
// (src/backend/wasm/attention.ts) through Backend.attention. The wasm kernels cannot import this
// file: assembly/attention.ts repeats the offsets, and test/attention/wasm-kernels.test.ts checks
// that the two agree.

/** Element type of the K and V rows of a cache ('f16': IEEE half, rounded to nearest even on append). */
export type KvDType = 'f32' | 'f16';
export const KV_DTYPES: readonly KvDType[] = ['f32', 'f16'];

/** Bytes of one K or V element. */
export function kvElementBytes(dtype: KvDType): 2 | 4 {
  return dtype === 'f16' ? 2 : 4;
}

/**
 * One (layer, sequence, KV head) block of the KV cache, in bytes from the block's start:
 *   [ mean of V: d f32 ][ running sum of V: d f32 ][ K rows: capacity x d ][ V rows: capacity x d ]
 *   [ K transposed: d x capacity ]   (only when K is stored twice)
 * K, V and K^T elements are `elementBytes` each: K and V in the cache's dtype, K^T too in an f32 cache
 * and in bf16 in an f16 one (src/attention/kv-cache.ts says why); the mean and sum are always f32.
 */
export interface KvBlockLayout {
  readonly dtype: KvDType;
  readonly elementBytes: 2 | 4;
  readonly meanOffset: number;
  readonly sumOffset: number;
  readonly keyOffset: number;
  readonly valueOffset: number;
  /** -1 when K is stored once. Row c (component) starts at transposedOffset + c * capacity * elementBytes. */
  readonly transposedOffset: number;
  /** Bytes of the whole block (a multiple of 4 when capacity is a multiple of 2). */
  readonly bytes: number;
}

export function kvBlockLayout(headDim: number, capacity: number, transposed: boolean, dtype: KvDType = 'f32'): KvBlockLayout {
  const d = headDim;
  const e = kvElementBytes(dtype);
  const rows = capacity * d * e;
  return {
    dtype,
    elementBytes: e,
    meanOffset: 0,
    sumOffset: 4 * d,
    keyOffset: 8 * d,
    valueOffset: 8 * d + rows,
    transposedOffset: transposed ? 8 * d + 2 * rows : -1,
    bytes: 8 * d + 2 * rows + (transposed ? rows : 0),
  };
}

/** Where one block lives and how full it is; the layout's offsets are bytes from data.byteOffset. */
export interface KvBlock extends KvBlockLayout {
  /** The block's storage (layout.bytes / 4 floats; K/V parts hold f16 bits when dtype is 'f16'). */
  readonly data: Float32Array;
  readonly capacity: number;
  /** Positions stored. */
  readonly length: number;
  readonly headDim: number;
  /**
   * An f16 block that has received an inf or NaN since it was last empty: fast kernels then widen
   * it exactly (their fast widening assumes finite halves). Always false for f32 blocks.
   */
  readonly mayHoldNonFinite: boolean;
}

export interface AttentionHeadTask {
  readonly block: KvBlock;
  /** Where the group's query rows [group, headDim] start in q (elements). */
  readonly qOffset: number;
  /** Where the group's output rows start in out. */
  readonly outOffset: number;
}

/** H2O's task also carries the head's score vector (>= length f32; -Infinity = evicted), updated in place. */
export interface H2oHeadTask extends AttentionHeadTask {
  readonly scores: Float32Array;
}

/**
 * The random-projection policy's task also carries the head's projected keys: component-major,
 * row c (component c of P^T K) at projectedKeys[c * projectedStride], the block's length positions.
 */
export interface ProjectedHeadTask extends AttentionHeadTask {
  readonly projectedKeys: Float32Array;
  readonly projectedStride: number;
}

export interface RandomProjectionKernelParams {
  readonly rank: number;
  readonly topK: number;
  readonly localWindow: number;
  readonly reallocation: boolean;
  /** P [headDim, rank], row-major. */
  readonly projection: Float32Array;
}

/** The decode-attention kernels by name, for supports(): what an implementation may lack. */
export type AttentionKernelName = 'dense' | 'sparq' | 'lm-infinite' | 'exact-top-k' | 'h2o' | 'random-projection';

export interface SparqKernelParams {
  readonly rank: number;
  readonly topK: number;
  readonly localWindow: number;
  readonly reallocation: boolean;
  /** Read step 1 from the transposed copy of K (every block must have one). */
  readonly transposed: boolean;
}

/**
 * Decode attention (query length 1) over a list of head tasks; q and out hold the query and output
 * rows the tasks point at; scale 1 / sqrt(headDim). An implementation that needs the cache in its
 * own memory (needsResidentCache) throws on a block that is not: never a silent slow path.
 */
export interface AttentionKernels {
  /** 'reference', 'wasm', ... */
  readonly name: string;
  /** Cache blocks (and H2O score vectors) must come from cacheAllocator. */
  readonly needsResidentCache: boolean;
  /** The KV dtype a cache for these kernels gets when none is asked for (wasm: 'f16'; reference: 'f32'). */
  readonly defaultKvDType: KvDType;
  /** Storage for cache blocks (zero-filled); absent: plain Float32Arrays. */
  readonly cacheAllocator?: ((floats: number) => Float32Array) | undefined;
  readonly cacheRelease?: ((view: Float32Array) => void) | undefined;
  /** Whether a block (or score vector) is in this implementation's memory. */
  isResident(view: Float32Array): boolean;
  /**
   * Whether heads of this size are handled (and, given a kernel, whether this implementation has
   * it); a policy refuses kernels that do not, and the Generator runs on the reference kernels
   * instead, saying why (Generator.kernelsNote).
   */
  supports(headDim: number, kernel?: AttentionKernelName): boolean;
  dense(tasks: readonly AttentionHeadTask[], q: Float32Array, out: Float32Array, headDim: number, group: number): void;
  sparq(tasks: readonly AttentionHeadTask[], q: Float32Array, out: Float32Array, headDim: number, group: number,
    params: SparqKernelParams): void;
  /** The first `sinks` positions plus the most recent, topK in all. */
  lmInfinite(tasks: readonly AttentionHeadTask[], q: Float32Array, out: Float32Array, headDim: number, group: number,
    params: { readonly topK: number; readonly sinks: number }): void;
  /** Top-k of the exact scores summed over the group, then attention over them (FlexGen; the oracle gets the same output). */
  exactTopK(tasks: readonly AttentionHeadTask[], q: Float32Array, out: Float32Array, headDim: number, group: number,
    params: { readonly topK: number; readonly oracle?: boolean | undefined }): void;
  /** H2O: keeps the local window and the heavy hitters, attends, updates every task's score vector. */
  h2o(tasks: readonly H2oHeadTask[], q: Float32Array, out: Float32Array, headDim: number, group: number,
    params: { readonly topK: number; readonly localWindow: number }): void;
  /** SparQ's step 2 after approximate scores from projected keys (the key-compression ablation's random projection). */
  randomProjection(tasks: readonly ProjectedHeadTask[], q: Float32Array, out: Float32Array, headDim: number, group: number,
    params: RandomProjectionKernelParams): void;
}
