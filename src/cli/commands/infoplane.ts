// `thrifty infoplane`: the information-plane experiments of Chelombiev, Houghton & O'Donnell (2019),
// and `thrifty bench infoplane`, the estimators' and the fused trainer's speed.

import { InvalidArgumentError, type Command } from 'commander';

import { ESTIMATOR_NAMES, isEstimatorName, type EstimatorName } from '../../info/estimators.js';
import { ACTIVATION_NAMES, FULL_PROTOCOL_ACTIVATIONS, isActivationName, type ActivationName } from '../../train/infoplane/activations.js';
import { parseIntList, parseNonNegativeInt, parseNumber, parsePositiveInt, parseThreads } from '../args.js';
import { benchGroup } from '../groups.js';

function parseActivations(value: string): ActivationName[] {
  return value.split(',').map((part) => {
    const name = part.trim();
    if (!isActivationName(name)) throw new InvalidArgumentError(`--activation: unknown activation '${name}' (${ACTIVATION_NAMES.join(', ')})`);
    return name;
  });
}

function parseEstimators(value: string): EstimatorName[] {
  return value.split(',').map((part) => {
    const name = part.trim();
    if (!isEstimatorName(name)) throw new InvalidArgumentError(`--estimator: unknown estimator '${name}' (${ESTIMATOR_NAMES.join(', ')})`);
    return name;
  });
}

function parseL2List(value: string): number[] {
  return value.split(',').map((part) => {
    const n = Number(part.trim());
    if (!Number.isFinite(n) || n < 0) throw new InvalidArgumentError(`--l2 expects non-negative numbers separated by commas, got '${value}'`);
    return n;
  });
}

function parseChoice<T extends string>(flag: string, choices: readonly T[]): (value: string) => T {
  return (value) => {
    if (!(choices as readonly string[]).includes(value)) throw new InvalidArgumentError(`${flag}: expected one of ${choices.join(', ')}, got '${value}'`);
    return value as T;
  };
}

function parsePositiveNumber(flag: string): (value: string) => number {
  const parse = parseNumber(flag);
  return (value) => {
    const n = parse(value);
    if (!(n > 0)) throw new InvalidArgumentError(`${flag} expects a positive number, got '${value}'`);
    return n;
  };
}

interface InfoplaneOptions {
  dataset: 'ib12' | 'mnist' | 'fashion-mnist';
  protocol?: 'full';
  activation?: ActivationName[];
  estimator?: EstimatorName[];
  epochs?: number;
  seeds?: number;
  firstSeed: number;
  l2?: number[];
  out: string;
  hidden?: number[];
  batch: number;
  lr: number;
  logSamples: number;
  split: 'authors' | 'random';
  splitSeed: number;
  infoSamples?: number;
  shuffle: boolean;
  bins: number;
  kdeVariance: number;
  akdeScale: number;
  akdeRange: 'max-abs' | 'max-minus-min' | 'std';
  threads?: number;
  dataDir?: string;
  reuse: boolean;
}

/** What the short default and --protocol full mean. */
export const INFOPLANE_DEFAULTS = {
  short: { activations: ['tanh', 'relu'] as ActivationName[], estimators: ['ebab'] as EstimatorName[], seeds: 3, epochs: 8000, l2: [0] },
  full: { activations: [...FULL_PROTOCOL_ACTIVATIONS], estimators: ['ebab', 'akde'] as EstimatorName[], seeds: 50, epochs: 8000, l2: [0, 0.015] },
  mnistHidden: [128, 64, 32, 16],
  ib12Hidden: [10, 7, 5, 4, 3],
};

