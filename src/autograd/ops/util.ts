// Helpers shared by op definitions.

import { kernels } from '../../backend/backend.js';
import { allocArray, type DType } from '../../tensor/dtype.js';
import { formatShape, shapesEqual } from '../../tensor/shape.js';
import { Tensor } from '../../tensor/tensor.js';

export type TensorLike = Tensor | number;

/** Wraps a number as a scalar tensor of `dtype`. */
export function asTensor(x: TensorLike, dtype: DType): Tensor {
  if (x instanceof Tensor) return x;
  const data = allocArray(dtype === 'f64' || dtype === 'i32' ? dtype : 'f32', 1);
  data[0] = x;
  return new Tensor(data, dtype === 'f64' || dtype === 'i32' ? dtype : 'f32', []);
}

/** The float dtype two operands compute in. */
export function commonDType(a: TensorLike, b: TensorLike): DType {
  const da = a instanceof Tensor ? a.dtype : null;
  const db = b instanceof Tensor ? b.dtype : null;
  if (da && db) return da === db ? da : da === 'f64' || db === 'f64' ? 'f64' : 'f32';
  return da ?? db ?? 'f32';
}

/** Sums a broadcast gradient back down to `shape`. */
export function sumToShape(g: Tensor, shape: readonly number[]): Tensor {
  if (shapesEqual(g.shape, shape)) return g;
  const k = kernels();
  const lead = g.rank - shape.length;
  if (lead < 0) throw new Error(`sumToShape: gradient ${formatShape(g.shape)} has lower rank than ${formatShape(shape)}`);
  const axes: number[] = [];
  for (let i = 0; i < g.rank; i++) {
    if (i < lead || (shape[i - lead] === 1 && g.shape[i] !== 1)) axes.push(i);
  }
  const reduced = axes.length ? k.reduce('sum', g, axes, true) : g;
  return reshapeContiguous(reduced, shape);
}

/** A reshaped view of a contiguous tensor (copying first if it is not contiguous). */
export function reshapeContiguous(x: Tensor, shape: readonly number[]): Tensor {
  const c = x.isContiguous() ? x : kernels().copy(x, x.dtype);
  return new Tensor(c.data, c.dtype, shape, undefined, c.offset);
}

