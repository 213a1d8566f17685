// The one-call generation API: a LanguageModel streams a prompt's continuation as text, with the
// decode attention policy and compression as options and the wasm kernels by default. Platform-
// neutral: it is built from model files already opened (ModelFiles) or from their bytes in memory
// (a GGUF, or a Hugging Face folder's config.json / tokenizer.json / model.safetensors); the Node
// loader (paths, hf:, the bundled model) is src/node/language-model.ts, the browser's worker pool
// src/web/. Each stream runs one Generator (src/generate/generator.ts) a token at a time and gives
// the event loop a turn between tokens, so Ctrl-C, an AbortSignal and page updates get through.

import { attentionSpecFromSettings, generationPlanShape, type CompressionRecipe } from '../attention/planner.js';
import type { AttentionKind, AttentionSpec } from '../attention/policy.js';
import type { TransferSummary } from '../attention/transfers.js';
import { withBackend } from '../backend/backend.js';
import { referenceBackend } from '../backend/reference/index.js';
import { createWasmBackend } from '../backend/wasm/backend.js';
import { WasmKernels } from '../backend/wasm/kernels.js';
import { memoryByteSource } from '../io/byte-source.js';
import type { FolderAccess } from '../io/hf-folder.js';
import type { LlmConfig } from '../models/llm-config.js';
import { openGgufModel, openHfFolder, type ModelFiles } from '../models/model-files.js';
import type { CausalLM } from '../models/decoder-common.js';
import { loadCausalLM, type WeightDType } from '../models/load-llm.js';
import type { Backend } from '../ops/kernels.js';
import type { KvDType } from '../ops/attention-kernels.js';
import { yieldToEventLoop } from '../platform/event-loop.js';
import { TokenTextStream, type Tokenizer } from '../text/tokenizer.js';
import { Generator, type GenerationResult, type GenerationStats, type StopReason } from './generator.js';

/** The kernels a LanguageModel computes with. */
export interface LanguageModelEngine {
  /** The wasm kernels (with or without a worker pool); null: the plain reference kernels. */
  readonly wasm: WasmKernels | null;
  /** e.g. "wasm relaxed-SIMD (FMA), 2 threads". */
  readonly description: string;
  /** Releases the kernels (and their workers); called by LanguageModel.dispose. */
  dispose(): void;
}

/** "wasm relaxed-SIMD (FMA), 2 threads", the same words as `thrifty generate`'s statistics. */
export function describeWasmKernels(wasm: WasmKernels): string {
  return `wasm ${wasm.simd === 'relaxed' ? 'relaxed-SIMD (FMA)' : 'SIMD'}, ${wasm.threads} thread${wasm.threads === 1 ? '' : 's'}`;
}

/** Wraps kernels as an engine that disposes them. */
export function wasmEngine(wasm: WasmKernels, note = ''): LanguageModelEngine {
  return { wasm, description: describeWasmKernels(wasm) + note, dispose: () => wasm.dispose() };
}

/**
 * The engine when none is given: the wasm kernels on the calling thread, or the reference kernels
 * (saying why) where this JavaScript engine cannot create shared WebAssembly memory.
 */
export async function defaultEngine(): Promise<LanguageModelEngine> {
  try {
    return wasmEngine(await WasmKernels.create({ threads: 1 }));
  } catch (error) {
    const reason = error instanceof Error ? error.message : String(error);
    return { wasm: null, description: `reference kernels (wasm unavailable: ${reason})`, dispose: () => undefined };
  }
}

/**
 * Below this many parameters one thread decodes faster: a token's matrix products take tens of
 * microseconds, less than handing work to other threads costs (much less on a busy machine).
 */
export const SMALL_MODEL_PARAMETERS = 16_000_000;

