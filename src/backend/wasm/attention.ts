// WasmAttention: the wasm backend's decode-attention kernels (assembly/attention.ts) over KV-cache
// blocks that live in wasm arenas, behind the AttentionKernels interface (src/ops/attention-kernels.ts).
// Each task is one (sequence, KV head): its block, laid out as kvBlockLayout defines, and the rows
// of its query-head group in q/out.
//
// Tasks are grouped by arena (a cache larger than one 4 GiB memory spans several; each kernel
// call runs inside one). Per arena this keeps one staging region: the task descriptors, copies of
// q and out, one workspace per thread, and a task counter the threads take tasks from.
// A block (or H2O score vector) outside the arenas is an error, never a slow path.

import {
  type AttentionHeadTask, type AttentionKernelName, type AttentionKernels, type H2oHeadTask, type KvBlock, kvBlockLayout, type SparqKernelParams,
} from '../../ops/attention-kernels.js';
import type { WasmArena } from './arena.js';
import type { WasmKernels } from './kernels.js';

/** The storage of one (sequence, KV head). */
export type AttentionBlock = KvBlock;
export type { AttentionHeadTask, SparqKernelParams };

type AttentionFunction = 'attn_dense' | 'attn_sparq' | 'attn_lminf' | 'attn_exact' | 'attn_h2o';

const DESC_INTS = 8;
const ALIGN = 64;
const alignUp = (n: number, a = ALIGN): number => Math.ceil(n / a) * a;

interface Staging {
  ptr: number;
  bytes: number;
}

export class WasmAttention implements AttentionKernels {
  readonly name = 'wasm';
  readonly needsResidentCache = true;
  // Decoding reads the whole cache (dense) or much of it (SparQ) every step: f16 halves the bytes.
  readonly defaultKvDType = 'f16' as const;
  readonly kernels: WasmKernels;
  /** KvCacheOptions.allocator: cache blocks in the kernels' arenas (zero-filled). */
  readonly cacheAllocator: (floats: number) => Float32Array;
  /** KvCacheOptions.release. */
  readonly cacheRelease: (view: Float32Array) => void;
  /** Kernel dispatches so far (one per arena per call): lets tests and reports see the wasm path ran. */
  calls = 0;
  private readonly staging = new Map<WasmArena, Staging>();
  // Reused per call: tasks bucketed by arena.
  private readonly buckets = new Map<WasmArena, number[]>();

  constructor(kernels: WasmKernels) {
    this.kernels = kernels;
    this.cacheAllocator = (floats) => kernels.allocF32(floats);
    // Tolerates kernels disposed first (their arenas, and every block in them, are gone already).
    this.cacheRelease = (view) => {
      const arena = kernels.arenas.find(view);
      if (arena && arena.sizeOf(view.byteOffset) !== undefined) arena.free(view.byteOffset);
    };
  }

  /** The kernels this implementation lacks: the policies that need them run on the reference kernels, and say so. */
  static readonly missing: ReadonlySet<AttentionKernelName> = new Set<AttentionKernelName>(['random-projection']);

  /** Whether the kernels handle this head dim (multiples of 4) and, if named, have this kernel. */
  static supports(headDim: number, kernel?: AttentionKernelName): boolean {
    return Number.isInteger(headDim) && headDim > 0 && headDim % 4 === 0 && (kernel === undefined || !WasmAttention.missing.has(kernel));
  }

  supports(headDim: number, kernel?: AttentionKernelName): boolean {
    return WasmAttention.supports(headDim, kernel);
  }

  /** No wasm kernel: an error, never a slow path (supports() says so first, and the Generator picks the reference kernels). */
  randomProjection(): void {
    throw new Error('attention: the wasm kernels have no random-projection kernel; run that policy on the reference kernels (the Generator does, and says so)');
  }

  /** Whether a block lives in one of the kernels' arenas (then it is used in place). */
  isResident(view: Float32Array): boolean {
    return this.kernels.arenas.find(view) !== undefined;
  }

