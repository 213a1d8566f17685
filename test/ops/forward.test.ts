// Known-answer tests for the reference kernels and the ops built on them: hand-computed values or an
// independent direct formula on tiny inputs.

import assert from 'node:assert/strict';
import { describe, test } from 'node:test';

import * as F from '../../src/autograd/ops/index.js';
import { backward } from '../../src/autograd/engine.js';
import { referenceKernels as K } from '../../src/backend/reference/index.js';
import { UNARY_KINDS } from '../../src/ops/kernels.js';
import { bf16BitsToF32, f16BitsToF32, f32ToBf16Bits, f32ToF16Bits } from '../../src/tensor/dtype.js';
import { Rng } from '../../src/tensor/rng.js';
import { fromArray, ones, randn, setRequiresGrad, Tensor, tensor } from '../../src/tensor/tensor.js';
import { assertClose, f64, i32 } from './helpers.js';

describe('elementwise kernels', () => {
  test('unary known values', () => {
    const at = (kind: (typeof UNARY_KINDS)[number], x: number, alpha = 0): number => K.unary(kind, f64([x]), alpha).item();
    assertClose([at('exp', 0), at('log', Math.E), at('sqrt', 9), at('rsqrt', 4), at('reciprocal', -4)], [1, 1, 3, 0.5, -0.25]);
    assertClose([at('sigmoid', 0), at('tanh', 0), at('softplus', 0), at('softsign', 1), at('silu', 1)], [0.5, 0, Math.LN2, 0.5, 1 / (1 + Math.exp(-1))], 1e-15);
    assertClose([at('relu', -2), at('relu', 2), at('leakyRelu', -2, 0.1), at('elu', -1, 2), at('abs', -3), at('sign', -3), at('sign', 0)], [0, 2, -0.2, 2 * (Math.exp(-1) - 1), 3, -1, 0], 1e-15);
    // erf and the exact GELU against published values (Abramowitz & Stegun; PyTorch's gelu).
    assertClose([at('erf', 0.5), at('erf', -1), at('erf', 2)], [0.5204998778130465, -0.8427007929497149, 0.9953222650189527], 1e-15);
    assertClose([at('geluErf', 1), at('geluErf', -1), at('geluTanh', 1)], [0.8413447460685429, -0.15865525393145707, 0.8411919906082768], 1e-12);
  });

  test('unaryGrad matches central differences for every kind', () => {
    const xs = [-1.3, -0.4, 0.7, 1.9];
    for (const kind of UNARY_KINDS) {
      const domain = kind === 'log' || kind === 'sqrt' || kind === 'rsqrt' ? xs.map(Math.abs) : xs;
      const x = f64(domain);
      const y = K.unary(kind, x, 0.3);
      const analytic = K.unaryGrad(kind, x, y, f64(domain.map(() => 1)), 0.3);
      const h = 1e-6;
      const numeric = domain.map((v) => (K.unary(kind, f64([v + h]), 0.3).item() - K.unary(kind, f64([v - h]), 0.3).item()) / (2 * h));
      assertClose(analytic, numeric, 1e-7, 1e-6, kind);
    }
  });

  test('binary broadcasting, comparisons and NaN in maximum', () => {
    const a = f64([1, 2], [2, 1]);
    const b = f64([10, 20, 30], [3]);
    const sum = K.binary('add', a, b);
    assert.deepEqual(sum.shape, [2, 3]);
    assertClose(sum, [11, 21, 31, 12, 22, 32]);
    assertClose(K.binary('sub', b, a), [9, 19, 29, 8, 18, 28]);
    assertClose(K.binary('pow', f64([2, 3]), f64([3])), [8, 27]);
    const lt = K.binary('lt', f64([1, 5, 3]), f64([3]));
    assert.equal(lt.dtype, 'f64');
    assertClose(lt, [1, 0, 0]);
    const ints = K.binary('ge', i32([1, 5, 3]), i32([3]));
    assert.equal(ints.dtype, 'i32');
    assert.deepEqual(ints.toList(), [0, 1, 1]);
    assertClose(K.binary('maximum', f64([NaN, 1, 2]), f64([0, NaN, 1])), [NaN, NaN, 2]);
  });

  test('where broadcasts condition and branches', () => {
    const cond = f64([1, 0], [2, 1]);
    assertClose(K.where(cond, f64([1, 2, 3]), f64([-1])), [1, 2, 3, -1, -1, -1]);
  });
});

