// BERT's WordPiece tokenizer, equal to Hugging Face's (slow) BertTokenizer: the basic tokenizer
// (bert-basic.ts), then greedy longest-match-first WordPiece with `##` continuation pieces; a word
// longer than 100 characters, or one that cannot be covered by vocabulary pieces, becomes [UNK].
// Special tokens written literally in the text ("[MASK]") are kept whole, as Hugging Face does.

import { basicTokenize, type BasicTokenizerOptions } from './bert-basic.js';

export const CONTINUATION_PREFIX = '##';

export interface WordPieceOptions extends BasicTokenizerOptions {
  /** Longer words (in code points) become [UNK]. Default 100. */
  readonly maxInputCharsPerWord?: number;
  readonly unkToken?: string;
  readonly padToken?: string;
  readonly clsToken?: string;
  readonly sepToken?: string;
  readonly maskToken?: string;
}

export interface WordPieceDecodeOptions {
  /** Leave out [PAD], [CLS], [SEP], [MASK] and [UNK] (Hugging Face's skip_special_tokens). Default false. */
  readonly skipSpecialTokens?: boolean;
  /** Hugging Face's clean_up_tokenization_spaces: "a ." -> "a.", "don ' t" stays. Default true. */
  readonly cleanUpSpaces?: boolean;
}

export interface EncodedPair {
  /** [CLS] A [SEP] (B [SEP]) */
  readonly ids: Int32Array;
  /** 0 for [CLS], A and its [SEP]; 1 for B and its [SEP]. */
  readonly tokenTypeIds: Int32Array;
}

/**
 * Parses vocab.txt: one token per line, its id is its line number. Line endings are \n, \r\n or
 * \r (Python's universal newlines); everything else on the line, spaces included, is the token.
 */
export function parseVocabText(text: string, source: string): string[] {
  const lines = text.split(/\r\n|\r|\n/);
  if (lines.length > 0 && lines[lines.length - 1] === '') lines.pop();
  if (lines.length === 0) throw new Error(`${source}: the vocabulary file is empty`);
  return lines;
}

/** The vocab.txt text for `tokens` (id = line number). */
export function formatVocabText(tokens: readonly string[]): string {
  for (const [id, token] of tokens.entries()) {
    if (/[\r\n]/.test(token)) throw new Error(`vocabulary token ${id} contains a line break`);
  }
  return tokens.map((token) => `${token}\n`).join('');
}

export class WordPieceTokenizer {
  readonly vocab: readonly string[];
  readonly lowercase: boolean;
  readonly padId: number;
  readonly unkId: number;
  readonly clsId: number;
  readonly sepId: number;
  readonly maskId: number;
  /** The ids of the five special tokens. */
  readonly specialIds: ReadonlySet<number>;
  private readonly ids: Map<string, number>;
  /** The basic tokenizer's settings, defaults filled in. */
  readonly basicOptions: Required<BasicTokenizerOptions>;
  readonly maxInputCharsPerWord: number;
  private readonly specialTokens: readonly string[];
  private readonly specialTokenPattern: RegExp;
  /** Words seen before and their pieces; corpora repeat words a lot. */
  private readonly wordCache = new Map<string, readonly number[]>();

  /** `vocab[id]` is the token of that id; `source` names the vocabulary in errors. */
  constructor(vocab: readonly string[], options: WordPieceOptions = {}, source = 'vocabulary') {
    this.vocab = vocab;
    this.ids = new Map();
    // Hugging Face keeps the last id of a duplicated line.
    for (const [id, token] of vocab.entries()) this.ids.set(token, id);
    this.lowercase = options.lowercase ?? true;
    this.basicOptions = {
      lowercase: this.lowercase,
      stripAccents: options.stripAccents ?? this.lowercase,
      tokenizeChineseChars: options.tokenizeChineseChars ?? true,
    };
    this.maxInputCharsPerWord = options.maxInputCharsPerWord ?? 100;
    const required = (token: string | undefined, fallback: string): number => {
      const name = token ?? fallback;
      const id = this.ids.get(name);
      if (id === undefined) throw new Error(`${source}: the special token ${name} is not in the vocabulary (${vocab.length} tokens)`);
      return id;
    };
    this.padId = required(options.padToken, '[PAD]');
    this.unkId = required(options.unkToken, '[UNK]');
    this.clsId = required(options.clsToken, '[CLS]');
    this.sepId = required(options.sepToken, '[SEP]');
    this.maskId = required(options.maskToken, '[MASK]');
    this.specialIds = new Set([this.padId, this.unkId, this.clsId, this.sepId, this.maskId]);
    // Longest first, so that a special token that contains another one wins.
    this.specialTokens = [...this.specialIds].map((id) => vocab[id]!).sort((a, b) => b.length - a.length);
    this.specialTokenPattern = new RegExp(`(${this.specialTokens.map(escapeRegExp).join('|')})`);
  }

  get vocabSize(): number {
    return this.vocab.length;
  }

  /** The id of `token`, or undefined when it is not in the vocabulary. */
  tokenToId(token: string): number | undefined {
    return this.ids.get(token);
  }

