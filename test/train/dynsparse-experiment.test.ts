import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, stat, unlink } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { defaultGrid, noRuleFactor, planArmRuns, planArms, runDynsparseExperiment, type DynsparseExperimentOptions, type DynsparseGrid } from '../../src/node/dynsparse-experiment.js';
import { readMetricsLog } from '../../src/node/metrics-log.js';
import { accumulatedMask, type ArmRecord, type ArmSummary } from '../../src/report/dynsparse.js';
import { sparseLearningRate } from '../../src/train/dynsparse.js';
import { writeToyCorpus } from './toy-corpus.js';

test('planArms: every part of the grid, shared arms trained once with all their parts, ids unique', () => {
  const arms = planArms(defaultGrid(true), 400);
  const ids = arms.map((a) => a.id);
  assert.equal(new Set(ids).size, ids.length);
  const base = arms.find((a) => a.id === 'dynamic-micro-m-s0.9-b16-n80-pr0.5')!;
  assert.deepEqual([...base.parts].sort(), ['block', 'lr', 'pareto', 'regrow', 'schedule', 'sparsity']);
  assert.deepEqual(arms.filter((a) => a.mode === 'dense').map((a) => a.size), ['micro-xs', 'micro-s', 'micro-m']);
  assert.deepEqual(arms.filter((a) => a.mode === 'static').map((a) => a.block).sort((a, b) => a - b), [1, 16]);
  assert.deepEqual(arms.filter((a) => a.parts.includes('block') && a.mode === 'dynamic').map((a) => a.block).sort((a, b) => a - b), [1, 4, 8, 16]);
  assert.equal(arms.filter((a) => a.parts.includes('schedule')).length, 9);
  assert.deepEqual(arms.filter((a) => a.mode === 'rigl').map((a) => a.block), [16]);
  // 3 dense + base + 2 static + 2 sparsities + 3 blocks + 8 schedules + 3 learning rates + 1 RigL.
  assert.equal(arms.length, 23);
  // n is capped at the steps; static arms have no schedule.
  const short = planArms(defaultGrid(false), 50);
  assert.ok(short.every((a) => a.updates <= 50));
  assert.ok(short.filter((a) => a.mode === 'static').every((a) => a.updates === 0 && a.pruneRatio === 0));
  assert.ok(Math.abs(sparseLearningRate(1, 0.9) * noRuleFactor(0.9) - 1) < 1e-12);
});

test('--sparse-lr-factor scales every sparse arm (static too) and names it in the id; dense arms keep eta(0)', () => {
  const grid: DynsparseGrid = { ...defaultGrid(false), sparseLrFactor: 0.5 };
  const options = { grid, seeds: 1, tokensPerRun: 8 * 128 * 10, evalPoints: 2, out: '/nonexistent', jobs: 1, run: { lr: 1e-3, batchSize: 8, seqLength: 128, warmupFraction: 0 } } as unknown as DynsparseExperimentOptions;
  const { runs } = planArmRuns(options, 'vocab.txt');
  const staticRun = runs.find((r) => r.arm.mode === 'static')!;
  assert.equal(staticRun.arm.id, 'static-micro-m-s0.9-b16-lrx0.5');
  assert.ok(Math.abs(staticRun.options.lr - 0.5 * sparseLearningRate(1e-3, 0.9)) < 1e-15);
  const base = runs.find((r) => r.arm.mode === 'dynamic' && r.arm.block === 16 && r.arm.sparsity === 0.9 && r.arm.lrFactor === 1)!;
  assert.equal(base.arm.id, 'dynamic-micro-m-s0.9-b16-n10-pr0.5-lrx0.5');
  // The lr sweep's eta(0) arm compounds: its factor on the rule is noRuleFactor(0.9) x 0.5.
  const noRule = runs.find((r) => r.arm.parts.includes('lr') && r.arm.lrFactor < 1)!;
  assert.ok(Math.abs(noRule.options.lr - 0.5e-3) < 1e-15);
  for (const dense of runs.filter((r) => r.arm.mode === 'dense')) {
    assert.equal(dense.options.lr, 1e-3);
    assert.ok(!dense.arm.id.includes('lrx'));
  }
});

