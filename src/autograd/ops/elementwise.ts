// Elementwise ops: unary math and activations, broadcasting arithmetic, comparisons, where.

import { type BinaryKind, type UnaryKind } from '../../ops/kernels.js';
import { assertFloat, type Tensor } from '../../tensor/tensor.js';
import { defineOp } from '../engine.js';
import { asTensor, commonDType, sumToShape, type TensorLike } from './util.js';

interface UnaryAttrs {
  kind: UnaryKind;
  alpha: number;
}

const unaryOp = defineOp<UnaryAttrs>({
  name: 'unary',
  forward: (k, [x], { kind, alpha }) => ({ outputs: [k.unary(kind, x!, alpha)], saved: undefined }),
  backward: ({ kernels: k, inputs: [x], outputs: [y], attrs: { kind, alpha } }, [dy]) => [dy ? k.unaryGrad(kind, x!, y!, dy, alpha) : null],
});


function applyUnary(kind: UnaryKind, x: Tensor, alpha = 0): Tensor {
  assertFloat(x, kind);
  return unaryOp([x], { kind, alpha })[0]!;
}

export const neg = (x: Tensor): Tensor => applyUnary('neg', x);
export const exp = (x: Tensor): Tensor => applyUnary('exp', x);
export const log = (x: Tensor): Tensor => applyUnary('log', x);
export const sqrt = (x: Tensor): Tensor => applyUnary('sqrt', x);
export const rsqrt = (x: Tensor): Tensor => applyUnary('rsqrt', x);
export const abs = (x: Tensor): Tensor => applyUnary('abs', x);
export const square = (x: Tensor): Tensor => applyUnary('square', x);
export const reciprocal = (x: Tensor): Tensor => applyUnary('reciprocal', x);
export const sin = (x: Tensor): Tensor => applyUnary('sin', x);
export const cos = (x: Tensor): Tensor => applyUnary('cos', x);
export const tanh = (x: Tensor): Tensor => applyUnary('tanh', x);
export const sigmoid = (x: Tensor): Tensor => applyUnary('sigmoid', x);
export const relu = (x: Tensor): Tensor => applyUnary('relu', x);
export const leakyRelu = (x: Tensor, slope = 0.01): Tensor => applyUnary('leakyRelu', x, slope);
export const elu = (x: Tensor, alpha = 1): Tensor => applyUnary('elu', x, alpha);
export const softplus = (x: Tensor): Tensor => applyUnary('softplus', x);
export const softsign = (x: Tensor): Tensor => applyUnary('softsign', x);
export const silu = (x: Tensor): Tensor => applyUnary('silu', x);
export const erf = (x: Tensor): Tensor => applyUnary('erf', x);
export const sign = (x: Tensor): Tensor => applyUnary('sign', x);

/** GELU: 'tanh' is the approximation used by GPT-2 and BERT implementations; 'erf' the exact form. */
export function gelu(x: Tensor, approximate: 'tanh' | 'erf' = 'erf'): Tensor {
  return applyUnary(approximate === 'tanh' ? 'geluTanh' : 'geluErf', x);
}

/** PReLU with a learnable slope, broadcast against x (e.g. one slope per channel, shape [C]). */
export function prelu(x: Tensor, slope: Tensor): Tensor {
  // Composite: max(x, 0) + slope * min(x, 0); both branches have simple gradients.
  return add(relu(x), mul(slope, neg(relu(neg(x)))));
}

