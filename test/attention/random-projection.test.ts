// The key-compression ablation's random-projection policy: its projection (seeded, N(0, 1/r)), a
// literal implementation of what it computes (project q and K, softmax, local window + top-k,
// exact attention, reallocation), dense when nothing is dropped, the policy over decode steps
// (projected keys caught up as the cache grows, reset), the planner, and the wasm kernels saying
// they lack it (the Generator then runs it on the reference kernels and says so).

import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { denseAttentionHead } from '../../src/attention/dense.js';
import { cacheHeadView } from '../../src/attention/head.js';
import { attentionSpecFromSettings, planCompression, plannedRatio } from '../../src/attention/planner.js';
import { createAttentionPolicy } from '../../src/attention/policy.js';
import { RandomProjectionAttention } from '../../src/attention/policies.js';
import { ProjectedKeyState, randomProjectionHead, randomProjectionMatrix } from '../../src/attention/random-projection.js';
import { transferModel, transferTotal } from '../../src/attention/transfers.js';
import { WasmAttention } from '../../src/backend/wasm/attention.js';
import { Rng } from '../../src/tensor/rng.js';
import { ElementCounter, countingHeadView, filledCache, maxAbsDiff, sortedTop, softmax } from './helpers.js';

/** What the policy computes, written out with full sorts from the policy's description. */
function literal(K: number[][], V: number[][], Q: number[][], P: Float32Array, r: number, k: number, l: number, reallocation: boolean): number[][] {
  const S = K.length;
  const d = K[0]!.length;
  const project = (x: number[]): number[] => Array.from({ length: r }, (_, c) => x.reduce((s, xj, j) => s + xj * P[j * r + c]!, 0));
  const pk = K.map(project);
  const shat = Q.map((q) => {
    const pq = project(q);
    return softmax(pk.map((row) => row.reduce((s, x, c) => s + x * pq[c]!, 0) / Math.sqrt(d)));
  });
  const summed = Array.from({ length: S }, (_, i) => shat.reduce((s, row) => s + row[i]!, 0));
  const kk = Math.min(k, S);
  const lw = Math.min(l, k, S);
  const local = Array.from({ length: S }, (_, i) => i).filter((i) => i >= S - lw);
  const rest = sortedTop(summed, Array.from({ length: S - lw }, (_, i) => i), kk - local.length);
  const selected = [...rest, ...local].sort((a, b) => a - b);
  const mean = Array.from({ length: d }, (_, c) => V.reduce((s, v) => s + v[c]!, 0) / S);
  return Q.map((q, h) => {
    const alpha = reallocation ? Math.min(1, selected.reduce((s, i) => s + shat[h]![i]!, 0)) : 1;
    const w = softmax(selected.map((i) => q.reduce((s, qc, c) => s + qc * K[i]![c]!, 0) / Math.sqrt(d)));
    return Array.from({ length: d }, (_, c) => alpha * selected.reduce((s, i, j) => s + w[j]! * V[i]![c]!, 0) + (alpha < 1 ? (1 - alpha) * mean[c]! : 0));
  });
}

function rowsOf(data: Float32Array, rows: number, cols: number): number[][] {
  return Array.from({ length: rows }, (_, i) => Array.from(data.subarray(i * cols, (i + 1) * cols)));
}

describe('the projection', () => {
  test('is seeded, d x r, with entries of mean 0 and variance 1/r', () => {
    const a = randomProjectionMatrix(64, 16, 5);
    assert.equal(a.length, 64 * 16);
    assert.deepEqual(a, randomProjectionMatrix(64, 16, 5));
    assert.notDeepEqual(a, randomProjectionMatrix(64, 16, 6));
    const mean = a.reduce((s, x) => s + x, 0) / a.length;
    const variance = a.reduce((s, x) => s + (x - mean) ** 2, 0) / a.length;
    assert.ok(Math.abs(mean) < 0.02, `mean ${mean}`);
    assert.ok(Math.abs(variance * 16 - 1) < 0.1, `variance ${variance} vs 1/16`);
    assert.throws(() => randomProjectionMatrix(64, 0, 1), /rank must be a positive integer/);
  });

  test('(P^T q) . (P^T k) estimates q . k: averaged over seeds, within a few percent', () => {
    const rng = new Rng(3);
    const d = 32;
    const q = Array.from({ length: d }, () => rng.normal());
    const k = q.map((x) => x + 0.5 * rng.normal());
    const exact = q.reduce((s, x, j) => s + x * k[j]!, 0);
    let sum = 0;
    const seeds = 400;
    for (let seed = 0; seed < seeds; seed++) {
      const P = randomProjectionMatrix(d, 8, seed);
      const pq = Array.from({ length: 8 }, (_, c) => q.reduce((s, x, j) => s + x * P[j * 8 + c]!, 0));
      const pk = Array.from({ length: 8 }, (_, c) => k.reduce((s, x, j) => s + x * P[j * 8 + c]!, 0));
      sum += pq.reduce((s, x, c) => s + x * pk[c]!, 0);
    }
    assert.ok(Math.abs(sum / seeds - exact) < 0.1 * Math.abs(exact), `mean estimate ${sum / seeds} vs ${exact}`);
  });
});

