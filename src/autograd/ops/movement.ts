// Movement ops. reshape, permute, slice and expand return views sharing storage whenever the
// strides allow (no copy); their gradients scatter or sum back to the input's shape.

import { allocArray, type DType } from '../../tensor/dtype.js';
import { contiguousStrides, formatShape, normalizeAxis, numel } from '../../tensor/shape.js';
import { Tensor } from '../../tensor/tensor.js';
import { defineOp } from '../engine.js';
import { reshapeContiguous, sumToShape } from './util.js';

/** Strides for viewing x at `shape` without a copy, or null when the layout does not allow it. */
function viewStrides(x: Tensor, shape: readonly number[]): number[] | null {
  if (x.isContiguous()) return contiguousStrides(shape);
  // Non-contiguous: merge/split axes only within runs that are themselves contiguous (as torch.view).
  const oldShape = x.shape.filter((d) => d !== 1);
  const oldStrides = x.strides.filter((_, i) => x.shape[i] !== 1);
  const newStrides = new Array<number>(shape.length).fill(0);
  let oi = 0;
  let ni = 0;
  while (ni < shape.length || oi < oldShape.length) {
    if (ni < shape.length && shape[ni] === 1) {
      newStrides[ni] = 1;
      ni++;
      continue;
    }
    if (oi >= oldShape.length || ni >= shape.length) return null;
    // take a chunk of old axes whose product equals a chunk of new axes
    let oldProd = oldShape[oi]!;
    let newProd = shape[ni]!;
    const oStart = oi;
    const nStart = ni;
    while (oldProd !== newProd) {
      if (oldProd < newProd) {
        oi++;
        if (oi >= oldShape.length) return null;
        oldProd *= oldShape[oi]!;
      } else {
        ni++;
        if (ni >= shape.length) return null;
        newProd *= shape[ni]!;
      }
    }
    for (let j = oStart; j < oi; j++) if (oldStrides[j] !== oldStrides[j + 1]! * oldShape[j + 1]!) return null;
    let stride = oldStrides[oi]!;
    for (let j = ni; j >= nStart; j--) {
      newStrides[j] = stride;
      stride *= shape[j]!;
    }
    oi++;
    ni++;
  }
  return newStrides;
}

function resolveShape(shape: readonly number[], size: number): number[] {
  const inferred = shape.indexOf(-1);
  const out = [...shape];
  if (inferred >= 0) {
    const known = numel(shape.filter((_, i) => i !== inferred));
    if (known === 0 || size % known !== 0) throw new Error(`reshape: cannot infer -1 in ${formatShape(shape)} for ${size} elements`);
    out[inferred] = size / known;
  }
  if (numel(out) !== size) throw new Error(`reshape: ${formatShape(shape)} does not hold ${size} elements`);
  return out;
}

const reshapeOp = defineOp<{ shape: number[] }>({
  name: 'reshape',
  forward: (k, [x], { shape }) => {
    const strides = viewStrides(x!, shape);
    if (strides) return { outputs: [new Tensor(x!.data, x!.dtype, shape, strides, x!.offset)], saved: undefined };
    const c = k.copy(x!, x!.dtype);
    return { outputs: [new Tensor(c.data, c.dtype, shape)], saved: undefined };
  },
  backward: ({ inputs: [x] }, [dy]) => [dy ? reshapeContiguous(dy, x!.shape) : null],
});

export function reshape(x: Tensor, shape: readonly number[]): Tensor {
  return reshapeOp([x], { shape: resolveShape(shape, x.size) })[0]!;
}

export function flatten(x: Tensor, startAxis = 0, endAxis = -1): Tensor {
  if (x.rank === 0) return reshape(x, [1]);
  const s = normalizeAxis(startAxis, x.rank);
  const e = normalizeAxis(endAxis, x.rank);
  return reshape(x, [...x.shape.slice(0, s), numel(x.shape.slice(s, e + 1)), ...x.shape.slice(e + 1)]);
}

export function unsqueeze(x: Tensor, axis: number): Tensor {
  const a = normalizeAxis(axis, x.rank + 1);
  return reshape(x, [...x.shape.slice(0, a), 1, ...x.shape.slice(a)]);
}

