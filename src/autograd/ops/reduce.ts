// Reductions: sum, mean, max, min, logsumexp, and the (non-differentiable) argmax/argmin.

import { kernels } from '../../backend/backend.js';
import { normalizeAxes, normalizeAxis, numel } from '../../tensor/shape.js';
import { Tensor } from '../../tensor/tensor.js';
import { defineOp, detach } from '../engine.js';
import { add, exp, log, mul, sub } from './elementwise.js';
import { asTensor, reshapeContiguous } from './util.js';

interface ReduceAttrs {
  axes: number[];
  keepDims: boolean;
}

/** Shape of a reduction's output with the reduced axes kept as size 1 (for broadcasting back). */
function keptShape(shape: readonly number[], axes: readonly number[]): number[] {
  return shape.map((d, i) => (axes.includes(i) ? 1 : d));
}

const sumOp = defineOp<ReduceAttrs>({
  name: 'sum',
  forward: (k, [x], { axes, keepDims }) => ({ outputs: [k.reduce('sum', x!, axes, keepDims)], saved: undefined }),
  backward: ({ kernels: k, inputs: [x], attrs: { axes } }, [dy]) => {
    if (!dy) return [null];
    const g = reshapeContiguous(dy, keptShape(x!.shape, axes));
    const out = new Tensor(g.data, g.dtype, x!.shape, g.shape.map((d, i) => (d === 1 ? 0 : g.strides[i]!)), g.offset);
    return [k.copy(out, dy.dtype)];
  },
});

/** Max/min: the gradient goes to every position equal to the extreme value, split evenly among ties. */
const extremeOp = defineOp<ReduceAttrs & { kind: 'max' | 'min' }>({
  name: 'max/min',
  forward: (k, [x], { axes, keepDims, kind }) => ({ outputs: [k.reduce(kind, x!, axes, keepDims)], saved: undefined }),
  backward: ({ kernels: k, inputs: [x], outputs: [y], attrs: { axes } }, [dy]) => {
    if (!dy) return [null];
    const yk = reshapeContiguous(y!, keptShape(x!.shape, axes));
    const mask = k.binary('eq', x!, yk);
    const count = k.reduce('sum', mask, axes, true);
    const g = reshapeContiguous(dy, keptShape(x!.shape, axes));
    return [k.binary('mul', mask, k.binary('div', g, count))];
  },
});

export interface ReduceOptions {
  keepDims?: boolean;
}

export function sum(x: Tensor, axes?: number | readonly number[], options: ReduceOptions = {}): Tensor {
  return sumOp([x], { axes: normalizeAxes(axes, x.rank), keepDims: options.keepDims ?? false })[0]!;
}

export function mean(x: Tensor, axes?: number | readonly number[], options: ReduceOptions = {}): Tensor {
  const ax = normalizeAxes(axes, x.rank);
  const count = numel(ax.map((a) => x.shape[a]!));
  const s = sum(x, ax, options);
  return mul(s, asTensor(1 / count, s.dtype));
}

export function max(x: Tensor, axes?: number | readonly number[], options: ReduceOptions = {}): Tensor {
  return extremeOp([x], { axes: normalizeAxes(axes, x.rank), keepDims: options.keepDims ?? false, kind: 'max' })[0]!;
}

export function min(x: Tensor, axes?: number | readonly number[], options: ReduceOptions = {}): Tensor {
  return extremeOp([x], { axes: normalizeAxes(axes, x.rank), keepDims: options.keepDims ?? false, kind: 'min' })[0]!;
}

/** log(sum(exp(x))) over axes, stabilised by the (constant) maximum. */
export function logsumexp(x: Tensor, axes?: number | readonly number[], options: ReduceOptions = {}): Tensor {
  const ax = normalizeAxes(axes, x.rank);
  const m = detach(kernels().reduce('max', x, ax, true));
  // Rows that are entirely -inf keep m = -inf; shift by 0 there to avoid inf - inf.
  const shift = kernels().where(kernels().binary('eq', m, asTensor(-Infinity, m.dtype)), asTensor(0, m.dtype), m);
  const keepDims = options.keepDims ?? false;
  const shiftOut = keepDims ? shift : reshapeContiguous(shift, x.shape.filter((_, i) => !ax.includes(i)));
  return add(log(sum(exp(sub(x, shift)), ax, { keepDims })), shiftOut);
}

export function argmax(x: Tensor, axis = -1, options: ReduceOptions = {}): Tensor {
  return kernels().argReduce('argmax', x, normalizeAxis(axis, x.rank), options.keepDims ?? false);
}

export function argmin(x: Tensor, axis = -1, options: ReduceOptions = {}): Tensor {
  return kernels().argReduce('argmin', x, normalizeAxis(axis, x.rank), options.keepDims ?? false);
}
