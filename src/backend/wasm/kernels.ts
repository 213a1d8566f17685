// WasmKernels: the raw Float32Array API over the AssemblyScript SIMD kernels, the one the wasm backend
// calls. Each method checks its arguments, stages its operands (plain JS arrays or views into a wasm
// arena, WasmArenaSet) into one arena (staging.ts), then runs the kernel split over the threads
// (dispatch.ts).

import {
  BINARY_KINDS, UNARY_GRAD_KINDS, UNARY_KINDS, chooseFlavor, compileKernels, compileKernelsSync,
  smallPath, type BinaryKind, type SimdFlavor, type TaskFunction, type UnaryKind,
} from './abi.js';
import type { WasmArena } from './arena.js';
import { WasmArenaSet } from './arenas.js';
import {
  Dispatch, PARALLEL_MIN_ELEMENTWISE, PARALLEL_MIN_FLOPS, PARALLEL_MIN_TRANSCENDENTAL, splitBounds,
} from './dispatch.js';
import type { ThreadPool } from './pool.js';
import { IN, INOUT, OUT, Staging, align64 } from './staging.js';

export type { BinaryKind, SimdFlavor, UnaryKind } from './abi.js';
export { PARALLEL_MIN_ELEMENTWISE, PARALLEL_MIN_FLOPS, PARALLEL_MIN_GEMV, PARALLEL_MIN_TRANSCENDENTAL } from './dispatch.js';

export interface WasmKernelsOptions {
  /** Threads to use, including the caller (<= pool.workers + 1). Default: all the pool offers, else 1. */
  threads?: number;
  /**
   * true: require the relaxed-SIMD build (FMA in matmul/gemv), throw if the engine lacks it;
   * 'auto' (default): use it when WebAssembly.validate accepts it, else plain SIMD; false: plain SIMD.
   */
  relaxedSimd?: boolean | 'auto';
  /** Worker pool (platform specific; see src/node/wasm-pool.ts). */
  pool?: ThreadPool;
  /** Dispose the pool with the kernels. Default false. */
  ownsPool?: boolean;
  /** Cap per arena (default 4 GiB, the wasm32 limit). */
  maxArenaBytes?: number;
  initialArenaBytes?: number;
  /** Room kept in each arena for kernel scratch (default min(64 MiB, cap / 8)). */
  reserveBytes?: number;
  /** Run every kernel once on every thread at creation (default true). */
  warmup?: boolean;
  /** Split every call over all threads regardless of size (tests use it to cover the splits). */
  forceParallel?: boolean;
}

/**
 * Smallest length from which the wasm kernel beats a plain, hot, monomorphic JS loop (Node 20,
 * 1 thread, project VM), with the operands already in an arena (resident) or copied in and out.
 * Measured ns per call (JS / wasm copied / wasm resident):
 *   add        n=64: 90 / 229 / 155   n=256: 384 / 337 / 178   n=4096: 5699 / 2681 / 864   n=1M: 1.51 / 0.74 / 0.22 ms
 *   exp        n=16: 124 / 198 / 150  n=64: 403 / 257 / 201    n=4096: 25252 / 6211 / 4913
 *   gelu_tanh  n=16: 233 / 195 / 151  n=4096: 63339 / 8476 / 7187
 *   softmax, rows of 64: n=64: 663 / 336 / 276   n=4096: 44417 / 11795 / 10444
 * A call costs ~150 ns of fixed overhead (argument checks, arena lookup, the wasm call); copies run
 * at memcpy speed, which beats a scalar JS loop, so even add wins with copies from ~256 elements.
 */
export const WORTH_IT_MIN_LENGTH: {
  readonly resident: { readonly cheap: number; readonly transcendental: number; readonly rows: number };
  readonly copied: { readonly cheap: number; readonly transcendental: number; readonly rows: number };
} = Object.freeze({
  resident: Object.freeze({ cheap: 128, transcendental: 32, rows: 64 }),
  copied: Object.freeze({ cheap: 512, transcendental: 64, rows: 128 }),
});

const CHEAP_UNARY: ReadonlySet<UnaryKind> = new Set<UnaryKind>(['relu', 'leaky_relu', 'neg', 'abs', 'scale', 'square', 'sqrt', 'rsqrt']);

function checkDim(name: string, v: number): void {
  if (!Number.isInteger(v) || v < 0) throw new RangeError(`thrifty: ${name} must be a non-negative integer, got ${v}`);
}

function checkLength(name: string, view: Float32Array, needed: number): void {
  if (view.length < needed) {
    throw new RangeError(`thrifty: ${name} has ${view.length} elements, needs at least ${needed}`);
  }
}


export class WasmKernels {
  readonly simd: SimdFlavor;
  readonly module: WebAssembly.Module;
  readonly arenas: WasmArenaSet;
  private readonly pool: ThreadPool | undefined;
  private readonly ownsPool: boolean;
  private disposed = false;
  /** Where the operands of the current call are placed (staging.ts). */
  private readonly staging: Staging;
  /** How a call is split over the threads (dispatch.ts). */
  private readonly dispatch: Dispatch;

