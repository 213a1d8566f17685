// The model registry: one entry per family, holding everything that family knows about files:
// how its config.json reads into the typed config, how checkpoint (and GGUF) tensor names map onto
// its parameter names, and the class. What a checkpoint must contain is not listed anywhere: it is
// the module tree's state dict (familyTensors), so names and shapes are written once, in the model
// file. src/io reads files (OpenedModelFiles); model-files.ts opens them as a family's model.

import type { GgufHeader } from '../io/gguf-read.js';
import { renameEntries, TableWeightSource, type WeightEntry } from '../io/weights.js';
import type { Module } from '../nn/module.js';
import type { Tensor } from '../tensor/tensor.js';
import { BertForPreTraining, type BertConfig } from './bert.js';
import type { CausalLM } from './decoder-common.js';
import { Gpt2LMHeadModel } from './gpt2.js';
import { GptNeoxForCausalLM } from './gpt-neox.js';
import { groupBertConfigFromJson, GroupBertForPreTraining, type GroupBertConfig } from './groupbert.js';
import { bertConfigFromHf, normalizeHfBertKey } from './hf-bert.js';
import { LlamaForCausalLM } from './llama.js';
import { gpt2ConfigFromHf, gptNeoxConfigFromHf, llamaConfigFromGguf, llamaConfigFromHf } from './llm-config-readers.js';
import type { LlmArchitecture, LlmConfig } from './llm-config.js';
import type { ModelInitOptions } from './model-init.js';

/** A family's GGUF support: its general.architecture, config from metadata, llama.cpp's tensor names. */
export interface GgufFamily<C> {
  readonly architecture: string;
  configFromHeader(header: GgufHeader): C;
  /** llama.cpp's tensor name -> the parameter name (others are kept as they are). */
  tensorName(fileName: string): string;
}

export interface ModelFamily<C, M extends Module = Module> {
  /** 'llama', 'gpt-neox', 'gpt2', 'bert', 'groupbert'. */
  readonly name: string;
  /** config.json model_type values the family reads (none for formats only thrifty writes). */
  readonly hfModelTypes: readonly string[];
  /** The typed config from a parsed config.json (or the JSON thrifty's checkpoints hold); errors name `source`. */
  configFromJson(json: unknown, source: string): C;
  /** A checkpoint's tensor name -> the parameter name, or null for tensors that are not weights (derived buffers). */
  checkpointName(fileName: string): string | null;
  readonly gguf: GgufFamily<C> | null;
  /** How the file formats spell the config fields named in messages (HF's spelling is the default). */
  readonly fieldNames?: Readonly<Partial<Record<'gguf' | 'llama2c' | 'hf', Readonly<Record<string, string>>>>>;
  /** The model, with random (options.rng) or zero weights. */
  create(config: C, options?: ModelInitOptions): M;
}

const same = (name: string): string => name;

/** Checkpoint names as they are, except derived buffers (not weights) matching `buffers`, which are dropped. */
function dropping(buffers: RegExp): (fileName: string) => string | null {
  return (name) => (buffers.test(name) ? null : name);
}

// ---------- decoder LLMs ----------

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

/**
 * GPT-2 checkpoints from the hub store GPT2Model's names (wte.weight, h.0...) where GPT2LMHeadModel
 * says transformer.wte.weight; old ones carry the causal-mask buffers, which are not weights.
 */
function gpt2CheckpointName(fileName: string): string | null {
  const bare = fileName.startsWith('transformer.') ? fileName.slice('transformer.'.length) : fileName;
  if (/^h\.\d+\.attn\.(masked_)?bias$/.test(bare)) return null;
  return bare === 'lm_head.weight' ? bare : `transformer.${bare}`;
}

export const LLAMA: ModelFamily<LlmConfig, CausalLM> = {
  name: 'llama',
  hfModelTypes: ['llama', 'mistral'],
  configFromJson: llamaConfigFromHf,
  // Older transformers versions saved the RoPE frequencies.
  checkpointName: dropping(/\.rotary_emb\.inv_freq$/),
  gguf: { architecture: 'llama', configFromHeader: llamaConfigFromGguf, tensorName: ggufLlamaTensorName },
  fieldNames: {
    gguf: { vocab_size: 'llama.vocab_size', num_hidden_layers: 'llama.block_count', bos_token_id: 'tokenizer.ggml.bos_token_id', eos_token_id: 'tokenizer.ggml.eos_token_id' },
    llama2c: { num_hidden_layers: 'n_layers' },
  },
  create: (config, options) => new LlamaForCausalLM(config, options),
};

export const GPT_NEOX: ModelFamily<LlmConfig, CausalLM> = {
  name: 'gpt-neox',
  hfModelTypes: ['gpt_neox'],
  configFromJson: gptNeoxConfigFromHf,
  // Pythia checkpoints carry the RoPE frequencies and (older ones) the causal-mask buffers.
  checkpointName: dropping(/\.attention\.(rotary_emb\.inv_freq|bias|masked_bias)$/),
  gguf: null,
  create: (config, options) => new GptNeoxForCausalLM(config, options),
};

