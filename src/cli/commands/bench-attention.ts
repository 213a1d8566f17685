// `thrifty bench attention`: decode attention per step, dense against SparQ (K stored twice and
// once) and the baselines, all on the wasm kernels, each at the settings that move the target
// fraction of dense transfers, with the streaming bandwidth measured in the same run. See
// src/bench/attention.ts.

import type { Command } from 'commander';
import { InvalidArgumentError } from 'commander';
import { parseIntList, parseKvDType, parsePositiveInt, parseSparsePolicies, parseThreads, SPARSE_POLICIES, type SparsePolicy } from '../args.js';
import type { KvDType } from '../../ops/attention-kernels.js';
import { benchGroup } from '../groups.js';

function parseCompressionList(value: string): number[] {
  return value.split(',').map((part) => {
    const text = part.trim();
    const m = /^1\s*\/\s*([0-9]*\.?[0-9]+)$/.exec(text);
    const v = m ? 1 / Number(m[1]) : Number(text);
    if (!(v > 0 && v <= 1) || text === '') {
      throw new InvalidArgumentError(`--compression expects fractions in (0, 1] separated by commas, such as 1/2,1/4,1/8; got '${value}'`);
    }
    return v;
  });
}

function parseGiB(value: string): number {
  const n = Number(value);
  if (!(n > 0)) throw new InvalidArgumentError(`--max-memory-gib expects a positive number, got '${value}'`);
  return n;
}

function parseRecipes(value: string): Array<'even' | 'paper'> {
  return value.split(',').map((part) => {
    const v = part.trim();
    if (v !== 'even' && v !== 'paper') throw new InvalidArgumentError(`--recipe expects paper, even or both (paper,even), got '${value}'`);
    return v;
  });
}

interface BenchAttentionFlags {
  seq: number[];
  headDim: number;
  heads: number;
  kvHeads?: number;
  batch: number[];
  compression: number[];
  recipe: Array<'even' | 'paper'>;
  attention: SparsePolicy[];
  threads?: number[];
  rounds: number;
  maxMemoryGib?: number;
  kvDtype: KvDType[];
  json?: boolean;
}

/** --threads for bench attention: one count or several, each run in the same rounds. */
function parseThreadsList(value: string): number[] {
  const parse = parseThreads('--threads');
  const list = value.split(',').map((part) => parse(part.trim()));
  if (new Set(list).size !== list.length) throw new InvalidArgumentError(`--threads lists each count once, got '${value}'`);
  return list;
}

/** --kv-dtype for bench attention: one or both element types, run in the same rounds. */
function parseKvDTypeList(value: string): KvDType[] {
  const parse = parseKvDType('--kv-dtype');
  const list = value.split(',').map((part) => parse(part.trim()));
  if (new Set(list).size !== list.length) throw new InvalidArgumentError(`--kv-dtype lists each type once, got '${value}'`);
  return list;
}

export function registerBenchAttentionCommand(program: Command): void {
  benchGroup(program)
    .command('attention')
    .description('decode attention per step: dense vs SparQ (K stored twice and once) and the baselines at the same measured transfer ratio, wasm SIMD, with the streaming bandwidth of this machine')
    .option('--seq <list>', 'cached positions per sequence, comma-separated', parseIntList('--seq'), [4096, 16384])
    .option('--head-dim <n>', 'head dimension', parsePositiveInt('--head-dim'), 128)
    .option('--heads <n>', 'query heads', parsePositiveInt('--heads'), 32)
    .option('--kv-heads <n>', 'KV heads (default: --heads, i.e. multi-head attention)', parsePositiveInt('--kv-heads'))
    .option('--batch <list>', 'sequences decoded together, comma-separated', parseIntList('--batch'), [1])
    .option('--compression <list>', 'target fractions of dense transfers, comma-separated (each policy solved for them)', parseCompressionList, [1 / 2, 1 / 4, 1 / 8])
    .option('--recipe <list>', "how a ratio sets SparQ's (r, k, l): 'paper' (k = 128, l = 32, r in {8, 16, 32, 64}), 'even' (r = d/R, k = S/2R, l = k/4), or both", parseRecipes, ['paper', 'even'])
    .option('--attention <list>', 'policies compared with dense, comma-separated', parseSparsePolicies, [...SPARSE_POLICIES])
    .option('--threads <list>', 'threads including the main one (default: all cores); a list (1,2) runs each count in the same rounds', parseThreadsList)
    .option('--rounds <n>', 'timed rounds per configuration (medians are reported)', parsePositiveInt('--rounds'), 7)
    .option('--max-memory-gib <x>', 'skip configurations whose KV cache needs more (default: min(6, 60% of free memory))', parseGiB)
    .option('--kv-dtype <list>', 'KV cache element types, comma-separated (f32,f16: both caches, same values, same rounds)', parseKvDTypeList, ['f16'])
    .option('--json', 'one JSON object per line instead of a table')
    .action(async (opts: BenchAttentionFlags) => {
      const { benchAttention } = await import('../../bench/attention.js');
      await benchAttention({
        seq: opts.seq,
        headDim: opts.headDim,
        heads: opts.heads,
        batch: opts.batch,
        compression: opts.compression,
        recipes: opts.recipe,
        attention: opts.attention,
        rounds: opts.rounds,
        kvDType: opts.kvDtype,
        json: opts.json ?? false,
        log: (line) => process.stdout.write(`${line}\n`),
        ...(opts.kvHeads !== undefined ? { kvHeads: opts.kvHeads } : {}),
        ...(opts.threads !== undefined ? { threads: opts.threads } : {}),
        ...(opts.maxMemoryGib !== undefined ? { maxMemoryBytes: opts.maxMemoryGib * 2 ** 30 } : {}),
      });
    });
}
