// End-to-end decode benchmark: tokens per second of a Llama-shaped model with random weights,
// written by thrifty as a GGUF file, decoding after S cached positions: thrifty with dense
// attention against thrifty with SparQ (K stored twice), and llama.cpp (node-llama-cpp, the
// optional peer) on the same GGUF.
//
// Method. thrifty loads the GGUF through the same path as `thrifty generate` (weights in wasm
// arenas). Its KV caches are filled with S random positions per sequence ("synthetic prefill":
// a decode step costs the same whatever the cached values, and a real prefill of 16k tokens takes
// minutes on two cores); --prefill real runs the prompt through the model instead. Then every
// decode step runs the whole model: embeddings, all layers, attention through the policy, the
// output layer and sampling. Dense and SparQ alternate per round (the VM is noisy) and rows report
// medians of ms per step. llama.cpp must really prefill S tokens before it decodes; with
// --llama-state DIR its sequence state after that prefill is saved there and later runs at the same
// shape and length load it instead (65,536 positions take ~10 minutes to prefill on two cores). The
// KV cache's shape and type (f16) do not depend on the weights' format, so one saved prefill serves
// every format; a decode step costs the same whatever the cached values, as for thrifty.
// theoreticalSpeedup: (weights + dense cache bytes) / (weights + SparQ cache bytes) per step, from
// the policies' transfer counters.
//
// --format writes the matrices as F32 (default), F16, BF16, Q8_0 or Q4_0; thrifty keeps them in that
// format (quantizedLayout) and llama.cpp reads the same file.
//
// Usage: thrifty bench decode [--seq 4096,16384] [--batch 1] [--hidden 1024 --heads 8 --layers 8]
//        [--format F32] [--compression 1/8] [--steps 8] [--rounds 3] [--json] [--no-peer]
//        [--llama-state DIR]

import { freemem, tmpdir } from 'node:os';
import { join } from 'node:path';
import { mkdir, rename, rm, stat } from 'node:fs/promises';

import { attentionSpecFromSettings, formatRatio } from '../attention/planner.js';
import type { AttentionSpec } from '../attention/policy.js';
import { WasmAttention } from '../backend/wasm/attention.js';
import { Generator } from '../generate/generator.js';
import { ggufValue, type GgmlType, type GgufValue } from '../io/gguf-format.js';
import type { GgufTensorInput } from '../io/gguf-write.js';
import { kvElementBytes, type KvDType } from '../ops/attention-kernels.js';
import { QUANT_BLOCK, isQuantFormat } from '../ops/quant-kernels.js';
import { llamaConfig, llmConfigToGgufMetadata, type LlmConfig } from '../models/llm-config.js';
import { createCausalLM, loadCausalLM } from '../models/load-llm.js';
import { initNodeBackend } from '../node/backend.js';
import { writeGgufFile } from '../node/file-source.js';
import { loadModelFiles } from '../node/model-files.js';
import { Rng } from '../tensor/rng.js';
import { median } from './stats.js';

export interface DecodeBenchOptions {
  /** Cached positions before decoding (default [4096, 16384]). */
  seq?: readonly number[];
  /** Sequences decoded together by thrifty (default [1]; llama.cpp runs batch 1 only). */
  batch?: readonly number[];
  hiddenSize?: number;
  heads?: number;
  layers?: number;
  intermediateSize?: number;
  vocabSize?: number;
  /** The target fraction of dense attention transfers (default 1/8): SparQ by the paper's recipe, the baselines' k solved. */
  compression?: number;
  /** Policies run against dense (default ['sparq']). */
  attention?: readonly DecodePolicy[];
  /** Timed decode steps per engine and round (default 8). */
  steps?: number;
  /** Rounds; dense and SparQ alternate (default 3). */
  rounds?: number;
  threads?: number;
  /** KV cache element type of every thrifty engine (default 'f16', the wasm backend's). */
  kvDType?: KvDType;
  /** 'synthetic' (default): random cache contents; 'real': prefill through the model. */
  prefill?: 'synthetic' | 'real';
  /** Include llama.cpp when node-llama-cpp is installed (default true). */
  peer?: boolean;
  /** A folder where llama.cpp's state after its prefill is saved, and loaded by later runs of the same shape and length. */
  llamaStateDir?: string;
  /** The llama.cpp binding (default: node-llama-cpp when installed; tests pass a stand-in). */
  llamaCpp?: LlamaCppModule;
  /** Storage of the model's matrices in the GGUF (default 'F32'): F32, F16, BF16, Q8_0 or Q4_0. */
  format?: BenchWeightFormat;
  /** Where the GGUF goes (default: the system temp folder, reused when present). */
  ggufPath?: string;
  /** Skip sizes needing more (default: 70% of free memory). */
  maxMemoryBytes?: number;
  json?: boolean;
  log?: (line: string) => void;
}

