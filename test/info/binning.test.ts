import assert from 'node:assert/strict';
import { test } from 'node:test';

import { generateIb12 } from '../../src/data/ib12.js';
import {
  ebabBins,
  ebabInformation,
  equalWidthBins,
  fixedBinningInformation,
  radixSortFloat32,
  saxeBins,
  saxeBinningInformation,
  type BinnedValues,
} from '../../src/info/binning.js';
import { rowIds } from '../../src/info/codes.js';
import { millerMadowInformationBias, mutualInformationOfIds, occupiedCount } from '../../src/info/entropy.js';
import { activations, labels } from '../../src/info/types.js';
import { Rng } from '../../src/tensor/rng.js';
import { discretisedGaussianInformation, gaussianMutualInformation, sampleBivariate } from '../../src/info/gaussian.js';

const H_Y_IB12 = 0.999157; // entropy of 2118 ones in 4096, bits

test('T = X on the 12-bit data: every binning estimator gives I(X;T) = 12 and I(T;Y) = H(Y)', () => {
  const data = generateIb12();
  const t = activations(data.inputs, data.n, data.width);
  const y = labels(data.labels, 2);
  for (const [name, estimate] of [
    ['fixed', fixedBinningInformation(t, y)],
    ['saxe', saxeBinningInformation(t, y)],
    ['ebab', ebabInformation(t, y)],
  ] as const) {
    assert.ok(Math.abs(estimate.ixt - 12) < 1e-6, `${name}: I(X;T) = ${estimate.ixt}`);
    assert.ok(Math.abs(estimate.ity - H_Y_IB12) < 1e-6, `${name}: I(T;Y) = ${estimate.ity}`);
  }
});

test('a constant layer carries no information; a layer copying Y carries I(T;Y) = I(X;T) = H(Y)', () => {
  const data = generateIb12();
  const y = labels(data.labels, 2);
  const constant = activations(new Float32Array(data.n * 3).fill(0.25), data.n, 3);
  const copy = activations(Float32Array.from(data.labels, (v) => (v ? 0.9 : -0.3)), data.n, 1);
  for (const estimate of [ebabInformation, fixedBinningInformation, saxeBinningInformation]) {
    const c = estimate(constant, y);
    assert.equal(c.ixt, 0);
    assert.equal(c.ity, 0);
    const k = estimate(copy, y);
    assert.ok(Math.abs(k.ixt - H_Y_IB12) < 1e-6 && Math.abs(k.ity - H_Y_IB12) < 1e-6, `${estimate.name}: ${JSON.stringify(k)}`);
  }
});

test('equal-width bins: half-open bins, the top value in the last bin, outliers clamped', () => {
  const b = equalWidthBins(Float64Array.from([-1, -0.95, -0.5, 0, 0.999, 1, 7, -3]), 4, -1, 1);
  assert.deepEqual(Array.from(b.codes), [0, 0, 1, 2, 3, 3, 3, 0]);
  assert.deepEqual(Array.from(b.edges), [-1, -0.5, 0, 0.5, 1]);
  const s = saxeBins(Float64Array.from([0, 1, 2, 3, 4]), 4);
  assert.deepEqual(Array.from(s.codes), [0, 1, 2, 3, 3]);
});

test('EBAB: zeros get their own bin, the distinct positive values are split at equal ranks', () => {
  // Distinct positives 1..8 (with repeats), B = 4: inner edges U[0], U[2], U[4], U[6] = 1, 3, 5, 7.
  const values = Float64Array.from([0, 0, 0, 1, 2, 2, 3, 4, 5, 6, 7, 8, 8, 8]);
  const b = ebabBins(values, { numBins: 4 });
  assert.deepEqual(Array.from(b.codes), [0, 0, 0, 1, 1, 1, 2, 2, 3, 3, 4, 4, 4, 4]);
  assert.deepEqual(Array.from(b.edges), [0, 1, 3, 5, 7, 8]);
  // With negative values there is no lower bin: the minimum starts bin 1 and ranks are over all values.
  const signed = ebabBins(Float64Array.from([-2, -1, 0, 1]), { numBins: 2 });
  assert.deepEqual(Array.from(signed.codes), [1, 1, 2, 2]);
  // Repeats do not shift the edges: only distinct values count (the point of EBAB for saturated units).
  const skewed = ebabBins(Float64Array.from([...new Array<number>(100).fill(0.5), 0.1, 0.2, 0.3, 0.4]), { numBins: 2 });
  assert.deepEqual(Array.from(skewed.edges), [0, 0.1, 0.3, 0.5]);
});