/** Threads to decode with when the caller does not say: one for small models, else undefined (all cores). */
export function defaultDecodeThreads(config: Pick<LlmConfig, 'vocabSize' | 'hiddenSize' | 'intermediateSize' | 'numLayers'>): number | undefined {
  const perLayer = 4 * config.hiddenSize * config.hiddenSize + 3 * config.hiddenSize * config.intermediateSize;
  return perLayer * config.numLayers + config.vocabSize * config.hiddenSize < SMALL_MODEL_PARAMETERS ? 1 : undefined;
}

/** A model's files held in memory (a fetch() result, a file dropped on a page). */
export type ModelBytes =
  /** A GGUF file. */
  | { readonly gguf: Uint8Array; readonly name?: string }
  /** A Hugging Face folder by file name: config.json, tokenizer.json, model.safetensors (or its shards and index). */
  | { readonly files: Readonly<Record<string, Uint8Array | string>>; readonly name?: string };

/** Opens model files from memory (see ModelBytes); the bytes are used in place, not copied. */
export async function openModelBytes(model: ModelBytes): Promise<ModelFiles> {
  if ('gguf' in model) return openGgufModel(memoryByteSource(model.gguf, model.name ?? 'model.gguf'));
  const name = model.name ?? 'model';
  const files = model.files;
  const bytesOf = (file: string): Uint8Array => {
    const content = files[file];
    if (content === undefined) throw new Error(`${name}/${file}: no such file among the model's files (${Object.keys(files).join(', ')})`);
    return typeof content === 'string' ? new TextEncoder().encode(content) : content;
  };
  const folder: FolderAccess = {
    name,
    exists: (file) => Promise.resolve(Object.hasOwn(files, file)),
    readText: async (file) => {
      const content = files[file];
      return typeof content === 'string' ? content : new TextDecoder().decode(bytesOf(file));
    },
    open: async (file) => ({ ...memoryByteSource(bytesOf(file), `${name}/${file}`), close: () => Promise.resolve() }),
  };
  return openHfFolder(folder);
}

export interface LanguageModelOptions {
  /** The kernels to run on (default: defaultEngine(), the wasm kernels on this thread). Disposed with the model. */
  readonly engine?: LanguageModelEngine | undefined;
  /** 'auto' (default): GGUF matrices stay in their Q8_0/Q4_0/F16/BF16 format (less memory, inference only); 'f32': dequantised at load. */
  readonly dtype?: WeightDType | undefined;
}

export interface GenerateOptions {
  /** Tokens to generate at most (default 256; also bounded by the model's context). */
  readonly maxTokens?: number | undefined;
  /** Sampling temperature; 0 = greedy (default 1). */
  readonly temperature?: number | undefined;
  /** Nucleus sampling: keep the most likely tokens up to probability p (default 0.9). */
  readonly topP?: number | undefined;
  /** Sample among the k most likely tokens (0, the default: all). Not the attention's topK. */
  readonly sampleTopK?: number | undefined;
  /** Sampling seed (default 0): the same seed and settings give the same text. */
  readonly seed?: number | undefined;
  /** Decode attention policy (default 'dense'). */
  readonly attention?: AttentionKind | undefined;
  /** Target fraction of dense attention transfers, e.g. 1/8 (sparq and the baselines; default 1/8). */
  readonly compression?: number | undefined;
  /** SparQ: query components used to approximate the scores (default: planned from compression). */
  readonly rank?: number | undefined;
  /** SparQ and baselines: positions attended per step (default: planned from compression). */
  readonly topK?: number | undefined;
  /** SparQ / H2O: most recent positions always attended. */
  readonly localWindow?: number | undefined;
  /** How compression picks SparQ's r and k: 'paper' (k = 128, the default) or 'even'. */
  readonly recipe?: CompressionRecipe | undefined;
  /** SparQ: mean-value reallocation (default: on for MHA, off for GQA). */
  readonly reallocation?: boolean | undefined;
  /** SparQ: store K once (row-major only) instead of twice. */
  readonly kOnce?: boolean | undefined;
  /** KV cache element type: 'f16' (half the bytes per decode step) or 'f32'; default: the engine's (f16 on wasm, f32 on reference). */
  readonly kvDType?: KvDType | undefined;
  /** Stops the generation: the stream then throws the signal's reason. */
  readonly signal?: AbortSignal | undefined;
  /** Called after each generated token with the running statistics (for progress displays). */
  readonly onProgress?: ((progress: GenerationProgress) => void) | undefined;
}

