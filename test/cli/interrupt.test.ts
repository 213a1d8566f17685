// Ctrl-C, for real: spawn the CLI, send SIGINT mid-run, and check the exit code (130), the checkpoint,
// the message with the command that continues, and that running that command ends exactly where an
// uninterrupted run does. Also: a second Ctrl-C quits at once, and a diverging run exits 1 naming the step.

import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';

import { formatCliError } from '../../src/cli/main.js';
import { loadCheckpoint } from '../../src/node/checkpoint.js';
import { readMetricsLog, type MetricsRecord } from '../../src/node/metrics-log.js';
import { runPretraining } from '../../src/node/pretrain-runner.js';
import { Rng } from '../../src/tensor/rng.js';

const repo = resolve(dirname(fileURLToPath(import.meta.url)), '../../..');
const CLI = join(repo, 'bin', 'thrifty.js');

interface Exit {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
  readonly stdout: string;
  readonly stderr: string;
}

/** Runs the CLI; `whileRunning` gets the child (to signal it) and may wait for it to reach a point. */
function thrifty(args: readonly string[], whileRunning?: (child: ReturnType<typeof spawn>) => Promise<void>): Promise<Exit> {
  const child = spawn(process.execPath, [CLI, ...args], { cwd: repo, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const exited = new Promise<Exit>((done) => child.on('close', (code, signal) => done({ code, signal, stdout, stderr })));
  return (whileRunning ? whileRunning(child) : Promise.resolve()).then(() => exited);
}

/** Resolves once the metrics log holds a training record of step >= `step`; returns the step seen. */
async function waitForStep(path: string, step: number, timeoutMs = 120_000): Promise<number> {
  const until = Date.now() + timeoutMs;
  while (Date.now() < until) {
    if (existsSync(path)) {
      const seen = (await readMetricsLog(path)).filter((r) => typeof r['loss'] === 'number').map((r) => r.step);
      const last = seen.at(-1);
      if (last !== undefined && last >= step) return last;
    }
    await new Promise((done) => setTimeout(done, 5));
  }
  throw new Error(`${path}: no step ${step} within ${timeoutMs} ms`);
}

/** The command printed after "to continue, run:", as CLI arguments (the test's paths need no quoting). */
function resumeArgs(stderr: string): string[] {
  const match = /to continue, run:\n {2}npx thrifty (.+)\n/.exec(stderr);
  assert.ok(match, `no resume command in:\n${stderr}`);
  return match[1]!.split(' ');
}

/** The log without its timings: what a resumed run must repeat exactly. */
const curve = (records: readonly MetricsRecord[]): string[] =>
  records.map((r) => JSON.stringify(Object.fromEntries(Object.entries(r).filter(([k]) => k !== 'time' && k !== 'trainSeconds' && k !== 'tokensPerSecond'))));

async function withDir<T>(fn: (dir: string) => Promise<T>): Promise<T> {
  const dir = await mkdtemp(join(tmpdir(), 'thrifty-interrupt-'));
  try {
    return await fn(dir);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

async function writeCorpus(dir: string): Promise<string> {
  const corpus = join(dir, 'corpus');
  await mkdir(corpus);
  const rng = new Rng(7);
  const words = ['fox', 'dog', 'cat', 'red', 'brown', 'jumps', 'runs', 'over', 'past', 'lazy'];
  for (let d = 0; d < 16; d++) {
    const sentences = Array.from({ length: 12 }, () => `The ${Array.from({ length: 6 }, () => words[rng.int(words.length)]).join(' ')}.`);
    await writeFile(join(corpus, `doc${d}.txt`), sentences.join(' '));
  }
  return corpus;
}

const pretrainArgs = (corpus: string, out: string, steps: number): string[] => [
  'pretrain', '--arch', 'bert', '--size', 'micro-xs', '--corpus', corpus, '--steps', String(steps), '--batch', '4', '--seq', '32',
  '--vocab-size', '120', '--eval-every', '10', '--eval-sequences', '8', '--checkpoint-every', '1000', '--threads', '1', '--seed', '3',
  '--out', out, '--quiet', '--json',
];

test('pretrain: Ctrl-C stops within a step, saves, prints the resume command, exits 130; resuming ends bit-exactly', async () => {
  await withDir(async (dir) => {
    const corpus = await writeCorpus(dir);
    const steps = 40;
    const straight = await thrifty(pretrainArgs(corpus, join(dir, 'straight'), steps));
    assert.equal(straight.code, 0, straight.stderr);

    const out = join(dir, 'interrupted');
    let seen = 0;
    const stopped = await thrifty(pretrainArgs(corpus, out, steps), async (child) => {
      seen = await waitForStep(join(out, 'metrics.jsonl'), 3);
      child.kill('SIGINT');
    });
    assert.equal(stopped.code, 130, stopped.stderr);
    assert.match(stopped.stderr, /interrupted: stopping after this step, saving a checkpoint \(Ctrl-C again to quit at once\)/);
    const checkpoint = await loadCheckpoint(join(out, 'checkpoint.safetensors'));
    const k = checkpoint.state.step;
    // Within one step of the signal (the log may run a step ahead of what the test saw).
    assert.ok(k >= seen && k <= seen + 2 && k < steps, `signal after step ${seen}, stopped at step ${k}`);
    assert.match(stopped.stderr, new RegExp(`stopped: step ${k} of ${steps}, checkpoint saved to ${out}/checkpoint\\.safetensors`));
    const summary = JSON.parse(stopped.stdout) as { step: number; finished: boolean };
    assert.deepEqual([summary.step, summary.finished], [k, false]);

    const args = resumeArgs(stopped.stderr);
    assert.deepEqual(args, [...pretrainArgs(corpus, out, steps), '--resume']);
    const resumed = await thrifty(args);
    assert.equal(resumed.code, 0, resumed.stderr);
    assert.equal((JSON.parse(resumed.stdout) as { resumedFrom: number }).resumedFrom, k);
    assert.deepEqual(curve(await readMetricsLog(join(out, 'metrics.jsonl'))), curve(await readMetricsLog(join(dir, 'straight', 'metrics.jsonl'))));
    const a = await loadCheckpoint(join(out, 'checkpoint.safetensors'));
    const b = await loadCheckpoint(join(dir, 'straight', 'checkpoint.safetensors'));
    for (const [name, t] of b.model) assert.deepEqual(a.model.get(name)!.data, t.data, name);
  });
});

test('pretrain: a second Ctrl-C quits at once, without saving', async () => {
  await withDir(async (dir) => {
    const corpus = await writeCorpus(dir);
    const out = join(dir, 'run');
    // Steps of a second or more: both signals arrive while one step computes, and are handled together after it.
    const args = pretrainArgs(corpus, out, 100_000).map((a, i, all) => (all[i - 1] === '--batch' ? '8' : all[i - 1] === '--seq' ? '512' : a));
    const quit = await thrifty(args, async (child) => {
      await waitForStep(join(out, 'metrics.jsonl'), 1);
      // Well into step 2: a first signal taken between steps stops and saves at once (under load the
      // step boundary, which writes the log, took long enough for that once in CI), leaving nothing for
      // the second to cut short.
      await new Promise((done) => setTimeout(done, 300));
      child.kill('SIGINT');
      // Signals of one kind do not queue: the second must come after the first was taken.
      await new Promise((done) => setTimeout(done, 200));
      child.kill('SIGINT');
    });
    assert.equal(quit.code, 130, quit.stderr);
    assert.match(quit.stderr, /interrupted: stopping after this step.*\n\ninterrupted again: quitting now\n$/);
    assert.ok(!existsSync(join(out, 'checkpoint.safetensors')), 'quitting at once saves nothing');
    assert.equal(quit.stdout, '');
  });
});

test('pretrain: a diverging run is one line naming the step; the flag that forced it is refused before training', async () => {
  await withDir(async (dir) => {
    const corpus = await writeCorpus(dir);
    // --lr 1e308 once made the run diverge; the flag's range now refuses it before any work.
    const run = await thrifty([...pretrainArgs(corpus, join(dir, 'run'), 6), '--lr', '1e308']);
    assert.equal(run.code, 1);
    assert.equal(run.stderr, 'thrifty: error: --lr expects a number in (0, 1], got 1e308\n');
    assert.equal(run.stdout, '');
    assert.ok(!existsSync(join(dir, 'run')), 'nothing was started');
    // The divergence itself, reached through the runner, is printed by the CLI as one line.
    const diverged = await runPretraining({
      arch: 'bert', size: 'micro-xs', corpus, vocabSize: 120, steps: 6, batchSize: 4, seqLength: 32, optimizer: 'adamw', lr: 1e308,
      warmupSteps: 0, weightDecay: 0.01, clipNorm: 1, seed: 3, nsp: true, wholeWordMask: false, out: join(dir, 'run2'), resume: false,
      evalEvery: 10, evalSequences: 8, validationFraction: 0.05, checkpointEvery: 1000, threads: 1, quiet: true,
    }).then(() => null, (err: unknown) => err);
    assert.ok(diverged instanceof Error, 'the run did not diverge');
    assert.match(formatCliError(diverged), /^thrifty: error: training diverged at step \d: the loss is NaN [^\n]*$/);
  });
});

test('train-lm: Ctrl-C saves a checkpoint and exits 130; the printed command finishes with the weights of a straight run', async () => {
  await withDir(async (dir) => {
    const text = Array.from({ length: 400 }, (_, i) => `The cat sat on the mat number ${i % 7}. The dog ran to the log.\n`).join('');
    await writeFile(join(dir, 'text.txt'), text);
    const args = (out: string): string[] => [
      'train-lm', '--data', join(dir, 'text.txt'), '--out', out, '--vocab-size', '300', '--hidden', '32', '--layers', '1', '--heads', '2',
      '--intermediate', '48', '--context', '32', '--steps', '60', '--warmup', '2', '--checkpoint-every', '0', '--eval-windows', '2', '--threads', '1', '--dtype', 'f32',
    ];
    const straight = await thrifty(args(join(dir, 'straight')));
    assert.equal(straight.code, 0, straight.stderr);

    const out = join(dir, 'interrupted');
    const stopped = await thrifty(args(out), async (child) => {
      await waitForStep(join(out, 'metrics.jsonl'), 3);
      child.kill('SIGINT');
    });
    assert.equal(stopped.code, 130, stopped.stderr);
    const k = (await loadCheckpoint(join(out, 'checkpoint.safetensors'))).state.step;
    assert.ok(k >= 3 && k < 60, `stopped at step ${k}`);
    assert.match(stopped.stderr, new RegExp(`stopped: step ${k} of 60, checkpoint saved to ${out}/checkpoint\\.safetensors`));
    // The model folder is written with every checkpoint (a run can be evaluated while it trains);
    // training.json is what marks a finished run.
    assert.ok(existsSync(join(out, 'model.safetensors')) && existsSync(join(out, 'config.json')), 'the checkpoint\'s model folder');
    assert.ok(!existsSync(join(out, 'training.json')), 'an interrupted run is not a finished one');

    const resumeWith = resumeArgs(stopped.stderr);
    assert.deepEqual(resumeWith, [...args(out), '--resume']);
    const resumed = await thrifty(resumeWith);
    assert.equal(resumed.code, 0, resumed.stderr);
    assert.match(resumed.stderr, new RegExp(`resumed from .* at step ${k}`));
    const [a, b] = await Promise.all([readFile(join(out, 'model.safetensors')), readFile(join(dir, 'straight', 'model.safetensors'))]);
    assert.ok(Buffer.compare(a, b) === 0, 'the resumed weights differ from the straight run');
    assert.deepEqual(curve(await readMetricsLog(join(out, 'metrics.jsonl'))), curve(await readMetricsLog(join(dir, 'straight', 'metrics.jsonl'))));

    // Extended from the step-k checkpoint (a longer run on another mix), then stopped: the message counts to the
    // extended total, and the printed command resumes without the extending flags (the checkpoint records them).
    const extended = await thrifty([...args(out), '--resume', '--extend-steps', '80', '--extend-mix', 'copy=0.5'], async (child) => {
      await waitForStep(join(out, 'metrics.jsonl'), 62);
      child.kill('SIGINT');
    });
    assert.equal(extended.code, 130, extended.stderr);
    const k2 = (await loadCheckpoint(join(out, 'checkpoint.safetensors'))).state.step;
    assert.match(extended.stderr, new RegExp(`stopped: step ${k2} of 80, checkpoint saved to`));
    assert.deepEqual(resumeArgs(extended.stderr), [...args(out), '--resume']);
  });
});

/** Resolves once `path` exists. */
async function waitForFile(path: string, timeoutMs = 120_000): Promise<void> {
  const until = Date.now() + timeoutMs;
  while (!existsSync(path)) {
    if (Date.now() > until) throw new Error(`${path} did not appear within ${timeoutMs} ms`);
    await new Promise((done) => setTimeout(done, 5));
  }
}

test('experiment pareto: Ctrl-C stops the run under way with its checkpoint, exits 130, and rerunning the command continues', async () => {
  await withDir(async (dir) => {
    const corpus = await writeCorpus(dir);
    const out = join(dir, 'exp');
    const args = [
      'experiment', 'pareto', '--arch', 'bert', '--sizes', 'micro-xs', '--corpus', corpus, '--seeds', '2', '--tokens', String(4 * 32 * 2000),
      '--batch', '4', '--seq', '32', '--vocab-size', '120', '--eval-points', '2', '--eval-sequences', '8', '--threads', '1', '--out', out,
    ];
    const stopped = await thrifty(args, async (child) => {
      await waitForStep(join(out, 'bert-micro-xs-seed0', 'metrics.jsonl'), 2);
      child.kill('SIGINT');
    });
    assert.equal(stopped.code, 130, stopped.stderr);
    assert.match(stopped.stderr, /interrupted: stopping the runs after their current step, saving checkpoints/);
    assert.deepEqual(resumeArgs(stopped.stderr), args, 'the same command continues');
    const step = (await loadCheckpoint(join(out, 'bert-micro-xs-seed0', 'checkpoint.safetensors'))).state.step;
    assert.ok(step >= 2 && step < 2000, `stopped at step ${step}`);
    assert.ok(!existsSync(join(out, 'bert-micro-xs-seed1')), 'no run starts after Ctrl-C');
  });
});

test('experiment dynsparse: Ctrl-C stops the run under way with its checkpoint, exits 130, and the printed command continues', async () => {
  await withDir(async (dir) => {
    const corpus = await writeCorpus(dir);
    const out = join(dir, 'exp');
    const args = [
      'experiment', 'dynsparse', '--corpus', corpus, '--dense-sizes', 'micro-xs,micro-s', '--sparse-size', 'micro-s', '--tokens', String(4 * 32 * 2000),
      '--batch', '4', '--seq', '32', '--vocab-size', '120', '--eval-points', '2', '--eval-sequences', '8', '--threads', '1', '--out', out,
    ];
    const stopped = await thrifty(args, async (child) => {
      await waitForStep(join(out, 'runs', 'dense-micro-xs-seed0', 'metrics.jsonl'), 2);
      child.kill('SIGINT');
    });
    assert.equal(stopped.code, 130, stopped.stderr);
    assert.match(stopped.stderr, /interrupted: stopping the run under way after its current step, saving a checkpoint/);
    assert.deepEqual(resumeArgs(stopped.stderr), args, 'the same command continues');
    const step = (await loadCheckpoint(join(out, 'runs', 'dense-micro-xs-seed0', 'checkpoint.safetensors'))).state.step;
    assert.ok(step >= 2 && step < 2000, `stopped at step ${step}`);
    assert.ok(!existsSync(join(out, 'runs', 'dense-micro-s-seed0')), 'no run starts after Ctrl-C');
  });
});

test('infoplane: Ctrl-C stops the workers, exits 130 and says how to continue', async () => {
  await withDir(async (dir) => {
    const out = join(dir, 'ip');
    const args = ['infoplane', '--epochs', '100000', '--seeds', '2', '--activation', 'tanh', '--threads', '2', '--out', out];
    const stopped = await thrifty(args, async (child) => {
      await waitForFile(join(out, 'runs'));
      child.kill('SIGINT');
    });
    assert.equal(stopped.code, 130, stopped.stderr);
    assert.match(stopped.stderr, new RegExp(`stopped: 0 of 2 networks finished, their records are in ${out}/runs\\n`));
    assert.deepEqual(resumeArgs(stopped.stderr), args);
    assert.ok(!existsSync(join(out, 'summary.json')));
  });
});
