// Rotary position embeddings (RoFormer). Feature pairs are rotated by position-dependent angles
// theta_i = pos * base^(-2i / rotaryDim), i < rotaryDim/2; a rotation is orthogonal, so the backward
// pass is the same rotation by -theta.

import { allocArray, type FloatDType } from '../../tensor/dtype.js';
import { formatShape } from '../../tensor/shape.js';
import { assertFloat, Tensor } from '../../tensor/tensor.js';
import type { RopeLayout } from '../../ops/kernels.js';
import { defineOp } from '../engine.js';

export interface RopeTables {
  /** cos(theta) of shape [S, rotaryDim/2]. */
  cos: Tensor;
  /** sin(theta) of shape [S, rotaryDim/2]. */
  sin: Tensor;
}

/** cos/sin tables [S, rotaryDim/2] for the given positions (one row per position, in order). */
export function ropeTables(positions: readonly number[] | Int32Array, rotaryDim: number, base = 10000, dtype: FloatDType = 'f32'): RopeTables {
  if (!Number.isInteger(rotaryDim) || rotaryDim <= 0 || rotaryDim % 2 !== 0) throw new Error(`ropeTables: rotary dimension must be a positive even integer, got ${rotaryDim}`);
  const half = rotaryDim / 2;
  const s = positions.length;
  const cos = allocArray(dtype, s * half);
  const sin = allocArray(dtype, s * half);
  for (let p = 0; p < s; p++) {
    const pos = positions[p]!;
    for (let i = 0; i < half; i++) {
      // Angles in double precision: at long positions an f32 angle would already be off.
      const theta = pos * Math.pow(base, (-2 * i) / rotaryDim);
      cos[p * half + i] = Math.cos(theta);
      sin[p * half + i] = Math.sin(theta);
    }
  }
  return { cos: new Tensor(cos, dtype, [s, half]), sin: new Tensor(sin, dtype, [s, half]) };
}

interface RopeAttrs {
  cos: Tensor;
  sin: Tensor;
  layout: RopeLayout;
  rotaryDim: number;
}

const ropeOp = defineOp<RopeAttrs>({
  name: 'rope',
  forward: (k, [x], { cos, sin, layout, rotaryDim }) => ({ outputs: [k.rope(x!, cos, sin, layout, rotaryDim, false)], saved: undefined }),
  backward: ({ kernels: k, attrs: { cos, sin, layout, rotaryDim } }, [dy]) => [dy ? k.rope(dy, cos, sin, layout, rotaryDim, true) : null],
});

export interface RopeOptions {
  /**
   * 'interleaved' rotates pairs (2i, 2i+1), as llama2.c, GGML/GGUF and Meta's original LLaMA code;
   * 'half' rotates pairs (i, i + rotaryDim/2), as Hugging Face's rotate_half (GPT-NeoX layout).
   * Required: the layouts differ on the same weights, so a silent default would misread checkpoints.
   */
  layout: RopeLayout;
  /** Only the first rotaryDim features rotate (partial rotary, e.g. GPT-NeoX, Phi); the rest pass through. */
  rotaryDim?: number;
}

/** Rotates x [..., S, D] (S = positions, matching the tables' rows) by the tables' angles. */
export function rope(x: Tensor, tables: RopeTables, options: RopeOptions): Tensor {
  assertFloat(x, 'rope');
  if (x.rank < 2) throw new Error(`rope: x must be [..., S, D], got ${formatShape(x.shape)}`);
  const rotaryDim = options.rotaryDim ?? x.shape[x.rank - 1]!;
  return ropeOp([x], { cos: tables.cos, sin: tables.sin, layout: options.layout, rotaryDim })[0]!;
}