/** Running statistics of one generation. */
export interface GenerationProgress {
  readonly promptTokens: number;
  readonly generatedTokens: number;
  /** Seconds computing the prompt and choosing the first token. */
  readonly prefillSeconds: number;
  /** Seconds computing the later tokens (time spent by the consumer of the stream excluded). */
  readonly decodeSeconds: number;
  /** Decode steps per second so far (0 before the second token). */
  readonly decodeTokensPerSecond: number;
  /** KV-cache traffic per decode step so far, and what dense attention would have moved. */
  readonly attention: TransferSummary;
}

export interface GenerationOutput {
  /** The continuation (without the prompt). */
  readonly text: string;
  readonly tokens: readonly number[];
  /** 'context' also when maxTokens was cut to the room left in the model's context. */
  readonly stopReason: StopReason;
  /** The attention policy with its parameters as planned for this prompt and length. */
  readonly attentionSpec: AttentionSpec;
  /** As `thrifty generate --stats json` reports them. */
  readonly stats: GenerationStats;
}

/** A loaded model with its tokenizer and kernels: `stream` and `generate` continue prompts. */
export class LanguageModel implements AsyncDisposable {
  readonly model: CausalLM;
  readonly tokenizer: Tokenizer;
  readonly config: LlmConfig;
  /** Where the model came from (a path, hf:..., a file name), for messages. */
  readonly source: string;
  readonly engine: LanguageModelEngine;
  private readonly backend: Backend;
  private busy = false;
  private disposed = false;

  private constructor(model: CausalLM, files: ModelFiles, engine: LanguageModelEngine) {
    this.model = model;
    this.tokenizer = files.tokenizer;
    this.config = files.config;
    this.source = files.source;
    this.engine = engine;
    this.backend = engine.wasm ? createWasmBackend(engine.wasm) : referenceBackend;
  }

  /**
   * Loads the weights of opened model files (closing them afterwards) or of model bytes. The
   * engine, given or default, belongs to the model from then on.
   */
  static async load(source: ModelFiles | ModelBytes, options: LanguageModelOptions = {}): Promise<LanguageModel> {
    const files = 'weights' in source ? source : await openModelBytes(source);
    let engine: LanguageModelEngine | undefined = options.engine;
    try {
      engine ??= await defaultEngine();
      const wasm = engine.wasm;
      const model = await loadCausalLM(files.config, files.weights, { ...(wasm ? { alloc: (n: number) => wasm.allocF32(n) } : {}), trainable: false, dtype: options.dtype });
      return new LanguageModel(model, files, engine);
    } catch (error) {
      engine?.dispose();
      throw error;
    } finally {
      await files.close();
    }
  }

  /** The prompt's token ids as generation sees them (an empty prompt starts from BOS, or EOS without one). */
  encodePrompt(prompt: string): number[] {
    const ids = this.tokenizer.encode(prompt, { allowSpecial: false });
    if (ids.length > 0) return ids;
    const start = this.tokenizer.bosId ?? this.config.bosTokenId ?? this.tokenizer.eosId ?? this.config.eosTokenId;
    if (start === null) throw new Error('the prompt is empty and the model has neither a BOS nor an EOS token to start from');
    return [start];
  }

