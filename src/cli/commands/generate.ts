// `thrifty generate`: streams a model's continuation of a prompt to stdout, with decode-time
// attention by the chosen policy (dense, SparQ, or a baseline); statistics go to stderr.
// Without --model it runs the small model bundled with thrifty (models/default).

import type { Command } from 'commander';
import { parseCompression } from '../../attention/planner.js';
import type { WeightDType } from '../../models/load-llm.js';
import type { KvDType } from '../../ops/attention-kernels.js';
import { bundledModelDir } from '../../node/bundled-model.js';
import { parseKvDType, parseNonNegativeInt, parseNumber, parsePositiveInt, parseThreads } from '../args.js';
import { stdoutSink } from '../output.js';

export interface GenerateCommandOptions {
  /** A .gguf file, a llama2.c .bin, a Hugging Face folder, or hf:ORG/NAME[@revision]; default: the bundled model. */
  readonly model?: string | undefined;
  /** llama2.c tokenizer .bin (default: beside the checkpoint). */
  readonly tokenizer?: string | undefined;
  readonly prompt: string;
  readonly maxTokens: number;
  readonly temperature: number;
  readonly topP: number;
  /** Sampling top-k (0: off); not the attention's --top-k. */
  readonly sampleTopK: number;
  readonly seed: number;
  readonly attention: string;
  readonly compression?: number | undefined;
  readonly rank?: number | undefined;
  readonly topK?: number | undefined;
  readonly localWindow?: number | undefined;
  readonly recipe?: 'paper' | 'even' | undefined;
  readonly reallocation?: boolean | undefined;
  /** SparQ: keep only the row-major K (default: K twice). */
  readonly kOnce?: boolean | undefined;
  /** Sequences decoded together from the same prompt (seeds seed, seed + 1, ...). */
  readonly batch: number;
  readonly stats: 'text' | 'json' | 'none';
  readonly threads?: number | undefined;
  /** 'auto' (default): GGUF matrices stay in their Q8_0/Q4_0/F16/BF16 format; 'f32': dequantised at load. */
  readonly dtype?: WeightDType | undefined;
  /** KV cache element type; default: the attention kernels' (f16 on wasm, f32 on reference). */
  readonly kvDType?: KvDType | undefined;
}

/** Where the output goes (process.stdout / process.stderr in the command; buffers in tests). */
export interface TextSink {
  write(text: string): unknown;
}

// The bundled model's folder is found in src/node (the API's loader uses it too); re-exported for tests.
export { bundledModelDir };

function formatCount(n: number): string {
  return Math.round(n).toLocaleString('en-US');
}

/** The most sequences one run decodes together (their KV caches are allocated up front). */
export const MAX_BATCH = 256;

const POLICIES_WITH_K = ['sparq', 'h2o', 'lm-infinite', 'flexgen', 'oracle'];

/**
 * Settings that cannot apply to the chosen attention are errors, not silently ignored: e.g.
 * --compression without a compressing --attention, --rank with h2o. Returns nothing; throws one line.
 */
export function checkGenerateFlags(options: GenerateCommandOptions): void {
  const kind = options.attention;
  const onlyFor = (flag: string, kinds: readonly string[]): Error =>
    new Error(`${flag} applies to --attention ${kinds.join(', ')}, not ${kind}${kind === 'dense' ? ' (the default)' : ''}`);
  if (kind !== 'sparq') {
    if (options.rank !== undefined) throw onlyFor('--rank', ['sparq']);
    if (options.recipe !== undefined) throw onlyFor('--recipe', ['sparq']);
    if (options.reallocation !== undefined) throw onlyFor(options.reallocation ? '--reallocation' : '--no-reallocation', ['sparq']);
    if (options.kOnce) throw onlyFor('--k-once', ['sparq']);
  }
  if (!POLICIES_WITH_K.includes(kind)) {
    if (options.compression !== undefined) throw onlyFor('--compression', POLICIES_WITH_K);
    if (options.topK !== undefined) throw onlyFor('--top-k', POLICIES_WITH_K);
  }
  if (options.localWindow !== undefined && kind !== 'sparq' && kind !== 'h2o') throw onlyFor('--local-window', ['sparq', 'h2o']);
  if (options.compression !== undefined && (options.rank !== undefined && options.topK !== undefined)) {
    throw new Error('--compression picks --rank and --top-k: give the target or both settings, not all three');
  }
  if (options.batch > MAX_BATCH) throw new Error(`--batch expects at most ${MAX_BATCH} sequences, got ${options.batch}`);
}

