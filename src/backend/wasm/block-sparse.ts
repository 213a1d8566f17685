// WasmBlockSparse: the block-sparse products (assembly/block-sparse.ts) as a raw Float32Array API,
// like kernels.ts and attention.ts. The weight's values are used in place when they live in an arena
// (they pick the arena of the call); activations outside the arena are copied into its scratch and
// stay row-major (the kernels pack or transpose cache-sized chunks themselves); on one thread they
// pass through in chunks of STAGE_TOKENS tokens (copy in, products, copy out while in cache: 5-9%
// off a product at density 0.1, where these copies are a fifth of its time). Calls are split over the
// kernels' threads by tokens (the products: equal work) or by active blocks (the weight gradient:
// equal nnz), through WasmKernels.runTasks. What the kernels derive from a pattern (the CSC index
// of dX, the 1x1 and 4x4 panel bounds) is kept per pattern and rebuilt only after it changes.
// Block sizes other than 1, 4 and multiples of 8 run the reference kernels.

import {
  activeBlocks, blockSparseGradInputReference, blockSparseGradValuesReference, blockSparseMatmulReference,
  checkStructure, transposeStructure, type BlockSparseStructure, type TransposedStructure,
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

/** Tokens per chunk when one thread stages activations that live outside the arena (a multiple of 16). */
const STAGE_TOKENS = 64;

/** Input features per transposed panel of the 1 x 1 and 4 x 4 kernels: 16 tokens x 256 features = 16 KiB, in L1. */
const PANEL_FEATURES = 256;


/**
 * Where each (block) row's entries of each panel of PANEL_FEATURES features start, for a CSR index
 * with ascending (block) columns of b features: [(panels + 1) * rows], row r's entries in panel p
 * are [out[p rows + r], out[(p + 1) rows + r]).
 */
function panelBounds(ptr: Int32Array, idx: Int32Array, rows: number, panels: number, b: number): Int32Array {
  const out = new Int32Array((panels + 1) * rows);
  const perPanel = PANEL_FEATURES / b;
  for (let r = 0; r < rows; r++) {
    let k = ptr[r]!;
    const end = ptr[r + 1]!;
    for (let p = 0; p < panels; p++) {
      out[p * rows + r] = k;
      const limit = (p + 1) * perPanel;
      while (k < end && idx[k]! < limit) k++;
    }
    out[panels * rows + r] = end;
  }
  return out;
}

function checkLength(where: string, name: string, view: Float32Array, needed: number): void {
  if (view.length < needed) throw new RangeError(`${where}: ${name} has ${view.length} elements, needs ${needed}`);
}

/** What the kernels derive from a structure, with the index it was derived from. */
interface DerivedIndex {
  readonly rowPtr: Int32Array;
  readonly colIdx: Int32Array;
  transposed: TransposedStructure | null;
  /** panelBounds of the CSR (b = 1 forward) and of the CSC (b = 1 dX). */
  bounds: Int32Array | null;
  boundsT: Int32Array | null;
}

function sameIndex(d: DerivedIndex, s: BlockSparseStructure, nnzb: number): boolean {
  if (d.rowPtr.length !== s.rowPtr.length || d.colIdx.length !== nnzb) return false;
  for (let i = 0; i < d.rowPtr.length; i++) if (d.rowPtr[i] !== s.rowPtr[i]) return false;
  for (let i = 0; i < nnzb; i++) if (d.colIdx[i] !== s.colIdx[i]) return false;
  return true;
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
  /** Derived indices by the structure's colIdx array (patterns are rewritten in place, so entries are checked). */
  private readonly derived = new WeakMap<Int32Array, DerivedIndex>();

  constructor(kernels: WasmKernels, options: WasmBlockSparseOptions = {}) {
    this.kernels = kernels;
    this.forceParallel = options.forceParallel ?? false;
  }

  /** Block sizes with a wasm kernel (others fall back to the reference kernels). */
  static supports(block: number): boolean {
    return block === 1 || block === 4 || (block > 0 && block % 8 === 0);
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
    this.gradValuesRows(dy, x, n, s, dValues);
  }

  /** gradValues on row-major dy and x (the kernels pack or transpose them chunk by chunk). */
  private gradValuesRows(dy: Float32Array, x: Float32Array, n: number, s: BlockSparseStructure, dValues: Float32Array): void {
    const { rows, cols, block: b } = s;
    const nnzb = activeBlocks(s);
    const valueCount = nnzb * b * b;
    const arenas = this.kernels.arenas;
    const arena = this.arenaFor(dValues);
    const outResident = arenas.find(dValues) === arena;
    const dyResident = arenas.find(dy) === arena;
    const xResident = arenas.find(x) === arena;
    const threads = Math.min(this.threadsFor(2 * n * valueCount), nnzb);
    const workBytes = b === 1 ? arena.exports.bsr_sddmm1_work_bytes(rows, cols, Math.ceil(nnzb / threads))
      : b === 4 ? arena.exports.bsr_sddmm4_work_bytes(rows, cols) : arena.exports.bsr_sddmm_rows_work_bytes(rows, cols);
    const layout = new ScratchLayout();
    const oPtr = layout.take(4 * (rows / b + 1));
    const oIdx = layout.take(4 * nnzb);
    // One thread with dy or x outside the arena: they pass through the scratch in chunks of
    // STAGE_TOKENS tokens, the kernels accumulating into dValues after the first (not for b = 1,
    // whose kernel reduces a vector per entry at the end of every call).
    const chunk = threads === 1 && b !== 1 && (!dyResident || !xResident) ? Math.min(n, STAGE_TOKENS) : n;
    const oDy = dyResident ? 0 : layout.take(4 * chunk * rows);
    const oX = xResident ? 0 : layout.take(4 * chunk * cols);
    const oOut = outResident ? 0 : layout.take(4 * valueCount);
    const oWork = layout.take(threads * workBytes);
    const base = arena.scratch(layout.bytes);
    const heap = arena.heap();
    const ints = new Int32Array(heap.buffer, heap.byteOffset, heap.length);
    ints.set(s.rowPtr, (base + oPtr) >>> 2);
    ints.set(s.colIdx.subarray(0, nnzb), (base + oIdx) >>> 2);
    const outPtr = outResident ? dValues.byteOffset : base + oOut;
    for (let c0 = 0; c0 < n; c0 += chunk) {
      const m = Math.min(chunk, n - c0);
      const acc = c0 > 0 ? 1 : 0;
      // Pointers to token c0 of dy and x.
      const dyPtr = dyResident ? dy.byteOffset + 4 * c0 * rows : base + oDy;
      if (!dyResident) heap.set(dy.subarray(c0 * rows, (c0 + m) * rows), dyPtr >>> 2);
      const xPtr = xResident ? x.byteOffset + 4 * c0 * cols : base + oX;
      if (!xResident) heap.set(x.subarray(c0 * cols, (c0 + m) * cols), xPtr >>> 2);
      let part = 0;
      if (b === 1) {
        this.run(arena, 'bsr_sddmm1', nnzb, threads, 1, (k0, count) => [k0, count, base + oPtr, rows, base + oIdx,
          dyPtr, xPtr, m, cols, outPtr, acc, base + oWork + workBytes * part++]);
      } else if (b === 4) {
        this.run(arena, 'bsr_sddmm4', nnzb, threads, 1, (k0, count) => [k0, count, base + oPtr, rows / b, base + oIdx,
          dyPtr, xPtr, m, rows, cols, outPtr, acc, base + oWork + workBytes * part++]);
      } else {
        this.run(arena, 'bsr_sddmm_rows', nnzb, threads, 1, (k0, count) => [k0, count, b, base + oPtr, rows / b, base + oIdx,
          dyPtr, xPtr, m, rows, cols, outPtr, acc, base + oWork + workBytes * part++]);
      }
    }
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
    // dX walks W by block columns (CSC); its blocks are packed in that order, so the kernel reads them in sequence.
    const index = this.indexOf(s, nnzb);
    const t = transposed ? (index.transposed ??= transposeStructure(s)) : null;
    const ptr = t ? t.colPtr : s.rowPtr;
    const idx = t ? t.rowIdx : s.colIdx.subarray(0, nnzb);
    const arenas = this.kernels.arenas;
    const arena = this.arenaFor(values);
    // b = 1 and 4 run with tokens along the vectors over panels of input features (bsr_rows1,
    // bsr_rows4) and read W's blocks as they are (dX: gathered in CSC order, 4 x 4 blocks
    // transposed); b >= 8 runs with features along the vectors (bsr_rows) and reads the forward's
    // blocks transposed.
    const panelled = b === 1 || b === 4;
    const pack = !panelled || t !== null;
    const transposeBlocks = b === 4 ? t !== null : b > 1 && !t;
    const valuesResident = arenas.find(values) === arena;
    const srcResident = arenas.find(src) === arena;
    const dstResident = arenas.find(dst) === arena;
    const threads = Math.min(this.threadsFor(2 * n * valueCount), Math.ceil(n / 16));
    const panels = panelled ? Math.max(1, Math.ceil(fin / PANEL_FEATURES)) : 1;
    const blockOut = fout / b;
    const bounds = !panelled ? ptr
      : t ? (index.boundsT ??= panelBounds(ptr, idx, blockOut, panels, b)) : (index.bounds ??= panelBounds(ptr, idx, blockOut, panels, b));
    const workBytes = b === 1 ? arena.exports.bsr_rows1_work_bytes(PANEL_FEATURES, fout)
      : b === 4 ? arena.exports.bsr_rows4_work_bytes(PANEL_FEATURES, fout) : arena.exports.bsr_rows_work_bytes(fin);
    const layout = new ScratchLayout();
    const oPtr = layout.take(4 * bounds.length);
    const oIdx = layout.take(4 * nnzb);
    const oPerm = t ? layout.take(4 * nnzb) : 0;
    // b = 8: each input's offset in a token row, block by block (bsr_offsets), so bsr_rows runs a
    // block row's inputs as one loop.
    const oOffs = b === 8 ? layout.take(4 * nnzb * b) : 0;
    const oValues = valuesResident ? 0 : layout.take(4 * valueCount);
    const oPacked = pack ? layout.take(4 * valueCount) : 0;
    // One thread with activations outside the arena: they pass through the scratch in chunks of
    // STAGE_TOKENS tokens (copy in, products, copy out), so the staging stays in cache instead of
    // streaming whole matrices through memory three times.
    const staged = !srcResident || !dstResident;
    const chunk = threads === 1 && staged ? Math.min(n, STAGE_TOKENS) : n;
    const oSrc = srcResident ? 0 : layout.take(4 * chunk * fin);
    const oDst = dstResident ? 0 : layout.take(4 * chunk * fout);
    const oWork = layout.take(threads * workBytes);
    const base = arena.scratch(layout.bytes);
    const heap = arena.heap();
    const ints = new Int32Array(heap.buffer, heap.byteOffset, heap.length);
    ints.set(bounds, (base + oPtr) >>> 2);
    ints.set(idx, (base + oIdx) >>> 2);
    if (t) ints.set(t.perm, (base + oPerm) >>> 2);
    const valuesPtr = valuesResident ? values.byteOffset : base + oValues;
    if (!valuesResident) heap.set(values.subarray(0, valueCount), valuesPtr >>> 2);
    let weightsPtr = valuesPtr;
    if (pack && nnzb > 0) {
      weightsPtr = base + oPacked;
      arena.exports.bsr_pack(valuesPtr, t ? base + oPerm : 0, nnzb, b, +transposeBlocks, weightsPtr);
    }
    if (b === 8) arena.exports.bsr_offsets(base + oIdx, nnzb, b, base + oOffs);
    const work = base + oWork;
    for (let c0 = 0; c0 < n; c0 += chunk) {
      const m = Math.min(chunk, n - c0);
      // Pointers to token c0 of src and dst (the kernels index tokens from there).
      const srcPtr = srcResident ? src.byteOffset + 4 * c0 * fin : base + oSrc;
      if (!srcResident) heap.set(src.subarray(c0 * fin, (c0 + m) * fin), srcPtr >>> 2);
      const dstPtr = dstResident ? dst.byteOffset + 4 * c0 * fout : base + oDst;
      let part = 0;
      if (b === 1) {
        this.run(arena, 'bsr_rows1', m, threads, 4, (t0, count) => [t0, count, fin, fout, panels, PANEL_FEATURES, base + oPtr, base + oIdx, weightsPtr,
          srcPtr, dstPtr, work + workBytes * part++]);
      } else if (b === 4) {
        this.run(arena, 'bsr_rows4', m, threads, 4, (t0, count) => [t0, count, fin, fout, panels, PANEL_FEATURES, base + oPtr, base + oIdx, weightsPtr,
          srcPtr, dstPtr, work + workBytes * part++]);
      } else {
        this.run(arena, 'bsr_rows', m, threads, 4, (t0, count) => [t0, count, fin, fout, b, base + oPtr, base + oIdx, base + oOffs, weightsPtr,
          srcPtr, dstPtr, work + workBytes * part++]);
      }
      if (!dstResident) dst.set(heap.subarray(dstPtr >>> 2, (dstPtr >>> 2) + m * fout), c0 * fout);
    }
    this.calls++;
  }

  /**
   * The derived index of a structure (CSC, panel bounds), kept while the structure's arrays hold the
   * same pattern: a pattern changes only at prune-and-regrow updates, so it is built once per update
   * instead of at every call (checking costs one pass over the indices; building, ~5).
   */
  private indexOf(s: BlockSparseStructure, nnzb: number): DerivedIndex {
    const cached = this.derived.get(s.colIdx);
    if (cached && sameIndex(cached, s, nnzb)) return cached;
    const fresh: DerivedIndex = { rowPtr: s.rowPtr.slice(), colIdx: s.colIdx.slice(0, nnzb), transposed: null, bounds: null, boundsT: null };
    this.derived.set(s.colIdx, fresh);
    return fresh;
  }

  private arenaFor(weightSide: Float32Array): WasmArena {
    return this.kernels.arenas.find(weightSide) ?? this.kernels.arenas.primary;
  }

  private threadsFor(flops: number): number {
    const threads = this.kernels.threads;
    return threads > 1 && (this.forceParallel || flops >= PARALLEL_MIN_FLOPS) ? threads : 1;
  }

  private run(arena: WasmArena, fn: 'bsr_sddmm_rows' | 'bsr_sddmm1' | 'bsr_sddmm4' | 'bsr_rows' | 'bsr_rows1' | 'bsr_rows4', total: number, threads: number, align: number,
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
