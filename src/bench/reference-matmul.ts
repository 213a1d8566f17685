// The "reference" kernels of the benchmarks: the best simple plain-JS versions (no wasm), plus a
// small worker_threads runner so they can use all cores too. They double as oracles: the matmul
// benchmark checks every kernel's result against jsMatmul.
//
// jsMatmul packs A and B into Float64Array panels (KC x 4) and runs a 4x4 register micro-kernel in
// its own small function (V8 optimises it early; one long loop would run as OSR code), the layout
// that reached 2.5-3 GFLOP/s per core in shared/engine-measurements.md.

import { availableParallelism } from 'node:os';
import { Worker, isMainThread, parentPort, workerData } from 'node:worker_threads';

const KC = 256;
const MC = 64;
const NC = 1024;

// C[4, 4] tile (+)= Apanel(kc x 4) . Bpanel(kc x 4); rows/cols < 4 on edges.
function micro4x4(kc: number, ap: Float64Array, ao: number, bp: Float64Array, bo: number,
  c: Float32Array, co: number, ldc: number, rows: number, cols: number, accumulate: boolean): void {
  let c00 = 0, c01 = 0, c02 = 0, c03 = 0, c10 = 0, c11 = 0, c12 = 0, c13 = 0;
  let c20 = 0, c21 = 0, c22 = 0, c23 = 0, c30 = 0, c31 = 0, c32 = 0, c33 = 0;
  for (let p = 0; p < kc; p++) {
    const a0 = ap[ao]!, a1 = ap[ao + 1]!, a2 = ap[ao + 2]!, a3 = ap[ao + 3]!;
    const b0 = bp[bo]!, b1 = bp[bo + 1]!, b2 = bp[bo + 2]!, b3 = bp[bo + 3]!;
    c00 += a0 * b0; c01 += a0 * b1; c02 += a0 * b2; c03 += a0 * b3;
    c10 += a1 * b0; c11 += a1 * b1; c12 += a1 * b2; c13 += a1 * b3;
    c20 += a2 * b0; c21 += a2 * b1; c22 += a2 * b2; c23 += a2 * b3;
    c30 += a3 * b0; c31 += a3 * b1; c32 += a3 * b2; c33 += a3 * b3;
    ao += 4;
    bo += 4;
  }
  if (rows === 4 && cols === 4) {
    const o0 = co, o1 = co + ldc, o2 = o1 + ldc, o3 = o2 + ldc;
    if (accumulate) {
      c[o0] = c[o0]! + c00; c[o0 + 1] = c[o0 + 1]! + c01; c[o0 + 2] = c[o0 + 2]! + c02; c[o0 + 3] = c[o0 + 3]! + c03;
      c[o1] = c[o1]! + c10; c[o1 + 1] = c[o1 + 1]! + c11; c[o1 + 2] = c[o1 + 2]! + c12; c[o1 + 3] = c[o1 + 3]! + c13;
      c[o2] = c[o2]! + c20; c[o2 + 1] = c[o2 + 1]! + c21; c[o2 + 2] = c[o2 + 2]! + c22; c[o2 + 3] = c[o2 + 3]! + c23;
      c[o3] = c[o3]! + c30; c[o3 + 1] = c[o3 + 1]! + c31; c[o3 + 2] = c[o3 + 2]! + c32; c[o3 + 3] = c[o3 + 3]! + c33;
    } else {
      c[o0] = c00; c[o0 + 1] = c01; c[o0 + 2] = c02; c[o0 + 3] = c03;
      c[o1] = c10; c[o1 + 1] = c11; c[o1 + 2] = c12; c[o1 + 3] = c13;
      c[o2] = c20; c[o2 + 1] = c21; c[o2 + 2] = c22; c[o2 + 3] = c23;
      c[o3] = c30; c[o3 + 1] = c31; c[o3 + 2] = c32; c[o3 + 3] = c33;
    }
    return;
  }
  const t = [c00, c01, c02, c03, c10, c11, c12, c13, c20, c21, c22, c23, c30, c31, c32, c33];
  for (let i = 0; i < rows; i++) {
    for (let j = 0; j < cols; j++) {
      const idx = co + i * ldc + j;
      c[idx] = (accumulate ? c[idx]! : 0) + t[i * 4 + j]!;
    }
  }
}