describe('reductions, copies and matmul', () => {
  test('sum/max/min over axes, keepDims', () => {
    const x = f64([1, 5, 3, 4, 2, 6], [2, 3]);
    assertClose(K.reduce('sum', x, [0], false), [5, 7, 9]);
    assertClose(K.reduce('max', x, [1], false), [5, 6]);
    const m = K.reduce('min', x, [0, 1], true);
    assert.deepEqual(m.shape, [1, 1]);
    assertClose(m, [1]);
    // over a transposed view
    const xt = new Tensor(x.data, 'f64', [3, 2], [1, 3], 0);
    assertClose(K.reduce('sum', xt, [1], false), [5, 7, 9]);
  });

  test('argmax/argmin: first occurrence on ties, NaN wins like max', () => {
    assert.deepEqual(K.argReduce('argmax', f64([1, 3, 3, 0]), 0, false).toList(), [1]);
    assert.deepEqual(K.argReduce('argmin', f64([2, 0, 1, 0], [2, 2]), 0, false).toList(), [1, 0]);
    assert.deepEqual(K.argReduce('argmax', f64([1, NaN, 3, NaN]), 0, false).toList(), [1]);
    assert.deepEqual(F.argmax(f64([1, 4, 2, 9, 0, 9], [2, 3])).toList(), [1, 0]);
  });

  test('copy converts dtypes; copyInto writes through strides with broadcasting', () => {
    assert.deepEqual(K.copy(f64([1.7, -1.7, 2.5]), 'i32').toList(), [1, -1, 2]);
    const dst = new Tensor(new Float64Array(6), 'f64', [2, 3]);
    const column = new Tensor(dst.data, 'f64', [2], [3], 1);
    K.copyInto(column, f64([7]));
    assert.deepEqual(dst.toList(), [0, 7, 0, 0, 7, 0]);
  });

  test('concat along an inner axis', () => {
    const out = K.concat([f64([1, 2], [2, 1]), f64([3, 4, 5, 6], [2, 2])], 1);
    assert.deepEqual(out.shape, [2, 3]);
    assertClose(out, [1, 3, 4, 2, 5, 6]);
  });

  test('matmul, including transposed views and broadcast batches', () => {
    const a = f64([1, 2, 3, 4, 5, 6], [2, 3]);
    const b = f64([7, 8, 9, 10, 11, 12], [3, 2]);
    assertClose(K.matmul(a, b), [58, 64, 139, 154]);
    const bt = new Tensor(f64([7, 9, 11, 8, 10, 12]).data, 'f64', [3, 2], [1, 3], 0);
    assertClose(K.matmul(a, bt), [58, 64, 139, 154]);
    const batch = K.matmul(f64([1, 0, 0, 1, 2, 0, 0, 2], [2, 2, 2]), f64([1, 2, 3, 4], [2, 2]));
    assertClose(batch, [1, 2, 3, 4, 2, 4, 6, 8]);
  });
});

describe('softmax', () => {
  test('rows sum to 1; -inf entries get 0; a fully masked row gives zeros, not NaN', () => {
    const x = f64([1, 2, 3, -Infinity, 0, -Infinity, -Infinity, -Infinity, -Infinity], [3, 3]);
    const y = K.softmax(x, 1);
    const e = [Math.exp(-2), Math.exp(-1), 1];
    const z = e[0]! + e[1]! + e[2]!;
    assertClose(y, [e[0]! / z, e[1]! / z, e[2]! / z, 0, 1, 0, 0, 0, 0], 1e-15);
    const logY = K.logSoftmax(x, 1).toList();
    assertClose(logY.slice(0, 3), [Math.log(e[0]! / z), Math.log(e[1]! / z), Math.log(e[2]! / z)], 1e-14);
    assert.deepEqual(logY.slice(6), [-Infinity, -Infinity, -Infinity]);
    // along axis 0 of a transposed view: columns [0, 0] and [ln 3, 0]
    const cols = K.softmax(new Tensor(f64([0, 0, Math.log(3), 0]).data, 'f64', [2, 2], [1, 2], 0), 0);
    assertClose(cols, [0.5, 0.75, 0.5, 0.25], 1e-15);
  });

  test('softmax with a causal mask through the op', () => {
    const mask = f64([0, -Infinity, 0, 0], [2, 2]);
    const y = F.softmax(f64([5, 1, 2, 2], [2, 2]), -1, { mask });
    assertClose(y, [1, 0, 0.5, 0.5], 1e-15);
  });
});

