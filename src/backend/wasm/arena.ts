// One shared WebAssembly.Memory with the kernel module instantiated over it (main thread) and a
// JS-side allocator. Kernels receive byte pointers into this memory; Float32Array views on it are
// passed to kernels without copying.

import { instantiateKernels, type KernelExports } from './abi.js';

const PAGE = 65536;
/** wasm32 limit: 65536 pages = 4 GiB (memory64 is not shipped in Node 20). */
export const MAX_ARENA_BYTES = 65536 * PAGE;
/** Allocation granularity: a cache line, and enough for aligned v128 access. */
export const ARENA_ALIGN = 64;

let nextArenaId = 1;

export interface WasmArenaOptions {
  /** Compiled kernel module to instantiate over the memory. */
  module: WebAssembly.Module;
  /** Initial size (rounded up to pages). Default 16 MiB. */
  initialBytes?: number;
  /** Hard cap on the memory size (<= 4 GiB). Default 4 GiB. */
  maxBytes?: number;
}

interface FreeBlock {
  ptr: number;
  size: number;
}

const alignUp = (n: number, a: number): number => Math.ceil(n / a) * a;

export class WasmArena {
  readonly id: number;
  readonly memory: WebAssembly.Memory;
  readonly exports: KernelExports;
  readonly module: WebAssembly.Module;
  /** First allocatable byte; below it sit the module's static data (and the null pointer). */
  readonly base: number;
  readonly maxBytes: number;
  /** Bytes of one gemm workspace (per thread). */
  readonly gemmWorkBytes: number;

  // Sorted by ptr, never adjacent (coalesced on free).
  private readonly freeList: FreeBlock[] = [];
  private readonly used = new Map<number, number>();
  private usedTotal = 0;
  // Every SharedArrayBuffer object this memory has handed out: grow() replaces memory.buffer with
  // a new object over the same bytes, and older views keep pointing at the older object.
  private readonly buffers = new WeakSet<ArrayBufferLike>();
  // A view of the whole memory, renewed when it grows (memory.buffer is a ~30 ns getter).
  private heapView: Float32Array;
  private scratchPtr = 0;
  private scratchSize = 0;
  private disposed = false;

  constructor(options: WasmArenaOptions) {
    const maxBytes = Math.min(options.maxBytes ?? MAX_ARENA_BYTES, MAX_ARENA_BYTES);
    const maxPages = Math.max(1, Math.floor(maxBytes / PAGE));
    const initialPages = Math.min(maxPages, Math.max(1, Math.ceil((options.initialBytes ?? 16 * 1024 * 1024) / PAGE)));
    this.id = nextArenaId++;
    this.module = options.module;
    this.maxBytes = maxPages * PAGE;
    this.memory = new WebAssembly.Memory({ initial: initialPages, maximum: maxPages, shared: true });
    this.exports = instantiateKernels(options.module, this.memory);
    this.base = Math.max(ARENA_ALIGN, alignUp(this.exports.heap_base(), ARENA_ALIGN));
    this.gemmWorkBytes = alignUp(this.exports.gemm_work_bytes(), ARENA_ALIGN);
    this.buffers.add(this.memory.buffer);
    this.heapView = new Float32Array(this.memory.buffer);
    const end = this.memory.buffer.byteLength;
    if (end > this.base) this.freeList.push({ ptr: this.base, size: end - this.base });
  }

  /** Current memory size in bytes. */
  get byteLength(): number {
    return this.memory.buffer.byteLength;
  }

  /** Bytes handed out by alloc (including alignment padding and the scratch region). */
  get usedBytes(): number {
    return this.usedTotal;
  }

  /** Bytes that could still be allocated (free now plus room to grow). */
  get availableBytes(): number {
    let free = 0;
    for (const b of this.freeList) free += b.size;
    return free + (this.maxBytes - this.byteLength);
  }

  /** Number of free blocks (tests use it to check coalescing). */
  get freeBlockCount(): number {
    return this.freeList.length;
  }

  /** Allocates `bytes` (64-byte aligned), growing the memory if needed; returns 0 if it cannot fit. */
  tryAlloc(bytes: number): number {
    if (this.disposed) throw new Error('thrifty: arena disposed');
    const size = alignUp(Math.max(1, bytes), ARENA_ALIGN);
    let idx = this.findFit(size);
    if (idx < 0) {
      if (!this.growFor(size)) return 0;
      idx = this.findFit(size);
      if (idx < 0) return 0;
    }
    const block = this.freeList[idx]!;
    const ptr = block.ptr;
    if (block.size === size) this.freeList.splice(idx, 1);
    else {
      block.ptr += size;
      block.size -= size;
    }
    this.used.set(ptr, size);
    this.usedTotal += size;
    return ptr;
  }

  /** Like tryAlloc but throws a RangeError when the arena is full. */
  alloc(bytes: number): number {
    const ptr = this.tryAlloc(bytes);
    if (ptr === 0) {
      throw new RangeError(`thrifty: wasm arena ${this.id} cannot fit ${bytes} bytes (max ${this.maxBytes})`);
    }
    return ptr;
  }

