// Transfers, measured: the reference kernels run on a counting head view (every K, K^T, V, mean and
// score element they touch is recorded) and what they touch must equal the one transfer model
// (src/attention/transfers.ts) over awkward shapes; the counters must add exactly the model; the
// model reproduces the known ratios of the issue (S = 4096, d = 64, k = S/8).

import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { exactTopKHead, h2oHead, lmInfiniteHead, oracleHead } from '../../src/attention/baselines.js';
import { denseAttentionHead } from '../../src/attention/dense.js';
import { cacheHeadView } from '../../src/attention/head.js';
import { type AttentionSpec, createAttentionPolicy } from '../../src/attention/policy.js';
import { sparqAttentionHead } from '../../src/attention/sparq.js';
import { TransferCounters, transferBytes, transferModel, transferRatio, transferTotal } from '../../src/attention/transfers.js';
import { Rng } from '../../src/tensor/rng.js';
import { ElementCounter, countingHeadView, filledCache } from './helpers.js';

interface Counted {
  kRead: number;
  vRead: number;
  meanRead: number;
  scoreRead: number;
  scoreWrite: number;
}

describe('the reference kernels touch what the transfer model says', () => {
  test('every policy over (S, d, group, r, k), K stored twice; SparQ also with K once', () => {
    const rng = new Rng(2);
    let cases = 0;
    for (const S of [1, 5, 33, 100]) {
      for (const d of [4, 8]) {
        for (const g of [1, 2, 4]) {
          for (const storeKTransposed of [true, false]) {
            const cache = filledCache(rng, { layers: 1, kvHeads: 1, headDim: d, lengths: [S], storeKTransposed });
            const plain = cacheHeadView(cache, 0, 0, 0);
            const q = Float32Array.from({ length: g * d }, () => rng.normal());
            const out = new Float32Array(q.length);
            for (const k of [1, 16, 200]) {
              for (const r of [1, 3, d]) {
                const specs: AttentionSpec[] = [{ kind: 'sparq', rank: r, topK: k, localWindow: k >> 2, reallocation: r !== 3 }];
                if (r === 1) {
                  specs.push({ kind: 'h2o', topK: k, localWindow: k >> 2 }, { kind: 'lm-infinite', topK: k, sinks: 4 },
                    { kind: 'flexgen', topK: k }, { kind: 'oracle', topK: k });
                  if (k === 1) specs.push({ kind: 'dense' });
                }
                for (const spec of specs) {
                  if (spec.kind !== 'sparq' && !storeKTransposed) continue;
                  const c = countingHeadView(plain);
                  const scores = new ElementCounter(S);
                  switch (spec.kind) {
                    case 'dense': denseAttentionHead(c.view, q, 0, g, out, 0); break;
                    case 'sparq': sparqAttentionHead(c.view, q, 0, g, { ...spec, reallocation: spec.reallocation ?? true }, out, 0); break;
                    case 'h2o': {
                      // A used score vector (no evictions yet).
                      const state = Float32Array.from({ length: S }, () => rng.uniform());
                      h2oHead(c.view, scores.wrap(state), q, 0, g, spec.topK, spec.localWindow ?? 0, out, 0);
                      break;
                    }
                    case 'lm-infinite': lmInfiniteHead(c.view, q, 0, g, spec.topK, spec.sinks ?? 0, out, 0); break;
                    case 'flexgen': exactTopKHead(c.view, q, 0, g, spec.topK, out, 0); break;
                    case 'oracle': oracleHead(plain, c.view, q, 0, g, spec.topK, out, 0); break;
                  }
                  const counted: Counted = {
                    kRead: c.keys.reads + c.keysT.reads, vRead: c.values.reads, meanRead: c.mean.reads,
                    scoreRead: scores.reads, scoreWrite: scores.writes,
                  };
                  const m = transferModel(spec, S, d);
                  const want: Counted = { kRead: m.kRead, vRead: m.vRead, meanRead: m.meanRead, scoreRead: m.scoreRead, scoreWrite: m.scoreWrite };
                  if (spec.kind === 'sparq' && !storeKTransposed) {
                    // K once: step 1 reads r components of every row, step 2 whole selected rows, so the
                    // r components of the k selected rows are read twice; the model counts both reads.
                    want.kRead -= Math.min(spec.topK, S) * Math.min(spec.rank, d);
                  }
                  assert.deepEqual(counted, want, `${JSON.stringify(spec)} S=${S} d=${d} g=${g} K twice ${storeKTransposed}`);
                  assert.equal(c.keys.writes + c.values.writes + c.keysT.writes + c.mean.writes, 0, 'the kernels write no cache element');
                  cases++;
                }
              }
            }
            cache.dispose();
          }
        }
      }
    }
    assert.ok(cases > 300, `${cases} cases`);
  });

  test("a decode step's append writes d K, d V and d mean elements (the model's writes)", () => {
    const rng = new Rng(3);
    const d = 8;
    const cache = filledCache(rng, { layers: 1, kvHeads: 1, headDim: d, lengths: [20], storeKTransposed: true });
    const before = cache.head(0, 0, 0).data.slice();
    cache.append(0, 0, Float32Array.from({ length: d }, () => rng.normal()), Float32Array.from({ length: d }, () => rng.normal()), 1);
    const b = cache.head(0, 0, 0);
    // Offsets are bytes; this f32 cache's elements are floats.
    const changed = (fromByte: number, toByte: number): number => {
      let n = 0;
      for (let i = fromByte / 4; i < toByte / 4; i++) if (b.data[i] !== before[i]) n++;
      return n;
    };
    const m = transferModel({ kind: 'sparq', rank: 1, topK: 1 }, 21, d);
    assert.equal(changed(b.keyOffset, b.keyOffset + b.capacity * d * 4), m.kWrite);
    assert.equal(changed(b.valueOffset, b.valueOffset + b.capacity * d * 4), m.vWrite);
    assert.equal(changed(b.meanOffset, b.meanOffset + d * 4), m.meanWrite);
    cache.dispose();
  });
});

