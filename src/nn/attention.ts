// Attention, one function for every model: scaled dot products over heads-first queries and keys,
// grouped-query sharing (H query heads read KV key heads), an additive mask (padding), causal
// masking, probability dropout, long queries split into row blocks, and a KV cache for generation.
// BERT's self-attention module (query, key, value under Hugging Face's names) is here too.

import { add, mul } from '../autograd/ops/elementwise.js';
import { matmul } from '../autograd/ops/linalg.js';
import { concat, contiguous, narrow, permute, reshape } from '../autograd/ops/movement.js';
import { softmax } from '../autograd/ops/softmax.js';
import { dropout } from '../autograd/ops/dropout.js';
import type { FloatDType } from '../tensor/dtype.js';
import type { Rng } from '../tensor/rng.js';
import { formatShape, numel } from '../tensor/shape.js';
import { fromArray, Tensor } from '../tensor/tensor.js';
import type { ParamInit } from './init.js';
import { Linear } from './layers.js';
import { Module } from './module.js';

/**
 * Added to the scores of padded keys. Large and finite rather than -inf: exp underflows to exactly 0
 * either way, and a finite value cannot turn into NaN (inf - inf) in the softmax's max subtraction.
 */
export const MASKED_SCORE = -1e9;

/**
 * The additive attention bias of a padding mask [B, S] (nonzero = real token, 0 = padding):
 * [B, 1, 1, S] holding 0 for keys to attend to and MASKED_SCORE for padding, broadcast over heads
 * and query positions.
 */
export function paddingMaskBias(attentionMask: Tensor, dtype: FloatDType = 'f32'): Tensor {
  if (attentionMask.rank !== 2) throw new Error(`paddingMaskBias: attention mask must be [batch, seq], got ${formatShape(attentionMask.shape)}`);
  const [batch, seq] = attentionMask.shape as [number, number];
  const values = attentionMask.toArray();
  const bias = new Array<number>(values.length);
  for (let i = 0; i < values.length; i++) bias[i] = values[i] === 0 ? MASKED_SCORE : 0;
  return fromArray(bias, [batch, 1, 1, seq], { dtype });
}

/** Dropout of the attention probabilities: probability, generator and whether training. */
export interface AttentionDropout {
  readonly p: number;
  readonly rng: Rng;
  readonly training: boolean;
}

/**
 * What attention does with earlier positions during generation. src/generate implements it with a
 * KvCache and a decode-attention policy; training passes none. Rows are the batch rows of the call.
 */
export interface KvCacheHook {
  /** Stores this call's keys (after RoPE) and values for one row: [tokens, kvHeads, headDim] each. */
  append(layer: number, row: number, keys: Float32Array, values: Float32Array, tokens: number): void;
  /** The first `length` stored keys of a row and KV head, [length, headDim] row-major. */
  keys(layer: number, row: number, kvHead: number, length: number): Float32Array;
  values(layer: number, row: number, kvHead: number, length: number): Float32Array;
  /** One decode step for every row (after append): q [rows, heads, headDim] -> out, same shape. */
  decode(layer: number, q: Float32Array, out: Float32Array, heads: number): void;
  /** Optional: a prefill's attention probabilities, [heads, rows, keyLength] (H2O seeds its scores with them). */
  observePrefill?(layer: number, row: number, probs: Float32Array, heads: number, rows: number, keyLength: number): void;
}

/** Generation: where this call's keys and values go, and where earlier positions come from. */
export interface AttentionCache {
  readonly hook: KvCacheHook;
  readonly layer: number;
  /** Position of each batch row's first token in this call (how many it stored before). */
  readonly startPositions: readonly number[];
}

/** Sees each block of attention probabilities of a prefill: [..., G, rows, visibleKeys], rows from firstRow. */
export type AttentionObserver = (weights: Tensor, firstRow: number, rows: number, visibleKeys: number) => void;

export interface AttentionOptions {
  /** Additive bias on the scores, broadcast against [B, H, T, S] (e.g. paddingMaskBias's [B, 1, 1, S]). */
  readonly mask?: Tensor | null | undefined;
  /** Query t sees the keys up to its own position; the T queries are the last T of the S keys. */
  readonly causal?: boolean | undefined;
  /** Dropout of the probabilities (training); the scores are then computed in one block. */
  readonly dropout?: AttentionDropout | null | undefined;
  /** Keys and values go to (and come from) this cache; one token per row decodes through it. Needs causal. */
  readonly cache?: AttentionCache | null | undefined;
  /** Bound on the elements of one block of scores; longer queries are split over rows. Default: one block. */
  readonly maxScoreElements?: number | undefined;
}

