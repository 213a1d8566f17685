// The fuzzing harness: seeded mutations of one valid input per format, each loaded through the
// public API in a child process (a heap limit, a per-input time limit), outcomes counted in the
// table of issue 12, failing inputs minimized (operations dropped while the outcome holds) and saved.
// Children load many inputs each (batches), so a run of thousands costs seconds, not minutes;
// a child that hangs or dies takes only its current input with it, and a fresh one continues.

import { spawn } from 'node:child_process';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

import { FUZZ_OUTCOMES, OUTCOME_TITLES, type FuzzOutcome } from './load.js';
import { applyMutations, mutationsFor, type MutationOp } from './mutate.js';
import { fuzzSeed, type FuzzFormat, type FuzzSeed } from './seeds.js';

export interface FuzzOptions {
  readonly format: FuzzFormat;
  readonly count: number;
  readonly seed: number;
  /** Per input (default 5000 ms). */
  readonly timeoutMs?: number;
  /** The child's --max-old-space-size (default 512). */
  readonly heapMb?: number;
  /** Inputs per child (default 250). */
  readonly batchSize?: number;
  /** Children at once (default 1). */
  readonly jobs?: number;
  /** Where minimized failing inputs go (none saved when absent). */
  readonly saveDir?: string;
  /** Failing inputs minimized and saved at most (default 20). */
  readonly maxSaved?: number;
}

export interface FuzzFailure {
  readonly index: number;
  readonly outcome: FuzzOutcome;
  readonly message: string;
  readonly ops: readonly MutationOp[];
  /** Where the minimized input was saved. */
  readonly savedTo?: string;
}

export interface FuzzReport {
  readonly format: FuzzFormat;
  readonly count: number;
  readonly seed: number;
  readonly counts: Readonly<Record<FuzzOutcome, number>>;
  /** Every input whose outcome is not 'clean' or 'harmless'. */
  readonly failures: readonly FuzzFailure[];
  readonly seconds: number;
  /** Children that exited cleanly without reporting an input, retried (see evaluate). */
  readonly quietExitRetries: number;
}

/** Outcomes that fail a run. */
export const BAD_OUTCOMES: readonly FuzzOutcome[] = ['generic', 'hang', 'crash', 'wrong'];

const CHILD = fileURLToPath(new URL('./child.js', import.meta.url));
/** Time a child has to import the library before its first input's clock starts. */
const STARTUP_MS = 30_000;

interface ItemResult {
  readonly index: number;
  readonly outcome: FuzzOutcome;
  readonly message: string;
}

/** Runs one child over `items` (already written to their folders); resolves with the results it gave, in order. */
function runChild(seed: FuzzSeed, jobFile: string, timeoutMs: number, heapMb: number): Promise<{ results: ItemResult[]; failure: { outcome: 'hang' | 'crash'; message: string } | null }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [`--max-old-space-size=${heapMb}`, '--stack-size=984', CHILD, jobFile], { stdio: ['ignore', 'pipe', 'pipe'] });
    const results: ItemResult[] = [];
    let buffered = '';
    let stderr = '';
    let failure: { outcome: 'hang' | 'crash'; message: string } | null = null;
    let timer: NodeJS.Timeout = setTimeout(() => onTimeout(), STARTUP_MS);
    const onTimeout = (): void => {
      failure = { outcome: 'hang', message: `no result within ${timeoutMs} ms` };
      child.kill('SIGKILL');
    };
    child.stdout.setEncoding('utf8');
    child.stdout.on('data', (chunk: string) => {
      buffered += chunk;
      let nl: number;
      while ((nl = buffered.indexOf('\n')) >= 0) {
        const line = buffered.slice(0, nl);
        buffered = buffered.slice(nl + 1);
        const parsed = JSON.parse(line) as Partial<ItemResult> & { ready?: boolean };
        if (parsed.index !== undefined) results.push(parsed as ItemResult);
        clearTimeout(timer);
        timer = setTimeout(onTimeout, timeoutMs);
      }
    });
    child.stderr.setEncoding('utf8');
    child.stderr.on('data', (chunk: string) => {
      stderr = (stderr + chunk).slice(-4000);
    });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      if (!failure && (code !== 0 || signal !== null)) {
        const fatal = stderr.split('\n').find((l) => /FATAL|out of memory|Error/i.test(l)) ?? stderr.trim().split('\n').pop() ?? '';
        failure = { outcome: 'crash', message: `child exited (${signal ?? `code ${code}`}): ${fatal.slice(0, 200)}` };
      }
      resolve({ results, failure });
    });
    void seed;
  });
}

