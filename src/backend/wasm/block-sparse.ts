// WasmBlockSparse: the block-sparse products (assembly/block-sparse.ts) as a raw Float32Array API,
// like kernels.ts and attention.ts. The weight's values are used in place when they live in an arena
// (they pick the arena of the call); activations are copied into the arena's scratch, where the
// kernels transpose them into token-minor panels. Calls are split over the kernels' threads by
// tokens (the products) or by blocks (the weight gradient), through WasmKernels.runTasks.
// Block sizes other than 1 and multiples of 4 run the reference kernels.

import {
  activeBlocks, blockSparseGradInputReference, blockSparseGradValuesReference, blockSparseMatmulReference,
  checkStructure, transposeStructure, type BlockSparseStructure,
} from '../reference/block-sparse.js';
import type { WasmArena } from './arena.js';
import { PARALLEL_MIN_FLOPS, type WasmKernels } from './kernels.js';
import { splitBounds } from './dispatch.js';

export type { BlockSparseStructure } from '../reference/block-sparse.js';

export interface WasmBlockSparseOptions {
  /** Split every call over all threads regardless of size (tests use it to cover the splits). */
  readonly forceParallel?: boolean;
}

const align64 = (bytes: number): number => Math.ceil(bytes / 64) * 64;

/** Token row stride of the transposed panels: n rounded up to 4, moved off multiples of 1 KiB (cache-set aliasing). */
function panelStride(n: number): number {
  const ld = Math.ceil(n / 4) * 4;
  return ld % 256 === 0 ? ld + 16 : ld;
}

function checkLength(where: string, name: string, view: Float32Array, needed: number): void {
  if (view.length < needed) throw new RangeError(`${where}: ${name} has ${view.length} elements, needs ${needed}`);
}

/** dst[at + i bb ...] = block perm[i] of src, for every i. */
function gatherBlocks(src: Float32Array, perm: Int32Array, bb: number, dst: Float32Array, at: number): void {
  if (bb >= 16) {
    for (let i = 0; i < perm.length; i++) dst.set(src.subarray(perm[i]! * bb, (perm[i]! + 1) * bb), at + i * bb);
    return;
  }
  for (let i = 0, o = at; i < perm.length; i++) {
    const from = perm[i]! * bb;
    for (let e = 0; e < bb; e++) dst[o++] = src[from + e]!;
  }
}

/** Bump allocator over one scratch region of an arena. */
class ScratchLayout {
  bytes = 0;
  take(bytes: number): number {
    const at = this.bytes;
    this.bytes += align64(bytes);
    return at;
  }
}

export class WasmBlockSparse {
  readonly kernels: WasmKernels;
  /** Calls that ran the wasm kernels (tests check that the fast path ran). */
  calls = 0;
  private readonly forceParallel: boolean;

  constructor(kernels: WasmKernels, options: WasmBlockSparseOptions = {}) {
    this.kernels = kernels;
    this.forceParallel = options.forceParallel ?? false;
  }

  /** Block sizes with a wasm kernel (others fall back to the reference kernels). */
  static supports(block: number): boolean {
    return block === 1 || (block > 0 && block % 4 === 0);
  }

  /** y[n, rows] = x[n, cols] Wᵀ. */
  matmul(x: Float32Array, n: number, s: BlockSparseStructure, values: Float32Array, y: Float32Array): void {
    this.spmm('WasmBlockSparse.matmul', x, n, s, values, y, false);
  }

  /** dx[n, cols] = dy[n, rows] W. */
  gradInput(dy: Float32Array, n: number, s: BlockSparseStructure, values: Float32Array, dx: Float32Array): void {
    this.spmm('WasmBlockSparse.gradInput', dy, n, s, values, dx, true);
  }

  /** dValues = (dyᵀ x) at the active blocks, in the values' order. */
  gradValues(dy: Float32Array, x: Float32Array, n: number, s: BlockSparseStructure, dValues: Float32Array): void {
    const where = 'WasmBlockSparse.gradValues';
    checkStructure(s, where);
    const { rows, cols, block: b } = s;
    const nnzb = activeBlocks(s);
    const valueCount = nnzb * b * b;
    checkLength(where, 'dy', dy, n * rows);
    checkLength(where, 'x', x, n * cols);
    checkLength(where, 'dValues', dValues, valueCount);
    if (nnzb === 0) return;
    if (n === 0) {
      dValues.fill(0, 0, valueCount);
      return;
    }
    if (!WasmBlockSparse.supports(b)) {
      blockSparseGradValuesReference(dy, x, n, s, dValues);
      return;
    }
    const ld = panelStride(n);
    const npad = Math.ceil(n / 4) * 4;
    const arena = this.arenaFor(dValues);
    const outResident = this.kernels.arenas.find(dValues) === arena;
    const layout = new ScratchLayout();
    const oPtr = layout.take(4 * (rows / b + 1));
    const oIdx = layout.take(4 * nnzb);
    const oDy = layout.take(4 * n * rows);
    const oX = layout.take(4 * n * cols);
    const oDyT = layout.take(4 * rows * ld);
    const oXT = layout.take(4 * cols * ld);
    const oOut = outResident ? 0 : layout.take(4 * valueCount);
    const base = arena.scratch(layout.bytes);
    const heap = arena.heap();
    const ints = new Int32Array(heap.buffer, heap.byteOffset, heap.length);
    ints.set(s.rowPtr, (base + oPtr) >>> 2);
    ints.set(s.colIdx.subarray(0, nnzb), (base + oIdx) >>> 2);
    heap.set(dy.subarray(0, n * rows), (base + oDy) >>> 2);
    heap.set(x.subarray(0, n * cols), (base + oX) >>> 2);
    const outPtr = outResident ? dValues.byteOffset : base + oOut;
    const threads = this.threadsFor(2 * n * valueCount);
    for (const [src, dstT, f] of [[base + oDy, base + oDyT, rows], [base + oX, base + oXT, cols]] as const) {
      this.run(arena, 'bsr_transpose', n, Math.min(threads, Math.ceil(n / 16)), 16, (t0, count) => [t0, count, n, f, src, dstT, ld]);
    }
    this.run(arena, 'bsr_sddmm', nnzb, Math.min(threads, nnzb), 1,
      (k0, count) => [k0, count, b, base + oPtr, rows / b, base + oIdx, base + oDyT, base + oXT, ld, npad, outPtr]);
    if (!outResident) dValues.set(arena.heap().subarray(outPtr >>> 2, (outPtr >>> 2) + valueCount));
    this.calls++;
  }

