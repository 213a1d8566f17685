// H2O, LM-Infinite, FlexGen and the oracle: equality with dense when k >= S, and step-by-step
// agreement with literal implementations written from their papers' descriptions.

import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { lmInfiniteSelect } from '../../src/attention/baselines.js';
import { DenseAttention } from '../../src/attention/policies.js';
import { createAttentionPolicy } from '../../src/attention/policy.js';
import { KvCache } from '../../src/attention/kv-cache.js';
import { Rng } from '../../src/tensor/rng.js';
import { type Problem, attendOver, filledCache, maxAbsDiff, softmax, sortedTop } from './helpers.js';

describe('baselines equal dense when k >= S', () => {
  for (const spec of [
    { kind: 'h2o', topK: 64 }, { kind: 'lm-infinite', topK: 64 }, { kind: 'flexgen', topK: 64 }, { kind: 'oracle', topK: 64 },
  ] as const) {
    test(spec.kind, () => {
      const rng = new Rng(4);
      for (const [heads, kvHeads] of [[4, 4], [4, 1]] as const) {
        const shape = { layers: 1, heads, kvHeads, headDim: 8 };
        const cache = filledCache(rng, { layers: 1, kvHeads, headDim: 8, lengths: [1, 20, 64] });
        const q = Float32Array.from({ length: 3 * heads * 8 }, () => rng.normal());
        const dense = new Float32Array(q.length);
        new DenseAttention(shape).attend(cache, 0, [0, 1, 2], q, dense, heads);
        const out = new Float32Array(q.length);
        createAttentionPolicy(spec, shape).attend(cache, 0, [0, 1, 2], q, out, heads);
        assert.ok(maxAbsDiff(out, dense) < 1e-6);
      }
    });
  }
});

describe('LM-Infinite', () => {
  test('first sinks plus the most recent positions', () => {
    const view = (S: number, mask?: number[]) => ({ headDim: 1, length: S, keys: new Float32Array(S), values: new Float32Array(S), mask });
    assert.deepEqual(Array.from(lmInfiniteSelect(view(40), 20, 16)), [...Array(16).keys(), 36, 37, 38, 39]);
    assert.deepEqual(Array.from(lmInfiniteSelect(view(10), 20, 16)), [...Array(10).keys()]);
    assert.deepEqual(Array.from(lmInfiniteSelect(view(30), 8, 16)), [...Array(8).keys()]);
    assert.deepEqual(Array.from(lmInfiniteSelect(view(8, [0, 1, 1, 0, 1, 1, 0, 1]), 4, 2)), [1, 2, 5, 7]);
  });
});

