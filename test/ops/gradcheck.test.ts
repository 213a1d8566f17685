// The gradcheck conformance suite: every row of the table, every case, with contiguous and with
// strided leaves, on the reference backend and on the primitives-only backend (every fused kernel
// composed from primitives); plus a coverage check so that a newly exported op without a row fails
// the suite.

import assert from 'node:assert/strict';
import { describe, test } from 'node:test';

import * as F from '../../src/autograd/ops/index.js';
import { gradcheck } from '../../src/autograd/gradcheck.js';
import { referenceBackend, withBackend } from '../../src/backend/backend.js';
import { primitivesOnlyBackend } from '../conformance/primitives-only.js';
import { Rng } from '../../src/tensor/rng.js';
import { formatShape } from '../../src/tensor/shape.js';
import { makeLeaf, type LeafInit, type LeafLayout } from './helpers.js';
import { BROADCASTING_OPS, GRADCHECK_TABLE, NOT_DIFFERENTIABLE, type GradCase, type GradRow, type OpFunction } from './gradcheck-table.js';

const exportedFunctions = new Map<OpFunction, string>(
  Object.entries(F as Record<string, unknown>)
    .filter((entry): entry is [string, OpFunction] => typeof entry[1] === 'function')
    .map(([name, fn]) => [fn, name]),
);

function opName(op: OpFunction): string {
  return exportedFunctions.get(op) ?? '<not exported>';
}

function initFor(row: GradRow, leafIndex: number): LeafInit {
  if (Array.isArray(row.init)) return row.init[leafIndex] ?? 'signed';
  return (row.init as LeafInit | undefined) ?? 'signed';
}

const LAYOUTS: readonly LeafLayout[] = ['contiguous', 'strided'];

const BACKENDS = [referenceBackend, primitivesOnlyBackend()];

for (const backend of BACKENDS) GRADCHECK_TABLE.forEach((row, rowIndex) => {
  const title = row.label ? `${opName(row.op)} (${row.label})` : opName(row.op);
  describe(`gradcheck ${title}${backend === referenceBackend ? '' : ` on ${backend.name}`}`, () => {
    row.cases.forEach((c: GradCase, caseIndex) => {
      for (const layout of LAYOUTS) {
        test(`${c.shapes.map(formatShape).join(' ')} ${layout}`, () => {
          const fn = c.fn ?? row.fn;
          assert.ok(fn, `row ${title} case ${caseIndex} has no function`);
          // A seed per row and case: each test is reproducible on its own.
          const rng = new Rng(1000 * rowIndex + caseIndex);
          const leaves = c.shapes.map((shape, i) => makeLeaf(shape, rng, initFor(row, i), layout));
          const options = { ...(row.eps !== undefined ? { eps: row.eps } : {}), ...(row.atol !== undefined ? { atol: row.atol } : {}), ...(row.rtol !== undefined ? { rtol: row.rtol } : {}) };
          const result = withBackend(backend, () => gradcheck(fn, leaves, options));
          assert.ok(result.ok, `max error ${result.maxAbsError}\n${result.failures.join('\n')}`);
        });
      }
    });
  });
});

describe('gradcheck table coverage', () => {
  const covered = new Set(GRADCHECK_TABLE.map((row) => row.op));

  test('every exported op has a row, except the documented non-differentiable ones', () => {
    const missing = [...exportedFunctions].filter(([fn]) => !covered.has(fn) && !NOT_DIFFERENTIABLE.includes(fn)).map(([, name]) => name);
    assert.deepEqual(missing, [], `ops without a gradcheck row: ${missing.join(', ')}`);
  });

  test('every row and every listed exception names an exported op', () => {
    for (const row of GRADCHECK_TABLE) assert.ok(exportedFunctions.has(row.op), `a row tests a function not exported by src/autograd/ops/index.ts`);
    for (const fn of [...NOT_DIFFERENTIABLE, ...BROADCASTING_OPS]) assert.ok(exportedFunctions.has(fn), 'a listed function is not exported');
    for (const fn of NOT_DIFFERENTIABLE) assert.ok(!covered.has(fn), `${opName(fn)} is listed as non-differentiable but has a row`);
  });

  test('every op is checked with a size-1 axis', () => {
    const without = [...covered].filter((op) => !GRADCHECK_TABLE.some((row) => row.op === op && row.cases.some((c) => c.shapes.some((s) => s.includes(1)))));
    assert.deepEqual(without.map(opName), []);
  });

  test('broadcasting ops are checked with leaves of different shapes', () => {
    const broadcasts = (c: GradCase): boolean => c.shapes.some((s) => formatShape(s) !== formatShape(c.shapes[0]!));
    const without = BROADCASTING_OPS.filter((op) => !GRADCHECK_TABLE.some((row) => row.op === op && row.cases.some(broadcasts)));
    assert.deepEqual(without.map(opName), []);
  });
});
