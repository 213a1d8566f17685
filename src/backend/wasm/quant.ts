// WasmQuant: products with GGUF-format weights (assembly/quant.ts) on raw arrays. The weight's
// bytes are used in place when they live in an arena (allocBytes puts them there; that arena runs
// the call); x and y are staged through its scratch. Q8_0 / Q4_0 first quantise x per block
// (q_quantize_act, split over tokens when there are many) into scratch. With several threads, the
// rows are cut into chunks (multiples of 4, about CHUNKS_PER_THREAD per thread) that the threads
// take from a shared counter: a thread that starts late or is descheduled takes fewer, where an
// even split made the caller wait ~1.4 ms per decode step for the worker's half.

import { checkQuantizedMatrix, type QuantFormat, type QuantizedMatrix, type QuantKernels } from '../../ops/quant-kernels.js';
import type { WasmArena } from './arena.js';
import { splitBounds } from './dispatch.js';
import { PARALLEL_MIN_GEMV, type WasmKernels } from './kernels.js';

/** Format codes of assembly/quant.ts (QF_*). */
const FORMAT_CODE: Readonly<Record<QuantFormat, number>> = { Q8_0: 0, Q4_0: 1, F16: 2, BF16: 3 };

const align64 = (bytes: number): number => Math.ceil(bytes / 64) * 64;

/** Chunks per thread when rows are shared through the counter: enough to even out a late thread. */
const CHUNKS_PER_THREAD = 4;

/** Rows per chunk: a multiple of 4 (the prefill tile), at least 16 (a claim costs a shared-line round trip). */
export function quantChunkRows(rows: number, threads: number): number {
  return Math.max(16, Math.ceil(rows / (threads * CHUNKS_PER_THREAD) / 4) * 4);
}

export interface WasmQuantOptions {
  /** Split every call over all threads regardless of size (tests use it to cover the splits). */
  readonly forceParallel?: boolean;
}

export class WasmQuant implements QuantKernels {
  readonly kernels: WasmKernels;
  /** Calls that ran the wasm kernels (tests check that the fast path ran). */
  calls = 0;
  private readonly forceParallel: boolean;

  constructor(kernels: WasmKernels, options: WasmQuantOptions = {}) {
    this.kernels = kernels;
    this.forceParallel = options.forceParallel ?? false;
  }

  /** `length` zeroed bytes in an arena (the weight's home: kernels read it in place). */
  allocBytes(length: number): Uint8Array {
    const floats = this.kernels.allocF32(Math.ceil(length / 4));
    return new Uint8Array(floats.buffer, floats.byteOffset, length);
  }

  /** y[n, rows] = x[n, cols] Wᵀ. */
  matmul(x: Float32Array, n: number, w: QuantizedMatrix, y: Float32Array): void {
    const where = 'WasmQuant.matmul';
    const rowBytes = checkQuantizedMatrix(w, where);
    const { rows, cols } = w;
    if (x.length < n * cols) throw new RangeError(`${where}: x has ${x.length} elements, needs ${n * cols}`);
    if (y.length < n * rows) throw new RangeError(`${where}: y has ${y.length} elements, needs ${n * rows}`);
    if (n === 0 || rows === 0) return;
    if (cols === 0) {
      y.fill(0, 0, n * rows);
      return;
    }
    const arenas = this.kernels.arenas;
    const arena: WasmArena = arenas.find(w.bytes) ?? arenas.primary;
    const wResident = arenas.find(w.bytes) === arena;
    const xResident = arenas.find(x) === arena;
    const yResident = arenas.find(y) === arena;
    const threads = this.threadsFor(rows, cols, n);
    const blocked = w.format === 'Q8_0' || w.format === 'Q4_0';
    const workBytes = blocked ? 0 : align64(16 * cols);
    let bytes = 0;
    const take = (b: number): number => {
      const at = bytes;
      bytes += align64(b);
      return at;
    };
    // The row counter has a cache line of its own (every thread updates it).
    const oCounter = take(64);
    const oW = wResident ? 0 : take(w.rows * rowBytes);
    const oX = xResident ? 0 : take(4 * n * cols);
    const oY = yResident ? 0 : take(4 * n * rows);
    const oWork = take(workBytes * threads);
    const oAct = blocked ? take(arena.exports.q_act_bytes(n, cols)) : 0;
    const base = arena.scratch(bytes);
    const heap = arena.heap();
    const wPtr = wResident ? w.bytes.byteOffset : base + oW;
    if (!wResident) new Uint8Array(heap.buffer, wPtr, w.rows * rowBytes).set(w.bytes.subarray(0, w.rows * rowBytes));
    const xPtr = xResident ? x.byteOffset : base + oX;
    if (!xResident) heap.set(x.subarray(0, n * cols), xPtr >>> 2);
    const yPtr = yResident ? y.byteOffset : base + oY;
    const chunk = quantChunkRows(rows, threads);
    const format = FORMAT_CODE[w.format];
    const counter = base + oCounter;
    if (blocked) {
      const act = base + oAct;
      const tokenThreads = Math.min(threads, n);
      const tokens = splitBounds(n, tokenThreads, 1);
      const quantParts: number[][] = [];
      for (let p = 0; p < tokenThreads; p++) {
        if (tokens[p + 1]! > tokens[p]!) quantParts.push([tokens[p]!, tokens[p + 1]! - tokens[p]!, n, cols, xPtr, act]);
      }
      this.kernels.runTasks(arena, 'q_quantize_act', quantParts);
      this.kernels.runShared(arena, 'q_matmul_q', threads, counter, () => [rows, n, cols, format, wPtr, rowBytes, act, yPtr, rows, chunk]);
    } else {
      this.kernels.runShared(arena, 'q_matmul', threads, counter,
        (p) => [rows, n, cols, format, wPtr, rowBytes, xPtr, yPtr, rows, base + oWork + p * workBytes, chunk]);
    }
    if (!yResident) y.set(arena.heap().subarray(yPtr >>> 2, (yPtr >>> 2) + n * rows));
    this.calls++;
  }

  private threadsFor(rows: number, cols: number, n: number): number {
    const threads = this.kernels.threads;
    if (threads <= 1 || rows < 8) return 1;
    return this.forceParallel || rows * cols * Math.max(1, n) >= PARALLEL_MIN_GEMV ? threads : 1;
  }
}
