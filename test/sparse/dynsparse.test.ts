// The prune-and-regrow controller: schedule values, the learning-rate rule, the invariants of an
// update (active count constant, no regrowth into positions active before the update, the smallest
// Lp norms pruned, RigL regrows by the dense gradient), re-indexing of values and Adam moments
// (kept blocks move, new ones are zero), telemetry, and controller state for resuming.

import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { backward } from '../../src/autograd/engine.js';
import { mseLoss } from '../../src/autograd/ops/loss.js';
import { blockNorms, BlockSparsePattern } from '../../src/nn/block-sparse.js';
import { blockSparseLayout } from '../../src/nn/block-sparse-layout.js';
import { Linear } from '../../src/nn/layers.js';
import { Module } from '../../src/nn/module.js';
import { Adam, AdamW } from '../../src/optim/adam.js';
import { LAMB } from '../../src/optim/lamb.js';
import { Rng } from '../../src/tensor/rng.js';
import { randn, Tensor } from '../../src/tensor/tensor.js';
import {
  checkPruneSchedule, DynSparseController, pruneAndRegrow, pruneFraction, reindexBlocks, reindexOptimizerState,
  sparseLearningRate, sparseWeightsOf, updateIndex,
} from '../../src/train/dynsparse.js';

describe('schedules', () => {
  test('learning-rate rule: eta(0.9) is about 6.4 eta(0); eta(0) = eta(0); s outside [0, 1) is an error', () => {
    assert.ok(Math.abs(sparseLearningRate(1, 0.9) - 6.40) < 0.01, String(sparseLearningRate(1, 0.9)));
    assert.equal(sparseLearningRate(1e-3, 0), 1e-3);
    assert.ok(Math.abs(sparseLearningRate(2, 0.5) - 2 * Math.exp(1.969 * 0.25 + 0.2905 * 0.5)) < 1e-12);
    assert.throws(() => sparseLearningRate(1, 1), /sparsity must be in \[0, 1\), got 1/);
    assert.throws(() => sparseLearningRate(1, -0.1), /sparsity must be in \[0, 1\)/);
  });

  test('cosine prune fraction: pr at 0, pr/2 at T/2, 0 at T', () => {
    const s = { totalSteps: 1000, updates: 160, pruneRatio: 0.5 };
    assert.equal(pruneFraction(0, s), 0.5);
    assert.ok(Math.abs(pruneFraction(500, s) - 0.25) < 1e-15);
    assert.ok(Math.abs(pruneFraction(1000, s)) < 1e-15);
    assert.ok(Math.abs(pruneFraction(250, s) - (0.5 * (1 + Math.SQRT1_2)) / 2) < 1e-15);
  });

  test('updates every T/n steps: n - 1 of them, at round(k T / n)', () => {
    const s = { totalSteps: 1000, updates: 160, pruneRatio: 0.5 };
    const steps: number[] = [];
    for (let t = 0; t <= 1000; t++) if (updateIndex(t, s) > 0) steps.push(t);
    assert.equal(steps.length, 159);
    assert.deepEqual(steps.slice(0, 4), [6, 13, 19, 25]);
    assert.equal(updateIndex(13, s), 2);
    const every = { totalSteps: 10, updates: 10, pruneRatio: 0.5 };
    assert.deepEqual([...Array(11).keys()].filter((t) => updateIndex(t, every) > 0), [1, 2, 3, 4, 5, 6, 7, 8, 9]);
    assert.throws(() => checkPruneSchedule({ totalSteps: 100, updates: 160, pruneRatio: 0.5 }), /160 updates do not fit in 100 steps/);
    assert.throws(() => checkPruneSchedule({ totalSteps: 100, updates: 10, pruneRatio: 1.5 }), /prune ratio must be in \[0, 1\]/);
  });
});