describe('the reference kernel', () => {
  test('matches the literal implementation over shapes, ranks, k, windows, GQA groups, reallocation', () => {
    const rng = new Rng(7);
    let cases = 0;
    for (const S of [1, 5, 33, 100]) {
      for (const d of [4, 8, 16]) {
        for (const g of [1, 2, 4]) {
          const cache = filledCache(rng, { layers: 1, kvHeads: 1, headDim: d, lengths: [S] });
          const view = cacheHeadView(cache, 0, 0, 0);
          const block = cache.head(0, 0, 0);
          const K = rowsOf(view.keys, S, d);
          const V = rowsOf(view.values, S, d);
          const q = Float32Array.from({ length: g * d }, () => rng.normal() * 1.5);
          const Q = rowsOf(q, g, d);
          for (const r of [1, 3, d]) {
            const P = randomProjectionMatrix(d, r, S + d + r);
            const state = new ProjectedKeyState(r);
            state.update(block, P);
            for (const [k, l, reallocation] of [[1, 0, true], [4, 1, false], [16, 4, true], [200, 8, true]] as const) {
              const out = new Float32Array(g * d);
              randomProjectionHead(view, { data: state.data, stride: state.capacity }, P, q, 0, g, { rank: r, topK: k, localWindow: l, reallocation }, out, 0);
              const want = literal(K, V, Q, P, r, k, l, reallocation);
              const err = maxAbsDiff(out, Float32Array.from(want.flat()));
              assert.ok(err < 1e-4, `S=${S} d=${d} g=${g} r=${r} k=${k} l=${l}: max error ${err}`);
              cases++;
            }
          }
          cache.dispose();
        }
      }
    }
    assert.ok(cases > 400);
  });

  test('k >= S without reallocation is dense attention, whatever the projection', () => {
    const rng = new Rng(11);
    for (const [S, d, g] of [[1, 8, 1], [17, 8, 2], [64, 16, 4]] as const) {
      const cache = filledCache(rng, { layers: 1, kvHeads: 1, headDim: d, lengths: [S] });
      const view = cacheHeadView(cache, 0, 0, 0);
      const q = Float32Array.from({ length: g * d }, () => rng.normal());
      const P = randomProjectionMatrix(d, 2, 1);
      const state = new ProjectedKeyState(2);
      state.update(cache.head(0, 0, 0), P);
      const got = new Float32Array(g * d);
      const dense = new Float32Array(g * d);
      randomProjectionHead(view, { data: state.data, stride: state.capacity }, P, q, 0, g, { rank: 2, topK: S, localWindow: 1, reallocation: false }, got, 0);
      denseAttentionHead(view, q, 0, g, dense, 0);
      assert.ok(maxAbsDiff(got, dense) < 1e-5, `S=${S}`);
      cache.dispose();
    }
  });

  test('touches what the transfer model says: S r projected, k rows of K and V, the mean with reallocation', () => {
    const rng = new Rng(12);
    for (const S of [1, 9, 50]) {
      for (const [d, r, k, reallocation] of [[8, 1, 1, true], [8, 3, 4, false], [16, 16, 200, true]] as const) {
        const cache = filledCache(rng, { layers: 1, kvHeads: 1, headDim: d, lengths: [S] });
        const c = countingHeadView(cacheHeadView(cache, 0, 0, 0));
        const P = randomProjectionMatrix(d, r, 2);
        const state = new ProjectedKeyState(r);
        state.update(cache.head(0, 0, 0), P);
        const projected = new ElementCounter(state.data.length);
        const q = Float32Array.from({ length: 2 * d }, () => rng.normal());
        randomProjectionHead(c.view, { data: projected.wrap(state.data), stride: state.capacity }, P, q, 0, 2, { rank: r, topK: k, localWindow: 1, reallocation }, new Float32Array(2 * d), 0);
        const m = transferModel({ kind: 'random-projection', rank: r, topK: k, reallocation }, S, d);
        assert.equal(projected.reads + c.keys.reads + c.keysT.reads, m.kRead, `K traffic S=${S} r=${r} k=${k}`);
        assert.equal(c.values.reads, m.vRead);
        assert.equal(c.mean.reads, m.meanRead);
        assert.equal(projected.writes + c.keys.writes + c.values.writes, 0, 'the kernel writes nothing');
        // The model: S r + r + 2 k d + 4 d with reallocation (the new key's projection is the + r).
        const kk = Math.min(k, S);
        assert.equal(transferTotal(m), S * r + r + 2 * kk * d + 2 * d + (reallocation ? 2 * d : 0));
        cache.dispose();
      }
    }
  });
});

