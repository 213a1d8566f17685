// The Llama family (Llama 1-3, Mistral, TinyLlama, llama2.c models): pre-norm blocks with RMSNorm,
// SwiGLU MLP, RoPE (either layout, from the config), grouped-query attention, optional biases
// (attention_bias, mlp_bias). Parameter names are
// Hugging Face's LlamaForCausalLM names; GGUF and llama2.c files are mapped onto them when loaded.

import { linear } from '../autograd/ops/linalg.js';
import { reshape } from '../autograd/ops/movement.js';
import { add, mul } from '../autograd/ops/elementwise.js';
import { activate, createNorm, Embedding, Linear, type LayerNorm, type RMSNorm } from '../nn/layers.js';
import type { ParamInit } from '../nn/init.js';
import { Module, ModuleList } from '../nn/module.js';
import type { Tensor } from '../tensor/tensor.js';
import { CausalLM, causalSelfAttention, decoderParamInit, type AttentionContext, type DecoderBlock } from './decoder-common.js';
import type { ModelInitOptions } from './model-init.js';
import type { LlmConfig } from './llm-config.js';

class LlamaAttention extends Module {
  readonly q: Linear;
  readonly k: Linear;
  readonly v: Linear;
  readonly o: Linear;

  constructor(readonly config: LlmConfig, init: ParamInit) {
    super();
    const { hiddenSize: d, numHeads: heads, numKvHeads: kvHeads, headDim } = config;
    const bias = config.attentionBias;
    this.q = this.module('q_proj', new Linear(d, heads * headDim, { ...init, bias: bias }));
    this.k = this.module('k_proj', new Linear(d, kvHeads * headDim, { ...init, bias: bias }));
    this.v = this.module('v_proj', new Linear(d, kvHeads * headDim, { ...init, bias: bias }));
    this.o = this.module('o_proj', new Linear(heads * headDim, d, { ...init, bias: bias }));
  }

  forward(x: Tensor, layer: number, ctx: AttentionContext): Tensor {
    const [batch, tokens] = x.shape as [number, number];
    const { numHeads: heads, numKvHeads: kvHeads, headDim } = this.config;
    const q = reshape(this.q.forward(x), [batch, tokens, heads, headDim]);
    const k = reshape(this.k.forward(x), [batch, tokens, kvHeads, headDim]);
    const v = reshape(this.v.forward(x), [batch, tokens, kvHeads, headDim]);
    return this.o.forward(causalSelfAttention(q, k, v, layer, ctx));
  }
}

class LlamaMlp extends Module {
  readonly gate: Linear;
  readonly up: Linear;
  readonly down: Linear;

  constructor(readonly config: LlmConfig, init: ParamInit) {
    super();
    const { hiddenSize, intermediateSize, mlpBias } = config;
    this.gate = this.module('gate_proj', new Linear(hiddenSize, intermediateSize, { ...init, bias: mlpBias }));
    this.up = this.module('up_proj', new Linear(hiddenSize, intermediateSize, { ...init, bias: mlpBias }));
    this.down = this.module('down_proj', new Linear(intermediateSize, hiddenSize, { ...init, bias: mlpBias }));
  }

  forward(x: Tensor): Tensor {
    // SwiGLU with silu: down(act(gate(x)) * up(x)).
    return this.down.forward(mul(activate(this.gate.forward(x), this.config.activation), this.up.forward(x)));
  }
}

class LlamaBlock extends Module implements DecoderBlock {
  readonly attentionNorm: LayerNorm | RMSNorm;
  readonly attention: LlamaAttention;
  readonly mlpNorm: LayerNorm | RMSNorm;
  readonly mlp: LlamaMlp;

  constructor(config: LlmConfig, init: ParamInit) {
    super();
    this.attentionNorm = this.module('input_layernorm', createNorm(config.norm, config.hiddenSize, config.normEps, init));
    this.attention = this.module('self_attn', new LlamaAttention(config, init));
    this.mlpNorm = this.module('post_attention_layernorm', createNorm(config.norm, config.hiddenSize, config.normEps, init));
    this.mlp = this.module('mlp', new LlamaMlp(config, init));
  }

  forward(h: Tensor, layer: number, ctx: AttentionContext): Tensor {
    const x = add(h, this.attention.forward(this.attentionNorm.forward(h), layer, ctx));
    return add(x, this.mlp.forward(this.mlpNorm.forward(x)));
  }
}

class LlamaBody extends Module {
  readonly embedTokens: Embedding;
  readonly layers: ModuleList<LlamaBlock>;
  readonly norm: LayerNorm | RMSNorm;

  constructor(config: LlmConfig, init: ParamInit) {
    super();
    this.embedTokens = this.module('embed_tokens', new Embedding(config.vocabSize, config.hiddenSize, init));
    this.layers = this.module('layers', new ModuleList(Array.from({ length: config.numLayers }, () => new LlamaBlock(config, init))));
    this.norm = this.module('norm', createNorm(config.norm, config.hiddenSize, config.normEps, init));
  }
}

/** LlamaForCausalLM: `model.*` and `lm_head.weight` (absent when tied to the embedding). */
export class LlamaForCausalLM extends CausalLM {
  readonly model: LlamaBody;
  readonly lmHead: Linear | null;
  readonly #blocks: readonly LlamaBlock[];

  constructor(config: LlmConfig, options: ModelInitOptions = {}) {
    super(config);
    const init = decoderParamInit(options);
    if (config.architecture !== 'llama') throw new Error(`LlamaForCausalLM: config is for ${config.architecture}`);
    this.model = this.module('model', new LlamaBody(config, init));
    this.lmHead = config.tieWordEmbeddings ? null : this.module('lm_head', new Linear(config.hiddenSize, config.vocabSize, { ...init, bias: false }));
    this.#blocks = [...this.model.layers];
  }

  protected embed(ids: Tensor): Tensor {
    return this.model.embedTokens.forward(ids);
  }

  protected blocks(): readonly DecoderBlock[] {
    return this.#blocks;
  }

  protected finalNorm(h: Tensor): Tensor {
    return this.model.norm.forward(h);
  }

  protected project(x: Tensor): Tensor {
    return this.lmHead ? this.lmHead.forward(x) : linear(x, this.model.embedTokens.weight);
  }
}
