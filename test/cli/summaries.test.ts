// `train-lm` and `experiment pareto` end with a summary for people; `--json` keeps the one JSON line.

import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

import { formatExperimentSummary } from '../../src/cli/commands/experiment.js';
import { formatTrainLmSummary } from '../../src/cli/commands/train-lm.js';

const repo = resolve(dirname(fileURLToPath(import.meta.url)), '../../..');
const CLI = join(repo, 'bin', 'thrifty.js');

test('the train-lm summary names each number and how to run the model', () => {
  const text = formatTrainLmSummary(
    { steps: 30, trainTokens: 3840, validationLoss: 1.23456, validationBitsPerChar: 0.5, parameters: 1234567, seconds: 12.34 },
    'runs/x',
    'wasm simd, 2 threads',
  );
  assert.equal(text, [
    'train-lm: finished 30 steps',
    '  held-out loss       1.2346',
    '  held-out bits/char  0.5000',
    '  parameters          1,234,567',
    '  tokens trained      3,840',
    '  time                12.3 s',
    '  engine              wasm simd, 2 threads',
    '  model folder        runs/x',
    'run it: npx thrifty generate --model runs/x --prompt "..."',
    '',
  ].join('\n'));
});

test('the experiment summary says whether it finished, how many runs, and where the report is', () => {
  const result = { reportPath: 'runs/p/report.html', summaryPath: 'runs/p/summary.json', runs: [1, 2, 3], interrupted: false };
  assert.equal(formatExperimentSummary(result), 'experiment pareto: done, 3 runs\n  report   runs/p/report.html\n  summary  runs/p/summary.json\n');
  assert.match(formatExperimentSummary({ ...result, runs: [1], interrupted: true }), /^experiment pareto: interrupted, 1 run\n/);
});

test('train-lm prints the summary, and one JSON line under --json', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'thrifty-summary-'));
  try {
    await writeFile(join(dir, 'text.txt'), Array.from({ length: 200 }, (_, i) => `The cat sat on the mat number ${i % 7}.\n`).join(''));
    const args = (out: string): string[] => [
      CLI, 'train-lm', '--data', join(dir, 'text.txt'), '--out', out, '--vocab-size', '300', '--hidden', '32', '--layers', '1', '--heads', '2',
      '--intermediate', '48', '--context', '32', '--steps', '2', '--warmup', '1', '--checkpoint-every', '0', '--eval-windows', '2', '--threads', '1', '--dtype', 'f32',
    ];
    const text = await promisify(execFile)(process.execPath, args(join(dir, 'a')), { cwd: repo });
    assert.match(text.stdout, /^train-lm: finished 2 steps\n {2}held-out loss {7}\d+\.\d{4}\n/);
    assert.ok(!text.stdout.includes('{'), text.stdout);
    const json = await promisify(execFile)(process.execPath, [...args(join(dir, 'b')), '--json'], { cwd: repo });
    const lines = json.stdout.trim().split('\n');
    assert.equal(lines.length, 1);
    const parsed = JSON.parse(lines[0]!) as { steps: number; out: string };
    assert.equal(parsed.steps, 2);
    assert.equal(parsed.out, join(dir, 'b'));
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
