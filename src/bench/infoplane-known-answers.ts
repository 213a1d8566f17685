// The estimators' known-answer cases, computed (not typed): T = X on the 12-bit data for the binning
// estimators and the KDE bounds, KSG on bivariate Gaussians of known MI, the plug-in binning bias
// against Miller-Madow's prediction on the same Gaussians, and independent variables. Each line gives
// the expected value, the tolerance the tests use and what the estimator measured, so docs/infoplane.md
// draws its known-answer tables from the record `npm run bench:record -- infoplane-known-answers` writes.
// Run: `npx thrifty bench infoplane-known-answers [--json]`.

import { generateIb12 } from '../data/ib12.js';
import { ebabBins, ebabInformation, equalWidthBins, fixedBinningInformation, saxeBins, saxeBinningInformation, type BinnedValues } from '../info/binning.js';
import { rowIds } from '../info/codes.js';
import { millerMadowInformationBias, mutualInformationOfIds, occupiedCount } from '../info/entropy.js';
import { discretisedGaussianInformation, gaussianMutualInformation, sampleBivariate, sampleBivariateMomentMatched } from '../info/gaussian.js';
import { kdeInformation } from '../info/kde.js';
import { ksgDiscreteMutualInformation, ksgMutualInformation } from '../info/ksg.js';
import { activations, labels } from '../info/types.js';
import { Rng } from '../tensor/rng.js';

/** I(X;T) = I(X;X) = 12 bits and I(T;Y) = H(Y) for a binning estimator on the 12-bit inputs. */
export interface IdentityBinningCase {
  readonly kind: 'identity-binning';
  readonly estimator: 'fixed' | 'saxe' | 'ebab';
  readonly ixt: number;
  readonly ity: number;
  readonly expectedIxt: number;
  readonly expectedIty: number;
  readonly tolerance: number;
}

/** The KDE bounds of I(X;T) for T = X at a fixed variance, against reference values. */
export interface IdentityKdeCase {
  readonly kind: 'identity-kde';
  readonly variance: number;
  readonly upper: number;
  readonly lower: number;
  readonly expectedUpper: number;
  readonly expectedLower: number;
  readonly tolerance: number;
}

/** KSG (k = 3) on moment-matched bivariate Gaussians: the mean over `seeds`, against the closed form. */
export interface KsgGaussianCase {
  readonly kind: 'ksg-gaussian';
  readonly rho: number;
  readonly n: number;
  readonly truth: number;
  readonly mean: number;
  readonly seeds: readonly number[];
  readonly tolerance: number;
}

/** KSG's bias (mean - truth) and its spread over many samples, moment-matched or raw. */
export interface KsgBiasCase {
  readonly kind: 'ksg-bias';
  readonly rho: number;
  readonly n: number;
  readonly sampling: 'moment-matched' | 'raw';
  readonly samples: number;
  readonly bias: number;
  readonly sd: number;
}

/** A binning estimator on a bivariate Gaussian: its estimate, the exact MI of the discretised pair, and Miller-Madow's bias. */
export interface BinningBiasCase {
  readonly kind: 'binning-bias';
  readonly rho: number;
  readonly binning: 'fixed' | 'saxe' | 'ebab';
  readonly samples: number;
  readonly estimate: number;
  readonly exact: number;
  readonly bias: number;
  readonly millerMadow: number;
  readonly tolerance: number;
}

/** An estimator on independent variables (expected: 0, or the estimator's own bias). */
export interface IndependentCase {
  readonly kind: 'independent';
  readonly estimator: 'fixed' | 'saxe' | 'ebab' | 'ksg' | 'ross' | 'kde';
  readonly estimate: number;
  /** What the estimate should be: 0, or the Miller-Madow bias of a binning. */
  readonly expected: number;
  readonly tolerance: number;
  readonly detail: string;
}

export type KnownAnswerCase = IdentityBinningCase | IdentityKdeCase | KsgGaussianCase | KsgBiasCase | BinningBiasCase | IndependentCase;

/** The reference KDE bounds for T = X on the 12-bit inputs that test/info/kde.test.ts checks (Saxe et al.'s formulas). */
const KDE_REFERENCE = [
  { variance: 0.1, upper: 11.883742, lower: 7.638518 },
  { variance: 1, upper: 3.792618, lower: 1.04823 },
] as const;

const RHOS = [0.5, 0.9, 0.99] as const;
const N = 4096;

