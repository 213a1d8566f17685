// k-nearest-neighbour estimators, an independent cross-check of the binning and KDE estimators.
//   KSG (Kraskov, Stögbauer & Grassberger 2004, estimator 1), continuous X and Y, max-norm:
//     I = ψ(k) + ψ(N) - < ψ(n_x + 1) + ψ(n_y + 1) >
//   with ε_i the distance to the k-th neighbour of (x_i, y_i) and n_x, n_y the points strictly
//   within ε_i in each marginal.
//   Ross (2014), continuous T and discrete labels Y (as scikit-learn's mutual_info_classif):
//     I = ψ(N) + < ψ(k_i) > - < ψ(N_{y_i}) > - < ψ(m_i) >
//   with the radius the distance to the k-th neighbour of the same class and m_i the points of
//   any class within it (the point itself included).
// Exact neighbour search, O(N² d): fine for the N = 4096 of the 12-bit task. Ties (ReLU zeros,
// saturated units, binary inputs) break the estimator, so, like Kraskov's reference code, tiny
// seeded noise (1e-10 of each variable's range by default) is added first.

import { Rng } from '../tensor/rng.js';
import { countIds } from './entropy.js';
import { checkLabels, LN2, type Activations, type InformationEstimate, type Labels } from './types.js';

export interface KsgOptions {
  /** Neighbours, default 3. */
  readonly k?: number;
  /** Noise amplitude relative to each column's range, default 1e-10; 0 turns it off. */
  readonly jitter?: number;
  /** Seed of the jitter noise, default 0. */
  readonly seed?: number;
}

/** ψ(m) for integers 1..max: ψ(1) = -γ, ψ(m + 1) = ψ(m) + 1/m. */
export function digammaTable(max: number): Float64Array {
  const table = new Float64Array(max + 1);
  table[0] = -Infinity;
  if (max >= 1) table[1] = -0.5772156649015329;
  for (let m = 1; m < max; m++) table[m + 1] = table[m]! + 1 / m;
  return table;
}

/** ψ(x) for real x > 0 (recurrence up to x >= 12, then the asymptotic series; error < 1e-14). */
export function digamma(x: number): number {
  if (!(x > 0)) throw new Error(`digamma: x must be positive, got ${x}`);
  let result = 0;
  while (x < 12) {
    result -= 1 / x;
    x += 1;
  }
  const inv = 1 / x;
  const inv2 = inv * inv;
  return result + Math.log(x) - 0.5 * inv - inv2 * (1 / 12 - inv2 * (1 / 120 - inv2 * (1 / 252 - inv2 * (1 / 240 - inv2 / 132))));
}

function jittered(a: Activations, jitter: number, rng: Rng): Float64Array {
  const { n, width } = a;
  const out = Float64Array.from(a.data);
  if (jitter <= 0) return out;
  for (let c = 0; c < width; c++) {
    let lo = Infinity;
    let hi = -Infinity;
    for (let i = 0; i < n; i++) {
      const v = out[i * width + c]!;
      if (v < lo) lo = v;
      if (v > hi) hi = v;
    }
    const amplitude = jitter * (hi > lo ? hi - lo : 1);
    for (let i = 0; i < n; i++) {
      const at = i * width + c;
      out[at] = out[at]! + amplitude * (rng.uniform() - 0.5);
    }
  }
  return out;
}

/** Max-norm distances from row i to every row of x [n, d]. */
function chebyshevRow(x: Float64Array, n: number, d: number, i: number, out: Float64Array): void {
  const oi = i * d;
  if (d === 1) {
    const xi = x[i]!;
    for (let j = 0; j < n; j++) out[j] = Math.abs(x[j]! - xi);
    return;
  }
  for (let j = 0; j < n; j++) {
    const oj = j * d;
    let m = 0;
    for (let c = 0; c < d; c++) {
      const diff = Math.abs(x[oi + c]! - x[oj + c]!);
      if (diff > m) m = diff;
    }
    out[j] = m;
  }
}

/** The k-th smallest of values[j] over j != skip with keep(j) (k small: an insertion list). */
function kthSmallest(values: Float64Array, n: number, k: number, skip: number, best: Float64Array, keep?: (j: number) => boolean): number {
  let filled = 0;
  for (let j = 0; j < n; j++) {
    if (j === skip || (keep && !keep(j))) continue;
    const v = values[j]!;
    if (filled < k) {
      let p = filled++;
      while (p > 0 && best[p - 1]! > v) {
        best[p] = best[p - 1]!;
        p--;
      }
      best[p] = v;
    } else if (v < best[k - 1]!) {
      let p = k - 1;
      while (p > 0 && best[p - 1]! > v) {
        best[p] = best[p - 1]!;
        p--;
      }
      best[p] = v;
    }
  }
  return filled < k ? Infinity : best[k - 1]!;
}

