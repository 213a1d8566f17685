// Multi-head self-attention over a padded batch, as bidirectional encoders (BERT, GroupBERT)
// compute it: per-head scaled dot products by batched matmul, an additive padding mask, softmax,
// attention-probability dropout, and the heads merged back. The projections keep Hugging Face's
// BertSelfAttention names (query, key, value), so a checkpoint loads by name.

import { mul } from '../autograd/ops/elementwise.js';
import { matmul } from '../autograd/ops/linalg.js';
import { permute, reshape } from '../autograd/ops/movement.js';
import { softmax } from '../autograd/ops/softmax.js';
import { dropout } from '../autograd/ops/dropout.js';
import type { FloatDType } from '../tensor/dtype.js';
import type { Rng } from '../tensor/rng.js';
import { formatShape } from '../tensor/shape.js';
import { fromArray, type Tensor } from '../tensor/tensor.js';
import { Linear, type WeightInit } from './layers.js';
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
 * softmax(q kᵀ / sqrt(d) + maskBias) v per head. q, k, v: [B, S, H] with H = numHeads * d;
 * maskBias broadcasts against the scores [B, heads, S, S] (e.g. paddingMaskBias's [B, 1, 1, S]).
 * Returns the merged context [B, S, H].
 */
export function multiHeadAttention(
  q: Tensor,
  k: Tensor,
  v: Tensor,
  numHeads: number,
  maskBias: Tensor | null,
  probsDropout: AttentionDropout | null = null,
): Tensor {
  if (q.rank !== 3) throw new Error(`multiHeadAttention: queries must be [batch, seq, hidden], got ${formatShape(q.shape)}`);
  const [batch, seq, hidden] = q.shape as [number, number, number];
  if (hidden % numHeads !== 0) throw new Error(`multiHeadAttention: hidden size ${hidden} is not divisible by ${numHeads} heads`);
  const headDim = hidden / numHeads;
  const keySeq = k.shape[1]!;
  // [B, S, H] -> [B, heads, S, d]; the scale goes on q (S*H multiplies instead of S*S per head).
  const heads = (t: Tensor, s: number): Tensor => permute(reshape(t, [batch, s, numHeads, headDim]), [0, 2, 1, 3]);
  const qh = heads(mul(q, 1 / Math.sqrt(headDim)), seq);
  const kh = heads(k, keySeq);
  const vh = heads(v, keySeq);
  const scores = matmul(qh, kh, { transposeB: true }); // [B, heads, S, Skey]
  let probs = softmax(scores, -1, maskBias ? { mask: maskBias } : {});
  if (probsDropout) probs = dropout(probs, probsDropout.p, probsDropout.rng, probsDropout.training);
  const context = matmul(probs, vh); // [B, heads, S, d]
  return reshape(permute(context, [0, 2, 1, 3]), [batch, seq, hidden]);
}

export interface SelfAttentionOptions {
  /** Dropout on the attention probabilities (BERT: 0.1). */
  readonly attentionDropout: number;
  /** Draws the attention-dropout masks; shared with the rest of the model so one state resumes it. */
  readonly dropoutRng: Rng;
  readonly init: WeightInit;
  readonly rng?: Rng | undefined;
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
    const linear = { init: options.init, rng: options.rng };
    this.query = this.module('query', new Linear(hiddenSize, hiddenSize, linear));
    this.key = this.module('key', new Linear(hiddenSize, hiddenSize, linear));
    this.value = this.module('value', new Linear(hiddenSize, hiddenSize, linear));
    this.attentionDropout = options.attentionDropout;
    this.dropoutRng = options.dropoutRng;
  }

  /** x [B, S, H], maskBias [B, 1, 1, S] or null -> context [B, S, H] (before the output projection). */
  forward(x: Tensor, maskBias: Tensor | null): Tensor {
    const probsDropout = this.attentionDropout > 0 && this.training ? { p: this.attentionDropout, rng: this.dropoutRng, training: true } : null;
    return multiHeadAttention(this.query.forward(x), this.key.forward(x), this.value.forward(x), this.numHeads, maskBias, probsDropout);
  }
}