describe('pruneAndRegrow', () => {
  test('Lp block norms', () => {
    const v = Float32Array.from([1, -2, 2, 0, /**/ 0, 0, 0, -3]);
    assert.deepEqual([...blockNorms(v, 4, 1)], [5, 3]);
    assert.deepEqual([...blockNorms(v, 4, 2)], [3, 3]);
    assert.deepEqual([...blockNorms(v, 4, Infinity)], [2, 3]);
    assert.ok(Math.abs(blockNorms(v, 4, 3)[0]! - Math.cbrt(17)) < 1e-12);
  });

  for (const block of [1, 4, 16]) {
    test(`b${block}: the smallest-norm blocks go, the count stays, regrowth avoids positions active before, values move`, () => {
      const rng = new Rng(block);
      const pattern = BlockSparsePattern.random(64, 32, block, block === 16 ? 3 : 20, rng);
      const bb = block * block;
      const active = pattern.activeBlocks;
      for (let round = 0; round < 12; round++) {
        const values = Float32Array.from({ length: active * bb }, () => rng.normal());
        const before = pattern.mask();
        const denseBefore = pattern.toDense(values);
        const norms = blockNorms(values, bb);
        const result = pruneAndRegrow({ pattern, values, fraction: 0.5, regrow: 'random', rng });
        const expected = Math.min(Math.round(0.5 * active), pattern.totalBlocks - active);
        assert.equal(pattern.activeBlocks, active);
        assert.equal(result.pruned.length, expected);
        assert.equal(result.regrown.length, expected);
        // Pruned = the smallest L1 norms.
        const sorted = [...norms].sort((a, b) => a - b);
        const oldPositions = BlockSparsePattern.fromMask(64, 32, block, before).positions();
        const prunedNorms = [...result.pruned].map((p) => norms[oldPositions.indexOf(p)]!).sort((a, b) => a - b);
        assert.deepEqual(prunedNorms, sorted.slice(0, expected));
        // Regrown positions were all inactive before the update (so no just-pruned block comes back).
        for (const p of result.regrown) assert.equal(before[p], 0, `position ${p} regrown but was active`);
        const after = pattern.mask();
        for (const p of result.pruned) assert.equal(after[p], 0);
        // Re-indexed values: kept blocks unchanged in the dense view, regrown blocks zero.
        reindexBlocks(values, result.remap, bb);
        const denseAfter = pattern.toDense(values);
        const keep = new Uint8Array(pattern.totalBlocks);
        for (let p = 0; p < keep.length; p++) keep[p] = before[p]! & after[p]!;
        for (let i = 0; i < 64; i++) {
          for (let j = 0; j < 32; j++) {
            const p = Math.floor(i / block) * pattern.blockCols + Math.floor(j / block);
            assert.equal(denseAfter[i * 32 + j], keep[p] ? denseBefore[i * 32 + j] : 0);
          }
        }
      }
    });
  }

  test('gradient regrowth (RigL) picks the inactive blocks with the largest pooled |dL/dW|', () => {
    const pattern = BlockSparsePattern.fromMask(8, 8, 4, Uint8Array.from([1, 1, 0, 0]));
    const values = Float32Array.from({ length: 32 }, (_, i) => (i < 16 ? 0.01 : 1));
    const grad = new Float32Array(64);
    // Block (1, 1) gets the larger gradient mass, block (1, 0) a smaller one.
    for (let i = 4; i < 8; i++) for (let j = 0; j < 8; j++) grad[i * 8 + j] = j < 4 ? 0.1 : -0.5;
    const r = pruneAndRegrow({ pattern, values, fraction: 0.5, regrow: 'gradient', rng: new Rng(1), denseGradient: grad });
    assert.deepEqual([...r.pruned], [0]);
    assert.deepEqual([...r.regrown], [3]);
    assert.deepEqual([...pattern.positions()], [1, 3]);
    assert.deepEqual([...r.remap], [1, -1]);
    assert.throws(() => pruneAndRegrow({ pattern, values, fraction: 0.5, regrow: 'gradient', rng: new Rng(1) }), /needs the dense gradient \[8, 8\]/);
  });

  test('ties and NaN norms: equal norms go lowest slot first, NaN ranks as +Infinity', () => {
    // 1x1 blocks: norms |v| = [NaN, 0, 1, 0, 0, NaN, 0.5, 0]; 4 pruned = the zeros at slots 1, 3, 4, 7.
    const mask = new Uint8Array(16);
    for (const p of [0, 1, 2, 3, 8, 9, 10, 11]) mask[p] = 1;
    const pattern = BlockSparsePattern.fromMask(4, 4, 1, mask);
    const values = Float32Array.from([NaN, 0, 1, 0, -0, NaN, 0.5, 0]);
    const r = pruneAndRegrow({ pattern, values, fraction: 0.5, regrow: 'random', rng: new Rng(5) });
    assert.deepEqual([...r.pruned], [1, 3, 8, 11]);
    // 7 of 8 pruned: the zeros, 0.5 and 1, then the first NaN (slot 0 = position 0).
    const p2 = BlockSparsePattern.fromMask(4, 4, 1, mask);
    const r2 = pruneAndRegrow({ pattern: p2, values: Float32Array.from([NaN, 0, 1, 0, -0, NaN, 0.5, 0]), fraction: 7 / 8, regrow: 'random', rng: new Rng(5) });
    assert.deepEqual([...r2.pruned].sort((a, b) => a - b), [0, 1, 2, 3, 8, 10, 11]);
  });

  test('reindexBlocks: kept blocks move, new blocks are zero, any block size and element type', () => {
    for (const blockElems of [1, 4, 16, 64]) {
      for (const make of [(n: number) => new Float32Array(n), (n: number) => new Float64Array(n)]) {
        const remap = Int32Array.from([2, -1, 3, -1, 4, 5]);
        const data = make(7 * blockElems);
        for (let i = 0; i < data.length; i++) data[i] = i + 1;
        const old = data.slice();
        reindexBlocks(data, remap, blockElems);
        for (let j = 0; j < remap.length; j++) {
          for (let e = 0; e < blockElems; e++) {
            assert.equal(data[j * blockElems + e], remap[j]! < 0 ? 0 : old[remap[j]! * blockElems + e], `b ${blockElems} block ${j}`);
          }
        }
        // Past the remapped blocks nothing changes.
        assert.equal(data[6 * blockElems], old[6 * blockElems]);
      }
    }
    // An arbitrary order works too.
    const d = Float32Array.from([10, 20, 30]);
    reindexBlocks(d, Int32Array.from([2, 0, -1]), 1);
    assert.deepEqual([...d], [30, 10, 0]);
  });

  test('replaceBlocks equals the pattern rebuilt from its mask, with the old slot of every kept block', () => {
    const rng = new Rng(17);
    for (const [rows, cols, block] of [[64, 32, 1], [32, 600, 1], [64, 64, 4], [48, 16, 16]] as const) {
      const total = (rows / block) * (cols / block);
      const pattern = BlockSparsePattern.random(rows, cols, block, Math.max(2, Math.round(0.3 * total)), rng);
      for (let round = 0; round < 5; round++) {
        const active = pattern.activeBlocks;
        const oldPositions = pattern.positions();
        const mask = pattern.mask();
        const count = Math.max(1, Math.floor(active / 3));
        const slots = Int32Array.from(rng.permutation(active).subarray(0, count));
        const free: number[] = [];
        for (let p = 0; p < total; p++) if (!mask[p]) free.push(p);
        rng.shuffle(free);
        const regrown = Int32Array.from(free.slice(0, count));
        for (const k of slots) mask[oldPositions[k]!] = 0;
        for (const p of regrown) mask[p] = 1;
        const remap = pattern.replaceBlocks(slots, regrown);
        const want = BlockSparsePattern.fromMask(rows, cols, block, mask);
        assert.deepEqual([...pattern.rowPtr], [...want.rowPtr]);
        assert.deepEqual([...pattern.colIdx], [...want.colIdx]);
        const newPositions = pattern.positions();
        const regrownSet = new Set(regrown);
        for (let j = 0; j < active; j++) {
          if (regrownSet.has(newPositions[j]!)) assert.equal(remap[j], -1);
          else assert.equal(oldPositions[remap[j]!], newPositions[j]);
        }
      }
    }
  });

  test('replaceBlocks rejects inconsistent updates and leaves the pattern as it was', () => {
    const mask = Uint8Array.from([1, 1, 0, 0, /**/ 0, 1, 0, 0]);
    const pattern = BlockSparsePattern.fromMask(2, 4, 1, mask);
    const snapshot = (): string => `${[...pattern.rowPtr]}|${[...pattern.colIdx]}`;
    const before = snapshot();
    assert.throws(() => pattern.replaceBlocks(Int32Array.from([0]), Int32Array.from([2, 3])), /1 blocks pruned, 2 regrown/);
    assert.throws(() => pattern.replaceBlocks(Int32Array.from([0]), Int32Array.from([5])), /position 5 would be active twice/);
    assert.throws(() => pattern.replaceBlocks(Int32Array.from([0, 1]), Int32Array.from([6, 6])), /position 6 would be active twice/);
    assert.throws(() => pattern.replaceBlocks(Int32Array.from([3]), Int32Array.from([2])), /pruned slot 3 is out of range/);
    assert.throws(() => pattern.replaceBlocks(Int32Array.from([0]), Int32Array.from([8])), /outside the 2 x 4 block grid/);
    assert.equal(snapshot(), before);
    assert.deepEqual([...pattern.replaceBlocks(Int32Array.from([1]), Int32Array.from([7]))], [0, 2, -1]);
    assert.deepEqual([...pattern.positions()], [0, 5, 7]);
  });

  test('at density above 1/2 the prune count is capped by the free positions', () => {
    const pattern = BlockSparsePattern.random(4, 4, 1, 14, new Rng(2));
    const r = pruneAndRegrow({ pattern, values: Float32Array.from({ length: 14 }, (_, i) => i), fraction: 0.5, regrow: 'random', rng: new Rng(3) });
    assert.equal(r.pruned.length, 2);
    assert.equal(pattern.activeBlocks, 14);
  });
});

