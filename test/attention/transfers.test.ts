// Transfer counters against the SparQ paper's formulas (plus the 2 d_h written per step), over a
// grid of (S, d_h, r, k, group size); GQA counted once per KV head.

import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { type AttentionSpec, createAttentionPolicy } from '../../src/attention/policy.js';
import { TransferCounters } from '../../src/attention/transfers.js';
import { Rng } from '../../src/tensor/rng.js';
import { filledCache } from './helpers.js';

// Written from the issue text; k is min(k, S): a policy never reads more rows than exist.
function formula(spec: AttentionSpec, S: number, d: number): number {
  const k = 'topK' in spec ? Math.min(spec.topK, S) : 0;
  switch (spec.kind) {
    case 'dense': return 2 * S * d + 2 * d;
    case 'sparq': return S * Math.min(spec.rank, d) + 2 * k * d + 4 * d;
    case 'h2o': return 2 * k * d + 2 * d + 2 * S;
    case 'lm-infinite': return 2 * k * d + 2 * d;
    case 'flexgen': return S * d + k * d + 2 * d;
    case 'oracle': return 2 * k * d + 2 * d;
  }
}

describe('transfer counters', () => {
  test('equal the formulas over (S, d_h, r, k, group size) for every policy', () => {
    const rng = new Rng(2);
    let cases = 0;
    for (const S of [1, 5, 33, 100]) {
      for (const d of [4, 8]) {
        for (const group of [1, 2, 4]) {
          const kvHeads = 2;
          const heads = kvHeads * group;
          const cache = filledCache(rng, { layers: 2, kvHeads, headDim: d, lengths: [S, 3], storeKTransposed: S % 2 === 1 });
          const q = Float32Array.from({ length: heads * d }, () => rng.normal());
          for (const r of [1, 3, d]) {
            for (const k of [1, 16, 200]) {
              const specs: AttentionSpec[] = [
                { kind: 'dense' }, { kind: 'sparq', rank: r, topK: k, localWindow: Math.floor(k / 4) },
                { kind: 'h2o', topK: k }, { kind: 'lm-infinite', topK: k }, { kind: 'flexgen', topK: k }, { kind: 'oracle', topK: k },
              ];
              for (const spec of specs) {
                const policy = createAttentionPolicy(spec, { layers: 2, heads, kvHeads, headDim: d });
                policy.attend(cache, 1, [0], q, new Float32Array(q.length), heads);
                for (let h = 0; h < kvHeads; h++) {
                  const c = policy.counters.get(1, h);
                  assert.equal(c.total, formula(spec, S, d), `${spec.kind} S=${S} d=${d} r=${r} k=${k} g=${group}`);
                  assert.equal(c.dense, 2 * S * d + 2 * d);
                  assert.equal(c.steps, 1);
                  assert.equal(c.kTransposedWrite, cache.storeKTransposed ? d : 0);
                }
                assert.equal(policy.counters.get(0).total, 0, 'layer 0 untouched');
                cases++;
              }
            }
          }
        }
      }
    }
    assert.equal(cases, 4 * 2 * 3 * 3 * 3 * 6);
  });

  test('summary averages per decode step over layers and KV heads', () => {
    const rng = new Rng(8);
    const d = 8;
    const cache = filledCache(rng, { layers: 2, kvHeads: 2, headDim: d, lengths: [50, 50] });
    const policy = createAttentionPolicy({ kind: 'sparq', rank: 2, topK: 10, localWindow: 2 }, { layers: 2, heads: 2, kvHeads: 2, headDim: d });
    const q = Float32Array.from({ length: 2 * 2 * d }, () => rng.normal());
    for (const layer of [0, 1]) policy.attend(cache, layer, [0, 1], q, new Float32Array(q.length), 2);
    const s = policy.counters.summary();
    assert.equal(s.steps, 2); // two sequences, one step each
    const perHead = 50 * 2 + 2 * 10 * d + 4 * d;
    assert.equal(s.totalPerStep, 2 * 2 * perHead); // 2 layers x 2 KV heads
    assert.equal(s.densePerStep, 2 * 2 * (2 * 50 * d + 2 * d));
    assert.ok(Math.abs(s.ratio - perHead / (2 * 50 * d + 2 * d)) < 1e-12);
    policy.counters.reset();
    assert.equal(policy.counters.get().total, 0);
  });

  test('rejects out-of-range slots', () => {
    const c = new TransferCounters(2, 3);
    assert.throws(() => c.add(2, 0, 'kRead', 1), /layer 2 out of range/);
    assert.throws(() => c.add(0, 3, 'kRead', 1), /kvHead 3 out of range/);
  });
});
