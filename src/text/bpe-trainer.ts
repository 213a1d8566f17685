// Byte-level BPE training, GPT-2 style: pre-tokenize with GPT-2's pattern, start from the 256
// byte characters (after the special tokens), and repeatedly merge the most frequent adjacent
// pair (ties: the pair of smaller ids first, so training is deterministic). The result is a
// Hugging Face tokenizer.json, which loads here (and in Hugging Face tokenizers) as is.

import { BYTE_TO_CHAR, bytesToByteLevel, compileSplitPattern, GPT2_SPLIT_PATTERN } from './byte-level.js';
import { type BpeTokenizer } from './bpe-tokenizer.js';
import { hfTokenizerFromJson } from './hf-tokenizer.js';
import { utf8Bytes } from './tokenizer.js';

export interface BpeTrainOptions {
  /** Final vocabulary size, special tokens and the 256 byte tokens included. */
  readonly vocabSize: number;
  /** Get ids 0, 1, ... in this order; they are matched whole in text and skipped by decode. */
  readonly specialTokens?: readonly string[];
  /** Pairs seen fewer times are never merged (default 2), so the vocabulary may end up smaller. */
  readonly minFrequency?: number;
  /** A special token every encode() starts with by default (written as a TemplateProcessing post-processor). */
  readonly bosToken?: string;
}

export interface TrainedBpe {
  readonly tokenizer: BpeTokenizer;
  /** The tokenizer.json text. */
  readonly json: string;
  readonly merges: number;
}

/** A max-heap of (count, left, right) with lazy deletion: entries are checked against the live counts. */
class PairHeap {
  private readonly items: Array<[number, number, number]> = [];

  get size(): number {
    return this.items.length;
  }

  private before(a: [number, number, number], b: [number, number, number]): boolean {
    return a[0] > b[0] || (a[0] === b[0] && (a[1] < b[1] || (a[1] === b[1] && a[2] < b[2])));
  }

  push(item: [number, number, number]): void {
    const h = this.items;
    h.push(item);
    let i = h.length - 1;
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (!this.before(h[i]!, h[p]!)) break;
      [h[i], h[p]] = [h[p]!, h[i]!];
      i = p;
    }
  }

  pop(): [number, number, number] | undefined {
    const h = this.items;
    if (h.length === 0) return undefined;
    const top = h[0]!;
    const last = h.pop()!;
    if (h.length > 0) {
      h[0] = last;
      let i = 0;
      for (;;) {
        const l = 2 * i + 1;
        const r = l + 1;
        let m = i;
        if (l < h.length && this.before(h[l]!, h[m]!)) m = l;
        if (r < h.length && this.before(h[r]!, h[m]!)) m = r;
        if (m === i) break;
        [h[i], h[m]] = [h[m]!, h[i]!];
        i = m;
      }
    }
    return top;
  }
}

