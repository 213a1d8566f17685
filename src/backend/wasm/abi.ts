// The binary interface of the AssemblyScript kernel module (assembly/index.ts): export names and
// signatures, op codes, and module loading. Shared by the main thread (kernels.ts) and the
// worker threads (src/node/wasm-worker.ts), so it must stay platform-neutral.

import { KERNELS_RELAXED_BASE64, KERNELS_SIMD_BASE64 } from './generated/kernels.js';

/** Raw exports. Pointers are byte addresses in the arena memory; flags are 0/1. */
export interface KernelExports {
  heap_base(): number;
  relaxed_simd(): number;
  gemm_work_bytes(): number;
  gemm(m: number, n: number, k: number, a: number, lda: number, transA: number,
    b: number, ldb: number, transB: number, c: number, ldc: number, accumulate: number, work: number): void;
  gemm_nt_small(m: number, n: number, k: number, a: number, lda: number, b: number, ldb: number,
    c: number, ldc: number, accumulate: number): void;
  gemm_nn_small(m: number, n: number, k: number, a: number, lda: number, b: number, ldb: number,
    c: number, ldc: number, accumulate: number): void;
  gemm_batched(batch: number, m: number, n: number, k: number,
    a: number, lda: number, strideA: number, transA: number,
    b: number, ldb: number, strideB: number, transB: number,
    c: number, ldc: number, strideC: number, accumulate: number, work: number): void;
  gemv(rows: number, cols: number, w: number, ldw: number, x: number, y: number, accumulate: number): void;
  gemv_t(rows: number, cols: number, w: number, ldw: number, x: number, y: number, accumulate: number): void;
  unary(kind: number, n: number, x: number, y: number, alpha: number): void;
  unary_grad(kind: number, n: number, x: number, dy: number, y: number, alpha: number): void;
  binary(kind: number, n: number, a: number, b: number, y: number): void;
  binary_row(kind: number, rows: number, cols: number, a: number, b: number, y: number): void;
  binary_scalar(kind: number, n: number, a: number, s: number, y: number): void;
  stream_sum(x: number, n: number, out: number): void;
  softmax_rows(rows: number, cols: number, x: number, y: number): void;
  log_softmax_rows(rows: number, cols: number, x: number, y: number): void;
  layernorm_rows(rows: number, cols: number, x: number, gamma: number, beta: number, y: number, eps: number,
    meanOut: number, rstdOut: number): void;
  rmsnorm_rows(rows: number, cols: number, x: number, gamma: number, y: number, eps: number, rstdOut: number): void;
  adam_update(n: number, p: number, g: number, m: number, v: number, decay: number, l2: number, beta1: number,
    oneMinusBeta1: number, beta2: number, oneMinusBeta2: number, stepSize: number, bias2Sqrt: number, eps: number): void;
  softmax_grad_rows(rows: number, cols: number, y: number, dy: number, dx: number, log: number): void;
  layernorm_grad_rows(rows: number, cols: number, x: number, gamma: number, mean: number, rstd: number, dy: number,
    dx: number, dgamma: number, dbeta: number): void;
  // Decode attention (assembly/attention.ts; wrapped by src/backend/wasm/attention.ts). next: a task
  // counter shared by the call's threads (0: one thread runs every task in order).
  attn_dense_work_bytes(maxLen: number, group: number, headDim: number): number;
  attn_dense(desc: number, count: number, headDim: number, group: number, work: number, next: number): void;
  attn_sparq_work_bytes(maxLen: number, group: number, topK: number, headDim: number): number;
  attn_sparq(desc: number, count: number, headDim: number, group: number, rank: number, topK: number,
    localWindow: number, reallocation: number, transposed: number, work: number, next: number): void;
  attn_topk_work_bytes(n: number): number;
  attn_topk(vals: number, n: number, want: number, out: number, work: number): number;
  attn_lminf(desc: number, count: number, headDim: number, group: number, topK: number, sinks: number, work: number, next: number): void;
  attn_exact(desc: number, count: number, headDim: number, group: number, topK: number, maxLen: number, work: number, next: number): void;
  attn_h2o(desc: number, count: number, headDim: number, group: number, topK: number, localWindow: number, maxLen: number, work: number,
    next: number): void;
  kv_block_offset(part: number, headDim: number, capacity: number, elementBytes: number): number;
  kv_widen_f16(src: number, dst: number, count: number, scalar: number): void;
  // Block-sparse products (assembly/block-sparse.ts; wrapped by src/backend/wasm/block-sparse.ts).
  bsr_rows(t0: number, count: number, fin: number, fout: number, b: number, ptr: number, idx: number, offs: number, wt: number,
    src: number, dst: number, work: number): void;
  bsr_offsets(idx: number, count: number, b: number, out: number): void;
  bsr_rows_work_bytes(fin: number): number;
  bsr_rows1_work_bytes(pf: number, fout: number): number;
  bsr_rows1(t0: number, count: number, fin: number, fout: number, panels: number, pf: number, bounds: number, idx: number,
    values: number, src: number, dst: number, work: number): void;
  bsr_rows4_work_bytes(pf: number, fout: number): number;
  bsr_rows4(t0: number, count: number, fin: number, fout: number, panels: number, pf: number, bounds: number, idx: number,
    wts: number, src: number, dst: number, work: number): void;
  bsr_sddmm_rows_work_bytes(rowFeatures: number, cols: number): number;
  bsr_sddmm_rows(k0: number, count: number, b: number, ptr: number, blockRows: number, idx: number,
    dy: number, x: number, n: number, rows: number, cols: number, out: number, accumulate: number, work: number): void;
  bsr_sddmm1_work_bytes(rows: number, cols: number, count: number): number;
  bsr_sddmm1(k0: number, count: number, ptr: number, rows: number, idx: number,
    dy: number, x: number, n: number, cols: number, out: number, accumulate: number, work: number): void;
  bsr_sddmm4_work_bytes(rows: number, cols: number): number;
  bsr_sddmm4(k0: number, count: number, ptr: number, blockRows: number, idx: number,
    dy: number, x: number, n: number, rows: number, cols: number, out: number, accumulate: number, work: number): void;
  bsr_pack(values: number, perm: number, count: number, b: number, transposeBlocks: number, out: number): void;
  // Products with GGUF-format weights (assembly/quant.ts; wrapped by src/backend/wasm/quant.ts).
  q_matmul_work_bytes(cols: number): number;
  // chunk, next: rows taken `chunk` at a time from the counter at next (0: this thread runs them all).
  q_matmul(rows: number, n: number, cols: number, format: number, w: number, rowBytes: number,
    x: number, y: number, ldy: number, work: number, chunk: number, next: number): void;
  q_act_bytes(n: number, cols: number): number;
  q_quantize_act(t0: number, count: number, n: number, cols: number, x: number, act: number): void;
  q_matmul_q(rows: number, n: number, cols: number, format: number, w: number, rowBytes: number,
    act: number, y: number, ldy: number, chunk: number, next: number): void;
}

