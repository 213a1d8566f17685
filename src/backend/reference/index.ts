// The reference backend: plain TypeScript over typed arrays, dtype-generic (f32 and f64), any strides.
// It is complete (a total map of the kernel table) and serves as the oracle for every fast kernel.

import type { Backend, KernelTable } from '../../ops/kernels.js';
import { defineBackend } from '../../ops/composite.js';
import { binary, unary, unaryGrad, where } from './elementwise.js';
import { matmul } from './linalg.js';
import { concat, copy, copyInto } from './movement.js';
import { argReduce, reduce } from './reduce.js';
import { logSoftmax, logSoftmaxGrad, softmax, softmaxGrad } from './softmax.js';
import { conv1d, conv1dGradInput, conv1dGradWeight } from './conv.js';
import { gather, indexAdd, indexSelect, scatterAdd, topk } from './indexing.js';
import { layerNorm, layerNormGrad, rmsNorm, rmsNormGrad } from './norm.js';
import { rope } from './rope.js';
import { adamUpdate } from './optim.js';

export const referenceKernels: KernelTable = {
  unary,
  unaryGrad,
  binary,
  where,
  reduce,
  argReduce,
  copy,
  copyInto,
  matmul,
  softmax,
  softmaxGrad,
  logSoftmax,
  logSoftmaxGrad,
  layerNorm,
  layerNormGrad,
  rmsNorm,
  rmsNormGrad,
  conv1d,
  conv1dGradInput,
  conv1dGradWeight,
  gather,
  scatterAdd,
  indexSelect,
  indexAdd,
  rope,
  topk,
  concat,
  adamUpdate,
};

/** Supplies every fused kernel itself: the oracle for both the fast kernels and the composites. */
export const referenceBackend: Backend = defineBackend({ name: 'reference', kernels: referenceKernels, floatDType: 'f32' });
