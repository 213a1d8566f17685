// A merge-rank BPE tokenizer covering what Hugging Face `tokenizer.json` files of decoder LLMs use:
// byte-level BPE (GPT-2, GPT-NeoX/Pythia, Llama 3) and character BPE with byte fallback (Llama 2 /
// Mistral in tokenizer.json form). The pipeline follows Hugging Face tokenizers: split out added
// tokens, normalize, pre-tokenize, BPE each piece (merges by rank), then decode through bytes.
// Building one from a tokenizer.json is in src/text/hf-tokenizer.ts; this file holds the engine.

import { mergeSymbols, type PairMerge } from './bpe-merge.js';
import { byteLevelToBytes } from './byte-level.js';
import { decodeViaBytes, utf8Bytes, type DecodeOptions, type EncodeOptions, type Tokenizer } from './tokenizer.js';

export interface AddedToken {
  readonly id: number;
  readonly content: string;
  /** Control tokens: skipped by decode, matched in text only when allowSpecial. */
  readonly special: boolean;
  /** Matched in the normalized text (true) or the raw text (false). */
  readonly normalized: boolean;
  /** Swallow white space to the left / right of a match. */
  readonly lstrip: boolean;
  readonly rstrip: boolean;
  /** Match only as a whole word. */
  readonly singleWord: boolean;
}

/** Maps a text segment to pieces spelled in the model's alphabet (byte-level characters, or '▁' for spaces). */
export type PreTokenizer = (segment: string, isFirstSegment: boolean) => string[];

/** Per-token decoding steps (the tokenizer.json `decoder`). */
export interface BpeDecoderSpec {
  /** Token characters stand for bytes (GPT-2's map). */
  readonly byteLevel: boolean;
  /** `<0xXX>` tokens are raw bytes. */
  readonly byteFallback: boolean;
  /** String replacements applied to a token's text, in order (e.g. '▁' -> ' '). */
  readonly replacements: ReadonlyArray<readonly [string, string]>;
  /** Leading characters to strip from the first token of a text (SentencePiece's dummy prefix). */
  readonly stripLeading: { readonly content: string; readonly count: number } | null;
}

export interface BpeTokenizerSpec {
  /** Names the file in errors. */
  readonly source: string;
  readonly vocab: ReadonlyMap<string, number>;
  /** Merge pairs in rank order (rank 0 first). */
  readonly merges: ReadonlyArray<readonly [string, string]>;
  readonly addedTokens: readonly AddedToken[];
  readonly normalizer: ((text: string) => string) | null;
  readonly preTokenizer: PreTokenizer;
  readonly byteFallback: boolean;
  readonly unkToken: string | null;
  readonly fuseUnk: boolean;
  /** Llama 3: a piece that is itself in the vocabulary is taken whole, before merging. */
  readonly ignoreMerges: boolean;
  readonly decoder: BpeDecoderSpec;
  readonly bosId: number | null;
  readonly eosId: number | null;
  readonly addBosByDefault: boolean;
  readonly addEosByDefault?: boolean;
}

type Segment = { readonly text: string } | { readonly id: number };

const CACHE_LIMIT = 50_000;

export class BpeTokenizer implements Tokenizer {
  readonly vocabSize: number;
  readonly bosId: number | null;
  readonly eosId: number | null;
  readonly addBosByDefault: boolean;
  readonly source: string;
  private readonly addEosByDefault: boolean;
  private readonly vocab: ReadonlyMap<string, number>;
  private readonly tokens: Array<string | undefined>;
  private readonly pairs = new Map<number, PairMerge>();
  private readonly added: readonly AddedToken[];
  private readonly addedById = new Map<number, AddedToken>();
  private readonly specialIds = new Set<number>();
  private readonly byteTokenIds: Int32Array | null;
  private readonly unkId: number | null;
  private readonly cache = new Map<string, number[]>();
  private readonly tokenBytesCache: Array<Uint8Array | undefined>;

