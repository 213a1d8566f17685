// Reading corpora and WordPiece vocabularies from disk.

import { mkdir, readdir, readFile, stat } from 'node:fs/promises';
import { basename, dirname, join, relative } from 'node:path';

import { splitDocuments, type CorpusDocument, type CorpusOptions } from '../data/corpus.js';
import { formatVocabText, parseVocabText, WordPieceTokenizer, type WordPieceOptions } from '../text/wordpiece.js';
import { writeFileAtomic } from './files.js';

/** File extensions read from a corpus folder (a file named directly is read whatever its name). */
export const CORPUS_EXTENSIONS: readonly string[] = ['.txt', '.raw', '.text'];

export interface CorpusFile {
  /** Path relative to the corpus path (the file name when a single file was given). */
  readonly name: string;
  readonly path: string;
  readonly text: string;
}

/** Lists the corpus files of `corpusPath`: the file itself, or the text files under a folder (recursive, sorted). */
export async function listCorpusFiles(corpusPath: string): Promise<string[]> {
  const info = await stat(corpusPath).catch((error: unknown) => {
    throw new Error(`corpus ${corpusPath}: ${error instanceof Error ? error.message : String(error)}`);
  });
  if (info.isFile()) return [corpusPath];
  if (!info.isDirectory()) throw new Error(`corpus ${corpusPath}: neither a file nor a folder`);
  const found: string[] = [];
  const walk = async (folder: string): Promise<void> => {
    const entries = await readdir(folder, { withFileTypes: true });
    for (const entry of entries) {
      if (entry.name.startsWith('.')) continue;
      const path = join(folder, entry.name);
      if (entry.isDirectory()) await walk(path);
      else if (entry.isFile() && CORPUS_EXTENSIONS.some((ext) => entry.name.toLowerCase().endsWith(ext))) found.push(path);
    }
  };
  await walk(corpusPath);
  if (found.length === 0) throw new Error(`corpus ${corpusPath}: the folder has no ${CORPUS_EXTENSIONS.join('/')} files`);
  return found.sort();
}

/** Decodes UTF-8 strictly (a binary or mis-encoded file is an error naming it); drops a leading BOM. */
export function decodeUtf8(bytes: Uint8Array, path: string): string {
  try {
    return new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  } catch {
    throw new Error(`${path}: not valid UTF-8 text`);
  }
}

/** Reads the text of every corpus file of `corpusPath`. */
export async function readCorpusFiles(corpusPath: string): Promise<CorpusFile[]> {
  const paths = await listCorpusFiles(corpusPath);
  const files: CorpusFile[] = [];
  for (const path of paths) {
    const text = decodeUtf8(new Uint8Array(await readFile(path)), path);
    files.push({ name: path === corpusPath ? basename(path) : relative(corpusPath, path), path, text });
  }
  return files;
}

/** The documents of a corpus file or folder (see src/data/corpus.ts for how text is split). */
export async function readCorpus(corpusPath: string, options: CorpusOptions = {}): Promise<CorpusDocument[]> {
  const documents: CorpusDocument[] = [];
  for (const file of await readCorpusFiles(corpusPath)) documents.push(...splitDocuments(file.text, file.name, options));
  if (documents.length === 0) throw new Error(`corpus ${corpusPath}: no text found`);
  return documents;
}

/** Loads a tokenizer from a vocab.txt file. */
export async function loadWordPieceVocab(path: string, options: WordPieceOptions = {}): Promise<WordPieceTokenizer> {
  const text = decodeUtf8(new Uint8Array(await readFile(path)), path);
  return new WordPieceTokenizer(parseVocabText(text, path), options, path);
}

/** Writes a vocabulary as vocab.txt (atomically). */
export async function saveWordPieceVocab(path: string, vocab: readonly string[]): Promise<void> {
  // `--out newdir/vocab.txt` creates the folder, as train-lm and pretrain do for theirs.
  await mkdir(dirname(path), { recursive: true });
  await writeFileAtomic(path, formatVocabText(vocab));
}
