// The wasm kernels at their own interface (WasmKernels, below the kernel table) against the plain
// loops in reference-loops.ts, for plain SIMD and relaxed SIMD, with 1 and 2 threads (2-thread
// variants split every call, however small): what the tensor-level conformance table
// (test/conformance) cannot reach: operands in plain memory and in the arena, in-place calls,
// accumulate, batch strides and gaps, gemv, and ulp-class accuracy over each function's range.
// Special values, empty and size-1 inputs are rows of the conformance table.

import assert from 'node:assert/strict';
import { after, describe, test } from 'node:test';
import { WasmKernels, type BinaryKind, type UnaryKind } from '../../../src/backend/wasm/kernels.js';
import { createNodeThreadPool, enableRelaxedSimd } from '../../../src/node/wasm-pool.js';
import {
  Rng, refBinary, refLayerNormRows, refMatmul, refRmsNormRows, refSoftmaxRows, refUnary, worstRatio,
} from './reference-loops.js';

// Must run before any kernel module is compiled (Node 20 keeps relaxed SIMD behind a V8 flag).
const relaxedAvailable = enableRelaxedSimd();
const pool = await createNodeThreadPool({ threads: 2 });

interface Variant {
  name: string;
  k: WasmKernels;
}

const variants: Variant[] = [];
for (const flavor of ['simd', 'relaxed'] as const) {
  if (flavor === 'relaxed' && !relaxedAvailable) continue;
  for (const threads of [1, 2]) {
    const k = await WasmKernels.create({
      relaxedSimd: flavor === 'relaxed', pool, threads, forceParallel: threads > 1, initialArenaBytes: 1 << 22,
    });
    variants.push({ name: `${flavor} ${threads}T`, k });
  }
}

after(() => {
  for (const v of variants) v.k.dispose();
  pool.dispose();
});

function assertClose(what: string, got: ArrayLike<number>, want: ArrayLike<number>, scale: ArrayLike<number> | null,
  rtol: number, atol: number): void {
  const { ratio, index } = worstRatio(got, want, scale, rtol, atol);
  if (!(ratio <= 1)) {
    assert.fail(`${what}: element ${index} got ${got[index]} want ${want[index]} (error ${ratio.toFixed(2)}x tolerance)`);
  }
}

const DIMS = [1, 3, 17, 127];

describe('variants', () => {
  test('relaxed SIMD is available on this Node (via enableRelaxedSimd) and reported', () => {
    assert.equal(relaxedAvailable, true);
    for (const v of variants) {
      assert.equal(v.k.simd, v.name.startsWith('relaxed') ? 'relaxed' : 'simd');
      assert.equal(v.k.arenas.primary.exports.relaxed_simd(), v.k.simd === 'relaxed' ? 1 : 0);
    }
    assert.equal(variants.length, 4);
  });
});

// References are computed once per case and shared by all variants.
interface MatmulCase {
  m: number; n: number; k: number; transA: boolean; transB: boolean; accumulate: boolean;
  a: Float32Array; b: Float32Array; c0: Float32Array;
  want: Float64Array; scale: Float64Array;
}

function makeMatmulCase(rng: Rng, m: number, n: number, k: number, transA: boolean, transB: boolean,
  accumulate: boolean): MatmulCase {
  const a = rng.array(m * k);
  const b = rng.array(k * n);
  const c0 = rng.array(m * n);
  const { c, scale } = refMatmul(a, b, m, n, k, transA, transB, accumulate ? c0 : null);
  return { m, n, k, transA, transB, accumulate, a, b, c0, want: c, scale };
}

