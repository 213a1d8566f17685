// The `thrifty` command line. Each command lives in its own module and is loaded on demand, so
// `thrifty --help` starts fast and a command pulls in only what it needs.

import { Command, InvalidArgumentError } from 'commander';

export function parsePositiveInt(flag: string): (value: string) => number {
  return (value) => {
    const n = Number(value);
    if (!Number.isInteger(n) || n <= 0) throw new InvalidArgumentError(`${flag} expects a positive integer, got '${value}'`);
    return n;
  };
}

export function parseIntList(flag: string): (value: string) => number[] {
  return (value) =>
    value.split(',').map((part) => {
      const n = Number(part.trim());
      if (!Number.isInteger(n) || n <= 0) throw new InvalidArgumentError(`${flag} expects positive integers separated by commas, got '${value}'`);
      return n;
    });
}

export function buildProgram(): Command {
  const program = new Command();
  program
    .name('thrifty')
    .description('Efficient transformers in TypeScript: fewer bytes, fewer FLOPs, and what networks learn.')
    .showHelpAfterError()
    .configureHelp({ sortSubcommands: false });

  const bench = program.command('bench').description('benchmarks that compare thrifty with a peer in the same run');
  bench
    .command('matmul')
    .description('f32 matmul and gemv: reference vs wasm SIMD vs onnxruntime-node (GFLOP/s, GB/s, ratio to the peer)')
    .option('--json', 'one JSON object per line instead of a table')
    .option('--threads <list>', 'thread counts to run, e.g. 1,2 (default: 1 and all cores)', parseIntList('--threads'))
    .option('--repeats <n>', 'timed runs per case (median reported)', parsePositiveInt('--repeats'))
    .action(async (opts: { json?: boolean; threads?: number[]; repeats?: number }) => {
      const { runMatmulBench } = await import('./bench.js');
      await runMatmulBench(opts);
    });
  bench
    .command('memory')
    .description('SIMD streaming-read bandwidth, the ceiling for memory-bound kernels (GB/s)')
    .option('--json', 'one JSON object per line instead of a table')
    .option('--threads <list>', 'thread counts to run (default: 1 and all cores)', parseIntList('--threads'))
    .option('--mib <n>', 'buffer size in MiB', parsePositiveInt('--mib'))
    .action(async (opts: { json?: boolean; threads?: number[]; mib?: number }) => {
      const { runMemoryBench } = await import('./bench.js');
      await runMemoryBench(opts);
    });

  program
    .command('info')
    .description('the engine in use: backend, SIMD flavour, threads, memory arenas')
    .option('--threads <n>', 'worker threads (default: all cores)', parsePositiveInt('--threads'))
    .action(async (opts: { threads?: number }) => {
      const { runInfo } = await import('./info.js');
      await runInfo(opts);
    });
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
