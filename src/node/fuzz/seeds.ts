// The valid inputs the fuzzer mutates, one per format, built here (deterministically, from a fixed
// seed) so the harness and its test slice need no data files: a tiny Llama (2 layers, hidden 32)
// as GGUF (F32, F16, Q8_0 and Q4_0 tensors, SentencePiece vocabulary), as a llama2.c checkpoint
// and tokenizer, and as a Hugging Face folder (config.json + model.safetensors + tokenizer.json);
// a safetensors file of every dtype; a vocab.txt; a training checkpoint.

import { encodeCheckpoint, type CheckpointContents } from '../../io/checkpoint.js';
import { type GgmlType, type GgufValue, ggufValue } from '../../io/gguf-format.js';
import { writeGguf, type GgufTensorInput } from '../../io/gguf-write.js';
import { expectedTensors, llmConfigFromHf } from '../../models/registry.js';
import { serializeSafetensors, type SafetensorsTensorInput } from '../../io/safetensors.js';
import { BYTE_TO_CHAR } from '../../text/byte-level.js';
import { Rng } from '../../tensor/rng.js';

export const FUZZ_FORMATS = ['gguf', 'safetensors', 'llama2c', 'llama2c-tokenizer', 'tokenizer-json', 'vocab-txt', 'config-json', 'checkpoint'] as const;
export type FuzzFormat = (typeof FUZZ_FORMATS)[number];

export function isFuzzFormat(name: string): name is FuzzFormat {
  return (FUZZ_FORMATS as readonly string[]).includes(name);
}

/** How a format's bytes are mutated beyond raw byte edits. */
export type SeedKind = 'binary' | 'json' | 'safetensors' | 'checkpoint';

export interface FuzzSeed {
  readonly format: FuzzFormat;
  /** The mutated file's name inside its input folder. */
  readonly fileName: string;
  readonly bytes: Uint8Array;
  readonly kind: SeedKind;
  /** Offsets of integer fields (counts, lengths, offsets, dims) for the "set huge / negative" mutations. */
  readonly fieldOffsets: readonly number[];
  /** Unmutated files placed beside the input (the rest of a model folder). */
  readonly companions: Readonly<Record<string, Uint8Array>>;
}

const encoder = new TextEncoder();
const text = (s: string): Uint8Array => encoder.encode(s);

// ---------- the tiny model ----------

const HIDDEN = 32;
const INTER = 64;
const LAYERS = 2;
const HEADS = 4;
const KV_HEADS = 2;
const SEQ = 16;

function randomFloats(rng: Rng, n: number, scale = 0.1): Float32Array {
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) out[i] = rng.normal() * scale;
  return out;
}

/** A byte-level BPE tokenizer.json: 256 byte tokens, 20 merges, one added special token. */
export function seedTokenizerJson(): { json: Record<string, unknown>; vocabSize: number } {
  const vocab: Record<string, number> = {};
  BYTE_TO_CHAR.forEach((c, b) => (vocab[c] = b));
  const pairs: Array<[string, string]> = [
    ['Ġ', 't'], ['h', 'e'], ['Ġt', 'he'], ['i', 'n'], ['Ġ', 'a'], ['e', 'r'], ['o', 'n'], ['Ġ', 's'], ['r', 'e'], ['a', 't'],
    ['Ġ', 'w'], ['o', 'r'], ['e', 'n'], ['Ġ', 'c'], ['i', 's'], ['l', 'l'], ['Ġw', 'or'], ['l', 'd'], ['Ġwor', 'ld'], ['Ġ', 'h'],
  ];
  let id = 256;
  for (const [a, b] of pairs) vocab[a + b] = id++;
  const eot = id++;
  const json = {
    version: '1.0',
    added_tokens: [{ id: eot, content: '<|endoftext|>', single_word: false, lstrip: false, rstrip: false, normalized: false, special: true }],
    normalizer: { type: 'Sequence', normalizers: [{ type: 'NFC' }, { type: 'Replace', pattern: { String: '\u00a0' }, content: ' ' }] },
    pre_tokenizer: {
      type: 'Sequence',
      pretokenizers: [
        { type: 'Split', pattern: { Regex: "(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}{1,3}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+" }, behavior: 'Isolated', invert: false },
        { type: 'ByteLevel', add_prefix_space: false, trim_offsets: true, use_regex: false },
      ],
    },
    post_processor: {
      type: 'TemplateProcessing',
      single: [{ SpecialToken: { id: '<|endoftext|>', type_id: 0 } }, { Sequence: { id: 'A', type_id: 0 } }],
      pair: [],
      special_tokens: {},
    },
    decoder: { type: 'ByteLevel', add_prefix_space: true, trim_offsets: true, use_regex: true },
    model: { type: 'BPE', dropout: null, unk_token: null, continuing_subword_prefix: null, end_of_word_suffix: null, fuse_unk: false, byte_fallback: false, vocab, merges: pairs.map(([a, b]) => `${a} ${b}`) },
  };
  return { json, vocabSize: id };
}

