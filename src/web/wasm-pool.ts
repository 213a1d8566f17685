// Browser implementation of the wasm thread pool (Web Workers), the twin of src/node/wasm-pool.ts:
// the dispatch protocol is the shared one in src/backend/wasm/pool.ts (a SharedArrayBuffer control
// block and Atomics). What differs is delivering arenas: a browser worker cannot read its messages
// synchronously, so it leaves its task loop to read them (see WorkerHooks.readMail). A per-worker
// count of messages announced before they are posted tells it when it has read them all.

import { WasmKernels, type WasmKernelsOptions } from '../backend/wasm/kernels.js';
import { WorkerPool, type AttachMessage, type DetachMessage } from '../backend/wasm/pool.js';

/** The first message a kernel worker receives. */
export interface WebWorkerInit {
  readonly control: SharedArrayBuffer;
  /** Int32 per worker: messages announced to it (incremented before each post). */
  readonly announced: SharedArrayBuffer;
  readonly index: number;
}

/** Whether this thread may block in Atomics.wait (workers: yes; a page's main thread: no). */
export function canBlock(): boolean {
  try {
    Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 1, 0);
    return true;
  } catch {
    return false;
  }
}

/** Whether this page can share memory with workers (cross-origin isolated: COOP + COEP headers). */
export function sharedMemoryWithWorkers(): boolean {
  return (globalThis as { crossOriginIsolated?: boolean }).crossOriginIsolated === true && typeof SharedArrayBuffer === 'function';
}

export interface WebThreadPoolOptions {
  /** Total threads including the caller (default navigator.hardwareConcurrency). */
  readonly threads?: number | undefined;
  /** The kernel worker's script (default: wasm-worker.js beside this module, as built into dist/web). */
  readonly workerUrl?: string | URL | undefined;
}

export class WebThreadPool extends WorkerPool {
  private readonly announced: Int32Array;
  private readonly threads: Worker[] = [];
  private failure: string | null = null;

  constructor(options: WebThreadPoolOptions = {}) {
    if (!sharedMemoryWithWorkers()) throw new Error('thrifty: a worker pool needs a cross-origin-isolated page (COOP: same-origin, COEP: require-corp)');
    const threads = Math.max(1, Math.floor(options.threads ?? navigator.hardwareConcurrency ?? 1));
    // Workers start once this thread yields, so ready() polls less often than Node's.
    super(threads - 1, canBlock(), 5);
    const announced = new SharedArrayBuffer(4 * Math.max(1, this.workers));
    this.announced = new Int32Array(announced);
    const url = options.workerUrl ?? new URL('./wasm-worker.js', import.meta.url);
    for (let i = 0; i < this.workers; i++) {
      const worker = new Worker(url, { type: 'module', name: `thrifty-wasm-${i}` });
      worker.addEventListener('error', (event) => {
        this.failure ??= `thrifty wasm worker ${i} failed to start: ${event.message || 'error loading its script'}`;
      });
      const init: WebWorkerInit = { control: this.control.buffer, announced, index: i };
      worker.postMessage(init);
      this.threads.push(worker);
    }
  }

  protected override startFailure(): string | null {
    return this.failure;
  }

  protected broadcast(message: AttachMessage | DetachMessage): void {
    for (let w = 0; w < this.workers; w++) {
      // Announced before it is posted, so a worker never counts a message it has not been told of.
      Atomics.add(this.announced, w, 1);
      this.threads[w]!.postMessage(message);
    }
  }

  protected stopWorkers(): void {
    for (const worker of this.threads) worker.terminate();
  }
}

/** Creates a pool and waits until its workers are running. */
export async function createWebThreadPool(options: WebThreadPoolOptions = {}): Promise<WebThreadPool> {
  const pool = new WebThreadPool(options);
  try {
    await pool.ready();
  } catch (error) {
    pool.dispose();
    throw error;
  }
  return pool;
}

export interface WebWasmKernelsOptions extends Omit<WasmKernelsOptions, 'pool' | 'ownsPool' | 'threads'>, WebThreadPoolOptions {}

/**
 * WasmKernels with a Web Worker pool it owns, or on this thread alone where the page is not
 * cross-origin isolated (or one thread is asked for); `pooled` says which.
 */
export async function createWebWasmKernels(options: WebWasmKernelsOptions = {}): Promise<{ wasm: WasmKernels; pooled: boolean }> {
  const threads = Math.max(1, Math.floor(options.threads ?? navigator.hardwareConcurrency ?? 1));
  const pool = threads > 1 && sharedMemoryWithWorkers() ? await createWebThreadPool({ ...options, threads }) : undefined;
  const wasm = await WasmKernels.create({ ...options, threads: pool ? threads : 1, ...(pool ? { pool } : {}), ownsPool: pool !== undefined });
  return { wasm, pooled: pool !== undefined };
}
