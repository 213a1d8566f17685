// ModelFiles: everything a decoder LLM needs from disk, whatever the format: the typed config,
// the weights under Hugging Face names, and the tokenizer. Openers for GGUF and llama2.c live
// here; Hugging Face folders in src/io/hf-folder.ts; Node's path/hub front end in
// src/node/model-files.ts (loadModelFiles). Opening validates headers, sizes, dtypes and every
// tensor shape against the config before returning: a bad file fails at open, not mid-load.

import { type ByteSource } from './byte-source.js';
import { ggufInteger, ggufMetadataToJson, ggufNumber, ggufString, readGgufHeader, type GgufHeader } from './gguf.js';
import { tokenizerFromGguf } from './gguf-tokenizer.js';
import { llama2cTokenizer, LLAMA2C_HEADER_BYTES, parseLlama2cCheckpoint } from './llama2c.js';
import { expectedTensors, llamaFamilyConfig, type LlmConfig } from './model-config.js';
import { ggufEntries, TableWeightSource, type WeightSource } from './weights.js';
import { type Tokenizer } from '../text/tokenizer.js';
import { floatsFromBytes } from '../tensor/dtype.js';
import { formatShape, shapesEqual } from '../tensor/shape.js';

export type ModelFormat = 'gguf' | 'hf' | 'llama2c';

export interface ModelFiles {
  readonly format: ModelFormat;
  /** The path (or other origin) of the model, for messages. */
  readonly source: string;
  readonly config: LlmConfig;
  /** config.json as parsed, GGUF metadata (long arrays cut), or the llama2.c header fields. */
  readonly rawConfig: Readonly<Record<string, unknown>>;
  /** Tensors under Hugging Face names (see expectedTensors in src/io/model-config.ts). */
  readonly weights: WeightSource;
  readonly tokenizer: Tokenizer;
  /** Closes the files behind `weights`. */
  close(): Promise<void>;
}

/** How the config fields in expectedTensors' messages are spelled in a format's own header. */
export type ConfigFieldNames = Readonly<Record<string, string>>;

/**
 * Checks the weights against every tensor the config implies, and the tokenizer against the
 * vocabulary size; one error lists every problem, naming the files, tensors and config fields.
 */
export function checkWeightsAgainstConfig(
  weights: WeightSource,
  config: LlmConfig,
  configSource: string,
  tokenizer: Tokenizer | null,
  fieldNames: ConfigFieldNames = {},
): void {
  const spell = (from: string): string => from.replace(/[a-z_]+/g, (f) => fieldNames[f] ?? f);
  // Bounds first, before expectedTensors loops over the layers: every layer has at least one
  // tensor, so a layer count above the tensors present is a corrupt or hostile header, not a model.
  const layersField = spell(config.architecture === 'gpt2' ? 'n_layer' : 'num_hidden_layers');
  const tensorCount = weights.tensorNames().length;
  if (config.numLayers > tensorCount) {
    throw new Error(`${configSource}: field '${layersField}' = ${config.numLayers} layers, but ${weights.source} holds only ${tensorCount} tensors`);
  }
  for (const [field, id] of [
    ['bos_token_id', config.bosTokenId],
    ['eos_token_id', config.eosTokenId],
  ] as const) {
    if (id !== null && (id < 0 || id >= config.vocabSize)) {
      throw new Error(`${configSource}: field '${spell(field)}' = ${id} is outside the vocabulary (${spell('vocab_size')} = ${config.vocabSize})`);
    }
  }
  const problems: string[] = [];
  for (const t of expectedTensors(config)) {
    if (!weights.has(t.name)) {
      if (!t.optional) problems.push(`tensor '${t.name}' is missing`);
      continue;
    }
    const info = weights.info(t.name);
    if (!shapesEqual(info.shape, t.shape)) {
      const alias = info.fileName === t.name ? '' : ` (stored as '${info.fileName}')`;
      problems.push(`${info.file}: tensor '${t.name}'${alias} has shape ${formatShape(info.shape)}, but ${configSource} (${spell(t.from)}) implies ${formatShape(t.shape)}`);
    }
  }
  if (tokenizer && tokenizer.vocabSize > config.vocabSize) {
    problems.push(`the tokenizer has ${tokenizer.vocabSize} tokens, more than ${configSource} ${spell('vocab_size')} = ${config.vocabSize}`);
  }
  if (problems.length > 0) {
    const shown = problems.slice(0, 20).join('\n  ');
    throw new Error(`${weights.source}: the model files do not match the config:\n  ${shown}${problems.length > 20 ? `\n  ... and ${problems.length - 20} more` : ''}`);
  }
}

// ---------- GGUF ----------

const GGUF_LLAMA_LAYER_NAMES: Readonly<Record<string, string>> = {
  'attn_norm.weight': 'input_layernorm.weight',
  'attn_q.weight': 'self_attn.q_proj.weight',
  'attn_k.weight': 'self_attn.k_proj.weight',
  'attn_v.weight': 'self_attn.v_proj.weight',
  'attn_output.weight': 'self_attn.o_proj.weight',
  'attn_q.bias': 'self_attn.q_proj.bias',
  'attn_k.bias': 'self_attn.k_proj.bias',
  'attn_v.bias': 'self_attn.v_proj.bias',
  'attn_output.bias': 'self_attn.o_proj.bias',
  'ffn_norm.weight': 'post_attention_layernorm.weight',
  'ffn_gate.weight': 'mlp.gate_proj.weight',
  'ffn_up.weight': 'mlp.up_proj.weight',
  'ffn_down.weight': 'mlp.down_proj.weight',
};

