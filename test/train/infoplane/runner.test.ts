// The Node runner (src/node/infoplane-runner.ts, worker threads) and the `thrifty infoplane` command.

import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { test } from 'node:test';

import { Command } from 'commander';

import { registerInfoplaneCommand } from '../../../src/cli/commands/infoplane.js';
import { DEBIAN_FASHION_MNIST_DIR, loadInfoplaneDataset, runInfoplaneExperiment, runFileName, type InfoplaneExperimentResult } from '../../../src/node/infoplane-runner.js';
import { dataFileOrSkip, skipForMissingData } from '../../helpers/data.js';
import { authorsSplit, generateIb12 } from '../../../src/data/ib12.js';
import { runInfoplane, type ExperimentConfig } from '../../../src/train/infoplane/experiment.js';

const CONFIG: ExperimentConfig = { hidden: [10, 7, 5, 4, 3], epochs: 25, batchSize: 256, lr: 4e-3, logSamples: 6, estimators: ['ebab'], shuffleBatches: false };

const silent = new Writable({ write: (_chunk, _encoding, done) => done() });

/** Runs an experiment that must complete (no signal). */
async function complete(options: Parameters<typeof runInfoplaneExperiment>[0]): Promise<InfoplaneExperimentResult> {
  const result = await runInfoplaneExperiment(options);
  assert.equal(result.interrupted, false);
  return result as InfoplaneExperimentResult;
}

test('the runner trains every (activation, L2, seed) in worker threads, writes records, summary and report, and resumes', async () => {
  const out = await mkdtemp(join(tmpdir(), 'thrifty-infoplane-'));
  try {
    const options = { dataset: { name: 'ib12' as const }, config: CONFIG, activations: ['tanh', 'relu'] as const, l2: [0], seeds: 2, outDir: out, threads: 2, progressStream: silent };
    const first = await complete(options);
    assert.equal(first.records.length, 4);
    assert.equal(first.reused, 0);
    assert.deepEqual(readdirSync(join(out, 'runs')).sort(), ['ib12-relu-l2_0-seed0.json', 'ib12-relu-l2_0-seed1.json', 'ib12-tanh-l2_0-seed0.json', 'ib12-tanh-l2_0-seed1.json']);
    assert.ok(existsSync(join(out, 'report.html')));
    const summary = JSON.parse(readFileSync(join(out, 'summary.json'), 'utf8')) as { summaries: Array<{ estimator: string; groups: unknown[] }> };
    assert.equal(summary.summaries[0]!.estimator, 'ebab');
    assert.equal(summary.summaries[0]!.groups.length, 2);

    // A worker's record equals the same run in this thread.
    const data = generateIb12();
    const split = authorsSplit(data.n);
    const local = await runInfoplane({ name: 'ib12', ...data, numClasses: 2, train: split.train, test: split.test, infoRows: null, splitDescription: first.records[0]!.split }, CONFIG, { activation: 'tanh', l2: 0, seed: 1 });
    const fromWorker = JSON.parse(readFileSync(join(out, 'runs', runFileName('ib12', { activation: 'tanh', l2: 0, seed: 1 })), 'utf8')) as typeof local;
    assert.deepEqual(fromWorker.records, JSON.parse(JSON.stringify(local.records)));

    // Same settings: everything reused. One more seed: only that one runs.
    const again = await complete(options);
    assert.equal(again.reused, 4);
    const more = await complete({ ...options, seeds: 3 });
    assert.equal(more.reused, 4);
    assert.equal(more.records.length, 6);
    // Different settings are not mixed with old records.
    const changed = await complete({ ...options, config: { ...CONFIG, epochs: 20 } });
    // Stopped by the signal (Ctrl-C): nothing new runs and the saved records that match are counted
    // (seed 2's; seeds 0 and 1 now hold the 20-epoch runs).
    const stopped = await runInfoplaneExperiment({ ...options, seeds: 4 }, AbortSignal.abort());
    assert.deepEqual(stopped, { interrupted: true, finished: 2, total: 8, runsDir: join(out, 'runs') });
    assert.equal(changed.reused, 0);
  } finally {
    await rm(out, { recursive: true, force: true });
  }
});

