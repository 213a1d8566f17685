// The wasm backend at the tensor level: the kernel table of the reference backend with the hot
// kernels routed to WasmKernels when the operands are f32 and the call is big enough to pay for
// itself. Everything else (f64 gradient checks, integer tensors, odd layouts, small calls) falls
// through to the reference kernel, which stays the oracle for the routed cases.

import type { Backend, BackendKernels, BinaryKind, KernelTable, NormResult, UnaryKind } from '../../ops/kernels.js';
import { defineBackend } from '../../ops/composite.js';
import { broadcastShapes, numel, shapesEqual } from '../../tensor/shape.js';
import { Tensor } from '../../tensor/tensor.js';
import { referenceKernels } from '../reference/index.js';
import { indexAddInto } from '../reference/indexing.js';
import { UNARY_GRAD_KINDS, type BinaryKind as WasmBinaryKind, type UnaryKind as WasmUnaryKind } from './abi.js';
import { WasmAttention } from './attention.js';
import { WasmBlockSparse, type WasmBlockSparseOptions } from './block-sparse.js';
import { WasmKernels } from './kernels.js';
import { WasmQuant } from './quant.js';

/** Unary kinds with a wasm kernel (forward; the backward where UNARY_GRAD_KINDS has it). */
export const WASM_UNARY: Partial<Record<UnaryKind, WasmUnaryKind>> = {
  exp: 'exp',
  log: 'log',
  tanh: 'tanh',
  sigmoid: 'sigmoid',
  silu: 'silu',
  geluTanh: 'gelu_tanh',
  geluErf: 'gelu_erf',
  erf: 'erf',
  relu: 'relu',
  leakyRelu: 'leaky_relu',
  softplus: 'softplus',
  sqrt: 'sqrt',
  rsqrt: 'rsqrt',
  neg: 'neg',
  abs: 'abs',
  square: 'square',
};

export const WASM_BINARY: Partial<Record<BinaryKind, WasmBinaryKind>> = {
  add: 'add',
  sub: 'sub',
  mul: 'mul',
  div: 'div',
  maximum: 'max',
  minimum: 'min',
};
const COMMUTATIVE: ReadonlySet<BinaryKind> = new Set<BinaryKind>(['add', 'mul', 'maximum', 'minimum']);

/** True when `small` broadcasts over `full` (already the output shape) as a scalar or a trailing row. */
function trailingBroadcast(full: Tensor, small: Tensor): boolean {
  if (small.size === 1) return true;
  const dims = [...small.shape];
  while (dims.length && dims[0] === 1) dims.shift();
  if (dims.length > full.rank) return false;
  const tail = full.shape.slice(full.rank - dims.length);
  return dims.every((d, i) => d === tail[i]);
}

/** Below this many multiply-adds the reference matmul's lower call overhead wins. */
const MATMUL_MIN_MACS = 4096;

/** How a [.., rows, cols] operand can be handed to the gemm: row-major or transposed, with one batch stride. */
interface MatrixLayout {
  data: Float32Array;
  transposed: boolean;
  /** Element stride between consecutive batch matrices (0 = broadcast). */
  batchStride: number;
}

/**
 * The operand viewed as `batch` matrices of [rows, cols] that the gemm can read in place, or null
 * when its strides need a copy first. Batch axes must collapse into one uniform stride.
 */
function matrixLayout(t: Tensor, batchShape: readonly number[], rows: number, cols: number): MatrixLayout | null {
  const r = t.rank;
  const sr = t.strides[r - 2]!;
  const sc = t.strides[r - 1]!;
  let transposed: boolean;
  if ((sc === 1 || cols === 1) && (sr === cols || rows === 1)) transposed = false;
  else if ((sr === 1 || rows === 1) && (sc === rows || cols === 1)) transposed = true;
  else return null;
  // Collapse the batch axes (broadcast against batchShape) into one stride.
  const lead = batchShape.length - (r - 2);
  let stride = -1;
  let expected = -1;
  for (let i = batchShape.length - 1; i >= 0; i--) {
    const d = batchShape[i]!;
    if (d === 1) continue;
    const j = i - lead;
    const own = j >= 0 && t.shape[j] !== 1 ? t.strides[j]! : 0;
    if (stride < 0) {
      stride = own;
      expected = own * d;
    } else {
      if (own !== expected) return null;
      expected = own * d;
    }
  }
  const batchStride = Math.max(stride, 0);
  const matrix = rows * cols;
  const batch = numel(batchShape);
  const span = batchStride * (batch - 1) + matrix;
  if (!(t.data instanceof Float32Array)) return null;
  return { data: t.data.subarray(t.offset, t.offset + span), transposed, batchStride };
}

