// Top-k selection in O(n) expected time (quickselect), not a full sort: SparQ and the baselines
// pick k of S positions at every decode step, and S reaches tens of thousands.
//
// The result is deterministic: the indices of the k largest keys in ascending index order, ties at
// the threshold resolved toward lower indices. NaN keys rank as -Infinity.

/** Scratch for topKIndices, reusable across calls (grown as needed). */
export class SelectWork {
  values = new Float64Array(0);

  ensure(n: number): Float64Array {
    if (this.values.length < n) this.values = new Float64Array(Math.max(n, this.values.length * 2));
    return this.values;
  }
}

const SMALL_RANGE = 16;

/**
 * Writes into `out` the indices i < n of the k largest keys[i] (ascending index order) and returns
 * how many were written: min(k, n). Only indices with `allowed(i)` true take part when a mask is
 * given (mask[i] !== 0); then the count is min(k, number allowed).
 */
export function topKIndices(
  keys: ArrayLike<number>, n: number, k: number, out: Int32Array,
  work: SelectWork = new SelectWork(), mask?: ArrayLike<number>,
): number {
  if (!Number.isInteger(n) || n < 0) throw new RangeError(`topKIndices: n must be a non-negative integer, got ${n}`);
  if (!Number.isInteger(k) || k < 0) throw new RangeError(`topKIndices: k must be a non-negative integer, got ${k}`);
  // Compact the candidates (allowed positions) into the scratch, NaN mapped to -Infinity.
  const vals = work.ensure(n);
  let m = 0;
  for (let i = 0; i < n; i++) {
    if (mask !== undefined && mask[i] === 0) continue;
    const v = keys[i]!;
    vals[m++] = v === v ? v : -Infinity;
  }
  const want = Math.min(k, m);
  if (out.length < want) throw new RangeError(`topKIndices: out holds ${out.length} indices, needs ${want}`);
  if (want === 0) return 0;
  if (want === m) {
    let c = 0;
    for (let i = 0; i < n; i++) if (mask === undefined || mask[i] !== 0) out[c++] = i;
    return c;
  }
  // Threshold = the want-th largest value; quickselect on the copy puts it at index want - 1 of a
  // descending order.
  const threshold = nthLargest(vals, m, want - 1);
  let above = 0;
  for (let i = 0; i < m; i++) if (vals[i]! > threshold) above++;
  let ties = want - above;
  let c = 0;
  for (let i = 0; i < n; i++) {
    if (mask !== undefined && mask[i] === 0) continue;
    const raw = keys[i]!;
    const v = raw === raw ? raw : -Infinity;
    if (v > threshold) out[c++] = i;
    else if (v === threshold && ties > 0) {
      out[c++] = i;
      ties--;
    }
  }
  return c;
}

/**
 * The value that would sit at position `rank` (0-based) if vals[0..n) were sorted in descending
 * order. Reorders vals. Introselect: median-of-3 quickselect with a three-way partition (many equal
 * keys stay linear), falling back to sorting the remaining range if partitions stop shrinking.
 */
export function nthLargest(vals: Float64Array, n: number, rank: number): number {
  let lo = 0;
  let hi = n - 1;
  let budget = 2 * Math.ceil(Math.log2(n + 1)) + 4;
  while (hi - lo > SMALL_RANGE) {
    if (budget-- <= 0) {
      // Pathological pivots: sort what is left (descending) and read the answer.
      const rest = vals.subarray(lo, hi + 1).sort().reverse();
      return rest[rank - lo]!;
    }
    const mid = lo + ((hi - lo) >> 1);
    const pivot = median3(vals[lo]!, vals[mid]!, vals[hi]!);
    // Three-way partition into [> pivot][== pivot][< pivot].
    let lt = lo;
    let gt = hi;
    let i = lo;
    while (i <= gt) {
      const v = vals[i]!;
      if (v > pivot) {
        vals[i] = vals[lt]!;
        vals[lt] = v;
        lt++;
        i++;
      } else if (v < pivot) {
        vals[i] = vals[gt]!;
        vals[gt] = v;
        gt--;
      } else {
        i++;
      }
    }
    if (rank < lt) hi = lt - 1;
    else if (rank > gt) lo = gt + 1;
    else return pivot;
  }
  // Small range: insertion sort, descending.
  for (let i = lo + 1; i <= hi; i++) {
    const v = vals[i]!;
    let j = i - 1;
    while (j >= lo && vals[j]! < v) {
      vals[j + 1] = vals[j]!;
      j--;
    }
    vals[j + 1] = v;
  }
  return vals[rank]!;
}

function median3(a: number, b: number, c: number): number {
  if (a < b) {
    if (b < c) return b;
    return a < c ? c : a;
  }
  if (a < c) return a;
  return b < c ? c : b;
}
