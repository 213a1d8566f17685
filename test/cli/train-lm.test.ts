// `thrifty train-lm` at a tiny size: it learns (the loss of a repetitive text falls), writes a
// model folder that `generate` runs, and a resumed run ends with the same weights as a straight one.

import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';

import { runGenerate } from '../../src/cli/commands/generate.js';
import { TRAIN_LM_DEFAULTS } from '../../src/cli/commands/train-lm.js';
import { trainLanguageModel, type TrainLmOptions, type TrainLmResult } from '../../src/node/train-lm-runner.js';
import { readMetricsLog } from '../../src/node/metrics-log.js';

const TEXT = Array.from({ length: 400 }, (_, i) => `The cat sat on the mat number ${i % 7}. The dog ran to the log.\n`).join('');

async function tinyRun(dir: string, overrides: Partial<TrainLmOptions> = {}): Promise<TrainLmResult> {
  const outcome = await trainLanguageModel({
    ...TRAIN_LM_DEFAULTS,
    data: join(dir, 'text.txt'),
    out: join(dir, 'out'),
    vocabSize: 300,
    hiddenSize: 32,
    layers: 1,
    heads: 2,
    intermediateSize: 48,
    context: 32,
    batch: 4,
    steps: 30,
    lr: 1e-2,
    warmup: 5,
    evalWindows: 8,
    checkpointEvery: 0,
    dtype: 'f32',
    ...overrides,
  });
  assert.equal(outcome.status, 'finished');
  return outcome as TrainLmResult;
}

test('train-lm learns a repetitive text and writes a folder that generate runs', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'thrifty-train-lm-'));
  try {
    await writeFile(join(dir, 'text.txt'), TEXT);
    const result = await tinyRun(dir);
    const log = await readMetricsLog(join(dir, 'out', 'metrics.jsonl'));
    const losses = log.filter((r) => typeof r['loss'] === 'number').map((r) => r['loss'] as number);
    assert.equal(losses.length, 30);
    // From ~ln(vocab) to well under half of it.
    assert.ok(losses[0]! > 5 && losses.at(-1)! < 2.5, `losses ${losses[0]} -> ${losses.at(-1)}`);
    assert.ok(result.validationLoss < 2.5, `held-out ${result.validationLoss}`);
    const training = JSON.parse(await readFile(join(dir, 'out', 'training.json'), 'utf8')) as { validationLoss: number };
    assert.equal(training.validationLoss, result.validationLoss);
    let out = '';
    await runGenerate(
      { model: join(dir, 'out'), prompt: 'The cat', maxTokens: 12, temperature: 0, topP: 1, sampleTopK: 0, seed: 0, attention: 'dense', batch: 1, stats: 'none', threads: 1 },
      { write: (t: string) => (out += t) },
      { write: () => true },
    );
    assert.ok(out.startsWith('The cat'), out);
    assert.ok(out.length > 'The cat'.length + 5, out);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('a resumed run ends with exactly the weights of a straight run', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'thrifty-train-lm-'));
  try {
    await writeFile(join(dir, 'text.txt'), TEXT);
    const options = { steps: 6, checkpointEvery: 3, evalWindows: 2 };
    await tinyRun(dir, options); // leaves the step-3 checkpoint behind
    const straight = await readFile(join(dir, 'out', 'model.safetensors'));
    await tinyRun(dir, { ...options, resume: true });
    const resumed = await readFile(join(dir, 'out', 'model.safetensors'));
    assert.ok(Buffer.compare(straight, resumed) === 0, 'the resumed weights differ');
    // Resuming with other settings would not continue the run: refused, naming them.
    await assert.rejects(tinyRun(dir, { ...options, resume: true, lr: 5e-3, seed: 9 }), /checkpoint\.safetensors: --resume with different settings \(lr, seed\)/);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('bad options are refused, naming the option', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'thrifty-train-lm-'));
  try {
    await writeFile(join(dir, 'text.txt'), TEXT);
    await assert.rejects(tinyRun(dir, { hiddenSize: 30, heads: 4 }), /--hidden 30 is not a multiple of --heads 4/);
    await assert.rejects(tinyRun(dir, { data: join(dir, 'nope.txt') }), /--data .*nope\.txt/);
    await assert.rejects(tinyRun(dir, { context: 100000 }), /--context 100000/);
    await assert.rejects(tinyRun(dir, { lr: 1e308 }), /training diverged at step \d+: the loss is NaN/);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