  private spmm(where: string, src: Float32Array, n: number, s: BlockSparseStructure, values: Float32Array,
    dst: Float32Array, transposed: boolean): void {
    checkStructure(s, where);
    const { rows, cols, block: b } = s;
    const nnzb = activeBlocks(s);
    const valueCount = nnzb * b * b;
    const fin = transposed ? rows : cols;
    const fout = transposed ? cols : rows;
    checkLength(where, transposed ? 'dy' : 'x', src, n * fin);
    checkLength(where, 'values', values, valueCount);
    checkLength(where, transposed ? 'dx' : 'y', dst, n * fout);
    if (n === 0 || fout === 0) return;
    if (!WasmBlockSparse.supports(b)) {
      if (transposed) blockSparseGradInputReference(src, n, s, values, dst);
      else blockSparseMatmulReference(src, n, s, values, dst);
      return;
    }
    const t = transposed ? transposeStructure(s) : null;
    const ptr = t ? t.colPtr : s.rowPtr;
    const idx = t ? t.rowIdx : s.colIdx.subarray(0, nnzb);
    const ld = panelStride(n);
    const arenas = this.kernels.arenas;
    const arena = this.arenaFor(values);
    // dX walks W by block columns: the blocks are gathered into that order (values read in sequence, no perm in the kernel).
    const valuesResident = !t && arenas.find(values) === arena;
    const srcResident = arenas.find(src) === arena;
    const dstResident = arenas.find(dst) === arena;
    const layout = new ScratchLayout();
    const oPtr = layout.take(4 * ptr.length);
    const oIdx = layout.take(4 * nnzb);
    const oValues = valuesResident ? 0 : layout.take(4 * valueCount);
    const oSrc = srcResident ? 0 : layout.take(4 * n * fin);
    const oDst = dstResident ? 0 : layout.take(4 * n * fout);
    const oSrcT = layout.take(4 * fin * ld);
    const oDstT = layout.take(4 * fout * ld);
    const base = arena.scratch(layout.bytes);
    const heap = arena.heap();
    const ints = new Int32Array(heap.buffer, heap.byteOffset, heap.length);
    ints.set(ptr, (base + oPtr) >>> 2);
    ints.set(idx, (base + oIdx) >>> 2);
    const valuesPtr = valuesResident ? values.byteOffset : base + oValues;
    if (t) gatherBlocks(values, t.perm, b * b, heap, valuesPtr >>> 2);
    else if (!valuesResident) heap.set(values.subarray(0, valueCount), valuesPtr >>> 2);
    const srcPtr = srcResident ? src.byteOffset : base + oSrc;
    if (!srcResident) heap.set(src.subarray(0, n * fin), srcPtr >>> 2);
    const dstPtr = dstResident ? dst.byteOffset : base + oDst;
    const [si, sj] = transposed ? [1, b] : [b, 1];
    const threads = Math.min(this.threadsFor(2 * n * valueCount), Math.ceil(n / 16));
    this.run(arena, 'bsr_spmm', n, threads, 16, (t0, count) => [t0, count, n, fin, fout, b,
      base + oPtr, base + oIdx, valuesPtr, si, sj, srcPtr, dstPtr, base + oSrcT, base + oDstT, ld]);
    if (!dstResident) dst.set(arena.heap().subarray(dstPtr >>> 2, (dstPtr >>> 2) + n * fout));
    this.calls++;
  }

  private arenaFor(weightSide: Float32Array): WasmArena {
    return this.kernels.arenas.find(weightSide) ?? this.kernels.arenas.primary;
  }

  private threadsFor(flops: number): number {
    const threads = this.kernels.threads;
    return threads > 1 && (this.forceParallel || flops >= PARALLEL_MIN_FLOPS) ? threads : 1;
  }

  private run(arena: WasmArena, fn: 'bsr_transpose' | 'bsr_spmm' | 'bsr_sddmm', total: number, threads: number, align: number,
    args: (start: number, count: number) => number[]): void {
    const bounds = splitBounds(total, Math.max(1, threads), align);
    const parts: number[][] = [];
    for (let p = 0; p + 1 < bounds.length; p++) {
      const start = bounds[p]!;
      const count = bounds[p + 1]! - start;
      if (count > 0) parts.push(args(start, count));
    }
    this.kernels.runTasks(arena, fn, parts);
  }
}
