import { test } from 'node:test';
import assert from 'node:assert/strict';

import { renderParetoHtml } from '../../src/report/pareto-html.js';
import { averageSeeds, costToReach, paretoFrontier, reachRatios, type CurvePoint, type RunCurve } from '../../src/report/pareto.js';

const pts = (pairs: Array<[number, number]>): CurvePoint[] => pairs.map(([cost, loss]) => ({ cost, loss }));

test('the Pareto frontier keeps only points that beat every cheaper one, and drops cost 0', () => {
  const frontier = paretoFrontier(pts([[0, 9], [4, 5], [1, 7], [2, 7.5], [3, 5.5], [8, 4], [8, 4.2], [9, 4.1]]));
  assert.deepEqual(frontier, pts([[1, 7], [3, 5.5], [4, 5], [8, 4]]));
});

test('cost to reach a loss interpolates linearly in log cost between frontier points', () => {
  const frontier = pts([[1e9, 5], [1e10, 4], [1e11, 3]]);
  assert.ok(Math.abs(costToReach(frontier, 4.5)! / 10 ** 9.5 - 1) < 1e-12);
  assert.equal(costToReach(frontier, 4), 1e10);
  assert.ok(Math.abs(costToReach(frontier, 3.25)! / 10 ** 10.75 - 1) < 1e-12);
  assert.equal(costToReach(frontier, 6), 1e9, 'already below at the cheapest point');
  assert.equal(costToReach(frontier, 2.9), null, 'never reached');
  assert.equal(costToReach([], 3), null);
});

/** Three sizes whose curves each end on the common frontier (bigger: costlier and better). */
function family(arch: string, costScale: number, seed: number, lossShift = 0): RunCurve[] {
  const sizes: Array<[string, number, number]> = [['s', 1e9, 6], ['m', 4e9, 5], ['l', 16e9, 4]];
  return sizes.map(([size, cost, loss]) => {
    const flops = pts([[0, 9], [cost / 4, loss + 1.5], [cost / 2, loss + 0.6], [cost, loss + lossShift]]).map((p) => ({ cost: p.cost * costScale, loss: p.loss }));
    return { arch, size, seed, flops, seconds: flops.map((p) => ({ cost: p.cost / 1e9, loss: p.loss })) };
  });
}

test('a candidate that gets every loss at half the FLOPs has a ratio of exactly 0.5', () => {
  const sizes = averageSeeds([...family('bert', 1, 0), ...family('groupbert', 0.5, 0)]);
  const ratios = reachRatios(sizes, 'bert', 'groupbert', 'flops');
  assert.deepEqual(ratios.map((r) => r.size), ['s', 'm', 'l']);
  for (const r of ratios) {
    assert.ok(Math.abs(r.ratio! - 0.5) < 1e-12, `${r.size}: ${r.ratio}`);
    assert.equal(r.upperBound, false);
  }
  // The other way round: the baseline needs twice the FLOPs; the largest size's loss is never reached by it.
  const back = reachRatios(sizes, 'groupbert', 'bert', 'seconds');
  assert.ok(Math.abs(back[0]!.ratio! - 2) < 1e-12);
  const worse = reachRatios(averageSeeds([...family('bert', 1, 0), ...family('groupbert', 1, 0, 0.5)]), 'bert', 'groupbert', 'flops');
  assert.equal(worse[2]!.ratio, null, 'a candidate that never gets as low');
});

test('seeds are averaged point by point', () => {
  const a = family('bert', 1, 0);
  const b = family('bert', 1, 1, 0.2);
  const [s] = averageSeeds([...a, ...b]);
  assert.equal(s!.seeds, 2);
  assert.equal(s!.flops[3]!.loss, (6 + 6.2) / 2);
  assert.equal(s!.flops[3]!.cost, 1e9);
});

test('the HTML report is self-contained, has both charts and tables, and escapes names', () => {
  const runs = [...family('bert', 1, 0), ...family('groupbert', 0.5, 0), ...family('bert', 1, 1), ...family('groupbert', 0.5, 1)];
  const evil = { ...runs[0]!, size: '<script>alert(1)</script>' };
  const html = renderParetoHtml({ title: 'BERT & GroupBERT', settings: { corpus: 'war-and-peace.txt', tokens: 1000 }, runs: [...runs, evil], baseline: 'bert', candidate: 'groupbert' });
  assert.ok(html.startsWith('<!DOCTYPE html>'));
  assert.equal((html.match(/<svg /g) ?? []).length, 2);
  assert.ok(!html.includes('<script'), 'no script, and names are escaped');
  assert.ok(html.includes('&lt;script&gt;'));
  assert.ok(!/(src|href)=/.test(html), 'no external resources');
  assert.ok(html.includes('BERT &amp; GroupBERT'));
  assert.ok(html.includes('0.50x'), 'the FLOP ratio table');
  assert.ok(html.includes('non-embedding training FLOPs (log scale)'));
  assert.ok(html.includes('training wall-clock time (log scale)'));
});
