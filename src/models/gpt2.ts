// GPT-2: learned absolute positions, pre-norm LayerNorm blocks, one fused c_attn projection, GELU
// (tanh) MLP, output tied to the token embedding. Projections are Conv1D with weights stored
// [in, out]; they are kept that way so parameter names and shapes equal GPT2LMHeadModel's.

import { add } from '../autograd/ops/elementwise.js';
import { linear } from '../autograd/ops/linalg.js';
import { narrow, reshape } from '../autograd/ops/movement.js';
import { activate, createNorm, Embedding, Linear, type LayerNorm, type RMSNorm } from '../nn/layers.js';
import type { ParamInit } from '../nn/init.js';
import { inputMajorLayout } from '../nn/weight-layout.js';
import { Module, ModuleList } from '../nn/module.js';
import { Tensor } from '../tensor/tensor.js';
import { CausalLM, causalSelfAttention, decoderParamInit, type AttentionContext, type DecoderBlock } from './decoder-common.js';
import type { ModelInitOptions } from './model-init.js';
import type { LlmConfig } from './llm-config.js';

class Gpt2Attention extends Module {
  readonly cAttn: Linear;
  readonly cProj: Linear;

  constructor(readonly config: LlmConfig, init: ParamInit) {
    super();
    const d = config.hiddenSize;
    this.cAttn = this.module('c_attn', new Linear(d, 3 * d, { ...init, layout: inputMajorLayout }));
    this.cProj = this.module('c_proj', new Linear(d, d, { ...init, layout: inputMajorLayout }));
  }

  forward(x: Tensor, layer: number, ctx: AttentionContext): Tensor {
    const [batch, tokens] = x.shape as [number, number];
    const { numHeads: heads, headDim } = this.config;
    // c_attn's output is [q | k | v], each [heads, headDim].
    const qkv = reshape(this.cAttn.forward(x), [batch, tokens, 3 * heads, headDim]);
    const q = narrow(qkv, 2, 0, heads);
    const k = narrow(qkv, 2, heads, heads);
    const v = narrow(qkv, 2, 2 * heads, heads);
    return this.cProj.forward(causalSelfAttention(q, k, v, layer, ctx));
  }
}

class Gpt2Mlp extends Module {
  readonly cFc: Linear;
  readonly cProj: Linear;

  constructor(readonly config: LlmConfig, init: ParamInit) {
    super();
    this.cFc = this.module('c_fc', new Linear(config.hiddenSize, config.intermediateSize, { ...init, layout: inputMajorLayout }));
    this.cProj = this.module('c_proj', new Linear(config.intermediateSize, config.hiddenSize, { ...init, layout: inputMajorLayout }));
  }

  forward(x: Tensor): Tensor {
    return this.cProj.forward(activate(this.cFc.forward(x), this.config.activation));
  }
}

class Gpt2Block extends Module implements DecoderBlock {
  readonly ln1: LayerNorm | RMSNorm;
  readonly attn: Gpt2Attention;
  readonly ln2: LayerNorm | RMSNorm;
  readonly mlp: Gpt2Mlp;

  constructor(config: LlmConfig, init: ParamInit) {
    super();
    this.ln1 = this.module('ln_1', createNorm(config.norm, config.hiddenSize, config.normEps, init));
    this.attn = this.module('attn', new Gpt2Attention(config, init));
    this.ln2 = this.module('ln_2', createNorm(config.norm, config.hiddenSize, config.normEps, init));
    this.mlp = this.module('mlp', new Gpt2Mlp(config, init));
  }

  forward(h: Tensor, layer: number, ctx: AttentionContext): Tensor {
    const x = add(h, this.attn.forward(this.ln1.forward(h), layer, ctx));
    return add(x, this.mlp.forward(this.ln2.forward(x)));
  }
}

class Gpt2Body extends Module {
  readonly wte: Embedding;
  readonly wpe: Embedding;
  readonly h: ModuleList<Gpt2Block>;
  readonly lnF: LayerNorm | RMSNorm;

  constructor(config: LlmConfig, init: ParamInit) {
    super();
    this.wte = this.module('wte', new Embedding(config.vocabSize, config.hiddenSize, init));
    this.wpe = this.module('wpe', new Embedding(config.maxPositions, config.hiddenSize, init));
    this.h = this.module('h', new ModuleList(Array.from({ length: config.numLayers }, () => new Gpt2Block(config, init))));
    this.lnF = this.module('ln_f', createNorm(config.norm, config.hiddenSize, config.normEps, init));
  }
}

/** GPT2LMHeadModel: `transformer.*`, the output tied to transformer.wte. */
export class Gpt2LMHeadModel extends CausalLM {
  readonly transformer: Gpt2Body;
  readonly #blocks: readonly Gpt2Block[];

  constructor(config: LlmConfig, options: ModelInitOptions = {}) {
    super(config);
    const init = decoderParamInit(options);
    if (config.architecture !== 'gpt2') throw new Error(`Gpt2LMHeadModel: config is for ${config.architecture}`);
    this.transformer = this.module('transformer', new Gpt2Body(config, init));
    this.#blocks = [...this.transformer.h];
  }

  protected embed(ids: Tensor, startPositions: readonly number[]): Tensor {
    const [batch, tokens] = ids.shape as [number, number];
    const positions = new Int32Array(batch * tokens);
    for (let b = 0; b < batch; b++) for (let t = 0; t < tokens; t++) positions[b * tokens + t] = startPositions[b]! + t;
    const positionIds = new Tensor(positions, 'i32', [batch, tokens]);
    return add(this.transformer.wte.forward(ids), this.transformer.wpe.forward(positionIds));
  }

  protected blocks(): readonly DecoderBlock[] {
    return this.#blocks;
  }

  protected finalNorm(h: Tensor): Tensor {
    return this.transformer.lnF.forward(h);
  }

  protected project(x: Tensor): Tensor {
    return linear(x, this.transformer.wte.weight);
  }
}
