// Kernel-density bounds on mutual information (Kolchinsky & Tracey 2017, as used by Saxe et al.
// 2018): T is taken as T + Z with Gaussian noise Z ~ N(0, σ² I), so p(T) is a mixture of N
// Gaussians centred on the activations. Its entropy is bounded above by the KL-divergence
// estimator and below by the Bhattacharyya one (the same sum at variance 4σ²):
//   H_upper(T) = d/2 + d/2 ln(2π σ²) + ln N - (1/N) Σ_i ln Σ_j exp(-|t_i - t_j|² / 2σ²)
//   H_lower(T) = H_upper at 4σ², plus d/2 ln(1/4)
//   I(X;T) = H(T) - H(T|X), H(T|X) = d/2 ln(2πe σ²) (the noise entropy)
//   I(T;Y) = H(T) - Σ_y p(y) H(T | Y = y)
// The Gaussian constants cancel, leaving I(X;T)_upper = ln N - mean_i ln S_i(σ²) and
// I(X;T)_lower = ln N - mean_i ln S_i(4σ²), with S_i(v) = Σ_j exp(-|t_i - t_j|² / 2v).
// aKDE (Chelombiev et al.) scales σ² to the layer's activation range, so a layer whose values
// are all multiplied by c gets the same estimate.

import { rowIds } from './codes.js';
import { countIds } from './entropy.js';
import { fastExp } from './fast-math.js';
import { checkLabels, LN2, type Activations, type InformationEstimate, type Labels } from './types.js';

export interface KdeBounds {
  readonly upper: InformationEstimate;
  readonly lower: InformationEstimate;
  /** The noise variance σ² used. */
  readonly variance: number;
}

export interface KdeOptions {
  /** Noise variance σ²; Saxe et al. used 0.1 (for tanh layers). */
  readonly variance: number;
}

/**
 * Kernel sums per unit, a unit being a distinct (row of T, class) pair with `weight` inputs (a
 * saturated layer has few distinct rows, so merging them saves most of the work). Units are
 * ordered by class, so the pairs of one class form contiguous blocks and the inner loops need no
 * class test. For unit u:
 *   all[u]  = Σ_v weight_v exp(-D_uv / 2σ²)   over all units (the self term included),
 *   cls[u]  = the same over the units of u's class,
 *   all4, cls4: the same at 4σ² (the lower bound's variance).
 */
interface KernelSums {
  readonly units: number;
  readonly unitClass: Int32Array;
  readonly weight: Float64Array;
  /** [units, 4]: all, all4, cls, cls4. */
  readonly acc: Float64Array;
}

function kernelSums(t: Activations, y: Labels, variance: number): KernelSums {
  const { n, width: d } = t;
  // Exact float bits of each row, plus its class: equal keys = same unit.
  const words = t.data instanceof Float32Array ? d : 2 * d;
  const bits = t.data instanceof Float32Array ? new Int32Array(t.data.buffer, t.data.byteOffset, n * d) : new Int32Array(t.data.buffer, t.data.byteOffset, 2 * n * d);
  const keys = new Int32Array(n * (words + 1));
  for (let i = 0; i < n; i++) {
    const o = i * (words + 1);
    for (let k = 0; k < words; k++) keys[o + k] = bits[i * words + k]!;
    keys[o + words] = y.values[i]!;
  }
  const { ids, count: units } = rowIds(keys, n, words + 1);
  // Order units by class (counting sort), keeping each unit's first row for its coordinates
  // (walking backwards, the last write is the smallest row).
  const firstRow = new Int32Array(units);
  for (let i = n - 1; i >= 0; i--) firstRow[ids[i]!] = i;
  const unitWeight = countIds(ids, units);
  const classOfUnit = new Int32Array(units); // the class is part of the key: one per unit
  for (let u = 0; u < units; u++) classOfUnit[u] = y.values[firstRow[u]!]!;
  // classStart[c] = the first slot of class c (an exclusive prefix sum of the units per class).
  const classStart = new Int32Array(y.numClasses + 1);
  classStart.set(countIds(classOfUnit, y.numClasses), 1);
  for (let c = 0; c < y.numClasses; c++) classStart[c + 1] = classStart[c + 1]! + classStart[c]!;
  const next = classStart.slice(0, y.numClasses);
  const x = new Float64Array(units * d);
  const weight = new Float64Array(units);
  const unitClass = new Int32Array(units);
  const blockEnd = new Int32Array(units);
  for (let u = 0; u < units; u++) {
    const row = firstRow[u]!;
    const c = classOfUnit[u]!;
    const slot = next[c]!;
    next[c] = slot + 1;
    for (let k = 0; k < d; k++) x[slot * d + k] = t.data[row * d + k]!;
    weight[slot] = unitWeight[u]!;
    unitClass[slot] = c;
    blockEnd[slot] = classStart[c + 1]!;
  }
  // acc[4u + 0..3] = all, all4, cls, cls4 of unit u, side by side for locality; the self term first.
  const acc = new Float64Array(4 * units);
  for (let u = 0; u < units; u++) acc.fill(weight[u]!, 4 * u, 4 * u + 4);
  const c4 = -1 / (8 * variance);
  const own = new Float64Array(2);
  for (let u = 0; u < units; u++) {
    // Same class: the class sums and the overall sums; later classes: the overall sums only.
    pairTerms(x, d, weight, acc, u, u + 1, blockEnd[u]!, c4, true, own);
    const sumCls = own[0]!;
    const sumCls4 = own[1]!;
    pairTerms(x, d, weight, acc, u, blockEnd[u]!, units, c4, false, own);
    addKernelTerms(acc, 4 * u, own[0]! + sumCls, own[1]! + sumCls4);
    addKernelTerms(acc, 4 * u + 2, sumCls, sumCls4);
  }
  return { units, unitClass, weight, acc };
}

