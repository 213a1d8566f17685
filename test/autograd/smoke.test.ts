import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Rng } from '../../src/tensor/rng.js';
import { randn, type Tensor } from '../../src/tensor/tensor.js';
import { gradcheck } from '../../src/autograd/gradcheck.js';
import { add, mul, tanh, gelu } from '../../src/autograd/ops/elementwise.js';
import { matmul } from '../../src/autograd/ops/linalg.js';
import { sum, logsumexp } from '../../src/autograd/ops/reduce.js';
import { transpose, slice } from '../../src/autograd/ops/movement.js';
import { softmax } from '../../src/autograd/ops/softmax.js';

const leaf = (shape: number[], rng: Rng): Tensor => randn(shape, rng, { dtype: 'f64', requiresGrad: true });

test('smoke gradchecks', () => {
  const rng = new Rng(1);
  const a = leaf([3, 4], rng);
  const b = leaf([4], rng);
  let r = gradcheck((x, y) => tanh(add(x, y)), [a, b]);
  assert.ok(r.ok, r.failures.join('\n'));
  const m = leaf([2, 3, 5], rng);
  const n = leaf([5, 4], rng);
  r = gradcheck((x, y) => matmul(x, y), [m, n]);
  assert.ok(r.ok, r.failures.join('\n'));
  const t = leaf([5, 3], rng);
  r = gradcheck((x) => gelu(mul(transpose(x), 2)), [t]);
  assert.ok(r.ok, r.failures.join('\n'));
  r = gradcheck((x) => softmax(slice(x, [[1, 5, 2]]), 0), [t]);
  assert.ok(r.ok, r.failures.join('\n'));
  r = gradcheck((x) => logsumexp(x, 1), [t]);
  assert.ok(r.ok, r.failures.join('\n'));
  r = gradcheck((x) => sum(x, 0, { keepDims: true }), [t]);
  assert.ok(r.ok, r.failures.join('\n'));
});
