// Shared blocks of the decoder-only language models (src/models): projections, norms and tables
// whose storage can come from an allocator (inference places weights in a wasm arena, where the
// kernels read them in place), rotary positions, causal self-attention with a KV-cache hook, MLPs.
// Model files only wire these together under their checkpoint's parameter names.

import { add, gelu, mul, relu, silu } from '../autograd/ops/elementwise.js';
import { embedding } from '../autograd/ops/indexing.js';
import { linear, matmul } from '../autograd/ops/linalg.js';
import { concat, contiguous, narrow, permute, reshape } from '../autograd/ops/movement.js';
import { layerNorm, rmsNorm } from '../autograd/ops/norm.js';
import { rope, ropeTables, type RopeTables } from '../autograd/ops/rope.js';
import { softmax } from '../autograd/ops/softmax.js';
import type { RopeLayout } from '../ops/kernels.js';
import type { Rng } from '../tensor/rng.js';
import { formatShape, numel } from '../tensor/shape.js';
import { Tensor } from '../tensor/tensor.js';
import { normal_ } from './init.js';
import { Module } from './module.js';

/** Storage for a parameter of `floats` elements, zero-filled (e.g. WasmKernels.allocF32). */
export type FloatAllocator = (floats: number) => Float32Array;

export interface BlockInit {
  /** Random N(0, std²) weights from this generator; without one, weights start at zero (to be loaded). */
  readonly rng?: Rng | undefined;
  /** Default 0.02 (GPT-2 / Llama initialisation). */
  readonly std?: number | undefined;
  readonly alloc?: FloatAllocator | undefined;
  /** False registers frozen parameters (inference). Default true. */
  readonly trainable?: boolean | undefined;
}

function newParam(shape: readonly number[], init: BlockInit, fill: 'random' | 'zeros' | 'ones'): Tensor {
  const n = numel(shape);
  const data = init.alloc ? init.alloc(n) : new Float32Array(n);
  if (data.length !== n) throw new Error(`allocator returned ${data.length} floats for a ${formatShape(shape)} parameter`);
  const t = new Tensor(data, 'f32', shape);
  if (fill === 'ones') data.fill(1);
  else if (fill === 'random' && init.rng) normal_(t, init.rng, { std: init.std ?? 0.02 });
  return t;
}

/** y = x Wᵀ + b with W [out, in] (nn.Linear's layout; Llama, GPT-NeoX). */
export class DenseProjection extends Module {
  readonly weight: Tensor;
  readonly bias: Tensor | null;

  constructor(inFeatures: number, outFeatures: number, bias: boolean, init: BlockInit) {
    super();
    const requiresGrad = init.trainable ?? true;
    this.weight = this.param('weight', newParam([outFeatures, inFeatures], init, 'random'), { requiresGrad });
    this.bias = bias ? this.param('bias', newParam([outFeatures], init, 'zeros'), { requiresGrad }) : null;
  }

  forward(x: Tensor): Tensor {
    return linear(x, this.weight, this.bias);
  }
}

/** y = x W + b with W [in, out]: GPT-2's Conv1D layout, kept as stored so names and shapes match the checkpoint. */
export class Conv1dProjection extends Module {
  readonly weight: Tensor;
  readonly bias: Tensor;

  constructor(inFeatures: number, outFeatures: number, init: BlockInit) {
    super();
    const requiresGrad = init.trainable ?? true;
    this.weight = this.param('weight', newParam([inFeatures, outFeatures], init, 'random'), { requiresGrad });
    this.bias = this.param('bias', newParam([outFeatures], init, 'zeros'), { requiresGrad });
  }

  forward(x: Tensor): Tensor {
    const inFeatures = this.weight.shape[0]!;
    const y = add(matmul(reshape(x, [-1, inFeatures]), this.weight), this.bias);
    return reshape(y, [...x.shape.slice(0, -1), this.weight.shape[1]!]);
  }
}

/** RMSNorm (weight) or LayerNorm (weight and bias) over the last axis. */
export class Norm extends Module {
  readonly kind: 'rms' | 'layer';
  readonly eps: number;
  readonly weight: Tensor;
  readonly bias: Tensor | null;

  constructor(kind: 'rms' | 'layer', dim: number, eps: number, init: BlockInit) {
    super();
    this.kind = kind;
    this.eps = eps;
    const requiresGrad = init.trainable ?? true;
    this.weight = this.param('weight', newParam([dim], init, 'ones'), { requiresGrad });
    this.bias = kind === 'layer' ? this.param('bias', newParam([dim], init, 'zeros'), { requiresGrad }) : null;
  }

  forward(x: Tensor): Tensor {
    return this.kind === 'rms' ? rmsNorm(x, this.weight, this.eps) : layerNorm(x, this.weight, this.bias, this.eps);
  }
}

/** A lookup table [rows, dim] (token or learned position embeddings). */
export class Table extends Module {
  readonly weight: Tensor;

