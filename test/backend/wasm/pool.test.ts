// Worker pool: dispatch, failure reporting, arena attachment, process lifetime; relaxed-SIMD
// detection with and without the V8 flag (in child processes, since the flag is process-wide).

import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { TASK_ID, compileKernelsSync } from '../../../src/backend/wasm/abi.js';
import { WasmArena } from '../../../src/backend/wasm/arena.js';
import { createNodeThreadPool } from '../../../src/node/wasm-pool.js';

const poolModule = fileURLToPath(new URL('../../../src/node/wasm-pool.js', import.meta.url));
const kernelsModule = fileURLToPath(new URL('../../../src/backend/wasm/kernels.js', import.meta.url));

function runChild(args: string[], source: string): string {
  return execFileSync(process.execPath, [...args, '--input-type=module', '-e', source], {
    encoding: 'utf8', timeout: 20000,
  }).trim();
}

describe('NodeThreadPool', () => {
  test('runs tasks on a worker, reports a trapping kernel, and keeps working', async () => {
    const pool = await createNodeThreadPool({ threads: 2 });
    try {
      assert.equal(pool.workers, 1);
      const arena = new WasmArena({ module: compileKernelsSync('simd'), initialBytes: 1 << 20 });
      pool.attach(arena.id, arena.memory, arena.module);
      const n = 1000;
      const x = arena.alloc(n * 4);
      const y = arena.alloc(n * 4);
      arena.f32(x, n).fill(2);
      pool.post(0, TASK_ID.unary, arena.id, [0, n, x, y, 0]);
      pool.wait();
      assert.ok(Math.abs(arena.f32(y, n)[n - 1]! - Math.exp(2)) < 1e-5);
      // Out-of-bounds pointer: the wasm trap must come back as an exception, not a hang.
      pool.post(0, TASK_ID.unary, arena.id, [0, n, 0x7ff00000, y, 0]);
      assert.throws(() => pool.wait(), /wasm worker 0 failed: .*(out of bounds|memory access)/);
      pool.post(0, TASK_ID.unary, arena.id, [13, n, x, y, 0]);
      pool.wait();
      assert.equal(arena.f32(y, n)[0], -2);
      // An arena created after the worker started is picked up on first use.
      const later = new WasmArena({ module: compileKernelsSync('simd'), initialBytes: 1 << 20 });
      pool.attach(later.id, later.memory, later.module);
      const p = later.alloc(64);
      later.f32(p, 4).set([1, 2, 3, 4]);
      pool.post(0, TASK_ID.unary, later.id, [16, 4, p, p, 0]);
      pool.wait();
      assert.deepEqual(Array.from(later.f32(p, 4)), [1, 4, 9, 16]);
      // After detach the worker drops its instance; naming the arena again is an error.
      pool.detach(later.id);
      pool.post(0, TASK_ID.unary, later.id, [16, 4, p, p, 0]);
      assert.throws(() => pool.wait(), /never attached/);
      assert.throws(() => pool.post(1, 0, arena.id, []), RangeError);
    } finally {
      pool.dispose();
    }
  });

  test('reclaim: every posted task runs exactly once, on the worker or taken back by the caller', async () => {
    const pool = await createNodeThreadPool({ threads: 2 });
    try {
      const arena = new WasmArena({ module: compileKernelsSync('simd'), initialBytes: 1 << 20 });
      pool.attach(arena.id, arena.memory, arena.module);
      const n = 4096;
      const p = arena.alloc(n * 4);
      const values = arena.f32(p, n);
      values.fill(0);
      // In place y = y + 1: a task run twice (or not at all) shows in the count.
      const args = [0, n, p, 1, p];
      let reclaimed = 0;
      const rounds = 400;
      for (let r = 0; r < rounds; r++) {
        pool.post(0, TASK_ID.binary_scalar, arena.id, args);
        const until = performance.now() + (r % 4) * 0.02;
        while (performance.now() < until);
        if (pool.reclaim(0)) {
          reclaimed++;
          arena.exports.binary_scalar(0, n, p, 1, p);
          assert.equal(pool.reclaim(0), false, 'a task is reclaimed once');
        }
        pool.wait();
        // After wait the slot is free again (post would throw on a busy worker).
        if (r % 100 === 0) await new Promise((resolve) => setTimeout(resolve, 2));
      }
      assert.equal(values[0], rounds);
      assert.equal(values[n - 1], rounds);
      assert.ok(reclaimed <= rounds);
    } finally {
      pool.dispose();
    }
  });

  test('idle workers do not keep the process alive', () => {
    const out = runChild([], `
      import { createNodeWasmKernels } from ${JSON.stringify(poolModule)};
      const k = await createNodeWasmKernels({ threads: 2 });
      const a = new Float32Array(1 << 16).fill(1);
      k.unary('exp', a, a);
      console.log(k.threads, a[0].toFixed(4));`);
    assert.equal(out, '2 2.7183');
  });
});

describe('relaxed SIMD detection', () => {
  test('enableRelaxedSimd (v8.setFlagsFromString at startup) turns it on; auto falls back without it', () => {
    const withFlag = runChild([], `
      import { enableRelaxedSimd } from ${JSON.stringify(poolModule)};
      import { WasmKernels } from ${JSON.stringify(kernelsModule)};
      const ok = enableRelaxedSimd();
      const k = await WasmKernels.create({ relaxedSimd: 'auto', warmup: false });
      console.log(ok, k.simd, k.arenas.primary.exports.relaxed_simd());`);
    assert.equal(withFlag, 'true relaxed 1');
    const without = runChild([], `
      import { WasmKernels } from ${JSON.stringify(kernelsModule)};
      const k = await WasmKernels.create({ relaxedSimd: 'auto', warmup: false });
      let required = 'ok';
      try { await WasmKernels.create({ relaxedSimd: true }); } catch { required = 'throws'; }
      console.log(WebAssembly.validate(new Uint8Array(0)), k.simd, required);`);
    // Node 20 (V8 11.3) ships relaxed SIMD behind a flag; Node >= 22 has it on.
    const major = Number(process.versions.node.split('.')[0]);
    assert.equal(without, major >= 22 ? 'false relaxed ok' : 'false simd throws');
    const cliFlag = runChild(['--experimental-wasm-relaxed-simd'], `
      import { WasmKernels } from ${JSON.stringify(kernelsModule)};
      console.log((await WasmKernels.create({ warmup: false })).simd);`);
    assert.equal(cliFlag, 'relaxed');
  });
});
