// Node front end for model files: `loadModelFiles(spec)` opens whatever `--model` names:
//   a .gguf file; a llama2.c .bin checkpoint (its tokenizer from `tokenizerPath`, else
//   tokenizer.bin or the single tok*.bin beside it); a Hugging Face folder; or hf:ORG/NAME[@rev][/file],
//   fetched into the hub cache first (src/node/hub.ts).
// `loadModel(spec)` is the one loader for every supported folder: a decoder LLM's files, or a BERT
// encoder (built and loaded, eval mode) with its tokenizer; the result says which.

import { existsSync } from 'node:fs';
import { readdir, readFile, stat, writeFile } from 'node:fs/promises';
import { basename, dirname, join, resolve } from 'node:path';

import { openFileByteSource, type FileByteSource } from './file-source.js';
import { downloadHubModel, removeCachedHubModel, type HubOptions } from './hub.js';
import { asBytes } from './files.js';
import type { FolderAccess } from '../io/hf-folder.js';
import { openGgufModel, openHfFolder, openLlama2cModel, type ModelFiles } from '../models/model-files.js';
import type { BertForPreTraining } from '../models/bert.js';
import { loadHfTokenizer } from '../text/hf-tokenizer.js';
import type { HfWordPieceTokenizer } from '../text/hf-wordpiece.js';
import type { BpeTokenizer } from '../text/bpe-tokenizer.js';
import { wordPieceFromVocabText, type WordPieceTokenizer } from '../text/wordpiece.js';
import { loadHfBert } from './hf-bert.js';

/** An encoder's tokenizer: tokenizer.json (WordPiece, or BPE), or vocab.txt (uncased WordPiece). */
export type EncoderTokenizer = HfWordPieceTokenizer | BpeTokenizer | WordPieceTokenizer;

/** What `loadModel` opened: a decoder LLM's files (for loadCausalLM / generate), or a BERT encoder. */
export type LoadedModel =
  | { readonly kind: 'causal-lm'; readonly files: ModelFiles }
  | {
      readonly kind: 'encoder';
      readonly source: string;
      /** Built and loaded, in eval mode; `model.heads` says which optional heads it has. */
      readonly model: BertForPreTraining;
      /** From tokenizer.json, else vocab.txt; null where the folder has neither. */
      readonly tokenizer: EncoderTokenizer | null;
    };

/** The model_type of `dir`/config.json, or null where there is none or it cannot be read (the loaders say why). */
async function folderModelType(dir: string): Promise<unknown> {
  try {
    const json = JSON.parse(await readFile(join(dir, 'config.json'), 'utf8')) as unknown;
    return typeof json === 'object' && json !== null ? (json as Record<string, unknown>)['model_type'] : null;
  } catch {
    return null;
  }
}

/** The folder `path` names when it is a BERT folder (the folder, or its config.json), else null. */
async function bertFolder(path: string): Promise<string | null> {
  const info = await stat(path).catch(() => null);
  const dir = info?.isDirectory() ? path : basename(path).toLowerCase() === 'config.json' ? dirname(path) : null;
  return dir !== null && (await folderModelType(dir)) === 'bert' ? dir : null;
}

/**
 * Opens any supported model: what loadModelFiles opens (as `causal-lm`), or a Hugging Face BERT
 * folder (config.json with model_type 'bert', model.safetensors, tokenizer.json or vocab.txt) as
 * `encoder`. hf: specs are fetched first, as for loadModelFiles.
 */
export async function loadModel(spec: string, options: LoadModelOptions = {}): Promise<LoadedModel> {
  const path = spec.startsWith('hf:') ? await downloadHubModel(spec, options.hub) : resolve(spec);
  const dir = await bertFolder(path);
  if (dir === null) return { kind: 'causal-lm', files: spec.startsWith('hf:') ? await loadModelFiles(spec, options) : await openModelPath(path, options) };
  const model = await loadHfBert(dir);
  let tokenizer: EncoderTokenizer | null = null;
  if (existsSync(join(dir, 'tokenizer.json'))) tokenizer = loadHfTokenizer(await readFile(join(dir, 'tokenizer.json'), 'utf8'), join(dir, 'tokenizer.json'));
  else if (existsSync(join(dir, 'vocab.txt'))) tokenizer = wordPieceFromVocabText(await readFile(join(dir, 'vocab.txt'), 'utf8'), {}, join(dir, 'vocab.txt'));
  return { kind: 'encoder', source: dir, model, tokenizer };
}

