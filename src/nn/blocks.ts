// Building blocks of GroupBERT-style encoders (Chelombiev et al. 2021, arXiv 2106.05822): grouped
// linear maps, grouped 1-D convolutions, the gated convolution module and the grouped feed-forward
// network. Each block is the body of a residual module; the caller adds the norm and the residual.

import { add, gelu, mul, sigmoid, silu } from '../autograd/ops/elementwise.js';
import { conv1d } from '../autograd/ops/conv.js';
import { groupedMatmul } from '../autograd/ops/linalg.js';
import { split } from '../autograd/ops/movement.js';
import type { Rng } from '../tensor/rng.js';
import { zeros, type Tensor } from '../tensor/tensor.js';
import { normal_, truncatedNormal_, uniform_ } from './init.js';
import { LayerNorm, Linear, type WeightInit } from './layers.js';
import { Module } from './module.js';

/** Fills a weight whose fan-in is `fanIn` ('torch': U(±1/sqrt(fanIn)), as nn.Linear and nn.Conv1d). */
function initWeight(weight: Tensor, init: WeightInit, rng: Rng | undefined, fanIn: number, what: string): void {
  if (init === 'zeros') return;
  if (!rng) throw new Error(`${what}: pass options.rng for random initialisation (or init: 'zeros' for weights to be loaded)`);
  if (init === 'torch' || init === 'xavierUniform') {
    const bound = 1 / Math.sqrt(fanIn);
    uniform_(weight, rng, { low: -bound, high: bound });
  } else if (init.truncated) truncatedNormal_(weight, rng, { std: init.std });
  else normal_(weight, rng, { std: init.std });
}

export interface BlockInit {
  readonly init: WeightInit;
  readonly rng?: Rng | undefined;
}

/**
 * A linear map whose input and output features are split into `groups` blocks, block g of the input
 * mapping only to block g of the output: weight [G, in/G, out/G] (input-major, as groupedMatmul wants)
 * and bias [out]. G times fewer parameters and FLOPs than the dense map.
 */
export class GroupedLinear extends Module {
  readonly groups: number;
  readonly weight: Tensor;
  readonly bias: Tensor | null;

  constructor(inFeatures: number, outFeatures: number, groups: number, options: BlockInit & { bias?: boolean }) {
    super();
    if (!Number.isInteger(groups) || groups < 1 || inFeatures % groups !== 0 || outFeatures % groups !== 0) {
      throw new Error(`GroupedLinear: ${groups} groups do not divide ${inFeatures} input and ${outFeatures} output features`);
    }
    this.groups = groups;
    this.weight = this.param('weight', zeros([groups, inFeatures / groups, outFeatures / groups]));
    this.bias = (options.bias ?? true) ? this.param('bias', zeros([outFeatures])) : null;
    initWeight(this.weight, options.init, options.rng, inFeatures / groups, 'GroupedLinear');
  }

  /** x [..., in] -> [..., out] */
  forward(x: Tensor): Tensor {
    const y = groupedMatmul(x, this.weight);
    return this.bias ? add(y, this.bias) : y;
  }
}

/**
 * A grouped 1-D convolution along the sequence, channels last: x [B, S, C] -> [B, S, C], each group of
 * `groupSize` channels convolved with its own [groupSize, groupSize, K] kernel, zero 'same' padding.
 * Weight [C, groupSize, K] (PyTorch's Conv1d layout), bias [C].
 */
export class GroupedConv1d extends Module {
  readonly channels: number;
  readonly kernelSize: number;
  readonly groups: number;
  readonly weight: Tensor;
  readonly bias: Tensor;