async function writeInput(seed: FuzzSeed, dir: string, bytes: Uint8Array, companionsWritten: Set<string>): Promise<void> {
  await mkdir(dir, { recursive: true });
  if (!companionsWritten.has(dir)) {
    for (const [name, data] of Object.entries(seed.companions)) await writeFile(join(dir, name), data);
    companionsWritten.add(dir);
  }
  await writeFile(join(dir, seed.fileName), bytes);
}

/** Loads inputs `indices` (with their ops) in children, restarting after a hang or crash; one result per index. */
async function evaluate(
  seed: FuzzSeed,
  inputs: ReadonlyArray<{ index: number; ops: readonly MutationOp[] }>,
  work: string,
  options: { timeoutMs: number; heapMb: number },
  companionsWritten: Set<string>,
  stats: { quietExitRetries: number } = { quietExitRetries: 0 },
): Promise<ItemResult[]> {
  const out: ItemResult[] = [];
  const items = await Promise.all(
    inputs.map(async (input, slot) => {
      const dir = join(work, `slot-${slot}`);
      await writeInput(seed, dir, applyMutations(seed, input.ops), companionsWritten);
      return { index: input.index, dir };
    }),
  );
  let rest = items;
  let quietExits = 0;
  while (rest.length > 0) {
    const jobFile = join(work, 'job.json');
    await writeFile(jobFile, JSON.stringify({ format: seed.format, fileName: seed.fileName, items: rest }));
    const { results, failure } = await runChild(seed, jobFile, options.timeoutMs, options.heapMb);
    out.push(...results);
    rest = rest.slice(results.length);
    if (rest.length === 0) break;
    // A child that exits cleanly without reporting an input is retried once from that input before
    // the input is blamed (seen rarely under heavy machine load; a loader at fault does it again).
    if (results.length > 0) quietExits = 0;
    if (failure === null && quietExits++ === 0) {
      stats.quietExitRetries++;
      continue;
    }
    quietExits = 0;
    // The child stopped at rest[0]: that input hung or crashed it (or exited early twice).
    const f = failure ?? { outcome: 'crash' as const, message: 'child exited twice before reporting this input' };
    out.push({ index: rest[0]!.index, outcome: f.outcome, message: f.message });
    rest = rest.slice(1);
  }
  return out;
}

function emptyCounts(): Record<FuzzOutcome, number> {
  return { clean: 0, harmless: 0, generic: 0, hang: 0, crash: 0, wrong: 0 };
}

