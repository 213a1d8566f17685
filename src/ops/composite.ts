// Composite twins of the fused kernels, built only from primitives, and `defineBackend`, which
// completes a backend's kernel table with them. A backend that implements the primitives is
// therefore complete and correct; the fused kernels it adds are fast paths that must agree with
// these composites (the conformance table in test/conformance checks both against the reference).
//
// Semantics shared by every backend (fused or composite):
// - softmax of a fully masked row (every entry -inf) is a row of zeros and logSoftmax is a row of
//   -inf, as PyTorch's scaled_dot_product_attention does for fully masked rows (its "safe softmax")
//   rather than torch.softmax's NaN: a padded query row then attends to nothing instead of poisoning
//   the batch with NaN, and its gradient is zero.
// - any NaN in a row makes the whole softmax row NaN; +inf in a row gives NaN (inf - inf), as PyTorch.

import { allocArray, type DType } from '../tensor/dtype.js';
import { formatShape } from '../tensor/shape.js';
import { swapLastAxes, Tensor } from '../tensor/tensor.js';
import {
  FUSED_KERNEL_NAMES,
  type Backend,
  type BackendKernels,
  type FusedKernels,
  type KernelTable,
  type NormResult,
  type PrimitiveKernels,
  type UnaryKind,
} from './kernels.js';

const SQRT_2_OVER_PI = 0.7978845608028654;
const INV_SQRT_2 = 0.7071067811865476;
const INV_SQRT_2PI = 0.3989422804014327;
const TWO_OVER_SQRT_PI = 1.1283791670955126;
const GELU_TANH_COEFF = 0.044715;

export interface BackendSpec {
  readonly name: string;
  readonly kernels: BackendKernels;
  readonly floatDType: Backend['floatDType'];
  /** Fast decode-attention kernels, if the backend has them. */
  readonly attention?: Backend['attention'];
  /** Fast block-sparse products, if the backend has them. */
  readonly blockSparse?: Backend['blockSparse'];
}

/** A backend from its primitives and any fused fast paths; the missing fused kernels are composites. */
export function defineBackend(spec: BackendSpec): Backend {
  return {
    name: spec.name, kernels: completeKernels(spec.kernels), floatDType: spec.floatDType,
    ...(spec.attention ? { attention: spec.attention } : {}), ...(spec.blockSparse ? { blockSparse: spec.blockSparse } : {}),
  };
}

/** The complete kernel table: the given kernels, with composites for every fused kernel left out. */
export function completeKernels(k: BackendKernels): KernelTable {
  const composite = compositeKernels(k);
  const table: KernelTable = { ...k, ...composite };
  const own = k as Partial<Record<keyof KernelTable, unknown>>;
  for (const name of FUSED_KERNEL_NAMES) {
    if (own[name] !== undefined) (table as unknown as Record<string, unknown>)[name] = own[name];
  }
  return table;
}

function scalarOf(value: number, dtype: DType): Tensor {
  const data = allocArray(dtype, 1);
  data[0] = value;
  return new Tensor(data, dtype, []);
}

function emptyLike(x: Tensor, dtype: DType = x.dtype): Tensor {
  return new Tensor(allocArray(dtype, 0), dtype, x.shape);
}

/** A view of a contiguous tensor with another shape of the same size. */
function reshaped(p: PrimitiveKernels, t: Tensor, shape: readonly number[]): Tensor {
  const c = t.isContiguous() ? t : p.copy(t, t.dtype);
  return new Tensor(c.data, c.dtype, shape, undefined, c.offset);
}