describe('normalisation', () => {
  test('layer norm: each row has mean 0 and variance 1; gamma and beta apply per feature', () => {
    const x = f64([1, 2, 3, 4, 10, 20, 30, 50], [2, 4]);
    const { y, mean, rstd } = K.layerNorm(x, null, null, 0);
    for (let r = 0; r < 2; r++) {
      const row = y.toList().slice(4 * r, 4 * r + 4);
      const m = row.reduce((s, v) => s + v, 0) / 4;
      const v = row.reduce((s, u) => s + (u - m) ** 2, 0) / 4;
      assertClose([m, v], [0, 1], 1e-12);
    }
    assertClose(mean!, [2.5, 27.5]);
    assertClose(rstd, [1 / Math.sqrt(1.25), 1 / Math.sqrt(218.75)], 1e-15);
    const affine = F.layerNorm(x, f64([1, 2, 3, 4]), f64([0, 0, 0, 1]), 0);
    const plain = y.toList();
    assertClose(affine, plain.map((v, i) => v * [1, 2, 3, 4][i % 4]! + (i % 4 === 3 ? 1 : 0)), 1e-12);
  });

  test('rms norm: x / sqrt(mean(x^2) + eps) * gamma', () => {
    const y = F.rmsNorm(f64([3, 4, 0, 0], [2, 2]), f64([1, 2]), 1e-6);
    const r = 1 / Math.sqrt(12.5 + 1e-6);
    assertClose(y, [3 * r, 8 * r, 0, 0], 1e-12);
  });
});

/** Direct 1-D cross-correlation with explicit zero padding: the definition, written independently. */
function directConv1d(x: number[], [b, l, cin]: number[], w: number[], [cout, cinPerGroup, k]: number[], groups: number, padLeft: number): number[] {
  const padded = (bi: number, t: number, c: number): number => {
    const s = t - padLeft;
    return s < 0 || s >= l! ? 0 : x[(bi * l! + s) * cin! + c]!;
  };
  const out: number[] = [];
  const coutPerGroup = cout! / groups;
  for (let bi = 0; bi < b!; bi++) {
    for (let t = 0; t < l!; t++) {
      for (let o = 0; o < cout!; o++) {
        const g = Math.floor(o / coutPerGroup);
        let acc = 0;
        for (let c = 0; c < cinPerGroup!; c++) for (let j = 0; j < k!; j++) acc += padded(bi, t + j, g * cinPerGroup! + c) * w[(o * cinPerGroup! + c) * k! + j]!;
        out.push(acc);
      }
    }
  }
  return out;
}

