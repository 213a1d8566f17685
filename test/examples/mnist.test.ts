import { test } from 'node:test';
import assert from 'node:assert/strict';
import { dataFileOrSkip } from '../helpers/data.js';
import { MNIST_DEFAULTS, trainMnistMlp } from '../../examples/mnist-mlp.js';
import { initNodeBackend } from '../../src/node/backend.js';
import { defaultDataDir } from '../../src/node/data-dir.js';

test('the MNIST example reaches >= 95% held-out accuracy from its fixed seed', async (t) => {
  if (!dataFileOrSkip(t, 'mnist/t10k-images-idx3-ubyte.gz')) return;
  const engine = await initNodeBackend();
  try {
    const first = await trainMnistMlp({ ...MNIST_DEFAULTS, dataDir: defaultDataDir(), progress: false });
    assert.ok(first.heldOutAccuracy >= 0.95, `held-out accuracy ${first.heldOutAccuracy}`);
    // Seeded: a second run of one epoch twice gives identical numbers.
    const a = await trainMnistMlp({ ...MNIST_DEFAULTS, epochs: 1, trainCount: 1000, dataDir: defaultDataDir(), progress: false });
    const b = await trainMnistMlp({ ...MNIST_DEFAULTS, epochs: 1, trainCount: 1000, dataDir: defaultDataDir(), progress: false });
    assert.equal(a.finalTrainLoss, b.finalTrainLoss);
    assert.equal(a.heldOutAccuracy, b.heldOutAccuracy);
  } finally {
    engine.dispose();
  }
});

