// The README's library snippet, run as written (through the package entry points).

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Rng, randn, matmul, gelu, sum, backward } from '../src/index.js';
import { initNodeBackend } from '../src/node.js';

test('the README engine snippet runs and yields a gradient of the weight shape', async () => {
  const engine = await initNodeBackend();
  try {
    const rng = new Rng(1);
    const w = randn([256, 128], rng, { requiresGrad: true });
    const x = randn([32, 256], rng);
    const loss = sum(gelu(matmul(x, w)));
    backward(loss);
    assert.deepEqual(w.grad?.shape, [256, 128]);
    assert.ok(Number.isFinite(loss.item()));
  } finally {
    engine.dispose();
  }
});
