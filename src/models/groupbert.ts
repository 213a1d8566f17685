// GroupBERT (Chelombiev et al. 2021, arXiv 2106.05822): each layer is a sequence of residual
// modules, by default convolution -> FFN -> attention -> FFN, each pre-norm
// (x + dropout(body(LayerNorm(x)))), with a final LayerNorm after the last layer. The convolution
// module is a GLU, a grouped 1-D convolution, LayerNorm, SiLU and a dense projection; the FFNs have a
// grouped down-projection and a dense mixer. Every piece is a config field, for ablations.
// Embeddings and pre-training heads are BERT's (names under `groupbert.` and `cls.`).

import { add } from '../autograd/ops/elementwise.js';
import { cast, reshape } from '../autograd/ops/movement.js';
import { paddingMaskBias, SelfAttention } from '../nn/attention.js';
import { GluConvolution, GroupedFeedForward } from '../nn/blocks.js';
import { EncoderEmbeddings, modelDropout, Pooler, PreTrainingHeads } from '../nn/encoder-heads.js';
import type { ParamInit } from '../nn/init.js';
import { LayerNorm, Linear } from '../nn/layers.js';
import { Module, ModuleList } from '../nn/module.js';
import { Rng } from '../tensor/rng.js';
import type { Tensor } from '../tensor/tensor.js';
import { encoderInit, type ModelInitOptions } from './bert.js';
import {
  encoderConfigFromJson,
  PreTrainingModel,
  selectPositions,
  validateEncoderConfig,
  type EncoderConfig,
  type EncoderInputs,
  type PreTrainingForwardOptions,
  type PreTrainingOutputs,
} from './pretraining.js';

export type GroupBertModuleKind = 'conv' | 'ffn' | 'attention';

export interface GroupBertConfig extends EncoderConfig {
  /** The residual modules of a layer, in order (GroupBERT: conv, ffn, attention, ffn). */
  readonly moduleOrder: readonly GroupBertModuleKind[];
  /** 'pre': x + body(norm(x)) with a final LayerNorm (GroupBERT); 'post': norm(x + body(x)) (BERT's placement). */
  readonly norm: 'pre' | 'post';
  /** Convolution kernel size (GroupBERT: 7). */
  readonly convKernelSize: number;
  /** Channels per convolution group (GroupBERT: 16). */
  readonly convGroupSize: number;
  /** Groups of each FFN's down-projection (GroupBERT: 4; 1 = dense). */
  readonly ffnGroups: number;
  /** The dense H -> H map after the grouped down-projection. */
  readonly ffnMixer: boolean;
}

/** GroupBERT's choices on top of an encoder config. */
export const GROUPBERT_DEFAULTS = {
  moduleOrder: ['conv', 'ffn', 'attention', 'ffn'],
  norm: 'pre',
  convKernelSize: 7,
  convGroupSize: 16,
  ffnGroups: 4,
  ffnMixer: true,
} as const satisfies Omit<GroupBertConfig, keyof EncoderConfig>;

export function validateGroupBertConfig(config: GroupBertConfig, where: string): void {
  validateEncoderConfig(config, where);
  const kinds: readonly string[] = ['conv', 'ffn', 'attention'];
  if (config.moduleOrder.length === 0 || config.moduleOrder.some((k) => !kinds.includes(k))) {
    throw new Error(`${where}: moduleOrder must list modules among conv, ffn, attention, got [${config.moduleOrder.join(', ')}]`);
  }
  if (config.norm !== 'pre' && config.norm !== 'post') throw new Error(`${where}: norm must be 'pre' or 'post', got '${String(config.norm)}'`);
  if (config.moduleOrder.includes('conv')) {
    if (!Number.isInteger(config.convKernelSize) || config.convKernelSize < 1) throw new Error(`${where}: convKernelSize must be a positive integer, got ${config.convKernelSize}`);
    if (!Number.isInteger(config.convGroupSize) || config.convGroupSize < 1 || config.hiddenSize % config.convGroupSize !== 0) {
      throw new Error(`${where}: convGroupSize ${config.convGroupSize} must divide hiddenSize ${config.hiddenSize}`);
    }
  }
  if (config.moduleOrder.includes('ffn')) {
    const g = config.ffnGroups;
    if (!Number.isInteger(g) || g < 1 || config.hiddenSize % g !== 0 || config.intermediateSize % g !== 0) {
      throw new Error(`${where}: ffnGroups ${g} must divide hiddenSize ${config.hiddenSize} and intermediateSize ${config.intermediateSize}`);
    }
  }
}

