import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Rng } from '../../src/tensor/rng.js';
import { type Tensor, zeros } from '../../src/tensor/tensor.js';
import {
  calculateGain,
  computeFans,
  kaimingNormal_,
  kaimingUniform_,
  normal_,
  ones_,
  truncatedNormal_,
  uniform_,
  xavierNormal_,
  xavierUniform_,
  zeros_,
} from '../../src/nn/init.js';

const N = 200_000;

function stats(t: Tensor): { mean: number; std: number; min: number; max: number } {
  const values = t.toArray();
  let total = 0;
  let min = Infinity;
  let max = -Infinity;
  for (const v of values) {
    total += v;
    min = Math.min(min, v);
    max = Math.max(max, v);
  }
  const mean = total / values.length;
  let squares = 0;
  for (const v of values) squares += (v - mean) ** 2;
  return { mean, std: Math.sqrt(squares / values.length), min, max };
}

/** Within 5 standard errors of the sample mean / std (normal approximation). */
function assertMoments(t: Tensor, mean: number, std: number, what: string): void {
  const s = stats(t);
  const n = t.size;
  assert.ok(Math.abs(s.mean - mean) <= (5 * std) / Math.sqrt(n), `${what}: mean ${s.mean}, expected ${mean}`);
  assert.ok(Math.abs(s.std - std) <= (5 * std) / Math.sqrt(2 * n) + 1e-3 * std, `${what}: std ${s.std}, expected ${std}`);
}

test('normal_ and uniform_ match their moments', () => {
  const rng = new Rng(1);
  assertMoments(normal_(zeros([N]), rng, { mean: 0.5, std: 2 }), 0.5, 2, 'normal');
  const u = uniform_(zeros([N]), rng, { low: -1, high: 3 });
  assertMoments(u, 1, 4 / Math.sqrt(12), 'uniform');
  const s = stats(u);
  assert.ok(s.min >= -1 && s.max < 3);
});

test('truncatedNormal_ stays in bounds with the truncated normal std', () => {
  // Var of N(0,1) truncated to [-2, 2] = ∫x²φ / ∫φ over [-2, 2], by Simpson's rule.
  const phi = (x: number): number => Math.exp(-x * x / 2);
  let mass = 0;
  let second = 0;
  const steps = 2000;
  const h = 4 / steps;
  for (let i = 0; i <= steps; i++) {
    const x = -2 + i * h;
    const w = i === 0 || i === steps ? 1 : i % 2 === 1 ? 4 : 2;
    mass += w * phi(x);
    second += w * x * x * phi(x);
  }
  const truncatedStd = Math.sqrt(second / mass);
  assert.ok(Math.abs(truncatedStd - 0.8796) < 1e-3);
  const rng = new Rng(2);
  const t = truncatedNormal_(zeros([N]), rng, { std: 0.02 });
  const s = stats(t);
  assert.ok(s.min >= -0.04 && s.max <= 0.04, `bounds ${s.min} ${s.max}`);
  assertMoments(t, 0, 0.02 * truncatedStd, 'truncated');
  const shifted = truncatedNormal_(zeros([1000]), rng, { mean: 1, std: 1, a: 0.5, b: 1.5 });
  const ss = stats(shifted);
  assert.ok(ss.min >= 0.5 && ss.max <= 1.5);
  assert.throws(() => truncatedNormal_(zeros([1]), rng, { a: 50, b: 51 }), /no sample/);
});

test('fans and gains follow torch.nn.init', () => {
  assert.deepEqual(computeFans([3, 5]), { fanIn: 5, fanOut: 3 });
  assert.deepEqual(computeFans([8, 4, 3]), { fanIn: 12, fanOut: 24 });
  assert.throws(() => computeFans([4]), /rank >= 2/);
  assert.equal(calculateGain('linear'), 1);
  assert.equal(calculateGain('sigmoid'), 1);
  assert.equal(calculateGain('tanh'), 5 / 3);
  assert.equal(calculateGain('relu'), Math.sqrt(2));
  assert.equal(calculateGain('leakyRelu'), Math.sqrt(2 / (1 + 0.01 ** 2)));
  assert.equal(calculateGain('leakyRelu', 0.2), Math.sqrt(2 / 1.04));
  assert.equal(calculateGain('selu'), 0.75);
});

test('xavier initialisers use fanIn + fanOut and the gain', () => {
  const rng = new Rng(3);
  const [out, inp] = [300, 700];
  const bound = 2 * Math.sqrt(6 / (inp + out));
  const u = xavierUniform_(zeros([out, inp]), rng, { gain: 2 });
  const s = stats(u);
  assert.ok(s.min >= -bound && s.max <= bound);
  assertMoments(u, 0, bound / Math.sqrt(3), 'xavierUniform');
  assertMoments(xavierNormal_(zeros([out, inp]), rng, { gain: 2 }), 0, 2 * Math.sqrt(2 / (inp + out)), 'xavierNormal');
});

test('kaiming initialisers use the chosen fan and nonlinearity gain', () => {
  const rng = new Rng(4);
  const [out, inp] = [250, 800];
  // Default: fan_in, leaky_relu with a = 0 (ReLU gain).
  const reluStd = Math.sqrt(2) / Math.sqrt(inp);
  const u = kaimingUniform_(zeros([out, inp]), rng);
  assert.ok(stats(u).max <= Math.sqrt(3) * reluStd);
  assertMoments(u, 0, reluStd, 'kaimingUniform');
  assertMoments(kaimingNormal_(zeros([out, inp]), rng, { mode: 'fanOut', nonlinearity: 'tanh' }), 0, 5 / 3 / Math.sqrt(out), 'kaimingNormal fanOut tanh');
  assertMoments(kaimingNormal_(zeros([out, inp]), rng, { nonlinearity: 'linear' }), 0, 1 / Math.sqrt(inp), 'kaimingNormal linear');
});

test('zeros_, ones_ and reproducibility', () => {
  assert.deepEqual(ones_(zeros([3])).toList(), [1, 1, 1]);
  assert.deepEqual(zeros_(ones_(zeros([2]))).toList(), [0, 0]);
  const a = normal_(zeros([10]), new Rng(7)).toList();
  const b = normal_(zeros([10]), new Rng(7)).toList();
  assert.deepEqual(a, b);
  assert.throws(() => normal_(zeros([2], { dtype: 'i32' }), new Rng(1)), /float/);
});
