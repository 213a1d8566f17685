// The conformance table: one row per kernel (per kind for unary and binary), each with an input
// generator (awkward shapes, empty and size-1 inputs, special values, masked rows, strided views),
// the call on a backend's kernel table, and a tolerance. conformance.test.ts runs every row on every
// backend of backends.ts against the reference backend and fails if a kernel the wasm backend routes,
// or a fused kernel, has no row.
//
// To add a row: append a ConformanceRow to TABLE (or to a table of your own run by the same runner,
// see runConformanceRows in harness.ts). `cases` draws inputs once; `run` must only read its
// inputs (the runner checks they are unchanged) and return the outputs to compare.

import {
  blockSparseGradInputReference, blockSparseGradValuesReference, blockSparseMatmulReference, blockSparseProductsOf,
  type BlockSparseProducts, type BlockSparseStructure,
} from '../../src/backend/reference/block-sparse.js';
import { BlockSparsePattern } from '../../src/nn/block-sparse.js';
import { UNARY_KINDS, BINARY_KINDS, type Backend, type BinaryKind, type KernelName, type KernelTable, type UnaryKind } from '../../src/ops/kernels.js';
import { Tensor } from '../../src/tensor/tensor.js';
import { quantizeQ4_0, quantizeQ8_0 } from '../../src/io/gguf-quant.js';
import { QUANT_FORMATS, type QuantFormat, type QuantKernels } from '../../src/ops/quant-kernels.js';
import { f32ToHalf } from '../../src/tensor/dtype.js';
import { draw, maskedRows, type Rng, steppedView, transposedView, values } from './inputs.js';

export interface ConformanceCase {
  readonly name: string;
  readonly inputs: readonly Tensor[];
  /** Overrides the row's tolerance for this case (e.g. scaled by a matmul's depth). */
  readonly atol?: number;
  readonly rtol?: number;
}

/** Kernels a backend supplies beside its kernel table (Backend.blockSparse). */
export type BlockSparseKernelName = `blockSparse.${keyof BlockSparseProducts}`;

export interface ConformanceRow {
  /** The kernel under test. */
  readonly kernel: KernelName | BlockSparseKernelName;
  /** The unary or binary kind, for rows of those kernels. */
  readonly kind?: UnaryKind | BinaryKind;
  /** Distinguishes rows of the same kernel (options). */
  readonly label?: string;
  /** The cases, drawn from a seeded generator. */
  cases(rng: Rng): ConformanceCase[];
  /** Calls the kernel(s) on a backend (its table k, or its other parts); every returned tensor is compared with the reference's. */
  run(k: KernelTable, inputs: readonly Tensor[], backend: Backend): Tensor[];
  /** Element check: |got - want| <= atol + rtol * |want|; NaN must meet NaN and an infinity the same infinity. */
  readonly atol: number;
  readonly rtol: number;
}

export function rowTitle(row: ConformanceRow): string {
  return [row.kernel, row.kind, row.label].filter(Boolean).join(' ');
}

const ALPHA = 0.1;

// ---------------------------------------------------------------------------------------------
// matmul

const MATMUL_SHAPES: Array<[number[], number[]]> = [
  [[1, 1], [1, 1]],
  [[1, 17], [17, 3]],
  [[127, 3], [3, 17]],
  [[64, 64], [64, 64]],
  [[3, 17, 33], [3, 33, 5]],
  [[2, 3, 17, 33], [33, 5]],
  [[4, 1, 20, 30], [3, 30, 9]],
  [[0, 5], [5, 3]],
  [[4, 0], [0, 3]],
  [[2, 0, 4], [4, 6]],
];