function hfConfig(vocabSize: number): Record<string, unknown> {
  return {
    architectures: ['LlamaForCausalLM'],
    model_type: 'llama',
    vocab_size: vocabSize,
    hidden_size: HIDDEN,
    intermediate_size: INTER,
    num_hidden_layers: LAYERS,
    num_attention_heads: HEADS,
    num_key_value_heads: KV_HEADS,
    hidden_act: 'silu',
    max_position_embeddings: SEQ,
    rms_norm_eps: 1e-5,
    rope_theta: 10000.0,
    rope_scaling: null,
    tie_word_embeddings: false,
    bos_token_id: vocabSize - 1,
    eos_token_id: vocabSize - 1,
  };
}

/** Hugging Face Llama names to llama.cpp's. */
function ggufName(hfName: string): string {
  const globals: Record<string, string> = { 'model.embed_tokens.weight': 'token_embd.weight', 'model.norm.weight': 'output_norm.weight', 'lm_head.weight': 'output.weight' };
  const layer: Record<string, string> = {
    'input_layernorm.weight': 'attn_norm.weight',
    'self_attn.q_proj.weight': 'attn_q.weight',
    'self_attn.k_proj.weight': 'attn_k.weight',
    'self_attn.v_proj.weight': 'attn_v.weight',
    'self_attn.o_proj.weight': 'attn_output.weight',
    'post_attention_layernorm.weight': 'ffn_norm.weight',
    'mlp.gate_proj.weight': 'ffn_gate.weight',
    'mlp.up_proj.weight': 'ffn_up.weight',
    'mlp.down_proj.weight': 'ffn_down.weight',
  };
  const global = globals[hfName];
  if (global) return global;
  const m = /^model\.layers\.(\d+)\.(.+)$/.exec(hfName);
  if (!m || !layer[m[2]!]) throw new Error(`fuzz seeds: no GGUF name for ${hfName}`);
  return `blk.${m[1]}.${layer[m[2]!]}`;
}

/** The offset just after each occurrence of `needle` in `bytes` (where a GGUF string's value fields begin). */
function offsetsAfter(bytes: Uint8Array, needle: Uint8Array): number[] {
  const out: number[] = [];
  outer: for (let i = 0; i + needle.length <= bytes.length; i++) {
    for (let j = 0; j < needle.length; j++) if (bytes[i + j] !== needle[j]) continue outer;
    out.push(i + needle.length);
  }
  return out;
}

