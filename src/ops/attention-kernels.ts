// Decode-attention kernels as a backend supplies them: the KV block layout (defined here, once),
// the task a kernel runs (one KV head of one sequence with its group of query heads), and the
// interface every implementation provides. src/attention holds the policies, the cache and the
// reference implementation (plain loops, the oracle); a fast backend supplies its own
// (src/backend/wasm/attention.ts) through Backend.attention. The wasm kernels cannot import this
// file: assembly/attention.ts repeats the offsets, and test/attention/wasm-kernels.test.ts checks
// that the two agree.

/**
 * One (layer, sequence, KV head) block of the KV cache, in floats from data[0]:
 *   [ mean of V: d ][ running sum of V: d ][ K rows: capacity x d ][ V rows: capacity x d ]
 *   [ K transposed: d x capacity ]   (only when K is stored twice)
 */
export interface KvBlockLayout {
  readonly meanOffset: number;
  readonly sumOffset: number;
  readonly keyOffset: number;
  readonly valueOffset: number;
  /** -1 when K is stored once. Row c (component) starts at transposedOffset + c * capacity. */
  readonly transposedOffset: number;
  /** Floats of the whole block. */
  readonly floats: number;
}

export function kvBlockLayout(headDim: number, capacity: number, transposed: boolean): KvBlockLayout {
  const d = headDim;
  return {
    meanOffset: 0,
    sumOffset: d,
    keyOffset: 2 * d,
    valueOffset: 2 * d + capacity * d,
    transposedOffset: transposed ? 2 * d + 2 * capacity * d : -1,
    floats: 2 * d + 2 * capacity * d + (transposed ? d * capacity : 0),
  };
}

/** Where one block lives and how full it is. */
export interface KvBlock extends KvBlockLayout {
  readonly data: Float32Array;
  readonly capacity: number;
  /** Positions stored. */
  readonly length: number;
  readonly headDim: number;
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