/** Self-attention followed by its dense output projection. */
class AttentionBody extends Module {
  readonly self: SelfAttention;
  readonly output: Linear;

  constructor(config: GroupBertConfig, init: ParamInit, dropoutRng: Rng) {
    super();
    const h = config.hiddenSize;
    this.self = this.module('self', new SelfAttention(h, config.numHeads, { attentionDropout: config.attentionDropout, dropoutRng, ...init }));
    this.output = this.module('output', new Linear(h, h, init));
  }
}

type Body = AttentionBody | GluConvolution | GroupedFeedForward;

/** One residual module: `norm` and `body`, applied pre- or post-norm with dropout on the branch. */
class ResidualModule extends Module {
  readonly kind: GroupBertModuleKind;
  readonly norm: LayerNorm;
  readonly body: Body;

  constructor(kind: GroupBertModuleKind, config: GroupBertConfig, init: ParamInit, dropoutRng: Rng) {
    super();
    this.kind = kind;
    const h = config.hiddenSize;
    this.norm = this.module('norm', new LayerNorm(h, { ...init, eps: config.layerNormEps }));
    if (kind === 'attention') this.body = this.module('body', new AttentionBody(config, init, dropoutRng));
    else if (kind === 'conv') {
      const options = { kernelSize: config.convKernelSize, groupSize: config.convGroupSize, layerNormEps: config.layerNormEps, ...init };
      this.body = this.module('body', new GluConvolution(h, options));
    } else {
      const options = { intermediateSize: config.intermediateSize, groups: config.ffnGroups, mixer: config.ffnMixer, ...init };
      this.body = this.module('body', new GroupedFeedForward(h, options));
    }
  }

  applyBody(h: Tensor, masks: LayerMasks): Tensor {
    const body = this.body;
    if (body instanceof AttentionBody) return body.output.forward(body.self.forward(h, masks.bias));
    if (body instanceof GluConvolution) return body.forward(h, masks.tokens);
    return body.forward(h);
  }
}

interface LayerMasks {
  /** Additive attention bias [B, 1, 1, S], or null without padding. */
  readonly bias: Tensor | null;
  /** 1 for tokens, 0 for padding, [B, S, 1] (zeroes padded positions before the convolution), or null. */
  readonly tokens: Tensor | null;
}

export class GroupBertLayer extends Module {
  readonly config: GroupBertConfig;
  readonly residuals: ResidualModule[] = [];
  readonly dropoutRng: Rng;

  constructor(config: GroupBertConfig, init: ParamInit, dropoutRng: Rng) {
    super();
    this.config = config;
    this.dropoutRng = dropoutRng;
    const counts = new Map<GroupBertModuleKind, number>();
    for (const kind of config.moduleOrder) counts.set(kind, (counts.get(kind) ?? 0) + 1);
    const seen = new Map<GroupBertModuleKind, number>();
    for (const kind of config.moduleOrder) {
      const index = (seen.get(kind) ?? 0) + 1;
      seen.set(kind, index);
      // conv, ffn1, attention, ffn2: numbered only when a kind repeats.
      const name = counts.get(kind)! > 1 ? `${kind}${index}` : kind;
      this.residuals.push(this.module(name, new ResidualModule(kind, config, init, dropoutRng)));
    }
  }

  forward(x: Tensor, masks: LayerMasks): Tensor {
    let h = x;
    const p = this.config.hiddenDropout;
    for (const residual of this.residuals) {
      if (this.config.norm === 'pre') {
        h = add(h, modelDropout(residual.applyBody(residual.norm.forward(h), masks), p, this.dropoutRng, this.training));
      } else {
        h = residual.norm.forward(add(h, modelDropout(residual.applyBody(h, masks), p, this.dropoutRng, this.training)));
      }
    }
    return h;
  }
}

class GroupBertEncoder extends Module {
  readonly layer: ModuleList<GroupBertLayer>;
  /** After the last layer of a pre-norm stack (which otherwise leaves the residual stream unnormalised). */
  readonly finalNorm: LayerNorm | null;

  constructor(config: GroupBertConfig, init: ParamInit, dropoutRng: Rng) {
    super();
    this.layer = this.module('layer', new ModuleList<GroupBertLayer>());
    for (let i = 0; i < config.numLayers; i++) this.layer.push(new GroupBertLayer(config, init, dropoutRng));
    this.finalNorm = config.norm === 'pre' ? this.module('final_norm', new LayerNorm(config.hiddenSize, { ...init, eps: config.layerNormEps })) : null;
  }
}