/** The operand in a layout the gemm reads: as it is, else contiguous, else materialised over all batches. */
function gemmOperand(t: Tensor, batchShape: readonly number[], rows: number, cols: number): MatrixLayout {
  const direct = matrixLayout(t, batchShape, rows, cols);
  if (direct) return direct;
  if (!t.isContiguous()) {
    const copied = matrixLayout(referenceKernels.copy(t, 'f32'), batchShape, rows, cols);
    if (copied) return copied;
  }
  // Broadcast batch axes that do not collapse into one stride: expand (stride 0) and copy.
  const shape = [...batchShape, rows, cols];
  const lead = shape.length - t.rank;
  const strides = shape.map((_d, i) => (i < lead || t.shape[i - lead] === 1 ? 0 : t.strides[i - lead]!));
  const full = referenceKernels.copy(new Tensor(t.data, t.dtype, shape, strides, t.offset), 'f32');
  return matrixLayout(full, batchShape, rows, cols)!;
}

function f32Data(t: Tensor): Float32Array {
  return t.toArray() as Float32Array;
}

export interface WasmBackendOptions {
  /**
   * Route every call the wasm kernels can take, however small (default false: small calls stay on
   * the reference kernels, whose call overhead is lower). Tests use it to run special values,
   * size-1 and empty inputs through the wasm kernels themselves.
   */
  routeAll?: boolean;
  /** Options of the block-sparse products (tests force the thread splits). */
  blockSparse?: WasmBlockSparseOptions;
}

