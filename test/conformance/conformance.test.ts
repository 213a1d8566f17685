// Runs the conformance table (table.ts) on every backend of backends.ts against the reference
// backend, and checks its coverage: every kernel the wasm backend routes (every kernel whose
// function differs from the reference's, every unary and binary kind with a wasm kernel) and every
// fused kernel (whose composite twin runs on the primitives-only backend) has a row.

import assert from 'node:assert/strict';
import { after, describe, test } from 'node:test';

import { referenceKernels } from '../../src/backend/reference/index.js';
import { UNARY_GRAD_KINDS } from '../../src/backend/wasm/abi.js';
import { WASM_BINARY, WASM_UNARY } from '../../src/backend/wasm/backend.js';
import { FUSED_KERNEL_NAMES, type BinaryKind, type KernelName, type UnaryKind } from '../../src/ops/kernels.js';
import { formatShape } from '../../src/tensor/shape.js';
import type { Tensor } from '../../src/tensor/tensor.js';
import { createTestBackends, type TestBackend } from './backends.js';
import { Rng } from './inputs.js';
import { CONFORMANCE_TABLE, rowTitle, type ConformanceRow } from './table.js';

const backends = await createTestBackends();
after(() => backends.dispose());

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
      const expected = cases.map((c) => row.run(referenceKernels, c.inputs));
      for (const variant of variants) {
        if (variant.backend.kernels === referenceKernels) continue;
        test(variant.name, () => {
          cases.forEach((c, i) => {
            const before = snapshot(c.inputs);
            const outputs = row.run(variant.backend.kernels, c.inputs);
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

runConformanceRows(CONFORMANCE_TABLE, backends.all, 1000);

describe('conformance table coverage', () => {
  const hasRow = (kernel: KernelName, kind?: UnaryKind | BinaryKind): boolean =>
    CONFORMANCE_TABLE.some((row) => row.kernel === kernel && (kind === undefined || row.kind === kind));

  test('runs on reference, primitives-only, wasm SIMD and relaxed SIMD on 1 and 2 threads', () => {
    const names = backends.all.map((b) => b.name);
    for (const name of ['reference', 'primitives-only', 'wasm simd 1T', 'wasm simd 2T', 'wasm relaxed 1T', 'wasm relaxed 2T']) assert.ok(names.includes(name), name);
  });

  test('every kernel a wasm backend routes has a row', () => {
    for (const variant of backends.all.filter((b) => b.wasm)) {
      const routed = (Object.keys(variant.backend.kernels) as KernelName[]).filter((name) => variant.backend.kernels[name] !== referenceKernels[name]);
      assert.ok(routed.includes('matmul'), 'routing is detected');
      const missing = routed.filter((name) => !hasRow(name));
      assert.deepEqual(missing, [], `${variant.name}: routed kernels without a row`);
    }
  });

  test('every unary and binary kind with a wasm kernel has a row (forward, and backward where wasm has it)', () => {
    for (const [kind, wasmKind] of Object.entries(WASM_UNARY) as [UnaryKind, string][]) {
      assert.ok(hasRow('unary', kind), `unary ${kind}`);
      if (UNARY_GRAD_KINDS.has(wasmKind as never)) assert.ok(hasRow('unaryGrad', kind), `unaryGrad ${kind}`);
    }
    for (const kind of Object.keys(WASM_BINARY) as BinaryKind[]) assert.ok(hasRow('binary', kind), `binary ${kind}`);
  });

  test('every fused kernel has a row (its composite runs on the primitives-only backend)', () => {
    assert.deepEqual(FUSED_KERNEL_NAMES.filter((name) => !hasRow(name)), []);
  });

  test('the table has special values, empty and size-1 inputs', () => {
    const rng = new Rng(1);
    const all = CONFORMANCE_TABLE.flatMap((row) => row.cases(rng).flatMap((c) => c.inputs));
    assert.ok(all.some((t) => t.size === 0), 'an empty input');
    assert.ok(all.some((t) => t.size === 1), 'a size-1 input');
    for (const special of [NaN, Infinity, -Infinity]) assert.ok(all.some((t) => Array.from(t.toArray()).some((v) => Object.is(v, special))), `${special}`);
  });
});
