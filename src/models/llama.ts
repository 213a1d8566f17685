// The Llama family (Llama 1-3, Mistral, TinyLlama, llama2.c models): pre-norm blocks with RMSNorm,
// SwiGLU MLP, RoPE (either layout, from the config), grouped-query attention, optional biases
// (attention_bias, mlp_bias). Parameter names are
// Hugging Face's LlamaForCausalLM names; GGUF and llama2.c files are mapped onto them when loaded.

import { linear } from '../autograd/ops/linalg.js';
import { reshape } from '../autograd/ops/movement.js';
import { add } from '../autograd/ops/elementwise.js';
import { DenseProjection, gatedMlp, Norm, selfAttention, Table, type AttentionContext } from '../nn/decoder.js';
import { Module, ModuleList } from '../nn/module.js';
import type { Tensor } from '../tensor/tensor.js';
import { CausalLM, type DecoderBlock, type ModelBuildOptions } from './decoder-common.js';
import type { LlmConfig } from './llm-config.js';

class LlamaAttention extends Module {
  readonly q: DenseProjection;
  readonly k: DenseProjection;
  readonly v: DenseProjection;
  readonly o: DenseProjection;

  constructor(readonly config: LlmConfig, init: ModelBuildOptions) {
    super();
    const { hiddenSize: d, numHeads: heads, numKvHeads: kvHeads, headDim } = config;
    const bias = config.attentionBias;
    this.q = this.module('q_proj', new DenseProjection(d, heads * headDim, bias, init));
    this.k = this.module('k_proj', new DenseProjection(d, kvHeads * headDim, bias, init));
    this.v = this.module('v_proj', new DenseProjection(d, kvHeads * headDim, bias, init));
    this.o = this.module('o_proj', new DenseProjection(heads * headDim, d, bias, init));
  }

  forward(x: Tensor, layer: number, ctx: AttentionContext): Tensor {
    const [batch, tokens] = x.shape as [number, number];
    const { numHeads: heads, numKvHeads: kvHeads, headDim } = this.config;
    const q = reshape(this.q.forward(x), [batch, tokens, heads, headDim]);
    const k = reshape(this.k.forward(x), [batch, tokens, kvHeads, headDim]);
    const v = reshape(this.v.forward(x), [batch, tokens, kvHeads, headDim]);
    return this.o.forward(selfAttention(q, k, v, layer, ctx));
  }
}

class LlamaMlp extends Module {
  readonly gate: DenseProjection;
  readonly up: DenseProjection;
  readonly down: DenseProjection;

  constructor(readonly config: LlmConfig, init: ModelBuildOptions) {
    super();
    const { hiddenSize, intermediateSize, mlpBias } = config;
    this.gate = this.module('gate_proj', new DenseProjection(hiddenSize, intermediateSize, mlpBias, init));
    this.up = this.module('up_proj', new DenseProjection(hiddenSize, intermediateSize, mlpBias, init));
    this.down = this.module('down_proj', new DenseProjection(intermediateSize, hiddenSize, mlpBias, init));
  }

  forward(x: Tensor): Tensor {
    return gatedMlp(x, this.gate, this.up, this.down, this.config.activation);
  }
}

class LlamaBlock extends Module implements DecoderBlock {
  readonly attentionNorm: Norm;
  readonly attention: LlamaAttention;
  readonly mlpNorm: Norm;
  readonly mlp: LlamaMlp;

  constructor(config: LlmConfig, init: ModelBuildOptions) {
    super();
    this.attentionNorm = this.module('input_layernorm', new Norm(config.norm, config.hiddenSize, config.normEps, init));
    this.attention = this.module('self_attn', new LlamaAttention(config, init));
    this.mlpNorm = this.module('post_attention_layernorm', new Norm(config.norm, config.hiddenSize, config.normEps, init));
    this.mlp = this.module('mlp', new LlamaMlp(config, init));
  }

  forward(h: Tensor, layer: number, ctx: AttentionContext): Tensor {
    const x = add(h, this.attention.forward(this.attentionNorm.forward(h), layer, ctx));
    return add(x, this.mlp.forward(this.mlpNorm.forward(x)));
  }
}

class LlamaBody extends Module {
  readonly embedTokens: Table;
  readonly layers: ModuleList<LlamaBlock>;
  readonly norm: Norm;

  constructor(config: LlmConfig, init: ModelBuildOptions) {
    super();
    this.embedTokens = this.module('embed_tokens', new Table(config.vocabSize, config.hiddenSize, init));
    this.layers = this.module('layers', new ModuleList(Array.from({ length: config.numLayers }, () => new LlamaBlock(config, init))));
    this.norm = this.module('norm', new Norm(config.norm, config.hiddenSize, config.normEps, init));
  }
}

/** LlamaForCausalLM: `model.*` and `lm_head.weight` (absent when tied to the embedding). */
export class LlamaForCausalLM extends CausalLM {
  readonly model: LlamaBody;
  readonly lmHead: DenseProjection | null;
  readonly #blocks: readonly LlamaBlock[];

  constructor(config: LlmConfig, init: ModelBuildOptions = {}) {
    super(config);
    if (config.architecture !== 'llama') throw new Error(`LlamaForCausalLM: config is for ${config.architecture}`);
    this.model = this.module('model', new LlamaBody(config, init));
    this.lmHead = config.tieWordEmbeddings ? null : this.module('lm_head', new DenseProjection(config.hiddenSize, config.vocabSize, false, init));
    this.#blocks = [...this.model.layers];
  }

  protected embed(ids: Tensor): Tensor {
    return this.model.embedTokens.forward(ids);
  }

  protected blocks(): readonly DecoderBlock[] {
    return this.#blocks;
  }

  protected head(h: Tensor): Tensor {
    const x = this.model.norm.forward(h);
    return this.lmHead ? this.lmHead.forward(x) : linear(x, this.model.embedTokens.weight);
  }
}
