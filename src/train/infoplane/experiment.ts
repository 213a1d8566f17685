// One information-plane run: train an MLP with the fused trainer through the training loop (one
// step = one epoch) and, at log-spaced epochs, record every layer's activity for all inputs and
// estimate I(X;T) and I(T;Y) per layer. Platform-neutral: the Node runner
// (src/node/infoplane-runner.ts) runs many of these in worker threads.

import { estimateLayerInformation, type EstimatorName, type EstimatorSettings, type LayerInformation } from '../../info/estimators.js';
import { activations as makeActivations, labels as makeLabels, type Activations, type Labels } from '../../info/types.js';
import { Rng } from '../../tensor/rng.js';
import { runTrainingLoop } from '../loop.js';
import type { ActivationName } from './activations.js';
import { FusedAdam, FusedMlp } from './mlp.js';
import { logSpacedEpochs } from './schedule.js';

export interface InfoplaneDataset {
  /** e.g. 'ib12', 'mnist'. */
  readonly name: string;
  /** [n, width] */
  readonly inputs: Float32Array;
  readonly labels: Int32Array;
  readonly n: number;
  readonly width: number;
  readonly numClasses: number;
  readonly train: Int32Array;
  readonly test: Int32Array;
  /** Rows whose activity the estimators see; null = all n rows (the paper: all 4096 patterns). */
  readonly infoRows: Int32Array | null;
  /** How the split was made, for the records (e.g. 'authors 80/20'). */
  readonly splitDescription: string;
}

export interface ExperimentConfig {
  /** Hidden layer widths, e.g. [10, 7, 5, 4, 3]; input and output come from the data. */
  readonly hidden: readonly number[];
  readonly epochs: number;
  /** Default 256. */
  readonly batchSize: number;
  /** Adam's learning rate; default 4e-4. */
  readonly lr: number;
  /** Points of the log-spaced recording grid (400 -> 274 epochs out of 8000). */
  readonly logSamples: number;
  readonly estimators: readonly EstimatorName[];
  readonly estimatorSettings?: Partial<EstimatorSettings>;
  /**
   * Reshuffle the training rows every epoch. Off by default: the paper's code cuts the same
   * minibatches, in the same order, every epoch.
   */
  readonly shuffleBatches: boolean;
}

export const DEFAULT_EXPERIMENT: ExperimentConfig = Object.freeze({
  hidden: [10, 7, 5, 4, 3],
  epochs: 8000,
  batchSize: 256,
  lr: 4e-4,
  logSamples: 400,
  estimators: ['ebab'] as const,
  shuffleBatches: false,
});

export interface RunSpec {
  readonly activation: ActivationName;
  /** L2 penalty on the non-output weights; 0 = none. */
  readonly l2: number;
  readonly seed: number;
}

export interface Metrics {
  readonly trainLoss: number;
  readonly trainAccuracy: number;
  readonly testLoss: number;
  readonly testAccuracy: number;
}

export interface EpochRecord extends Metrics {
  readonly epoch: number;
  /** Per estimator, one estimate per layer (hidden layers, then the softmax output). */
  readonly info: Partial<Record<EstimatorName, LayerInformation[]>>;
}

export const RUN_RECORD_FORMAT = 'thrifty-infoplane-run/1';

export interface RunRecord extends RunSpec {
  readonly format: typeof RUN_RECORD_FORMAT;
  readonly dataset: string;
  readonly split: string;
  /** Layer widths from input to output. */
  readonly sizes: readonly number[];
  readonly config: ExperimentConfig;
  readonly records: readonly EpochRecord[];
  /** Metrics after the last epoch. */
  readonly final: Metrics & { readonly epoch: number };
  readonly timing: { readonly trainMs: number; readonly infoMs: number };
}

export interface RunHooks {
  /** Called after every epoch with the number done. */
  readonly onEpoch?: (done: number, total: number) => void;
  /** Milliseconds clock (default performance.now). */
  readonly clock?: () => number;
}

export function validateConfig(config: ExperimentConfig): void {
  if (!Number.isInteger(config.epochs) || config.epochs < 1) throw new Error(`infoplane: epochs must be a positive integer, got ${config.epochs}`);
  if (!Number.isInteger(config.batchSize) || config.batchSize < 1) throw new Error(`infoplane: batch size must be a positive integer, got ${config.batchSize}`);
  if (!(config.lr > 0)) throw new Error(`infoplane: learning rate must be positive, got ${config.lr}`);
  if (config.hidden.length === 0) throw new Error('infoplane: need at least one hidden layer');
}

