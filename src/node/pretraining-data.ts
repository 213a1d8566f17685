// Everything a pre-training run needs from a corpus, in one call: the WordPiece vocabulary (read
// from a vocab.txt, or learnt from the corpus and cached), the corpus tokenized (cached), the
// seeded split by document, the training batcher and the fixed validation batches.

import { createHash } from 'node:crypto';
import { mkdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';

import { numDocuments, splitTrainValidation, type CorpusOptions, type TokenizedCorpus } from '../data/corpus.js';
import { createValidationBatches, MlmBatcher, mlmVocabOf, type MlmBatch, type MlmOptions, type MlmVocab } from '../data/mlm.js';
import { WordPieceTokenizer } from '../text/wordpiece.js';
import { trainWordPiece } from '../text/wordpiece-trainer.js';
import { loadWordPieceVocab, readCorpusFiles } from './corpus-files.js';
import { writeFileAtomic } from './files.js';
import { tokenizeCorpusCached } from './token-cache.js';

export interface PretrainingDataOptions extends MlmOptions {
  /** A text file or a folder of them. */
  readonly corpusPath: string;
  /** A vocab.txt to use; without it a vocabulary of `vocabSize` is learnt from the corpus. */
  readonly vocabPath?: string;
  /** Size of the vocabulary to learn when no vocabPath is given. Default 8000. */
  readonly vocabSize?: number;
  /** Lower-case text (uncased model). Default true. */
  readonly lowercase?: boolean;
  /** Where token ids and learnt vocabularies are cached; omit to recompute every time. */
  readonly cacheDir?: string;
  readonly corpusOptions?: CorpusOptions;
  /** Share of documents held out for validation. Default 0.05. */
  readonly validationFraction?: number;
  /** Seed of the split and of the validation masks: keep it fixed to compare runs. Default 0. */
  readonly splitSeed?: number;
  /** Cap on validation sequences (a seeded subset). Default: all. */
  readonly maxValidationSequences?: number;
  readonly batchSize: number;
  /** Seed of the training order and masks. */
  readonly seed: number;
}

export interface PretrainingData {
  readonly tokenizer: WordPieceTokenizer;
  readonly vocab: MlmVocab;
  /** Where the vocabulary came from: the vocab.txt given, or the cache file of the learnt one. */
  readonly vocabSource: string;
  readonly train: TokenizedCorpus;
  readonly validation: TokenizedCorpus;
  readonly batcher: MlmBatcher;
  readonly validationBatches: readonly MlmBatch[];
  /** True when the token ids were read from the cache. */
  readonly tokensFromCache: boolean;
}

/** Loads vocab.txt, or learns a vocabulary from the corpus (cached in cacheDir by a hash of corpus and settings). */
export async function loadOrTrainVocab(options: {
  readonly corpusPath: string;
  readonly vocabPath?: string;
  readonly vocabSize?: number;
  readonly lowercase?: boolean;
  readonly cacheDir?: string;
}): Promise<{ tokenizer: WordPieceTokenizer; source: string }> {
  const lowercase = options.lowercase ?? true;
  if (options.vocabPath !== undefined) return { tokenizer: await loadWordPieceVocab(options.vocabPath, { lowercase }), source: options.vocabPath };
  const vocabSize = options.vocabSize ?? 8000;
  const files = await readCorpusFiles(options.corpusPath);
  const hash = createHash('sha256').update(JSON.stringify({ version: 1, vocabSize, lowercase }));
  for (const file of files) hash.update(`\0${file.name}\0${file.text.length}\0`).update(file.text);
  const key = hash.digest('hex').slice(0, 24);
  const cachePath = options.cacheDir === undefined ? null : join(options.cacheDir, `vocab-${vocabSize}-${key}.json`);
  if (cachePath) {
    // JSON, so that a torn or truncated cache fails to parse instead of giving a shorter vocabulary.
    const cached = await readFile(cachePath, 'utf8').then(
      (text) => JSON.parse(text) as { key?: unknown; vocab?: unknown },
      () => null,
    );
    if (cached && cached.key === key && Array.isArray(cached.vocab) && cached.vocab.every((t): t is string => typeof t === 'string')) {
      return { tokenizer: new WordPieceTokenizer(cached.vocab, { lowercase }, cachePath), source: cachePath };
    }
  }
  const trained = trainWordPiece(
    files.map((f) => f.text),
    { vocabSize, lowercase },
  );
  const tokenizer = new WordPieceTokenizer(trained.vocab, { lowercase }, `vocabulary learnt from ${options.corpusPath}`);
  if (cachePath && options.cacheDir !== undefined) {
    await mkdir(options.cacheDir, { recursive: true });
    await writeFileAtomic(cachePath, JSON.stringify({ key, vocab: trained.vocab }));
  }
  return { tokenizer, source: cachePath ?? `learnt from ${options.corpusPath}` };
}

/** Vocabulary, tokenized and split corpus, training batcher and validation batches for a run. */
export async function preparePretrainingData(options: PretrainingDataOptions): Promise<PretrainingData> {
  const { tokenizer, source } = await loadOrTrainVocab(options);
  const tokenized = await tokenizeCorpusCached({
    corpusPath: options.corpusPath,
    tokenizer,
    ...(options.cacheDir === undefined ? {} : { cacheDir: options.cacheDir }),
    ...(options.corpusOptions === undefined ? {} : { corpusOptions: options.corpusOptions }),
  });
  const { train, validation } = splitTrainValidation(tokenized.corpus, {
    validationFraction: options.validationFraction ?? 0.05,
    seed: options.splitSeed ?? 0,
  });
  if (numDocuments(train) === 0) throw new Error(`corpus ${options.corpusPath}: no training documents left after the validation split`);
  const vocab = mlmVocabOf(tokenizer);
  const batcher = new MlmBatcher(train, vocab, options);
  const validationBatches = createValidationBatches(validation, vocab, {
    ...options,
    seed: options.splitSeed ?? 0,
    ...(options.maxValidationSequences === undefined ? {} : { maxSequences: options.maxValidationSequences }),
  });
  return { tokenizer, vocab, vocabSource: source, train, validation, batcher, validationBatches, tokensFromCache: tokenized.fromCache };
}