export const BENCH_WEIGHT_FORMATS = ['F32', 'F16', 'BF16', 'Q8_0', 'Q4_0'] as const;
export type BenchWeightFormat = (typeof BENCH_WEIGHT_FORMATS)[number];

/** Bytes per weight of a format (Q8_0: 34 bytes per 32). */
function bytesPerWeight(format: BenchWeightFormat): number {
  if (!isQuantFormat(format)) return 4;
  const { elements, bytes } = QUANT_BLOCK[format];
  return bytes / elements;
}

/** Policies besides dense that bench decode can run (all at the same target ratio). */
export type DecodePolicy = 'sparq' | 'h2o' | 'lm-infinite' | 'flexgen' | 'oracle';

export interface DecodeBenchRow {
  engine: 'thrifty-dense' | `thrifty-${DecodePolicy}` | 'llama.cpp';
  seq: number;
  batch: number;
  /** Tokens generated per second over all sequences (median step). */
  tokensPerSecond: number;
  /** Median ms per decode step. */
  msPerStep: number;
  /** tokens/s over thrifty-dense's in the same run. */
  speedupVsDense: number | null;
  /** Model bytes moved per step (weights + KV cache) dense / this engine, from the transfer counts. */
  theoreticalSpeedup: number | null;
  /** tokens/s over llama.cpp's (batch 1), null without the peer. */
  ratioToLlamaCpp: number | null;
  /** The policy's settings, or null. */
  rank: number | null;
  topK: number | null;
  localWindow: number | null;
  /** Attention transfers of this engine over dense's (counted). */
  attentionRatio: number | null;
  /** llama.cpp: 'real', or 'saved' (the state of an earlier real prefill, loaded). */
  prefill: 'synthetic' | 'real' | 'saved';
  /** thrifty's KV cache element type (llama.cpp: its default, f16). */
  kvDType: KvDType;
  /** KV-cache bytes moved per decode step and sequence (counted; null for llama.cpp). */
  attentionBytesPerStep: number | null;
  /** Seconds to fill the cache (synthetic) or run the prompt (real). */
  prefillSeconds: number | null;
  threads: number;
}


/** The bench vocabulary's fixed tokens: unk, BOS, EOS, 256 byte tokens and the dummy-prefix space. */
export const BENCH_MIN_VOCAB = 3 + 256 + 1;

function checkBenchVocabSize(size: number): void {
  if (!(size >= BENCH_MIN_VOCAB)) throw new Error(`--vocab-size ${size}: the bench vocabulary needs at least ${BENCH_MIN_VOCAB} tokens (unk, BOS, EOS, 256 byte tokens, the space)`);
}