/**
 * softmax(q kᵀ / sqrt(hd) + mask) v. q [B, H, T, hd], k and v [B, KV, S, hd] with H a multiple of
 * KV (query head h reads key head floor(h / (H / KV))), any strides, RoPE already applied.
 * Returns the heads merged: [B, T, H * hd].
 */
export function attention(q: Tensor, k: Tensor, v: Tensor, options: AttentionOptions = {}): Tensor {
  if (q.rank !== 4 || k.rank !== 4 || v.rank !== 4) {
    throw new Error(`attention: q, k, v must be [batch, heads, tokens, headDim], got ${formatShape(q.shape)}, ${formatShape(k.shape)}, ${formatShape(v.shape)}`);
  }
  const [batch, heads, tokens, headDim] = q.shape as [number, number, number, number];
  const kvHeads = k.shape[1]!;
  if (heads % kvHeads !== 0) throw new Error(`attention: ${heads} query heads are not a multiple of ${kvHeads} key/value heads`);
  const group = heads / kvHeads;
  const causal = options.causal ?? false;
  const cache = options.cache ?? null;
  const probsDropout = options.dropout ?? null;
  if (!cache) {
    const keysTotal = k.shape[2]!;
    if (causal && keysTotal < tokens) throw new Error(`attention: causal attention over ${tokens} queries needs at least as many keys, got ${keysTotal}`);
    const mask = options.mask ? groupedMask(options.mask, kvHeads, group) : null;
    const maxScoreElements = probsDropout ? Infinity : (options.maxScoreElements ?? Infinity);
    const out = blockAttention(reshape(q, [batch, kvHeads, group, tokens, headDim]), k, v, causal ? keysTotal - tokens : null, mask, probsDropout, maxScoreElements);
    return mergeHeads(reshape(out, [batch, heads, tokens, headDim]));
  }
  if (!causal || options.mask || probsDropout) throw new Error('attention: a KV cache takes causal attention without mask or dropout');
  if (k.shape[2] !== tokens) throw new Error(`attention: with a KV cache, k and v hold this call's ${tokens} tokens, got ${k.shape[2]}`);
  const hook = cache.hook;
  const layer = cache.layer;
  const maxScoreElements = options.maxScoreElements ?? Infinity;
  const rowFloats = tokens * kvHeads * headDim;
  const keys = contiguous(permute(k, [0, 2, 1, 3])).toArray() as Float32Array; // [B, T, KV, hd]
  const values = contiguous(permute(v, [0, 2, 1, 3])).toArray() as Float32Array;
  for (let b = 0; b < batch; b++) {
    hook.append(layer, b, keys.subarray(b * rowFloats, (b + 1) * rowFloats), values.subarray(b * rowFloats, (b + 1) * rowFloats), tokens);
  }
  if (tokens === 1) {
    const qData = contiguous(q).toArray() as Float32Array; // [B, H, 1, hd] = [B, H, hd]
    const out = new Float32Array(batch * heads * headDim);
    hook.decode(layer, qData, out, heads);
    return new Tensor(out, 'f32', [batch, 1, heads * headDim]);
  }
  // Prefill (dense): this call's tokens attend to themselves and to what the row stored before.
  const rows: Tensor[] = [];
  for (let b = 0; b < batch; b++) {
    const start = cache.startPositions[b] ?? 0;
    let kRow = reshape(narrow(k, 0, b, 1), [kvHeads, tokens, headDim]);
    let vRow = reshape(narrow(v, 0, b, 1), [kvHeads, tokens, headDim]);
    if (start > 0) {
      kRow = concat([storedPositions(hook, 'keys', layer, b, kvHeads, start, headDim), kRow], 1);
      vRow = concat([storedPositions(hook, 'values', layer, b, kvHeads, start, headDim), vRow], 1);
    }
    const observe: AttentionObserver | undefined = hook.observePrefill
      ? (weights, _firstRow, blockRows, visible) => hook.observePrefill!(layer, b, weights.toArray() as Float32Array, heads, blockRows, visible)
      : undefined;
    const qRow = reshape(narrow(q, 0, b, 1), [kvHeads, group, tokens, headDim]);
    rows.push(reshape(blockAttention(qRow, kRow, vRow, start, null, null, maxScoreElements, observe), [1, heads, tokens, headDim]));
  }
  return mergeHeads(rows.length === 1 ? rows[0]! : concat(rows, 0));
}

