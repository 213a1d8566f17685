// GPT-NeoX / Pythia: LayerNorm, one fused query_key_value projection whose output rows are laid
// out [heads, (q, k, v), headDim], partial rotary (rotary_pct of each head, rotate_half layout),
// GELU MLP, and the parallel residual x + attn(ln1(x)) + mlp(ln2(x)). Names as GPTNeoXForCausalLM.

import { add } from '../autograd/ops/elementwise.js';
import { linear } from '../autograd/ops/linalg.js';
import { narrow, reshape } from '../autograd/ops/movement.js';
import { activate, DenseProjection, Norm, selfAttention, Table, type AttentionContext } from '../nn/decoder.js';
import { Module, ModuleList } from '../nn/module.js';
import type { Tensor } from '../tensor/tensor.js';
import { CausalLM, type DecoderBlock, type ModelBuildOptions } from './decoder-common.js';
import type { LlmConfig } from './llm-config.js';

class NeoxAttention extends Module {
  readonly queryKeyValue: DenseProjection;
  readonly dense: DenseProjection;

  constructor(readonly config: LlmConfig, init: ModelBuildOptions) {
    super();
    const d = config.hiddenSize;
    this.queryKeyValue = this.module('query_key_value', new DenseProjection(d, 3 * d, true, init));
    this.dense = this.module('dense', new DenseProjection(d, d, true, init));
  }

  forward(x: Tensor, layer: number, ctx: AttentionContext): Tensor {
    const [batch, tokens] = x.shape as [number, number];
    const { numHeads: heads, headDim } = this.config;
    const qkv = reshape(this.queryKeyValue.forward(x), [batch, tokens, heads, 3 * headDim]);
    const q = narrow(qkv, 3, 0, headDim);
    const k = narrow(qkv, 3, headDim, headDim);
    const v = narrow(qkv, 3, 2 * headDim, headDim);
    return this.dense.forward(selfAttention(q, k, v, layer, ctx));
  }
}

class NeoxMlp extends Module {
  readonly up: DenseProjection;
  readonly down: DenseProjection;

  constructor(readonly config: LlmConfig, init: ModelBuildOptions) {
    super();
    this.up = this.module('dense_h_to_4h', new DenseProjection(config.hiddenSize, config.intermediateSize, true, init));
    this.down = this.module('dense_4h_to_h', new DenseProjection(config.intermediateSize, config.hiddenSize, true, init));
  }

  forward(x: Tensor): Tensor {
    return this.down.forward(activate(this.up.forward(x), this.config.activation));
  }
}

class NeoxBlock extends Module implements DecoderBlock {
  readonly inputNorm: Norm;
  readonly postAttentionNorm: Norm;
  readonly attention: NeoxAttention;
  readonly mlp: NeoxMlp;

  constructor(readonly config: LlmConfig, init: ModelBuildOptions) {
    super();
    this.inputNorm = this.module('input_layernorm', new Norm(config.norm, config.hiddenSize, config.normEps, init));
    this.postAttentionNorm = this.module('post_attention_layernorm', new Norm(config.norm, config.hiddenSize, config.normEps, init));
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
  readonly embedIn: Table;
  readonly layers: ModuleList<NeoxBlock>;
  readonly finalNorm: Norm;

  constructor(config: LlmConfig, init: ModelBuildOptions) {
    super();
    this.embedIn = this.module('embed_in', new Table(config.vocabSize, config.hiddenSize, init));
    this.layers = this.module('layers', new ModuleList(Array.from({ length: config.numLayers }, () => new NeoxBlock(config, init))));
    this.finalNorm = this.module('final_layer_norm', new Norm(config.norm, config.hiddenSize, config.normEps, init));
  }
}

/** GPTNeoXForCausalLM: `gpt_neox.*` and `embed_out.weight` (absent when tied). */
export class GptNeoxForCausalLM extends CausalLM {
  readonly gptNeox: NeoxBody;
  readonly embedOut: DenseProjection | null;
  readonly #blocks: readonly NeoxBlock[];

  constructor(config: LlmConfig, init: ModelBuildOptions = {}) {
    super(config);
    if (config.architecture !== 'gpt-neox') throw new Error(`GptNeoxForCausalLM: config is for ${config.architecture}`);
    this.gptNeox = this.module('gpt_neox', new NeoxBody(config, init));
    this.embedOut = config.tieWordEmbeddings ? null : this.module('embed_out', new DenseProjection(config.hiddenSize, config.vocabSize, false, init));
    this.#blocks = [...this.gptNeox.layers];
  }

  protected embed(ids: Tensor): Tensor {
    return this.gptNeox.embedIn.forward(ids);
  }

  protected blocks(): readonly DecoderBlock[] {
    return this.#blocks;
  }

  protected head(h: Tensor): Tensor {
    const x = this.gptNeox.finalNorm.forward(h);
    return this.embedOut ? this.embedOut.forward(x) : linear(x, this.gptNeox.embedIn.weight);
  }
}
