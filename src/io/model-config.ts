// The typed view of a decoder LLM's configuration that the model files need, read from a
// Hugging Face config.json, GGUF metadata or a llama2.c header; and the tensor names and shapes
// each architecture implies, so a loader can check a checkpoint against its config before
// reading any weight.
//
// Tensor names are Hugging Face's (the PyTorch reference implementations'): GGUF and llama2.c
// weights are renamed to them on load (src/io/model-files.ts). Shapes are row-major.

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

type Json = Record<string, unknown>;

/** The largest count or size a config may hold (int32). */
export const MAX_CONFIG_INT = 0x7fffffff;

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
    const v = this.json[key];
    if (v === undefined || v === null) return null;
    const first = Array.isArray(v) ? v[0] : v;
    if (typeof first !== 'number' || !Number.isInteger(first) || first < 0 || first > MAX_CONFIG_INT) this.fail(key, 'a token id (or a list of them)', v);
    return first;
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

/** The typed view of a Hugging Face config.json (model_type llama, mistral, gpt_neox or gpt2). */
export function llmConfigFromHf(json: unknown, source: string): LlmConfig {
  if (typeof json !== 'object' || json === null || Array.isArray(json)) throw new Error(`${source}: config must be a JSON object`);
  const r = new ConfigReader(json as Json, source);
  const modelType = r.string('model_type');
  const bosTokenId = r.tokenId('bos_token_id');
  const eosTokenId = r.tokenId('eos_token_id');
  switch (modelType) {
    case 'llama':
    case 'mistral': {
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
    case 'gpt_neox': {
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
    case 'gpt2': {
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
    default:
      throw new Error(`${source}: field 'model_type' = '${modelType}' is not supported (supported: llama, mistral, gpt_neox, gpt2)`);
  }
}

/** Shape checks name the config fields a mismatch contradicts. */
export interface ExpectedTensor {
  readonly name: string;
  readonly shape: readonly number[];
  /** The config fields the shape comes from, for error messages. */
  readonly from: string;
  /** Absent from the file is allowed (tied lm_head). */
  readonly optional?: boolean;
}

/**
 * Every tensor the architecture needs under its Hugging Face name, with the shape the config
 * implies (PyTorch layouts: Linear [out, in]; GPT-2's Conv1D [in, out]).
 */
export function expectedTensors(config: LlmConfig): ExpectedTensor[] {
  const { hiddenSize: h, intermediateSize: inner, vocabSize: v, numHeads, numKvHeads, headDim: hd } = config;
  const out: ExpectedTensor[] = [];
  const add = (name: string, shape: number[], from: string, optional = false): void => {
    out.push(optional ? { name, shape, from, optional } : { name, shape, from });
  };
  switch (config.architecture) {
    case 'llama': {
      add('model.embed_tokens.weight', [v, h], 'vocab_size, hidden_size');
      for (let l = 0; l < config.numLayers; l++) {
        const p = `model.layers.${l}`;
        add(`${p}.input_layernorm.weight`, [h], 'hidden_size');
        add(`${p}.self_attn.q_proj.weight`, [numHeads * hd, h], 'num_attention_heads * head_dim, hidden_size');
        add(`${p}.self_attn.k_proj.weight`, [numKvHeads * hd, h], 'num_key_value_heads * head_dim, hidden_size');
        add(`${p}.self_attn.v_proj.weight`, [numKvHeads * hd, h], 'num_key_value_heads * head_dim, hidden_size');
        add(`${p}.self_attn.o_proj.weight`, [h, numHeads * hd], 'hidden_size, num_attention_heads * head_dim');
        if (config.attentionBias) {
          add(`${p}.self_attn.q_proj.bias`, [numHeads * hd], 'num_attention_heads * head_dim');
          add(`${p}.self_attn.k_proj.bias`, [numKvHeads * hd], 'num_key_value_heads * head_dim');
          add(`${p}.self_attn.v_proj.bias`, [numKvHeads * hd], 'num_key_value_heads * head_dim');
          add(`${p}.self_attn.o_proj.bias`, [h], 'hidden_size');
        }
        add(`${p}.post_attention_layernorm.weight`, [h], 'hidden_size');
        add(`${p}.mlp.gate_proj.weight`, [inner, h], 'intermediate_size, hidden_size');
        add(`${p}.mlp.up_proj.weight`, [inner, h], 'intermediate_size, hidden_size');
        add(`${p}.mlp.down_proj.weight`, [h, inner], 'hidden_size, intermediate_size');
        if (config.mlpBias) {
          add(`${p}.mlp.gate_proj.bias`, [inner], 'intermediate_size');
          add(`${p}.mlp.up_proj.bias`, [inner], 'intermediate_size');
          add(`${p}.mlp.down_proj.bias`, [h], 'hidden_size');
        }
      }
      add('model.norm.weight', [h], 'hidden_size');
      add('lm_head.weight', [v, h], 'vocab_size, hidden_size', config.tieWordEmbeddings);
      return out;
    }
    case 'gpt-neox': {
      add('gpt_neox.embed_in.weight', [v, h], 'vocab_size, hidden_size');
      for (let l = 0; l < config.numLayers; l++) {
        const p = `gpt_neox.layers.${l}`;
        for (const norm of ['input_layernorm', 'post_attention_layernorm']) {
          add(`${p}.${norm}.weight`, [h], 'hidden_size');
          add(`${p}.${norm}.bias`, [h], 'hidden_size');
        }
        add(`${p}.attention.query_key_value.weight`, [3 * h, h], '3 * hidden_size, hidden_size');
        add(`${p}.attention.dense.weight`, [h, h], 'hidden_size, hidden_size');
        if (config.attentionBias) {
          add(`${p}.attention.query_key_value.bias`, [3 * h], '3 * hidden_size');
          add(`${p}.attention.dense.bias`, [h], 'hidden_size');
        }
        add(`${p}.mlp.dense_h_to_4h.weight`, [inner, h], 'intermediate_size, hidden_size');
        add(`${p}.mlp.dense_h_to_4h.bias`, [inner], 'intermediate_size');
        add(`${p}.mlp.dense_4h_to_h.weight`, [h, inner], 'hidden_size, intermediate_size');
        add(`${p}.mlp.dense_4h_to_h.bias`, [h], 'hidden_size');
      }
      add('gpt_neox.final_layer_norm.weight', [h], 'hidden_size');
      add('gpt_neox.final_layer_norm.bias', [h], 'hidden_size');
      add('embed_out.weight', [v, h], 'vocab_size, hidden_size', config.tieWordEmbeddings);
      return out;
    }
    case 'gpt2': {
      add('wte.weight', [v, h], 'vocab_size, n_embd');
      add('wpe.weight', [config.maxPositions, h], 'n_positions, n_embd');
      for (let l = 0; l < config.numLayers; l++) {
        const p = `h.${l}`;
        for (const norm of ['ln_1', 'ln_2']) {
          add(`${p}.${norm}.weight`, [h], 'n_embd');
          add(`${p}.${norm}.bias`, [h], 'n_embd');
        }
        add(`${p}.attn.c_attn.weight`, [h, 3 * h], 'n_embd, 3 * n_embd (Conv1D: [in, out])');
        add(`${p}.attn.c_attn.bias`, [3 * h], '3 * n_embd');
        add(`${p}.attn.c_proj.weight`, [h, h], 'n_embd, n_embd');
        add(`${p}.attn.c_proj.bias`, [h], 'n_embd');
        add(`${p}.mlp.c_fc.weight`, [h, inner], 'n_embd, n_inner (Conv1D: [in, out])');
        add(`${p}.mlp.c_fc.bias`, [inner], 'n_inner');
        add(`${p}.mlp.c_proj.weight`, [inner, h], 'n_inner, n_embd (Conv1D: [in, out])');
        add(`${p}.mlp.c_proj.bias`, [h], 'n_embd');
      }
      add('ln_f.weight', [h], 'n_embd');
      add('ln_f.bias', [h], 'n_embd');
      add('lm_head.weight', [v, h], 'vocab_size, n_embd', config.tieWordEmbeddings);
      return out;
    }
  }
}