/** A mask over [B|1, H|1, T|1, S] reshaped to broadcast against grouped scores [B, KV, G, T, S]. */
function groupedMask(mask: Tensor, kvHeads: number, group: number): Tensor {
  if (mask.rank < 3) return mask;
  const headAxis = mask.rank - 3;
  const maskHeads = mask.shape[headAxis]!;
  if (maskHeads !== 1 && maskHeads !== kvHeads * group) throw new Error(`attention: mask ${formatShape(mask.shape)} does not broadcast over ${kvHeads * group} heads`);
  const split = maskHeads === 1 ? [1, 1] : [kvHeads, group];
  return reshape(mask, [...mask.shape.slice(0, headAxis), ...split, ...mask.shape.slice(headAxis + 1)]);
}

/**
 * Attention for query groups sharing keys: q [..., G, T, hd] (G query heads read the same keys),
 * k and v [..., S, hd]. Causal when queryOffset is a number (query row t sits at position
 * queryOffset + t, key j at position j); `mask` broadcasts against the scores [..., G, T, S].
 * Returns [..., G, T, hd]. Long queries are split into blocks of rows so that no block of scores
 * exceeds maxScoreElements, and each causal block reads only the keys it can see.
 */
function blockAttention(
  q: Tensor,
  k: Tensor,
  v: Tensor,
  queryOffset: number | null,
  mask: Tensor | null,
  probsDropout: AttentionDropout | null,
  maxScoreElements: number,
  observe?: AttentionObserver,
): Tensor {
  const rank = q.rank;
  const lead = q.shape.slice(0, -3);
  const group = q.shape[rank - 3]!;
  const tokens = q.shape[rank - 2]!;
  const headDim = q.shape[rank - 1]!;
  const keysTotal = k.shape[k.rank - 2]!;
  const scaled = mul(q, 1 / Math.sqrt(headDim));
  const rowsPerBlock = Math.max(1, Math.floor(maxScoreElements / Math.max(1, numel(lead) * group * keysTotal)));
  const blocks: Tensor[] = [];
  for (let t0 = 0; t0 < tokens; t0 += rowsPerBlock) {
    const rows = Math.min(rowsPerBlock, tokens - t0);
    const visible = queryOffset === null ? keysTotal : queryOffset + t0 + rows;
    const qBlock = rows === tokens ? scaled : narrow(scaled, rank - 2, t0, rows);
    const kBlock = visible === keysTotal ? k : narrow(k, k.rank - 2, 0, visible);
    const vBlock = visible === keysTotal ? v : narrow(v, v.rank - 2, 0, visible);
    // The G heads of a group share keys: one [G * rows, hd] x [hd, visible] product per group.
    const scores = reshape(matmul(reshape(qBlock, [...lead, group * rows, headDim]), kBlock, { transposeB: true }), [...lead, group, rows, visible]);
    const causalBias = queryOffset === null ? null : causalMask(rows, visible, queryOffset + t0);
    const maskBias = mask ? maskRows(mask, t0, rows, tokens, visible, keysTotal) : null;
    const bias = causalBias && maskBias ? add(causalBias, maskBias) : (causalBias ?? maskBias);
    let weights = bias ? softmax(scores, -1, { mask: bias }) : softmax(scores, -1);
    if (probsDropout) weights = dropout(weights, probsDropout.p, probsDropout.rng, probsDropout.training);
    observe?.(weights, t0, rows, visible);
    blocks.push(reshape(matmul(reshape(weights, [...lead, group * rows, visible]), vBlock), [...lead, group, rows, headDim]));
  }
  return blocks.length === 1 ? blocks[0]! : concat(blocks, rank - 2);
}

/** The part of a mask [..., T|1, S|1] that a block of query rows and visible keys sees. */
function maskRows(mask: Tensor, t0: number, rows: number, tokens: number, visible: number, keys: number): Tensor {
  let m = mask;
  const r = m.rank;
  if (r >= 2 && m.shape[r - 2] !== 1 && rows !== tokens) m = narrow(m, r - 2, t0, rows);
  if (m.shape[r - 1] !== 1 && visible !== keys) m = narrow(m, r - 1, 0, visible);
  return m;
}