const binaryOp = defineOp<{ kind: BinaryKind }>({
  name: 'binary',
  forward: (k, [a, b], { kind }) => ({ outputs: [k.binary(kind, a!, b!)], saved: undefined }),
  backward: ({ kernels: k, inputs: [a, b], outputs: [y], attrs: { kind }, needsGrad }, [dy]) => {
    if (!dy) return [null, null];
    const ga = needsGrad(0);
    const gb = needsGrad(1);
    let da: Tensor | null = null;
    let db: Tensor | null = null;
    switch (kind) {
      case 'add':
        da = dy;
        db = dy;
        break;
      case 'sub':
        da = dy;
        db = gb ? k.unary('neg', dy, 0) : null;
        break;
      case 'mul':
        da = ga ? k.binary('mul', dy, b!) : null;
        db = gb ? k.binary('mul', dy, a!) : null;
        break;
      case 'div':
        da = ga ? k.binary('div', dy, b!) : null;
        // d(a/b)/db = -y / b
        db = gb ? k.unary('neg', k.binary('mul', dy, k.binary('div', y!, b!)), 0) : null;
        break;
      case 'pow':
        // d(a^b)/da = b * a^(b-1) = b * y / a; d/db = y * log(a)
        da = ga ? k.binary('mul', dy, k.binary('mul', b!, k.binary('pow', a!, k.binary('sub', b!, asTensor(1, b!.dtype))))) : null;
        db = gb ? k.binary('mul', dy, k.binary('mul', y!, k.unary('log', a!, 0))) : null;
        break;
      case 'maximum':
      case 'minimum': {
        // Ties split the gradient evenly, as PyTorch does.
        const cmp = kind === 'maximum' ? 'gt' : 'lt';
        const half = asTensor(0.5, dy.dtype);
        const wa = k.binary('add', k.binary(cmp, a!, b!), k.binary('mul', k.binary('eq', a!, b!), half));
        if (ga) da = k.binary('mul', dy, wa);
        if (gb) db = k.binary('mul', dy, k.binary('sub', asTensor(1, dy.dtype), wa));
        break;
      }
      default:
        return [null, null];
    }
    return [da && ga ? sumToShape(da, a!.shape) : null, db && gb ? sumToShape(db, b!.shape) : null];
  },
});

function applyBinary(kind: BinaryKind, a: TensorLike, b: TensorLike): Tensor {
  const dtype = commonDType(a, b);
  return binaryOp([asTensor(a, dtype), asTensor(b, dtype)], { kind })[0]!;
}

export const add = (a: TensorLike, b: TensorLike): Tensor => applyBinary('add', a, b);
export const sub = (a: TensorLike, b: TensorLike): Tensor => applyBinary('sub', a, b);
export const mul = (a: TensorLike, b: TensorLike): Tensor => applyBinary('mul', a, b);
export const div = (a: TensorLike, b: TensorLike): Tensor => applyBinary('div', a, b);
export const pow = (a: TensorLike, b: TensorLike): Tensor => applyBinary('pow', a, b);
export const maximum = (a: TensorLike, b: TensorLike): Tensor => applyBinary('maximum', a, b);
export const minimum = (a: TensorLike, b: TensorLike): Tensor => applyBinary('minimum', a, b);
/** Comparisons give 0/1 and carry no gradient. */
export const eq = (a: TensorLike, b: TensorLike): Tensor => applyBinary('eq', a, b);
export const ne = (a: TensorLike, b: TensorLike): Tensor => applyBinary('ne', a, b);
export const lt = (a: TensorLike, b: TensorLike): Tensor => applyBinary('lt', a, b);
export const le = (a: TensorLike, b: TensorLike): Tensor => applyBinary('le', a, b);
export const gt = (a: TensorLike, b: TensorLike): Tensor => applyBinary('gt', a, b);
export const ge = (a: TensorLike, b: TensorLike): Tensor => applyBinary('ge', a, b);

const whereOp = defineOp<Record<string, never>>({
  name: 'where',
  forward: (k, [c, a, b]) => ({ outputs: [k.where(c!, a!, b!)], saved: undefined }),
  backward: ({ kernels: k, inputs: [c, a, b], needsGrad }, [dy]) => {
    if (!dy) return [null, null, null];
    const zero = asTensor(0, dy.dtype);
    const da = needsGrad(1) ? sumToShape(k.where(c!, dy, zero), a!.shape) : null;
    const db = needsGrad(2) ? sumToShape(k.where(c!, zero, dy), b!.shape) : null;
    return [null, da, db];
  },
});

/** cond ? a : b elementwise with broadcasting; the condition carries no gradient. */
export function where(cond: Tensor, a: TensorLike, b: TensorLike): Tensor {
  const dtype = commonDType(a, b);
  return whereOp([cond, asTensor(a, dtype), asTensor(b, dtype)], {})[0]!;
}