  /** Asynchronous creation (compiles with WebAssembly.compile, allowed on browser main threads). */
  static async create(options: WasmKernelsOptions = {}): Promise<WasmKernels> {
    const flavor = chooseFlavor(options.relaxedSimd ?? 'auto');
    const module = await compileKernels(flavor);
    return new WasmKernels(module, flavor, options);
  }

  /** Synchronous creation (Node, workers; browsers limit synchronous compilation on the main thread). */
  static createSync(options: WasmKernelsOptions = {}): WasmKernels {
    const flavor = chooseFlavor(options.relaxedSimd ?? 'auto');
    return new WasmKernels(compileKernelsSync(flavor), flavor, options);
  }

  private constructor(module: WebAssembly.Module, flavor: SimdFlavor, options: WasmKernelsOptions) {
    this.module = module;
    this.simd = flavor;
    this.pool = options.pool;
    this.ownsPool = options.ownsPool ?? false;
    const maxThreads = (this.pool?.workers ?? 0) + 1;
    const threads = Math.max(1, Math.min(maxThreads, Math.floor(options.threads ?? maxThreads)));
    this.dispatch = new Dispatch(this.pool, threads, options.forceParallel ?? false);
    const pool = this.pool;
    this.arenas = new WasmArenaSet({
      module,
      ...(options.maxArenaBytes !== undefined ? { maxArenaBytes: options.maxArenaBytes } : {}),
      ...(options.initialArenaBytes !== undefined ? { initialArenaBytes: options.initialArenaBytes } : {}),
      ...(options.reserveBytes !== undefined ? { reserveBytes: options.reserveBytes } : {}),
      ...(pool ? { onCreate: (arena: WasmArena) => pool.attach(arena.id, arena.memory, arena.module) } : {}),
    });
    this.staging = new Staging(this.arenas);
    if (options.warmup ?? true) this.warmup();
  }

  /** Threads in use, including the caller. */
  get threads(): number {
    return this.dispatch.threads;
  }

  /** Changes the number of threads used (clamped to what the pool offers). */
  setThreads(threads: number): void {
    const maxThreads = (this.pool?.workers ?? 0) + 1;
    this.dispatch.threads = Math.max(1, Math.min(maxThreads, Math.floor(threads)));
  }

  /** Zero-filled Float32Array in an arena: operands placed there are used without copies. */
  allocF32(length: number): Float32Array {
    return this.arenas.allocF32(length);
  }

  freeF32(view: Float32Array): void {
    this.arenas.free(view);
  }

  /**
   * Whether the wasm kernel is expected to beat a plain JS loop for `length` elements (see
   * WORTH_IT_MIN_LENGTH). `resident`: the operands already live in an arena. 'rows' covers the
   * row-wise kernels (softmax, norms), with length = rows * cols.
   */
  static worthIt(kind: UnaryKind | BinaryKind | 'rows', length: number, resident: boolean): boolean {
    const table = resident ? WORTH_IT_MIN_LENGTH.resident : WORTH_IT_MIN_LENGTH.copied;
    if (kind === 'rows') return length >= table.rows;
    const cheap = kind in BINARY_KINDS || CHEAP_UNARY.has(kind as UnaryKind);
    return length >= (cheap ? table.cheap : table.transcendental);
  }

  // ---------------------------------------------------------------------------------------------
  // Matrix products

  /**
   * C[m, n] (+)= op(A) . op(B), row-major, op(A) = transA ? A^T (A stored [k, m]) : A ([m, k]),
   * op(B) = transB ? B^T (B stored [n, k]) : B ([k, n]). `out` must not overlap a or b.
   */
  matmul(
    a: Float32Array, b: Float32Array, out: Float32Array,
    m: number, n: number, k: number, transA: boolean, transB: boolean, accumulate = false,
  ): void {
    checkDim('m', m); checkDim('n', n); checkDim('k', k);
    checkLength('a', a, m * k); checkLength('b', b, k * n); checkLength('out', out, m * n);
    if (m === 0 || n === 0) return;
    const threads = this.dispatch.threads;
    const packed = !(m === 1 || n === 1 || smallPath(m, transA, transB));
    this.beginStage();
    this.staging.stage(a, m * k, IN);
    this.staging.stage(b, k * n, IN);
    this.staging.stage(out, m * n, accumulate ? INOUT : OUT);
    const arena = this.staging.chooseArena();
    // Workspaces for the packed kernel, or partial sums of a split gemvT (m == 1 / n == 1).
    const work = this.staging.commit(arena, packed || m === 1 || n === 1 ? threads * arena.gemmWorkBytes : 0);
    const p = this.staging.ptrs;
    this.dispatch.gemm(arena, m, n, k, p[0]!, transA ? m : k, transA, p[1]!, transB ? k : n, transB, p[2]!, n, accumulate, work);
    this.staging.end(arena);
  }

