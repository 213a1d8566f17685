// Trains a small MLP on the MNIST test set in ../shared/data/mnist: the first 8,000 images train,
// the last 2,000 are held out. Seeded, so every run gives the same numbers.
//
//   node dist/examples/mnist-mlp.js [--epochs 8] [--seed 1] [--threads N] [--data-dir DIR] [--log FILE] [--json]

import { parseArgs } from 'node:util';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { backward, noGrad } from '../src/autograd/engine.js';
import { argmax, crossEntropy, relu } from '../src/autograd/ops/index.js';
import { Linear } from '../src/nn/layers.js';
import { Module } from '../src/nn/module.js';
import { AdamW } from '../src/optim/adam.js';
import { linearWarmupCosineDecay } from '../src/optim/schedule.js';
import { Rng } from '../src/tensor/rng.js';
import { fromArray, type Tensor } from '../src/tensor/tensor.js';
import { defaultDataDir } from '../src/node/data-dir.js';
import { loadMnist } from '../src/node/mnist.js';
import { MetricsLog } from '../src/node/metrics-log.js';
import { ProgressBar } from '../src/node/progress.js';
import { initNodeBackend } from '../src/node/backend.js';

export class MnistMlp extends Module {
  readonly fc1: Linear;
  readonly fc2: Linear;
  readonly fc3: Linear;

  constructor(rng: Rng, hidden = 256) {
    super();
    this.fc1 = this.module('fc1', new Linear(784, hidden, { rng }));
    this.fc2 = this.module('fc2', new Linear(hidden, hidden / 2, { rng }));
    this.fc3 = this.module('fc3', new Linear(hidden / 2, 10, { rng }));
  }

  /** images [N, 784] -> logits [N, 10] */
  forward(images: Tensor): Tensor {
    return this.fc3.forward(relu(this.fc2.forward(relu(this.fc1.forward(images)))));
  }
}

export interface MnistTrainOptions {
  dataDir: string;
  epochs: number;
  batchSize: number;
  learningRate: number;
  seed: number;
  trainCount: number;
  heldOutCount: number;
  logPath?: string | undefined;
  progress?: boolean;
}

export interface MnistTrainResult {
  heldOutAccuracy: number;
  finalTrainLoss: number;
  seconds: number;
}

export const MNIST_DEFAULTS: Omit<MnistTrainOptions, 'dataDir'> = {
  epochs: 8,
  batchSize: 64,
  learningRate: 2e-3,
  seed: 1,
  trainCount: 8000,
  heldOutCount: 2000,
};

