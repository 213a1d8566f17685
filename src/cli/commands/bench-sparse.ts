// `thrifty bench sparse`: the wasm block-sparse products of a BERT-mini-shaped layer against the
// dense wasm matmul in the same run (time, useful GFLOP/s, eps), and the cost of a pattern update.
// See src/bench/sparse.ts for the method.

import { InvalidArgumentError, type Command } from 'commander';
import type { ActivationPlacement, RebuildRow, SparseBenchRow } from '../../bench/sparse.js';
import { parseIntList, parsePositiveInt } from '../args.js';
import { benchGroup } from '../groups.js';

interface BenchSparseFlags {
  tokens?: number;
  threads: number;
  repeats?: number;
  blocks?: number[];
  densities?: number[];
  relaxed: boolean;
  quick: boolean;
  json: boolean;
  record?: string;
  placements?: ActivationPlacement[];
}

function parsePlacements(value: string): ActivationPlacement[] {
  return value.split(',').map((part) => {
    const p = part.trim();
    if (p !== 'host' && p !== 'resident') throw new InvalidArgumentError(`--placements expects host and/or resident separated by commas, got '${value}'`);
    return p;
  });
}

function parseDensities(value: string): number[] {
  return value.split(',').map((part) => {
    const x = Number(part.trim());
    if (!(x > 0 && x <= 1)) throw new InvalidArgumentError(`--densities expects numbers in (0, 1] separated by commas, got '${value}'`);
    return x;
  });
}

/** The human table: pattern updates, then one line per block size, density and pass. */
export function formatSparseBench(rebuild: readonly RebuildRow[], rows: readonly SparseBenchRow[]): string {
  const lines = ['pattern update of one weight W [1024, 256] (median ms): block, density, active blocks, CSR rebuild from a mask, whole update (pr 0.5, values + 2 moments), its CPU time'];
  for (const r of rebuild) lines.push(`  ${`${r.block}x${r.block}`.padEnd(5)} ${r.density.toFixed(3)} ${String(r.activeBlocks).padStart(7)}  ${r.msRebuild.toFixed(3)}  ${r.msUpdate.toFixed(3)}  ${r.msUpdateCpu.toFixed(3)}`);
  const first = rows[0];
  if (first) {
    lines.push(`products, ${first.tokens} tokens, W [${first.outFeatures}, ${first.inFeatures}], ${first.threads} thread(s); eps = (t_sparse / FLOP_sparse) / (t_dense / FLOP_dense), goal at density 0.1: <= 2 (1x1), <= 1.2 (16x16)`);
    lines.push('  (eps cpu: the same ratio from the process CPU time of each call, which other processes on a shared machine do not inflate)');
    lines.push('  (activations: host = plain arrays every call copies in and out; resident = in wasm memory, as in training)');
    lines.push('  activations block density pass       |  ms sparse   ms dense | GFLOP/s sparse  dense |   eps | eps cpu | speedup');
    for (const r of rows) {
      lines.push(`  ${r.placement.padEnd(11)} ${`${r.block}x${r.block}`.padEnd(5)} ${r.density.toFixed(3).padStart(7)} ${r.pass.padEnd(10)} | ${r.msSparse.toFixed(3).padStart(10)} ${r.msDense.toFixed(3).padStart(10)} | ${r.gflopsSparse.toFixed(1).padStart(14)} ${r.gflopsDense.toFixed(1).padStart(6)} | ${r.eps.toFixed(2).padStart(5)} | ${r.epsCpu.toFixed(2).padStart(7)} | ${r.speedup.toFixed(2).padStart(6)}x`);
    }
  }
  return `${lines.join('\n')}\n`;
}

export function registerBenchSparseCommand(program: Command): void {
  benchGroup(program)
    .command('sparse')
    .description('block-sparse products (forward, both backward products, the step) against the dense wasm matmul, and pattern-update cost')
    .option('--tokens <n>', 'tokens of the activations (default 1024; --quick 256)', parsePositiveInt('--tokens'))
    .option('--threads <n>', 'threads of the wasm kernels', parsePositiveInt('--threads'), 1)
    .option('--repeats <n>', 'timed rounds (default 7; --quick 3)', parsePositiveInt('--repeats'))
    .option('--blocks <list>', 'block sizes (default 1,4,8,16)', parseIntList('--blocks'))
    .option('--densities <list>', 'densities (default 0.5,0.25,0.1)', parseDensities)
    .option('--placements <list>', 'where the activations live: host (plain arrays, copied in and out), resident (wasm memory, as in training) (default host,resident)', parsePlacements)
    .option('--relaxed', 'relaxed SIMD kernels', false)
    .option('--quick', 'fewer tokens and rounds', false)
    .option('--json', 'one JSON object per line (kind rebuild or product) instead of a table', false)
    .option('--record <file>', 'also write the results as one JSON record (date, load, settings, rows) for the docs tables')
    .action(async (flags: BenchSparseFlags) => {
      const { benchPatternRebuild, benchSparse } = await import('../../bench/sparse.js');
      for (const b of flags.blocks ?? []) if (256 % b !== 0) throw new Error(`--blocks: ${b} does not divide the layer's 256 input features`);
      const repeats = flags.repeats ?? (flags.quick ? 3 : 7);
      const rebuild = benchPatternRebuild({ repeats, ...(flags.blocks ? { blocks: flags.blocks } : {}) });
      const rows = await benchSparse({
        tokens: flags.tokens ?? (flags.quick ? 256 : 1024),
        threads: flags.threads,
        repeats,
        relaxedSimd: flags.relaxed,
        ...(flags.blocks ? { blocks: flags.blocks } : {}),
        ...(flags.densities ? { densities: flags.densities } : {}),
        ...(flags.placements ? { placements: flags.placements } : {}),
      });
      if (flags.record) {
        const { loadavg } = await import('node:os');
        const { writeFileAtomic } = await import('../../node/files.js');
        const record = {
          kind: 'bench-sparse', date: new Date().toISOString(), loadAverage: loadavg().map((x) => +x.toFixed(2)),
          command: ['npx', 'thrifty', 'bench', 'sparse', ...process.argv.slice(4)].join(' '),
          tokens: rows[0]?.tokens ?? null, threads: flags.threads, repeats, rebuild, products: rows,
        };
        await writeFileAtomic(flags.record, `${JSON.stringify(record, null, 2)}\n`);
      }
      if (flags.json) {
        for (const r of rebuild) process.stdout.write(`${JSON.stringify({ kind: 'rebuild', ...r })}\n`);
        for (const r of rows) process.stdout.write(`${JSON.stringify({ kind: 'product', ...r })}\n`);
      } else {
        process.stdout.write(formatSparseBench(rebuild, rows));
      }
    });
}
