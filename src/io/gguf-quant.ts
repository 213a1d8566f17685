// The GGUF block-quantised tensor types, as ggml's reference code encodes and decodes them:
// Q8_0 (f16 scale + 32 int8) and Q4_0 (f16 scale + 32 nibbles). Block sizes: GGML_TYPES in gguf-format.ts.

import { f16BitsToF32, f32ToF16Bits } from '../tensor/dtype.js';

/** Q8_0 block: f16 scale d, then 32 int8 q; value = q * d. */
export function dequantizeQ8_0(blocks: Uint8Array, elementCount: number): Float32Array {
  const out = new Float32Array(elementCount);
  const nBlocks = elementCount / 32;
  for (let b = 0; b < nBlocks; b++) {
    const p = b * 34;
    const d = f16BitsToF32(blocks[p]! | (blocks[p + 1]! << 8));
    const o = b * 32;
    for (let j = 0; j < 32; j++) {
      const q = blocks[p + 2 + j]!;
      out[o + j] = (q > 127 ? q - 256 : q) * d;
    }
  }
  return out;
}

/** Q4_0 block: f16 scale d, then 16 bytes; element j is the low nibble of byte j, element j + 16 the high one; value = (nibble - 8) * d. */
export function dequantizeQ4_0(blocks: Uint8Array, elementCount: number): Float32Array {
  const out = new Float32Array(elementCount);
  const nBlocks = elementCount / 32;
  for (let b = 0; b < nBlocks; b++) {
    const p = b * 18;
    const d = f16BitsToF32(blocks[p]! | (blocks[p + 1]! << 8));
    const o = b * 32;
    for (let j = 0; j < 16; j++) {
      const q = blocks[p + 2 + j]!;
      out[o + j] = ((q & 0x0f) - 8) * d;
      out[o + j + 16] = ((q >> 4) - 8) * d;
    }
  }
  return out;
}

/** C's roundf: halves away from zero (Math.round sends -2.5 to -2). */
function roundHalfAway(x: number): number {
  return x < 0 ? -Math.floor(-x + 0.5) : Math.floor(x + 0.5);
}

/** ggml's quantize_row_q8_0_ref, with its f32 arithmetic. */
export function quantizeQ8_0(values: Float32Array): Uint8Array {
  if (values.length % 32 !== 0) throw new Error(`quantizeQ8_0: length ${values.length} is not a multiple of 32`);
  const nBlocks = values.length / 32;
  const out = new Uint8Array(nBlocks * 34);
  for (let b = 0; b < nBlocks; b++) {
    let amax = 0;
    for (let j = 0; j < 32; j++) amax = Math.max(amax, Math.abs(values[b * 32 + j]!));
    const d = Math.fround(amax / 127);
    const id = d !== 0 ? Math.fround(1 / d) : 0;
    const bits = f32ToF16Bits(d);
    const p = b * 34;
    out[p] = bits & 0xff;
    out[p + 1] = bits >> 8;
    for (let j = 0; j < 32; j++) out[p + 2 + j] = roundHalfAway(Math.fround(values[b * 32 + j]! * id)) & 0xff;
  }
  return out;
}

/** ggml's quantize_row_q4_0_ref: the scale maps the largest-magnitude element to -8. */
export function quantizeQ4_0(values: Float32Array): Uint8Array {
  if (values.length % 32 !== 0) throw new Error(`quantizeQ4_0: length ${values.length} is not a multiple of 32`);
  const nBlocks = values.length / 32;
  const out = new Uint8Array(nBlocks * 18);
  for (let b = 0; b < nBlocks; b++) {
    let amax = 0;
    let max = 0;
    for (let j = 0; j < 32; j++) {
      const v = values[b * 32 + j]!;
      if (amax < Math.abs(v)) {
        amax = Math.abs(v);
        max = v;
      }
    }
    const d = Math.fround(max / -8);
    const id = d !== 0 ? Math.fround(1 / d) : 0;
    const bits = f32ToF16Bits(d);
    const p = b * 18;
    out[p] = bits & 0xff;
    out[p + 1] = bits >> 8;
    for (let j = 0; j < 16; j++) {
      const x0 = Math.fround(values[b * 32 + j]! * id);
      const x1 = Math.fround(values[b * 32 + 16 + j]! * id);
      const q0 = Math.min(15, Math.trunc(Math.fround(x0 + 8.5)));
      const q1 = Math.min(15, Math.trunc(Math.fround(x1 + 8.5)));
      out[p + 2 + j] = q0 | (q1 << 4);
    }
  }
  return out;
}
