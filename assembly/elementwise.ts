// Elementwise kernels over contiguous f32 arrays (pointers are byte addresses). In-place use
// (y == x) is fine: every element is read before it is written.

import {
  hsum, loadPartial, storePartial, vexp, vlog, vtanh, vsigmoid, vsilu, verf, vgeluErf, vgeluTanh, vsoftplus,
} from './vmath';

// Unary op codes; the TypeScript side mirrors them in src/backend/wasm/abi.ts.
export const U_EXP: i32 = 0;
export const U_LOG: i32 = 1;
export const U_TANH: i32 = 2;
export const U_SIGMOID: i32 = 3;
export const U_SILU: i32 = 4;
export const U_GELU_TANH: i32 = 5;
export const U_GELU_ERF: i32 = 6;
export const U_ERF: i32 = 7;
export const U_RELU: i32 = 8;
export const U_LEAKY_RELU: i32 = 9;
export const U_SOFTPLUS: i32 = 10;
export const U_SQRT: i32 = 11;
export const U_RSQRT: i32 = 12;
export const U_NEG: i32 = 13;
export const U_ABS: i32 = 14;
export const U_SCALE: i32 = 15;
export const U_SQUARE: i32 = 16;

// @ts-ignore: decorator
@inline
function applyUnary(kind: i32, x: v128, alpha: v128): v128 {
  switch (kind) {
    case U_EXP: return vexp(x);
    case U_LOG: return vlog(x);
    case U_TANH: return vtanh(x);
    case U_SIGMOID: return vsigmoid(x);
    case U_SILU: return vsilu(x);
    case U_GELU_TANH: return vgeluTanh(x);
    case U_GELU_ERF: return vgeluErf(x);
    case U_ERF: return verf(x);
    case U_RELU: return f32x4.pmax(x, f32x4.splat(0));
    case U_LEAKY_RELU: return v128.bitselect(f32x4.mul(x, alpha), x, f32x4.lt(x, f32x4.splat(0)));
    case U_SOFTPLUS: return vsoftplus(x);
    case U_SQRT: return f32x4.sqrt(x);
    case U_RSQRT: return f32x4.div(f32x4.splat(1.0), f32x4.sqrt(x));
    case U_NEG: return f32x4.neg(x);
    case U_ABS: return f32x4.abs(x);
    case U_SCALE: return f32x4.mul(x, alpha);
    case U_SQUARE: return f32x4.mul(x, x);
    default: return f32x4.splat(NaN);
  }
}

// Inlined once per op with a constant kind, so the switch above folds away inside each loop.
// @ts-ignore: decorator
@inline
function unaryLoop(kind: i32, n: i32, x: usize, y: usize, alphaS: f32): void {
  const alpha = f32x4.splat(alphaS);
  const n8 = n & ~7;
  const n4 = n & ~3;
  let i = 0;
  for (; i < n8; i += 8) {
    const o = <usize>i << 2;
    const v0 = v128.load(x + o);
    const v1 = v128.load(x + o, 16);
    v128.store(y + o, applyUnary(kind, v0, alpha));
    v128.store(y + o, applyUnary(kind, v1, alpha), 16);
  }
  for (; i < n4; i += 4) {
    const o = <usize>i << 2;
    v128.store(y + o, applyUnary(kind, v128.load(x + o), alpha));
  }
  if (i < n) {
    const o = <usize>i << 2;
    storePartial(y + o, applyUnary(kind, loadPartial(x + o, n - i), alpha), n - i);
  }
}

/** y[i] = op(x[i]) for i < n. */
export function unary(kind: i32, n: i32, x: usize, y: usize, alpha: f32): void {
  switch (kind) {
    case U_EXP: unaryLoop(U_EXP, n, x, y, alpha); break;
    case U_LOG: unaryLoop(U_LOG, n, x, y, alpha); break;
    case U_TANH: unaryLoop(U_TANH, n, x, y, alpha); break;
    case U_SIGMOID: unaryLoop(U_SIGMOID, n, x, y, alpha); break;
    case U_SILU: unaryLoop(U_SILU, n, x, y, alpha); break;
    case U_GELU_TANH: unaryLoop(U_GELU_TANH, n, x, y, alpha); break;
    case U_GELU_ERF: unaryLoop(U_GELU_ERF, n, x, y, alpha); break;
    case U_ERF: unaryLoop(U_ERF, n, x, y, alpha); break;
    case U_RELU: unaryLoop(U_RELU, n, x, y, alpha); break;
    case U_LEAKY_RELU: unaryLoop(U_LEAKY_RELU, n, x, y, alpha); break;
    case U_SOFTPLUS: unaryLoop(U_SOFTPLUS, n, x, y, alpha); break;
    case U_SQRT: unaryLoop(U_SQRT, n, x, y, alpha); break;
    case U_RSQRT: unaryLoop(U_RSQRT, n, x, y, alpha); break;
    case U_NEG: unaryLoop(U_NEG, n, x, y, alpha); break;
    case U_ABS: unaryLoop(U_ABS, n, x, y, alpha); break;
    case U_SCALE: unaryLoop(U_SCALE, n, x, y, alpha); break;
    case U_SQUARE: unaryLoop(U_SQUARE, n, x, y, alpha); break;
    default: unreachable();
  }
}

