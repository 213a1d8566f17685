// Reading a decoder LLM's config from its files: Hugging Face config.json (one reader per family),
// GGUF llama.* metadata, and llama2.c headers. Each returns the frozen LlmConfig the model files
// take; errors name the file and the field in the file's own spelling.

import { ggufInteger, ggufNumber, ggufString, type GgufHeader } from '../io/gguf-read.js';
import { configTokenId, MAX_CONFIG_INT } from '../io/hf-folder.js';
import type { Llama2cConfig } from '../io/llama2c.js';
import { llamaFamilyConfig, type LlmActivation, type LlmConfig } from './llm-config.js';

type Json = Record<string, unknown>;

class ConfigReader {
  constructor(
    private readonly json: Json,
    private readonly source: string,
  ) {}

  private fail(key: string, want: string, got: unknown): never {
    throw new Error(`${this.source}: field '${key}' must be ${want}, got ${got === undefined ? 'nothing (missing)' : JSON.stringify(got)}`);
  }

  positiveInt(key: string, fallback?: number): number {
    const v = this.json[key];
    if ((v === undefined || v === null) && fallback !== undefined) return fallback;
    // int32, as in every reference implementation: 1e300 is an integer too, and no model has 2^31 of anything.
    if (typeof v !== 'number' || !Number.isInteger(v) || v <= 0) this.fail(key, 'a positive integer', v);
    if (v > MAX_CONFIG_INT) this.fail(key, `a positive integer of at most ${MAX_CONFIG_INT}`, v);
    return v;
  }

  positiveNumber(key: string, fallback?: number): number {
    const v = this.json[key];
    if ((v === undefined || v === null) && fallback !== undefined) return fallback;
    if (typeof v !== 'number' || !Number.isFinite(v) || v <= 0) this.fail(key, 'a positive number', v);
    return v;
  }

  bool(key: string, fallback: boolean): boolean {
    const v = this.json[key];
    if (v === undefined || v === null) return fallback;
    if (typeof v !== 'boolean') this.fail(key, 'true or false', v);
    return v;
  }

  string(key: string, fallback?: string): string {
    const v = this.json[key];
    if ((v === undefined || v === null) && fallback !== undefined) return fallback;
    if (typeof v !== 'string') this.fail(key, 'a string', v);
    return v;
  }

  tokenId(key: string): number | null {
    return configTokenId(this.json, key, this.source);
  }

  object(key: string): Json | null {
    const v = this.json[key];
    if (v === undefined || v === null) return null;
    if (typeof v !== 'object' || Array.isArray(v)) this.fail(key, 'an object', v);
    return v as Json;
  }

  has(key: string): boolean {
    return this.json[key] !== undefined && this.json[key] !== null;
  }
}

function activationOf(name: string, key: string, source: string): LlmActivation {
  switch (name) {
    case 'silu':
    case 'swish':
      return 'silu';
    case 'gelu':
      return 'gelu-erf';
    case 'gelu_new':
    case 'gelu_pytorch_tanh':
    case 'gelu_fast':
      return 'gelu-tanh';
    case 'relu':
      return 'relu';
    default:
      throw new Error(`${source}: field '${key}' = '${name}' is not a supported activation (silu, gelu, gelu_new, gelu_pytorch_tanh, gelu_fast, relu)`);
  }
}

function checkHeads(config: LlmConfig, source: string, fields: { heads: string; kvHeads: string; hidden: string }): LlmConfig {
  if (config.numHeads % config.numKvHeads !== 0) {
    throw new Error(`${source}: field '${fields.heads}' = ${config.numHeads} is not a multiple of '${fields.kvHeads}' = ${config.numKvHeads}`);
  }
  if (config.rope) {
    if (config.rope.rotaryDim % 2 !== 0 || config.rope.rotaryDim > config.headDim || config.rope.rotaryDim <= 0) {
      throw new Error(`${source}: the rotary dimension ${config.rope.rotaryDim} must be even and within the head dimension ${config.headDim}`);
    }
  }
  return Object.freeze(config);
}

/** A reader over a config.json object; `source` names the file in errors. */
function configReader(json: unknown, source: string): ConfigReader {
  if (typeof json !== 'object' || json === null || Array.isArray(json)) throw new Error(`${source}: config must be a JSON object`);
  return new ConfigReader(json as Json, source);
}