/** A FolderAccess over a local directory. */
export function nodeFolderAccess(dir: string): FolderAccess {
  return {
    name: dir,
    async exists(file: string): Promise<boolean> {
      try {
        return (await stat(join(dir, file))).isFile();
      } catch {
        return false;
      }
    },
    readText: (file) => readFile(join(dir, file), 'utf8'),
    open: (file) => openFileByteSource(join(dir, file)),
  };
}

export interface LoadModelOptions {
  /** llama2.c: the tokenizer .bin (default: tokenizer.bin, or the one tok*.bin, beside the checkpoint). */
  readonly tokenizerPath?: string;
  /** For hf: specs. */
  readonly hub?: HubOptions;
}

async function withFile<T>(path: string, use: (file: FileByteSource) => Promise<T>): Promise<T> {
  const file = await openFileByteSource(path);
  try {
    return await use(file);
  } catch (error) {
    await file.close().catch(() => undefined);
    throw error;
  }
}

async function findLlama2cTokenizer(checkpointPath: string): Promise<string> {
  const dir = dirname(checkpointPath);
  const names = await readdir(dir);
  if (names.includes('tokenizer.bin')) return join(dir, 'tokenizer.bin');
  const candidates = names.filter((n) => /^tok.*\.bin$/.test(n) && join(dir, n) !== checkpointPath);
  if (candidates.length === 1) return join(dir, candidates[0]!);
  throw new Error(
    `${checkpointPath}: a llama2.c checkpoint needs its tokenizer .bin: pass it with --tokenizer (${candidates.length === 0 ? 'no tokenizer.bin or tok*.bin beside it' : `several candidates: ${candidates.join(', ')}`})`,
  );
}

/**
 * Opens the model files named by `spec`: a path, or hf:ORG/NAME[@revision][/file]. A cached hub
 * model that fails to open (a file corrupted in the cache, or cached by an older, less careful
 * version) is removed from the cache and fetched once more before the error is believed.
 */
export async function loadModelFiles(spec: string, options: LoadModelOptions = {}): Promise<ModelFiles> {
  if (!spec.startsWith('hf:')) return openModelPath(resolve(spec), options);
  const path = await downloadHubModel(spec, options.hub);
  // Beside the cached model: written when a fresh copy failed as well, so the next run does not
  // download it again for an error that is the model's own (an unsupported architecture, say).
  const marker = (await stat(path)).isDirectory() ? join(path, '.thrifty-refetched') : `${path}.thrifty-refetched`;
  try {
    return await openModelPath(path, options);
  } catch (error) {
    const offline = options.hub?.offline ?? (process.env['HF_HUB_OFFLINE'] === '1' || process.env['HF_HUB_OFFLINE'] === 'true');
    if (offline || !isParseError(error) || existsSync(marker)) throw error;
    await removeCachedHubModel(spec, options.hub);
    const fresh = await downloadHubModel(spec, options.hub);
    try {
      return await openModelPath(fresh, options);
    } catch (freshError) {
      await writeFile(marker, `${(freshError as Error).message.split('\n')[0]}\n`).catch(() => undefined);
      throw freshError;
    }
  }
}

/** Errors of the files' contents, not of the network or the spec (those would fail the same way twice). */
function isParseError(error: unknown): boolean {
  return error instanceof Error && !error.message.startsWith('hf:') && (error as NodeJS.ErrnoException).code === undefined;
}

async function openModelPath(path: string, options: LoadModelOptions): Promise<ModelFiles> {
  let info;
  try {
    info = await stat(path);
  } catch {
    throw new Error(`${path}: no such file or folder`);
  }
  if (info.isDirectory() || basename(path).toLowerCase() === 'config.json') {
    const dir = info.isDirectory() ? path : dirname(path);
    if ((await folderModelType(dir)) === 'bert') {
      throw new Error(`${dir}: a BERT encoder (config.json model_type 'bert'), not a decoder LLM: open it with loadModel(), which returns it as kind 'encoder'`);
    }
  }
  if (info.isDirectory()) return openHfFolder(nodeFolderAccess(path));
  const lower = basename(path).toLowerCase();
  if (lower.endsWith('.gguf')) return withFile(path, (file) => openGgufModel(file, () => file.close()));
  if (lower.endsWith('.bin')) {
    const tokenizerPath = options.tokenizerPath ? resolve(options.tokenizerPath) : await findLlama2cTokenizer(path);
    const tokenizerBytes = asBytes(await readFile(tokenizerPath));
    return withFile(path, (file) => openLlama2cModel(file, tokenizerBytes, tokenizerPath, () => file.close()));
  }
  if (lower === 'config.json') return openHfFolder(nodeFolderAccess(dirname(path)));
  throw new Error(`${path}: not a model: expected a .gguf file, a llama2.c .bin checkpoint, or a Hugging Face folder with config.json`);
}
