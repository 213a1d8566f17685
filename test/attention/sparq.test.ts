// SparQ reference kernel and policy: the reference code's GQA vector, equality with dense when
// nothing is dropped, agreement with a literal sort-based implementation, and the invariants.

import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { DenseAttention } from '../../src/attention/policies.js';
import { type HeadView } from '../../src/attention/head.js';
import { createAttentionPolicy } from '../../src/attention/policy.js';
import { sparqApproxLogits, sparqAttentionHead } from '../../src/attention/sparq.js';
import { Rng } from '../../src/tensor/rng.js';
import { type Problem, filledCache, flat, maxAbsDiff, meanValid, naiveSparq, randomProblem } from './helpers.js';

function viewOf(p: Problem, transposed = false): HeadView {
  const K = flat(p.K);
  const keysTransposed = transposed
    ? { data: Float32Array.from({ length: p.d * p.S }, (_, j) => p.K[j % p.S]![Math.floor(j / p.S)]!), stride: p.S }
    : null;
  return { headDim: p.d, length: p.S, keys: K, values: flat(p.V), keysTransposed, mask: p.mask };
}

describe('SparQ step 1', () => {
  test('GQA vector of the reference code: query heads [[1,10],[-20,2]] and [[30,3],[4,40]], r = 1', () => {
    // Group 1 (KV head 0, key [1, 10]) sums |q| to [21, 12] and picks channel 0; group 2 (KV head 1,
    // key [20, 2]) sums to [34, 43] and picks channel 1.
    const groups = [
      { q: [[1, 10], [-20, 2]], key: [1, 10] },
      { q: [[30, 3], [4, 40]], key: [20, 2] },
    ];
    const expected = [1, -20, 6, 80].map((x, h) => x / Math.sqrt(2 * [1 / 11, 20 / 22, 3 / 33, 40 / 44][h]!));
    for (const transposed of [false, true]) {
      const got: number[] = [];
      groups.forEach(({ q, key }, gi) => {
        const p: Problem = { S: 1, d: 2, g: 2, K: [key], V: [[0, 0]], Q: q };
        const step1 = sparqApproxLogits(viewOf(p, transposed), flat(q), 0, 2, 1);
        assert.deepEqual(Array.from(step1.components), [gi === 0 ? 0 : 1]);
        got.push(...step1.logits);
      });
      for (let h = 0; h < 4; h++) assert.ok(Math.abs(got[h]! - expected[h]!) < 1e-12, `head ${h}: ${got[h]} vs ${expected[h]}`);
    }
  });

  test('approximate logits and i1 match the literal implementation (K once and K twice)', () => {
    const rng = new Rng(11);
    for (const g of [1, 2, 4]) {
      const p = randomProblem(rng, 23, 8, g);
      const want = naiveSparq(p, 3, 5, 2, true);
      for (const transposed of [false, true]) {
        const step1 = sparqApproxLogits(viewOf(p, transposed), flat(p.Q), 0, g, 3);
        assert.deepEqual(Array.from(step1.components), want.components);
        assert.ok(maxAbsDiff(step1.logits, want.logits.flat()) < 1e-9);
      }
    }
  });
});

