// `thrifty bench matmul` and `thrifty bench memory`: the engine's compute and bandwidth ceilings,
// each against its peer in the same run (onnxruntime-node's MatMul; the plain-JS loop).

import type { Command } from 'commander';
import { parseIntList, parsePositiveInt } from '../args.js';
import { benchGroup } from '../groups.js';

const print = (line: string): void => {
  process.stdout.write(`${line}\n`);
};

export function registerBenchCommands(program: Command): void {
  const bench = benchGroup(program);
  bench
    .command('matmul')
    .description('f32 matmul and gemv: reference vs wasm SIMD vs onnxruntime-node (GFLOP/s, GB/s, ratio to the peer); gemv with W stored as Q8_0, Q4_0, F16, BF16 (GB/s of stored bytes, speed vs the f32 gemv)')
    .option('--json', 'one JSON object per line instead of a table')
    .option('--threads <list>', 'thread counts to run, e.g. 1,2 (default: 1 and all cores)', parseIntList('--threads'))
    .option('--repeats <n>', 'timed runs per case (median reported)', parsePositiveInt('--repeats'))
    .option('--no-reference', 'skip the slow plain-JS reference rows')
    .action(async (opts: { json?: boolean; threads?: number[]; repeats?: number; reference: boolean }) => {
      const { benchMatmul } = await import('../../bench/matmul.js');
      await benchMatmul({ json: opts.json ?? false, threads: opts.threads, repeats: opts.repeats, reference: opts.reference, log: print });
    });
  bench
    .command('memory')
    .description('SIMD streaming-read bandwidth, the ceiling for memory-bound kernels (GB/s)')
    .option('--json', 'one JSON object per line instead of a table')
    .option('--threads <list>', 'thread counts to run (default: 1 and all cores)', parseIntList('--threads'))
    .option('--mib <n>', 'buffer size in MiB (default 512)', parsePositiveInt('--mib'))
    .action(async (opts: { json?: boolean; threads?: number[]; mib?: number }) => {
      const { benchMemory } = await import('../../bench/memory.js');
      await benchMemory({ json: opts.json ?? false, threads: opts.threads, mib: opts.mib, log: print });
    });
}
