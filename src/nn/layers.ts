// The one layer family every model is built from: Linear (its weight format in a layout slot),
// Embedding, LayerNorm, RMSNorm, Dropout and the activations. Each holds its parameters under
// PyTorch's names (weight, bias) and calls the functional op; all take one ParamInit (random init
// from a seeded Rng, or 'zeros' for weights to be loaded; storage; trainable).

import { dropout } from '../autograd/ops/dropout.js';
import { gelu, relu, silu } from '../autograd/ops/elementwise.js';
import { embedding } from '../autograd/ops/indexing.js';
import { layerNorm, rmsNorm } from '../autograd/ops/norm.js';
import type { Rng } from '../tensor/rng.js';
import type { Tensor } from '../tensor/tensor.js';
import { fillNormal_, initRng, normal_, parameterTensor, xavierUniform_, type ParamInit } from './init.js';
import { Module } from './module.js';
import { denseLayout, type WeightLayout } from './weight-layout.js';

export type { FloatAllocator, ParamInit, WeightInit } from './init.js';

export interface LinearOptions extends ParamInit {
  /** Default true. */
  readonly bias?: boolean | undefined;
  /** How the weight is stored and multiplied; default denseLayout (nn.Linear's [out, in]). */
  readonly layout?: WeightLayout | undefined;
}

/** y = x Wᵀ + b; the weight's storage and product are the layout's (dense: weight [out, in], PyTorch's nn.Linear). */
export class Linear extends Module {
  readonly inFeatures: number;
  readonly outFeatures: number;
  readonly layout: WeightLayout;
  readonly weight: Tensor;
  readonly bias: Tensor | null;

  constructor(inFeatures: number, outFeatures: number, options: LinearOptions = {}) {
    super();
    this.inFeatures = inFeatures;
    this.outFeatures = outFeatures;
    this.layout = options.layout ?? options.linearLayout?.() ?? denseLayout;
    const rng = initRng('Linear', options);
    const requiresGrad = options.trainable ?? true;
    this.weight = this.param('weight', parameterTensor(this.layout.weightShape(inFeatures, outFeatures), options), { requiresGrad });
    this.bias = (options.bias ?? true) ? this.param('bias', parameterTensor([outFeatures], options), { requiresGrad }) : null;
    for (const [name, tensor] of this.layout.buffers?.(inFeatures, outFeatures) ?? []) this.buffer(name, tensor);
    const init = options.init ?? 'torch';
    if (rng && init !== 'zeros') this.layout.initialize(this.weight, this.bias, init, rng, inFeatures);
  }

  /** x [..., in] -> [..., out] */
  forward(x: Tensor): Tensor {
    return this.layout.forward(x, this.weight, this.bias);
  }
}

/** A lookup table weight [num, dim]; init 'torch' is N(0, 1) (BERT: { std: 0.02, truncated: true }). */
export class Embedding extends Module {
  readonly numEmbeddings: number;
  readonly embeddingDim: number;
  readonly weight: Tensor;

  constructor(numEmbeddings: number, embeddingDim: number, options: ParamInit = {}) {
    super();
    this.numEmbeddings = numEmbeddings;
    this.embeddingDim = embeddingDim;
    const init = options.init ?? 'torch';
    const rng = initRng('Embedding', options);
    this.weight = this.param('weight', parameterTensor([numEmbeddings, embeddingDim], options), { requiresGrad: options.trainable ?? true });
    if (!rng) return;
    if (init === 'torch') normal_(this.weight, rng);
    else if (init === 'xavierUniform') xavierUniform_(this.weight, rng);
    else if (init !== 'zeros') fillNormal_(this.weight, rng, init);
  }

  /** ids i32 [...] -> [..., dim] */
  forward(ids: Tensor): Tensor {
    return embedding(this.weight, ids);
  }
}

/** A norm scale (ones) or shift (zeros) [dim]; norms need no Rng. */
function normParameter(dim: number, value: 0 | 1, options: ParamInit): Tensor {
  const t = parameterTensor([dim], options);
  if (value === 1) t.data.fill(1);
  return t;
}

export interface LayerNormOptions extends Omit<ParamInit, 'init' | 'rng'> {
  /** Default 1e-5 (PyTorch); BERT checkpoints use 1e-12. */
  readonly eps?: number | undefined;
  /** Learnable weight (ones) and bias (zeros); default true. */
  readonly affine?: boolean | undefined;
}

/** Layer norm over the last axis. */
export class LayerNorm extends Module {
  readonly eps: number;
  readonly weight: Tensor | null;
  readonly bias: Tensor | null;

  constructor(dim: number, options: LayerNormOptions = {}) {
    super();
    this.eps = options.eps ?? 1e-5;
    const affine = options.affine ?? true;
    const requiresGrad = options.trainable ?? true;
    this.weight = affine ? this.param('weight', normParameter(dim, 1, options), { requiresGrad }) : null;
    this.bias = affine ? this.param('bias', normParameter(dim, 0, options), { requiresGrad }) : null;
  }

  forward(x: Tensor): Tensor {
    return layerNorm(x, this.weight, this.bias, this.eps);
  }
}

export interface RMSNormOptions extends Omit<ParamInit, 'init' | 'rng'> {
  /** Default 1e-6. */
  readonly eps?: number | undefined;
}

/** RMS norm over the last axis with a learnable scale (ones). */
export class RMSNorm extends Module {
  readonly eps: number;
  readonly weight: Tensor;

  constructor(dim: number, options: RMSNormOptions = {}) {
    super();
    this.eps = options.eps ?? 1e-6;
    this.weight = this.param('weight', normParameter(dim, 1, options), { requiresGrad: options.trainable ?? true });
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

/** RMSNorm (Llama) or LayerNorm with bias (GPT-NeoX, GPT-2), as a config names it. */
export function createNorm(kind: 'rms' | 'layer', dim: number, eps: number, options: Omit<ParamInit, 'init' | 'rng'> = {}): LayerNorm | RMSNorm {
  return kind === 'rms' ? new RMSNorm(dim, { ...options, eps }) : new LayerNorm(dim, { ...options, eps });
}

/** The activations of every model ('gelu-erf' is exact GELU, 'gelu-tanh' its tanh approximation). */
export type Activation = 'silu' | 'gelu-tanh' | 'gelu-erf' | 'relu';

export function activate(x: Tensor, kind: Activation): Tensor {
  switch (kind) {
    case 'silu':
      return silu(x);
    case 'relu':
      return relu(x);
    default:
      return gelu(x, kind === 'gelu-tanh' ? 'tanh' : 'erf');
  }
}
