// The gradcheck conformance table: one row per differentiable op of the functional API (several for
// ops with modes), each with the leaf shapes of its cases. Every case runs twice, with contiguous
// leaves and with strided (transposed, step-2) leaf views. Constants (indices, masks, tables) are
// built inside the row's function; leaves are seeded f64 tensors drawn away from kinks.

import * as F from '../../src/autograd/ops/index.js';
import { Rng } from '../../src/tensor/rng.js';
import { numel } from '../../src/tensor/shape.js';
import type { Tensor } from '../../src/tensor/tensor.js';
import { f64, i32, type LeafInit } from './helpers.js';

export type OpFunction = (...args: never[]) => unknown;
export type CaseFunction = (...leaves: Tensor[]) => Tensor;

export interface GradCase {
  /** Shapes of the f64 leaves passed to the function, in order. */
  shapes: number[][];
  /** Overrides the row's function (when constants depend on the shapes). */
  fn?: CaseFunction;
}

export interface GradRow {
  /** The exported function under test (matched by identity against src/autograd/ops/index.ts). */
  op: OpFunction;
  /** Distinguishes rows of the same op (mode, option). */
  label?: string;
  fn?: CaseFunction;
  cases: GradCase[];
  /** One init for all leaves, or one per leaf. */
  init?: LeafInit | LeafInit[];
  eps?: number;
  atol?: number;
  rtol?: number;
}

/** Ops that must also be checked with leaves of different (broadcast) shapes. */
export const BROADCASTING_OPS: readonly OpFunction[] = [
  F.add,
  F.sub,
  F.mul,
  F.div,
  F.pow,
  F.maximum,
  F.minimum,
  F.where,
  F.prelu,
  F.layerNorm,
  F.rmsNorm,
  F.matmul,
  F.linear,
  F.mseLoss,
];

/**
 * Exports that are not differentiable, so have no row: comparisons give 0/1, argmax/argmin give
 * indices, ropeTables builds constant tables. (sign is differentiable with a zero gradient: it has a row.)
 */
export const NOT_DIFFERENTIABLE: readonly OpFunction[] = [F.eq, F.ne, F.lt, F.le, F.gt, F.ge, F.argmax, F.argmin, F.ropeTables];

/** A 0/1 condition of the given shape with a fixed alternating pattern. */
function pattern(shape: number[]): Tensor {
  const n = numel(shape);
  return f64(Array.from({ length: n }, (_, i) => (i * 7) % 3 === 0 ? 1 : 0), shape);
}

const unaryRows: GradRow[] = (
  [
    [F.neg, 'signed'],
    [F.exp, 'signed'],
    [F.log, 'positive'],
    [F.sqrt, 'positive'],
    [F.rsqrt, 'positive'],
    [F.abs, 'signed'],
    [F.square, 'signed'],
    [F.reciprocal, 'signed'],
    [F.sin, 'signed'],
    [F.cos, 'signed'],
    [F.tanh, 'signed'],
    [F.sigmoid, 'signed'],
    [F.relu, 'signed'],
    [F.softplus, 'signed'],
    [F.softsign, 'signed'],
    [F.silu, 'signed'],
    [F.erf, 'signed'],
    [F.sign, 'signed'],
  ] as const
).map(([op, init]) => ({ op, init, fn: (x: Tensor) => (op as (x: Tensor) => Tensor)(x), cases: [{ shapes: [[2, 3]] }, { shapes: [[1, 3, 1]] }] }));

const binaryCases: GradCase[] = [
  { shapes: [[2, 3], [2, 3]] },
  { shapes: [[2, 3], [3]] },
  { shapes: [[2, 1, 3], [1, 4, 1]] },
  { shapes: [[], [2, 2]] },
];

const binaryRows: GradRow[] = (
  [
    [F.add, ['signed', 'signed']],
    [F.sub, ['signed', 'signed']],
    [F.mul, ['signed', 'signed']],
    [F.div, ['signed', 'signed']],
    [F.pow, ['positive', 'signed']],
    [F.maximum, ['signed', 'signed']],
    [F.minimum, ['signed', 'signed']],
  ] as const
).map(([op, init]) => ({
  op,
  init: [...init],
  fn: (a: Tensor, b: Tensor) => (op as (a: Tensor, b: Tensor) => Tensor)(a, b),
  cases: binaryCases,
}));