const matmulRow: ConformanceRow = {
  kernel: 'matmul',
  cases: (rng) => {
    const out: ConformanceCase[] = [];
    for (const [sa, sb] of MATMUL_SHAPES) {
      const a = draw(sa, rng);
      const b = draw(sb, rng);
      const k = sa[sa.length - 1]!;
      const atol = 2e-6 * Math.max(k, 1);
      out.push({ name: `${sa} x ${sb}`, inputs: [a, b], atol });
      if (a.rank >= 2 && a.size > 0 && b.size > 0) out.push({ name: `${sa} x ${sb} transposed views`, inputs: [transposedView(a), transposedView(b)], atol });
    }
    out.push({ name: 'stepped view x plain', inputs: [steppedView(draw([20, 25], rng)), draw([25, 7], rng)], atol: 1e-4 });
    out.push({ name: 'special values in both', inputs: [draw([17, 33], rng, { specials: true }), draw([33, 5], rng, { specials: true })], atol: 1e-4 });
    const f64 = (shape: number[]): Tensor => new Tensor(Float64Array.from(draw(shape, rng).toArray()), 'f64', shape);
    out.push({ name: 'f64 (falls through to the reference)', inputs: [f64([20, 30]), f64([30, 10])], atol: 1e-12 });
    return out;
  },
  run: (k, [a, b]) => [k.matmul(a!, b!)],
  atol: 1e-5,
  rtol: 1e-5,
};

// ---------------------------------------------------------------------------------------------
// elementwise

const UNARY_SHAPES = [[0], [1], [1, 1], [3, 17], [127, 65]];

function unaryCases(rng: Rng): ConformanceCase[] {
  const out: ConformanceCase[] = UNARY_SHAPES.map((shape) => ({ name: `[${shape}] with specials`, inputs: [draw(shape, rng, { std: 3, specials: true }), draw(shape, rng)] }));
  out.push({ name: 'positive [3, 17]', inputs: [draw([3, 17], rng, { mean: 3 }), draw([3, 17], rng)] });
  out.push({ name: 'transposed view [17, 33]', inputs: [transposedView(draw([17, 33], rng, { std: 3 })), draw([17, 33], rng)] });
  return out;
}

const unaryRows: ConformanceRow[] = UNARY_KINDS.map((kind) => ({
  kernel: 'unary',
  kind,
  cases: unaryCases,
  run: (k, [x]) => [k.unary(kind, x!, ALPHA)],
  atol: 2e-6,
  rtol: 2e-6,
}));

const unaryGradRows: ConformanceRow[] = UNARY_KINDS.map((kind) => ({
  kernel: 'unaryGrad',
  kind,
  cases: unaryCases,
  // y from the same backend, as in a real backward pass.
  run: (k, [x, dy]) => [k.unaryGrad(kind, x!, k.unary(kind, x!, ALPHA), dy!, ALPHA)],
  atol: 4e-6,
  rtol: 4e-6,
}));

