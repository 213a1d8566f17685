// The `thrifty` command line. Each command lives in its own module and is loaded on demand, so
// `thrifty --help` starts fast and a command pulls in only what it needs.

import { Command } from 'commander';
import { registerBenchCommands } from './commands/bench.js';
import { registerInfoCommand } from './commands/info.js';
import { registerBenchAttentionCommand } from './commands/bench-attention.js';
import { registerGenerateCommand } from './commands/generate.js';
import { registerTrainLmCommand } from './commands/train-lm.js';
import { registerBenchDecodeCommand } from './commands/bench-decode.js';
import { registerFlopsCommand } from './commands/flops.js';
import { registerPretrainCommand } from './commands/pretrain.js';
import { registerExperimentCommand } from './commands/experiment.js';
import { registerBenchTrainCommand } from './commands/bench-train.js';
import { registerWordPieceCommand } from './commands/wordpiece.js';
import { registerInfoplaneCommand } from './commands/infoplane.js';

/** Each command module adds itself to the program; heavy modules are imported inside the action. */
const COMMANDS: ReadonlyArray<(program: Command) => void> = [registerInfoCommand, registerBenchCommands, registerBenchAttentionCommand, registerGenerateCommand, registerTrainLmCommand, registerBenchDecodeCommand, registerFlopsCommand, registerPretrainCommand, registerExperimentCommand, registerBenchTrainCommand, registerWordPieceCommand, registerInfoplaneCommand];

export function buildProgram(): Command {
  const program = new Command();
  program
    .name('thrifty')
    .description('Efficient transformers in TypeScript: fewer bytes, fewer FLOPs, and what networks learn.')
    .showHelpAfterError()
    .configureHelp({ sortSubcommands: false });

  for (const register of COMMANDS) register(program);
  return program;
}

export async function main(argv: readonly string[]): Promise<void> {
  const program = buildProgram();
  try {
    await program.parseAsync(argv as string[]);
  } catch (err) {
    process.stderr.write(`thrifty: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exitCode = 1;
  }
}
