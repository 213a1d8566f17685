import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { runParetoExperiment, stepsForTokens, type ParetoExperimentOptions } from '../../src/node/pareto-experiment.js';
import { readMetricsLog } from '../../src/node/metrics-log.js';
import { loadCheckpoint } from '../../src/node/checkpoint.js';
import { writeToyCorpus } from './toy-corpus.js';

test('experiment pareto at a tiny size: every arch x size x seed trains the same tokens, the report is written, a rerun resumes', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'thrifty-pareto-'));
  try {
    const corpus = await writeToyCorpus(dir);
    const options: ParetoExperimentOptions = {
      archs: ['bert', 'groupbert'],
      sizes: ['micro-xs'],
      seeds: 2,
      tokensPerRun: 4 * 32 * 3,
      evalPoints: 3,
      out: join(dir, 'exp'),
      jobs: 2,
      log: () => undefined,
      run: {
        corpus,
        vocabSize: 100,
        batchSize: 4,
        seqLength: 32,
        optimizer: 'adamw',
        lr: 2e-3,
        weightDecay: 0.01,
        clipNorm: 1,
        dropout: 0,
        nsp: true,
        wholeWordMask: false,
        evalSequences: 8,
        validationFraction: 0.25,
        threads: 'reference',
        warmupFraction: 0.1,
      },
    };
    assert.equal(stepsForTokens(options.tokensPerRun, 4, 32), 3);
    const result = await runParetoExperiment(options);
    assert.equal(result.runs.length, 4);
    for (const run of result.runs) {
      const log = await readMetricsLog(join(run.options.out, 'metrics.jsonl'));
      const validation = log.filter((r) => r['kind'] === 'validation');
      assert.deepEqual(validation.map((r) => r.step), [0, 1, 2, 3], `${run.options.out}: validation at 0 and every step`);
      assert.equal(log.filter((r) => r['kind'] === 'train').length, 3);
    }
    const summary = JSON.parse(await readFile(result.summaryPath, 'utf8')) as { runs: unknown[]; flopRatios: Array<{ size: string }> };
    assert.equal(summary.runs.length, 4);
    assert.deepEqual(summary.flopRatios.map((r) => r.size), ['micro-xs']);
    const html = await readFile(result.reportPath, 'utf8');
    assert.ok(html.includes('<svg '));
    // Rerunning finds every run finished: nothing is retrained (the logs are untouched).
    const before = (await stat(join(result.runs[0]!.options.out, 'metrics.jsonl'))).mtimeMs;
    const again = await runParetoExperiment({ ...options, jobs: 1 });
    assert.equal(again.runs.every((r) => r.options.resume), true);
    assert.equal((await stat(join(result.runs[0]!.options.out, 'metrics.jsonl'))).mtimeMs, before);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('experiment pareto stops on the signal: runs in child processes stop after their step with checkpoints, none is started after', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'thrifty-pareto-'));
  try {
    const corpus = await writeToyCorpus(dir);
    const steps = 400;
    const options: ParetoExperimentOptions = {
      archs: ['bert'],
      sizes: ['micro-xs'],
      seeds: 3,
      tokensPerRun: 4 * 32 * steps,
      evalPoints: 2,
      out: join(dir, 'exp'),
      jobs: 2,
      log: () => undefined,
      run: {
        corpus, vocabSize: 100, batchSize: 4, seqLength: 32, optimizer: 'adamw', lr: 2e-3, weightDecay: 0.01, clipNorm: 1, dropout: 0,
        nsp: true, wholeWordMask: false, evalSequences: 8, validationFraction: 0.25, threads: 'reference', warmupFraction: 0.1,
      },
    };
    const first = join(options.out, 'bert-micro-xs-seed0', 'metrics.jsonl');
    const controller = new AbortController();
    const watch = (async () => {
      for (;;) {
        if (existsSync(first) && (await readMetricsLog(first)).some((r) => r['kind'] === 'train')) return controller.abort();
        await new Promise((done) => setTimeout(done, 10));
      }
    })();
    const result = await runParetoExperiment(options, controller.signal);
    await watch;
    assert.equal(result.interrupted, true);
    // Seeds 0 and 1 ran in two children and stopped early with a checkpoint; seed 2 never started.
    // (seed 1's child may still have been preparing its data: then it stops at step 0, saved too).
    for (const seed of [0, 1]) {
      const checkpoint = await loadCheckpoint(join(options.out, `bert-micro-xs-seed${seed}`, 'checkpoint.safetensors'));
      assert.ok(checkpoint.state.step >= 1 - seed && checkpoint.state.step < steps, `seed ${seed} stopped at ${checkpoint.state.step}`);
    }
    assert.ok(!existsSync(join(options.out, 'bert-micro-xs-seed2')));
    // An already aborted signal starts nothing.
    const none = await runParetoExperiment({ ...options, out: join(dir, 'other') }, AbortSignal.abort());
    assert.equal(none.interrupted, true);
    assert.ok(!existsSync(join(dir, 'other', 'bert-micro-xs-seed0')));
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