test('EBAB gives each bin the same number of distinct values whatever their scale', () => {
  const n = 3000;
  const raw = new Float64Array(n);
  for (let i = 0; i < n; i++) raw[i] = Math.exp((i * 37) % n / 300); // heavy-tailed, all distinct
  const a = ebabBins(raw, { numBins: 30 });
  const scaled = ebabBins(raw.map((v) => 1000 * v), { numBins: 30 });
  assert.deepEqual(Array.from(a.codes), Array.from(scaled.codes));
  const perBin = new Array<number>(31).fill(0);
  for (const c of a.codes) perBin[c]!++;
  assert.equal(perBin[0], 0);
  for (let k = 1; k <= 30; k++) assert.equal(perBin[k], 100, `bin ${k}`);
});

/** Thresholds between the bins of a 1-D binning, in data coordinates (to = from data to standard normal). */
function thresholds(b: BinnedValues, kind: 'equal' | 'ebab', toStandard: (v: number) => number): number[] {
  const e = Array.from(b.edges);
  // equal width: interior edges; EBAB: the inner edges (bin 0 lies below the minimum and stays empty).
  const inner = kind === 'equal' ? e.slice(1, -1) : e.slice(1, -1);
  return inner.map(toStandard);
}

for (const rho of [0.5, 0.9, 0.99]) {
  test(`binning estimators on a bivariate Gaussian, rho = ${rho}: bias = Miller-Madow prediction within 0.05 bits`, () => {
    const n = 4096;
    const replicates = 6;
    const binners: Array<{ name: string; bin: (v: Float64Array) => BinnedValues; kind: 'equal' | 'ebab'; shift: number; scale: number }> = [
      // Data mapped into each binning's natural range (MI is invariant to the map).
      { name: 'fixed [-1, 1]', bin: (v) => equalWidthBins(v, 30, -1, 1), kind: 'equal', shift: 0, scale: 1 / 3 },
      { name: 'saxe [0, max]', bin: (v) => saxeBins(v, 30), kind: 'equal', shift: 4, scale: 1 },
      { name: 'ebab', bin: (v) => ebabBins(v, { numBins: 30 }), kind: 'ebab', shift: 0, scale: 1 },
    ];
    for (const binner of binners) {
      let measuredBias = 0;
      let predictedBias = 0;
      let estimateMean = 0;
      for (let r = 0; r < replicates; r++) {
        const { x, y } = sampleBivariate(n, rho, 1000 * r + Math.round(rho * 100));
        const map = (v: Float64Array): Float64Array => v.map((value) => (value + binner.shift) * binner.scale);
        const bx = binner.bin(map(x));
        const by = binner.bin(map(y));
        const ix = rowIds(bx.codes, n, 1);
        const iy = rowIds(by.codes, n, 1);
        const estimate = mutualInformationOfIds(ix.ids, ix.count, iy.ids, iy.count);
        const toStandard = (v: number): number => v / binner.scale - binner.shift;
        const exact = discretisedGaussianInformation(rho, thresholds(bx, binner.kind, toStandard), thresholds(by, binner.kind, toStandard));
        const joint = rowIds(Int32Array.from({ length: 2 * n }, (_, i) => (i % 2 === 0 ? bx.codes[i >> 1]! : by.codes[i >> 1]!)), n, 2);
        measuredBias += estimate - exact;
        predictedBias += millerMadowInformationBias(occupiedCount(ix.ids, ix.count), occupiedCount(iy.ids, iy.count), joint.count, n);
        estimateMean += estimate;
      }
      measuredBias /= replicates;
      predictedBias /= replicates;
      estimateMean /= replicates;
      assert.ok(
        Math.abs(measuredBias - predictedBias) < 0.05,
        `${binner.name}: measured bias ${measuredBias.toFixed(4)} vs Miller-Madow ${predictedBias.toFixed(4)} (estimate ${estimateMean.toFixed(4)}, continuous MI ${gaussianMutualInformation(rho).toFixed(4)})`,
      );
    }
  });
}

