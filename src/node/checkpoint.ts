// Checkpoint files: encoded by src/io/checkpoint.ts (with a CRC-32 of every tensor and of the
// state), written atomically so a crash mid-save leaves the previous checkpoint intact. A save can
// keep the checkpoint it replaces as `<name>.previous.safetensors`, and a resume falls back to it
// when the latest fails its checks; temporary files of a save killed mid-write are removed.

import { link, mkdir, readdir, readFile, rename, unlink } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';

import { decodeCheckpoint, encodeCheckpoint, type CheckpointContents, type CheckpointExpectation } from '../io/checkpoint.js';
import { asBytes, writeFileAtomic } from './files.js';

export interface SaveCheckpointOptions {
  /** Keep the checkpoint being replaced as previousCheckpointPath(path) (default false). */
  readonly keepPrevious?: boolean;
}

/** Where the checkpoint before `path` is kept: checkpoint.safetensors -> checkpoint.previous.safetensors. */
export function previousCheckpointPath(path: string): string {
  const name = basename(path);
  const dot = name.lastIndexOf('.');
  return join(dirname(path), dot > 0 ? `${name.slice(0, dot)}.previous${name.slice(dot)}` : `${name}.previous`);
}

/**
 * Saves a checkpoint to `path` (parent directories are created). With keepPrevious, the file it
 * replaces becomes the previous checkpoint first (a hard link, renamed into place), so at every
 * moment `path` holds a complete checkpoint and the previous one is complete too.
 */
export async function saveCheckpoint(path: string, contents: CheckpointContents, options: SaveCheckpointOptions = {}): Promise<void> {
  const bytes = encodeCheckpoint(contents);
  await mkdir(dirname(path), { recursive: true });
  if (options.keepPrevious) await keepAsPrevious(path);
  await writeFileAtomic(path, bytes);
}

async function keepAsPrevious(path: string): Promise<void> {
  const previous = previousCheckpointPath(path);
  const temp = join(dirname(path), `.${basename(previous)}.${process.pid}.link.tmp`);
  await unlink(temp).catch(() => undefined);
  try {
    await link(path, temp);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return; // nothing saved yet
    throw error;
  }
  await rename(temp, previous);
  // rename() does nothing when both names already link one file: after a kill between keeping the
  // previous checkpoint and writing the new one, `previous` and `path` are the same file, and the
  // temporary link would stay (and make the next save's link() fail with EEXIST).
  await unlink(temp).catch(() => undefined);
}

/** Loads a checkpoint; with `expected`, missing, unexpected and mis-shaped tensors are reported together. */
export async function loadCheckpoint(path: string, expected?: CheckpointExpectation): Promise<CheckpointContents> {
  const bytes = asBytes(await readFile(path));
  return decodeCheckpoint(bytes, path, expected);
}

export interface LoadedCheckpoint {
  readonly contents: CheckpointContents;
  /** The file it came from: `path`, or the previous checkpoint when `path` failed. */
  readonly path: string;
  /** Why `path` was not used (its error), null when it was. */
  readonly fallbackReason: string | null;
}

/**
 * Loads `path`, or, when it is missing or fails its checks (corrupt, truncated), the previous
 * checkpoint kept beside it. `use` is also run inside the fallback, so a checkpoint that decodes
 * but cannot be restored (a data state the run rejects) falls back too. Throws naming both files
 * when neither loads.
 */
export async function loadCheckpointWithFallback<T = CheckpointContents>(
  path: string,
  expected?: CheckpointExpectation,
  use: (contents: CheckpointContents, from: string) => T | Promise<T> = (contents) => contents as T,
): Promise<LoadedCheckpoint & { readonly result: T }> {
  const attempt = async (from: string): Promise<LoadedCheckpoint & { result: T }> => {
    const contents = await loadCheckpoint(from, expected);
    return { contents, path: from, fallbackReason: null, result: await use(contents, from) };
  };
  try {
    return await attempt(path);
  } catch (error) {
    const reason = (error as Error).message;
    const previous = previousCheckpointPath(path);
    let loaded: LoadedCheckpoint & { result: T };
    try {
      loaded = await attempt(previous);
    } catch (previousError) {
      const code = (previousError as NodeJS.ErrnoException).code;
      if (code === 'ENOENT') throw error;
      throw new Error(`${reason}\n  and the previous checkpoint failed too: ${(previousError as Error).message}`);
    }
    return { ...loaded, fallbackReason: reason };
  }
}

/**
 * Removes the temporary files a save killed mid-write left beside `path`
 * (`.checkpoint.safetensors.<pid>.<n>.tmp` and the previous-checkpoint link); returns their names.
 * Call it when a run starts, before any save of its own.
 */
export async function removeStaleCheckpointTemps(path: string): Promise<string[]> {
  const dir = dirname(path);
  const prefixes = [`.${basename(path)}.`, `.${basename(previousCheckpointPath(path))}.`];
  let names: string[];
  try {
    names = await readdir(dir);
  } catch {
    return [];
  }
  const stale = names.filter((n) => n.endsWith('.tmp') && prefixes.some((p) => n.startsWith(p)));
  for (const name of stale) await unlink(join(dir, name)).catch(() => undefined);
  return stale;
}
