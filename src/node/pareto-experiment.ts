// The Pareto experiment: pre-train every architecture x size x seed for the same number of tokens
// on one corpus and vocabulary, then report validation MLM loss against non-embedding FLOPs and
// wall-clock time (src/report/pareto-html.ts). Each run is an ordinary pre-training run folder
// (<out>/<arch>-<size>-seed<k>), so an interrupted experiment resumes where it stopped: finished
// runs are kept, unfinished ones continue from their checkpoints. Runs go in child processes when
// jobs > 1 (JavaScript kernels use one core per process).

import { fork } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';

import type { Architecture } from '../models/bert-presets.js';
import { renderParetoHtml } from '../report/pareto-html.js';
import { averageSeeds, reachRatios, type RunCurve } from '../report/pareto.js';
import { trainWordPiece } from '../text/wordpiece-trainer.js';
import { readCorpusFiles, saveWordPieceVocab } from './corpus-files.js';
import { writeFileAtomic } from './files.js';
import { readMetricsLog } from './metrics-log.js';
import type { PretrainChildStop } from './pretrain-child.js';
import { CHECKPOINT_FILE, METRICS_FILE, runPretraining, type PretrainRunOptions, type PretrainSummary } from './pretrain-runner.js';

export interface ParetoExperimentOptions {
  readonly archs: readonly Architecture[];
  readonly sizes: readonly string[];
  readonly seeds: number;
  /** Training tokens (batch * seq per step) of every run. */
  readonly tokensPerRun: number;
  /** Validations per run (spread evenly; the last at the end). */
  readonly evalPoints: number;
  readonly out: string;
  /** Parallel runs (child processes); 1 runs them one after another in this process. */
  readonly jobs: number;
  /** Everything a single run takes, except what the experiment sets per run (arch, size, seed, steps, out, ...). */
  readonly run: ExperimentRunSettings;
  /** One line per finished run (default: stderr). */
  readonly log?: (line: string) => void;
  /** Only (re)write the report from the runs' logs; train nothing. */
  readonly reportOnly?: boolean;
}

export interface PlannedRun {
  readonly arch: Architecture;
  readonly size: string;
  readonly seed: number;
  readonly options: PretrainRunOptions;
}

export interface ParetoExperimentResult {
  readonly reportPath: string;
  readonly summaryPath: string;
  readonly runs: readonly PlannedRun[];
  /** Stopped by the signal: unfinished runs keep their checkpoints, and rerunning continues them. */
  readonly interrupted: boolean;
}

/** What every run of an experiment shares: a run's options less what the experiment sets per run, and the warm-up share. */
export type ExperimentRunSettings = Omit<PretrainRunOptions, 'arch' | 'size' | 'seed' | 'steps' | 'out' | 'resume' | 'evalEvery' | 'checkpointEvery' | 'warmupSteps' | 'vocab'> & {
  readonly vocab?: string | undefined;
  /** Warm-up as a share of the steps. */
  readonly warmupFraction: number;
};

/**
 * One run of an experiment: the shared settings for `run.arch` at `run.size` and `run.seed` in folder
 * `run.out` (resumed when a checkpoint is there), trained for the experiment's token budget with
 * `evalPoints` validations (and checkpoints), the warm-up share of its steps, and the experiment's
 * token cache unless the settings name one.
 */
export function experimentRunOptions(
  experiment: { readonly out: string; readonly tokensPerRun: number; readonly evalPoints: number; readonly run: ExperimentRunSettings },
  run: { readonly arch: Architecture; readonly size: string; readonly seed: number; readonly out: string },
  vocab: string,
): PretrainRunOptions {
  const { warmupFraction, ...shared } = experiment.run;
  const steps = stepsForTokens(experiment.tokensPerRun, shared.batchSize, shared.seqLength);
  const evalEvery = Math.max(1, Math.ceil(steps / experiment.evalPoints));
  return {
    ...shared,
    ...run,
    steps,
    vocab,
    resume: existsSync(join(run.out, CHECKPOINT_FILE)),
    evalEvery,
    checkpointEvery: evalEvery,
    warmupSteps: Math.round(steps * warmupFraction),
    cacheDir: shared.cacheDir ?? join(experiment.out, 'cache'),
    quiet: true,
  };
}

/** Steps for a token budget: every run sees batch * seq * steps >= tokensPerRun tokens (padding included). */
export function stepsForTokens(tokens: number, batchSize: number, seqLength: number): number {
  return Math.max(1, Math.ceil(tokens / (batchSize * seqLength)));
}

