// Row-wise kernels over contiguous [rows, cols] f32 matrices. Reductions accumulate in f32x4
// lanes and finish in f64; y may alias x.

import { hsum, hmax, loadPartial, storePartial, vexp, vlog } from './vmath';

// @ts-ignore: decorator
@inline
function rowMax(x: usize, cols: i32): f32 {
  const c4 = cols & ~3;
  let m = f32x4.splat(-Infinity);
  let j = 0;
  for (; j < c4; j += 4) m = f32x4.max(m, v128.load(x + (<usize>j << 2)));
  let s = hmax(m);
  for (; j < cols; j++) s = max(s, load<f32>(x + (<usize>j << 2)));
  return s;
}

// y = exp(x - mx) (if store), returns the sum of those exponentials.
// @ts-ignore: decorator
@inline
function expShiftSum(x: usize, y: usize, cols: i32, mx: f32, doStore: bool): f64 {
  const c4 = cols & ~3;
  const mv = f32x4.splat(mx);
  let s0 = f32x4.splat(0);
  let j = 0;
  for (; j < c4; j += 4) {
    const o = <usize>j << 2;
    const e = vexp(f32x4.sub(v128.load(x + o), mv));
    if (doStore) v128.store(y + o, e);
    s0 = f32x4.add(s0, e);
  }
  if (j < cols) {
    const o = <usize>j << 2;
    const cnt = cols - j;
    // Partial lanes are padded with -inf so their exp is 0.
    let v = loadPartial(x + o, cnt);
    if (cnt < 2) v = f32x4.replace_lane(v, 1, -Infinity);
    if (cnt < 3) v = f32x4.replace_lane(v, 2, -Infinity);
    v = f32x4.replace_lane(v, 3, -Infinity);
    const e = vexp(f32x4.sub(v, mv));
    if (doStore) storePartial(y + o, e, cnt);
    s0 = f32x4.add(s0, e);
  }
  return <f64>hsum(s0);
}

// @ts-ignore: decorator
@inline
function scaleRow(y: usize, cols: i32, s: f32, shift: f32): void {
  const sv = f32x4.splat(s);
  const hv = f32x4.splat(shift);
  const c4 = cols & ~3;
  let j = 0;
  for (; j < c4; j += 4) {
    const o = <usize>j << 2;
    v128.store(y + o, f32x4.add(f32x4.mul(v128.load(y + o), sv), hv));
  }
  for (; j < cols; j++) {
    const o = <usize>j << 2;
    store<f32>(y + o, load<f32>(y + o) * s + shift);
  }
}

// @ts-ignore: decorator
@inline
function fillRow(y: usize, cols: i32, value: f32): void {
  for (let j = 0; j < cols; j++) store<f32>(y + (<usize>j << 2), value);
}

/**
 * y[r, :] = softmax(x[r, :]) (max-subtracted). A fully masked row (all -inf) gives zeros, as the
 * reference and composite kernels (see src/ops/composite.ts).
 */
export function softmax_rows(rows: i32, cols: i32, x: usize, y: usize): void {
  const rb = <usize>cols << 2;
  for (let r = 0; r < rows; r++) {
    const xr = x + <usize>r * rb;
    const yr = y + <usize>r * rb;
    const mx = rowMax(xr, cols);
    if (mx == -Infinity) {
      fillRow(yr, cols, 0);
      continue;
    }
    const sum = expShiftSum(xr, yr, cols, mx, true);
    scaleRow(yr, cols, <f32>(1.0 / sum), 0);
  }
}

/** y[r, :] = x[r, :] - max - log(sum exp(x - max)); a fully masked row (all -inf) stays -inf. */
export function log_softmax_rows(rows: i32, cols: i32, x: usize, y: usize): void {
  const rb = <usize>cols << 2;
  for (let r = 0; r < rows; r++) {
    const xr = x + <usize>r * rb;
    const yr = y + <usize>r * rb;
    const mx = rowMax(xr, cols);
    if (mx == -Infinity) {
      fillRow(yr, cols, -Infinity);
      continue;
    }
    const sum = expShiftSum(xr, yr, cols, mx, false);
    // vlog on a splat keeps the module free of the libm tables (no data segments to re-initialise
    // in shared memory on each instantiation).
    const lse = f32x4.extract_lane(vlog(f32x4.splat(<f32>sum)), 0);
    const shift = -mx - lse;
    const c4 = cols & ~3;
    const hv = f32x4.splat(shift);
    let j = 0;
    for (; j < c4; j += 4) {
      const o = <usize>j << 2;
      v128.store(yr + o, f32x4.add(v128.load(xr + o), hv));
    }
    for (; j < cols; j++) {
      const o = <usize>j << 2;
      store<f32>(yr + o, load<f32>(xr + o) + shift);
    }
  }
}

// @ts-ignore: decorator
@inline
function rowSum(x: usize, cols: i32): f64 {
  const c8 = cols & ~7;
  let s0 = f32x4.splat(0), s1 = f32x4.splat(0);
  let j = 0;
  for (; j < c8; j += 8) {
    const o = <usize>j << 2;
    s0 = f32x4.add(s0, v128.load(x + o));
    s1 = f32x4.add(s1, v128.load(x + o, 16));
  }
  let s = <f64>hsum(f32x4.add(s0, s1));
  for (; j < cols; j++) s += <f64>load<f32>(x + (<usize>j << 2));
  return s;
}

