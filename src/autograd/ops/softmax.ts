// Softmax and log-softmax along an axis, with an optional additive mask (0 keeps, -inf drops).

import { normalizeAxis } from '../../tensor/shape.js';
import type { Tensor } from '../../tensor/tensor.js';
import { defineOp } from '../engine.js';
import { add } from './elementwise.js';

const softmaxOp = defineOp<{ axis: number; log: boolean }>({
  name: 'softmax',
  forward: (k, [x], { axis, log }) => ({ outputs: [log ? k.logSoftmax(x!, axis) : k.softmax(x!, axis)], saved: undefined }),
  backward: ({ kernels: k, outputs: [y], attrs: { axis, log } }, [dy]) => {
    if (!dy) return [null];
    return [log ? k.logSoftmaxGrad(y!, dy, axis) : k.softmaxGrad(y!, dy, axis)];
  },
});

export interface SoftmaxOptions {
  /** Added to the logits before normalising (broadcast), e.g. 0 / -inf for causal or padding masks. */
  mask?: Tensor;
}

export function softmax(x: Tensor, axis = -1, options: SoftmaxOptions = {}): Tensor {
  const logits = options.mask ? add(x, options.mask) : x;
  return softmaxOp([logits], { axis: normalizeAxis(axis, x.rank), log: false })[0]!;
}

export function logSoftmax(x: Tensor, axis = -1, options: SoftmaxOptions = {}): Tensor {
  const logits = options.mask ? add(x, options.mask) : x;
  return softmaxOp([logits], { axis: normalizeAxis(axis, x.rank), log: true })[0]!;
}