export function trainByteLevelBpe(text: string, options: BpeTrainOptions): TrainedBpe {
  const specials = options.specialTokens ?? [];
  if (new Set(specials).size !== specials.length) throw new Error('trainByteLevelBpe: specialTokens has duplicates');
  if (specials.some((s) => s.length === 0)) throw new Error('trainByteLevelBpe: a special token is empty');
  const minVocab = specials.length + 256;
  if (!Number.isInteger(options.vocabSize) || options.vocabSize < minVocab) {
    throw new Error(`trainByteLevelBpe: vocabSize must be an integer >= ${minVocab} (the special tokens and 256 bytes), got ${options.vocabSize}`);
  }
  if (options.bosToken !== undefined && !specials.includes(options.bosToken)) throw new Error(`trainByteLevelBpe: bosToken '${options.bosToken}' is not one of specialTokens`);
  const minFrequency = options.minFrequency ?? 2;

  const tokens: string[] = [...specials];
  const ids = new Map<string, number>();
  specials.forEach((s, i) => ids.set(s, i));
  for (let b = 0; b < 256; b++) {
    const ch = BYTE_TO_CHAR[b]!;
    if (ids.has(ch)) throw new Error(`trainByteLevelBpe: special token '${ch}' collides with a byte character`);
    ids.set(ch, tokens.length);
    tokens.push(ch);
  }

  // Word frequencies over the pre-tokenized text (special tokens are not part of the training text).
  const regex = compileSplitPattern(GPT2_SPLIT_PATTERN, 'trainByteLevelBpe');
  const counts = new Map<string, number>();
  for (const match of text.matchAll(regex)) {
    const word = bytesToByteLevel(utf8Bytes(match[0]));
    counts.set(word, (counts.get(word) ?? 0) + 1);
  }
  const words: number[][] = [];
  const freq: number[] = [];
  for (const [word, count] of counts) {
    words.push([...word].map((ch) => ids.get(ch)!));
    freq.push(count);
  }

  // Pair statistics: key = left * STRIDE + right.
  const stride = options.vocabSize;
  const pairCount = new Map<number, number>();
  const pairWords = new Map<number, Set<number>>();
  const addWordPairs = (w: number, sign: 1 | -1): void => {
    const symbols = words[w]!;
    for (let i = 0; i + 1 < symbols.length; i++) {
      const key = symbols[i]! * stride + symbols[i + 1]!;
      pairCount.set(key, (pairCount.get(key) ?? 0) + sign * freq[w]!);
      if (sign > 0) {
        let set = pairWords.get(key);
        if (!set) pairWords.set(key, (set = new Set()));
        set.add(w);
      }
    }
  };
  for (let w = 0; w < words.length; w++) addWordPairs(w, 1);
  const heap = new PairHeap();
  for (const [key, count] of pairCount) heap.push([count, Math.floor(key / stride), key % stride]);

  const merges: Array<[string, string]> = [];
  while (tokens.length < options.vocabSize && heap.size > 0) {
    const [count, left, right] = heap.pop()!;
    const key = left * stride + right;
    const live = pairCount.get(key) ?? 0;
    if (live !== count) {
      // Stale: requeue with the live count (later merges only lower counts of existing pairs).
      if (live > 0) heap.push([live, left, right]);
      continue;
    }
    if (count < minFrequency || count <= 0) break;
    const merged = tokens[left]! + tokens[right]!;
    // Two different pairs can spell the same string; the first keeps the id.
    let newId = ids.get(merged);
    if (newId === undefined) {
      newId = tokens.length;
      tokens.push(merged);
      ids.set(merged, newId);
    }
    merges.push([tokens[left]!, tokens[right]!]);
    const touched = new Set<number>();
    for (const w of pairWords.get(key) ?? []) {
      const symbols = words[w]!;
      let has = false;
      for (let i = 0; i + 1 < symbols.length; i++) if (symbols[i] === left && symbols[i + 1] === right) has = true;
      if (!has) continue;
      addWordPairs(w, -1);
      const out: number[] = [];
      for (let i = 0; i < symbols.length; i++) {
        if (i + 1 < symbols.length && symbols[i] === left && symbols[i + 1] === right) {
          out.push(newId);
          i++;
        } else {
          out.push(symbols[i]!);
        }
      }
      words[w] = out;
      addWordPairs(w, 1);
      for (let i = 0; i + 1 < out.length; i++) if (out[i] === newId || out[i + 1] === newId) touched.add(out[i]! * stride + out[i + 1]!);
    }
    pairWords.delete(key);
    pairCount.delete(key);
    for (const k of touched) {
      const c = pairCount.get(k) ?? 0;
      if (c > 0) heap.push([c, Math.floor(k / stride), k % stride]);
    }
  }

  const vocab: Record<string, number> = {};
  tokens.forEach((t, i) => {
    vocab[t] = i;
  });
  const byteLevel = { type: 'ByteLevel', add_prefix_space: false, trim_offsets: true, use_regex: true };
  const json = {
    version: '1.0',
    truncation: null,
    padding: null,
    added_tokens: specials.map((content, id) => ({ id, content, single_word: false, lstrip: false, rstrip: false, normalized: false, special: true })),
    normalizer: null,
    pre_tokenizer: byteLevel,
    post_processor:
      options.bosToken === undefined
        ? byteLevel
        : {
            type: 'TemplateProcessing',
            single: [{ SpecialToken: { id: options.bosToken, type_id: 0 } }, { Sequence: { id: 'A', type_id: 0 } }],
            pair: [{ SpecialToken: { id: options.bosToken, type_id: 0 } }, { Sequence: { id: 'A', type_id: 0 } }, { Sequence: { id: 'B', type_id: 1 } }],
            special_tokens: { [options.bosToken]: { id: options.bosToken, ids: [ids.get(options.bosToken)!], tokens: [options.bosToken] } },
          },
    decoder: byteLevel,
    model: {
      type: 'BPE',
      dropout: null,
      unk_token: null,
      continuing_subword_prefix: null,
      end_of_word_suffix: null,
      fuse_unk: false,
      byte_fallback: false,
      ignore_merges: false,
      vocab,
      merges: merges.map(([a, b]) => `${a} ${b}`),
    },
  };
  const jsonText = `${JSON.stringify(json)}\n`;
  return { tokenizer: hfTokenizerFromJson(json, 'trained tokenizer.json'), json: jsonText, merges: merges.length };
}