// Sum of (x - c)^2 over the row.
// @ts-ignore: decorator
@inline
function rowSqDev(x: usize, cols: i32, c: f32): f64 {
  const c8 = cols & ~7;
  const cv = f32x4.splat(c);
  let s0 = f32x4.splat(0), s1 = f32x4.splat(0);
  let j = 0;
  for (; j < c8; j += 8) {
    const o = <usize>j << 2;
    const d0 = f32x4.sub(v128.load(x + o), cv);
    const d1 = f32x4.sub(v128.load(x + o, 16), cv);
    s0 = f32x4.add(s0, f32x4.mul(d0, d0));
    s1 = f32x4.add(s1, f32x4.mul(d1, d1));
  }
  let s = <f64>hsum(f32x4.add(s0, s1));
  for (; j < cols; j++) {
    const d = <f64>(load<f32>(x + (<usize>j << 2)) - c);
    s += d * d;
  }
  return s;
}

/**
 * y = (x - mean) * rstd * gamma + beta per row, rstd = 1 / sqrt(var + eps) (biased variance,
 * two passes). gamma, beta, meanOut, rstdOut may be 0 (absent).
 */
export function layernorm_rows(
  rows: i32, cols: i32, x: usize, gamma: usize, beta: usize, y: usize, eps: f32,
  meanOut: usize, rstdOut: usize,
): void {
  const rb = <usize>cols << 2;
  const c4 = cols & ~3;
  for (let r = 0; r < rows; r++) {
    const xr = x + <usize>r * rb;
    const yr = y + <usize>r * rb;
    const mean = <f32>(rowSum(xr, cols) / <f64>cols);
    const variance = rowSqDev(xr, cols, mean) / <f64>cols;
    const rstd = <f32>(1.0 / Math.sqrt(variance + <f64>eps));
    if (meanOut) store<f32>(meanOut + (<usize>r << 2), mean);
    if (rstdOut) store<f32>(rstdOut + (<usize>r << 2), rstd);
    const mv = f32x4.splat(mean);
    const rv = f32x4.splat(rstd);
    let j = 0;
    for (; j < c4; j += 4) {
      const o = <usize>j << 2;
      let v = f32x4.mul(f32x4.sub(v128.load(xr + o), mv), rv);
      if (gamma) v = f32x4.mul(v, v128.load(gamma + o));
      if (beta) v = f32x4.add(v, v128.load(beta + o));
      v128.store(yr + o, v);
    }
    for (; j < cols; j++) {
      const o = <usize>j << 2;
      let v = (load<f32>(xr + o) - mean) * rstd;
      if (gamma) v *= load<f32>(gamma + o);
      if (beta) v += load<f32>(beta + o);
      store<f32>(yr + o, v);
    }
  }
}

/** y = x * rstd * gamma per row, rstd = 1 / sqrt(mean(x^2) + eps). gamma, rstdOut may be 0. */
export function rmsnorm_rows(
  rows: i32, cols: i32, x: usize, gamma: usize, y: usize, eps: f32, rstdOut: usize,
): void {
  const rb = <usize>cols << 2;
  const c4 = cols & ~3;
  for (let r = 0; r < rows; r++) {
    const xr = x + <usize>r * rb;
    const yr = y + <usize>r * rb;
    const ms = rowSqDev(xr, cols, 0) / <f64>cols;
    const rstd = <f32>(1.0 / Math.sqrt(ms + <f64>eps));
    if (rstdOut) store<f32>(rstdOut + (<usize>r << 2), rstd);
    const rv = f32x4.splat(rstd);
    let j = 0;
    for (; j < c4; j += 4) {
      const o = <usize>j << 2;
      let v = f32x4.mul(v128.load(xr + o), rv);
      if (gamma) v = f32x4.mul(v, v128.load(gamma + o));
      v128.store(yr + o, v);
    }
    for (; j < cols; j++) {
      const o = <usize>j << 2;
      let v = load<f32>(xr + o) * rstd;
      if (gamma) v *= load<f32>(gamma + o);
      store<f32>(yr + o, v);
    }
  }
}

/**
 * Softmax backward per row: dx = y * (dy - sum(dy * y)) (log = 0), or for log-softmax
 * dx = dy - exp(y) * sum(dy) (log = 1). dx may alias dy.
 */