export function squeeze(x: Tensor, axis?: number): Tensor {
  if (axis === undefined) return reshape(x, x.shape.filter((d) => d !== 1));
  const a = normalizeAxis(axis, x.rank);
  if (x.shape[a] !== 1) throw new Error(`squeeze: axis ${axis} has size ${x.shape[a]}, not 1`);
  return reshape(x, x.shape.filter((_, i) => i !== a));
}

const permuteOp = defineOp<{ perm: number[] }>({
  name: 'permute',
  forward: (_k, [x], { perm }) => ({
    outputs: [new Tensor(x!.data, x!.dtype, perm.map((p) => x!.shape[p]!), perm.map((p) => x!.strides[p]!), x!.offset)],
    saved: undefined,
  }),
  backward: ({ kernels: k, attrs: { perm } }, [dy]) => {
    if (!dy) return [null];
    const inverse = new Array<number>(perm.length);
    perm.forEach((p, i) => (inverse[p] = i));
    const back = new Tensor(dy.data, dy.dtype, inverse.map((p) => dy.shape[p]!), inverse.map((p) => dy.strides[p]!), dy.offset);
    // A gradient made in the input's layout (matmul's, for a transposed weight) needs no copy.
    return [back.isContiguous() ? back : k.copy(back, dy.dtype)];
  },
});

export function permute(x: Tensor, perm: readonly number[]): Tensor {
  const p = perm.map((a) => normalizeAxis(a, x.rank));
  if (p.length !== x.rank || new Set(p).size !== p.length) throw new Error(`permute: ${formatShape(perm)} is not a permutation of ${x.rank} axes`);
  return permuteOp([x], { perm: p })[0]!;
}

/** Swaps two axes (default: the last two). */
export function transpose(x: Tensor, axis0 = -2, axis1 = -1): Tensor {
  const perm = [...Array(x.rank).keys()];
  const a = normalizeAxis(axis0, x.rank);
  const b = normalizeAxis(axis1, x.rank);
  perm[a] = b;
  perm[b] = a;
  return permute(x, perm);
}

/** [start, end) with an optional step; negative indices count from the end; null keeps the axis. */
export type SliceRange = readonly [start: number, end?: number, step?: number] | null;

interface SliceAttrs {
  starts: number[];
  steps: number[];
  shape: number[];
}

const sliceOp = defineOp<SliceAttrs>({
  name: 'slice',
  forward: (_k, [x], { starts, steps, shape }) => {
    let offset = x!.offset;
    const strides = x!.strides.map((s, i) => {
      offset += starts[i]! * s;
      return s * steps[i]!;
    });
    return { outputs: [new Tensor(x!.data, x!.dtype, shape, strides, offset)], saved: undefined };
  },
  backward: ({ kernels: k, inputs: [x], attrs: { starts, steps, shape } }, [dy]) => {
    if (!dy) return [null];
    // Zeros of x's shape in the gradient's dtype (dy has the slice's, smaller, shape).
    const full = new Tensor(allocArray(dy.dtype, x!.size), dy.dtype, x!.shape);
    let offset = 0;
    const strides = full.strides.map((s, i) => {
      offset += starts[i]! * s;
      return s * steps[i]!;
    });
    k.copyInto(new Tensor(full.data, full.dtype, shape, strides, offset), dy);
    return [full];
  },
});

export function slice(x: Tensor, ranges: readonly SliceRange[]): Tensor {
  if (ranges.length > x.rank) throw new Error(`slice: ${ranges.length} ranges for a rank-${x.rank} tensor`);
  const starts: number[] = [];
  const steps: number[] = [];
  const shape: number[] = [];
  for (let i = 0; i < x.rank; i++) {
    const d = x.shape[i]!;
    const r = ranges[i] ?? null;
    if (!r) {
      starts.push(0);
      steps.push(1);
      shape.push(d);
      continue;
    }
    const step = r[2] ?? 1;
    if (!Number.isInteger(step) || step <= 0) throw new Error(`slice: step must be a positive integer on axis ${i}, got ${step}`);
    const clamp = (v: number): number => Math.min(Math.max(v < 0 ? v + d : v, 0), d);
    const start = clamp(r[0]);
    const end = r[1] === undefined ? d : clamp(r[1]);
    starts.push(start);
    steps.push(step);
    shape.push(Math.max(0, Math.ceil((end - start) / step)));
  }
  return sliceOp([x], { starts, steps, shape })[0]!;
}

