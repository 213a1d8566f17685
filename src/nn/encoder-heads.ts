// The parts BERT-family encoders share around their layers, under Hugging Face's BERT names:
// token + position + segment embeddings with their LayerNorm, the post-norm residual output
// (dense, dropout, add, LayerNorm), the pooler, and the pre-training heads (masked-LM prediction
// with its transform and a decoder tied to the word embeddings; next-sentence classifier).

import { add, tanh } from '../autograd/ops/elementwise.js';
import { linear } from '../autograd/ops/linalg.js';
import { narrow, reshape } from '../autograd/ops/movement.js';
import { dropout } from '../autograd/ops/dropout.js';
import type { Rng } from '../tensor/rng.js';
import { formatShape } from '../tensor/shape.js';
import { zeros, type Tensor } from '../tensor/tensor.js';
import { parameterTensor, type ParamInit } from './init.js';
import { activate, Embedding, LayerNorm, Linear, type Activation } from './layers.js';
import { Module } from './module.js';

/** Hugging Face's hidden_act values: 'gelu' is the exact (erf) form, 'gelu_new' the tanh approximation. */
export type HiddenActivation = 'gelu' | 'gelu_new';

/** The activation a config's hidden_act names. */
export function hiddenActivation(act: HiddenActivation): Activation {
  return act === 'gelu_new' ? 'gelu-tanh' : 'gelu-erf';
}

/** Inverted dropout driven by the model's shared generator; the identity when p = 0 or not training. */
export function modelDropout(x: Tensor, p: number, rng: Rng, training: boolean): Tensor {
  return p > 0 && training ? dropout(x, p, rng, true) : x;
}

export interface EmbeddingsConfig {
  readonly vocabSize: number;
  readonly hiddenSize: number;
  readonly maxPositions: number;
  readonly typeVocabSize: number;
  readonly layerNormEps: number;
  readonly hiddenDropout: number;
}

/** word_embeddings + position_embeddings + token_type_embeddings, LayerNorm, dropout (BertEmbeddings). */
export class EncoderEmbeddings extends Module {
  readonly config: EmbeddingsConfig;
  readonly wordEmbeddings: Embedding;
  readonly positionEmbeddings: Embedding;
  readonly tokenTypeEmbeddings: Embedding;
  readonly layerNorm: LayerNorm;
  readonly dropoutRng: Rng;

  constructor(config: EmbeddingsConfig, init: ParamInit, dropoutRng: Rng) {
    super();
    this.config = config;
    this.wordEmbeddings = this.module('word_embeddings', new Embedding(config.vocabSize, config.hiddenSize, init));
    this.positionEmbeddings = this.module('position_embeddings', new Embedding(config.maxPositions, config.hiddenSize, init));
    this.tokenTypeEmbeddings = this.module('token_type_embeddings', new Embedding(config.typeVocabSize, config.hiddenSize, init));
    this.layerNorm = this.module('LayerNorm', new LayerNorm(config.hiddenSize, { ...init, eps: config.layerNormEps }));
    this.dropoutRng = dropoutRng;
  }

  /** inputIds and tokenTypeIds i32 [B, S] (token types default to 0) -> [B, S, H]. */
  forward(inputIds: Tensor, tokenTypeIds: Tensor | null): Tensor {
    if (inputIds.rank !== 2) throw new Error(`embeddings: input ids must be [batch, seq], got ${formatShape(inputIds.shape)}`);
    const seq = inputIds.shape[1]!;
    if (seq > this.config.maxPositions) throw new Error(`embeddings: sequence length ${seq} exceeds max_position_embeddings ${this.config.maxPositions}`);
    // Positions 0..S-1: a slice of the table, broadcast over the batch.
    const positions = narrow(this.positionEmbeddings.weight, 0, 0, seq); // [S, H]
    const types = tokenTypeIds ?? zeros(inputIds.shape, { dtype: 'i32' });
    let h = add(add(this.wordEmbeddings.forward(inputIds), positions), this.tokenTypeEmbeddings.forward(types));
    h = this.layerNorm.forward(h);
    return modelDropout(h, this.config.hiddenDropout, this.dropoutRng, this.training);
  }
}

/** dense, dropout, residual add, LayerNorm: BERT's BertSelfOutput and BertOutput (post-norm). */
export class DenseResidualNorm extends Module {
  readonly dense: Linear;
  readonly layerNorm: LayerNorm;
  readonly dropoutP: number;
  readonly dropoutRng: Rng;

