// llama2.c (https://github.com/karpathy/llama2.c) files: checkpoints and tokenizer.bin.
//
// Checkpoint, legacy version 0 (run.c's format): seven int32 (dim, hidden_dim, n_layers, n_heads,
// n_kv_heads, vocab_size, seq_len; a negative vocab_size means the classifier is not shared with
// the embedding), then f32 weights in this order, each [layer, out, in] row-major:
//   token_embedding [vocab, dim], rms_att [L, dim], wq [L, dim, dim], wk [L, kv_dim, dim],
//   wv [L, kv_dim, dim], wo [L, dim, dim], rms_ffn [L, dim], w1 [L, hidden, dim],
//   w2 [L, dim, hidden], w3 [L, hidden, dim], rms_final [dim], freq_cis_real and _imag
//   [seq_len, head_size / 2] each (unused: RoPE is recomputed), then wcls [vocab, dim] if unshared.
// Version 1 (export.py --version 1): a 256-byte header (u32 magic "ak42", i32 version, the seven
// int32 with a positive vocab_size, u8 shared_classifier), then f32 weights grouped by kind:
//   rms_att, rms_ffn, rms_final, token_embedding, wq, wk, wv, wo, w1, w2, w3, [wcls].
// Version 2 (int8 Q8_0 groups) is not supported.
//
// Tensors are exposed under Hugging Face Llama names (model.layers.N.self_attn.q_proj.weight, ...)
// with [out, in] shapes; per layer, views into the stacked arrays. RoPE is llama2.c's interleaved-pair
// layout (the checkpoint keeps Meta's q/k row order), theta 10000, RMSNorm eps 1e-5.
//
// Tokenizer: int32 max_token_length, then per token: f32 score, int32 byte length, bytes. The token
// count is the model's vocab_size (it is not in the file).

import { SentencePieceTokenizer } from '../text/sentencepiece.js';

export const LLAMA2C_MAGIC = 0x616b3432; // "ak42" as written by struct.pack('I', ...)

export interface Llama2cConfig {
  readonly dim: number;
  readonly hiddenDim: number;
  readonly nLayers: number;
  readonly nHeads: number;
  readonly nKvHeads: number;
  readonly vocabSize: number;
  readonly seqLen: number;
  readonly sharedClassifier: boolean;
  /** 0: legacy run.c format; 1: export.py version 1. */
  readonly version: 0 | 1;
}

export interface Llama2cTensor {
  /** Hugging Face Llama name, e.g. model.layers.0.self_attn.q_proj.weight. */
  readonly name: string;
  /** Row-major [out, in] (or [dim] for norms). */
  readonly shape: readonly number[];
  /** Offset of the first f32 from the start of the file. */
  readonly byteOffset: number;
  readonly byteLength: number;
}

export interface Llama2cCheckpoint {
  readonly source: string;
  readonly config: Llama2cConfig;
  /** In file order. */
  readonly tensors: ReadonlyMap<string, Llama2cTensor>;
}

const HEADER_INTS = 7;
const FIELD_NAMES = ['dim', 'hidden_dim', 'n_layers', 'n_heads', 'n_kv_heads', 'vocab_size', 'seq_len'] as const;

/** Bytes of the header needed to parse a checkpoint (the version-1 header is the longer). */
export const LLAMA2C_HEADER_BYTES = 256;

/**
 * Parses a checkpoint's header from `prefix` (at least min(256, file size) bytes) and lays out every
 * tensor, checking that the file is exactly as long as the header says: a truncated or padded
 * file is an error, not a half-read model.
 */