export function createWasmBackend(wasm: WasmKernels, options: WasmBackendOptions = {}): Backend {
  const ref = referenceKernels;
  const routeAll = options.routeAll ?? false;
  const worthIt = (kind: Parameters<typeof WasmKernels.worthIt>[0], length: number): boolean => routeAll || WasmKernels.worthIt(kind, length, false);

  // Step memory (Backend.withStepMemory): while a step runs, kernel outputs are arena blocks, all
  // freed when it returns, so the next step reuses the same (already mapped) memory and kernels
  // read earlier outputs in place instead of copying them into scratch and back. Outside a step,
  // outputs are ordinary arrays that the garbage collector owns.
  let stepBlocks: Float32Array[] | null = null;
  /** An output array of n floats; zero-filled only when asked (a product with an empty inner dimension writes nothing). */
  const outF32 = (n: number, zeroFill = false): Float32Array => {
    if (stepBlocks === null || n === 0) return new Float32Array(n);
    const view = wasm.arenas.allocF32(n, zeroFill);
    stepBlocks.push(view);
    return view;
  };
  const zerosF32 = (n: number): Float32Array => outF32(n, true);
  const withStepMemory = <T>(fn: () => T): T => {
    if (stepBlocks !== null) return fn(); // nested: part of the enclosing step
    const blocks: Float32Array[] = [];
    stepBlocks = blocks;
    try {
      return fn();
    } finally {
      stepBlocks = null;
      for (const view of blocks) wasm.freeF32(view);
    }
  };

  const matmul: KernelTable['matmul'] = (a, b) => {
    if (a.dtype !== 'f32' || b.dtype !== 'f32' || a.rank < 2 || b.rank < 2) return ref.matmul(a, b);
    const m = a.shape[a.rank - 2]!;
    const k = a.shape[a.rank - 1]!;
    const n = b.shape[b.rank - 1]!;
    if (b.shape[b.rank - 2] !== k) return ref.matmul(a, b);
    const batchShape = broadcastShapes(a.shape.slice(0, -2), b.shape.slice(0, -2));
    const batch = numel(batchShape);
    if (!routeAll && batch * m * n * k < MATMUL_MIN_MACS) return ref.matmul(a, b);
    const la = gemmOperand(a, batchShape, m, k);
    const lb = gemmOperand(b, batchShape, k, n);
    const out = outF32(batch * m * n, k === 0);
    if (batch === 1) wasm.matmul(la.data, lb.data, out, m, n, k, la.transposed, lb.transposed);
    else wasm.batchedMatmul(la.data, lb.data, out, batch, m, n, k, la.transposed, lb.transposed, la.batchStride, lb.batchStride, m * n);
    return new Tensor(out, 'f32', [...batchShape, m, n]);
  };

  const unary: KernelTable['unary'] = (kind, x, alpha) => {
    const wasmKind = WASM_UNARY[kind];
    if (x.dtype !== 'f32' || !wasmKind || !worthIt(wasmKind, x.size)) return ref.unary(kind, x, alpha);
    const out = outF32(x.size);
    wasm.unary(wasmKind, f32Data(x), out, alpha);
    return new Tensor(out, 'f32', x.shape);
  };

  const unaryGrad: KernelTable['unaryGrad'] = (kind, x, y, dy, alpha) => {
    const wasmKind = WASM_UNARY[kind];
    if (!wasmKind || !UNARY_GRAD_KINDS.has(wasmKind) || x.dtype !== 'f32' || dy.dtype !== 'f32' || !shapesEqual(x.shape, dy.shape)) {
      return ref.unaryGrad(kind, x, y, dy, alpha);
    }
    if (!worthIt(wasmKind, x.size)) return ref.unaryGrad(kind, x, y, dy, alpha);
    const out = outF32(x.size);
    wasm.unaryGrad(wasmKind, f32Data(x), f32Data(dy), out, alpha);
    return new Tensor(out, 'f32', x.shape);
  };

  const binary: KernelTable['binary'] = (kind, a, b) => {
    const wasmKind = WASM_BINARY[kind];
    if (!wasmKind || a.dtype !== 'f32' || b.dtype !== 'f32' || !a.isContiguous() || !b.isContiguous()) return ref.binary(kind, a, b);
    let [full, small] = [a, b];
    if (a.size < b.size) {
      if (!COMMUTATIVE.has(kind)) return ref.binary(kind, a, b);
      [full, small] = [b, a];
    }
    const outShape = broadcastShapes(a.shape, b.shape);
    if (!shapesEqual(outShape, full.shape) || !trailingBroadcast(full, small) || !worthIt(wasmKind, full.size)) {
      return ref.binary(kind, a, b);
    }
    const out = outF32(full.size);
    wasm.binary(wasmKind, f32Data(full), f32Data(small), out);
    return new Tensor(out, 'f32', outShape);
  };

  const rowsKernel = (x: Tensor, axis: number): boolean =>
    x.dtype === 'f32' && axis === x.rank - 1 && worthIt('rows', x.size);

  const softmax: KernelTable['softmax'] = (x, axis) => {
    if (!rowsKernel(x, axis)) return ref.softmax(x, axis);
    const cols = x.shape[axis]!;
    const out = outF32(x.size);
    wasm.softmaxRows(f32Data(x), out, cols ? x.size / cols : 0, cols);
    return new Tensor(out, 'f32', x.shape);
  };

  const logSoftmax: KernelTable['logSoftmax'] = (x, axis) => {
    if (!rowsKernel(x, axis)) return ref.logSoftmax(x, axis);
    const cols = x.shape[axis]!;
    const out = outF32(x.size);
    wasm.logSoftmaxRows(f32Data(x), out, cols ? x.size / cols : 0, cols);
    return new Tensor(out, 'f32', x.shape);
  };

  const softmaxGradRows = (log: boolean) => (y: Tensor, dy: Tensor, axis: number): Tensor => {
    if (!rowsKernel(dy, axis) || y.dtype !== 'f32' || !shapesEqual(y.shape, dy.shape)) return log ? ref.logSoftmaxGrad(y, dy, axis) : ref.softmaxGrad(y, dy, axis);
    const cols = dy.shape[axis]!;
    const out = outF32(dy.size);
    wasm.softmaxGradRows(f32Data(y), f32Data(dy), out, cols ? dy.size / cols : 0, cols, log);
    return new Tensor(out, 'f32', dy.shape);
  };
  const softmaxGrad: KernelTable['softmaxGrad'] = softmaxGradRows(false);
  const logSoftmaxGrad: KernelTable['logSoftmaxGrad'] = softmaxGradRows(true);

  const normRows = (x: Tensor, params: (Tensor | null)[]): boolean =>
    x.dtype === 'f32' && x.rank >= 1 && params.every((p) => !p || p.dtype === 'f32') && rowsKernel(x, x.rank - 1);

  const layerNorm: KernelTable['layerNorm'] = (x, gamma, beta, eps): NormResult => {
    const cols = x.shape[x.rank - 1] ?? 0;
    if (!normRows(x, [gamma, beta]) || (gamma && gamma.size !== cols) || (beta && beta.size !== cols)) return ref.layerNorm(x, gamma, beta, eps);
    const rows = cols ? x.size / cols : 0;
    const y = outF32(x.size);
    const mean = outF32(rows);
    const rstd = outF32(rows);
    wasm.layerNormRows(f32Data(x), gamma ? f32Data(gamma) : null, beta ? f32Data(beta) : null, y, rows, cols, eps, mean, rstd);
    const stats = x.shape.slice(0, -1);
    return { y: new Tensor(y, 'f32', x.shape), mean: new Tensor(mean, 'f32', stats), rstd: new Tensor(rstd, 'f32', stats) };
  };

  const layerNormGrad: KernelTable['layerNormGrad'] = (x, gamma, mean, rstd, dy) => {
    const cols = x.shape[x.rank - 1] ?? 0;
    const rows = cols ? x.size / cols : 0;
    if (!normRows(x, [gamma, mean, rstd, dy]) || !shapesEqual(x.shape, dy.shape) || (gamma && gamma.size !== cols) || mean.size !== rows || rstd.size !== rows) {
      return ref.layerNormGrad(x, gamma, mean, rstd, dy);
    }
    const dx = outF32(x.size);
    const dgamma = gamma ? outF32(cols) : null;
    const dbeta = outF32(cols);
    wasm.layerNormGradRows(f32Data(x), gamma ? f32Data(gamma) : null, f32Data(mean), f32Data(rstd), f32Data(dy), dx, dgamma, dbeta, rows, cols);
    return { dx: new Tensor(dx, 'f32', x.shape), dgamma: dgamma ? new Tensor(dgamma, 'f32', [cols]) : null, dbeta: new Tensor(dbeta, 'f32', [cols]) };
  };

  const rmsNorm: KernelTable['rmsNorm'] = (x, gamma, eps): NormResult => {
    const cols = x.shape[x.rank - 1] ?? 0;
    if (!normRows(x, [gamma]) || (gamma && gamma.size !== cols)) return ref.rmsNorm(x, gamma, eps);
    const rows = cols ? x.size / cols : 0;
    const y = outF32(x.size);
    const rstd = outF32(rows);
    wasm.rmsNormRows(f32Data(x), gamma ? f32Data(gamma) : null, y, rows, cols, eps, rstd);
    return { y: new Tensor(y, 'f32', x.shape), mean: null, rstd: new Tensor(rstd, 'f32', x.shape.slice(0, -1)) };
  };

  // conv1d as grouped matmuls over unfolded windows (im2col): for group g,
  // out_g [B*L, Og] = cols_g [B*L, Cg*K] . W_g^T, W_g = w[g*Og .. (g+1)*Og] viewed [Og, Cg*K].
  const conv1d: KernelTable['conv1d'] = (x, w, groups, padLeft) => {
    const dims = convDims(x.shape, w.shape, groups, routeAll);
    if (!dims || x.dtype !== 'f32' || w.dtype !== 'f32') return ref.conv1d(x, w, groups, padLeft);
    const { batch, length, cout, cg, og, kernel } = dims;
    const rows = batch * length;
    const cols = unfold(f32Data(x), dims, padLeft, zerosF32);
    const outG = outF32(groups * rows * og, cg * kernel === 0);
    wasm.batchedMatmul(cols, f32Data(w), outG, groups, rows, og, cg * kernel, false, true, rows * cg * kernel, og * cg * kernel, rows * og);
    return new Tensor(interleaveGroups(outG, groups, rows, og, outF32), 'f32', [batch, length, cout]);
  };

  const conv1dGradInput: KernelTable['conv1dGradInput'] = (dy, w, groups, padLeft, inputShape) => {
    const dims = convDims(inputShape, w.shape, groups, routeAll);
    if (!dims || dy.dtype !== 'f32' || w.dtype !== 'f32') return ref.conv1dGradInput(dy, w, groups, padLeft, inputShape);
    const { batch, length, cg, og, kernel } = dims;
    const rows = batch * length;
    const dyG = separateGroups(f32Data(dy), groups, rows, og, outF32);
    const dcols = outF32(groups * rows * cg * kernel, og === 0);
    wasm.batchedMatmul(dyG, f32Data(w), dcols, groups, rows, cg * kernel, og, false, false, rows * og, og * cg * kernel, rows * cg * kernel);
    return new Tensor(fold(dcols, dims, padLeft, zerosF32), 'f32', inputShape);
  };

  const conv1dGradWeight: KernelTable['conv1dGradWeight'] = (dy, x, groups, padLeft, weightShape) => {
    const dims = convDims(x.shape, weightShape, groups, routeAll);
    if (!dims || dy.dtype !== 'f32' || x.dtype !== 'f32') return ref.conv1dGradWeight(dy, x, groups, padLeft, weightShape);
    const { batch, length, cg, og, kernel } = dims;
    const rows = batch * length;
    const cols = unfold(f32Data(x), dims, padLeft, zerosF32);
    const dyG = separateGroups(f32Data(dy), groups, rows, og, outF32);
    const dw = outF32(groups * og * cg * kernel, rows === 0);
    // dW_g [Og, Cg*K] = dy_g^T . cols_g: dy_g is stored [B*L, Og], i.e. op(A) = A^T.
    wasm.batchedMatmul(dyG, cols, dw, groups, og, cg * kernel, rows, true, false, rows * og, rows * cg * kernel, og * cg * kernel);
    return new Tensor(dw, 'f32', weightShape);
  };

  /** The storage of a contiguous f32 tensor, for kernels that write in place. */
  const inPlaceF32 = (t: Tensor): Float32Array | null =>
    t.dtype === 'f32' && t.isContiguous() && t.data instanceof Float32Array ? t.data.subarray(t.offset, t.offset + t.size) : null;

  const adamUpdate: KernelTable['adamUpdate'] = (param, grad, m, v, step) => {
    const p = inPlaceF32(param);
    const ms = inPlaceF32(m);
    const vs = inPlaceF32(v);
    if (!p || !ms || !vs || grad.dtype !== 'f32' || grad.size !== p.length || ms.length !== p.length || vs.length !== p.length
      || !worthIt('exp', p.length)) {
      return ref.adamUpdate(param, grad, m, v, step);
    }
    wasm.adamUpdate(p, f32Data(grad), ms, vs, step.decay, step.l2, step.beta1, step.beta2, step.stepSize, step.bias2Sqrt, step.eps);
  };

  // The reference loop, into zeros from outF32: in a step, the embedding gradient ([vocab, hidden],
  // the largest gradient of a BERT) then lives in step memory, where the sum with the tied decoder's
  // gradient reads it in place.
  const indexAdd: KernelTable['indexAdd'] = (shape, axis, index, src) => {
    if (src.dtype !== 'f32') return ref.indexAdd(shape, axis, index, src);
    return new Tensor(indexAddInto(zerosF32(numel(shape)), shape, axis, index, src), 'f32', shape);
  };

  // rmsNormGrad stays the reference's (a single pass over the rows; the LLMs are not trained here).
  const kernels: BackendKernels = {
    ...ref, matmul, unary, unaryGrad, binary, conv1d, conv1dGradInput, conv1dGradWeight, indexAdd,
    softmax, softmaxGrad, logSoftmax, logSoftmaxGrad, layerNorm, layerNormGrad, rmsNorm, adamUpdate,
  };
  return {
    ...defineBackend({ name: `wasm-${wasm.simd}`, kernels, floatDType: 'f32', attention: new WasmAttention(wasm),
      blockSparse: new WasmBlockSparse(wasm, options.blockSparse) }),
    quant: new WasmQuant(wasm),
    withStepMemory,
  };
}

