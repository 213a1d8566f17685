// The Tensor: a strided view over a typed-array storage. Views (reshape, permute, slice, expand)
// share storage; ops that need contiguous data copy. Autograd state lives here as plain fields,
// filled in by src/autograd.

import { allocArray, isFloat, type AnyTypedArray, type DType, type FloatDType } from './dtype.js';
import { type Rng } from './rng.js';
import { assertValidShape, contiguousStrides, formatShape, numel, type Shape } from './shape.js';

/** A node of the autograd graph: how a tensor was made and how to push gradients back. */
export interface GradNode {
  readonly opName: string;
  readonly inputs: readonly Tensor[];
  /** Gradients of the inputs given gradients of the outputs (null where an output got none). */
  backward(gradOutputs: readonly (Tensor | null)[]): readonly (Tensor | null)[];
  /** The outputs this node produced, weakly tied (index of the tensor is `outputIndex`). */
  readonly outputCount: number;
}

export class Tensor {
  readonly data: AnyTypedArray;
  readonly dtype: DType;
  readonly shape: readonly number[];
  readonly strides: readonly number[];
  readonly offset: number;
  /** True for leaves whose gradient is wanted, and for results computed from them. */
  requiresGrad = false;
  grad: Tensor | null = null;
  gradNode: GradNode | null = null;
  /** Which output of `gradNode` this tensor is. */
  outputIndex = 0;
  /** Optional name (parameter name, debugging). */
  name: string | undefined;

  constructor(data: AnyTypedArray, dtype: DType, shape: Shape, strides?: readonly number[], offset = 0) {
    assertValidShape(shape);
    this.data = data;
    this.dtype = dtype;
    this.shape = Object.freeze([...shape]);
    this.strides = Object.freeze(strides ? [...strides] : contiguousStrides(shape));
    this.offset = offset;
    if (this.strides.length !== this.shape.length) {
      throw new Error(`strides ${formatShape(this.strides)} do not match shape ${formatShape(shape)}`);
    }
    const n = numel(shape);
    if (n > 0) {
      let maxIndex = offset;
      let minIndex = offset;
      for (let i = 0; i < shape.length; i++) {
        const span = (shape[i]! - 1) * this.strides[i]!;
        if (span > 0) maxIndex += span;
        else minIndex += span;
      }
      if (minIndex < 0 || maxIndex >= data.length) {
        throw new Error(`view ${formatShape(shape)} (strides ${formatShape(this.strides)}, offset ${offset}) exceeds storage of ${data.length} elements`);
      }
    }
  }

  get rank(): number {
    return this.shape.length;
  }

  get size(): number {
    return numel(this.shape);
  }

  isContiguous(): boolean {
    let expected = 1;
    for (let i = this.shape.length - 1; i >= 0; i--) {
      const d = this.shape[i]!;
      if (d !== 1 && this.strides[i] !== expected) return false;
      expected *= d;
    }
    return true;
  }

  /** Element at a multi-index (slow; for tests and debugging). */
  get(...index: number[]): number {
    if (index.length !== this.rank) throw new Error(`get: expected ${this.rank} indices, got ${index.length}`);
    let p = this.offset;
    for (let i = 0; i < index.length; i++) {
      const j = index[i]!;
      if (j < 0 || j >= this.shape[i]!) throw new Error(`get: index ${j} out of range for axis ${i} of size ${this.shape[i]}`);
      p += j * this.strides[i]!;
    }
    return this.data[p]!;
  }

  /** The scalar value of a one-element tensor. */
  item(): number {
    if (this.size !== 1) throw new Error(`item: tensor has ${this.size} elements, expected 1`);
    return this.data[this.offset]!;
  }

  /** A contiguous copy of the elements in row-major order (or the storage itself when already so). */
  toArray(): AnyTypedArray {
    const n = this.size;
    if (this.isContiguous()) {
      if (this.offset === 0 && this.data.length === n) return this.data;
      return this.data.subarray(this.offset, this.offset + n);
    }
    const out = allocArray(this.dtype, n);
    gatherStrided(this.data, this.shape, this.strides, this.offset, out);
    return out;
  }

  /** Elements as a plain number array (for tests and printing). */
  toList(): number[] {
    return Array.from(this.toArray());
  }

  toString(): string {
    const values = this.size <= 16 ? `[${this.toList().map((v) => +v.toPrecision(5)).join(', ')}]` : '[...]';
    return `Tensor(${this.dtype}, ${formatShape(this.shape)}, ${values})`;
  }
}

/**
 * Copies a strided view into `out` in row-major order. The innermost axis runs in a tight loop and
 * the outer axes advance by a counter: no per-element calls (this is the hot path of every copy
 * of a transposed or sliced tensor). f32 goes through its own copy of the loop: one function fed
 * every typed-array kind makes V8's element accesses megamorphic, several times slower.
 */
