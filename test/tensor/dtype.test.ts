import { test } from 'node:test';
import assert from 'node:assert/strict';
import { f32ToHalf, f32ToInt8, floatsFromBytes, halfToF32, int8ToF32 } from '../../src/tensor/dtype.js';
import { Rng } from '../../src/tensor/rng.js';

test('int8 storage: per-row scales, round trip within half a quantisation step', () => {
  const rng = new Rng(3);
  const rowLength = 17;
  const values = Float32Array.from({ length: 5 * rowLength }, () => rng.normal() * 3);
  values.fill(0, rowLength, 2 * rowLength); // an all-zero row keeps a usable scale
  const { q, scales } = f32ToInt8(values, rowLength);
  assert.equal(scales.length, 5);
  const back = int8ToF32(q, scales, rowLength);
  for (let r = 0; r < 5; r++) {
    let maxAbs = 0;
    for (let j = 0; j < rowLength; j++) maxAbs = Math.max(maxAbs, Math.abs(values[r * rowLength + j]!));
    if (maxAbs > 0) assert.ok(Math.abs(scales[r]! - maxAbs / 127) < 1e-6 * maxAbs);
    for (let j = 0; j < rowLength; j++) {
      const i = r * rowLength + j;
      assert.ok(Math.abs(back[i]! - values[i]!) <= scales[r]! / 2 + 1e-6, `element ${i}`);
    }
  }
  assert.throws(() => f32ToInt8(new Float32Array(10), 3), /not a multiple of row length 3/);
});

test('floatsFromBytes decodes unaligned little-endian f32, f16, bf16 and f64 bytes', () => {
  const values = [1.5, -2, 0.25, 65504];
  const f32 = new Uint8Array(Float32Array.from(values).buffer);
  const f64 = new Uint8Array(Float64Array.from(values).buffer);
  const f16 = new Uint8Array(f32ToHalf(values, 'f16').buffer);
  const bf16 = new Uint8Array(f32ToHalf([1.5, -2, 0.25, 65536], 'bf16').buffer);
  // One byte in: typed views of the file bytes would throw on misalignment.
  const shifted = (bytes: Uint8Array): Uint8Array => {
    const buffer = new Uint8Array(bytes.length + 1);
    buffer.set(bytes, 1);
    return buffer.subarray(1);
  };
  assert.deepEqual([...floatsFromBytes(shifted(f32), 'f32')], values);
  assert.deepEqual([...floatsFromBytes(shifted(f64), 'f64')], values);
  assert.deepEqual([...floatsFromBytes(shifted(f16), 'f16')], values);
  assert.deepEqual([...floatsFromBytes(shifted(bf16), 'bf16')], [1.5, -2, 0.25, 65536]);
  assert.deepEqual([...halfToF32(Uint16Array.from([0x3c00, 0xc000, 0x7c00]), 'f16')], [1, -2, Infinity]);
});
