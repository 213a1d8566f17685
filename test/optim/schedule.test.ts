import { test } from 'node:test';
import assert from 'node:assert/strict';
import { constantWithWarmup, linearWarmupCosineDecay, linearWarmupLinearDecay } from '../../src/optim/schedule.js';

const close = (a: number, b: number, what: string): void => assert.ok(Math.abs(a - b) <= 1e-12, `${what}: ${a} vs ${b}`);

test('constant with warm-up', () => {
  const lr = constantWithWarmup({ peakLr: 1e-3, warmupSteps: 4 });
  close(lr(0), 0, 'start');
  close(lr(1), 2.5e-4, 'step 1');
  close(lr(3), 7.5e-4, 'last warm-up step');
  close(lr(4), 1e-3, 'peak');
  close(lr(1e6), 1e-3, 'later');
  close(constantWithWarmup({ peakLr: 2, warmupSteps: 0 })(0), 2, 'no warm-up');
});

test('linear warm-up then linear decay to 0 or a floor', () => {
  const lr = linearWarmupLinearDecay({ peakLr: 1, warmupSteps: 10, totalSteps: 110 });
  close(lr(0), 0, 'start');
  close(lr(5), 0.5, 'mid warm-up');
  close(lr(10), 1, 'peak');
  close(lr(11), 0.99, 'first decay step');
  close(lr(60), 0.5, 'mid decay');
  close(lr(110), 0, 'end');
  close(lr(500), 0, 'past the end');
  const floored = linearWarmupLinearDecay({ peakLr: 1, warmupSteps: 0, totalSteps: 100, finalLr: 0.1 });
  close(floored(0), 1, 'start without warm-up');
  close(floored(50), 0.55, 'mid decay');
  close(floored(100), 0.1, 'floor');
  close(floored(1000), 0.1, 'past the end');
  const noDecay = linearWarmupLinearDecay({ peakLr: 1, warmupSteps: 5, totalSteps: 5 });
  close(noDecay(4), 0.8, 'warm-up');
  close(noDecay(5), 0, 'decay of length 0 ends at once');
  assert.throws(() => linearWarmupLinearDecay({ peakLr: 1, warmupSteps: 10, totalSteps: 5 }), /totalSteps/);
  assert.throws(() => lr(-1), /non-negative/);
});

test('linear warm-up then cosine decay', () => {
  const lr = linearWarmupCosineDecay({ peakLr: 2, warmupSteps: 10, totalSteps: 110 });
  close(lr(0), 0, 'start');
  close(lr(10), 2, 'peak');
  close(lr(35), 2 * 0.5 * (1 + Math.cos(Math.PI / 4)), 'quarter');
  close(lr(60), 1, 'half way');
  close(lr(110), 0, 'end');
  close(lr(200), 0, 'past the end');
  const floored = linearWarmupCosineDecay({ peakLr: 1, warmupSteps: 0, totalSteps: 10, finalLr: 0.2 });
  close(floored(5), 0.6, 'half way to the floor');
  close(floored(10), 0.2, 'floor');
});
