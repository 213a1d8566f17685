// Rotary position embeddings for attention: the tables of one forward call, shared by every layer,
// and the rotation of queries or keys into the heads-first layout attention() takes.

import { permute } from '../autograd/ops/movement.js';
import { rope, ropeTables, type RopeTables } from '../autograd/ops/rope.js';
import type { RopeLayout } from '../ops/kernels.js';
import type { Tensor } from '../tensor/tensor.js';

export interface RotarySpec {
  readonly layout: RopeLayout;
  readonly theta: number;
  readonly rotaryDim: number;
}

/** RoPE tables for one forward call, shared by all layers. */
export interface RotaryPositions {
  readonly tables: RopeTables;
  readonly layout: RopeLayout;
  readonly rotaryDim: number;
  /**
   * 'sequence': one table row per token, the same positions for every batch row; 'rows': one
   * token per batch row (decoding), one table row per batch row.
   */
  readonly mode: 'sequence' | 'rows';
}

/** Tables for `tokens` tokens per batch row starting at each row's start position. */
export function rotaryPositions(spec: RotarySpec, startPositions: readonly number[], tokens: number): RotaryPositions {
  const uniform = startPositions.every((p) => p === startPositions[0]);
  if (uniform) {
    const start = startPositions[0] ?? 0;
    const positions = Array.from({ length: tokens }, (_, t) => start + t);
    return { tables: ropeTables(positions, spec.rotaryDim, spec.theta), layout: spec.layout, rotaryDim: spec.rotaryDim, mode: 'sequence' };
  }
  if (tokens !== 1) throw new Error(`rotary positions: batch rows at different positions must be decoded one token at a time (got ${tokens} tokens)`);
  return { tables: ropeTables(startPositions, spec.rotaryDim, spec.theta), layout: spec.layout, rotaryDim: spec.rotaryDim, mode: 'rows' };
}

/** x [B, T, N, hd] -> [B, N, T, hd], rotated when the model uses RoPE (rotary null: only the permute). */
export function headsFirst(x: Tensor, rotary: RotaryPositions | null): Tensor {
  if (!rotary) return permute(x, [0, 2, 1, 3]);
  const options = { layout: rotary.layout, rotaryDim: rotary.rotaryDim };
  if (rotary.mode === 'sequence') return rope(permute(x, [0, 2, 1, 3]), rotary.tables, options);
  // One token per row at its own position: put the batch axis where rope expects positions.
  const rotated = rope(permute(x, [2, 1, 0, 3]), rotary.tables, options); // [N, 1, B, hd]
  return permute(rotated, [2, 0, 1, 3]);
}