describe('SparQ attention', () => {
  test('matches the literal implementation over random shapes, masks, windows, GQA groups', () => {
    const rng = new Rng(3);
    for (let trial = 0; trial < 120; trial++) {
      const g = [1, 2, 4][trial % 3]!;
      const d = [4, 8, 16][rng.int(3)]!;
      const S = 1 + rng.int(60);
      const p = randomProblem(rng, S, d, g, trial % 4 === 1);
      const r = 1 + rng.int(d);
      const k = 1 + rng.int(S + 3);
      const l = rng.int(k + 2);
      const reallocation = trial % 2 === 0;
      const want = naiveSparq(p, r, k, l, reallocation);
      const out = new Float32Array(g * d);
      const got = sparqAttentionHead(viewOf(p, trial % 3 === 0), flat(p.Q), 0, g, { rank: r, topK: k, localWindow: l, reallocation }, out, 0);
      assert.deepEqual(Array.from(got.selected), want.selected, `trial ${trial} selection`);
      assert.ok(maxAbsDiff(got.alpha, want.alpha) < 1e-9, `trial ${trial} alpha`);
      assert.ok(maxAbsDiff(out, want.out.flat()) < 1e-5, `trial ${trial} output`);
    }
  });

  test('r = d_h and k >= S equals dense (1e-5), with and without reallocation, MHA and GQA', () => {
    const rng = new Rng(5);
    for (const [heads, kvHeads] of [[4, 4], [4, 2], [8, 2]] as const) {
      const d = 16;
      const cache = filledCache(rng, { layers: 2, kvHeads, headDim: d, lengths: [1, 9, 40], storeKTransposed: true });
      const shape = { layers: 2, heads, kvHeads, headDim: d };
      const q = Float32Array.from({ length: 3 * heads * d }, () => rng.normal() * 2);
      const dense = new Float32Array(q.length);
      new DenseAttention(shape).attend(cache, 1, [0, 1, 2], q, dense, heads);
      for (const reallocation of [true, false]) {
        for (const topK of [40, 1000]) {
          const policy = createAttentionPolicy({ kind: 'sparq', rank: d, topK, localWindow: 4, reallocation }, shape);
          const out = new Float32Array(q.length);
          policy.attend(cache, 1, [0, 1, 2], q, out, heads);
          assert.ok(maxAbsDiff(out, dense) < 1e-5, `${heads}/${kvHeads} heads, realloc ${reallocation}, k ${topK}`);
        }
      }
    }
  });

  test('invariants: local window kept, min(valid, k) selected, masked never, weight sums, no NaN', () => {
    const rng = new Rng(9);
    for (let trial = 0; trial < 200; trial++) {
      const g = [1, 2, 4][trial % 3]!;
      const d = 8;
      const S = 1 + rng.int(80);
      const p = randomProblem(rng, S, d, g, trial % 2 === 0);
      const k = 1 + rng.int(S + 2);
      const l = rng.int(k + 1);
      const reallocation = trial % 3 !== 0;
      const out = new Float32Array(g * d);
      const res = sparqAttentionHead(viewOf(p, false), flat(p.Q), 0, g, { rank: 1 + rng.int(d), topK: k, localWindow: l, reallocation }, out, 0);
      const valid = p.mask ? p.mask.filter((m) => m !== 0).length : S;
      const sel = Array.from(res.selected);
      assert.equal(sel.length, Math.min(valid, k), `trial ${trial} count`);
      for (let i = S - Math.min(l, k); i < S; i++) {
        if (!p.mask || p.mask[i]) assert.ok(sel.includes(i), `trial ${trial}: local position ${i} not selected`);
      }
      if (p.mask) for (const i of sel) assert.equal(p.mask[i], 1, `trial ${trial}: masked position ${i} selected`);
      for (let h = 0; h < g; h++) {
        let w = 0;
        for (let j = 0; j < sel.length; j++) w += res.weights[h * sel.length + j]!;
        const total = w * res.alpha[h]!;
        if (reallocation) assert.ok(total <= 1 + 1e-12, `trial ${trial}: weights sum to ${total}`);
        else assert.ok(Math.abs(total - 1) < 1e-12, `trial ${trial}: weights sum to ${total}`);
      }
    }
  });

  test('reallocation mixes in the mean of V by the left-over approximate mass', () => {
    const rng = new Rng(21);
    const p = randomProblem(rng, 30, 8, 1);
    const out = new Float32Array(8);
    const res = sparqAttentionHead(viewOf(p), flat(p.Q), 0, 1, { rank: 2, topK: 5, localWindow: 1, reallocation: true }, out, 0);
    const a = res.alpha[0]!;
    assert.ok(a > 0 && a < 1);
    const noRealloc = new Float32Array(8);
    sparqAttentionHead(viewOf(p), flat(p.Q), 0, 1, { rank: 2, topK: 5, localWindow: 1, reallocation: false }, noRealloc, 0);
    const mean = meanValid(p);
    for (let c = 0; c < 8; c++) assert.ok(Math.abs(out[c]! - (a * noRealloc[c]! + (1 - a) * mean[c]!)) < 1e-6);
  });

  test('no NaN with extreme keys and queries', () => {
    const rng = new Rng(13);
    for (const scale of [1e10, 1e19, 3e38]) {
      const p = randomProblem(rng, 50, 8, 2);
      const K = p.K.map((row) => row.map((x) => Math.fround(Math.max(-3.4e38, Math.min(3.4e38, x * scale)))));
      const extreme: Problem = { ...p, K, Q: [new Array<number>(8).fill(0), p.Q[1]!.map((x) => x * 1e5)] };
      for (const reallocation of [true, false]) {
        const out = new Float32Array(16);
        sparqAttentionHead(viewOf(extreme, true), flat(extreme.Q), 0, 2, { rank: 3, topK: 7, localWindow: 2, reallocation }, out, 0);
        assert.ok(out.every((x) => Number.isFinite(x)), `scale ${scale}: ${Array.from(out)}`);
      }
    }
  });
});