/** A SentencePiece-style vocabulary (unk, BOS, EOS, 256 byte tokens, fillers) llama.cpp accepts. */
function benchVocabulary(size: number): Array<[string, GgufValue]> {
  const tokens = ['<unk>', '<s>', '</s>'];
  const types = [2, 3, 3];
  for (let b = 0; b < 256; b++) {
    tokens.push(`<0x${b.toString(16).toUpperCase().padStart(2, '0')}>`);
    types.push(6);
  }
  tokens.push('\u2581'); // the dummy-prefix space
  types.push(1);
  for (let i = tokens.length; i < size; i++) {
    tokens.push(`\u2581t${i}`);
    types.push(1);
  }
  return [
    ['tokenizer.ggml.model', ggufValue.string('llama')],
    ['tokenizer.ggml.tokens', ggufValue.strings(tokens)],
    ['tokenizer.ggml.scores', ggufValue.f32s(tokens.map((_, i) => -i))],
    ['tokenizer.ggml.token_type', ggufValue.i32s(types)],
    ['tokenizer.ggml.unknown_token_id', ggufValue.u32(0)],
  ];
}

/**
 * Writes the model with random weights (U(-0.05, 0.05); matrices in `format`, norms f32), unless the
 * file exists. It is written under a temporary name and renamed, so a failed or interrupted write
 * leaves no file to be reused.
 */
export async function writeBenchGguf(path: string, config: LlmConfig, seed = 1, format: GgmlType = 'F32'): Promise<void> {
  checkBenchVocabSize(config.vocabSize);
  if (await stat(path).catch(() => null)) return;
  const rng = new Rng(seed);
  const shapes = createCausalLM(config).stateDict();
  const ggufName = (name: string): string => {
    const fixed: Record<string, string> = { 'model.embed_tokens.weight': 'token_embd.weight', 'model.norm.weight': 'output_norm.weight', 'lm_head.weight': 'output.weight' };
    if (fixed[name]) return fixed[name];
    const m = /^model\.layers\.(\d+)\.(.+)$/.exec(name);
    const block: Record<string, string> = {
      'input_layernorm.weight': 'attn_norm.weight', 'self_attn.q_proj.weight': 'attn_q.weight', 'self_attn.k_proj.weight': 'attn_k.weight',
      'self_attn.v_proj.weight': 'attn_v.weight', 'self_attn.o_proj.weight': 'attn_output.weight', 'post_attention_layernorm.weight': 'ffn_norm.weight',
      'mlp.gate_proj.weight': 'ffn_gate.weight', 'mlp.up_proj.weight': 'ffn_up.weight', 'mlp.down_proj.weight': 'ffn_down.weight',
    };
    if (m && block[m[2]!]) return `blk.${m[1]}.${block[m[2]!]}`;
    throw new Error(`no GGUF name for ${name}`);
  };
  const tensors: GgufTensorInput[] = [...shapes].map(([name, t]) => ({
    name: ggufName(name),
    shape: t.shape,
    type: t.shape.length === 2 ? format : 'F32',
    data: () => {
      const values = new Float32Array(t.size);
      if (name.endsWith('norm.weight')) values.fill(1);
      else for (let i = 0; i < values.length; i++) values[i] = (rng.uniform() - 0.5) * 0.1;
      return values;
    },
  }));
  const partial = `${path}.${process.pid}.partial`;
  try {
    await writeGgufFile(partial, { metadata: [...llmConfigToGgufMetadata(config, 'thrifty bench decode (random weights)'), ...benchVocabulary(config.vocabSize)], tensors });
    await rename(partial, path);
  } finally {
    await rm(partial, { force: true });
  }
}

/** The shape of node-llama-cpp 3.x used here (the package is an optional peer). */
export interface LlamaCppModule {
  getLlama(options?: { gpu?: false; logLevel?: string }): Promise<{
    loadModel(options: { modelPath: string; gpuLayers?: number }): Promise<{
      createContext(options: { contextSize: number; threads?: number; batchSize?: number; sequences?: number }): Promise<{
        getSequence(): {
          evaluateWithoutGeneratingNewTokens(tokens: number[]): Promise<void>;
          evaluate(tokens: number[], options?: { temperature?: number }): AsyncGenerator<number, void, number | undefined>;
          saveStateToFile(filePath: string): Promise<{ fileSize: number }>;
          loadStateFromFile(filePath: string, acceptRisk: { acceptRisk: true }): Promise<void>;
          readonly contextTokens: readonly number[];
        };
        dispose(): Promise<void>;
      }>;
      dispose(): Promise<void>;
    }>;
    dispose(): Promise<void>;
  }>;
}

