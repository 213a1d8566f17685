import assert from 'node:assert/strict';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';

import type { CheckpointContents } from '../../src/io/checkpoint.js';
import { loadCheckpoint, saveCheckpoint } from '../../src/node/checkpoint.js';
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
});
