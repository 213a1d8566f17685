// `experiment pareto` and `experiment dynsparse` share their wiring (src/cli/commands/experiment.ts):
// the same bounded flags with their own defaults, the same per-run options and the same way of
// reporting a finished or interrupted run.

import assert from 'node:assert/strict';
import { test } from 'node:test';

import { Command, InvalidArgumentError } from 'commander';

import { MAX_THREADS } from '../../src/cli/args.js';
import { addExperimentOptions, experimentRunnerOptions, runExperimentCommand, type ExperimentFlags } from '../../src/cli/commands/experiment.js';
import { buildProgram } from '../../src/cli/main.js';

function experiment(name: string): Command {
  const group = buildProgram().commands.find((c) => c.name() === 'experiment');
  const found = group?.commands.find((c) => c.name() === name);
  if (!found) throw new Error(`no experiment ${name}`);
  return found;
}

const SHARED = ['--seeds', '--tokens', '--eval-points', '--jobs', '--warmup-fraction', '--out', '--report-only', '--json'];

test('both experiments have the shared flags, each numeric one bounded and named in its error, with their own defaults', () => {
  const defaults = new Map<string, unknown[]>();
  for (const name of ['pareto', 'dynsparse']) {
    const cmd = experiment(name);
    for (const long of SHARED) {
      const option = cmd.options.find((o) => o.long === long);
      assert.ok(option, `${name} has no ${long}`);
      defaults.set(long, [...(defaults.get(long) ?? []), option.defaultValue]);
      if (!option.parseArg) continue;
      for (const bad of ['1e300', '-1', 'NaN', 'ten']) {
        assert.throws(() => option.parseArg!(bad, undefined), (err: unknown) => err instanceof InvalidArgumentError && err.message.startsWith(`${long} expects`), `${name} ${long} ${bad}`);
      }
      if (typeof option.defaultValue === 'number') assert.equal(option.parseArg(String(option.defaultValue), undefined), option.defaultValue);
    }
    const jobs = cmd.options.find((o) => o.long === '--jobs')!;
    assert.throws(() => jobs.parseArg!(String(MAX_THREADS + 1), undefined), { message: `--jobs expects an integer in [1, ${MAX_THREADS}], got ${MAX_THREADS + 1}` });
    assert.equal(cmd.options.find((o) => o.long === '--warmup-fraction')!.parseArg!('1', undefined), 1);
  }
  assert.deepEqual(defaults.get('--seeds'), [2, 1]);
  assert.deepEqual(defaults.get('--tokens'), [1_000_000, 8 * 128 * 100]);
  assert.deepEqual(defaults.get('--eval-points'), [10, 5]);
  assert.deepEqual(defaults.get('--out'), ['runs/pareto', 'runs/dynsparse']);
  assert.deepEqual(defaults.get('--jobs'), [1, 1]);
});

test('addExperimentOptions parses the shared flags of a command line', () => {
  const cmd = addExperimentOptions(new Command('x').exitOverride(), {
    seeds: 3, seedsHelp: 'seeds', tokens: 100, evalPoints: 2, out: 'runs/x', outHelp: 'folder', reportOnlyHelp: 'report only',
  });
  cmd.parse(['--seeds', '4', '--warmup-fraction', '0.25', '--json'], { from: 'user' });
  assert.deepEqual(cmd.opts(), { seeds: 4, tokens: 100, evalPoints: 2, jobs: 1, warmupFraction: 0.25, out: 'runs/x', reportOnly: false, json: true });
});

test('experimentRunnerOptions maps the shared flags to the runner options', () => {
  const flags = { seeds: 3, tokens: 500, evalPoints: 4, jobs: 2, warmupFraction: 0.2, out: 'runs/y', reportOnly: true, json: false } as unknown as ExperimentFlags;
  const run = { corpus: 'c.txt' };
  assert.deepEqual(experimentRunnerOptions(flags, run), { seeds: 3, tokensPerRun: 500, evalPoints: 4, out: 'runs/y', jobs: 2, run, reportOnly: true });
});

/** Runs `run` with an output that collects what it prints, and the exit code it sets (restored after). */
async function captured(run: (output: { out: { write(text: string): void }; err: { write(text: string): void } }) => Promise<void>): Promise<{ stdout: string; stderr: string; exitCode: typeof process.exitCode }> {
  const before = process.exitCode;
  let stdout = '';
  let stderr = '';
  try {
    await run({ out: { write: (text) => { stdout += text; } }, err: { write: (text) => { stderr += text; } } });
    return { stdout, stderr, exitCode: process.exitCode };
  } finally {
    process.exitCode = before;
  }
}

test('runExperimentCommand prints the summary or one JSON line, and on interruption what is kept, the resume command and exit code 130', async () => {
  const outcome = (interrupted: boolean) => ({ reportPath: 'runs/x/report.html', summaryPath: 'runs/x/summary.json', runs: [1, 2], arms: [1], interrupted });
  const words = { stopping: 'the runs', kept: 'finished runs are in' };
  let signalSeen = false;
  const done = await captured((output) => runExperimentCommand('demo', { out: 'runs/x', json: false }, words, async (signal) => {
    signalSeen = signal instanceof AbortSignal && !signal.aborted;
    return outcome(false);
  }, (r) => ({ runs: r.runs.length }), output));
  assert.ok(signalSeen);
  assert.equal(done.stdout, 'experiment demo: done, 2 runs\n  report   runs/x/report.html\n  summary  runs/x/summary.json\n');
  assert.equal(done.stderr, '');
  const json = await captured((output) => runExperimentCommand('demo', { out: 'runs/x', json: true }, words, async () => outcome(false), (r) => ({ report: r.reportPath, arms: r.arms.length }), output));
  assert.equal(json.stdout, '{"report":"runs/x/report.html","arms":1}\n');
  const stopped = await captured((output) => runExperimentCommand('demo', { out: 'runs/x', json: false }, words, async () => outcome(true), () => ({}), output));
  assert.match(stopped.stdout, /^experiment demo: interrupted, 2 runs\n/);
  assert.match(stopped.stderr, /finished runs are in runs\/x/);
  assert.equal(stopped.exitCode, 130);
});
