import assert from 'node:assert/strict';
import { test } from 'node:test';

import { generateIb12 } from '../../src/data/ib12.js';
import { activationRange, adaptiveKdeInformation, adaptiveKdeVariance, kdeInformation } from '../../src/info/kde.js';
import { activations, labels, type Activations, type Labels } from '../../src/info/types.js';
import { Rng } from '../../src/tensor/rng.js';

test('KDE bounds for T = X on the 12-bit data match the known answers (Saxe et al.\'s formulas)', () => {
  const data = generateIb12();
  const t = activations(data.inputs, data.n, data.width);
  const y = labels(data.labels, 2);
  const cases = [
    { variance: 0.1, upper: 11.883742, lower: 7.638518 },
    { variance: 1, upper: 3.792618, lower: 1.04823 },
  ];
  for (const c of cases) {
    const bounds = kdeInformation(t, y, { variance: c.variance });
    assert.ok(Math.abs(bounds.upper.ixt - c.upper) < 1e-5, `sigma^2 ${c.variance}: upper ${bounds.upper.ixt}`);
    assert.ok(Math.abs(bounds.lower.ixt - c.lower) < 1e-5, `sigma^2 ${c.variance}: lower ${bounds.lower.ixt}`);
    assert.ok(bounds.lower.ixt <= bounds.upper.ixt);
    assert.ok(bounds.upper.ity > 0 && bounds.upper.ity <= 1, `I(T;Y) ${bounds.upper.ity}`);
  }
});

/** The formulas written out directly, with an explicit distance matrix and logsumexp (the oracle). */
function naiveKde(t: Activations, y: Labels, variance: number): { upper: [number, number]; lower: [number, number] } {
  const { n, width: d, data } = t;
  const dist = (i: number, j: number): number => {
    let s = 0;
    for (let c = 0; c < d; c++) s += (data[i * d + c]! - data[j * d + c]!) ** 2;
    return s;
  };
  const entropyKl = (rows: number[], v: number): number => {
    // KL upper bound on the entropy of the mixture, nats (Kolchinsky & Tracey eq. as in Saxe et al.'s kde.py)
    const m = rows.length;
    let meanLog = 0;
    for (const i of rows) {
      const terms = rows.map((j) => -dist(i, j) / (2 * v));
      const max = Math.max(...terms);
      const lse = max + Math.log(terms.reduce((acc, x) => acc + Math.exp(x - max), 0));
      meanLog += lse - Math.log(m) - (d / 2) * Math.log(2 * Math.PI * v);
    }
    return d / 2 - meanLog / m;
  };
  const entropyBd = (rows: number[], v: number): number => entropyKl(rows, 4 * v) + (Math.log(0.25) * d) / 2;
  const all = Array.from({ length: n }, (_, i) => i);
  const byClass = Array.from({ length: y.numClasses }, (_, c) => all.filter((i) => y.values[i] === c));
  const noise = (d / 2) * (Math.log(2 * Math.PI * variance) + 1);
  const result = (h: (rows: number[], v: number) => number): [number, number] => {
    const ht = h(all, variance);
    let cond = 0;
    for (const rows of byClass) if (rows.length) cond += (rows.length / n) * h(rows, variance);
    return [(ht - noise) / Math.LN2, (ht - cond) / Math.LN2];
  };
  return { upper: result(entropyKl), lower: result(entropyBd) };
}

function randomLayer(n: number, width: number, seed: number, scale = 1): Activations {
  const rng = new Rng(seed);
  return activations(Float64Array.from({ length: n * width }, () => scale * Math.tanh(rng.normal())), n, width);
}