function checkK(k: number, n: number, what: string): void {
  if (!Number.isInteger(k) || k < 1) throw new Error(`${what}: k must be a positive integer, got ${k}`);
  if (k >= n) throw new Error(`${what}: k = ${k} needs more than ${k} samples, got ${n}`);
}

/** KSG estimator 1 of I(X;Y) in bits for continuous X [n, dx] and Y [n, dy]. */
export function ksgMutualInformation(x: Activations, y: Activations, options: KsgOptions = {}): number {
  const n = x.n;
  if (y.n !== n) throw new Error(`ksgMutualInformation: X has ${n} rows, Y has ${y.n}`);
  const k = options.k ?? 3;
  checkK(k, n, 'ksgMutualInformation');
  const rng = new Rng(options.seed ?? 0);
  const jitter = options.jitter ?? 1e-10;
  const xs = jittered(x, jitter, rng);
  const ys = jittered(y, jitter, rng);
  const dxRow = new Float64Array(n);
  const dyRow = new Float64Array(n);
  const dzRow = new Float64Array(n);
  const best = new Float64Array(k);
  const psi = digammaTable(n + 1);
  let sum = 0;
  for (let i = 0; i < n; i++) {
    chebyshevRow(xs, n, x.width, i, dxRow);
    chebyshevRow(ys, n, y.width, i, dyRow);
    for (let j = 0; j < n; j++) dzRow[j] = dxRow[j]! > dyRow[j]! ? dxRow[j]! : dyRow[j]!;
    const eps = kthSmallest(dzRow, n, k, i, best);
    let nx = 0;
    let ny = 0;
    for (let j = 0; j < n; j++) {
      if (j === i) continue;
      if (dxRow[j]! < eps) nx++;
      if (dyRow[j]! < eps) ny++;
    }
    sum += psi[nx + 1]! + psi[ny + 1]!;
  }
  return (psi[k]! + psi[n]! - sum / n) / LN2;
}

/** Ross's nearest-neighbour estimator of I(T;Y) in bits for continuous T and discrete labels. */
export function ksgDiscreteMutualInformation(t: Activations, y: Labels, options: KsgOptions = {}): number {
  checkLabels(t, y, 'ksgDiscreteMutualInformation');
  const n = t.n;
  const k = options.k ?? 3;
  checkK(k, n, 'ksgDiscreteMutualInformation');
  const ts = jittered(t, options.jitter ?? 1e-10, new Rng(options.seed ?? 0));
  const classCounts = countIds(y.values, y.numClasses);
  const psi = digammaTable(n + 1);
  const dRow = new Float64Array(n);
  const best = new Float64Array(k);
  const usable = new Uint8Array(n);
  for (let j = 0; j < n; j++) usable[j] = classCounts[y.values[j]!]! >= 2 ? 1 : 0;
  let used = 0;
  let sumK = 0;
  let sumClass = 0;
  let sumM = 0;
  for (let i = 0; i < n; i++) {
    const ci = y.values[i]!;
    const count = classCounts[ci]!;
    if (count < 2) continue; // a point alone in its class has no neighbour to measure against
    const ki = Math.min(k, count - 1);
    chebyshevRow(ts, n, t.width, i, dRow);
    const radius = kthSmallest(dRow, n, ki, i, best, (j) => y.values[j] === ci);
    let m = 0;
    for (let j = 0; j < n; j++) {
      const dist = dRow[j]!;
      if (usable[j] === 1 && (dist < radius || (radius === 0 && dist === 0))) m++;
    }
    sumK += psi[ki]!;
    sumClass += psi[count]!;
    sumM += psi[m]!;
    used++;
  }
  if (used === 0) return 0;
  return (psi[used]! + (sumK - sumClass - sumM) / used) / LN2;
}

/** I(X;T) by KSG between the inputs and T, I(T;Y) by Ross's estimator; bits. */
export function ksgInformation(t: Activations, y: Labels, inputs: Activations, options: KsgOptions = {}): InformationEstimate {
  return { ixt: ksgMutualInformation(inputs, t, options), ity: ksgDiscreteMutualInformation(t, y, options) };
}