  constructor(rows: number, dim: number, init: BlockInit) {
    super();
    this.weight = this.param('weight', newParam([rows, dim], init, 'random'), { requiresGrad: init.trainable ?? true });
  }

  /** ids i32 [...] -> [..., dim] */
  forward(ids: Tensor): Tensor {
    return embedding(this.weight, ids);
  }
}

export type Activation = 'silu' | 'gelu-tanh' | 'gelu-erf' | 'relu';

export function activate(x: Tensor, kind: Activation): Tensor {
  switch (kind) {
    case 'silu':
      return silu(x);
    case 'relu':
      return relu(x);
    default:
      return gelu(x, kind === 'gelu-tanh' ? 'tanh' : 'erf');
  }
}

/** Gated MLP: down(act(gate(x)) * up(x)); SwiGLU with silu (Llama). */
export function gatedMlp(x: Tensor, gate: DenseProjection, up: DenseProjection, down: DenseProjection, activation: Activation = 'silu'): Tensor {
  return down.forward(mul(activate(gate.forward(x), activation), up.forward(x)));
}

// ------------------------------------------------------------------------------------------------
// Positions and attention

export interface RotarySpec {
  readonly layout: RopeLayout;
  readonly theta: number;
  readonly rotaryDim: number;
}

/** RoPE tables for one forward call, shared by all layers. */
export interface RotaryPositions {
  readonly tables: RopeTables;
  readonly layout: RopeLayout;
  readonly rotaryDim: number;
  /**
   * 'sequence': one table row per token, the same positions for every batch row; 'rows': one
   * token per batch row (decoding), one table row per batch row.
   */
  readonly mode: 'sequence' | 'rows';
}