async function loadLlamaCpp(): Promise<LlamaCppModule | null> {
  try {
    const name = 'node-llama-cpp';
    return (await import(name)) as LlamaCppModule;
  } catch {
    return null;
  }
}

/**
 * llama.cpp: prefill `seq` tokens (or load the state a run with `statePath` saved after its
 * prefill), then time each of `steps` greedy decode steps.
 */
async function runLlamaCpp(module: LlamaCppModule, path: string, seq: number, steps: number, threads: number, vocab: number,
  statePath: string | null, say: (note: string) => void): Promise<{ msPerStep: number; prefillSeconds: number; prefill: 'real' | 'saved' }> {
  const llama = await module.getLlama({ gpu: false, logLevel: 'error' });
  const model = await llama.loadModel({ modelPath: path, gpuLayers: 0 });
  const context = await model.createContext({ contextSize: seq + steps + 8, threads, batchSize: 512 });
  try {
    const sequence = context.getSequence();
    const rng = new Rng(7);
    const prompt = Array.from({ length: seq }, () => 3 + rng.int(vocab - 3));
    const t0 = performance.now();
    let prefill: 'real' | 'saved' = 'real';
    if (statePath !== null && await stat(statePath).then(() => true, () => false)) {
      await sequence.loadStateFromFile(statePath, { acceptRisk: true });
      const tokens = sequence.contextTokens;
      if (tokens.length !== seq - 1 || tokens.some((t, i) => t !== prompt[i])) {
        throw new Error(`${statePath}: holds ${tokens.length} tokens that are not this run's prompt of ${seq - 1}; delete it to prefill again`);
      }
      prefill = 'saved';
      say(`llama.cpp at ${seq}: cache loaded from ${statePath} (saved after a real prefill)`);
    } else {
      await sequence.evaluateWithoutGeneratingNewTokens(prompt.slice(0, seq - 1));
      if (statePath !== null) {
        const partial = `${statePath}.partial`;
        await sequence.saveStateToFile(partial);
        await rename(partial, statePath);
        say(`llama.cpp at ${seq}: state after the prefill saved to ${statePath}`);
      }
    }
    const prefillSeconds = (performance.now() - t0) / 1000;
    const times: number[] = [];
    let last = performance.now();
    let produced = 0;
    for await (const _token of sequence.evaluate([prompt[seq - 1]!], { temperature: 0 })) {
      const now = performance.now();
      if (produced > 0) times.push(now - last); // the first token also finishes the prefill
      last = now;
      if (++produced > steps) break;
    }
    return { msPerStep: median(times), prefillSeconds, prefill };
  } finally {
    await context.dispose();
    await model.dispose();
    await llama.dispose();
  }
}