  /**
   * For t < batch: C_t (+)= op(A_t) . op(B_t) with A_t = a[t * strideA ...] (elements), likewise
   * B_t and C_t; a stride of 0 broadcasts that operand. strideC = 0 sums all products into one C
   * (the first product honours `accumulate`). Shapes and transposes as in matmul; `ld` gives row
   * strides when the matrices are not packed (default: packed, lda = transA ? m : k, ldb =
   * transB ? k : n, ldc = n). Grouped matmul (G blocks on column slices of one activation matrix):
   * x [N, G*din] by W [G, din, dout] into y [N, G*dout] is batch = G, m = N, k = din, n = dout,
   * strideA = din, lda = G*din, strideB = din*dout, strideC = dout, ldc = G*dout.
   */
  batchedMatmul(
    a: Float32Array, b: Float32Array, out: Float32Array,
    batch: number, m: number, n: number, k: number, transA: boolean, transB: boolean,
    strideA: number, strideB: number, strideC: number, accumulate = false,
    ld: { lda?: number; ldb?: number; ldc?: number } = {},
  ): void {
    checkDim('batch', batch); checkDim('m', m); checkDim('n', n); checkDim('k', k);
    checkDim('strideA', strideA); checkDim('strideB', strideB); checkDim('strideC', strideC);
    if (batch === 0 || m === 0 || n === 0) return;
    const lda = ld.lda ?? (transA ? m : k);
    const ldb = ld.ldb ?? (transB ? k : n);
    const ldc = ld.ldc ?? n;
    checkDim('lda', lda); checkDim('ldb', ldb); checkDim('ldc', ldc);
    // Rows and columns of each operand as stored.
    const [ra, ca] = transA ? [k, m] : [m, k];
    const [rb, cb] = transB ? [n, k] : [k, n];
    if (lda < ca || ldb < cb || ldc < n) throw new RangeError('thrifty: a leading dimension is smaller than its row');
    const span = (rows: number, cols: number, ldx: number): number => (rows === 0 || cols === 0 ? 0 : (rows - 1) * ldx + cols);
    const lenA = strideA * (batch - 1) + span(ra, ca, lda);
    const lenB = strideB * (batch - 1) + span(rb, cb, ldb);
    const lenC = strideC * (batch - 1) + span(m, n, ldc);
    checkLength('a', a, lenA); checkLength('b', b, lenB); checkLength('out', out, lenC);
    const threads = this.dispatch.threads;
    this.beginStage();
    this.staging.stage(a, lenA, IN);
    this.staging.stage(b, lenB, IN);
    // Copied in as well when accumulating, or when the products leave gaps (ldc > n, strideC > m n)
    // whose values must survive the copy back.
    const covers = ldc === n && (batch === 1 || strideC === 0 || strideC === m * n);
    this.staging.stage(out, lenC, accumulate || !covers ? INOUT : OUT);
    const arena = this.staging.chooseArena();
    const work = this.staging.commit(arena, threads * arena.gemmWorkBytes);
    const [pa, pb, pc] = [this.staging.ptrs[0]!, this.staging.ptrs[1]!, this.staging.ptrs[2]!];
    const flops = 2 * batch * m * n * k;
    const parallel = threads > 1 && (flops >= PARALLEL_MIN_FLOPS || this.dispatch.forceParallel);
    if (parallel && strideC !== 0 && (batch >= 2 * threads || batch % threads === 0)) {
      const bounds = splitBounds(batch, threads, 1);
      const parts: number[][] = [];
      for (let t = 0; t < threads; t++) {
        const b0 = bounds[t]!;
        const cnt = bounds[t + 1]! - b0;
        if (cnt <= 0) continue;
        parts.push([cnt, m, n, k,
          pa + b0 * strideA * 4, lda, strideA, +transA,
          pb + b0 * strideB * 4, ldb, strideB, +transB,
          pc + b0 * strideC * 4, ldc, strideC, +accumulate, work + parts.length * arena.gemmWorkBytes]);
      }
      this.dispatch.runParts(arena, 'gemm_batched', parts);
    } else if (parallel) {
      for (let t = 0; t < batch; t++) {
        const acc = accumulate || (strideC === 0 && t > 0);
        this.dispatch.gemm(arena, m, n, k, pa + t * strideA * 4, lda, transA, pb + t * strideB * 4, ldb, transB,
          pc + t * strideC * 4, ldc, acc, work);
      }
    } else {
      arena.exports.gemm_batched(batch, m, n, k, pa, lda, strideA, +transA, pb, ldb, strideB, +transB,
        pc, ldc, strideC, +accumulate, work);
    }
    this.staging.end(arena);
  }

  /** y[rows] (+)= W[rows, cols] . x[cols], W row-major. */
  gemv(w: Float32Array, x: Float32Array, y: Float32Array, rows: number, cols: number, accumulate = false): void {
    this.gemvCommon(false, w, x, y, rows, cols, accumulate);
  }

  /** y[cols] (+)= W[rows, cols]^T . x[rows], W row-major. */
  gemvT(w: Float32Array, x: Float32Array, y: Float32Array, rows: number, cols: number, accumulate = false): void {
    this.gemvCommon(true, w, x, y, rows, cols, accumulate);
  }

  // ---------------------------------------------------------------------------------------------
  // Elementwise