// Derivatives: dx = dy * f'(x), recomputing what f' needs from x (cheaper than storing it).
const SQRT_2_OVER_PI: f32 = 0.7978845608028654;
const INV_SQRT_2: f32 = 0.7071067811865476;
const INV_SQRT_2PI: f32 = 0.3989422804014327;
const GELU_C: f32 = 0.044715;

// @ts-ignore: decorator
@inline
function unaryDerivative(kind: i32, x: v128, alpha: v128): v128 {
  const one = f32x4.splat(1);
  const half = f32x4.splat(0.5);
  switch (kind) {
    case U_TANH: {
      const t = vtanh(x);
      return f32x4.sub(one, f32x4.mul(t, t));
    }
    case U_SIGMOID: {
      const s = vsigmoid(x);
      return f32x4.mul(s, f32x4.sub(one, s));
    }
    case U_SILU: {
      const s = vsigmoid(x);
      return f32x4.mul(s, f32x4.add(one, f32x4.mul(x, f32x4.sub(one, s))));
    }
    case U_GELU_ERF: {
      const cdf = f32x4.mul(half, f32x4.add(one, verf(f32x4.mul(x, f32x4.splat(INV_SQRT_2)))));
      const pdf = f32x4.mul(f32x4.splat(INV_SQRT_2PI), vexp(f32x4.mul(f32x4.splat(-0.5), f32x4.mul(x, x))));
      return f32x4.add(cdf, f32x4.mul(x, pdf));
    }
    case U_GELU_TANH: {
      const x2 = f32x4.mul(x, x);
      const u = f32x4.mul(f32x4.splat(SQRT_2_OVER_PI), f32x4.add(x, f32x4.mul(f32x4.splat(GELU_C), f32x4.mul(x2, x))));
      const t = vtanh(u);
      const du = f32x4.mul(f32x4.splat(SQRT_2_OVER_PI), f32x4.add(one, f32x4.mul(f32x4.splat(3 * GELU_C), x2)));
      return f32x4.add(f32x4.mul(half, f32x4.add(one, t)), f32x4.mul(f32x4.mul(half, x), f32x4.mul(f32x4.sub(one, f32x4.mul(t, t)), du)));
    }
    case U_RELU: return v128.and(one, f32x4.gt(x, f32x4.splat(0)));
    case U_LEAKY_RELU: return v128.bitselect(one, alpha, f32x4.gt(x, f32x4.splat(0)));
    default: return f32x4.splat(NaN);
  }
}

// @ts-ignore: decorator
@inline
function unaryGradLoop(kind: i32, n: i32, x: usize, dy: usize, y: usize, alphaS: f32): void {
  const alpha = f32x4.splat(alphaS);
  const n4 = n & ~3;
  let i = 0;
  for (; i < n4; i += 4) {
    const o = <usize>i << 2;
    v128.store(y + o, f32x4.mul(v128.load(dy + o), unaryDerivative(kind, v128.load(x + o), alpha)));
  }
  if (i < n) {
    const o = <usize>i << 2;
    const cnt = n - i;
    storePartial(y + o, f32x4.mul(loadPartial(dy + o, cnt), unaryDerivative(kind, loadPartial(x + o, cnt), alpha)), cnt);
  }
}

/** y[i] = dy[i] * f'(x[i]) for the activations whose backward is worth a kernel. */
export function unary_grad(kind: i32, n: i32, x: usize, dy: usize, y: usize, alpha: f32): void {
  switch (kind) {
    case U_TANH: unaryGradLoop(U_TANH, n, x, dy, y, alpha); break;
    case U_SIGMOID: unaryGradLoop(U_SIGMOID, n, x, dy, y, alpha); break;
    case U_SILU: unaryGradLoop(U_SILU, n, x, dy, y, alpha); break;
    case U_GELU_ERF: unaryGradLoop(U_GELU_ERF, n, x, dy, y, alpha); break;
    case U_GELU_TANH: unaryGradLoop(U_GELU_TANH, n, x, dy, y, alpha); break;
    case U_RELU: unaryGradLoop(U_RELU, n, x, dy, y, alpha); break;
    case U_LEAKY_RELU: unaryGradLoop(U_LEAKY_RELU, n, x, dy, y, alpha); break;
    default: unreachable();
  }
}

export const B_ADD: i32 = 0;
export const B_SUB: i32 = 1;
export const B_MUL: i32 = 2;
export const B_DIV: i32 = 3;
export const B_MAX: i32 = 4;
export const B_MIN: i32 = 5;

// @ts-ignore: decorator
@inline
function applyBinary(kind: i32, a: v128, b: v128): v128 {
  switch (kind) {
    case B_ADD: return f32x4.add(a, b);
    case B_SUB: return f32x4.sub(a, b);
    case B_MUL: return f32x4.mul(a, b);
    case B_DIV: return f32x4.div(a, b);
    case B_MAX: return f32x4.max(a, b);
    case B_MIN: return f32x4.min(a, b);
    default: return f32x4.splat(NaN);
  }
}

