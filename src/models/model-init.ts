// How a model of any family is created: random weights from a seeded generator (or zeros, to be
// loaded), where its parameters live (a wasm arena), whether they train, and the dropout generator.
// Each family turns it into the one ParamInit its layers take.

import type { FloatAllocator, NormalInit, ParamInit } from '../nn/init.js';
import type { WeightLayout } from '../nn/weight-layout.js';
import type { Rng } from '../tensor/rng.js';

export interface ModelInitOptions {
  /** Draws the initial weights, N(0, std²) as the family says; without it every weight is 0, to be loaded. */
  readonly rng?: Rng | undefined;
  /** Overrides the family's initial standard deviation (LLMs 0.02; BERT: initializer_range). */
  readonly std?: number | undefined;
  /** Where the f32 parameters live (e.g. WasmKernels.allocF32); default ordinary memory. */
  readonly alloc?: FloatAllocator | undefined;
  /** False builds frozen parameters (inference). Default true. */
  readonly trainable?: boolean | undefined;
  /** Encoders: draws every dropout mask; default a generator seeded with 0, owned by the model. */
  readonly dropoutRng?: Rng | undefined;
  /** The layout of every Linear that does not choose its own (e.g. quantizedLayout for GGUF weights kept as stored). */
  readonly linearLayout?: WeightLayout | undefined;
}

/** The layers' ParamInit for a family whose random weights are `normal` (std overridable). */
export function familyParamInit(options: ModelInitOptions, normal: NormalInit): ParamInit & { readonly layout?: WeightLayout } {
  const init = options.rng ? { ...normal, std: options.std ?? normal.std } : 'zeros';
  const base: ParamInit = { init, rng: options.rng, alloc: options.alloc, trainable: options.trainable };
  // Linears take it as their layout (their options spread the ParamInit); other layers ignore it.
  return options.linearLayout ? { ...base, layout: options.linearLayout } : base;
}