/** A Llama-family config.json (model_type llama or mistral). */
export function llamaConfigFromHf(json: unknown, source: string): LlmConfig {
  const r = configReader(json, source);
  const bosTokenId = r.tokenId('bos_token_id');
  const eosTokenId = r.tokenId('eos_token_id');
  const hiddenSize = r.positiveInt('hidden_size');
  const numHeads = r.positiveInt('num_attention_heads');
  if (!r.has('head_dim') && hiddenSize % numHeads !== 0) {
    throw new Error(`${source}: field 'hidden_size' = ${hiddenSize} is not a multiple of 'num_attention_heads' = ${numHeads}`);
  }
  const headDim = r.positiveInt('head_dim', hiddenSize / numHeads);
  const attentionBias = r.bool('attention_bias', false);
  const slidingWindow = r.has('sliding_window') ? r.positiveInt('sliding_window') : null;
  return checkHeads(
    llamaFamilyConfig({
      vocabSize: r.positiveInt('vocab_size'),
      hiddenSize,
      intermediateSize: r.positiveInt('intermediate_size'),
      numLayers: r.positiveInt('num_hidden_layers'),
      numHeads,
      numKvHeads: r.positiveInt('num_key_value_heads', numHeads),
      headDim,
      maxPositions: r.positiveInt('max_position_embeddings', 2048),
      normEps: r.positiveNumber('rms_norm_eps', 1e-6),
      ropeLayout: 'half',
      ropeTheta: r.positiveNumber('rope_theta', 10000),
      ropeScaling: r.object('rope_scaling'),
      activation: activationOf(r.string('hidden_act', 'silu'), 'hidden_act', source),
      attentionBias,
      mlpBias: r.bool('mlp_bias', false),
      tieWordEmbeddings: r.bool('tie_word_embeddings', false),
      slidingWindow,
      bosTokenId,
      eosTokenId,
    }),
    source,
    { heads: 'num_attention_heads', kvHeads: 'num_key_value_heads', hidden: 'hidden_size' },
  );
}

/** A GPT-NeoX / Pythia config.json (model_type gpt_neox). */
export function gptNeoxConfigFromHf(json: unknown, source: string): LlmConfig {
  const r = configReader(json, source);
  const bosTokenId = r.tokenId('bos_token_id');
  const eosTokenId = r.tokenId('eos_token_id');
  const hiddenSize = r.positiveInt('hidden_size');
  const numHeads = r.positiveInt('num_attention_heads');
  if (hiddenSize % numHeads !== 0) throw new Error(`${source}: field 'hidden_size' = ${hiddenSize} is not a multiple of 'num_attention_heads' = ${numHeads}`);
  const headDim = hiddenSize / numHeads;
  const rotaryPct = r.positiveNumber('rotary_pct', 0.25);
  if (rotaryPct > 1) throw new Error(`${source}: field 'rotary_pct' = ${rotaryPct} must be in (0, 1]`);
  // As the reference: int(head_size * rotary_pct).
  const rotaryDim = Math.floor(headDim * rotaryPct);
  const theta = r.has('rope_theta') ? r.positiveNumber('rope_theta') : r.positiveNumber('rotary_emb_base', 10000);
  return checkHeads(
    {
      architecture: 'gpt-neox',
      vocabSize: r.positiveInt('vocab_size'),
      hiddenSize,
      intermediateSize: r.positiveInt('intermediate_size'),
      numLayers: r.positiveInt('num_hidden_layers'),
      numHeads,
      numKvHeads: numHeads,
      headDim,
      maxPositions: r.positiveInt('max_position_embeddings', 2048),
      norm: 'layer',
      normEps: r.positiveNumber('layer_norm_eps', 1e-5),
      rope: { layout: 'half', rotaryDim, theta },
      ropeScaling: r.object('rope_scaling'),
      parallelResidual: r.bool('use_parallel_residual', true),
      activation: activationOf(r.string('hidden_act', 'gelu'), 'hidden_act', source),
      gatedMlp: false,
      attentionBias: r.bool('attention_bias', true),
      mlpBias: true,
      tieWordEmbeddings: r.bool('tie_word_embeddings', false),
      slidingWindow: null,
      bosTokenId,
      eosTokenId,
    },
    source,
    { heads: 'num_attention_heads', kvHeads: 'num_attention_heads', hidden: 'hidden_size' },
  );
}

/** A GPT-2 config.json (model_type gpt2). */
export function gpt2ConfigFromHf(json: unknown, source: string): LlmConfig {
  const r = configReader(json, source);
  const bosTokenId = r.tokenId('bos_token_id');
  const eosTokenId = r.tokenId('eos_token_id');
  const hiddenSize = r.positiveInt('n_embd');
  const numHeads = r.positiveInt('n_head');
  if (hiddenSize % numHeads !== 0) throw new Error(`${source}: field 'n_embd' = ${hiddenSize} is not a multiple of 'n_head' = ${numHeads}`);
  return checkHeads(
    {
      architecture: 'gpt2',
      vocabSize: r.positiveInt('vocab_size'),
      hiddenSize,
      intermediateSize: r.positiveInt('n_inner', 4 * hiddenSize),
      numLayers: r.positiveInt('n_layer'),
      numHeads,
      numKvHeads: numHeads,
      headDim: hiddenSize / numHeads,
      maxPositions: r.positiveInt('n_positions'),
      norm: 'layer',
      normEps: r.positiveNumber('layer_norm_epsilon', 1e-5),
      rope: null,
      ropeScaling: null,
      parallelResidual: false,
      activation: activationOf(r.string('activation_function', 'gelu_new'), 'activation_function', source),
      gatedMlp: false,
      attentionBias: true,
      mlpBias: true,
      tieWordEmbeddings: r.bool('tie_word_embeddings', true),
      slidingWindow: null,
      bosTokenId,
      eosTokenId,
    },
    source,
    { heads: 'n_head', kvHeads: 'n_head', hidden: 'n_embd' },
  );
}

