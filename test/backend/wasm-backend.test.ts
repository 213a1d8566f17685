// The wasm backend at the tensor level against the reference backend: every routed kernel on
// awkward shapes and non-contiguous views (transposed, sliced, broadcast batch axes).

import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { createWasmBackend } from '../../src/backend/wasm/backend.js';
import { referenceKernels } from '../../src/backend/reference/index.js';
import type { Backend, UnaryKind } from '../../src/ops/kernels.js';
import { createNodeWasmKernels } from '../../src/node/wasm-pool.js';
import type { WasmKernels } from '../../src/backend/wasm/kernels.js';
import { Rng } from '../../src/tensor/rng.js';
import { randn, Tensor } from '../../src/tensor/tensor.js';

let wasm: WasmKernels;
let backend: Backend;

before(async () => {
  wasm = await createNodeWasmKernels({ threads: 2 });
  backend = createWasmBackend(wasm);
});
after(() => wasm.dispose());

function assertClose(actual: Tensor, expected: Tensor, rtol: number, what: string): void {
  assert.deepEqual(actual.shape, expected.shape, `${what}: shape`);
  const a = actual.toArray();
  const e = expected.toArray();
  let scale = 0;
  for (let i = 0; i < e.length; i++) scale = Math.max(scale, Math.abs(e[i]!));
  for (let i = 0; i < e.length; i++) {
    const err = Math.abs(a[i]! - e[i]!);
    if (!(err <= rtol * Math.max(1, scale))) assert.fail(`${what}: element ${i}: ${a[i]} vs ${e[i]} (rtol ${rtol})`);
  }
}

function transposedView(t: Tensor): Tensor {
  const r = t.rank;
  const perm = [...Array(r).keys()];
  [perm[r - 2], perm[r - 1]] = [perm[r - 1]!, perm[r - 2]!];
  return new Tensor(t.data, t.dtype, perm.map((p) => t.shape[p]!), perm.map((p) => t.strides[p]!), t.offset);
}

test('matmul: shapes, transposed views, broadcast batches', () => {
  const rng = new Rng(7);
  const cases: Array<[number[], number[]]> = [
    [[1, 17], [17, 3]],
    [[127, 3], [3, 17]],
    [[64, 64], [64, 64]],
    [[3, 17, 33], [3, 33, 5]],
    [[2, 3, 17, 33], [33, 5]],
    [[4, 1, 20, 30], [3, 30, 9]],
  ];
  for (const [sa, sb] of cases) {
    const a = randn(sa, rng);
    const b = randn(sb, rng);
    const k = sa[sa.length - 1]!;
    const tol = 1e-5 * Math.sqrt(k);
    assertClose(backend.kernels.matmul(a, b), referenceKernels.matmul(a, b), tol, `matmul ${sa} x ${sb}`);
    // operands stored transposed and viewed back
    const at = transposedView(referenceKernels.copy(transposedView(a), 'f32'));
    const bt = transposedView(referenceKernels.copy(transposedView(b), 'f32'));
    assertClose(backend.kernels.matmul(at, bt), referenceKernels.matmul(a, b), tol, `matmul transposed views ${sa} x ${sb}`);
  }
  // a sliced (non-contiguous rows) operand is copied first
  const big = randn([40, 50], rng);
  const sliced = new Tensor(big.data, 'f32', [20, 25], [100, 2], 3);
  const w = randn([25, 7], rng);
  assertClose(backend.kernels.matmul(sliced, w), referenceKernels.matmul(sliced, w), 1e-4, 'matmul sliced');
});