  /** out[i] = op(x[i]) for i < x.length; alpha is the slope of leaky_relu and the factor of scale. */
  unary(kind: UnaryKind, x: Float32Array, out: Float32Array, alpha = 0): void {
    const code = UNARY_KINDS[kind];
    if (code === undefined) throw new RangeError(`thrifty: unknown unary kind ${String(kind)}`);
    const n = x.length;
    checkLength('out', out, n);
    if (n === 0) return;
    this.beginStage();
    const px = this.staging.stage(x, n, IN);
    const po = out === x ? this.staging.inPlace(px) : this.staging.stage(out, n, OUT);
    const arena = this.staging.chooseArena();
    this.staging.commit(arena, 0);
    const xp = this.staging.ptrs[px]!;
    const op = this.staging.ptrs[po]!;
    const min = CHEAP_UNARY.has(kind) ? PARALLEL_MIN_ELEMENTWISE : PARALLEL_MIN_TRANSCENDENTAL;
    const threads = this.dispatch.threadsFor(n, min);
    if (threads === 1) {
      arena.exports.unary(code, n, xp, op, alpha);
    } else {
      this.dispatch.runSplit(arena, 'unary', n, threads, 16, (i0, cnt) => [code, cnt, xp + i0 * 4, op + i0 * 4, alpha]);
    }
    this.staging.end(arena);
  }

  /** out[i] = dy[i] * f'(x[i]) for the kinds in UNARY_GRAD_KINDS (activation backward passes). */
  unaryGrad(kind: UnaryKind, x: Float32Array, dy: Float32Array, out: Float32Array, alpha = 0): void {
    const code = UNARY_KINDS[kind];
    if (code === undefined || !UNARY_GRAD_KINDS.has(kind)) throw new RangeError(`thrifty: no derivative kernel for ${String(kind)}`);
    const n = x.length;
    checkLength('dy', dy, n);
    checkLength('out', out, n);
    if (n === 0) return;
    this.beginStage();
    const px = this.staging.stage(x, n, IN);
    const pd = this.staging.stage(dy, n, IN);
    const po = this.staging.stage(out, n, OUT);
    const arena = this.staging.chooseArena();
    this.staging.commit(arena, 0);
    const [xp, dp, op] = [this.staging.ptrs[px]!, this.staging.ptrs[pd]!, this.staging.ptrs[po]!];
    const threads = this.dispatch.threadsFor(n, CHEAP_UNARY.has(kind) ? PARALLEL_MIN_ELEMENTWISE : PARALLEL_MIN_TRANSCENDENTAL);
    if (threads === 1) {
      arena.exports.unary_grad(code, n, xp, dp, op, alpha);
    } else {
      this.dispatch.runSplit(arena, 'unary_grad', n, threads, 16, (i0, cnt) => [code, cnt, xp + i0 * 4, dp + i0 * 4, op + i0 * 4, alpha]);
    }
    this.staging.end(arena);
  }

  /**
   * out = a op b, elementwise over a.length. b may have a's length, length 1 (scalar), or length
   * c dividing a.length (a row vector broadcast over the rows of a viewed as [a.length / c, c]).
   */
  binary(kind: BinaryKind, a: Float32Array, b: Float32Array, out: Float32Array): void {
    const code = BINARY_KINDS[kind];
    if (code === undefined) throw new RangeError(`thrifty: unknown binary kind ${String(kind)}`);
    const n = a.length;
    checkLength('out', out, n);
    if (n === 0) return;
    const bl = b.length;
    if (bl === 0 || (bl !== n && n % bl !== 0)) {
      throw new RangeError(`thrifty: binary ${kind}: b has ${bl} elements, which neither equals nor divides ${n}`);
    }
    const scalar = bl === 1 && n !== 1;
    this.beginStage();
    const ia = this.staging.stage(a, n, IN);
    const ib = scalar ? -1 : b === a ? ia : this.staging.stage(b, bl, IN);
    const io = out === a ? this.staging.inPlace(ia) : out === b && bl === n ? this.staging.inPlace(ib) : this.staging.stage(out, n, OUT);
    const arena = this.staging.chooseArena();
    this.staging.commit(arena, 0);
    const ap = this.staging.ptrs[ia]!;
    const bp = ib >= 0 ? this.staging.ptrs[ib]! : 0;
    const op = this.staging.ptrs[io]!;
    const threads = this.dispatch.threadsFor(n, PARALLEL_MIN_ELEMENTWISE);
    if (scalar) {
      const s = b[0]!;
      if (threads === 1) arena.exports.binary_scalar(code, n, ap, s, op);
      else this.dispatch.runSplit(arena, 'binary_scalar', n, threads, 16, (i0, cnt) => [code, cnt, ap + i0 * 4, s, op + i0 * 4]);
    } else if (bl === n) {
      if (threads === 1) arena.exports.binary(code, n, ap, bp, op);
      else this.dispatch.runSplit(arena, 'binary', n, threads, 16, (i0, cnt) => [code, cnt, ap + i0 * 4, bp + i0 * 4, op + i0 * 4]);
    } else {
      const rows = n / bl;
      const rt = Math.min(threads, rows);
      if (rt <= 1) arena.exports.binary_row(code, rows, bl, ap, bp, op);
      else {
        this.dispatch.runSplit(arena, 'binary_row', rows, rt, 1, (r0, cnt) => [code, cnt, bl, ap + r0 * bl * 4, bp, op + r0 * bl * 4]);
      }
    }
    this.staging.end(arena);
  }

  // ---------------------------------------------------------------------------------------------
  // Row-wise

  /** out[r, :] = softmax(x[r, :]) over contiguous [rows, cols]. */
  softmaxRows(x: Float32Array, out: Float32Array, rows: number, cols: number): void {
    this.rowsSimple('softmax_rows', x, out, rows, cols);
  }

