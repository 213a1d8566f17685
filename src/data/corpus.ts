// Plain-text corpora for pre-training: documents made of sentences, tokenized into one flat id
// array, and a seeded train/validation split by document.
//
// How text becomes documents and sentences (BERT's create_pretraining_data wants one sentence per
// line and blank lines between documents; real files rarely look like that, so):
// - a paragraph is a run of non-blank lines (blank = only whitespace); its lines are joined by spaces;
// - a new document starts at the start of each file, after `documentBreakBlankLines` or more blank
//   lines in a row (War and Peace: 4 before each chapter), at a top-level WikiText heading line
//   (" = Title = ", not " = = Section = = "), and when the current document already holds
//   `maxDocumentChars` characters (cut between paragraphs, so that one long file of short
//   paragraphs, like Tiny Shakespeare, still gives many documents);
// - sentences: a paragraph is cut after . ! ? or … (and any closing quotes or brackets) followed by
//   whitespace, unless the next character is a lower-case letter or the word before is a common
//   abbreviation (Mr., Dr., St., e.g., ...) or a single capital initial ("J. Smith").
//   With `sentencePerLine`, each non-blank line is a sentence instead (BERT's own input format).

import { Rng } from '../tensor/rng.js';

export interface CorpusDocument {
  /** Where it came from: file name and document number, for messages. */
  readonly source: string;
  readonly sentences: readonly string[];
}

export interface CorpusOptions {
  /** This many blank lines in a row start a new document. Default 3. */
  readonly documentBreakBlankLines?: number;
  /** A top-level WikiText heading (" = Title = ") starts a new document. Default true. */
  readonly headingsStartDocuments?: boolean;
  /** Start a new document at the next paragraph once this many characters are in the current one. Default 20000. */
  readonly maxDocumentChars?: number;
  /** Each non-blank line is one sentence (BERT's input format) instead of running the sentence splitter. Default false. */
  readonly sentencePerLine?: boolean;
}

/** The options with their defaults filled in (part of the token cache key). */
export function resolveCorpusOptions(options: CorpusOptions = {}): Required<CorpusOptions> {
  const resolved = {
    documentBreakBlankLines: options.documentBreakBlankLines ?? 3,
    headingsStartDocuments: options.headingsStartDocuments ?? true,
    maxDocumentChars: options.maxDocumentChars ?? 20000,
    sentencePerLine: options.sentencePerLine ?? false,
  };
  if (!Number.isInteger(resolved.documentBreakBlankLines) || resolved.documentBreakBlankLines < 1) {
    throw new Error(`corpus option documentBreakBlankLines must be a positive integer, got ${resolved.documentBreakBlankLines}`);
  }
  if (!(resolved.maxDocumentChars > 0)) throw new Error(`corpus option maxDocumentChars must be positive, got ${resolved.maxDocumentChars}`);
  return resolved;
}

