// `thrifty experiment pareto`: BERT vs GroupBERT (or any architectures) at several sizes and seeds,
// each trained for the same number of tokens; writes report.html and summary.json.

import type { Command } from 'commander';
import { MAX_THREADS, parseIntInRange, parseNumberInRange, TRAINING_LIMITS } from '../args.js';
import { addTrainingOptions, runnerOptions, type PretrainFlags } from './pretrain.js';

/** The flags every experiment command shares (addExperimentOptions), beside pretrain's training flags. */
export interface ExperimentFlags extends Omit<PretrainFlags, 'arch' | 'size' | 'steps' | 'seed' | 'resume' | 'stopAfter' | 'warmup'> {
  seeds: number;
  tokens: number;
  evalPoints: number;
  jobs: number;
  warmupFraction: number;
  out: string;
  reportOnly: boolean;
  json: boolean;
}

interface ParetoFlags extends ExperimentFlags {
  arch: string;
  sizes: string;
}

/** The end-of-run summary for people (--json gives the same fields as one JSON line). */
export function formatExperimentSummary(result: { readonly reportPath: string; readonly summaryPath: string; readonly runs: readonly unknown[]; readonly interrupted: boolean }, experiment = 'pareto'): string {
  const state = result.interrupted ? 'interrupted' : 'done';
  return [
    `experiment ${experiment}: ${state}, ${result.runs.length} run${result.runs.length === 1 ? '' : 's'}`,
    `  report   ${result.reportPath}`,
    `  summary  ${result.summaryPath}`,
  ].join('\n') + '\n';
}

/** Seeds per architecture and size. */
const MAX_SEEDS = 1000;
/** Training tokens per run: as many steps as a pre-training run may take, at the largest step. */
const MAX_TOKENS = TRAINING_LIMITS.steps * TRAINING_LIMITS.tokensPerStep;

export function experimentGroup(program: Command): Command {
  const existing = program.commands.find((c) => c.name() === 'experiment');
  if (existing) return existing;
  return program.command('experiment').description('experiments that train several models and write a report');
}

/** What differs between the experiments in their shared flags. */
export interface ExperimentOptionDefaults {
  readonly seeds: number;
  readonly seedsHelp: string;
  readonly tokens: number;
  readonly evalPoints: number;
  readonly out: string;
  readonly outHelp: string;
  readonly reportOnlyHelp: string;
}

/** The flags every experiment shares, each numeric one with its range (seeds, tokens, validations, jobs, warm-up share). */
export function addExperimentOptions(command: Command, defaults: ExperimentOptionDefaults): Command {
  return command
    .option('--seeds <k>', defaults.seedsHelp, parseIntInRange('--seeds', 1, MAX_SEEDS), defaults.seeds)
    .option('--tokens <n>', 'training tokens per run (sequences * length)', parseIntInRange('--tokens', 1, MAX_TOKENS), defaults.tokens)
    .option('--eval-points <n>', 'validations per run', parseIntInRange('--eval-points', 1, TRAINING_LIMITS.steps), defaults.evalPoints)
    .option('--jobs <n>', 'runs in parallel (child processes)', parseIntInRange('--jobs', 1, MAX_THREADS), 1)
    .option('--warmup-fraction <x>', 'warm-up share of the steps', parseNumberInRange('--warmup-fraction', 0, 1), 0.1)
    .option('--out <dir>', defaults.outHelp, defaults.out)
    .option('--report-only', defaults.reportOnlyHelp, false)
    .option('--json', 'print the summary as one JSON line', false);
}

/**
 * The options every run of an experiment shares, validated by the same code as `thrifty pretrain`
 * (for `arch` at `size`), without what each run sets itself (architecture, size, seed, steps,
 * folder, schedule), plus the warm-up share.
 */
export async function sharedRunOptions(flags: ExperimentFlags, arch: string, size: string) {
  const options = await runnerOptions({ ...flags, arch, size, steps: 1, seed: 0, resume: false }, arch, size, 0, flags.out);
  const { arch: _a, size: _s, seed: _seed, steps: _steps, out: _out, resume: _r, evalEvery: _e, checkpointEvery: _c, warmupSteps: _w, stopAfter: _stop, ...run } = options;
  return { ...run, warmupFraction: flags.warmupFraction };
}

