// Block-sparse weights: the pattern of active b x b blocks of a weight W [rows, cols] (= [out, in]),
// compressed per block row (rowPtr, colIdx; the format of src/backend/reference/block-sparse.ts),
// with the values of the active blocks kept elsewhere (the Linear's weight parameter, [active, b, b]).
// The number of active blocks is fixed for the life of a pattern: updates (prune and regrow) rewrite
// rowPtr/colIdx in place, so checkpoint buffers and the optimizer's state keep their shapes.

import { activeBlocks, checkStructure, type BlockSparseStructure } from '../backend/reference/block-sparse.js';
import type { FloatArray } from '../tensor/dtype.js';
import type { Rng } from '../tensor/rng.js';

/** The block sizes the paper studies (and the wasm kernels specialise). */
export const BLOCK_SIZES = [1, 4, 8, 16] as const;

/** Throws a one-line error unless `block` divides both dimensions of a [rows, cols] weight. */
export function checkBlockSize(rows: number, cols: number, block: number, where: string): void {
  if (!Number.isInteger(block) || block < 1) throw new RangeError(`${where}: block size must be a positive integer, got ${block}`);
  if (rows % block !== 0 || cols % block !== 0) {
    throw new RangeError(`${where}: block size ${block} does not divide the weight's dimensions [${rows}, ${cols}]`);
  }
}

/** Active blocks for a density: round(density × total), at least 1 when density > 0. */
export function activeBlockCount(totalBlocks: number, density: number): number {
  if (!(density > 0 && density <= 1)) throw new RangeError(`block-sparse: density must be in (0, 1], got ${density}`);
  return Math.min(totalBlocks, Math.max(1, Math.round(density * totalBlocks)));
}

export class BlockSparsePattern implements BlockSparseStructure {
  readonly rows: number;
  readonly cols: number;
  readonly block: number;
  readonly blockRows: number;
  readonly blockCols: number;
  /** [blockRows + 1]; rewritten in place by updates (it may be a checkpoint buffer's storage). */
  readonly rowPtr: Int32Array;
  /** [active blocks]; rewritten in place by updates. */
  readonly colIdx: Int32Array;

  /** Wraps existing index arrays (e.g. a Linear's buffers); checks them. */
  constructor(rows: number, cols: number, block: number, rowPtr: Int32Array, colIdx: Int32Array) {
    checkBlockSize(rows, cols, block, 'BlockSparsePattern');
    this.rows = rows;
    this.cols = cols;
    this.block = block;
    this.blockRows = rows / block;
    this.blockCols = cols / block;
    this.rowPtr = rowPtr;
    this.colIdx = colIdx;
    this.check();
  }

  /** Zeroed index arrays for `count` active blocks, filled with the first `count` positions in row-major order. */
  static firstBlocks(rows: number, cols: number, block: number, count: number): BlockSparsePattern {
    checkBlockSize(rows, cols, block, 'BlockSparsePattern');
    const total = (rows / block) * (cols / block);
    if (!Number.isInteger(count) || count < 0 || count > total) throw new RangeError(`BlockSparsePattern: ${count} active blocks of ${total}`);
    const mask = new Uint8Array(total).fill(1, 0, count);
    return BlockSparsePattern.fromMask(rows, cols, block, mask);
  }

  /** Exactly `count` active blocks at positions drawn uniformly without replacement. */
  static random(rows: number, cols: number, block: number, count: number, rng: Rng): BlockSparsePattern {
    const p = BlockSparsePattern.firstBlocks(rows, cols, block, count);
    p.randomize(rng);
    return p;
  }

