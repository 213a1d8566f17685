// SentencePiece-style BPE with byte fallback, as Llama models use it: the vocabulary carries a
// score per piece, and encoding merges the adjacent pair whose concatenation is the piece with the
// best score until none is in the vocabulary. Encoding follows llama2.c's encode() exactly:
// a dummy-prefix space before non-empty text, each UTF-8 character looked up on its own or
// spelled as <0xXX> byte tokens, then merges by score (leftmost on ties). Decoding follows
// llama2.c's decode(): a piece's leading space is dropped after BOS (and at the start of a text),
// <0xXX> pieces are raw bytes.
//
// Vocabularies come in two spellings: llama2.c's tokenizer.bin stores spaces as ' ', SentencePiece
// models (and so GGUF's tokenizer.ggml.tokens) as '▁' (U+2581). Both give the same ids.
// Loaders: src/io/gguf-tokenizer.ts (GGUF metadata) and src/io/llama2c.ts (tokenizer.bin).

import { mergeSymbols, type PairMerge } from './bpe-merge.js';
import { decodeViaBytes, utf8Bytes, type DecodeOptions, type EncodeOptions, type Tokenizer } from './tokenizer.js';

/** GGUF `tokenizer.ggml.token_type` values (llama.cpp's llama_token_type). */
export const SentencePieceTokenType = {
  normal: 1,
  unknown: 2,
  control: 3,
  userDefined: 4,
  unused: 5,
  byte: 6,
} as const;

export interface SentencePieceVocab {
  /** Names the file in errors. */
  readonly source: string;
  readonly tokens: readonly string[];
  readonly scores: ArrayLike<number>;
  /** Token types (see SentencePieceTokenType); absent in llama2.c files, where ids 0..2 are unk, BOS, EOS. */
  readonly types?: ArrayLike<number>;
  readonly bosId: number | null;
  readonly eosId: number | null;
  readonly unkId: number | null;
  /** Whether encode() prepends BOS by default (GGUF `tokenizer.ggml.add_bos_token`); default true. */
  readonly addBos?: boolean;
}

const SPACE_SYMBOL = '\u2581';
const BYTE_PIECE = /^<0x([0-9A-Fa-f]{2})>$/;

export class SentencePieceTokenizer implements Tokenizer {
  readonly vocabSize: number;
  readonly bosId: number | null;
  readonly eosId: number | null;
  readonly addBosByDefault: boolean;
  readonly source: string;
  /** The character the vocabulary writes spaces with: ' ' (llama2.c) or '▁' (SentencePiece, GGUF). */
  readonly spaceSymbol: string;
  private readonly tokens: readonly string[];
  private readonly scores: Float64Array;
  private readonly pieceToId = new Map<string, number>();
  private readonly byteIds: Int32Array;
  private readonly specialIds = new Set<number>();
  private readonly pairCache = new Map<number, PairMerge | null>();
  private readonly bytesCache: Array<Uint8Array | undefined>;
  private readonly dummyPrefixId: number;

  constructor(vocab: SentencePieceVocab) {
    const { source, tokens, scores, types } = vocab;
    this.source = source;
    const n = tokens.length;
    if (n === 0) throw new Error(`${source}: the vocabulary is empty`);
    if (scores.length !== n) throw new Error(`${source}: ${n} tokens but ${scores.length} scores`);
    if (types && types.length !== n) throw new Error(`${source}: ${n} tokens but ${types.length} token types`);
    for (const [what, id] of [['BOS', vocab.bosId], ['EOS', vocab.eosId], ['unk', vocab.unkId]] as const) {
      if (id !== null && !(Number.isInteger(id) && id >= 0 && id < n)) throw new Error(`${source}: ${what} id ${id} is outside the ${n}-token vocabulary`);
    }
    this.vocabSize = n;
    this.tokens = tokens;
    this.scores = Float64Array.from(scores);
    this.bosId = vocab.bosId;
    this.eosId = vocab.eosId;
    this.addBosByDefault = vocab.addBos ?? vocab.bosId !== null;
    this.bytesCache = new Array<Uint8Array | undefined>(n);
    this.spaceSymbol = tokens.some((t) => t.includes(SPACE_SYMBOL)) ? SPACE_SYMBOL : ' ';
    for (let id = 0; id < n; id++) {
      const t = tokens[id]!;
      // llama2.c's sorted-vocab binary search finds one of equal pieces; take the first id.
      if (!this.pieceToId.has(t)) this.pieceToId.set(t, id);
      if (types ? types[id] === SentencePieceTokenType.control : id === vocab.bosId || id === vocab.eosId) this.specialIds.add(id);
    }
    if (vocab.bosId !== null) this.specialIds.add(vocab.bosId);
    if (vocab.eosId !== null) this.specialIds.add(vocab.eosId);
    this.byteIds = new Int32Array(256).fill(-1);
    for (let b = 0; b < 256; b++) {
      const id = this.pieceToId.get(`<0x${b.toString(16).toUpperCase().padStart(2, '0')}>`);
      if (id !== undefined) this.byteIds[b] = id;
    }
    const prefix = this.pieceToId.get(this.spaceSymbol);
    if (prefix === undefined) throw new Error(`${source}: the vocabulary has no '${this.spaceSymbol}' piece for the dummy prefix`);
    this.dummyPrefixId = prefix;
  }