/** The runs of the experiment, seed-major so that a first complete set of sizes finishes early. */
export function planRuns(options: ParetoExperimentOptions, vocab: string): PlannedRun[] {
  const planned: PlannedRun[] = [];
  for (let seed = 0; seed < options.seeds; seed++) {
    for (const size of options.sizes) {
      for (const arch of options.archs) {
        const out = join(options.out, `${arch}-${size}-seed${seed}`);
        planned.push({ arch, size, seed, options: experimentRunOptions(options, { arch, size, seed, out }, vocab) });
      }
    }
  }
  return planned;
}

/** The validation curve of a run folder's metrics log. */
export async function readRunCurve(run: PlannedRun): Promise<RunCurve | null> {
  const path = join(run.options.out, METRICS_FILE);
  if (!existsSync(path)) return null;
  const records = (await readMetricsLog(path)).filter((r) => r['kind'] === 'validation' && typeof r['valMlmLoss'] === 'number');
  if (records.length === 0) return null;
  return {
    arch: run.arch,
    size: run.size,
    seed: run.seed,
    flops: records.map((r) => ({ cost: r['nonEmbeddingFlops'] as number, loss: r['valMlmLoss'] as number })),
    seconds: records.map((r) => ({ cost: r['trainSeconds'] as number, loss: r['valMlmLoss'] as number })),
  };
}

/** Whether a run's log already holds its final validation (then it is not started again). */
export async function isRunFinished(options: Pick<PretrainRunOptions, 'out' | 'steps'>): Promise<boolean> {
  const path = join(options.out, METRICS_FILE);
  if (!existsSync(path)) return false;
  const log = await readMetricsLog(path);
  return log.some((r) => r['kind'] === 'validation' && r.step >= options.steps);
}

/**
 * Runs one pre-training run in a child process (the wasm backend and JS kernels then use another
 * core). The signal is passed on as a 'stop' message: the child stops after its step, with a checkpoint.
 */
