// Node implementation of the wasm thread pool (worker_threads), plus the Node-only helpers:
// enabling relaxed SIMD on Node 20 and creating kernels with a pool in one call.

import { availableParallelism } from 'node:os';
import { setFlagsFromString } from 'node:v8';
import { MessageChannel, Worker, type MessagePort } from 'node:worker_threads';
import { relaxedSimdSupported } from '../backend/wasm/abi.js';
import { WasmKernels, type WasmKernelsOptions } from '../backend/wasm/kernels.js';
import { WorkerPool, type AttachMessage, type DetachMessage } from '../backend/wasm/pool.js';
import type { WasmWorkerData } from './wasm-worker.js';

export interface NodeThreadPoolOptions {
  /** Total threads including the caller. Default os.availableParallelism(). */
  threads?: number;
}

export class NodeThreadPool extends WorkerPool {
  private readonly threads: Worker[] = [];
  private readonly ports: MessagePort[] = [];

  /** Starts the workers without waiting for them; tasks posted meanwhile run once they are up. */
  constructor(options: NodeThreadPoolOptions = {}) {
    const threads = Math.max(1, Math.floor(options.threads ?? availableParallelism()));
    super(threads - 1, true, 2);
    const url = new URL('./wasm-worker.js', import.meta.url);
    for (let i = 0; i < this.workers; i++) {
      const { port1, port2 } = new MessageChannel();
      const data: WasmWorkerData = { control: this.control.buffer, index: i, port: port2 };
      // execArgv: [] because the caller's flags may not suit a worker (--input-type, -e); V8 flags
      // such as --experimental-wasm-relaxed-simd are process-wide and apply to workers anyway.
      const worker = new Worker(url, { workerData: data, transferList: [port2], execArgv: [] });
      // Idle workers sleep in Atomics.wait; they must not keep the process alive.
      worker.unref();
      port1.unref();
      worker.on('error', (err: Error) => {
        process.emitWarning(`thrifty wasm worker ${i} died: ${err.message}`);
      });
      this.threads.push(worker);
      this.ports.push(port1);
    }
  }

  protected broadcast(message: AttachMessage | DetachMessage): void {
    for (const port of this.ports) port.postMessage(message);
  }

  protected stopWorkers(): void {
    for (const worker of this.threads) void worker.terminate();
    for (const port of this.ports) port.close();
  }
}

/** Creates a pool and waits until its workers are running. */
export async function createNodeThreadPool(options: NodeThreadPoolOptions = {}): Promise<NodeThreadPool> {
  const pool = new NodeThreadPool(options);
  await pool.ready();
  return pool;
}

/**
 * Turns on relaxed SIMD in V8 11.3 (Node 20), where it is behind --experimental-wasm-relaxed-simd.
 * Must run before any kernel module is compiled; workers inherit the flag. Returns whether the
 * relaxed build validates afterwards (always true on Node >= 22, where the feature ships).
 */
export function enableRelaxedSimd(): boolean {
  if (relaxedSimdSupported()) return true;
  setFlagsFromString('--experimental-wasm-relaxed-simd');
  return relaxedSimdSupported();
}

export interface NodeWasmKernelsOptions extends Omit<WasmKernelsOptions, 'pool' | 'ownsPool'> {
  /** Total threads including the caller. Default os.availableParallelism(). */
  threads?: number;
  /** Also turn on the V8 flag for relaxed SIMD when relaxedSimd is true or 'auto'. Default true. */
  enableRelaxedFlag?: boolean;
}

/** WasmKernels with a worker pool it owns (disposed with it). */
export async function createNodeWasmKernels(options: NodeWasmKernelsOptions = {}): Promise<WasmKernels> {
  const relaxed = options.relaxedSimd ?? 'auto';
  if (relaxed !== false && options.enableRelaxedFlag !== false) enableRelaxedSimd();
  const threads = Math.max(1, Math.floor(options.threads ?? availableParallelism()));
  const pool = threads > 1 ? await createNodeThreadPool({ threads }) : undefined;
  return WasmKernels.create({ ...options, relaxedSimd: relaxed, threads, ...(pool ? { pool, ownsPool: true } : { ownsPool: false }) });
}
