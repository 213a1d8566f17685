// experimentRunOptions: the one place where the Pareto and dynamic-sparsity experiments turn their
// shared settings into a run's pretrain options.

import assert from 'node:assert/strict';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';

import { experimentRunOptions, type ExperimentRunSettings } from '../../src/node/pareto-experiment.js';

const settings: ExperimentRunSettings = {
  corpus: 'corpus', vocabSize: 100, batchSize: 4, seqLength: 32, optimizer: 'adamw', lr: 2e-3, weightDecay: 0.01, clipNorm: 1,
  nsp: true, wholeWordMask: false, evalSequences: 8, validationFraction: 0.25, threads: 'reference', warmupFraction: 0.1,
};

test('a run gets the steps of the token budget, a validation and checkpoint every steps / evalPoints, the warm-up share and the shared cache', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'thrifty-run-options-'));
  try {
    const out = join(dir, 'bert-micro-xs-seed1');
    // 4 x 32 = 128 tokens a step: 1000 tokens need 8 steps; 3 validations: every 3 steps; warm-up round(0.8) = 1.
    const options = experimentRunOptions({ out: dir, tokensPerRun: 1000, evalPoints: 3, run: settings }, { arch: 'bert', size: 'micro-xs', seed: 1, out }, 'vocab.txt');
    assert.deepEqual(
      { steps: options.steps, evalEvery: options.evalEvery, checkpointEvery: options.checkpointEvery, warmupSteps: options.warmupSteps },
      { steps: 8, evalEvery: 3, checkpointEvery: 3, warmupSteps: 1 },
    );
    assert.equal(options.arch, 'bert');
    assert.equal(options.size, 'micro-xs');
    assert.equal(options.seed, 1);
    assert.equal(options.out, out);
    assert.equal(options.vocab, 'vocab.txt');
    assert.equal(options.cacheDir, join(dir, 'cache'));
    assert.equal(options.quiet, true);
    assert.equal(options.resume, false);
    assert.equal(options.lr, 2e-3);
    assert.ok(!('warmupFraction' in options));
    // A checkpoint in the run's folder: the run resumes; a cache named in the settings is kept.
    await mkdir(out);
    await writeFile(join(out, 'checkpoint.safetensors'), '');
    const again = experimentRunOptions({ out: dir, tokensPerRun: 1000, evalPoints: 100, run: { ...settings, cacheDir: '/elsewhere' } }, { arch: 'groupbert', size: 'micro-s', seed: 0, out }, 'v.txt');
    assert.equal(again.resume, true);
    assert.equal(again.cacheDir, '/elsewhere');
    // More validations than steps: one every step.
    assert.equal(again.evalEvery, 1);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
