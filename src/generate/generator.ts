// Text generation with a KV cache: each prompt is prefilled densely (batched matmuls over its
// tokens, in chunks; dense whatever the chunking, a one-token chunk too), then every unfinished sequence decodes one token per step together, the
// attention of each step going through the decode-attention policy (dense, SparQ, baselines).

import { noGrad } from '../autograd/engine.js';
import { KvCache } from '../attention/kv-cache.js';
import { createAttentionPolicy, type AttentionSpec, type DecodeAttention } from '../attention/policy.js';
import { getBackend } from '../backend/backend.js';
import type { AttentionKernels, KvDType } from '../ops/attention-kernels.js';
import { referenceAttentionKernels } from '../attention/reference-kernels.js';
import type { CausalLM } from '../models/decoder-common.js';
import type { KvCacheHook } from '../nn/attention.js';
import { Tensor } from '../tensor/tensor.js';
import { Sampler, type SamplerOptions } from './sampler.js';

export interface GeneratorOptions {
  readonly attention: AttentionSpec;
  /** Sequences decoded together (the KV cache's batch). Default 1. */
  readonly sequences?: number | undefined;
  /**
   * Decode-attention kernels; the cache is allocated where they read it. Default: the active
   * backend's (Backend.attention), else the reference kernels; kernels that cannot handle the
   * model's head size are replaced by the reference ones (see Generator.kernelsNote).
   */
  readonly kernels?: AttentionKernels | undefined;
  /**
   * Element type of the cached K and V ('f16' halves the bytes decoding reads; the mean of V stays
   * f32). Default: the kernels' defaultKvDType (wasm 'f16', reference 'f32').
   */
  readonly kvDType?: KvDType | undefined;
  /** Keep K twice (row- and component-major; SparQ's step 1 streams the second). Default: true for sparq. */
  readonly storeKTransposed?: boolean | undefined;
  /** Prompt tokens per prefill forward (bounds activation memory). Default 512. */
  readonly prefillChunk?: number | undefined;
  /** Positions preallocated per cache block before the first doubling. */
  readonly initialCapacity?: number | undefined;
}

export interface GenerationOptions {
  /** Tokens to generate per sequence (at most; a stop token or the context ends a sequence sooner). */
  readonly maxNewTokens: number;
  /** Sequence i samples with seed + i. */
  readonly sampler?: SamplerOptions | undefined;
  /** Ids that end a sequence (not emitted). Default: the model's EOS, if it has one. */
  readonly stopTokens?: readonly number[] | undefined;
  /** Called for each generated token as soon as it is chosen. */
  readonly onToken?: ((sequence: number, token: number) => void) | undefined;
}

export type StopReason = 'length' | 'stop-token' | 'context';

/** A token as Generator.steps yields it. */
export interface GeneratedToken {
  readonly sequence: number;
  readonly token: number;
}

export interface AttentionTraffic {
  readonly policy: string;
  /** KV-cache elements moved (read and written) per decode step and sequence (all layers and KV heads). */
  readonly elementsPerStep: number;
  /** Of which read. */
  readonly elementsReadPerStep: number;
  /** What dense attention would have moved for the same steps. */
  readonly denseElementsPerStep: number;
  /** The cache's element type (K and V; the mean of V and H2O's scores are f32). */
  readonly kvDType: KvDType;
  /** Bytes moved per decode step and sequence (K, V at the cache's element size). */
  readonly bytesPerStep: number;
  /** What dense attention would have moved, in bytes, over the same cache. */
  readonly denseBytesPerStep: number;
  /** elementsPerStep / denseElementsPerStep. */
  readonly ratio: number;
}

export interface GenerationStats {
  readonly sequences: number;
  readonly promptTokens: number;
  readonly prefillSeconds: number;
  readonly prefillTokensPerSecond: number;
  /** Every generated token (the first of each sequence comes from its prefill's logits). */
  readonly generatedTokens: number;
  /** Batched decode forwards. */
  readonly decodeSteps: number;
  /** Tokens produced by decode forwards (all sequences). */
  readonly decodeTokens: number;
  readonly decodeSeconds: number;
  readonly decodeTokensPerSecond: number;
  readonly attention: AttentionTraffic;
}

export interface GenerationResult {
  /** Generated ids per sequence (without the prompt and the stop token). */
  readonly tokens: number[][];
  readonly stopReasons: StopReason[];
  readonly stats: GenerationStats;
}

const now = (): number => performance.now();

