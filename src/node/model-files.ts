// Node front end for model files: `loadModelFiles(spec)` opens whatever `--model` names:
//   a .gguf file; a llama2.c .bin checkpoint (its tokenizer from `tokenizerPath`, else
//   tokenizer.bin or the single tok*.bin beside it); a Hugging Face folder; or hf:ORG/NAME[@rev][/file],
//   fetched into the hub cache first (src/node/hub.ts).

import { existsSync } from 'node:fs';
import { readdir, readFile, stat, writeFile } from 'node:fs/promises';
import { basename, dirname, join, resolve } from 'node:path';

import { openFileByteSource, type FileByteSource } from './file-source.js';
import { downloadHubModel, removeCachedHubModel, type HubOptions } from './hub.js';
import { asBytes } from './files.js';
import type { FolderAccess } from '../io/hf-folder.js';
import { openGgufModel, openHfFolder, openLlama2cModel, type ModelFiles } from '../models/model-files.js';

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