  /** out[r, :] = log_softmax(x[r, :]). */
  logSoftmaxRows(x: Float32Array, out: Float32Array, rows: number, cols: number): void {
    this.rowsSimple('log_softmax_rows', x, out, rows, cols);
  }

  /**
   * out = (x - mean) * rstd * gamma + beta per row (biased variance); gamma/beta may be null.
   * meanOut / rstdOut (length rows) receive the statistics for the backward pass.
   */
  layerNormRows(
    x: Float32Array, gamma: Float32Array | null, beta: Float32Array | null, out: Float32Array,
    rows: number, cols: number, eps: number, meanOut?: Float32Array | null, rstdOut?: Float32Array | null,
  ): void {
    checkDim('rows', rows); checkDim('cols', cols);
    const n = rows * cols;
    checkLength('x', x, n); checkLength('out', out, n);
    if (gamma) checkLength('gamma', gamma, cols);
    if (beta) checkLength('beta', beta, cols);
    if (meanOut) checkLength('meanOut', meanOut, rows);
    if (rstdOut) checkLength('rstdOut', rstdOut, rows);
    if (n === 0) return;
    this.beginStage();
    const ix = this.staging.stage(x, n, IN);
    const ig = this.staging.stage(gamma, cols, IN);
    const ib = this.staging.stage(beta, cols, IN);
    const io = out === x ? this.staging.inPlace(ix) : this.staging.stage(out, n, OUT);
    const im = this.staging.stage(meanOut ?? null, rows, OUT);
    const ir = this.staging.stage(rstdOut ?? null, rows, OUT);
    const arena = this.staging.chooseArena();
    this.staging.commit(arena, 0);
    const p = this.staging.ptrs;
    const [xp, gp, bp, op, mp, rp] = [p[ix]!, p[ig]!, p[ib]!, p[io]!, p[im]!, p[ir]!];
    const threads = Math.min(rows, this.dispatch.threadsFor(n, PARALLEL_MIN_ELEMENTWISE));
    if (threads <= 1) {
      arena.exports.layernorm_rows(rows, cols, xp, gp, bp, op, eps, mp, rp);
    } else {
      this.dispatch.runSplit(arena, 'layernorm_rows', rows, threads, 1, (r0, cnt) => [cnt, cols, xp + r0 * cols * 4, gp, bp,
        op + r0 * cols * 4, eps, mp ? mp + r0 * 4 : 0, rp ? rp + r0 * 4 : 0]);
    }
    this.staging.end(arena);
  }

  /** out = x * rstd * gamma per row, rstd = 1 / sqrt(mean(x^2) + eps); gamma may be null. */
  rmsNormRows(
    x: Float32Array, gamma: Float32Array | null, out: Float32Array,
    rows: number, cols: number, eps: number, rstdOut?: Float32Array | null,
  ): void {
    checkDim('rows', rows); checkDim('cols', cols);
    const n = rows * cols;
    checkLength('x', x, n); checkLength('out', out, n);
    if (gamma) checkLength('gamma', gamma, cols);
    if (rstdOut) checkLength('rstdOut', rstdOut, rows);
    if (n === 0) return;
    this.beginStage();
    const ix = this.staging.stage(x, n, IN);
    const ig = this.staging.stage(gamma, cols, IN);
    const io = out === x ? this.staging.inPlace(ix) : this.staging.stage(out, n, OUT);
    const ir = this.staging.stage(rstdOut ?? null, rows, OUT);
    const arena = this.staging.chooseArena();
    this.staging.commit(arena, 0);
    const p = this.staging.ptrs;
    const [xp, gp, op, rp] = [p[ix]!, p[ig]!, p[io]!, p[ir]!];
    const threads = Math.min(rows, this.dispatch.threadsFor(n, PARALLEL_MIN_ELEMENTWISE));
    if (threads <= 1) {
      arena.exports.rmsnorm_rows(rows, cols, xp, gp, op, eps, rp);
    } else {
      this.dispatch.runSplit(arena, 'rmsnorm_rows', rows, threads, 1, (r0, cnt) => [cnt, cols, xp + r0 * cols * 4, gp,
        op + r0 * cols * 4, eps, rp ? rp + r0 * 4 : 0]);
    }
    this.staging.end(arena);
  }

  /**
   * Softmax backward per row: out = y * (dy - sum(dy * y)), or with `log` (y = logSoftmax(x))
   * out = dy - exp(y) * sum(dy). out may be dy.
   */
  softmaxGradRows(y: Float32Array, dy: Float32Array, out: Float32Array, rows: number, cols: number, log: boolean): void {
    checkDim('rows', rows); checkDim('cols', cols);
    const n = rows * cols;
    checkLength('y', y, n); checkLength('dy', dy, n); checkLength('out', out, n);
    if (n === 0) return;
    this.beginStage();
    const iy = this.staging.stage(y, n, IN);
    const id = this.staging.stage(dy, n, IN);
    const io = out === dy ? this.staging.inPlace(id) : this.staging.stage(out, n, OUT);
    const arena = this.staging.chooseArena();
    this.staging.commit(arena, 0);
    const p = this.staging.ptrs;
    const [yp, dp, op] = [p[iy]!, p[id]!, p[io]!];
    const threads = Math.min(rows, this.dispatch.threadsFor(n, log ? PARALLEL_MIN_TRANSCENDENTAL * 4 : PARALLEL_MIN_ELEMENTWISE));
    if (threads <= 1) {
      arena.exports.softmax_grad_rows(rows, cols, yp, dp, op, +log);
    } else {
      this.dispatch.runSplit(arena, 'softmax_grad_rows', rows, threads, 1, (r0, cnt) => [cnt, cols, yp + r0 * cols * 4, dp + r0 * cols * 4,
        op + r0 * cols * 4, +log]);
    }
    this.staging.end(arena);
  }

