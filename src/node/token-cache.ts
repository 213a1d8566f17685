// Tokenize a corpus once, then reuse the ids: a safetensors file (tokens, sentence and document
// offsets) named after a hash of everything that determines them: the text of every corpus file,
// the vocabulary, the tokenizer and corpus settings and this format's version. A changed input
// therefore never matches an old cache; a cache that fails to parse or validate is rebuilt.

import { createHash } from 'node:crypto';
import { mkdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';

import {
  resolveCorpusOptions,
  splitDocuments,
  tokenizeDocuments,
  validateTokenizedCorpus,
  type CorpusDocument,
  type CorpusOptions,
  type TokenizedCorpus,
} from '../data/corpus.js';
import { parseSafetensors, readSafetensorsTensorI32, serializeSafetensors } from '../io/safetensors.js';
import type { WordPieceTokenizer } from '../text/wordpiece.js';
import { readCorpusFiles } from './corpus-files.js';
import { asBytes, writeFileAtomic } from './files.js';

/** Bump when tokenization or the corpus splitting rules change, so old caches are not reused. */
export const TOKEN_CACHE_VERSION = 1;
const METADATA_KEY = 'thrifty-tokens';

export interface TokenizeCorpusOptions {
  /** A text file or a folder of them. */
  readonly corpusPath: string;
  readonly tokenizer: WordPieceTokenizer;
  /** Folder for cache files (created when missing), e.g. beside a run's output folder. Omit to not cache. */
  readonly cacheDir?: string;
  readonly corpusOptions?: CorpusOptions;
}

export interface TokenizeCorpusResult {
  readonly corpus: TokenizedCorpus;
  /** The cache file (read or written), or null without cacheDir. */
  readonly cachePath: string | null;
  readonly fromCache: boolean;
  /** Why an existing cache file was not used (it was rebuilt), if that happened. */
  readonly cacheProblem?: string;
}

/** The cache key: sha256 over the format version, settings, vocabulary and every file's name and text. */
export function tokenCacheKey(files: readonly { name: string; text: string }[], tokenizer: WordPieceTokenizer, corpusOptions: CorpusOptions): string {
  const hash = createHash('sha256');
  const settings = {
    version: TOKEN_CACHE_VERSION,
    tokenizer: { ...tokenizer.basicOptions, maxInputCharsPerWord: tokenizer.maxInputCharsPerWord, unkId: tokenizer.unkId },
    corpus: resolveCorpusOptions(corpusOptions),
  };
  hash.update(JSON.stringify(settings));
  hash.update('\0vocab\0');
  hash.update(tokenizer.vocab.join('\n'));
  for (const file of files) {
    hash.update(`\0file\0${file.name}\0${file.text.length}\0`);
    hash.update(file.text);
  }
  return hash.digest('hex');
}

/** Tokenizes a corpus file or folder, reading the ids from `cacheDir` when an identical run did it before. */
export async function tokenizeCorpusCached(options: TokenizeCorpusOptions): Promise<TokenizeCorpusResult> {
  const { corpusPath, tokenizer, cacheDir } = options;
  const corpusOptions = options.corpusOptions ?? {};
  const files = await readCorpusFiles(corpusPath);
  const tokenizeAll = (): TokenizedCorpus => {
    const documents: CorpusDocument[] = [];
    for (const file of files) documents.push(...splitDocuments(file.text, file.name, corpusOptions));
    const corpus = tokenizeDocuments(documents, tokenizer);
    if (corpus.tokens.length === 0) throw new Error(`corpus ${corpusPath}: no tokens after tokenization`);
    return corpus;
  };
  if (cacheDir === undefined) return { corpus: tokenizeAll(), cachePath: null, fromCache: false };

  const key = tokenCacheKey(files, tokenizer, corpusOptions);
  const cachePath = join(cacheDir, `tokens-${key.slice(0, 24)}.safetensors`);
  let cacheProblem: string | undefined;
  try {
    const corpus = decodeTokenCache(asBytes(await readFile(cachePath)), cachePath, key, tokenizer.vocabSize);
    return { corpus, cachePath, fromCache: true };
  } catch (error) {
    const code = (error as { code?: unknown }).code;
    if (code !== 'ENOENT') cacheProblem = error instanceof Error ? error.message : String(error);
  }
  const corpus = tokenizeAll();
  await mkdir(cacheDir, { recursive: true });
  await writeFileAtomic(cachePath, encodeTokenCache(corpus, key));
  return cacheProblem === undefined ? { corpus, cachePath, fromCache: false } : { corpus, cachePath, fromCache: false, cacheProblem };
}

/** The bytes of a token cache file. */
export function encodeTokenCache(corpus: TokenizedCorpus, key: string): Uint8Array {
  return serializeSafetensors(
    [
      { name: 'tokens', dtype: 'I32', shape: [corpus.tokens.length], data: corpus.tokens },
      { name: 'sentence_starts', dtype: 'I32', shape: [corpus.sentenceStarts.length], data: corpus.sentenceStarts },
      { name: 'document_starts', dtype: 'I32', shape: [corpus.documentStarts.length], data: corpus.documentStarts },
    ],
    { [METADATA_KEY]: JSON.stringify({ version: TOKEN_CACHE_VERSION, key, documentSources: corpus.documentSources }) },
  );
}

/** Parses and validates a token cache file; throws (naming `source`) when it is corrupt or for another key. */
export function decodeTokenCache(bytes: Uint8Array, source: string, expectedKey: string, vocabSize: number): TokenizedCorpus {
  const header = parseSafetensors(bytes, source);
  const raw = header.metadata[METADATA_KEY];
  if (raw === undefined) throw new Error(`${source}: not a token cache (no '${METADATA_KEY}' metadata)`);
  let meta: unknown;
  try {
    meta = JSON.parse(raw);
  } catch {
    throw new Error(`${source}: the '${METADATA_KEY}' metadata is not JSON`);
  }
  const { version, key, documentSources } = meta as { version?: unknown; key?: unknown; documentSources?: unknown };
  if (version !== TOKEN_CACHE_VERSION) throw new Error(`${source}: token cache version ${String(version)}, expected ${TOKEN_CACHE_VERSION}`);
  if (key !== expectedKey) throw new Error(`${source}: token cache key differs from the corpus, vocabulary and settings given`);
  if (!Array.isArray(documentSources) || !documentSources.every((s): s is string => typeof s === 'string')) {
    throw new Error(`${source}: documentSources must be a list of strings`);
  }
  const tensor = (name: string): Int32Array => {
    const entry = header.tensors.get(name);
    if (!entry) throw new Error(`${source}: no tensor '${name}'`);
    if (entry.dtype !== 'I32') throw new Error(`${source}: tensor '${name}' has dtype ${entry.dtype}, expected I32`);
    return readSafetensorsTensorI32(bytes, entry);
  };
  const corpus: TokenizedCorpus = {
    tokens: tensor('tokens'),
    sentenceStarts: tensor('sentence_starts'),
    documentStarts: tensor('document_starts'),
    documentSources,
  };
  validateTokenizedCorpus(corpus, vocabSize, source);
  return corpus;
}