  idToToken(id: number): string {
    const token = this.vocab[id];
    if (token === undefined) throw new Error(`token id ${id} is outside the vocabulary (0..${this.vocab.length - 1})`);
    return token;
  }

  /** True for `##` pieces: they continue the word before them. */
  isContinuation(id: number): boolean {
    return this.vocab[id]?.startsWith(CONTINUATION_PREFIX) ?? false;
  }

  /** WordPiece pieces of one basic token (no whitespace in it): greedy longest match first. */
  wordPieceIds(word: string): readonly number[] {
    const cached = this.wordCache.get(word);
    if (cached) return cached;
    const pieces = this.splitWord(word);
    // Bounded so that a huge corpus of unique words cannot grow it without limit.
    if (this.wordCache.size < 1_000_000) this.wordCache.set(word, pieces);
    return pieces;
  }

  private splitWord(word: string): readonly number[] {
    // Code point boundaries: Python slices code points, so a piece never splits a surrogate pair.
    const boundaries: number[] = [0];
    for (let i = 0; i < word.length; ) {
      i += word.codePointAt(i)! > 0xffff ? 2 : 1;
      boundaries.push(i);
    }
    const chars = boundaries.length - 1;
    if (chars > this.maxInputCharsPerWord) return [this.unkId];
    const pieces: number[] = [];
    let start = 0;
    while (start < chars) {
      let end = chars;
      let found: number | undefined;
      while (start < end) {
        const text = word.slice(boundaries[start], boundaries[end]);
        found = this.ids.get(start > 0 ? CONTINUATION_PREFIX + text : text);
        if (found !== undefined) break;
        end--;
      }
      if (found === undefined) return [this.unkId];
      pieces.push(found);
      start = end;
    }
    return pieces;
  }

  /** Token strings of `text` (no [CLS]/[SEP] added); literal special tokens stay whole. */
  tokenize(text: string): string[] {
    return Array.from(this.encode(text), (id) => this.vocab[id]!);
  }

  /** Token ids of `text` (no [CLS]/[SEP] added). */
  encode(text: string): Int32Array {
    const ids: number[] = [];
    this.encodeInto(text, ids);
    return Int32Array.from(ids);
  }

  /** Appends the ids of `text` to `out` and returns how many were added. */
  encodeInto(text: string, out: number[]): number {
    const before = out.length;
    // split() with a capture group puts the special tokens at the odd indices.
    const chunks = text.split(this.specialTokenPattern);
    for (const [index, chunk] of chunks.entries()) {
      if (index % 2 === 1) {
        out.push(this.ids.get(chunk)!);
        continue;
      }
      if (chunk.length === 0) continue;
      for (const word of basicTokenize(chunk, this.basicOptions)) {
        for (const id of this.wordPieceIds(word)) out.push(id);
      }
    }
    return out.length - before;
  }

  /** `[CLS] a [SEP]` or `[CLS] a [SEP] b [SEP]`, with token type ids (no truncation). */
  encodePair(textA: string, textB?: string): EncodedPair {
    const a = this.encode(textA);
    const b = textB === undefined ? null : this.encode(textB);
    const length = a.length + 2 + (b ? b.length + 1 : 0);
    const ids = new Int32Array(length);
    const tokenTypeIds = new Int32Array(length);
    ids[0] = this.clsId;
    ids.set(a, 1);
    ids[a.length + 1] = this.sepId;
    if (b) {
      ids.set(b, a.length + 2);
      ids[length - 1] = this.sepId;
      tokenTypeIds.fill(1, a.length + 2);
    }
    return { ids, tokenTypeIds };
  }

  /**
   * Text of `ids` as Hugging Face decodes it: tokens joined by spaces, ` ##` removed, and (by
   * default) spaces before . , ! ? and in contractions cleaned up.
   */
  decode(ids: ArrayLike<number>, options: WordPieceDecodeOptions = {}): string {
    const skip = options.skipSpecialTokens ?? false;
    const tokens: string[] = [];
    for (let i = 0; i < ids.length; i++) {
      const id = ids[i]!;
      if (skip && this.specialIds.has(id)) continue;
      tokens.push(this.idToToken(id));
    }
    const text = tokens.join(' ').replaceAll(` ${CONTINUATION_PREFIX}`, '').trim();
    return (options.cleanUpSpaces ?? true) ? cleanUpTokenizationSpaces(text) : text;
  }
}

/** Hugging Face's clean_up_tokenization: removes the spaces tokenization put before punctuation and contractions. */
export function cleanUpTokenizationSpaces(text: string): string {
  return text
    .replaceAll(' .', '.')
    .replaceAll(' ?', '?')
    .replaceAll(' !', '!')
    .replaceAll(' ,', ',')
    .replaceAll(" ' ", "'")
    .replaceAll(" n't", "n't")
    .replaceAll(" 'm", "'m")
    .replaceAll(" 's", "'s")
    .replaceAll(" 've", "'ve")
    .replaceAll(" 're", "'re");
}

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/** A tokenizer for the text of a vocab.txt file. */
export function wordPieceFromVocabText(text: string, options: WordPieceOptions = {}, source = 'vocab.txt'): WordPieceTokenizer {
  return new WordPieceTokenizer(parseVocabText(text, source), options, source);
}