  /** The pattern whose active blocks are the nonzero entries of mask [blockRows × blockCols]. */
  static fromMask(rows: number, cols: number, block: number, mask: Uint8Array): BlockSparsePattern {
    checkBlockSize(rows, cols, block, 'BlockSparsePattern.fromMask');
    const br = rows / block;
    const bc = cols / block;
    if (mask.length !== br * bc) throw new RangeError(`BlockSparsePattern.fromMask: mask has ${mask.length} entries, expected ${br * bc}`);
    const rowPtr = new Int32Array(br + 1);
    const colIdx: number[] = [];
    for (let r = 0; r < br; r++) {
      rowPtr[r] = colIdx.length;
      for (let c = 0; c < bc; c++) if (mask[r * bc + c] !== 0) colIdx.push(c);
    }
    rowPtr[br] = colIdx.length;
    return new BlockSparsePattern(rows, cols, block, rowPtr, Int32Array.from(colIdx));
  }

  get activeBlocks(): number {
    return activeBlocks(this);
  }

  get totalBlocks(): number {
    return this.blockRows * this.blockCols;
  }

  /** Active blocks / all blocks. */
  get density(): number {
    return this.totalBlocks === 0 ? 0 : this.activeBlocks / this.totalBlocks;
  }

  /** Elements of the values array: active blocks × b². */
  get valueCount(): number {
    return this.activeBlocks * this.block * this.block;
  }

  /** Throws when the index arrays are inconsistent (e.g. a corrupted checkpoint). */
  check(): void {
    checkStructure(this, 'BlockSparsePattern');
    if (this.activeBlocks !== this.colIdx.length) {
      throw new RangeError(`BlockSparsePattern: rowPtr counts ${this.activeBlocks} active blocks, colIdx holds ${this.colIdx.length}`);
    }
  }

  /** 1 at the active positions of the [blockRows × blockCols] block grid. */
  mask(out?: Uint8Array): Uint8Array {
    if (out) out.fill(0);
    else out = new Uint8Array(this.totalBlocks);
    for (let r = 0; r < this.blockRows; r++) {
      for (let k = this.rowPtr[r]!; k < this.rowPtr[r + 1]!; k++) out[r * this.blockCols + this.colIdx[k]!] = 1;
    }
    return out;
  }

  /** The position (R × blockCols + C) of each active block, in values order. */
  positions(out: Int32Array = new Int32Array(this.activeBlocks)): Int32Array {
    for (let r = 0; r < this.blockRows; r++) {
      for (let k = this.rowPtr[r]!; k < this.rowPtr[r + 1]!; k++) out[k] = r * this.blockCols + this.colIdx[k]!;
    }
    return out;
  }

  /**
   * Rewrites the pattern in place from a mask with the same number of active blocks: one pass over
   * the block grid (the "rebuild" of every prune-and-regrow update).
   */
  setMask(mask: Uint8Array): void {
    const bc = this.blockCols;
    if (mask.length !== this.totalBlocks) throw new RangeError(`BlockSparsePattern.setMask: mask has ${mask.length} entries, expected ${this.totalBlocks}`);
    let k = 0;
    const capacity = this.colIdx.length;
    for (let r = 0; r < this.blockRows; r++) {
      this.rowPtr[r] = k;
      const base = r * bc;
      for (let c = 0; c < bc; c++) {
        if (mask[base + c] === 0) continue;
        if (k >= capacity) throw new RangeError(`BlockSparsePattern.setMask: the mask has more than the pattern's ${capacity} active blocks`);
        this.colIdx[k++] = c;
      }
    }
    this.rowPtr[this.blockRows] = k;
    if (k !== capacity) throw new RangeError(`BlockSparsePattern.setMask: the mask has ${k} active blocks, the pattern ${capacity}`);
  }

