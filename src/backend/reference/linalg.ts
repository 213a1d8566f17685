// Reference batched matmul. B is transposed into contiguous rows so each output element is one
// dot product accumulated in double precision: slow but accurate, which is what an oracle needs.

import { allocArray } from '../../tensor/dtype.js';
import { broadcastShapes, formatShape, numel } from '../../tensor/shape.js';
import { Tensor } from '../../tensor/tensor.js';
import { resultDType } from './elementwise.js';
import { broadcastStridesTo } from './iterate.js';

export function matmul(a: Tensor, b: Tensor): Tensor {
  if (a.rank < 2 || b.rank < 2) throw new Error(`matmul: operands must have rank >= 2, got ${formatShape(a.shape)} and ${formatShape(b.shape)}`);
  const m = a.shape[a.rank - 2]!;
  const k = a.shape[a.rank - 1]!;
  const k2 = b.shape[b.rank - 2]!;
  const n = b.shape[b.rank - 1]!;
  if (k !== k2) throw new Error(`matmul: inner dimensions differ: ${formatShape(a.shape)} x ${formatShape(b.shape)}`);
  const batchShape = broadcastShapes(a.shape.slice(0, -2), b.shape.slice(0, -2));
  const batch = numel(batchShape);
  const dtype = resultDType(a.dtype, b.dtype);
  const out = allocArray(dtype, batch * m * n);
  // Nothing to compute (and empty operands cannot be viewed): an empty product, or zeros when k = 0.
  if (out.length === 0 || k === 0) return new Tensor(out, dtype, [...batchShape, m, n]);
  const aBatch = new Tensor(a.data, a.dtype, a.shape.slice(0, -2), a.strides.slice(0, -2), a.offset);
  const bBatch = new Tensor(b.data, b.dtype, b.shape.slice(0, -2), b.strides.slice(0, -2), b.offset);
  const sa = broadcastStridesTo(aBatch, batchShape);
  const sb = broadcastStridesTo(bBatch, batchShape);
  const [am, ak] = [a.strides[a.rank - 2]!, a.strides[a.rank - 1]!];
  const [bk, bn] = [b.strides[b.rank - 2]!, b.strides[b.rank - 1]!];
  const rowA = new Float64Array(k);
  const colsB = new Float64Array(n * k);
  const counter = new Array<number>(batchShape.length).fill(0);
  for (let bi = 0; bi < batch; bi++) {
    let offA = a.offset;
    let offB = b.offset;
    for (let d = 0; d < batchShape.length; d++) {
      offA += counter[d]! * sa[d]!;
      offB += counter[d]! * sb[d]!;
    }
    for (let j = 0; j < n; j++) for (let p = 0; p < k; p++) colsB[j * k + p] = b.data[offB + p * bk + j * bn]!;
    for (let i = 0; i < m; i++) {
      for (let p = 0; p < k; p++) rowA[p] = a.data[offA + i * am + p * ak]!;
      const o = (bi * m + i) * n;
      for (let j = 0; j < n; j++) {
        let acc = 0;
        const cb = j * k;
        for (let p = 0; p < k; p++) acc += rowA[p]! * colsB[cb + p]!;
        out[o + j] = acc;
      }
    }
    for (let d = batchShape.length - 1; d >= 0; d--) {
      if (++counter[d]! < batchShape[d]!) break;
      counter[d] = 0;
    }
  }
  return new Tensor(out, dtype, [...batchShape, m, n]);
}
