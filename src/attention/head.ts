// Plain-TypeScript decode attention for one KV head and its group of query heads: the reference
// (oracle) that the wasm kernels are tested against, and the fallback when no wasm is in use.
// Arithmetic is in f64; inputs and outputs are f32.

import type { KvBlock } from '../ops/attention-kernels.js';
import { halfToF32 } from '../tensor/dtype.js';
import { type KvCache, kvElements, transposedElements } from './kv-cache.js';

/** What the reference kernels read for one (sequence, KV head). */
export interface HeadView {
  readonly headDim: number;
  /** Positions stored. */
  readonly length: number;
  /** K rows [length, headDim], row-major. */
  readonly keys: Float32Array;
  /** V rows [length, headDim]. */
  readonly values: Float32Array;
  /** Mean of V [headDim]; computed from `values` (over unmasked positions) when absent. */
  readonly valueMean?: Float32Array | undefined;
  /** Component-major copy of K, row c at data[c * stride]; SparQ step 1 reads it when present. */
  readonly keysTransposed?: { readonly data: Float32Array; readonly stride: number } | null | undefined;
  /** Per position: 0 = may not be attended (never selected). Absent: all positions valid. */
  readonly mask?: ArrayLike<number> | undefined;
}

export function cacheHeadView(cache: KvCache, layer: number, seq: number, kvHead: number): HeadView {
  return blockHeadView(cache.head(layer, seq, kvHead));
}

/**
 * The reference kernels' view of one cache block (transposed: use K^T when the block has it). An
 * f16 block's rows (and its bf16 K^T) are widened exactly (the same bits the fast kernels read), an
 * f32 block's are views.
 */
export function blockHeadView(block: KvBlock, transposed = true): HeadView {
  const d = block.headDim;
  const rows = (byteOffset: number, count: number): Float32Array => {
    const raw = kvElements(block, byteOffset, count);
    return raw instanceof Float32Array ? raw : halfToF32(raw, 'f16');
  };
  const mean = block.meanOffset >> 2;
  return {
    headDim: d,
    length: block.length,
    keys: rows(block.keyOffset, block.length * d),
    values: rows(block.valueOffset, block.length * d),
    valueMean: block.data.subarray(mean, mean + d),
    keysTransposed: transposed && block.transposedOffset >= 0 ? { data: transposedElements(block), stride: block.capacity } : null,
  };
}

/** Number of positions that may be attended. */
export function validCount(view: HeadView): number {
  const mask = view.mask;
  if (!mask) return view.length;
  let n = 0;
  for (let i = 0; i < view.length; i++) if (mask[i] !== 0) n++;
  return n;
}

/** Mean of V over the valid positions (view.valueMean when there is no mask). */
export function meanValue(view: HeadView): Float64Array {
  const d = view.headDim;
  const mean = new Float64Array(d);
  if (view.valueMean && !view.mask) {
    for (let c = 0; c < d; c++) mean[c] = view.valueMean[c]!;
    return mean;
  }
  let n = 0;
  for (let i = 0; i < view.length; i++) {
    if (view.mask && view.mask[i] === 0) continue;
    n++;
    for (let c = 0; c < d; c++) mean[c]! += view.values[i * d + c]!;
  }
  if (n > 0) for (let c = 0; c < d; c++) mean[c]! /= n;
  return mean;
}

/** Exact logits q_h . K[i] / sqrt(d) of every query head in the group: [g, length]. */
export function exactLogits(view: HeadView, q: Float32Array, qOffset: number, group: number): Float64Array {
  const d = view.headDim;
  const S = view.length;
  const scale = 1 / Math.sqrt(d);
  const logits = new Float64Array(group * S);
  for (let h = 0; h < group; h++) {
    const qo = qOffset + h * d;
    for (let i = 0; i < S; i++) {
      let dot = 0;
      for (let c = 0; c < d; c++) dot += q[qo + c]! * view.keys[i * d + c]!;
      logits[h * S + i] = dot * scale;
    }
  }
  return logits;
}

