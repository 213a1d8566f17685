// The one attention function: causal attention split into row blocks equals the plain formula
// (values and gradients), grouped queries share keys, an additive padding mask drops keys, and
// rotary positions per batch row equal the per-sequence tables.

import assert from 'node:assert/strict';
import { test } from 'node:test';

import { backward } from '../../src/autograd/engine.js';
import { mul, sum } from '../../src/autograd/ops/index.js';
import { attention, MASKED_SCORE, paddingMaskBias, splitHeads } from '../../src/nn/attention.js';
import { rotaryPositions } from '../../src/nn/rotary.js';
import { rope } from '../../src/autograd/ops/rope.js';
import { Rng } from '../../src/tensor/rng.js';
import { fromArray, randn, setRequiresGrad, Tensor } from '../../src/tensor/tensor.js';

/**
 * softmax(q k^T / sqrt(d) + bias) v by loops: q [G, T, d] at positions offset + t, k, v [S, d]; causal
 * when offset is a number, else every key visible, with bias[j] added to key j's score.
 */
function naiveAttention(q: ArrayLike<number>, k: ArrayLike<number>, v: ArrayLike<number>, group: number, tokens: number, d: number, offset: number | null, keys = 0, bias: readonly number[] = []): Float64Array {
  const out = new Float64Array(group * tokens * d);
  for (let g = 0; g < group; g++) {
    for (let t = 0; t < tokens; t++) {
      const visible = offset === null ? keys : offset + t + 1;
      const scores = new Float64Array(visible);
      let max = -Infinity;
      for (let j = 0; j < visible; j++) {
        let s = 0;
        for (let c = 0; c < d; c++) s += q[(g * tokens + t) * d + c]! * k[j * d + c]!;
        scores[j] = s / Math.sqrt(d) + (bias[j] ?? 0);
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
  // Two query heads reading one key head: the T = 7 queries are the last 7 of the 10 keys.
  const q = randn([1, group, tokens, d], rng);
  const k = randn([1, 1, keys, d], rng);
  const v = randn([1, 1, keys, d], rng);
  const want = naiveAttention(q.toArray(), k.toArray(), v.toArray(), group, tokens, d, offset);
  for (const maxScoreElements of [1, 25, 1 << 20]) {
    const got = attention(q, k, v, { causal: true, maxScoreElements }).toArray(); // [1, T, G * d]
    for (let g = 0; g < group; g++) {
      for (let t = 0; t < tokens; t++) {
        for (let c = 0; c < d; c++) {
          const [x, y] = [got[t * group * d + g * d + c]!, want[(g * tokens + t) * d + c]!];
          assert.ok(Math.abs(x - y) < 1e-5, `blocks ${maxScoreElements}, head ${g} token ${t}: ${x} vs ${y}`);
        }
      }
    }
  }
  assert.throws(() => attention(randn([1, 2, 11, d], rng), k, v, { causal: true }), /11 queries needs at least as many keys, got 10/);
  assert.throws(() => attention(randn([1, 3, 7, d], rng), randn([1, 2, 7, d], rng), randn([1, 2, 7, d], rng)), /3 query heads are not a multiple of 2/);
});

test('causal attention: gradients through row blocks equal those of one block', () => {
  const grads = (maxScoreElements: number): number[][] => {
    const rng = new Rng(5);
    const q = setRequiresGrad(randn([2, 6, 6, 4], rng));
    const k = setRequiresGrad(randn([2, 2, 6, 4], rng));
    const v = setRequiresGrad(randn([2, 2, 6, 4], rng));
    const weights = randn([2, 6, 24], rng);
    backward(sum(mul(attention(q, k, v, { causal: true, maxScoreElements }), weights)));
    return [q, k, v].map((t) => t.grad!.toList());
  };
  const whole = grads(1 << 20);
  const blocked = grads(48); // 2 rows per block
  whole.forEach((g, i) => g.forEach((x, j) => assert.ok(Math.abs(x - blocked[i]![j]!) < 1e-5, `input ${i} element ${j}`)));
});

test('attention with a padding mask (BERT): padded keys get no weight, each head its own keys', () => {
  const rng = new Rng(8);
  const [batch, seq, heads, d] = [2, 5, 2, 3];
  const x = (): Tensor => randn([batch, seq, heads * d], rng);
  const [q, k, v] = [x(), x(), x()];
  const mask = fromArray([1, 1, 1, 0, 0, 1, 1, 1, 1, 1], [batch, seq], { dtype: 'i32' });
  const got = attention(splitHeads(q, heads), splitHeads(k, heads), splitHeads(v, heads), { mask: paddingMaskBias(mask) }).toArray(); // [B, S, H * d]
  const [qa, ka, va, ma] = [q.toArray(), k.toArray(), v.toArray(), mask.toArray()];
  for (let b = 0; b < batch; b++) {
    for (let h = 0; h < heads; h++) {
      // One head of one row as [S, d] arrays.
      const pick = (a: ArrayLike<number>): number[] => Array.from({ length: seq * d }, (_, i) => a[(b * seq + Math.floor(i / d)) * heads * d + h * d + (i % d)]!);
      const bias = Array.from({ length: seq }, (_, j) => (ma[b * seq + j] === 0 ? MASKED_SCORE : 0));
      const want = naiveAttention(pick(qa), pick(ka), pick(va), 1, seq, d, null, seq, bias);
      for (let t = 0; t < seq; t++) {
        for (let c = 0; c < d; c++) {
          const y = got[(b * seq + t) * heads * d + h * d + c]!;
          assert.ok(Math.abs(y - want[t * d + c]!) < 1e-5, `row ${b} head ${h} token ${t}: ${y} vs ${want[t * d + c]}`);
        }
      }
    }
  }
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
