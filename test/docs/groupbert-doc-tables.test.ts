// The ratios docs/groupbert.md prints for the seeded rerun, on known answers.

import assert from 'node:assert/strict';
import { test } from 'node:test';

import { flopsText, reachRatiosOfPair, type RerunRun } from '../../src/report/groupbert-doc-tables.js';

function run(arch: string, flops: Array<[number, number]>, seconds: Array<[number, number]>, cpu: number): RerunRun {
  return {
    arch,
    seed: 0,
    flops: flops.map(([cost, loss]) => ({ cost, loss })),
    seconds: seconds.map(([cost, loss]) => ({ cost, loss })),
    trainSeconds: seconds.at(-1)![0],
    processWallSeconds: seconds.at(-1)![0] + 5,
    processCpuSeconds: cpu,
    loadStart: 1,
    loadEnd: 1,
  };
}

test('reach ratios: interpolated in log cost along the candidate curve; CPU time scaled by the share of FLOPs needed', () => {
  const bert = run('bert', [[50, 7], [100, 6]], [[10, 7], [20, 6]], 20);
  // GroupBERT passes loss 6 halfway (in loss) between its points at 50 and 100 FLOPs, 8 and 32 s.
  const gb = run('groupbert', [[50, 6.5], [100, 5.5]], [[8, 6.5], [32, 5.5]], 30);
  const r = reachRatiosOfPair(bert, gb, 'r.json');
  assert.equal(r.targetLoss, 6);
  assert.ok(Math.abs(r.flops! - Math.sqrt(50 * 100) / 100) < 1e-12, String(r.flops));
  assert.ok(Math.abs(r.seconds! - 16 / 20) < 1e-12, String(r.seconds));
  assert.ok(Math.abs(r.cpu! - (30 * (Math.sqrt(50 * 100) / 100)) / 20) < 1e-12, String(r.cpu));
  // A candidate that never gets that low has no ratio.
  const never = reachRatiosOfPair(bert, run('groupbert', [[50, 6.9], [100, 6.5]], [[8, 6.9], [32, 6.5]], 30), 'r.json');
  assert.deepEqual([never.flops, never.seconds, never.cpu], [null, null, null]);
});

test('FLOPs as the page writes them', () => {
  assert.equal(flopsText(3.22122547e11), '3.22e11');
  assert.equal(flopsText(498283315200), '4.98e11');
  assert.equal(flopsText(1.13e12), '1.13e12');
});