export function parseLlama2cCheckpoint(prefix: Uint8Array, fileByteLength: number, source: string): Llama2cCheckpoint {
  if (fileByteLength < HEADER_INTS * 4 || prefix.length < Math.min(fileByteLength, LLAMA2C_HEADER_BYTES)) {
    throw new Error(`${source}: file is ${fileByteLength} bytes, too short for a llama2.c header (truncated?)`);
  }
  const view = new DataView(prefix.buffer, prefix.byteOffset, prefix.byteLength);
  let version: 0 | 1 = 0;
  let headerBytes = HEADER_INTS * 4;
  let intsAt = 0;
  let sharedFlag: boolean | null = null;
  if (view.getUint32(0, true) === LLAMA2C_MAGIC) {
    if (fileByteLength < LLAMA2C_HEADER_BYTES) throw new Error(`${source}: file is ${fileByteLength} bytes, too short for a llama2.c version-1 header (truncated?)`);
    const v = view.getInt32(4, true);
    if (v !== 1) throw new Error(`${source}: llama2.c export version ${v} is not supported (only the legacy format and version 1)`);
    version = 1;
    headerBytes = LLAMA2C_HEADER_BYTES;
    intsAt = 8;
    const flag = view.getUint8(8 + HEADER_INTS * 4);
    if (flag > 1) throw new Error(`${source}: shared_classifier flag must be 0 or 1, got ${flag}`);
    sharedFlag = flag === 1;
  }
  const ints = FIELD_NAMES.map((_, i) => view.getInt32(intsAt + 4 * i, true));
  const [dim, hiddenDim, nLayers, nHeads, nKvHeads, rawVocab, seqLen] = ints as [number, number, number, number, number, number, number];
  FIELD_NAMES.forEach((field, i) => {
    const v = ints[i]!;
    const ok = field === 'vocab_size' && version === 0 ? v !== 0 : v > 0;
    if (!ok) throw new Error(`${source}: header field ${field} = ${v} is invalid (not a llama2.c checkpoint?)`);
  });
  if (version === 1 && rawVocab < 0) throw new Error(`${source}: header field vocab_size = ${rawVocab} must be positive in version 1`);
  if (dim % nHeads !== 0) throw new Error(`${source}: header field dim = ${dim} is not a multiple of n_heads = ${nHeads}`);
  if (nHeads % nKvHeads !== 0) throw new Error(`${source}: header field n_heads = ${nHeads} is not a multiple of n_kv_heads = ${nKvHeads}`);
  const headSize = dim / nHeads;
  if (headSize % 2 !== 0) throw new Error(`${source}: head size dim / n_heads = ${headSize} must be even for RoPE`);
  const vocabSize = Math.abs(rawVocab);
  const sharedClassifier = sharedFlag ?? rawVocab > 0;
  const kvDim = nKvHeads * headSize;
  const config: Llama2cConfig = { dim, hiddenDim, nLayers, nHeads, nKvHeads, vocabSize, seqLen, sharedClassifier, version };

  // The layout is planned as (stacked) ranges first and expanded per layer only after the file size
  // has been checked: n_layers is taken from the header and may be 2^31 - 1.
  const planned: Array<{ suffix: string | null; name: string; shape: readonly number[]; base: number; per: number }> = [];
  let offset = headerBytes;
  const take = (count: number): number => {
    const at = offset;
    offset += count * 4;
    return at;
  };
  const addStacked = (suffix: string, shape: readonly number[]): void => {
    const per = shape.reduce((a, b) => a * b, 1);
    planned.push({ suffix, name: suffix, shape, base: take(per * nLayers), per });
  };
  const addSingle = (name: string, shape: readonly number[]): void => {
    const count = shape.reduce((a, b) => a * b, 1);
    planned.push({ suffix: null, name, shape, base: take(count), per: count });
  };
  const embed = (): void => addSingle('model.embed_tokens.weight', [vocabSize, dim]);
  const attention = (): void => {
    addStacked('self_attn.q_proj.weight', [dim, dim]);
    addStacked('self_attn.k_proj.weight', [kvDim, dim]);
    addStacked('self_attn.v_proj.weight', [kvDim, dim]);
    addStacked('self_attn.o_proj.weight', [dim, dim]);
  };
  const ffn = (): void => {
    addStacked('mlp.gate_proj.weight', [hiddenDim, dim]); // w1
    addStacked('mlp.down_proj.weight', [dim, hiddenDim]); // w2
    addStacked('mlp.up_proj.weight', [hiddenDim, dim]); // w3
  };
  if (version === 0) {
    embed();
    addStacked('input_layernorm.weight', [dim]);
    attention();
    addStacked('post_attention_layernorm.weight', [dim]);
    ffn();
    addSingle('model.norm.weight', [dim]);
    take(seqLen * headSize); // freq_cis_real and freq_cis_imag, [seq_len, head_size / 2] each
  } else {
    addStacked('input_layernorm.weight', [dim]);
    addStacked('post_attention_layernorm.weight', [dim]);
    addSingle('model.norm.weight', [dim]);
    embed();
    attention();
    ffn();
  }
  if (!sharedClassifier) addSingle('lm_head.weight', [vocabSize, dim]);

  if (offset !== fileByteLength) {
    const shape = `dim ${dim}, hidden_dim ${hiddenDim}, n_layers ${nLayers}, n_heads ${nHeads}, n_kv_heads ${nKvHeads}, vocab_size ${rawVocab}, seq_len ${seqLen}`;
    throw new Error(
      offset > fileByteLength
        ? `${source}: the header (${shape}) needs ${offset} bytes of weights and header, but the file has ${fileByteLength} (truncated?)`
        : `${source}: the header (${shape}) accounts for ${offset} bytes, but the file has ${fileByteLength} (${fileByteLength - offset} extra bytes: wrong header or not a llama2.c checkpoint)`,
    );
  }
  const tensors = new Map<string, Llama2cTensor>();
  for (const p of planned) {
    if (p.suffix === null) {
      tensors.set(p.name, { name: p.name, shape: p.shape, byteOffset: p.base, byteLength: p.per * 4 });
      continue;
    }
    for (let l = 0; l < nLayers; l++) {
      const name = `model.layers.${l}.${p.suffix}`;
      tensors.set(name, { name, shape: p.shape, byteOffset: p.base + l * p.per * 4, byteLength: p.per * 4 });
    }
  }
  return { source, config, tensors };
}