// y[i] = a[i] op b[i]; with bStep = 0, b is a single repeated vector (scalar broadcast).
// @ts-ignore: decorator
@inline
function binaryLoop(kind: i32, n: i32, a: usize, b: usize, y: usize): void {
  const n8 = n & ~7;
  const n4 = n & ~3;
  let i = 0;
  for (; i < n8; i += 8) {
    const o = <usize>i << 2;
    const r0 = applyBinary(kind, v128.load(a + o), v128.load(b + o));
    const r1 = applyBinary(kind, v128.load(a + o, 16), v128.load(b + o, 16));
    v128.store(y + o, r0);
    v128.store(y + o, r1, 16);
  }
  for (; i < n4; i += 4) {
    const o = <usize>i << 2;
    v128.store(y + o, applyBinary(kind, v128.load(a + o), v128.load(b + o)));
  }
  if (i < n) {
    const o = <usize>i << 2;
    const cnt = n - i;
    storePartial(y + o, applyBinary(kind, loadPartial(a + o, cnt), loadPartial(b + o, cnt)), cnt);
  }
}

// @ts-ignore: decorator
@inline
function binaryScalarLoop(kind: i32, n: i32, a: usize, s: f32, y: usize): void {
  const bv = f32x4.splat(s);
  const n4 = n & ~3;
  let i = 0;
  for (; i < n4; i += 4) {
    const o = <usize>i << 2;
    v128.store(y + o, applyBinary(kind, v128.load(a + o), bv));
  }
  if (i < n) {
    const o = <usize>i << 2;
    const cnt = n - i;
    storePartial(y + o, applyBinary(kind, loadPartial(a + o, cnt), bv), cnt);
  }
}

/** y[i] = a[i] op b[i] for i < n. */
export function binary(kind: i32, n: i32, a: usize, b: usize, y: usize): void {
  switch (kind) {
    case B_ADD: binaryLoop(B_ADD, n, a, b, y); break;
    case B_SUB: binaryLoop(B_SUB, n, a, b, y); break;
    case B_MUL: binaryLoop(B_MUL, n, a, b, y); break;
    case B_DIV: binaryLoop(B_DIV, n, a, b, y); break;
    case B_MAX: binaryLoop(B_MAX, n, a, b, y); break;
    case B_MIN: binaryLoop(B_MIN, n, a, b, y); break;
    default: unreachable();
  }
}

/** y[r, j] = a[r, j] op b[j]: b is a row vector of length cols broadcast over rows. */
export function binary_row(kind: i32, rows: i32, cols: i32, a: usize, b: usize, y: usize): void {
  const rb = <usize>cols << 2;
  for (let r = 0; r < rows; r++) {
    const o = <usize>r * rb;
    binary(kind, cols, a + o, b, y + o);
  }
}

/** y[i] = a[i] op s. */
export function binary_scalar(kind: i32, n: i32, a: usize, s: f32, y: usize): void {
  switch (kind) {
    case B_ADD: binaryScalarLoop(B_ADD, n, a, s, y); break;
    case B_SUB: binaryScalarLoop(B_SUB, n, a, s, y); break;
    case B_MUL: binaryScalarLoop(B_MUL, n, a, s, y); break;
    case B_DIV: binaryScalarLoop(B_DIV, n, a, s, y); break;
    case B_MAX: binaryScalarLoop(B_MAX, n, a, s, y); break;
    case B_MIN: binaryScalarLoop(B_MIN, n, a, s, y); break;
    default: unreachable();
  }
}

/**
 * Streaming sum of n floats (bandwidth probe): 8 independent accumulators, one sequential stream.
 * Writes the partial sum (as f64) to out so that worker threads can return it.
 */
export function stream_sum(x: usize, n: i32, out: usize): void {
  let s0 = f32x4.splat(0), s1 = f32x4.splat(0), s2 = f32x4.splat(0), s3 = f32x4.splat(0);
  let s4 = f32x4.splat(0), s5 = f32x4.splat(0), s6 = f32x4.splat(0), s7 = f32x4.splat(0);
  const n32 = n & ~31;
  let i = 0;
  for (; i < n32; i += 32) {
    const p = x + (<usize>i << 2);
    s0 = f32x4.add(s0, v128.load(p));
    s1 = f32x4.add(s1, v128.load(p, 16));
    s2 = f32x4.add(s2, v128.load(p, 32));
    s3 = f32x4.add(s3, v128.load(p, 48));
    s4 = f32x4.add(s4, v128.load(p, 64));
    s5 = f32x4.add(s5, v128.load(p, 80));
    s6 = f32x4.add(s6, v128.load(p, 96));
    s7 = f32x4.add(s7, v128.load(p, 112));
  }
  let acc = <f64>hsum(f32x4.add(f32x4.add(f32x4.add(s0, s1), f32x4.add(s2, s3)), f32x4.add(f32x4.add(s4, s5), f32x4.add(s6, s7))));
  for (; i < n; i++) acc += <f64>load<f32>(x + (<usize>i << 2));
  store<f64>(out, acc);
}
