// Plain f64 reference loops: the oracle for the wasm kernels. Written for clarity, not speed.

/** Seeded xorshift32 generator of floats in [lo, hi). */
export class Rng {
  private s: number;
  constructor(seed: number) {
    this.s = seed >>> 0 || 0x9e3779b9;
  }
  next(): number {
    let x = this.s;
    x ^= x << 13; x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5; x >>>= 0;
    this.s = x;
    return x / 4294967296;
  }
  uniform(lo: number, hi: number): number {
    return lo + (hi - lo) * this.next();
  }
  fill(a: Float32Array, lo = -1, hi = 1): Float32Array {
    for (let i = 0; i < a.length; i++) a[i] = this.uniform(lo, hi);
    return a;
  }
  array(n: number, lo = -1, hi = 1): Float32Array {
    return this.fill(new Float32Array(n), lo, hi);
  }
}

/** C = op(A) op(B) (+ C0), and the per-element magnitude sum |a||b| (+ |c0|) for tolerances. */
export function refMatmul(
  a: Float32Array, b: Float32Array, m: number, n: number, k: number,
  transA: boolean, transB: boolean, c0: Float32Array | null,
): { c: Float64Array; scale: Float64Array } {
  const c = new Float64Array(m * n);
  const scale = new Float64Array(m * n);
  for (let i = 0; i < m; i++) {
    for (let j = 0; j < n; j++) {
      let s = c0 ? c0[i * n + j]! : 0;
      let mag = Math.abs(s);
      for (let p = 0; p < k; p++) {
        const av = transA ? a[p * m + i]! : a[i * k + p]!;
        const bv = transB ? b[j * k + p]! : b[p * n + j]!;
        s += av * bv;
        mag += Math.abs(av * bv);
      }
      c[i * n + j] = s;
      scale[i * n + j] = mag;
    }
  }
  return { c, scale };
}

// erf / erfc in f64 (JS has no Math.erf): positive-term series for |x| < 2.5, continued fraction
// (Lentz) for erfc above; both accurate to ~1e-14 relative, far below f32 resolution.
export function refErfc(x: number): number {
  if (Number.isNaN(x)) return NaN;
  if (x < 0) return 2 - refErfc(-x);
  if (x < 2.5) return 1 - refErfPos(x);
  // erfc(x) = exp(-x^2)/sqrt(pi) * 1/(x + (1/2)/(x + 1/(x + (3/2)/(x + 2/(x + ...)))))
  const tiny = 1e-300;
  let f = x;
  let C = x;
  let D = 0;
  for (let i = 1; i < 500; i++) {
    const an = i / 2;
    D = x + an * D;
    D = Math.abs(D) < tiny ? tiny : D;
    C = x + an / C;
    C = Math.abs(C) < tiny ? tiny : C;
    D = 1 / D;
    const delta = C * D;
    f *= delta;
    if (Math.abs(delta - 1) < 1e-16) break;
  }
  return Math.exp(-x * x) / Math.sqrt(Math.PI) / f;
}

function refErfPos(x: number): number {
  // erf(x) = 2/sqrt(pi) exp(-x^2) sum_n 2^n x^(2n+1) / (1*3*...*(2n+1))
  let term = x;
  let sum = x;
  for (let n = 1; n < 200; n++) {
    term *= (2 * x * x) / (2 * n + 1);
    sum += term;
    if (term < sum * 1e-17) break;
  }
  return (2 / Math.sqrt(Math.PI)) * Math.exp(-x * x) * sum;
}

export function refErf(x: number): number {
  if (Number.isNaN(x)) return NaN;
  if (x < 0) return -refErf(-x);
  return x < 2.5 ? refErfPos(x) : 1 - refErfc(x);
}

export function refUnary(kind: string, x: number, alpha: number): number {
  switch (kind) {
    case 'exp': return Math.exp(x);
    case 'log': return Math.log(x);
    case 'tanh': return Math.tanh(x);
    case 'sigmoid': return 1 / (1 + Math.exp(-x));
    case 'silu': return x / (1 + Math.exp(-x));
    // 0.5x(1 + tanh(u)) written as x sigmoid(2u): the same function without f64 cancellation.
    case 'gelu_tanh': {
      const u = Math.sqrt(2 / Math.PI) * (x + 0.044715 * x * x * x);
      return x / (1 + Math.exp(-2 * u));
    }
    case 'gelu_erf': return 0.5 * x * refErfc(-x / Math.SQRT2);
    case 'erf': return refErf(x);
    case 'relu': return x > 0 ? x : x === 0 ? x : Number.isNaN(x) ? NaN : 0;
    case 'leaky_relu': return x < 0 ? alpha * x : x;
    case 'softplus': return Math.max(x, 0) + Math.log1p(Math.exp(-Math.abs(x)));
    case 'sqrt': return Math.sqrt(x);
    case 'rsqrt': return 1 / Math.sqrt(x);
    case 'neg': return -x;
    case 'abs': return Math.abs(x);
    case 'scale': return alpha * x;
    case 'square': return x * x;
    default: throw new Error(`no reference for ${kind}`);
  }
}