  /** Returns a block to the free list, merging it with free neighbours. */
  free(ptr: number): void {
    const size = this.used.get(ptr);
    if (size === undefined) throw new Error(`thrifty: free of unknown pointer ${ptr} in arena ${this.id}`);
    this.used.delete(ptr);
    this.usedTotal -= size;
    if (ptr === this.scratchPtr) {
      this.scratchPtr = 0;
      this.scratchSize = 0;
    }
    const list = this.freeList;
    // Binary search for the first block after ptr.
    let lo = 0;
    let hi = list.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (list[mid]!.ptr < ptr) lo = mid + 1;
      else hi = mid;
    }
    const prev = lo > 0 ? list[lo - 1] : undefined;
    const next = lo < list.length ? list[lo] : undefined;
    if (prev && prev.ptr + prev.size === ptr) {
      prev.size += size;
      if (next && prev.ptr + prev.size === next.ptr) {
        prev.size += next.size;
        list.splice(lo, 1);
      }
    } else if (next && ptr + size === next.ptr) {
      next.ptr = ptr;
      next.size += size;
    } else {
      list.splice(lo, 0, { ptr, size });
    }
  }

  /** Size of the block at ptr (as allocated, i.e. rounded up), or undefined. */
  sizeOf(ptr: number): number | undefined {
    return this.used.get(ptr);
  }

  /** A Float32Array over the whole memory as it is now (index = byte pointer / 4). */
  heap(): Float32Array {
    return this.heapView;
  }

  /** A Float32Array view of `length` floats at ptr, made from the current memory.buffer. */
  f32(ptr: number, length: number): Float32Array {
    const buffer = this.memory.buffer;
    this.buffers.add(buffer);
    return new Float32Array(buffer, ptr, length);
  }

  f64(ptr: number, length: number): Float64Array {
    const buffer = this.memory.buffer;
    this.buffers.add(buffer);
    return new Float64Array(buffer, ptr, length);
  }

  /** Whether the view lives in this memory (so kernels can take its byteOffset as a pointer). */
  owns(view: ArrayBufferView): boolean {
    const buffer = view.buffer;
    if (this.buffers.has(buffer)) return true;
    if (buffer === this.memory.buffer) {
      this.buffers.add(buffer);
      return true;
    }
    return false;
  }

  /**
   * A region of at least `bytes` for the operands of one kernel call, valid until the next call
   * of scratch(). Grow-only, so repeated calls of one shape allocate nothing.
   */
  scratch(bytes: number): number {
    if (bytes <= this.scratchSize) return this.scratchPtr;
    if (this.scratchPtr !== 0) this.free(this.scratchPtr);
    // Grow geometrically so a sequence of slightly larger calls does not churn the allocator.
    const size = alignUp(Math.max(bytes, this.scratchSize * 1.5, 1 << 20), ARENA_ALIGN);
    let ptr = this.tryAlloc(size);
    if (ptr === 0 && size > bytes) ptr = this.tryAlloc(bytes);
    if (ptr === 0) {
      throw new RangeError(`thrifty: wasm arena ${this.id} has no room for ${bytes} bytes of kernel scratch`);
    }
    this.scratchPtr = ptr;
    this.scratchSize = this.used.get(ptr)!;
    return ptr;
  }

  /** Drops the scratch region (e.g. after an unusually large call). */
  releaseScratch(): void {
    if (this.scratchPtr !== 0) this.free(this.scratchPtr);
  }

  /** Forgets all allocations. The memory itself is released when the arena is garbage collected. */
  dispose(): void {
    this.disposed = true;
    this.freeList.length = 0;
    this.used.clear();
    this.usedTotal = 0;
    this.scratchPtr = 0;
    this.scratchSize = 0;
  }

  private findFit(size: number): number {
    // Best fit: keeps large free blocks intact for large weights.
    let best = -1;
    let bestSize = Infinity;
    const list = this.freeList;
    for (let i = 0; i < list.length; i++) {
      const s = list[i]!.size;
      if (s >= size && s < bestSize) {
        best = i;
        bestSize = s;
        if (s === size) break;
      }
    }
    return best;
  }

  private growFor(size: number): boolean {
    const end = this.byteLength;
    const last = this.freeList.length > 0 ? this.freeList[this.freeList.length - 1] : undefined;
    const tail = last && last.ptr + last.size === end ? last.size : 0;
    const needed = size - tail;
    if (end + needed > this.maxBytes) return false;
    // Grow by at least 1/8 of the current size to amortise grow calls, within the cap.
    const want = Math.min(this.maxBytes - end, Math.max(needed, end / 8));
    const pages = Math.ceil(want / PAGE);
    const grownPages = Math.min(pages, (this.maxBytes - end) / PAGE);
    if (grownPages * PAGE < needed) return false;
    this.memory.grow(grownPages);
    const buffer = this.memory.buffer;
    this.buffers.add(buffer);
    this.heapView = new Float32Array(buffer);
    const newEnd = buffer.byteLength;
    if (last && last.ptr + last.size === end) last.size += newEnd - end;
    else this.freeList.push({ ptr: end, size: newEnd - end });
    return true;
  }
}