export function gatherStrided(
  data: AnyTypedArray,
  shape: readonly number[],
  strides: readonly number[],
  offset: number,
  out: AnyTypedArray,
): void {
  if (numel(shape) === 0) return;
  if (shape.length === 0) {
    out[0] = data[offset]!;
    return;
  }
  if (data instanceof Float32Array && out instanceof Float32Array) gatherStridedF32(data, shape, strides, offset, out);
  else gatherStridedAny(data, shape, strides, offset, out);
}

function gatherStridedF32(data: Float32Array, shape: readonly number[], strides: readonly number[], offset: number, out: Float32Array): void {
  const last = shape.length - 1;
  const inner = shape[last]!;
  const step = strides[last]!;
  const counter = new Int32Array(shape.length);
  let base = offset;
  for (let o = 0; ; o += inner) {
    if (step === 1) {
      if (inner >= 64) out.set(data.subarray(base, base + inner), o);
      else for (let j = 0; j < inner; j++) out[o + j] = data[base + j]!;
    } else {
      for (let j = 0, p = base; j < inner; j++, p += step) out[o + j] = data[p]!;
    }
    let axis = last - 1;
    while (axis >= 0) {
      base += strides[axis]!;
      if (++counter[axis]! < shape[axis]!) break;
      base -= strides[axis]! * shape[axis]!;
      counter[axis] = 0;
      axis--;
    }
    if (axis < 0) return;
  }
}

function gatherStridedAny(data: AnyTypedArray, shape: readonly number[], strides: readonly number[], offset: number, out: AnyTypedArray): void {
  const last = shape.length - 1;
  const inner = shape[last]!;
  const step = strides[last]!;
  const counter = new Int32Array(shape.length);
  let base = offset;
  for (let o = 0; ; o += inner) {
    for (let j = 0, p = base; j < inner; j++, p += step) out[o + j] = data[p]!;
    let axis = last - 1;
    while (axis >= 0) {
      base += strides[axis]!;
      if (++counter[axis]! < shape[axis]!) break;
      base -= strides[axis]! * shape[axis]!;
      counter[axis] = 0;
      axis--;
    }
    if (axis < 0) return;
  }
}

/** The view of `t` (rank >= 2) with its last two axes swapped: no copy, no autograd. */
export function swapLastAxes(t: Tensor): Tensor {
  const r = t.rank;
  const shape = [...t.shape];
  const strides = [...t.strides];
  [shape[r - 2], shape[r - 1]] = [shape[r - 1]!, shape[r - 2]!];
  [strides[r - 2], strides[r - 1]] = [strides[r - 1]!, strides[r - 2]!];
  return new Tensor(t.data, t.dtype, shape, strides, t.offset);
}

/** Calls `fn(storageOffset, linearIndex)` for every element in row-major order. */
export function forEachOffset(
  shape: readonly number[],
  strides: readonly number[],
  offset: number,
  fn: (storageOffset: number, linearIndex: number) => void,
): void {
  const rank = shape.length;
  const n = numel(shape);
  if (n === 0) return;
  if (rank === 0) {
    fn(offset, 0);
    return;
  }
  const counter = new Array<number>(rank).fill(0);
  const last = rank - 1;
  const lastSize = shape[last]!;
  const lastStride = strides[last]!;
  let base = offset;
  let linear = 0;
  while (linear < n) {
    let p = base;
    for (let j = 0; j < lastSize; j++) {
      fn(p, linear++);
      p += lastStride;
    }
    // carry into the outer axes
    let axis = last - 1;
    while (axis >= 0) {
      counter[axis]!++;
      base += strides[axis]!;
      if (counter[axis]! < shape[axis]!) break;
      base -= strides[axis]! * shape[axis]!;
      counter[axis] = 0;
      axis--;
    }
    if (axis < 0) break;
  }
}

// ---------- creation (leaves; no autograd history) ----------

export type NestedNumbers = number | NestedNumbers[];

export interface CreateOptions {
  dtype?: DType;
  requiresGrad?: boolean;
}

export function fromArray(data: AnyTypedArray | readonly number[], shape: Shape, options: CreateOptions = {}): Tensor {
  const dtype = options.dtype ?? inferDType(data);
  const n = numel(shape);
  if (data.length !== n) throw new Error(`fromArray: ${data.length} values do not fill shape ${formatShape(shape)} (${n} elements)`);
  let storage: AnyTypedArray;
  if (!Array.isArray(data) && dtypeMatches(data as AnyTypedArray, dtype)) storage = data as AnyTypedArray;
  else {
    storage = allocArray(dtype, n);
    for (let i = 0; i < n; i++) storage[i] = (data as ArrayLike<number>)[i]!;
  }
  const t = new Tensor(storage, dtype, shape);
  if (options.requiresGrad) setRequiresGrad(t);
  return t;
}