export interface Llama2cTokenizerFile {
  readonly maxTokenLength: number;
  readonly tokens: readonly string[];
  readonly scores: Float32Array;
}

/** Parses tokenizer.bin; `vocabSize` (the model's) is the number of records, which must fill the file exactly. */
export function parseLlama2cTokenizer(bytes: Uint8Array, vocabSize: number, source: string): Llama2cTokenizerFile {
  if (!Number.isInteger(vocabSize) || vocabSize <= 0) throw new Error(`${source}: vocab size must be a positive integer, got ${vocabSize}`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (bytes.length < 4) throw new Error(`${source}: file is ${bytes.length} bytes, too short for max_token_length (truncated?)`);
  const maxTokenLength = view.getInt32(0, true);
  if (maxTokenLength <= 0) throw new Error(`${source}: max_token_length = ${maxTokenLength} must be positive (not a llama2.c tokenizer?)`);
  // Each record takes at least 8 bytes: bound the count by the file before allocating for it.
  if (4 + vocabSize * 8 > bytes.length) {
    throw new Error(`${source}: ${vocabSize} tokens (the model's vocab_size) need at least ${4 + vocabSize * 8} bytes, but the file has ${bytes.length} (truncated, or the tokenizer does not match the model?)`);
  }
  const decoder = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });
  const tokens: string[] = [];
  const scores = new Float32Array(vocabSize);
  let p = 4;
  for (let i = 0; i < vocabSize; i++) {
    if (p + 8 > bytes.length) throw new Error(`${source}: token ${i} of ${vocabSize}: the file ends at byte ${bytes.length} (truncated, or the tokenizer does not match the model's vocab_size?)`);
    scores[i] = view.getFloat32(p, true);
    const length = view.getInt32(p + 4, true);
    p += 8;
    if (length < 0 || length > maxTokenLength) throw new Error(`${source}: token ${i}: length ${length} is outside 0..max_token_length (${maxTokenLength})`);
    if (p + length > bytes.length) throw new Error(`${source}: token ${i}: ${length} bytes at offset ${p} run past the end of the ${bytes.length}-byte file (truncated?)`);
    try {
      tokens.push(decoder.decode(bytes.subarray(p, p + length)));
    } catch {
      throw new Error(`${source}: token ${i} is not valid UTF-8`);
    }
    p += length;
  }
  if (p !== bytes.length) {
    throw new Error(`${source}: ${bytes.length - p} bytes after the last of ${vocabSize} tokens (the tokenizer does not match the model's vocab_size?)`);
  }
  return { maxTokenLength, tokens, scores };
}

/** A tokenizer from llama2.c's tokenizer.bin: ids 0, 1, 2 are <unk>, BOS and EOS, as run.c assumes. */
export function llama2cTokenizer(bytes: Uint8Array, vocabSize: number, source: string): SentencePieceTokenizer {
  const file = parseLlama2cTokenizer(bytes, vocabSize, source);
  if (vocabSize < 3) throw new Error(`${source}: a llama2.c vocabulary needs at least <unk>, BOS and EOS (3 tokens), got ${vocabSize}`);
  return new SentencePieceTokenizer({ source, tokens: file.tokens, scores: file.scores, bosId: 1, eosId: 2, unkId: 0 });
}