/** In place: rows of `logits` [rows, cols] become softmax probabilities; masked columns get 0. */
export function softmaxRowsInPlace(logits: Float64Array, rows: number, cols: number, mask?: ArrayLike<number>): void {
  for (let r = 0; r < rows; r++) {
    const o = r * cols;
    let max = -Infinity;
    for (let i = 0; i < cols; i++) {
      if (mask && mask[i] === 0) continue;
      const v = logits[o + i]!;
      if (v > max) max = v;
    }
    let sum = 0;
    for (let i = 0; i < cols; i++) {
      if ((mask && mask[i] === 0) || max === -Infinity) {
        logits[o + i] = 0;
        continue;
      }
      const e = Math.exp(logits[o + i]! - max);
      logits[o + i] = e;
      sum += e;
    }
    if (sum > 0) for (let i = 0; i < cols; i++) logits[o + i]! /= sum;
  }
}

/** Sum over the group's rows of a [group, cols] matrix. */
export function sumOverGroup(m: Float64Array, group: number, cols: number): Float64Array {
  const out = new Float64Array(cols);
  for (let h = 0; h < group; h++) for (let i = 0; i < cols; i++) out[i]! += m[h * cols + i]!;
  return out;
}

export interface SelectedAttention {
  /** Softmax weights over the selected positions, per query head: [group, count]. */
  readonly weights: Float64Array;
}

/**
 * Exact attention over the selected positions: for each query head h of the group,
 * y_h = alpha_h * sum_j softmax_j(q_h . K[idx_j] / sqrt(d)) V[idx_j] + (1 - alpha_h) * mean,
 * written to out[outOffset + h * d ...]. alpha absent: 1 (no reallocation).
 * logits (optional, [group, length]) supplies precomputed exact logits (FlexGen has them).
 */
export function attendSelected(
  view: HeadView, q: Float32Array, qOffset: number, group: number,
  indices: Int32Array, count: number, out: Float32Array, outOffset: number,
  alpha?: Float64Array, mean?: Float64Array, logits?: Float64Array,
): SelectedAttention {
  const d = view.headDim;
  const S = view.length;
  const scale = 1 / Math.sqrt(d);
  const weights = new Float64Array(group * count);
  const acc = new Float64Array(d);
  for (let h = 0; h < group; h++) {
    const qo = qOffset + h * d;
    const w = weights.subarray(h * count, (h + 1) * count);
    let max = -Infinity;
    for (let j = 0; j < count; j++) {
      const i = indices[j]!;
      let s: number;
      if (logits) s = logits[h * S + i]!;
      else {
        let dot = 0;
        for (let c = 0; c < d; c++) dot += q[qo + c]! * view.keys[i * d + c]!;
        s = dot * scale;
      }
      w[j] = s;
      if (s > max) max = s;
    }
    let sum = 0;
    for (let j = 0; j < count; j++) {
      const e = Math.exp(w[j]! - max);
      w[j] = e;
      sum += e;
    }
    acc.fill(0);
    for (let j = 0; j < count; j++) {
      const p = w[j]! / sum;
      w[j] = p;
      const vo = indices[j]! * d;
      for (let c = 0; c < d; c++) acc[c]! += p * view.values[vo + c]!;
    }
    const a = alpha ? alpha[h]! : 1;
    const oo = outOffset + h * d;
    for (let c = 0; c < d; c++) {
      const rest = a < 1 && mean ? (1 - a) * mean[c]! : 0;
      out[oo + c] = count > 0 ? a * acc[c]! + rest : (mean ? mean[c]! : 0);
    }
  }
  return { weights };
}

/** All valid positions in ascending order. */
export function allValid(view: HeadView): Int32Array {
  const n = validCount(view);
  const idx = new Int32Array(n);
  let c = 0;
  for (let i = 0; i < view.length; i++) if (!view.mask || view.mask[i] !== 0) idx[c++] = i;
  return idx;
}