const GGUF_LLAMA_GLOBAL_NAMES: Readonly<Record<string, string>> = {
  'token_embd.weight': 'model.embed_tokens.weight',
  'output_norm.weight': 'model.norm.weight',
  'output.weight': 'lm_head.weight',
};

/** llama.cpp's tensor names for the llama architecture to Hugging Face's (others are kept as they are). */
export function ggufLlamaTensorName(fileName: string): string {
  const global = GGUF_LLAMA_GLOBAL_NAMES[fileName];
  if (global) return global;
  const m = /^blk\.(\d+)\.(.+)$/.exec(fileName);
  const local = m ? GGUF_LLAMA_LAYER_NAMES[m[2]!] : undefined;
  return m && local ? `model.layers.${m[1]}.${local}` : fileName;
}

const GGUF_LLAMA_FIELDS: ConfigFieldNames = {
  vocab_size: 'llama.vocab_size',
  hidden_size: 'llama.embedding_length',
  intermediate_size: 'llama.feed_forward_length',
  num_attention_heads: 'llama.attention.head_count',
  num_key_value_heads: 'llama.attention.head_count_kv',
  head_dim: 'llama.attention.key_length',
  num_hidden_layers: 'llama.block_count',
  bos_token_id: 'tokenizer.ggml.bos_token_id',
  eos_token_id: 'tokenizer.ggml.eos_token_id',
};

/** The typed config of a GGUF file with general.architecture = llama (Llama, Mistral, TinyLlama...). */
export function llmConfigFromGguf(header: GgufHeader): LlmConfig {
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

/**
 * Opens a GGUF model (architecture llama): the header, config, embedded tokenizer and the tensor
 * table, all validated. `onClose` releases the file (Node passes its handle's close).
 */
export async function openGgufModel(file: ByteSource, onClose: () => Promise<void> = () => Promise.resolve()): Promise<ModelFiles> {
  const header = await readGgufHeader(file);
  const config = llmConfigFromGguf(header);
  const tokenizer = tokenizerFromGguf(header);
  const weights = new TableWeightSource(file.name, ggufEntries(file, header, ggufLlamaTensorName), onClose);
  checkWeightsAgainstConfig(weights, config, `${file.name} metadata`, tokenizer, GGUF_LLAMA_FIELDS);
  return {
    format: 'gguf',
    source: file.name,
    config,
    rawConfig: ggufMetadataToJson(header, { maxArrayItems: 16 }),
    weights,
    tokenizer,
    close: () => weights.close(),
  };
}

// ---------- llama2.c ----------

const LLAMA2C_FIELDS: ConfigFieldNames = {
  vocab_size: 'vocab_size',
  hidden_size: 'dim',
  intermediate_size: 'hidden_dim',
  num_attention_heads: 'n_heads',
  num_key_value_heads: 'n_kv_heads',
  head_dim: 'dim / n_heads',
  num_hidden_layers: 'n_layers',
};

/**
 * Opens a llama2.c checkpoint with its tokenizer.bin (read whole: it is small). The checkpoint is
 * read lazily through `checkpoint`.
 */
export async function openLlama2cModel(
  checkpoint: ByteSource,
  tokenizerBytes: Uint8Array,
  tokenizerSource: string,
  onClose: () => Promise<void> = () => Promise.resolve(),
): Promise<ModelFiles> {
  const prefix = await checkpoint.read(0, Math.min(LLAMA2C_HEADER_BYTES, checkpoint.byteLength));
  const parsed = parseLlama2cCheckpoint(prefix, checkpoint.byteLength, checkpoint.name);
  const c = parsed.config;
  const tokenizer = llama2cTokenizer(tokenizerBytes, c.vocabSize, tokenizerSource);
  const config = llamaFamilyConfig({
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
  const entries = [...parsed.tensors.values()].map((t) => ({
    name: t.name,
    fileName: t.name,
    file: checkpoint.name,
    shape: t.shape,
    dtype: 'F32',
    reader: checkpoint,
    byteOffset: t.byteOffset,
    byteLength: t.byteLength,
    decode: (bytes: Uint8Array) => floatsFromBytes(bytes, 'f32'),
  }));
  const weights = new TableWeightSource(checkpoint.name, entries, onClose);
  checkWeightsAgainstConfig(weights, config, `${checkpoint.name} header`, tokenizer, LLAMA2C_FIELDS);
  return {
    format: 'llama2c',
    source: checkpoint.name,
    config,
    rawConfig: {
      version: c.version,
      dim: c.dim,
      hidden_dim: c.hiddenDim,
      n_layers: c.nLayers,
      n_heads: c.nHeads,
      n_kv_heads: c.nKvHeads,
      vocab_size: c.vocabSize,
      seq_len: c.seqLen,
      shared_classifier: c.sharedClassifier,
    },
    weights,
    tokenizer,
    close: () => weights.close(),
  };
}
