// Reference gather/scatter by index, index select/add (embeddings), and top-k.

import { allocArray, type AnyTypedArray } from '../../tensor/dtype.js';
import { formatShape, numel, shapesEqual } from '../../tensor/shape.js';
import { gatherStrided, Tensor } from '../../tensor/tensor.js';

function checkIndex(index: Tensor, what: string): Int32Array {
  if (index.dtype !== 'i32') throw new Error(`${what}: index must be i32, got ${index.dtype}`);
  return index.toArray() as Int32Array;
}

/** Row-major strides of a shape. */
function stridesOf(shape: readonly number[]): number[] {
  const s = new Array<number>(shape.length);
  let acc = 1;
  for (let i = shape.length - 1; i >= 0; i--) {
    s[i] = acc;
    acc *= shape[i]!;
  }
  return s;
}

/**
 * Visits every position of `shape` in row-major order with its linear index, its coordinate along
 * `axis`, and for each stride set the offset of that position with the `axis` coordinate left out.
 */
function forEachWithAxis(
  shape: readonly number[],
  axis: number,
  strideSets: readonly (readonly number[])[],
  fn: (linear: number, axisCoord: number, offsets: readonly number[]) => void,
): void {
  const n = numel(shape);
  if (n === 0) return;
  const rank = shape.length;
  const counter = new Array<number>(rank).fill(0);
  const offsets = new Array<number>(strideSets.length).fill(0);
  for (let linear = 0; linear < n; linear++) {
    fn(linear, counter[axis] ?? 0, offsets);
    for (let d = rank - 1; d >= 0; d--) {
      const step = d === axis ? 0 : 1;
      counter[d]!++;
      if (counter[d]! < shape[d]!) {
        for (let j = 0; j < strideSets.length; j++) offsets[j]! += step * strideSets[j]![d]!;
        break;
      }
      for (let j = 0; j < strideSets.length; j++) offsets[j]! -= step * strideSets[j]![d]! * (shape[d]! - 1);
      counter[d] = 0;
    }
  }
}

/** torch.gather/scatter_add shape rules: index may be smaller than `of` on every axis but `axis` (any size there). */
function checkIndexFits(what: string, index: Tensor, of: Tensor, axis: number, includeAxis: boolean): void {
  for (let d = 0; d < index.rank; d++) {
    if ((d !== axis || includeAxis) && index.shape[d]! > of.shape[d]!) {
      throw new Error(`${what}: index ${formatShape(index.shape)} is larger than ${formatShape(of.shape)} on axis ${d}`);
    }
  }
}

export function gather(x: Tensor, axis: number, index: Tensor): Tensor {
  const idx = checkIndex(index, 'gather');
  if (index.rank !== x.rank) throw new Error(`gather: index rank ${index.rank} must equal input rank ${x.rank}`);
  checkIndexFits('gather', index, x, axis, false);
  const out = allocArray(x.dtype, index.size);
  const n = x.shape[axis]!;
  const axisStride = x.strides[axis]!;
  forEachWithAxis(index.shape, axis, [x.strides], (linear, _axisCoord, [off]) => {
    const j = idx[linear]!;
    if (j < 0 || j >= n) throw new Error(`gather: index ${j} out of range for axis ${axis} of size ${n}`);
    out[linear] = x.data[x.offset + off! + j * axisStride]!;
  });
  return new Tensor(out, x.dtype, index.shape);
}

export function scatterAdd(x: Tensor, axis: number, index: Tensor, src: Tensor): Tensor {
  const idx = checkIndex(index, 'scatterAdd');
  if (index.rank !== x.rank || src.rank !== x.rank) throw new Error(`scatterAdd: index ${formatShape(index.shape)} and src ${formatShape(src.shape)} must have the rank of x ${formatShape(x.shape)}`);
  checkIndexFits('scatterAdd', index, x, axis, false);
  checkIndexFits('scatterAdd', index, src, axis, true);
  const out = allocArray(x.dtype, x.size);
  out.set(x.toArray());
  const outStrides = stridesOf(x.shape);
  // src may be larger than index (torch allows it): only its leading block, read through its own strides.
  const srcData = src.data;
  const srcAxisStride = src.strides[axis]!;
  const n = x.shape[axis]!;
  forEachWithAxis(index.shape, axis, [outStrides, src.strides], (linear, axisCoord, [off, srcOff]) => {
    const j = idx[linear]!;
    if (j < 0 || j >= n) throw new Error(`scatterAdd: index ${j} out of range for axis ${axis} of size ${n}`);
    out[off! + j * outStrides[axis]!]! += srcData[src.offset + srcOff! + axisCoord * srcAxisStride]!;
  });
  return new Tensor(out, x.dtype, x.shape);
}

