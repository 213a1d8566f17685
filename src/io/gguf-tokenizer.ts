// The tokenizer embedded in a GGUF file's metadata (tokenizer.ggml.*): 'llama' is SentencePiece
// BPE with scores and byte fallback; 'gpt2' is byte-level BPE with a merges list.

import { ggufInteger, ggufNumberArray, ggufString, ggufStringArray, type GgufHeader } from './gguf-read.js';
import { BpeTokenizer, type AddedToken } from '../text/bpe-tokenizer.js';
import { bytesToByteLevel, compileSplitPattern, GPT2_SPLIT_PATTERN, LLAMA3_SPLIT_PATTERN, splitIsolated } from '../text/byte-level.js';
import { SentencePieceTokenizer, SentencePieceTokenType } from '../text/sentencepiece.js';
import { utf8Bytes, type Tokenizer } from '../text/tokenizer.js';

/** llama.cpp's `tokenizer.ggml.pre` names whose split pattern is known here. */
const PRE_TOKENIZER_PATTERNS: Readonly<Record<string, string>> = {
  default: GPT2_SPLIT_PATTERN,
  gpt2: GPT2_SPLIT_PATTERN,
  'gpt-2': GPT2_SPLIT_PATTERN,
  'llama-bpe': LLAMA3_SPLIT_PATTERN,
  llama3: LLAMA3_SPLIT_PATTERN,
};

function optionalId(header: GgufHeader, key: string, vocabSize: number): number | null {
  if (!header.metadata.has(key)) return null;
  const id = ggufInteger(header, key);
  // llama.cpp writes 0xFFFFFFFF (-1 as u32) for "none".
  if (id === 0xffffffff || id === -1) return null;
  if (id < 0 || id >= vocabSize) throw new Error(`${header.source}: metadata '${key}' = ${id} is outside the ${vocabSize}-token vocabulary`);
  return id;
}

function optionalBool(header: GgufHeader, key: string): boolean | undefined {
  const v = header.metadata.get(key);
  if (v === undefined) return undefined;
  if (v.type !== 'bool') throw new Error(`${header.source}: metadata '${key}' must be a bool, got ${v.type}`);
  return v.value;
}

export function tokenizerFromGguf(header: GgufHeader): Tokenizer {
  const model = ggufString(header, 'tokenizer.ggml.model');
  const tokens = ggufStringArray(header, 'tokenizer.ggml.tokens');
  const n = tokens.length;
  const types = header.metadata.has('tokenizer.ggml.token_type') ? ggufNumberArray(header, 'tokenizer.ggml.token_type') : undefined;
  if (types && types.length !== n) throw new Error(`${header.source}: metadata 'tokenizer.ggml.token_type' has ${types.length} entries for ${n} tokens`);
  const bosId = optionalId(header, 'tokenizer.ggml.bos_token_id', n);
  const eosId = optionalId(header, 'tokenizer.ggml.eos_token_id', n);
  const addBos = optionalBool(header, 'tokenizer.ggml.add_bos_token');
  const source = `${header.source} (tokenizer.ggml.*)`;

  if (model === 'llama') {
    const scores = header.metadata.has('tokenizer.ggml.scores') ? ggufNumberArray(header, 'tokenizer.ggml.scores') : new Array<number>(n).fill(0);
    if (scores.length !== n) throw new Error(`${header.source}: metadata 'tokenizer.ggml.scores' has ${scores.length} entries for ${n} tokens`);
    return new SentencePieceTokenizer({
      source,
      tokens,
      scores,
      ...(types ? { types } : {}),
      bosId,
      eosId,
      unkId: optionalId(header, 'tokenizer.ggml.unknown_token_id', n),
      addBos: addBos ?? true,
    });
  }

  if (model === 'gpt2') {
    const mergeLines = ggufStringArray(header, 'tokenizer.ggml.merges');
    const merges = mergeLines.map((line, i): [string, string] => {
      const parts = line.split(' ');
      if (parts.length !== 2) throw new Error(`${header.source}: metadata 'tokenizer.ggml.merges'[${i}] must be "left right", got ${JSON.stringify(line)}`);
      return [parts[0]!, parts[1]!];
    });
    const pre = ggufString(header, 'tokenizer.ggml.pre', 'default');
    const pattern = PRE_TOKENIZER_PATTERNS[pre];
    if (pattern === undefined) {
      throw new Error(`${header.source}: metadata 'tokenizer.ggml.pre' = '${pre}' is not supported (supported: ${Object.keys(PRE_TOKENIZER_PATTERNS).join(', ')})`);
    }
    const regex = compileSplitPattern(pattern, `${header.source}: tokenizer.ggml.pre`);
    const vocab = new Map<string, number>();
    const addedTokens: AddedToken[] = [];
    tokens.forEach((token, id) => {
      const type = types?.[id] ?? SentencePieceTokenType.normal;
      if (type === SentencePieceTokenType.control || type === SentencePieceTokenType.userDefined) {
        addedTokens.push({ id, content: token, special: type === SentencePieceTokenType.control, normalized: false, lstrip: false, rstrip: false, singleWord: false });
      } else if (!vocab.has(token)) {
        vocab.set(token, id);
      }
    });
    return new BpeTokenizer({
      source,
      vocab,
      merges,
      addedTokens,
      normalizer: null,
      preTokenizer: (segment) => splitIsolated(segment, regex).map((p) => bytesToByteLevel(utf8Bytes(p))),
      byteFallback: false,
      unkToken: null,
      fuseUnk: false,
      ignoreMerges: pre === 'llama-bpe' || pre === 'llama3',
      decoder: { byteLevel: true, byteFallback: false, replacements: [], stripLeading: null },
      bosId,
      eosId,
      addBosByDefault: addBos ?? false,
    });
  }
  throw new Error(`${header.source}: metadata 'tokenizer.ggml.model' = '${model}' is not supported (supported: llama, gpt2)`);
}