export const GPT2: ModelFamily<LlmConfig, CausalLM> = {
  name: 'gpt2',
  hfModelTypes: ['gpt2'],
  configFromJson: gpt2ConfigFromHf,
  checkpointName: gpt2CheckpointName,
  gguf: null,
  fieldNames: { hf: { num_hidden_layers: 'n_layer' } },
  create: (config, options) => new Gpt2LMHeadModel(config, options),
};

/** The decoder families by LlmConfig.architecture. */
export const DECODER_FAMILIES: Readonly<Record<LlmArchitecture, ModelFamily<LlmConfig, CausalLM>>> = { llama: LLAMA, 'gpt-neox': GPT_NEOX, gpt2: GPT2 };

// ---------- encoders ----------

export const BERT: ModelFamily<BertConfig, BertForPreTraining> = {
  name: 'bert',
  hfModelTypes: ['bert'],
  configFromJson: bertConfigFromHf,
  checkpointName: normalizeHfBertKey,
  gguf: null,
  create: (config, options) => new BertForPreTraining(config, options),
};

export const GROUPBERT: ModelFamily<GroupBertConfig, GroupBertForPreTraining> = {
  name: 'groupbert',
  hfModelTypes: [],
  configFromJson: groupBertConfigFromJson,
  checkpointName: same,
  gguf: null,
  create: (config, options) => new GroupBertForPreTraining(config, options),
};

/** Every family, decoders first. */
export const MODEL_FAMILIES = [LLAMA, GPT_NEOX, GPT2, BERT, GROUPBERT] as const;

function fieldValue(json: unknown, key: string): unknown {
  return typeof json === 'object' && json !== null && !Array.isArray(json) ? (json as Record<string, unknown>)[key] : undefined;
}

/** The typed config of a decoder LLM's config.json, read by the family its model_type names. */
export function llmConfigFromHf(json: unknown, source: string): LlmConfig {
  if (typeof json !== 'object' || json === null || Array.isArray(json)) throw new Error(`${source}: config must be a JSON object`);
  const modelType = fieldValue(json, 'model_type');
  if (typeof modelType !== 'string') throw new Error(`${source}: field 'model_type' must be a string, got ${modelType === undefined ? 'nothing (missing)' : JSON.stringify(modelType)}`);
  const family = Object.values(DECODER_FAMILIES).find((f) => f.hfModelTypes.includes(modelType));
  if (!family) {
    const supported = Object.values(DECODER_FAMILIES).flatMap((f) => f.hfModelTypes);
    throw new Error(`${source}: field 'model_type' = '${modelType}' is not supported (supported: ${supported.join(', ')})`);
  }
  return family.configFromJson(json, source);
}

/** The model class for a decoder config, with fresh (random or zero) weights. */
export function createCausalLM(config: LlmConfig, options: ModelInitOptions = {}): CausalLM {
  return DECODER_FAMILIES[config.architecture].create(config, options);
}

export interface ExpectedTensor {
  readonly name: string;
  readonly shape: readonly number[];
  /** Other names of the same (tied) tensor; a checkpoint may store it under any one of them. */
  readonly aliases: readonly string[];
}

/**
 * Every tensor a checkpoint of `config` must hold, under the parameter names, with its shape:
 * the state dict of the family's module tree, each tensor once. A tied output projection that is
 * not registered (Llama's tied lm_head) is not listed. The tree is built over one shared scratch
 * buffer (its largest tensor, never written but for norm scales), so a large model costs no memory.
 */
/** The most elements of one tensor (a typed array's index range). */
export const MAX_TENSOR_ELEMENTS = 2 ** 31 - 1;

export function familyTensors<C>(family: ModelFamily<C>, config: C): ExpectedTensor[] {
  let scratch = new Float32Array(0);
  const alloc = (n: number): Float32Array => {
    // A hostile or corrupt config (a vocabulary of 2^32, say) must fail here with a reason, not as
    // an allocation error; no tensor thrifty can hold is that large.
    if (n > MAX_TENSOR_ELEMENTS) throw new RangeError(`the config implies a tensor of ${n} elements, more than the ${MAX_TENSOR_ELEMENTS} a tensor can hold`);
    if (n > scratch.length) scratch = new Float32Array(n);
    return scratch.subarray(0, n);
  };
  const byTensor = new Map<Tensor, { name: string; shape: readonly number[]; aliases: string[] }>();
  for (const [name, t] of family.create(config, { alloc }).stateDict()) {
    const known = byTensor.get(t);
    if (known) known.aliases.push(name);
    else byTensor.set(t, { name, shape: t.shape, aliases: [] });
  }
  return [...byTensor.values()];
}

/** familyTensors of a decoder LLM's family. */
export function expectedTensors(config: LlmConfig): ExpectedTensor[] {
  return familyTensors(DECODER_FAMILIES[config.architecture], config);
}

/** A WeightSource over a checkpoint's tensors, under the family's parameter names. */
export function checkpointWeights<C>(family: ModelFamily<C>, source: string, entries: readonly WeightEntry[], onClose?: () => Promise<void>): TableWeightSource {
  return new TableWeightSource(source, renameEntries(entries, (n) => family.checkpointName(n)), onClose);
}
