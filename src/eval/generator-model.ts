// EvalModel and EvalTokenizer over the Generator and Tokenizer: Generator.prefill is dense whatever
// its length and chunking (a one-token call too), Generator.decode goes through the policy, and the
// policy's counters measure the transfers.

import type { AttentionSpec } from '../attention/policy.js';
import type { WasmAttention } from '../backend/wasm/attention.js';
import { Generator } from '../generate/generator.js';
import type { KvDType } from '../ops/attention-kernels.js';
import type { CausalLM } from '../models/decoder-common.js';
import type { Tokenizer } from '../text/tokenizer.js';
import type { EvalModel, EvalTokenizer, MeasuredTransfers } from './records.js';

export class GeneratorEvalModel implements EvalModel {
  readonly generator: Generator;
  readonly contextLength: number;
  readonly vocabSize: number;

  constructor(model: CausalLM, attention: AttentionSpec, kernels?: WasmAttention, kvDType?: KvDType) {
    this.contextLength = model.contextLength;
    this.vocabSize = model.config.vocabSize;
    this.generator = new Generator(model, { attention, ...(kernels ? { kernels } : {}), kvDType });
  }

  reset(): void {
    this.generator.reset();
  }

  prefill(ids: readonly number[]): Float32Array {
    return this.generator.prefill(0, ids);
  }

  decode(id: number): Float32Array {
    return this.generator.decode([0], [id]);
  }

  transfers(): MeasuredTransfers {
    const counters = this.generator.policy.counters;
    const all = counters.get();
    return { steps: all.steps / (counters.layers * counters.kvHeads), elements: all.total, denseElements: all.dense };
  }

  dispose(): void {
    this.generator.dispose();
  }
}

/** The reference tokeniser's view: ids without specials, BOS where the model's tokenizer adds one by default. */
export function evalTokenizer(tokenizer: Tokenizer): EvalTokenizer {
  return {
    bos: tokenizer.addBosByDefault ? tokenizer.bosId : null,
    encode: (text) => tokenizer.encode(text, { addBos: false, addEos: false, allowSpecial: false }),
    decode: (ids) => tokenizer.decode(ids),
  };
}