/**
 * The kernel terms between unit u and units start..end-1: each v gets weight_u · e (and e4) added to
 * its overall sums (and class sums when `withClass`), and u's own sums Σ weight_v · e, Σ weight_v · e4
 * are returned in out[0], out[1]. e4 = exp(-D/8σ²) is the lower bound's kernel, its fourth power
 * e = exp(-D/2σ²) the upper bound's. Four v per iteration: independent chains the CPU overlaps
 * (about 30% faster than one at a time).
 */
function pairTerms(
  x: Float64Array,
  d: number,
  weight: Float64Array,
  acc: Float64Array,
  u: number,
  start: number,
  end: number,
  c4: number,
  withClass: boolean,
  out: Float64Array,
): void {
  const ou = u * d;
  const wu = weight[u]!;
  let sum = 0;
  let sum4 = 0;
  let v = start;
  for (; v + 3 < end; v += 4) {
    const o1 = v * d;
    const o2 = o1 + d;
    const o3 = o2 + d;
    const o4 = o3 + d;
    let d1 = 0;
    let d2 = 0;
    let d3 = 0;
    let d4 = 0;
    for (let k = 0; k < d; k++) {
      const xu = x[ou + k]!;
      const a1 = xu - x[o1 + k]!;
      const a2 = xu - x[o2 + k]!;
      const a3 = xu - x[o3 + k]!;
      const a4 = xu - x[o4 + k]!;
      d1 += a1 * a1;
      d2 += a2 * a2;
      d3 += a3 * a3;
      d4 += a4 * a4;
    }
    const q1 = fastExp(d1 * c4);
    const q2 = fastExp(d2 * c4);
    const q3 = fastExp(d3 * c4);
    const q4 = fastExp(d4 * c4);
    const r1 = q1 * q1;
    const r2 = q2 * q2;
    const r3 = q3 * q3;
    const r4 = q4 * q4;
    const e1 = r1 * r1;
    const e2 = r2 * r2;
    const e3 = r3 * r3;
    const e4 = r4 * r4;
    const w1 = weight[v]!;
    const w2 = weight[v + 1]!;
    const w3 = weight[v + 2]!;
    const w4 = weight[v + 3]!;
    sum += w1 * e1 + w2 * e2 + w3 * e3 + w4 * e4;
    sum4 += w1 * q1 + w2 * q2 + w3 * q3 + w4 * q4;
    const a = 4 * v;
    addKernelTerms(acc, a, wu * e1, wu * q1);
    addKernelTerms(acc, a + 4, wu * e2, wu * q2);
    addKernelTerms(acc, a + 8, wu * e3, wu * q3);
    addKernelTerms(acc, a + 12, wu * e4, wu * q4);
    if (withClass) {
      addKernelTerms(acc, a + 2, wu * e1, wu * q1);
      addKernelTerms(acc, a + 6, wu * e2, wu * q2);
      addKernelTerms(acc, a + 10, wu * e3, wu * q3);
      addKernelTerms(acc, a + 14, wu * e4, wu * q4);
    }
  }
  for (; v < end; v++) {
    const ov = v * d;
    let dist = 0;
    for (let k = 0; k < d; k++) {
      const diff = x[ou + k]! - x[ov + k]!;
      dist += diff * diff;
    }
    const q = fastExp(dist * c4);
    const r = q * q;
    const e = r * r;
    const wv = weight[v]!;
    sum += wv * e;
    sum4 += wv * q;
    addKernelTerms(acc, 4 * v, wu * e, wu * q);
    if (withClass) addKernelTerms(acc, 4 * v + 2, wu * e, wu * q);
  }
  out[0] = sum;
  out[1] = sum4;
}