/**
 * The model's view of the cache for one forward call: batch row -> cache sequence. The model sends
 * a one-token call to `decode`; in a prefill session (`prefill` true) that token still attends
 * densely (a prompt whose last chunk is one token, or a one-token prompt appended to a cache), and
 * its attention probabilities go to the policy as a multi-token prefill's do (H2O's scores).
 */
class CacheSession implements KvCacheHook {
  constructor(
    private readonly cache: KvCache,
    private readonly policy: DecodeAttention,
    private readonly seqs: readonly number[],
    private readonly headDim: number,
    private readonly prefill: boolean,
  ) {}

  append(layer: number, row: number, keys: Float32Array, values: Float32Array, tokens: number): void {
    this.cache.append(layer, this.seqs[row]!, keys, values, tokens);
  }

  keys(layer: number, row: number, kvHead: number, length: number): Float32Array {
    return this.cache.keys(layer, this.seqs[row]!, kvHead).subarray(0, length * this.headDim);
  }

  values(layer: number, row: number, kvHead: number, length: number): Float32Array {
    return this.cache.values(layer, this.seqs[row]!, kvHead).subarray(0, length * this.headDim);
  }

  decode(layer: number, q: Float32Array, out: Float32Array, heads: number): void {
    if (this.prefill) this.denseOneToken(layer, q, out, heads);
    else this.policy.attend(this.cache, layer, this.seqs, q, out, heads);
  }

  /** softmax(q kᵀ / sqrt(d)) v for one query per row over every stored position (a plain loop: rare, small). */
  private denseOneToken(layer: number, q: Float32Array, out: Float32Array, heads: number): void {
    const d = this.headDim;
    const kvHeads = this.cache.kvHeads;
    const group = heads / kvHeads;
    const scale = 1 / Math.sqrt(d);
    this.seqs.forEach((seq, row) => {
      const length = this.cache.length(seq, layer);
      const probs = new Float32Array(heads * length);
      for (let h = 0; h < heads; h++) {
        const kvHead = Math.floor(h / group);
        const keys = this.cache.keys(layer, seq, kvHead);
        const values = this.cache.values(layer, seq, kvHead);
        const qOff = (row * heads + h) * d;
        const p = probs.subarray(h * length, (h + 1) * length);
        let max = -Infinity;
        for (let j = 0; j < length; j++) {
          let dot = 0;
          for (let c = 0; c < d; c++) dot += q[qOff + c]! * keys[j * d + c]!;
          p[j] = dot * scale;
          if (p[j]! > max) max = p[j]!;
        }
        let sum = 0;
        for (let j = 0; j < length; j++) {
          p[j] = Math.exp(p[j]! - max);
          sum += p[j]!;
        }
        for (let c = 0; c < d; c++) out[qOff + c] = 0;
        for (let j = 0; j < length; j++) {
          p[j] = p[j]! / sum;
          for (let c = 0; c < d; c++) out[qOff + c] = out[qOff + c]! + p[j]! * values[j * d + c]!;
        }
      }
      this.policy.observePrefill?.(layer, seq, probs, heads, 1, length);
    });
  }

  observePrefill(layer: number, row: number, probs: Float32Array, heads: number, rows: number, keyLength: number): void {
    this.policy.observePrefill?.(layer, this.seqs[row]!, probs, heads, rows, keyLength);
  }
}

export class Generator {
  readonly model: CausalLM;
  readonly cache: KvCache;
  readonly policy: DecodeAttention;
  readonly sequences: number;
  readonly prefillChunk: number;
  /** The kernels decode attention runs on. */
  readonly kernels: AttentionKernels;
  /** Why the kernels differ from the ones asked for (null when they do not). */
  readonly kernelsNote: string | null;