function ggufSeed(): FuzzSeed {
  const rng = new Rng(1201);
  const pieces = ['\u2581', 'h', 'e', 'l', 'o', 'w', 'r', 'd', '\u2581h', 'he', 'll', 'lo', '\u2581he', 'hel', 'llo', '\u2581hel', '\u2581hello', '\u2581w'];
  const bytePieces = Array.from({ length: 256 }, (_, b) => `<0x${b.toString(16).toUpperCase().padStart(2, '0')}>`);
  const tokens = ['<unk>', '<s>', '</s>', ...bytePieces, ...pieces];
  const types = tokens.map((_, i) => (i === 0 ? 2 : i < 3 ? 3 : i < 259 ? 6 : 1));
  const scores = tokens.map((_, i) => (i < 259 ? 0 : -(i - 259)));
  const config = llmConfigFromHf(hfConfig(tokens.length), 'seed');
  const typeOf = (name: string): GgmlType => {
    if (/attn_[qkv]\.weight|attn_output/.test(name)) return 'Q8_0';
    if (/ffn_(gate|up)/.test(name)) return 'Q4_0';
    if (/ffn_down/.test(name)) return 'F16';
    return 'F32';
  };
  const tensors: GgufTensorInput[] = expectedTensors(config).map((t) => {
    const name = ggufName(t.name);
    return { name, shape: t.shape, type: typeOf(name), data: randomFloats(rng, t.shape.reduce((a, b) => a * b, 1)) };
  });
  const u32 = ggufValue.u32;
  const metadata: Array<[string, GgufValue]> = [
    ['general.architecture', ggufValue.string('llama')],
    ['general.name', ggufValue.string('fuzz-seed')],
    ['llama.context_length', u32(SEQ)],
    ['llama.embedding_length', u32(HIDDEN)],
    ['llama.block_count', u32(LAYERS)],
    ['llama.feed_forward_length', u32(INTER)],
    ['llama.attention.head_count', u32(HEADS)],
    ['llama.attention.head_count_kv', u32(KV_HEADS)],
    ['llama.rope.dimension_count', u32(HIDDEN / HEADS)],
    ['llama.attention.layer_norm_rms_epsilon', ggufValue.f32(1e-5)],
    ['llama.rope.freq_base', ggufValue.f32(10000)],
    ['tokenizer.ggml.model', ggufValue.string('llama')],
    ['tokenizer.ggml.tokens', ggufValue.strings(tokens)],
    ['tokenizer.ggml.scores', ggufValue.f32s(scores)],
    ['tokenizer.ggml.token_type', ggufValue.i32s(types)],
    ['tokenizer.ggml.bos_token_id', u32(1)],
    ['tokenizer.ggml.eos_token_id', u32(2)],
    ['tokenizer.ggml.unknown_token_id', u32(0)],
  ];
  const bytes = writeGguf({ metadata, tensors });
  // Counts at 8 and 16; after each key and tensor name: value type / n_dims, then values / ne[] / type / offset.
  const fieldOffsets = [8, 16];
  for (const name of [...metadata.map(([k]) => k), ...tensors.map((t) => t.name)]) {
    for (const at of offsetsAfter(bytes, text(name))) for (let d = 0; d <= 28; d += 4) fieldOffsets.push(at + d);
  }
  return { format: 'gguf', fileName: 'model.gguf', bytes, kind: 'binary', fieldOffsets, companions: {} };
}

// ---------- llama2.c ----------

const LLAMA2C_VOCAB = 272;

