// How a model of any family is created: random weights from a seeded generator (or zeros, to be
// loaded), where its parameters live (a wasm arena), whether they train, and the dropout generator.
// Each family turns it into the one ParamInit its layers take.

import type { NormalInit, ParamInit } from '../nn/init.js';
import type { WeightLayout } from '../nn/weight-layout.js';
import type { Rng } from '../tensor/rng.js';

/**
 * ParamInit's rng (here: without it every weight is 0, to be loaded; with it N(0, std²) as the
 * family says), alloc and trainable, plus the family-level knobs.
 */
export interface ModelInitOptions extends Pick<ParamInit, 'rng' | 'alloc' | 'trainable'> {
  /** Overrides the family's initial standard deviation (LLMs 0.02; BERT: initializer_range). */
  readonly std?: number | undefined;
  /** Encoders: draws every dropout mask; default a generator seeded with 0, owned by the model. */
  readonly dropoutRng?: Rng | undefined;
  /**
   * Encoders: makes the layout of each fully connected encoder weight (Q, K, V, attention output,
   * FFN and convolution-module maps; e.g. blockSparseLayout for sparse training). Embeddings, heads,
   * and weights with a layout of their own (grouped, convolution) stay as they are. Default dense.
   */
  readonly encoderLinearLayout?: (() => WeightLayout) | undefined;
  /**
   * Makes the layout of every Linear that does not choose its own (e.g. quantizedLayout for GGUF
   * weights kept as stored): ParamInit.linearLayout, the one hook every layout goes through.
   */
  readonly linearLayout?: (() => WeightLayout) | undefined;
}

/** The layers' ParamInit for a family whose random weights are `normal` (std overridable). */
export function familyParamInit(options: ModelInitOptions, normal: NormalInit): ParamInit {
  const init = options.rng ? { ...normal, std: options.std ?? normal.std } : 'zeros';
  return { init, rng: options.rng, alloc: options.alloc, trainable: options.trainable, linearLayout: options.linearLayout };
}
