// The backends every conformance row and every model golden test runs on: the reference (the
// oracle), the primitives-only backend (reference primitives, every fused kernel composed from them),
// and the wasm backend in plain SIMD and relaxed SIMD, on 1 and 2 threads (2-thread variants split
// every call, however small), routing every call to wasm however small (so special values, size-1
// and empty inputs reach the wasm kernels), plus one with the default routing thresholds.

import { referenceBackend } from '../../src/backend/reference/index.js';
import { createWasmBackend } from '../../src/backend/wasm/backend.js';
import { WasmKernels } from '../../src/backend/wasm/kernels.js';
import type { Backend } from '../../src/ops/kernels.js';
import { createNodeThreadPool, enableRelaxedSimd, type NodeThreadPool } from '../../src/node/wasm-pool.js';
import { primitivesOnlyBackend } from './primitives-only.js';

export interface TestBackend {
  readonly name: string;
  readonly backend: Backend;
  /** The wasm kernels behind a wasm backend (rows of kernels outside the table, e.g. attention, use them). */
  readonly wasm: WasmKernels | null;
}

export interface TestBackends {
  readonly all: readonly TestBackend[];
  dispose(): void;
}

/**
 * Creates every backend variant. Must be called before any other wasm module is compiled in the
 * process (Node 20 keeps relaxed SIMD behind a V8 flag, which enableRelaxedSimd sets).
 */
export async function createTestBackends(): Promise<TestBackends> {
  const relaxed = enableRelaxedSimd();
  if (!relaxed) throw new Error('conformance: relaxed SIMD is not available on this Node');
  const pool: NodeThreadPool = await createNodeThreadPool({ threads: 2 });
  const all: TestBackend[] = [
    { name: 'reference', backend: referenceBackend, wasm: null },
    { name: 'primitives-only', backend: primitivesOnlyBackend(), wasm: null },
  ];
  const kernels: WasmKernels[] = [];
  for (const flavor of ['simd', 'relaxed'] as const) {
    for (const threads of [1, 2]) {
      const k = await WasmKernels.create({ relaxedSimd: flavor === 'relaxed', pool, threads, forceParallel: threads > 1, initialArenaBytes: 1 << 22 });
      kernels.push(k);
      all.push({ name: `wasm ${flavor} ${threads}T`, backend: createWasmBackend(k, { routeAll: true, blockSparse: { forceParallel: threads > 1 } }), wasm: k });
      if (flavor === 'relaxed' && threads === 2) all.push({ name: `wasm ${flavor} ${threads}T default routing`, backend: createWasmBackend(k), wasm: k });
    }
  }
  return {
    all,
    dispose: () => {
      for (const k of kernels) k.dispose();
      pool.dispose();
    },
  };
}