const smallCases: MatmulCase[] = [];
{
  const rng = new Rng(1234);
  let i = 0;
  for (const m of DIMS) for (const n of DIMS) for (const k of DIMS) {
    for (const transA of [false, true]) for (const transB of [false, true]) {
      smallCases.push(makeMatmulCase(rng, m, n, k, transA, transB, (i++ % 3) === 1));
    }
  }
}
// Crosses every blocking boundary: MC = 128 rows, KC = 256, NC = 2048 columns, plus small-m paths.
const bigCases: MatmulCase[] = [];
{
  const rng = new Rng(99);
  bigCases.push(makeMatmulCase(rng, 131, 2053, 263, false, false, false));
  bigCases.push(makeMatmulCase(rng, 260, 67, 513, true, true, true));
  bigCases.push(makeMatmulCase(rng, 130, 129, 300, false, true, false));
  bigCases.push(makeMatmulCase(rng, 66, 300, 257, true, false, true));
  bigCases.push(makeMatmulCase(rng, 4, 700, 301, false, true, true));
  bigCases.push(makeMatmulCase(rng, 2, 301, 700, false, false, false));
  // Edges of the small-m rules (x . W^T up to 16 rows, x . W up to 6).
  bigCases.push(makeMatmulCase(rng, 16, 129, 130, false, true, false));
  bigCases.push(makeMatmulCase(rng, 6, 65, 33, false, false, true));
  bigCases.push(makeMatmulCase(rng, 7, 65, 33, false, false, false));
}

function runMatmul(kernels: WasmKernels, c: MatmulCase, where: 'plain' | 'arena'): Float32Array {
  let a: Float32Array = c.a;
  let b: Float32Array = c.b;
  let out: Float32Array = new Float32Array(c.c0);
  if (where === 'arena') {
    a = kernels.allocF32(a.length); a.set(c.a);
    b = kernels.allocF32(b.length); b.set(c.b);
    out = kernels.allocF32(out.length); out.set(c.c0);
  }
  kernels.matmul(a, b, out, c.m, c.n, c.k, c.transA, c.transB, c.accumulate);
  const result = new Float32Array(out);
  if (where === 'arena') {
    kernels.freeF32(a); kernels.freeF32(b); kernels.freeF32(out);
  }
  return result;
}

const matmulTol = (k: number): number => 1e-5 * Math.sqrt(Math.max(k, 1));