function llama2cSeeds(): { checkpoint: FuzzSeed; tokenizer: FuzzSeed } {
  const rng = new Rng(1202);
  const [dim, hidden, layers, heads, kvHeads, vocab, seq] = [HIDDEN, INTER, LAYERS, HEADS, KV_HEADS, LLAMA2C_VOCAB, SEQ];
  const head = dim / heads;
  const kvDim = kvHeads * head;
  const floats =
    vocab * dim + layers * dim + layers * dim * dim * 2 + layers * kvDim * dim * 2 + layers * dim + layers * hidden * dim * 3 + dim + seq * head;
  const bytes = new Uint8Array(28 + floats * 4);
  new Int32Array(bytes.buffer, 0, 7).set([dim, hidden, layers, heads, kvHeads, vocab, seq]);
  new Float32Array(bytes.buffer, 28, floats).set(randomFloats(rng, floats));
  const checkpoint: FuzzSeed = {
    format: 'llama2c',
    fileName: 'model.bin',
    bytes,
    kind: 'binary',
    fieldOffsets: [0, 4, 8, 12, 16, 20, 24],
    companions: {},
  };
  // tokenizer.bin: max_token_length, then (score, length, bytes) per token.
  // As tok512.bin: <unk>, BOS, EOS, the 256 byte pieces (byte fallback), then text pieces.
  const pieces = [' ', 'e', 't', 'a', 'o', ' t', 'he', ' the', 'in', ' a', 'er', 'on', 'at'];
  const tokens = ['<unk>', '\n<s>\n', '\n</s>\n', ...Array.from({ length: 256 }, (_, b) => `<0x${b.toString(16).toUpperCase().padStart(2, '0')}>`), ...pieces];
  if (tokens.length !== LLAMA2C_VOCAB) throw new Error('fuzz seeds: llama2.c vocabulary size');
  const encoded = tokens.map((t) => text(t));
  const size = 4 + encoded.reduce((n, e) => n + 8 + e.length, 0);
  const tok = new Uint8Array(size);
  const view = new DataView(tok.buffer);
  view.setInt32(0, Math.max(...encoded.map((e) => e.length)), true);
  const fieldOffsets = [0];
  let p = 4;
  encoded.forEach((e, i) => {
    view.setFloat32(p, -i, true);
    view.setInt32(p + 4, e.length, true);
    fieldOffsets.push(p + 4);
    tok.set(e, p + 8);
    p += 8 + e.length;
  });
  const tokenizer: FuzzSeed = { format: 'llama2c-tokenizer', fileName: 'tokenizer.bin', bytes: tok, kind: 'binary', fieldOffsets, companions: {} };
  return { checkpoint: { ...checkpoint, companions: { 'tokenizer.bin': tok } }, tokenizer };
}

// ---------- safetensors, Hugging Face folder, vocab.txt, checkpoint ----------

function safetensorsSeed(): FuzzSeed {
  const rng = new Rng(1203);
  const tensors: SafetensorsTensorInput[] = [
    { name: 'a.f32', dtype: 'F32', shape: [4, 8], data: randomFloats(rng, 32) },
    { name: 'b.f16', dtype: 'F16', shape: [8], data: Uint16Array.from({ length: 8 }, (_, i) => 0x3c00 + i) },
    { name: 'c.bf16', dtype: 'BF16', shape: [2, 2], data: Uint16Array.from({ length: 4 }, (_, i) => 0x3f80 + i) },
    { name: 'd.f64', dtype: 'F64', shape: [3], data: Float64Array.from([1.5, -2, 1e-300]) },
    { name: 'e.i64', dtype: 'I64', shape: [2], data: BigInt64Array.from([5n, -7n]) },
    { name: 'f.i32', dtype: 'I32', shape: [2, 1], data: Int32Array.from([1, -1]) },
    { name: 'g.u8', dtype: 'U8', shape: [5], data: Uint8Array.from([0, 1, 2, 3, 255]) },
    { name: 'h.bool', dtype: 'BOOL', shape: [3], data: Uint8Array.from([0, 1, 1]) },
    { name: 'i.scalar', dtype: 'F32', shape: [], data: Float32Array.from([3]) },
    { name: 'j.empty', dtype: 'F32', shape: [0, 4], data: new Float32Array(0) },
  ];
  return { format: 'safetensors', fileName: 'model.safetensors', bytes: serializeSafetensors(tensors, { format: 'pt' }), kind: 'safetensors', fieldOffsets: [0, 4], companions: {} };
}