describe('counters', () => {
  test('add exactly the model per (sequence, KV head) step, GQA counted once per KV head', () => {
    const rng = new Rng(8);
    const d = 8;
    const lengths = [50, 7];
    const cache = filledCache(rng, { layers: 2, kvHeads: 2, headDim: d, lengths, storeKTransposed: true });
    const specs: AttentionSpec[] = [
      { kind: 'dense' }, { kind: 'sparq', rank: 2, topK: 10, localWindow: 2, reallocation: false }, { kind: 'h2o', topK: 9 },
      { kind: 'lm-infinite', topK: 9 }, { kind: 'flexgen', topK: 9 }, { kind: 'oracle', topK: 9 },
    ];
    for (const spec of specs) {
      const policy = createAttentionPolicy(spec, { layers: 2, heads: 4, kvHeads: 2, headDim: d });
      const q = Float32Array.from({ length: 2 * 4 * d }, () => rng.normal());
      for (const layer of [0, 1]) policy.attend(cache, layer, [0, 1], q, new Float32Array(q.length), 4);
      const perHead = lengths.reduce((n, S) => n + transferTotal(transferModel(spec, S, d)), 0);
      const densePerHead = lengths.reduce((n, S) => n + transferTotal(transferModel({ kind: 'dense' }, S, d)), 0);
      const c = policy.counters.get(1, 1);
      assert.equal(c.total, perHead, spec.kind);
      assert.equal(c.dense, densePerHead);
      assert.equal(c.kTransposedWrite, 2 * d);
      const s = policy.counters.summary();
      assert.equal(s.steps, 2); // two sequences, one step each
      assert.equal(s.totalPerStep, (2 * 2 * perHead) / 2);
      assert.ok(Math.abs(s.ratio - perHead / densePerHead) < 1e-12);
    }
  });

  test('bytes follow the cache counted: K and V at 2 bytes in an f16 cache, 4 in f32; mean and scores f32', () => {
    const d = 8;
    const lengths = [50, 7];
    const specs: AttentionSpec[] = [
      { kind: 'dense' }, { kind: 'sparq', rank: 2, topK: 10, localWindow: 2, reallocation: true }, { kind: 'h2o', topK: 9 },
    ];
    for (const spec of specs) {
      // One policy serves an f32 and an f16 cache in turn: each call counts at its cache's element size.
      const policy = createAttentionPolicy(spec, { layers: 1, heads: 2, kvHeads: 2, headDim: d });
      const q = Float32Array.from({ length: 2 * 2 * d }, (_, i) => Math.sin(i));
      const want = { f32: 0, f16: 0 };
      let denseWant = 0;
      for (const dtype of ['f32', 'f16'] as const) {
        const cache = filledCache(new Rng(3), { layers: 1, kvHeads: 2, headDim: d, lengths, storeKTransposed: true, dtype });
        policy.attend(cache, 0, [0, 1], q, new Float32Array(q.length), 2);
        const e = cache.elementBytes;
        for (const S of lengths) {
          want[dtype] += 2 * transferBytes(transferModel(spec, S, d), e);
          denseWant += 2 * transferBytes(transferModel({ kind: 'dense' }, S, d), e);
        }
        cache.dispose();
      }
      const all = policy.counters.get();
      assert.equal(all.totalBytes, want.f32 + want.f16, spec.kind);
      assert.equal(all.denseBytes, denseWant);
      // Elements do not depend on the dtype: both calls count the same.
      assert.equal(all.total, 2 * lengths.reduce((n, S) => n + 2 * transferTotal(transferModel(spec, S, d)), 0));
      // The f16 half of the bytes is below the f32 half by the K/V elements' 2 bytes each.
      const model = transferModel(spec, 50, d);
      const kv = model.kRead + model.vRead + model.kWrite + model.vWrite;
      assert.equal(transferBytes(model, 4) - transferBytes(model, 2), 2 * kv);
    }
  });

  test('rejects out-of-range slots', () => {
    const c = new TransferCounters(2, 3);
    assert.throws(() => c.add(2, 0, 'kRead', 1), /layer 2 out of range/);
    assert.throws(() => c.add(0, 3, 'kRead', 1), /kvHead 3 out of range/);
  });
});

describe('known ratios', () => {
  test('S = 4096, d = 64, k = S/8: FlexGen 56.3%, H2O 14.1%; SparQ r = 16, k = 128: 15.7% (the issue)', () => {
    const pct = (spec: Parameters<typeof transferRatio>[0]): string => (100 * transferRatio(spec, 4096, 64)).toFixed(1);
    assert.equal(pct({ kind: 'flexgen', topK: 512 }), '56.3');
    assert.equal(pct({ kind: 'h2o', topK: 512 }), '14.1');
    assert.equal(pct({ kind: 'sparq', rank: 16, topK: 128 }), '15.7');
    assert.equal(pct({ kind: 'dense' }), '100.0');
  });
});
