// 1-D convolution over the sequence axis, channels last, output as long as the input (stride 1,
// dilation 1): the token mixers of Hyena/Mamba-style blocks and depthwise convolutions in conformers.

import { formatShape } from '../../tensor/shape.js';
import { assertFloat, type Tensor } from '../../tensor/tensor.js';
import { defineOp } from '../engine.js';
import { add } from './elementwise.js';

interface ConvAttrs {
  groups: number;
  padLeft: number;
}

const conv1dOp = defineOp<ConvAttrs>({
  name: 'conv1d',
  forward: (k, [x, w], { groups, padLeft }) => ({ outputs: [k.conv1d(x!, w!, groups, padLeft)], saved: undefined }),
  backward: ({ kernels: k, inputs: [x, w], attrs: { groups, padLeft }, needsGrad }, [dy]) => {
    if (!dy) return [null, null];
    return [
      needsGrad(0) ? k.conv1dGradInput(dy, w!, groups, padLeft, x!.shape) : null,
      needsGrad(1) ? k.conv1dGradWeight(dy, x!, groups, padLeft, w!.shape) : null,
    ];
  },
});

export interface Conv1dOptions {
  /** Channels are split into this many groups, each convolved separately: 1 is dense, Cin depthwise. */
  groups?: number;
  /**
   * Zeros before the sequence; K - 1 - padding go after it, so the output keeps the input's length.
   * 'same' is floor((K - 1) / 2) before, as PyTorch's padding='same': for even K the extra zero goes
   * after the sequence (K = 4: one before, two after). K - 1 makes the convolution causal.
   */
  padding?: 'same' | number;
}

/**
 * x [B, L, Cin] convolved with weight [Cout, Cin/groups, K] (PyTorch's layout) plus an optional bias
 * [Cout] -> [B, L, Cout]. Cross-correlation, as every deep learning library computes it:
 * y[b, t, o] = sum_{j, c} x[b, t + j - padLeft, g*Cin/groups + c] * w[o, c, j].
 */
export function conv1d(x: Tensor, weight: Tensor, bias?: Tensor | null, options: Conv1dOptions = {}): Tensor {
  assertFloat(x, 'conv1d');
  assertFloat(weight, 'conv1d weight');
  if (x.rank !== 3 || weight.rank !== 3) {
    throw new Error(`conv1d: x must be [B, L, Cin] and weight [Cout, Cin/groups, K], got ${formatShape(x.shape)} and ${formatShape(weight.shape)}`);
  }
  const groups = options.groups ?? 1;
  const kernelSize = weight.shape[2]!;
  const padding = options.padding ?? 'same';
  const padLeft = padding === 'same' ? Math.floor((kernelSize - 1) / 2) : padding;
  if (!Number.isInteger(groups) || groups < 1) throw new Error(`conv1d: groups must be a positive integer, got ${groups}`);
  if (!Number.isInteger(padLeft) || padLeft < 0 || padLeft > kernelSize - 1) {
    throw new Error(`conv1d: left padding must be an integer in [0, ${kernelSize - 1}] for kernel size ${kernelSize}, got ${padLeft}`);
  }
  const y = conv1dOp([x, weight], { groups, padLeft })[0]!;
  if (!bias) return y;
  if (bias.rank !== 1 || bias.shape[0] !== weight.shape[0]) {
    throw new Error(`conv1d: bias must be [${weight.shape[0]}], got ${formatShape(bias.shape)}`);
  }
  return add(y, bias);
}
