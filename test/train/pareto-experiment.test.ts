import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { runParetoExperiment, stepsForTokens, type ParetoExperimentOptions } from '../../src/node/pareto-experiment.js';
import { readMetricsLog } from '../../src/node/metrics-log.js';

const WORDS = ['river', 'stone', 'light', 'window', 'garden', 'winter', 'letter', 'soldier', 'village', 'evening'];

function documentText(d: number): string {
  const sentences: string[] = [];
  for (let s = 0; s < 10; s++) {
    const w = (k: number): string => WORDS[(d * 7 + s * 3 + k) % WORDS.length]!;
    sentences.push(`The ${w(0)} by the ${w(1)} saw a ${w(2)} in the ${w(3)}.`);
  }
  return sentences.join(' ');
}

test('experiment pareto at a tiny size: every arch x size x seed trains the same tokens, the report is written, a rerun resumes', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'thrifty-pareto-'));
  try {
    const corpus = join(dir, 'corpus');
    await mkdir(corpus);
    for (let d = 0; d < 12; d++) await writeFile(join(corpus, `d${d}.txt`), documentText(d));
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
