// The fused MLP kernels against their reference twin, InfoPlaneMlp (src/nn layers through the
// autograd engine, f64), and src/optim's Adam.

import assert from 'node:assert/strict';
import { test } from 'node:test';

import { backward } from '../../../src/autograd/engine.js';
import { Adam } from '../../../src/optim/adam.js';
import { Rng } from '../../../src/tensor/rng.js';
import { fromArray, type Tensor } from '../../../src/tensor/tensor.js';
import { ACTIVATION_NAMES, initGain } from '../../../src/train/infoplane/activations.js';
import { FusedAdam, FusedMlp, InfoPlaneMlp } from '../../../src/train/infoplane/mlp.js';

const SIZES = [12, 10, 7, 5, 4, 3, 2];

/** The reference's loss on a batch (x [rows, 12] f64, labels i32). */
function referenceLoss(model: InfoPlaneMlp, x: Float64Array, y: Int32Array, rows: number, l2: number): Tensor {
  return model.loss(fromArray(x, [rows, SIZES[0]!], { dtype: 'f64' }), fromArray(y, [rows], { dtype: 'i32' }), l2);
}

function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]! - b[i]!));
  return m;
}

function batch(rows: number, seed: number): { x: Float64Array; y: Int32Array } {
  const rng = new Rng(seed);
  return {
    x: Float64Array.from({ length: rows * SIZES[0]! }, () => (rng.uniform() < 0.5 ? 0 : 1) + 0.1 * rng.normal()),
    y: Int32Array.from({ length: rows }, () => rng.int(2)),
  };
}

for (const activation of ACTIVATION_NAMES) {
  test(`fused MLP (${activation}): loss and gradients equal the reference model's, and 3 Adam steps match src/optim`, () => {
    const rows = 37;
    const l2 = 0.015;
    const mlp = new FusedMlp(SIZES, activation, new Rng(7));
    // An independent twin from the same seed: the same initial weights, its own storage.
    const reference = new InfoPlaneMlp(SIZES, activation, new Rng(7));
    const params = new Map(reference.namedParameters());
    assert.deepEqual(mlp.parameters().map((p) => p.name).sort(), [...params.keys()].sort(), 'the kernel names its arrays as the model does');
    for (const p of mlp.parameters()) assert.deepEqual(Array.from(p.data), params.get(p.name)!.toList(), `${p.name}: same initial values`);
    const { x, y } = batch(rows, 11);

    const fusedLoss = mlp.lossAndGradients(x, y, null, 0, rows, l2);
    const loss = referenceLoss(reference, x, y, rows, l2);
    backward(loss);
    assert.ok(Math.abs(fusedLoss - loss.item()) < 1e-12, `loss ${fusedLoss} vs ${loss.item()}`);
    for (const p of mlp.parameters()) {
      const grad = params.get(p.name)!.grad!;
      assert.ok(maxAbsDiff(p.grad, grad.toArray()) < 1e-10, `${p.name}: max |d grad| = ${maxAbsDiff(p.grad, grad.toArray())}`);
    }

    // Three Adam steps on three different batches, fused and engine side by side.
    const fusedAdam = new FusedAdam(mlp.parameters(), { lr: 4e-3 });
    const adam = new Adam([...params.entries()], { lr: 4e-3 });
    adam.zeroGrad();
    for (let step = 0; step < 3; step++) {
      const b = batch(rows, 100 + step);
      mlp.lossAndGradients(b.x, b.y, null, 0, rows, l2);
      fusedAdam.step();
      backward(referenceLoss(reference, b.x, b.y, rows, l2));
      adam.step();
      adam.zeroGrad();
    }
    for (const p of mlp.parameters()) {
      const diff = maxAbsDiff(p.data, params.get(p.name)!.toArray());
      assert.ok(diff < 1e-9, `${p.name} after 3 Adam steps: max diff ${diff}`);
    }
    // The kernel trained the model's own storage: the model's loss is the kernel's.
    const evaluation = mlp.evaluate(x, y, null, rows);
    assert.ok(Math.abs(referenceLoss(mlp.model, x, y, rows, 0).item() - evaluation.loss) < 1e-12);
  });
}

test('fused MLP: minibatches selected through a row index equal the same rows copied out', () => {
  const mlp = new FusedMlp(SIZES, 'tanh', new Rng(1));
  const { x, y } = batch(50, 3);
  const rows = Int32Array.from([4, 9, 1, 33, 20]);
  const lossIndexed = mlp.lossAndGradients(x, y, rows, 1, 4);
  const gradIndexed = Float64Array.from(mlp.weightGrads[0]!);
  const picked = new Float64Array(3 * 12);
  [9, 1, 33].forEach((r, i) => picked.set(x.subarray(r * 12, r * 12 + 12), i * 12));
  const lossCopied = mlp.lossAndGradients(picked, Int32Array.from([y[9]!, y[1]!, y[33]!]), null, 0, 3);
  assert.equal(lossIndexed, lossCopied);
  assert.deepEqual(Array.from(mlp.weightGrads[0]!), Array.from(gradIndexed));
});

test("fused MLP: the paper's initialisation (truncated normal, sd = gain / sqrt(fan_in), zero biases)", () => {
  const sizes = [400, 300, 2];
  for (const activation of ['tanh', 'relu'] as const) {
    const mlp = new FusedMlp(sizes, activation, new Rng(2));
    const w = mlp.weights[0]!;
    const sd = initGain(activation) / Math.sqrt(400);
    let max = 0;
    let ss = 0;
    for (const v of w) {
      max = Math.max(max, Math.abs(v));
      ss += v * v;
    }
    assert.ok(max <= 2 * sd, 'truncated at 2 sd');
    // The truncated normal's sd is 0.8796 of the untruncated one.
    assert.ok(Math.abs(Math.sqrt(ss / w.length) / sd - 0.8796) < 0.01, `sd ratio ${Math.sqrt(ss / w.length) / sd}`);
    assert.ok(mlp.biases.every((b) => b.every((v) => v === 0)));
  }
});

test('fused MLP: layer activations are the hidden activity and the softmax output; evaluate agrees with the loss', () => {
  const mlp = new FusedMlp(SIZES, 'relu', new Rng(4));
  const { x, y } = batch(20, 5);
  const layers = mlp.layerActivations(x, 20);
  assert.deepEqual(layers.map((l) => l.length / 20), SIZES.slice(1));
  for (let i = 0; i < 20; i++) assert.ok(Math.abs(layers[5]![2 * i]! + layers[5]![2 * i + 1]! - 1) < 1e-6);
  assert.ok(layers[0]!.every((v) => v >= 0));
  const evaluation = mlp.evaluate(x, y, null, 20);
  assert.ok(Math.abs(evaluation.loss - mlp.lossAndGradients(x, y, null, 0, 20)) < 1e-12);
  const predicted = Array.from({ length: 20 }, (_, i) => (layers[5]![2 * i + 1]! > layers[5]![2 * i]! ? 1 : 0));
  assert.equal(evaluation.accuracy, predicted.filter((p, i) => p === y[i]).length / 20);
});