describe('conv1d', () => {
  test('hand-computed: odd kernel centred, even kernel pads the extra zero after (PyTorch padding="same")', () => {
    const x = f64([1, 2, 3], [1, 3, 1]);
    assertClose(F.conv1d(x, f64([1, 0, -1], [1, 1, 3])), [-2, -2, 2]);
    // K = 2: no zero before, one after: y[t] = x[t] + 10 x[t+1]
    assertClose(F.conv1d(x, f64([1, 10], [1, 1, 2])), [21, 32, 3]);
    // K = 4: one zero before, two after: y[t] = x[t-1] + 10 x[t] + 100 x[t+1] + 1000 x[t+2]
    assertClose(F.conv1d(x, f64([1, 10, 100, 1000], [1, 1, 4])), [3210, 321, 32]);
    // causal: all K - 1 zeros before
    assertClose(F.conv1d(x, f64([1, 10, 100], [1, 1, 3]), null, { padding: 2 }), [100, 210, 321]);
    // bias per output channel
    assertClose(F.conv1d(x, f64([1, 2], [2, 1, 1]), f64([0.5, -1])), [1.5, 1, 2.5, 3, 3.5, 5]);
  });

  test('dense, grouped and depthwise against the direct formula', () => {
    const rng = new Rng(3);
    const configs: Array<{ xs: number[]; ws: number[]; groups: number; pad: 'same' | number }> = [
      { xs: [2, 5, 4], ws: [3, 4, 3], groups: 1, pad: 'same' },
      { xs: [1, 6, 4], ws: [6, 2, 2], groups: 2, pad: 'same' },
      { xs: [2, 4, 3], ws: [3, 1, 5], groups: 3, pad: 'same' },
      { xs: [1, 5, 2], ws: [4, 1, 3], groups: 2, pad: 2 },
    ];
    for (const { xs, ws, groups, pad } of configs) {
      const x = randn(xs, rng, { dtype: 'f64' });
      const w = randn(ws, rng, { dtype: 'f64' });
      const padLeft = pad === 'same' ? Math.floor((ws[2]! - 1) / 2) : pad;
      const expected = directConv1d(x.toList(), xs, w.toList(), ws, groups, padLeft);
      assertClose(F.conv1d(x, w, null, { groups, padding: pad }), expected, 1e-12, 0, `conv ${xs} ${ws} groups ${groups}`);
    }
  });

  test('rejects bad padding and channel counts', () => {
    const x = f64([1, 2, 3, 4], [1, 2, 2]);
    assert.throws(() => F.conv1d(x, f64([1, 2, 3, 4, 5, 6], [1, 2, 3]), null, { padding: 3 }), /left padding/);
    assert.throws(() => F.conv1d(x, f64([1, 2, 3], [3, 1, 1]), null, { groups: 2 }), /divisible/);
  });
});

describe('indexing', () => {
  test('gather follows torch.gather', () => {
    // torch.gather(torch.tensor([[1, 2], [3, 4]]), 1, torch.tensor([[0, 0], [1, 0]])) == [[1, 1], [4, 3]]
    assertClose(F.gather(f64([1, 2, 3, 4], [2, 2]), 1, i32([0, 0, 1, 0], [2, 2])), [1, 1, 4, 3]);
    // axis 0, index narrower than x on axis 1
    assertClose(F.gather(f64([1, 2, 3, 4, 5, 6], [2, 3]), 0, i32([1, 0], [1, 2])), [4, 2]);
    assert.throws(() => F.gather(f64([1, 2], [1, 2]), 1, i32([0, 0], [2, 1])), /larger/);
    assert.throws(() => F.gather(f64([1, 2], [1, 2]), 1, i32([2], [1, 1])), /out of range/);
  });

  test('scatterAdd follows torch.scatter_add (docs example, src larger than index)', () => {
    // src = torch.ones((2, 5)); index = torch.tensor([[0, 1, 2, 0, 0]])
    // torch.zeros(3, 5).scatter_add(0, index, src) == [[1, 0, 0, 1, 1], [0, 1, 0, 0, 0], [0, 0, 1, 0, 0]]
    const zeros = f64(new Array<number>(15).fill(0), [3, 5]);
    const src = ones([2, 5], { dtype: 'f64' });
    assertClose(F.scatterAdd(zeros, 0, i32([0, 1, 2, 0, 0], [1, 5]), src), [1, 0, 0, 1, 1, 0, 1, 0, 0, 0, 0, 0, 1, 0, 0]);
    // index = [[0, 1, 2, 0, 0], [0, 1, 2, 2, 2]] == [[2, 0, 0, 1, 1], [0, 2, 0, 0, 0], [0, 0, 2, 1, 1]]
    assertClose(F.scatterAdd(zeros, 0, i32([0, 1, 2, 0, 0, 0, 1, 2, 2, 2], [2, 5]), src), [2, 0, 0, 1, 1, 0, 2, 0, 0, 0, 0, 0, 2, 1, 1]);
    // src with distinct values read at the index's own positions
    const s = f64([1, 2, 3, 4, 5, 6], [2, 3]);
    assertClose(F.scatterAdd(f64([0, 0, 0, 0], [2, 2]), 1, i32([1, 1, 0, 1], [2, 2]), s), [0, 3, 4, 5]);
  });

  test('indexSelect and indexAdd', () => {
    const x = f64([1, 2, 3, 4, 5, 6], [3, 2]);
    assertClose(K.indexSelect(x, 0, i32([2, 0, 2])), [5, 6, 1, 2, 5, 6]);
    assertClose(K.indexSelect(x, 1, i32([1])), [2, 4, 6]);
    const added = K.indexAdd([3, 2], 0, i32([2, 0, 2]), f64([1, 1, 2, 2, 3, 3], [3, 2]));
    assertClose(added, [2, 2, 0, 0, 4, 4]);
  });

  test('embedding with repeated ids: rows looked up, gradients accumulate per id', () => {
    const weight = setRequiresGrad(f64([0, 1, 10, 11, 20, 21], [3, 2]));
    const ids = i32([2, 0, 2, 2], [2, 2]);
    const out = F.embedding(weight, ids);
    assert.deepEqual(out.shape, [2, 2, 2]);
    assertClose(out, [20, 21, 0, 1, 20, 21, 20, 21]);
    backward(F.sum(out));
    assertClose(weight.grad!, [1, 1, 0, 0, 3, 3]);
  });

  test('topk: sorted, ties keep the lower index first, NaN counts as largest', () => {
    const x = f64([1, 3, 3, NaN, 2, -1], [1, 6]);
    const top = F.topk(x, 4);
    assert.deepEqual(top.indices.toList(), [3, 1, 2, 4]);
    assertClose(top.values, [NaN, 3, 3, 2]);
    const bottom = F.topk(x, 3, -1, false);
    assert.deepEqual(bottom.indices.toList(), [5, 0, 4]);
    const cols = F.topk(f64([1, 9, 5, 2, 3, 7], [3, 2]), 2, 0);
    assert.deepEqual(cols.indices.shape, [2, 2]);
    assert.deepEqual(cols.indices.toList(), [1, 0, 2, 2]);
    assertClose(cols.values, [5, 9, 3, 7]);
  });

  test('topk values carry gradient to the chosen positions only', () => {
    const x = setRequiresGrad(f64([4, 1, 3, 2]));
    backward(F.sum(F.mul(F.topk(x, 2).values, f64([10, 100]))));
    assertClose(x.grad!, [10, 0, 100, 0]);
  });
});

