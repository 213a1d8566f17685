// `thrifty eval` through the CLI on the bundled model: a smoke grid over every task and method
// (2 samples), the table, the records, the report and the skip of finished cells on a re-run;
// Ctrl-C (spawned for real: exit 130, the command that continues, and resuming ends with the
// records an uninterrupted run writes); bad flags as one-line errors.

import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { test, type TestContext } from 'node:test';
import { fileURLToPath } from 'node:url';

import type { EvalSnapshot } from '../../src/eval/grid-summary.js';
import { EVAL_DATA_FILES } from '../../src/node/eval-data.js';
import { dataFileOrSkip, skipForMissingData } from '../helpers/data.js';

const repo = resolve(dirname(fileURLToPath(import.meta.url)), '../../..');
const CLI = join(repo, 'bin', 'thrifty.js');

interface Exit {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

function thrifty(args: readonly string[], whileRunning?: (child: ReturnType<typeof spawn>) => Promise<void>): Promise<Exit> {
  const child = spawn(process.execPath, [CLI, ...args], { cwd: repo, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const exited = new Promise<Exit>((done) => child.on('close', (code) => done({ code, stdout, stderr })));
  return (whileRunning ? whileRunning(child) : Promise.resolve()).then(() => exited);
}

function haveData(t: TestContext): boolean {
  if (!existsSync(join(repo, 'models', 'default', 'config.json'))) {
    skipForMissingData(t, 'no bundled model');
    return false;
  }
  for (const file of Object.values(EVAL_DATA_FILES)) if (!dataFileOrSkip(t, file)) return false;
  return true;
}

async function withDir<T>(fn: (dir: string) => Promise<T>): Promise<T> {
  const dir = await mkdtemp(join(tmpdir(), 'thrifty-eval-cli-'));
  try {
    return await fn(dir);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/** The records of a folder without their timings, sorted: what a resumed run must repeat exactly. */
function recordsOf(dir: string): string[] {
  const lines: string[] = [];
  for (const name of readdirSync(dir).filter((n) => n.endsWith('.jsonl')).sort()) {
    for (const line of readFileSync(join(dir, name), 'utf8').split('\n').filter((l) => l !== '')) {
      const { seconds: _seconds, ...rest } = JSON.parse(line) as Record<string, unknown>;
      lines.push(`${name} ${JSON.stringify(rest)}`);
    }
  }
  return lines.sort();
}

const ALL_TASKS = ['squad', 'triviaqa', 'cnndm', 'wikitext-bpc', 'repetition', 'needle'];
const ALL_METHODS = ['dense', 'sparq-even', 'h2o', 'lm-infinite', 'flexgen', 'oracle'];

test('eval smoke: every task and method on the bundled model, 2 samples: table, records, report; a re-run redoes nothing', async (t) => {
  if (!haveData(t)) return;
  await withDir(async (dir) => {
    const out = join(dir, 'grid');
    // 0.6: a target every policy reaches at these lengths (FlexGen moves at least half of dense).
    const args = ['eval', '--attention', 'dense,sparq,h2o,lm-infinite,flexgen,oracle', '--compression', '1,0.6', '--recipe', 'even', '--samples', '2', '--out', out];
    const run = await thrifty(args);
    assert.equal(run.code, 0, run.stderr);
    assert.match(run.stdout, /^eval: 36 cells \(0 skipped: target out of reach\), 72 samples, 0 already recorded/m);
    for (const task of ALL_TASKS) for (const method of ALL_METHODS) {
      const note = task === 'repetition' ? '  degenerate \\d/2, scored 0: \\S+ ± \\S+' : '';
      assert.match(run.stdout, new RegExp(`^${task} +${method} +(1|0\\.600) +\\d\\.\\d{3} +\\S+ ± \\S+ +2${note}$`, 'm'), `no row for ${task} ${method}:\n${run.stdout}`);
    }
    const snapshot = JSON.parse(await readFile(join(out, 'eval.json'), 'utf8')) as EvalSnapshot;
    assert.equal(snapshot.records.length, 72);
    assert.equal(snapshot.cells.length, 36);
    for (const r of snapshot.records) {
      assert.equal(r.transfers.steps, r.generatedTokens - 1, `${r.task} ${r.method}: the first token comes from the dense prefill`);
      if (r.method === 'dense') assert.equal(r.achievedRatio, 1);
      // Planned at the task's mean lengths: a long prompt measures near the target; TriviaQA's short closed-book prompts move more.
      else assert.ok(r.achievedRatio !== null && r.achievedRatio <= (r.task === 'triviaqa' ? 0.9 : 0.62), `${r.task} ${r.method}: measured ${r.achievedRatio}`);
    }
    const html = await readFile(join(out, 'report.html'), 'utf8');
    for (const title of ['SQuAD 1-shot', 'TriviaQA closed-book', 'CNN/DailyMail', 'WikiText (bits per character)', 'Repetition', 'Needle in a haystack', 'Sequence-length scaling', 'Key-compression ablation']) {
      assert.ok(html.includes(title), `report lacks '${title}'`);
    }
    assert.equal((html.match(/<svg /g) ?? []).length, 6);
    assert.ok(html.includes('Ribar et al., Table 2'));
    const before = recordsOf(out);
    const again = await thrifty(args);
    assert.equal(again.code, 0, again.stderr);
    assert.match(again.stdout, /72 samples, 72 already recorded/);
    assert.deepEqual(recordsOf(out), before);
    const redraw = await thrifty(['eval', '--report-only', '--out', out]);
    assert.equal(redraw.code, 0, redraw.stderr);
    assert.match(redraw.stdout, /72 records of 36 planned cells/);
  });
});

test('eval --study ablation: dense, SparQ, oracle and random-projection (on the reference kernels, said so) in one command; the report tabulates them with measured ratios', async (t) => {
  if (!haveData(t)) return;
  await withDir(async (dir) => {
    const out = join(dir, 'ablation');
    const run = await thrifty(['eval', '--study', 'ablation', '--task', 'repetition', '--compression', '1,0.6', '--recipe', 'even', '--samples', '2', '--out', out]);
    assert.equal(run.code, 0, run.stderr);
    assert.match(run.stdout, /^eval --study ablation: --task repetition --attention dense,sparq,oracle,random-projection --compression 1,0\.6 --recipe even --samples 2 --out /m);
    assert.match(run.stdout, /^eval: 4 cells/m);
    assert.match(run.stdout, /^repetition random-projection-even: the wasm attention kernels have no random-projection kernel; decode attention runs on the reference kernels$/m);
    for (const method of ['dense', 'sparq-even', 'oracle', 'random-projection-even']) {
      assert.match(run.stdout, new RegExp(`^repetition +${method} +(1|0\\.600) +\\d\\.\\d{3} +\\S+ ± \\S+ +2  degenerate \\d/2, scored 0: \\S+ ± \\S+$`, 'm'), run.stdout);
    }
    const snapshot = JSON.parse(await readFile(join(out, 'eval.json'), 'utf8')) as EvalSnapshot;
    for (const r of snapshot.records) assert.equal(typeof r.degenerate, 'boolean', 'every repetition record carries the flag');
    const html = await readFile(join(out, 'report.html'), 'utf8');
    const ablation = html.slice(html.indexOf('Key-compression ablation'));
    assert.ok(!ablation.includes('Not run'), 'the ablation section is filled');
    assert.match(ablation, /<td>random-projection-even<\/td><td>0\.600<\/td><td>0\.\d{3}<\/td>/);
  });
});

test('eval --study length: SQuAD at 3, 7, 15 and 31 confusion contexts in one command; the report tabulates score @ measured ratio per count', async (t) => {
  if (!haveData(t)) return;
  await withDir(async (dir) => {
    const out = join(dir, 'length');
    const run = await thrifty(['eval', '--study', 'length', '--attention', 'dense,h2o', '--samples', '2', '--out', out]);
    assert.equal(run.code, 0, run.stderr);
    assert.match(run.stdout, /^eval --study length: --task squad --confusion 3,7,15,31 --attention dense,h2o --compression 1,1\/8 /m);
    assert.match(run.stdout, /^eval: 8 cells \(0 skipped: target out of reach\), 16 samples/m);
    for (const variant of ['.confusion-3', '', '.confusion-15', '.confusion-31']) {
      assert.match(run.stdout, new RegExp(`^squad${variant.replace('.', '\\.')} +dense +1 +1\\.000 +\\S+ ± \\S+ +2$`, 'm'), run.stdout);
      assert.match(run.stdout, new RegExp(`^squad${variant.replace('.', '\\.')} +h2o +1/8 +0\\.1\\d\\d +\\S+ ± \\S+ +2$`, 'm'), run.stdout);
    }
    const html = await readFile(join(out, 'report.html'), 'utf8');
    const length = html.slice(html.indexOf('Sequence-length scaling'), html.indexOf('Key-compression ablation'));
    assert.ok(length.includes('<th>3 contexts</th><th>7 contexts</th><th>15 contexts</th><th>31 contexts</th>'), length);
    assert.match(length, /<tr><td>h2o<\/td><td>1\/8<\/td>(<td>\d+\.\d ± \d+\.\d @ 0\.1\d\d<\/td>){4}<td>63\.0<\/td><\/tr>/);
    // The bundled model's 512-token context truncates every prompt to 256 tokens: the study says so through its prompt row.
    assert.ok(length.includes('<tr><td>prompt (mean)</td><td></td><td>256 tokens</td><td>256 tokens</td><td>256 tokens</td><td>256 tokens</td><td></td></tr>'), length);
  });
});

test('eval: Ctrl-C stops after the sample in progress, keeps the finished ones, prints the command that continues, exits 130; resuming ends with the records of an uninterrupted run', async (t) => {
  if (!haveData(t)) return;
  await withDir(async (dir) => {
    const grid = (out: string): string[] => ['eval', '--task', 'repetition,wikitext-bpc', '--attention', 'dense,h2o', '--compression', '1/4', '--samples', '2', '--out', out];
    const straight = await thrifty(grid(join(dir, 'straight')));
    assert.equal(straight.code, 0, straight.stderr);

    const out = join(dir, 'stopped');
    const stopped = await thrifty(grid(out), async (child) => {
      const until = Date.now() + 120_000;
      while (Date.now() < until && !(existsSync(out) && readdirSync(out).some((n) => n.endsWith('.jsonl')))) await new Promise((done) => setTimeout(done, 5));
      child.kill('SIGINT');
    });
    assert.equal(stopped.code, 130, stopped.stderr);
    assert.match(stopped.stderr, /interrupted: stopping after the sample in progress/);
    const kept = recordsOf(out).length;
    assert.ok(kept >= 1 && kept < 8, `kept ${kept} records`);
    const match = /to continue, run:\n {2}npx thrifty (.+)\n/.exec(stopped.stderr);
    assert.ok(match, stopped.stderr);
    assert.deepEqual(match[1]!.split(' '), grid(out));
    const resumed = await thrifty(match[1]!.split(' '));
    assert.equal(resumed.code, 0, resumed.stderr);
    assert.match(resumed.stdout, new RegExp(`8 samples, ${kept} already recorded`));
    const strip = (lines: string[]): string[] => lines.map((l) => l.replace(/^\S+ /, ''));
    assert.deepEqual(strip(recordsOf(out)), strip(recordsOf(join(dir, 'straight'))));
  });
});

test('eval: bad flags are one-line errors naming the flag', async () => {
  const cases: Array<[string[], RegExp]> = [
    [['eval', '--task', 'squad,quiz'], /^thrifty: error: --task: unknown 'quiz' \(expected one of squad, triviaqa, cnndm, wikitext-bpc, repetition, needle\)\n$/],
    [['eval', '--attention', 'sparse'], /^thrifty: error: --attention: unknown 'sparse'/],
    [['eval', '--compression', '1/8,2'], /^thrifty: error: --compression expects fractions in \(0, 1\] separated by commas, such as 1,1\/2,1\/8; got '2' in '1\/8,2'\n$/],
    [['eval', '--samples', '0'], /^thrifty: error: --samples expects a positive integer, got '0'\n$/],
    [['eval', '--attention', 'h2o', '--compression', '1'], /^thrifty: error: eval: no cells: --attention without dense needs a --compression target below 1\n$/],
    [['eval', '--report-only', '--out', '/nonexistent/thrifty-eval'], /^thrifty: error: .*\n$/],
    [['eval', '--study', 'width'], /^thrifty: error: --study: unknown 'width' \(expected one of length, ablation\)\n$/],
    [['eval', '--confusion', '3,x'], /^thrifty: error: --confusion expects non-negative integers separated by commas, such as 3,7,15,31; got 'x' in '3,x'\n$/],
  ];
  for (const [args, expected] of cases) {
    const run = await thrifty(args);
    assert.equal(run.code, 1, args.join(' '));
    assert.match(run.stderr, expected, args.join(' '));
  }
});
