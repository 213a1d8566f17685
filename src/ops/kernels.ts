// The kernel table: every kernel the differentiable ops (src/autograd/ops) call, with its exact
// signature. It has two parts: primitives, which every backend must implement (a missing one is a
// compile error), and fused kernels (softmax, norms, conv1d and the backward rules), which a backend
// may implement as fast paths; those it leaves out are composed from its primitives
// (ops/composite.ts), so a new backend is correct once its primitives are. The reference backend is
// the oracle for every fast kernel.

import type { DType, FloatDType } from '../tensor/dtype.js';
import type { AttentionKernels } from './attention-kernels.js';
import type { BlockSparseProducts } from './block-sparse-kernels.js';
import type { QuantKernels } from './quant-kernels.js';
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

/**
 * The scalars of one Adam / AdamW step (torch.optim, amsgrad off), per element:
 *   p = p * decay;  g = grad + l2 * p;  m = beta1 m + (1 - beta1) g;  v = beta2 v + (1 - beta2) g^2;
 *   p = p - stepSize * m / (sqrt(v) / bias2Sqrt + eps)
 * AdamW: decay = 1 - lr * weightDecay, l2 = 0. Adam: decay = 1, l2 = weightDecay.
 * stepSize = lr / (1 - beta1^t), bias2Sqrt = sqrt(1 - beta2^t).
 */
export interface AdamStep {
  decay: number;
  l2: number;
  beta1: number;
  beta2: number;
  stepSize: number;
  bias2Sqrt: number;
  eps: number;
}

export interface NormResult {
  y: Tensor;
  /** Per-row statistics saved for the backward pass, shape = x.shape without the last axis. */
  mean: Tensor | null;
  rstd: Tensor;
}

export interface PrimitiveKernels {
  /** y = f(x) elementwise; `alpha` parameterises leakyRelu (slope) and elu. Any strides in, contiguous out. */
  unary(kind: UnaryKind, x: Tensor, alpha: number): Tensor;
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

/**
 * Fused kernels: optional fast paths. Each has a composite twin built from primitives
 * (ops/composite.ts) with the same semantics, used by every backend that does not supply it.
 */
export interface FusedKernels {
  /** dx = dy * f'(x), given x, y = f(x) and dy, all of the same shape. */
  unaryGrad(kind: UnaryKind, x: Tensor, y: Tensor, dy: Tensor, alpha: number): Tensor;
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
  /**
   * One Adam / AdamW update, in place on param, m and v (contiguous, of grad's shape and dtype): the
   * only kernels that write their inputs, so that optimizer state stays where it lives (e.g. an arena).
   */
  adamUpdate(param: Tensor, grad: Tensor, m: Tensor, v: Tensor, step: AdamStep): void;
}

export const PRIMITIVE_KERNEL_NAMES = [
  'unary',
  'binary',
  'where',
  'reduce',
  'argReduce',
  'copy',
  'copyInto',
  'matmul',
  'gather',
  'scatterAdd',
  'indexSelect',
  'indexAdd',
  'rope',
  'topk',
  'concat',
] as const satisfies readonly (keyof PrimitiveKernels)[];

export const FUSED_KERNEL_NAMES = [
  'unaryGrad',
  'softmax',
  'softmaxGrad',
  'logSoftmax',
  'logSoftmaxGrad',
  'layerNorm',
  'layerNormGrad',
  'rmsNorm',
  'rmsNormGrad',
  'conv1d',
  'conv1dGradInput',
  'conv1dGradWeight',
  'adamUpdate',
] as const satisfies readonly (keyof FusedKernels)[];
export type FusedKernelName = (typeof FUSED_KERNEL_NAMES)[number];

/** The complete table the ops call: primitives plus every fused kernel (native or composite). */
export type KernelTable = PrimitiveKernels & FusedKernels;

/** What a backend implements: all primitives and any subset of the fused kernels. */
export type BackendKernels = PrimitiveKernels & Partial<FusedKernels>;

export type KernelName = keyof KernelTable;

export interface Backend {
  readonly name: string;
  /** Complete: the backend's own kernels, with composites for the fused kernels it does not supply. */
  readonly kernels: KernelTable;
  /** Decode-attention kernels of this backend, if it has fast ones (src/attention has the reference). */
  readonly attention?: AttentionKernels | undefined;
  /** Block-sparse products of this backend, if it has fast ones (src/backend/reference/block-sparse.ts has the reference). */
  readonly blockSparse?: BlockSparseProducts | undefined;
  /** Products with GGUF-format weights, if it has fast ones (src/backend/reference/quant.ts has the reference). */
  readonly quant?: QuantKernels | undefined;
  /** Default float dtype of new tensors made by this backend. */
  readonly floatDType: FloatDType;
  /**
   * Runs `fn` (one training step) with this backend's kernel outputs in memory it reuses from one
   * call to the next (wasm: arena blocks, freed when fn returns; no fresh pages, and kernels read
   * earlier outputs in place). Every tensor a kernel makes inside fn is invalid once fn returns:
   * read what is kept (item(), copies) before. Nested calls join the outer one. Absent: fn runs as is.
   */
  readonly withStepMemory?: (<T>(fn: () => T) => T) | undefined;
}