describe('rotary embeddings', () => {
  const positions = [0, 1, 3];
  const dim = 4;
  const x = f64([1, 2, 3, 4, -1, 0.5, 2, -3, 0.25, -2, 1.5, 1], [3, 4]);

  test('tables: theta_i = pos * base^(-2i/d)', () => {
    const { cos, sin } = F.ropeTables([2], 4, 100, 'f64');
    assertClose(cos, [Math.cos(2), Math.cos(0.2)], 1e-15);
    assertClose(sin, [Math.sin(2), Math.sin(0.2)], 1e-15);
  });

  test('hand-computed: a unit vector rotates by theta', () => {
    const { cos, sin } = F.ropeTables([1], 2, 10000, 'f64');
    assertClose(F.rope(f64([1, 0], [1, 2]), { cos, sin }, { layout: 'interleaved' }), [Math.cos(1), Math.sin(1)], 1e-15);
    assertClose(F.rope(f64([0, 1], [1, 2]), { cos, sin }, { layout: 'half' }), [-Math.sin(1), Math.cos(1)], 1e-15);
  });

  test('interleaved matches llama2.c', () => {
    // llama2.c run.c: for i in 0..dim step 2: freq = 1 / 10000^(i / head_size); val = pos * freq;
    // v0 = vec[i], v1 = vec[i+1]; vec[i] = v0 cos - v1 sin; vec[i+1] = v0 sin + v1 cos
    const expected: number[] = [];
    positions.forEach((pos, s) => {
      const vec = x.toList().slice(s * dim, s * dim + dim);
      for (let i = 0; i < dim; i += 2) {
        const val = pos * (1 / Math.pow(10000, i / dim));
        const [v0, v1] = [vec[i]!, vec[i + 1]!];
        vec[i] = v0 * Math.cos(val) - v1 * Math.sin(val);
        vec[i + 1] = v0 * Math.sin(val) + v1 * Math.cos(val);
      }
      expected.push(...vec);
    });
    assertClose(F.rope(x, F.ropeTables(positions, dim, 10000, 'f64'), { layout: 'interleaved' }), expected, 1e-14);
  });

  test('half matches Hugging Face rotate_half', () => {
    // inv_freq = 1 / base^(arange(0, d, 2) / d); emb = cat(freqs, freqs); q * cos + rotate_half(q) * sin,
    // rotate_half(q) = cat(-q[d/2:], q[:d/2])
    const expected: number[] = [];
    positions.forEach((pos, s) => {
      const q = x.toList().slice(s * dim, s * dim + dim);
      const freqs = [0, 2].map((j) => pos / Math.pow(10000, j / dim));
      const emb = [...freqs, ...freqs];
      const rotated = [...q.slice(dim / 2).map((v) => -v), ...q.slice(0, dim / 2)];
      expected.push(...q.map((v, i) => v * Math.cos(emb[i]!) + rotated[i]! * Math.sin(emb[i]!)));
    });
    assertClose(F.rope(x, F.ropeTables(positions, dim, 10000, 'f64'), { layout: 'half' }), expected, 1e-14);
  });

  test('the layouts agree under the feature permutation (2i, 2i+1) <-> (i, i + d/2)', () => {
    const rng = new Rng(11);
    const d = 6;
    const xs = randn([2, 3, d], rng, { dtype: 'f64' });
    const tables = F.ropeTables([4, 0, 9], d, 500, 'f64');
    // half-layout feature j holds interleaved feature perm[j]
    const perm = [0, 2, 4, 1, 3, 5];
    const permuted = F.indexSelect(xs, 2, i32(perm));
    const viaHalf = F.rope(permuted, tables, { layout: 'half' });
    const viaInterleaved = F.indexSelect(F.rope(xs, tables, { layout: 'interleaved' }), 2, i32(perm));
    assertClose(viaHalf, viaInterleaved.toList(), 1e-14);
  });

  test('partial rotary leaves the tail untouched; inverse rotation restores x', () => {
    const tables = F.ropeTables([5, 6, 7], 2, 10, 'f64');
    const y = F.rope(x, tables, { layout: 'half', rotaryDim: 2 });
    const rows = [0, 1, 2].map((r) => y.toList().slice(4 * r + 2, 4 * r + 4));
    assertClose(rows.flat(), [3, 4, 2, -3, 1.5, 1]);
    const back = K.rope(y, tables.cos, tables.sin, 'half', 2, true);
    assertClose(back, x.toList(), 1e-14);
  });
});