describe('the policy', () => {
  test('over decode steps: equals the head function on the cache, projects each new key once, counts the model, resets', () => {
    const rng = new Rng(21);
    const shape = { layers: 2, heads: 4, kvHeads: 2, headDim: 8 };
    const policy = createAttentionPolicy({ kind: 'random-projection', rank: 3, topK: 6, localWindow: 2, seed: 9 }, shape);
    assert.ok(policy instanceof RandomProjectionAttention);
    assert.equal(policy.spec.kind, 'random-projection');
    assert.deepEqual(policy.projection, randomProjectionMatrix(8, 3, 9));
    const cache = filledCache(rng, { layers: 2, kvHeads: 2, headDim: 8, lengths: [5, 12] });
    let total = 0;
    for (let step = 0; step < 4; step++) {
      const q = Float32Array.from({ length: 2 * 4 * 8 }, () => rng.normal());
      const out = new Float32Array(q.length);
      for (let layer = 0; layer < 2; layer++) {
        policy.attend(cache, layer, [0, 1], q, out, 4);
        for (const [s, seq] of [0, 1].entries()) {
          for (let h = 0; h < 2; h++) {
            const view = cacheHeadView(cache, layer, seq, h);
            // The projection of the cache's keys from scratch gives the same output.
            const fresh = new ProjectedKeyState(3);
            fresh.update(cache.head(layer, seq, h), policy.projection);
            const want = new Float32Array(2 * 8);
            randomProjectionHead(view, { data: fresh.data, stride: fresh.capacity }, policy.projection, q, (s * 4 + h * 2) * 8, 2,
              { rank: 3, topK: 6, localWindow: 2, reallocation: false }, want, 0);
            assert.ok(maxAbsDiff(out.subarray((s * 4 + h * 2) * 8, (s * 4 + h * 2 + 2) * 8), want) < 1e-6, `step ${step} layer ${layer} seq ${seq} head ${h}`);
            total += transferTotal(transferModel(policy.spec, view.length, 8));
          }
        }
      }
      // One more position for every sequence and layer (the next decode step's K/V).
      for (let layer = 0; layer < 2; layer++) {
        for (const seq of [0, 1]) cache.append(layer, seq, Float32Array.from({ length: 16 }, () => rng.normal()), Float32Array.from({ length: 16 }, () => rng.normal()), 1);
      }
    }
    assert.equal(policy.counters.get().total, total);
    policy.reset?.();
    cache.dispose();
  });

  test('refuses bad settings and kernels without the kernel; GQA turns reallocation off by default', () => {
    const shape = { layers: 1, heads: 4, kvHeads: 1, headDim: 8 };
    assert.throws(() => createAttentionPolicy({ kind: 'random-projection', rank: 0, topK: 4, localWindow: 1 }, shape), /random-projection: rank must be a positive integer/);
    assert.throws(() => createAttentionPolicy({ kind: 'random-projection', rank: 2, topK: 4, localWindow: -1 }, shape), /localWindow must be a non-negative integer/);
    const gqa = createAttentionPolicy({ kind: 'random-projection', rank: 99, topK: 4, localWindow: 9 }, shape) as RandomProjectionAttention;
    assert.deepEqual({ rank: gqa.spec.rank, localWindow: gqa.spec.localWindow, reallocation: gqa.spec.reallocation }, { rank: 8, localWindow: 4, reallocation: false });
    // The wasm kernels' own methods, without starting wasm (name is an instance field).
    const picky = Object.assign(Object.create(WasmAttention.prototype) as WasmAttention, { name: 'wasm' });
    assert.equal(WasmAttention.supports(64), true);
    assert.equal(WasmAttention.supports(64, 'random-projection'), false, 'the wasm backend says it has no kernel for it');
    assert.equal(WasmAttention.supports(64, 'sparq'), true);
    assert.throws(() => picky.randomProjection(), /the wasm kernels have no random-projection kernel/);
    assert.throws(() => new RandomProjectionAttention({ rank: 2, topK: 4, localWindow: 1 }, shape, { kernels: picky }), /the wasm attention kernels have no random-projection kernel; use the reference kernels/);
  });

  test('the planner solves r (paper recipe) or k (even) on its own transfer model, and --attention random-projection plans it', () => {
    const shape = { headDim: 64, seqLen: 2048, firstSeqLen: 1900 };
    const plan = planCompression(1 / 8, shape, 'paper', 'random-projection');
    assert.equal(plan.topK, 128);
    assert.ok(plan.achievedRatio <= 1 / 8 + 1e-12);
    assert.ok(plannedRatio({ kind: 'random-projection', rank: plan.rank + 1, topK: 128 }, shape) > 1 / 8, 'r is the largest within the target');
    const sparq = planCompression(1 / 8, shape, 'paper');
    assert.ok(plan.rank <= sparq.rank, 'the projection write costs r more a step than SparQ');
    const spec = attentionSpecFromSettings({ attention: 'random-projection', compression: 1 / 8 }, shape);
    assert.deepEqual(spec, { kind: 'random-projection', rank: plan.rank, topK: 128, localWindow: 32 });
    const even = attentionSpecFromSettings({ attention: 'random-projection', compression: 1 / 4, recipe: 'even' }, shape);
    assert.equal(even.kind === 'random-projection' ? even.rank : 0, 16);
  });
});
