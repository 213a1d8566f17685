// The ratio planner: the paper recipe and the even split, clamping, and the flag parsers.

import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { KvCache } from '../../src/attention/kv-cache.js';
import { attentionSpecFromSettings, parseCompression, planCompression, planTopK, plannedRatio, sparqBreakEven } from '../../src/attention/planner.js';
import { createAttentionPolicy } from '../../src/attention/policy.js';
import { transferRatio } from '../../src/attention/transfers.js';
import { Rng } from '../../src/tensor/rng.js';

const KINDS = ['h2o', 'lm-infinite', 'flexgen', 'oracle'] as const;

describe('planCompression (SparQ)', () => {
  test('paper recipe: k = 128, l = 32 and the largest r within the target', () => {
    const shape = { headDim: 128, seqLen: 16384 };
    const p = planCompression(1 / 8, shape, 'paper');
    assert.deepEqual({ rank: p.rank, topK: p.topK, localWindow: p.localWindow }, { rank: 29, topK: 128, localWindow: 32 });
    // (S r + 2 k d + 4 d) / (2 S d + 2 d) at r = 29, k = 128; r = 30 would pass 1/8.
    assert.equal(p.achievedRatio, (16384 * 29 + 2 * 128 * 128 + 4 * 128) / (2 * 16384 * 128 + 2 * 128));
    assert.ok(transferRatio({ kind: 'sparq', rank: 30, topK: 128 }, 16384, 128) > 1 / 8);
    assert.equal(planCompression(1 / 2, shape, 'paper').rank, 125);
    assert.equal(planCompression(1 / 16, shape, 'paper').rank, 13);
  });

  test('even split: r = d R, the largest k within the target', () => {
    const p = planCompression(1 / 8, { headDim: 128, seqLen: 16384 }, 'even');
    assert.deepEqual({ rank: p.rank, topK: p.topK, localWindow: p.localWindow }, { rank: 16, topK: 1022, localWindow: 255 });
    assert.ok(p.achievedRatio <= 1 / 8 && transferRatio({ kind: 'sparq', rank: 16, topK: 1023 }, 16384, 128) > 1 / 8);
  });

  test('out of reach: one line naming the flag, the policy, the length and the least it moves', () => {
    assert.throws(() => planCompression(1 / 8, { headDim: 64, seqLen: 50 }, 'paper'),
      /^RangeError: --compression 1\/8 is out of reach for sparq \(paper recipe\) at 50 cached positions with heads of 64: it moves at least [0-9.]+% of dense attention's transfers \(r = 1, k = 50; --recipe even lowers k\)$/);
    assert.throws(() => planCompression(0, { headDim: 8, seqLen: 10 }), /target must be in \(0, 1\]/);
    assert.throws(() => planCompression(2, { headDim: 8, seqLen: 10 }), /target must be in \(0, 1\]/);
  });
});

describe('planTopK (baselines)', () => {
  test('each policy gets the largest k whose own transfers stay within the target', () => {
    const shape = { headDim: 64, seqLen: 4096 };
    for (const kind of ['h2o', 'lm-infinite', 'oracle'] as const) {
      for (const target of [1 / 2, 1 / 4, 1 / 8, 1 / 16]) {
        const { topK, achievedRatio } = planTopK(kind, target, shape);
        assert.equal(achievedRatio, transferRatio({ kind, topK }, 4096, 64));
        assert.ok(achievedRatio <= target, `${kind} ${target}`);
        assert.ok(transferRatio({ kind, topK: topK + 1 }, 4096, 64) > target, `${kind} ${target}: k + 1 also fits`);
      }
    }
    // H2O pays for its score vector: a smaller k than LM-Infinite at the same target.
    assert.ok(planTopK('h2o', 1 / 8, shape).topK < planTopK('lm-infinite', 1 / 8, shape).topK);
    // FlexGen reads every key: 1/2 is just out of reach, 0.6 is not.
    assert.throws(() => planTopK('flexgen', 1 / 8, shape), /out of reach for flexgen at 4096 cached positions with heads of 64: it moves at least 50\.0% of dense attention's transfers \(k = 1\)$/);
    assert.ok(planTopK('flexgen', 0.6, shape).achievedRatio <= 0.6);
  });

  test('over a range of lengths, the ratio is the one the counters measure over the steps', () => {
    const rng = new Rng(5);
    const d = 8;
    const first = 20;
    const last = 60;
    for (const kind of [...KINDS.filter((k) => k !== 'flexgen'), 'sparq'] as const) {
      const spec = attentionSpecFromSettings({ attention: kind, compression: 1 / 3, recipe: 'even' }, { headDim: d, firstSeqLen: first, seqLen: last });
      const policy = createAttentionPolicy(spec, { layers: 1, heads: 2, kvHeads: 1, headDim: d });
      const cache = new KvCache({ layers: 1, kvHeads: 1, headDim: d, batch: 1, storeKTransposed: true });
      const row = (): Float32Array => Float32Array.from({ length: d }, () => rng.normal());
      for (let t = 0; t < first - 1; t++) cache.append(0, 0, row(), row(), 1);
      for (let S = first; S <= last; S++) {
        cache.append(0, 0, row(), row(), 1);
        policy.attend(cache, 0, [0], Float32Array.from({ length: 2 * d }, () => rng.normal()), new Float32Array(2 * d), 2);
      }
      const measured = policy.counters.summary().ratio;
      assert.ok(measured <= 1 / 3 + 1e-12, `${kind}: measured ${measured}`);
      // The policy's own spec (SparQ's reallocation resolved: off for this GQA shape).
      assert.ok(Math.abs(measured - plannedRatio(policy.spec, { headDim: d, firstSeqLen: first, seqLen: last })) < 1e-12, kind);
      assert.ok(measured > 1 / 3 - 0.05, `${kind}: measured ${measured}, far below the target`);
      cache.dispose();
    }
  });

  test('sparqBreakEven: the first length at which SparQ moves less than dense', () => {
    const spec = { rank: 8, topK: 128 };
    const S = sparqBreakEven(spec, 64);
    assert.ok(transferRatio({ kind: 'sparq', ...spec }, S, 64) < 1);
    assert.ok(transferRatio({ kind: 'sparq', ...spec }, S - 1, 64) >= 1);
  });
});

describe('settings', () => {
  test('parseCompression accepts 1/R and decimals and names the flag', () => {
    assert.equal(parseCompression('1/8'), 0.125);
    assert.equal(parseCompression(' 0.25 '), 0.25);
    assert.equal(parseCompression('1/2.5'), 0.4);
    assert.throws(() => parseCompression('8'), /--compression expects a fraction in \(0, 1\]/);
    assert.throws(() => parseCompression('abc', '--ratio'), /--ratio expects/);
    assert.throws(() => parseCompression(''), /--compression/);
  });

  test('attentionSpecFromSettings: explicit r/k win, else every policy solved for the target', () => {
    const shape = { headDim: 64, seqLen: 1000 };
    assert.deepEqual(attentionSpecFromSettings({}, shape), { kind: 'dense' });
    assert.deepEqual(attentionSpecFromSettings({ attention: 'sparq', rank: 8, topK: 40 }, shape),
      { kind: 'sparq', rank: 8, topK: 40, localWindow: 10 });
    // r = 16: (1000 * 16 + 2 k 64 + 256) <= (128000 + 128) / 4 -> k = 123.
    assert.deepEqual(attentionSpecFromSettings({ attention: 'sparq', compression: 1 / 4, recipe: 'even', reallocation: false }, shape),
      { kind: 'sparq', rank: 16, topK: 123, localWindow: 30, reallocation: false });
    // Only k given: r solved with k held.
    assert.equal(attentionSpecFromSettings({ attention: 'sparq', topK: 64, compression: 1 / 8 }, shape).kind, 'sparq');
    // H2O: 2 k 64 + 128 + 2000 <= 128128 / 8 -> k = 108 (its score vector included); k = S/8 would be 125.
    assert.deepEqual(attentionSpecFromSettings({ attention: 'h2o', compression: 1 / 8 }, shape), { kind: 'h2o', topK: 108 });
    assert.throws(() => attentionSpecFromSettings({ attention: 'flexgen', compression: 1 / 8 }, shape), /out of reach for flexgen/);
    assert.deepEqual(attentionSpecFromSettings({ attention: 'lm-infinite', topK: 64 }, shape), { kind: 'lm-infinite', topK: 64 });
    assert.throws(() => attentionSpecFromSettings({ attention: 'sparse' }, shape), /--attention must be one of dense, sparq/);
  });
});
