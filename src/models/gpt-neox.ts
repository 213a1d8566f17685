// GPT-NeoX / Pythia: LayerNorm, one fused query_key_value projection whose output rows are laid
// out [heads, (q, k, v), headDim], partial rotary (rotary_pct of each head, rotate_half layout),
// GELU MLP, and the parallel residual x + attn(ln1(x)) + mlp(ln2(x)). Names as GPTNeoXForCausalLM.

import { add } from '../autograd/ops/elementwise.js';
import { linear } from '../autograd/ops/linalg.js';
import { narrow, reshape } from '../autograd/ops/movement.js';
import { activate, createNorm, Embedding, Linear, type LayerNorm, type RMSNorm } from '../nn/layers.js';
import type { ParamInit } from '../nn/init.js';
import { Module, ModuleList } from '../nn/module.js';
import type { Tensor } from '../tensor/tensor.js';
import { CausalLM, causalSelfAttention, decoderParamInit, type AttentionContext, type DecoderBlock } from './decoder-common.js';
import type { ModelInitOptions } from './model-init.js';
import type { LlmConfig } from './llm-config.js';

class NeoxAttention extends Module {
  readonly queryKeyValue: Linear;
  readonly dense: Linear;

  constructor(readonly config: LlmConfig, init: ParamInit) {
    super();
    const d = config.hiddenSize;
    this.queryKeyValue = this.module('query_key_value', new Linear(d, 3 * d, { ...init, bias: true }));
    this.dense = this.module('dense', new Linear(d, d, { ...init, bias: true }));
  }

  forward(x: Tensor, layer: number, ctx: AttentionContext): Tensor {
    const [batch, tokens] = x.shape as [number, number];
    const { numHeads: heads, headDim } = this.config;
    const qkv = reshape(this.queryKeyValue.forward(x), [batch, tokens, heads, 3 * headDim]);
    const q = narrow(qkv, 3, 0, headDim);
    const k = narrow(qkv, 3, headDim, headDim);
    const v = narrow(qkv, 3, 2 * headDim, headDim);
    return this.dense.forward(causalSelfAttention(q, k, v, layer, ctx));
  }
}

class NeoxMlp extends Module {
  readonly up: Linear;
  readonly down: Linear;

  constructor(readonly config: LlmConfig, init: ParamInit) {
    super();
    this.up = this.module('dense_h_to_4h', new Linear(config.hiddenSize, config.intermediateSize, { ...init, bias: true }));
    this.down = this.module('dense_4h_to_h', new Linear(config.intermediateSize, config.hiddenSize, { ...init, bias: true }));
  }

  forward(x: Tensor): Tensor {
    return this.down.forward(activate(this.up.forward(x), this.config.activation));
  }
}

class NeoxBlock extends Module implements DecoderBlock {
  readonly inputNorm: LayerNorm | RMSNorm;
  readonly postAttentionNorm: LayerNorm | RMSNorm;
  readonly attention: NeoxAttention;
  readonly mlp: NeoxMlp;

  constructor(readonly config: LlmConfig, init: ParamInit) {
    super();
    this.inputNorm = this.module('input_layernorm', createNorm(config.norm, config.hiddenSize, config.normEps, init));
    this.postAttentionNorm = this.module('post_attention_layernorm', createNorm(config.norm, config.hiddenSize, config.normEps, init));
    this.attention = this.module('attention', new NeoxAttention(config, init));
    this.mlp = this.module('mlp', new NeoxMlp(config, init));
  }

  forward(h: Tensor, layer: number, ctx: AttentionContext): Tensor {
    const attended = this.attention.forward(this.inputNorm.forward(h), layer, ctx);
    if (this.config.parallelResidual) return add(add(h, attended), this.mlp.forward(this.postAttentionNorm.forward(h)));
    const x = add(h, attended);
    return add(x, this.mlp.forward(this.postAttentionNorm.forward(x)));
  }
}

class NeoxBody extends Module {
  readonly embedIn: Embedding;
  readonly layers: ModuleList<NeoxBlock>;
  readonly finalNorm: LayerNorm | RMSNorm;

  constructor(config: LlmConfig, init: ParamInit) {
    super();
    this.embedIn = this.module('embed_in', new Embedding(config.vocabSize, config.hiddenSize, init));
    this.layers = this.module('layers', new ModuleList(Array.from({ length: config.numLayers }, () => new NeoxBlock(config, init))));
    this.finalNorm = this.module('final_layer_norm', createNorm(config.norm, config.hiddenSize, config.normEps, init));
  }
}

/** GPTNeoXForCausalLM: `gpt_neox.*` and `embed_out.weight` (absent when tied). */
export class GptNeoxForCausalLM extends CausalLM {
  readonly gptNeox: NeoxBody;
  readonly embedOut: Linear | null;
  readonly #blocks: readonly NeoxBlock[];

  constructor(config: LlmConfig, options: ModelInitOptions = {}) {
    super(config);
    const init = decoderParamInit(options);
    if (config.architecture !== 'gpt-neox') throw new Error(`GptNeoxForCausalLM: config is for ${config.architecture}`);
    this.gptNeox = this.module('gpt_neox', new NeoxBody(config, init));
    this.embedOut = config.tieWordEmbeddings ? null : this.module('embed_out', new Linear(config.hiddenSize, config.vocabSize, { ...init, bias: false }));
    this.#blocks = [...this.gptNeox.layers];
  }

  protected embed(ids: Tensor): Tensor {
    return this.gptNeox.embedIn.forward(ids);
  }

  protected blocks(): readonly DecoderBlock[] {
    return this.#blocks;
  }

  protected finalNorm(h: Tensor): Tensor {
    return this.gptNeox.finalNorm.forward(h);
  }

  protected project(x: Tensor): Tensor {
    return this.embedOut ? this.embedOut.forward(x) : linear(x, this.gptNeox.embedIn.weight);
  }
}
