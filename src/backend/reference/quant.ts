// The plain kernels for GGUF-format weights (the oracle of assembly/quant.ts): dequantise a row
// exactly as ggml does, then the dot products in order.

import { checkQuantizedMatrix, type QuantFormat, type QuantizedMatrix, type QuantKernels } from '../../ops/quant-kernels.js';
import { bf16BitsToF32, f16BitsToF32 } from '../../tensor/dtype.js';

/** Row r of w, dequantised into out[0, cols). */
export function dequantizeRow(format: QuantFormat, bytes: Uint8Array, at: number, cols: number, out: Float32Array): void {
  switch (format) {
    case 'Q8_0':
    case 'Q4_0': {
      const stride = format === 'Q8_0' ? 34 : 18;
      for (let b = 0; b < cols / 32; b++) {
        const p = at + b * stride;
        const d = f16BitsToF32(bytes[p]! | (bytes[p + 1]! << 8));
        for (let j = 0; j < (format === 'Q8_0' ? 32 : 16); j++) {
          const q = bytes[p + 2 + j]!;
          if (format === 'Q8_0') {
            out[b * 32 + j] = (q > 127 ? q - 256 : q) * d;
          } else {
            out[b * 32 + j] = ((q & 0x0f) - 8) * d;
            out[b * 32 + j + 16] = ((q >> 4) - 8) * d;
          }
        }
      }
      return;
    }
    case 'F16':
    case 'BF16':
      for (let c = 0; c < cols; c++) {
        const h = bytes[at + 2 * c]! | (bytes[at + 2 * c + 1]! << 8);
        out[c] = format === 'F16' ? f16BitsToF32(h) : bf16BitsToF32(h);
      }
  }
}

/** w as a dense f32 [rows, cols]. */
export function dequantizeMatrix(w: QuantizedMatrix): Float32Array {
  const rowBytes = checkQuantizedMatrix(w, 'dequantizeMatrix');
  const out = new Float32Array(w.rows * w.cols);
  for (let r = 0; r < w.rows; r++) dequantizeRow(w.format, w.bytes, r * rowBytes, w.cols, out.subarray(r * w.cols));
  return out;
}

/** y[n, rows] = x[n, cols] Wᵀ. */
export function quantMatmulReference(x: Float32Array, n: number, w: QuantizedMatrix, y: Float32Array): void {
  const rowBytes = checkQuantizedMatrix(w, 'quantMatmulReference');
  const { rows, cols } = w;
  const row = new Float32Array(cols);
  for (let r = 0; r < rows; r++) {
    dequantizeRow(w.format, w.bytes, r * rowBytes, cols, row);
    for (let t = 0; t < n; t++) {
      let acc = 0;
      for (let c = 0; c < cols; c++) acc += row[c]! * x[t * cols + c]!;
      y[t * rows + r] = acc;
    }
  }
}

export const referenceQuantKernels: QuantKernels = { matmul: quantMatmulReference };