export async function trainMnistMlp(options: MnistTrainOptions): Promise<MnistTrainResult> {
  const started = Date.now();
  const data = await loadMnist(join(options.dataDir, 'mnist'), 't10k');
  const pixels = data.rows * data.cols;
  if (options.trainCount + options.heldOutCount > data.count) {
    throw new Error(`--train ${options.trainCount} + held-out ${options.heldOutCount} exceeds the ${data.count} images`);
  }
  const heldOutStart = data.count - options.heldOutCount;
  const rng = new Rng(options.seed);
  const model = new MnistMlp(rng);
  const optimizer = new AdamW(model.namedParameters(), { lr: options.learningRate, weightDecay: 1e-4 });
  const stepsPerEpoch = Math.ceil(options.trainCount / options.batchSize);
  const totalSteps = stepsPerEpoch * options.epochs;
  const schedule = linearWarmupCosineDecay({ peakLr: options.learningRate, warmupSteps: Math.min(100, totalSteps / 10), totalSteps });
  const log = options.logPath ? new MetricsLog(options.logPath) : null;
  const bar = options.progress === false ? null : new ProgressBar({ total: totalSteps, label: 'mnist', unit: 'images' });

  const batchImages = (indices: ArrayLike<number>): Tensor => {
    const out = new Float32Array(indices.length * pixels);
    for (let i = 0; i < indices.length; i++) out.set(data.images.subarray(indices[i]! * pixels, (indices[i]! + 1) * pixels), i * pixels);
    return fromArray(out, [indices.length, pixels]);
  };
  const batchLabels = (indices: ArrayLike<number>): Tensor => fromArray(Int32Array.from(indices, (i) => data.labels[i]!), [indices.length], { dtype: 'i32' });

  let step = 0;
  let lastLoss = NaN;
  for (let epoch = 0; epoch < options.epochs; epoch++) {
    const order = rng.permutation(options.trainCount);
    let epochLoss = 0;
    for (let b = 0; b < stepsPerEpoch; b++) {
      const indices = order.subarray(b * options.batchSize, Math.min((b + 1) * options.batchSize, options.trainCount));
      optimizer.setLearningRate(schedule(step + 1));
      optimizer.zeroGrad();
      const loss = crossEntropy(model.forward(batchImages(indices)), batchLabels(indices));
      backward(loss);
      optimizer.step();
      lastLoss = loss.item();
      epochLoss += lastLoss * indices.length;
      step++;
      bar?.update(step, { loss: lastLoss, tokens: indices.length });
    }
    const accuracy = evaluate(model, batchImages, data.labels, heldOutStart, data.count);
    log?.append(step, { epoch: epoch + 1, trainLoss: epochLoss / options.trainCount, heldOutAccuracy: accuracy });
  }
  bar?.stop();
  await log?.close();
  const heldOutAccuracy = evaluate(model, batchImages, data.labels, heldOutStart, data.count);
  return { heldOutAccuracy, finalTrainLoss: lastLoss, seconds: (Date.now() - started) / 1000 };
}

function evaluate(
  model: MnistMlp,
  batchImages: (indices: ArrayLike<number>) => Tensor,
  labels: Int32Array,
  start: number,
  end: number,
): number {
  return noGrad(() => {
    model.eval();
    let correct = 0;
    for (let s = start; s < end; s += 500) {
      const indices = Int32Array.from({ length: Math.min(500, end - s) }, (_, i) => s + i);
      const predicted = argmax(model.forward(batchImages(indices)), -1).toArray();
      for (let i = 0; i < indices.length; i++) if (predicted[i] === labels[indices[i]!]) correct++;
    }
    model.train();
    return correct / (end - start);
  });
}

async function runFromCommandLine(): Promise<void> {
  const { values } = parseArgs({
    options: {
      epochs: { type: 'string' },
      seed: { type: 'string' },
      threads: { type: 'string' },
      'data-dir': { type: 'string' },
      log: { type: 'string' },
      json: { type: 'boolean' },
    },
  });
  const backend = await initNodeBackend({ threads: values.threads ? Number(values.threads) : undefined });
  try {
    const result = await trainMnistMlp({
      ...MNIST_DEFAULTS,
      dataDir: values['data-dir'] ?? defaultDataDir(),
      epochs: values.epochs ? Number(values.epochs) : MNIST_DEFAULTS.epochs,
      seed: values.seed ? Number(values.seed) : MNIST_DEFAULTS.seed,
      logPath: values.log,
    });
    if (values.json) {
      process.stdout.write(`${JSON.stringify({ example: 'mnist-mlp', epochs: values.epochs ? Number(values.epochs) : MNIST_DEFAULTS.epochs, seed: values.seed ? Number(values.seed) : MNIST_DEFAULTS.seed, heldOutImages: 2000, ...result, backend: backend.description })}\n`);
      return;
    }
    process.stdout.write(
      `held-out accuracy ${(result.heldOutAccuracy * 100).toFixed(2)}% (2,000 images), final train loss ${result.finalTrainLoss.toFixed(4)}, ${result.seconds.toFixed(1)} s on ${backend.description}\n`,
    );
  } finally {
    backend.dispose();
  }
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  runFromCommandLine().catch((err: unknown) => {
    process.stderr.write(`mnist-mlp: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exitCode = 1;
  });
}