/** Runs `count` mutated inputs of `format`; the report counts every outcome and lists the failures. */
export async function runFuzz(options: FuzzOptions): Promise<FuzzReport> {
  const started = performance.now();
  const seed = fuzzSeed(options.format);
  const timeoutMs = options.timeoutMs ?? 5000;
  const heapMb = options.heapMb ?? 512;
  const batchSize = options.batchSize ?? 250;
  const jobs = Math.max(1, options.jobs ?? 1);
  const root = await mkdtemp(join(tmpdir(), `thrifty-fuzz-${options.format}-`));
  const counts = emptyCounts();
  const stats = { quietExitRetries: 0 };
  const failures: FuzzFailure[] = [];
  const opsOf = (index: number): MutationOp[] => mutationsFor(seed, options.seed, index);
  try {
    // The unmutated seed must load: otherwise every count below measures a broken seed, not the loader.
    const [seedResult] = await evaluate(seed, [{ index: -1, ops: [] }], join(root, 'seed'), { timeoutMs, heapMb }, new Set());
    if (seedResult?.outcome !== 'harmless') throw new Error(`fuzz: the ${options.format} seed itself does not load (${seedResult?.outcome}: ${seedResult?.message})`);
    let next = 0;
    const worker = async (w: number): Promise<void> => {
      const work = join(root, `job-${w}`);
      const written = new Set<string>();
      for (;;) {
        const start = next;
        if (start >= options.count) return;
        next = Math.min(options.count, start + batchSize);
        const inputs = Array.from({ length: next - start }, (_, k) => ({ index: start + k, ops: opsOf(start + k) }));
        for (const r of await evaluate(seed, inputs, work, { timeoutMs, heapMb }, written, stats)) {
          counts[r.outcome]++;
          if (BAD_OUTCOMES.includes(r.outcome)) failures.push({ index: r.index, outcome: r.outcome, message: r.message, ops: opsOf(r.index) });
        }
      }
    };
    // allSettled: a failing worker must not leave the others writing into a folder being removed.
    const settled = await Promise.allSettled(Array.from({ length: jobs }, (_, w) => worker(w)));
    for (const s of settled) if (s.status === 'rejected') throw s.reason;
    failures.sort((a, b) => a.index - b.index);
    const saved: FuzzFailure[] = [];
    const maxSaved = options.saveDir ? (options.maxSaved ?? 20) : 0;
    for (const f of failures) {
      if (saved.length >= maxSaved) {
        saved.push(f);
        continue;
      }
      saved.push(await minimizeAndSave(seed, f, join(root, 'minimize'), options.saveDir!, { timeoutMs, heapMb }));
    }
    return { format: options.format, count: options.count, seed: options.seed, counts, failures: saved, seconds: (performance.now() - started) / 1000, quietExitRetries: stats.quietExitRetries };
  } finally {
    await rm(root, { recursive: true, force: true, maxRetries: 3 });
  }
}

/** Drops operations one at a time while the outcome stays the same; saves the smallest input found. */
export async function minimizeAndSave(seed: FuzzSeed, failure: FuzzFailure, work: string, saveDir: string, options: { timeoutMs: number; heapMb: number }): Promise<FuzzFailure> {
  let ops = [...failure.ops];
  let message = failure.message;
  for (let i = ops.length - 1; i >= 0 && ops.length > 1; i--) {
    const fewer = ops.filter((_, k) => k !== i);
    const [r] = await evaluate(seed, [{ index: failure.index, ops: fewer }], work, options, new Set());
    if (r && r.outcome === failure.outcome) {
      ops = fewer;
      message = r.message;
    }
  }
  const dir = join(saveDir, seed.format, `${failure.index}-${failure.outcome}`);
  await mkdir(dir, { recursive: true });
  for (const [name, data] of Object.entries(seed.companions)) await writeFile(join(dir, name), data);
  await writeFile(join(dir, seed.fileName), applyMutations(seed, ops));
  await writeFile(join(dir, 'case.json'), `${JSON.stringify({ format: seed.format, index: failure.index, outcome: failure.outcome, message, ops }, null, 1)}\n`);
  return { ...failure, ops, message, savedTo: dir };
}

const FORMAT_TITLES: Readonly<Record<FuzzFormat, string>> = {
  gguf: 'GGUF',
  safetensors: 'safetensors',
  llama2c: 'llama2.c `.bin`',
  'llama2c-tokenizer': 'llama2.c tokenizer `.bin`',
  'tokenizer-json': '`tokenizer.json`',
  'vocab-txt': '`vocab.txt`',
  'config-json': 'HF `config.json`',
  checkpoint: 'checkpoint (`.safetensors` with optimizer + RNG state)',
};

/** The outcome table of issue 12 (markdown). */
export function formatFuzzTable(reports: readonly FuzzReport[]): string {
  const header = `| format | inputs | ${FUZZ_OUTCOMES.map((o) => OUTCOME_TITLES[o]).join(' | ')} |`;
  const rule = `|---|---:|${FUZZ_OUTCOMES.map(() => '---:').join('|')}|`;
  const rows = reports.map((r) => `| ${FORMAT_TITLES[r.format]} | ${r.count} | ${FUZZ_OUTCOMES.map((o) => r.counts[o]).join(' | ')} |`);
  return [header, rule, ...rows].join('\n');
}