/** A causal additive mask [n, n]: 0 on and below the diagonal, `fill` above. */
function causalMask(n: number, fill: number): Tensor {
  return f64(Array.from({ length: n * n }, (_, i) => (i % n > Math.floor(i / n) ? fill : 0)), [n, n]);
}

export const GRADCHECK_TABLE: readonly GradRow[] = [
  // ---- elementwise ----
  ...unaryRows,
  { op: F.leakyRelu, fn: (x) => F.leakyRelu(x, 0.1), cases: [{ shapes: [[2, 3]] }, { shapes: [[1, 3, 1]] }] },
  { op: F.elu, fn: (x) => F.elu(x, 0.7), cases: [{ shapes: [[2, 3]] }, { shapes: [[1, 3, 1]] }] },
  { op: F.gelu, label: 'erf', fn: (x) => F.gelu(x, 'erf'), cases: [{ shapes: [[2, 3]] }, { shapes: [[1, 3, 1]] }] },
  { op: F.gelu, label: 'tanh', fn: (x) => F.gelu(x, 'tanh'), cases: [{ shapes: [[2, 3]] }, { shapes: [[1, 3, 1]] }] },
  { op: F.prelu, fn: (x, slope) => F.prelu(x, slope), cases: [{ shapes: [[4], [4]] }, { shapes: [[2, 3], [3]] }, { shapes: [[2, 1, 3], [1, 3]] }] },
  ...binaryRows,
  { op: F.add, label: 'number operand', fn: (a) => F.add(F.mul(a, 3), 2), cases: [{ shapes: [[2, 3]] }, { shapes: [[1]] }] },
  {
    op: F.where,
    cases: [
      { shapes: [[2, 3], [2, 3]], fn: (a, b) => F.where(pattern([2, 3]), a, b) },
      { shapes: [[2, 1], [3]], fn: (a, b) => F.where(pattern([2, 3]), a, b) },
      { shapes: [[1, 3], [1, 1]], fn: (a, b) => F.where(pattern([1, 3]), a, b) },
    ],
  },

  // ---- reductions ----
  {
    op: F.sum,
    cases: [
      { shapes: [[2, 3]], fn: (x) => F.sum(x) },
      { shapes: [[2, 3, 4]], fn: (x) => F.sum(x, [0, 2]) },
      { shapes: [[2, 1, 3]], fn: (x) => F.sum(x, 1, { keepDims: true }) },
    ],
  },
  {
    op: F.mean,
    cases: [
      { shapes: [[2, 3]], fn: (x) => F.mean(x, -1) },
      { shapes: [[1, 3, 2]], fn: (x) => F.mean(x, [0, 1], { keepDims: true }) },
    ],
  },
  {
    op: F.max,
    cases: [
      { shapes: [[3, 4]], fn: (x) => F.max(x, 1) },
      { shapes: [[2, 3]], fn: (x) => F.max(x) },
      { shapes: [[1, 4, 1]], fn: (x) => F.max(x, 1, { keepDims: true }) },
    ],
  },
  {
    op: F.min,
    cases: [
      { shapes: [[3, 4]], fn: (x) => F.min(x, 0) },
      { shapes: [[1, 4, 1]], fn: (x) => F.min(x, [1, 2], { keepDims: true }) },
    ],
  },
  {
    op: F.logsumexp,
    cases: [
      { shapes: [[3, 4]], fn: (x) => F.logsumexp(x, 1) },
      { shapes: [[2, 3]], fn: (x) => F.logsumexp(x) },
      { shapes: [[1, 3, 1]], fn: (x) => F.logsumexp(x, 2, { keepDims: true }) },
    ],
  },

  // ---- movement ----
  { op: F.reshape, cases: [{ shapes: [[2, 3]], fn: (x) => F.reshape(x, [3, 2]) }, { shapes: [[1, 3, 1]], fn: (x) => F.reshape(x, [-1]) }] },
  { op: F.flatten, cases: [{ shapes: [[2, 3, 2]], fn: (x) => F.flatten(x, 1) }, { shapes: [[1, 2, 1]], fn: (x) => F.flatten(x) }] },
  { op: F.unsqueeze, cases: [{ shapes: [[2, 3]], fn: (x) => F.unsqueeze(x, 1) }, { shapes: [[1, 3]], fn: (x) => F.unsqueeze(x, -1) }] },
  { op: F.squeeze, cases: [{ shapes: [[2, 1, 3]], fn: (x) => F.squeeze(x, 1) }, { shapes: [[1, 3, 1]], fn: (x) => F.squeeze(x) }] },
  { op: F.permute, cases: [{ shapes: [[2, 3, 4]], fn: (x) => F.permute(x, [2, 0, 1]) }, { shapes: [[1, 3, 1]], fn: (x) => F.permute(x, [1, 2, 0]) }] },
  { op: F.transpose, cases: [{ shapes: [[2, 3]], fn: (x) => F.transpose(x) }, { shapes: [[2, 1, 3]], fn: (x) => F.transpose(x, 0, 2) }] },
  {
    op: F.slice,
    cases: [
      { shapes: [[5, 3]], fn: (x) => F.slice(x, [[0, 5, 2], [1]]) },
      { shapes: [[1, 6]], fn: (x) => F.slice(x, [null, [-5, -1, 3]]) },
    ],
  },
  { op: F.narrow, cases: [{ shapes: [[2, 4]], fn: (x) => F.narrow(x, 1, 1, 2) }, { shapes: [[1, 3]], fn: (x) => F.narrow(x, 0, 0, 1) }] },
  { op: F.expand, cases: [{ shapes: [[3, 1]], fn: (x) => F.expand(x, [2, 3, 4]) }, { shapes: [[1]], fn: (x) => F.expand(x, [2, 2]) }] },
  { op: F.contiguous, fn: (x) => F.contiguous(x), cases: [{ shapes: [[2, 3]] }, { shapes: [[1, 2, 1]] }] },
  // Through f32 and back: the function is the identity up to f32 rounding, so difference over a wide step.
  { op: F.cast, fn: (x) => F.cast(F.cast(x, 'f32'), 'f64'), cases: [{ shapes: [[2, 3]] }, { shapes: [[1, 2]] }], eps: 1e-2, atol: 2e-5, rtol: 1e-4 },
  {
    op: F.concat,
    cases: [
      { shapes: [[2, 3], [2, 2]], fn: (a, b) => F.concat([a, b], 1) },
      { shapes: [[1, 1], [1, 1], [2, 1]], fn: (a, b, c) => F.concat([a, b, c], 0) },
    ],
  },
  {
    op: F.split,
    cases: [
      { shapes: [[2, 3]], fn: (x) => F.split(x, [1, 2], 1)[1]! },
      { shapes: [[4, 1]], fn: (x) => F.split(x, 2, 0)[0]! },
    ],
  },

  // ---- linear algebra ----
  {
    op: F.matmul,
    cases: [
      { shapes: [[2, 3], [3, 4]], fn: (a, b) => F.matmul(a, b) },
      { shapes: [[2, 2, 3], [3, 4]], fn: (a, b) => F.matmul(a, b) },
      { shapes: [[2, 1, 2, 3], [3, 3, 2]], fn: (a, b) => F.matmul(a, b) },
      { shapes: [[3], [3, 2]], fn: (a, b) => F.matmul(a, b) },
      { shapes: [[2, 3], [3]], fn: (a, b) => F.matmul(a, b) },
      { shapes: [[3, 2], [4, 3]], fn: (a, b) => F.matmul(a, b, { transposeA: true, transposeB: true }) },
      { shapes: [[1, 3], [3, 1]], fn: (a, b) => F.matmul(a, b) },
    ],
  },
  {
    op: F.linear,
    cases: [
      { shapes: [[2, 3, 4], [5, 4], [5]], fn: (x, w, b) => F.linear(x, w, b) },
      { shapes: [[1, 4], [2, 4]], fn: (x, w) => F.linear(x, w) },
    ],
  },
  {
    // Block-sparse linear (src/autograd/ops/block-sparse.ts): x [..., 8], values of 3 active 2x2 blocks of W [6, 8]
    // (block row 1 empty), bias [6]; 1x1 blocks: 5 active entries of W [3, 4].
    op: F.blockSparseLinear,
    cases: [
      { shapes: [[2, 3, 8], [3, 2, 2], [6]], fn: (x, v, b) => F.blockSparseLinear(x, v, { rows: 6, cols: 8, block: 2, rowPtr: Int32Array.from([0, 2, 2, 3]), colIdx: Int32Array.from([0, 3, 1]) }, b) },
      { shapes: [[1, 4], [5]], fn: (x, v) => F.blockSparseLinear(x, v, { rows: 3, cols: 4, block: 1, rowPtr: Int32Array.from([0, 2, 3, 5]), colIdx: Int32Array.from([1, 3, 0, 0, 2]) }) },
    ],
  },
  {
    op: F.groupedMatmul,
    fn: (x, w) => F.groupedMatmul(x, w),
    cases: [{ shapes: [[3, 4], [2, 2, 3]] }, { shapes: [[2, 1, 2], [2, 1, 1]] }],
  },

  // ---- softmax ----
  {
    op: F.softmax,
    cases: [
      { shapes: [[2, 4]], fn: (x) => F.softmax(x) },
      { shapes: [[3, 2]], fn: (x) => F.softmax(x, 0) },
      // -inf above the diagonal: those outputs are exactly 0 and get no gradient.
      { shapes: [[2, 3, 3]], fn: (x) => F.softmax(x, -1, { mask: causalMask(3, -Infinity) }) },
      { shapes: [[1, 4]], fn: (x) => F.softmax(x) },
      { shapes: [[3, 1]], fn: (x) => F.softmax(x) },
    ],
  },
  {
    op: F.logSoftmax,
    cases: [
      { shapes: [[2, 4]], fn: (x) => F.logSoftmax(x) },
      { shapes: [[3, 2]], fn: (x) => F.logSoftmax(x, 0) },
      // A finite mask: log-softmax of a -inf logit is -inf, which a projection cannot weigh.
      { shapes: [[3, 3]], fn: (x) => F.logSoftmax(x, -1, { mask: causalMask(3, -2) }) },
      { shapes: [[1, 1, 4]], fn: (x) => F.logSoftmax(x) },
    ],
  },

  // ---- normalisation ----
  {
    op: F.layerNorm,
    cases: [
      { shapes: [[2, 3, 4], [4], [4]], fn: (x, g, b) => F.layerNorm(x, g, b) },
      { shapes: [[2, 5]], fn: (x) => F.layerNorm(x) },
      { shapes: [[3, 4], [4]], fn: (x, g) => F.layerNorm(x, g) },
      { shapes: [[3, 4], [4]], fn: (x, b) => F.layerNorm(x, null, b) },
      { shapes: [[2, 4], [1, 4], [4]], fn: (x, g, b) => F.layerNorm(x, g, b, 1e-3) },
      { shapes: [[1, 1, 3], [3], [3]], fn: (x, g, b) => F.layerNorm(x, g, b) },
    ],
  },
  {
    op: F.rmsNorm,
    cases: [
      { shapes: [[2, 3, 4], [4]], fn: (x, g) => F.rmsNorm(x, g) },
      { shapes: [[2, 4]], fn: (x) => F.rmsNorm(x) },
      { shapes: [[1, 1, 3], [1, 3]], fn: (x, g) => F.rmsNorm(x, g, 1e-2) },
    ],
  },

  // ---- convolution ----
  {
    op: F.conv1d,
    cases: [
      { shapes: [[2, 5, 3], [4, 3, 3], [4]], fn: (x, w, b) => F.conv1d(x, w, b) },
      // depthwise, even kernel: 'same' pads one before and two after
      { shapes: [[1, 5, 3], [3, 1, 4]], fn: (x, w) => F.conv1d(x, w, null, { groups: 3 }) },
      // grouped and causal (all padding before)
      { shapes: [[2, 4, 4], [6, 2, 4]], fn: (x, w) => F.conv1d(x, w, null, { groups: 2, padding: 3 }) },
      { shapes: [[1, 1, 2], [2, 2, 3], [2]], fn: (x, w, b) => F.conv1d(x, w, b, { padding: 0 }) },
    ],
  },

  // ---- indexing ----
  {
    op: F.indexSelect,
    cases: [
      { shapes: [[3, 4]], fn: (x) => F.indexSelect(x, 0, i32([2, 0, 2])) },
      { shapes: [[2, 3]], fn: (x) => F.indexSelect(x, 1, i32([1, 1])) },
      { shapes: [[1, 3]], fn: (x) => F.indexSelect(x, 0, i32([0, 0])) },
    ],
  },
  {
    op: F.embedding,
    cases: [
      { shapes: [[4, 2]], fn: (w) => F.embedding(w, i32([1, 3, 1, 0, 1, 1], [2, 3])) },
      { shapes: [[2, 1]], fn: (w) => F.embedding(w, i32([1], [1, 1])) },
    ],
  },
  {
    op: F.gather,
    cases: [
      { shapes: [[3, 3]], fn: (x) => F.gather(x, 1, i32([0, 2, 1, 1, 2, 0], [3, 2])) },
      // index smaller than x on the other axis, with repeats
      { shapes: [[3, 4]], fn: (x) => F.gather(x, 0, i32([2, 0, 0, 1, 2, 2], [2, 3])) },
      { shapes: [[1, 3]], fn: (x) => F.gather(x, 1, i32([2, 2], [1, 2])) },
    ],
  },
  {
    op: F.scatterAdd,
    cases: [
      { shapes: [[3, 4], [2, 4]], fn: (x, src) => F.scatterAdd(x, 0, i32([0, 2, 1, 0, 2, 2, 0, 0], [2, 4]), src) },
      // src larger than index: only its leading [2, 2] block is read
      { shapes: [[3, 4], [3, 4]], fn: (x, src) => F.scatterAdd(x, 1, i32([3, 3, 0, 1], [2, 2]), src) },
      { shapes: [[1, 3], [1, 3]], fn: (x, src) => F.scatterAdd(x, 1, i32([2, 2, 0], [1, 3]), src) },
    ],
  },
  {
    op: F.topk,
    cases: [
      { shapes: [[3, 4]], fn: (x) => F.topk(x, 2, 1).values },
      { shapes: [[4, 2]], fn: (x) => F.topk(x, 3, 0, false).values },
      { shapes: [[1, 3]], fn: (x) => F.topk(x, 3).values },
    ],
  },

  // ---- rotary embeddings ----
  {
    op: F.rope,
    cases: [
      { shapes: [[2, 3, 4]], fn: (x) => F.rope(x, F.ropeTables([0, 1, 5], 4, 10000, 'f64'), { layout: 'interleaved' }) },
      { shapes: [[3, 4]], fn: (x) => F.rope(x, F.ropeTables([2, 3, 4], 4, 100, 'f64'), { layout: 'half' }) },
      { shapes: [[2, 6]], fn: (x) => F.rope(x, F.ropeTables([1, 7], 4, 10, 'f64'), { layout: 'half', rotaryDim: 4 }) },
      { shapes: [[1, 1, 4]], fn: (x) => F.rope(x, F.ropeTables([3], 2, 10, 'f64'), { layout: 'interleaved', rotaryDim: 2 }) },
    ],
  },

  // ---- losses ----
  {
    op: F.crossEntropy,
    cases: [
      { shapes: [[4, 5]], fn: (z) => F.crossEntropy(z, i32([1, -100, 4, 0])) },
      { shapes: [[2, 3, 4]], fn: (z) => F.crossEntropy(z, i32([2, 3, 0, 7, 1, 1], [2, 3]), { reduction: 'sum', labelSmoothing: 0.1, ignoreIndex: 7 }) },
      { shapes: [[3, 4]], fn: (z) => F.crossEntropy(z, i32([3, -100, 0]), { reduction: 'none', labelSmoothing: 0.2 }) },
      { shapes: [[1, 1, 3]], fn: (z) => F.crossEntropy(z, i32([2], [1, 1])) },
    ],
  },
  {
    op: F.mseLoss,
    cases: [
      { shapes: [[2, 3], [2, 3]], fn: (a, b) => F.mseLoss(a, b) },
      { shapes: [[2, 3], [3]], fn: (a, b) => F.mseLoss(a, b, { reduction: 'sum' }) },
      { shapes: [[1, 3], [1, 3]], fn: (a, b) => F.mseLoss(a, b, { reduction: 'none' }) },
    ],
  },

  // ---- dropout (a fresh seeded generator per call: every evaluation sees the same mask) ----
  { op: F.dropout, fn: (x) => F.dropout(x, 0.4, new Rng(5)), cases: [{ shapes: [[3, 4]] }, { shapes: [[1, 5]] }] },
];
