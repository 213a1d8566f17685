// `thrifty bench decode`: end-to-end decode tokens/s of a Llama-shaped model (random weights,
// written as GGUF), dense against SparQ, and llama.cpp on the same file when node-llama-cpp is
// installed. See src/bench/decode.ts for the method.

import type { Command } from 'commander';
import { parseCompression } from '../../attention/planner.js';
import { parseIntList, parseKvDType, parsePositiveInt, parseSparsePolicies, parseThreads, type SparsePolicy } from '../args.js';
import type { KvDType } from '../../ops/attention-kernels.js';
import { benchGroup } from '../groups.js';

interface BenchDecodeFlags {
  seq: number[];
  batch: number[];
  hidden: number;
  heads: number;
  layers: number;
  intermediate: number;
  vocabSize: number;
  compression: number;
  attention: SparsePolicy[];
  steps: number;
  rounds: number;
  prefill: string;
  peer: boolean;
  llamaState?: string;
  gguf?: string;
  format: string;
  threads?: number;
  kvDtype: KvDType;
  json: boolean;
}

export function registerBenchDecodeCommand(program: Command): void {
  benchGroup(program)
    .command('decode')
    .description('end-to-end decode tokens/s after long prefills: dense vs SparQ, and llama.cpp (node-llama-cpp) on the same GGUF')
    .option('--seq <list>', 'cached positions before decoding', parseIntList('--seq'), [4096, 16384])
    .option('--batch <list>', 'sequences decoded together (llama.cpp: batch 1 only)', parseIntList('--batch'), [1])
    .option('--hidden <n>', 'd_model (2048 for a model twice as wide)', parsePositiveInt('--hidden'), 1024)
    .option('--heads <n>', 'attention heads (head dim = hidden / heads)', parsePositiveInt('--heads'), 8)
    .option('--layers <n>', 'transformer blocks', parsePositiveInt('--layers'), 8)
    .option('--intermediate <n>', 'SwiGLU hidden width', parsePositiveInt('--intermediate'), 2816)
    .option('--vocab-size <n>', 'vocabulary size', parsePositiveInt('--vocab-size'), 8192)
    .option('--compression <ratio>', 'target fraction of dense attention transfers (SparQ: paper recipe; baselines: k solved)', (v: string) => parseCompression(v), 1 / 8)
    .option('--attention <list>', 'policies run against dense, comma-separated', parseSparsePolicies, ['sparq'])
    .option('--steps <n>', 'timed decode steps per engine and round', parsePositiveInt('--steps'), 8)
    .option('--rounds <n>', 'rounds (dense and SparQ alternate)', parsePositiveInt('--rounds'), 3)
    .option('--prefill <mode>', 'synthetic (random cache contents) or real (run the prompt through the model)', 'synthetic')
    .option('--no-peer', 'leave out llama.cpp')
    .option('--llama-state <dir>', "save llama.cpp's state after its prefill in this folder, and load it in later runs of the same shape and length")
    .option('--format <type>', 'storage of the matrices in the GGUF: F32, F16, BF16, Q8_0 or Q4_0', 'F32')
    .option('--gguf <file>', 'where to write (or reuse) the random-weight GGUF (default: the temp folder)')
    .option('--threads <n>', 'threads including the main one (default: all cores)', parseThreads('--threads'))
    .option('--kv-dtype <type>', "thrifty's KV cache elements: f16 (default, as llama.cpp's) or f32", parseKvDType(), 'f16')
    .option('--json', 'one JSON object per line instead of a table', false)
    .action(async (flags: BenchDecodeFlags) => {
      if (flags.prefill !== 'synthetic' && flags.prefill !== 'real') throw new Error(`--prefill expects synthetic or real, got '${flags.prefill}'`);
      const { benchDecode, BENCH_WEIGHT_FORMATS } = await import('../../bench/decode.js');
      const format = BENCH_WEIGHT_FORMATS.find((f) => f === flags.format);
      if (!format) throw new Error(`--format expects one of ${BENCH_WEIGHT_FORMATS.join(', ')}, got '${flags.format}'`);
      await benchDecode({
        seq: flags.seq,
        batch: flags.batch,
        hiddenSize: flags.hidden,
        heads: flags.heads,
        layers: flags.layers,
        intermediateSize: flags.intermediate,
        vocabSize: flags.vocabSize,
        compression: flags.compression,
        attention: flags.attention,
        steps: flags.steps,
        rounds: flags.rounds,
        prefill: flags.prefill,
        peer: flags.peer,
        format,
        ...(flags.gguf !== undefined ? { ggufPath: flags.gguf } : {}),
        ...(flags.llamaState !== undefined ? { llamaStateDir: flags.llamaState } : {}),
        ...(flags.threads !== undefined ? { threads: flags.threads } : {}),
        kvDType: flags.kvDtype,
        json: flags.json,
        log: (line) => process.stdout.write(`${line}\n`),
      });
    });
}