test('independent variables: the binning estimates are ~0 up to their Miller-Madow bias', () => {
  const n = 4096;
  const { x, y } = sampleBivariate(n, 0, 77);
  for (const bin of [(v: Float64Array) => equalWidthBins(v.map((u) => u / 3), 30, -1, 1), (v: Float64Array) => ebabBins(v, { numBins: 30 })]) {
    const ix = rowIds(bin(x).codes, n, 1);
    const iy = rowIds(bin(y).codes, n, 1);
    const estimate = mutualInformationOfIds(ix.ids, ix.count, iy.ids, iy.count);
    const pair = rowIds(Int32Array.from({ length: 2 * n }, (_, i) => (i % 2 === 0 ? ix.ids[i >> 1]! : iy.ids[i >> 1]!)), n, 2);
    const bias = millerMadowInformationBias(occupiedCount(ix.ids, ix.count), occupiedCount(iy.ids, iy.count), pair.count, n);
    assert.ok(Math.abs(estimate - bias) < 0.05, `estimate ${estimate} vs bias ${bias}`);
  }
  // Labels independent of the layer: I(T;Y) is the small positive bias only.
  const data = generateIb12();
  const shuffled = Int32Array.from({ length: data.n }, (_, i) => (i * 2654435761) % 7 < 3 ? 1 : 0);
  const estimate = ebabInformation(activations(Float64Array.from(x.subarray(0, data.n)), data.n, 1), labels(shuffled, 2));
  assert.ok(estimate.ity >= 0 && estimate.ity < 0.02, `I(T;Y) = ${estimate.ity}`);
});

test('EBAB agrees with the plain implementation of the benchmark (string keys, Set of distinct values)', async () => {
  const { plainEbab } = await import('../../src/bench/infoplane.js');
  const rng = new Rng(4);
  // Saturating, rectified and quantised layers: many repeated values and zeros.
  const layers = [
    Float32Array.from({ length: 600 * 5 }, () => Math.tanh(4 * rng.normal())),
    Float32Array.from({ length: 600 * 4 }, () => Math.max(0, rng.normal())),
    Float32Array.from({ length: 600 * 3 }, () => Math.round(5 * rng.normal()) / 5),
  ];
  const y = labels(Int32Array.from({ length: 600 }, () => rng.int(3)), 3);
  for (const data of layers) {
    const t = activations(data, 600, data.length / 600);
    for (const numBins of [4, 30]) {
      const fast = ebabInformation(t, y, { numBins });
      const plain = plainEbab(t, y, numBins);
      assert.ok(Math.abs(fast.ixt - plain.ixt) < 1e-12 && Math.abs(fast.ity - plain.ity) < 1e-12, `${JSON.stringify(fast)} vs ${JSON.stringify(plain)}`);
    }
  }
});

test('the radix sort of float32 values equals TypedArray sort, signed zeros, infinities and subnormals included', () => {
  const rng = new Rng(9);
  const special = [0, -0, Infinity, -Infinity, 1e-45, -1e-45, 3.4e38, -3.4e38, 1, -1];
  const values = Float32Array.from({ length: 5000 }, (_, i) => (i < special.length ? special[i]! : rng.normal() * 10 ** rng.int(6)));
  const expected = values.slice().sort();
  const sorted = radixSortFloat32(values);
  assert.deepEqual(Array.from(sorted).map((v) => Object.is(v, -0) ? '-0' : v), Array.from(expected).map((v) => Object.is(v, -0) ? '-0' : v));
  assert.ok(Number.isNaN(radixSortFloat32(Float32Array.from([1, NaN, -2]))[2]!));
});
