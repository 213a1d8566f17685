// The quantized WeightLayout: a Linear whose weight stays in a GGUF storage format (Q8_0, Q4_0,
// F16, BF16), as the file has it, and is dequantised inside the product's kernel
// (src/ops/quant-kernels.ts). The weight is an i8 tensor [out, rowBytes] holding the file's bytes,
// row after row, in the model's allocator (a wasm arena) when one is given. Inference only: there is
// no gradient, so building it trainable or calling it on an input that needs a gradient throws.

import { add } from '../autograd/ops/elementwise.js';
import { getBackend } from '../backend/backend.js';
import { referenceQuantKernels } from '../backend/reference/quant.js';
import { quantRowBytes, type QuantFormat, type QuantizedMatrix } from '../ops/quant-kernels.js';
import { Tensor } from '../tensor/tensor.js';
import type { ParamInit } from './init.js';
import type { WeightLayout } from './weight-layout.js';

export interface QuantizedLayout extends WeightLayout {
  readonly kind: 'quantized';
  readonly format: QuantFormat;
}

export function isQuantizedLayout(layout: WeightLayout): layout is QuantizedLayout {
  return layout.kind === 'quantized';
}

/** The weight tensor's bytes (the file's blocks) as a matrix [out, in] for the kernels. */
export function quantizedMatrix(weight: Tensor, format: QuantFormat, inFeatures: number): QuantizedMatrix {
  const data = weight.data;
  return { format, rows: weight.shape[0]!, cols: inFeatures, bytes: new Uint8Array(data.buffer, data.byteOffset, data.byteLength) };
}

const layouts = new Map<QuantFormat, QuantizedLayout>();

/** The layout for weights stored in `format` (one shared instance per format: it holds no state). */
export function quantizedLayout(format: QuantFormat): QuantizedLayout {
  let layout = layouts.get(format);
  if (layout) return layout;
  const name = `quantizedLayout(${format})`;
  layout = {
    kind: 'quantized',
    format,
    weightShape: (inFeatures, outFeatures) => [outFeatures, quantRowBytes(format, inFeatures, `${name} (Linear ${inFeatures} -> ${outFeatures})`)],
    createWeight(inFeatures: number, outFeatures: number, init: ParamInit): Tensor {
      if (init.trainable !== false) {
        throw new Error(`${name}: quantized weights are inference only (no gradient); build with trainable: false, or load f32 weights (--dtype f32) to train`);
      }
      if ((init.init ?? 'torch') !== 'zeros') throw new Error(`${name}: quantized weights are loaded, not drawn at random; use init: 'zeros'`);
      const [rows, rowBytes] = this.weightShape(inFeatures, outFeatures) as [number, number];
      const bytes = rows * rowBytes;
      const data = init.alloc
        ? (() => {
          const floats = init.alloc(Math.ceil(bytes / 4));
          return new Int8Array(floats.buffer, floats.byteOffset, bytes);
        })()
        : new Int8Array(bytes);
      return new Tensor(data, 'i8', [rows, rowBytes]);
    },
    initialize() {
      throw new Error(`${name}: quantized weights are loaded, not drawn at random`);
    },
    forward(x: Tensor, weight: Tensor, bias: Tensor | null): Tensor {
      if (x.requiresGrad) throw new Error(`${name}: quantized weights are inference only (no gradient); load f32 weights (--dtype f32) to train`);
      const rowBytes = weight.shape[1]!;
      const inFeatures = x.shape[x.shape.length - 1]!;
      const w = quantizedMatrix(weight, format, inFeatures);
      if (quantRowBytes(format, inFeatures, name) !== rowBytes) {
        throw new Error(`${name}: input has ${inFeatures} features, the weight rows hold ${rowBytes} bytes`);
      }
      const n = x.shape.length === 0 ? 0 : x.size / inFeatures;
      const xd = x.dtype === 'f32' ? (x.toArray() as Float32Array) : Float32Array.from(x.toArray());
      const y = new Float32Array(n * w.rows);
      (getBackend().quant ?? referenceQuantKernels).matmul(xd, n, w, y);
      const out = new Tensor(y, 'f32', [...x.shape.slice(0, -1), w.rows]);
      return bias ? add(out, bias) : out;
    },
  };
  layouts.set(format, layout);
  return layout;
}