const BINARY_SHAPES: Array<[number[], number[]]> = [
  [[], []],
  [[1], [1]],
  [[0], [0]],
  [[3, 0], [0]],
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

const binaryRows: ConformanceRow[] = BINARY_KINDS.map((kind) => ({
  kernel: 'binary',
  kind,
  cases: (rng) => {
    const out: ConformanceCase[] = BINARY_SHAPES.map(([sa, sb]) => ({ name: `[${sa}] [${sb}]`, inputs: [draw(sa, rng), draw(sb, rng, { mean: 3 })] }));
    out.push({ name: 'special values in both', inputs: [draw([37, 29], rng, { specials: true }), draw([37, 29], rng, { specials: true, mean: 0.5 })] });
    out.push({ name: 'special values, row broadcast', inputs: [draw([37, 29], rng, { specials: true }), draw([29], rng, { specials: true })] });
    out.push({ name: 'stepped view', inputs: [steppedView(draw([40, 30], rng)), draw([30], rng)] });
    return out;
  },
  run: (k, [a, b]) => [k.binary(kind, a!, b!)],
  atol: 1e-6,
  rtol: 1e-6,
}));

// ---------------------------------------------------------------------------------------------
// softmax

/** [rows, cols] shapes of masked-row inputs, then empty ones and a 3-D one. */
const ROW_SHAPES: Array<[number, number]> = [[1, 1], [4, 1], [5, 17], [127, 65], [6, 1003]];

function softmaxCases(rng: Rng): ConformanceCase[] {
  const out: ConformanceCase[] = ROW_SHAPES.map(([r, c]) => ({ name: `[${r}, ${c}] masked, NaN and +inf rows`, inputs: [maskedRows(r, c, rng), draw([r, c], rng)] }));
  out.push({ name: '[0, 5]', inputs: [draw([0, 5], rng), draw([0, 5], rng)] });
  out.push({ name: '[3, 0]', inputs: [draw([3, 0], rng), draw([3, 0], rng)] });
  out.push({ name: '[2, 5, 300]', inputs: [draw([2, 5, 300], rng, { std: 3 }), draw([2, 5, 300], rng)] });
  out.push({ name: 'all -inf [4, 33]', inputs: [values(new Array(132).fill(-Infinity), [4, 33]), draw([4, 33], rng)] });
  return out;
}

function softmaxRows(log: boolean): ConformanceRow[] {
  const lastAxis = (x: Tensor): number => Math.max(x.rank - 1, 0);
  const forward = (k: KernelTable, x: Tensor, axis: number): Tensor => (log ? k.logSoftmax(x, axis) : k.softmax(x, axis));
  return [
    { kernel: log ? 'logSoftmax' : 'softmax', cases: softmaxCases, run: (k, [x]) => [forward(k, x!, lastAxis(x!))], atol: 2e-6, rtol: 2e-5 },
    {
      kernel: log ? 'logSoftmax' : 'softmax',
      label: 'first axis',
      cases: (rng) => [{ name: '[17, 5] masked', inputs: [maskedRows(5, 17, rng)] }],
      run: (k, [x]) => [forward(k, transposedView(x!), 0)],
      atol: 2e-6,
      rtol: 2e-5,
    },
    {
      kernel: log ? 'logSoftmaxGrad' : 'softmaxGrad',
      cases: softmaxCases,
      run: (k, [x, dy]) => {
        const axis = lastAxis(x!);
        const y = forward(k, x!, axis);
        return [log ? k.logSoftmaxGrad(y, dy!, axis) : k.softmaxGrad(y, dy!, axis)];
      },
      atol: 1e-5,
      rtol: 1e-5,
    },
  ];
}

// ---------------------------------------------------------------------------------------------
// norms

function normCases(rng: Rng): ConformanceCase[] {
  const shapes = [[1, 1], [3, 17], [127, 65], [2, 5, 300], [0, 5], [7]];
  const out: ConformanceCase[] = [];
  for (const shape of shapes) {
    const d = shape[shape.length - 1]!;
    out.push({ name: `[${shape}]`, inputs: [draw(shape, rng, { std: 2, mean: 1 }), draw([d], rng, { mean: 1 }), draw([d], rng), draw(shape, rng)] });
  }
  const constant = values(new Array(4 * 33).fill(0).map((_, i) => (i < 33 ? 2.5 : i % 7)), [4, 33]);
  out.push({ name: 'a constant row', inputs: [constant, draw([33], rng), draw([33], rng), draw([4, 33], rng)] });
  out.push({ name: 'special values', inputs: [draw([9, 31], rng, { specials: true }), draw([31], rng), draw([31], rng), draw([9, 31], rng)] });
  return out;
}

function normRows(): ConformanceRow[] {
  const rows: ConformanceRow[] = [];
  for (const affine of [true, false]) {
    const label = affine ? 'affine' : 'no affine';
    rows.push({
      kernel: 'layerNorm',
      label,
      cases: normCases,
      run: (k, [x, g, b]) => {
        const r = k.layerNorm(x!, affine ? g! : null, affine ? b! : null, 1e-5);
        return [r.y, r.mean!, r.rstd];
      },
      atol: 2e-5,
      rtol: 2e-5,
    });
    rows.push({
      kernel: 'layerNormGrad',
      label,
      cases: normCases,
      run: (k, [x, g, b, dy]) => {
        const f = k.layerNorm(x!, affine ? g! : null, affine ? b! : null, 1e-5);
        const r = k.layerNormGrad(x!, affine ? g! : null, f.mean!, f.rstd, dy!);
        return [r.dx, ...(r.dgamma ? [r.dgamma] : []), ...(r.dbeta ? [r.dbeta] : [])];
      },
      atol: 5e-5,
      rtol: 5e-5,
    });
    rows.push({
      kernel: 'rmsNorm',
      label,
      cases: normCases,
      run: (k, [x, g]) => {
        const r = k.rmsNorm(x!, affine ? g! : null, 1e-6);
        return [r.y, r.rstd];
      },
      atol: 2e-5,
      rtol: 2e-5,
    });
    rows.push({
      kernel: 'rmsNormGrad',
      label,
      cases: normCases,
      run: (k, [x, g, , dy]) => {
        const f = k.rmsNorm(x!, affine ? g! : null, 1e-6);
        const r = k.rmsNormGrad(x!, affine ? g! : null, f.rstd, dy!);
        return [r.dx, ...(r.dgamma ? [r.dgamma] : [])];
      },
      atol: 5e-5,
      rtol: 5e-5,
    });
  }
  return rows;
}

// ---------------------------------------------------------------------------------------------
// conv1d

interface ConvShape {
  b: number;
  l: number;
  cin: number;
  cout: number;
  groups: number;
  k: number;
  pad: number;
}

const CONV_SHAPES: ConvShape[] = [
  { b: 2, l: 33, cin: 64, cout: 64, groups: 4, k: 7, pad: 3 },
  { b: 3, l: 17, cin: 48, cout: 48, groups: 48, k: 7, pad: 3 },
  { b: 1, l: 40, cin: 32, cout: 64, groups: 1, k: 4, pad: 1 },
  { b: 2, l: 29, cin: 32, cout: 32, groups: 2, k: 5, pad: 4 },
  { b: 2, l: 64, cin: 32, cout: 16, groups: 16, k: 3, pad: 0 },
  { b: 1, l: 1, cin: 1, cout: 1, groups: 1, k: 1, pad: 0 },
  { b: 1, l: 1, cin: 4, cout: 2, groups: 2, k: 3, pad: 2 },
  { b: 0, l: 5, cin: 4, cout: 4, groups: 1, k: 3, pad: 1 },
];

/** Stored with the case so run() knows groups and padding: inputs are [x, w, dy, meta]. */
function convCases(rng: Rng): ConformanceCase[] {
  return CONV_SHAPES.map((c, i) => {
    const depth = (c.cin / c.groups) * c.k;
    const meta = values([c.groups, c.pad]);
    const specials = i === 0;
    return {
      name: `${JSON.stringify(c)}${specials ? ' with special values' : ''}`,
      inputs: [draw([c.b, c.l, c.cin], rng, { specials }), draw([c.cout, c.cin / c.groups, c.k], rng), draw([c.b, c.l, c.cout], rng), meta],
      atol: 2e-6 * Math.max(depth, c.b * c.l),
    };
  });
}

function convMeta(meta: Tensor): { groups: number; pad: number } {
  const [groups, pad] = meta.toList() as [number, number];
  return { groups, pad };
}

const convRows: ConformanceRow[] = [
  {
    kernel: 'conv1d',
    cases: convCases,
    run: (k, [x, w, , meta]) => {
      const { groups, pad } = convMeta(meta!);
      return [k.conv1d(x!, w!, groups, pad)];
    },
    atol: 1e-5,
    rtol: 1e-5,
  },
  {
    kernel: 'conv1dGradInput',
    cases: convCases,
    run: (k, [x, w, dy, meta]) => {
      const { groups, pad } = convMeta(meta!);
      return [k.conv1dGradInput(dy!, w!, groups, pad, x!.shape)];
    },
    atol: 1e-5,
    rtol: 1e-5,
  },
  {
    kernel: 'conv1dGradWeight',
    cases: convCases,
    run: (k, [x, w, dy, meta]) => {
      const { groups, pad } = convMeta(meta!);
      return [k.conv1dGradWeight(dy!, x!, groups, pad, w!.shape)];
    },
    atol: 1e-5,
    rtol: 1e-5,
  },
];

// ---------------------------------------------------------------------------------------------
// optimizer updates (in place: the row updates copies and returns them)

function adamRows(): ConformanceRow[] {
  const clone = (t: Tensor): Tensor => new Tensor(Float32Array.from(t.toArray()), t.dtype, t.shape);
  const abs = (t: Tensor): Tensor => new Tensor(Float32Array.from(t.toArray(), Math.abs), t.dtype, t.shape);
  const cases = (rng: Rng): ConformanceCase[] =>
    [[0], [1], [7], [33, 31], [4099]].map((shape, i) => ({
      name: `[${shape}]${i === 3 ? ' with special values in the gradient' : ''}`,
      inputs: [draw(shape, rng), draw(shape, rng, { specials: i === 3 }), draw(shape, rng, { std: 0.1 }), abs(draw(shape, rng, { std: 0.01 }))],
    }));
  const settings = {
    AdamW: { decay: 1 - 1e-3 * 0.01, l2: 0, beta1: 0.9, beta2: 0.999, stepSize: 1e-3 / (1 - 0.9 ** 3), bias2Sqrt: Math.sqrt(1 - 0.999 ** 3), eps: 1e-8 },
    Adam: { decay: 1, l2: 0.1, beta1: 0.8, beta2: 0.99, stepSize: 0.01 / (1 - 0.8), bias2Sqrt: Math.sqrt(1 - 0.99), eps: 1e-6 },
  };
  return Object.entries(settings).map(([label, step]) => ({
    kernel: 'adamUpdate',
    label,
    cases,
    run: (k, [param, grad, m, v]) => {
      const [p1, m1, v1] = [clone(param!), clone(m!), clone(v!)];
      k.adamUpdate(p1, grad!, m1, v1, step);
      return [p1, m1, v1];
    },
    atol: 1e-6,
    rtol: 1e-5,
  }));
}

// ---------------------------------------------------------------------------------------------
// block-sparse products (Backend.blockSparse; a backend without them runs the reference kernels).
// Inputs: [rows, cols, block] (i32), rowPtr, colIdx, x [n, cols], values [active, b, b], dy [n, rows].

const REFERENCE_BLOCK_SPARSE: BlockSparseProducts = {
  matmul: blockSparseMatmulReference,
  gradInput: blockSparseGradInputReference,
  gradValues: blockSparseGradValuesReference,
};

function blockSparseCase(name: string, pattern: BlockSparsePattern, n: number, rng: Rng, zeroEvery = 0): ConformanceCase {
  const { rows, cols, block: b } = pattern;
  const active = pattern.rowPtr[pattern.rowPtr.length - 1]!;
  const weights = draw([active, b, b], rng);
  // All-zero blocks: every zeroEvery-th active block.
  if (zeroEvery > 0) for (let k = 0; k < active; k += zeroEvery) weights.data.fill(0, k * b * b, (k + 1) * b * b);
  const i32 = (a: ArrayLike<number>): Tensor => new Tensor(Int32Array.from(a), 'i32', [a.length]);
  return {
    name: `${name}: [${rows}, ${cols}] b=${b}, ${active} blocks, n=${n}`,
    inputs: [i32([rows, cols, b]), i32(pattern.rowPtr), i32(pattern.colIdx.subarray(0, active)), draw([n, cols], rng), weights, draw([n, rows], rng)],
    atol: 2e-6 * Math.max(cols, rows, n, 1),
  };
}

function blockSparseCases(rng: Rng): ConformanceCase[] {
  const out: ConformanceCase[] = [];
  for (const b of [1, 4, 8, 16, 3]) {
    const rows = 4 * b;
    const cols = 6 * b;
    const blocks = 24;
    out.push(blockSparseCase('random 30%', BlockSparsePattern.random(rows, cols, b, 7, rng), 13, rng));
    out.push(blockSparseCase('random 30%, odd n', BlockSparsePattern.random(rows, cols, b, 7, rng), 33, rng));
    const mask = new Uint8Array(blocks);
    mask[1 * 6 + 2] = 1;
    out.push(blockSparseCase('a single block', BlockSparsePattern.fromMask(rows, cols, b, mask), 5, rng));
    // Block rows 0 and 2 empty, row 3 full.
    const gaps = new Uint8Array(blocks);
    for (let c = 0; c < 6; c++) gaps[3 * 6 + c] = 1;
    gaps[1 * 6 + 0] = 1;
    gaps[1 * 6 + 5] = 1;
    out.push(blockSparseCase('empty block rows, all-zero blocks', BlockSparsePattern.fromMask(rows, cols, b, gaps), 9, rng, 2));
    out.push(blockSparseCase('every block', BlockSparsePattern.fromMask(rows, cols, b, new Uint8Array(blocks).fill(1)), 4, rng));
    out.push(blockSparseCase('no block', BlockSparsePattern.fromMask(rows, cols, b, new Uint8Array(blocks)), 4, rng));
  }
  // Wider than one 256-feature panel of the 1x1 kernel (forward over 2 panels, dX over 1) and the other way round.
  out.push(blockSparseCase('1x1 across feature panels', BlockSparsePattern.random(8, 300, 1, 240, rng), 21, rng));
  out.push(blockSparseCase('1x1 across feature panels, transposed', BlockSparsePattern.random(300, 8, 1, 240, rng), 37, rng));
  // The same for 4x4 blocks (the forward over 2 panels, the last of 48 features; dX over 1), with
  // partial 16-token chunks of more than one 8-token tile.
  out.push(blockSparseCase('4x4 across feature panels', BlockSparsePattern.random(8, 304, 4, 60, rng), 29, rng));
  out.push(blockSparseCase('4x4 across feature panels, transposed', BlockSparsePattern.random(304, 8, 4, 60, rng), 13, rng));
  // Token counts past the 8-token groups and 32-token dW chunks of the b >= 4 kernels.
  out.push(blockSparseCase('tokens past a dW chunk', BlockSparsePattern.random(32, 48, 8, 9, rng), 35, rng));
  out.push(blockSparseCase('no tokens', BlockSparsePattern.random(32, 16, 8, 3, rng), 0, rng));
  out.push(blockSparseCase('one token, 1x1', BlockSparsePattern.random(1, 1, 1, 1, rng), 1, rng));
  return out;
}

function blockSparseRow(product: keyof BlockSparseProducts): ConformanceRow {
  return {
    kernel: `blockSparse.${product}`,
    cases: blockSparseCases,
    run: (_k, [meta, rowPtr, colIdx, x, weights, dy], backend) => {
      const [rows, cols, block] = Array.from(meta!.data);
      const s: BlockSparseStructure = { rows: rows!, cols: cols!, block: block!, rowPtr: rowPtr!.data as Int32Array, colIdx: colIdx!.data as Int32Array };
      const n = x!.shape[0]!;
      const products = blockSparseProductsOf(backend) ?? REFERENCE_BLOCK_SPARSE;
      const f32 = (t: Tensor): Float32Array => t.data as Float32Array;
      if (product === 'matmul') {
        const y = new Float32Array(n * s.rows).fill(NaN);
        products.matmul(f32(x!), n, s, f32(weights!), y);
        return [new Tensor(y, 'f32', [n, s.rows])];
      }
      if (product === 'gradInput') {
        const dx = new Float32Array(n * s.cols).fill(NaN);
        products.gradInput(f32(dy!), n, s, f32(weights!), dx);
        return [new Tensor(dx, 'f32', [n, s.cols])];
      }
      const dValues = new Float32Array(weights!.size).fill(NaN);
      products.gradValues(f32(dy!), f32(x!), n, s, dValues);
      return [new Tensor(dValues, 'f32', weights!.shape)];
    },
    atol: 1e-5,
    rtol: 1e-5,
  };
}

export const BLOCK_SPARSE_PRODUCTS: readonly (keyof BlockSparseProducts)[] = ['matmul', 'gradInput', 'gradValues'];

// ---------------------------------------------------------------------------------------------
// indexAdd (the embedding gradient). Inputs: [shape..., axis] (i32), index (i32), src. Run plainly
// and inside the backend's step memory (Backend.withStepMemory), whose result is copied out
// before the step ends.

function indexAddRows(): ConformanceRow[] {
  const i32 = (a: readonly number[]): Tensor => new Tensor(Int32Array.from(a), 'i32', [a.length]);
  const setups: Array<[string, number[], number, number[]]> = [
    ['repeated rows, special values', [7, 5], 0, [0, 3, 3, 6, 3]],
    ['middle axis', [3, 4, 2], 1, [1, 1, 0]],
    ['no index', [4, 3], 0, []],
    ['size 1', [1], 0, [0]],
    ['empty rows', [5, 0], 0, [2, 2]],
    ['a vocabulary-sized table', [301, 17], 0, [300, 0, 150, 0, 299, 7]],
  ];
  const cases = (rng: Rng): ConformanceCase[] => setups.map(([name, shape, axis, index], c) => {
    const srcShape = shape.map((d, i) => (i === axis ? index.length : d));
    return { name, inputs: [i32([...shape, axis]), i32(index), draw(srcShape, rng, { specials: c === 0 })] };
  });
  const call = (k: KernelTable, [meta, index, src]: readonly Tensor[]): Tensor => {
    const m = Array.from(meta!.toArray());
    return k.indexAdd(m.slice(0, -1), m[m.length - 1]!, index!, src!);
  };
  const copied = (t: Tensor): Tensor => new Tensor(Float32Array.from(t.toArray()), t.dtype, t.shape);
  return [
    { kernel: 'indexAdd', cases, run: (k, inputs) => [call(k, inputs)], atol: 0, rtol: 1e-6 },
    {
      kernel: 'indexAdd',
      label: 'in step memory',
      cases,
      run: (k, inputs, backend) => [backend.withStepMemory ? backend.withStepMemory(() => copied(call(k, inputs))) : call(k, inputs)],
      atol: 0,
      rtol: 1e-6,
    },
  ];
}

export const CONFORMANCE_TABLE: readonly ConformanceRow[] = [
  matmulRow,
  ...unaryRows,
  ...unaryGradRows,
  ...binaryRows,
  ...softmaxRows(false),
  ...softmaxRows(true),
  ...normRows(),
  ...convRows,
  ...adamRows(),
  ...indexAddRows(),
  ...BLOCK_SPARSE_PRODUCTS.map(blockSparseRow),
];

// ---------------------------------------------------------------------------------------------
// Kernels a backend supplies beside its kernel table (Backend.quant). Run by
// test/quant/conformance.test.ts on every backend of backends.ts: a backend without its own runs
// the reference's, and the wasm variants must run theirs.

export interface QuantConformanceRow {
  readonly format: QuantFormat;
  /** inputs: x f32 [n, cols], the weight's bytes as i8 [rows, rowBytes]. */
  cases(rng: Rng): ConformanceCase[];
  readonly atol: number;
  readonly rtol: number;
}

/** y[n, rows] = x Wᵀ with W in `format`, from the case's inputs. */
export function runQuantRow(quant: QuantKernels, row: QuantConformanceRow, inputs: readonly Tensor[]): Tensor[] {
  const [x, w] = inputs as [Tensor, Tensor];
  const n = x.shape[0]!;
  const cols = x.shape[1]!;
  const rows = w.shape[0]!;
  const bytes = new Uint8Array(w.data.buffer, w.data.byteOffset, w.data.byteLength);
  const y = new Float32Array(n * rows);
  quant.matmul(x.data as Float32Array, n, { format: row.format, rows, cols, bytes }, y);
  return [new Tensor(y, 'f32', [n, rows])];
}

function encodeRows(format: QuantFormat, values: Float32Array, rows: number): Tensor {
  const bytes = format === 'Q8_0' ? quantizeQ8_0(values)
    : format === 'Q4_0' ? quantizeQ4_0(values)
      : new Uint8Array(f32ToHalf(values, format === 'F16' ? 'f16' : 'bf16').buffer);
  return new Tensor(new Int8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength), 'i8', [rows, rows === 0 ? 0 : bytes.byteLength / rows]);
}