function metrics(mlp: FusedMlp, data: InfoplaneDataset): Metrics {
  const train = mlp.evaluate(data.inputs, data.labels, data.train);
  const test = data.test.length ? mlp.evaluate(data.inputs, data.labels, data.test) : { loss: NaN, accuracy: NaN };
  return { trainLoss: train.loss, trainAccuracy: train.accuracy, testLoss: test.loss, testAccuracy: test.accuracy };
}

interface InfoView {
  readonly labels: Labels;
  readonly inputs: Activations;
  readonly rows: Int32Array | null;
  readonly n: number;
}

function infoView(data: InfoplaneDataset): InfoView {
  const rows = data.infoRows;
  const n = rows ? rows.length : data.n;
  const y = rows ? Int32Array.from(rows, (r) => data.labels[r]!) : data.labels;
  let x: Float32Array = data.inputs;
  if (rows) {
    x = new Float32Array(n * data.width);
    rows.forEach((r, i) => x.set(data.inputs.subarray(r * data.width, (r + 1) * data.width), i * data.width));
  }
  return { labels: makeLabels(y, data.numClasses), inputs: makeActivations(x, n, data.width), rows, n };
}

/** I(X;T), I(T;Y) of every layer of `mlp` by each estimator. */
export function estimateNetworkInformation(
  mlp: FusedMlp,
  data: InfoplaneDataset,
  estimators: readonly EstimatorName[],
  settings: Partial<EstimatorSettings> = {},
  view: InfoView = infoView(data),
): Partial<Record<EstimatorName, LayerInformation[]>> {
  const layers = mlp.layerActivations(data.inputs, data.n, view.rows);
  const info: Partial<Record<EstimatorName, LayerInformation[]>> = {};
  for (const name of estimators) {
    info[name] = layers.map((values, l) =>
      estimateLayerInformation(name, makeActivations(values, view.n, mlp.sizes[l + 1]!), view.labels, { inputs: view.inputs, settings }),
    );
  }
  return info;
}

/** Trains one network and records its information plane. */
export async function runInfoplane(data: InfoplaneDataset, config: ExperimentConfig, spec: RunSpec, hooks: RunHooks = {}): Promise<RunRecord> {
  validateConfig(config);
  if (!(spec.l2 >= 0)) throw new Error(`infoplane: L2 penalty must be >= 0, got ${spec.l2}`);
  const clock = hooks.clock ?? (() => performance.now());
  const sizes = [data.width, ...config.hidden, data.numClasses];
  const rng = new Rng(spec.seed);
  const mlp = new FusedMlp(sizes, spec.activation, rng.fork());
  const batchRng = rng.fork();
  const adam = new FusedAdam(mlp.parameters(), { lr: config.lr });
  const recordAt = new Set(logSpacedEpochs(config.epochs, config.logSamples));
  const view = infoView(data);
  const order = Int32Array.from(data.train);
  const records: EpochRecord[] = [];
  let trainMs = 0;
  let infoMs = 0;
  await runTrainingLoop({
    total: config.epochs,
    // Epoch e is recorded before it is trained: "after e epochs" (0 = the initialisation).
    beforeStep: (step) => {
      const epoch = step - 1;
      if (!recordAt.has(epoch)) return;
      const start = clock();
      const info = estimateNetworkInformation(mlp, data, config.estimators, config.estimatorSettings, view);
      records.push({ epoch, ...metrics(mlp, data), info });
      infoMs += clock() - start;
    },
    step: () => {
      const start = clock();
      if (config.shuffleBatches) {
        const p = batchRng.permutation(order.length);
        for (let i = 0; i < p.length; i++) order[i] = data.train[p[i]!]!;
      }
      let lossSum = 0;
      let batches = 0;
      for (let b = 0; b < order.length; b += config.batchSize) {
        lossSum += mlp.lossAndGradients(data.inputs, data.labels, order, b, Math.min(order.length, b + config.batchSize), spec.l2);
        batches++;
        adam.step();
      }
      trainMs += clock() - start;
      return { loss: lossSum / batches, tokens: order.length };
    },
    afterStep: (step) => hooks.onEpoch?.(step, config.epochs),
  });
  return {
    format: RUN_RECORD_FORMAT,
    dataset: data.name,
    split: data.splitDescription,
    activation: spec.activation,
    l2: spec.l2,
    seed: spec.seed,
    sizes,
    config,
    records,
    final: { epoch: config.epochs, ...metrics(mlp, data) },
    timing: { trainMs, infoMs },
  };
}