/** Decode `steps` tokens with a policy and with a literal simulation; compare every step. */
function decodeAndCompare(kind: 'h2o' | 'flexgen' | 'oracle', topK: number, localWindow: number, groupSize: number): void {
  const rng = new Rng(17 + groupSize);
  const d = 8;
  const kvHeads = 2;
  const heads = kvHeads * groupSize;
  const shape = { layers: 1, heads, kvHeads, headDim: d };
  const cache = new KvCache({ layers: 1, kvHeads, headDim: d, batch: 1, initialCapacity: 16 });
  const policy = createAttentionPolicy(kind === 'h2o' ? { kind, topK, localWindow } : { kind, topK }, shape);
  // Literal state per KV head.
  const K: number[][][] = [[], []];
  const V: number[][][] = [[], []];
  const scores: number[][] = [[], []];
  const evicted: boolean[][] = [[], []];
  for (let step = 0; step < 40; step++) {
    const k = Float32Array.from({ length: kvHeads * d }, () => rng.normal());
    const v = Float32Array.from({ length: kvHeads * d }, () => rng.normal());
    cache.append(0, 0, k, v, 1);
    const q = Float32Array.from({ length: heads * d }, () => rng.normal() * 2);
    const out = new Float32Array(heads * d);
    policy.attend(cache, 0, [0], q, out, heads);
    for (let kv = 0; kv < kvHeads; kv++) {
      K[kv]!.push(Array.from(k.subarray(kv * d, (kv + 1) * d)));
      V[kv]!.push(Array.from(v.subarray(kv * d, (kv + 1) * d)));
      scores[kv]!.push(0);
      evicted[kv]!.push(false);
      const S = K[kv]!.length;
      const Q = Array.from({ length: groupSize }, (_, j) => Array.from(q.subarray((kv * groupSize + j) * d, (kv * groupSize + j + 1) * d)));
      const p: Problem = { S, d, g: groupSize, K: K[kv]!, V: V[kv]!, Q };
      const all = [...Array(S).keys()];
      let selected: number[];
      if (kind === 'h2o') {
        const l = Math.min(localWindow, topK, S);
        const local = all.filter((i) => i >= S - l);
        const live = all.filter((i) => i < S - l && !evicted[kv]![i]);
        const heavy = sortedTop(scores[kv]!, live, Math.min(topK, S) - local.length);
        selected = [...heavy, ...local].sort((a, b) => a - b);
        for (const i of live) if (!heavy.includes(i)) evicted[kv]![i] = true;
      } else {
        const probs = Q.map((qq) => softmax(all.map((i) => qq.reduce((s, x, c) => s + x * K[kv]![i]![c]!, 0) / Math.sqrt(d))));
        const summed = all.map((i) => probs.reduce((s, row) => s + row[i]!, 0));
        selected = sortedTop(summed, all, topK).sort((a, b) => a - b);
      }
      const want = Q.map((qq) => attendOver(p, qq, selected));
      const got = out.subarray(kv * groupSize * d, (kv + 1) * groupSize * d);
      assert.ok(maxAbsDiff(got, want.flat()) < 1e-5, `${kind} step ${step} kv ${kv}`);
      if (kind === 'h2o') {
        // Accumulate this step's attention weights (mean over the group) on the kept positions.
        const w = Q.map((qq) => softmax(selected.map((i) => qq.reduce((s, x, c) => s + x * K[kv]![i]![c]!, 0) / Math.sqrt(d))));
        selected.forEach((i, j) => {
          scores[kv]![i]! += w.reduce((s, row) => s + row[j]!, 0) / groupSize;
        });
      }
    }
  }
}

describe('step-by-step against literal implementations', () => {
  for (const g of [1, 2]) {
    test(`h2o (k 12, l 3), group ${g}`, () => decodeAndCompare('h2o', 12, 3, g));
    test(`flexgen (k 7), group ${g}`, () => decodeAndCompare('flexgen', 7, 0, g));
    test(`oracle (k 7), group ${g}`, () => decodeAndCompare('oracle', 7, 0, g));
  }
});

describe('H2O', () => {
  test('prefill observations seed the heavy hitters', () => {
    const shape = { layers: 1, heads: 1, kvHeads: 1, headDim: 4 };
    const cache = new KvCache({ layers: 1, kvHeads: 1, headDim: 4, batch: 1 });
    const rows = Float32Array.from({ length: 10 * 4 }, (_, i) => (i % 7) / 7);
    cache.append(0, 0, rows, rows, 10);
    const policy = createAttentionPolicy({ kind: 'h2o', topK: 4, localWindow: 1 }, shape);
    // Prompt attention concentrated on positions 2, 5 and 7.
    const probs = new Float32Array(10);
    probs[2] = 0.5;
    probs[5] = 0.3;
    probs[7] = 0.2;
    policy.observePrefill!(0, 0, probs, 1, 1, 10);
    const q = new Float32Array(4).fill(1);
    const out = new Float32Array(4);
    policy.attend(cache, 0, [0], q, out, 1);
    // Kept: heavy hitters 2, 5, 7 and the local position 9; the output is attention over exactly those.
    const view = { S: 10, d: 4, g: 1, K: [...Array(10).keys()].map((t) => Array.from(rows.subarray(t * 4, t * 4 + 4))),
      V: [...Array(10).keys()].map((t) => Array.from(rows.subarray(t * 4, t * 4 + 4))), Q: [[1, 1, 1, 1]] };
    assert.ok(maxAbsDiff(out, attendOver(view, [1, 1, 1, 1], [2, 5, 7, 9])) < 1e-6);
  });
});
