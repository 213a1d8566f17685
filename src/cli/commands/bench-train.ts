// `thrifty bench train`: tokens/s of a full BERT/GroupBERT pre-training step against PyTorch CPU.
// See src/bench/train.ts for the method.

import type { Command } from 'commander';
import { parseIntList, parsePositiveInt } from '../args.js';
import { benchGroup } from '../groups.js';

interface BenchTrainFlags {
  arch: string;
  size: string;
  batch: number;
  seq: number;
  threads?: number[];
  steps: number;
  rounds: number;
  vocabSize?: number;
  peer: boolean;
  json: boolean;
}

export function registerBenchTrainCommand(program: Command): void {
  benchGroup(program)
    .command('train')
    .description('tokens/s of a full training step (forward, backward, AdamW) against the same step in PyTorch CPU')
    .option('--arch <arch>', 'bert or groupbert', 'bert')
    .option('--size <name>', 'size preset', 'mini')
    .option('--batch <n>', 'sequences per step', parsePositiveInt('--batch'), 8)
    .option('--seq <n>', 'sequence length', parsePositiveInt('--seq'), 128)
    .option('--threads <list>', 'thread counts (default: 1 and all cores)', parseIntList('--threads'))
    .option('--steps <n>', 'timed steps per implementation and round', parsePositiveInt('--steps'), 3)
    .option('--rounds <n>', 'rounds (thrifty and PyTorch alternate)', parsePositiveInt('--rounds'), 2)
    .option('--vocab-size <n>', "vocabulary size (default: the preset's)", parsePositiveInt('--vocab-size'))
    .option('--no-peer', 'leave out PyTorch')
    .option('--json', 'one JSON object per line instead of a table', false)
    .action(async (flags: BenchTrainFlags) => {
      const { parseArchitecture } = await import('../../models/bert-presets.js');
      const { benchTrain } = await import('../../bench/train.js');
      await benchTrain({
        arch: parseArchitecture(flags.arch, '--arch'),
        size: flags.size,
        batch: flags.batch,
        seq: flags.seq,
        ...(flags.threads ? { threads: flags.threads } : {}),
        steps: flags.steps,
        rounds: flags.rounds,
        ...(flags.vocabSize !== undefined ? { vocabSize: flags.vocabSize } : {}),
        peer: flags.peer,
        json: flags.json,
        log: (line) => process.stdout.write(`${line}\n`),
      });
    });
}
