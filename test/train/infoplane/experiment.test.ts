import assert from 'node:assert/strict';
import { test } from 'node:test';

import { authorsSplit, generateIb12 } from '../../../src/data/ib12.js';
import { ebabInformation } from '../../../src/info/binning.js';
import { activations, labels } from '../../../src/info/types.js';
import { Rng } from '../../../src/tensor/rng.js';
import { FITTED_TRAIN_ACCURACY, layerCompression, summarizeRuns } from '../../../src/train/infoplane/analysis.js';
import { runInfoplane, type ExperimentConfig, type InfoplaneDataset, type RunRecord } from '../../../src/train/infoplane/experiment.js';
import { FusedMlp } from '../../../src/train/infoplane/mlp.js';

function ib12(): InfoplaneDataset {
  const data = generateIb12();
  const split = authorsSplit(data.n);
  return { name: 'ib12', ...data, numClasses: 2, train: split.train, test: split.test, infoRows: null, splitDescription: 'authors 80/20' };
}

const TINY: ExperimentConfig = {
  hidden: [10, 7, 5, 4, 3],
  epochs: 60,
  batchSize: 256,
  lr: 4e-3,
  logSamples: 20,
  estimators: ['ebab', 'saxe'],
  shuffleBatches: false,
};

test('a tiny run: records at the log-spaced epochs, learns, and is reproducible from its seed', async () => {
  const data = ib12();
  const a = await runInfoplane(data, TINY, { activation: 'tanh', l2: 0, seed: 3 });
  assert.deepEqual(a.sizes, [12, 10, 7, 5, 4, 3, 2]);
  assert.deepEqual(
    a.records.map((r) => r.epoch),
    [0, 1, 2, 3, 4, 5, 7, 9, 12, 15, 19, 24, 30, 37, 47, 59] // numpy: unique(logspace(0, log2(60), 20, dtype=int, base=2)) - 1,
  );
  for (const r of a.records) {
    assert.equal(r.info.ebab!.length, 6);
    for (const layer of r.info.ebab!) {
      assert.ok(layer.ixt >= 0 && layer.ixt <= 12 + 1e-9);
      assert.ok(layer.ity >= 0 && layer.ity <= layer.ixt + 1e-9 && layer.ity <= 0.999157 + 1e-6);
    }
  }
  assert.ok(a.final.trainLoss < a.records[0]!.trainLoss, `loss ${a.records[0]!.trainLoss} -> ${a.final.trainLoss}`);
  assert.ok(a.final.trainAccuracy > 0.6, `train accuracy ${a.final.trainAccuracy}`);
  const b = await runInfoplane(data, TINY, { activation: 'tanh', l2: 0, seed: 3 });
  assert.deepEqual(b.records, a.records);
  const c = await runInfoplane(data, TINY, { activation: 'tanh', l2: 0, seed: 4 });
  assert.notDeepEqual(c.records[0]!.info, a.records[0]!.info);
});

test('the recorded EBAB estimates are those of the network at that epoch', async () => {
  // Re-create the initial network from the same seed path and estimate its first layer directly.
  const data = ib12();
  const record = await runInfoplane(data, { ...TINY, epochs: 1, logSamples: 1 }, { activation: 'relu', l2: 0, seed: 9 });
  const rng = new Rng(9);
  const mlp = new FusedMlp(record.sizes, 'relu', rng.fork());
  const layers = mlp.layerActivations(data.inputs, data.n);
  for (let l = 0; l < 6; l++) {
    const direct = ebabInformation(activations(layers[l]!, data.n, record.sizes[l + 1]!), labels(data.labels, 2));
    assert.deepEqual(record.records[0]!.info.ebab![l], direct);
  }
});

test('the summary computes compression per layer, the L2 effect and the correlations', async () => {
  const data = ib12();
  const runs: RunRecord[] = [];
  for (const l2 of [0, 0.05]) for (const seed of [1, 2, 3]) runs.push(await runInfoplane(data, { ...TINY, estimators: ['ebab'] }, { activation: 'relu', l2, seed }));
  const summary = summarizeRuns(runs, 'ebab');
  assert.equal(summary.groups.length, 2);
  assert.equal(summary.l2Effects.length, 1);
  const unfitted = runs.filter((r) => r.final.trainAccuracy < FITTED_TRAIN_ACCURACY).length;
  assert.deepEqual(
    summary.correlations.map((c) => c.scope),
    ['all runs', ...(unfitted > 0 && unfitted <= 3 ? [`runs with train accuracy >= ${FITTED_TRAIN_ACCURACY} (${unfitted} left out)`] : []), 'L2 = 0', 'L2 = 0.05'],
  );
  for (const set of summary.correlations.slice(1)) assert.ok(set.layers[0]!.pearson.n < runs.length);
  for (const set of summary.correlations) assert.equal(set.layers.length, 6);
  const group = summary.groups[0]!;
  assert.equal(group.runs, 3);
  const c = layerCompression(runs[0]!, 'ebab', 0);
  const series = runs[0]!.records.map((r) => r.info.ebab![0]!.ixt);
  assert.equal(c, Math.max(...series) - series[series.length - 1]!);
  assert.ok(c >= 0);
  assert.ok(Math.abs(group.compression[0]!.mean - [0, 1, 2].map((i) => layerCompression(runs[i]!, 'ebab', 0)).reduce((a, b) => a + b) / 3) < 1e-12);
});
