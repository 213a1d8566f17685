// Matrix products: batched matmul with broadcasting and transposes, grouped matmul, linear.

import { formatShape } from '../../tensor/shape.js';
import { swapLastAxes, type Tensor } from '../../tensor/tensor.js';
import { defineOp } from '../engine.js';
import { add } from './elementwise.js';
import { permute, reshape, transpose } from './movement.js';
import { sumToShape } from './util.js';

/**
 * A rank-2 view of a row-major matrix stored transposed (x . W^T with W [out, in]): its gradient is
 * computed in the same layout, (dY^T . A)^T, so that the transpose's backward needs no strided copy.
 */
function isTransposedMatrix(t: Tensor): boolean {
  return t.rank === 2 && t.strides[0] === 1 && t.strides[1] === t.shape[0] && t.shape[0]! > 1 && t.shape[1]! > 1;
}

const matmulOp = defineOp<Record<string, never>>({
  name: 'matmul',
  forward: (k, [a, b]) => ({ outputs: [k.matmul(a!, b!)], saved: undefined }),
  backward: ({ kernels: k, inputs: [a, b], needsGrad }, [dy]) => {
    if (!dy) return [null, null];
    // dA = dY · Bᵀ, dB = Aᵀ · dY; transposes are views, summed over broadcast batch axes.
    const da = needsGrad(0) ? sumToShape(k.matmul(dy, swapLastAxes(b!)), a!.shape) : null;
    const db = needsGrad(1) ? (isTransposedMatrix(b!) && a!.rank === 2 ? swapLastAxes(k.matmul(swapLastAxes(dy), a!)) : sumToShape(k.matmul(swapLastAxes(a!), dy), b!.shape)) : null;
    return [da, db];
  },
});

export interface MatmulOptions {
  transposeA?: boolean;
  transposeB?: boolean;
}

/**
 * Batched matrix product [..., M, K] x [..., K, N] -> [..., M, N] with broadcast batch axes.
 * A rank-1 operand is treated as a row (left) or column (right) vector and that axis dropped.
 */
export function matmul(a: Tensor, b: Tensor, options: MatmulOptions = {}): Tensor {
  let x = a.rank === 1 ? reshape(a, [1, a.shape[0]!]) : a;
  let y = b.rank === 1 ? reshape(b, [b.shape[0]!, 1]) : b;
  if (options.transposeA) x = transpose(x);
  if (options.transposeB) y = transpose(y);
  if (x.shape[x.rank - 1] !== y.shape[y.rank - 2]) {
    throw new Error(`matmul: inner dimensions differ: ${formatShape(x.shape)} x ${formatShape(y.shape)}`);
  }
  let out = matmulOp([x, y], {})[0]!;
  if (a.rank === 1) out = reshape(out, [...out.shape.slice(0, -2), out.shape[out.rank - 1]!]);
  if (b.rank === 1) out = reshape(out, out.shape.slice(0, -1));
  return out;
}

/**
 * y = x · Wᵀ + b with W stored [out, in] (PyTorch's nn.Linear layout), x [..., in].
 */
export function linear(x: Tensor, weight: Tensor, bias?: Tensor | null): Tensor {
  const inFeatures = x.shape[x.rank - 1]!;
  const flat = reshape(x, [-1, inFeatures]);
  let y = matmul(flat, weight, { transposeB: true });
  if (bias) y = add(y, bias);
  return reshape(y, [...x.shape.slice(0, -1), weight.shape[0]!]);
}

/**
 * Grouped matmul as in GroupBERT's FFN: x [..., G*Kg] is split into G blocks along its last axis,
 * block g multiplied by weight[g] of shape [Kg, Ng], and the results concatenated: [..., G*Ng].
 */
export function groupedMatmul(x: Tensor, weight: Tensor): Tensor {
  if (weight.rank !== 3) throw new Error(`groupedMatmul: weight must be [G, Kg, Ng], got ${formatShape(weight.shape)}`);
  const [groups, kg, ng] = weight.shape as [number, number, number];
  const features = x.shape[x.rank - 1]!;
  if (features !== groups * kg) throw new Error(`groupedMatmul: input features ${features} != G*Kg = ${groups}*${kg}`);
  const lead = x.shape.slice(0, -1);
  // [N, G, Kg] -> [G, N, Kg] (a view), batched over G, then back to [N, G*Ng].
  const xg = permute(reshape(x, [-1, groups, kg]), [1, 0, 2]);
  const yg = matmul(xg, weight);
  return reshape(permute(yg, [1, 0, 2]), [...lead, groups * ng]);
}