function meanAndSd(values: readonly number[]): { mean: number; sd: number } {
  const mean = values.reduce((a, b) => a + b, 0) / values.length;
  const variance = values.reduce((a, b) => a + (b - mean) ** 2, 0) / Math.max(1, values.length - 1);
  return { mean, sd: Math.sqrt(variance) };
}

export function identityCases(): Array<IdentityBinningCase | IdentityKdeCase> {
  const data = generateIb12();
  const t = activations(data.inputs, data.n, data.width);
  const y = labels(data.labels, 2);
  const ones = data.labels.reduce((a, b) => a + b, 0) / data.n;
  const hy = -(ones * Math.log2(ones) + (1 - ones) * Math.log2(1 - ones));
  const cases: Array<IdentityBinningCase | IdentityKdeCase> = [];
  for (const [estimator, estimate] of [['fixed', fixedBinningInformation], ['saxe', saxeBinningInformation], ['ebab', ebabInformation]] as const) {
    const { ixt, ity } = estimate(t, y);
    cases.push({ kind: 'identity-binning', estimator, ixt, ity, expectedIxt: data.width, expectedIty: hy, tolerance: 1e-6 });
  }
  for (const reference of KDE_REFERENCE) {
    const bounds = kdeInformation(t, y, { variance: reference.variance });
    cases.push({
      kind: 'identity-kde', variance: reference.variance, upper: bounds.upper.ixt, lower: bounds.lower.ixt,
      expectedUpper: reference.upper, expectedLower: reference.lower, tolerance: 1e-5,
    });
  }
  return cases;
}

function ksg1d(x: Float64Array, y: Float64Array): number {
  return ksgMutualInformation(activations(x, x.length, 1), activations(y, y.length, 1), { k: 3 });
}

/**
 * KSG on Gaussians: the mean of the first 8 moment-matched samples (seeds 40..47, as the tests), and
 * the bias and spread over `momentMatched` moment-matched (seeds 40..) and `raw` raw samples (seeds 1000..).
 */
export function ksgCases(options: { momentMatched?: number | undefined; raw?: number | undefined } = {}): Array<KsgGaussianCase | KsgBiasCase> {
  const momentMatched = options.momentMatched ?? 16;
  const raw = options.raw ?? 32;
  const cases: Array<KsgGaussianCase | KsgBiasCase> = [];
  for (const rho of RHOS) {
    const truth = gaussianMutualInformation(rho);
    const matched = Array.from({ length: Math.max(8, momentMatched) }, (_, r) => {
      const { x, y } = sampleBivariateMomentMatched(N, rho, 40 + r);
      return ksg1d(x, y);
    });
    const first = matched.slice(0, 8);
    cases.push({ kind: 'ksg-gaussian', rho, n: N, truth, mean: first.reduce((a, b) => a + b, 0) / first.length, seeds: first.map((_, r) => 40 + r), tolerance: 0.03 });
    const m = meanAndSd(matched.slice(0, momentMatched).map((v) => v - truth));
    cases.push({ kind: 'ksg-bias', rho, n: N, sampling: 'moment-matched', samples: momentMatched, bias: m.mean, sd: m.sd });
    if (raw > 0) {
      const r = meanAndSd(Array.from({ length: raw }, (_, i) => {
        const { x, y } = sampleBivariate(N, rho, 1000 + i);
        return ksg1d(x, y) - truth;
      }));
      cases.push({ kind: 'ksg-bias', rho, n: N, sampling: 'raw', samples: raw, bias: r.mean, sd: r.sd });
    }
  }
  return cases;
}

interface Binner {
  readonly name: 'fixed' | 'saxe' | 'ebab';
  bin(values: Float64Array): BinnedValues;
  /** Data are mapped into each binning's natural range as (v + shift) * scale (MI is invariant to the map). */
  readonly shift: number;
  readonly scale: number;
}

const BINNERS: readonly Binner[] = [
  { name: 'fixed', bin: (v) => equalWidthBins(v, 30, -1, 1), shift: 0, scale: 1 / 3 },
  { name: 'saxe', bin: (v) => saxeBins(v, 30), shift: 4, scale: 1 },
  { name: 'ebab', bin: (v) => ebabBins(v, { numBins: 30 }), shift: 0, scale: 1 },
];