  constructor(private readonly spec: BpeTokenizerSpec) {
    this.source = spec.source;
    this.vocab = spec.vocab;
    this.added = spec.addedTokens;
    let maxId = -1;
    for (const id of spec.vocab.values()) maxId = Math.max(maxId, id);
    for (const t of spec.addedTokens) maxId = Math.max(maxId, t.id);
    this.vocabSize = maxId + 1;
    this.tokens = new Array<string | undefined>(this.vocabSize);
    for (const [token, id] of spec.vocab) {
      if (!Number.isInteger(id) || id < 0) throw new Error(`${spec.source}: vocab entry ${JSON.stringify(token)} has invalid id ${id}`);
      this.tokens[id] = token;
    }
    for (const t of spec.addedTokens) {
      this.tokens[t.id] = t.content;
      this.addedById.set(t.id, t);
      if (t.special) this.specialIds.add(t.id);
    }
    this.tokenBytesCache = new Array<Uint8Array | undefined>(this.vocabSize);
    const width = this.vocabSize;
    spec.merges.forEach(([a, b], rank) => {
      const left = spec.vocab.get(a);
      const right = spec.vocab.get(b);
      const merged = spec.vocab.get(a + b);
      if (left === undefined || right === undefined || merged === undefined) {
        const missing = left === undefined ? a : right === undefined ? b : a + b;
        throw new Error(`${spec.source}: merge ${rank} (${JSON.stringify(a)} ${JSON.stringify(b)}): ${JSON.stringify(missing)} is not in the vocabulary`);
      }
      const key = left * width + right;
      // A repeated pair keeps its first (best) rank, as Hugging Face does.
      if (!this.pairs.has(key)) this.pairs.set(key, { priority: rank, id: merged });
    });
    if (spec.byteFallback) {
      this.byteTokenIds = new Int32Array(256);
      for (let b = 0; b < 256; b++) {
        const token = `<0x${b.toString(16).toUpperCase().padStart(2, '0')}>`;
        const id = spec.vocab.get(token);
        if (id === undefined) throw new Error(`${spec.source}: byte_fallback is on but the vocabulary has no ${token} token`);
        this.byteTokenIds[b] = id;
      }
    } else {
      this.byteTokenIds = null;
    }
    this.unkId = spec.unkToken === null ? null : (spec.vocab.get(spec.unkToken) ?? this.added.find((t) => t.content === spec.unkToken)?.id ?? null);
    if (spec.unkToken !== null && this.unkId === null) throw new Error(`${spec.source}: unk_token ${JSON.stringify(spec.unkToken)} is not in the vocabulary`);
    this.bosId = spec.bosId;
    this.eosId = spec.eosId;
    this.addBosByDefault = spec.addBosByDefault;
    this.addEosByDefault = spec.addEosByDefault ?? false;
  }

  encode(text: string, options: EncodeOptions = {}): number[] {
    const out: number[] = [];
    if (options.addBos ?? this.addBosByDefault) {
      if (this.bosId === null) throw new Error(`${this.source}: addBos was asked for but the tokenizer has no BOS token`);
      out.push(this.bosId);
    }
    const allowSpecial = options.allowSpecial ?? true;
    const raw = this.splitAdded(text, (t) => !t.normalized && (allowSpecial || !t.special));
    let isFirst = true;
    for (const part of raw) {
      if ('id' in part) {
        out.push(part.id);
        isFirst = false;
        continue;
      }
      const normalized = this.spec.normalizer ? this.spec.normalizer(part.text) : part.text;
      for (const piece of this.splitAdded(normalized, (t) => t.normalized && (allowSpecial || !t.special))) {
        if ('id' in piece) {
          out.push(piece.id);
        } else if (piece.text.length > 0) {
          for (const word of this.spec.preTokenizer(piece.text, isFirst)) this.encodeWord(word, out);
        }
        isFirst = false;
      }
    }
    if (options.addEos ?? this.addEosByDefault) {
      if (this.eosId === null) throw new Error(`${this.source}: addEos was asked for but the tokenizer has no EOS token`);
      out.push(this.eosId);
    }
    return out;
  }