/** The fused kernels written with primitives only. */
export function compositeKernels(p: PrimitiveKernels): FusedKernels {
  const add = (a: Tensor, b: Tensor): Tensor => p.binary('add', a, b);
  const sub = (a: Tensor, b: Tensor): Tensor => p.binary('sub', a, b);
  const mul = (a: Tensor, b: Tensor): Tensor => p.binary('mul', a, b);
  const div = (a: Tensor, b: Tensor): Tensor => p.binary('div', a, b);
  const un = (kind: UnaryKind, x: Tensor): Tensor => p.unary(kind, x, 0);
  const sumKeep = (x: Tensor, axis: number): Tensor => p.reduce('sum', x, [axis], true);
  const leadingAxes = (rank: number): number[] => [...Array(Math.max(rank - 1, 0)).keys()];

  /** f'(x) (broadcastable to x), from x, y = f(x). */
  const derivative = (kind: UnaryKind, x: Tensor, y: Tensor, alpha: number, dt: DType): Tensor => {
    const c = (v: number): Tensor => scalarOf(v, dt);
    const positive = (): Tensor => p.binary('gt', x, c(0));
    switch (kind) {
      case 'neg':
        return c(-1);
      case 'exp':
        return y;
      case 'log':
        return un('reciprocal', x); // unaryGrad divides instead (1/x overflows for subnormal x)
      case 'sqrt':
        return div(c(0.5), y);
      case 'rsqrt':
        return mul(mul(c(-0.5), y), un('square', y));
      case 'abs':
        return un('sign', x);
      case 'square':
        return mul(c(2), x);
      case 'reciprocal':
        return un('neg', un('square', y));
      case 'sin':
        return un('cos', x);
      case 'cos':
        return un('neg', un('sin', x));
      case 'tanh':
        return sub(c(1), un('square', y));
      case 'sigmoid':
        return mul(y, sub(c(1), y));
      case 'relu':
        return positive();
      case 'leakyRelu':
        return p.where(positive(), c(1), c(alpha));
      case 'elu':
        return p.where(positive(), c(1), add(y, c(alpha)));
      case 'softplus':
        return un('sigmoid', x);
      case 'softsign':
        return un('reciprocal', un('square', add(c(1), un('abs', x))));
      case 'silu': {
        const s = un('sigmoid', x);
        return mul(s, add(c(1), mul(x, sub(c(1), s))));
      }
      case 'geluTanh': {
        const x2 = un('square', x);
        const t = un('tanh', mul(c(SQRT_2_OVER_PI), add(x, mul(c(GELU_TANH_COEFF), mul(x2, x)))));
        const inner = mul(mul(c(0.5 * SQRT_2_OVER_PI), x), mul(sub(c(1), un('square', t)), add(c(1), mul(c(3 * GELU_TANH_COEFF), x2))));
        return add(mul(c(0.5), add(c(1), t)), inner);
      }
      case 'geluErf': {
        const cdf = mul(c(0.5), add(c(1), un('erf', mul(c(INV_SQRT_2), x))));
        const pdf = mul(c(INV_SQRT_2PI), un('exp', mul(c(-0.5), un('square', x))));
        return add(cdf, mul(x, pdf));
      }
      case 'erf':
        return mul(c(TWO_OVER_SQRT_PI), un('exp', un('neg', un('square', x))));
      case 'sign':
        return c(0);
    }
  };

  const unaryGrad: FusedKernels['unaryGrad'] = (kind, x, y, dy, alpha) => {
    if (formatShape(x.shape) !== formatShape(dy.shape)) throw new Error(`${kind} backward: shapes ${formatShape(x.shape)} and ${formatShape(dy.shape)} differ`);
    if (kind === 'log') return div(dy, x);
    const d = derivative(kind, x, y, alpha, dy.dtype);
    // Multiplying by a scalar derivative still yields dy's shape; the result is a fresh tensor.
    return mul(dy, d);
  };

  /** Per-row max, with fully masked rows (max = -inf) shifted by 0; and the mask of those rows. */
  const rowShift = (x: Tensor, axis: number): { shift: Tensor; masked: Tensor } => {
    const m = p.reduce('max', x, [axis], true);
    const masked = p.binary('eq', m, scalarOf(-Infinity, m.dtype));
    return { shift: p.where(masked, scalarOf(0, m.dtype), m), masked };
  };

  const softmax: FusedKernels['softmax'] = (x, axis) => {
    if (x.size === 0) return emptyLike(x);
    const { shift, masked } = rowShift(x, axis);
    const e = un('exp', sub(x, shift));
    return p.where(masked, scalarOf(0, x.dtype), div(e, sumKeep(e, axis)));
  };

  const logSoftmax: FusedKernels['logSoftmax'] = (x, axis) => {
    if (x.size === 0) return emptyLike(x);
    const { shift, masked } = rowShift(x, axis);
    const lse = add(shift, un('log', sumKeep(un('exp', sub(x, shift)), axis)));
    return p.where(masked, scalarOf(-Infinity, x.dtype), sub(x, lse));
  };

  const softmaxGrad: FusedKernels['softmaxGrad'] = (y, dy, axis) => {
    if (dy.size === 0) return emptyLike(dy);
    return mul(y, sub(dy, sumKeep(mul(dy, y), axis)));
  };

  const logSoftmaxGrad: FusedKernels['logSoftmaxGrad'] = (y, dy, axis) => {
    if (dy.size === 0) return emptyLike(dy);
    return sub(dy, mul(un('exp', y), sumKeep(dy, axis)));
  };

  const checkAffine = (what: string, t: Tensor | null, d: number): void => {
    if (t && t.size !== d) throw new Error(`${what}: expected ${d} values (one per feature), got shape [${t.shape.join(', ')}]`);
  };
  /** Per-row statistics [..., 1] as the kernel table's [...] (x's shape without the last axis). */
  const stats = (t: Tensor, x: Tensor): Tensor => reshaped(p, t, x.shape.slice(0, -1));
  const keepLast = (t: Tensor): Tensor => reshaped(p, t, [...t.shape, 1]);

  const layerNorm: FusedKernels['layerNorm'] = (x, gamma, beta, eps): NormResult => {
    const a = x.rank - 1;
    const d = x.shape[a] ?? 1;
    checkAffine('layerNorm gamma', gamma, d);
    checkAffine('layerNorm beta', beta, d);
    const n = scalarOf(d, x.dtype);
    const mean = div(sumKeep(x, a), n);
    const xc = sub(x, mean);
    const rstd = un('rsqrt', add(div(sumKeep(un('square', xc), a), n), scalarOf(eps, x.dtype)));
    let y = mul(xc, rstd);
    if (gamma) y = mul(y, reshaped(p, gamma, [d]));
    if (beta) y = add(y, reshaped(p, beta, [d]));
    return { y, mean: stats(mean, x), rstd: stats(rstd, x) };
  };

  const layerNormGrad: FusedKernels['layerNormGrad'] = (x, gamma, mean, rstd, dy) => {
    const a = x.rank - 1;
    const n = scalarOf(x.shape[a] ?? 1, dy.dtype);
    const r = keepLast(rstd);
    const xhat = mul(sub(x, keepLast(mean)), r);
    const g = gamma ? mul(dy, reshaped(p, gamma, [gamma.size])) : dy;
    const meanG = div(sumKeep(g, a), n);
    const meanGX = div(sumKeep(mul(g, xhat), a), n);
    const dx = mul(r, sub(sub(g, meanG), mul(xhat, meanGX)));
    const rows = leadingAxes(x.rank);
    return {
      dx,
      dgamma: gamma ? p.reduce('sum', mul(dy, xhat), rows, false) : null,
      dbeta: p.reduce('sum', dy, rows, false),
    };
  };

  const rmsNorm: FusedKernels['rmsNorm'] = (x, gamma, eps): NormResult => {
    const a = x.rank - 1;
    const d = x.shape[a] ?? 1;
    checkAffine('rmsNorm gamma', gamma, d);
    const rstd = un('rsqrt', add(div(sumKeep(un('square', x), a), scalarOf(d, x.dtype)), scalarOf(eps, x.dtype)));
    let y = mul(x, rstd);
    if (gamma) y = mul(y, reshaped(p, gamma, [d]));
    return { y, mean: null, rstd: stats(rstd, x) };
  };

  const rmsNormGrad: FusedKernels['rmsNormGrad'] = (x, gamma, rstd, dy) => {
    const a = x.rank - 1;
    const r = keepLast(rstd);
    const xhat = mul(x, r);
    const g = gamma ? mul(dy, reshaped(p, gamma, [gamma.size])) : dy;
    const meanGX = div(sumKeep(mul(g, xhat), a), scalarOf(x.shape[a] ?? 1, dy.dtype));
    const dx = mul(r, sub(g, mul(xhat, meanGX)));
    return { dx, dgamma: gamma ? p.reduce('sum', mul(dy, xhat), leadingAxes(x.rank), false) : null };
  };

  // conv1d as grouped matmuls over unfolded windows: cols[g, b*L + t, ci*K + j] = xpad[b, t + j, g*Cg + ci],
  // out_g = cols_g . W_g^T with W_g = w[g*Og .. (g+1)*Og] viewed [Og, Cg*K].
  const convDims = (xShape: readonly number[], wShape: readonly number[], groups: number) => {
    if (xShape.length !== 3 || wShape.length !== 3) throw new Error(`conv1d: x must be [B, L, Cin] and w [Cout, Cin/groups, K], got ${formatShape(xShape)} and ${formatShape(wShape)}`);
    const [batch, length, cin] = xShape as [number, number, number];
    const [cout, cg, kernel] = wShape as [number, number, number];
    if (cin % groups !== 0 || cout % groups !== 0) throw new Error(`conv1d: channels ${cin} -> ${cout} are not divisible by groups ${groups}`);
    if (cg !== cin / groups) throw new Error(`conv1d: weight expects ${cg} input channels per group, input gives ${cin / groups}`);
    return { batch, length, cin, cout, cg, og: cout / groups, kernel, padded: length + kernel - 1 };
  };
  type Dims = ReturnType<typeof convDims>;

  /** x zero-padded to [B, L + K - 1, Cin]. */
  const padInput = (x: Tensor, d: Dims, padLeft: number): Tensor => {
    const padded = new Tensor(allocArray(x.dtype, d.batch * d.padded * d.cin), x.dtype, [d.batch, d.padded, d.cin]);
    p.copyInto(new Tensor(padded.data, x.dtype, [d.batch, d.length, d.cin], [d.padded * d.cin, d.cin, 1], padLeft * d.cin), x);
    return padded;
  };
  /** [G, B*L, Cg*K] windows of the padded input (a copy). */
  const unfold = (padded: Tensor, d: Dims, groups: number): Tensor => {
    const windows = new Tensor(padded.data, padded.dtype, [groups, d.batch, d.length, d.cg, d.kernel], [d.cg, d.padded * d.cin, d.cin, 1, d.cin], 0);
    return reshaped(p, p.copy(windows, padded.dtype), [groups, d.batch * d.length, d.cg * d.kernel]);
  };
  /** [G, Og, Cg*K] view of the weight. */
  const groupedWeight = (w: Tensor, d: Dims, groups: number): Tensor => reshaped(p, w, [groups, d.og, d.cg * d.kernel]);
  /** [G, B*L, Og] view of a contiguous [B, L, Cout] tensor. */
  const groupedOutput = (y: Tensor, d: Dims, groups: number): Tensor => {
    const c = y.isContiguous() ? y : p.copy(y, y.dtype);
    return new Tensor(c.data, c.dtype, [groups, d.batch * d.length, d.og], [d.og, d.cout, 1], c.offset);
  };

  const conv1d: FusedKernels['conv1d'] = (x, w, groups, padLeft) => {
    const d = convDims(x.shape, w.shape, groups);
    if (x.size === 0 || w.size === 0) return new Tensor(allocArray(x.dtype, d.batch * d.length * d.cout), x.dtype, [d.batch, d.length, d.cout]);
    const cols = unfold(padInput(x, d, padLeft), d, groups);
    const out = p.matmul(cols, swapLastAxes(groupedWeight(w, d, groups))); // [G, B*L, Og]
    const interleaved = new Tensor(out.data, out.dtype, [d.batch, d.length, groups, d.og], [d.length * d.og, d.og, d.batch * d.length * d.og, 1], out.offset);
    return reshaped(p, p.copy(interleaved, out.dtype), [d.batch, d.length, d.cout]);
  };

  const conv1dGradInput: FusedKernels['conv1dGradInput'] = (dy, w, groups, padLeft, inputShape) => {
    const d = convDims(inputShape, w.shape, groups);
    const dpad = new Tensor(allocArray(dy.dtype, d.batch * d.padded * d.cin), dy.dtype, [d.batch, d.padded, d.cin]);
    if (dy.size > 0 && w.size > 0) {
      const dcols = p.matmul(groupedOutput(dy, d, groups), groupedWeight(w, d, groups)); // [G, B*L, Cg*K]
      // The adjoint of unfold: each kernel tap j adds its column block into the padded input shifted by j.
      const blockShape = [groups, d.batch, d.length, d.cg];
      for (let j = 0; j < d.kernel; j++) {
        const target = new Tensor(dpad.data, dpad.dtype, blockShape, [d.cg, d.padded * d.cin, d.cin, 1], j * d.cin);
        const tap = new Tensor(dcols.data, dcols.dtype, blockShape, [d.batch * d.length * d.cg * d.kernel, d.length * d.cg * d.kernel, d.cg * d.kernel, d.kernel], dcols.offset + j);
        p.copyInto(target, add(target, tap));
      }
    }
    return p.copy(new Tensor(dpad.data, dpad.dtype, [d.batch, d.length, d.cin], [d.padded * d.cin, d.cin, 1], padLeft * d.cin), dy.dtype);
  };

  const conv1dGradWeight: FusedKernels['conv1dGradWeight'] = (dy, x, groups, padLeft, weightShape) => {
    const d = convDims(x.shape, weightShape, groups);
    if (dy.size === 0 || x.size === 0) return new Tensor(allocArray(dy.dtype, d.cout * d.cg * d.kernel), dy.dtype, weightShape);
    const cols = unfold(padInput(x, d, padLeft), d, groups);
    // dW_g [Og, Cg*K] = dy_g^T . cols_g
    const dw = p.matmul(swapLastAxes(groupedOutput(dy, d, groups)), cols);
    return reshaped(p, dw, weightShape);
  };

  const adamUpdate: FusedKernels['adamUpdate'] = (param, grad, m, v, step) => {
    const dt = param.dtype;
    const c = (value: number): Tensor => scalarOf(value, dt);
    const p1 = mul(param, c(step.decay));
    const g1 = step.l2 !== 0 ? add(grad, mul(c(step.l2), p1)) : grad;
    const m1 = add(mul(c(step.beta1), m), mul(c(1 - step.beta1), g1));
    const v1 = add(mul(c(step.beta2), v), mul(c(1 - step.beta2), un('square', g1)));
    const denom = add(div(un('sqrt', v1), c(step.bias2Sqrt)), c(step.eps));
    const p2 = sub(p1, div(mul(c(step.stepSize), m1), denom));
    p.copyInto(m, m1);
    p.copyInto(v, v1);
    p.copyInto(param, p2);
  };

  return {
    unaryGrad,
    softmax,
    softmaxGrad,
    logSoftmax,
    logSoftmaxGrad,
    layerNorm,
    layerNormGrad,
    rmsNorm,
    rmsNormGrad,
    conv1d,
    conv1dGradInput,
    conv1dGradWeight,
    adamUpdate,
  };
}