/** Checks against the loaded model (head size, context); returns warnings (one line each). */
export function checkGenerateAgainstModel(options: GenerateCommandOptions, model: { headDim: number; contextLength: number; promptTokens: number }, cores: number): string[] {
  const warnings: string[] = [];
  if (options.rank !== undefined && options.rank > model.headDim) {
    throw new Error(`--rank ${options.rank} is more than the model's head size of ${model.headDim}`);
  }
  if (options.topK !== undefined && options.topK > model.contextLength) {
    throw new Error(`--top-k ${options.topK} is more than the model's context of ${model.contextLength} positions`);
  }
  if (options.localWindow !== undefined && options.localWindow > model.contextLength) {
    throw new Error(`--local-window ${options.localWindow} is more than the model's context of ${model.contextLength} positions`);
  }
  const room = model.contextLength - model.promptTokens;
  if (options.maxTokens > room && room > 0) {
    warnings.push(`--max-tokens ${options.maxTokens} does not fit the model's context of ${model.contextLength} after a ${model.promptTokens}-token prompt: generating at most ${room}`);
  }
  if (options.threads !== undefined && options.threads > cores) {
    warnings.push(`--threads ${options.threads} is more than the ${cores} cores of this machine: the extra threads only wait for a core`);
  }
  return warnings;
}

