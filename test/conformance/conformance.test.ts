// Runs the conformance table (table.ts) on every backend of backends.ts against the reference
// backend, and checks its coverage: every kernel the wasm backend routes (every kernel whose
// function differs from the reference's, every unary and binary kind with a wasm kernel) and every
// fused kernel (whose composite twin runs on the primitives-only backend) has a row.

import assert from 'node:assert/strict';
import { after, describe, test } from 'node:test';

import { referenceKernels } from '../../src/backend/reference/index.js';
import { UNARY_GRAD_KINDS } from '../../src/backend/wasm/abi.js';
import { WASM_BINARY, WASM_UNARY } from '../../src/backend/wasm/backend.js';
import { WasmBlockSparse } from '../../src/backend/wasm/block-sparse.js';
import { FUSED_KERNEL_NAMES, type BinaryKind, type KernelName, type UnaryKind } from '../../src/ops/kernels.js';
import { createTestBackends } from './backends.js';
import { runConformanceRows } from './harness.js';
import { Rng } from './inputs.js';
import { BLOCK_SPARSE_PRODUCTS, CONFORMANCE_TABLE } from './table.js';

const backends = await createTestBackends();
after(() => backends.dispose());

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

  test('every wasm backend supplies the wasm block-sparse products, each with a row', () => {
    for (const variant of backends.all.filter((b) => b.wasm)) assert.ok(variant.backend.blockSparse instanceof WasmBlockSparse, variant.name);
    for (const product of BLOCK_SPARSE_PRODUCTS) assert.ok(CONFORMANCE_TABLE.some((row) => row.kernel === `blockSparse.${product}`), product);
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