/** Embeddings, GroupBERT encoder and pooler. */
export class GroupBertModel extends Module {
  readonly embeddings: EncoderEmbeddings;
  readonly encoder: GroupBertEncoder;
  readonly pooler: Pooler;

  /** `encoderInit` (default `init`) builds the encoder layers: its linearLayout makes their weights' layouts. */
  constructor(config: GroupBertConfig, init: ParamInit, dropoutRng: Rng, encoderInit: ParamInit = init) {
    super();
    this.embeddings = this.module('embeddings', new EncoderEmbeddings(config, init, dropoutRng));
    this.encoder = this.module('encoder', new GroupBertEncoder(config, encoderInit, dropoutRng));
    this.pooler = this.module('pooler', new Pooler(config.hiddenSize, init));
  }

  forward(inputs: EncoderInputs): Tensor {
    const mask = inputs.attentionMask ?? null;
    const masks: LayerMasks = {
      bias: mask ? paddingMaskBias(mask) : null,
      tokens: mask ? reshape(cast(mask, 'f32'), [mask.shape[0]!, mask.shape[1]!, 1]) : null,
    };
    let h = this.embeddings.forward(inputs.inputIds, inputs.tokenTypeIds ?? null);
    for (const layer of this.encoder.layer) h = layer.forward(h, masks);
    return this.encoder.finalNorm ? this.encoder.finalNorm.forward(h) : h;
  }
}

export class GroupBertForPreTraining extends PreTrainingModel {
  readonly architecture = 'groupbert' as const;
  readonly config: GroupBertConfig;
  readonly dropoutRng: Rng;
  readonly groupbert: GroupBertModel;
  readonly cls: PreTrainingHeads;

  constructor(config: GroupBertConfig, options: ModelInitOptions = {}) {
    super();
    validateGroupBertConfig(config, 'GroupBERT config');
    this.config = Object.freeze({ ...config, moduleOrder: Object.freeze([...config.moduleOrder]) });
    this.dropoutRng = options.dropoutRng ?? new Rng(0);
    const init = encoderInit(config, options);
    this.groupbert = this.module('groupbert', new GroupBertModel(this.config, init, this.dropoutRng, { ...init, linearLayout: options.encoderLinearLayout }));
    this.cls = this.module('cls', new PreTrainingHeads(config, this.groupbert.embeddings.wordEmbeddings.weight, init));
  }

  encode(inputs: EncoderInputs): Tensor {
    return this.groupbert.forward(inputs);
  }

  forward(inputs: EncoderInputs, options: PreTrainingForwardOptions = {}): PreTrainingOutputs {
    const sequence = this.encode(inputs);
    const mlmLogits = this.cls.predictions.forward(selectPositions(sequence, options.mlmPositions));
    const nspLogits = (options.withNsp ?? true) ? this.cls.seqRelationship.forward(this.groupbert.pooler.forward(sequence)) : null;
    return { mlmLogits, nspLogits };
  }
}

/** A GroupBertConfig from its JSON form (checkpoints, fixtures); errors name `source` and the field. */
export function groupBertConfigFromJson(json: unknown, source: string): GroupBertConfig {
  const base = encoderConfigFromJson(json, source);
  const record = json as Record<string, unknown>;
  const order = record['moduleOrder'];
  if (!Array.isArray(order) || !order.every((k): k is GroupBertModuleKind => k === 'conv' || k === 'ffn' || k === 'attention')) {
    throw new Error(`${source}: config field 'moduleOrder' must be an array of 'conv', 'ffn', 'attention', got ${JSON.stringify(order)}`);
  }
  const num = (key: 'convKernelSize' | 'convGroupSize' | 'ffnGroups'): number => {
    const v = record[key];
    if (typeof v !== 'number') throw new Error(`${source}: config field '${key}' must be a number, got ${JSON.stringify(v)}`);
    return v;
  };
  const norm = record['norm'];
  if (norm !== 'pre' && norm !== 'post') throw new Error(`${source}: config field 'norm' must be 'pre' or 'post', got ${JSON.stringify(norm)}`);
  const mixer = record['ffnMixer'];
  if (typeof mixer !== 'boolean') throw new Error(`${source}: config field 'ffnMixer' must be true or false, got ${JSON.stringify(mixer)}`);
  const config: GroupBertConfig = {
    ...base,
    moduleOrder: Object.freeze([...order]),
    norm,
    convKernelSize: num('convKernelSize'),
    convGroupSize: num('convGroupSize'),
    ffnGroups: num('ffnGroups'),
    ffnMixer: mixer,
  };
  validateGroupBertConfig(config, source);
  return Object.freeze(config);
}