/** Runs the command: continuation text to `out`, statistics to `err`. */
export async function runGenerate(options: GenerateCommandOptions, out: TextSink, err: TextSink): Promise<void> {
  const { loadModelFiles } = await import('../../node/model-files.js');
  const { initNodeBackend } = await import('../../node/backend.js');
  const { attentionSpecFromSettings, generationPlanShape, sparqBreakEven } = await import('../../attention/planner.js');
  const { loadCausalLM } = await import('../../models/load-llm.js');
  const { Generator } = await import('../../generate/generator.js');
  const { TokenTextStream } = await import('../../text/tokenizer.js');

  checkGenerateFlags(options);
  const modelSpec = options.model ?? (await bundledModelDir());
  const files = await loadModelFiles(modelSpec, options.tokenizer !== undefined ? { tokenizerPath: options.tokenizer } : {});
  let engine: Awaited<ReturnType<typeof initNodeBackend>> | null = null;
  let generator: InstanceType<typeof Generator> | null = null;
  try {
    const { tokenizer, config } = files;
    const { defaultDecodeThreads } = await import('../../generate/language-model.js');
    engine = await initNodeBackend({ threads: options.threads ?? defaultDecodeThreads(config) });
    const wasm = engine.wasm;
    const model = await loadCausalLM(config, files.weights, { alloc: (n) => wasm.allocF32(n), trainable: false, dtype: options.dtype });
    let prompt = tokenizer.encode(options.prompt, { allowSpecial: false });
    if (prompt.length === 0) {
      // An empty prompt starts from BOS (as llama2.c), or from the end-of-text token of models without one (GPT-2).
      const start = tokenizer.bosId ?? config.bosTokenId ?? tokenizer.eosId ?? config.eosTokenId;
      if (start === null) throw new Error('--prompt is empty and the model has neither a BOS nor an EOS token to start from');
      prompt = [start];
    }
    const { availableParallelism } = await import('node:os');
    for (const warning of checkGenerateAgainstModel(options, { headDim: config.headDim, contextLength: model.contextLength, promptTokens: prompt.length }, availableParallelism())) {
      err.write(`warning: ${warning}\n`);
    }
    const maxTokens = Math.min(options.maxTokens, model.contextLength - prompt.length);
    if (maxTokens <= 0) throw new Error(`--prompt has ${prompt.length} tokens, which fills the model's context of ${model.contextLength}`);
    const spec = attentionSpecFromSettings(options, generationPlanShape(config.headDim, prompt.length, maxTokens));
    const notes: string[] = [];
    if (spec.kind === 'sparq') {
      const breakEven = sparqBreakEven(spec, config.headDim);
      if (prompt.length + 1 < breakEven) {
        notes.push(`sparq r=${spec.rank} k=${spec.topK} moves more KV-cache data than dense attention below `
          + `${Number.isFinite(breakEven) ? `${breakEven} cached positions` : 'any length'}; this run starts at ${prompt.length + 1}`);
      }
    }

    generator = new Generator(model, {
      attention: spec,
      sequences: options.batch,
      storeKTransposed: spec.kind === 'sparq' && !options.kOnce,
      kvDType: options.kvDType,
    });
    if (generator.kernelsNote) notes.push(generator.kernelsNote);
    if (options.stats === 'text') for (const note of notes) err.write(`note: ${note}\n`);
    const prompts = Array.from({ length: options.batch }, () => prompt);
    const streaming = options.batch === 1;
    const stream = new TokenTextStream(tokenizer, { previous: prompt.at(-1)! });
    if (streaming) out.write(options.prompt);
    const result = generator.generate(prompts, {
      maxNewTokens: maxTokens,
      sampler: { temperature: options.temperature, topP: options.topP, topK: options.sampleTopK, seed: options.seed },
      onToken: streaming ? (_seq, id) => out.write(stream.push(id)) : undefined,
    });
    if (streaming) out.write(`${stream.end()}\n`);
    else {
      result.tokens.forEach((ids, i) => {
        const sequenceStream = new TokenTextStream(tokenizer, { previous: prompt.at(-1)! });
        const text = ids.map((id) => sequenceStream.push(id)).join('') + sequenceStream.end();
        out.write(`--- sequence ${i} (seed ${options.seed + i}) ---\n${options.prompt}${text}\n`);
      });
    }
    const s = result.stats;
    const attentionLabel = spec.kind === 'dense' ? 'dense'
      : spec.kind === 'sparq' ? `sparq r=${spec.rank} k=${spec.topK} l=${spec.localWindow}${spec.reallocation === false ? ' no-reallocation' : ''}`
        : `${spec.kind} k=${spec.topK}`;
    if (options.stats === 'json') {
      err.write(`${JSON.stringify({ model: files.source, engine: engine.description, attentionSpec: spec, stopReasons: result.stopReasons, notes, ...s })}\n`);
    } else if (options.stats === 'text') {
      err.write(`model: ${files.source} (${config.architecture}, ${config.numLayers} layers, ${config.numHeads} heads of ${config.headDim}); ${engine.description}\n`);
      err.write(`prefill: ${s.promptTokens} tokens in ${s.prefillSeconds.toFixed(3)} s (${s.prefillTokensPerSecond.toFixed(1)} tokens/s)\n`);
      err.write(`decode: ${s.decodeTokens} tokens in ${s.decodeSeconds.toFixed(3)} s (${s.decodeTokensPerSecond.toFixed(1)} tokens/s, ${s.sequences} sequence${s.sequences === 1 ? '' : 's'})\n`);
      err.write(`attention ${attentionLabel}: ${formatCount(s.attention.elementsPerStep)} KV-cache elements moved per step (${formatCount(s.attention.elementsReadPerStep)} read) vs ${formatCount(s.attention.denseElementsPerStep)} dense (${(s.attention.ratio * 100).toFixed(1)}%); `
        + `${formatCount(s.attention.bytesPerStep)} bytes vs ${formatCount(s.attention.denseBytesPerStep)} dense (${s.attention.kvDType} cache)\n`);
    }
  } finally {
    generator?.dispose();
    await files.close();
    engine?.dispose();
  }
}

interface GenerateFlags {
  model?: string;
  tokenizer?: string;
  prompt: string;
  maxTokens: number;
  temperature: number;
  topP: number;
  sampleTopK: number;
  seed: number;
  attention: string;
  compression?: number;
  rank?: number;
  topK?: number;
  localWindow?: number;
  recipe?: string;
  reallocation?: boolean;
  kOnce?: boolean;
  batch: number;
  stats: string;
  threads?: number;
  dtype: string;
  kvDtype?: KvDType;
}

