// Binning estimators of I(X;T) and I(T;Y). Every unit of a layer is binned with the same edges,
// the layer's joint code (one bin per unit) is the discrete T, and entropies are plug-in:
//   I(X;T) = H(T) because the network is deterministic and every input is distinct
//            (pass `inputIds` when inputs repeat: then the plug-in I(X;T) is used instead),
//   I(T;Y) = H(T) + H(Y) - H(T,Y).
// Three ways to place the edges:
//   fixed  Shwartz-Ziv & Tishby: B equal-width bins on a fixed interval, 30 on [-1, 1].
//   saxe   Saxe et al.: B equal-width bins on [0, max T] of this layer at this epoch.
//   ebab   Chelombiev et al.'s entropy-based adaptive binning: edges at equal ranks of the
//          layer's distinct values, so each bin holds about the same number of distinct values.

import type { FloatArray } from '../tensor/dtype.js';
import { rowIds, type CodeMatrix, type RowIds } from './codes.js';
import { countIds, entropyFromCounts, mutualInformationOfIds } from './entropy.js';
import { checkLabels, type Activations, type InformationEstimate, type Labels } from './types.js';

export interface BinnedValues {
  /** One bin index per value, in [0, numCodes). */
  readonly codes: Uint8Array | Uint16Array;
  readonly numCodes: number;
  /** Bin edges, ascending (for reports and for computing exact bin probabilities in tests). */
  readonly edges: Float64Array;
}

function codeArray(length: number, numCodes: number): Uint8Array | Uint16Array {
  if (numCodes > 65536) throw new Error(`binning: ${numCodes} bins do not fit 16-bit codes`);
  return numCodes <= 256 ? new Uint8Array(length) : new Uint16Array(length);
}

function checkNumBins(numBins: number, what: string): void {
  if (!Number.isInteger(numBins) || numBins < 1 || numBins > 65000) throw new Error(`${what}: numBins must be an integer in [1, 65000], got ${numBins}`);
}

/**
 * B equal-width bins on [low, high]: bin k holds [low + k w, low + (k + 1) w), the last bin also
 * holds `high`, and values outside the interval go to the end bins (as a saturating unit would).
 */
export function equalWidthBins(values: FloatArray, numBins: number, low: number, high: number): BinnedValues {
  checkNumBins(numBins, 'equalWidthBins');
  if (!(high > low)) throw new Error(`equalWidthBins: high (${high}) must exceed low (${low})`);
  const codes = codeArray(values.length, numBins);
  const scale = numBins / (high - low);
  const last = numBins - 1;
  for (let i = 0; i < values.length; i++) {
    const k = Math.floor((values[i]! - low) * scale);
    codes[i] = k < 0 ? 0 : k > last ? last : k;
  }
  const edges = new Float64Array(numBins + 1);
  for (let k = 0; k <= numBins; k++) edges[k] = low + ((high - low) * k) / numBins;
  return { codes, numCodes: numBins, edges };
}

/** Saxe et al.: B equal-width bins on [0, max]; a layer that is all zeros falls in one bin. */
export function saxeBins(values: FloatArray, numBins: number): BinnedValues {
  let max = 0;
  for (let i = 0; i < values.length; i++) if (values[i]! > max) max = values[i]!;
  if (!Number.isFinite(max)) throw new Error(`saxeBins: activations contain ${max}`);
  return equalWidthBins(values, numBins, 0, max > 0 ? max : 1);
}

/**
 * Float32 values sorted ascending by an LSD radix sort on their bit patterns (3 passes of 11
 * bits): about 10x faster than TypedArray.prototype.sort, which took most of EBAB's time.
 * -0 sorts before +0 and NaN last, as TypedArray sort does.
 */
export function radixSortFloat32(values: Float32Array): Float32Array {
  const n = values.length;
  const bits = new Uint32Array(values.buffer, values.byteOffset, n);
  // Order-preserving map of IEEE bits to unsigned keys: flip all bits of negatives, the sign bit of positives.
  let keys = new Uint32Array(n);
  for (let i = 0; i < n; i++) {
    const b = bits[i]!;
    keys[i] = b & 0x80000000 ? ~b >>> 0 : (b | 0x80000000) >>> 0;
  }
  let other = new Uint32Array(n);
  const counts = new Uint32Array(2048);
  for (let shift = 0; shift < 33; shift += 11) {
    counts.fill(0);
    for (let i = 0; i < n; i++) {
      const digit = (keys[i]! >>> shift) & 2047;
      counts[digit] = counts[digit]! + 1;
    }
    let sum = 0;
    for (let k = 0; k < 2048; k++) {
      const c = counts[k]!;
      counts[k] = sum;
      sum += c;
    }
    for (let i = 0; i < n; i++) {
      const key = keys[i]!;
      const digit = (key >>> shift) & 2047;
      const slot = counts[digit]!;
      counts[digit] = slot + 1;
      other[slot] = key;
    }
    const swap = keys;
    keys = other;
    other = swap;
  }
  const out = new Float32Array(n);
  const outBits = new Uint32Array(out.buffer);
  for (let i = 0; i < n; i++) {
    const key = keys[i]!;
    outBits[i] = key & 0x80000000 ? (key & 0x7fffffff) >>> 0 : ~key >>> 0;
  }
  return out;
}