  encode(text: string, options: EncodeOptions = {}): number[] {
    const out: number[] = [];
    if (options.addBos ?? this.addBosByDefault) {
      if (this.bosId === null) throw new Error(`${this.source}: addBos was asked for but the vocabulary has no BOS token`);
      out.push(this.bosId);
    }
    if (text.length > 0) {
      const symbols: number[] = [this.dummyPrefixId];
      for (const ch of text) {
        const id = this.pieceToId.get(ch === ' ' ? this.spaceSymbol : ch);
        if (id !== undefined) {
          symbols.push(id);
          continue;
        }
        for (const b of utf8Bytes(ch)) {
          const byteId = this.byteIds[b]!;
          if (byteId < 0) throw new Error(`${this.source}: character ${JSON.stringify(ch)} is not in the vocabulary, which has no <0x${b.toString(16).toUpperCase().padStart(2, '0')}> byte token`);
          symbols.push(byteId);
        }
      }
      for (const id of mergeSymbols(symbols, (left, right) => this.pair(left, right))) out.push(id);
    }
    if (options.addEos) {
      if (this.eosId === null) throw new Error(`${this.source}: addEos was asked for but the vocabulary has no EOS token`);
      out.push(this.eosId);
    }
    return out;
  }

  private pair(left: number, right: number): PairMerge | undefined {
    const key = left * this.vocabSize + right;
    let merge = this.pairCache.get(key);
    if (merge === undefined) {
      const id = this.pieceToId.get(this.tokens[left]! + this.tokens[right]!);
      // Higher score merges first; the heap pops the smallest priority.
      merge = id === undefined ? null : { priority: -this.scores[id]!, id };
      this.pairCache.set(key, merge);
    }
    return merge ?? undefined;
  }

  decode(ids: readonly number[], options?: DecodeOptions): string {
    return decodeViaBytes(this, ids, options);
  }

  tokenBytes(id: number, previous: number | null): Uint8Array {
    const atStart = previous === null || (previous === this.bosId && this.bosId !== null);
    const cached = this.bytesCache[id];
    if (cached && !(atStart && cached[0] === 0x20)) return cached;
    const piece = this.tokens[id];
    if (piece === undefined) return new Uint8Array(0);
    const byte = BYTE_PIECE.exec(piece);
    let bytes: Uint8Array;
    if (byte) {
      bytes = Uint8Array.of(parseInt(byte[1]!, 16));
    } else {
      bytes = utf8Bytes(this.spaceSymbol === ' ' ? piece : piece.split(this.spaceSymbol).join(' '));
    }
    this.bytesCache[id] = bytes;
    // As llama2.c: after BOS, SentencePiece drops the dummy-prefix space of the first piece.
    return atStart && !byte && bytes[0] === 0x20 ? bytes.subarray(1) : bytes;
  }

  isSpecial(id: number): boolean {
    return this.specialIds.has(id);
  }

  idToToken(id: number): string | undefined {
    return this.tokens[id];
  }

  tokenToId(token: string): number | undefined {
    return this.pieceToId.get(token);
  }

  score(id: number): number {
    const s = this.scores[id];
    if (s === undefined) throw new Error(`${this.source}: token id ${id} is outside the vocabulary`);
    return s;
  }
}