/** acc[at] += e and acc[at + 1] += e4: one kernel term added to a pair of sums (all/all4 or cls/cls4). */
function addKernelTerms(acc: Float64Array, at: number, e: number, e4: number): void {
  acc[at] = acc[at]! + e;
  acc[at + 1] = acc[at + 1]! + e4;
}

function checkVariance(variance: number, what: string): void {
  if (!(variance > 0) || !Number.isFinite(variance)) throw new Error(`${what}: noise variance must be a positive number, got ${variance}`);
}

/** KDE upper and lower bounds on I(X;T) and I(T;Y), bits, at a fixed noise variance. */
export function kdeInformation(t: Activations, y: Labels, options: KdeOptions): KdeBounds {
  checkLabels(t, y, 'kdeInformation');
  checkVariance(options.variance, 'kdeInformation');
  const n = t.n;
  const classes = y.numClasses;
  const sums = kernelSums(t, y, options.variance);
  const classCounts = countIds(y.values, classes);
  // mean_i ln S_i over all inputs, and Σ_y p(y) [ln N_y - mean_{i in y} ln S_i^(y)] = (1/N) Σ_i (ln N_{y_i} - ln S_i^(y_i)).
  let meanLogAll = 0;
  let meanLogAll4 = 0;
  let condUpper = 0;
  let condLower = 0;
  for (let u = 0; u < sums.units; u++) {
    const w = sums.weight[u]!;
    const logNy = Math.log(classCounts[sums.unitClass[u]!]!);
    meanLogAll += w * Math.log(sums.acc[4 * u]!);
    meanLogAll4 += w * Math.log(sums.acc[4 * u + 1]!);
    condUpper += w * (logNy - Math.log(sums.acc[4 * u + 2]!));
    condLower += w * (logNy - Math.log(sums.acc[4 * u + 3]!));
  }
  meanLogAll /= n;
  meanLogAll4 /= n;
  condUpper /= n;
  condLower /= n;
  const logN = Math.log(n);
  const hUpper = logN - meanLogAll; // H_upper(T) minus the noise entropy, nats
  const hLower = logN - meanLogAll4;
  return {
    upper: { ixt: hUpper / LN2, ity: (hUpper - condUpper) / LN2 },
    lower: { ixt: hLower / LN2, ity: (hLower - condLower) / LN2 },
    variance: options.variance,
  };
}

/** How aKDE measures a layer's activation range. */
export type RangeRule = 'max-abs' | 'max-minus-min' | 'std';

export interface AdaptiveKdeOptions {
  /**
   * σ² = scale · range². Default 0.1: a tanh layer (range 1 by 'max-abs') gets Saxe et al.'s
   * σ² = 0.1, and any layer gets the same noise relative to its own spread.
   */
  readonly scale?: number;
  /** Default 'max-abs': the largest |t| over the layer's units and inputs. */
  readonly range?: RangeRule;
}

export const AKDE_DEFAULT_SCALE = 0.1;

/** The activation range of a layer under a range rule. */
export function activationRange(t: Activations, rule: RangeRule): number {
  const x = t.data;
  if (rule === 'max-abs') {
    let m = 0;
    for (let i = 0; i < x.length; i++) {
      const a = Math.abs(x[i]!);
      if (a > m) m = a;
    }
    return m;
  }
  if (rule === 'max-minus-min') {
    let lo = Infinity;
    let hi = -Infinity;
    for (let i = 0; i < x.length; i++) {
      if (x[i]! < lo) lo = x[i]!;
      if (x[i]! > hi) hi = x[i]!;
    }
    return hi - lo;
  }
  if (rule === 'std') {
    let mean = 0;
    for (let i = 0; i < x.length; i++) mean += x[i]!;
    mean /= x.length;
    let ss = 0;
    for (let i = 0; i < x.length; i++) ss += (x[i]! - mean) ** 2;
    return Math.sqrt(ss / x.length);
  }
  throw new Error(`activationRange: unknown range rule '${String(rule)}' (max-abs, max-minus-min, std)`);
}

/** The noise variance aKDE uses for this layer. */
export function adaptiveKdeVariance(t: Activations, options: AdaptiveKdeOptions = {}): number {
  const scale = options.scale ?? AKDE_DEFAULT_SCALE;
  if (!(scale > 0)) throw new Error(`adaptiveKdeVariance: scale must be positive, got ${scale}`);
  const range = activationRange(t, options.range ?? 'max-abs');
  // A layer that is constant has no spread to scale to; any variance gives I = 0 there.
  return range > 0 && Number.isFinite(range) ? scale * range * range : scale;
}

/** aKDE: the KDE bounds with the noise variance scaled to this layer's activation range. */
export function adaptiveKdeInformation(t: Activations, y: Labels, options: AdaptiveKdeOptions = {}): KdeBounds {
  return kdeInformation(t, y, { variance: adaptiveKdeVariance(t, options) });
}
