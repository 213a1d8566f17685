// The quantized-weight rows of the conformance table (QUANT_CONFORMANCE_TABLE) on every backend of
// backends.ts against the reference kernels; the wasm variants run WasmQuant (both SIMD flavours,
// 1 and 2 threads, the 2-thread variants splitting every call), compared as the kernel table's
// rows are (harness.ts's mismatch).

import assert from 'node:assert/strict';
import { after, describe, test } from 'node:test';

import { referenceQuantKernels } from '../../src/backend/reference/quant.js';
import { WasmQuant } from '../../src/backend/wasm/quant.js';
import type { QuantKernels } from '../../src/ops/quant-kernels.js';
import { Tensor } from '../../src/tensor/tensor.js';
import { createTestBackends } from '../conformance/backends.js';
import { mismatch } from '../conformance/harness.js';
import { Rng } from '../conformance/inputs.js';
import { QUANT_CONFORMANCE_TABLE, runQuantRow } from '../conformance/table.js';
import { bf16BitsToF32, f16BitsToF32 } from '../../src/tensor/dtype.js';

const backends = await createTestBackends();
after(() => backends.dispose());

function close(got: Float32Array, want: Float32Array, atol: number, rtol: number, what: string): void {
  const problem = mismatch(new Tensor(got, 'f32', [got.length]), new Tensor(want, 'f32', [want.length]), atol, rtol);
  if (problem) assert.fail(`${what}: ${problem}`);
}

QUANT_CONFORMANCE_TABLE.forEach((row, index) => {
  describe(`conformance quantMatmul ${row.format}`, () => {
    const cases = row.cases(new Rng(2000 + index));
    const expected = cases.map((c) => runQuantRow(referenceQuantKernels, row, c.inputs)[0]!);
    for (const variant of backends.all) {
      test(variant.name, () => {
        const kernels: QuantKernels[] = [variant.backend.quant ?? referenceQuantKernels];
        if (variant.wasm) {
          assert.ok(variant.backend.quant instanceof WasmQuant, 'the wasm backend supplies WasmQuant');
          kernels.push(new WasmQuant(variant.wasm, { forceParallel: variant.wasm.threads > 1 }));
        }
        for (const quant of kernels) {
          const before = quant instanceof WasmQuant ? quant.calls : 0;
          cases.forEach((c, i) => {
            const snapshot = c.inputs.map((t) => Array.from(t.data));
            const [y] = runQuantRow(quant, row, c.inputs) as [Tensor];
            assert.deepEqual(c.inputs.map((t) => Array.from(t.data)), snapshot, `${c.name}: inputs modified`);
            close(y.data as Float32Array, expected[i]!.data as Float32Array, c.atol ?? row.atol, c.rtol ?? row.rtol, c.name);
          });
          if (quant instanceof WasmQuant) assert.ok(quant.calls > before, 'the wasm kernels ran');
        }
      });
    }
  });
});

describe('quantMatmul half conversions', () => {
  // cols = 1, x = [1]: y[r] = w[r] exactly, for every one of the 65536 bit patterns.
  for (const format of ['F16', 'BF16'] as const) {
    test(`${format}: every bit pattern widens exactly on every backend`, () => {
      const bits = new Uint16Array(65536).map((_, i) => i);
      const want = Float32Array.from(bits, (h) => (format === 'F16' ? f16BitsToF32(h) : bf16BitsToF32(h)));
      const w = { format, rows: 65536, cols: 1, bytes: new Uint8Array(bits.buffer) };
      const ref = new Float32Array(65536);
      referenceQuantKernels.matmul(new Float32Array([1]), 1, w, ref);
      close(ref, want, 0, 0, `reference ${format}`);
      for (const variant of backends.all.filter((b) => b.wasm)) {
        for (const n of [1, 2]) {
          const y = new Float32Array(65536 * n);
          new WasmQuant(variant.wasm!, { forceParallel: true }).matmul(new Float32Array(n).fill(1), n, w, y);
          close(y.subarray(65536 * (n - 1)), want, 0, 0, `${variant.name} ${format} n=${n}`);
        }
      }
    });
  }
});