for (const v of variants) {
  describe(`wasm kernels (${v.name})`, () => {
    test('matmul: all m, n, k in {1, 3, 17, 127}, all transposes, accumulate', () => {
      for (const c of smallCases) {
        const got = runMatmul(v.k, c, 'plain');
        assertClose(`m=${c.m} n=${c.n} k=${c.k} tA=${c.transA} tB=${c.transB} acc=${c.accumulate}`,
          got, c.want, c.scale, matmulTol(c.k), 1e-30);
      }
    });

    test('matmul: blocked shapes across MC/KC/NC edges, operands in the arena', () => {
      for (const c of bigCases) {
        for (const where of ['plain', 'arena'] as const) {
          const got = runMatmul(v.k, c, where);
          assertClose(`${where} m=${c.m} n=${c.n} k=${c.k}`, got, c.want, c.scale, matmulTol(c.k), 1e-30);
        }
      }
    });

    test('matmul: mixed residency (a in arena, b plain, out in arena) and k = 0', () => {
      const c = makeMatmulCase(new Rng(77), 17, 127, 17, false, true, true);
      const a = v.k.allocF32(c.a.length); a.set(c.a);
      const out = v.k.allocF32(c.c0.length); out.set(c.c0);
      v.k.matmul(a, c.b, out, c.m, c.n, c.k, c.transA, c.transB, true);
      assertClose('mixed', out, c.want, c.scale, matmulTol(c.k), 1e-30);
      v.k.matmul(a, c.b, out, c.m, c.n, 0, false, false, true);
      assertClose('k=0 accumulate keeps C', out, c.want, c.scale, matmulTol(c.k), 1e-30);
      v.k.matmul(a, c.b, out, c.m, c.n, 0, false, false, false);
      assert.ok(out.every((x) => x === 0), 'k=0 without accumulate zeroes C');
      v.k.freeF32(a); v.k.freeF32(out);
    });

    test('batchedMatmul: strides, broadcasting (stride 0) and summing into one C', () => {
      const rng = new Rng(7);
      const shapes: [number, number, number, number][] = [[5, 17, 3, 127], [3, 1, 127, 17], [4, 9, 17, 3], [2, 33, 20, 40]];
      for (const [batch, m, n, k] of shapes) {
        for (const [bcastA, bcastB, sumC] of [[false, false, false], [true, false, false], [false, true, false], [false, false, true]] as const) {
          for (const [transA, transB] of [[false, false], [true, true], [false, true]] as const) {
            const strideA = bcastA ? 0 : m * k + 5;
            const strideB = bcastB ? 0 : k * n;
            const strideC = sumC ? 0 : m * n + 3;
            const a = rng.array(strideA * (batch - 1) + m * k);
            const b = rng.array(strideB * (batch - 1) + k * n);
            const c0 = rng.array(strideC * (batch - 1) + m * n);
            const accumulate = sumC;
            const out = new Float32Array(c0);
            v.k.batchedMatmul(a, b, out, batch, m, n, k, transA, transB, strideA, strideB, strideC, accumulate);
            if (!sumC) {
              for (let t = 0; t + 1 < batch; t++) {
                const gap = out.subarray(t * strideC + m * n, (t + 1) * strideC);
                assert.deepEqual(Array.from(gap), Array.from(c0.subarray(t * strideC + m * n, (t + 1) * strideC)), 'gaps kept');
              }
            }
            for (let t = 0; t < batch; t++) {
              const at = a.subarray(t * strideA, t * strideA + m * k);
              const bt = b.subarray(t * strideB, t * strideB + k * n);
              if (sumC) continue;
              const { c, scale } = refMatmul(at, bt, m, n, k, transA, transB, null);
              assertClose(`batch ${t} of ${batch}x${m}x${n}x${k}`, out.subarray(t * strideC, t * strideC + m * n), c, scale,
                matmulTol(k), 1e-30);
            }
            if (sumC) {
              const want = new Float64Array(m * n);
              const scale = new Float64Array(m * n);
              for (let i = 0; i < m * n; i++) { want[i] = c0[i]!; scale[i] = Math.abs(c0[i]!); }
              for (let t = 0; t < batch; t++) {
                const r = refMatmul(a.subarray(t * strideA, t * strideA + m * k), b.subarray(t * strideB, t * strideB + k * n),
                  m, n, k, transA, transB, null);
                for (let i = 0; i < m * n; i++) { want[i] = want[i]! + r.c[i]!; scale[i] = scale[i]! + r.scale[i]!; }
              }
              assertClose(`summed ${batch}x${m}x${n}x${k}`, out.subarray(0, m * n), want, scale, matmulTol(k * batch), 1e-30);
            }
          }
        }
      }
    });

    test('batchedMatmul: grouped matmul on column slices (lda, ldc) keeps the gaps intact', () => {
      const rng = new Rng(8);
      for (const [groups, rows, din, dout] of [[3, 17, 5, 7], [4, 33, 16, 24], [2, 1, 127, 3]] as [number, number, number, number][]) {
        const x = rng.array(rows * groups * din);
        const w = rng.array(groups * din * dout);
        const y0 = rng.array(rows * groups * dout + 5);
        for (const accumulate of [false, true]) {
          const y = new Float32Array(y0);
          v.k.batchedMatmul(x, w, y, groups, rows, dout, din, false, false, din, din * dout, dout, accumulate,
            { lda: groups * din, ldc: groups * dout });
          for (let g = 0; g < groups; g++) {
            const xg = new Float32Array(rows * din);
            for (let r = 0; r < rows; r++) for (let c = 0; c < din; c++) xg[r * din + c] = x[r * groups * din + g * din + c]!;
            const yg0 = new Float32Array(rows * dout);
            for (let r = 0; r < rows; r++) for (let c = 0; c < dout; c++) yg0[r * dout + c] = y0[r * groups * dout + g * dout + c]!;
            const ref = refMatmul(xg, w.subarray(g * din * dout, (g + 1) * din * dout), rows, dout, din, false, false,
              accumulate ? yg0 : null);
            const got = new Float32Array(rows * dout);
            for (let r = 0; r < rows; r++) for (let c = 0; c < dout; c++) got[r * dout + c] = y[r * groups * dout + g * dout + c]!;
            assertClose(`group ${g} of ${groups}`, got, ref.c, ref.scale, matmulTol(din), 1e-30);
          }
          assert.deepEqual(Array.from(y.subarray(rows * groups * dout)), Array.from(y0.subarray(rows * groups * dout)),
            'elements past the last row are untouched');
        }
      }
    });

    test('gemv and gemvT: awkward sizes, accumulate, W in the arena', () => {
      const rng = new Rng(11);
      for (const rows of [1, 3, 17, 127, 1000]) {
        for (const cols of [1, 3, 17, 127, 1029]) {
          const wPlain = rng.array(rows * cols);
          const w = rows * cols > 5000 ? v.k.allocF32(rows * cols) : wPlain;
          if (w !== wPlain) w.set(wPlain);
          const x = rng.array(cols);
          const xt = rng.array(rows);
          const y0 = rng.array(rows);
          const yt0 = rng.array(cols);
          for (const accumulate of [false, true]) {
            const y = new Float32Array(y0);
            v.k.gemv(w, x, y, rows, cols, accumulate);
            const ref = refMatmul(wPlain, x, rows, 1, cols, false, false, accumulate ? y0 : null);
            assertClose(`gemv ${rows}x${cols}`, y, ref.c, ref.scale, matmulTol(cols), 1e-30);
            const yt = new Float32Array(yt0);
            v.k.gemvT(w, xt, yt, rows, cols, accumulate);
            const reft = refMatmul(xt, wPlain, 1, cols, rows, false, false, accumulate ? yt0 : null);
            assertClose(`gemvT ${rows}x${cols}`, yt, reft.c, reft.scale, matmulTol(rows), 1e-30);
          }
          if (w !== wPlain) v.k.freeF32(w);
        }
      }
    });

    test('unary: every kind against f64 references, 1-2 ulp class accuracy', () => {
      const rng = new Rng(3);
      // [range, relative tolerance]; tolerances hold with margin over the measured max errors
      // listed in assembly/vmath.ts.
      const spec: Record<UnaryKind, [number, number, number]> = {
        exp: [-87, 88.7, 4e-7], log: [1e-6, 1e6, 4e-7], tanh: [-12, 12, 4e-7], sigmoid: [-80, 80, 4e-7],
        silu: [-80, 40, 4e-7], gelu_tanh: [-10, 10, 4e-7], gelu_erf: [-13, 13, 8e-7], erf: [-6, 6, 6e-7],
        relu: [-5, 5, 0], leaky_relu: [-5, 5, 1e-7], softplus: [-80, 80, 4e-7], sqrt: [0, 100, 1e-7],
        rsqrt: [1e-3, 100, 3e-7], neg: [-5, 5, 0], abs: [-5, 5, 0], scale: [-5, 5, 1e-7], square: [-5, 5, 1e-7],
      };
      const specials = [0, -0, 1e-8, -1e-8, 0.5, -0.5, 0.55, -0.55, 0.8, -0.8, 1, -1, 2.5, -2.5, 20, -20];
      for (const kind of Object.keys(spec) as UnaryKind[]) {
        const [lo, hi, rtol] = spec[kind];
        const n = 4099;
        const x = rng.array(n, lo, hi);
        specials.forEach((s, i) => { if (s >= lo && s <= hi) x[i] = s; });
        const alpha = 0.125;
        const want = new Float64Array(n);
        const scale = new Float64Array(n);
        for (let i = 0; i < n; i++) {
          want[i] = refUnary(kind, x[i]!, alpha);
          // gelu_tanh: the rounding of 2u = 2 sqrt(2/pi)(x + 0.044715 x^3) is amplified |2u| times by exp.
          const xi = x[i]!;
          const cond = kind === 'gelu_tanh' ? 1 + Math.abs(1.5957691216 * xi * (1 + 0.044715 * xi * xi)) : 1;
          scale[i] = Math.abs(want[i]!) * cond;
        }
        const out = new Float32Array(n);
        v.k.unary(kind, x, out, alpha);
        assertClose(`unary ${kind}`, out, want, scale, Math.max(rtol, 1e-300), 1e-37);
        // In place, in the arena.
        const inArena = v.k.allocF32(n);
        inArena.set(x);
        v.k.unary(kind, inArena, inArena, alpha);
        assert.deepEqual(Array.from(inArena), Array.from(out), `unary ${kind} in place in the arena`);
        v.k.freeF32(inArena);
        const inPlain = new Float32Array(x);
        v.k.unary(kind, inPlain, inPlain, alpha);
        assert.deepEqual(Array.from(inPlain), Array.from(out), `unary ${kind} in place in plain memory`);
      }
    });

    test('binary: same shape, row broadcast, scalar, in place', () => {
      const rng = new Rng(5);
      for (const kind of ['add', 'sub', 'mul', 'div', 'max', 'min'] as BinaryKind[]) {
        for (const [rows, cols] of [[1, 1], [3, 17], [127, 3], [17, 127], [1, 1003]] as [number, number][]) {
          const n = rows * cols;
          const a = rng.array(n);
          for (const bl of [n, cols, 1]) {
            const b = rng.array(bl, 0.5, 2);
            const out = new Float32Array(n);
            v.k.binary(kind, a, b, out);
            const want = Float64Array.from(a, (av, i) => Math.fround(refBinary(kind, av, b[i % bl]!)));
            assert.deepEqual(Float64Array.from(out), want, `${kind} ${rows}x${cols} b=${bl}`);
          }
          // In place in the arena: a = a op a.
          const inArena = v.k.allocF32(n);
          inArena.set(a);
          v.k.binary(kind, inArena, inArena, inArena);
          const want = Float64Array.from(a, (av) => Math.fround(refBinary(kind, av, av)));
          assert.deepEqual(Float64Array.from(inArena), want, `${kind} in place`);
          v.k.freeF32(inArena);
          const inPlain = new Float32Array(a);
          const b2 = rng.array(n);
          v.k.binary(kind, inPlain, b2, inPlain);
          const want2 = Float64Array.from(a, (av, i) => Math.fround(refBinary(kind, av, b2[i]!)));
          assert.deepEqual(Float64Array.from(inPlain), want2, `${kind} in place in plain memory`);
        }
      }
    });

    test('softmaxRows and logSoftmaxRows', () => {
      const rng = new Rng(17);
      for (const [rows, cols] of [[1, 1], [3, 17], [127, 3], [17, 127], [5, 1003]] as [number, number][]) {
        const x = rng.array(rows * cols, -20, 20);
        for (const log of [false, true]) {
          const out = new Float32Array(rows * cols);
          if (log) v.k.logSoftmaxRows(x, out, rows, cols);
          else v.k.softmaxRows(x, out, rows, cols);
          const want = refSoftmaxRows(x, rows, cols, log);
          // log-softmax: absolute error relative to the row's magnitude (values near 0 cancel).
          // softmax: f32 rounding of x - max is amplified by exp in the tiny probabilities, so those
          // are checked in absolute terms; log-softmax: absolute, scaled by the row's magnitude.
          assertClose(`${log ? 'log' : ''}softmax ${rows}x${cols}`, out, want, null, 1e-6, log ? 2e-5 : 1e-9);
          const inPlace = new Float32Array(x);
          if (log) v.k.logSoftmaxRows(inPlace, inPlace, rows, cols);
          else v.k.softmaxRows(inPlace, inPlace, rows, cols);
          assert.deepEqual(Array.from(inPlace), Array.from(out), 'in place');
        }
      }
    });

    test('layerNormRows and rmsNormRows, with and without affine parameters and statistics', () => {
      const rng = new Rng(23);
      for (const [rows, cols] of [[1, 1], [3, 17], [127, 3], [17, 127], [5, 1003]] as [number, number][]) {
        const x = rng.array(rows * cols, -3, 5);
        const gamma = rng.array(cols, 0.5, 1.5);
        const beta = rng.array(cols);
        for (const affine of [true, false]) {
          const g = affine ? gamma : null;
          const bt = affine ? beta : null;
          const out = new Float32Array(rows * cols);
          const mean = new Float32Array(rows);
          const rstd = new Float32Array(rows);
          v.k.layerNormRows(x, g, bt, out, rows, cols, 1e-5, mean, rstd);
          const ref = refLayerNormRows(x, g, bt, rows, cols, 1e-5);
          assertClose(`layernorm ${rows}x${cols}`, out, ref.y, null, 1e-5, 1e-5);
          assertClose('layernorm mean', mean, ref.mean, null, 1e-6, 1e-6);
          assertClose('layernorm rstd', rstd, ref.rstd, null, 1e-5, 0);
          const inPlace = new Float32Array(x);
          v.k.layerNormRows(inPlace, g, bt, inPlace, rows, cols, 1e-5);
          assert.deepEqual(Array.from(inPlace), Array.from(out), 'layernorm in place');
          const out2 = new Float32Array(rows * cols);
          const rstd2 = new Float32Array(rows);
          v.k.rmsNormRows(x, g, out2, rows, cols, 1e-6, rstd2);
          const ref2 = refRmsNormRows(x, g, rows, cols, 1e-6);
          assertClose(`rmsnorm ${rows}x${cols}`, out2, ref2.y, null, 1e-5, 1e-6);
          assertClose('rmsnorm rstd', rstd2, ref2.rstd, null, 1e-5, 0);
          const inPlace2 = new Float32Array(x);
          v.k.rmsNormRows(inPlace2, g, inPlace2, rows, cols, 1e-6);
          assert.deepEqual(Array.from(inPlace2), Array.from(out2), 'rmsnorm in place');
        }
      }
    });

    test('streamSum', () => {
      const rng = new Rng(31);
      for (const n of [1, 3, 17, 127, 100003]) {
        const x = rng.array(n);
        let want = 0;
        for (let i = 0; i < n; i++) want += x[i]!;
        const got = v.k.streamSum(x);
        assert.ok(Math.abs(got - want) <= 1e-6 * Math.sqrt(n) * n, `streamSum ${n}: ${got} vs ${want}`);
        const inArena = v.k.allocF32(n);
        inArena.set(x);
        assert.equal(v.k.streamSum(inArena.byteOffset, n, v.k.arenas.find(inArena)), got);
        v.k.freeF32(inArena);
      }
    });

    test('adamUpdate: in place, with the parameter and moments resident in the arena or in plain memory', () => {
      const rng = new Rng(41);
      for (const n of [1, 3, 17, 1003]) {
        const p0 = rng.array(n);
        const g = rng.array(n);
        const m0 = rng.array(n, -0.1, 0.1);
        const v0 = rng.array(n, 0, 0.01);
        const [decay, l2, b1, b2, stepSize, bias2Sqrt, eps] = [0.999, 0.01, 0.9, 0.999, 0.003, 0.05, 1e-8];
        const want = { p: new Float64Array(n), m: new Float64Array(n), v: new Float64Array(n) };
        for (let i = 0; i < n; i++) {
          const pi = p0[i]! * decay;
          const gi = g[i]! + l2 * pi;
          want.m[i] = b1 * m0[i]! + (1 - b1) * gi;
          want.v[i] = b2 * v0[i]! + (1 - b2) * gi * gi;
          want.p[i] = pi - (stepSize * want.m[i]!) / (Math.sqrt(want.v[i]!) / bias2Sqrt + eps);
        }
        for (const where of ['plain', 'arena'] as const) {
          const place = (x: Float32Array): Float32Array => {
            if (where === 'plain') return new Float32Array(x);
            const a = v.k.allocF32(x.length);
            a.set(x);
            return a;
          };
          const [p, m, vv] = [place(p0), place(m0), place(v0)];
          v.k.adamUpdate(p, g, m, vv, decay, l2, b1, b2, stepSize, bias2Sqrt, eps);
          assertClose(`${where} p n=${n}`, p, want.p, null, 1e-6, 1e-7);
          assertClose(`${where} m n=${n}`, m, want.m, null, 1e-6, 1e-8);
          assertClose(`${where} v n=${n}`, vv, want.v, null, 1e-6, 1e-9);
          if (where === 'arena') for (const a of [p, m, vv]) v.k.freeF32(a);
        }
      }
    });

    test('argument checks', () => {
      const a = new Float32Array(6);
      assert.throws(() => v.k.matmul(a, a, a, 3, 3, 3, false, false), RangeError);
      assert.throws(() => v.k.matmul(a, a, a, 1.5, 1, 1, false, false), RangeError);
      assert.throws(() => v.k.binary('add', a, new Float32Array(4), a), RangeError);
      assert.throws(() => v.k.unary('exp', a, new Float32Array(2)), RangeError);
    });
  });
}

describe('worthIt hint', () => {
  test('thresholds: resident operands win earlier, transcendental ops earlier than cheap ones', () => {
    assert.equal(WasmKernels.worthIt('add', 8, true), false);
    assert.equal(WasmKernels.worthIt('add', 1 << 20, false), true);
    assert.equal(WasmKernels.worthIt('add', 256, true), true);
    assert.equal(WasmKernels.worthIt('add', 256, false), false);
    assert.equal(WasmKernels.worthIt('gelu_erf', 1 << 12, false), true);
    assert.equal(WasmKernels.worthIt('exp', 2, false), false);
    assert.equal(WasmKernels.worthIt('rows', 4096, false), true);
  });
});
