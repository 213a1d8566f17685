// The kernel table: every primitive a backend must provide, with its exact signature.
// Backends implement it as a total map (a missing kernel is a compile error); the reference
// backend is the oracle for every fast one. Differentiable ops (src/autograd/ops) are built on it.

import type { DType, FloatDType } from '../tensor/dtype.js';
import type { AttentionKernels } from './attention-kernels.js';
import type { Tensor } from '../tensor/tensor.js';

export const UNARY_KINDS = [
  'neg',
  'exp',
  'log',
  'sqrt',
  'rsqrt',
  'abs',
  'square',
  'reciprocal',
  'sin',
  'cos',
  'tanh',
  'sigmoid',
  'relu',
  'leakyRelu',
  'elu',
  'softplus',
  'softsign',
  'silu',
  'geluTanh',
  'geluErf',
  'erf',
  'sign',
] as const;
export type UnaryKind = (typeof UNARY_KINDS)[number];

export const BINARY_KINDS = ['add', 'sub', 'mul', 'div', 'pow', 'maximum', 'minimum', 'eq', 'ne', 'lt', 'le', 'gt', 'ge'] as const;
export type BinaryKind = (typeof BINARY_KINDS)[number];

export type ReduceKind = 'sum' | 'max' | 'min';
export type ArgReduceKind = 'argmax' | 'argmin';

/** Rotary embedding layouts: pairs (2i, 2i+1) as in llama2.c/GGUF, or halves (i, i+d/2) as in Hugging Face. */
export type RopeLayout = 'interleaved' | 'half';

export interface NormResult {
  y: Tensor;
  /** Per-row statistics saved for the backward pass, shape = x.shape without the last axis. */
  mean: Tensor | null;
  rstd: Tensor;
}

export interface KernelTable {
  /** y = f(x) elementwise; `alpha` parameterises leakyRelu (slope) and elu. Any strides in, contiguous out. */
  unary(kind: UnaryKind, x: Tensor, alpha: number): Tensor;
  /** dx = dy * f'(x), given x, y = f(x) and dy, all of the same shape. */
  unaryGrad(kind: UnaryKind, x: Tensor, y: Tensor, dy: Tensor, alpha: number): Tensor;
  /** Broadcasting binary op; comparisons return 0/1 in the inputs' float dtype (or i32 for i32 inputs). */
  binary(kind: BinaryKind, a: Tensor, b: Tensor): Tensor;
  /** cond ? a : b with broadcasting (cond nonzero means true). */
  where(cond: Tensor, a: Tensor, b: Tensor): Tensor;
  /** Reduction over the given (sorted, unique) axes. */
  reduce(kind: ReduceKind, x: Tensor, axes: readonly number[], keepDims: boolean): Tensor;
  /** Index of the max/min along one axis (first occurrence), as i32. */
  argReduce(kind: ArgReduceKind, x: Tensor, axis: number, keepDims: boolean): Tensor;
  /** A contiguous copy, optionally converted to another dtype. */
  copy(x: Tensor, dtype: DType): Tensor;
  /** Writes src (broadcast to dst's shape) into the (possibly strided) view dst. */
  copyInto(dst: Tensor, src: Tensor): void;
  /** Batched matmul [..., M, K] x [..., K, N] with broadcast batch axes; inputs may be transposed views. */
  matmul(a: Tensor, b: Tensor): Tensor;
  /** Softmax along `axis`. */
  softmax(x: Tensor, axis: number): Tensor;
  /** dx = y * (dy - sum(dy * y)) along `axis`. */
  softmaxGrad(y: Tensor, dy: Tensor, axis: number): Tensor;
  logSoftmax(x: Tensor, axis: number): Tensor;
  /** dx = dy - exp(y) * sum(dy) along `axis` (y = logSoftmax(x)). */
  logSoftmaxGrad(y: Tensor, dy: Tensor, axis: number): Tensor;
  /** Layer norm over the last axis; gamma/beta of shape [D] or null. */
  layerNorm(x: Tensor, gamma: Tensor | null, beta: Tensor | null, eps: number): NormResult;
  layerNormGrad(x: Tensor, gamma: Tensor | null, mean: Tensor, rstd: Tensor, dy: Tensor): { dx: Tensor; dgamma: Tensor | null; dbeta: Tensor | null };
  /** RMS norm over the last axis: y = x * rsqrt(mean(x^2) + eps) * gamma. */
  rmsNorm(x: Tensor, gamma: Tensor | null, eps: number): NormResult;
  rmsNormGrad(x: Tensor, gamma: Tensor | null, rstd: Tensor, dy: Tensor): { dx: Tensor; dgamma: Tensor | null };
  /**
   * 1-D convolution, channels last: x [B, L, Cin], w [Cout, Cin/groups, K] (PyTorch's weight layout),
   * zero padding `padLeft` before and (K - 1 - padLeft) after, so the output length equals L ('same' when
   * padLeft = floor((K-1)/2)). Stride 1, dilation 1. Returns [B, L, Cout].
   */
  conv1d(x: Tensor, w: Tensor, groups: number, padLeft: number): Tensor;
  conv1dGradInput(dy: Tensor, w: Tensor, groups: number, padLeft: number, inputShape: readonly number[]): Tensor;
  conv1dGradWeight(dy: Tensor, x: Tensor, groups: number, padLeft: number, weightShape: readonly number[]): Tensor;
  /** out[..i..] = x[..index[..i..]..] along `axis` (torch.gather); index is i32 of the output's shape. */
  gather(x: Tensor, axis: number, index: Tensor): Tensor;
  /** A copy of `x` with src added at index positions along `axis` (torch.scatter_add). */
  scatterAdd(x: Tensor, axis: number, index: Tensor, src: Tensor): Tensor;
  /** Selects whole slices along `axis` by a 1-D i32 index (embedding lookup when axis = 0). */
  indexSelect(x: Tensor, axis: number, index: Tensor): Tensor;
  /** Zeros of `shape` with src's slices added at index positions along `axis` (embedding gradient). */
  indexAdd(shape: readonly number[], axis: number, index: Tensor, src: Tensor): Tensor;
  /**
   * Rotary position embedding on the last axis of x [..., S, D] (S = second to last) with tables
   * cos/sin [S, rotaryDim/2]; only the first rotaryDim features rotate. `inverse` rotates by -theta
   * (the backward pass).
   */
  rope(x: Tensor, cos: Tensor, sin: Tensor, layout: RopeLayout, rotaryDim: number, inverse: boolean): Tensor;
  /** The k largest (or smallest) values along `axis`, sorted, with their i32 indices. */
  topk(x: Tensor, k: number, axis: number, largest: boolean): { values: Tensor; indices: Tensor };
  /** Concatenation along `axis`. */
  concat(xs: readonly Tensor[], axis: number): Tensor;
}

export type KernelName = keyof KernelTable;

export interface Backend {
  readonly name: string;
  readonly kernels: KernelTable;
  /** Decode-attention kernels of this backend, if it has fast ones (src/attention has the reference). */
  readonly attention?: AttentionKernels | undefined;
  /** Default float dtype of new tensors made by this backend. */
  readonly floatDType: FloatDType;
}
