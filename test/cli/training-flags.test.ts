// Every numeric flag of the training commands has a range, checked when the flags are parsed: an
// absurd value (`pretrain --seq 1e9`) is one line naming the flag, at once, before any allocation.

import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';

import { InvalidArgumentError, type Command, type Option } from 'commander';

import { checkTokensPerStep, MAX_THREADS, parseIntInRange, parseNumberInRange, TRAINING_LIMITS } from '../../src/cli/args.js';
import { buildProgram } from '../../src/cli/main.js';
import { repoRoot } from '../../src/node/data-dir.js';

function command(path: readonly string[]): Command {
  let current: Command = buildProgram();
  for (const name of path) {
    const next = current.commands.find((c) => c.name() === name);
    if (!next) throw new Error(`no command ${path.join(' ')}`);
    current = next;
  }
  return current;
}

function option(cmd: Command, long: string): Option {
  const found = cmd.options.find((o) => o.long === long);
  if (!found) throw new Error(`${cmd.name()} has no ${long}`);
  return found;
}

/** The numeric flags each command must bound (a new numeric flag is caught by the sweep below too). */
const NUMERIC_FLAGS: ReadonlyArray<[readonly string[], readonly string[]]> = [
  [['pretrain'], ['--steps', '--seed', '--stop-after', '--batch', '--seq', '--lr', '--warmup', '--weight-decay', '--clip', '--vocab-size', '--dropout', '--eval-every', '--eval-sequences', '--validation-fraction', '--checkpoint-every', '--threads', '--conv-kernel', '--conv-group-size', '--ffn-groups', '--sparsity', '--block', '--updates', '--prune-ratio']],
  [['train-lm'], ['--vocab-size', '--hidden', '--layers', '--heads', '--intermediate', '--context', '--batch', '--steps', '--lr', '--warmup', '--weight-decay', '--clip', '--seed', '--eval-every', '--eval-windows', '--checkpoint-every', '--threads', '--short-context', '--short-steps', '--extend-steps', '--extend-short-steps', '--extend-short-context']],
  [['experiment', 'pareto'], ['--seeds', '--tokens', '--eval-points', '--jobs', '--warmup-fraction', '--batch', '--seq', '--lr', '--warmup', '--weight-decay', '--clip', '--vocab-size', '--dropout', '--eval-every', '--eval-sequences', '--validation-fraction', '--checkpoint-every', '--threads', '--conv-kernel', '--conv-group-size', '--ffn-groups', '--sparsity', '--block', '--updates', '--prune-ratio']],
];

/** Options with a parser whose value is not one number. */
const NON_NUMERIC_PARSED = new Set(['--mix', '--extend-mix', '--random-ids', '--extend-random-ids']);

function rejects(opt: Option, value: string): InvalidArgumentError {
  let caught: unknown;
  try {
    opt.parseArg!(value, undefined);
  } catch (err) {
    caught = err;
  }
  assert.ok(caught instanceof InvalidArgumentError, `${opt.long} accepted '${value}'`);
  assert.ok(caught.message.startsWith(`${opt.long} expects`), `${opt.long} '${value}': ${caught.message}`);
  assert.ok(!caught.message.includes('\n'), caught.message);
  return caught;
}

test('every numeric flag of pretrain, train-lm and experiment pareto refuses huge, negative and non-numbers, naming itself', () => {
  for (const [path, flags] of NUMERIC_FLAGS) {
    const cmd = command(path);
    for (const flag of flags) assert.ok(option(cmd, flag).parseArg, `${path.join(' ')} ${flag} has no parser`);
    // Every option that parses its value is numeric in these commands (but train-lm's --mix, a list of
    // fractions with its own test): each is bounded on both sides.
    const parsed = cmd.options.filter((o) => o.parseArg !== undefined && !NON_NUMERIC_PARSED.has(o.long ?? ''));
    assert.deepEqual(parsed.map((o) => o.long).sort(), [...flags].sort(), `${path.join(' ')}: the numeric flags changed; add the new one here`);
    for (const opt of parsed) {
      for (const value of ['1e300', '-1e300', 'NaN', 'Infinity', 'ten', '']) rejects(opt, value);
      // The default passes its own check.
      if (typeof opt.defaultValue === 'number') assert.equal(opt.parseArg!(String(opt.defaultValue), undefined), opt.defaultValue, `${opt.long} default`);
    }
  }
});