/**
 * Each binning on bivariate Gaussians (N = 4096, 30 bins, `samples` samples at seeds 1000 r + 100 rho):
 * the mean estimate, the exact MI of the pair discretised at the very edges the estimator chose, and
 * the mean Miller-Madow bias ((m_XY - 1) - (m_X - 1) - (m_Y - 1)) / (2N ln 2).
 */
export function binningBiasCases(options: { samples?: number; rhos?: readonly number[] } = {}): BinningBiasCase[] {
  const samples = options.samples ?? 6;
  const cases: BinningBiasCase[] = [];
  for (const rho of options.rhos ?? RHOS) {
    for (const binner of BINNERS) {
      let estimate = 0;
      let exact = 0;
      let millerMadow = 0;
      for (let r = 0; r < samples; r++) {
        const { x, y } = sampleBivariate(N, rho, 1000 * r + Math.round(rho * 100));
        const map = (v: Float64Array): Float64Array => v.map((value) => (value + binner.shift) * binner.scale);
        const bx = binner.bin(map(x));
        const by = binner.bin(map(y));
        const ix = rowIds(bx.codes, N, 1);
        const iy = rowIds(by.codes, N, 1);
        // The inner edges, back in the Gaussian's coordinates (the outer ones are the data's range).
        const thresholds = (b: BinnedValues): number[] => Array.from(b.edges).slice(1, -1).map((v) => v / binner.scale - binner.shift);
        const joint = rowIds(Int32Array.from({ length: 2 * N }, (_, i) => (i % 2 === 0 ? bx.codes[i >> 1]! : by.codes[i >> 1]!)), N, 2);
        estimate += mutualInformationOfIds(ix.ids, ix.count, iy.ids, iy.count) / samples;
        exact += discretisedGaussianInformation(rho, thresholds(bx), thresholds(by)) / samples;
        millerMadow += millerMadowInformationBias(occupiedCount(ix.ids, ix.count), occupiedCount(iy.ids, iy.count), joint.count, N) / samples;
      }
      cases.push({ kind: 'binning-bias', rho, binning: binner.name, samples, estimate, exact, bias: estimate - exact, millerMadow, tolerance: 0.05 });
    }
  }
  return cases;
}

/** Independent variables, on the tests' samples: binning against its Miller-Madow bias, KSG, Ross and KDE against 0. */
export function independentCases(): IndependentCase[] {
  const cases: IndependentCase[] = [];
  const { x, y } = sampleBivariate(N, 0, 77);
  for (const binner of [BINNERS[0]!, BINNERS[2]!]) {
    const map = (v: Float64Array): Float64Array => v.map((value) => (value + binner.shift) * binner.scale);
    const ix = rowIds(binner.bin(map(x)).codes, N, 1);
    const iy = rowIds(binner.bin(map(y)).codes, N, 1);
    const pair = rowIds(Int32Array.from({ length: 2 * N }, (_, i) => (i % 2 === 0 ? ix.ids[i >> 1]! : iy.ids[i >> 1]!)), N, 2);
    const bias = millerMadowInformationBias(occupiedCount(ix.ids, ix.count), occupiedCount(iy.ids, iy.count), pair.count, N);
    cases.push({ kind: 'independent', estimator: binner.name, estimate: mutualInformationOfIds(ix.ids, ix.count, iy.ids, iy.count), expected: bias, tolerance: 0.05, detail: 'two independent Gaussians, N 4096, 30 bins' });
  }
  const ksgSample = sampleBivariate(N, 0, 12);
  cases.push({ kind: 'independent', estimator: 'ksg', estimate: ksg1d(ksgSample.x, ksgSample.y), expected: 0, tolerance: 0.01, detail: 'two independent Gaussians, N 4096, k 3' });

  // Ross: labels shuffled against a Gaussian, mean of 4 samples at N = 2000 (the stream of the test).
  const n = 2000;
  const rng = new Rng(8);
  const classes = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    classes[i] = i % 4 === 0 ? 1 : 0;
    rng.normal();
  }
  let ross = 0;
  for (let r = 0; r < 4; r++) {
    const noise = Float64Array.from({ length: n }, () => rng.normal());
    const shuffled = Int32Array.from(rng.permutation(n), (j) => classes[j]!);
    ross += ksgDiscreteMutualInformation(activations(noise, n, 1), labels(shuffled, 2)) / 4;
  }
  cases.push({ kind: 'independent', estimator: 'ross', estimate: ross, expected: 0, tolerance: 0.015, detail: 'shuffled labels, p(1) = 1/4, N 2000, mean of 4 samples' });

  const layerRng = new Rng(21);
  const layer = activations(Float64Array.from({ length: N * 3 }, () => Math.tanh(layerRng.normal())), N, 3);
  const labelRng = new Rng(5);
  const coin = labels(Int32Array.from({ length: N }, () => labelRng.int(2)), 2);
  const kde = kdeInformation(layer, coin, { variance: 0.1 });
  const worst = Math.abs(kde.upper.ity) > Math.abs(kde.lower.ity) ? kde.upper.ity : kde.lower.ity;
  cases.push({ kind: 'independent', estimator: 'kde', estimate: worst, expected: 0, tolerance: 0.02, detail: 'I(T;Y), tanh layer N 4096 x 3, coin-flip labels, σ² 0.1, the larger bound' });
  return cases;
}