/** Exports that worker threads may be asked to run, by index (the pool protocol sends the index). */
export const TASK_FUNCTIONS = [
  'gemm', 'gemm_nt_small', 'gemm_nn_small', 'gemm_batched', 'gemv', 'gemv_t',
  'unary', 'unary_grad', 'binary', 'binary_row', 'binary_scalar', 'stream_sum',
  'softmax_rows', 'log_softmax_rows', 'layernorm_rows', 'rmsnorm_rows',
  'softmax_grad_rows', 'layernorm_grad_rows', 'adam_update',
  'attn_dense', 'attn_sparq', 'attn_lminf', 'attn_exact', 'attn_h2o',
  'bsr_rows', 'bsr_rows1', 'bsr_rows4', 'bsr_sddmm_rows', 'bsr_sddmm1', 'bsr_sddmm4',
  'q_matmul', 'q_quantize_act', 'q_matmul_q',
] as const;
export type TaskFunction = (typeof TASK_FUNCTIONS)[number];

export const TASK_ID: { readonly [K in TaskFunction]: number } = Object.freeze(
  Object.fromEntries(TASK_FUNCTIONS.map((name, i) => [name, i])) as { [K in TaskFunction]: number },
);

/** Same as assembly/gemm.ts SMALL_M_NT / SMALL_M_NN: up to this many rows of C, matmul skips packing. */
export const SMALL_M_NT = 16;
export const SMALL_M_NN = 6;

/** Whether C = op(A) op(B) with m rows takes an unpacked small-m path (same rule as gemm_batched). */
export function smallPath(m: number, transA: boolean, transB: boolean): boolean {
  return !transA && m <= (transB ? SMALL_M_NT : SMALL_M_NN);
}

