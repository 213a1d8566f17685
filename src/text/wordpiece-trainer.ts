// Learns a WordPiece vocabulary from a corpus, the way Hugging Face tokenizers' WordPieceTrainer does
// (it trains byte-pair merges with a `##` continuing-subword prefix and keeps the resulting tokens):
//   1. split the corpus into words with BERT's basic tokenizer and count them;
//   2. the alphabet is every character of those words (the `limitAlphabet` most frequent ones when
//      set); the vocabulary starts as the special tokens, then each character c and its
//      continuation form ##c, in code-point order, so that any word of known characters tokenizes;
//   3. every word becomes symbols: its first character, then ##-prefixed characters;
//   4. repeat: merge the adjacent symbol pair (x, y) with the largest count, weighted by word
//      frequency (ties: the smaller pair in string order), into x + y without y's "##", and add it to
//      the vocabulary; stop at `vocabSize` tokens or when the best count is below `minFrequency`.
// The tokenizer then splits words greedily, longest vocabulary piece first (it does not replay merges).

import { basicTokenize } from './bert-basic.js';
import { CONTINUATION_PREFIX } from './wordpiece.js';

export interface WordPieceTrainingOptions {
  /** Size of the vocabulary to learn, special tokens and alphabet included. */
  readonly vocabSize: number;
  /** Pairs seen fewer times are never merged. Default 2. */
  readonly minFrequency?: number;
  /** Lower-case (and strip accents from) the corpus, for an uncased model. Default true. */
  readonly lowercase?: boolean;
  /** Keep only this many characters, the most frequent; words with other characters are skipped. */
  readonly limitAlphabet?: number;
  /** Default [PAD] [UNK] [CLS] [SEP] [MASK], which then get ids 0-4. */
  readonly specialTokens?: readonly string[];
}

export interface TrainedWordPiece {
  /** The vocabulary, id = index: write it as vocab.txt with formatVocabText. */
  readonly vocab: string[];
  readonly alphabetSize: number;
  readonly merges: number;
  /** Distinct words the vocabulary was learnt from. */
  readonly distinctWords: number;
}

export const DEFAULT_SPECIAL_TOKENS: readonly string[] = ['[PAD]', '[UNK]', '[CLS]', '[SEP]', '[MASK]'];

// Symbol ids stay below 2^21 so that a pair packs into one exact double: x * 2^21 + y.
const PAIR_SHIFT = 2 ** 21;

/** Counts the basic-tokenizer words of one or more texts. */
export function countWords(texts: Iterable<string>, lowercase = true): Map<string, number> {
  const counts = new Map<string, number>();
  for (const text of texts) {
    for (const word of basicTokenize(text, { lowercase })) counts.set(word, (counts.get(word) ?? 0) + 1);
  }
  return counts;
}

/** Learns a vocabulary from raw text (one string or several, e.g. one per document). */
export function trainWordPiece(corpus: string | Iterable<string>, options: WordPieceTrainingOptions): TrainedWordPiece {
  const texts = typeof corpus === 'string' ? [corpus] : corpus;
  return trainWordPieceFromCounts(countWords(texts, options.lowercase ?? true), options);
}

