// The conformance runner, shared by every table (the kernel table here; other kernel families, e.g.
// attention, can run their own rows with it): each row's cases run once on the reference kernels,
// then on every other backend, outputs compared elementwise and inputs checked unchanged.

import assert from 'node:assert/strict';
import { describe, test } from 'node:test';

import { referenceBackend, referenceKernels } from '../../src/backend/reference/index.js';
import { formatShape } from '../../src/tensor/shape.js';
import type { Tensor } from '../../src/tensor/tensor.js';
import type { TestBackend } from './backends.js';
import { Rng } from './inputs.js';
import { rowTitle, type ConformanceRow } from './table.js';

/** Elementwise closeness; NaN must meet NaN, an infinity the same infinity. Returns a message or null. */
export function mismatch(got: Tensor, want: Tensor, atol: number, rtol: number): string | null {
  if (formatShape(got.shape) !== formatShape(want.shape)) return `shape ${formatShape(got.shape)}, expected ${formatShape(want.shape)}`;
  if (got.dtype !== want.dtype) return `dtype ${got.dtype}, expected ${want.dtype}`;
  const g = got.toArray();
  const w = want.toArray();
  for (let i = 0; i < w.length; i++) {
    const a = g[i]!;
    const e = w[i]!;
    if (Number.isNaN(e) || Number.isNaN(a)) {
      if (Number.isNaN(e) && Number.isNaN(a)) continue;
      return `element ${i}: got ${a}, expected ${e}`;
    }
    if (!Number.isFinite(e) || !Number.isFinite(a)) {
      if (a === e) continue;
      return `element ${i}: got ${a}, expected ${e}`;
    }
    if (!(Math.abs(a - e) <= atol + rtol * Math.abs(e))) return `element ${i}: got ${a}, expected ${e} (atol ${atol}, rtol ${rtol})`;
  }
  return null;
}

function snapshot(inputs: readonly Tensor[]): number[][] {
  return inputs.map((t) => Array.from(t.data));
}

/** Registers one describe per row: the reference's outputs once, then a test per other backend. */
export function runConformanceRows(rows: readonly ConformanceRow[], variants: readonly TestBackend[], seed: number): void {
  rows.forEach((row, index) => {
    describe(`conformance ${rowTitle(row)}`, () => {
      const cases = row.cases(new Rng(seed + index));
      const expected = cases.map((c) => row.run(referenceKernels, c.inputs, referenceBackend));
      for (const variant of variants) {
        if (variant.backend.kernels === referenceKernels) continue;
        test(variant.name, () => {
          cases.forEach((c, i) => {
            const before = snapshot(c.inputs);
            const outputs = row.run(variant.backend.kernels, c.inputs, variant.backend);
            assert.deepEqual(snapshot(c.inputs), before, `${c.name}: the inputs were modified`);
            const want = expected[i]!;
            assert.equal(outputs.length, want.length, `${c.name}: ${outputs.length} outputs, expected ${want.length}`);
            outputs.forEach((out, j) => {
              const problem = mismatch(out, want[j]!, c.atol ?? row.atol, c.rtol ?? row.rtol);
              if (problem) assert.fail(`${c.name}, output ${j}: ${problem}`);
            });
          });
        });
      }
    });
  });
}