/** C[r0..r1, :] = A[r0..r1, :] . B for row-major A[m, k], B[k, n], C[m, n]. */
export function jsMatmul(a: Float32Array, b: Float32Array, c: Float32Array, m: number, n: number, k: number,
  r0 = 0, r1 = m): void {
  const ap = new Float64Array(MC * KC);
  const bp = new Float64Array(KC * NC);
  for (let jc = 0; jc < n; jc += NC) {
    const nc = Math.min(NC, n - jc);
    for (let pc = 0; pc < k; pc += KC) {
      const kc = Math.min(KC, k - pc);
      // B panels of 4 columns, zero padded.
      for (let jr = 0; jr < nc; jr += 4) {
        const base = jr * kc;
        for (let p = 0; p < kc; p++) {
          const src = (pc + p) * n + jc + jr;
          for (let j = 0; j < 4; j++) bp[base + p * 4 + j] = jr + j < nc ? b[src + j]! : 0;
        }
      }
      for (let ic = r0; ic < r1; ic += MC) {
        const mc = Math.min(MC, r1 - ic);
        for (let ir = 0; ir < mc; ir += 4) {
          const base = ir * kc;
          for (let p = 0; p < kc; p++) {
            for (let i = 0; i < 4; i++) ap[base + p * 4 + i] = ir + i < mc ? a[(ic + ir + i) * k + pc + p]! : 0;
          }
        }
        for (let jr = 0; jr < nc; jr += 4) {
          for (let ir = 0; ir < mc; ir += 4) {
            micro4x4(kc, ap, ir * kc, bp, jr * kc, c, (ic + ir) * n + jc + jr, n,
              Math.min(4, mc - ir), Math.min(4, nc - jr), pc > 0);
          }
        }
      }
    }
  }
}

/** y[r0..r1] = W[r0..r1, :] . x: 4 rows at a time, 2-way unrolled over columns. */
export function jsGemv(w: Float32Array, x: Float32Array, y: Float32Array, rows: number, cols: number,
  r0 = 0, r1 = rows): void {
  let r = r0;
  for (; r + 4 <= r1; r += 4) {
    let s0 = 0, s1 = 0, s2 = 0, s3 = 0, t0 = 0, t1 = 0, t2 = 0, t3 = 0;
    const o0 = r * cols, o1 = o0 + cols, o2 = o1 + cols, o3 = o2 + cols;
    let j = 0;
    for (; j + 2 <= cols; j += 2) {
      const x0 = x[j]!, x1 = x[j + 1]!;
      s0 += w[o0 + j]! * x0; t0 += w[o0 + j + 1]! * x1;
      s1 += w[o1 + j]! * x0; t1 += w[o1 + j + 1]! * x1;
      s2 += w[o2 + j]! * x0; t2 += w[o2 + j + 1]! * x1;
      s3 += w[o3 + j]! * x0; t3 += w[o3 + j + 1]! * x1;
    }
    for (; j < cols; j++) {
      const xj = x[j]!;
      s0 += w[o0 + j]! * xj; s1 += w[o1 + j]! * xj; s2 += w[o2 + j]! * xj; s3 += w[o3 + j]! * xj;
    }
    y[r] = s0 + t0; y[r + 1] = s1 + t1; y[r + 2] = s2 + t2; y[r + 3] = s3 + t3;
  }
  for (; r < r1; r++) {
    let s = 0;
    for (let j = 0; j < cols; j++) s += w[r * cols + j]! * x[j]!;
    y[r] = s;
  }
}

/**
 * Sum of x with 4 accumulators. Written against x.length (callers pass subarrays): with explicit
 * bounds as parameters V8 kept a per-access length check on wasm (growable shared) memory and the
 * loop ran 1.5-4x slower.
 */
export function jsSum(x: Float32Array): number {
  let s0 = 0, s1 = 0, s2 = 0, s3 = 0;
  const n = x.length;
  let i = 0;
  for (; i + 4 <= n; i += 4) {
    s0 += x[i]!; s1 += x[i + 1]!; s2 += x[i + 2]!; s3 += x[i + 3]!;
  }
  for (; i < n; i++) s0 += x[i]!;
  return s0 + s1 + s2 + s3;
}

type JsTask =
  | { op: 'matmul'; a: Float32Array; b: Float32Array; c: Float32Array; m: number; n: number; k: number; r0: number; r1: number }
  | { op: 'gemv'; w: Float32Array; x: Float32Array; y: Float32Array; rows: number; cols: number; r0: number; r1: number }
  | { op: 'sum'; x: Float32Array; i0: number; i1: number };

