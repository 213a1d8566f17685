// The layout slot of Linear: a Linear hands its product to its WeightLayout, so a new weight
// format (here a test format that keeps a fixed mask beside the weight) needs no new layer; the
// shipped layouts (GPT-2's input-major, GroupBERT's grouped) equal a dense Linear with the same map;
// and one ParamInit places every layer's parameters (allocator, frozen).

import assert from 'node:assert/strict';
import { test } from 'node:test';

import { backward } from '../../src/autograd/engine.js';
import { mul } from '../../src/autograd/ops/elementwise.js';
import { linear } from '../../src/autograd/ops/linalg.js';
import { sum } from '../../src/autograd/ops/reduce.js';
import { createNorm, Embedding, LayerNorm, Linear } from '../../src/nn/layers.js';
import { denseLayout, groupedLayout, inputMajorLayout, type WeightLayout } from '../../src/nn/weight-layout.js';
import { Rng } from '../../src/tensor/rng.js';
import { fromArray, randn, type Tensor } from '../../src/tensor/tensor.js';

function assertClose(actual: ArrayLike<number>, expected: ArrayLike<number>, tol: number, what: string): void {
  assert.equal(actual.length, expected.length, `${what}: length`);
  for (let i = 0; i < actual.length; i++) assert.ok(Math.abs(actual[i]! - expected[i]!) <= tol, `${what}[${i}]: ${actual[i]} vs ${expected[i]}`);
}

/** A stand-in for a sparse format: a dense [out, in] weight multiplied by a fixed 0/1 mask buffer. */
function maskedLayout(mask: Tensor): WeightLayout & { calls: number } {
  const layout = {
    kind: 'masked',
    calls: 0,
    weightShape: (inFeatures: number, outFeatures: number) => [outFeatures, inFeatures],
    initialize: denseLayout.initialize,
    forward(x: Tensor, weight: Tensor, bias: Tensor | null) {
      layout.calls++;
      return linear(x, mul(weight, mask), bias);
    },
    buffers: () => [['mask', mask]] as const,
  };
  return layout;
}

test('Linear delegates to its layout: the format stores its state as buffers and computes the product', () => {
  const mask = fromArray([1, 0, 1, 0, 1, 1], [2, 3]);
  const layout = maskedLayout(mask);
  const layer = new Linear(3, 2, { rng: new Rng(1), layout });
  assert.equal(layer.layout.kind, 'masked');
  assert.deepEqual([...layer.stateDict().keys()], ['weight', 'bias', 'mask']);
  assert.deepEqual(layer.parameters(), [layer.weight, layer.bias]);
  const x = randn([4, 3], new Rng(2));
  const y = layer.forward(x);
  assert.equal(layout.calls, 1);
  const masked = layer.weight.toArray().map((w, i) => w * mask.toArray()[i]!);
  assertClose(y.toArray(), linear(x, fromArray(Array.from(masked), [2, 3]), layer.bias).toArray(), 1e-6, 'masked product');
  // Masked-out weights get no gradient: the format, not the layer, decides what trains.
  backward(sum(y));
  assert.ok([1, 3].every((i) => layer.weight.grad!.toArray()[i] === 0));
  assert.ok([0, 2].every((i) => layer.weight.grad!.toArray()[i] !== 0));
});

test("input-major layout (GPT-2's Conv1D) stores [in, out] and equals dense on the transposed weight", () => {
  const layer = new Linear(5, 3, { rng: new Rng(4), init: { std: 0.5 }, layout: inputMajorLayout });
  assert.deepEqual(layer.weight.shape, [5, 3]);
  layer.bias!.data.set([0.1, -0.2, 0.3]);
  const dense = new Linear(5, 3, { init: 'zeros' });
  const w = layer.weight.toArray();
  for (let o = 0; o < 3; o++) for (let i = 0; i < 5; i++) dense.weight.data[o * 5 + i] = w[i * 3 + o]!;
  dense.bias!.data.set(layer.bias!.toArray());
  const x = randn([2, 4, 5], new Rng(5));
  const y = layer.forward(x);
  assert.deepEqual(y.shape, [2, 4, 3]);
  assertClose(y.toArray(), dense.forward(x).toArray(), 1e-6, 'input-major vs dense');
});

test('grouped layout (GroupBERT) stores [G, in/G, out/G] and equals a block-diagonal dense map', () => {
  const [inF, outF, groups] = [6, 4, 2];
  const layer = new Linear(inF, outF, { rng: new Rng(6), layout: groupedLayout(groups) });
  assert.deepEqual(layer.weight.shape, [2, 3, 2]);
  // 'torch' init of a grouped map: U(±1/sqrt(in/G)), the bias left at 0.
  assert.ok(layer.weight.toArray().every((v) => Math.abs(v) <= 1 / Math.sqrt(3)));
  assert.ok(layer.bias!.toArray().every((v) => v === 0));
  const dense = new Linear(inF, outF, { init: 'zeros', bias: false });
  const w = layer.weight.toArray();
  for (let g = 0; g < groups; g++) for (let i = 0; i < 3; i++) for (let o = 0; o < 2; o++) dense.weight.data[(g * 2 + o) * inF + g * 3 + i] = w[(g * 3 + i) * 2 + o]!;
  const x = randn([3, inF], new Rng(7));
  assertClose(layer.forward(x).toArray(), dense.forward(x).toArray(), 1e-6, 'grouped vs block-diagonal');
  assert.throws(() => new Linear(6, 5, { rng: new Rng(1), layout: groupedLayout(2) }), /2 groups do not divide 6 input and 5 output features/);
});

test('one ParamInit: parameters come from the allocator, frozen when not trainable; zeros needs no Rng', () => {
  const arena = new Float32Array(64);
  let used = 0;
  const alloc = (n: number): Float32Array => {
    const view = arena.subarray(used, used + n);
    used += n;
    return view;
  };
  const init = { alloc, trainable: false, init: 'zeros' as const };
  const layers = [new Linear(3, 2, init), new Embedding(4, 2, init), new LayerNorm(2, init), createNorm('rms', 2, 1e-6, init)];
  assert.equal(used, 8 + 8 + 4 + 2);
  for (const layer of layers) {
    for (const p of layer.parameters()) {
      assert.equal(p.data.buffer, arena.buffer, `${p.name} lives in the arena`);
      assert.equal(p.requiresGrad, false);
    }
  }
  assert.deepEqual(layers[2]!.parameters().map((p) => [...p.toArray()]), [[1, 1], [0, 0]]);
  assert.throws(() => new Embedding(2, 2), /pass options.rng/);
  assert.throws(() => new Linear(2, 2, { alloc, dtype: 'f64', init: 'zeros' }), /f32 storage, not f64/);
});
