// Thin layers: each holds its parameters under PyTorch's names (weight, bias) and calls the
// functional op. Random initialisation always takes a seeded Rng; a layer whose weights will be
// loaded from a checkpoint can skip it with init 'zeros'.

import { dropout } from '../autograd/ops/dropout.js';
import { embedding } from '../autograd/ops/indexing.js';
import { linear } from '../autograd/ops/linalg.js';
import { layerNorm, rmsNorm } from '../autograd/ops/norm.js';
import type { FloatDType } from '../tensor/dtype.js';
import type { Rng } from '../tensor/rng.js';
import { full, zeros, type Tensor } from '../tensor/tensor.js';
import { kaimingUniform_, normal_, truncatedNormal_, uniform_, xavierUniform_ } from './init.js';
import { Module } from './module.js';

/**
 * How a weight is filled at construction:
 * - 'torch': PyTorch's default for the layer (Linear: U(±1/sqrt(in)) for weight and bias; Embedding: N(0, 1));
 * - 'xavierUniform': Glorot uniform, bias 0;
 * - { std, truncated }: N(0, std²), optionally truncated at ±2 std (BERT: std 0.02, truncated), bias 0;
 * - 'zeros': everything 0, no Rng needed (for weights about to be loaded).
 */
export type WeightInit = 'torch' | 'xavierUniform' | 'zeros' | { readonly std: number; readonly truncated?: boolean };

function requireRng(layer: string, init: WeightInit, rng: Rng | undefined): Rng | null {
  if (init === 'zeros') return null;
  if (!rng) throw new Error(`${layer}: pass options.rng for random initialisation (or init: 'zeros' for weights to be loaded)`);
  return rng;
}

function fillNormal(weight: Tensor, rng: Rng, init: { readonly std: number; readonly truncated?: boolean }): void {
  if (init.truncated) truncatedNormal_(weight, rng, { std: init.std });
  else normal_(weight, rng, { std: init.std });
}

export interface LinearOptions {
  /** Default true. */
  bias?: boolean;
  rng?: Rng;
  /** Default 'torch'. */
  init?: WeightInit;
  dtype?: FloatDType;
}

/** y = x Wᵀ + b with weight [out, in] (PyTorch's nn.Linear layout). */
export class Linear extends Module {
  readonly inFeatures: number;
  readonly outFeatures: number;
  readonly weight: Tensor;
  readonly bias: Tensor | null;

  constructor(inFeatures: number, outFeatures: number, options: LinearOptions = {}) {
    super();
    this.inFeatures = inFeatures;
    this.outFeatures = outFeatures;
    const dtype = options.dtype ?? 'f32';
    const init = options.init ?? 'torch';
    const rng = requireRng('Linear', init, options.rng);
    this.weight = this.param('weight', zeros([outFeatures, inFeatures], { dtype }));
    this.bias = (options.bias ?? true) ? this.param('bias', zeros([outFeatures], { dtype })) : null;
    if (!rng) return;
    if (init === 'torch') {
      // nn.Linear.reset_parameters: kaiming_uniform(a = sqrt(5)) is U(±1/sqrt(in)), and the bias the same.
      kaimingUniform_(this.weight, rng, { a: Math.sqrt(5) });
      const bound = inFeatures > 0 ? 1 / Math.sqrt(inFeatures) : 0;
      if (this.bias) uniform_(this.bias, rng, { low: -bound, high: bound });
    } else if (init === 'xavierUniform') {
      xavierUniform_(this.weight, rng);
    } else if (init !== 'zeros') {
      fillNormal(this.weight, rng, init);
    }
  }

  /** x [..., in] -> [..., out] */
  forward(x: Tensor): Tensor {
    return linear(x, this.weight, this.bias);
  }
}

export interface EmbeddingOptions {
  rng?: Rng;
  /** Default 'torch' (N(0, 1)); BERT uses { std: 0.02, truncated: true }. */
  init?: WeightInit;
  dtype?: FloatDType;
}

/** A lookup table weight [num, dim]. */
export class Embedding extends Module {
  readonly numEmbeddings: number;
  readonly embeddingDim: number;
  readonly weight: Tensor;

  constructor(numEmbeddings: number, embeddingDim: number, options: EmbeddingOptions = {}) {
    super();
    this.numEmbeddings = numEmbeddings;
    this.embeddingDim = embeddingDim;
    const init = options.init ?? 'torch';
    const rng = requireRng('Embedding', init, options.rng);
    this.weight = this.param('weight', zeros([numEmbeddings, embeddingDim], { dtype: options.dtype ?? 'f32' }));
    if (!rng) return;
    if (init === 'torch') normal_(this.weight, rng);
    else if (init === 'xavierUniform') xavierUniform_(this.weight, rng);
    else if (init !== 'zeros') fillNormal(this.weight, rng, init);
  }

  /** ids i32 [...] -> [..., dim] */
  forward(ids: Tensor): Tensor {
    return embedding(this.weight, ids);
  }
}

export interface LayerNormOptions {
  /** Default 1e-5 (PyTorch); BERT checkpoints use 1e-12. */
  eps?: number;
  /** Learnable weight (ones) and bias (zeros); default true. */
  affine?: boolean;
  dtype?: FloatDType;
}

/** Layer norm over the last axis. */
export class LayerNorm extends Module {
  readonly eps: number;
  readonly weight: Tensor | null;
  readonly bias: Tensor | null;

  constructor(dim: number, options: LayerNormOptions = {}) {
    super();
    this.eps = options.eps ?? 1e-5;
    const dtype = options.dtype ?? 'f32';
    const affine = options.affine ?? true;
    this.weight = affine ? this.param('weight', full([dim], 1, { dtype })) : null;
    this.bias = affine ? this.param('bias', zeros([dim], { dtype })) : null;
  }

  forward(x: Tensor): Tensor {
    return layerNorm(x, this.weight, this.bias, this.eps);
  }
}

export interface RMSNormOptions {
  /** Default 1e-6. */
  eps?: number;
  dtype?: FloatDType;
}

/** RMS norm over the last axis with a learnable scale (ones). */
export class RMSNorm extends Module {
  readonly eps: number;
  readonly weight: Tensor;

  constructor(dim: number, options: RMSNormOptions = {}) {
    super();
    this.eps = options.eps ?? 1e-6;
    this.weight = this.param('weight', full([dim], 1, { dtype: options.dtype ?? 'f32' }));
  }

  forward(x: Tensor): Tensor {
    return rmsNorm(x, this.weight, this.eps);
  }
}

/** Inverted dropout with probability p in training mode; the identity in eval mode. */
export class Dropout extends Module {
  readonly p: number;
  readonly rng: Rng;

  constructor(p: number, rng: Rng) {
    super();
    if (!(p >= 0 && p <= 1)) throw new Error(`Dropout: p must be in [0, 1], got ${p}`);
    this.p = p;
    this.rng = rng;
  }

  forward(x: Tensor): Tensor {
    return dropout(x, this.p, this.rng, this.training);
  }
}