/** What every experiment runner takes from the shared flags, with the shared run options. */
export function experimentRunnerOptions<R>(flags: ExperimentFlags, run: R) {
  return { seeds: flags.seeds, tokensPerRun: flags.tokens, evalPoints: flags.evalPoints, out: flags.out, jobs: flags.jobs, run, reportOnly: flags.reportOnly };
}

interface ExperimentOutcome {
  readonly reportPath: string;
  readonly summaryPath: string;
  readonly runs: readonly unknown[];
  readonly interrupted: boolean;
}

/**
 * Runs an experiment (`start`) with Ctrl-C stopping it cleanly, then prints its summary (or `jsonLine`
 * as one JSON line); when interrupted, says what is kept in the folder and the command that resumes.
 */
export async function runExperimentCommand<R extends ExperimentOutcome>(
  experiment: string,
  flags: { readonly out: string; readonly json: boolean },
  words: { readonly stopping: string; readonly kept: string },
  start: (signal: AbortSignal) => Promise<R>,
  jsonLine: (result: R) => Readonly<Record<string, unknown>>,
  output: { readonly out: { write(text: string): unknown }; readonly err: { write(text: string): unknown } } = { out: process.stdout, err: process.stderr },
): Promise<void> {
  const { interruptOnSigint, interruptedMessage, resumeCommand, INTERRUPTED_EXIT_CODE } = await import('../../node/interrupt.js');
  const interrupt = interruptOnSigint({ stopping: words.stopping });
  const result = await start(interrupt.signal).finally(() => interrupt.dispose());
  output.out.write(flags.json ? `${JSON.stringify(jsonLine(result))}\n` : formatExperimentSummary(result, experiment));
  if (result.interrupted) {
    // Finished runs are kept and unfinished ones continue from their checkpoints: the same command resumes.
    output.err.write(interruptedMessage(`${words.kept} ${flags.out}`, resumeCommand(process.argv.slice(2))));
    process.exitCode = INTERRUPTED_EXIT_CODE;
  }
}

export function registerExperimentCommand(program: Command): void {
  const command = experimentGroup(program)
    .command('pareto')
    .description('pre-train each architecture x size x seed for the same tokens; report loss against FLOPs and wall-clock time')
    .option('--arch <list>', 'architectures, the first is the baseline', 'bert,groupbert')
    .requiredOption('--sizes <list>', 'size presets, e.g. micro-xs,micro-s,micro-m')
    .requiredOption('--corpus <path>', 'a text file or a folder of .txt/.raw files');
  addExperimentOptions(command, {
    seeds: 2,
    seedsHelp: 'seeds per architecture and size (0..k-1)',
    tokens: 1_000_000,
    evalPoints: 10,
    out: 'runs/pareto',
    outHelp: 'experiment folder (one sub-folder per run; rerun to resume)',
    reportOnlyHelp: 'rewrite report.html and summary.json from the runs so far, train nothing',
  });
  addTrainingOptions(command).action(async (flags: ParetoFlags) => {
    const { parseArchitecture } = await import('../../models/bert-presets.js');
    const { runParetoExperiment } = await import('../../node/pareto-experiment.js');
    const archs = flags.arch.split(',').map((a) => parseArchitecture(a.trim(), '--arch'));
    const sizes = flags.sizes.split(',').map((s) => s.trim());
    const steps = Math.ceil(flags.tokens / (flags.batch * flags.seq));
    if (steps > TRAINING_LIMITS.steps) throw new Error(`--tokens ${flags.tokens} at --batch ${flags.batch} x --seq ${flags.seq} is ${steps.toLocaleString('en-US')} steps per run, more than the ${TRAINING_LIMITS.steps.toLocaleString('en-US')} allowed`);
    const run = await sharedRunOptions(flags, archs[0]!, sizes[0]!);
    await runExperimentCommand(
      'pareto',
      flags,
      { stopping: 'the runs after their current step, saving checkpoints', kept: 'finished runs and the checkpoints of unfinished ones are in' },
      (signal) => runParetoExperiment({ archs, sizes, ...experimentRunnerOptions(flags, run) }, signal),
      (result) => ({ report: result.reportPath, summary: result.summaryPath, runs: result.runs.length }),
    );
  });
}