export async function benchDecode(options: DecodeBenchOptions = {}): Promise<DecodeBenchRow[]> {
  const log = options.log ?? ((line: string) => console.log(line));
  const say = (note: string): void => log(options.json ? JSON.stringify({ note }) : `# ${note}`);
  const seqs = options.seq ?? [4096, 16384];
  const batches = options.batch ?? [1];
  const heads = options.heads ?? 8;
  const hiddenSize = options.hiddenSize ?? 1024;
  checkBenchVocabSize(options.vocabSize ?? 8192);
  const config = llamaConfig({
    vocabSize: options.vocabSize ?? 8192,
    hiddenSize,
    intermediateSize: options.intermediateSize ?? 2816,
    numLayers: options.layers ?? 8,
    numHeads: heads,
    // Fixed up to 32k, so runs with other --seq lists reuse the same GGUF.
    maxPositions: Math.max(32768, ...seqs) + 1024,
    ropeLayout: 'interleaved',
    tieWordEmbeddings: false,
    bosTokenId: 1,
    eosTokenId: 2,
  });
  const steps = options.steps ?? 8;
  const rounds = options.rounds ?? 3;
  const kvDType = options.kvDType ?? 'f16';
  const compression = options.compression ?? 1 / 8;
  const policies = options.attention ?? ['sparq'];
  const prefillMode = options.prefill ?? 'synthetic';
  const maxMemory = options.maxMemoryBytes ?? 0.7 * freemem();
  const format = options.format ?? 'F32';
  const formatTag = format === 'F32' ? '' : `-${format}`;
  const path = options.ggufPath ?? join(tmpdir(), `thrifty-bench-decode-${config.hiddenSize}x${config.numLayers}-${config.numHeads}h-${config.intermediateSize}-${config.vocabSize}-ctx${config.maxPositions}${formatTag}.gguf`);
  // Weights read per decode step: the matrices in their format (but one row of the embedding
  // table, which thrifty keeps in f32), the norms in f32.
  const normParams = (2 * config.numLayers + 1) * config.hiddenSize;
  const matrixParams = createCausalLM(config).numParameters() - normParams - config.vocabSize * config.hiddenSize;
  const weightBytes = matrixParams * bytesPerWeight(format) + (normParams + config.hiddenSize) * 4;

  await writeBenchGguf(path, config, 1, format);
  const engine = await initNodeBackend({ threads: options.threads });
  const threads = engine.wasm.threads;
  const peer = options.peer === false ? null : options.llamaCpp ?? await loadLlamaCpp();
  const rows: DecodeBenchRow[] = [];
  try {
    say(`node ${process.versions.node}, ${engine.description}; Llama-shaped model, random ${format} weights (${(weightBytes / 2 ** 20).toFixed(0)} MiB read per step): d_model ${hiddenSize}, `
      + `${config.numLayers} layers, ${heads} heads of ${config.headDim}, FFN ${config.intermediateSize}, vocab ${config.vocabSize}; GGUF ${path}`);
    say(`${prefillMode} prefill; ${steps} decode steps x ${rounds} rounds per engine, medians; ${policies.join(', ')} at ${formatRatio(compression)} `
      + `of dense attention transfers (SparQ by the paper recipe, K stored twice; baselines: k solved), all on the wasm kernels, ${kvDType} KV cache`);
    if (!peer && options.peer !== false) say('llama.cpp skipped: node-llama-cpp is not installed (npm run bench:peers installs it)');
    // A default-path GGUF that does not load is stale or bad: remove it so the next run rewrites it.
    const files = await loadModelFiles(path).catch(async (error: unknown) => {
      if (options.ggufPath === undefined) await rm(path, { force: true });
      throw error;
    });
    const model = await loadCausalLM(files.config, files.weights, { alloc: (n) => engine.wasm.allocF32(n), trainable: false });
    await files.close();
    const kernels = new WasmAttention(engine.wasm);
    if (!options.json) {
      log('| seq | batch | engine | tokens/s | ms/step | vs dense | theoretical | vs llama.cpp | r | k | l |');
      log('|---:|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|');
    }
    for (const seq of seqs) {
      for (const batch of batches) {
        // Caches: dense K+V, SparQ K twice + V, the baselines K+V, over all layers and sequences.
        const cacheBytes = (5 + 2 * policies.filter((p) => p !== 'sparq').length) * batch * seq * config.numLayers * config.numKvHeads * config.headDim * kvElementBytes(kvDType);
        if (weightBytes + cacheBytes > maxMemory) {
          say(`seq ${seq} batch ${batch} skipped: needs ~${((weightBytes + cacheBytes) / 2 ** 30).toFixed(1)} GiB, over the limit of ${(maxMemory / 2 ** 30).toFixed(1)} GiB`);
          continue;
        }
        const engines: Array<{ name: DecodeBenchRow['engine']; spec: AttentionSpec; generator: Generator }> = [
          { name: 'thrifty-dense', spec: { kind: 'dense' }, generator: new Generator(model, { attention: { kind: 'dense' }, sequences: batch, kernels, initialCapacity: seq + 64, kvDType }) },
        ];
        for (const policy of policies) {
          let spec: AttentionSpec;
          try {
            spec = policy === 'sparq' ? sparqSpecFor(compression, config.headDim, seq, say)
              : attentionSpecFromSettings({ attention: policy, compression }, { headDim: config.headDim, seqLen: seq });
          } catch (err) {
            say(`seq ${seq}: ${(err as Error).message}; ${policy} skipped`);
            continue;
          }
          engines.push({
            name: `thrifty-${policy}`, spec,
            generator: new Generator(model, { attention: spec, sequences: batch, kernels, initialCapacity: seq + 64, storeKTransposed: policy === 'sparq', kvDType }),
          });
        }
        const times = new Map<string, number[]>(engines.map((e) => [e.name, []]));
        const traffic = new Map<string, number>();
        const trafficBytes = new Map<string, number>();
        const prefillSeconds = new Map<string, number>();
        const rng = new Rng(seq + batch);
        try {
          for (const { name, generator } of engines) {
            generator.reset();
            const t0 = performance.now();
            if (prefillMode === 'real') {
              for (let s = 0; s < batch; s++) generator.prefill(s, Array.from({ length: seq }, () => 3 + rng.int(config.vocabSize - 3)));
            } else {
              fillRandom(generator, seq, batch, rng);
            }
            prefillSeconds.set(name, (performance.now() - t0) / 1000);
          }
          const seqIds = Array.from({ length: batch }, (_, s) => s);
          for (let round = 0; round < rounds; round++) {
            for (const { name, generator } of engines) {
              generator.policy.counters.reset();
              for (let step = 0; step < steps; step++) {
                const tokens = seqIds.map(() => 3 + rng.int(config.vocabSize - 3));
                const t0 = performance.now();
                generator.decode(seqIds, tokens);
                times.get(name)!.push(performance.now() - t0);
              }
              const summary = generator.policy.counters.summary();
              traffic.set(name, summary.totalPerStep);
              trafficBytes.set(name, summary.totalBytesPerStep);
            }
            // Positions added by this round are rolled back so every round decodes at the same length.
            for (const { generator } of engines) rollBack(generator, seq, batch, rng, prefillMode === 'synthetic');
          }
        } finally {
          for (const { generator } of engines) generator.dispose();
        }
        let llama: Awaited<ReturnType<typeof runLlamaCpp>> | null = null;
        if (peer && batch === 1) {
          // Keyed by everything that shapes the cache and the prompt, not by the weights' format.
          const statePath = options.llamaStateDir === undefined ? null
            : join(options.llamaStateDir, `llama-cache-${config.hiddenSize}x${config.numLayers}-${config.numHeads}h-${config.numKvHeads}kv-vocab${config.vocabSize}-ctx${config.maxPositions}-seq${seq}-t${steps * rounds}.state`);
          if (options.llamaStateDir !== undefined) await mkdir(options.llamaStateDir, { recursive: true });
          llama = await runLlamaCpp(peer, path, seq, steps * rounds, threads, config.vocabSize, statePath, say);
        }
        const llamaMs = llama?.msPerStep ?? null;
        const denseMs = median(times.get('thrifty-dense')!);
        const denseBytes = weightBytes + batch * trafficBytes.get('thrifty-dense')!;
        for (const { name, spec } of engines) {
          const ms = median(times.get(name)!);
          const bytes = weightBytes + batch * trafficBytes.get(name)!;
          const row: DecodeBenchRow = {
            engine: name,
            seq,
            batch,
            tokensPerSecond: (batch * 1000) / ms,
            msPerStep: ms,
            speedupVsDense: denseMs / ms,
            theoreticalSpeedup: denseBytes / bytes,
            ratioToLlamaCpp: llamaMs !== null ? llamaMs / ms : null,
            rank: spec.kind === 'sparq' ? spec.rank : null,
            topK: 'topK' in spec ? spec.topK : null,
            localWindow: spec.kind === 'sparq' || spec.kind === 'h2o' ? (spec.localWindow ?? null) : null,
            attentionRatio: traffic.get(name)! / traffic.get('thrifty-dense')!,
            prefill: prefillMode,
            kvDType,
            attentionBytesPerStep: trafficBytes.get(name)!,
            prefillSeconds: prefillSeconds.get(name) ?? null,
            threads,
          };
          rows.push(row);
          log(formatRow(row, options.json ?? false));
        }
        if (llama !== null) {
          const row: DecodeBenchRow = {
            engine: 'llama.cpp', seq, batch: 1, tokensPerSecond: 1000 / llama.msPerStep, msPerStep: llama.msPerStep, speedupVsDense: denseMs / llama.msPerStep,
            theoreticalSpeedup: null, ratioToLlamaCpp: 1, rank: null, topK: null, localWindow: null, attentionRatio: 1, prefill: llama.prefill, kvDType: 'f16', attentionBytesPerStep: null, prefillSeconds: llama.prefillSeconds, threads,
          };
          rows.push(row);
          log(formatRow(row, options.json ?? false));
        }
      }
    }
  } finally {
    engine.dispose();
  }
  return rows;
}

