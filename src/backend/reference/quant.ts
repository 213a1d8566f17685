// The plain kernels for GGUF-format weights (the oracle of assembly/quant.ts). F16 and BF16:
// dequantise a row exactly as ggml does, then the dot products in order. Q8_0 and Q4_0: the
// activations are quantised per block of 32 as llama.cpp does for its dot products
// (quantizeActivations), and each block contributes dw dx Σ qw qx, the integer sum exact.

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

/** Activations quantised per block of 32: scale d = max|x| / 127 (f32), q = round-half-even(x / d) in [-127, 127]. */
export interface QuantizedActivations {
  /** [n * cols / 32] */
  readonly scales: Float32Array;
  /** [n * cols] */
  readonly q: Int8Array;
}

function roundHalfEven(v: number): number {
  const r = Math.round(v);
  return r - v === 0.5 && r % 2 !== 0 ? r - 1 : r;
}

/**
 * x [n, cols] (cols a multiple of 32) quantised as assembly/quant.ts's q_quantize_act does, in f32
 * steps: d = amax / 127, inv = 1 / d (0 when d is 0), q = clamp(round(x * inv)); NaN anywhere in a
 * block makes d NaN, and a NaN product quantises to 0.
 */
export function quantizeActivations(x: Float32Array, n: number, cols: number): QuantizedActivations {
  const nb = cols / 32;
  const scales = new Float32Array(n * nb);
  const q = new Int8Array(n * cols);
  for (let i = 0; i < n * nb; i++) {
    let amax = 0;
    for (let j = 0; j < 32; j++) amax = Math.max(amax, Math.abs(x[i * 32 + j]!));
    const d = Math.fround(amax / 127);
    const inv = d !== 0 ? Math.fround(1 / d) : 0;
    scales[i] = d;
    for (let j = 0; j < 32; j++) {
      const v = Math.fround(x[i * 32 + j]! * inv);
      q[i * 32 + j] = Number.isNaN(v) ? 0 : Math.max(-127, Math.min(127, roundHalfEven(v)));
    }
  }
  return { scales, q };
}

// Σ_b fround(dw dx) Σ_j qw qx for Q8_0 / Q4_0 rows.
function blockedMatmul(x: Float32Array, n: number, w: QuantizedMatrix, rowBytes: number, y: Float32Array): void {
  const { rows, cols, bytes } = w;
  const nb = cols / 32;
  const act = quantizeActivations(x, n, cols);
  const q8 = w.format === 'Q8_0';
  const stride = q8 ? 34 : 18;
  const qw = new Int8Array(32);
  for (let r = 0; r < rows; r++) {
    for (let t = 0; t < n; t++) {
      let acc = 0;
      for (let b = 0; b < nb; b++) {
        const p = r * rowBytes + b * stride;
        const dw = f16BitsToF32(bytes[p]! | (bytes[p + 1]! << 8));
        for (let j = 0; j < (q8 ? 32 : 16); j++) {
          const v = bytes[p + 2 + j]!;
          if (q8) {
            qw[j] = v;
          } else {
            qw[j] = (v & 0x0f) - 8;
            qw[j + 16] = (v >> 4) - 8;
          }
        }
        let sum = 0;
        for (let j = 0; j < 32; j++) sum += qw[j]! * act.q[(t * nb + b) * 32 + j]!;
        acc += Math.fround(dw * act.scales[t * nb + b]!) * sum;
      }
      y[t * rows + r] = acc;
    }
  }
}

/** y[n, rows] = x[n, cols] Wᵀ. */
export function quantMatmulReference(x: Float32Array, n: number, w: QuantizedMatrix, y: Float32Array): void {
  const rowBytes = checkQuantizedMatrix(w, 'quantMatmulReference');
  if (w.format === 'Q8_0' || w.format === 'Q4_0') {
    blockedMatmul(x, n, w, rowBytes, y);
    return;
  }
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