export function runInChild(options: PretrainRunOptions, signal?: AbortSignal): Promise<PretrainSummary> {
  return new Promise((resolve, reject) => {
    const child = fork(new URL('./pretrain-child.js', import.meta.url), [], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
    let settled = false;
    const stop = (): void => {
      if (child.connected) child.send({ type: 'stop' } satisfies PretrainChildStop);
    };
    signal?.addEventListener('abort', stop, { once: true });
    child.on('message', (message: { ok: boolean; summary?: PretrainSummary; error?: string }) => {
      settled = true;
      signal?.removeEventListener('abort', stop);
      if (message.ok && message.summary) resolve(message.summary);
      else reject(new Error(`${options.out}: ${message.error ?? 'the run failed'}`));
    });
    child.on('error', reject);
    child.on('exit', (code) => {
      if (!settled) reject(new Error(`${options.out}: the run's process exited with code ${code}`));
    });
    child.send(options);
  });
}

export interface RunQueueOptions<R> {
  /** Runs at a time; above 1 each goes in a child process. */
  readonly jobs: number;
  readonly signal?: AbortSignal | undefined;
  /** A run already finished by an earlier session (not started again). */
  readonly onSkipped?: ((run: R, done: number) => void | Promise<void>) | undefined;
  /** A run that ended before its last step (the signal): its checkpoint continues it. */
  readonly onStopped?: ((run: R, summary: PretrainSummary) => void | Promise<void>) | undefined;
  /** A run that finished now; `done` counts finished runs, skipped ones included. */
  readonly onFinished?: ((run: R, summary: PretrainSummary, seconds: number, done: number) => void | Promise<void>) | undefined;
}

/**
 * Runs pre-training runs `jobs` at a time, in order, skipping those whose logs say they finished;
 * once the signal is aborted the runs under way stop after their step and no new one starts.
 */
export async function runQueue<R extends { readonly options: PretrainRunOptions }>(runs: readonly R[], queue: RunQueueOptions<R>): Promise<void> {
  let next = 0;
  let done = 0;
  const worker = async (): Promise<void> => {
    while (next < runs.length && queue.signal?.aborted !== true) {
      const run = runs[next++]!;
      if (await isRunFinished(run.options)) {
        done++;
        await queue.onSkipped?.(run, done);
        continue;
      }
      const started = Date.now();
      const summary = queue.jobs > 1 ? await runInChild(run.options, queue.signal) : await runPretraining(run.options, queue.signal);
      if (!summary.finished) {
        await queue.onStopped?.(run, summary);
        continue;
      }
      done++;
      await queue.onFinished?.(run, summary, (Date.now() - started) / 1000, done);
    }
  };
  await Promise.all(Array.from({ length: Math.min(queue.jobs, runs.length) }, worker));
}

/** Writes report.html and summary.json from whatever runs have logged so far. */
export async function writeParetoReport(options: ParetoExperimentOptions, runs: readonly PlannedRun[]): Promise<{ reportPath: string; summaryPath: string }> {
  const curves = (await Promise.all(runs.map(readRunCurve))).filter((c): c is RunCurve => c !== null);
  const baseline = options.archs[0] ?? 'bert';
  const candidate = options.archs[1] ?? baseline;
  const first = runs[0]?.options;
  const settings: Record<string, string | number> = {
    corpus: options.run.corpus,
    'tokens per run': options.tokensPerRun,
    'steps per run': first?.steps ?? 0,
    'batch x sequence length': `${options.run.batchSize} x ${options.run.seqLength}`,
    optimizer: `${options.run.optimizer}, lr ${options.run.lr}, warm-up ${options.run.warmupFraction * 100}% then linear decay, weight decay ${options.run.weightDecay}, clip ${options.run.clipNorm}`,
    dropout: options.run.dropout ?? 0.1,
    'next-sentence prediction': String(options.run.nsp),
    sizes: options.sizes.join(', '),
    seeds: options.seeds,
    'parallel runs': options.jobs,
    'runs reported': `${curves.length} of ${runs.length}`,
  };
  const html = renderParetoHtml({
    title: `Pre-training Pareto: ${options.archs.join(' vs ')}`,
    settings,
    runs: curves,
    baseline,
    candidate,
    notes: [
      'Validation masked-LM loss on held-out documents (fixed masks), against the non-embedding training FLOPs of the encoder layers (thrifty flops) and against training wall-clock time (validation and checkpoints excluded).',
    ],
  });
  const sizes = averageSeeds(curves);
  const summary = {
    settings,
    sizes: sizes.map((s) => ({ arch: s.arch, size: s.size, seeds: s.seeds, final: s.flops[s.flops.length - 1] ?? null, finalSeconds: s.seconds[s.seconds.length - 1]?.cost ?? null })),
    flopRatios: reachRatios(sizes, baseline, candidate, 'flops'),
    wallClockRatios: reachRatios(sizes, baseline, candidate, 'seconds'),
    runs: curves,
  };
  const reportPath = join(options.out, 'report.html');
  const summaryPath = join(options.out, 'summary.json');
  await writeFileAtomic(reportPath, html);
  await writeFileAtomic(summaryPath, `${JSON.stringify(summary, null, 2)}\n`);
  return { reportPath, summaryPath };
}

/** Runs (or continues) the experiment; an aborted `signal` (Ctrl-C) stops the runs under way after their step, with checkpoints. */
export async function runParetoExperiment(options: ParetoExperimentOptions, signal?: AbortSignal): Promise<ParetoExperimentResult> {
  if (options.archs.length === 0 || options.sizes.length === 0) throw new Error('experiment pareto: needs at least one architecture and one size');
  for (const [flag, v] of [['--seeds', options.seeds], ['--tokens', options.tokensPerRun], ['--eval-points', options.evalPoints], ['--jobs', options.jobs]] as const) {
    if (!Number.isInteger(v) || v < 1) throw new Error(`${flag} must be a positive integer, got ${v}`);
  }
  const log = options.log ?? ((line: string) => process.stderr.write(`${line}\n`));
  await mkdir(options.out, { recursive: true });
  let vocab = options.run.vocab;
  if (!vocab && options.reportOnly) vocab = join(options.out, 'vocab.txt');
  if (!vocab) {
    vocab = join(options.out, 'vocab.txt');
    if (!existsSync(vocab)) {
      const files = await readCorpusFiles(options.run.corpus);
      await saveWordPieceVocab(vocab, trainWordPiece(files.map((f) => f.text), { vocabSize: options.run.vocabSize }).vocab);
      log(`trained a ${options.run.vocabSize}-token WordPiece vocabulary: ${vocab}`);
    }
  }
  const runs = planRuns(options, vocab);
  if (options.reportOnly) return { ...(await writeParetoReport(options, runs)), runs, interrupted: false };
  await runQueue(runs, {
    jobs: options.jobs,
    signal,
    onStopped: (run, summary) => log(`${run.arch} ${run.size} seed ${run.seed}: stopped at step ${summary.step} of ${run.options.steps} (checkpoint kept)`),
    onFinished: async (run, summary, seconds, done) => {
      const loss = summary.lastValidation?.mlmLoss;
      log(
        `[${done}/${runs.length}] ${run.arch} ${run.size} seed ${run.seed}: step ${summary.step}` +
          (loss !== undefined ? `, validation MLM loss ${loss.toFixed(4)}` : '') +
          `, ${summary.nonEmbeddingFlops.toExponential(3)} non-embedding FLOPs, ${seconds.toFixed(0)} s`,
      );
      await writeParetoReport(options, runs);
    },
  });
  const { reportPath, summaryPath } = await writeParetoReport(options, runs);
  return { reportPath, summaryPath, runs, interrupted: signal?.aborted === true };
}