/** The typed config of a GGUF file with general.architecture = llama (Llama, Mistral, TinyLlama...). */
export function llamaConfigFromGguf(header: GgufHeader): LlmConfig {
  const arch = ggufString(header, 'general.architecture');
  if (arch !== 'llama') throw new Error(`${header.source}: metadata 'general.architecture' = '${arch}' is not supported for GGUF models (supported: llama)`);
  const p = 'llama.';
  const hiddenSize = ggufInteger(header, `${p}embedding_length`);
  const numHeads = ggufInteger(header, `${p}attention.head_count`);
  const numKvHeads = ggufInteger(header, `${p}attention.head_count_kv`, numHeads);
  const positive = (key: string, v: number): number => {
    if (!(v > 0)) throw new Error(`${header.source}: metadata '${key}' = ${v} must be positive`);
    return v;
  };
  positive(`${p}embedding_length`, hiddenSize);
  positive(`${p}attention.head_count`, numHeads);
  positive(`${p}attention.head_count_kv`, numKvHeads);
  if (!header.metadata.has(`${p}attention.key_length`) && hiddenSize % numHeads !== 0) {
    throw new Error(`${header.source}: metadata '${p}embedding_length' = ${hiddenSize} is not a multiple of '${p}attention.head_count' = ${numHeads}`);
  }
  if (numHeads % numKvHeads !== 0) {
    throw new Error(`${header.source}: metadata '${p}attention.head_count' = ${numHeads} is not a multiple of '${p}attention.head_count_kv' = ${numKvHeads}`);
  }
  const headDim = positive(`${p}attention.key_length`, ggufInteger(header, `${p}attention.key_length`, hiddenSize / numHeads));
  const embedding = header.tensors.get('token_embd.weight');
  const tokenCount = header.metadata.get('tokenizer.ggml.tokens');
  const vocabSize = header.metadata.has(`${p}vocab_size`)
    ? ggufInteger(header, `${p}vocab_size`)
    : tokenCount?.type === 'array'
      ? tokenCount.value.length
      : (embedding?.shape[0] ?? 0);
  positive(`${p}vocab_size`, vocabSize);
  const rotaryDim = ggufInteger(header, `${p}rope.dimension_count`, headDim);
  if (rotaryDim % 2 !== 0 || rotaryDim > headDim || rotaryDim <= 0) {
    throw new Error(`${header.source}: metadata '${p}rope.dimension_count' = ${rotaryDim} must be even and within the head dimension ${headDim}`);
  }
  const scalingType = ggufString(header, `${p}rope.scaling.type`, 'none');
  const bos = header.metadata.has('tokenizer.ggml.bos_token_id') ? ggufInteger(header, 'tokenizer.ggml.bos_token_id') : null;
  const eos = header.metadata.has('tokenizer.ggml.eos_token_id') ? ggufInteger(header, 'tokenizer.ggml.eos_token_id') : null;
  return llamaFamilyConfig({
    vocabSize,
    hiddenSize,
    intermediateSize: positive(`${p}feed_forward_length`, ggufInteger(header, `${p}feed_forward_length`)),
    numLayers: positive(`${p}block_count`, ggufInteger(header, `${p}block_count`)),
    numHeads,
    numKvHeads,
    headDim,
    maxPositions: positive(`${p}context_length`, ggufInteger(header, `${p}context_length`, 2048)),
    normEps: positive(`${p}attention.layer_norm_rms_epsilon`, ggufNumber(header, `${p}attention.layer_norm_rms_epsilon`, 1e-5)),
    // llama.cpp's converters keep (or restore) Meta's interleaved q/k row order for this architecture.
    ropeLayout: 'interleaved',
    rotaryDim,
    ropeTheta: positive(`${p}rope.freq_base`, ggufNumber(header, `${p}rope.freq_base`, 10000)),
    ropeScaling:
      scalingType === 'none'
        ? null
        : { type: scalingType, factor: ggufNumber(header, `${p}rope.scaling.factor`, 1) },
    attentionBias: header.tensors.has('blk.0.attn_q.bias'),
    tieWordEmbeddings: !header.tensors.has('output.weight'),
    bosTokenId: bos === 0xffffffff ? null : bos,
    eosTokenId: eos === 0xffffffff ? null : eos,
  });
}


/** The Llama config a llama2.c checkpoint header implies (RMSNorm eps 1e-5, interleaved RoPE, BOS 1, EOS 2). */
export function llamaConfigFromLlama2c(c: Llama2cConfig): LlmConfig {
  return llamaFamilyConfig({
    vocabSize: c.vocabSize,
    hiddenSize: c.dim,
    intermediateSize: c.hiddenDim,
    numLayers: c.nLayers,
    numHeads: c.nHeads,
    numKvHeads: c.nKvHeads,
    maxPositions: c.seqLen,
    normEps: 1e-5,
    ropeLayout: 'interleaved',
    tieWordEmbeddings: c.sharedClassifier,
    bosTokenId: 1,
    eosTokenId: 2,
  });
}
