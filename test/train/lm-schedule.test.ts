// The language model's learning-rate schedule with --extend-steps extensions: without one it is
// linearWarmupCosineDecay bit for bit; an extension keeps the lr continuous at its first step (the
// same cosine phase), falls monotonically and ends at the same final lr at its new total.

import { test } from 'node:test';
import assert from 'node:assert/strict';

import { linearWarmupCosineDecay } from '../../src/optim/schedule.js';
import { extendedCosineSchedule } from '../../src/train/language-model.js';

const BASE = { peakLr: 2e-3, warmupSteps: 100, totalSteps: 3000, finalLr: 2e-4 };

test('no extension: the warm-up cosine schedule, bit for bit', () => {
  const plain = linearWarmupCosineDecay(BASE);
  const extended = extendedCosineSchedule(BASE, []);
  for (const s of [0, 1, 50, 99, 100, 101, 1500, 2999, 3000, 3500]) assert.equal(extended(s), plain(s));
});

test('an extension at step 1450 to 6000: continuous, the same lr before it, falling to the final lr at 6000', () => {
  const plain = linearWarmupCosineDecay(BASE);
  const lr = extendedCosineSchedule(BASE, [{ fromStep: 1450, steps: 6000 }]);
  for (const s of [0, 99, 100, 1000, 1449]) assert.equal(lr(s), plain(s));
  assert.equal(lr(1450), plain(1450), 'continuous at the extension step');
  // The step after moves by about the stretched slope, far less than a restart of the cosine would jump.
  assert.ok(Math.abs(lr(1451) - lr(1450)) < Math.abs(plain(1451) - plain(1450)), 'the stretched cosine falls more slowly');
  for (let s = 1451; s <= 6000; s += 7) assert.ok(lr(s) < lr(s - 1), `falls at ${s}`);
  assert.ok(Math.abs(lr(6000) - BASE.finalLr) < 1e-12 && Math.abs(lr(7000) - BASE.finalLr) < 1e-12);
  assert.ok(lr(3000) > plain(3000) + 1e-4, 'more lr left at the old end');
});

test('extensions chain, each continuous; bad ones are refused', () => {
  const once = extendedCosineSchedule(BASE, [{ fromStep: 1450, steps: 6000 }]);
  const twice = extendedCosineSchedule(BASE, [{ fromStep: 1450, steps: 6000 }, { fromStep: 4000, steps: 9000 }]);
  for (const s of [1450, 2000, 3999]) assert.equal(twice(s), once(s));
  assert.equal(twice(4000), once(4000));
  assert.ok(Math.abs(twice(9000) - BASE.finalLr) < 1e-12);
  assert.throws(() => extendedCosineSchedule(BASE, [{ fromStep: 1450, steps: 2500 }]), /total above 3000/);
  assert.throws(() => extendedCosineSchedule(BASE, [{ fromStep: 50, steps: 6000 }]), /warm-up/);
});