function quantRow(format: QuantFormat): QuantConformanceRow {
  const blocked = format === 'Q8_0' || format === 'Q4_0';
  // [rows, cols, n]: rows not a multiple of 4, one and several tokens, empty and size-1 inputs; the
  // halves also take column counts off multiples of 4 and 8. Prefill runs 4 rows at a time: rows
  // 7, 13, 17, 37 leave 1-3 rows after the last tile; decode streams rows, long ones run its loops
  // long. Split over threads, rows go in chunks of 16 from a shared counter: 33 and 37 rows make 3.
  const shapes: Array<[number, number, number]> = blocked
    ? [[1, 32, 1], [3, 64, 1], [5, 96, 2], [7, 32, 3], [13, 128, 5], [33, 256, 1], [0, 32, 2], [4, 32, 0], [6, 64, 17],
      [8, 1024, 1], [17, 320, 1], [37, 96, 3]]
    : [[1, 1, 1], [3, 7, 1], [5, 37, 3], [13, 64, 1], [9, 130, 6], [0, 8, 2], [4, 16, 0], [2, 9, 1],
      [8, 1000, 1], [7, 261, 1], [17, 77, 1], [37, 40, 3]];
  // The halves' weights hold special values from the third case on, except two long decode cases
  // (their tiles keep the fast path); x holds them in the cases listed.
  const plainWeights = new Set([8, 9]);
  const specialX = new Set(blocked ? [8, 10] : [7, 9]);
  return {
    format,
    atol: 1e-5,
    rtol: 1e-4,
    cases(rng) {
      const cases = shapes.map(([rows, cols, n], i): ConformanceCase => {
        const specialWeights = !blocked && i >= 2 && !plainWeights.has(i);
        const w = draw([rows * cols], rng, { std: 0.5, specials: specialWeights }).data as Float32Array;
        const x = draw([n, cols], rng, { specials: specialX.has(i) });
        return { name: `${format} [${rows}, ${cols}] x ${n} tokens`, inputs: [x, encodeRows(format, w, rows)], atol: 1e-5 * Math.sqrt(cols + 1) };
      });
      if (blocked) cases.push(rawBlocksCase(format, rng));
      return cases;
    },
  };
}

