// The loss-curve picture of `thrifty train-lm`: binning of the training loss, which held-out fields
// are drawn, and the log axis.

import { test } from 'node:test';
import assert from 'node:assert/strict';

import { binnedTrainingLoss, lossCurveSvg, type CurveRecord } from '../../src/report/lm-training.js';

const HELD_OUT = [{ field: 'validationLoss', label: 'text' }, { field: 'validationCopyLoss', label: 'copied tokens' }, { field: 'validationAnswerLoss', label: 'answers' }];

/** Steps 1..n with loss `loss(step)`; held-out values every 100 steps. */
function run(n: number, loss: (step: number) => number, extra: (step: number) => Record<string, number> = () => ({})): CurveRecord[] {
  return Array.from({ length: n }, (_, i) => ({ step: i + 1, loss: loss(i + 1), ...((i + 1) % 100 === 0 ? extra(i + 1) : {}) }));
}

test('binnedTrainingLoss: means of consecutive steps, about 200 points; non-numbers and non-finite values skipped', () => {
  // 400 steps: bins of 2 steps; losses 1, 2, 3, ... -> bin means 1.5, 3.5, ...
  const binned = binnedTrainingLoss(run(400, (s) => s));
  assert.equal(binned.length, 200);
  assert.deepEqual(binned.slice(0, 2), [{ x: 1.5, y: 1.5 }, { x: 3.5, y: 3.5 }]);
  assert.deepEqual(binned.at(-1), { x: 399.5, y: 399.5 });
  // 10 steps: every step its own point.
  assert.equal(binnedTrainingLoss(run(10, (s) => s)).length, 10);
  const withGaps: CurveRecord[] = [{ step: 1, loss: 2 }, { step: 2, loss: null }, { step: 3, validationLoss: 5 }, { step: 4, loss: 4 }, { step: 5, loss: Number.NaN }];
  assert.deepEqual(binnedTrainingLoss(withGaps), [{ x: 1, y: 2 }, { x: 4, y: 4 }]);
  assert.deepEqual(binnedTrainingLoss([]), []);
});

test('lossCurveSvg: a standalone SVG with the training line and one line per held-out field present, on a log axis', () => {
  const records = run(1000, (s) => 5 - s / 500, (s) => ({ validationLoss: 4 - s / 1000, validationAnswerLoss: 2 / (s / 100) ** 2 }));
  const svg = lossCurveSvg(records, HELD_OUT, 'A & B');
  assert.match(svg, /^<svg xmlns="http:\/\/www.w3.org\/2000\/svg" [^>]*><title>A &amp; B<\/title>/);
  assert.match(svg, />training \(mean of 5 steps\)</);
  assert.match(svg, />held-out text</);
  assert.match(svg, />held-out answers</);
  assert.doesNotMatch(svg, /copied tokens/, 'a field no record has is not in the legend');
  assert.equal(svg.match(/<polyline /g)?.length, 3);
  // Answers fall from 2 to 0.02: log ticks at 0.02, 0.05, 0.1, ... 2 (the text loss reaches 3.9, so 5 is drawn too).
  for (const tick of ['0.02', '0.05', '0.1', '0.2', '0.5', '1', '2', '5']) assert.match(svg, new RegExp(`dominant-baseline="middle">${tick.replace('.', '\\.')}</text>`), `tick ${tick}`);
  // A held-out value of 0 cannot be drawn on a log axis: left out, not plotted at -Infinity.
  const withZero = lossCurveSvg([...records, { step: 1001, validationAnswerLoss: 0 }], HELD_OUT, 't');
  assert.doesNotMatch(withZero, /NaN|Infinity/);
  assert.equal(lossCurveSvg(records, HELD_OUT, 't').match(/<circle /g)?.length, withZero.match(/<circle /g)?.length);
});
