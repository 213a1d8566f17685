// The shared decoder blocks: causal attention split into row blocks equals the plain formula
// (values and gradients), grouped queries share keys, rotary positions per batch row equal the
// per-sequence tables.

import assert from 'node:assert/strict';
import { test } from 'node:test';

import { backward } from '../../src/autograd/engine.js';
import { mul, sum } from '../../src/autograd/ops/index.js';
import { causalAttention, rotaryPositions } from '../../src/nn/decoder.js';
import { rope } from '../../src/autograd/ops/rope.js';
import { Rng } from '../../src/tensor/rng.js';
import { randn, setRequiresGrad, Tensor } from '../../src/tensor/tensor.js';

/** softmax(q k^T / sqrt(d) + causal) v by loops: q [G, T, d] at positions offset + t, k, v [S, d]. */
function naiveAttention(q: Float32Array, k: Float32Array, v: Float32Array, group: number, tokens: number, d: number, offset: number): Float64Array {
  const out = new Float64Array(group * tokens * d);
  for (let g = 0; g < group; g++) {
    for (let t = 0; t < tokens; t++) {
      const visible = offset + t + 1;
      const scores = new Float64Array(visible);
      let max = -Infinity;
      for (let j = 0; j < visible; j++) {
        let s = 0;
        for (let c = 0; c < d; c++) s += q[(g * tokens + t) * d + c]! * k[j * d + c]!;
        scores[j] = s / Math.sqrt(d);
        max = Math.max(max, scores[j]!);
      }
      let total = 0;
      for (let j = 0; j < visible; j++) total += scores[j] = Math.exp(scores[j]! - max);
      for (let j = 0; j < visible; j++) {
        for (let c = 0; c < d; c++) out[(g * tokens + t) * d + c]! += (scores[j]! / total) * v[j * d + c]!;
      }
    }
  }
  return out;
}

test('causal attention: row blocks, query offsets and shared keys give the plain formula', () => {
  const rng = new Rng(3);
  const [group, tokens, keys, d, offset] = [2, 7, 10, 4, 3];
  const q = randn([group, tokens, d], rng);
  const k = randn([keys, d], rng);
  const v = randn([keys, d], rng);
  const want = naiveAttention(q.toArray() as Float32Array, k.toArray() as Float32Array, v.toArray() as Float32Array, group, tokens, d, offset);
  for (const maxScoreElements of [1, 25, 1 << 20]) {
    const got = causalAttention(q, k, v, offset, maxScoreElements).toArray();
    for (let i = 0; i < want.length; i++) assert.ok(Math.abs(got[i]! - want[i]!) < 1e-5, `blocks ${maxScoreElements}, element ${i}: ${got[i]} vs ${want[i]}`);
  }
  assert.throws(() => causalAttention(q, k, v, 4), /7 queries at offset 4 need 11 keys, got 10/);
});

test('causal attention: gradients through row blocks equal those of one block', () => {
  const grads = (maxScoreElements: number): number[][] => {
    const rng = new Rng(5);
    const q = setRequiresGrad(randn([2, 3, 6, 4], rng));
    const k = setRequiresGrad(randn([2, 6, 4], rng));
    const v = setRequiresGrad(randn([2, 6, 4], rng));
    const weights = randn([2, 3, 6, 4], rng);
    backward(sum(mul(causalAttention(q, k, v, 0, maxScoreElements), weights)));
    return [q, k, v].map((t) => t.grad!.toList());
  };
  const whole = grads(1 << 20);
  const blocked = grads(12); // 2 rows per block
  whole.forEach((g, i) => g.forEach((x, j) => assert.ok(Math.abs(x - blocked[i]![j]!) < 1e-5, `input ${i} element ${j}`)));
});

test('rotary positions: one token per row at its own position equals per-row tables', () => {
  const spec = { layout: 'interleaved' as const, theta: 10000, rotaryDim: 8 };
  const rows = rotaryPositions(spec, [5, 0, 17], 1);
  assert.equal(rows.mode, 'rows');
  const x = randn([3, 1, 2, 8], new Rng(9)); // [B, T, N, hd]
  // Rotate as attention does in 'rows' mode: positions along the batch axis.
  const batched = rope(new Tensor(x.data, 'f32', [2, 1, 3, 8], [8, 48, 16, 1]), rows.tables, { layout: 'interleaved' }).toArray();
  [5, 0, 17].forEach((position, b) => {
    const single = rotaryPositions(spec, [position], 1);
    assert.equal(single.mode, 'sequence');
    const row = rope(new Tensor(x.data, 'f32', [2, 1, 8], [8, 16, 1], b * 16), single.tables, { layout: 'interleaved' }).toArray();
    for (let n = 0; n < 2; n++) for (let c = 0; c < 8; c++) assert.ok(Math.abs(batched[(n * 3 + b) * 8 + c]! - row[n * 8 + c]!) < 1e-6);
  });
  assert.throws(() => rotaryPositions(spec, [1, 2], 3), /one token at a time/);
});
