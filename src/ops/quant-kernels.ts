// Weights kept in their GGUF storage format (src/nn/quantized-layout.ts) and the products a backend
// supplies for them. The bytes are the file's, row after row (ggml's block layouts: see
// assembly/quant.ts); the plain kernels are src/backend/reference/quant.ts, the wasm ones
// src/backend/wasm/quant.ts.

export const QUANT_FORMATS = ['Q8_0', 'Q4_0', 'F16', 'BF16'] as const;
export type QuantFormat = (typeof QUANT_FORMATS)[number];

export function isQuantFormat(name: string): name is QuantFormat {
  return (QUANT_FORMATS as readonly string[]).includes(name);
}

/** Elements per block and bytes per block of each format (F16/BF16: blocks of one element). */
export const QUANT_BLOCK: Readonly<Record<QuantFormat, { readonly elements: number; readonly bytes: number }>> = {
  Q8_0: { elements: 32, bytes: 34 },
  Q4_0: { elements: 32, bytes: 18 },
  F16: { elements: 1, bytes: 2 },
  BF16: { elements: 1, bytes: 2 },
};

/** Bytes of one stored row of `cols` elements; throws when the format's blocks do not divide it. */
export function quantRowBytes(format: QuantFormat, cols: number, where = 'quantized weight'): number {
  const { elements, bytes } = QUANT_BLOCK[format];
  if (!Number.isInteger(cols) || cols < 0 || cols % elements !== 0) {
    throw new Error(`${where}: ${format} stores rows in blocks of ${elements}; ${cols} columns do not divide`);
  }
  return (cols / elements) * bytes;
}

/** W [rows, cols] in `format`: rows * quantRowBytes(format, cols) bytes. */
export interface QuantizedMatrix {
  readonly format: QuantFormat;
  readonly rows: number;
  readonly cols: number;
  readonly bytes: Uint8Array;
}

/** The products a backend supplies for quantized weights (inference only: no gradients). */
export interface QuantKernels {
  /** y[n, rows] = x[n, cols] Wᵀ. */
  matmul(x: Float32Array, n: number, w: QuantizedMatrix, y: Float32Array): void;
}

export function checkQuantizedMatrix(w: QuantizedMatrix, where: string): number {
  const rowBytes = quantRowBytes(w.format, w.cols, where);
  if (w.bytes.length < w.rows * rowBytes) {
    throw new Error(`${where}: ${w.format} [${w.rows}, ${w.cols}] needs ${w.rows * rowBytes} bytes, got ${w.bytes.length}`);
  }
  return rowBytes;
}