  /** Dense attention: every task's group of query heads over all its cached positions. */
  dense(tasks: readonly AttentionHeadTask[], q: Float32Array, out: Float32Array, headDim: number, group: number): void {
    this.run(tasks, q, out, headDim, group, (arena, maxLen) => arena.exports.attn_dense_work_bytes(maxLen, group, headDim),
      (desc, count, work) => [desc, count, headDim, group, work], 'attn_dense', false);
  }

  /** LM-Infinite: the first `sinks` positions and the most recent, topK in all. */
  lmInfinite(tasks: readonly AttentionHeadTask[], q: Float32Array, out: Float32Array, headDim: number, group: number,
    params: { readonly topK: number; readonly sinks: number }): void {
    const { topK, sinks } = params;
    checkCounts('lmInfinite', { topK, sinks });
    this.run(tasks, q, out, headDim, group, (arena, maxLen) => arena.exports.attn_sparq_work_bytes(maxLen, group, topK, headDim),
      (desc, count, work) => [desc, count, headDim, group, topK, Math.min(sinks, topK), work], 'attn_lminf', false);
  }

  /** FlexGen and the oracle: top-k of the exact probabilities summed over the group. */
  exactTopK(tasks: readonly AttentionHeadTask[], q: Float32Array, out: Float32Array, headDim: number, group: number,
    params: { readonly topK: number }): void {
    const { topK } = params;
    checkCounts('exactTopK', { topK });
    this.run(tasks, q, out, headDim, group, (arena, maxLen) => arena.exports.attn_sparq_work_bytes(maxLen, group, topK, headDim),
      (desc, count, work, maxLen) => [desc, count, headDim, group, topK, maxLen, work], 'attn_exact', false);
  }

  /** H2O: local window plus heavy hitters; every task's score vector is updated in place. */
  h2o(tasks: readonly H2oHeadTask[], q: Float32Array, out: Float32Array, headDim: number, group: number,
    params: { readonly topK: number; readonly localWindow: number }): void {
    const { topK, localWindow } = params;
    checkCounts('h2o', { topK, localWindow });
    this.run(tasks, q, out, headDim, group, (arena, maxLen) => arena.exports.attn_sparq_work_bytes(maxLen, group, topK, headDim),
      (desc, count, work, maxLen) => [desc, count, headDim, group, topK, Math.min(localWindow, topK), maxLen, work], 'attn_h2o', false);
  }

  /** SparQ attention with the given (r, k, l, reallocation) for every task. */
  sparq(tasks: readonly AttentionHeadTask[], q: Float32Array, out: Float32Array, headDim: number, group: number,
    params: SparqKernelParams): void {
    const { rank, topK, localWindow } = params;
    for (const [name, v] of [['rank', rank], ['topK', topK], ['localWindow', localWindow]] as const) {
      if (!Number.isInteger(v) || v < 0) throw new RangeError(`WasmAttention.sparq: ${name} must be a non-negative integer, got ${v}`);
    }
    if (rank < 1 || topK < 1) throw new RangeError(`WasmAttention.sparq: rank and topK must be at least 1 (got ${rank}, ${topK})`);
    const r = Math.min(rank, headDim);
    this.run(tasks, q, out, headDim, group, (arena, maxLen) => arena.exports.attn_sparq_work_bytes(maxLen, group, topK, headDim),
      (desc, count, work) => [desc, count, headDim, group, r, topK, localWindow, +params.reallocation, +params.transposed, work],
      'attn_sparq', params.transposed);
  }

