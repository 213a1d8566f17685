// The browser's engine for a LanguageModel: the wasm SIMD kernels with a Web Worker pool on a
// cross-origin-isolated page, else on one thread (saying why), else the reference kernels.

import { defaultEngine, describeWasmKernels, type LanguageModelEngine } from '../generate/language-model.js';
import { createWebWasmKernels, sharedMemoryWithWorkers, type WebThreadPoolOptions } from './wasm-pool.js';

export interface WebEngine extends LanguageModelEngine {
  /** Whether kernels are split across a worker pool. */
  readonly pooled: boolean;
  /** Why there is no pool, or '' (e.g. the page is not cross-origin isolated). */
  readonly note: string;
}

/** Threads: default navigator.hardwareConcurrency; the pool needs COOP: same-origin and COEP: require-corp. */
export async function createWebEngine(options: WebThreadPoolOptions = {}): Promise<WebEngine> {
  const threads = Math.max(1, Math.floor(options.threads ?? navigator.hardwareConcurrency ?? 1));
  const isolated = sharedMemoryWithWorkers();
  try {
    const { wasm, pooled } = await createWebWasmKernels({ ...options, threads });
    const note = pooled || threads === 1 ? ''
      : isolated ? 'one thread' : 'one thread: this page is not cross-origin isolated (it needs the headers COOP: same-origin and COEP: require-corp), so no worker pool';
    return { wasm, pooled, note, description: describeWasmKernels(wasm), dispose: () => wasm.dispose() };
  } catch (error) {
    const fallback = await defaultEngine();
    const reason = error instanceof Error ? error.message : String(error);
    return { ...fallback, pooled: false, note: `no worker pool (${reason})` };
  }
}
