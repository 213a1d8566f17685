// Inverted dropout: kept elements are scaled by 1/(1-p) during training so that inference needs no
// rescaling. The mask comes from the caller's seeded Rng, so a training run is reproducible.

import { allocArray } from '../../tensor/dtype.js';
import type { Rng } from '../../tensor/rng.js';
import { assertFloat, Tensor } from '../../tensor/tensor.js';
import { mul } from './elementwise.js';

/**
 * Zeroes each element with probability p and scales the rest by 1/(1-p). Identity when p = 0 or not
 * training; all zeros when p = 1. The mask draws one uniform per element, in row-major order.
 */
export function dropout(x: Tensor, p: number, rng: Rng, training = true): Tensor {
  assertFloat(x, 'dropout');
  if (!(p >= 0 && p <= 1)) throw new Error(`dropout: p must be in [0, 1], got ${p}`);
  if (!training || p === 0) return x;
  const scale = p === 1 ? 0 : 1 / (1 - p);
  const mask = allocArray(x.dtype, x.size);
  for (let i = 0; i < mask.length; i++) mask[i] = rng.uniform() < p ? 0 : scale;
  // The mask is a constant, so mul's backward gives dx = dy * mask.
  return mul(x, new Tensor(mask, x.dtype, x.shape));
}
