// Reference elementwise kernels: unary (with its derivative), broadcasting binary ops, where.

import { allocArray, isFloat, type AnyTypedArray, type DType } from '../../tensor/dtype.js';
import { broadcastShapes, formatShape, numel, shapesEqual } from '../../tensor/shape.js';
import { Tensor } from '../../tensor/tensor.js';
import type { BinaryKind, UnaryKind } from '../../ops/kernels.js';
import { erf, erfGrad, geluErf, geluErfF32, geluErfGrad, geluErfGradF32, geluTanh, geluTanhGrad, sigmoid, softplus } from './math.js';
import { broadcastStridesTo, forEachRow, lastStride } from './iterate.js';

/** `f32`: the result is rounded to f32, so GELU may use a cheaper erf (1.5e-7 absolute). */
export function unaryScalar(kind: UnaryKind, alpha: number, f32 = false): (x: number) => number {
  switch (kind) {
    case 'neg':
      return (x) => -x;
    case 'exp':
      return Math.exp;
    case 'log':
      return Math.log;
    case 'sqrt':
      return Math.sqrt;
    case 'rsqrt':
      return (x) => 1 / Math.sqrt(x);
    case 'abs':
      return Math.abs;
    case 'square':
      return (x) => x * x;
    case 'reciprocal':
      return (x) => 1 / x;
    case 'sin':
      return Math.sin;
    case 'cos':
      return Math.cos;
    case 'tanh':
      return Math.tanh;
    case 'sigmoid':
      return sigmoid;
    case 'relu':
      // NaN stays NaN, as in PyTorch and the wasm kernel.
      return (x) => (x > 0 || Number.isNaN(x) ? x : 0);
    case 'leakyRelu':
      return (x) => (x > 0 ? x : alpha * x);
    case 'elu':
      return (x) => (x > 0 ? x : alpha * Math.expm1(x));
    case 'softplus':
      return softplus;
    case 'softsign':
      return (x) => x / (1 + Math.abs(x));
    case 'silu':
      return (x) => x * sigmoid(x);
    case 'geluTanh':
      return geluTanh;
    case 'geluErf':
      return f32 ? geluErfF32 : geluErf;
    case 'erf':
      return erf;
    case 'sign':
      return (x) => (x > 0 ? 1 : x < 0 ? -1 : 0);
  }
}

/** f'(x) written with x and y = f(x), whichever is cheaper. */
export function unaryDerivative(kind: UnaryKind, alpha: number, f32 = false): (x: number, y: number) => number {
  switch (kind) {
    case 'neg':
      return () => -1;
    case 'exp':
      return (_x, y) => y;
    case 'log':
      return (x) => 1 / x;
    case 'sqrt':
      return (_x, y) => 0.5 / y;
    case 'rsqrt':
      return (_x, y) => -0.5 * y * y * y;
    case 'abs':
      return (x) => (x > 0 ? 1 : x < 0 ? -1 : 0);
    case 'square':
      return (x) => 2 * x;
    case 'reciprocal':
      return (_x, y) => -y * y;
    case 'sin':
      return Math.cos;
    case 'cos':
      return (x) => -Math.sin(x);
    case 'tanh':
      return (_x, y) => 1 - y * y;
    case 'sigmoid':
      return (_x, y) => y * (1 - y);
    case 'relu':
      return (x) => (x > 0 ? 1 : 0);
    case 'leakyRelu':
      return (x) => (x > 0 ? 1 : alpha);
    case 'elu':
      return (x, y) => (x > 0 ? 1 : y + alpha);
    case 'softplus':
      return sigmoid;
    case 'softsign':
      return (x) => {
        const d = 1 + Math.abs(x);
        return 1 / (d * d);
      };
    case 'silu':
      return (x) => {
        const s = sigmoid(x);
        return s * (1 + x * (1 - s));
      };
    case 'geluTanh':
      return geluTanhGrad;
    case 'geluErf':
      return f32 ? geluErfGradF32 : geluErfGrad;
    case 'erf':
      return erfGrad;
    case 'sign':
      return () => 0;
  }
}

export function unary(kind: UnaryKind, x: Tensor, alpha: number): Tensor {
  if (!isFloat(x.dtype) && kind !== 'neg' && kind !== 'abs' && kind !== 'sign' && kind !== 'square') {
    throw new Error(`${kind}: expected a float tensor, got ${x.dtype}`);
  }
  const f = unaryScalar(kind, alpha, x.dtype === 'f32');
  const out = allocArray(x.dtype, x.size);
  const src = x.toArray();
  for (let i = 0; i < out.length; i++) out[i] = f(src[i]!);
  return new Tensor(out, x.dtype, x.shape);
}

export function unaryGrad(kind: UnaryKind, x: Tensor, y: Tensor, dy: Tensor, alpha: number): Tensor {
  if (!shapesEqual(x.shape, dy.shape)) throw new Error(`${kind} backward: shapes ${formatShape(x.shape)} and ${formatShape(dy.shape)} differ`);
  const d = unaryDerivative(kind, alpha, dy.dtype === 'f32');
  const xs = x.toArray();
  const ys = y.toArray();
  const dys = dy.toArray();
  const out = allocArray(dy.dtype, dy.size);
  for (let i = 0; i < out.length; i++) out[i] = dys[i]! * d(xs[i]!, ys[i]!);
  return new Tensor(out, dy.dtype, dy.shape);
}

