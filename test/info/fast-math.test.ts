import assert from 'node:assert/strict';
import { test } from 'node:test';

import { fastExp, fastSigmoid, fastTanh } from '../../src/info/fast-math.js';
import { Rng } from '../../src/tensor/rng.js';

function relativeError(a: number, b: number): number {
  return b === 0 ? Math.abs(a) : Math.abs(a - b) / Math.abs(b);
}

test('fastExp matches Math.exp to a few ulp over the normal range, and handles the ends', () => {
  const rng = new Rng(1);
  let worst = 0;
  for (let i = 0; i < 200000; i++) {
    const x = -708 + 1416 * rng.uniform();
    worst = Math.max(worst, relativeError(fastExp(x), Math.exp(x)));
  }
  for (let i = 0; i < 100000; i++) {
    const x = 20 * (rng.uniform() - 0.5);
    worst = Math.max(worst, relativeError(fastExp(x), Math.exp(x)));
  }
  assert.ok(worst < 5e-16, `worst relative error ${worst}`);
  assert.equal(fastExp(0), 1);
  assert.equal(fastExp(-800), 0);
  assert.equal(fastExp(-Infinity), 0);
  assert.equal(fastExp(800), Infinity);
  assert.ok(Number.isNaN(fastExp(NaN)));
  assert.ok(relativeError(fastExp(-740), Math.exp(-740)) < 1e-3, 'subnormal results keep their leading digits');
  for (let x = -746; x < -744; x += 0.001) assert.ok(fastExp(x) >= 0 && fastExp(x) < 1e-320, `at ${x}`);
});

test('fastTanh and fastSigmoid match Math.tanh and the logistic function', () => {
  const rng = new Rng(2);
  let worstTanhAbsolute = 0;
  let worstTanhRelative = 0;
  let worstSigmoid = 0;
  for (let i = 0; i < 100000; i++) {
    const z = (rng.uniform() - 0.5) * (i % 2 ? 0.1 : 50);
    worstTanhAbsolute = Math.max(worstTanhAbsolute, Math.abs(fastTanh(z) - Math.tanh(z)));
    if (Math.abs(z) > 0.5) worstTanhRelative = Math.max(worstTanhRelative, relativeError(fastTanh(z), Math.tanh(z)));
    worstSigmoid = Math.max(worstSigmoid, relativeError(fastSigmoid(z), 1 / (1 + Math.exp(-z))));
  }
  assert.ok(worstTanhAbsolute < 5e-16, `tanh absolute: ${worstTanhAbsolute}`);
  assert.ok(worstTanhRelative < 1e-15, `tanh relative: ${worstTanhRelative}`);
  assert.ok(worstSigmoid < 1e-15, `sigmoid: ${worstSigmoid}`);
  assert.equal(fastTanh(0), 0);
  assert.equal(fastTanh(30), 1);
  assert.equal(fastTanh(-30), -1);
  assert.equal(fastTanh(-1000), -1);
  assert.equal(fastSigmoid(-1000), 0);
  assert.equal(fastSigmoid(1000), 1);
});