describe('quantMatmul fast conversions in the decode kernels', () => {
  // Every f16 bit pattern, finite ones first (so most rows and tiles take the finite-only conversion,
  // and those holding infinities and NaNs take the exact one), compared exactly with the reference.
  const finiteFirst = Uint16Array.from({ length: 65536 }, (_, i) => i).sort((a, b) => +((b & 0x7c00) === 0x7c00) - +((a & 0x7c00) === 0x7c00) || a - b);

  // 8 columns take the decode row kernel's 8-half tail, 16 its 16-half loop. The patterns are
  // rotated by 4, so the rows where the finite ones end hold their first infinities in the last
  // 4 halves (the loop's second vector), and the last row in its first 4.
  const rotated = Uint16Array.from({ length: 65536 }, (_, i) => finiteFirst[(i + 4) % 65536]!);
  for (const cols of [8, 16]) {
    test(`F16 / BF16 weights: ${65536 / cols} rows of ${cols} halves against each one-hot x`, () => {
      const rows = 65536 / cols;
      for (const format of ['F16', 'BF16'] as const) {
        const w = { format, rows, cols, bytes: new Uint8Array(rotated.buffer) };
        for (let j = 0; j < cols; j++) {
          const x = new Float32Array(cols);
          x[j] = 1;
          const want = new Float32Array(rows);
          referenceQuantKernels.matmul(x, 1, w, want);
          for (const variant of backends.all.filter((b) => b.wasm)) {
            const y = new Float32Array(rows);
            new WasmQuant(variant.wasm!, { forceParallel: true }).matmul(x, 1, w, y);
            close(y, want, 0, 0, `${variant.name} ${format} column ${j}`);
          }
        }
      }
    });
  }

  test('Q8_0 / Q4_0 scales: one block per row with every f16 bit pattern as its scale', () => {
    for (const format of ['Q8_0', 'Q4_0'] as const) {
      const stride = format === 'Q8_0' ? 34 : 18;
      const bytes = new Uint8Array(65536 * stride);
      for (let r = 0; r < 65536; r++) {
        bytes[r * stride] = finiteFirst[r]! & 0xff;
        bytes[r * stride + 1] = finiteFirst[r]! >> 8;
        // q = 1 (Q8_0) or nibbles 9 (q - 8 = 1), so y = d * 127 * 32 exactly.
        bytes.fill(format === 'Q8_0' ? 1 : 0x99, r * stride + 2, (r + 1) * stride);
      }
      const w = { format, rows: 65536, cols: 32, bytes };
      const x = new Float32Array(32).fill(127);
      const want = new Float32Array(65536);
      referenceQuantKernels.matmul(x, 1, w, want);
      for (const variant of backends.all.filter((b) => b.wasm)) {
        const y = new Float32Array(65536);
        new WasmQuant(variant.wasm!, { forceParallel: true }).matmul(x, 1, w, y);
        close(y, want, 0, 0, `${variant.name} ${format}`);
      }
    }
  });

  test('Q8_0 / Q4_0 decode rows: every f16 bit pattern as a scale in the 4-block loop and in the tail', () => {
    // Rows of 5 blocks (the row kernels convert 4 blocks' scales at once, then a 1-block tail);
    // block b of row r has scale finiteFirst[5r + b]. x is one-hot per block (127 in block j, 0
    // elsewhere), so every other block adds an exact 0 (or NaN for an infinite or NaN scale, as in
    // the reference) and the comparison is exact whatever the order of the sum.
    const blocks = 5;
    const rows = Math.ceil(65536 / blocks);
    for (const format of ['Q8_0', 'Q4_0'] as const) {
      const stride = format === 'Q8_0' ? 34 : 18;
      const bytes = new Uint8Array(rows * blocks * stride);
      for (let i = 0; i < rows * blocks; i++) {
        const h = finiteFirst[i % 65536]!;
        bytes[i * stride] = h & 0xff;
        bytes[i * stride + 1] = h >> 8;
        // Q8_0: q in 1..3; Q4_0: nibbles 9, 10 or 5 (q - 8 = 1, 2, -3), both halves of each byte.
        bytes.fill(format === 'Q8_0' ? 1 + (i % 3) : [0x99, 0xaa, 0x55][i % 3]!, i * stride + 2, (i + 1) * stride);
      }
      const w = { format, rows, cols: 32 * blocks, bytes };
      for (let j = 0; j < blocks; j++) {
        const x = new Float32Array(32 * blocks);
        x.fill(127, 32 * j, 32 * (j + 1));
        const want = new Float32Array(rows);
        referenceQuantKernels.matmul(x, 1, w, want);
        for (const variant of backends.all.filter((b) => b.wasm)) {
          const y = new Float32Array(rows);
          new WasmQuant(variant.wasm!, { forceParallel: true }).matmul(x, 1, w, y);
          close(y, want, 0, 0, `${variant.name} ${format} block ${j}`);
        }
      }
    }
  });
});
