// A set of arenas, so that weights plus KV caches larger than one 4 GiB wasm32 memory span several
// memories. A block lives in exactly one arena; each kernel call runs in one arena (see
// WasmKernels: the one holding its largest pinned operand; other operands are copied into that
// arena's scratch).

import { MAX_ARENA_BYTES, WasmArena } from './arena.js';

// Browsers hide the SharedArrayBuffer constructor on pages that are not cross-origin isolated, yet
// may still create shared wasm memories (the kernels then run on one thread): take it from one.
type BufferClass = abstract new (...args: never[]) => ArrayBufferLike;
function sharedBufferClass(): BufferClass {
  if (typeof SharedArrayBuffer === 'function') return SharedArrayBuffer;
  try {
    return new WebAssembly.Memory({ initial: 0, maximum: 0, shared: true }).buffer.constructor as BufferClass;
  } catch {
    return class NoSharedMemory {} as unknown as BufferClass; // no arena can exist here either
  }
}
const SHARED_BUFFER = sharedBufferClass();

export interface WasmArenaSetOptions {
  module: WebAssembly.Module;
  /** Cap per arena (<= 4 GiB). Tests use small caps to exercise spill-over. */
  maxArenaBytes?: number;
  /** Initial size of each new arena. Default 16 MiB (or the cap, if smaller). */
  initialArenaBytes?: number;
  /**
   * Room kept free in each arena for kernel scratch (copies of foreign operands, gemm packing
   * buffers): user allocations may not eat into it. Default min(64 MiB, cap / 8).
   */
  reserveBytes?: number;
  /** Called for every new arena (WasmKernels uses it to attach the memory to worker threads). */
  onCreate?: (arena: WasmArena) => void;
}

/** A block of one arena. */
export interface ArenaBlock {
  readonly arena: WasmArena;
  readonly ptr: number;
  readonly bytes: number;
}

export class WasmArenaSet {
  readonly module: WebAssembly.Module;
  readonly maxArenaBytes: number;
  readonly reserveBytes: number;
  private readonly initialArenaBytes: number;
  private readonly onCreate: ((arena: WasmArena) => void) | undefined;
  private readonly list: WasmArena[] = [];
  private readonly byId = new Map<number, WasmArena>();
  // Views handed out by allocF32, so free(view) finds the block even if the caller sliced nothing.
  private readonly byBuffer = new WeakMap<ArrayBufferLike, WasmArena>();

  constructor(options: WasmArenaSetOptions) {
    this.module = options.module;
    this.maxArenaBytes = Math.min(options.maxArenaBytes ?? MAX_ARENA_BYTES, MAX_ARENA_BYTES);
    this.initialArenaBytes = Math.min(options.initialArenaBytes ?? 16 * 1024 * 1024, this.maxArenaBytes);
    this.reserveBytes = options.reserveBytes ?? Math.min(64 * 1024 * 1024, Math.floor(this.maxArenaBytes / 8));
    this.onCreate = options.onCreate;
    this.open();
  }

  /** All arenas, oldest first. arenas[0] is the default arena for calls with no pinned operand. */
  get arenas(): readonly WasmArena[] {
    return this.list;
  }

  get primary(): WasmArena {
    return this.list[0]!;
  }

  get(id: number): WasmArena | undefined {
    return this.byId.get(id);
  }

  /** Places `bytes` in the first arena with room (keeping its scratch reserve), else opens a new arena. */
  alloc(bytes: number): ArenaBlock {
    const limit = this.maxArenaBytes - this.reserveBytes;
    for (const arena of this.list) {
      if (arena.usedBytes + bytes > limit) continue;
      if (arena.availableBytes - bytes < this.reserveBytes) continue;
      const ptr = arena.tryAlloc(bytes);
      if (ptr !== 0) return { arena, ptr, bytes };
    }
    const arena = this.open(bytes);
    const ptr = arena.tryAlloc(bytes);
    if (ptr === 0) {
      throw new RangeError(`thrifty: ${bytes} bytes do not fit in one wasm arena (cap ${this.maxArenaBytes} bytes, `
        + `of which ${this.reserveBytes} are kept for kernel scratch)`);
    }
    return { arena, ptr, bytes };
  }

  /**
   * A Float32Array of `length` floats in some arena, zero-filled unless `zeroFill` is false (for
   * outputs a kernel overwrites: fresh blocks may hold old data).
   */
  allocF32(length: number, zeroFill = true): Float32Array {
    const block = this.alloc(length * 4);
    const view = block.arena.f32(block.ptr, length);
    if (zeroFill) view.fill(0);
    this.byBuffer.set(view.buffer, block.arena);
    return view;
  }

  /** Frees a block, or the block that starts at a view returned by allocF32. */
  free(blockOrView: ArenaBlock | Float32Array): void {
    if (blockOrView instanceof Float32Array) {
      const arena = this.find(blockOrView);
      if (!arena) throw new Error('thrifty: free of a Float32Array that is not in a wasm arena');
      arena.free(blockOrView.byteOffset);
      return;
    }
    blockOrView.arena.free(blockOrView.ptr);
  }

  /** The arena whose memory holds this view, if any. */
  find(view: ArrayBufferView): WasmArena | undefined {
    const buffer = view.buffer;
    // Arena memories are always shared: plain ArrayBuffers are rejected without any lookup.
    if (!(buffer instanceof SHARED_BUFFER)) return undefined;
    const hit = this.byBuffer.get(buffer);
    if (hit) return hit;
    for (const arena of this.list) {
      if (arena.owns(view)) {
        this.byBuffer.set(view.buffer, arena);
        return arena;
      }
    }
    return undefined;
  }

  dispose(): void {
    for (const arena of this.list) arena.dispose();
    this.list.length = 0;
    this.byId.clear();
  }

  private open(minBytes = 0): WasmArena {
    const arena = new WasmArena({
      module: this.module,
      initialBytes: Math.min(this.maxArenaBytes, Math.max(this.initialArenaBytes, minBytes + 65536)),
      maxBytes: this.maxArenaBytes,
    });
    this.list.push(arena);
    this.byId.set(arena.id, arena);
    this.byBuffer.set(arena.memory.buffer, arena);
    this.onCreate?.(arena);
    return arena;
  }
}