  constructor(model: CausalLM, options: GeneratorOptions) {
    const { config } = model;
    this.model = model;
    this.sequences = options.sequences ?? 1;
    this.prefillChunk = options.prefillChunk ?? 512;
    if (!Number.isInteger(this.sequences) || this.sequences <= 0) throw new Error(`generate: sequences must be a positive integer, got ${this.sequences}`);
    if (!Number.isInteger(this.prefillChunk) || this.prefillChunk <= 0) throw new Error(`generate: prefill chunk must be a positive integer, got ${this.prefillChunk}`);
    const wanted = options.kernels ?? getBackend().attention ?? referenceAttentionKernels;
    const kernelName = options.attention.kind === 'random-projection' ? 'random-projection' : undefined;
    const kernels = wanted.supports(config.headDim, kernelName) ? wanted : referenceAttentionKernels;
    this.kernels = kernels;
    this.kernelsNote = kernels === wanted ? null
      : !wanted.supports(config.headDim)
        ? `the ${wanted.name} attention kernels do not handle heads of ${config.headDim}; decode attention runs on the ${kernels.name} kernels`
        : `the ${wanted.name} attention kernels have no ${kernelName} kernel; decode attention runs on the ${kernels.name} kernels`;
    this.cache = new KvCache({
      layers: config.numLayers,
      kvHeads: config.numKvHeads,
      headDim: config.headDim,
      batch: this.sequences,
      maxLength: model.contextLength,
      storeKTransposed: options.storeKTransposed ?? options.attention.kind === 'sparq',
      dtype: options.kvDType ?? kernels.defaultKvDType,
      ...(options.initialCapacity !== undefined ? { initialCapacity: options.initialCapacity } : {}),
      ...(kernels.cacheAllocator ? { allocator: kernels.cacheAllocator } : {}),
      ...(kernels.cacheRelease ? { release: kernels.cacheRelease } : {}),
    });
    const shape = { layers: config.numLayers, heads: config.numHeads, kvHeads: config.numKvHeads, headDim: config.headDim };
    this.policy = createAttentionPolicy(options.attention, shape, { kernels });
  }

  /** Empties the cache and the policy's state (and its counters). */
  reset(): void {
    this.cache.reset();
    this.policy.reset?.();
    this.policy.counters.reset();
  }

  dispose(): void {
    this.policy.reset?.();
    this.cache.dispose();
  }

  /** Logits [V] after feeding `tokens` to sequence `seq` (appended to what it holds), in chunks. */
  prefill(seq: number, tokens: readonly number[]): Float32Array {
    if (tokens.length === 0) throw new Error('generate: a prompt needs at least one token (e.g. BOS)');
    let logits: Tensor | null = null;
    for (let t0 = 0; t0 < tokens.length; t0 += this.prefillChunk) {
      const chunk = tokens.slice(t0, t0 + this.prefillChunk);
      logits = this.step([seq], [chunk], true);
    }
    return logits!.toArray() as Float32Array;
  }

  /** One decode step: token `tokens[i]` appended to sequence `seqs[i]`; logits [seqs.length, V]. */
  decode(seqs: readonly number[], tokens: readonly number[]): Float32Array {
    if (seqs.length !== tokens.length || seqs.length === 0) throw new Error(`generate: ${tokens.length} tokens for ${seqs.length} sequences`);
    if (new Set(seqs).size !== seqs.length) throw new Error('generate: a sequence appears twice in one decode step');
    return this.step(seqs, tokens.map((t) => [t]), false).toArray() as Float32Array;
  }

  /**
   * One forward over `ids[row]` (equal lengths) for each sequence in `seqs`: last-position logits
   * [rows, 1, V]. A prefill step attends densely whatever its length; a decode step goes through the policy.
   */
  private step(seqs: readonly number[], ids: readonly (readonly number[])[], prefill: boolean): Tensor {
    for (const s of seqs) if (!Number.isInteger(s) || s < 0 || s >= this.sequences) throw new Error(`generate: sequence ${s} is outside 0..${this.sequences - 1}`);
    const tokens = ids[0]!.length;
    const flat = new Int32Array(seqs.length * tokens);
    ids.forEach((row, r) => flat.set(row, r * tokens));
    const startPositions = seqs.map((s) => this.cache.length(s));
    const session = new CacheSession(this.cache, this.policy, seqs, this.model.config.headDim, prefill);
    return noGrad(() => this.model.forward(new Tensor(flat, 'i32', [seqs.length, tokens]), { startPositions, cache: session, lastOnly: true }));
  }

  /** Generates from each prompt (one per sequence, at most `sequences`), streaming through onToken. */
  generate(prompts: readonly (readonly number[])[], options: GenerationOptions): GenerationResult {
    const steps = this.steps(prompts, options);
    for (;;) {
      const next = steps.next();
      if (next.done) return next.value;
      options.onToken?.(next.value.sequence, next.value.token);
    }
  }