test('experiment dynsparse at a tiny size: every arm x seed trains the same tokens, records, summary and report are written, a rerun resumes', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'thrifty-dynsparse-'));
  try {
    const corpus = await writeToyCorpus(dir);
    const grid: DynsparseGrid = {
      denseSizes: ['micro-xs', 'micro-s'],
      sparseSize: 'micro-s',
      sparsity: 0.75,
      block: 16,
      updates: 2,
      pruneRatio: 0.5,
      sparsities: [0.75],
      blocks: [4, 16],
      staticBlocks: [16],
      updatesList: [2],
      pruneRatios: [0.5],
      lrFactors: [1],
      riglBlocks: [16],
    };
    const options: DynsparseExperimentOptions = {
      grid,
      seeds: 2,
      tokensPerRun: 2 * 32 * 4,
      evalPoints: 2,
      out: join(dir, 'exp'),
      jobs: 1,
      log: () => undefined,
      progressStream: null,
      run: {
        corpus, vocabSize: 100, batchSize: 2, seqLength: 32, optimizer: 'adamw', lr: 1e-3, weightDecay: 0.01, clipNorm: 1, dropout: 0,
        nsp: true, wholeWordMask: false, evalSequences: 4, validationFraction: 0.25, threads: 'reference', warmupFraction: 0.25,
      },
    };
    const result = await runDynsparseExperiment(options);
    assert.equal(result.interrupted, false);
    // dense xs, dense s, dynamic b16 (base), static b16, dynamic b4, RigL b16.
    assert.deepEqual(result.arms.map((a) => a.id), [
      'dense-micro-xs', 'dense-micro-s', 'dynamic-micro-s-s0.75-b16-n2-pr0.5', 'static-micro-s-s0.75-b16', 'dynamic-micro-s-s0.75-b4-n2-pr0.5', 'rigl-micro-s-s0.75-b16-n2-pr0.5',
    ]);
    assert.equal(result.runs.length, 12);
    const records: ArmRecord[] = [];
    for (const run of result.runs) {
      const record = JSON.parse(await readFile(join(options.out, 'records', `${run.arm.id}-seed${run.seed}.json`), 'utf8')) as ArmRecord;
      records.push(record);
      assert.equal(record.steps, 4);
      assert.deepEqual(record.curve.map((p) => p.step), [0, 2, 4], `${run.arm.id}: validation at 0, 2 and 4`);
      // Same tokens for every arm; the learning rate follows the sparse rule.
      assert.equal(record.lr, sparseLearningRate(1e-3, run.arm.sparsity));
      const log = await readMetricsLog(join(run.options.out, 'metrics.jsonl'));
      assert.equal(log.filter((r) => r['kind'] === 'train').length, 4);
    }
    // A seed fixes the data order: every arm of a seed saw the same tokens.
    for (const seed of [0, 1]) {
      const runs = result.runs.filter((r) => r.seed === seed);
      const tokens = new Set(await Promise.all(runs.map(async (run) => (await readMetricsLog(join(run.options.out, 'metrics.jsonl'))).at(-1)!['tokens'])));
      assert.equal(tokens.size, 1, `seed ${seed}: every arm saw the same tokens`);
    }
    // Sparse FLOPs: a quarter of the dense micro-s encoder's weight products (the attention scores stay dense).
    const flopsOf = (id: string): number => records.find((r) => r.arm.id === id)!.nonEmbeddingFlops;
    assert.ok(flopsOf('static-micro-s-s0.75-b16') < flopsOf('dense-micro-s') / 2);
    assert.equal(flopsOf('static-micro-s-s0.75-b16'), flopsOf('dynamic-micro-s-s0.75-b16-n2-pr0.5'));

    // Regrowth arms trace one weight's mask: the initial pattern at update 0, more explored after, and RigL's grows too.
    for (const id of ['dynamic-micro-s-s0.75-b16-n2-pr0.5', 'rigl-micro-s-s0.75-b16-n2-pr0.5']) {
      const record = records.find((r) => r.arm.id === id && r.seed === 0)!;
      const mask = record.mask!;
      assert.equal(mask.firstExplored.length, mask.blockRows * mask.blockCols);
      const initial = accumulatedMask(mask, 0).reduce((a, b) => a + b, 0);
      assert.equal(initial, Math.round(0.25 * mask.blockRows * mask.blockCols));
      assert.ok(accumulatedMask(mask, 1).reduce((a, b) => a + b, 0) > initial, `${id}: the update explored new positions`);
      assert.ok(record.explored[0]!.explored === 0.25 && record.explored.at(-1)!.explored > 0.25);
    }
    assert.equal(records.find((r) => r.arm.mode === 'static')!.mask, null, 'only the regrowth part traces masks');

    const summary = JSON.parse(await readFile(result.summaryPath, 'utf8')) as { arms: ArmSummary[] };
    assert.equal(summary.arms.length, 6);
    const base = summary.arms.find((s) => s.arm.id === 'dynamic-micro-s-s0.75-b16-n2-pr0.5')!;
    assert.equal(base.loss.n, 2);
    assert.equal(base.versusStatic?.arm, 'static-micro-s-s0.75-b16');
    // Its FLOPs lie between the two dense sizes: the dense family is interpolated there for both seeds.
    assert.equal(base.dense?.interpolated?.n, 2);
    const diff = base.dense!.difference!;
    assert.ok(Math.abs(diff.mean - (base.loss.mean - base.dense!.interpolated!.mean)) < 1e-12);
    const html = await readFile(result.reportPath, 'utf8');
    for (const part of ['1. DynSparse', '3. Block size', '5. Random against RigL']) assert.ok(html.includes(part), part);
    assert.ok(html.includes('class="mask"'));

    // Rerunning finds every run finished: nothing retrained; a lost record is rewritten from the run's log.
    const firstLog = join(result.runs[0]!.options.out, 'metrics.jsonl');
    const before = (await stat(firstLog)).mtimeMs;
    const lost = join(options.out, 'records', 'dense-micro-xs-seed1.json');
    const kept = await readFile(lost, 'utf8');
    await unlink(lost);
    const again = await runDynsparseExperiment(options);
    assert.ok(again.runs.every((r) => r.options.resume));
    assert.equal((await stat(firstLog)).mtimeMs, before);
    assert.equal(await readFile(lost, 'utf8'), kept);

    // An already aborted signal starts nothing.
    const none = await runDynsparseExperiment({ ...options, out: join(dir, 'other') }, AbortSignal.abort());
    assert.equal(none.interrupted, true);
    assert.ok(!existsSync(join(dir, 'other', 'runs')));
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