test('unary, softmax and norms match the reference', () => {
  const rng = new Rng(8);
  const kinds: UnaryKind[] = ['exp', 'tanh', 'sigmoid', 'silu', 'geluTanh', 'geluErf', 'erf', 'relu', 'leakyRelu', 'softplus', 'neg', 'abs', 'square'];
  for (const shape of [[1], [3, 17], [127, 65]]) {
    const x = randn(shape, rng);
    for (const kind of kinds) {
      assertClose(backend.kernels.unary(kind, x, 0.1), referenceKernels.unary(kind, x, 0.1), 2e-6, `${kind} ${shape}`);
    }
    const dy = randn(shape, rng);
    for (const kind of ['tanh', 'sigmoid', 'silu', 'geluTanh', 'geluErf', 'relu', 'leakyRelu'] as const) {
      const y = referenceKernels.unary(kind, x, 0.1);
      assertClose(backend.kernels.unaryGrad(kind, x, y, dy, 0.1), referenceKernels.unaryGrad(kind, x, y, dy, 0.1), 4e-6, `${kind} backward ${shape}`);
    }
    const xt = shape.length === 2 ? transposedView(x) : x;
    assertClose(backend.kernels.unary('tanh', xt, 0), referenceKernels.unary('tanh', xt, 0), 2e-6, `tanh transposed ${shape}`);
  }
  for (const shape of [[3, 17], [127, 65], [2, 5, 300]]) {
    const x = randn(shape, rng, { std: 3 });
    const axis = shape.length - 1;
    assertClose(backend.kernels.softmax(x, axis), referenceKernels.softmax(x, axis), 2e-6, `softmax ${shape}`);
    assertClose(backend.kernels.logSoftmax(x, axis), referenceKernels.logSoftmax(x, axis), 2e-5, `logSoftmax ${shape}`);
    const d = shape[axis]!;
    const gamma = randn([d], rng);
    const beta = randn([d], rng);
    const ln = backend.kernels.layerNorm(x, gamma, beta, 1e-5);
    const lnRef = referenceKernels.layerNorm(x, gamma, beta, 1e-5);
    assertClose(ln.y, lnRef.y, 2e-5, `layerNorm ${shape}`);
    assertClose(ln.rstd, lnRef.rstd, 2e-5, `layerNorm rstd ${shape}`);
    assertClose(ln.mean!, lnRef.mean!, 2e-5, `layerNorm mean ${shape}`);
    const rms = backend.kernels.rmsNorm(x, gamma, 1e-6);
    const rmsRef = referenceKernels.rmsNorm(x, gamma, 1e-6);
    assertClose(rms.y, rmsRef.y, 2e-5, `rmsNorm ${shape}`);
    assertClose(rms.rstd, rmsRef.rstd, 2e-5, `rmsNorm rstd ${shape}`);
  }
});

test('f64 and integer inputs fall through to the reference kernels', () => {
  const rng = new Rng(9);
  const a = randn([20, 30], rng, { dtype: 'f64' });
  const b = randn([30, 10], rng, { dtype: 'f64' });
  const out = backend.kernels.matmul(a, b);
  assert.equal(out.dtype, 'f64');
  assert.deepEqual(out.toList(), referenceKernels.matmul(a, b).toList());
});

test('binary ops: same shape, scalar, trailing-row broadcast, and shapes that must fall back', () => {
  const rng = new Rng(10);
  const cases: Array<[number[], number[]]> = [
    [[300, 17], [300, 17]],
    [[300, 17], [17]],
    [[300, 17], [1, 17]],
    [[17], [300, 17]],
    [[4, 300, 17], [300, 17]],
    [[300, 17], []],
    [[600, 1], [600]],
    [[1, 600], [600, 1]],
    [[2, 3, 700], [3, 1]],
  ];
  for (const [sa, sb] of cases) {
    const a = randn(sa, rng);
    const b = randn(sb, rng, { mean: 3 });
    for (const kind of ['add', 'sub', 'mul', 'div', 'maximum', 'minimum'] as const) {
      assertClose(backend.kernels.binary(kind, a, b), referenceKernels.binary(kind, a, b), 1e-6, `${kind} ${sa} ${sb}`);
    }
  }
});

test('conv1d and both gradients: depthwise, grouped and dense, odd and even kernels, any left padding', () => {
  const rng = new Rng(11);
  const cases: Array<{ b: number; l: number; cin: number; cout: number; groups: number; k: number; pad: number }> = [
    { b: 2, l: 33, cin: 64, cout: 64, groups: 4, k: 7, pad: 3 },
    { b: 3, l: 17, cin: 48, cout: 48, groups: 48, k: 7, pad: 3 },
    { b: 1, l: 40, cin: 32, cout: 64, groups: 1, k: 4, pad: 1 },
    { b: 2, l: 29, cin: 32, cout: 32, groups: 2, k: 5, pad: 4 },
    { b: 2, l: 64, cin: 32, cout: 16, groups: 16, k: 3, pad: 0 },
  ];
  for (const c of cases) {
    const what = JSON.stringify(c);
    const x = randn([c.b, c.l, c.cin], rng);
    const w = randn([c.cout, c.cin / c.groups, c.k], rng);
    const dy = randn([c.b, c.l, c.cout], rng);
    const tol = 1e-5 * Math.sqrt((c.cin / c.groups) * c.k * c.b * c.l);
    assertClose(backend.kernels.conv1d(x, w, c.groups, c.pad), referenceKernels.conv1d(x, w, c.groups, c.pad), tol, `conv1d ${what}`);
    assertClose(
      backend.kernels.conv1dGradInput(dy, w, c.groups, c.pad, x.shape),
      referenceKernels.conv1dGradInput(dy, w, c.groups, c.pad, x.shape),
      tol,
      `conv1dGradInput ${what}`,
    );
    assertClose(
      backend.kernels.conv1dGradWeight(dy, x, c.groups, c.pad, w.shape),
      referenceKernels.conv1dGradWeight(dy, x, c.groups, c.pad, w.shape),
      tol,
      `conv1dGradWeight ${what}`,
    );
  }
});
