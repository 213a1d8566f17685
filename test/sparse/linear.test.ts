// The block-sparse linear: gradchecks in f64 against central differences, the op against a dense
// linear of the expanded weight, Linear with blockSparseLayout (shapes, checkpoint names, the pattern
// round trip through a state dict, training lowers a loss), the wasm products against the reference
// through the autograd op, and the dense gradient captured for RigL.

import assert from 'node:assert/strict';
import { after, describe, test } from 'node:test';
import { withBackend } from '../../src/backend/backend.js';
import { withBlockSparse } from '../../src/backend/reference/block-sparse.js';
import { createWasmBackend } from '../../src/backend/wasm/backend.js';
import { WasmBlockSparse } from '../../src/backend/wasm/block-sparse.js';
import { WasmKernels } from '../../src/backend/wasm/kernels.js';
import { backward } from '../../src/autograd/engine.js';
import { gradcheck } from '../../src/autograd/gradcheck.js';
import { blockSparseLinear } from '../../src/autograd/ops/block-sparse.js';
import { mseLoss } from '../../src/autograd/ops/loss.js';
import { linear } from '../../src/autograd/ops/linalg.js';
import { BlockSparsePattern } from '../../src/nn/block-sparse.js';
import { blockSparseLayout, isBlockSparseLayout } from '../../src/nn/block-sparse-layout.js';
import { Linear } from '../../src/nn/layers.js';
import { decodeCheckpoint, encodeCheckpoint } from '../../src/io/checkpoint.js';
import { Adam } from '../../src/optim/adam.js';
import { createNodeThreadPool } from '../../src/node/wasm-pool.js';
import { Rng } from '../../src/tensor/rng.js';
import { randn, setRequiresGrad, Tensor } from '../../src/tensor/tensor.js';

const pool = await createNodeThreadPool({ threads: 2 });
const wasm = await WasmKernels.create({ relaxedSimd: false, pool, threads: 2, initialArenaBytes: 1 << 22 });
const products = new WasmBlockSparse(wasm, { forceParallel: true });
const wasmBackend = withBlockSparse(createWasmBackend(wasm), products);

after(() => {
  wasm.dispose();
  pool.dispose();
});

function leaf(shape: number[], rng: Rng, dtype: 'f32' | 'f64' = 'f64'): Tensor {
  return setRequiresGrad(randn(shape, rng, { dtype }));
}

describe('blockSparseLinear gradcheck (f64)', () => {
  for (const block of [1, 2, 4]) {
    for (const [rows, cols, count] of [[8, 12, 3], [12, 8, 1], [4, 4, 1]] as const) {
      if (rows % block || cols % block) continue;
      const total = (rows / block) * (cols / block);
      test(`b${block} W [${rows}, ${cols}], ${Math.min(count, total)} active blocks, with bias, x rank 3`, () => {
        const rng = new Rng(rows * 100 + cols + block);
        const pattern = BlockSparsePattern.random(rows, cols, block, Math.min(count, total), rng);
        const x = leaf([2, 3, cols], rng);
        const values = leaf([pattern.activeBlocks, block, block], rng);
        const bias = leaf([rows], rng);
        const result = gradcheck((a, v, b) => blockSparseLinear(a, v, pattern, b), [x, values, bias]);
        assert.ok(result.ok, result.failures.join('\n'));
      });
    }
  }
});

