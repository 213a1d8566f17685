import { test } from 'node:test';
import assert from 'node:assert/strict';

import { accumulatedMask, beatsBeyondSpread, interpolateLoss, spread, summarizeArms, type ArmRecord, type ArmSpec } from '../../src/report/dynsparse.js';
import { maskPicture } from '../../src/report/dynsparse-html.js';

const close = (a: number | null | undefined, b: number, tol = 1e-12): void => assert.ok(a !== null && a !== undefined && Math.abs(a - b) <= tol, `${a} vs ${b}`);

test('interpolateLoss: linear in log cost between the neighbouring points, null outside', () => {
  const points = [{ cost: 100, loss: 3 }, { cost: 10, loss: 4 }, { cost: 1000, loss: 2.5 }];
  close(interpolateLoss(points, 10), 4);
  close(interpolateLoss(points, Math.sqrt(10 * 100)), 3.5);
  close(interpolateLoss(points, 1000), 2.5);
  close(interpolateLoss(points, 10 ** 2.25), 2.875);
  assert.equal(interpolateLoss(points, 9), null);
  assert.equal(interpolateLoss(points, 1001), null);
  assert.equal(interpolateLoss([], 5), null);
});

function arm(id: string, mode: ArmSpec['mode'], size: string, over: Partial<ArmSpec> = {}): ArmSpec {
  return { id, parts: ['pareto'], size, mode, sparsity: mode === 'dense' ? 0 : 0.9, block: mode === 'dense' ? 1 : 16, updates: mode === 'dynamic' ? 10 : 0, pruneRatio: mode === 'dynamic' ? 0.5 : 0, lrFactor: 1, ...over };
}

function record(spec: ArmSpec, seed: number, flops: number, loss: number): ArmRecord {
  return {
    arm: spec, seed, steps: 10, lr: 1e-3, finalLoss: loss, finalAccuracy: 0.1, nonEmbeddingFlops: flops, trainSeconds: 5,
    curve: [{ step: 10, flops, seconds: 5, loss }], explored: spec.mode === 'dense' ? [] : [{ step: 0, explored: 0.1 }, { step: 5, explored: 0.2 }], mask: null,
  };
}

test('summarizeArms: dense interpolated seed by seed, differences paired by seed, the FLOP ratio on the seed-mean frontier', () => {
  const small = arm('dense-s', 'dense', 's');
  const large = arm('dense-l', 'dense', 'l');
  const dyn = arm('dyn', 'dynamic', 'l');
  const stat = arm('stat', 'static', 'l');
  const records = [
    record(small, 0, 10, 4), record(small, 1, 10, 4.2),
    record(large, 0, 1000, 3), record(large, 1, 1000, 3.4),
    record(dyn, 0, 100, 3.2), record(dyn, 1, 100, 3.5),
    record(stat, 0, 100, 3.6), record(stat, 1, 100, 3.7),
  ];
  const summaries = summarizeArms([small, large, dyn, stat], records);
  const d = summaries.find((s) => s.arm.id === 'dyn')!;
  // At 100 (half way in log between 10 and 1000): seed 0 dense 3.5, seed 1 dense 3.8.
  assert.deepEqual(d.dense!.interpolated!.values.map((v) => +v.toFixed(12)), [3.5, 3.8]);
  assert.deepEqual(d.dense!.difference!.values.map((v) => +v.toFixed(12)), [-0.3, -0.3]);
  close(d.dense!.difference!.sd, 0, 1e-12);
  assert.equal(beatsBeyondSpread(d.dense!.difference), true);
  // Mean loss 3.35 on the mean dense line (10, 4.1) - (1000, 3.2): reached at 10^(1 + 2 * 0.75/0.9).
  close(d.dense!.flopRatio, 100 / 10 ** (1 + (2 * 0.75) / 0.9), 1e-9);
  close(d.dense!.denseBest, 3.2);
  // Lower than every dense size: no ratio.
  const better = summarizeArms([small, large, dyn], [...records.slice(0, 4), record(dyn, 0, 100, 3.0), record(dyn, 1, 100, 3.1)]);
  assert.equal(better.find((s) => s.arm.id === 'dyn')!.dense!.flopRatio, null);
  assert.equal(d.versusStatic!.arm, 'stat');
  assert.deepEqual(d.versusStatic!.difference.values.map((v) => +v.toFixed(12)), [-0.4, -0.2]);
  close(d.explored, 0.2);
  assert.equal(summaries.find((s) => s.arm.id === 'dense-s')!.dense, null);
  // One seed: no spread, so never "beyond" it.
  assert.equal(beatsBeyondSpread(spread([-1])), false);
  assert.equal(beatsBeyondSpread(spread([-0.1, -0.5])), true);
  assert.equal(beatsBeyondSpread(spread([0.1, -0.5])), false);
});

test('accumulated mask frames and their picture', () => {
  const trace = { name: 'w', blockRows: 2, blockCols: 3, updates: 4, firstExplored: [0, -1, 2, 1, -1, 0] };
  assert.deepEqual([...accumulatedMask(trace, 0)], [1, 0, 0, 0, 0, 1]);
  assert.deepEqual([...accumulatedMask(trace, 1)], [1, 0, 0, 1, 0, 1]);
  assert.deepEqual([...accumulatedMask(trace, 3)], [1, 0, 1, 1, 0, 1]);
  const svg = maskPicture(trace, accumulatedMask(trace, 1), 'after update 1');
  assert.equal(svg.match(/fill="rgb\(0,0,0\)"/g)?.length, 3);
  assert.ok(svg.includes('50.0% explored'));
});