describe('losses', () => {
  const logits = f64([2, 1, 0.5, 0, -1, 3, 1, 1, 1], [3, 3]);
  const logSoftmaxRow = (row: number[]): number[] => {
    const lse = Math.log(row.reduce((s, v) => s + Math.exp(v), 0));
    return row.map((v) => v - lse);
  };
  const rows = [0, 1, 2].map((r) => logSoftmaxRow(logits.toList().slice(3 * r, 3 * r + 3)));

  test('cross-entropy is -log softmax at the target, averaged over non-ignored targets', () => {
    const targets = i32([0, -100, 2]);
    const expected = -(rows[0]![0]! + rows[2]![2]!) / 2;
    assertClose(F.crossEntropy(logits, targets), [expected], 1e-14);
    assertClose(F.crossEntropy(logits, targets, { reduction: 'sum' }), [2 * expected], 1e-14);
    assertClose(F.crossEntropy(logits, targets, { reduction: 'none' }), [-rows[0]![0]!, 0, -rows[2]![2]!], 1e-14);
    assertClose(F.crossEntropy(logits, i32([1, 1, 5]), { ignoreIndex: 5 }), [-(rows[0]![1]! + rows[1]![1]!) / 2], 1e-14);
    assert.throws(() => F.crossEntropy(logits, i32([0, 3, 1])), /outside/);
  });

  test('cross-entropy with every target ignored is 0 with zero gradient, not NaN', () => {
    const z = setRequiresGrad(f64([1, 2, -Infinity, -Infinity], [2, 2]));
    const loss = F.crossEntropy(z, i32([-100, -100]));
    assert.equal(loss.item(), 0);
    backward(loss);
    assert.deepEqual(z.grad!.toList(), [0, 0, 0, 0]);
  });

  test('label smoothing mixes in the uniform target as PyTorch does', () => {
    const s = 0.1;
    const targets = [1, 0, 2];
    const perRow = rows.map((lp, r) => -(1 - s) * lp[targets[r]!]! - (s / 3) * lp.reduce((a, v) => a + v, 0));
    assertClose(F.crossEntropy(logits, i32(targets), { labelSmoothing: s, reduction: 'none' }), perRow, 1e-14);
    assertClose(F.crossEntropy(logits, i32(targets), { labelSmoothing: s }), [(perRow[0]! + perRow[1]! + perRow[2]!) / 3], 1e-14);
  });

  test('cross-entropy gradient is (softmax - onehot) / count', () => {
    const z = setRequiresGrad(f64(logits.toList(), [3, 3]));
    backward(F.crossEntropy(z, i32([0, -100, 2])));
    const p = rows.map((lp) => lp.map(Math.exp));
    assertClose(z.grad!, [(p[0]![0]! - 1) / 2, p[0]![1]! / 2, p[0]![2]! / 2, 0, 0, 0, p[2]![0]! / 2, p[2]![1]! / 2, (p[2]![2]! - 1) / 2], 1e-14);
  });

  test('mseLoss', () => {
    const a = f64([1, 2, 3, 4], [2, 2]);
    const b = f64([0, 2, 5, 4], [2, 2]);
    assertClose(F.mseLoss(a, b), [5 / 4]);
    assertClose(F.mseLoss(a, b, { reduction: 'sum' }), [5]);
    assertClose(F.mseLoss(a, b, { reduction: 'none' }), [1, 0, 4, 0]);
  });
});