/**
 * Blocks no quantiser writes: every byte of q random (Q8_0's -128 included), scales zero, negative,
 * subnormal, infinite; activations with zero blocks, tiny blocks (1 / d overflows) and ties.
 */
function rawBlocksCase(format: 'Q8_0' | 'Q4_0', rng: Rng): ConformanceCase {
  const [rows, cols, n] = [9, 160, 3];
  const stride = format === 'Q8_0' ? 34 : 18;
  const bytes = new Uint8Array(rows * (cols / 32) * stride);
  for (let i = 0; i < bytes.length; i++) bytes[i] = rng.int(256);
  const scales = [0.03, -0.011, 0, 6e-8, 0.25, -1e-5];
  // Infinite and NaN scales in the first 4-row tile (rows 1 and 3) and in the last row (a tile of one).
  const specialScales = new Map([[7, 0x7c00], [17, 0x7e00], [41, 0xfc00]]);
  for (let b = 0; b < bytes.length / stride; b++) {
    const bits = specialScales.get(b) ?? f32ToHalf([scales[b % scales.length]!], 'f16')[0]!;
    bytes[b * stride] = bits & 0xff;
    bytes[b * stride + 1] = bits >> 8;
  }
  const x = draw([n, cols], rng).data as Float32Array;
  x.fill(0, 32, 64);
  for (let j = 64; j < 96; j++) x[j] = (j - 80) * 1e-39;
  // d = 127 / 127 = 1: every x * (1 / d) a tie, rounded to even.
  for (let j = 96; j < 128; j++) x[j] = j === 96 ? 127 : (j % 8) - 3.5;
  return {
    name: `${format} raw blocks [${rows}, ${cols}] x ${n} tokens`,
    inputs: [new Tensor(x, 'f32', [n, cols]), new Tensor(new Int8Array(bytes.buffer), 'i8', [rows, bytes.length / rows])],
    atol: 1e-5 * Math.sqrt(cols + 1),
  };
}

export const QUANT_CONFORMANCE_TABLE: readonly QuantConformanceRow[] = QUANT_FORMATS.map(quantRow);