  /**
   * Layer norm backward per row from the forward's statistics (mean, rstd of length rows):
   * dx = rstd * (g - mean(g) - xhat * mean(g * xhat)), g = dy * gamma, xhat = (x - mean) * rstd;
   * dgamma = sum over rows of dy * xhat (skipped when gamma is null), dbeta = sum over rows of dy.
   */
  layerNormGradRows(
    x: Float32Array, gamma: Float32Array | null, mean: Float32Array, rstd: Float32Array, dy: Float32Array,
    dx: Float32Array, dgamma: Float32Array | null, dbeta: Float32Array, rows: number, cols: number,
  ): void {
    checkDim('rows', rows); checkDim('cols', cols);
    const n = rows * cols;
    checkLength('x', x, n); checkLength('dy', dy, n); checkLength('dx', dx, n);
    checkLength('mean', mean, rows); checkLength('rstd', rstd, rows); checkLength('dbeta', dbeta, cols);
    if (gamma) checkLength('gamma', gamma, cols);
    if (dgamma) checkLength('dgamma', dgamma, cols);
    if (n === 0) {
      dbeta.fill(0);
      dgamma?.fill(0);
      return;
    }
    const threads = Math.min(rows, this.dispatch.threadsFor(n, PARALLEL_MIN_ELEMENTWISE));
    // One row of parameter-gradient sums per thread, added up here (in f64) after the call.
    const partG = gamma && dgamma ? new Float32Array(threads * cols) : null;
    const partB = new Float32Array(threads * cols);
    this.beginStage();
    const ix = this.staging.stage(x, n, IN);
    const ig = this.staging.stage(gamma, cols, IN);
    const im = this.staging.stage(mean, rows, IN);
    const ir = this.staging.stage(rstd, rows, IN);
    const id = this.staging.stage(dy, n, IN);
    const io = this.staging.stage(dx, n, OUT);
    const ipg = this.staging.stage(partG, threads * cols, OUT);
    const ipb = this.staging.stage(partB, threads * cols, OUT);
    const arena = this.staging.chooseArena();
    this.staging.commit(arena, 0);
    const p = this.staging.ptrs;
    const [xp, gp, mp, rp, dp, op, pgp, pbp] = [p[ix]!, p[ig]!, p[im]!, p[ir]!, p[id]!, p[io]!, p[ipg]!, p[ipb]!];
    if (threads <= 1) {
      arena.exports.layernorm_grad_rows(rows, cols, xp, gp, mp, rp, dp, op, pgp, pbp);
    } else {
      const bounds = splitBounds(rows, threads, 1);
      const parts: number[][] = [];
      for (let t = 0; t < threads; t++) {
        const r0 = bounds[t]!;
        const cnt = bounds[t + 1]! - r0;
        // Every thread's partial row is written, even an empty share's (zeros).
        parts.push([cnt, cols, xp + r0 * cols * 4, gp, mp + r0 * 4, rp + r0 * 4, dp + r0 * cols * 4, op + r0 * cols * 4,
          pgp ? pgp + t * cols * 4 : 0, pbp + t * cols * 4]);
      }
      this.dispatch.runParts(arena, 'layernorm_grad_rows', parts);
    }
    this.staging.end(arena);
    sumRows(partB, threads, cols, dbeta);
    if (partG && dgamma) sumRows(partG, threads, cols, dgamma);
  }

  /**
   * One Adam / AdamW step in place on p, m and v (all of length n, like g); the scalars as in
   * AdamStep (src/ops/kernels.ts).
   */
  adamUpdate(p: Float32Array, g: Float32Array, m: Float32Array, v: Float32Array,
    decay: number, l2: number, beta1: number, beta2: number, stepSize: number, bias2Sqrt: number, eps: number): void {
    const n = p.length;
    checkLength('g', g, n); checkLength('m', m, n); checkLength('v', v, n);
    if (n === 0) return;
    this.beginStage();
    const ip = this.staging.inPlace(this.staging.stage(p, n, IN));
    const ig = this.staging.stage(g, n, IN);
    const im = this.staging.inPlace(this.staging.stage(m, n, IN));
    const iv = this.staging.inPlace(this.staging.stage(v, n, IN));
    const arena = this.staging.chooseArena();
    this.staging.commit(arena, 0);
    const s = this.staging.ptrs;
    const [pp, gp, mp, vp] = [s[ip]!, s[ig]!, s[im]!, s[iv]!];
    const threads = this.dispatch.threadsFor(n, PARALLEL_MIN_TRANSCENDENTAL);
    if (threads === 1) {
      arena.exports.adam_update(n, pp, gp, mp, vp, decay, l2, beta1, 1 - beta1, beta2, 1 - beta2, stepSize, bias2Sqrt, eps);
    } else {
      this.dispatch.runSplit(arena, 'adam_update', n, threads, 16, (i0, cnt) => [cnt, pp + i0 * 4, gp + i0 * 4, mp + i0 * 4, vp + i0 * 4,
        decay, l2, beta1, 1 - beta1, beta2, 1 - beta2, stepSize, bias2Sqrt, eps]);
    }
    this.staging.end(arena);
  }

