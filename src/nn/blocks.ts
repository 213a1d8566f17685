// Building blocks of GroupBERT-style encoders (Chelombiev et al. 2021, arXiv 2106.05822): grouped
// 1-D convolutions, the gated convolution module and the grouped feed-forward
// network. Each block is the body of a residual module; the caller adds the norm and the residual.

import { gelu, mul, sigmoid, silu } from '../autograd/ops/elementwise.js';
import { conv1d } from '../autograd/ops/conv.js';
import { split } from '../autograd/ops/movement.js';
import type { Tensor } from '../tensor/tensor.js';
import { fanInInit_, initRng, parameterTensor, type ParamInit } from './init.js';
import { LayerNorm, Linear } from './layers.js';
import { Module } from './module.js';
import { denseLayout, groupedLayout } from './weight-layout.js';

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

  constructor(channels: number, kernelSize: number, groupSize: number, options: ParamInit) {
    super();
    if (!Number.isInteger(groupSize) || groupSize < 1 || channels % groupSize !== 0) {
      throw new Error(`GroupedConv1d: group size ${groupSize} does not divide ${channels} channels`);
    }
    if (!Number.isInteger(kernelSize) || kernelSize < 1) throw new Error(`GroupedConv1d: kernel size must be a positive integer, got ${kernelSize}`);
    this.channels = channels;
    this.kernelSize = kernelSize;
    this.groups = channels / groupSize;
    const requiresGrad = options.trainable ?? true;
    const rng = initRng('GroupedConv1d', options);
    this.weight = this.param('weight', parameterTensor([channels, groupSize, kernelSize], options), { requiresGrad });
    this.bias = this.param('bias', parameterTensor([channels], options), { requiresGrad });
    const init = options.init ?? 'torch';
    if (rng && init !== 'zeros') fanInInit_(this.weight, init, rng, groupSize * kernelSize);
  }

  forward(x: Tensor): Tensor {
    return conv1d(x, this.weight, this.bias, { groups: this.groups, padding: 'same' });
  }
}

export interface GluConvolutionOptions extends ParamInit {
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
    const { kernelSize, groupSize, layerNormEps, ...init } = options;
    this.glu = this.module('glu', new Linear(hiddenSize, 2 * hiddenSize, init));
    this.conv = this.module('conv', new GroupedConv1d(hiddenSize, kernelSize, groupSize, init));
    this.norm = this.module('norm', new LayerNorm(hiddenSize, { ...init, eps: layerNormEps }));
    this.output = this.module('output', new Linear(hiddenSize, hiddenSize, init));
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

export interface GroupedFeedForwardOptions extends ParamInit {
  readonly intermediateSize: number;
  /** Groups of the down-projection (1 = dense). */
  readonly groups: number;
  /** A dense H -> H map after the grouped down-projection, mixing information across groups. */
  readonly mixer: boolean;
}

/**
 * GroupBERT's feed-forward body: dense up-projection H -> I, GELU, down-projection I -> H split into
 * G groups (a Linear with the grouped layout: weight [G, I/G, H/G]), then (optionally) a dense
 * H -> H mixer. Names: up, down, mixer.
 */
export class GroupedFeedForward extends Module {
  readonly up: Linear;
  readonly down: Linear;
  readonly mixer: Linear | null;

  constructor(hiddenSize: number, options: GroupedFeedForwardOptions) {
    super();
    const { intermediateSize, groups, mixer, ...init } = options;
    this.up = this.module('up', new Linear(hiddenSize, intermediateSize, init));
    const layout = groups === 1 ? denseLayout : groupedLayout(groups);
    this.down = this.module('down', new Linear(intermediateSize, hiddenSize, { ...init, layout }));
    this.mixer = mixer ? this.module('mixer', new Linear(hiddenSize, hiddenSize, init)) : null;
  }

  forward(x: Tensor): Tensor {
    const h = this.down.forward(gelu(this.up.forward(x)));
    return this.mixer ? this.mixer.forward(h) : h;
  }
}
