// Indexing: embedding lookup, gather / scatter-add along an axis (torch semantics), index select
// and top-k. Indices are i32 and carry no gradient; values get theirs scattered back.

import { allocArray, type DType } from '../../tensor/dtype.js';
import { formatShape, normalizeAxis, numel } from '../../tensor/shape.js';
import { assertFloat, Tensor } from '../../tensor/tensor.js';
import { defineOp } from '../engine.js';
import { reshape } from './movement.js';

function checkI32(index: Tensor, what: string): void {
  if (index.dtype !== 'i32') throw new Error(`${what}: indices must be i32, got ${index.dtype}`);
}

/** A contiguous 1-D i32 copy of any index tensor (views included). */
function flatIndex(index: Tensor): Tensor {
  return new Tensor(Int32Array.from(index.toArray()), 'i32', [index.size]);
}

/** Zeros in the gradient's dtype (which may differ from the input's). */
function zerosOf(shape: readonly number[], dtype: DType): Tensor {
  return new Tensor(allocArray(dtype, numel(shape)), dtype, shape);
}

interface AxisIndexAttrs {
  axis: number;
  index: Tensor;
}

const indexSelectOp = defineOp<AxisIndexAttrs>({
  name: 'indexSelect',
  forward: (k, [x], { axis, index }) => ({ outputs: [k.indexSelect(x!, axis, index)], saved: undefined }),
  // Repeated indices pick the same slice twice, so their gradients add up (indexAdd accumulates).
  backward: ({ kernels: k, inputs: [x], attrs: { axis, index } }, [dy]) => [dy ? k.indexAdd(x!.shape, axis, index, dy) : null],
});

/** Whole slices of x along `axis` picked by a 1-D i32 index (repeats allowed). */
export function indexSelect(x: Tensor, axis: number, index: Tensor): Tensor {
  assertFloat(x, 'indexSelect');
  checkI32(index, 'indexSelect');
  if (index.rank !== 1) throw new Error(`indexSelect: index must be 1-D, got ${formatShape(index.shape)}`);
  return indexSelectOp([x], { axis: normalizeAxis(axis, x.rank), index: flatIndex(index) })[0]!;
}

/** Rows of weight [V, D] for ids of any shape [...] -> [..., D]; repeated ids accumulate gradient. */
export function embedding(weight: Tensor, ids: Tensor): Tensor {
  if (weight.rank !== 2) throw new Error(`embedding: weight must be [V, D], got ${formatShape(weight.shape)}`);
  checkI32(ids, 'embedding');
  // indexSelect's result is contiguous, so this reshape is a view.
  return reshape(indexSelect(weight, 0, flatIndex(ids)), [...ids.shape, weight.shape[1]!]);
}

const gatherOp = defineOp<AxisIndexAttrs>({
  name: 'gather',
  forward: (k, [x], { axis, index }) => ({ outputs: [k.gather(x!, axis, index)], saved: undefined }),
  backward: ({ kernels: k, inputs: [x], attrs: { axis, index } }, [dy]) => [dy ? k.scatterAdd(zerosOf(x!.shape, dy.dtype), axis, index, dy) : null],
});

/** out[i][j] = x[index[i][j]][j] (axis 0) or x[i][index[i][j]] (axis 1), and so on: torch.gather. */
export function gather(x: Tensor, axis: number, index: Tensor): Tensor {
  assertFloat(x, 'gather');
  checkI32(index, 'gather');
  return gatherOp([x], { axis: normalizeAxis(axis, x.rank), index })[0]!;
}

const scatterAddOp = defineOp<AxisIndexAttrs>({
  name: 'scatterAdd',
  forward: (k, [x, src], { axis, index }) => ({ outputs: [k.scatterAdd(x!, axis, index, src!)], saved: undefined }),
  backward: ({ kernels: k, inputs: [, src], attrs: { axis, index }, needsGrad }, [dy]) => {
    if (!dy) return [null, null];
    let dsrc: Tensor | null = null;
    if (needsGrad(1)) {
      const picked = k.gather(dy, axis, index);
      // src may be larger than index: its elements outside the index's block were never read.
      if (src!.shape.every((d, i) => d === index.shape[i])) dsrc = picked;
      else {
        dsrc = zerosOf(src!.shape, picked.dtype);
        k.copyInto(new Tensor(dsrc.data, dsrc.dtype, index.shape, dsrc.strides, 0), picked);
      }
    }
    return [needsGrad(0) ? dy : null, dsrc];
  },
});

/**
 * A copy of x with src added at index positions along `axis` (torch.scatter_add): for axis 0,
 * out[index[i][j]][j] += src[i][j]. Repeated indices accumulate. Gradients flow to x and src.
 */
export function scatterAdd(x: Tensor, axis: number, index: Tensor, src: Tensor): Tensor {
  assertFloat(x, 'scatterAdd');
  assertFloat(src, 'scatterAdd src');
  checkI32(index, 'scatterAdd');
  if (src.dtype !== x.dtype) throw new Error(`scatterAdd: src dtype ${src.dtype} differs from x dtype ${x.dtype}`);
  return scatterAddOp([x, src], { axis: normalizeAxis(axis, x.rank), index })[0]!;
}

interface TopkAttrs {
  k: number;
  axis: number;
  largest: boolean;
}

const topkOp = defineOp<TopkAttrs>({
  name: 'topk',
  forward: (kt, [x], { k, axis, largest }) => {
    const { values, indices } = kt.topk(x!, k, axis, largest);
    return { outputs: [values, indices], saved: undefined };
  },
  backward: ({ kernels: k, inputs: [x], outputs: [, indices], attrs: { axis } }, [dValues]) => {
    if (!dValues) return [null];
    return [k.scatterAdd(zerosOf(x!.shape, dValues.dtype), axis, indices!, dValues)];
  },
});

/**
 * The k largest (or smallest) entries along `axis`, sorted, with their i32 indices. Ties keep the lower
 * index first; NaN counts as larger than every number (as torch.topk). Only `values` is differentiable:
 * its gradient goes to the chosen positions.
 */
export function topk(x: Tensor, k: number, axis = -1, largest = true): { values: Tensor; indices: Tensor } {
  assertFloat(x, 'topk');
  const [values, indices] = topkOp([x], { k, axis: normalizeAxis(axis, x.rank), largest });
  return { values: values!, indices: indices! };
}