/** Unary op codes (assembly/elementwise.ts U_*). */
export const UNARY_KINDS = Object.freeze({
  exp: 0, log: 1, tanh: 2, sigmoid: 3, silu: 4, gelu_tanh: 5, gelu_erf: 6, erf: 7,
  relu: 8, leaky_relu: 9, softplus: 10, sqrt: 11, rsqrt: 12, neg: 13, abs: 14, scale: 15, square: 16,
} as const);
export type UnaryKind = keyof typeof UNARY_KINDS;

/** The unary kinds with a derivative kernel (unary_grad). */
export const UNARY_GRAD_KINDS: ReadonlySet<UnaryKind> = new Set<UnaryKind>(['tanh', 'sigmoid', 'silu', 'gelu_erf', 'gelu_tanh', 'relu', 'leaky_relu']);

/** Binary op codes (assembly/elementwise.ts B_*). max/min propagate NaN. */
export const BINARY_KINDS = Object.freeze({ add: 0, sub: 1, mul: 2, div: 3, max: 4, min: 5 } as const);
export type BinaryKind = keyof typeof BINARY_KINDS;

export type SimdFlavor = 'relaxed' | 'simd';

function decodeBase64(text: string): Uint8Array<ArrayBuffer> {
  // atob exists in Node >= 16 and in browsers; the module is ~40 KB, so this is cheap.
  const bin = atob(text);
  const out = new Uint8Array(bin.length);
  for (let i = 0; i < bin.length; i++) out[i] = bin.charCodeAt(i);
  return out;
}

let simdBytes: Uint8Array<ArrayBuffer> | undefined;
let relaxedBytes: Uint8Array<ArrayBuffer> | undefined;

export function kernelBytes(flavor: SimdFlavor): Uint8Array<ArrayBuffer> {
  if (flavor === 'relaxed') return (relaxedBytes ??= decodeBase64(KERNELS_RELAXED_BASE64));
  return (simdBytes ??= decodeBase64(KERNELS_SIMD_BASE64));
}

/**
 * Whether this engine accepts the relaxed-SIMD build. Node 20 (V8 11.3) needs the flag
 * --experimental-wasm-relaxed-simd (see enableRelaxedSimd in src/node/wasm-pool.ts); V8 >= 11.4
 * (Node 22, current browsers) ships it.
 */
export function relaxedSimdSupported(): boolean {
  return WebAssembly.validate(kernelBytes('relaxed'));
}

export function simdSupported(): boolean {
  return WebAssembly.validate(kernelBytes('simd'));
}

/** Picks the flavour for a `relaxedSimd` option; throws if SIMD itself, or required relaxed SIMD, is missing. */
export function chooseFlavor(relaxed: boolean | 'auto'): SimdFlavor {
  if (!simdSupported()) throw new Error('thrifty: this WebAssembly engine lacks SIMD (needs Node >= 16.4 or a 2021+ browser)');
  if (relaxed === false) return 'simd';
  if (relaxedSimdSupported()) return 'relaxed';
  if (relaxed === true) {
    throw new Error('thrifty: relaxed SIMD requested but not supported; on Node 20 call enableRelaxedSimd() '
      + 'from thrifty/node before creating kernels, or run node --experimental-wasm-relaxed-simd');
  }
  return 'simd';
}

const moduleCache = new Map<SimdFlavor, WebAssembly.Module>();

export function compileKernelsSync(flavor: SimdFlavor): WebAssembly.Module {
  let mod = moduleCache.get(flavor);
  if (!mod) {
    mod = new WebAssembly.Module(kernelBytes(flavor));
    moduleCache.set(flavor, mod);
  }
  return mod;
}

export async function compileKernels(flavor: SimdFlavor): Promise<WebAssembly.Module> {
  let mod = moduleCache.get(flavor);
  if (!mod) {
    mod = await WebAssembly.compile(kernelBytes(flavor));
    moduleCache.set(flavor, mod);
  }
  return mod;
}

/** Instantiates the kernel module over a (shared) memory. Synchronous: the module is small. */
export function instantiateKernels(module: WebAssembly.Module, memory: WebAssembly.Memory): KernelExports {
  const instance = new WebAssembly.Instance(module, { env: { memory } });
  return instance.exports as unknown as KernelExports;
}

/** Calls export `name` with numeric arguments (the worker side of the pool protocol). */
export type TaskTable = ReadonlyArray<(...args: number[]) => void>;

export function taskTable(exports: KernelExports): TaskTable {
  const record = exports as unknown as Record<string, (...args: number[]) => void>;
  return TASK_FUNCTIONS.map((name) => {
    const fn = record[name];
    if (typeof fn !== 'function') throw new Error(`thrifty: kernel module lacks export ${name}`);
    return fn;
  });
}