async function runCli(args: string[]): Promise<string> {
  const program = new Command();
  program.exitOverride();
  program.configureOutput({ writeErr: () => undefined, writeOut: () => undefined });
  registerInfoplaneCommand(program);
  try {
    await program.parseAsync(['node', 'thrifty', ...args]);
    return '';
  } catch (error) {
    return error instanceof Error ? error.message : String(error);
  }
}

test('thrifty infoplane names the flag of a bad value', async () => {
  assert.match(await runCli(['infoplane', '--activation', 'tanh,sigmoidal']), /--activation: unknown activation 'sigmoidal'/);
  assert.match(await runCli(['infoplane', '--estimator', 'mine']), /--estimator: unknown estimator 'mine'/);
  assert.match(await runCli(['infoplane', '--epochs', '0']), /--epochs expects a positive integer/);
  assert.match(await runCli(['infoplane', '--l2', '0,-1']), /--l2 expects non-negative numbers/);
  assert.match(await runCli(['infoplane', '--dataset', 'cifar']), /--dataset: expected one of ib12, mnist, fashion-mnist/);
  assert.match(await runCli(['infoplane', '--akde-scale', '0']), /--akde-scale expects a positive number/);
});

test('thrifty infoplane runs end to end from the command line', async () => {
  const out = await mkdtemp(join(tmpdir(), 'thrifty-infoplane-cli-'));
  const writes: string[] = [];
  const original = process.stdout.write.bind(process.stdout);
  process.stdout.write = ((chunk: string) => {
    writes.push(String(chunk));
    return true;
  }) as typeof process.stdout.write;
  try {
    const error = await runCli(['infoplane', '--epochs', '12', '--log-samples', '4', '--seeds', '1', '--activation', 'softsign', '--estimator', 'ebab,akde', '--l2', '0,0.01', '--threads', '1', '--info-samples', '512', '--out', out]);
    assert.equal(error, '');
  } finally {
    process.stdout.write = original;
  }
  try {
    const text = writes.join('');
    assert.match(text, /2 networks \(0 reused\)/);
    assert.match(text, /ebab softsign: compression per layer/);
    assert.match(text, /akde softsign L2 0.01: compression per layer/);
    assert.ok(existsSync(join(out, 'runs', 'ib12-softsign-l2_0.01-seed0.json')));
  } finally {
    await rm(out, { recursive: true, force: true });
  }
});

test('MNIST for the information plane: the files concatenated and split 80/20, a seeded estimation subset', async (t) => {
  const images = dataFileOrSkip(t, 'mnist/t10k-images-idx3-ubyte.gz');
  if (!images) return;
  const data = await loadInfoplaneDataset({ name: 'mnist', dataDir: join(images, '..', '..'), infoSamples: 500 });
  const total = data.n;
  assert.ok(total === 10000 || total === 70000, `${total} images`);
  assert.equal(data.width, 784);
  assert.equal(data.numClasses, 10);
  assert.equal(data.train.length, Math.round(0.8 * total));
  assert.equal(data.train.length + data.test.length, total);
  assert.equal(data.infoRows!.length, 500);
  assert.deepEqual(Array.from(data.infoRows!), Array.from((await loadInfoplaneDataset({ name: 'mnist', dataDir: join(images, '..', '..'), infoSamples: 500 })).infoRows!));
  const random = await loadInfoplaneDataset({ name: 'mnist', dataDir: join(images, '..', '..'), split: 'random', splitSeed: 3 });
  assert.notDeepEqual(Array.from(random.train.subarray(0, 10)), Array.from(data.train.subarray(0, 10)));
});

test("Fashion-MNIST from Debian's dataset-fashion-mnist package, where installed", async (t) => {
  if (!existsSync(join(DEBIAN_FASHION_MNIST_DIR, 't10k-images-idx3-ubyte.gz'))) {
    skipForMissingData(t, `not installed: ${DEBIAN_FASHION_MNIST_DIR} (apt-get install dataset-fashion-mnist)`);
    return;
  }
  const data = await loadInfoplaneDataset({ name: 'fashion-mnist', dataDir: '/nonexistent' });
  assert.equal(data.n, 70000);
  assert.equal(data.train.length, 56000);
  assert.equal(data.infoRows!.length, 2000);
});
