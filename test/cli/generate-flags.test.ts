// Flags that cannot apply, or that ask for more than the model or the machine has, are a one-line
// error or a one-line warning, never silently ignored.

import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { test } from 'node:test';

import { checkGenerateAgainstModel, checkGenerateFlags, MAX_BATCH, runGenerate, type GenerateCommandOptions } from '../../src/cli/commands/generate.js';
import { repoRoot } from '../../src/node/data-dir.js';

const BASE: GenerateCommandOptions = {
  prompt: 'ROMEO:', maxTokens: 8, temperature: 0, topP: 0.9, sampleTopK: 0, seed: 0, attention: 'dense', batch: 1, stats: 'none', threads: 1,
};

test('settings that do not apply to the chosen attention are errors naming the flag', () => {
  const cases: Array<[Partial<GenerateCommandOptions>, RegExp]> = [
    [{ compression: 1 / 8 }, /^--compression applies to --attention sparq, h2o, lm-infinite, flexgen, oracle, not dense \(the default\)$/],
    [{ attention: 'h2o', rank: 4 }, /^--rank applies to --attention sparq, not h2o$/],
    [{ attention: 'h2o', recipe: 'even' }, /^--recipe applies to --attention sparq, not h2o$/],
    [{ attention: 'oracle', reallocation: false }, /^--no-reallocation applies to --attention sparq, not oracle$/],
    [{ attention: 'flexgen', kOnce: true }, /^--k-once applies to --attention sparq, not flexgen$/],
    [{ topK: 16 }, /^--top-k applies to --attention sparq/],
    [{ attention: 'lm-infinite', localWindow: 4 }, /^--local-window applies to --attention sparq, h2o, not lm-infinite$/],
    [{ attention: 'sparq', compression: 1 / 8, rank: 4, topK: 16 }, /^--compression picks --rank and --top-k/],
    [{ batch: MAX_BATCH + 1 }, new RegExp(`^--batch expects at most ${MAX_BATCH} sequences, got ${MAX_BATCH + 1}$`)],
  ];
  for (const [flags, message] of cases) assert.throws(() => checkGenerateFlags({ ...BASE, ...flags }), { message }, JSON.stringify(flags));
  for (const ok of [{}, { attention: 'sparq', compression: 1 / 4, recipe: 'even' as const }, { attention: 'h2o', topK: 8, localWindow: 2 }, { attention: 'sparq', rank: 4, topK: 16 }]) {
    assert.doesNotThrow(() => checkGenerateFlags({ ...BASE, ...ok }), JSON.stringify(ok));
  }
});

test('settings beyond the model are errors; beyond the context or the cores, warnings', () => {
  const model = { headDim: 32, contextLength: 512, promptTokens: 3 };
  assert.throws(() => checkGenerateAgainstModel({ ...BASE, attention: 'sparq', rank: 999 }, model, 2), { message: /^--rank 999 is more than the model's head size of 32$/ });
  assert.throws(() => checkGenerateAgainstModel({ ...BASE, attention: 'sparq', topK: 99999 }, model, 2), { message: /^--top-k 99999 is more than the model's context of 512 positions$/ });
  assert.deepEqual(checkGenerateAgainstModel({ ...BASE, maxTokens: 100000, threads: 64 }, model, 2), [
    "--max-tokens 100000 does not fit the model's context of 512 after a 3-token prompt: generating at most 509",
    '--threads 64 is more than the 2 cores of this machine: the extra threads only wait for a core',
  ]);
  assert.deepEqual(checkGenerateAgainstModel({ ...BASE, maxTokens: 509, threads: 2 }, model, 2), []);
});

test('generate prints the warning and generates to the end of the context', async () => {
  let err = '';
  let out = '';
  await runGenerate({ ...BASE, maxTokens: 100000, stats: 'text' }, { write: (t: string) => (out += t) }, { write: (t: string) => (err += t) });
  assert.match(err, /^warning: --max-tokens 100000 does not fit the model's context of 512 after a \d+-token prompt: generating at most \d+\n/);
  assert.ok(out.startsWith('ROMEO:'));
});

test('the command line: --threads above the limit and an inapplicable flag are one line each', () => {
  const cli = join(repoRoot(), 'bin', 'thrifty.js');
  const run = (args: string[]) => spawnSync(process.execPath, [cli, ...args], { encoding: 'utf8', timeout: 60_000 });
  const threads = run(['generate', '--threads', '512', '--max-tokens', '1']);
  assert.equal(threads.status, 1);
  assert.equal(threads.stderr, 'thrifty: error: --threads expects at most 64 threads, got 512\n');
  const rank = run(['generate', '--attention', 'h2o', '--rank', '4', '--max-tokens', '1']);
  assert.equal(rank.status, 1);
  assert.equal(rank.stderr, 'thrifty: error: --rank applies to --attention sparq, not h2o\n');
});
