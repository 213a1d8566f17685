// BERT (Devlin et al. 2019) for pre-training: post-norm encoder layers (self-attention, then a GELU
// feed-forward of intermediateSize, each followed by dropout, residual add and LayerNorm), the
// masked-LM head tied to the word embeddings, and the next-sentence head. Parameter names are
// Hugging Face's BertForPreTraining names, so its model.safetensors loads with loadStateDict.

import { SelfAttention, paddingMaskBias } from '../nn/attention.js';
import { DenseResidualNorm, EncoderEmbeddings, hiddenActivation, Pooler, PreTrainingHeads } from '../nn/encoder-heads.js';
import type { ParamInit } from '../nn/init.js';
import { activate, Linear } from '../nn/layers.js';
import { Module, ModuleList } from '../nn/module.js';
import { Rng } from '../tensor/rng.js';
import { familyParamInit, type ModelInitOptions } from './model-init.js';
import type { Tensor } from '../tensor/tensor.js';
import {
  PreTrainingModel,
  selectPositions,
  validateEncoderConfig,
  type EncoderConfig,
  type EncoderInputs,
  type PreTrainingForwardOptions,
  type PreTrainingOutputs,
} from './pretraining.js';

export type BertConfig = EncoderConfig;

export type { ModelInitOptions } from './model-init.js';

/** The layers' ParamInit of a BERT-family encoder: N(0, initializerRange²) truncated at 2 std. */
export function encoderInit(config: EncoderConfig, options: ModelInitOptions): ParamInit {
  return familyParamInit(options, { std: config.initializerRange, truncated: true });
}

class BertAttention extends Module {
  readonly self: SelfAttention;
  readonly output: DenseResidualNorm;

  constructor(config: BertConfig, init: ParamInit, dropoutRng: Rng) {
    super();
    const { hiddenSize: h } = config;
    this.self = this.module('self', new SelfAttention(h, config.numHeads, { attentionDropout: config.attentionDropout, dropoutRng, ...init }));
    this.output = this.module('output', new DenseResidualNorm(h, h, config.layerNormEps, config.hiddenDropout, dropoutRng, init));
  }

  forward(x: Tensor, maskBias: Tensor | null): Tensor {
    return this.output.forward(this.self.forward(x, maskBias), x);
  }
}

class BertIntermediate extends Module {
  readonly dense: Linear;

  constructor(config: BertConfig, init: ParamInit) {
    super();
    this.dense = this.module('dense', new Linear(config.hiddenSize, config.intermediateSize, init));
  }
}

export class BertLayer extends Module {
  readonly config: BertConfig;
  readonly attention: BertAttention;
  readonly intermediate: BertIntermediate;
  readonly output: DenseResidualNorm;

  constructor(config: BertConfig, init: ParamInit, dropoutRng: Rng) {
    super();
    this.config = config;
    this.attention = this.module('attention', new BertAttention(config, init, dropoutRng));
    this.intermediate = this.module('intermediate', new BertIntermediate(config, init));
    const { intermediateSize, hiddenSize, layerNormEps, hiddenDropout } = config;
    this.output = this.module('output', new DenseResidualNorm(intermediateSize, hiddenSize, layerNormEps, hiddenDropout, dropoutRng, init));
  }

  /** [B, S, H] -> [B, S, H] */
  forward(x: Tensor, maskBias: Tensor | null): Tensor {
    const attended = this.attention.forward(x, maskBias);
    const inner = activate(this.intermediate.dense.forward(attended), hiddenActivation(this.config.hiddenAct)); // [B, S, I]
    return this.output.forward(inner, attended);
  }
}

class BertEncoder extends Module {
  readonly layer: ModuleList<BertLayer>;

  constructor(config: BertConfig, init: ParamInit, dropoutRng: Rng) {
    super();
    this.layer = this.module('layer', new ModuleList<BertLayer>());
    for (let i = 0; i < config.numLayers; i++) this.layer.push(new BertLayer(config, init, dropoutRng));
  }
}

/** Embeddings, encoder and pooler (Hugging Face's BertModel). */
export class BertModel extends Module {
  readonly embeddings: EncoderEmbeddings;
  readonly encoder: BertEncoder;
  readonly pooler: Pooler;

  /** `encoderInit` (default `init`) builds the encoder layers: its linearLayout makes their weights' layouts. */
  constructor(config: BertConfig, init: ParamInit, dropoutRng: Rng, encoderInit: ParamInit = init) {
    super();
    this.embeddings = this.module('embeddings', new EncoderEmbeddings(config, init, dropoutRng));
    this.encoder = this.module('encoder', new BertEncoder(config, encoderInit, dropoutRng));
    this.pooler = this.module('pooler', new Pooler(config.hiddenSize, init));
  }

  /** The last layer's hidden states [B, S, H]. */
  forward(inputs: EncoderInputs): Tensor {
    const maskBias = inputs.attentionMask ? paddingMaskBias(inputs.attentionMask) : null;
    let h = this.embeddings.forward(inputs.inputIds, inputs.tokenTypeIds ?? null);
    for (const layer of this.encoder.layer) h = layer.forward(h, maskBias);
    return h;
  }
}

/** BertForPreTraining: `bert` (BertModel) and `cls` (masked-LM and next-sentence heads). */
export class BertForPreTraining extends PreTrainingModel {
  readonly architecture = 'bert' as const;
  readonly config: BertConfig;
  readonly dropoutRng: Rng;
  readonly bert: BertModel;
  readonly cls: PreTrainingHeads;

  constructor(config: BertConfig, options: ModelInitOptions = {}) {
    super();
    validateEncoderConfig(config, 'BERT config');
    this.config = Object.freeze({ ...config });
    this.dropoutRng = options.dropoutRng ?? new Rng(0);
    const init = encoderInit(config, options);
    this.bert = this.module('bert', new BertModel(config, init, this.dropoutRng, { ...init, linearLayout: options.encoderLinearLayout }));
    this.cls = this.module('cls', new PreTrainingHeads(config, this.bert.embeddings.wordEmbeddings.weight, init));
  }

  encode(inputs: EncoderInputs): Tensor {
    return this.bert.forward(inputs);
  }

  forward(inputs: EncoderInputs, options: PreTrainingForwardOptions = {}): PreTrainingOutputs {
    const sequence = this.encode(inputs);
    const mlmLogits = this.cls.predictions.forward(selectPositions(sequence, options.mlmPositions));
    const nspLogits = (options.withNsp ?? true) ? this.cls.seqRelationship.forward(this.bert.pooler.forward(sequence)) : null;
    return { mlmLogits, nspLogits };
  }
}