function binaryScalar(kind: BinaryKind): (a: number, b: number) => number {
  switch (kind) {
    case 'add':
      return (a, b) => a + b;
    case 'sub':
      return (a, b) => a - b;
    case 'mul':
      return (a, b) => a * b;
    case 'div':
      return (a, b) => a / b;
    case 'pow':
      return Math.pow;
    case 'maximum':
      return (a, b) => (a >= b || Number.isNaN(a) ? a : b);
    case 'minimum':
      return (a, b) => (a <= b || Number.isNaN(a) ? a : b);
    case 'eq':
      return (a, b) => (a === b ? 1 : 0);
    case 'ne':
      return (a, b) => (a !== b ? 1 : 0);
    case 'lt':
      return (a, b) => (a < b ? 1 : 0);
    case 'le':
      return (a, b) => (a <= b ? 1 : 0);
    case 'gt':
      return (a, b) => (a > b ? 1 : 0);
    case 'ge':
      return (a, b) => (a >= b ? 1 : 0);
  }
}

export function resultDType(a: DType, b: DType): DType {
  if (a === b) return a;
  if (a === 'f64' || b === 'f64') return 'f64';
  return 'f32';
}

export function binary(kind: BinaryKind, a: Tensor, b: Tensor): Tensor {
  const shape = broadcastShapes(a.shape, b.shape);
  const dtype = resultDType(a.dtype, b.dtype);
  const out = allocArray(dtype, numel(shape));
  if (kind === 'div' && dtype === 'i32') throw new Error('div: integer division is not supported; cast to float first');
  const ad = a.data;
  const bd = b.data;
  // Fast paths: same shape and contiguous, or scalar second operand.
  if (a.isContiguous() && b.isContiguous() && shapesEqual(a.shape, b.shape)) {
    binaryLoop(kind, ad, a.offset, 1, bd, b.offset, 1, out, 0, out.length);
    return new Tensor(out, dtype, shape);
  }
  const sa = broadcastStridesTo(a, shape);
  const sb = broadcastStridesTo(b, shape);
  const so = shape.length ? shape.map((_, i) => numel(shape.slice(i + 1))) : [];
  const n = shape.length ? shape[shape.length - 1]! : 1;
  const strideA = lastStride(sa);
  const strideB = lastStride(sb);
  forEachRow(shape, [sa, sb, so], [a.offset, b.offset, 0], (off) => {
    binaryLoop(kind, ad, off[0]!, strideA, bd, off[1]!, strideB, out, off[2]!, n);
  });
  return new Tensor(out, dtype, shape);
}

function binaryLoop(
  kind: BinaryKind,
  a: AnyTypedArray,
  pa: number,
  sa: number,
  b: AnyTypedArray,
  pb: number,
  sb: number,
  out: AnyTypedArray,
  po: number,
  n: number,
): void {
  // The common arithmetic kinds get their own loops; the rest go through a scalar function.
  switch (kind) {
    case 'add':
      for (let i = 0; i < n; i++, pa += sa, pb += sb) out[po + i] = a[pa]! + b[pb]!;
      return;
    case 'sub':
      for (let i = 0; i < n; i++, pa += sa, pb += sb) out[po + i] = a[pa]! - b[pb]!;
      return;
    case 'mul':
      for (let i = 0; i < n; i++, pa += sa, pb += sb) out[po + i] = a[pa]! * b[pb]!;
      return;
    case 'div':
      for (let i = 0; i < n; i++, pa += sa, pb += sb) out[po + i] = a[pa]! / b[pb]!;
      return;
    default: {
      const f = binaryScalar(kind);
      for (let i = 0; i < n; i++, pa += sa, pb += sb) out[po + i] = f(a[pa]!, b[pb]!);
    }
  }
}

export function where(cond: Tensor, a: Tensor, b: Tensor): Tensor {
  const shape = broadcastShapes(cond.shape, a.shape, b.shape);
  const dtype = resultDType(a.dtype, b.dtype);
  const out = allocArray(dtype, numel(shape));
  const sc = broadcastStridesTo(cond, shape);
  const sa = broadcastStridesTo(a, shape);
  const sb = broadcastStridesTo(b, shape);
  const so = shape.length ? shape.map((_, i) => numel(shape.slice(i + 1))) : [];
  const n = shape.length ? shape[shape.length - 1]! : 1;
  const [tc, ta, tb] = [lastStride(sc), lastStride(sa), lastStride(sb)];
  const cd = cond.data;
  const ad = a.data;
  const bd = b.data;
  forEachRow(shape, [sc, sa, sb, so], [cond.offset, a.offset, b.offset, 0], (off) => {
    let pc = off[0]!;
    let pa = off[1]!;
    let pb = off[2]!;
    const po = off[3]!;
    for (let i = 0; i < n; i++, pc += tc, pa += ta, pb += tb) out[po + i] = cd[pc]! !== 0 ? ad[pa]! : bd[pb]!;
  });
  return new Tensor(out, dtype, shape);
}
