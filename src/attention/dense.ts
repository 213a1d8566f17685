// Dense decode attention: every cached position, exact softmax. The baseline that the sparse
// policies are measured against.

import { allValid, attendSelected, type HeadView } from './head.js';

/** Reference dense attention for one KV head and its `group` query heads (rows of q at qOffset). */
export function denseAttentionHead(view: HeadView, q: Float32Array, qOffset: number, group: number,
  out: Float32Array, outOffset: number): void {
  const idx = allValid(view);
  attendSelected(view, q, qOffset, group, idx, idx.length, out, outOffset);
}