interface ConvDims {
  batch: number;
  length: number;
  cin: number;
  cout: number;
  /** input and output channels per group */
  cg: number;
  og: number;
  kernel: number;
  groups: number;
}

/** Shapes of a grouped conv1d (x [B, L, Cin], w [Cout, Cin/G, K]), or null to leave it to the reference kernel. */
function convDims(xs: readonly number[], ws: readonly number[], groups: number, routeAll: boolean): ConvDims | null {
  if (xs.length !== 3 || ws.length !== 3 || groups < 1) return null;
  const [batch, length, cin] = xs as [number, number, number];
  const [cout, cg, kernel] = ws as [number, number, number];
  if (cin % groups !== 0 || cout % groups !== 0 || cg !== cin / groups) return null;
  // Too small to pay for the unfolding and the calls.
  if (!routeAll && batch * length * cout * cg * kernel < 1 << 14) return null;
  return { batch, length, cin, cout, cg, og: cout / groups, kernel, groups };
}

/** Where a helper puts its result: zero-filled (unfold, fold) or overwritten entirely. */
type F32Alloc = (n: number) => Float32Array;

/** cols[g][b*L + t][ci*K + j] = x[b][t + j - padLeft][g*Cg + ci] (zero outside the sequence). */
function unfold(x: Float32Array, d: ConvDims, padLeft: number, zeros: F32Alloc): Float32Array {
  const { batch, length, cin, cg, kernel, groups } = d;
  const rows = batch * length;
  const width = cg * kernel;
  const cols = zeros(groups * rows * width);
  for (let g = 0; g < groups; g++) {
    for (let b = 0; b < batch; b++) {
      for (let t = 0; t < length; t++) {
        const dst = (g * rows + b * length + t) * width;
        for (let j = 0; j < kernel; j++) {
          const src = t + j - padLeft;
          if (src < 0 || src >= length) continue;
          const xBase = (b * length + src) * cin + g * cg;
          for (let ci = 0; ci < cg; ci++) cols[dst + ci * kernel + j] = x[xBase + ci]!;
        }
      }
    }
  }
  return cols;
}

