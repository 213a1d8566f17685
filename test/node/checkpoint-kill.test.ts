// A kill between keeping the previous checkpoint (a hard link) and writing the new one leaves
// `checkpoint.previous.safetensors` and `checkpoint.safetensors` as two names of one file. Saving
// again from there must work, twice, and leave no temporary link (found by test/cli/kill-resume).

import assert from 'node:assert/strict';
import { link, mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';

import type { CheckpointContents } from '../../src/io/checkpoint.js';
import { loadCheckpoint, previousCheckpointPath, saveCheckpoint } from '../../src/node/checkpoint.js';
import { Rng } from '../../src/tensor/rng.js';

function contentsAt(step: number): CheckpointContents {
  const rng = new Rng(step);
  return {
    model: new Map([['w', { shape: [2, 2], data: new Float32Array(4).map(() => rng.normal()) }]]),
    optimizer: new Map(),
    state: { step, rng: { data: rng.getState() }, optimizer: {}, user: {} },
  };
}

test('saving with keepPrevious after a kill that left previous and latest as one file', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'thrifty-ckpt-kill-'));
  try {
    const path = join(dir, 'checkpoint.safetensors');
    await saveCheckpoint(path, contentsAt(10));
    await link(path, previousCheckpointPath(path)); // the state the kill left
    await saveCheckpoint(path, contentsAt(20), { keepPrevious: true });
    await saveCheckpoint(path, contentsAt(30), { keepPrevious: true });
    assert.deepEqual((await readdir(dir)).sort(), ['checkpoint.previous.safetensors', 'checkpoint.safetensors']);
    assert.equal((await loadCheckpoint(path)).state.step, 30);
    assert.equal((await loadCheckpoint(previousCheckpointPath(path))).state.step, 20);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