function hfFolderSeed(): FuzzSeed {
  const rng = new Rng(1204);
  const { json: tokenizer, vocabSize } = seedTokenizerJson();
  const configJson = hfConfig(vocabSize);
  const config = llmConfigFromHf(configJson, 'seed');
  const weights = serializeSafetensors(
    expectedTensors(config).map((t) => ({ name: t.name, dtype: 'F32' as const, shape: t.shape, data: randomFloats(rng, t.shape.reduce((a, b) => a * b, 1)) })),
  );
  return {
    format: 'config-json',
    fileName: 'config.json',
    bytes: text(JSON.stringify(configJson, null, 2)),
    kind: 'json',
    fieldOffsets: [],
    companions: { 'model.safetensors': weights, 'tokenizer.json': text(JSON.stringify(tokenizer)) },
  };
}

function vocabTxtSeed(): FuzzSeed {
  const words = ['the', 'a', 'is', 'in', 'on', 'cat', 'dog', 'sat', 'mat', 'hello', 'world', 'un', 'want', 'runn', 'ing', 'ed'];
  const lines = ['[PAD]', '[unused0]', '[UNK]', '[CLS]', '[SEP]', '[MASK]', ...'!"#$%&\'()*+,-./0123456789:;<=>?'.split(''), ...'abcdefghijklmnopqrstuvwxyz'.split('')];
  for (const c of 'abcdefghijklmnopqrstuvwxyz') lines.push(`##${c}`);
  for (const w of words) lines.push(w, `##${w}`);
  return { format: 'vocab-txt', fileName: 'vocab.txt', bytes: text(`${lines.join('\n')}\n`), kind: 'binary', fieldOffsets: [], companions: {} };
}

/** The training checkpoint the checkpoint format is fuzzed from (also what a load must return). */
export function seedCheckpointContents(): CheckpointContents {
  const rng = new Rng(1205);
  const dropout = new Rng(7);
  dropout.normal();
  return {
    model: new Map([
      ['embed.weight', { shape: [6, 4], data: randomFloats(rng, 24) }],
      ['blocks.0.attn.q.weight', { shape: [4, 4], data: randomFloats(rng, 16) }],
      ['head.bias', { shape: [6], data: randomFloats(rng, 6) }],
    ]),
    optimizer: new Map([
      ['exp_avg.embed.weight', { shape: [6, 4], data: randomFloats(rng, 24) }],
      ['exp_avg_sq.embed.weight', { shape: [6, 4], data: randomFloats(rng, 24, 0.01) }],
    ]),
    state: {
      step: 1234,
      rng: { init: rng.getState(), dropout: dropout.getState() },
      optimizer: { name: 'adamw', lr: 3e-4, betas: [0.9, 0.999], eps: 1e-8, t: 1234 },
      user: { run: 'fuzz', data: { epoch: 1, cursor: 4096 }, config: { layers: 1, tied: true, note: null } },
    },
  };
}

function checkpointSeed(): FuzzSeed {
  return { format: 'checkpoint', fileName: 'checkpoint.safetensors', bytes: encodeCheckpoint(seedCheckpointContents()), kind: 'checkpoint', fieldOffsets: [0, 4], companions: {} };
}

function tokenizerJsonSeed(): FuzzSeed {
  return { format: 'tokenizer-json', fileName: 'tokenizer.json', bytes: text(JSON.stringify(seedTokenizerJson().json, null, 1)), kind: 'json', fieldOffsets: [], companions: {} };
}

export function fuzzSeed(format: FuzzFormat): FuzzSeed {
  switch (format) {
    case 'gguf':
      return ggufSeed();
    case 'llama2c':
      return llama2cSeeds().checkpoint;
    case 'llama2c-tokenizer':
      return llama2cSeeds().tokenizer;
    case 'safetensors':
      return safetensorsSeed();
    case 'config-json':
      return hfFolderSeed();
    case 'tokenizer-json':
      return tokenizerJsonSeed();
    case 'vocab-txt':
      return vocabTxtSeed();
    case 'checkpoint':
      return checkpointSeed();
  }
}

export { LLAMA2C_VOCAB };