  /**
   * The same generation one token at a time: yields each token as soon as it is chosen and returns
   * the result, so a caller can give the event loop a turn between tokens (see LanguageModel.stream).
   * Time spent by the caller between tokens is not counted in the statistics. `onToken` is not called.
   */
  *steps(prompts: readonly (readonly number[])[], options: GenerationOptions): Iterator<GeneratedToken, GenerationResult, undefined> {
    const count = prompts.length;
    if (count === 0 || count > this.sequences) throw new Error(`generate: ${count} prompts for a generator of ${this.sequences} sequences`);
    if (!Number.isInteger(options.maxNewTokens) || options.maxNewTokens < 0) throw new Error(`generate: max new tokens must be a non-negative integer, got ${options.maxNewTokens}`);
    const { config } = this.model;
    const vocab = config.vocabSize;
    for (const [i, prompt] of prompts.entries()) {
      for (const id of prompt) if (!Number.isInteger(id) || id < 0 || id >= vocab) throw new Error(`generate: prompt ${i} has token id ${id}, outside the vocabulary of ${vocab}`);
      if (prompt.length >= this.model.contextLength) throw new Error(`generate: prompt ${i} has ${prompt.length} tokens; the model's context is ${this.model.contextLength}`);
    }
    this.reset();
    const stops = new Set(options.stopTokens ?? (config.eosTokenId !== null ? [config.eosTokenId] : []));
    const samplers = prompts.map((_, i) => new Sampler({ ...options.sampler, seed: (options.sampler?.seed ?? 0) + i }));
    const tokens: number[][] = prompts.map(() => []);
    const stopReasons: StopReason[] = prompts.map(() => 'length');
    const active: number[] = [];
    // Tokens accepted but not yet yielded, and the time the caller held the generator.
    const emitted: GeneratedToken[] = [];
    let pausedMs = 0;
    function* flush(): Iterable<GeneratedToken, void, undefined> {
      for (const token of emitted) {
        const paused = now();
        yield token;
        pausedMs += now() - paused;
      }
      emitted.length = 0;
    }

    // Accepts a sampled token for sequence s; false when the sequence is finished.
    const accept = (s: number, id: number): boolean => {
      if (stops.has(id)) {
        stopReasons[s] = 'stop-token';
        return false;
      }
      tokens[s]!.push(id);
      emitted.push({ sequence: s, token: id });
      if (tokens[s]!.length >= options.maxNewTokens) return false;
      if (this.cache.length(s) + 1 > this.model.contextLength) {
        stopReasons[s] = 'context';
        return false;
      }
      return true;
    };

    const prefillStart = now();
    const firstLogits = prompts.map((prompt, s) => this.prefill(s, prompt));
    const prefillSeconds = (now() - prefillStart) / 1000;
    if (options.maxNewTokens > 0) {
      firstLogits.forEach((logits, s) => {
        if (accept(s, samplers[s]!.sample(logits))) active.push(s);
      });
    }
    yield* flush();

    let decodeSteps = 0;
    let decodeTokens = 0;
    const decodeStart = now();
    pausedMs = 0;
    while (active.length > 0) {
      const logits = this.decode(active, active.map((s) => tokens[s]!.at(-1)!));
      decodeSteps++;
      decodeTokens += active.length;
      const still: number[] = [];
      active.forEach((s, row) => {
        if (accept(s, samplers[s]!.sample(logits.subarray(row * vocab, (row + 1) * vocab)))) still.push(s);
      });
      active.splice(0, active.length, ...still);
      yield* flush();
    }
    const decodeSeconds = (now() - decodeStart - pausedMs) / 1000;
    const promptTokens = prompts.reduce((n, p) => n + p.length, 0);
    const summary = this.policy.counters.summary();
    return {
      tokens,
      stopReasons,
      stats: {
        sequences: count,
        promptTokens,
        prefillSeconds,
        prefillTokensPerSecond: prefillSeconds > 0 ? promptTokens / prefillSeconds : 0,
        generatedTokens: tokens.reduce((n, t) => n + t.length, 0),
        decodeSteps,
        decodeTokens,
        decodeSeconds,
        decodeTokensPerSecond: decodeSeconds > 0 ? decodeTokens / decodeSeconds : 0,
        attention: {
          policy: this.policy.name,
          elementsPerStep: summary.totalPerStep,
          elementsReadPerStep: summary.readPerStep,
          denseElementsPerStep: summary.densePerStep,
          kvDType: this.cache.dtype,
          bytesPerStep: summary.totalBytesPerStep,
          denseBytesPerStep: summary.denseBytesPerStep,
          ratio: summary.ratio,
        },
      },
    };
  }
}
