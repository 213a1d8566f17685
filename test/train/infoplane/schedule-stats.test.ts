import assert from 'node:assert/strict';
import { test } from 'node:test';

import { logSpacedEpochs } from '../../../src/train/infoplane/schedule.js';
import { logGamma, oneSampleTTest, pearson, ranks, regularizedIncompleteBeta, spearman, studentTTwoSided, welchTTest } from '../../../src/train/infoplane/stats.js';

test('log-spaced epochs equal the IDNNs numpy expression (400 samples over 8000 epochs = the paper\'s 274)', () => {
  // Reference values from numpy 1.24: unique(logspace(log2(1), log2(E), S, dtype=int, base=2)) - 1.
  const cases = [
    { epochs: 8000, samples: 400, count: 274, sum: 357762, tail: [7476, 7646, 7820, 7999] },
    { epochs: 8000, samples: 274, count: 199, sum: 246269, tail: [7246, 7489, 7739, 7999] },
    { epochs: 1000, samples: 100, count: 75, sum: 14627, tail: [810, 868, 931, 999] },
    { epochs: 20000, samples: 400, count: 290, sum: 814574, tail: [18563, 19030, 19508, 19998] },
  ];
  for (const c of cases) {
    const e = logSpacedEpochs(c.epochs, c.samples);
    assert.equal(e.length, c.count, `${c.epochs}/${c.samples}`);
    assert.equal(e.reduce((a, b) => a + b, 0), c.sum);
    assert.deepEqual(e.slice(-4), c.tail);
    assert.deepEqual(e.slice(0, 5), [0, 1, 2, 3, 4]);
  }
  assert.throws(() => logSpacedEpochs(0), /epochs must be a positive integer/);
});

test('special functions: log-gamma and the incomplete beta at known values', () => {
  assert.ok(Math.abs(logGamma(5) - Math.log(24)) < 1e-13);
  assert.ok(Math.abs(logGamma(0.5) - 0.5 * Math.log(Math.PI)) < 1e-13);
  assert.ok(Math.abs(regularizedIncompleteBeta(0.3, 1, 1) - 0.3) < 1e-14);
  assert.ok(Math.abs(regularizedIncompleteBeta(0.3, 2, 3) - 0.3483) < 1e-12); // 1 - 0.7^4 - 4(0.3)(0.7)^3... = 0.3483
});

test('Student t p-values match closed forms (df = 1: Cauchy; df = 2)', () => {
  for (const t of [0.3, 1, 2.5, 12]) {
    assert.ok(Math.abs(studentTTwoSided(t, 1) - (1 - (2 / Math.PI) * Math.atan(t))) < 1e-12, `df 1, t ${t}`);
    assert.ok(Math.abs(studentTTwoSided(t, 2) - (1 - t / Math.sqrt(t * t + 2))) < 1e-12, `df 2, t ${t}`);
  }
  // Large df approaches the normal: t = 1.959964 -> p = 0.05.
  assert.ok(Math.abs(studentTTwoSided(1.959964, 1e7) - 0.05) < 1e-5);
});

test('Pearson and Spearman: r, rho and p on small known cases', () => {
  // n = 4 (df 2): p = 1 - |t| / sqrt(t² + 2) with t = r sqrt(2 / (1 - r²)).
  const x = [1, 2, 3, 4];
  const y = [2, 1, 4, 3];
  const p = pearson(x, y);
  assert.ok(Math.abs(p.r - 0.6) < 1e-12);
  const t = 0.6 * Math.sqrt(2 / (1 - 0.36));
  assert.ok(Math.abs(p.p - (1 - t / Math.sqrt(t * t + 2))) < 1e-12);
  // Spearman is Pearson on ranks, so a monotone transform does not change it.
  const s = spearman(x.map((v) => Math.exp(v)), y.map((v) => v ** 3));
  assert.ok(Math.abs(s.r - 0.6) < 1e-12);
  assert.deepEqual(ranks([10, 20, 20, 5]), [2, 3.5, 3.5, 1]);
  assert.equal(spearman([1, 2, 3, 4, 5], [5, 6, 7, 8, 100]).r, 1);
  assert.ok(Number.isNaN(pearson([1, 1, 1], [1, 2, 3]).r));
});

test('t-tests: Welch and one-sample', () => {
  const a = [1, 2, 3, 4, 5];
  const b = [3, 4, 5, 6, 7];
  const w = welchTTest(a, b);
  assert.ok(Math.abs(w.t + 2) < 1e-12); // mean diff -2, each variance 2.5/5
  assert.ok(Math.abs(w.df - 8) < 1e-12);
  const one = oneSampleTTest([1, 2, 3]);
  assert.ok(Math.abs(one.t - 2 / (1 / Math.sqrt(3))) < 1e-12);
  assert.ok(Math.abs(one.p - (1 - one.t / Math.sqrt(one.t ** 2 + 2))) < 1e-12);
});