/** Builds a tensor from nested arrays, e.g. tensor([[1, 2], [3, 4]]). */
export function tensor(values: NestedNumbers, options: CreateOptions = {}): Tensor {
  const shape: number[] = [];
  let probe: NestedNumbers = values;
  while (Array.isArray(probe)) {
    shape.push(probe.length);
    probe = probe[0] ?? 0;
  }
  const flat: number[] = [];
  const walk = (v: NestedNumbers, depth: number): void => {
    if (Array.isArray(v)) {
      if (v.length !== shape[depth]) throw new Error(`tensor: ragged nested array at depth ${depth}`);
      for (const x of v) walk(x, depth + 1);
    } else {
      if (depth !== shape.length) throw new Error(`tensor: ragged nested array at depth ${depth}`);
      flat.push(v);
    }
  };
  walk(values, 0);
  return fromArray(flat, shape, { dtype: options.dtype ?? 'f32', requiresGrad: options.requiresGrad ?? false });
}

export function scalar(value: number, dtype: DType = 'f32'): Tensor {
  return fromArray([value], [], { dtype });
}

export function full(shape: Shape, value: number, options: CreateOptions = {}): Tensor {
  const dtype = options.dtype ?? 'f32';
  const data = allocArray(dtype, numel(shape));
  if (value !== 0) data.fill(value);
  const t = new Tensor(data, dtype, shape);
  if (options.requiresGrad) setRequiresGrad(t);
  return t;
}

export function zeros(shape: Shape, options: CreateOptions = {}): Tensor {
  return full(shape, 0, options);
}

export function ones(shape: Shape, options: CreateOptions = {}): Tensor {
  return full(shape, 1, options);
}

export function arange(start: number, end?: number, step = 1, dtype: DType = 'f32'): Tensor {
  const lo = end === undefined ? 0 : start;
  const hi = end === undefined ? start : end;
  const n = Math.max(0, Math.ceil((hi - lo) / step));
  const data = allocArray(dtype, n);
  for (let i = 0; i < n; i++) data[i] = lo + i * step;
  return new Tensor(data, dtype, [n]);
}

/** Normal(mean, std) samples from a seeded generator. */
export function randn(shape: Shape, rng: Rng, options: CreateOptions & { mean?: number; std?: number } = {}): Tensor {
  const dtype = options.dtype ?? 'f32';
  const data = allocArray(dtype, numel(shape));
  const mean = options.mean ?? 0;
  const std = options.std ?? 1;
  for (let i = 0; i < data.length; i++) data[i] = mean + std * rng.normal();
  const t = new Tensor(data, dtype, shape);
  if (options.requiresGrad) setRequiresGrad(t);
  return t;
}

/** Uniform [low, high) samples from a seeded generator. */
export function rand(shape: Shape, rng: Rng, options: CreateOptions & { low?: number; high?: number } = {}): Tensor {
  const dtype = options.dtype ?? 'f32';
  const data = allocArray(dtype, numel(shape));
  const low = options.low ?? 0;
  const high = options.high ?? 1;
  for (let i = 0; i < data.length; i++) data[i] = low + (high - low) * rng.uniform();
  const t = new Tensor(data, dtype, shape);
  if (options.requiresGrad) setRequiresGrad(t);
  return t;
}

/** Marks a leaf as a parameter whose gradient is wanted. */
export function setRequiresGrad(t: Tensor, value = true): Tensor {
  if (value && !isFloat(t.dtype)) throw new Error(`only float tensors can require gradients (got ${t.dtype})`);
  if (t.gradNode) throw new Error('setRequiresGrad: only leaves (tensors without history) can be marked');
  t.requiresGrad = value;
  return t;
}

function inferDType(data: AnyTypedArray | readonly number[]): DType {
  if (data instanceof Float64Array) return 'f64';
  if (data instanceof Int32Array) return 'i32';
  return 'f32';
}

function dtypeMatches(data: AnyTypedArray, dtype: DType): boolean {
  switch (dtype) {
    case 'f32':
      return data instanceof Float32Array;
    case 'f64':
      return data instanceof Float64Array;
    case 'i32':
      return data instanceof Int32Array;
    case 'i8':
      return data instanceof Int8Array;
    default:
      return data instanceof Uint16Array;
  }
}

export function assertFloat(t: Tensor, what: string): FloatDType {
  if (!isFloat(t.dtype)) throw new Error(`${what}: expected a float tensor, got ${t.dtype}`);
  return t.dtype;
}
