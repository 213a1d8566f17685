// Reference reductions: the reduced axes are moved last and copied contiguous, so each output
// element reduces one contiguous run.

import { allocArray, convertArray } from '../../tensor/dtype.js';
import { numel } from '../../tensor/shape.js';
import { Tensor } from '../../tensor/tensor.js';
import type { ArgReduceKind, ReduceKind } from '../../ops/kernels.js';
import { permuteView } from './iterate.js';

function reducedShape(shape: readonly number[], axes: readonly number[], keepDims: boolean): number[] {
  const out: number[] = [];
  shape.forEach((d, i) => {
    if (axes.includes(i)) {
      if (keepDims) out.push(1);
    } else out.push(d);
  });
  return out;
}

export function reduce(kind: ReduceKind, x: Tensor, axes: readonly number[], keepDims: boolean): Tensor {
  if (kind === 'sum' && x.isContiguous() && axes.length > 0 && axes.length < x.rank && axes.every((a, i) => a === i)) {
    return sumLeadingAxes(x, axes.length, keepDims);
  }
  const kept = [...Array(x.rank).keys()].filter((a) => !axes.includes(a));
  const data = permuteView(x, [...kept, ...axes]).toArray();
  const runLength = numel(axes.map((a) => x.shape[a]!));
  const outShape = reducedShape(x.shape, axes, keepDims);
  const outCount = numel(outShape);
  const out = allocArray(x.dtype, outCount);
  if (runLength === 0 && kind !== 'sum') throw new Error(`${kind}: cannot reduce an empty axis`);
  for (let o = 0; o < outCount; o++) {
    const base = o * runLength;
    if (kind === 'sum') {
      let acc = 0;
      for (let j = 0; j < runLength; j++) acc += data[base + j]!;
      out[o] = acc;
    } else if (kind === 'max') {
      let acc = -Infinity;
      for (let j = 0; j < runLength; j++) {
        const v = data[base + j]!;
        if (v > acc || Number.isNaN(v)) acc = v;
      }
      out[o] = acc;
    } else {
      let acc = Infinity;
      for (let j = 0; j < runLength; j++) {
        const v = data[base + j]!;
        if (v < acc || Number.isNaN(v)) acc = v;
      }
      out[o] = acc;
    }
  }
  return new Tensor(out, x.dtype, outShape);
}

/**
 * Sum over the leading axes of a contiguous tensor (bias gradients, broadcast reductions): rows are
 * added in order into an f64 accumulator, with no transposed copy.
 */
function sumLeadingAxes(x: Tensor, count: number, keepDims: boolean): Tensor {
  const rows = numel(x.shape.slice(0, count));
  const inner = numel(x.shape.slice(count));
  const data = x.data;
  const acc = new Float64Array(inner);
  for (let r = 0, base = x.offset; r < rows; r++, base += inner) {
    for (let j = 0; j < inner; j++) acc[j]! += data[base + j]!;
  }
  const out = allocArray(x.dtype, inner);
  out.set(acc);
  const outShape = keepDims ? [...x.shape.slice(0, count).map(() => 1), ...x.shape.slice(count)] : x.shape.slice(count);
  return new Tensor(out, x.dtype, outShape);
}

export function argReduce(kind: ArgReduceKind, x: Tensor, axis: number, keepDims: boolean): Tensor {
  const kept = [...Array(x.rank).keys()].filter((a) => a !== axis);
  const data = permuteView(x, [...kept, axis]).toArray();
  const n = x.shape[axis]!;
  if (n === 0) throw new Error(`${kind}: cannot reduce an empty axis`);
  const outShape = reducedShape(x.shape, [axis], keepDims);
  const outCount = numel(outShape);
  const out = new Int32Array(outCount);
  const better = kind === 'argmax' ? (v: number, b: number) => v > b : (v: number, b: number) => v < b;
  for (let o = 0; o < outCount; o++) {
    const base = o * n;
    let best = data[base]!;
    let bestIndex = 0;
    for (let j = 1; j < n && !Number.isNaN(best); j++) {
      const v = data[base + j]!;
      // The first NaN wins, as in max/min above and torch.argmax.
      if (better(v, best) || Number.isNaN(v)) {
        best = v;
        bestIndex = j;
      }
    }
    out[o] = bestIndex;
  }
  return new Tensor(out, 'i32', outShape);
}

export { convertArray };
