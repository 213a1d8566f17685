// The layout slot of a Linear: how its weight is stored and multiplied. A Linear owns the
// parameters' registration, names and init options; the layout says the stored shape, fills it at
// random and computes y = x Wᵀ + b. A new weight format (block-sparse, quantised) is a new
// WeightLayout, not a new layer, so every model built from Linear can use it.

import { add } from '../autograd/ops/elementwise.js';
import { groupedMatmul, linear, matmul } from '../autograd/ops/linalg.js';
import { reshape } from '../autograd/ops/movement.js';
import type { Rng } from '../tensor/rng.js';
import type { Tensor } from '../tensor/tensor.js';
import { fanInInit_, fillNormal_, kaimingUniform_, uniform_, xavierUniform_, type ParamInit, type WeightInit } from './init.js';

export interface WeightLayout {
  /** Names the format in messages ('dense', 'input-major', 'grouped', ...). */
  readonly kind: string;
  /** The stored weight's shape for a map inFeatures -> outFeatures: the checkpoint's shape. Throws when the format cannot hold it. */
  weightShape(inFeatures: number, outFeatures: number): readonly number[];
  /** Fills the weight (and, for 'torch', the bias) at random; `init` is never 'zeros' here. */
  initialize(weight: Tensor, bias: Tensor | null, init: Exclude<WeightInit, 'zeros'>, rng: Rng, inFeatures: number): void;
  /** x [..., in] -> [..., out]: y = x Wᵀ + b. */
  forward(x: Tensor, weight: Tensor, bias: Tensor | null): Tensor;
  /** State the format keeps beside the weight (e.g. a block pattern), registered as buffers of the Linear. */
  buffers?(inFeatures: number, outFeatures: number): ReadonlyArray<readonly [string, Tensor]>;
  /** Creates the weight when it is not an f32 tensor of weightShape (e.g. quantized bytes); throws for options it cannot honour. */
  createWeight?(inFeatures: number, outFeatures: number, init: ParamInit): Tensor;
}

/** PyTorch's nn.Linear: weight [out, in]. */
export const denseLayout: WeightLayout = {
  kind: 'dense',
  weightShape: (inFeatures, outFeatures) => [outFeatures, inFeatures],
  initialize(weight, bias, init, rng, inFeatures) {
    if (init === 'torch') {
      // nn.Linear.reset_parameters: kaiming_uniform(a = sqrt(5)) is U(±1/sqrt(in)), and the bias the same.
      kaimingUniform_(weight, rng, { a: Math.sqrt(5) });
      const bound = inFeatures > 0 ? 1 / Math.sqrt(inFeatures) : 0;
      if (bias) uniform_(bias, rng, { low: -bound, high: bound });
    } else if (init === 'xavierUniform') {
      xavierUniform_(weight, rng);
    } else {
      fillNormal_(weight, rng, init);
    }
  },
  forward: (x, weight, bias) => linear(x, weight, bias),
};

/** GPT-2's Conv1D: weight [in, out], y = x W + b, kept as stored so names and shapes match the checkpoint. */
export const inputMajorLayout: WeightLayout = {
  kind: 'input-major',
  weightShape: (inFeatures, outFeatures) => [inFeatures, outFeatures],
  initialize: (weight, _bias, init, rng, inFeatures) => fanInInit_(weight, init, rng, inFeatures),
  forward(x, weight, bias) {
    const inFeatures = weight.shape[0]!;
    const product = matmul(reshape(x, [-1, inFeatures]), weight);
    const y = bias ? add(product, bias) : product;
    return reshape(y, [...x.shape.slice(0, -1), weight.shape[1]!]);
  },
};

/**
 * Block-diagonal (GroupBERT's grouped FFN): input and output features split into `groups` blocks,
 * block g of the input mapping only to block g of the output. Weight [G, in/G, out/G] (input-major,
 * as groupedMatmul wants): G times fewer parameters and FLOPs than dense.
 */
export function groupedLayout(groups: number): WeightLayout {
  return {
    kind: 'grouped',
    weightShape(inFeatures, outFeatures) {
      if (!Number.isInteger(groups) || groups < 1 || inFeatures % groups !== 0 || outFeatures % groups !== 0) {
        throw new Error(`GroupedLinear: ${groups} groups do not divide ${inFeatures} input and ${outFeatures} output features`);
      }
      return [groups, inFeatures / groups, outFeatures / groups];
    },
    initialize: (weight, _bias, init, rng, inFeatures) => fanInInit_(weight, init, rng, inFeatures / groups),
    forward(x, weight, bias) {
      const y = groupedMatmul(x, weight);
      return bias ? add(y, bias) : y;
    },
  };
}
