// `thrifty info`: which engine this machine gets.

import type { Command } from 'commander';
import { parseThreads } from '../args.js';

export function registerInfoCommand(program: Command): void {
  program
    .command('info')
    .description('the engine in use: backend, SIMD flavour, threads, memory arenas')
    .option('--threads <n>', 'threads including the main one (default: all cores)', parseThreads('--threads'))
    .option('--no-relaxed-simd', 'use plain SIMD even where relaxed SIMD (FMA) is available')
    .action(async (opts: { threads?: number; relaxedSimd: boolean }) => {
      const { initNodeBackend } = await import('../../node/backend.js');
      const { availableParallelism } = await import('node:os');
      const engine = await initNodeBackend({ threads: opts.threads, relaxedSimd: opts.relaxedSimd ? 'auto' : false });
      try {
        const info = {
          backend: engine.backend.name,
          description: engine.description,
          threads: engine.wasm.threads,
          cores: availableParallelism(),
          node: process.version,
          arenas: engine.wasm.arenas.arenas.length,
        };
        process.stdout.write(`${JSON.stringify(info, null, 2)}\n`);
      } finally {
        engine.dispose();
      }
    });
}