describe('blockSparseLinear', () => {
  test('equals a dense linear of the expanded weight, gradients included (values grad = dense grad at active blocks)', () => {
    const rng = new Rng(2);
    const pattern = BlockSparsePattern.random(16, 12, 4, 5, rng);
    const x = leaf([7, 12], rng);
    const values = leaf([5, 4, 4], rng);
    const target = randn([7, 16], rng, { dtype: 'f64' });
    const y = blockSparseLinear(x, values, pattern);
    backward(mseLoss(y, target));
    const dense = setRequiresGrad(new Tensor(pattern.toDense(values.data as Float64Array), 'f64', [16, 12]));
    const x2 = setRequiresGrad(new Tensor((x.data as Float64Array).slice(), 'f64', [7, 12]));
    const y2 = linear(x2, dense);
    backward(mseLoss(y2, target));
    for (let i = 0; i < y.size; i++) assert.ok(Math.abs(y.data[i]! - y2.data[i]!) < 1e-12);
    for (let i = 0; i < x.size; i++) assert.ok(Math.abs(x.grad!.data[i]! - x2.grad!.data[i]!) < 1e-12);
    const want = pattern.valuesFromDense(dense.grad!.data as Float64Array);
    for (let i = 0; i < want.length; i++) assert.ok(Math.abs(values.grad!.data[i]! - want[i]!) < 1e-12);
  });

  test('bad inputs are one-line errors', () => {
    const rng = new Rng(1);
    const pattern = BlockSparsePattern.random(8, 8, 4, 2, rng);
    assert.throws(() => blockSparseLinear(randn([2, 8], rng), randn([3, 4, 4], rng), pattern), /values \[3, 4, 4\] hold 48 elements, the pattern's active blocks need 32/);
    assert.throws(() => blockSparseLinear(randn([2, 6], rng), randn([2, 4, 4], rng), pattern), /does not end in the weight's 8 input features/);
    assert.throws(() => blockSparseLinear(randn([2, 8], rng, { dtype: 'f64' }), randn([2, 4, 4], rng), pattern), /share one float dtype/);
  });

  test('on the wasm backend (f32) it equals the reference kernels, forward and backward, for every block size', () => {
    for (const block of [1, 4, 8, 16]) {
      const rng = new Rng(block);
      const pattern = BlockSparsePattern.random(64, 32, block, Math.max(1, Math.round(0.3 * (64 / block) * (32 / block))), rng);
      const xData = randn([9, 32], rng).data as Float32Array;
      const vData = randn([pattern.activeBlocks, block, block], rng).data as Float32Array;
      const run = (): { y: Float32Array; dx: Float32Array; dv: Float32Array } => {
        const x = setRequiresGrad(new Tensor(xData.slice(), 'f32', [9, 32]));
        const v = setRequiresGrad(new Tensor(vData.slice(), 'f32', [pattern.activeBlocks, block, block]));
        const y = blockSparseLinear(x, v, pattern);
        backward(y, new Tensor(new Float32Array(y.size).map((_, i) => Math.sin(i)), 'f32', y.shape));
        return { y: y.data as Float32Array, dx: x.grad!.data as Float32Array, dv: v.grad!.data as Float32Array };
      };
      const before = products.calls;
      const fast = withBackend(wasmBackend, run);
      assert.equal(products.calls - before, 3, `b${block}: the wasm products ran (forward, dx, dValues)`);
      const slow = run();
      for (const key of ['y', 'dx', 'dv'] as const) {
        for (let i = 0; i < slow[key].length; i++) {
          assert.ok(Math.abs(fast[key][i]! - slow[key][i]!) <= 1e-4 * (1 + Math.abs(slow[key][i]!)), `b${block} ${key}[${i}]`);
        }
      }
    }
  });
});

describe('Linear with blockSparseLayout', () => {
  test('weight is the active blocks, the pattern lives in buffers, checkpoint names are unchanged', () => {
    const layout = blockSparseLayout({ block: 4, density: 0.25 });
    const lin = new Linear(16, 32, { layout, rng: new Rng(3) });
    assert.ok(isBlockSparseLayout(lin.layout));
    assert.deepEqual(lin.weight.shape, [8, 4, 4]);
    assert.deepEqual([...lin.stateDict().keys()], ['weight', 'bias', 'block_row_ptr', 'block_col_idx']);
    assert.equal(layout.pattern.activeBlocks, 8);
    assert.equal(layout.pattern.colIdx, lin.stateDict().get('block_col_idx')!.data);
    // The drawn pattern is not the placeholder (first blocks in row-major order).
    assert.notDeepEqual([...layout.pattern.positions()], [0, 1, 2, 3, 4, 5, 6, 7]);
    assert.throws(() => new Linear(16, 32, { layout, rng: new Rng(3) }), /create one layout per layer/);
    assert.throws(() => new Linear(18, 32, { layout: blockSparseLayout({ block: 4, density: 0.5 }), rng: new Rng(3) }), /block size 4 does not divide/);
    assert.throws(() => blockSparseLayout({ block: 4, density: 0 }), /sparsity in \[0, 1\)/);
  });

  test('the same seed gives the same pattern and values; a state dict restores pattern and values into a zeros-init layer', () => {
    const a = new Linear(16, 32, { layout: blockSparseLayout({ block: 4, density: 0.25 }), rng: new Rng(5) });
    const b = new Linear(16, 32, { layout: blockSparseLayout({ block: 4, density: 0.25 }), rng: new Rng(5) });
    assert.deepEqual(a.weight.data, b.weight.data);
    const restored = new Linear(16, 32, { layout: blockSparseLayout({ block: 4, density: 0.25 }), init: 'zeros' });
    restored.loadStateDict(a.stateDict());
    const x = randn([3, 16], new Rng(9));
    assert.deepEqual(restored.forward(x).data, a.forward(x).data);
    const pa = (a.layout as ReturnType<typeof blockSparseLayout>).pattern;
    const pr = (restored.layout as ReturnType<typeof blockSparseLayout>).pattern;
    assert.deepEqual(pr.positions(), pa.positions());
  });

  test('the pattern survives the training checkpoint codec (F32 tensors: block indices are exact below 2^24)', () => {
    const a = new Linear(64, 32, { layout: blockSparseLayout({ block: 1, density: 0.3 }), rng: new Rng(6) });
    const model = new Map([...a.stateDict()].map(([k, t]) => [k, { shape: t.shape, data: Float32Array.from(t.data) }]));
    const bytes = encodeCheckpoint({ model, optimizer: new Map(), state: { step: 3, rng: {}, optimizer: {}, user: {} } });
    const decoded = decodeCheckpoint(bytes, 'test.safetensors');
    const restored = new Linear(64, 32, { layout: blockSparseLayout({ block: 1, density: 0.3 }), init: 'zeros' });
    restored.loadStateDict(decoded.model);
    const pattern = (restored.layout as ReturnType<typeof blockSparseLayout>).pattern;
    pattern.check();
    assert.deepEqual(pattern.colIdx, (a.layout as ReturnType<typeof blockSparseLayout>).pattern.colIdx);
    const x = randn([2, 64], new Rng(1));
    assert.deepEqual(restored.forward(x).data, a.forward(x).data);
  });

  test('trains: Adam lowers a regression loss through the sparse weight', () => {
    const rng = new Rng(7);
    const lin = new Linear(16, 8, { layout: blockSparseLayout({ block: 4, density: 0.5 }), rng });
    const x = randn([32, 16], rng);
    const target = randn([32, 8], rng);
    const opt = new Adam(lin.namedParameters(), { lr: 0.05 });
    const first = mseLoss(lin.forward(x), target).item();
    let last = first;
    for (let i = 0; i < 40; i++) {
      opt.zeroGrad();
      const loss = mseLoss(lin.forward(x), target);
      backward(loss);
      opt.step();
      last = loss.item();
    }
    assert.ok(last < 0.8 * first, `loss ${first} -> ${last}`);
  });

  test('captureDenseGradient adds dyᵀ x (the dense dL/dW) during backward, and only then', () => {
    const rng = new Rng(8);
    const layout = blockSparseLayout({ block: 2, density: 0.5 });
    const lin = new Linear(6, 4, { layout, rng, bias: false, dtype: 'f64' });
    const x = randn([5, 6], rng, { dtype: 'f64' });
    const target = randn([5, 4], rng, { dtype: 'f64' });
    backward(mseLoss(lin.forward(x), target));
    assert.equal(layout.denseGradient, null);
    layout.captureDenseGradient = true;
    lin.weight.grad = null;
    backward(mseLoss(lin.forward(x), target));
    const g = layout.denseGradient!;
    assert.deepEqual(g.shape, [4, 6]);
    // At the active blocks the dense gradient is the values' gradient.
    const atActive = layout.pattern.valuesFromDense(g.toArray() as Float64Array);
    for (let i = 0; i < atActive.length; i++) assert.ok(Math.abs(atActive[i]! - lin.weight.grad!.data[i]!) < 1e-12);
    // And it is nonzero elsewhere (the information RigL regrows by).
    const mask = layout.pattern.mask();
    let outside = 0;
    for (let i = 0; i < 4; i++) for (let j = 0; j < 6; j++) if (!mask[(i >> 1) * 3 + (j >> 1)]) outside += Math.abs(g.data[i * 6 + j]!);
    assert.ok(outside > 0);
  });
});
