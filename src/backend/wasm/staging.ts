// Staging: the operands of one WasmKernels call, placed in ONE arena. The call runs in the arena
// holding its largest arena-resident operand (weights, KV caches), else the primary arena. Operands
// already in that arena are passed by pointer (zero copy); others are copied into the arena's
// scratch region, and outputs that live elsewhere are copied back after the call.

import type { WasmArena } from './arena.js';
import type { WasmArenaSet } from './arenas.js';

/** How a staged operand is used: read, written, or both (copied in and back out). */
export const IN = 0;
export const OUT = 1;
export const INOUT = 2;

export const align64 = (n: number): number => Math.ceil(n / 64) * 64;

export class Staging {
  // Reused arrays: no per-call allocation for the bookkeeping.
  private readonly views: (Float32Array | null)[] = [];
  private readonly lens: number[] = [];
  private readonly modes: number[] = [];
  private readonly arenaOf: (WasmArena | undefined)[] = [];
  private count = 0;
  /** Byte pointers of the staged operands, filled by commit (0 for a null operand). */
  readonly ptrs: number[] = [];
  /** The scratch pointer commit returned (the kernel's own workspace). */
  extra = 0;

  constructor(private readonly arenas: WasmArenaSet) {}

  begin(): void {
    this.count = 0;
  }

  /** Registers an operand; returns its index into ptrs (filled by commit). null gives pointer 0. */
  stage(view: Float32Array | null, length: number, mode: number): number {
    const i = this.count++;
    this.views[i] = view;
    this.lens[i] = length;
    this.modes[i] = mode;
    // Resolved once per call: view.buffer and the lookups behind it cost ~40 ns each.
    this.arenaOf[i] = view === null ? undefined : this.arenas.find(view);
    return i;
  }

  /** Marks staged operand i as also being the output (in-place call): copied in and back out. */
  inPlace(i: number): number {
    this.modes[i] = INOUT;
    return i;
  }

  /** The arena of the largest staged operand that lives in one, else the primary arena. */
  chooseArena(): WasmArena {
    let best: WasmArena | undefined;
    let bestLen = -1;
    for (let i = 0; i < this.count; i++) {
      const arena = this.arenaOf[i];
      if (arena !== undefined && this.lens[i]! > bestLen) {
        best = arena;
        bestLen = this.lens[i]!;
      }
    }
    return best ?? this.arenas.primary;
  }

  /**
   * Resolves pointers: operands in `arena` by byteOffset, others in scratch (inputs copied in).
   * Returns a pointer to `extraBytes` of scratch for the kernel itself (workspaces, partials).
   */
  commit(arena: WasmArena, extraBytes: number): number {
    let need = align64(extraBytes);
    const count = this.count;
    for (let i = 0; i < count; i++) {
      if (this.views[i] !== null && this.arenaOf[i] !== arena) need += align64(this.lens[i]! * 4);
    }
    const base = need > 0 ? arena.scratch(need) : 0;
    let off = base + align64(extraBytes);
    let heap: Float32Array | undefined;
    for (let i = 0; i < count; i++) {
      const v = this.views[i]!;
      if (v === null) {
        this.ptrs[i] = 0;
      } else if (this.arenaOf[i] === arena) {
        this.ptrs[i] = v.byteOffset;
      } else {
        const len = this.lens[i]!;
        this.ptrs[i] = off;
        if (this.modes[i] !== OUT) {
          heap ??= arena.heap();
          heap.set(v.length === len ? v : v.subarray(0, len), off >>> 2); // >>>: pointers reach 4 GiB
        }
        off += align64(len * 4);
      }
    }
    this.extra = base;
    return base;
  }

  /** Copies outputs that live outside the arena back from scratch. */
  end(arena: WasmArena): void {
    const count = this.count;
    let heap: Float32Array | undefined;
    for (let i = 0; i < count; i++) {
      const v = this.views[i]!;
      if (v !== null && this.modes[i] !== IN && this.arenaOf[i] !== arena) {
        heap ??= arena.heap();
        const p = this.ptrs[i]! >>> 2;
        v.set(heap.subarray(p, p + this.lens[i]!));
      }
      this.views[i] = null;
      this.arenaOf[i] = undefined;
    }
    this.count = 0;
  }
}