/** Sorted distinct values of `values`, ignoring those equal to `exclude`. */
export function distinctSorted(values: FloatArray, exclude: number | null): FloatArray {
  let sorted: FloatArray;
  if (values instanceof Float32Array) {
    sorted = radixSortFloat32(values);
  } else {
    sorted = values.slice();
    sorted.sort();
  }
  let count = 0;
  let previous = NaN;
  for (let i = 0; i < sorted.length; i++) {
    const v = sorted[i]!;
    if (Number.isNaN(v)) throw new Error('distinctSorted: activations contain NaN');
    if (v === previous || v === exclude) continue;
    sorted[count++] = v;
    previous = v;
  }
  return sorted.subarray(0, count);
}

export interface EbabOptions {
  /** B, default 30. */
  readonly numBins?: number;
  /**
   * A value that gets a bin of its own below the adaptive ones and is left out of the ranks.
   * 'auto' (default): 0 when every value is >= 0 (the zeros of ReLU-like units), else none.
   */
  readonly lowerEdge?: number | 'auto' | null;
}

/**
 * Entropy-based adaptive binning. With U the sorted distinct values (the lower edge left out),
 * the inner edges are U[floor(k |U| / B)] for k = 0..B-1 and a value's bin is the number of inner
 * edges at or below it: bin 0 holds only the lower edge (when there is one), bins 1..B each
 * about |U| / B distinct values, the largest value included in bin B. This follows the authors'
 * code (adaptive_estimators, set_up_bins with maxentropy), except that there the single
 * largest value got a bin of its own.
 */
export function ebabBins(values: FloatArray, options: EbabOptions = {}): BinnedValues {
  const numBins = options.numBins ?? 30;
  checkNumBins(numBins, 'ebabBins');
  let lowerEdge: number | null;
  if (options.lowerEdge === undefined || options.lowerEdge === 'auto') {
    let min = Infinity;
    for (let i = 0; i < values.length; i++) if (values[i]! < min) min = values[i]!;
    lowerEdge = min >= 0 ? 0 : null;
  } else {
    lowerEdge = options.lowerEdge;
  }
  const distinct = distinctSorted(values, lowerEdge);
  const u = distinct.length;
  const inner = new Float64Array(numBins);
  if (u === 0) inner.fill(Infinity);
  else for (let k = 0; k < numBins; k++) inner[k] = distinct[Math.floor((k * u) / numBins)]!;
  const codes = codeArray(values.length, numBins + 1);
  for (let i = 0; i < values.length; i++) {
    const v = values[i]!;
    // Upper bound: first inner edge strictly above v.
    let lo = 0;
    let hi = numBins;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (inner[mid]! <= v) lo = mid + 1;
      else hi = mid;
    }
    codes[i] = lo;
  }
  const edges = new Float64Array(numBins + 2);
  edges[0] = lowerEdge ?? (u > 0 ? distinct[0]! : 0);
  edges.set(inner, 1);
  edges[numBins + 1] = u > 0 ? distinct[u - 1]! : edges[0]!;
  return { codes, numCodes: numBins + 1, edges };
}

/** Joint codes of a binned layer [n, width] as dense ids of T. */
export function layerIds(binned: BinnedValues, n: number, width: number): RowIds {
  return rowIds(binned.codes as CodeMatrix, n, width);
}

export interface DiscreteInformationOptions {
  /** Dense ids of the inputs X when some inputs repeat; default: all distinct, so I(X;T) = H(T). */
  readonly inputIds?: { readonly ids: Int32Array; readonly count: number };
}

/** I(X;T) and I(T;Y) in bits for a discrete T given as dense ids. */
export function discreteInformation(t: RowIds, y: Labels, options: DiscreteInformationOptions = {}): InformationEstimate {
  const n = t.ids.length;
  const ht = entropyFromCounts(countIds(t.ids, t.count), n);
  const ixt = options.inputIds ? mutualInformationOfIds(options.inputIds.ids, options.inputIds.count, t.ids, t.count) : ht;
  const ity = mutualInformationOfIds(t.ids, t.count, y.values, y.numClasses);
  return { ixt, ity };
}

function binnedInformation(t: Activations, y: Labels, binned: BinnedValues, options: DiscreteInformationOptions, what: string): InformationEstimate {
  checkLabels(t, y, what);
  return discreteInformation(layerIds(binned, t.n, t.width), y, options);
}

export interface FixedBinningOptions extends DiscreteInformationOptions {
  /** Default 30. */
  readonly numBins?: number;
  /** Default -1. */
  readonly low?: number;
  /** Default 1. */
  readonly high?: number;
}

/** Shwartz-Ziv & Tishby's fixed binning: 30 equal bins on [-1, 1] by default. */
export function fixedBinningInformation(t: Activations, y: Labels, options: FixedBinningOptions = {}): InformationEstimate {
  const binned = equalWidthBins(t.data, options.numBins ?? 30, options.low ?? -1, options.high ?? 1);
  return binnedInformation(t, y, binned, options, 'fixedBinningInformation');
}

export interface SaxeBinningOptions extends DiscreteInformationOptions {
  /** Default 30. */
  readonly numBins?: number;
}

/** Saxe et al.'s binning: 30 equal bins on [0, max activation of this layer]. */
export function saxeBinningInformation(t: Activations, y: Labels, options: SaxeBinningOptions = {}): InformationEstimate {
  return binnedInformation(t, y, saxeBins(t.data, options.numBins ?? 30), options, 'saxeBinningInformation');
}

export interface EbabInformationOptions extends EbabOptions, DiscreteInformationOptions {}

/** EBAB: entropy-based adaptive binning (Chelombiev, Houghton & O'Donnell 2019). */
export function ebabInformation(t: Activations, y: Labels, options: EbabInformationOptions = {}): InformationEstimate {
  return binnedInformation(t, y, ebabBins(t.data, options), options, 'ebabInformation');
}