class TwoLayers extends Module {
  readonly a: Linear;
  readonly b: Linear;
  constructor(rng: Rng, block: number) {
    super();
    this.a = this.module('a', new Linear(16, 32, { layout: blockSparseLayout({ block, density: 0.25 }), rng }));
    this.b = this.module('b', new Linear(32, 8, { layout: blockSparseLayout({ block, density: 0.25 }), rng }));
  }
  forward(x: Tensor): Tensor {
    return this.b.forward(this.a.forward(x));
  }
}

describe('optimizer state re-indexing', () => {
  for (const [name, make] of [
    ['Adam', (m: Module) => new Adam(m.namedParameters(), { lr: 1e-2 })],
    ['AdamW', (m: Module) => new AdamW(m.namedParameters(), { lr: 1e-2, weightDecay: 0.01 })],
    ['LAMB', (m: Module) => new LAMB(m.namedParameters(), { lr: 1e-2 })],
  ] as const) {
    test(`${name}: kept blocks keep their moments, new blocks start at zero`, () => {
      const rng = new Rng(4);
      const model = new TwoLayers(rng, 4);
      const opt = make(model);
      const x = randn([6, 16], rng);
      backward(mseLoss(model.forward(x), randn([6, 8], rng)));
      opt.step();
      const [w] = sparseWeightsOf(model);
      const state = opt.stateDict({ copy: true });
      const m0 = state.tensors.get(`exp_avg.${w!.name}`)!.data;
      const v0 = state.tensors.get(`exp_avg_sq.${w!.name}`)!.data;
      const r = pruneAndRegrow({ pattern: w!.pattern, values: w!.values.data as Float32Array, fraction: 0.5, regrow: 'random', rng });
      assert.equal(reindexOptimizerState(opt, w!.name, r.remap, 16), 2);
      const live = opt.stateDict();
      const m1 = live.tensors.get(`exp_avg.${w!.name}`)!.data;
      const v1 = live.tensors.get(`exp_avg_sq.${w!.name}`)!.data;
      let zeroed = 0;
      for (let j = 0; j < r.remap.length; j++) {
        for (let e = 0; e < 16; e++) {
          const from = r.remap[j]!;
          assert.equal(m1[j * 16 + e], from < 0 ? 0 : m0[from * 16 + e]);
          assert.equal(v1[j * 16 + e], from < 0 ? 0 : v0[from * 16 + e]);
        }
        if (r.remap[j]! < 0) zeroed++;
      }
      assert.equal(zeroed, r.regrown.length);
      assert.ok(zeroed > 0);
      // The other weight's state is untouched.
      const other = sparseWeightsOf(model)[1]!.name;
      assert.deepEqual(live.tensors.get(`exp_avg.${other}`)!.data, state.tensors.get(`exp_avg.${other}`)!.data);
    });
  }
});

