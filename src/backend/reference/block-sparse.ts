// Block-sparse products, plain TypeScript: the oracle of the wasm kernels (src/backend/wasm/block-sparse.ts)
// and the f64 path of gradient checks. The weight W [rows, cols] (= [out, in], nn.Linear's layout) is
// split into b x b blocks; the active ones are listed per block row (CSR over block rows: rowPtr,
// colIdx = block column, sorted) and their values stored block after block, each block row-major:
// element (r, c) of block k is values[k b² + r b + c] = W[R b + r, colIdx[k] b + c].

import type { BlockSparseProducts, BlockSparseStructure } from '../../ops/block-sparse-kernels.js';
import type { Backend } from '../../ops/kernels.js';
import type { FloatArray } from '../../tensor/dtype.js';

export type { BlockSparseProducts, BlockSparseStructure } from '../../ops/block-sparse-kernels.js';

/** The same blocks listed per block column (CSC): blocks of column C are perm[colPtr[C] .. colPtr[C + 1]), at block rows rowIdx[..]. */
export interface TransposedStructure {
  readonly colPtr: Int32Array;
  readonly rowIdx: Int32Array;
  /** Index of each CSC entry in the CSR order (where its values are). */
  readonly perm: Int32Array;
}

/** Number of active blocks. */
export function activeBlocks(s: BlockSparseStructure): number {
  return s.rowPtr[s.rowPtr.length - 1] ?? 0;
}

/** Throws a one-line error when the structure is inconsistent (sizes, offsets, column indices). */
export function checkStructure(s: BlockSparseStructure, where: string): void {
  const { rows, cols, block: b } = s;
  if (!Number.isInteger(b) || b < 1) throw new RangeError(`${where}: block size must be a positive integer, got ${b}`);
  if (!Number.isInteger(rows) || !Number.isInteger(cols) || rows < 0 || cols < 0 || rows % b !== 0 || cols % b !== 0) {
    throw new RangeError(`${where}: block size ${b} does not divide the weight [${rows}, ${cols}]`);
  }
  const blockRows = rows / b;
  const blockCols = cols / b;
  if (s.rowPtr.length !== blockRows + 1 || s.rowPtr[0] !== 0) throw new RangeError(`${where}: rowPtr must have ${blockRows + 1} entries starting at 0`);
  const nnzb = activeBlocks(s);
  if (nnzb > s.colIdx.length) throw new RangeError(`${where}: rowPtr ends at ${nnzb}, colIdx holds ${s.colIdx.length}`);
  for (let r = 0; r < blockRows; r++) {
    const k0 = s.rowPtr[r]!;
    const k1 = s.rowPtr[r + 1]!;
    if (k1 < k0) throw new RangeError(`${where}: rowPtr decreases at block row ${r}`);
    for (let k = k0; k < k1; k++) {
      const c = s.colIdx[k]!;
      if (c < 0 || c >= blockCols || (k > k0 && c <= s.colIdx[k - 1]!)) {
        throw new RangeError(`${where}: block row ${r} has column ${c} out of order or out of range [0, ${blockCols})`);
      }
    }
  }
}

/** CSC of the active blocks (for dX = dY W, which walks W by block columns). */
export function transposeStructure(s: BlockSparseStructure): TransposedStructure {
  const b = s.block;
  const blockRows = s.rows / b;
  const blockCols = s.cols / b;
  const nnzb = activeBlocks(s);
  const colPtr = new Int32Array(blockCols + 1);
  for (let k = 0; k < nnzb; k++) colPtr[s.colIdx[k]! + 1] = colPtr[s.colIdx[k]! + 1]! + 1;
  for (let c = 0; c < blockCols; c++) colPtr[c + 1] = colPtr[c + 1]! + colPtr[c]!;
  const next = colPtr.slice(0, blockCols);
  const rowIdx = new Int32Array(nnzb);
  const perm = new Int32Array(nnzb);
  for (let r = 0; r < blockRows; r++) {
    for (let k = s.rowPtr[r]!; k < s.rowPtr[r + 1]!; k++) {
      const col = s.colIdx[k]!;
      const at = next[col]!;
      next[col] = at + 1;
      rowIdx[at] = r;
      perm[at] = k;
    }
  }
  return { colPtr, rowIdx, perm };
}

/** y[n, rows] = x[n, cols] Wᵀ (the forward of a block-sparse Linear). */
export function blockSparseMatmulReference(x: FloatArray, n: number, s: BlockSparseStructure, values: FloatArray, y: FloatArray): void {
  const { rows, cols, block: b } = s;
  const bb = b * b;
  y.fill(0, 0, n * rows);
  for (let t = 0; t < n; t++) {
    const xo = t * cols;
    const yo = t * rows;
    for (let br = 0; br < rows / b; br++) {
      for (let k = s.rowPtr[br]!; k < s.rowPtr[br + 1]!; k++) {
        const c0 = s.colIdx[k]! * b;
        for (let r = 0; r < b; r++) {
          let acc = 0;
          for (let c = 0; c < b; c++) acc += values[k * bb + r * b + c]! * x[xo + c0 + c]!;
          y[yo + br * b + r] = y[yo + br * b + r]! + acc;
        }
      }
    }
  }
}

/** dx[n, cols] = dy[n, rows] W (the input gradient). */
export function blockSparseGradInputReference(dy: FloatArray, n: number, s: BlockSparseStructure, values: FloatArray, dx: FloatArray): void {
  const { rows, cols, block: b } = s;
  const bb = b * b;
  dx.fill(0, 0, n * cols);
  for (let t = 0; t < n; t++) {
    for (let br = 0; br < rows / b; br++) {
      for (let k = s.rowPtr[br]!; k < s.rowPtr[br + 1]!; k++) {
        const c0 = s.colIdx[k]! * b;
        for (let r = 0; r < b; r++) {
          const g = dy[t * rows + br * b + r]!;
          for (let c = 0; c < b; c++) dx[t * cols + c0 + c] = dx[t * cols + c0 + c]! + g * values[k * bb + r * b + c]!;
        }
      }
    }
  }
}

/** dValues[k b² + r b + c] = Σ_t dy[t, R b + r] x[t, C b + c]: dyᵀ x sampled at the active blocks only. */
export function blockSparseGradValuesReference(dy: FloatArray, x: FloatArray, n: number, s: BlockSparseStructure, dValues: FloatArray): void {
  const { rows, cols, block: b } = s;
  const bb = b * b;
  for (let br = 0; br < rows / b; br++) {
    for (let k = s.rowPtr[br]!; k < s.rowPtr[br + 1]!; k++) {
      const c0 = s.colIdx[k]! * b;
      for (let r = 0; r < b; r++) {
        for (let c = 0; c < b; c++) {
          let acc = 0;
          for (let t = 0; t < n; t++) acc += dy[t * rows + br * b + r]! * x[t * cols + c0 + c]!;
          dValues[k * bb + r * b + c] = acc;
        }
      }
    }
  }
}

/** A backend that carries block-sparse products (every Backend may: Backend.blockSparse). */
export type BlockSparseBackend = Backend;

/** `backend` with block-sparse products attached (its other parts, e.g. attention, kept). */
export function withBlockSparse(backend: Backend, products: BlockSparseProducts): BlockSparseBackend {
  return { ...backend, blockSparse: products };
}

/** The products a backend supplies, or null (then the reference kernels run). */
export function blockSparseProductsOf(backend: Backend): BlockSparseProducts | null {
  return backend.blockSparse ?? null;
}
