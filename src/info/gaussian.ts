// Bivariate Gaussians with known mutual information, for checking the estimators (tests and the
// known-answer record of `thrifty bench infoplane-known-answers`): samples, the true MI, and the exact
// MI of the discretised pair for given bin thresholds (so a binning estimator's bias can be measured).

import { Rng } from '../tensor/rng.js';

/** I(X;Y) in bits of a bivariate normal with correlation rho. */
export function gaussianMutualInformation(rho: number): number {
  return -0.5 * Math.log2(1 - rho * rho);
}

/** N pairs (x, y) with unit variances and correlation rho. */
export function sampleBivariate(n: number, rho: number, seed: number): { x: Float64Array; y: Float64Array } {
  const rng = new Rng(seed);
  const x = new Float64Array(n);
  const y = new Float64Array(n);
  const s = Math.sqrt(1 - rho * rho);
  for (let i = 0; i < n; i++) {
    const a = rng.normal();
    const b = rng.normal();
    x[i] = a;
    y[i] = rho * a + s * b;
  }
  return { x, y };
}

/**
 * N pairs whose sample means are 0 and sample covariance is exactly [[1, rho], [rho, 1]]: the
 * sampling noise of the correlation itself (sd ~0.02 bits of MI at N = 4096) is removed, so what
 * is left of an estimator's error is its own bias and variance.
 */
export function sampleBivariateMomentMatched(n: number, rho: number, seed: number): { x: Float64Array; y: Float64Array } {
  const rng = new Rng(seed);
  const a = Float64Array.from({ length: n }, () => rng.normal());
  const b = Float64Array.from({ length: n }, () => rng.normal());
  const center = (v: Float64Array): void => {
    const m = v.reduce((s, x) => s + x, 0) / n;
    for (let i = 0; i < n; i++) v[i]! -= m;
  };
  const dot = (u: Float64Array, v: Float64Array): number => u.reduce((s, x, i) => s + x * v[i]!, 0) / n;
  center(a);
  center(b);
  const sa = Math.sqrt(dot(a, a));
  for (let i = 0; i < n; i++) a[i]! /= sa;
  const p = dot(a, b);
  for (let i = 0; i < n; i++) b[i]! -= p * a[i]!;
  const sb = Math.sqrt(dot(b, b));
  const s = Math.sqrt(1 - rho * rho);
  return { x: a, y: a.map((v, i) => rho * v + (s * b[i]!) / sb) };
}

/** erfc with relative error below 1.2e-7 everywhere (Numerical Recipes' Chebyshev fit). */
function erfc(x: number): number {
  const z = Math.abs(x);
  const t = 1 / (1 + 0.5 * z);
  const r =
    t *
    Math.exp(
      -z * z -
        1.26551223 +
        t * (1.00002368 + t * (0.37409196 + t * (0.09678418 + t * (-0.18628806 + t * (0.27886807 + t * (-1.13520398 + t * (1.48851587 + t * (-0.82215223 + t * 0.17087277)))))))),
    );
  return x >= 0 ? r : 2 - r;
}

export function normalCdf(x: number): number {
  if (x === Infinity) return 1;
  if (x === -Infinity) return 0;
  return 0.5 * erfc(-x / Math.SQRT2);
}

// 8-point Gauss-Legendre nodes and weights on [-1, 1].
const GL_NODES = [-0.9602898564975363, -0.7966664774136267, -0.5255324099163290, -0.1834346424956498, 0.1834346424956498, 0.5255324099163290, 0.7966664774136267, 0.9602898564975363];
const GL_WEIGHTS = [0.1012285362903763, 0.2223810344533745, 0.3137066458778873, 0.3626837833783620, 0.3626837833783620, 0.3137066458778873, 0.2223810344533745, 0.1012285362903763];

/**
 * Exact I(bx; by) in bits for the standard bivariate normal with correlation rho, where bx is the
 * bin of x among thresholds tx (ascending, bins (-inf, tx0), [tx0, tx1), ..., [tx_last, inf)) and
 * likewise for y: P(bin a, bin b) = ∫ φ(x) [Φ((d - ρx)/s) - Φ((c - ρx)/s)] dx by composite quadrature.
 */
export function discretisedGaussianInformation(rho: number, tx: readonly number[], ty: readonly number[]): number {
  const s = Math.sqrt(1 - rho * rho);
  const xEdges = [-8, ...tx.map((v) => Math.min(8, Math.max(-8, v))), 8];
  const yEdges = [-Infinity, ...ty, Infinity];
  const nx = xEdges.length - 1;
  const ny = yEdges.length - 1;
  const joint = new Float64Array(nx * ny);
  const step = Math.min(0.02, s / 4);
  for (let a = 0; a < nx; a++) {
    const lo = xEdges[a]!;
    const hi = xEdges[a + 1]!;
    if (!(hi > lo)) continue;
    const pieces = Math.max(1, Math.ceil((hi - lo) / step));
    const h = (hi - lo) / pieces;
    for (let p = 0; p < pieces; p++) {
      const mid = lo + (p + 0.5) * h;
      for (let q = 0; q < GL_NODES.length; q++) {
        const x = mid + 0.5 * h * GL_NODES[q]!;
        const w = 0.5 * h * GL_WEIGHTS[q]! * (Math.exp(-0.5 * x * x) / Math.sqrt(2 * Math.PI));
        let previous = 0;
        for (let b = 0; b < ny; b++) {
          const upper = b === ny - 1 ? 1 : normalCdf((yEdges[b + 1]! - rho * x) / s);
          joint[a * ny + b]! += w * (upper - previous);
          previous = upper;
        }
      }
    }
  }
  let total = 0;
  for (let i = 0; i < joint.length; i++) total += joint[i]!;
  const px = new Float64Array(nx);
  const py = new Float64Array(ny);
  for (let a = 0; a < nx; a++) for (let b = 0; b < ny; b++) {
    const p = joint[a * ny + b]! / total;
    joint[a * ny + b] = p;
    px[a]! += p;
    py[b]! += p;
  }
  let mi = 0;
  for (let a = 0; a < nx; a++) for (let b = 0; b < ny; b++) {
    const p = joint[a * ny + b]!;
    if (p > 1e-300) mi += p * Math.log2(p / (px[a]! * py[b]!));
  }
  return mi;
}
