// What the decoder-only families share: the forward loop of a causal language model (embed,
// blocks, final norm, output head), the options that thread a KV cache through it, and causal
// self-attention over the projections' [B, T, heads, hd] layout. A family file supplies its
// blocks under its checkpoint's names.

import { narrow, permute } from '../autograd/ops/movement.js';
import { attention, type KvCacheHook } from '../nn/attention.js';
import type { ParamInit } from '../nn/init.js';
import { Module } from '../nn/module.js';
import { headsFirst, rotaryPositions, type RotaryPositions } from '../nn/rotary.js';
import { formatShape } from '../tensor/shape.js';
import type { Tensor } from '../tensor/tensor.js';
import { checkSupported, contextLength, type LlmConfig } from './llm-config.js';
import { familyParamInit, type ModelInitOptions } from './model-init.js';

export interface ForwardOptions {
  /** Position of each batch row's first token (default 0 for every row). */
  readonly startPositions?: readonly number[] | undefined;
  /** Generation: keys and values go to (and come from) this cache; one token per row decodes. */
  readonly cache?: KvCacheHook | null | undefined;
  /** Logits of the last position only, [B, 1, V] (generation needs nothing else). */
  readonly lastOnly?: boolean | undefined;
  /** Bound on one block of attention scores (elements); default 4M. */
  readonly maxScoreElements?: number | undefined;
  /** Receives the named hidden states as they are computed (see HiddenState); `traceHiddenStates` collects them. */
  readonly trace?: ((state: HiddenState) => void) | undefined;
}

/**
 * One intermediate tensor of a forward, for comparing with PyTorch: 'embeddings' (the blocks' input,
 * learned positions included), 'layers.{i}' (block i's output, before the final norm), 'final_norm'
 * (what feeds the output projection), each [B, T, D]. Hugging Face's output_hidden_states gives
 * embeddings, layers.0 .. layers.{N-2}, then final_norm in place of layers.{N-1}.
 */
export interface HiddenState {
  readonly name: string;
  readonly tensor: Tensor;
}

/** What every layer's attention needs in one forward call. */
export interface AttentionContext {
  /** Position of each batch row's first token in this call. */
  readonly startPositions: readonly number[];
  readonly rotary: RotaryPositions | null;
  readonly cache: KvCacheHook | null;
  /** Bound on the elements of one block of attention scores; longer prefills are split over query rows. */
  readonly maxScoreElements: number;
}

/**
 * Causal (grouped-query) self-attention of layer `layer`: q [B, T, H, hd], k and v [B, T, KV, hd],
 * any strides, before RoPE. Returns [B, T, H * hd].
 */
export function causalSelfAttention(q: Tensor, k: Tensor, v: Tensor, layer: number, ctx: AttentionContext): Tensor {
  const cache = ctx.cache ? { hook: ctx.cache, layer, startPositions: ctx.startPositions } : null;
  return attention(headsFirst(q, ctx.rotary), headsFirst(k, ctx.rotary), permute(v, [0, 2, 1, 3]), { causal: true, cache, maxScoreElements: ctx.maxScoreElements });
}

/** One transformer block: h [B, T, D] -> [B, T, D]. */
export interface DecoderBlock {
  forward(h: Tensor, layer: number, ctx: AttentionContext): Tensor;
}

/** The layers' ParamInit of a decoder LLM: N(0, 0.02²) weights (GPT-2 / Llama initialisation). */
export function decoderParamInit(options: ModelInitOptions): ParamInit {
  return familyParamInit(options, { std: 0.02 });
}

export abstract class CausalLM extends Module {
  readonly config: LlmConfig;

  /** Most positions a sequence may hold (the KV cache's cap). */
  readonly contextLength: number;

  protected constructor(config: LlmConfig) {
    super();
    checkSupported(config, new.target.name);
    this.config = config;
    this.contextLength = contextLength(config);
  }

  /** ids i32 [B, T] -> h [B, T, D] (token embedding, plus learned positions where the model has them). */
  protected abstract embed(ids: Tensor, startPositions: readonly number[]): Tensor;
  protected abstract blocks(): readonly DecoderBlock[];
  /** The final norm: h [B, T, D] -> [B, T, D]. */
  protected abstract finalNorm(h: Tensor): Tensor;
  /** The output projection: normed h [B, T, D] -> logits [B, T, V]. */
  protected abstract project(x: Tensor): Tensor;

  /** ids i32 [B, T] -> logits [B, T, V] (or [B, 1, V] with lastOnly). */
  forward(ids: Tensor, options: ForwardOptions = {}): Tensor {
    if (ids.rank !== 2 || ids.dtype !== 'i32') throw new Error(`${this.constructor.name}: ids must be i32 [batch, tokens], got ${ids.dtype} ${formatShape(ids.shape)}`);
    const [batch, tokens] = ids.shape as [number, number];
    const startPositions = options.startPositions ?? new Array<number>(batch).fill(0);
    if (startPositions.length !== batch) throw new Error(`${this.constructor.name}: ${startPositions.length} start positions for ${batch} batch rows`);
    for (const start of startPositions) {
      if (start + tokens > this.contextLength) {
        throw new Error(`${this.constructor.name}: position ${start + tokens - 1} is past the model's context of ${this.contextLength} tokens`);
      }
    }
    const ctx: AttentionContext = {
      startPositions,
      rotary: this.config.rope ? rotaryPositions(this.config.rope, startPositions, tokens) : null,
      cache: options.cache ?? null,
      maxScoreElements: options.maxScoreElements ?? 1 << 22,
    };
    const trace = options.trace ?? (() => undefined);
    let h = this.embed(ids, startPositions);
    trace({ name: 'embeddings', tensor: h });
    this.blocks().forEach((block, layer) => {
      h = block.forward(h, layer, ctx);
      trace({ name: `layers.${layer}`, tensor: h });
    });
    if (options.lastOnly && tokens > 1) h = narrow(h, 1, tokens - 1, 1);
    const normed = this.finalNorm(h);
    trace({ name: 'final_norm', tensor: normed });
    return this.project(normed);
  }

  /** The logits and every named hidden state of one forward (names in HiddenState's order). */
  traceHiddenStates(ids: Tensor, options: Omit<ForwardOptions, 'trace'> = {}): { logits: Tensor; states: HiddenState[] } {
    const states: HiddenState[] = [];
    const logits = this.forward(ids, { ...options, trace: (state) => states.push(state) });
    return { logits, states };
  }
}