/** The adjoint of unfold: dx[b][t + j - padLeft][g*Cg + ci] += dcols[g][b*L + t][ci*K + j]. */
function fold(dcols: Float32Array, d: ConvDims, padLeft: number, zeros: F32Alloc): Float32Array {
  const { batch, length, cin, cg, kernel, groups } = d;
  const rows = batch * length;
  const width = cg * kernel;
  const dx = zeros(batch * length * cin);
  for (let g = 0; g < groups; g++) {
    for (let b = 0; b < batch; b++) {
      for (let t = 0; t < length; t++) {
        const src = (g * rows + b * length + t) * width;
        for (let j = 0; j < kernel; j++) {
          const pos = t + j - padLeft;
          if (pos < 0 || pos >= length) continue;
          const xBase = (b * length + pos) * cin + g * cg;
          for (let ci = 0; ci < cg; ci++) dx[xBase + ci]! += dcols[src + ci * kernel + j]!;
        }
      }
    }
  }
  return dx;
}

/** [G, rows, og] -> [rows, G*og] */
function interleaveGroups(grouped: Float32Array, groups: number, rows: number, og: number, alloc: F32Alloc): Float32Array {
  const out = alloc(grouped.length);
  const width = groups * og;
  for (let g = 0; g < groups; g++) {
    for (let r = 0; r < rows; r++) {
      const src = (g * rows + r) * og;
      const dst = r * width + g * og;
      for (let o = 0; o < og; o++) out[dst + o] = grouped[src + o]!;
    }
  }
  return out;
}

/** [rows, G*og] -> [G, rows, og] */
function separateGroups(flat: Float32Array, groups: number, rows: number, og: number, alloc: F32Alloc): Float32Array {
  const out = alloc(flat.length);
  const width = groups * og;
  for (let g = 0; g < groups; g++) {
    for (let r = 0; r < rows; r++) {
      const src = r * width + g * og;
      const dst = (g * rows + r) * og;
      for (let o = 0; o < og; o++) out[dst + o] = flat[src + o]!;
    }
  }
  return out;
}
