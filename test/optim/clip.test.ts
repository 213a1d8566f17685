import { test } from 'node:test';
import assert from 'node:assert/strict';
import { fromArray, type Tensor } from '../../src/tensor/tensor.js';
import { backward } from '../../src/autograd/engine.js';
import { add } from '../../src/autograd/ops/elementwise.js';
import { sum } from '../../src/autograd/ops/reduce.js';
import { clipGradNorm } from '../../src/optim/clip.js';

function param(values: number[], grad: number[] | null): Tensor {
  const p = fromArray(values, [values.length], { requiresGrad: true });
  if (grad) p.grad = fromArray(grad, [grad.length]);
  return p;
}

test('clipGradNorm scales all gradients by maxNorm / total norm and returns the norm before clipping', () => {
  const a = param([0, 0], [3, 0]);
  const b = param([0, 0, 0], [0, 4, 0]);
  const frozen = param([1], null);
  const total = clipGradNorm([a, b, frozen], 1);
  assert.equal(total, 5);
  const coefficient = 1 / (5 + 1e-6);
  assert.deepEqual(a.grad!.toList(), [Math.fround(3 * coefficient), 0]);
  assert.deepEqual(b.grad!.toList(), [0, Math.fround(4 * coefficient), 0]);
  assert.equal(frozen.grad, null);
});

test('clipGradNorm leaves gradients under the limit untouched', () => {
  const a = param([0, 0], [0.3, 0.4]);
  const before = a.grad;
  assert.ok(Math.abs(clipGradNorm([a], 1) - 0.5) < 1e-7);
  assert.equal(a.grad, before);
});

test('clipGradNorm with the infinity norm', () => {
  const a = param([0, 0], [-6, 2]);
  const b = param([0], [3]);
  assert.equal(clipGradNorm([a, b], 3, { normType: Infinity }), 6);
  const c = 3 / (6 + 1e-6);
  assert.deepEqual(a.grad!.toList(), [Math.fround(-6 * c), Math.fround(2 * c)]);
});

test('clipGradNorm scales each parameter once when backward shares one gradient tensor', () => {
  // add's backward hands the same dy to both inputs.
  const a = param([1, 2], null);
  const b = param([3, 4], null);
  backward(sum(add(a, b)));
  assert.deepEqual(a.grad!.toList(), [1, 1]);
  const total = clipGradNorm([a, b, a], 1);
  assert.equal(total, 2);
  const expected = Math.fround(1 / (2 + 1e-6));
  assert.deepEqual(a.grad!.toList(), [expected, expected]);
  assert.deepEqual(b.grad!.toList(), [expected, expected]);
});

test('clipGradNorm reports non-finite norms on request', () => {
  const a = param([0], [Infinity]);
  assert.throws(() => clipGradNorm([a], 1, { errorIfNonfinite: true }), /Infinity/);
  assert.equal(clipGradNorm([a], 1), Infinity);
});
