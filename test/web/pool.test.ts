// The browser's kernel pool (src/web/wasm-pool.ts and its worker, src/web/wasm-worker.ts) run in
// Node with the few browser globals they use (Worker, crossOriginIsolated, a worker's
// addEventListener and close): tasks split across the pool give the one-thread results, including
// on an arena created after the workers started, which a worker can only learn of by leaving its
// task loop to read its messages. The real browser runs the same code in test/web/demo.test.ts.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Worker as NodeWorker } from 'node:worker_threads';

import { WasmKernels } from '../../src/backend/wasm/kernels.js';
import { Rng } from '../../src/tensor/rng.js';
import { WebThreadPool, createWebThreadPool } from '../../src/web/wasm-pool.js';

const MiB = 1 << 20;

/** The browser's Worker over a Node worker thread running the shim. */
class ShimWorker {
  private readonly thread: NodeWorker;
  constructor(url: string | URL) {
    this.thread = new NodeWorker(new URL('./fixtures/browser-worker-shim.js', import.meta.url), { workerData: { script: String(url) } });
    this.thread.unref();
  }
  postMessage(message: unknown): void {
    this.thread.postMessage(message);
  }
  addEventListener(type: string, listener: (event: { message: string }) => void): void {
    if (type === 'error') this.thread.on('error', (error: Error) => listener({ message: error.message }));
  }
  terminate(): void {
    void this.thread.terminate();
  }
}

async function withBrowserGlobals<T>(run: () => Promise<T>): Promise<T> {
  const g = globalThis as Record<string, unknown>;
  const saved = { Worker: g['Worker'], crossOriginIsolated: g['crossOriginIsolated'] };
  g['Worker'] = ShimWorker;
  g['crossOriginIsolated'] = true;
  try {
    return await run();
  } finally {
    g['Worker'] = saved.Worker;
    g['crossOriginIsolated'] = saved.crossOriginIsolated;
  }
}

const workerUrl = new URL('../../src/web/wasm-worker.js', import.meta.url);

test('the browser pool: split matmuls equal one thread\'s, also on an arena created after the workers started', async () => {
  await withBrowserGlobals(async () => {
    const pool = await createWebThreadPool({ threads: 3, workerUrl });
    assert.equal(pool.workers, 2);
    const pooled = await WasmKernels.create({
      relaxedSimd: false, pool, ownsPool: true, forceParallel: true, maxArenaBytes: 16 * MiB, reserveBytes: 4 * MiB, initialArenaBytes: MiB,
    });
    const single = await WasmKernels.create({ relaxedSimd: false, threads: 1 });
    try {
      assert.equal(pooled.threads, 3);
      const rng = new Rng(11);
      const m = 37, n = 300, k = 500;
      const a = pooled.allocF32(m * k);
      const fillers: Float32Array[] = [];
      while (pooled.arenas.arenas.length < 2) fillers.push(pooled.allocF32(MiB / 4));
      const b = pooled.allocF32(k * n);
      assert.notEqual(pooled.arenas.find(a), pooled.arenas.find(b), 'a and b live in different arenas');
      for (const view of [a, b]) for (let i = 0; i < view.length; i++) view[i] = rng.normal();
      const expected = new Float32Array(m * n);
      single.matmul(a.slice(), b.slice(), expected, m, n, k, false, false);
      for (const out of [new Float32Array(m * n), pooled.allocF32(m * n)]) {
        pooled.matmul(a, b, out, m, n, k, false, false);
        let worst = 0;
        for (let i = 0; i < out.length; i++) worst = Math.max(worst, Math.abs(out[i]! - expected[i]!) / (1 + Math.abs(expected[i]!)));
        assert.ok(worst < 1e-5, `pooled matmul differs from one thread's by ${worst}`);
      }
      for (const f of fillers) pooled.freeF32(f);
    } finally {
      pooled.dispose();
      single.dispose();
    }
  });
});

test('the browser pool refuses a page that is not cross-origin isolated, naming the headers', () => {
  assert.throws(() => new WebThreadPool({ threads: 2, workerUrl }), /cross-origin-isolated page \(COOP: same-origin, COEP: require-corp\)/);
});
