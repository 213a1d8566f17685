// Dispatch: splitting a kernel call over threads. With a ThreadPool, large calls are split over rows
// (or columns) and the caller runs one share itself. Small calls stay on the caller: the thresholds
// below keep each thread's share well above the ~1.4 us round trip of the spinning dispatch.
// Everything here works on pointers into one arena (see staging.ts for how operands get there).

import { BINARY_KINDS, TASK_ID, smallPath, type TaskFunction } from './abi.js';
import type { WasmArena } from './arena.js';
import type { ThreadPool } from './pool.js';
import { align64 } from './staging.js';

/** Minimum flops (2mnk) before a matmul is split over threads (~10 us of work on one core). */
export const PARALLEL_MIN_FLOPS = 1 << 18;
/** Minimum matrix elements before gemv / gemvT are split over threads. */
export const PARALLEL_MIN_GEMV = 1 << 15;
/** Minimum elements before elementwise / row-wise kernels are split over threads. */
export const PARALLEL_MIN_ELEMENTWISE = 1 << 15;
/** Same for transcendental unary kernels (about 10x the work per element). */
export const PARALLEL_MIN_TRANSCENDENTAL = 1 << 12;

type Call = (...args: number[]) => void;

/** Boundaries of `parts` nearly equal chunks of [0, total), inner boundaries multiples of align. */
export function splitBounds(total: number, parts: number, align: number): number[] {
  const bounds = [0];
  for (let p = 1; p < parts; p++) {
    const b = Math.min(total, Math.round((total * p) / parts / align) * align);
    bounds.push(Math.max(b, bounds[bounds.length - 1]!));
  }
  bounds.push(total);
  return bounds;
}

export class Dispatch {
  /** Threads in use, including the caller. */
  threads: number;
  /** Split every call over all threads regardless of size (tests use it to cover the splits). */
  forceParallel: boolean;

  constructor(readonly pool: ThreadPool | undefined, threads: number, forceParallel: boolean) {
    this.threads = threads;
    this.forceParallel = forceParallel;
  }

  threadsFor(work: number, min: number): number {
    if (this.threads === 1) return 1;
    if (this.forceParallel) return this.threads;
    return work >= min ? this.threads : 1;
  }

  /** Runs parts[0] on the caller and the others on workers 0.., then waits for all. */
  runParts(arena: WasmArena, fn: TaskFunction, parts: readonly (readonly number[])[]): void {
    const call = arena.exports[fn] as Call;
    if (parts.length === 0) return;
    if (parts.length === 1 || !this.pool) {
      for (const args of parts) call(...args);
      return;
    }
    const pool = this.pool;
    const id = TASK_ID[fn];
    for (let w = 1; w < parts.length; w++) pool.post(w - 1, id, arena.id, parts[w]!);
    let failure: unknown;
    try {
      call(...parts[0]!);
      // Parts whose worker has not started yet (asleep, or descheduled by other processes) run
      // here instead of being waited for.
      for (let w = parts.length - 1; w >= 1; w--) if (pool.reclaim(w - 1)) call(...parts[w]!);
    } catch (err) {
      failure = err;
    }
    pool.wait();
    if (failure !== undefined) throw failure;
  }

  /** Splits [0, total) into `threads` chunks (inner bounds multiples of align) and runs `fn` on each. */
  runSplit(arena: WasmArena, fn: TaskFunction, total: number, threads: number, align: number,
    args: (start: number, count: number) => number[]): void {
    const bounds = splitBounds(total, threads, align);
    const parts: number[][] = [];
    for (let t = 0; t < threads; t++) {
      const start = bounds[t]!;
      const count = bounds[t + 1]! - start;
      if (count > 0) parts.push(args(start, count));
    }
    this.runParts(arena, fn, parts);
  }