  /**
   * The kernels' exact top-k selection on its own: ascending indices of the k largest values
   * (ties toward lower indices; NaN ranks lowest), as src/attention/select.ts topKIndices.
   */
  topK(values: Float32Array, k: number): Int32Array {
    if (!Number.isInteger(k) || k < 0) throw new RangeError(`WasmAttention.topK: k must be a non-negative integer, got ${k}`);
    const n = values.length;
    const arena = this.kernels.arenas.primary;
    const valBytes = alignUp(n * 4);
    const outBytes = alignUp(Math.min(k, n) * 4 + 4);
    const base = this.stage(arena, valBytes + outBytes + alignUp(arena.exports.attn_topk_work_bytes(n)));
    const heap = arena.heap();
    const vals = heap.subarray(base >>> 2, (base >>> 2) + n);
    for (let i = 0; i < n; i++) {
      const v = values[i]!;
      vals[i] = v === v ? v : -Infinity;
    }
    const count = arena.exports.attn_topk(base, n, k, base + valBytes, base + valBytes + outBytes);
    return new Int32Array(arena.heap().buffer, base + valBytes, count).slice();
  }

  /** Frees the staging regions. */
  dispose(): void {
    for (const [arena, s] of this.staging) {
      if (arena.sizeOf(s.ptr) !== undefined) arena.free(s.ptr);
    }
    this.staging.clear();
  }

  private run(
    tasks: readonly (AttentionHeadTask | H2oHeadTask)[], q: Float32Array, out: Float32Array, headDim: number, group: number,
    workBytes: (arena: WasmArena, maxLen: number) => number,
    args: (desc: number, count: number, work: number, maxLen: number) => number[],
    fn: AttentionFunction, needsTransposed: boolean,
  ): void {
    if (!WasmAttention.supports(headDim)) throw new RangeError(`WasmAttention: head dim ${headDim} is not a multiple of 4`);
    if (!Number.isInteger(group) || group < 1) throw new RangeError(`WasmAttention: group must be a positive integer, got ${group}`);
    const rowFloats = group * headDim;
    // Bucket the tasks by the arena of their block.
    const buckets = this.buckets;
    for (const list of buckets.values()) list.length = 0;
    for (let t = 0; t < tasks.length; t++) {
      const task = tasks[t]!;
      const b = task.block;
      const arena = this.kernels.arenas.find(b.data);
      if (!arena) throw new RangeError(`WasmAttention: task ${t}: the cache block is not in a wasm arena (allocate the KvCache with cacheAllocator)`);
      if (b.length <= 0) throw new RangeError(`WasmAttention: task ${t}: the cache holds no positions`);
      if (b.headDim !== headDim) throw new RangeError(`WasmAttention: task ${t}: block of head dim ${b.headDim}, call for ${headDim}`);
      const layout = kvBlockLayout(headDim, b.capacity, b.transposedOffset >= 0, b.dtype);
      if (b.keyOffset !== layout.keyOffset || b.valueOffset !== layout.valueOffset || b.meanOffset !== layout.meanOffset
        || b.transposedOffset !== layout.transposedOffset || b.elementBytes !== layout.elementBytes || b.data.byteLength < layout.bytes) {
        throw new RangeError(`WasmAttention: task ${t}: the block is not laid out as kvBlockLayout (the kernels assume that layout)`);
      }
      if (fn === 'attn_h2o') {
        const scores = (task as H2oHeadTask).scores;
        if (this.kernels.arenas.find(scores) !== arena) {
          throw new RangeError(`WasmAttention: task ${t}: the H2O score vector is not in the wasm memory of its cache block (allocate it with cacheAllocator)`);
        }
        if (scores.length < b.length) throw new RangeError(`WasmAttention: task ${t}: score vector of ${scores.length} for ${b.length} positions`);
      }
      if (needsTransposed && b.transposedOffset < 0) throw new RangeError(`WasmAttention: task ${t}: no transposed K (create the KvCache with storeKTransposed)`);
      if (task.qOffset < 0 || task.qOffset + rowFloats > q.length) throw new RangeError(`WasmAttention: task ${t}: q rows out of range`);
      if (task.outOffset < 0 || task.outOffset + rowFloats > out.length) throw new RangeError(`WasmAttention: task ${t}: out rows out of range`);
      let list = buckets.get(arena);
      if (!list) {
        list = [];
        buckets.set(arena, list);
      }
      list.push(t);
    }
    for (const [arena, list] of buckets) {
      if (list.length === 0) continue;
      this.runArena(arena, list, tasks, q, out, rowFloats, workBytes, args, fn);
    }
  }

