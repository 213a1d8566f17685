// Reference layer norm and RMS norm over the last axis, with their backward rules.

import { allocArray } from '../../tensor/dtype.js';
import { Tensor } from '../../tensor/tensor.js';
import type { NormResult } from '../../ops/kernels.js';

function rowsOf(x: Tensor): { rows: number; d: number; stats: number[] } {
  const d = x.shape[x.rank - 1] ?? 1;
  return { rows: d ? x.size / d : 0, d, stats: x.shape.slice(0, -1) };
}

/** gamma/beta hold one value per feature; a wrong size would otherwise read undefined (NaN) silently. */
function checkAffine(what: string, t: Tensor | null, d: number): void {
  if (t && t.size !== d) throw new Error(`${what}: expected ${d} values (one per feature), got shape [${t.shape.join(', ')}]`);
}

export function layerNorm(x: Tensor, gamma: Tensor | null, beta: Tensor | null, eps: number): NormResult {
  const { rows, d, stats } = rowsOf(x);
  checkAffine('layerNorm gamma', gamma, d);
  checkAffine('layerNorm beta', beta, d);
  const xs = x.toArray();
  const g = gamma?.toArray();
  const b = beta?.toArray();
  const y = allocArray(x.dtype, x.size);
  const mean = allocArray(x.dtype, rows);
  const rstd = allocArray(x.dtype, rows);
  for (let r = 0; r < rows; r++) {
    const base = r * d;
    let m = 0;
    for (let i = 0; i < d; i++) m += xs[base + i]!;
    m /= d;
    let v = 0;
    for (let i = 0; i < d; i++) {
      const c = xs[base + i]! - m;
      v += c * c;
    }
    const rs = 1 / Math.sqrt(v / d + eps);
    mean[r] = m;
    rstd[r] = rs;
    for (let i = 0; i < d; i++) {
      let o = (xs[base + i]! - m) * rs;
      if (g) o *= g[i]!;
      if (b) o += b[i]!;
      y[base + i] = o;
    }
  }
  return { y: new Tensor(y, x.dtype, x.shape), mean: new Tensor(mean, x.dtype, stats), rstd: new Tensor(rstd, x.dtype, stats) };
}

export function layerNormGrad(
  x: Tensor,
  gamma: Tensor | null,
  mean: Tensor,
  rstd: Tensor,
  dy: Tensor,
): { dx: Tensor; dgamma: Tensor | null; dbeta: Tensor | null } {
  const { rows, d } = rowsOf(x);
  const xs = x.toArray();
  const dys = dy.toArray();
  const g = gamma?.toArray();
  const ms = mean.toArray();
  const rs = rstd.toArray();
  const dx = allocArray(dy.dtype, x.size);
  const dgamma = gamma ? new Float64Array(d) : null;
  // dbeta does not depend on gamma (the kernel is not told whether there is a beta, so always make it).
  const dbeta = new Float64Array(d);
  for (let r = 0; r < rows; r++) {
    const base = r * d;
    const m = ms[r]!;
    const s = rs[r]!;
    // xhat = (x - m) * s; g_i = dy_i * gamma_i; dx = s * (g - mean(g) - xhat * mean(g * xhat))
    let sumG = 0;
    let sumGX = 0;
    for (let i = 0; i < d; i++) {
      const xhat = (xs[base + i]! - m) * s;
      const gi = dys[base + i]! * (g ? g[i]! : 1);
      sumG += gi;
      sumGX += gi * xhat;
      if (dgamma) dgamma[i]! += dys[base + i]! * xhat;
      dbeta[i]! += dys[base + i]!;
    }
    const meanG = sumG / d;
    const meanGX = sumGX / d;
    for (let i = 0; i < d; i++) {
      const xhat = (xs[base + i]! - m) * s;
      const gi = dys[base + i]! * (g ? g[i]! : 1);
      dx[base + i] = s * (gi - meanG - xhat * meanGX);
    }
  }
  const dt = dy.dtype;
  return {
    dx: new Tensor(dx, dt, x.shape),
    dgamma: dgamma ? new Tensor(toDType(dgamma, dt), dt, [d]) : null,
    dbeta: new Tensor(toDType(dbeta, dt), dt, [d]),
  };
}

export function rmsNorm(x: Tensor, gamma: Tensor | null, eps: number): NormResult {
  const { rows, d, stats } = rowsOf(x);
  checkAffine('rmsNorm gamma', gamma, d);
  const xs = x.toArray();
  const g = gamma?.toArray();
  const y = allocArray(x.dtype, x.size);
  const rstd = allocArray(x.dtype, rows);
  for (let r = 0; r < rows; r++) {
    const base = r * d;
    let ss = 0;
    for (let i = 0; i < d; i++) ss += xs[base + i]! * xs[base + i]!;
    const rs = 1 / Math.sqrt(ss / d + eps);
    rstd[r] = rs;
    for (let i = 0; i < d; i++) y[base + i] = xs[base + i]! * rs * (g ? g[i]! : 1);
  }
  return { y: new Tensor(y, x.dtype, x.shape), mean: null, rstd: new Tensor(rstd, x.dtype, stats) };
}

export function rmsNormGrad(x: Tensor, gamma: Tensor | null, rstd: Tensor, dy: Tensor): { dx: Tensor; dgamma: Tensor | null } {
  const { rows, d } = rowsOf(x);
  const xs = x.toArray();
  const dys = dy.toArray();
  const g = gamma?.toArray();
  const rs = rstd.toArray();
  const dx = allocArray(dy.dtype, x.size);
  const dgamma = gamma ? new Float64Array(d) : null;
  for (let r = 0; r < rows; r++) {
    const base = r * d;
    const s = rs[r]!;
    // y = x * s * gamma; dx = s * (g - xhat * mean(g * xhat)) with g = dy * gamma, xhat = x * s
    let sumGX = 0;
    for (let i = 0; i < d; i++) {
      const xhat = xs[base + i]! * s;
      const gi = dys[base + i]! * (g ? g[i]! : 1);
      sumGX += gi * xhat;
      if (dgamma) dgamma[i]! += dys[base + i]! * xhat;
    }
    const meanGX = sumGX / d;
    for (let i = 0; i < d; i++) {
      const xhat = xs[base + i]! * s;
      const gi = dys[base + i]! * (g ? g[i]! : 1);
      dx[base + i] = s * (gi - xhat * meanGX);
    }
  }
  const dt = dy.dtype;
  return { dx: new Tensor(dx, dt, x.shape), dgamma: dgamma ? new Tensor(toDType(dgamma, dt), dt, [d]) : null };
}

function toDType(values: Float64Array, dtype: Tensor['dtype']): Float32Array | Float64Array {
  return dtype === 'f64' ? values : Float32Array.from(values);
}