  // ---------------------------------------------------------------------------------------------
  // Bandwidth probe

  /**
   * Sum of `length` floats, streamed with SIMD on all threads (the memory benchmark's kernel).
   * Takes a Float32Array (copied first if it is not in an arena) or a byte pointer into `arena`
   * (default: the primary arena).
   */
  streamSum(x: Float32Array | number, length?: number, arena?: WasmArena): number {
    let target: WasmArena;
    let ptr: number;
    let n: number;
    this.beginStage();
    if (typeof x === 'number') {
      target = arena ?? this.arenas.primary;
      ptr = x;
      n = length ?? 0;
      checkDim('length', n);
      this.staging.commit(target, this.dispatch.threads * 64);
    } else {
      n = length ?? x.length;
      checkLength('x', x, n);
      this.staging.stage(x, n, IN);
      target = this.staging.chooseArena();
      this.staging.commit(target, this.dispatch.threads * 64);
      ptr = this.staging.ptrs[0]!;
    }
    const partials = this.staging.extra;
    const threads = this.dispatch.threadsFor(n, PARALLEL_MIN_ELEMENTWISE);
    let total = 0;
    if (threads === 1) {
      target.exports.stream_sum(ptr, n, partials);
      total = target.f64(partials, 1)[0]!;
    } else {
      const bounds = splitBounds(n, threads, 64);
      const parts: number[][] = [];
      for (let t = 0; t < threads; t++) {
        const i0 = bounds[t]!;
        parts.push([ptr + i0 * 4, bounds[t + 1]! - i0, partials + t * 64]);
      }
      this.dispatch.runParts(target, 'stream_sum', parts);
      const view = target.f64(partials, threads * 8);
      for (let t = 0; t < threads; t++) total += view[t * 8]!;
    }
    this.staging.end(target);
    return total;
  }