export interface KnownAnswerOptions {
  /** Moment-matched KSG samples for the bias line (default 16; the tests' 8 are the first of them). */
  readonly ksgMomentMatched?: number;
  /** Raw KSG samples for the bias line (default 32). */
  readonly ksgRaw?: number;
}

export function runInfoplaneKnownAnswers(options: KnownAnswerOptions = {}): KnownAnswerCase[] {
  return [
    ...identityCases(),
    ...ksgCases({ momentMatched: options.ksgMomentMatched, raw: options.ksgRaw }),
    ...binningBiasCases(),
    ...independentCases(),
  ];
}

/** Whether a case is within its tolerance (the bias lines, which have none, always are). */
export function withinTolerance(c: KnownAnswerCase): boolean {
  switch (c.kind) {
    case 'identity-binning':
      return Math.abs(c.ixt - c.expectedIxt) < c.tolerance && Math.abs(c.ity - c.expectedIty) < c.tolerance;
    case 'identity-kde':
      return Math.abs(c.upper - c.expectedUpper) < c.tolerance && Math.abs(c.lower - c.expectedLower) < c.tolerance;
    case 'ksg-gaussian':
      return Math.abs(c.mean - c.truth) < c.tolerance;
    case 'ksg-bias':
      return true;
    case 'binning-bias':
      return Math.abs(c.bias - c.millerMadow) < c.tolerance;
    case 'independent':
      return Math.abs(c.estimate - c.expected) < c.tolerance;
  }
}

function describe(c: KnownAnswerCase): [string, string, string] {
  const f = (v: number, d = 6): string => v.toFixed(d);
  switch (c.kind) {
    case 'identity-binning':
      return [`T = X, ${c.estimator} binning`, `I(X;T) ${f(c.expectedIxt)}, I(T;Y) ${f(c.expectedIty)}`, `${f(c.ixt)}, ${f(c.ity)}`];
    case 'identity-kde':
      return [`T = X, KDE σ² = ${c.variance}`, `upper ${f(c.expectedUpper)}, lower ${f(c.expectedLower)}`, `${f(c.upper)}, ${f(c.lower)}`];
    case 'ksg-gaussian':
      return [`KSG k 3, ρ ${c.rho}, mean of ${c.seeds.length}`, f(c.truth, 4), f(c.mean, 4)];
    case 'ksg-bias':
      return [`KSG bias, ρ ${c.rho}, ${c.samples} ${c.sampling}`, '0', `${f(c.bias, 4)} (sd ${f(c.sd, 4)})`];
    case 'binning-bias':
      return [`${c.binning} binning bias, ρ ${c.rho}`, `Miller-Madow ${f(c.millerMadow, 4)}`, `${f(c.bias, 4)} (estimate ${f(c.estimate, 4)}, exact ${f(c.exact, 4)})`];
    case 'independent':
      return [`independent, ${c.estimator}`, f(c.expected, 4), f(c.estimate, 4)];
  }
}

export function formatKnownAnswerTable(cases: readonly KnownAnswerCase[]): string {
  const header = ['case', 'expected', 'measured', 'within tolerance'];
  const body = cases.map((c) => [...describe(c), withinTolerance(c) ? 'yes' : 'no']);
  const widths = header.map((h, i) => Math.max(h.length, ...body.map((row) => row[i]!.length)));
  const line = (cells: readonly string[]): string => cells.map((cell, i) => cell.padEnd(widths[i]!)).join('  ').trimEnd();
  return [line(header), line(widths.map((w) => '-'.repeat(w))), ...body.map(line)].join('\n') + '\n';
}