const ABBREVIATIONS = new Set([
  'mr', 'mrs', 'ms', 'dr', 'st', 'prof', 'gen', 'col', 'capt', 'lt', 'sgt', 'maj', 'rev', 'hon', 'jr', 'sr', 'mme', 'mlle',
  'messrs', 'vs', 'etc', 'e.g', 'i.e', 'cf', 'no', 'vol', 'fig', 'approx', 'inc', 'ltd', 'co', 'mt', 'ft',
]);
const SENTENCE_END = /[.!?…]+["'”’»)\]]*\s+/g;

/** Splits one paragraph (any whitespace inside) into sentences; see the module comment for the rule. */
export function splitSentences(paragraph: string): string[] {
  const text = paragraph.replace(/\s+/g, ' ').trim();
  const sentences: string[] = [];
  let start = 0;
  for (const match of text.matchAll(SENTENCE_END)) {
    const end = match.index + match[0].length;
    if (end >= text.length) break;
    const next = text[end]!;
    if (next.toLowerCase() === next && next.toUpperCase() !== next) continue; // lower-case letter: not a new sentence
    if (match[0].startsWith('.')) {
      const before = /(\S+)$/.exec(text.slice(start, match.index))?.[1] ?? '';
      const word = before.replace(/^["'“‘([]+/, '');
      if (ABBREVIATIONS.has(word.toLowerCase()) || /^\p{Lu}$/u.test(word)) continue;
    }
    sentences.push(text.slice(start, end).trim());
    start = end;
  }
  const rest = text.slice(start).trim();
  if (rest.length > 0) sentences.push(rest);
  return sentences;
}

function isTopLevelHeading(line: string): boolean {
  const trimmed = line.trim();
  return trimmed.length > 4 && trimmed.startsWith('= ') && trimmed.endsWith(' =') && !trimmed.startsWith('= =');
}

/** Splits the text of one file into documents of sentences; `source` names the file. */
export function splitDocuments(text: string, source: string, options: CorpusOptions = {}): CorpusDocument[] {
  const { documentBreakBlankLines, headingsStartDocuments, maxDocumentChars, sentencePerLine } = resolveCorpusOptions(options);
  const documents: CorpusDocument[] = [];
  let sentences: string[] = [];
  let chars = 0;
  let paragraph: string[] = [];
  let blankRun = 0;

  const endParagraph = (): void => {
    if (paragraph.length === 0) return;
    if (sentencePerLine) {
      for (const line of paragraph) sentences.push(line.trim().replace(/\s+/g, ' '));
    } else {
      sentences.push(...splitSentences(paragraph.join(' ')));
    }
    for (const line of paragraph) chars += line.length;
    paragraph = [];
  };
  const endDocument = (): void => {
    endParagraph();
    if (sentences.length > 0) documents.push({ source: `${source}#${documents.length}`, sentences });
    sentences = [];
    chars = 0;
  };

  for (const line of text.split(/\r\n|\r|\n/)) {
    if (line.trim().length === 0) {
      blankRun++;
      endParagraph();
      continue;
    }
    if (blankRun >= documentBreakBlankLines || (headingsStartDocuments && isTopLevelHeading(line)) || (paragraph.length === 0 && chars >= maxDocumentChars)) {
      endDocument();
    }
    blankRun = 0;
    paragraph.push(line);
  }
  endDocument();
  return documents;
}

/** Anything that turns text into token ids (WordPieceTokenizer does). */
export interface TokenEncoder {
  /** Appends the ids of `text` to `out`; returns how many. */
  encodeInto(text: string, out: number[]): number;
}

/**
 * A tokenized corpus: all ids in one array, sentence after sentence, document after document.
 * Sentence s is tokens[sentenceStarts[s] .. sentenceStarts[s + 1]); document d is sentences
 * documentStarts[d] .. documentStarts[d + 1]. Empty sentences and documents are left out.
 */
export interface TokenizedCorpus {
  readonly tokens: Int32Array;
  /** [numSentences + 1] offsets into tokens. */
  readonly sentenceStarts: Int32Array;
  /** [numDocuments + 1] offsets into sentences. */
  readonly documentStarts: Int32Array;
  /** One per document. */
  readonly documentSources: readonly string[];
}

export function numDocuments(corpus: TokenizedCorpus): number {
  return corpus.documentStarts.length - 1;
}

export function numSentences(corpus: TokenizedCorpus): number {
  return corpus.sentenceStarts.length - 1;
}

/** Tokenizes documents sentence by sentence. */
export function tokenizeDocuments(documents: Iterable<CorpusDocument>, encoder: TokenEncoder): TokenizedCorpus {
  const tokens: number[] = [];
  const sentenceStarts: number[] = [0];
  const documentStarts: number[] = [0];
  const documentSources: string[] = [];
  for (const document of documents) {
    const firstSentence = sentenceStarts.length - 1;
    for (const sentence of document.sentences) {
      if (encoder.encodeInto(sentence, tokens) > 0) sentenceStarts.push(tokens.length);
    }
    if (sentenceStarts.length - 1 > firstSentence) {
      documentStarts.push(sentenceStarts.length - 1);
      documentSources.push(document.source);
    }
  }
  return {
    tokens: Int32Array.from(tokens),
    sentenceStarts: Int32Array.from(sentenceStarts),
    documentStarts: Int32Array.from(documentStarts),
    documentSources,
  };
}

/** Checks the offsets and ids of a corpus (e.g. one read from a cache file); `source` names it in errors. */
export function validateTokenizedCorpus(corpus: TokenizedCorpus, vocabSize: number, source: string): void {
  const { tokens, sentenceStarts, documentStarts, documentSources } = corpus;
  if (sentenceStarts.length < 1 || sentenceStarts[0] !== 0 || sentenceStarts[sentenceStarts.length - 1] !== tokens.length) {
    throw new Error(`${source}: sentence offsets do not span the ${tokens.length} tokens`);
  }
  for (let s = 1; s < sentenceStarts.length; s++) {
    if (sentenceStarts[s]! <= sentenceStarts[s - 1]!) throw new Error(`${source}: sentence ${s - 1} is empty or its offsets go backwards`);
  }
  if (documentStarts.length < 1 || documentStarts[0] !== 0 || documentStarts[documentStarts.length - 1] !== sentenceStarts.length - 1) {
    throw new Error(`${source}: document offsets do not span the ${sentenceStarts.length - 1} sentences`);
  }
  for (let d = 1; d < documentStarts.length; d++) {
    if (documentStarts[d]! <= documentStarts[d - 1]!) throw new Error(`${source}: document ${d - 1} is empty or its offsets go backwards`);
  }
  if (documentSources.length !== documentStarts.length - 1) {
    throw new Error(`${source}: ${documentSources.length} document sources for ${documentStarts.length - 1} documents`);
  }
  for (let i = 0; i < tokens.length; i++) {
    const id = tokens[i]!;
    if (id < 0 || id >= vocabSize) throw new Error(`${source}: token ${i} has id ${id}, outside the vocabulary of ${vocabSize}`);
  }
}

/** A corpus of the given documents of `corpus`, in the given order. */
export function selectDocuments(corpus: TokenizedCorpus, documentIndices: ArrayLike<number>): TokenizedCorpus {
  let tokenCount = 0;
  let sentenceCount = 0;
  for (let i = 0; i < documentIndices.length; i++) {
    const d = documentIndices[i]!;
    if (!(d >= 0 && d < numDocuments(corpus))) throw new Error(`selectDocuments: document ${d} is outside 0..${numDocuments(corpus) - 1}`);
    const first = corpus.documentStarts[d]!;
    const last = corpus.documentStarts[d + 1]!;
    sentenceCount += last - first;
    tokenCount += corpus.sentenceStarts[last]! - corpus.sentenceStarts[first]!;
  }
  const tokens = new Int32Array(tokenCount);
  const sentenceStarts = new Int32Array(sentenceCount + 1);
  const documentStarts = new Int32Array(documentIndices.length + 1);
  const documentSources: string[] = [];
  let t = 0;
  let s = 0;
  for (let i = 0; i < documentIndices.length; i++) {
    const d = documentIndices[i]!;
    const first = corpus.documentStarts[d]!;
    const last = corpus.documentStarts[d + 1]!;
    const tokenStart = corpus.sentenceStarts[first]!;
    tokens.set(corpus.tokens.subarray(tokenStart, corpus.sentenceStarts[last]!), t);
    for (let k = first; k < last; k++) sentenceStarts[++s] = t + corpus.sentenceStarts[k + 1]! - tokenStart;
    t += corpus.sentenceStarts[last]! - tokenStart;
    documentStarts[i + 1] = s;
    documentSources.push(corpus.documentSources[d]!);
  }
  return { tokens, sentenceStarts, documentStarts, documentSources };
}

export interface ValidationSplitOptions {
  /** Share of documents held out. Default 0.05. */
  readonly validationFraction?: number;
  /** Seed of the split; keep it fixed across runs so that they validate on the same documents. Default 0. */
  readonly seed?: number;
}

export interface DocumentSplit {
  readonly train: Int32Array;
  readonly validation: Int32Array;
}

/**
 * Which documents go to validation: a seeded random subset of round(n * fraction) documents (at
 * least 1, at most n - 1); both lists in ascending order.
 */
export function splitDocumentIndices(documentCount: number, options: ValidationSplitOptions = {}): DocumentSplit {
  const fraction = options.validationFraction ?? 0.05;
  if (!(fraction >= 0 && fraction < 1)) throw new Error(`validationFraction must be in [0, 1), got ${fraction}`);
  if (fraction === 0) return { train: Int32Array.from({ length: documentCount }, (_, i) => i), validation: new Int32Array(0) };
  if (documentCount < 2) {
    throw new Error(`a validation split by document needs at least 2 documents, the corpus has ${documentCount} (lower maxDocumentChars)`);
  }
  const count = Math.min(documentCount - 1, Math.max(1, Math.round(documentCount * fraction)));
  const order = new Rng(options.seed ?? 0).permutation(documentCount);
  const validation = order.slice(0, count).sort();
  const train = order.slice(count).sort();
  return { train, validation };
}

/** The corpus split by document into training and validation parts. */
export function splitTrainValidation(corpus: TokenizedCorpus, options: ValidationSplitOptions = {}): { train: TokenizedCorpus; validation: TokenizedCorpus } {
  const split = splitDocumentIndices(numDocuments(corpus), options);
  return { train: selectDocuments(corpus, split.train), validation: selectDocuments(corpus, split.validation) };
}