test('the ranges: messages and boundaries of the size flags', () => {
  const pretrain = command(['pretrain']);
  const trainLm = command(['train-lm']);
  const cases: Array<[Command, string, string, string]> = [
    [pretrain, '--seq', '1e9', `--seq expects an integer in [5, ${TRAINING_LIMITS.sequence}], got 1e9`],
    [pretrain, '--seq', '4', `--seq expects an integer in [5, ${TRAINING_LIMITS.sequence}], got 4`],
    [pretrain, '--batch', '1000000', `--batch expects an integer in [1, ${TRAINING_LIMITS.batch}], got 1000000`],
    [pretrain, '--steps', '0', '--steps expects an integer in [1, 10,000,000], got 0'],
    [pretrain, '--steps', '2.5', "--steps expects an integer in [1, 10,000,000], got '2.5'"],
    [pretrain, '--lr', '1e308', '--lr expects a number in (0, 1], got 1e308'],
    [pretrain, '--lr', '0', '--lr expects a number in (0, 1], got 0'],
    [pretrain, '--vocab-size', '1e7', '--vocab-size expects an integer in [8, 131072], got 1e7'],
    [pretrain, '--seed', String(2 ** 32), `--seed expects an integer in [0, ${(2 ** 32 - 1).toLocaleString('en-US')}], got ${2 ** 32}`],
    [pretrain, '--sparsity', '1', "--sparsity expects a number in [0, 1), got '1'"],
    [pretrain, '--prune-ratio', '1.5', '--prune-ratio expects a number in [0, 1], got 1.5'],
    [pretrain, '--threads', '1000000', `--threads expects at most ${MAX_THREADS} threads, got 1000000`],
    [trainLm, '--hidden', '100000', '--hidden expects an integer in [1, 8192], got 100000'],
    [trainLm, '--heads', '0', '--heads expects an integer in [1, 256], got 0'],
    [trainLm, '--layers', '1000000000', '--layers expects an integer in [1, 256], got 1000000000'],
    [trainLm, '--intermediate', '1e6', '--intermediate expects an integer in [1, 32768], got 1e6'],
    [trainLm, '--context', '100000', `--context expects an integer in [2, ${TRAINING_LIMITS.sequence}], got 100000`],
    [trainLm, '--vocab-size', '256', '--vocab-size expects an integer in [257, 131072], got 256'],
    [trainLm, '--eval-every', '-1', '--eval-every expects an integer in [0, 10,000,000], got -1'],
  ];
  for (const [cmd, flag, value, message] of cases) assert.equal(rejects(option(cmd, flag), value).message, message);
  const accepts: Array<[Command, string, string, number]> = [
    [pretrain, '--seq', String(TRAINING_LIMITS.sequence), TRAINING_LIMITS.sequence],
    [pretrain, '--seq', '5', 5],
    [pretrain, '--lr', '1', 1],
    [pretrain, '--lr', '1e-8', 1e-8],
    [pretrain, '--sparsity', '0', 0],
    [trainLm, '--eval-every', '0', 0],
    [trainLm, '--vocab-size', '257', 257],
    [trainLm, '--hidden', '8192', 8192],
  ];
  for (const [cmd, flag, value, expected] of accepts) assert.equal(option(cmd, flag).parseArg!(value, undefined), expected, `${flag} ${value}`);
});

test('range parsers on their own', () => {
  const count = parseIntInRange('--n', 2, 10);
  assert.equal(count('2'), 2);
  assert.equal(count('10'), 10);
  assert.equal(count(' 7 '), 7);
  assert.throws(() => count('11'), { message: '--n expects an integer in [2, 10], got 11' });
  assert.throws(() => count('0x'), { message: "--n expects an integer in [2, 10], got '0x'" });
  const rate = parseNumberInRange('--x', 0, 1, { minExclusive: true });
  assert.equal(rate('0.5'), 0.5);
  assert.throws(() => rate('0'), { message: '--x expects a number in (0, 1], got 0' });
  assert.throws(() => rate('-0'), { message: '--x expects a number in (0, 1], got -0' });
  assert.equal(parseNumberInRange('--y', 0, 1)('0'), 0);
  assert.throws(() => checkTokensPerStep(4096, '--batch', 2048, '--seq'), { message: '--batch 4096 x --seq 2048 = 8,388,608 tokens per step, more than the 65,536 allowed' });
  assert.doesNotThrow(() => checkTokensPerStep(32, '--batch', 2048, '--seq'));
});

test('the command line refuses out-of-range flags at once, in one line, before reading the corpus', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'thrifty-training-flags-'));
  try {
    const corpus = join(dir, 'corpus.txt');
    await writeFile(corpus, 'A short corpus.\n\nIt would be enough to start allocating.\n');
    const cli = join(repoRoot(), 'bin', 'thrifty.js');
    const run = (args: string[]) => {
      const started = Date.now();
      const result = spawnSync(process.execPath, [cli, ...args], { encoding: 'utf8', timeout: 60_000, cwd: dir });
      return { ...result, seconds: (Date.now() - started) / 1000 };
    };
    const cases: Array<[string[], string]> = [
      [['pretrain', '--arch', 'bert', '--size', 'micro-xs', '--corpus', corpus, '--steps', '1', '--seq', '1e9'], `--seq expects an integer in [5, ${TRAINING_LIMITS.sequence}], got 1e9`],
      [['pretrain', '--arch', 'bert', '--size', 'micro-xs', '--corpus', corpus, '--steps', '1', '--lr', '1e308'], '--lr expects a number in (0, 1], got 1e308'],
      [['pretrain', '--arch', 'bert', '--size', 'micro-xs', '--corpus', corpus, '--steps', '1', '--batch', '4096', '--seq', '2048'], '--batch 4096 x --seq 2048 = 8,388,608 tokens per step, more than the 65,536 allowed'],
      [['train-lm', '--data', corpus, '--context', '100000'], `--context expects an integer in [2, ${TRAINING_LIMITS.sequence}], got 100000`],
      [['train-lm', '--data', corpus, '--batch', '1024', '--context', '1024'], '--batch 1024 x --context 1024 = 1,048,576 tokens per step, more than the 65,536 allowed'],
      [['experiment', 'pareto', '--sizes', 'micro-xs', '--corpus', corpus, '--jobs', '1000'], `--jobs expects an integer in [1, ${MAX_THREADS}], got 1000`],
    ];
    for (const [args, message] of cases) {
      const result = run(args);
      assert.equal(result.status, 1, args.join(' '));
      assert.equal(result.stderr, `thrifty: error: ${message}\n`, args.join(' '));
      assert.equal(result.stdout, '');
      assert.ok(result.seconds < 20, `${args.join(' ')} took ${result.seconds} s`);
    }
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
