import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Rng } from '../../src/tensor/rng.js';
import { fromArray, randn, tensor } from '../../src/tensor/tensor.js';
import { backward } from '../../src/autograd/engine.js';
import { gradcheck } from '../../src/autograd/gradcheck.js';
import { sum } from '../../src/autograd/ops/reduce.js';
import { Dropout, Embedding, LayerNorm, Linear, RMSNorm } from '../../src/nn/layers.js';

function assertClose(actual: ArrayLike<number>, expected: ArrayLike<number>, tol: number, what: string): void {
  assert.equal(actual.length, expected.length, `${what}: length`);
  for (let i = 0; i < actual.length; i++) {
    assert.ok(Math.abs(actual[i]! - expected[i]!) <= tol, `${what}[${i}]: ${actual[i]} vs ${expected[i]}`);
  }
}

test('Linear computes x Wᵀ + b with weight [out, in]', () => {
  const rng = new Rng(3);
  const layer = new Linear(5, 3, { rng });
  assert.deepEqual(layer.weight.shape, [3, 5]);
  assert.deepEqual(layer.bias!.shape, [3]);
  const x = randn([2, 4, 5], rng);
  const y = layer.forward(x);
  assert.deepEqual(y.shape, [2, 4, 3]);
  const w = layer.weight.toArray();
  const b = layer.bias!.toArray();
  const xs = x.toArray();
  const expected = new Float64Array(2 * 4 * 3);
  for (let r = 0; r < 8; r++) {
    for (let o = 0; o < 3; o++) {
      let acc = b[o]!;
      for (let i = 0; i < 5; i++) acc += xs[r * 5 + i]! * w[o * 5 + i]!;
      expected[r * 3 + o] = acc;
    }
  }
  assertClose(y.toArray(), expected, 1e-5, 'linear');
});

test('Linear default init is U(±1/sqrt(in)) for weight and bias, as torch', () => {
  const layer = new Linear(64, 32, { rng: new Rng(1) });
  const bound = 1 / 8;
  for (const t of [layer.weight, layer.bias!]) {
    const values = t.toList();
    assert.ok(values.every((v) => Math.abs(v) <= bound));
    assert.ok(Math.max(...values.map(Math.abs)) > 0.9 * bound);
  }
  const bert = new Linear(64, 32, { rng: new Rng(1), init: { std: 0.02, truncated: true } });
  assert.ok(bert.weight.toList().every((v) => Math.abs(v) <= 0.04));
  assert.ok(bert.bias!.toList().every((v) => v === 0));
  assert.throws(() => new Linear(2, 2), /rng/);
  const loaded = new Linear(2, 2, { init: 'zeros', bias: false });
  assert.equal(loaded.bias, null);
  assert.deepEqual([...loaded.namedParameters()].map(([n]) => n), ['weight']);
});

test('Linear gradients pass a gradient check (f64)', () => {
  const rng = new Rng(5);
  const layer = new Linear(3, 2, { rng, dtype: 'f64' });
  const x = randn([4, 3], rng, { dtype: 'f64', requiresGrad: true });
  const result = gradcheck((input, w, b) => {
    void w;
    void b;
    return layer.forward(input);
  }, [x, layer.weight, layer.bias!]);
  assert.ok(result.ok, result.failures.join('\n'));
});

test('Embedding picks rows; gradients accumulate on repeated ids', () => {
  const emb = new Embedding(5, 3, { rng: new Rng(2) });
  const ids = fromArray([4, 0, 4], [3], { dtype: 'i32' });
  const out = emb.forward(ids);
  assert.deepEqual(out.shape, [3, 3]);
  const w = emb.weight.toList();
  assert.deepEqual(out.toList(), [...w.slice(12, 15), ...w.slice(0, 3), ...w.slice(12, 15)]);
  backward(sum(out));
  assert.deepEqual(emb.weight.grad!.toList(), [1, 1, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2, 2, 2]);
});

test('LayerNorm and RMSNorm normalise the last axis', () => {
  const x = tensor([
    [1, 2, 3, 4],
    [-2, 0, 2, 8],
  ]);
  const ln = new LayerNorm(4, { eps: 0 });
  const y = ln.forward(x).toArray();
  for (let r = 0; r < 2; r++) {
    const row = Array.from(y.subarray(r * 4, r * 4 + 4));
    const mean = row.reduce((a, v) => a + v, 0) / 4;
    const variance = row.reduce((a, v) => a + (v - mean) ** 2, 0) / 4;
    assert.ok(Math.abs(mean) < 1e-6 && Math.abs(variance - 1) < 1e-5);
  }
  assert.deepEqual([...ln.namedParameters()].map(([n]) => n), ['weight', 'bias']);
  assert.deepEqual(new LayerNorm(4, { affine: false }).parameters(), []);
  const rms = new RMSNorm(4, { eps: 0 });
  const z = rms.forward(x).toArray();
  const scale = Math.sqrt((1 + 4 + 9 + 16) / 4);
  assertClose(z.subarray(0, 4), [1 / scale, 2 / scale, 3 / scale, 4 / scale], 1e-6, 'rmsNorm');
});

test('Dropout drops and rescales in training mode and is the identity in eval mode', () => {
  const layer = new Dropout(0.25, new Rng(9));
  const x = fromArray(new Float32Array(4000).fill(1), [4000]);
  const y = layer.forward(x).toList();
  const kept = y.filter((v) => v !== 0);
  assert.ok(kept.every((v) => Math.abs(v - 4 / 3) < 1e-6));
  assert.ok(Math.abs(kept.length / 4000 - 0.75) < 0.03);
  layer.eval();
  assert.equal(layer.forward(x), x);
});