  private runArena(
    arena: WasmArena, list: readonly number[], tasks: readonly (AttentionHeadTask | H2oHeadTask)[], q: Float32Array, out: Float32Array,
    rowFloats: number,
    workBytes: (arena: WasmArena, maxLen: number) => number,
    args: (desc: number, count: number, work: number, maxLen: number) => number[],
    fn: AttentionFunction,
  ): void {
    const count = list.length;
    const threads = Math.max(1, Math.min(this.kernels.threads, count));
    let maxLen = 0;
    for (const t of list) maxLen = Math.max(maxLen, tasks[t]!.block.length);
    const perThread = alignUp(workBytes(arena, maxLen));
    const descBytes = alignUp(count * DESC_INTS * 4);
    const rowsBytes = alignUp(count * rowFloats * 4);
    // The task counter has a cache line of its own (every thread updates it).
    const need = ALIGN + descBytes + 2 * rowsBytes + threads * perThread;
    const base = this.stage(arena, need);
    const counterPtr = base;
    const descPtr = base + ALIGN;
    const qPtr = descPtr + descBytes;
    const outPtr = qPtr + rowsBytes;
    const workPtr = outPtr + rowsBytes;
    const heap = arena.heap();
    const i32 = new Int32Array(heap.buffer, heap.byteOffset, heap.length);
    // Descriptors and the query rows.
    for (let j = 0; j < count; j++) {
      const task = tasks[list[j]!]!;
      const b = task.block;
      // The kernels find K, V, K^T and the mean from the block's start by the same layout (checked by
      // test/attention/wasm-kernels.test.ts); the block's own offsets must be that layout.
      const o = (descPtr >>> 2) + j * DESC_INTS;
      i32[o] = b.data.byteOffset;
      i32[o + 1] = b.capacity;
      i32[o + 2] = b.length;
      i32[o + 3] = b.elementBytes;
      i32[o + 4] = qPtr + j * rowFloats * 4;
      i32[o + 5] = outPtr + j * rowFloats * 4;
      i32[o + 6] = fn === 'attn_h2o' ? (task as H2oHeadTask).scores.byteOffset : 0;
      i32[o + 7] = b.mayHoldNonFinite ? 1 : 0;
      heap.set(q.subarray(task.qOffset, task.qOffset + rowFloats), (qPtr >>> 2) + j * rowFloats);
    }
    // The threads take the tasks one at a time from the shared counter (a thread that starts late,
    // or is descheduled, takes fewer).
    this.kernels.runShared(arena, fn, threads, counterPtr, (p) => args(descPtr, count, workPtr + p * perThread, maxLen));
    this.calls++;
    const outHeap = arena.heap();
    for (let j = 0; j < count; j++) {
      const task = tasks[list[j]!]!;
      const from = (outPtr >>> 2) + j * rowFloats;
      out.set(outHeap.subarray(from, from + rowFloats), task.outOffset);
    }
  }

  // A staging region of at least `bytes` in `arena`, grown geometrically, kept between calls.
  private stage(arena: WasmArena, bytes: number): number {
    const current = this.staging.get(arena);
    if (current && current.bytes >= bytes) return current.ptr;
    if (current) arena.free(current.ptr);
    const size = alignUp(Math.max(bytes, (current?.bytes ?? 0) * 1.5, 1 << 16));
    let ptr = arena.tryAlloc(size);
    if (ptr === 0) ptr = arena.alloc(bytes);
    this.staging.set(arena, { ptr, bytes: arena.sizeOf(ptr) ?? bytes });
    return ptr;
  }
}

function checkCounts(who: string, values: Record<string, number>): void {
  for (const [name, v] of Object.entries(values)) {
    if (!Number.isInteger(v) || v < 0) throw new RangeError(`WasmAttention.${who}: ${name} must be a non-negative integer, got ${v}`);
  }
  if ((values.topK ?? 1) < 1) throw new RangeError(`WasmAttention.${who}: topK must be at least 1`);
}
