// Language-model configs. The typed, frozen record and its readers (Hugging Face config.json, GGUF
// metadata, llama2.c headers) live with the file formats in src/io/model-config.ts; this module
// adds what the models side needs on top: building a config for a new model (train-lm, the decode
// benchmark), checking that a config is one the model files implement, and writing a config back
// out as config.json or GGUF metadata.

import { ggufValue, type GgufValue } from '../io/gguf.js';
import { llamaFamilyConfig, type LlmConfig } from '../io/model-config.js';

export type { LlmActivation, LlmArchitecture, LlmConfig, RopeLayout } from '../io/model-config.js';
export { llmConfigFromHf } from '../io/model-config.js';

export interface LlamaShape {
  readonly vocabSize: number;
  readonly hiddenSize: number;
  readonly intermediateSize: number;
  readonly numLayers: number;
  readonly numHeads: number;
  /** Default numHeads (multi-head attention). */
  readonly numKvHeads?: number | undefined;
  readonly maxPositions: number;
  /** Default 1e-5. */
  readonly normEps?: number | undefined;
  /** Default 10000. */
  readonly ropeTheta?: number | undefined;
  /** Default 'half' (Hugging Face's layout, what config.json implies). */
  readonly ropeLayout?: 'half' | 'interleaved' | undefined;
  /** Default true: the output projection is the token embedding. */
  readonly tieWordEmbeddings?: boolean | undefined;
  readonly bosTokenId?: number | null | undefined;
  readonly eosTokenId?: number | null | undefined;
}

/** A Llama-family config for a model made here (not read from a file). */
export function llamaConfig(shape: LlamaShape): LlmConfig {
  const config = llamaFamilyConfig({
    ...shape,
    normEps: shape.normEps ?? 1e-5,
    ropeLayout: shape.ropeLayout ?? 'half',
    tieWordEmbeddings: shape.tieWordEmbeddings ?? true,
  });
  checkSupported(config, 'llamaConfig');
  return config;
}

/** Throws, naming `source`, for configs the model files do not implement. */
export function checkSupported(config: LlmConfig, source: string): void {
  const positive = { vocabSize: config.vocabSize, hiddenSize: config.hiddenSize, intermediateSize: config.intermediateSize, numLayers: config.numLayers, numHeads: config.numHeads, numKvHeads: config.numKvHeads, headDim: config.headDim, maxPositions: config.maxPositions };
  for (const [key, value] of Object.entries(positive)) {
    if (!Number.isInteger(value) || value <= 0) throw new Error(`${source}: ${key} must be a positive integer, got ${value}`);
  }
  if (config.numHeads % config.numKvHeads !== 0) throw new Error(`${source}: ${config.numHeads} attention heads are not a multiple of ${config.numKvHeads} key/value heads`);
  if (config.ropeScaling) throw new Error(`${source}: rope_scaling ${JSON.stringify(config.ropeScaling)} is not supported`);
  if (config.rope) {
    const { rotaryDim, theta } = config.rope;
    if (!Number.isInteger(rotaryDim) || rotaryDim <= 0 || rotaryDim % 2 !== 0 || rotaryDim > config.headDim) {
      throw new Error(`${source}: rotary dimension ${rotaryDim} must be even and within the head dimension ${config.headDim}`);
    }
    if (!(theta > 0)) throw new Error(`${source}: rope theta must be positive, got ${theta}`);
  }
  if (config.architecture === 'llama' && !config.gatedMlp) throw new Error(`${source}: a Llama-family model without a gated MLP is not supported`);
  if (config.architecture !== 'llama' && config.gatedMlp) throw new Error(`${source}: a gated MLP is only supported for the Llama family`);
  if (config.architecture !== 'llama' && (!config.attentionBias || !config.mlpBias)) throw new Error(`${source}: ${config.architecture} without biases is not supported`);
}

/**
 * Positions a model can attend over: its configured context, and for a sliding-window model
 * (Mistral) no more than the window, since attention beyond it would differ from the reference.
 */
export function contextLength(config: LlmConfig): number {
  return config.slidingWindow !== null ? Math.min(config.maxPositions, config.slidingWindow) : config.maxPositions;
}

/** The config.json of a Llama-family model (what train-lm writes next to its weights). */
export function llmConfigToHf(config: LlmConfig): Record<string, unknown> {
  if (config.architecture !== 'llama' || !config.rope || config.rope.layout !== 'half') {
    throw new Error('llmConfigToHf: only Llama-family configs with the Hugging Face RoPE layout are written');
  }
  return {
    architectures: ['LlamaForCausalLM'],
    model_type: 'llama',
    vocab_size: config.vocabSize,
    hidden_size: config.hiddenSize,
    intermediate_size: config.intermediateSize,
    num_hidden_layers: config.numLayers,
    num_attention_heads: config.numHeads,
    num_key_value_heads: config.numKvHeads,
    head_dim: config.headDim,
    hidden_act: 'silu',
    max_position_embeddings: config.maxPositions,
    rms_norm_eps: config.normEps,
    rope_theta: config.rope.theta,
    attention_bias: config.attentionBias,
    mlp_bias: config.mlpBias,
    tie_word_embeddings: config.tieWordEmbeddings,
    bos_token_id: config.bosTokenId,
    eos_token_id: config.eosTokenId,
    torch_dtype: 'float32',
  };
}

/**
 * GGUF metadata of a Llama-family config (llama.cpp's keys). Weights written with it must use the
 * interleaved RoPE layout, as llama.cpp's converter leaves them.
 */
export function llmConfigToGgufMetadata(config: LlmConfig, name: string): Array<[string, GgufValue]> {
  if (config.architecture !== 'llama' || !config.rope) throw new Error('llmConfigToGgufMetadata: only Llama-family configs are written');
  const u32 = ggufValue.u32;
  const entries: Array<[string, GgufValue]> = [
    ['general.architecture', ggufValue.string('llama')],
    ['general.name', ggufValue.string(name)],
    ['llama.vocab_size', u32(config.vocabSize)],
    ['llama.context_length', u32(config.maxPositions)],
    ['llama.embedding_length', u32(config.hiddenSize)],
    ['llama.block_count', u32(config.numLayers)],
    ['llama.feed_forward_length', u32(config.intermediateSize)],
    ['llama.attention.head_count', u32(config.numHeads)],
    ['llama.attention.head_count_kv', u32(config.numKvHeads)],
    ['llama.rope.dimension_count', u32(config.rope.rotaryDim)],
    ['llama.attention.layer_norm_rms_epsilon', ggufValue.f32(config.normEps)],
    ['llama.rope.freq_base', ggufValue.f32(config.rope.theta)],
  ];
  if (config.bosTokenId !== null) entries.push(['tokenizer.ggml.bos_token_id', u32(config.bosTokenId)]);
  if (config.eosTokenId !== null) entries.push(['tokenizer.ggml.eos_token_id', u32(config.eosTokenId)]);
  return entries;
}
