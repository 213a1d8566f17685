// Strided iteration helpers shared by the reference kernels. They walk the outer axes with a
// counter and hand each innermost row to a tight loop, so the per-element work has no calls.

import { allocArray, type AnyTypedArray, type DType } from '../../tensor/dtype.js';
import { formatShape, numel, shapesEqual } from '../../tensor/shape.js';
import { Tensor } from '../../tensor/tensor.js';

/** Strides of `t` viewed at `outShape` under broadcasting (0 on broadcast axes). */
export function broadcastStridesTo(t: Tensor, outShape: readonly number[]): number[] {
  const rank = outShape.length;
  const out = new Array<number>(rank).fill(0);
  const shift = rank - t.rank;
  if (shift < 0) throw new Error(`cannot broadcast ${formatShape(t.shape)} to ${formatShape(outShape)}`);
  for (let i = 0; i < t.rank; i++) {
    const d = t.shape[i]!;
    const o = outShape[i + shift]!;
    if (d === o) out[i + shift] = d === 1 ? 0 : t.strides[i]!;
    else if (d === 1) out[i + shift] = 0;
    else throw new Error(`cannot broadcast ${formatShape(t.shape)} to ${formatShape(outShape)}`);
  }
  return out;
}

/**
 * Calls `row(offsets, length)` for every innermost row of `shape`, where offsets[j] is the
 * storage offset of operand j at the row's first element; operand j steps by strides[j][last].
 */
export function forEachRow(
  shape: readonly number[],
  strides: readonly (readonly number[])[],
  offsets: readonly number[],
  row: (offsets: number[]) => void,
): void {
  const rank = shape.length;
  if (numel(shape) === 0) return;
  const cur = [...offsets];
  if (rank <= 1) {
    row(cur);
    return;
  }
  const counter = new Array<number>(rank - 1).fill(0);
  const nOps = strides.length;
  for (;;) {
    row(cur);
    let axis = rank - 2;
    while (axis >= 0) {
      counter[axis]!++;
      for (let j = 0; j < nOps; j++) cur[j]! += strides[j]![axis]!;
      if (counter[axis]! < shape[axis]!) break;
      for (let j = 0; j < nOps; j++) cur[j]! -= strides[j]![axis]! * shape[axis]!;
      counter[axis] = 0;
      axis--;
    }
    if (axis < 0) return;
  }
}

export function lastStride(strides: readonly number[]): number {
  return strides.length ? strides[strides.length - 1]! : 0;
}

/** A view of x with axes reordered (no copy). */
export function permuteView(x: Tensor, perm: readonly number[]): Tensor {
  return new Tensor(
    x.data,
    x.dtype,
    perm.map((p) => x.shape[p]!),
    perm.map((p) => x.strides[p]!),
    x.offset,
  );
}

/**
 * Runs a row kernel along `axis`: operands are viewed with `axis` last and copied contiguous,
 * `rowFn(rowIndex, inputs, output, base)` fills output[base .. base+n), and the result comes back
 * in the original axis order.
 */
export function mapAlongAxis(
  inputs: readonly Tensor[],
  axis: number,
  outDType: DType,
  rowFn: (inputs: readonly AnyTypedArray[], out: AnyTypedArray, base: number, n: number) => void,
): Tensor {
  const first = inputs[0]!;
  for (const t of inputs) {
    if (!shapesEqual(t.shape, first.shape)) throw new Error(`shape mismatch ${formatShape(t.shape)} vs ${formatShape(first.shape)}`);
  }
  const rank = first.rank;
  const perm = [...Array(rank).keys()].filter((a) => a !== axis);
  perm.push(axis);
  const moved = inputs.map((t) => permuteView(t, perm).toArray());
  const n = first.shape[axis]!;
  const total = first.size;
  const out = allocArray(outDType, total);
  if (n > 0) for (let base = 0; base < total; base += n) rowFn(moved, out, base, n);
  const movedShape = perm.map((p) => first.shape[p]!);
  const result = new Tensor(out, outDType, movedShape);
  if (axis === rank - 1) return result;
  // inverse permutation back to the original axis order, then make contiguous
  const inverse = new Array<number>(rank);
  perm.forEach((p, i) => (inverse[p] = i));
  return contiguousCopy(permuteView(result, inverse));
}

export function contiguousCopy(x: Tensor): Tensor {
  const data = allocArray(x.dtype, x.size);
  const src = x.toArray();
  data.set(src);
  return new Tensor(data, x.dtype, x.shape);
}
