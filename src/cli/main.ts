// The `thrifty` command line. Each command lives in its own module and is loaded on demand, so
// `thrifty --help` starts fast and a command pulls in only what it needs.

import { readFileSync } from 'node:fs';
import { Command, CommanderError } from 'commander';
import { registerBenchCommands } from './commands/bench.js';
import { registerInfoCommand } from './commands/info.js';
import { registerBenchAttentionCommand } from './commands/bench-attention.js';
import { registerGenerateCommand } from './commands/generate.js';
import { registerTrainLmCommand } from './commands/train-lm.js';
import { registerBenchDecodeCommand } from './commands/bench-decode.js';
import { registerFlopsCommand } from './commands/flops.js';
import { registerPretrainCommand } from './commands/pretrain.js';
import { registerExperimentCommand } from './commands/experiment.js';
import { registerDynsparseExperimentCommand } from './commands/experiment-dynsparse.js';
import { registerBenchTrainCommand } from './commands/bench-train.js';
import { registerBenchSparseCommand } from './commands/bench-sparse.js';
import { registerExportCommand } from './commands/export.js';
import { registerWordPieceCommand } from './commands/wordpiece.js';
import { registerInfoplaneCommand } from './commands/infoplane.js';
import { registerEvalCommand } from './commands/eval.js';
import { OutputClosedError } from './output.js';

/** Each command module adds itself to the program; heavy modules are imported inside the action. */
const COMMANDS: ReadonlyArray<(program: Command) => void> = [registerInfoCommand, registerBenchCommands, registerBenchAttentionCommand, registerGenerateCommand, registerTrainLmCommand, registerBenchDecodeCommand, registerFlopsCommand, registerPretrainCommand, registerExperimentCommand, registerDynsparseExperimentCommand, registerBenchTrainCommand, registerBenchSparseCommand, registerExportCommand, registerWordPieceCommand, registerInfoplaneCommand, registerEvalCommand];

/** The package's version, read from its package.json (this module is dist/src/cli/main.js, three levels below it). */
export function packageVersion(): string {
  const text = readFileSync(new URL('../../../package.json', import.meta.url), 'utf8');
  const version = (JSON.parse(text) as { version?: unknown }).version;
  if (typeof version !== 'string') throw new Error('package.json: field "version" is missing');
  return version;
}

export function buildProgram(): Command {
  const program = new Command();
  program
    .name('thrifty')
    .description('Efficient transformers in TypeScript: fewer bytes, fewer FLOPs, and what networks learn.')
    .version(`thrifty ${packageVersion()}`, '-V, --version', 'print the version and exit')
    .configureHelp({ sortSubcommands: false })
    // Parse errors are thrown (not printed) so that main() prints each as one line; subcommands
    // created after this point inherit both settings.
    .exitOverride()
    .configureOutput({ outputError: () => {} });

  for (const register of COMMANDS) register(program);
  return program;
}

/**
 * One line for a command-line error: `thrifty: error: ...`. Commander's own messages start with
 * "error: " and put the "did you mean" hint on a second line; an invalid argument repeats the flag
 * before our parser's message, which already names the flag and the value.
 */
export function formatCliError(err: unknown): string {
  let message = err instanceof Error ? err.message : String(err);
  if (err instanceof CommanderError) {
    if (err.code === 'commander.invalidArgument') {
      const ours = /is invalid\.\s*(.+)$/s.exec(message);
      if (ours?.[1]) message = ours[1];
    }
    message = message.replace(/^error:\s*/, '');
    message = message.replace(/\s*\n\(Did you mean (.+?)\)\s*$/s, ' (did you mean $1)');
  }
  return `thrifty: error: ${message.replace(/\s*\n\s*/g, ' ').trim()}`;
}

/** Codes commander throws for output that is not an error (help, version). */
const COMMANDER_SUCCESS = new Set(['commander.helpDisplayed', 'commander.help', 'commander.version']);

/**
 * When the reader of stdout goes away (`thrifty generate | head -1`), stop quietly: no EPIPE stack
 * trace, and no more work for output nobody reads.
 */
function exitQuietlyWhenStdoutCloses(): void {
  process.stdout.on('error', (err: NodeJS.ErrnoException) => {
    if (err.code === 'EPIPE') process.exit(typeof process.exitCode === 'number' ? process.exitCode : 0);
    throw err;
  });
}

export async function main(argv: readonly string[]): Promise<void> {
  exitQuietlyWhenStdoutCloses();
  const program = buildProgram();
  try {
    await program.parseAsync(argv as string[]);
  } catch (err) {
    if (err instanceof OutputClosedError) return;
    if (err instanceof CommanderError && COMMANDER_SUCCESS.has(err.code)) {
      process.exitCode = err.exitCode;
      return;
    }
    process.stderr.write(`${formatCliError(err)}\n`);
    process.exitCode = err instanceof CommanderError ? err.exitCode || 1 : 1;
  }
}