/** [rows, keys] of 0 (visible) and -inf (future), or null when every key is visible to every row. */
function causalMask(rows: number, keys: number, firstPosition: number): Tensor | null {
  if (firstPosition + 1 >= keys) return null;
  const data = new Float32Array(rows * keys);
  for (let r = 0; r < rows; r++) {
    const last = firstPosition + r;
    if (last + 1 < keys) data.fill(-Infinity, r * keys + last + 1, (r + 1) * keys);
  }
  return new Tensor(data, 'f32', [rows, keys]);
}

/** The first `length` stored keys or values of a row, [KV, length, hd] (a copy). */
function storedPositions(cache: KvCacheHook, what: 'keys' | 'values', layer: number, row: number, kvHeads: number, length: number, headDim: number): Tensor {
  const out = new Float32Array(kvHeads * length * headDim);
  for (let g = 0; g < kvHeads; g++) {
    const stored = what === 'keys' ? cache.keys(layer, row, g, length) : cache.values(layer, row, g, length);
    out.set(stored.subarray(0, length * headDim), g * length * headDim);
  }
  return new Tensor(out, 'f32', [kvHeads, length, headDim]);
}

/** [B, H, T, hd] -> [B, T, H * hd] */
function mergeHeads(x: Tensor): Tensor {
  const [batch, heads, tokens, headDim] = x.shape as [number, number, number, number];
  return reshape(permute(x, [0, 2, 1, 3]), [batch, tokens, heads * headDim]);
}

/** x [B, T, H * hd] -> [B, H, T, hd] (a view): the layout attention() takes. */
export function splitHeads(x: Tensor, heads: number): Tensor {
  if (x.rank !== 3) throw new Error(`splitHeads: expected [batch, tokens, hidden], got ${formatShape(x.shape)}`);
  const [batch, tokens, hidden] = x.shape as [number, number, number];
  if (hidden % heads !== 0) throw new Error(`splitHeads: hidden size ${hidden} is not divisible by ${heads} heads`);
  return permute(reshape(x, [batch, tokens, heads, hidden / heads]), [0, 2, 1, 3]);
}

export interface SelfAttentionOptions extends ParamInit {
  /** Dropout on the attention probabilities (BERT: 0.1). */
  readonly attentionDropout: number;
  /** Draws the attention-dropout masks; shared with the rest of the model so one state resumes it. */
  readonly dropoutRng: Rng;
}

/**
 * The query/key/value projections and the attention itself (Hugging Face's BertSelfAttention);
 * the output projection belongs to the caller (BERT puts it in attention.output with the norm).
 */
export class SelfAttention extends Module {
  readonly numHeads: number;
  readonly query: Linear;
  readonly key: Linear;
  readonly value: Linear;
  readonly attentionDropout: number;
  readonly dropoutRng: Rng;

  constructor(hiddenSize: number, numHeads: number, options: SelfAttentionOptions) {
    super();
    if (hiddenSize % numHeads !== 0) throw new Error(`SelfAttention: hidden size ${hiddenSize} is not divisible by ${numHeads} heads`);
    this.numHeads = numHeads;
    const { attentionDropout, dropoutRng, ...init } = options;
    this.query = this.module('query', new Linear(hiddenSize, hiddenSize, init));
    this.key = this.module('key', new Linear(hiddenSize, hiddenSize, init));
    this.value = this.module('value', new Linear(hiddenSize, hiddenSize, init));
    this.attentionDropout = attentionDropout;
    this.dropoutRng = dropoutRng;
  }

  /** x [B, S, H], maskBias [B, 1, 1, S] or null -> context [B, S, H] (before the output projection). */
  forward(x: Tensor, maskBias: Tensor | null): Tensor {
    const probsDropout = this.attentionDropout > 0 && this.training ? { p: this.attentionDropout, rng: this.dropoutRng, training: true } : null;
    const heads = (t: Tensor): Tensor => splitHeads(t, this.numHeads);
    return attention(heads(this.query.forward(x)), heads(this.key.forward(x)), heads(this.value.forward(x)), { mask: maskBias, dropout: probsDropout });
  }
}
