// Reference copies: contiguous copy with dtype conversion, writes into strided views, concat.

import { allocArray, convertArray, type DType } from '../../tensor/dtype.js';
import { formatShape, numel } from '../../tensor/shape.js';
import { Tensor } from '../../tensor/tensor.js';
import { broadcastStridesTo, forEachRow, lastStride } from './iterate.js';

export function copy(x: Tensor, dtype: DType): Tensor {
  // A non-contiguous view is gathered into a new array already; only storage (or a window of it)
  // needs copying again.
  const gathered = !x.isContiguous();
  const src = x.toArray();
  const data = gathered && x.dtype === dtype ? src : convertArray(src, x.dtype, dtype);
  return new Tensor(data, dtype, x.shape);
}

export function copyInto(dst: Tensor, src: Tensor): void {
  const ss = broadcastStridesTo(src, dst.shape);
  const n = dst.rank ? dst.shape[dst.rank - 1]! : 1;
  const td = lastStride(dst.strides);
  const ts = lastStride(ss);
  const dd = dst.data;
  const sd = src.data;
  forEachRow(dst.shape, [dst.strides, ss], [dst.offset, src.offset], (off) => {
    let pd = off[0]!;
    let ps = off[1]!;
    for (let i = 0; i < n; i++, pd += td, ps += ts) dd[pd] = sd[ps]!;
  });
}

export function concat(xs: readonly Tensor[], axis: number): Tensor {
  const first = xs[0];
  if (!first) throw new Error('concat: needs at least one tensor');
  const shape = [...first.shape];
  let total = 0;
  for (const t of xs) {
    if (t.rank !== first.rank || t.shape.some((d, i) => i !== axis && d !== first.shape[i])) {
      throw new Error(`concat: shape ${formatShape(t.shape)} does not match ${formatShape(first.shape)} outside axis ${axis}`);
    }
    if (t.dtype !== first.dtype) throw new Error(`concat: dtype ${t.dtype} does not match ${first.dtype}`);
    total += t.shape[axis]!;
  }
  shape[axis] = total;
  const out = new Tensor(allocArray(first.dtype, numel(shape)), first.dtype, shape);
  let start = 0;
  for (const t of xs) {
    const len = t.shape[axis]!;
    const view = new Tensor(out.data, out.dtype, t.shape, out.strides, start * out.strides[axis]!);
    copyInto(view, t);
    start += len;
  }
  return out;
}