/** SparQ at the target ratio by the paper recipe (k = 128), or by the even split where k = 128 cannot reach it. */
function sparqSpecFor(compression: number, headDim: number, seq: number, say: (note: string) => void): AttentionSpec {
  try {
    return attentionSpecFromSettings({ attention: 'sparq', compression }, { headDim, seqLen: seq });
  } catch (err) {
    say(`seq ${seq}: ${(err as Error).message}; using the even split`);
    return attentionSpecFromSettings({ attention: 'sparq', compression, recipe: 'even' }, { headDim, seqLen: seq });
  }
}

/** Appends `seq` random positions to every layer of each sequence (the synthetic prefill). */
function fillRandom(generator: Generator, seq: number, batch: number, rng: Rng): void {
  const { cache } = generator;
  const rowFloats = cache.kvHeads * cache.headDim;
  const chunk = Math.min(seq, 1024);
  const k = new Float32Array(chunk * rowFloats);
  const v = new Float32Array(chunk * rowFloats);
  let x = rng.nextU32() | 1;
  for (let i = 0; i < k.length; i++) {
    // xorshift32: ~10^7 values, so it must be cheap; values in (-1, 1).
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    k[i] = (x >>> 0) / 2147483648 - 1;
    v[i] = (Math.imul(x, 0x9e3779b1) >>> 0) / 2147483648 - 1;
  }
  for (let s = 0; s < batch; s++) {
    for (let layer = 0; layer < cache.layers; layer++) {
      for (let t = 0; t < seq; t += chunk) cache.append(layer, s, k, v, Math.min(chunk, seq - t));
    }
  }
}

/** Brings every sequence back to `seq` positions: a fresh synthetic fill (the cache cannot truncate). */
function rollBack(generator: Generator, seq: number, batch: number, rng: Rng, synthetic: boolean): void {
  if (!synthetic) return; // a real prefill is too slow to repeat; later rounds decode a few positions further
  generator.reset();
  fillRandom(generator, seq, batch, rng);
}

function formatRow(row: DecodeBenchRow, json: boolean): string {
  if (json) return JSON.stringify(row);
  const f = (x: number | null, digits = 2): string => (x === null ? '-' : x.toFixed(digits));
  return `| ${row.seq} | ${row.batch} | ${row.engine} | ${row.tokensPerSecond.toFixed(2)} | ${row.msPerStep.toFixed(1)} | ${f(row.speedupVsDense)} | ${f(row.theoreticalSpeedup)} | ${f(row.ratioToLlamaCpp)} | ${row.rank ?? '-'} | ${row.topK ?? '-'} | ${row.localWindow ?? '-'} |`;
}