describe('dropout', () => {
  test('reproducible from the seed; different seeds give different masks', () => {
    const x = ones([64], { dtype: 'f64' });
    const a = F.dropout(x, 0.5, new Rng(42)).toList();
    const b = F.dropout(x, 0.5, new Rng(42)).toList();
    const c = F.dropout(x, 0.5, new Rng(43)).toList();
    assert.deepEqual(a, b);
    assert.notDeepEqual(a, c);
    for (const v of a) assert.ok(v === 0 || v === 2, `dropout value ${v} is neither 0 nor 1/(1-p)`);
  });

  test('mean-preserving, drops about p of the elements', () => {
    const n = 20000;
    const y = F.dropout(ones([n]), 0.3, new Rng(7)).toList();
    const mean = y.reduce((s, v) => s + v, 0) / n;
    const dropped = y.filter((v) => v === 0).length / n;
    // binomial standard deviations: 0.0032 for the fraction, 0.0046 for the mean
    assert.ok(Math.abs(mean - 1) < 0.02, `mean ${mean}`);
    assert.ok(Math.abs(dropped - 0.3) < 0.015, `dropped fraction ${dropped}`);
  });

  test('identity when p = 0 or not training; zeros when p = 1', () => {
    const x = f64([1, 2, 3]);
    assert.equal(F.dropout(x, 0, new Rng(1)), x);
    assert.equal(F.dropout(x, 0.5, new Rng(1), false), x);
    assert.deepEqual(F.dropout(x, 1, new Rng(1)).toList(), [0, 0, 0]);
    assert.throws(() => F.dropout(x, 1.5, new Rng(1)), /p must be/);
  });
});

describe('half precision', () => {
  test('known bit patterns and round-to-nearest-even', () => {
    assert.equal(f32ToF16Bits(1), 0x3c00);
    assert.equal(f32ToF16Bits(-2), 0xc000);
    assert.equal(f32ToF16Bits(65504), 0x7bff);
    assert.equal(f32ToF16Bits(65520), 0x7c00); // rounds up to infinity
    assert.equal(f32ToF16Bits(2 ** -24), 0x0001); // smallest subnormal
    assert.equal(f32ToF16Bits(2 ** -25), 0x0000); // halfway to zero: ties to even
    assert.equal(f32ToF16Bits(1 + 2 ** -11), 0x3c00); // halfway between 1 and the next: ties to even (down)
    assert.equal(f32ToF16Bits(1 + 3 * 2 ** -11), 0x3c02); // halfway, odd below: up
    assert.equal(f16BitsToF32(0x3555), 0.333251953125);
    assert.equal(f32ToBf16Bits(1), 0x3f80);
    assert.equal(bf16BitsToF32(f32ToBf16Bits(1 / 3)), 0.333984375);
    assert.ok(Number.isNaN(f16BitsToF32(f32ToF16Bits(NaN))));
    assert.ok(Number.isNaN(bf16BitsToF32(f32ToBf16Bits(NaN))));
  });

  test('cast round trips f32 -> f16/bf16 -> f32 exactly for representable values', () => {
    const values = [0, 1, -2.5, 0.125, 1024, -0.0009765625, 3.140625];
    const x = fromArray(values, [values.length], { dtype: 'f32' });
    for (const dtype of ['f16', 'bf16'] as const) {
      const half = F.cast(x, dtype);
      assert.equal(half.dtype, dtype);
      assert.ok(half.data instanceof Uint16Array);
      assert.deepEqual(F.cast(half, 'f32').toList(), values);
    }
    // a value that is not representable comes back rounded to the nearest
    assert.deepEqual(F.cast(F.cast(tensor([0.1]), 'f16'), 'f32').toList(), [0.0999755859375]);
  });
});