function train(mode: 'static' | 'dynamic' | 'rigl', seed: number, steps: number, resumeAt?: number) {
  const rng = new Rng(seed);
  let model = new TwoLayers(rng, 4);
  const x = randn([12, 16], rng);
  const target = randn([12, 8], rng);
  let opt = new Adam(model.namedParameters(), { lr: 1e-2 });
  const options = { mode, schedule: { totalSteps: steps, updates: 10, pruneRatio: 0.5 }, seed: seed + 1 } as const;
  let controller = new DynSparseController(sparseWeightsOf(model), options);
  const telemetry = [];
  const losses: number[] = [];
  for (let t = 1; t <= steps; t++) {
    if (t === resumeAt) {
      // Save everything, rebuild from scratch, load: the run must continue identically.
      const modelState = new Map([...model.stateDict()].map(([k, v]) => [k, new Tensor(v.data.slice(), v.dtype, v.shape)]));
      const optState = opt.stateDict({ copy: true });
      const ctlState = JSON.parse(JSON.stringify(controller.stateDict()));
      const fresh = new TwoLayers(new Rng(999), 4);
      fresh.loadStateDict(modelState);
      model = fresh;
      opt = new Adam(fresh.namedParameters(), { lr: 1e-2 });
      opt.loadStateDict(optState);
      controller = new DynSparseController(sparseWeightsOf(fresh), options);
      controller.loadStateDict(ctlState);
    }
    controller.beginStep(t);
    opt.zeroGrad();
    const loss = mseLoss(model.forward(x), target);
    backward(loss);
    opt.step();
    losses.push(loss.item());
    const info = controller.afterStep(t, opt);
    if (info) telemetry.push(info);
  }
  return { controller, telemetry, losses, weights: sparseWeightsOf(model) };
}