export function indexSelect(x: Tensor, axis: number, index: Tensor): Tensor {
  const idx = checkIndex(index, 'indexSelect');
  if (index.rank !== 1) throw new Error(`indexSelect: index must be 1-D, got ${formatShape(index.shape)}`);
  const outer = numel(x.shape.slice(0, axis));
  const n = x.shape[axis]!;
  const inner = numel(x.shape.slice(axis + 1));
  const xs = x.toArray();
  const out = allocArray(x.dtype, outer * idx.length * inner);
  for (let o = 0; o < outer; o++) {
    for (let i = 0; i < idx.length; i++) {
      const j = idx[i]!;
      if (j < 0 || j >= n) throw new Error(`indexSelect: index ${j} out of range for axis ${axis} of size ${n}`);
      const src = (o * n + j) * inner;
      out.set(xs.subarray(src, src + inner), (o * idx.length + i) * inner);
    }
  }
  const shape = [...x.shape];
  shape[axis] = idx.length;
  return new Tensor(out, x.dtype, shape);
}

export function indexAdd(shape: readonly number[], axis: number, index: Tensor, src: Tensor): Tensor {
  return new Tensor(indexAddInto(allocArray(src.dtype, numel(shape)), shape, axis, index, src), src.dtype, shape);
}

/**
 * indexAdd into `out` (zeros of numel(shape) elements in src's dtype, supplied by the caller: the
 * wasm backend places it in step memory); returns `out`.
 */
export function indexAddInto<T extends AnyTypedArray>(out: T, shape: readonly number[], axis: number, index: Tensor, src: Tensor): T {
  const idx = checkIndex(index, 'indexAdd');
  if (index.rank !== 1) throw new Error(`indexAdd: index must be 1-D, got ${formatShape(index.shape)}`);
  const expected = shape.map((d, i) => (i === axis ? idx.length : d));
  if (!shapesEqual(src.shape, expected)) throw new Error(`indexAdd: src ${formatShape(src.shape)} must be ${formatShape(expected)}`);
  if (out.length !== numel(shape)) throw new Error(`indexAdd: output has ${out.length} elements for ${formatShape(shape)}`);
  const outer = numel(shape.slice(0, axis));
  const n = shape[axis]!;
  const inner = numel(shape.slice(axis + 1));
  const ss = src.toArray();
  for (let o = 0; o < outer; o++) {
    for (let i = 0; i < idx.length; i++) {
      const j = idx[i]!;
      if (j < 0 || j >= n) throw new Error(`indexAdd: index ${j} out of range for axis ${axis} of size ${n}`);
      const dst = (o * n + j) * inner;
      const from = (o * idx.length + i) * inner;
      for (let e = 0; e < inner; e++) out[dst + e]! += ss[from + e]!;
    }
  }
  return out;
}

export function topk(x: Tensor, k: number, axis: number, largest: boolean): { values: Tensor; indices: Tensor } {
  const n = x.shape[axis]!;
  if (!Number.isInteger(k) || k < 0 || k > n) throw new Error(`topk: k = ${k} must be in [0, ${n}]`);
  const kept = [...Array(x.rank).keys()].filter((a) => a !== axis);
  const moved = new Tensor(x.data, x.dtype, [...kept.map((a) => x.shape[a]!), n], [...kept.map((a) => x.strides[a]!), x.strides[axis]!], x.offset).toArray();
  const rows = n ? moved.length / n : numel(kept.map((a) => x.shape[a]!));
  const values = allocArray(x.dtype, rows * k);
  const indices = new Int32Array(rows * k);
  const order = new Array<number>(n);
  for (let r = 0; r < rows; r++) {
    const base = r * n;
    for (let i = 0; i < n; i++) order[i] = i;
    // Stable by index among equal values; NaN sorts as largest.
    order.sort((a, b) => {
      const va = moved[base + a]!;
      const vb = moved[base + b]!;
      const d = largest ? cmp(vb, va) : cmp(va, vb);
      return d !== 0 ? d : a - b;
    });
    for (let i = 0; i < k; i++) {
      values[r * k + i] = moved[base + order[i]!]!;
      indices[r * k + i] = order[i]!;
    }
  }
  // results are laid out with `axis` last; move it back into place
  const movedShape = [...kept.map((a) => x.shape[a]!), k];
  const back = (t: Tensor): Tensor => {
    if (axis === x.rank - 1) return t;
    const perm = new Array<number>(x.rank);
    kept.forEach((a, i) => (perm[a] = i));
    perm[axis] = x.rank - 1;
    const view = new Tensor(t.data, t.dtype, perm.map((p) => t.shape[p]!), perm.map((p) => t.strides[p]!), 0);
    const data = allocArray(t.dtype, t.size);
    gatherStrided(t.data, view.shape, view.strides, 0, data);
    return new Tensor(data, t.dtype, view.shape);
  };
  return { values: back(new Tensor(values, x.dtype, movedShape)), indices: back(new Tensor(indices, 'i32', movedShape)) };
}

function cmp(a: number, b: number): number {
  if (Number.isNaN(a)) return Number.isNaN(b) ? 0 : 1;
  if (Number.isNaN(b)) return -1;
  return a < b ? -1 : a > b ? 1 : 0;
}
