// `thrifty experiment pareto`: BERT vs GroupBERT (or any architectures) at several sizes and seeds,
// each trained for the same number of tokens; writes report.html and summary.json.

import type { Command } from 'commander';
import { MAX_THREADS, parseIntInRange, parseNumberInRange, TRAINING_LIMITS } from '../args.js';
import { addTrainingOptions, runnerOptions, type PretrainFlags } from './pretrain.js';

interface ParetoFlags extends Omit<PretrainFlags, 'arch' | 'size' | 'steps' | 'seed' | 'resume' | 'stopAfter' | 'warmup'> {
  arch: string;
  sizes: string;
  seeds: number;
  tokens: number;
  evalPoints: number;
  jobs: number;
  warmupFraction: number;
  out: string;
  reportOnly: boolean;
  json: boolean;
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

export function registerExperimentCommand(program: Command): void {
  const command = experimentGroup(program)
    .command('pareto')
    .description('pre-train each architecture x size x seed for the same tokens; report loss against FLOPs and wall-clock time')
    .option('--arch <list>', 'architectures, the first is the baseline', 'bert,groupbert')
    .requiredOption('--sizes <list>', 'size presets, e.g. micro-xs,micro-s,micro-m')
    .requiredOption('--corpus <path>', 'a text file or a folder of .txt/.raw files')
    .option('--seeds <k>', 'seeds per architecture and size (0..k-1)', parseIntInRange('--seeds', 1, MAX_SEEDS), 2)
    .option('--tokens <n>', 'training tokens per run (sequences * length)', parseIntInRange('--tokens', 1, MAX_TOKENS), 1_000_000)
    .option('--eval-points <n>', 'validations per run', parseIntInRange('--eval-points', 1, TRAINING_LIMITS.steps), 10)
    .option('--jobs <n>', 'runs in parallel (child processes)', parseIntInRange('--jobs', 1, MAX_THREADS), 1)
    .option('--warmup-fraction <x>', 'warm-up share of the steps', parseNumberInRange('--warmup-fraction', 0, 1), 0.1)
    .option('--out <dir>', 'experiment folder (one sub-folder per run; rerun to resume)', 'runs/pareto')
    .option('--report-only', 'rewrite report.html and summary.json from the runs so far, train nothing', false)
    .option('--json', 'print the summary as one JSON line', false);
  addTrainingOptions(command).action(async (flags: ParetoFlags) => {
    const { parseArchitecture } = await import('../../models/bert-presets.js');
    const { runParetoExperiment } = await import('../../node/pareto-experiment.js');
    const archs = flags.arch.split(',').map((a) => parseArchitecture(a.trim(), '--arch'));
    const sizes = flags.sizes.split(',').map((s) => s.trim());
    const steps = Math.ceil(flags.tokens / (flags.batch * flags.seq));
    if (steps > TRAINING_LIMITS.steps) throw new Error(`--tokens ${flags.tokens} at --batch ${flags.batch} x --seq ${flags.seq} is ${steps.toLocaleString('en-US')} steps per run, more than the ${TRAINING_LIMITS.steps.toLocaleString('en-US')} allowed`);
    // The per-run options: validated by the same code as `thrifty pretrain`.
    const base = await runnerOptions({ ...flags, size: sizes[0]!, steps: 1, seed: 0, resume: false }, archs[0]!, sizes[0]!, 0, flags.out);
    const { arch: _a, size: _s, seed: _seed, steps: _steps, out: _out, resume: _r, evalEvery: _e, checkpointEvery: _c, warmupSteps: _w, stopAfter: _stop, vocab, ...run } = base;
    const { interruptOnSigint, interruptedMessage, resumeCommand, INTERRUPTED_EXIT_CODE } = await import('../../node/interrupt.js');
    const interrupt = interruptOnSigint({ stopping: 'the runs after their current step, saving checkpoints' });
    const result = await runParetoExperiment({
      archs,
      sizes,
      seeds: flags.seeds,
      tokensPerRun: flags.tokens,
      evalPoints: flags.evalPoints,
      out: flags.out,
      jobs: flags.jobs,
      run: { ...run, vocab, warmupFraction: flags.warmupFraction },
      reportOnly: flags.reportOnly,
    }, interrupt.signal).finally(() => interrupt.dispose());
    process.stdout.write(flags.json
      ? `${JSON.stringify({ report: result.reportPath, summary: result.summaryPath, runs: result.runs.length })}\n`
      : formatExperimentSummary(result));
    if (result.interrupted) {
      // Finished runs are kept and unfinished ones continue from their checkpoints: the same command resumes.
      process.stderr.write(interruptedMessage(`finished runs and the checkpoints of unfinished ones are in ${flags.out}`, resumeCommand(process.argv.slice(2))));
      process.exitCode = INTERRUPTED_EXIT_CODE;
    }
  });
}