describe('DynSparseController', () => {
  test('dynamic: updates on schedule, density constant, explored fraction grows, telemetry in range, loss falls', () => {
    const { telemetry, losses, weights } = train('dynamic', 1, 60);
    assert.equal(telemetry.length, 9);
    let previous = 0;
    for (const u of telemetry) {
      for (const t of u.tensors) {
        assert.equal(t.density, 0.25);
        assert.ok(t.prunedRecentlyRegrown >= 0 && t.prunedRecentlyRegrown <= 1);
        assert.equal(t.pruned, t.regrown);
      }
      const explored = u.tensors[0]!.explored;
      assert.ok(explored >= previous);
      previous = explored;
    }
    assert.ok(previous > 0.25, `explored ${previous}`);
    for (const w of weights) assert.equal(w.pattern.activeBlocks, w.values.size / 16);
    assert.ok(losses[losses.length - 1]! < losses[0]!, `loss ${losses[0]} -> ${losses[losses.length - 1]}`);
  });

  test('static never changes the pattern; rigl explores less than random regrowth', () => {
    const s = train('static', 2, 40);
    assert.equal(s.telemetry.length, 0);
    const d = train('dynamic', 2, 40);
    const r = train('rigl', 2, 40);
    assert.equal(r.telemetry.length, 9);
    const last = (x: typeof d): number => x.telemetry[x.telemetry.length - 1]!.tensors[0]!.explored;
    assert.ok(last(r) <= last(d), `rigl ${last(r)} vs dynamic ${last(d)}`);
  });

  test('kill and resume (model, Adam and controller state) continues bit-exactly', () => {
    const whole = train('dynamic', 3, 30);
    const resumed = train('dynamic', 3, 30, 14);
    assert.deepEqual(resumed.losses, whole.losses);
    for (let i = 0; i < whole.weights.length; i++) {
      assert.deepEqual(resumed.weights[i]!.pattern.positions(), whole.weights[i]!.pattern.positions());
      assert.deepEqual(resumed.weights[i]!.values.data, whole.weights[i]!.values.data);
    }
  });

  test('bad settings are one-line errors', () => {
    const model = new TwoLayers(new Rng(1), 4);
    const schedule = { totalSteps: 10, updates: 5, pruneRatio: 0.5 };
    assert.throws(() => new DynSparseController(sparseWeightsOf(model), { mode: 'dense', schedule, seed: 1 }), /mode dense with block-sparse weights/);
    assert.throws(() => new DynSparseController(sparseWeightsOf(model), { mode: 'dynamic', schedule: { ...schedule, updates: 11 }, seed: 1 }), /11 updates do not fit in 10 steps/);
  });
});