  /** Stops owned workers and forgets the arenas (their memory is freed by the garbage collector). */
  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    if (this.ownsPool) this.pool?.dispose();
    else if (this.pool) for (const arena of this.arenas.arenas) this.pool.detach(arena.id);
    this.arenas.dispose();
  }

  // ---------------------------------------------------------------------------------------------
  // Internals

  private beginStage(): void {
    if (this.disposed) throw new Error('thrifty: WasmKernels disposed');
    this.staging.begin();
  }

  /**
   * Runs a kernel export on raw arguments (pointers into `arena`): parts[0] on the calling thread,
   * parts[i] on worker i - 1 (at most this.threads parts), then waits for all. For kernel wrappers
   * built on this module (src/backend/wasm/attention.ts, quant.ts); `fn` must be in TASK_FUNCTIONS.
   */
  runTasks(arena: WasmArena, fn: TaskFunction, parts: readonly (readonly number[])[]): void {
    if (this.disposed) throw new Error('thrifty: WasmKernels disposed');
    if (parts.length > this.dispatch.threads) throw new RangeError(`thrifty: ${parts.length} parts for ${this.dispatch.threads} threads`);
    this.dispatch.runParts(arena, fn, parts);
  }

  /**
   * Runs `threads` parts of a kernel whose threads take their tasks from a shared counter
   * (assembly/tasks.ts): part p gets args(p) and then the counter's address. `counter` is 4 bytes
   * in `arena` on a cache line of its own (every thread updates it); it is zeroed here. One part
   * gets 0 instead and runs every task in order.
   */
  runShared(arena: WasmArena, fn: TaskFunction, threads: number, counter: number, args: (part: number) => number[]): void {
    if (threads <= 1) {
      this.runTasks(arena, fn, [[...args(0), 0]]);
      return;
    }
    arena.heap()[counter >>> 2] = 0;
    this.runTasks(arena, fn, Array.from({ length: threads }, (_, p) => [...args(p), counter]));
  }


  private gemvCommon(transposed: boolean, w: Float32Array, x: Float32Array, y: Float32Array,
    rows: number, cols: number, accumulate: boolean): void {
    checkDim('rows', rows); checkDim('cols', cols);
    const xLen = transposed ? rows : cols;
    const yLen = transposed ? cols : rows;
    checkLength('w', w, rows * cols); checkLength('x', x, xLen); checkLength('y', y, yLen);
    if (yLen === 0) return;
    this.beginStage();
    this.staging.stage(w, rows * cols, IN);
    this.staging.stage(x, xLen, IN);
    this.staging.stage(y, yLen, accumulate ? INOUT : OUT);
    const arena = this.staging.chooseArena();
    const workBytes = transposed ? (this.dispatch.threads - 1) * align64(cols * 4) : 0;
    const work = this.staging.commit(arena, workBytes);
    const p = this.staging.ptrs;
    this.dispatch.gemv(arena, transposed, rows, cols, p[0]!, cols, p[1]!, p[2]!, +accumulate, work, workBytes);
    this.staging.end(arena);
  }

  private rowsSimple(fn: 'softmax_rows' | 'log_softmax_rows', x: Float32Array, out: Float32Array,
    rows: number, cols: number): void {
    checkDim('rows', rows); checkDim('cols', cols);
    const n = rows * cols;
    checkLength('x', x, n); checkLength('out', out, n);
    if (n === 0) return;
    this.beginStage();
    const ix = this.staging.stage(x, n, IN);
    const io = out === x ? this.staging.inPlace(ix) : this.staging.stage(out, n, OUT);
    const arena = this.staging.chooseArena();
    this.staging.commit(arena, 0);
    const xp = this.staging.ptrs[ix]!;
    const op = this.staging.ptrs[io]!;
    const threads = Math.min(rows, this.dispatch.threadsFor(n, PARALLEL_MIN_TRANSCENDENTAL * 4));
    if (threads <= 1) {
      arena.exports[fn](rows, cols, xp, op);
    } else {
      this.dispatch.runSplit(arena, fn, rows, threads, 1, (r0, cnt) => [cnt, cols, xp + r0 * cols * 4, op + r0 * cols * 4]);
    }
    this.staging.end(arena);
  }

  // Runs every kernel on tiny inputs on every thread (plain and arena operands, all branches), then
  // a few mid-size products: V8 first runs wasm as Liftoff code and the JS dispatch paths must not
  // meet never-taken branches in the first real call.
  private warmup(): void {
    const saved = this.dispatch.threads;
    const counts = saved > 1 ? [1, saved] : [1];
    const prevForce = this.dispatch.forceParallel;
    try {
      for (const threads of counts) {
        this.dispatch.threads = threads;
        this.dispatch.forceParallel = threads > 1;
        this.exerciseAll();
      }
      this.dispatch.forceParallel = prevForce;
      this.dispatch.threads = saved;
      const size = 96;
      const a = this.allocF32(size * size);
      const b = this.allocF32(size * size);
      const c = this.allocF32(size * size);
      for (let r = 0; r < 3; r++) {
        this.matmul(a, b, c, size, size, size, false, false);
        this.matmul(a, b, c, size, size, size, true, true, true);
        this.gemv(a, b, c, size, size);
      }
      this.freeF32(a); this.freeF32(b); this.freeF32(c);
    } finally {
      this.dispatch.threads = saved;
      this.dispatch.forceParallel = prevForce;
    }
  }

  private exerciseAll(): void {
    const n = 37;
    const plainA = new Float32Array(n * n).fill(0.5);
    const plainB = new Float32Array(n * n).fill(0.25);
    const plainC = new Float32Array(n * n);
    const stats = new Float32Array(6);
    const arenaA = this.allocF32(n * n).fill(0.5);
    const arenaC = this.allocF32(n * n);
    for (const [a, c] of [[plainA, plainC], [arenaA, arenaC]] as const) {
      for (const m of [1, 3, 9]) {
        for (const transA of [false, true]) {
          for (const transB of [false, true]) {
            this.matmul(a, plainB, c, m, n, 17, transA, transB, transA);
            this.matmul(a, plainB, c, n, 1, 17, transA, transB);
          }
        }
      }
      this.batchedMatmul(a, plainB, c, 4, 5, 6, 7, false, true, 35, 0, 30);
      this.batchedMatmul(a, plainB, c, 3, 5, 6, 7, true, false, 35, 42, 0, true);
      this.gemv(a, plainB, c, 9, 17);
      this.gemvT(a, plainB, c, 9, 17, true);
      for (const kind of Object.keys(UNARY_KINDS) as UnaryKind[]) this.unary(kind, a.subarray(0, 45), c, 0.1);
      for (const kind of UNARY_GRAD_KINDS) this.unaryGrad(kind, a.subarray(0, 45), plainB.subarray(0, 45), c, 0.1);
      for (const kind of Object.keys(BINARY_KINDS) as BinaryKind[]) {
        this.binary(kind, a, plainB, c);
        this.binary(kind, a, plainB.subarray(0, n), c);
        this.binary(kind, a, plainB.subarray(0, 1), c);
      }
      this.softmaxRows(a, c, 3, 15);
      this.logSoftmaxRows(a, c, 3, 15);
      this.layerNormRows(a, plainB.subarray(0, 15), plainB.subarray(0, 15), c, 3, 15, 1e-5,
        stats.subarray(0, 3), stats.subarray(3, 6));
      this.layerNormRows(a, null, null, c, 3, 15, 1e-5);
      this.rmsNormRows(a, plainB.subarray(0, 15), c, 3, 15, 1e-6, stats.subarray(0, 3));
      this.streamSum(a);
    }
    this.freeF32(arenaA);
    this.freeF32(arenaC);
  }
}

/** out[j] = sum over t of parts[t * cols + j], accumulated in f64. */
function sumRows(parts: Float32Array, count: number, cols: number, out: Float32Array): void {
  for (let j = 0; j < cols; j++) {
    let acc = 0;
    for (let t = 0; t < count; t++) acc += parts[t * cols + j]!;
    out[j] = acc;
  }
}