/** `length` elements of `axis` starting at `start`. */
export function narrow(x: Tensor, axis: number, start: number, length: number): Tensor {
  const a = normalizeAxis(axis, x.rank);
  const ranges: SliceRange[] = x.shape.map(() => null);
  ranges[a] = [start, start + length];
  return slice(x, ranges);
}

const expandOp = defineOp<{ shape: number[] }>({
  name: 'expand',
  forward: (_k, [x], { shape }) => {
    const shift = shape.length - x!.rank;
    const strides = shape.map((d, i) => {
      const j = i - shift;
      if (j < 0) return 0;
      const xd = x!.shape[j]!;
      if (xd === d) return xd === 1 ? 0 : x!.strides[j]!;
      if (xd === 1) return 0;
      throw new Error(`expand: cannot expand ${formatShape(x!.shape)} to ${formatShape(shape)}`);
    });
    return { outputs: [new Tensor(x!.data, x!.dtype, shape, strides, x!.offset)], saved: undefined };
  },
  backward: ({ inputs: [x] }, [dy]) => [dy ? sumToShape(dy, x!.shape) : null],
});

/** Broadcasts x to `shape` as a stride-0 view (no copy). */
export function expand(x: Tensor, shape: readonly number[]): Tensor {
  return expandOp([x], { shape: [...shape] })[0]!;
}

const contiguousOp = defineOp<Record<string, never>>({
  name: 'contiguous',
  // A contiguous input still gets a new view: returning the input object itself would attach this
  // op's history to it (a leaf would stop being a leaf).
  forward: (k, [x]) => ({ outputs: [x!.isContiguous() ? new Tensor(x!.data, x!.dtype, x!.shape, x!.strides, x!.offset) : k.copy(x!, x!.dtype)], saved: undefined }),
  backward: (_ctx, [dy]) => [dy ?? null],
});

export function contiguous(x: Tensor): Tensor {
  return contiguousOp([x], {})[0]!;
}

const castOp = defineOp<{ dtype: DType }>({
  name: 'cast',
  forward: (k, [x], { dtype }) => ({ outputs: [k.copy(x!, dtype)], saved: undefined }),
  backward: ({ kernels: k, inputs: [x] }, [dy]) => [dy ? k.copy(dy, x!.dtype) : null],
});

/** Converts to another dtype (f16/bf16/i8 storage to f32 on load, f32 to f64 for checks). */
export function cast(x: Tensor, dtype: DType): Tensor {
  if (x.dtype === dtype) return x;
  return castOp([x], { dtype })[0]!;
}

const concatOp = defineOp<{ axis: number }>({
  name: 'concat',
  forward: (k, xs, { axis }) => ({ outputs: [k.concat(xs, axis)], saved: undefined }),
  backward: ({ kernels: k, inputs, attrs: { axis } }, [dy]) => {
    if (!dy) return inputs.map(() => null);
    let start = 0;
    return inputs.map((x) => {
      const len = x.shape[axis]!;
      const view = sliceView(dy, axis, start, len);
      start += len;
      return k.copy(view, dy.dtype);
    });
  },
});

function sliceView(x: Tensor, axis: number, start: number, length: number): Tensor {
  const shape = [...x.shape];
  shape[axis] = length;
  return new Tensor(x.data, x.dtype, shape, x.strides, x.offset + start * x.strides[axis]!);
}

export function concat(xs: readonly Tensor[], axis = 0): Tensor {
  if (!xs.length) throw new Error('concat: needs at least one tensor');
  return concatOp(xs, { axis: normalizeAxis(axis, xs[0]!.rank) })[0]!;
}

/** Splits along `axis` into pieces of the given sizes (or `sizes` equal pieces when a number). */
export function split(x: Tensor, sizes: number | readonly number[], axis = 0): Tensor[] {
  const a = normalizeAxis(axis, x.rank);
  const d = x.shape[a]!;
  let parts: number[];
  if (typeof sizes === 'number') {
    if (d % sizes !== 0) throw new Error(`split: axis of size ${d} does not split into ${sizes} equal parts`);
    parts = new Array<number>(sizes).fill(d / sizes);
  } else parts = [...sizes];
  if (parts.reduce((s, v) => s + v, 0) !== d) throw new Error(`split: sizes ${formatShape(parts)} do not add up to ${d}`);
  let start = 0;
  return parts.map((len) => {
    const piece = narrow(x, a, start, len);
    start += len;
    return piece;
  });
}
