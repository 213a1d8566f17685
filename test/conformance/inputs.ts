// Input generators for the conformance table: seeded f32 tensors of awkward shapes (empty, size-1,
// odd sizes across the SIMD widths), optionally seeded with special values (NaN, +-inf, +-0,
// subnormals, values where exp overflows), fully masked (all -inf) and partially masked rows, and
// non-contiguous views (transposed, sliced with a step).

import { Rng } from '../../src/tensor/rng.js';
import { numel } from '../../src/tensor/shape.js';
import { Tensor } from '../../src/tensor/tensor.js';

/** Special values spread through "special" inputs, every SPECIAL_STRIDE elements. */
export const SPECIALS: readonly number[] = [NaN, Infinity, -Infinity, 0, -0, 1e-40, -1e-40, 88, -88, 100, -200, 1, -1, 0.5];
const SPECIAL_STRIDE = 5;

export interface DrawOptions {
  /** Standard deviation of the normal draw (default 1). */
  std?: number;
  /** Added to every drawn value (default 0). */
  mean?: number;
  /** Overwrite every SPECIAL_STRIDE-th element with the next special value (default false). */
  specials?: boolean;
}

/** A contiguous f32 tensor of normal draws. */
export function draw(shape: readonly number[], rng: Rng, options: DrawOptions = {}): Tensor {
  const n = numel(shape);
  const data = new Float32Array(n);
  const std = options.std ?? 1;
  const mean = options.mean ?? 0;
  for (let i = 0; i < n; i++) data[i] = mean + std * rng.normal();
  if (options.specials) for (let i = 0, s = 0; i < n; i += SPECIAL_STRIDE, s++) data[i] = SPECIALS[s % SPECIALS.length]!;
  return new Tensor(data, 'f32', shape);
}

/** An f32 tensor with the given values. */
export function values(list: readonly number[], shape: readonly number[] = [list.length]): Tensor {
  return new Tensor(Float32Array.from(list), 'f32', shape);
}

/** The same values stored transposed (last two axes) and viewed back: a non-contiguous view. */
export function transposedView(t: Tensor): Tensor {
  const r = t.rank;
  const perm = [...Array(r).keys()];
  [perm[r - 2], perm[r - 1]] = [perm[r - 1]!, perm[r - 2]!];
  const stored = copyContiguous(new Tensor(t.data, t.dtype, perm.map((p) => t.shape[p]!), perm.map((p) => t.strides[p]!), t.offset));
  return new Tensor(stored.data, stored.dtype, perm.map((p) => stored.shape[p]!), perm.map((p) => stored.strides[p]!), stored.offset);
}

/** The same values as a view with every stride doubled at offset 1; the gaps hold NaN, so reading them shows. */
export function steppedView(t: Tensor): Tensor {
  const n = t.size;
  const storage = new Float32Array(2 * n + 1).fill(NaN);
  const src = copyContiguous(t).data;
  for (let i = 0; i < n; i++) storage[1 + 2 * i] = src[i]!;
  const strides = new Array<number>(t.rank);
  let s = 2;
  for (let i = t.rank - 1; i >= 0; i--) {
    strides[i] = s;
    s *= t.shape[i]!;
  }
  return new Tensor(storage, 'f32', t.shape, strides, 1);
}

function copyContiguous(t: Tensor): Tensor {
  return new Tensor(Float32Array.from(t.toArray()), t.dtype, t.shape);
}

/** Rows for softmax-like kernels: random rows, one fully masked (-inf) row, one partially masked, one with NaN, one with +inf. */
export function maskedRows(rows: number, cols: number, rng: Rng): Tensor {
  const t = draw([rows, cols], rng, { std: 3 });
  const d = t.data as Float32Array;
  const setRow = (r: number, f: (j: number) => number): void => {
    if (r >= rows) return;
    for (let j = 0; j < cols; j++) d[r * cols + j] = f(j);
  };
  setRow(0, () => -Infinity);
  setRow(1, (j) => (j % 2 === 0 ? -Infinity : d[cols + j]!));
  if (cols > 1) setRow(2, (j) => (j === cols - 1 ? NaN : d[2 * cols + j]!));
  if (cols > 1) setRow(3, (j) => (j === 0 ? Infinity : d[3 * cols + j]!));
  return t;
}

export { Rng };