/** Tables for `tokens` tokens per batch row starting at each row's start position. */
export function rotaryPositions(spec: RotarySpec, startPositions: readonly number[], tokens: number): RotaryPositions {
  const uniform = startPositions.every((p) => p === startPositions[0]);
  if (uniform) {
    const start = startPositions[0] ?? 0;
    const positions = Array.from({ length: tokens }, (_, t) => start + t);
    return { tables: ropeTables(positions, spec.rotaryDim, spec.theta), layout: spec.layout, rotaryDim: spec.rotaryDim, mode: 'sequence' };
  }
  if (tokens !== 1) throw new Error(`rotary positions: batch rows at different positions must be decoded one token at a time (got ${tokens} tokens)`);
  return { tables: ropeTables(startPositions, spec.rotaryDim, spec.theta), layout: spec.layout, rotaryDim: spec.rotaryDim, mode: 'rows' };
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

export interface AttentionContext {
  /** Position of each batch row's first token in this call. */
  readonly startPositions: readonly number[];
  readonly rotary: RotaryPositions | null;
  readonly cache: KvCacheHook | null;
  /** Bound on the elements of one block of attention scores; longer prefills are split over query rows. */
  readonly maxScoreElements: number;
}

/** x [B, T, N, hd] -> [B, N, T, hd], rotated when the model uses RoPE. */
function headsFirst(x: Tensor, rotary: RotaryPositions | null): Tensor {
  if (!rotary) return permute(x, [0, 2, 1, 3]);
  const options = { layout: rotary.layout, rotaryDim: rotary.rotaryDim };
  if (rotary.mode === 'sequence') return rope(permute(x, [0, 2, 1, 3]), rotary.tables, options);
  // One token per row at its own position: put the batch axis where rope expects positions.
  const rotated = rope(permute(x, [2, 1, 0, 3]), rotary.tables, options); // [N, 1, B, hd]
  return permute(rotated, [2, 0, 1, 3]);
}

/** Sees each block of attention probabilities of a prefill: [..., G, rows, visibleKeys], rows from firstRow. */
export type AttentionObserver = (weights: Tensor, firstRow: number, rows: number, visibleKeys: number) => void;

/**
 * Causal softmax attention for query groups sharing keys. q [..., G, T, hd] (query row t sits at
 * position queryOffset + t; G query heads read the same keys), k and v [..., S, hd] (key j at
 * position j). Returns [..., G, T, hd]. Long queries are split into blocks of rows so that no block
 * of scores exceeds maxScoreElements, and each block reads only the keys it can see.
 */
export function causalAttention(
  q: Tensor, k: Tensor, v: Tensor, queryOffset: number, maxScoreElements = 1 << 22, observe?: AttentionObserver,
): Tensor {
  const rank = q.rank;
  const lead = q.shape.slice(0, -3);
  const group = q.shape[rank - 3]!;
  const tokens = q.shape[rank - 2]!;
  const headDim = q.shape[rank - 1]!;
  const keysTotal = k.shape[k.rank - 2]!;
  if (k.rank !== rank - 1) throw new Error(`causalAttention: keys ${formatShape(k.shape)} do not match queries ${formatShape(q.shape)}`);
  if (queryOffset + tokens > keysTotal) throw new Error(`causalAttention: ${tokens} queries at offset ${queryOffset} need ${queryOffset + tokens} keys, got ${keysTotal}`);
  const scaled = mul(q, 1 / Math.sqrt(headDim));
  const rowsPerBlock = Math.max(1, Math.floor(maxScoreElements / Math.max(1, numel(lead) * group * keysTotal)));
  const blocks: Tensor[] = [];
  for (let t0 = 0; t0 < tokens; t0 += rowsPerBlock) {
    const rows = Math.min(rowsPerBlock, tokens - t0);
    const visible = queryOffset + t0 + rows;
    const qBlock = rows === tokens ? scaled : narrow(scaled, rank - 2, t0, rows);
    const kBlock = visible === keysTotal ? k : narrow(k, k.rank - 2, 0, visible);
    const vBlock = visible === keysTotal ? v : narrow(v, v.rank - 2, 0, visible);
    // The G heads of a group share keys: one [G * rows, hd] x [hd, visible] product per group.
    const scores = reshape(matmul(reshape(qBlock, [...lead, group * rows, headDim]), kBlock, { transposeB: true }), [...lead, group, rows, visible]);
    const mask = causalMask(rows, visible, queryOffset + t0);
    const weights = mask ? softmax(scores, -1, { mask }) : softmax(scores, -1);
    observe?.(weights, t0, rows, visible);
    blocks.push(reshape(matmul(reshape(weights, [...lead, group * rows, visible]), vBlock), [...lead, group, rows, headDim]));
  }
  return blocks.length === 1 ? blocks[0]! : concat(blocks, rank - 2);
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

/**
 * Multi-head (grouped-query) causal self-attention. q [B, T, H, hd], k and v [B, T, KV, hd], any
 * strides, before RoPE. Returns [B, T, H * hd]. Query head h reads KV head floor(h / (H / KV)).
 */
export function selfAttention(q: Tensor, k: Tensor, v: Tensor, layer: number, ctx: AttentionContext): Tensor {
  const [batch, tokens, heads, headDim] = q.shape as [number, number, number, number];
  const kvHeads = k.shape[2]!;
  const group = heads / kvHeads;
  const qh = headsFirst(q, ctx.rotary); // [B, H, T, hd]
  const kh = headsFirst(k, ctx.rotary); // [B, KV, T, hd]
  const vh = permute(v, [0, 2, 1, 3]); // [B, KV, T, hd]
  const cache = ctx.cache;
  if (!cache) {
    // Training / cache-free evaluation: the keys are this call's tokens.
    const out = causalAttention(reshape(qh, [batch, kvHeads, group, tokens, headDim]), kh, vh, 0, ctx.maxScoreElements);
    return mergeHeads(reshape(out, [batch, heads, tokens, headDim]));
  }
  const rowFloats = tokens * kvHeads * headDim;
  const keys = contiguous(permute(kh, [0, 2, 1, 3])).toArray() as Float32Array; // [B, T, KV, hd]
  const values = contiguous(v).toArray() as Float32Array;
  for (let b = 0; b < batch; b++) {
    cache.append(layer, b, keys.subarray(b * rowFloats, (b + 1) * rowFloats), values.subarray(b * rowFloats, (b + 1) * rowFloats), tokens);
  }
  if (tokens === 1) {
    const qData = contiguous(qh).toArray() as Float32Array; // [B, H, 1, hd] = [B, H, hd]
    const out = new Float32Array(batch * heads * headDim);
    cache.decode(layer, qData, out, heads);
    return new Tensor(out, 'f32', [batch, 1, heads * headDim]);
  }
  // Prefill (dense): this call's tokens attend to themselves and to what the row stored before.
  const rows: Tensor[] = [];
  for (let b = 0; b < batch; b++) {
    const start = ctx.startPositions[b] ?? 0;
    let kRow = reshape(narrow(kh, 0, b, 1), [kvHeads, tokens, headDim]);
    let vRow = reshape(narrow(vh, 0, b, 1), [kvHeads, tokens, headDim]);
    if (start > 0) {
      kRow = concat([storedPositions(cache, 'keys', layer, b, kvHeads, start, headDim), kRow], 1);
      vRow = concat([storedPositions(cache, 'values', layer, b, kvHeads, start, headDim), vRow], 1);
    }
    const observe: AttentionObserver | undefined = cache.observePrefill
      ? (weights, _firstRow, blockRows, visible) => cache.observePrefill!(layer, b, weights.toArray() as Float32Array, heads, blockRows, visible)
      : undefined;
    const qRow = reshape(narrow(qh, 0, b, 1), [kvHeads, group, tokens, headDim]);
    rows.push(reshape(causalAttention(qRow, kRow, vRow, start, ctx.maxScoreElements, observe), [1, heads, tokens, headDim]));
  }
  return mergeHeads(rows.length === 1 ? rows[0]! : concat(rows, 0));
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
