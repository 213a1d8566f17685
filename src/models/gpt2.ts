// GPT-2: learned absolute positions, pre-norm LayerNorm blocks, one fused c_attn projection, GELU
// (tanh) MLP, output tied to the token embedding. Projections are Conv1D with weights stored
// [in, out]; they are kept that way so parameter names and shapes equal GPT2LMHeadModel's.

import { add } from '../autograd/ops/elementwise.js';
import { linear } from '../autograd/ops/linalg.js';
import { narrow, reshape } from '../autograd/ops/movement.js';
import { activate, Conv1dProjection, Norm, selfAttention, Table, type AttentionContext } from '../nn/decoder.js';
import { Module, ModuleList } from '../nn/module.js';
import { Tensor } from '../tensor/tensor.js';
import { CausalLM, type DecoderBlock, type ModelBuildOptions } from './decoder-common.js';
import type { LlmConfig } from './llm-config.js';

class Gpt2Attention extends Module {
  readonly cAttn: Conv1dProjection;
  readonly cProj: Conv1dProjection;

  constructor(readonly config: LlmConfig, init: ModelBuildOptions) {
    super();
    const d = config.hiddenSize;
    this.cAttn = this.module('c_attn', new Conv1dProjection(d, 3 * d, init));
    this.cProj = this.module('c_proj', new Conv1dProjection(d, d, init));
  }

  forward(x: Tensor, layer: number, ctx: AttentionContext): Tensor {
    const [batch, tokens] = x.shape as [number, number];
    const { numHeads: heads, headDim } = this.config;
    // c_attn's output is [q | k | v], each [heads, headDim].
    const qkv = reshape(this.cAttn.forward(x), [batch, tokens, 3 * heads, headDim]);
    const q = narrow(qkv, 2, 0, heads);
    const k = narrow(qkv, 2, heads, heads);
    const v = narrow(qkv, 2, 2 * heads, heads);
    return this.cProj.forward(selfAttention(q, k, v, layer, ctx));
  }
}

class Gpt2Mlp extends Module {
  readonly cFc: Conv1dProjection;
  readonly cProj: Conv1dProjection;

  constructor(readonly config: LlmConfig, init: ModelBuildOptions) {
    super();
    this.cFc = this.module('c_fc', new Conv1dProjection(config.hiddenSize, config.intermediateSize, init));
    this.cProj = this.module('c_proj', new Conv1dProjection(config.intermediateSize, config.hiddenSize, init));
  }

  forward(x: Tensor): Tensor {
    return this.cProj.forward(activate(this.cFc.forward(x), this.config.activation));
  }
}

class Gpt2Block extends Module implements DecoderBlock {
  readonly ln1: Norm;
  readonly attn: Gpt2Attention;
  readonly ln2: Norm;
  readonly mlp: Gpt2Mlp;

  constructor(config: LlmConfig, init: ModelBuildOptions) {
    super();
    this.ln1 = this.module('ln_1', new Norm(config.norm, config.hiddenSize, config.normEps, init));
    this.attn = this.module('attn', new Gpt2Attention(config, init));
    this.ln2 = this.module('ln_2', new Norm(config.norm, config.hiddenSize, config.normEps, init));
    this.mlp = this.module('mlp', new Gpt2Mlp(config, init));
  }

  forward(h: Tensor, layer: number, ctx: AttentionContext): Tensor {
    const x = add(h, this.attn.forward(this.ln1.forward(h), layer, ctx));
    return add(x, this.mlp.forward(this.ln2.forward(x)));
  }
}

class Gpt2Body extends Module {
  readonly wte: Table;
  readonly wpe: Table;
  readonly h: ModuleList<Gpt2Block>;
  readonly lnF: Norm;

  constructor(config: LlmConfig, init: ModelBuildOptions) {
    super();
    this.wte = this.module('wte', new Table(config.vocabSize, config.hiddenSize, init));
    this.wpe = this.module('wpe', new Table(config.maxPositions, config.hiddenSize, init));
    this.h = this.module('h', new ModuleList(Array.from({ length: config.numLayers }, () => new Gpt2Block(config, init))));
    this.lnF = this.module('ln_f', new Norm(config.norm, config.hiddenSize, config.normEps, init));
  }
}

/** GPT2LMHeadModel: `transformer.*`, the output tied to transformer.wte. */
export class Gpt2LMHeadModel extends CausalLM {
  readonly transformer: Gpt2Body;
  readonly #blocks: readonly Gpt2Block[];

  constructor(config: LlmConfig, init: ModelBuildOptions = {}) {
    super(config);
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

  protected head(h: Tensor): Tensor {
    return linear(this.transformer.lnF.forward(h), this.transformer.wte.weight);
  }
}
