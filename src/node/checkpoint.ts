// Checkpoint files: encoded by src/io/checkpoint.ts, written atomically so a crash mid-save
// leaves the previous checkpoint intact.

import { mkdir, readFile } from 'node:fs/promises';
import { dirname } from 'node:path';

import { decodeCheckpoint, encodeCheckpoint, type CheckpointContents, type CheckpointExpectation } from '../io/checkpoint.js';
import { asBytes, writeFileAtomic } from './files.js';

/** Saves a checkpoint to `path` (parent directories are created). */
export async function saveCheckpoint(path: string, contents: CheckpointContents): Promise<void> {
  const bytes = encodeCheckpoint(contents);
  await mkdir(dirname(path), { recursive: true });
  await writeFileAtomic(path, bytes);
}

/** Loads a checkpoint; with `expected`, missing, unexpected and mis-shaped tensors are reported together. */
export async function loadCheckpoint(path: string, expected?: CheckpointExpectation): Promise<CheckpointContents> {
  const bytes = asBytes(await readFile(path));
  return decodeCheckpoint(bytes, path, expected);
}
