import assert from 'node:assert/strict';
import { mkdtemp, readdir, readFile, rm, unlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';

import type { CheckpointContents } from '../../src/io/checkpoint.js';
import {
  loadCheckpoint,
  loadCheckpointWithFallback,
  previousCheckpointPath,
  removeStaleCheckpointTemps,
  saveCheckpoint,
} from '../../src/node/checkpoint.js';
import { Rng } from '../../src/tensor/rng.js';

describe('checkpoint files', () => {
  it('saves atomically into new directories and loads bit-exactly', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'thrifty-ckpt-'));
    try {
      const rng = new Rng(3);
      const weight = new Float32Array(64).map(() => rng.normal());
      const contents: CheckpointContents = {
        model: new Map([['w', { shape: [8, 8], data: weight }]]),
        optimizer: new Map([['exp_avg_sq.w', { shape: [8, 8], data: weight.map((v) => v * v) }]]),
        state: { step: 10, rng: { data: rng.getState() }, optimizer: { lr: 3e-4 }, user: {} },
      };
      const path = join(dir, 'runs', 'a', 'step-10.safetensors');
      await saveCheckpoint(path, contents);
      await saveCheckpoint(path, contents); // overwriting is the normal case
      const loaded = await loadCheckpoint(path, { model: new Map([['w', [8, 8]]]) });
      assert.deepEqual(new Uint32Array(loaded.model.get('w')!.data.buffer), new Uint32Array(weight.buffer));
      assert.deepEqual(loaded.optimizer.get('exp_avg_sq.w')!.data, contents.optimizer.get('exp_avg_sq.w')!.data);
      assert.deepEqual(loaded.state, contents.state);
      assert.deepEqual(await readdir(join(dir, 'runs', 'a')), ['step-10.safetensors']);
      await assert.rejects(loadCheckpoint(path, { model: new Map([['v', [1]]]) }), new RegExp(`${path.replace(/[.\\/]/g, '\\$&')}: checkpoint does not match`));
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  function contentsAt(step: number): CheckpointContents {
    const rng = new Rng(step);
    return {
      model: new Map([['w', { shape: [4, 4], data: new Float32Array(16).map(() => rng.normal()) }]]),
      optimizer: new Map(),
      state: { step, rng: { data: rng.getState() }, optimizer: {}, user: {} },
    };
  }

  it('keeps the last two checkpoints and resumes from the previous one when the latest is corrupt', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'thrifty-ckpt-'));
    try {
      const path = join(dir, 'checkpoint.safetensors');
      assert.equal(previousCheckpointPath(path), join(dir, 'checkpoint.previous.safetensors'));
      for (const step of [10, 20, 30]) await saveCheckpoint(path, contentsAt(step), { keepPrevious: true });
      assert.deepEqual((await readdir(dir)).sort(), ['checkpoint.previous.safetensors', 'checkpoint.safetensors']);
      assert.equal((await loadCheckpoint(path)).state.step, 30);
      assert.equal((await loadCheckpoint(previousCheckpointPath(path))).state.step, 20);

      const good = await loadCheckpointWithFallback(path);
      assert.equal(good.path, path);
      assert.equal(good.fallbackReason, null);
      assert.equal(good.contents.state.step, 30);

      // One flipped bit in the last tensor byte of the latest: refused, the previous one is used.
      const bytes = await readFile(path);
      bytes[bytes.length - 1]! ^= 1;
      await writeFile(path, bytes);
      await assert.rejects(loadCheckpoint(path), /: tensor 'model\.w' fails its CRC-32 check/);
      const fallback = await loadCheckpointWithFallback(path);
      assert.equal(fallback.path, previousCheckpointPath(path));
      assert.equal(fallback.contents.state.step, 20);
      assert.match(fallback.fallbackReason!, /checkpoint\.safetensors: tensor 'model\.w' fails its CRC-32 check/);

      // A `use` that rejects the latest (e.g. restore) falls back too; with both bad, both are named.
      const restored = await loadCheckpointWithFallback(join(dir, 'checkpoint.safetensors'), undefined, (c) => {
        if (c.state.step === 30) throw new Error('restore refused');
        return c.state.step;
      });
      assert.equal(restored.result, 20);
      const previousBytes = await readFile(previousCheckpointPath(path));
      await writeFile(previousCheckpointPath(path), previousBytes.subarray(0, previousBytes.length - 3));
      await assert.rejects(loadCheckpointWithFallback(path), (error: Error) => {
        assert.match(error.message, /checkpoint\.safetensors: tensor 'model\.w' fails its CRC-32 check/);
        assert.match(error.message, /and the previous checkpoint failed too: .*checkpoint\.previous\.safetensors/);
        return true;
      });
      // Without a previous checkpoint the latest's own error stands.
      await unlink(previousCheckpointPath(path));
      await assert.rejects(loadCheckpointWithFallback(path), /^Error: [^\n]*fails its CRC-32 check[^\n]*$/);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('removes the temporary files a killed save left, and nothing else', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'thrifty-ckpt-'));
    try {
      const path = join(dir, 'checkpoint.safetensors');
      await saveCheckpoint(path, contentsAt(1), { keepPrevious: true });
      const stale = ['.checkpoint.safetensors.4242.0.tmp', '.checkpoint.safetensors.4242.1.tmp', '.checkpoint.previous.safetensors.4242.link.tmp'];
      for (const name of stale) await writeFile(join(dir, name), 'half a checkpoint');
      await writeFile(join(dir, '.other.json.1.0.tmp'), 'not ours');
      assert.deepEqual((await removeStaleCheckpointTemps(path)).sort(), [...stale].sort());
      assert.deepEqual((await readdir(dir)).sort(), ['.other.json.1.0.tmp', 'checkpoint.safetensors']);
      assert.equal((await loadCheckpoint(path)).state.step, 1);
      assert.deepEqual(await removeStaleCheckpointTemps(join(dir, 'missing', 'checkpoint.safetensors')), []);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