  /**
   * Streams the continuation of `prompt` as text pieces (whole characters), one per token at most.
   * The generator's return value is the GenerationOutput that `generate` resolves to. Breaking out
   * of the loop stops the generation.
   */
  async *stream(prompt: string, options: GenerateOptions = {}): AsyncGenerator<string, GenerationOutput, undefined> {
    if (this.disposed) throw new Error('LanguageModel: stream() after dispose()');
    if (this.busy) throw new Error('LanguageModel: one generation at a time (finish or break out of the previous stream first)');
    this.busy = true;
    let generator: Generator | null = null;
    try {
      const requested = options.maxTokens ?? 256;
      if (!Number.isInteger(requested) || requested <= 0) throw new RangeError(`maxTokens must be a positive integer, got ${requested}`);
      const ids = this.encodePrompt(prompt);
      const room = this.model.contextLength - ids.length;
      if (room <= 0) throw new RangeError(`the prompt has ${ids.length} tokens, which fills the model's context of ${this.model.contextLength}`);
      const maxTokens = Math.min(requested, room);
      const spec = attentionSpecFromSettings(options, generationPlanShape(this.config.headDim, ids.length, maxTokens));
      const created: Generator = new Generator(this.model, {
        attention: spec,
        // The backend's decode-attention kernels (the wasm ones on a wasm engine); the cache lives where they read it.
        ...(this.backend.attention ? { kernels: this.backend.attention } : {}),
        storeKTransposed: spec.kind === 'sparq' && !options.kOnce,
        kvDType: options.kvDType,
      });
      generator = created;
      const steps = created.steps([ids], {
        maxNewTokens: maxTokens,
        sampler: { temperature: options.temperature ?? 1, topP: options.topP ?? 0.9, topK: options.sampleTopK ?? 0, seed: options.seed ?? 0 },
      });
      const text = new TokenTextStream(this.tokenizer, { previous: ids.at(-1)! });
      const pieces: string[] = [];
      let prefillSeconds = 0;
      let decodeSeconds = 0;
      let generated = 0;
      let result: GenerationResult | undefined;
      while (result === undefined) {
        options.signal?.throwIfAborted();
        const start = performance.now();
        const next = withBackend(this.backend, () => steps.next());
        const seconds = (performance.now() - start) / 1000;
        if (generated === 0) prefillSeconds += seconds;
        else decodeSeconds += seconds;
        if (next.done) {
          result = next.value;
          break;
        }
        generated++;
        const piece = text.push(next.value.token);
        pieces.push(piece);
        if (options.onProgress) {
          options.onProgress({
            promptTokens: ids.length,
            generatedTokens: generated,
            prefillSeconds,
            decodeSeconds,
            decodeTokensPerSecond: decodeSeconds > 0 ? (generated - 1) / decodeSeconds : 0,
            attention: created.policy.counters.summary(),
          });
        }
        if (piece !== '') yield piece;
        await yieldToEventLoop();
      }
      const tail = text.end();
      pieces.push(tail);
      if (tail !== '') yield tail;
      const stopReason = result.stopReasons[0]!;
      return {
        text: pieces.join(''),
        tokens: result.tokens[0]!,
        stopReason: stopReason === 'length' && maxTokens < requested ? 'context' : stopReason,
        attentionSpec: spec,
        stats: result.stats,
      };
    } finally {
      generator?.dispose();
      this.busy = false;
    }
  }

  /** The whole continuation with its statistics. */
  async generate(prompt: string, options: GenerateOptions = {}): Promise<GenerationOutput> {
    const stream = this.stream(prompt, options);
    for (;;) {
      const next = await stream.next();
      if (next.done) return next.value;
    }
  }

  /** Frees the weights' memory and the engine's workers. */
  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    this.engine.dispose();
  }

  [Symbol.asyncDispose](): Promise<void> {
    this.dispose();
    return Promise.resolve();
  }
}

/** Loads a LanguageModel from opened model files or from model bytes (see LanguageModel.load). */
export function createLanguageModel(source: ModelFiles | ModelBytes, options: LanguageModelOptions = {}): Promise<LanguageModel> {
  return LanguageModel.load(source, options);
}
