// kill -9 at seeded random moments of `pretrain` (some of them during checkpoint saves, which happen
// every two steps here), each followed by `--resume`: the run ends with the loss curve and the weights
// of an uninterrupted run, bit for bit, and leaves no temporary file behind.

import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';

import { loadCheckpoint } from '../../src/node/checkpoint.js';
import { repoRoot } from '../../src/node/data-dir.js';
import { readMetricsLog, type MetricsRecord } from '../../src/node/metrics-log.js';
import { Rng } from '../../src/tensor/rng.js';

const CLI = join(repoRoot(), 'bin', 'thrifty.js');

interface Exit {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
  readonly stderr: string;
}

/** The last training step in a metrics log (0 when there is none yet). */
async function lastStep(path: string): Promise<number> {
  if (!existsSync(path)) return 0;
  const steps = (await readMetricsLog(path).catch(() => [])).filter((r) => typeof r['loss'] === 'number').map((r) => r.step);
  return steps.at(-1) ?? 0;
}

/**
 * Runs the CLI. With `kill`, sends SIGKILL once the metrics log shows step `kill.step`, after a
 * further `kill.delayMs` (so that some kills land inside a checkpoint save).
 */
function thrifty(args: readonly string[], kill?: { metrics: string; step: number; delayMs: number }): Promise<Exit> {
  const child = spawn(process.execPath, [CLI, ...args], { cwd: repoRoot(), stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  let running = true;
  const exited = new Promise<Exit>((done) =>
    child.on('close', (code, signal) => {
      running = false;
      done({ code, signal, stderr });
    }),
  );
  if (kill) {
    void (async () => {
      while (running && (await lastStep(kill.metrics)) < kill.step) await new Promise((r) => setTimeout(r, 3));
      await new Promise((r) => setTimeout(r, kill.delayMs));
      if (running) child.kill('SIGKILL');
    })();
  }
  return exited;
}

/** The log without its timings: what a resumed run must repeat exactly. */
const curve = (records: readonly MetricsRecord[]): string[] =>
  records.map((r) => JSON.stringify(Object.fromEntries(Object.entries(r).filter(([k]) => k !== 'time' && k !== 'trainSeconds' && k !== 'tokensPerSecond'))));

async function writeCorpus(dir: string): Promise<string> {
  const corpus = join(dir, 'corpus');
  await mkdir(corpus);
  const rng = new Rng(11);
  const words = ['fox', 'dog', 'cat', 'red', 'brown', 'jumps', 'runs', 'over', 'past', 'lazy'];
  for (let d = 0; d < 16; d++) {
    const sentences = Array.from({ length: 12 }, () => `The ${Array.from({ length: 6 }, () => words[rng.int(words.length)]).join(' ')}.`);
    await writeFile(join(corpus, `doc${d}.txt`), sentences.join(' '));
  }
  return corpus;
}

const STEPS = 30;
const pretrainArgs = (corpus: string, out: string): string[] => [
  'pretrain', '--arch', 'bert', '--size', 'micro-xs', '--corpus', corpus, '--steps', String(STEPS), '--batch', '4', '--seq', '32',
  '--vocab-size', '120', '--eval-every', '10', '--eval-sequences', '8', '--checkpoint-every', '2', '--threads', '1', '--seed', '5',
  '--out', out, '--quiet', '--json',
];

test('pretrain killed with SIGKILL at random moments, resumed each time: the uninterrupted curve and weights, bit for bit', { timeout: 600_000 }, async () => {
  const dir = await mkdtemp(join(tmpdir(), 'thrifty-kill-'));
  try {
    const corpus = await writeCorpus(dir);
    const straight = await thrifty(pretrainArgs(corpus, join(dir, 'straight')));
    assert.equal(straight.code, 0, straight.stderr);

    const out = join(dir, 'killed');
    // What a run killed before its first checkpoint leaves: a log line and no checkpoint. --resume then
    // starts anew and must not keep the line.
    await mkdir(out);
    await writeFile(join(out, 'metrics.jsonl'), `${JSON.stringify({ step: 1, loss: 123 })}\n`);
    const rng = new Rng(2026);
    const metrics = join(out, 'metrics.jsonl');
    // Five kills at increasing random steps, each a random 0-40 ms after the step's log line: before,
    // during or after the save that follows every even step. Then one run to the end.
    const targets = Array.from({ length: 5 }, () => 2 + rng.int(STEPS - 4)).sort((a, b) => a - b);
    let kills = 0;
    for (const step of targets) {
      const run = await thrifty([...pretrainArgs(corpus, out), '--resume'], { metrics, step, delayMs: rng.int(41) });
      if (run.signal === 'SIGKILL') kills++;
      else assert.equal(run.code, 0, run.stderr);
    }
    assert.ok(kills >= 3, `only ${kills} of 5 runs were killed before they finished`);
    const last = await thrifty([...pretrainArgs(corpus, out), '--resume']);
    assert.equal(last.code, 0, last.stderr);

    assert.deepEqual(curve(await readMetricsLog(join(out, 'metrics.jsonl'))), curve(await readMetricsLog(join(dir, 'straight', 'metrics.jsonl'))));
    const [a, b] = await Promise.all([loadCheckpoint(join(out, 'checkpoint.safetensors')), loadCheckpoint(join(dir, 'straight', 'checkpoint.safetensors'))]);
    assert.equal(a.state.step, STEPS);
    for (const [name, t] of b.model) assert.deepEqual(a.model.get(name)!.data, t.data, name);
    const leftovers = (await readdir(out)).filter((f) => f.endsWith('.tmp'));
    assert.deepEqual(leftovers, [], 'temporary files of killed saves remain');
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