  /** Leftmost-longest matches of the added tokens that `use` selects; the rest stays text. */
  private splitAdded(text: string, use: (t: AddedToken) => boolean): Segment[] {
    const candidates = this.added.filter((t) => t.content.length > 0 && use(t));
    if (candidates.length === 0 || text.length === 0) return [{ text }];
    const byFirst = new Map<string, AddedToken[]>();
    for (const t of candidates) {
      const list = byFirst.get(t.content[0]!) ?? [];
      list.push(t);
      byFirst.set(t.content[0]!, list);
    }
    for (const list of byFirst.values()) list.sort((a, b) => b.content.length - a.content.length);
    const segments: Segment[] = [];
    let textStart = 0;
    let i = 0;
    while (i < text.length) {
      const list = byFirst.get(text[i]!);
      const match = list?.find((t) => text.startsWith(t.content, i) && (!t.singleWord || isWholeWord(text, i, i + t.content.length)));
      if (!match) {
        i++;
        continue;
      }
      let start = i;
      let end = i + match.content.length;
      if (match.lstrip) while (start > textStart && /\s/u.test(text[start - 1]!)) start--;
      if (match.rstrip) while (end < text.length && /\s/u.test(text[end]!)) end++;
      if (start > textStart) segments.push({ text: text.slice(textStart, start) });
      segments.push({ id: match.id });
      textStart = end;
      i = end;
    }
    if (textStart < text.length) segments.push({ text: text.slice(textStart) });
    return segments;
  }

  private encodeWord(word: string, out: number[]): void {
    const cached = this.cache.get(word);
    if (cached) {
      for (const id of cached) out.push(id);
      return;
    }
    const ids = this.bpe(word);
    if (this.cache.size >= CACHE_LIMIT) this.cache.clear();
    this.cache.set(word, ids);
    for (const id of ids) out.push(id);
  }

  private bpe(word: string): number[] {
    if (this.spec.ignoreMerges) {
      const whole = this.vocab.get(word);
      if (whole !== undefined) return [whole];
    }
    const symbols: number[] = [];
    let unkRun = false;
    for (const ch of word) {
      const id = this.vocab.get(ch);
      if (id !== undefined) {
        symbols.push(id);
        unkRun = false;
      } else if (this.byteTokenIds) {
        for (const b of utf8Bytes(ch)) symbols.push(this.byteTokenIds[b]!);
        unkRun = false;
      } else if (this.unkId !== null) {
        if (!(this.spec.fuseUnk && unkRun)) symbols.push(this.unkId);
        unkRun = true;
      } else {
        throw new Error(
          `${this.source}: character ${JSON.stringify(ch)} (U+${ch.codePointAt(0)!.toString(16).toUpperCase().padStart(4, '0')}) is not in the vocabulary and the tokenizer has no unk token or byte fallback`,
        );
      }
    }
    const width = this.vocabSize;
    return mergeSymbols(symbols, (left, right) => this.pairs.get(left * width + right));
  }

  decode(ids: readonly number[], options?: DecodeOptions): string {
    return decodeViaBytes(this, ids, options);
  }

  tokenBytes(id: number, previous: number | null): Uint8Array {
    const strip = this.spec.decoder.stripLeading;
    const atStart = previous === null || (previous === this.bosId && this.bosId !== null);
    if (!(strip && atStart)) {
      const cached = this.tokenBytesCache[id];
      if (cached) return cached;
    }
    const token = this.tokens[id];
    if (token === undefined) return new Uint8Array(0);
    let bytes: Uint8Array;
    const added = this.addedById.get(id);
    const d = this.spec.decoder;
    if (added) {
      bytes = utf8Bytes(added.content);
    } else if (d.byteFallback && /^<0x[0-9A-Fa-f]{2}>$/.test(token)) {
      bytes = Uint8Array.of(parseInt(token.slice(3, 5), 16));
    } else if (d.byteLevel) {
      bytes = byteLevelToBytes(token) ?? utf8Bytes(token);
    } else {
      let text = token;
      for (const [from, to] of d.replacements) text = text.split(from).join(to);
      if (strip && atStart) {
        for (let k = 0; k < strip.count && text.startsWith(strip.content); k++) text = text.slice(strip.content.length);
        return utf8Bytes(text);
      }
      bytes = utf8Bytes(text);
    }
    this.tokenBytesCache[id] = bytes;
    return bytes;
  }

  isSpecial(id: number): boolean {
    return this.specialIds.has(id);
  }

  idToToken(id: number): string | undefined {
    return this.tokens[id];
  }

  tokenToId(token: string): number | undefined {
    return this.vocab.get(token) ?? this.added.find((t) => t.content === token)?.id;
  }
}

function isWholeWord(text: string, start: number, end: number): boolean {
  const wordChar = /[\p{L}\p{N}_]/u;
  return !(start > 0 && wordChar.test(text[start - 1]!)) && !(end < text.length && wordChar.test(text[end]!));
}