export function registerInfoplaneCommand(program: Command): void {
  program
    .command('infoplane')
    .description('train MLPs and estimate the information plane of every layer (Chelombiev et al. 2019); writes JSON records and an HTML report')
    .option('--dataset <name>', 'ib12 (the 12-bit task), mnist or fashion-mnist', parseChoice('--dataset', ['ib12', 'mnist', 'fashion-mnist'] as const), 'ib12')
    .option('--protocol <name>', `'full': ${INFOPLANE_DEFAULTS.full.activations.length} activations x ${INFOPLANE_DEFAULTS.full.seeds} seeds, L2 0 and ${INFOPLANE_DEFAULTS.full.l2[1]}, EBAB and aKDE (flags given override it)`, parseChoice('--protocol', ['full'] as const))
    .option('--activation <list>', `comma-separated: ${ACTIVATION_NAMES.join(', ')} (default tanh,relu)`, parseActivations)
    .option('--estimator <list>', `comma-separated: ${ESTIMATOR_NAMES.join(', ')} (default ebab)`, parseEstimators)
    .option('--epochs <n>', 'training epochs (default 8000)', parsePositiveInt('--epochs'))
    .option('--seeds <k>', 'networks per activation and L2 value (default 3)', parsePositiveInt('--seeds'))
    .option('--first-seed <n>', 'seed of the first network', parseNonNegativeInt('--first-seed'), 0)
    .option('--l2 <list>', 'L2 penalties on the non-output weights, comma-separated; 0 = none (default 0)', parseL2List)
    .option('--out <dir>', 'output folder (records in runs/, summary.json, report.html)', 'runs/infoplane')
    .option('--hidden <list>', 'hidden layer widths (default 10,7,5,4,3 for ib12; 128,64,32,16 for MNIST)', parseIntList('--hidden'))
    .option('--batch <n>', 'minibatch size', parsePositiveInt('--batch'), 256)
    .option('--lr <x>', 'Adam learning rate', parsePositiveNumber('--lr'), 4e-4)
    .option('--log-samples <n>', 'points of the log-spaced recording grid (400 -> 274 epochs of 8000)', parsePositiveInt('--log-samples'), 400)
    .option('--split <kind>', "authors (first 80% train, unshuffled) or random (seeded 80/20)", parseChoice('--split', ['authors', 'random'] as const), 'authors')
    .option('--split-seed <n>', 'seed of the random split (and of the MNIST estimation subset)', parseNonNegativeInt('--split-seed'), 0)
    .option('--info-samples <n>', 'inputs the estimators see, a seeded subset (default: all 4096 for ib12, 2000 for MNIST)', parsePositiveInt('--info-samples'))
    .option('--shuffle', 'reshuffle minibatches every epoch (the paper used fixed ones)', false)
    .option('--bins <n>', 'bins of the binning estimators', parsePositiveInt('--bins'), 30)
    .option('--kde-variance <x>', 'noise variance of the fixed KDE', parsePositiveNumber('--kde-variance'), 0.1)
    .option('--akde-scale <x>', 'aKDE: noise variance = scale x range^2', parsePositiveNumber('--akde-scale'), 0.1)
    .option('--akde-range <rule>', 'aKDE range rule: max-abs, max-minus-min or std', parseChoice('--akde-range', ['max-abs', 'max-minus-min', 'std'] as const), 'max-abs')
    .option('--threads <n>', 'worker threads (default: one per core, at most one per network)', parseThreads('--threads'))
    .option('--data-dir <dir>', 'data folder (default ../shared/data or THRIFTY_DATA_DIR)')
    .option('--no-reuse', 'recompute runs whose records already exist')
    .action(async (opts: InfoplaneOptions) => {
      const { runInfoplaneExperiment } = await import('../../node/infoplane-runner.js');
      const { interruptOnSigint, interruptedMessage, resumeCommand, INTERRUPTED_EXIT_CODE } = await import('../../node/interrupt.js');
      const interrupt = interruptOnSigint({ stopping: 'now, keeping the records of finished networks' });
      const base = opts.protocol === 'full' ? INFOPLANE_DEFAULTS.full : INFOPLANE_DEFAULTS.short;
      const estimators = opts.estimator ?? base.estimators;
      const hidden = opts.hidden ?? (opts.dataset === 'ib12' ? INFOPLANE_DEFAULTS.ib12Hidden : INFOPLANE_DEFAULTS.mnistHidden);
      const result = await runInfoplaneExperiment({
        dataset: { name: opts.dataset, dataDir: opts.dataDir, split: opts.split, splitSeed: opts.splitSeed, infoSamples: opts.infoSamples },
        config: {
          hidden,
          epochs: opts.epochs ?? base.epochs,
          batchSize: opts.batch,
          lr: opts.lr,
          logSamples: opts.logSamples,
          estimators,
          estimatorSettings: { numBins: opts.bins, kdeVariance: opts.kdeVariance, akdeScale: opts.akdeScale, akdeRange: opts.akdeRange },
          shuffleBatches: opts.shuffle,
        },
        activations: opts.activation ?? base.activations,
        l2: opts.l2 ?? base.l2,
        seeds: opts.seeds ?? base.seeds,
        firstSeed: opts.firstSeed,
        outDir: opts.out,
        threads: opts.threads,
        reuse: opts.reuse,
        command: `thrifty ${process.argv.slice(2).join(' ')}`.trim(),
      }, interrupt.signal).finally(() => interrupt.dispose());
      if (result.interrupted) {
        const kept = `${result.finished} of ${result.total} networks finished, their records are in ${result.runsDir}`;
        process.stderr.write(interruptedMessage(kept, resumeCommand(process.argv.slice(2))));
        process.exitCode = INTERRUPTED_EXIT_CODE;
        return;
      }
      const lines = [
        `${result.records.length} networks (${result.reused} reused) in ${(result.wallMs / 1000).toFixed(1)} s`,
        `report:  ${result.reportPath}`,
        `summary: ${result.summaryPath}`,
      ];
      for (const s of result.summaries) {
        for (const g of s.groups) {
          lines.push(`${s.estimator} ${g.activation}${g.l2 ? ` L2 ${g.l2}` : ''}: compression per layer ${g.compression.map((c) => c.mean.toFixed(2)).join(' ')} bits; test accuracy ${g.testAccuracy.mean.toFixed(3)}`);
        }
      }
      process.stdout.write(`${lines.join('\n')}\n`);
    });

  benchGroup(program)
    .command('infoplane')
    .description('EBAB, KDE and aKDE per (layer, epoch) at N = 4096 and the fused trainer per epoch, each against its plain peer')
    .option('--repeats <n>', 'timed repetitions per measurement (medians are reported)', parsePositiveInt('--repeats'), 7)
    .option('--json', 'one JSON object per line instead of a table', false)
    .action(async (opts: { repeats: number; json: boolean }) => {
      const { runInfoplaneBenchmark, formatBenchmarkTable } = await import('../../bench/infoplane.js');
      const rows = runInfoplaneBenchmark({ repeats: opts.repeats });
      process.stdout.write(opts.json ? rows.map((r) => JSON.stringify(r)).join('\n') + '\n' : formatBenchmarkTable(rows));
    });

  benchGroup(program)
    .command('infoplane-known-answers')
    .description("the estimators' known answers computed: T = X on the 12-bit data, KDE bounds, KSG on Gaussians, binning bias against Miller-Madow, independent variables")
    .option('--json', 'one JSON object per line instead of a table', false)
    .action(async (opts: { json: boolean }) => {
      const { runInfoplaneKnownAnswers, formatKnownAnswerTable, withinTolerance } = await import('../../bench/infoplane-known-answers.js');
      const cases = runInfoplaneKnownAnswers();
      process.stdout.write(opts.json ? cases.map((c) => JSON.stringify(c)).join('\n') + '\n' : formatKnownAnswerTable(cases));
      const failed = cases.filter((c) => !withinTolerance(c)).length;
      if (failed > 0) {
        process.stderr.write(`bench infoplane-known-answers: ${failed} case${failed === 1 ? '' : 's'} outside ${failed === 1 ? 'its' : 'their'} tolerance\n`);
        process.exitCode = 1;
      }
    });
}