  /**
   * Rewrites the pattern in place with the blocks at `prunedSlots` (slots of the current pattern)
   * switched off and the positions `regrown` (R × blockCols + C, none of the kept blocks, any order)
   * switched on, the same number of each: the rebuild of a prune-and-regrow update in
   * O(active + regrown) (each block row merges its kept blocks with its new ones), without a pass
   * over the whole block grid. Returns, for each slot of the new pattern, its slot before or -1 for
   * a regrown block (the map reindexBlocks applies to the values and optimizer state).
   */
  replaceBlocks(prunedSlots: Int32Array, regrown: Int32Array): Int32Array {
    const where = 'BlockSparsePattern.replaceBlocks';
    const { blockRows: br, blockCols: bc } = this;
    const active = this.activeBlocks;
    const count = regrown.length;
    if (prunedSlots.length !== count) throw new RangeError(`${where}: ${prunedSlots.length} blocks pruned, ${count} regrown`);
    const gone = new Uint8Array(active);
    for (let i = 0; i < count; i++) {
      const k = prunedSlots[i]!;
      if (!(k >= 0 && k < active) || gone[k] === 1) throw new RangeError(`${where}: pruned slot ${k} is out of range or repeated`);
      gone[k] = 1;
    }
    // The regrown columns grouped by block row (a counting sort), each row's sorted.
    const start = new Int32Array(br + 1);
    for (let i = 0; i < count; i++) {
      const p = regrown[i]!;
      if (!(p >= 0 && p < br * bc)) throw new RangeError(`${where}: position ${p} is outside the ${br} x ${bc} block grid`);
      start[((p / bc) | 0) + 1]!++;
    }
    for (let r = 0; r < br; r++) start[r + 1]! += start[r]!;
    const cols = new Int32Array(count);
    const fillAt = start.slice(0, br);
    for (let i = 0; i < count; i++) {
      const p = regrown[i]!;
      const r = (p / bc) | 0;
      cols[fillAt[r]!++] = p - r * bc;
    }
    for (let r = 0; r < br; r++) {
      const a = start[r]!;
      const e = start[r + 1]!;
      if (e - a > 32) cols.subarray(a, e).sort();
      else {
        for (let i = a + 1; i < e; i++) {
          const c = cols[i]!;
          let j = i - 1;
          for (; j >= a && cols[j]! > c; j--) cols[j + 1] = cols[j]!;
          cols[j + 1] = c;
        }
      }
    }
    // Merge per block row into new index arrays, copied in only when the whole update is consistent.
    const newPtr = new Int32Array(br + 1);
    const newIdx = new Int32Array(active);
    const remap = new Int32Array(active);
    let k = 0;
    for (let r = 0; r < br; r++) {
      newPtr[r] = k;
      let a = this.rowPtr[r]!;
      const aEnd = this.rowPtr[r + 1]!;
      let g = start[r]!;
      const gEnd = start[r + 1]!;
      let previous = -1;
      for (;;) {
        while (a < aEnd && gone[a] === 1) a++;
        const oldCol = a < aEnd ? this.colIdx[a]! : bc;
        const newCol = g < gEnd ? cols[g]! : bc;
        if (oldCol === bc && newCol === bc) break;
        const col = Math.min(oldCol, newCol);
        if (col === previous || oldCol === newCol) throw new RangeError(`${where}: position ${r * bc + col} would be active twice (regrown while active, or regrown twice)`);
        if (k >= active) throw new RangeError(`${where}: more blocks than the pattern's ${active}`);
        newIdx[k] = col;
        if (oldCol < newCol) remap[k++] = a++;
        else {
          remap[k++] = -1;
          g++;
        }
        previous = col;
      }
    }
    newPtr[br] = k;
    if (k !== active) throw new RangeError(`${where}: ${k} active blocks after the update, the pattern has ${active}`);
    this.rowPtr.set(newPtr);
    this.colIdx.set(newIdx);
    return remap;
  }

  /** Redraws the active positions uniformly at random (same count), in place. */
  randomize(rng: Rng): void {
    const total = this.totalBlocks;
    const count = this.colIdx.length;
    // Partial Fisher-Yates: the first `count` entries of a random permutation.
    const order = new Int32Array(total);
    for (let i = 0; i < total; i++) order[i] = i;
    for (let i = 0; i < count; i++) {
      const j = i + rng.int(total - i);
      const tmp = order[i]!;
      order[i] = order[j]!;
      order[j] = tmp;
    }
    const mask = new Uint8Array(total);
    for (let i = 0; i < count; i++) mask[order[i]!] = 1;
    this.setMask(mask);
  }