describe('views', () => {
  test('reshape of a contiguous tensor is a view; of a transposed one, a copy', () => {
    const x = f64([1, 2, 3, 4, 5, 6], [2, 3]);
    const r = F.reshape(x, [3, 2]);
    assert.equal(r.data, x.data);
    const t = F.transpose(x);
    assert.equal(t.data, x.data);
    assert.deepEqual(t.strides, [1, 3]);
    const flat = F.reshape(t, [6]);
    assert.notEqual(flat.data, x.data);
    assert.deepEqual(flat.toList(), [1, 4, 2, 5, 3, 6]);
    // merging axes that stay contiguous within a transposed view is still a view
    const y = f64([1, 2, 3, 4, 5, 6, 7, 8], [2, 2, 2]);
    const merged = F.reshape(F.permute(y, [2, 0, 1]), [2, 4]);
    assert.equal(merged.data, y.data);
    assert.deepEqual(merged.toList(), [1, 3, 5, 7, 2, 4, 6, 8]);
  });

  test('slice with a step shares storage; expand makes stride-0 axes', () => {
    const x = f64([0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11], [3, 4]);
    const s = F.slice(x, [[0, 3, 2], [1, 4, 2]]);
    assert.equal(s.data, x.data);
    assert.deepEqual(s.shape, [2, 2]);
    assert.deepEqual(s.strides, [8, 2]);
    assert.deepEqual(s.toList(), [1, 3, 9, 11]);
    const e = F.expand(f64([1, 2], [2, 1]), [3, 2, 4]);
    assert.deepEqual(e.strides, [0, 1, 0]);
    assert.deepEqual(e.toList(), [1, 1, 1, 1, 2, 2, 2, 2, 1, 1, 1, 1, 2, 2, 2, 2, 1, 1, 1, 1, 2, 2, 2, 2]);
    assert.equal(e.toArray().length, 24);
  });
});

describe('f32 end to end', () => {
  test('a small f32 model stays f32 in forward and backward, with finite gradients', () => {
    const rng = new Rng(21);
    const table = randn([6, 4], rng, { requiresGrad: true });
    const gain = ones([4], { requiresGrad: true });
    const kernel = randn([4, 1, 3], rng, { std: 0.5, requiresGrad: true });
    const head = randn([6, 4], rng, { std: 0.5, requiresGrad: true });
    const ids = i32([1, 5, 5, 0, 2, 3], [2, 3]);
    let h = F.embedding(table, ids);
    h = F.rope(h, F.ropeTables([0, 1, 2], 4), { layout: 'half' });
    h = F.rmsNorm(h, gain);
    h = F.conv1d(h, kernel, null, { groups: 4 });
    h = F.dropout(h, 0.1, new Rng(2));
    const logits = F.linear(h, head);
    const loss = F.crossEntropy(logits, i32([1, 2, 3, -100, 4, 5], [2, 3]), { labelSmoothing: 0.1 });
    assert.equal(loss.dtype, 'f32');
    assert.ok(Number.isFinite(loss.item()));
    backward(loss);
    for (const p of [table, gain, kernel, head]) {
      assert.equal(p.grad!.dtype, 'f32');
      assert.ok(p.grad!.toList().every(Number.isFinite));
    }
  });
});