export function registerGenerateCommand(program: Command): void {
  program
    .command('generate')
    .description('continue a prompt with a language model, streaming the text to stdout; statistics to stderr')
    .option('--model <path>', 'a .gguf file, a llama2.c .bin, a Hugging Face folder, or hf:ORG/NAME[@revision] (default: the bundled model)')
    .option('--tokenizer <file>', 'llama2.c tokenizer .bin (default: tokenizer.bin or tok*.bin beside the checkpoint)')
    .option('--prompt <text>', 'the text to continue (empty: start from BOS)', '')
    .option('--max-tokens <n>', 'tokens to generate', parsePositiveInt('--max-tokens'), 256)
    .option('--temperature <t>', 'sampling temperature (0: greedy)', parseNumber('--temperature'), 1)
    .option('--top-p <p>', 'nucleus sampling: keep the most likely tokens up to probability p', parseNumber('--top-p'), 0.9)
    .option('--sample-top-k <k>', 'sample among the k most likely tokens (0: all)', parseNonNegativeInt('--sample-top-k'), 0)
    .option('--seed <n>', 'sampling seed', parseNonNegativeInt('--seed'), 0)
    .option('--attention <kind>', 'decode attention: dense, sparq, h2o, lm-infinite, flexgen, oracle, random-projection', 'dense')
    .option('--compression <ratio>', 'target fraction of dense attention transfers, e.g. 1/8 (sparq and baselines)', (value: string) => parseCompression(value))
    .option('--rank <r>', 'SparQ: query components used to approximate the scores', parsePositiveInt('--rank'))
    .option('--top-k <k>', 'SparQ and baselines: positions attended per step', parsePositiveInt('--top-k'))
    .option('--local-window <l>', 'SparQ / H2O: most recent positions always attended', parseNonNegativeInt('--local-window'))
    .option('--recipe <name>', "how --compression picks SparQ's r and k: paper (k = 128) or even")
    .option('--reallocation', 'SparQ: mix in the mean value by the approximate scores\' mass (default: on for MHA, off for GQA)')
    .option('--no-reallocation', 'SparQ: no mean-value reallocation')
    .option('--k-once', 'SparQ: store K once (row-major only) instead of twice')
    .option('--batch <n>', 'sequences decoded together from the same prompt (seeds seed, seed+1, ...)', parsePositiveInt('--batch'), 1)
    .option('--stats <format>', 'statistics on stderr: text, json or none', 'text')
    .option('--threads <n>', 'threads including the main one (default: 1 for models under 16M parameters, else all cores)', parseThreads('--threads'))
    .option('--dtype <type>', 'weights in memory: auto (GGUF Q8_0, Q4_0, F16, BF16 matrices kept as stored) or f32', 'auto')
    .option('--kv-dtype <type>', 'KV cache elements: f16 or f32 (default: f16 on the wasm backend, f32 on the reference one)', parseKvDType())
    .action(async (flags: GenerateFlags) => {
      if (flags.dtype !== 'auto' && flags.dtype !== 'f32') throw new Error(`--dtype expects auto or f32, got '${flags.dtype}'`);
      if (flags.stats !== 'text' && flags.stats !== 'json' && flags.stats !== 'none') throw new Error(`--stats expects text, json or none, got '${flags.stats}'`);
      if (flags.recipe !== undefined && flags.recipe !== 'paper' && flags.recipe !== 'even') throw new Error(`--recipe expects paper or even, got '${flags.recipe}'`);
      if (!(flags.topP > 0 && flags.topP <= 1)) throw new Error(`--top-p expects a number in (0, 1], got ${flags.topP}`);
      if (!(flags.temperature >= 0)) throw new Error(`--temperature expects a number >= 0, got ${flags.temperature}`);
      await runGenerate(
        {
          model: flags.model,
          tokenizer: flags.tokenizer,
          prompt: flags.prompt,
          maxTokens: flags.maxTokens,
          temperature: flags.temperature,
          topP: flags.topP,
          sampleTopK: flags.sampleTopK,
          seed: flags.seed,
          attention: flags.attention,
          compression: flags.compression,
          rank: flags.rank,
          topK: flags.topK,
          localWindow: flags.localWindow,
          recipe: flags.recipe as 'paper' | 'even' | undefined,
          reallocation: flags.reallocation,
          kOnce: flags.kOnce,
          batch: flags.batch,
          stats: flags.stats,
          threads: flags.threads,
          dtype: flags.dtype as WeightDType,
          kvDType: flags.kvDtype,
        },
        stdoutSink(),
        process.stderr,
      );
    });
}
