// Block-sparse products as a backend supplies them (Backend.blockSparse): the index part of a
// block-sparse weight and the three products on f32 arrays. Defined here, beside the kernel table,
// so a backend can carry them; src/backend/reference/block-sparse.ts has the plain kernels (the
// oracle and the fallback) and src/backend/wasm/block-sparse.ts the fast ones.

/** The index part of a block-sparse weight (BlockSparsePattern in src/nn/block-sparse.ts is one). */
export interface BlockSparseStructure {
  /** Output features (rows of W). */
  readonly rows: number;
  /** Input features (columns of W). */
  readonly cols: number;
  /** Block edge b. */
  readonly block: number;
  /** [rows / b + 1] offsets into colIdx. */
  readonly rowPtr: Int32Array;
  /** [active blocks] block column of each active block, ascending within a block row. */
  readonly colIdx: Int32Array;
}

/**
 * The block-sparse products on f32 arrays (WasmBlockSparse is one). The differentiable op
 * (src/autograd/ops/block-sparse.ts) uses the active backend's, else the reference kernels (always for f64).
 */
export interface BlockSparseProducts {
  /** y[n, rows] = x[n, cols] Wᵀ. */
  matmul(x: Float32Array, n: number, s: BlockSparseStructure, values: Float32Array, y: Float32Array): void;
  /** dx[n, cols] = dy[n, rows] W. */
  gradInput(dy: Float32Array, n: number, s: BlockSparseStructure, values: Float32Array, dx: Float32Array): void;
  /** dValues = (dyᵀ x) at the active blocks, in the values' order. */
  gradValues(dy: Float32Array, x: Float32Array, n: number, s: BlockSparseStructure, dValues: Float32Array): void;
}