  /**
   * C (+)= op(A) . op(B) on pointers of one arena. m == 1 and n == 1 become gemv / gemvT, small m
   * (no transA) uses the unpacked paths, everything else the packed kernel. `work` holds
   * this.threads gemm workspaces when the packed path can be taken.
   */
  gemm(
    arena: WasmArena, m: number, n: number, k: number,
    a: number, lda: number, transA: boolean, b: number, ldb: number, transB: boolean,
    c: number, ldc: number, accumulate: boolean, work: number,
  ): void {
    const acc = +accumulate;
    const workBytes = this.threads * arena.gemmWorkBytes;
    if (m === 1 && (!transA || lda === 1)) {
      if (transB) this.gemv(arena, false, n, k, b, ldb, a, c, acc, work, workBytes);
      else this.gemv(arena, true, k, n, b, ldb, a, c, acc, work, workBytes);
      return;
    }
    if (n === 1 && ldc === 1 && (transB || ldb === 1)) {
      if (!transA) this.gemv(arena, false, m, k, a, lda, b, c, acc, work, workBytes);
      else this.gemv(arena, true, k, m, a, lda, b, c, acc, work, workBytes);
      return;
    }
    const threads = 2 * m * n * k >= PARALLEL_MIN_FLOPS || this.forceParallel ? this.threads : 1;
    if (smallPath(m, transA, transB)) {
      const fn: TaskFunction = transB ? 'gemm_nt_small' : 'gemm_nn_small';
      const nt = Math.min(threads, Math.ceil(n / 8));
      if (nt <= 1) {
        (arena.exports[fn] as Call)(m, n, k, a, lda, b, ldb, c, ldc, acc);
        return;
      }
      const bounds = splitBounds(n, nt, 8);
      const parts: number[][] = [];
      for (let t = 0; t < nt; t++) {
        const j0 = bounds[t]!;
        const cnt = bounds[t + 1]! - j0;
        if (cnt > 0) parts.push([m, cnt, k, a, lda, transB ? b + j0 * ldb * 4 : b + j0 * 4, ldb, c + j0 * 4, ldc, acc]);
      }
      this.runParts(arena, fn, parts);
      return;
    }
    const ta = +transA;
    const tb = +transB;
    const wb = arena.gemmWorkBytes;
    if (threads > 1 && m >= 8 * threads) {
      const bounds = splitBounds(m, threads, 4);
      const parts: number[][] = [];
      for (let t = 0; t < threads; t++) {
        const i0 = bounds[t]!;
        const cnt = bounds[t + 1]! - i0;
        if (cnt > 0) {
          parts.push([cnt, n, k, transA ? a + i0 * 4 : a + i0 * lda * 4, lda, ta, b, ldb, tb,
            c + i0 * ldc * 4, ldc, acc, work + parts.length * wb]);
        }
      }
      this.runParts(arena, 'gemm', parts);
    } else if (threads > 1 && n >= 16 * threads) {
      const bounds = splitBounds(n, threads, 8);
      const parts: number[][] = [];
      for (let t = 0; t < threads; t++) {
        const j0 = bounds[t]!;
        const cnt = bounds[t + 1]! - j0;
        if (cnt > 0) {
          parts.push([m, cnt, k, a, lda, ta, transB ? b + j0 * ldb * 4 : b + j0 * 4, ldb, tb,
            c + j0 * 4, ldc, acc, work + parts.length * wb]);
        }
      }
      this.runParts(arena, 'gemm', parts);
    } else {
      arena.exports.gemm(m, n, k, a, lda, ta, b, ldb, tb, c, ldc, acc, work);
    }
  }

  /**
   * gemv splits rows (outputs) over threads. gemvT splits rows too, so that every thread streams
   * one contiguous block of W (splitting columns made each thread read half of every row, 27 vs
   * 40 GB/s on 2 threads): thread 0 writes y, the others write partial sums into `work`
   * (workBytes available), which the caller adds up; without room it falls back to columns.
   */
  gemv(arena: WasmArena, transposed: boolean, rows: number, cols: number,
    w: number, ldw: number, x: number, y: number, acc: number, work: number, workBytes: number): void {
    const fn: TaskFunction = transposed ? 'gemv_t' : 'gemv';
    let threads = this.threadsFor(rows * cols, PARALLEL_MIN_GEMV);
    if (transposed) {
      threads = Math.min(threads, Math.ceil(rows / 4));
      if (threads > 1 && (threads - 1) * align64(cols * 4) <= workBytes) {
        const bounds = splitBounds(rows, threads, 4);
        const parts: number[][] = [];
        const partials: number[] = [];
        for (let t = 0; t < threads; t++) {
          const r0 = bounds[t]!;
          const cnt = bounds[t + 1]! - r0;
          if (cnt <= 0) continue;
          const dst = parts.length === 0 ? y : work + (parts.length - 1) * align64(cols * 4);
          if (parts.length > 0) partials.push(dst);
          parts.push([cnt, cols, w + r0 * ldw * 4, ldw, x + r0 * 4, dst, parts.length === 0 ? acc : 0]);
        }
        this.runParts(arena, fn, parts);
        for (const p of partials) arena.exports.binary(BINARY_KINDS.add, cols, y, p, y);
        return;
      }
    } else {
      threads = Math.min(threads, Math.ceil(rows / 4));
    }
    if (threads <= 1) {
      (arena.exports[fn] as Call)(rows, cols, w, ldw, x, y, acc);
      return;
    }
    const outLen = transposed ? cols : rows;
    const bounds = splitBounds(outLen, threads, transposed ? 16 : 4);
    const parts: number[][] = [];
    for (let t = 0; t < threads; t++) {
      const o0 = bounds[t]!;
      const cnt = bounds[t + 1]! - o0;
      if (cnt <= 0) continue;
      if (transposed) parts.push([rows, cnt, w + o0 * 4, ldw, x, y + o0 * 4, acc]);
      else parts.push([cnt, cols, w + o0 * ldw * 4, ldw, x, y + o0 * 4, acc]);
    }
    this.runParts(arena, fn, parts);
  }
}