test('the fused KDE sums agree with the naive formulas on random layers', () => {
  const rng = new Rng(3);
  for (const [n, width, classes] of [[60, 3, 2], [45, 1, 3], [30, 5, 4]] as const) {
    const t = randomLayer(n, width, n + width);
    const y = labels(Int32Array.from({ length: n }, () => rng.int(classes)), classes);
    for (const variance of [0.05, 0.3]) {
      const fast = kdeInformation(t, y, { variance });
      const slow = naiveKde(t, y, variance);
      assert.ok(Math.abs(fast.upper.ixt - slow.upper[0]) < 1e-10);
      assert.ok(Math.abs(fast.upper.ity - slow.upper[1]) < 1e-10);
      assert.ok(Math.abs(fast.lower.ixt - slow.lower[0]) < 1e-10);
      assert.ok(Math.abs(fast.lower.ity - slow.lower[1]) < 1e-10);
    }
  }
});

test('aKDE: the variance follows the range rule, and rescaling a layer leaves the estimate unchanged', () => {
  const t = randomLayer(300, 4, 9);
  const y = labels(Int32Array.from({ length: 300 }, (_, i) => (t.data[i * 4]! > 0 ? 1 : 0)), 2);
  const range = activationRange(t, 'max-abs');
  assert.ok(Math.abs(adaptiveKdeVariance(t) - 0.1 * range * range) < 1e-15);
  assert.ok(Math.abs(adaptiveKdeVariance(t, { scale: 0.5, range: 'max-minus-min' }) - 0.5 * activationRange(t, 'max-minus-min') ** 2) < 1e-15);
  const base = adaptiveKdeInformation(t, y);
  for (const c of [0.01, 7, 300]) {
    const scaled = activations(t.data.map((v) => c * v), t.n, t.width);
    const estimate = adaptiveKdeInformation(scaled, y);
    assert.ok(Math.abs(estimate.upper.ixt - base.upper.ixt) < 1e-9, `scale ${c}: ${estimate.upper.ixt} vs ${base.upper.ixt}`);
    assert.ok(Math.abs(estimate.upper.ity - base.upper.ity) < 1e-9);
    assert.ok(Math.abs(estimate.lower.ixt - base.lower.ixt) < 1e-9);
    // A fixed variance is not scale-free: the same layer shrunk 100x looks almost noiseless-free of information.
  }
  const fixedBig = kdeInformation(t, y, { variance: 0.1 });
  const fixedSmall = kdeInformation(activations(t.data.map((v) => 0.01 * v), t.n, t.width), y, { variance: 0.1 });
  assert.ok(fixedSmall.upper.ixt < 0.01 * fixedBig.upper.ixt, `fixed-variance KDE of a shrunk layer: ${fixedSmall.upper.ixt}`);
});

test('KDE: labels independent of the layer give I(T;Y) ~ 0; I(X;T) grows as the noise shrinks, up to log2 N', () => {
  const n = 4096;
  const t = randomLayer(n, 3, 21);
  const rng = new Rng(5);
  const y = labels(Int32Array.from({ length: n }, () => rng.int(2)), 2);
  const b = kdeInformation(t, y, { variance: 0.1 });
  assert.ok(Math.abs(b.upper.ity) < 0.02 && Math.abs(b.lower.ity) < 0.02, `I(T;Y) upper ${b.upper.ity} lower ${b.lower.ity}`);
  let previous = 0;
  for (const variance of [1, 0.1, 0.01, 1e-4, 1e-8]) {
    const ixt = kdeInformation(t, y, { variance }).upper.ixt;
    assert.ok(ixt > previous && ixt <= Math.log2(n) + 1e-9, `variance ${variance}: ${ixt}`);
    previous = ixt;
  }
  assert.ok(Math.abs(previous - Math.log2(n)) < 1e-6);
});

test('KDE rejects a non-positive variance and mismatched labels', () => {
  const t = randomLayer(10, 2, 1);
  const y = labels(new Int32Array(10), 1);
  assert.throws(() => kdeInformation(t, y, { variance: 0 }), /variance must be a positive number/);
  assert.throws(() => kdeInformation(t, labels(new Int32Array(9), 1), { variance: 1 }), /9 labels for 10 activation rows/);
});