/** Learns a vocabulary from word counts (words as the basic tokenizer produces them). */
export function trainWordPieceFromCounts(wordCounts: ReadonlyMap<string, number>, options: WordPieceTrainingOptions): TrainedWordPiece {
  const specials = options.specialTokens ?? DEFAULT_SPECIAL_TOKENS;
  const minFrequency = options.minFrequency ?? 2;
  const { vocabSize } = options;
  if (!Number.isInteger(vocabSize) || vocabSize <= 0) throw new Error(`trainWordPiece: vocabSize must be a positive integer, got ${vocabSize}`);
  if (vocabSize >= PAIR_SHIFT) throw new Error(`trainWordPiece: vocabSize ${vocabSize} is too large (at most ${PAIR_SHIFT - 1})`);
  if (new Set(specials).size !== specials.length) throw new Error(`trainWordPiece: duplicate special tokens in [${specials.join(', ')}]`);

  const alphabet = chooseAlphabet(wordCounts, options.limitAlphabet);
  const vocab: string[] = [...specials];
  const symbolIds = new Map<string, number>();
  for (const [id, token] of vocab.entries()) symbolIds.set(token, id);
  const addSymbol = (token: string): number => {
    let id = symbolIds.get(token);
    if (id === undefined) {
      id = vocab.length;
      vocab.push(token);
      symbolIds.set(token, id);
    }
    return id;
  };
  for (const char of alphabet) addSymbol(char);
  for (const char of alphabet) addSymbol(CONTINUATION_PREFIX + char);
  const alphabetSize = vocab.length - specials.length;
  if (vocab.length > vocabSize) {
    throw new Error(
      `trainWordPiece: vocabSize ${vocabSize} cannot hold the ${specials.length} special tokens and ${alphabetSize} alphabet tokens ` +
        `(${alphabet.size} characters, each also as ##c); raise vocabSize or set limitAlphabet`,
    );
  }

  // Words as symbol sequences, with their frequencies; words with characters outside the alphabet are left out.
  const words: number[][] = [];
  const frequencies: number[] = [];
  for (const [word, count] of wordCounts) {
    const chars = Array.from(word);
    if (!chars.every((c) => alphabet.has(c))) continue;
    words.push(chars.map((c, i) => symbolIds.get(i === 0 ? c : CONTINUATION_PREFIX + c)!));
    frequencies.push(count);
  }

  const pairCounts = new Map<number, number>();
  const pairWords = new Map<number, Set<number>>(); // may hold words that no longer contain the pair
  const addPairs = (w: number, sign: 1 | -1, touched: Set<number> | null): void => {
    const word = words[w]!;
    const frequency = frequencies[w]! * sign;
    for (let i = 0; i + 1 < word.length; i++) {
      const key = word[i]! * PAIR_SHIFT + word[i + 1]!;
      pairCounts.set(key, (pairCounts.get(key) ?? 0) + frequency);
      if (sign > 0) {
        let holders = pairWords.get(key);
        if (!holders) pairWords.set(key, (holders = new Set()));
        holders.add(w);
        touched?.add(key);
      }
    }
  };
  for (let w = 0; w < words.length; w++) addPairs(w, 1, null);

  const heap = new PairHeap((a, b) => comparePairs(a, b, vocab));
  for (const [key, count] of pairCounts) heap.push({ key, count });

  let merges = 0;
  while (vocab.length < vocabSize) {
    const top = heap.pop();
    if (!top) break;
    const current = pairCounts.get(top.key) ?? 0;
    if (current !== top.count) {
      // Stale entry: the count changed since it was pushed.
      if (current > 0) heap.push({ key: top.key, count: current });
      continue;
    }
    if (current < minFrequency || current <= 0) break;
    const left = Math.floor(top.key / PAIR_SHIFT);
    const right = top.key % PAIR_SHIFT;
    const merged = addSymbol(vocab[left]! + vocab[right]!.slice(CONTINUATION_PREFIX.length));
    merges++;
    const touched = new Set<number>();
    for (const w of pairWords.get(top.key) ?? []) {
      const word = words[w]!;
      if (!containsPair(word, left, right)) continue;
      addPairs(w, -1, null);
      const rebuilt: number[] = [];
      for (let i = 0; i < word.length; i++) {
        if (i + 1 < word.length && word[i] === left && word[i + 1] === right) {
          rebuilt.push(merged);
          i++;
        } else {
          rebuilt.push(word[i]!);
        }
      }
      words[w] = rebuilt;
      addPairs(w, 1, touched);
    }
    pairWords.delete(top.key);
    for (const key of touched) {
      const count = pairCounts.get(key) ?? 0;
      if (count > 0) heap.push({ key, count });
    }
  }
  return { vocab, alphabetSize, merges, distinctWords: words.length };
}

function chooseAlphabet(wordCounts: ReadonlyMap<string, number>, limit: number | undefined): Set<string> {
  const charCounts = new Map<string, number>();
  for (const [word, count] of wordCounts) {
    for (const char of word) charCounts.set(char, (charCounts.get(char) ?? 0) + count);
  }
  let chars = [...charCounts.keys()];
  if (limit !== undefined && chars.length > limit) {
    chars = chars.sort((a, b) => charCounts.get(b)! - charCounts.get(a)! || compareCodePoints(a, b)).slice(0, limit);
  }
  return new Set(chars.sort(compareCodePoints));
}

function compareCodePoints(a: string, b: string): number {
  return a.codePointAt(0)! - b.codePointAt(0)!;
}

function containsPair(word: readonly number[], left: number, right: number): boolean {
  for (let i = 0; i + 1 < word.length; i++) if (word[i] === left && word[i + 1] === right) return true;
  return false;
}

interface PairEntry {
  readonly key: number;
  readonly count: number;
}

/** Larger count first; ties broken by the pair's strings, so training does not depend on map order. */
function comparePairs(a: PairEntry, b: PairEntry, vocab: readonly string[]): number {
  if (a.count !== b.count) return b.count - a.count;
  const aLeft = vocab[Math.floor(a.key / PAIR_SHIFT)]!;
  const bLeft = vocab[Math.floor(b.key / PAIR_SHIFT)]!;
  if (aLeft !== bLeft) return aLeft < bLeft ? -1 : 1;
  const aRight = vocab[a.key % PAIR_SHIFT]!;
  const bRight = vocab[b.key % PAIR_SHIFT]!;
  return aRight < bRight ? -1 : aRight > bRight ? 1 : 0;
}

/** A binary heap; `before(a, b) < 0` puts a nearer the top. */
class PairHeap {
  private readonly items: PairEntry[] = [];

  constructor(private readonly before: (a: PairEntry, b: PairEntry) => number) {}

  push(item: PairEntry): void {
    const items = this.items;
    items.push(item);
    let i = items.length - 1;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (this.before(items[i]!, items[parent]!) >= 0) break;
      [items[i], items[parent]] = [items[parent]!, items[i]!];
      i = parent;
    }
  }

  pop(): PairEntry | undefined {
    const items = this.items;
    const top = items[0];
    const last = items.pop();
    if (items.length > 0 && last) {
      items[0] = last;
      let i = 0;
      for (;;) {
        const l = 2 * i + 1;
        const r = l + 1;
        let best = i;
        if (l < items.length && this.before(items[l]!, items[best]!) < 0) best = l;
        if (r < items.length && this.before(items[r]!, items[best]!) < 0) best = r;
        if (best === i) break;
        [items[i], items[best]] = [items[best]!, items[i]!];
        i = best;
      }
    }
    return top;
  }
}