  constructor(channels: number, kernelSize: number, groupSize: number, options: BlockInit) {
    super();
    if (!Number.isInteger(groupSize) || groupSize < 1 || channels % groupSize !== 0) {
      throw new Error(`GroupedConv1d: group size ${groupSize} does not divide ${channels} channels`);
    }
    if (!Number.isInteger(kernelSize) || kernelSize < 1) throw new Error(`GroupedConv1d: kernel size must be a positive integer, got ${kernelSize}`);
    this.channels = channels;
    this.kernelSize = kernelSize;
    this.groups = channels / groupSize;
    this.weight = this.param('weight', zeros([channels, groupSize, kernelSize]));
    this.bias = this.param('bias', zeros([channels]));
    initWeight(this.weight, options.init, options.rng, groupSize * kernelSize, 'GroupedConv1d');
  }

  forward(x: Tensor): Tensor {
    return conv1d(x, this.weight, this.bias, { groups: this.groups, padding: 'same' });
  }
}

export interface GluConvolutionOptions extends BlockInit {
  readonly kernelSize: number;
  /** Channels per convolution group (GroupBERT: 16). */
  readonly groupSize: number;
  readonly layerNormEps: number;
}

/**
 * GroupBERT's convolution module body: a gated linear unit (dense H -> 2H, value * sigmoid(gate)),
 * padded positions zeroed so they cannot leak into their neighbours, a grouped convolution, layer
 * norm, SiLU and a dense output projection. Names: glu, conv, norm, output.
 */
export class GluConvolution extends Module {
  readonly glu: Linear;
  readonly conv: GroupedConv1d;
  readonly norm: LayerNorm;
  readonly output: Linear;

  constructor(hiddenSize: number, options: GluConvolutionOptions) {
    super();
    const linear = { init: options.init, rng: options.rng };
    this.glu = this.module('glu', new Linear(hiddenSize, 2 * hiddenSize, linear));
    this.conv = this.module('conv', new GroupedConv1d(hiddenSize, options.kernelSize, options.groupSize, options));
    this.norm = this.module('norm', new LayerNorm(hiddenSize, { eps: options.layerNormEps }));
    this.output = this.module('output', new Linear(hiddenSize, hiddenSize, linear));
  }

  /** x [B, S, H]; tokenMask [B, S, 1] with 1 for tokens and 0 for padding, or null when nothing is padded. */
  forward(x: Tensor, tokenMask: Tensor | null): Tensor {
    const [value, gate] = split(this.glu.forward(x), 2, -1) as [Tensor, Tensor];
    let h = mul(value, sigmoid(gate)); // [B, S, H]
    if (tokenMask) h = mul(h, tokenMask);
    h = this.conv.forward(h);
    return this.output.forward(silu(this.norm.forward(h)));
  }
}

export interface GroupedFeedForwardOptions extends BlockInit {
  readonly intermediateSize: number;
  /** Groups of the down-projection (1 = dense). */
  readonly groups: number;
  /** A dense H -> H map after the grouped down-projection, mixing information across groups. */
  readonly mixer: boolean;
}

/**
 * GroupBERT's feed-forward body: dense up-projection H -> I, GELU, down-projection I -> H split into
 * G groups, then (optionally) a dense H -> H mixer. Names: up, down, mixer.
 */
export class GroupedFeedForward extends Module {
  readonly up: Linear;
  readonly down: GroupedLinear | Linear;
  readonly mixer: Linear | null;

  constructor(hiddenSize: number, options: GroupedFeedForwardOptions) {
    super();
    const linear = { init: options.init, rng: options.rng };
    this.up = this.module('up', new Linear(hiddenSize, options.intermediateSize, linear));
    this.down = this.module(
      'down',
      options.groups === 1
        ? new Linear(options.intermediateSize, hiddenSize, linear)
        : new GroupedLinear(options.intermediateSize, hiddenSize, options.groups, options),
    );
    this.mixer = options.mixer ? this.module('mixer', new Linear(hiddenSize, hiddenSize, linear)) : null;
  }

  forward(x: Tensor): Tensor {
    const h = this.down.forward(gelu(this.up.forward(x)));
    return this.mixer ? this.mixer.forward(h) : h;
  }
}
