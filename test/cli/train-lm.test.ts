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
import { loadCheckpoint } from '../../src/node/checkpoint.js';
import { linearWarmupCosineDecay } from '../../src/optim/schedule.js';
import { LanguageModelTrainer, prepareLanguageModelData } from '../../src/train/language-model.js';

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
    // The loss curves, drawn from the metrics: the training line and the final held-out evaluation.
    const curve = await readFile(join(dir, 'out', 'loss-curve.svg'), 'utf8');
    assert.match(curve, /^<svg xmlns="http:\/\/www.w3.org\/2000\/svg"/);
    assert.match(curve, />training</);
    assert.match(curve, />held-out text</);
    assert.equal(curve.match(/<polyline /g)?.length, 1, 'one line (training); the single held-out point is a marker');
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

test('--extend-steps lengthens a resumed run: lr continuous, recorded in the checkpoint, later resumes bit-exact', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'thrifty-train-lm-'));
  try {
    await writeFile(join(dir, 'text.txt'), TEXT);
    const options = { steps: 6, warmup: 2, checkpointEvery: 3, evalWindows: 2, evalEvery: 0 };
    await assert.rejects(tinyRun(dir, { ...options, extendSteps: 9 }), /--extend-steps 9: needs --resume and a checkpoint/);
    await tinyRun(dir, options);
    const original = (await readMetricsLog(join(dir, 'out', 'metrics.jsonl'))).filter((r) => typeof r['lr'] === 'number');
    const extended = await tinyRun(dir, { ...options, resume: true, extendSteps: 12 });
    assert.equal(extended.steps, 12);
    const lrs = (await readMetricsLog(join(dir, 'out', 'metrics.jsonl'))).filter((r) => typeof r['lr'] === 'number');
    assert.deepEqual(lrs.map((r) => r['step']), Array.from({ length: 12 }, (_, i) => i + 1));
    // Metrics step s used lr(s - 1); the checkpoint the extension resumed from was at step 3 or 6.
    const from = lrs.findIndex((r, i) => r['lr'] !== original[i]?.['lr']);
    assert.ok(from === 3 || from === 4 || from === 6 || from === 7, `the schedule changes after the resume step (first difference at index ${from})`);
    const lr = lrs.map((r) => r['lr'] as number);
    // Continuous: the first extended step's lr equals what the original schedule gave there (same cosine phase),
    // and the new curve falls monotonically to the same final lr (1e-3 = lr / 10) at step 12.
    const s0 = from - 1;
    assert.equal(lr[s0], original[s0]!['lr']);
    for (let i = s0 + 1; i < 12; i++) assert.ok(lr[i]! < lr[i - 1]! && lr[i]! > 1e-3, `lr falls gently: ${lr.join(' ')}`);
    const originalNext = s0 + 1 < original.length ? (original[s0 + 1]!['lr'] as number) : 1e-3;
    assert.ok(lr[s0]! - lr[s0 + 1]! < (original[s0]!['lr'] as number) - originalNext, 'the extended cosine falls more slowly than the original');
    const finished = await readFile(join(dir, 'out', 'model.safetensors'));
    // The step-9 checkpoint is left: a plain --resume continues the extended schedule to the same weights.
    const resumed = await tinyRun(dir, { ...options, resume: true });
    assert.equal(resumed.steps, 12);
    assert.ok(Buffer.compare(finished, await readFile(join(dir, 'out', 'model.safetensors'))) === 0, 'the weights after resuming an extended run differ');
    assert.deepEqual((await readMetricsLog(join(dir, 'out', 'metrics.jsonl'))).filter((r) => typeof r['lr'] === 'number').map((r) => r['lr']), lr);
    await assert.rejects(tinyRun(dir, { ...options, resume: true, extendSteps: 12 }), /^Error: --extend-steps 12: must be larger than the run's current total of 12 steps$/);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('--extend-short-steps lengthens the short-context phase of a resumed run, recorded and resumed bit for bit', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'thrifty-train-lm-'));
  try {
    await writeFile(join(dir, 'text.txt'), TEXT);
    const options = { steps: 4, warmup: 1, shortContext: 16, shortSteps: 4, checkpointEvery: 1, evalWindows: 2, evalEvery: 0 };
    await tinyRun(dir, options); // leaves the step-3 checkpoint, inside the short phase
    const saved = await loadCheckpoint(join(dir, 'out', 'checkpoint.safetensors'));
    assert.equal(saved.state.step, 3);
    await tinyRun(dir, { ...options, resume: true, extendSteps: 8, extendShortSteps: 6 });
    const recorded = (await loadCheckpoint(join(dir, 'out', 'checkpoint.safetensors'))).state.user['options'] as Record<string, unknown>;
    assert.deepEqual(recorded['extensions'], [{ fromStep: 3, steps: 8, shortSteps: 6 }]);
    assert.equal(recorded['extendShortSteps'], undefined, 'the flag itself is not a run setting');
    const finished = await readFile(join(dir, 'out', 'model.safetensors'));
    await tinyRun(dir, { ...options, resume: true }); // from the step-7 checkpoint
    assert.ok(Buffer.compare(finished, await readFile(join(dir, 'out', 'model.safetensors'))) === 0, 'the weights after resuming differ');
    await assert.rejects(tinyRun(dir, { ...options, resume: true, extendShortSteps: 5 }), /^Error: --extend-short-steps 5: must be larger than the run's current 6 short-context steps$/);
    await assert.rejects(tinyRun(dir, { ...options, resume: true, extendShortSteps: 8 }), /^Error: --extend-short-steps 8: the short-context phase ended at step 6 \(the run is at step 7\); a new one needs --extend-short-context$/);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('--extend-mix trains a resumed run on another mix from its step on: recorded, evaluated, resumed bit for bit', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'thrifty-train-lm-'));
  try {
    await writeFile(join(dir, 'text.txt'), TEXT);
    const options = { steps: 6, warmup: 1, checkpointEvery: 2, evalWindows: 2, evalEvery: 2, mix: { repeat: 0.5, kv: 0, copy: 0, period: 0 } };
    const copyMix = { repeat: 0.25, kv: 0, copy: 0.5, period: 0 };
    await assert.rejects(tinyRun(dir, { ...options, extendMix: copyMix }), /--extend-mix repeat=0.25,copy=0.5: needs --resume and a checkpoint/);
    await tinyRun(dir, options); // leaves the step-4 checkpoint
    await tinyRun(dir, { ...options, resume: true, extendMix: copyMix, extendSteps: 10 });
    const recorded = (await loadCheckpoint(join(dir, 'out', 'checkpoint.safetensors'))).state.user['options'] as Record<string, unknown>;
    assert.deepEqual(recorded['extensions'], [{ fromStep: 4, steps: 10, mix: copyMix }]);
    assert.deepEqual(recorded['mix'], options.mix, 'the run-defining mix stays the original');
    assert.equal(recorded['extendMix'], undefined, 'the flag itself is not a run setting');
    const evals = (await readMetricsLog(join(dir, 'out', 'metrics.jsonl'))).filter((r) => typeof r['validationLoss'] === 'number');
    assert.deepEqual(evals.map((r) => r['step']), [2, 4, 6, 8, 10]);
    assert.deepEqual(evals.map((r) => typeof r['validationRandomCopyLoss']), ['undefined', 'undefined', 'number', 'number', 'number'], 'random-copy losses once the mix has copy documents');
    assert.ok(evals.every((r) => Number.isFinite(r['validationCopyLoss'])));
    const finished = await readFile(join(dir, 'out', 'model.safetensors'));
    // From the step-8 checkpoint, a plain --resume continues on the new mix: the same weights.
    await tinyRun(dir, { ...options, resume: true });
    assert.ok(Buffer.compare(finished, await readFile(join(dir, 'out', 'model.safetensors'))) === 0, 'the weights after resuming a run with another mix differ');
    await assert.rejects(tinyRun(dir, { ...options, resume: true, extendMix: copyMix }), /^Error: --extend-mix repeat=0.25,copy=0.5: the run already trains on that mix$/);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('the short-context phase follows the recorded extensions', async () => {
  const data = prepareLanguageModelData(TEXT, { vocabSize: 300, context: 32, source: 'text' });
  const trainer = new LanguageModelTrainer(data, { ...TRAIN_LM_DEFAULTS, hiddenSize: 32, layers: 1, heads: 2, intermediateSize: 48, context: 32, batch: 2, steps: 8, warmup: 1, shortContext: 8, shortSteps: 4, evalWindows: 1 });
  assert.deepEqual([3, 4].map((s) => trainer.phase(s)), [{ window: 8, rows: 8 }, { window: 32, rows: 2 }]);
  trainer.step = 3;
  trainer.extend({ shortSteps: 6 });
  assert.deepEqual([5, 6].map((s) => trainer.phase(s).window), [8, 32]);
  assert.equal(trainer.totalSteps, 8);
  assert.equal(trainer.schedule(5), linearWarmupCosineDecay({ peakLr: trainer.settings.lr, warmupSteps: 1, totalSteps: 8, finalLr: trainer.settings.lr / 10 })(5), 'the lr is unchanged');
  assert.throws(() => trainer.extend({ shortSteps: 9 }), /--extend-short-steps 9 is more than the run's 8 steps/);
});

test('a new short-context phase after the first (--extend-short-context): windows from its step to its end, then the full context', () => {
  const data = prepareLanguageModelData(TEXT, { vocabSize: 300, context: 32, source: 'text' });
  const trainer = new LanguageModelTrainer(data, { ...TRAIN_LM_DEFAULTS, hiddenSize: 32, layers: 1, heads: 2, intermediateSize: 48, context: 32, batch: 2, steps: 12, warmup: 1, shortContext: 8, shortSteps: 4, evalWindows: 1 });
  trainer.step = 6;
  assert.throws(() => trainer.extend({ shortContext: 16 }), /--extend-short-context 16: needs --extend-short-steps/);
  assert.throws(() => trainer.extend({ shortSteps: 9, shortContext: 12 }), /--extend-short-context 12 must be at least 2 and divide --context 32/);
  assert.throws(() => trainer.extend({ shortSteps: 6, shortContext: 16 }), /--extend-short-steps 6: a new short-context phase must end after the run's current step 6/);
  assert.throws(() => trainer.extend({ shortSteps: 13, shortContext: 16 }), /--extend-short-steps 13 is more than the run's 12 steps/);
  trainer.extend({ shortSteps: 9, shortContext: 16 });
  assert.deepEqual(trainer.extensions, [{ fromStep: 6, steps: 12, shortSteps: 9, shortContext: 16 }]);
  // Steps before the extension keep their windows: 8 tokens to step 4, then 32; from step 6 to 9, 16; then 32.
  assert.deepEqual([3, 4, 5, 6, 8, 9, 11].map((s) => trainer.phase(s)), [
    { window: 8, rows: 8 }, { window: 32, rows: 2 }, { window: 32, rows: 2 }, { window: 16, rows: 4 }, { window: 16, rows: 4 }, { window: 32, rows: 2 }, { window: 32, rows: 2 },
  ]);
  assert.equal(trainer.schedule(7), linearWarmupCosineDecay({ peakLr: trainer.settings.lr, warmupSteps: 1, totalSteps: 12, finalLr: trainer.settings.lr / 10 })(7), 'the lr is unchanged');
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

test('with a mix, a short-context phase and a folder of texts: seeded, resumable, copy and answer losses logged, the tokenizer reused', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'thrifty-train-lm-'));
  try {
    const { mkdir } = await import('node:fs/promises');
    await mkdir(join(dir, 'corpus', 'more'), { recursive: true });
    await writeFile(join(dir, 'corpus', 'a.txt'), TEXT);
    await writeFile(join(dir, 'corpus', 'more', 'b.txt'), TEXT.replaceAll('cat', 'bird'));
    await writeFile(join(dir, 'corpus', 'notes.md'), 'not read');
    const options: Partial<TrainLmOptions> = {
      data: join(dir, 'corpus'), context: 128, batch: 2, shortContext: 32, shortSteps: 3, steps: 6, checkpointEvery: 3,
      evalEvery: 3, evalWindows: 2, mix: { repeat: 0.5, kv: 0.25, copy: 0, period: 0 },
    };
    await tinyRun(dir, options);
    const straight = await readFile(join(dir, 'out', 'model.safetensors'));
    const log = await readMetricsLog(join(dir, 'out', 'metrics.jsonl'));
    const evaluated = log.filter((r) => typeof r['validationLoss'] === 'number');
    assert.ok(evaluated.length >= 2);
    for (const r of evaluated) {
      assert.ok(Number.isFinite(r['validationCopyLoss']) && Number.isFinite(r['validationAnswerLoss']), JSON.stringify(r));
    }
    const tokens = log.filter((r) => typeof r['loss'] === 'number').length;
    assert.equal(tokens, 6);
    // Resumed from step 3 with the tokenizer it wrote, the data named by a relative path: the same weights as the straight run.
    const tokenizerBefore = await readFile(join(dir, 'out', 'tokenizer.json'), 'utf8');
    const { relative } = await import('node:path');
    await tinyRun(dir, { ...options, resume: true, data: relative(process.cwd(), join(dir, 'corpus')) });
    assert.ok(Buffer.compare(straight, await readFile(join(dir, 'out', 'model.safetensors'))) === 0, 'the resumed weights differ');
    assert.equal(await readFile(join(dir, 'out', 'tokenizer.json'), 'utf8'), tokenizerBefore);
    // Another mix is another run.
    await assert.rejects(tinyRun(dir, { ...options, resume: true, mix: { repeat: 0.1, kv: 0, copy: 0, period: 0 } }), /--resume with different settings \(mix\)/);
    await assert.rejects(tinyRun(dir, { ...options, shortContext: 24 }), /--short-context 24 must be at least 2 and divide --context 128/);
    await assert.rejects(tinyRun(dir, { data: join(dir, 'corpus', 'more', 'none') }), /--data .*none/);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('the command line refuses out-of-range numbers with one line naming the flag', async () => {
  const { Command } = await import('commander');
  const { registerTrainLmCommand } = await import('../../src/cli/commands/train-lm.js');
  const parse = (args: string[]): Promise<unknown> => {
    const program = new Command().exitOverride().configureOutput({ writeErr: () => {}, writeOut: () => {} });
    registerTrainLmCommand(program);
    return program.parseAsync(['node', 'thrifty', 'train-lm', ...args]);
  };
  await assert.rejects(parse(['--context', '1000000']), /--context expects an integer in \[2, 2048\], got 1000000/);
  await assert.rejects(parse(['--heads', '0']), /--heads expects an integer in \[1, 256\], got 0/);
  await assert.rejects(parse(['--lr', '0']), /--lr expects a number in \(0, 1\], got 0/);
  await assert.rejects(parse(['--steps', '1e9']), /--steps expects an integer in \[1, 10,000,000\], got 1e9/);
  await assert.rejects(parse(['--mix', 'repeat=2']), /--mix: repeat expects a fraction in \[0, 1\]/);
  await assert.rejects(parse(['--short-steps', '5']), /--short-steps needs --short-context/);
});

test('--random-ids: the copy and period kinds draw from a growing pool of ids; --extend-random-ids counts from its step, recorded and resumed bit for bit', async () => {
  const data = prepareLanguageModelData(TEXT, { vocabSize: 300, context: 32, source: 'text' });
  const settings = { ...TRAIN_LM_DEFAULTS, hiddenSize: 32, layers: 1, heads: 2, intermediateSize: 48, context: 32, batch: 2, steps: 12, warmup: 1, evalWindows: 1 };
  const plain = new LanguageModelTrainer(data, settings);
  assert.equal(plain.randomIdPool(0), undefined, 'no curriculum: every id');
  const withCurriculum = new LanguageModelTrainer(data, { ...settings, randomIds: { start: 4, steps: 8 } });
  const sizes = [0, 4, 7, 8].map((s) => withCurriculum.randomIdPool(s)?.length);
  const all = new Set(data.trainIds).size;
  assert.deepEqual(sizes, [4, Math.round(4 * (all / 4) ** 0.5), Math.round(4 * (all / 4) ** (7 / 8)), undefined]);
  // Each pool is a prefix of the next.
  assert.deepEqual(withCurriculum.randomIdPool(0), withCurriculum.randomIdPool(4)!.subarray(0, 4));
  plain.step = 5;
  plain.extend({ randomIds: { start: 4, steps: 8 } });
  assert.deepEqual(plain.extensions, [{ fromStep: 5, steps: 12, randomIds: { start: 4, steps: 8 } }]);
  assert.equal(plain.randomIdPool(4), undefined, 'steps before the extension keep every id');
  assert.equal(plain.randomIdPool(5)?.length, 4);
  assert.equal(plain.randomIdPool(13), undefined);

  const dir = await mkdtemp(join(tmpdir(), 'thrifty-train-lm-'));
  try {
    await writeFile(join(dir, 'text.txt'), TEXT);
    const options = { steps: 6, warmup: 1, checkpointEvery: 2, evalWindows: 2, evalEvery: 0, mix: { repeat: 0, kv: 0, copy: 0, period: 0.5 } };
    await assert.rejects(tinyRun(dir, { ...options, extendRandomIds: { start: 4, steps: 4 } }), /^Error: --extend-random-ids 4:4: needs --resume and a checkpoint in .* \(a new run takes --random-ids\)$/);
    await tinyRun(dir, options); // leaves the step-4 checkpoint
    await tinyRun(dir, { ...options, resume: true, extendRandomIds: { start: 4, steps: 4 }, extendSteps: 10 });
    const recorded = (await loadCheckpoint(join(dir, 'out', 'checkpoint.safetensors'))).state.user['options'] as Record<string, unknown>;
    assert.deepEqual(recorded['extensions'], [{ fromStep: 4, steps: 10, randomIds: { start: 4, steps: 4 } }]);
    assert.equal(recorded['extendRandomIds'], undefined, 'the flag itself is not a run setting');
    const finished = await readFile(join(dir, 'out', 'model.safetensors'));
    await tinyRun(dir, { ...options, resume: true }); // from the step-8 checkpoint
    assert.ok(Buffer.compare(finished, await readFile(join(dir, 'out', 'model.safetensors'))) === 0, 'the weights after resuming a run with a curriculum differ');
    await assert.rejects(tinyRun(dir, { ...options, resume: true, randomIds: { start: 4, steps: 4 } }), /--resume with different settings \(randomIds\)/);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('--extend-short-context inside the first short phase changes the window from that step (a curriculum of window lengths)', () => {
  const data = prepareLanguageModelData(TEXT, { vocabSize: 300, context: 32, source: 'text' });
  const trainer = new LanguageModelTrainer(data, { ...TRAIN_LM_DEFAULTS, hiddenSize: 32, layers: 1, heads: 2, intermediateSize: 48, context: 32, batch: 2, steps: 12, warmup: 1, shortContext: 4, shortSteps: 8, evalWindows: 1 });
  trainer.step = 3;
  trainer.extend({ shortSteps: 6, shortContext: 8 });
  // 4 tokens to step 3, then 8 from step 3 to 6 (the first phase cut short), then the full 32.
  assert.deepEqual([2, 3, 5, 6, 7].map((s) => trainer.phase(s)), [
    { window: 4, rows: 16 }, { window: 8, rows: 8 }, { window: 8, rows: 8 }, { window: 32, rows: 2 }, { window: 32, rows: 2 },
  ]);
  assert.equal(trainer.shortSteps, 6);
});