  constructor(inFeatures: number, hiddenSize: number, layerNormEps: number, dropoutP: number, dropoutRng: Rng, init: ParamInit) {
    super();
    this.dense = this.module('dense', new Linear(inFeatures, hiddenSize, init));
    this.layerNorm = this.module('LayerNorm', new LayerNorm(hiddenSize, { ...init, eps: layerNormEps }));
    this.dropoutP = dropoutP;
    this.dropoutRng = dropoutRng;
  }

  forward(h: Tensor, residual: Tensor): Tensor {
    const projected = modelDropout(this.dense.forward(h), this.dropoutP, this.dropoutRng, this.training);
    return this.layerNorm.forward(add(projected, residual));
  }
}

/** tanh(dense(first token)): the sequence summary the next-sentence classifier reads (BertPooler). */
export class Pooler extends Module {
  readonly dense: Linear;

  constructor(hiddenSize: number, init: ParamInit) {
    super();
    this.dense = this.module('dense', new Linear(hiddenSize, hiddenSize, init));
  }

  /** [B, S, H] -> [B, H] */
  forward(sequence: Tensor): Tensor {
    const [batch, , hidden] = sequence.shape as [number, number, number];
    const first = reshape(narrow(sequence, 1, 0, 1), [batch, hidden]);
    return tanh(this.dense.forward(first));
  }
}

/** Registers tensors owned elsewhere under this module's names (tied weights). */
class TiedLinear extends Module {
  readonly weight: Tensor;
  readonly bias: Tensor;

  constructor(weight: Tensor, bias: Tensor) {
    super();
    this.weight = this.param('weight', weight);
    this.bias = this.param('bias', bias);
  }
}

export interface MaskedLmHeadConfig {
  readonly hiddenSize: number;
  readonly vocabSize: number;
  readonly layerNormEps: number;
  readonly hiddenAct: HiddenActivation;
}

/**
 * BertLMPredictionHead: transform (dense, activation, LayerNorm), then a decoder whose weight is the
 * word-embedding table and whose bias is `bias` (also listed as decoder.bias, as Hugging Face ties it).
 */
export class MaskedLmHead extends Module {
  readonly config: MaskedLmHeadConfig;
  readonly bias: Tensor;
  readonly transform: MaskedLmTransform;
  readonly decoder: TiedLinear;

  constructor(config: MaskedLmHeadConfig, wordEmbeddings: Tensor, init: ParamInit) {
    super();
    this.config = config;
    this.bias = this.param('bias', parameterTensor([config.vocabSize], init), { requiresGrad: init.trainable ?? true });
    this.transform = this.module('transform', new MaskedLmTransform(config, init));
    this.decoder = this.module('decoder', new TiedLinear(wordEmbeddings, this.bias));
  }

  /** h [..., H] -> logits [..., V] */
  forward(h: Tensor): Tensor {
    return linear(this.transform.forward(h), this.decoder.weight, this.bias);
  }
}

class MaskedLmTransform extends Module {
  readonly dense: Linear;
  readonly layerNorm: LayerNorm;
  readonly act: HiddenActivation;

  constructor(config: MaskedLmHeadConfig, init: ParamInit) {
    super();
    this.dense = this.module('dense', new Linear(config.hiddenSize, config.hiddenSize, init));
    this.layerNorm = this.module('LayerNorm', new LayerNorm(config.hiddenSize, { ...init, eps: config.layerNormEps }));
    this.act = config.hiddenAct;
  }

  forward(h: Tensor): Tensor {
    return this.layerNorm.forward(activate(this.dense.forward(h), hiddenActivation(this.act)));
  }
}

/** The pre-training heads (BertPreTrainingHeads): `predictions` (masked LM) and `seq_relationship` (NSP). */
export class PreTrainingHeads extends Module {
  readonly predictions: MaskedLmHead;
  readonly seqRelationship: Linear;

  constructor(config: MaskedLmHeadConfig, wordEmbeddings: Tensor, init: ParamInit) {
    super();
    this.predictions = this.module('predictions', new MaskedLmHead(config, wordEmbeddings, init));
    this.seqRelationship = this.module('seq_relationship', new Linear(config.hiddenSize, 2, init));
  }
}
