// Reference softmax and log-softmax along an axis, with their backward rules.

import type { AnyTypedArray } from '../../tensor/dtype.js';
import type { Tensor } from '../../tensor/tensor.js';
import { mapAlongAxis } from './iterate.js';

export function softmax(x: Tensor, axis: number): Tensor {
  return mapAlongAxis([x], axis, x.dtype, ([xs], out, base, n) => softmaxRow(xs!, out, base, n, false));
}

export function logSoftmax(x: Tensor, axis: number): Tensor {
  return mapAlongAxis([x], axis, x.dtype, ([xs], out, base, n) => softmaxRow(xs!, out, base, n, true));
}

function softmaxRow(x: AnyTypedArray, out: AnyTypedArray, base: number, n: number, log: boolean): void {
  let max = -Infinity;
  for (let i = 0; i < n; i++) max = Math.max(max, x[base + i]!);
  // A fully masked row (all -inf) yields zeros for softmax and -inf for log-softmax rather than NaN.
  if (max === -Infinity) {
    for (let i = 0; i < n; i++) out[base + i] = log ? -Infinity : 0;
    return;
  }
  let sum = 0;
  for (let i = 0; i < n; i++) sum += Math.exp(x[base + i]! - max);
  if (log) {
    const lse = max + Math.log(sum);
    for (let i = 0; i < n; i++) out[base + i] = x[base + i]! - lse;
  } else {
    const inv = 1 / sum;
    for (let i = 0; i < n; i++) out[base + i] = Math.exp(x[base + i]! - max) * inv;
  }
}

export function softmaxGrad(y: Tensor, dy: Tensor, axis: number): Tensor {
  return mapAlongAxis([y, dy], axis, dy.dtype, ([ys, dys], out, base, n) => {
    let dot = 0;
    for (let i = 0; i < n; i++) dot += ys![base + i]! * dys![base + i]!;
    for (let i = 0; i < n; i++) out[base + i] = ys![base + i]! * (dys![base + i]! - dot);
  });
}

export function logSoftmaxGrad(y: Tensor, dy: Tensor, axis: number): Tensor {
  return mapAlongAxis([y, dy], axis, dy.dtype, ([ys, dys], out, base, n) => {
    let sum = 0;
    for (let i = 0; i < n; i++) sum += dys![base + i]!;
    for (let i = 0; i < n; i++) out[base + i] = dys![base + i]! - Math.exp(ys![base + i]!) * sum;
  });
}