function runTask(task: JsTask): number {
  switch (task.op) {
    case 'matmul': jsMatmul(task.a, task.b, task.c, task.m, task.n, task.k, task.r0, task.r1); return 0;
    case 'gemv': jsGemv(task.w, task.x, task.y, task.rows, task.cols, task.r0, task.r1); return 0;
    case 'sum': return jsSum(task.x.subarray(task.i0, task.i1));
  }
}

/**
 * Runs every JS kernel on tiny awkward shapes, so that each loop (tails included) has type feedback
 * before the first large call. A never-executed tail loop keeps V8 from producing good code for the
 * whole function: jsSum on 128 MiB ran at 1.0 GB/s unprimed against 4-8 GB/s primed.
 * Primed with both SharedArrayBuffer and wasm-memory views, the two kinds the benchmarks pass.
 */
export function primeJsKernels(): void {
  const mem = new WebAssembly.Memory({ initial: 1, maximum: 2, shared: true });
  const kinds = [(n: number) => sharedF32(n), (n: number) => new Float32Array(mem.buffer, 0, n)];
  for (let rep = 0; rep < 30; rep++) {
    for (const make of kinds) {
      const a = make(7 * 9);
      const b = sharedF32(9 * 5);
      const c = sharedF32(7 * 5);
      a.fill(0.5); b.fill(0.25);
      jsMatmul(a, b, c, 7, 5, 9);
      jsMatmul(a, b, c, 7, 5, 9, 4, 7);
      jsGemv(a, b, c, 7, 9);
      jsSum(a);
      jsSum(a.subarray(0, 6));
    }
  }
}

const WORKER_TAG = 'thrifty-js-bench-worker';

if (!isMainThread && workerData === WORKER_TAG && parentPort) {
  const port = parentPort;
  primeJsKernels();
  port.on('message', (task: JsTask) => port.postMessage(runTask(task)));
}

/**
 * Runs the JS kernels on `threads` threads (the caller plus workers), splitting rows. Operands must
 * live in SharedArrayBuffers. Dispatch goes through postMessage (~0.1 ms), negligible next to
 * JS kernels that run for tens of milliseconds.
 */
export class JsThreads {
  private readonly workers: Worker[] = [];

  constructor(readonly threads: number = availableParallelism()) {
    primeJsKernels();
    for (let i = 1; i < threads; i++) {
      const worker = new Worker(new URL(import.meta.url), { workerData: WORKER_TAG, execArgv: [] });
      worker.unref();
      this.workers.push(worker);
    }
  }

  private async split(total: number, threads: number, make: (s: number, e: number) => JsTask): Promise<number> {
    const t = Math.max(1, Math.min(threads, this.workers.length + 1));
    const bounds = Array.from({ length: t + 1 }, (_, i) => Math.round((total * i) / t / 4) * 4);
    bounds[t] = total;
    const replies = this.workers.slice(0, t - 1).map((worker, i) => new Promise<number>((resolve, reject) => {
      const onError = (err: Error): void => reject(err);
      worker.once('message', (v: number) => {
        worker.off('error', onError);
        resolve(v);
      });
      worker.once('error', onError);
      worker.postMessage(make(bounds[i + 1]!, bounds[i + 2]!));
    }));
    const own = runTask(make(bounds[0]!, bounds[1]!));
    const others = await Promise.all(replies);
    return others.reduce((s, v) => s + v, own);
  }

  matmul(a: Float32Array, b: Float32Array, c: Float32Array, m: number, n: number, k: number, threads: number): Promise<number> {
    return this.split(m, threads, (r0, r1) => ({ op: 'matmul', a, b, c, m, n, k, r0, r1 }));
  }

  gemv(w: Float32Array, x: Float32Array, y: Float32Array, rows: number, cols: number, threads: number): Promise<number> {
    return this.split(rows, threads, (r0, r1) => ({ op: 'gemv', w, x, y, rows, cols, r0, r1 }));
  }

  sum(x: Float32Array, threads: number): Promise<number> {
    return this.split(x.length, threads, (i0, i1) => ({ op: 'sum', x, i0, i1 }));
  }

  dispose(): void {
    for (const w of this.workers) void w.terminate();
  }
}

/** A Float32Array on a SharedArrayBuffer (so JsThreads workers can share it). */
export function sharedF32(length: number): Float32Array {
  return new Float32Array(new SharedArrayBuffer(length * 4));
}
