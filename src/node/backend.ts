// Starts the wasm backend for Node: kernels in shared wasm memory, a worker pool over the cores,
// relaxed SIMD (FMA) when V8 allows it, and makes it the active backend.

import { useBackend } from '../backend/backend.js';
import { createWasmBackend } from '../backend/wasm/backend.js';
import type { WasmKernels } from '../backend/wasm/kernels.js';
import type { Backend } from '../ops/kernels.js';
import { createNodeWasmKernels } from './wasm-pool.js';

export interface NodeBackendOptions {
  /** Threads including the caller (default: all cores). */
  threads?: number | undefined;
  /** 'auto' (default) uses relaxed SIMD when available; false forces plain SIMD. */
  relaxedSimd?: boolean | 'auto';
}

export interface NodeBackend {
  readonly backend: Backend;
  readonly wasm: WasmKernels;
  /** e.g. "wasm relaxed-SIMD, 2 threads". */
  readonly description: string;
  /** Stops the workers and restores the previous backend. */
  dispose(): void;
}

export async function initNodeBackend(options: NodeBackendOptions = {}): Promise<NodeBackend> {
  const wasm = await createNodeWasmKernels({ ...(options.threads !== undefined ? { threads: options.threads } : {}), relaxedSimd: options.relaxedSimd ?? 'auto' });
  const backend = createWasmBackend(wasm);
  const previous = useBackend(backend);
  return {
    backend,
    wasm,
    description: `wasm ${wasm.simd === 'relaxed' ? 'relaxed-SIMD (FMA)' : 'SIMD'}, ${wasm.threads} thread${wasm.threads === 1 ? '' : 's'}`,
    dispose: () => {
      useBackend(previous);
      wasm.dispose();
    },
  };
}