export function refBinary(kind: string, a: number, b: number): number {
  switch (kind) {
    case 'add': return a + b;
    case 'sub': return a - b;
    case 'mul': return a * b;
    case 'div': return a / b;
    case 'max': return Number.isNaN(a) || Number.isNaN(b) ? NaN : Math.max(a, b);
    case 'min': return Number.isNaN(a) || Number.isNaN(b) ? NaN : Math.min(a, b);
    default: throw new Error(`no reference for ${kind}`);
  }
}

export function refSoftmaxRows(x: Float32Array, rows: number, cols: number, log: boolean): Float64Array {
  const y = new Float64Array(rows * cols);
  for (let r = 0; r < rows; r++) {
    let mx = -Infinity;
    for (let j = 0; j < cols; j++) mx = Math.max(mx, x[r * cols + j]!);
    let s = 0;
    for (let j = 0; j < cols; j++) s += Math.exp(x[r * cols + j]! - mx);
    for (let j = 0; j < cols; j++) {
      const v = x[r * cols + j]! - mx;
      y[r * cols + j] = log ? v - Math.log(s) : Math.exp(v) / s;
    }
  }
  return y;
}

export function refLayerNormRows(
  x: Float32Array, gamma: Float32Array | null, beta: Float32Array | null, rows: number, cols: number, eps: number,
): { y: Float64Array; mean: Float64Array; rstd: Float64Array } {
  const y = new Float64Array(rows * cols);
  const mean = new Float64Array(rows);
  const rstd = new Float64Array(rows);
  for (let r = 0; r < rows; r++) {
    let s = 0;
    for (let j = 0; j < cols; j++) s += x[r * cols + j]!;
    const mu = s / cols;
    let v = 0;
    for (let j = 0; j < cols; j++) v += (x[r * cols + j]! - mu) ** 2;
    const rs = 1 / Math.sqrt(v / cols + eps);
    mean[r] = mu;
    rstd[r] = rs;
    for (let j = 0; j < cols; j++) {
      y[r * cols + j] = (x[r * cols + j]! - mu) * rs * (gamma ? gamma[j]! : 1) + (beta ? beta[j]! : 0);
    }
  }
  return { y, mean, rstd };
}

export function refRmsNormRows(
  x: Float32Array, gamma: Float32Array | null, rows: number, cols: number, eps: number,
): { y: Float64Array; rstd: Float64Array } {
  const y = new Float64Array(rows * cols);
  const rstd = new Float64Array(rows);
  for (let r = 0; r < rows; r++) {
    let s = 0;
    for (let j = 0; j < cols; j++) s += x[r * cols + j]! ** 2;
    const rs = 1 / Math.sqrt(s / cols + eps);
    rstd[r] = rs;
    for (let j = 0; j < cols; j++) y[r * cols + j] = x[r * cols + j]! * rs * (gamma ? gamma[j]! : 1);
  }
  return { y, rstd };
}

/** Largest |got - want| / (rtol * scale + atol) over all elements: <= 1 passes. NaN must match NaN. */
export function worstRatio(
  got: ArrayLike<number>, want: ArrayLike<number>, scale: ArrayLike<number> | null, rtol: number, atol: number,
): { ratio: number; index: number } {
  let ratio = 0;
  let index = -1;
  for (let i = 0; i < want.length; i++) {
    const g = got[i]!;
    const w = want[i]!;
    let r: number;
    if (Number.isNaN(w) || Number.isNaN(g)) r = Number.isNaN(w) && Number.isNaN(g) ? 0 : Infinity;
    else if (!Number.isFinite(w) || !Number.isFinite(g)) r = g === w ? 0 : Infinity;
    else r = Math.abs(g - w) / (rtol * (scale ? scale[i]! : Math.abs(w)) + atol);
    if (r > ratio) {
      ratio = r;
      index = i;
    }
  }
  return { ratio, index };
}
