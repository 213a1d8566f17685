// `thrifty experiment dynsparse`: the dynamic-sparse pre-training experiment (DynSparse vs static vs
// the dense family at equal FLOPs, and the sparsity, block-size, n x pr, learning-rate and regrowth
// sweeps); small grid by default, --full for the grid. Writes records/, summary.json and report.html.

import { InvalidArgumentError, type Command } from 'commander';
import { parseIntList, parseNumberInRange } from '../args.js';
import { addExperimentOptions, experimentGroup, experimentRunnerOptions, runExperimentCommand, sharedRunOptions, type ExperimentFlags } from './experiment.js';
import { addTrainingOptions } from './pretrain.js';

interface DynsparseFlags extends ExperimentFlags {
  full: boolean;
  denseSizes?: string;
  sparseSize?: string;
  sparsities?: number[];
  blocks?: number[];
  staticBlocks?: number[];
  updatesList?: number[];
  pruneRatios?: number[];
  lrFactors?: number[];
  riglBlocks?: number[];
  sparseLrFactor?: number;
}

function parseNumberList(flag: string, ok: (x: number) => boolean, what: string): (value: string) => number[] {
  return (value) =>
    value.split(',').map((part) => {
      const x = Number(part.trim());
      if (part.trim() === '' || !Number.isFinite(x) || !ok(x)) throw new InvalidArgumentError(`${flag} expects ${what} separated by commas, got '${value}'`);
      return x;
    });
}

/** Training defaults of the experiment (the Pareto experiment's micro settings) where the pretrain command's differ. */
const EXPERIMENT_DEFAULTS: Readonly<Record<string, string | number>> = { '--batch': 8, '--vocab-size': 4096, '--eval-sequences': 128, '--dropout': 0 };

export function registerDynsparseExperimentCommand(program: Command): void {
  const command = experimentGroup(program)
    .command('dynsparse')
    .description('dynamic sparse pre-training (arXiv 2108.06277) at micro scale: DynSparse vs static vs dense at equal FLOPs, and the sweeps')
    .requiredOption('--corpus <path>', 'a text file or a folder of .txt/.raw files')
    .option('--full', "the issue's full grid (default: a small one, one or two values per sweep)", false)
    .option('--dense-sizes <list>', 'the dense family (default micro-xs,micro-s,micro-m)')
    .option('--sparse-size <name>', 'the size of every sparse arm (default micro-m)')
    .option('--sparsities <list>', 'part 2: sparsities (small 0.5,0.9; full 0.5,0.75,0.9)', parseNumberList('--sparsities', (x) => x > 0 && x < 1, 'numbers in (0, 1)'))
    .option('--blocks <list>', 'part 3: block sizes (small 1,16; full 1,4,8,16)', parseIntList('--blocks'))
    .option('--static-blocks <list>', 'block sizes with a static arm (small 16; full 1,16)', parseIntList('--static-blocks'))
    .option('--updates-list <list>', 'part 4: update counts n (small 20,80; full 20,80,160)', parseIntList('--updates-list'))
    .option('--prune-ratios <list>', 'part 4: prune ratios pr (small 0.5; full 0.25,0.5,0.75)', parseNumberList('--prune-ratios', (x) => x >= 0 && x <= 1, 'numbers in [0, 1]'))
    .option('--lr-factors <list>', 'part 4: learning rates as multiples of the sparse rule (default: eta(0) and the rule; full adds 0.5, 2)', parseNumberList('--lr-factors', (x) => x > 0, 'positive numbers'))
    .option('--sparse-lr-factor <x>', 'multiply the learning rate of every sparse arm, static included, by x (default 1: the rule)', parseNumberInRange('--sparse-lr-factor', 0, 100, { minExclusive: true }))
    .option('--rigl-blocks <list>', 'part 5: block sizes with random and RigL regrowth (small 16; full 1,16)', parseIntList('--rigl-blocks'));
  addExperimentOptions(command, {
    seeds: 1,
    seedsHelp: 'seeds per arm (0..k-1); the docs run uses 3',
    tokens: 8 * 128 * 100,
    evalPoints: 5,
    out: 'runs/dynsparse',
    outHelp: 'experiment folder (rerun the same command to resume)',
    reportOnlyHelp: 'rewrite report.html and summary.json from the records so far, train nothing',
  });
  addTrainingOptions(command);
  for (const option of command.options) {
    const value = option.long ? EXPERIMENT_DEFAULTS[option.long] : undefined;
    if (value !== undefined) option.default(value);
  }
  command.action(async (flags: DynsparseFlags) => {
    const { defaultGrid, runDynsparseExperiment } = await import('../../node/dynsparse-experiment.js');
    if (flags.regrow !== 'dynamic') throw new Error('--regrow: the experiment trains its own static, dynamic and RigL arms (leave --regrow out)');
    if (flags.blockNorm !== 'l1') throw new Error("--block-norm: the experiment uses the paper's L1 block norm (leave --block-norm out)");
    const base = defaultGrid(flags.full);
    const grid = {
      ...base,
      ...(flags.denseSizes ? { denseSizes: flags.denseSizes.split(',').map((s) => s.trim()) } : {}),
      ...(flags.sparseSize ? { sparseSize: flags.sparseSize } : {}),
      ...(flags.sparsity !== undefined ? { sparsity: flags.sparsity } : {}),
      block: flags.block,
      ...(flags.updates !== undefined ? { updates: flags.updates } : {}),
      pruneRatio: flags.pruneRatio,
      ...(flags.sparsities ? { sparsities: flags.sparsities } : {}),
      ...(flags.blocks ? { blocks: flags.blocks } : {}),
      ...(flags.staticBlocks ? { staticBlocks: flags.staticBlocks } : {}),
      ...(flags.updatesList ? { updatesList: flags.updatesList } : {}),
      ...(flags.pruneRatios ? { pruneRatios: flags.pruneRatios } : {}),
      ...(flags.lrFactors ? { lrFactors: flags.lrFactors } : {}),
      ...(flags.riglBlocks ? { riglBlocks: flags.riglBlocks } : {}),
      ...(flags.sparseLrFactor !== undefined ? { sparseLrFactor: flags.sparseLrFactor } : {}),
    };
    // The shared per-run options of a dense run (each sparse arm sets its own sparsity and learning rate).
    const sizes = [...grid.denseSizes, grid.sparseSize];
    const { sizePreset } = await import('../../models/bert-presets.js');
    for (const size of sizes) sizePreset(size);
    const { sparsity: _sparsity, ...denseFlags } = { ...flags, sparsity: undefined };
    const { sparse: _sp, lrSource: _l, ...run } = await sharedRunOptions(denseFlags, 'bert', sizes[0]!);
    await runExperimentCommand(
      'dynsparse',
      flags,
      { stopping: 'the run under way after its current step, saving a checkpoint', kept: 'finished runs, their records and the checkpoints of unfinished ones are in' },
      (signal) => runDynsparseExperiment({ grid, ...experimentRunnerOptions(flags, run) }, signal),
      (result) => ({ report: result.reportPath, summary: result.summaryPath, arms: result.arms.length, runs: result.runs.length }),
    );
  });
}