  /** The dense weight [rows × cols] (zeros where inactive): for export and tests. */
  toDense<T extends FloatArray>(values: T, out?: T): T {
    const { rows, cols, block: b } = this;
    const dense = out ?? (new (values.constructor as new (n: number) => T)(rows * cols));
    dense.fill(0);
    const bb = b * b;
    for (let br = 0; br < this.blockRows; br++) {
      for (let k = this.rowPtr[br]!; k < this.rowPtr[br + 1]!; k++) {
        const c0 = this.colIdx[k]! * b;
        for (let r = 0; r < b; r++) {
          const row = (br * b + r) * cols + c0;
          for (let c = 0; c < b; c++) dense[row + c] = values[k * bb + r * b + c]!;
        }
      }
    }
    return dense;
  }

  /** The values of the active blocks read from a dense weight [rows × cols] (entries outside them are dropped). */
  valuesFromDense<T extends FloatArray>(dense: T, out?: T): T {
    const { cols, block: b } = this;
    if (dense.length !== this.rows * cols) throw new RangeError(`BlockSparsePattern.valuesFromDense: ${dense.length} values for [${this.rows}, ${cols}]`);
    const bb = b * b;
    const values = out ?? (new (dense.constructor as new (n: number) => T)(this.valueCount));
    for (let br = 0; br < this.blockRows; br++) {
      for (let k = this.rowPtr[br]!; k < this.rowPtr[br + 1]!; k++) {
        const c0 = this.colIdx[k]! * b;
        for (let r = 0; r < b; r++) {
          const row = (br * b + r) * cols + c0;
          for (let c = 0; c < b; c++) values[k * bb + r * b + c] = dense[row + c]!;
        }
      }
    }
    return values;
  }

  /**
   * The blocks with a nonzero entry in a dense weight, as a pattern (count = the nonzero blocks): the
   * import path for a dense matrix that is block-sparse.
   */
  static fromDense(dense: FloatArray, rows: number, cols: number, block: number): BlockSparsePattern {
    checkBlockSize(rows, cols, block, 'BlockSparsePattern.fromDense');
    const bc = cols / block;
    const mask = new Uint8Array((rows / block) * bc);
    for (let i = 0; i < rows; i++) {
      for (let j = 0; j < cols; j++) if (dense[i * cols + j] !== 0) mask[Math.floor(i / block) * bc + Math.floor(j / block)] = 1;
    }
    return BlockSparsePattern.fromMask(rows, cols, block, mask);
  }
}

/**
 * The Lp norm of each active block (p = 1: the paper's L1; p = Infinity: max |w|), in values order.
 * For ranking only the order matters, but the value is the true norm.
 */
export function blockNorms(values: FloatArray, blockElems: number, p = 1, out?: Float64Array): Float64Array {
  if (!(p > 0)) throw new RangeError(`blockNorms: p must be positive, got ${p}`);
  const count = blockElems === 0 ? 0 : Math.floor(values.length / blockElems);
  const norms = out ?? new Float64Array(count);
  for (let k = 0; k < count; k++) {
    let acc = 0;
    const o = k * blockElems;
    if (p === 1) for (let i = 0; i < blockElems; i++) acc += Math.abs(values[o + i]!);
    else if (p === 2) {
      for (let i = 0; i < blockElems; i++) acc += values[o + i]! * values[o + i]!;
      acc = Math.sqrt(acc);
    } else if (p === Infinity) for (let i = 0; i < blockElems; i++) acc = Math.max(acc, Math.abs(values[o + i]!));
    else {
      for (let i = 0; i < blockElems; i++) acc += Math.abs(values[o + i]!) ** p;
      acc **= 1 / p;
    }
    norms[k] = acc;
  }
  return norms;
}
