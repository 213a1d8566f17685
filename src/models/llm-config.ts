// Decoder language-model configs: the typed, frozen record the Llama, GPT-NeoX and GPT-2 families
// share (discriminated by `architecture`), the one builder of Llama-family configs, checking that
// a config is one the model files implement, and writing a config back out as config.json or GGUF
// metadata. Reading them from files is in llm-config-readers.ts.

import { ggufValue, type GgufValue } from '../io/gguf-format.js';
export type LlmArchitecture = 'llama' | 'gpt-neox' | 'gpt2';

/** RoPE pairing: 'interleaved' rotates (x[2i], x[2i+1]) (Meta, llama2.c, GGUF); 'half' rotates (x[i], x[i + d/2]) (HF Llama, NeoX). */
export type RopeLayout = 'interleaved' | 'half';

export type LlmActivation = 'silu' | 'gelu-erf' | 'gelu-tanh' | 'relu';

export interface LlmConfig {
  readonly architecture: LlmArchitecture;
  readonly vocabSize: number;
  readonly hiddenSize: number;
  readonly intermediateSize: number;
  readonly numLayers: number;
  readonly numHeads: number;
  /** Equal to numHeads without GQA. */
  readonly numKvHeads: number;
  readonly headDim: number;
  /** The context length the model was configured for (llama2.c: seq_len; GGUF: context_length). */
  readonly maxPositions: number;
  /** RMSNorm (Llama) or LayerNorm with bias (NeoX, GPT-2). */
  readonly norm: 'rms' | 'layer';
  readonly normEps: number;
  /** null for learned absolute positions (GPT-2). */
  readonly rope: { readonly layout: RopeLayout; readonly rotaryDim: number; readonly theta: number } | null;
  /** The raw rope_scaling object (e.g. Llama 3.1's), null when absent; the model decides what it supports. */
  readonly ropeScaling: Readonly<Record<string, unknown>> | null;
  /** NeoX: attention and MLP both read the block input (x + attn(ln1 x) + mlp(ln2 x)). */
  readonly parallelResidual: boolean;
  readonly activation: LlmActivation;
  /** Llama: SwiGLU (gate_proj, up_proj, down_proj); NeoX/GPT-2: one hidden layer. */
  readonly gatedMlp: boolean;
  readonly attentionBias: boolean;
  readonly mlpBias: boolean;
  readonly tieWordEmbeddings: boolean;
  /** Mistral's sliding window, null when absent. */
  readonly slidingWindow: number | null;
  readonly bosTokenId: number | null;
  /** The first EOS id when the config lists several. */
  readonly eosTokenId: number | null;
}

/** What distinguishes one Llama-family model from another; the rest is the family's (RMSNorm, SwiGLU, sequential residual). */
export interface LlamaFields {
  readonly vocabSize: number;
  readonly hiddenSize: number;
  readonly intermediateSize: number;
  readonly numLayers: number;
  readonly numHeads: number;
  /** Default numHeads (multi-head attention). */
  readonly numKvHeads?: number | undefined;
  /** Default hiddenSize / numHeads. */
  readonly headDim?: number | undefined;
  readonly maxPositions: number;
  readonly normEps: number;
  readonly ropeLayout: RopeLayout;
  /** Default 10000. */
  readonly ropeTheta?: number | undefined;
  /** Default the head dimension. */
  readonly rotaryDim?: number | undefined;
  readonly ropeScaling?: Readonly<Record<string, unknown>> | null | undefined;
  /** Default 'silu'. */
  readonly activation?: LlmActivation | undefined;
  readonly attentionBias?: boolean | undefined;
  readonly mlpBias?: boolean | undefined;
  readonly tieWordEmbeddings: boolean;
  readonly slidingWindow?: number | null | undefined;
  readonly bosTokenId?: number | null | undefined;
  readonly eosTokenId?: number | null | undefined;
}

/** The frozen LlmConfig of a Llama-family model (every reader and llamaConfig build it here). */
export function llamaFamilyConfig(fields: LlamaFields): LlmConfig {
  const headDim = fields.headDim ?? fields.hiddenSize / fields.numHeads;
  return Object.freeze({
    architecture: 'llama',
    vocabSize: fields.vocabSize,
    hiddenSize: fields.hiddenSize,
    intermediateSize: fields.intermediateSize,
    numLayers: fields.numLayers,
    numHeads: fields.numHeads,
    numKvHeads: fields.numKvHeads ?? fields.numHeads,
    headDim,
    maxPositions: fields.maxPositions,
    norm: 'rms',
    normEps: fields.normEps,
    rope: { layout: fields.ropeLayout, rotaryDim: fields.rotaryDim ?? headDim, theta: fields.ropeTheta ?? 10000 },
    ropeScaling: fields.ropeScaling ?? null,
    parallelResidual: false,
    activation: fields.activation ?? 'silu',
    gatedMlp: true,
    attentionBias: fields.attentionBias ?? false,
    mlpBias: fields.mlpBias ?? false,
    tieWordEmbeddings: fields.tieWordEmbeddings,
    slidingWindow: fields.slidingWindow ?? null,
    bosTokenId: fields.bosTokenId ?? null,
    eosTokenId: fields.eosTokenId ?? null,
  });
}


/** A Llama-family model made here (not read from a file): the shape, with the family's defaults for the rest. */
export type LlamaShape = Pick<LlamaFields, 'vocabSize' | 'hiddenSize' | 'intermediateSize' | 'numLayers' | 'numHeads' | 'numKvHeads' | 'maxPositions' | 'ropeTheta' | 'bosTokenId' | 'eosTokenId'> & {
  /** Default 1e-5. */
  readonly normEps?: number | undefined;
  /** Default 'half' (Hugging Face's layout, what config.json implies). */
  readonly ropeLayout?: RopeLayout | undefined;
  /** Default true: the output projection is the token embedding. */
  readonly tieWordEmbeddings?: boolean | undefined;
};

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