export function softmax_grad_rows(rows: i32, cols: i32, y: usize, dy: usize, dx: usize, log: i32): void {
  const rb = <usize>cols << 2;
  const c4 = cols & ~3;
  for (let r = 0; r < rows; r++) {
    const yr = y + <usize>r * rb;
    const dr = dy + <usize>r * rb;
    const xr = dx + <usize>r * rb;
    let acc = f32x4.splat(0);
    let j = 0;
    if (log) {
      for (; j < c4; j += 4) acc = f32x4.add(acc, v128.load(dr + (<usize>j << 2)));
    } else {
      for (; j < c4; j += 4) {
        const o = <usize>j << 2;
        acc = f32x4.add(acc, f32x4.mul(v128.load(yr + o), v128.load(dr + o)));
      }
    }
    let s = <f64>hsum(acc);
    for (; j < cols; j++) {
      const o = <usize>j << 2;
      s += log ? <f64>load<f32>(dr + o) : <f64>load<f32>(yr + o) * <f64>load<f32>(dr + o);
    }
    const sf = <f32>s;
    const sv = f32x4.splat(sf);
    j = 0;
    if (log) {
      for (; j < c4; j += 4) {
        const o = <usize>j << 2;
        v128.store(xr + o, f32x4.sub(v128.load(dr + o), f32x4.mul(vexp(v128.load(yr + o)), sv)));
      }
      for (; j < cols; j++) {
        const o = <usize>j << 2;
        const e = f32x4.extract_lane(vexp(f32x4.splat(load<f32>(yr + o))), 0);
        store<f32>(xr + o, load<f32>(dr + o) - e * sf);
      }
    } else {
      for (; j < c4; j += 4) {
        const o = <usize>j << 2;
        v128.store(xr + o, f32x4.mul(v128.load(yr + o), f32x4.sub(v128.load(dr + o), sv)));
      }
      for (; j < cols; j++) {
        const o = <usize>j << 2;
        store<f32>(xr + o, load<f32>(yr + o) * (load<f32>(dr + o) - sf));
      }
    }
  }
}

/**
 * Layer norm backward per row, from the saved statistics: xhat = (x - mean) * rstd, g = dy * gamma,
 * dx = rstd * (g - mean(g) - xhat * mean(g * xhat)). dgamma (if not 0) and dbeta receive this call's
 * sums over its rows of dy * xhat and dy (overwritten, not accumulated: each thread has its own).
 */
export function layernorm_grad_rows(
  rows: i32, cols: i32, x: usize, gamma: usize, mean: usize, rstd: usize, dy: usize, dx: usize,
  dgamma: usize, dbeta: usize,
): void {
  const rb = <usize>cols << 2;
  const c4 = cols & ~3;
  const inv = <f32>(1.0 / <f64>cols);
  for (let j = 0; j < cols; j++) {
    if (dgamma) store<f32>(dgamma + (<usize>j << 2), 0);
    store<f32>(dbeta + (<usize>j << 2), 0);
  }
  for (let r = 0; r < rows; r++) {
    const xr = x + <usize>r * rb;
    const dr = dy + <usize>r * rb;
    const or = dx + <usize>r * rb;
    const m = load<f32>(mean + (<usize>r << 2));
    const s = load<f32>(rstd + (<usize>r << 2));
    const mv = f32x4.splat(m);
    const sv = f32x4.splat(s);
    let ag = f32x4.splat(0);
    let agx = f32x4.splat(0);
    let j = 0;
    for (; j < c4; j += 4) {
      const o = <usize>j << 2;
      const xhat = f32x4.mul(f32x4.sub(v128.load(xr + o), mv), sv);
      const d = v128.load(dr + o);
      const g = gamma ? f32x4.mul(d, v128.load(gamma + o)) : d;
      ag = f32x4.add(ag, g);
      agx = f32x4.add(agx, f32x4.mul(g, xhat));
      if (dgamma) v128.store(dgamma + o, f32x4.add(v128.load(dgamma + o), f32x4.mul(d, xhat)));
      v128.store(dbeta + o, f32x4.add(v128.load(dbeta + o), d));
    }
    let sumG = <f64>hsum(ag);
    let sumGX = <f64>hsum(agx);
    for (; j < cols; j++) {
      const o = <usize>j << 2;
      const xhat = (load<f32>(xr + o) - m) * s;
      const d = load<f32>(dr + o);
      const g = gamma ? d * load<f32>(gamma + o) : d;
      sumG += <f64>g;
      sumGX += <f64>(g * xhat);
      if (dgamma) store<f32>(dgamma + o, load<f32>(dgamma + o) + d * xhat);
      store<f32>(dbeta + o, load<f32>(dbeta + o) + d);
    }
    const meanG = <f32>(sumG * <f64>inv);
    const meanGX = <f32>(sumGX * <f64>inv);
    const mgv = f32x4.splat(meanG);
    const mgxv = f32x4.splat(meanGX);
    j = 0;
    for (; j < c4; j += 4) {
      const o = <usize>j << 2;
      const xhat = f32x4.mul(f32x4.sub(v128.load(xr + o), mv), sv);
      const d = v128.load(dr + o);
      const g = gamma ? f32x4.mul(d, v128.load(gamma + o)) : d;
      v128.store(or + o, f32x4.mul(sv, f32x4.sub(f32x4.sub(g, mgv), f32x4.mul(xhat, mgxv))));
    }
    for (; j < cols; j++) {
      const o = <usize>j << 2;
      const xhat = (load<f32>(xr + o) - m) * s;
      const d = load<f32>(dr + o);
      const g = gamma ? d * load<f32>(gamma + o) : d;
      store<f32>(or + o, s * (g - meanG - xhat * meanGX));
    }
  }
}
