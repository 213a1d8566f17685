// Plug-in (maximum-likelihood) entropies of discrete symbols, in bits, and the Miller-Madow
// first-order bias of the plug-in entropy: E[H_plugin] ≈ H - (m - 1) / (2 N ln 2) with m the
// number of symbols that occur.

import { pairIds } from './codes.js';
import { LN2 } from './types.js';

/** Occurrences of each id in [0, count). */
export function countIds(ids: Int32Array, count: number): Int32Array {
  const counts = new Int32Array(count);
  for (let i = 0; i < ids.length; i++) {
    const id = ids[i]!;
    counts[id] = counts[id]! + 1;
  }
  return counts;
}

/** -Σ p log2 p for p = counts / total (zero counts contribute nothing). */
export function entropyFromCounts(counts: ArrayLike<number>, total?: number): number {
  let n = total ?? 0;
  if (total === undefined) for (let i = 0; i < counts.length; i++) n += counts[i]!;
  if (n <= 0) return 0;
  // H = log2 N - (1/N) Σ c log2 c, summed in nats for accuracy.
  let sum = 0;
  for (let i = 0; i < counts.length; i++) {
    const c = counts[i]!;
    if (c > 0) sum += c * Math.log(c);
  }
  return (Math.log(n) - sum / n) / LN2;
}

/** Plug-in entropy of symbols given as dense ids. */
export function entropyOfIds(ids: Int32Array, count: number): number {
  return entropyFromCounts(countIds(ids, count), ids.length);
}

/** Plug-in I(A;B) = H(A) + H(B) - H(A,B) in bits. */
export function mutualInformationOfIds(a: Int32Array, countA: number, b: Int32Array, countB: number): number {
  const joint = pairIds(a, countA, b, countB);
  const mi = entropyOfIds(a, countA) + entropyOfIds(b, countB) - entropyOfIds(joint.ids, joint.count);
  // Rounding can leave -1e-16 where the variables are independent by construction.
  return mi < 0 && mi > -1e-12 ? 0 : mi;
}

/** Number of ids that occur at least once. */
export function occupiedCount(ids: Int32Array, count: number): number {
  const counts = countIds(ids, count);
  let m = 0;
  for (let i = 0; i < count; i++) if (counts[i]! > 0) m++;
  return m;
}

/** Miller-Madow: the plug-in entropy underestimates by about (m - 1) / (2 N ln 2) bits. */
export function millerMadowEntropyBias(occupied: number, n: number): number {
  if (!(n > 0)) throw new Error(`millerMadowEntropyBias: n must be positive, got ${n}`);
  return -(Math.max(occupied, 1) - 1) / (2 * n * LN2);
}

/**
 * Predicted bias (estimate minus truth, bits) of the plug-in I(A;B) = H(A) + H(B) - H(A,B):
 * ((m_AB - 1) - (m_A - 1) - (m_B - 1)) / (2 N ln 2). Positive: plug-in MI overestimates.
 */
export function millerMadowInformationBias(occupiedA: number, occupiedB: number, occupiedJoint: number, n: number): number {
  return millerMadowEntropyBias(occupiedA, n) + millerMadowEntropyBias(occupiedB, n) - millerMadowEntropyBias(occupiedJoint, n);
}

/** Miller-Madow corrected entropy of dense ids, bits. */
export function millerMadowEntropyOfIds(ids: Int32Array, count: number): number {
  return entropyOfIds(ids, count) - millerMadowEntropyBias(occupiedCount(ids, count), ids.length);
}
