// Arena allocator (alignment, reuse, coalescing, growth, limits) and arena sets spanning several
// memories, including kernel calls whose operands sit in different arenas.

import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { compileKernelsSync } from '../../../src/backend/wasm/abi.js';
import { ARENA_ALIGN, WasmArena } from '../../../src/backend/wasm/arena.js';
import { WasmArenaSet } from '../../../src/backend/wasm/arenas.js';
import { WasmKernels } from '../../../src/backend/wasm/kernels.js';
import { createNodeThreadPool } from '../../../src/node/wasm-pool.js';
import { Rng, refMatmul, worstRatio } from './reference-loops.js';

const MiB = 1 << 20;
const module = compileKernelsSync('simd');

describe('WasmArena', () => {
  test('allocations are aligned, disjoint and above the static data', () => {
    const arena = new WasmArena({ module, initialBytes: MiB });
    assert.ok(arena.base >= arena.exports.heap_base());
    const ptrs = [1, 3, 64, 65, 1000, 4096].map((n) => [arena.alloc(n), n] as const);
    for (const [p] of ptrs) assert.equal(p % ARENA_ALIGN, 0);
    const sorted = [...ptrs].sort((x, y) => x[0] - y[0]);
    for (let i = 1; i < sorted.length; i++) assert.ok(sorted[i]![0] >= sorted[i - 1]![0] + sorted[i - 1]![1]);
    assert.ok(sorted[0]![0] >= arena.base);
  });

  test('free coalesces neighbours and the space is reused', () => {
    const arena = new WasmArena({ module, initialBytes: MiB });
    const before = arena.freeBlockCount;
    const a = arena.alloc(1024);
    const b = arena.alloc(1024);
    const c = arena.alloc(1024);
    const d = arena.alloc(1024);
    arena.free(b);
    assert.equal(arena.freeBlockCount, before + 1, 'hole after b');
    arena.free(d);
    assert.equal(arena.freeBlockCount, before + 1, 'd merges with the tail');
    arena.free(a);
    assert.equal(arena.freeBlockCount, before + 1, 'a merges with the hole after it');
    arena.free(c);
    assert.equal(arena.freeBlockCount, before, 'everything merged back');
    assert.equal(arena.usedBytes, 0);
    assert.equal(arena.alloc(4096), a, 'merged space reused from the start');
    assert.throws(() => arena.free(a + 64), /unknown pointer/);
  });

  test('grows on demand; old views stay valid and owned', () => {
    const arena = new WasmArena({ module, initialBytes: MiB, maxBytes: 64 * MiB });
    const p = arena.alloc(1024);
    const v = arena.f32(p, 256);
    v.fill(3);
    const big = arena.alloc(8 * MiB);
    assert.ok(arena.byteLength >= 8 * MiB + 1024);
    assert.notEqual(v.buffer, arena.memory.buffer, 'memory.buffer is a new object after grow');
    assert.ok(arena.owns(v), 'views from before the grow are still recognised');
    assert.equal(v[255], 3);
    const w = arena.f32(big, 2 * MiB);
    w[w.length - 1] = 7;
    assert.ok(arena.owns(w));
    assert.ok(!arena.owns(new Float32Array(4)));
    assert.equal(arena.tryAlloc(128 * MiB), 0, 'beyond the cap');
    assert.throws(() => arena.alloc(128 * MiB), RangeError);
  });

  test('scratch is grow-only and released with its block', () => {
    const arena = new WasmArena({ module, initialBytes: MiB });
    const s1 = arena.scratch(1000);
    assert.equal(arena.scratch(500), s1);
    const s2 = arena.scratch(4 * MiB);
    assert.ok(arena.sizeOf(s2)! >= 4 * MiB);
    arena.releaseScratch();
    assert.equal(arena.sizeOf(s2), undefined);
  });
});

describe('WasmArenaSet', () => {
  test('blocks spill into new arenas when one is full', () => {
    const created: number[] = [];
    const set = new WasmArenaSet({ module, maxArenaBytes: 8 * MiB, reserveBytes: MiB, onCreate: (a) => created.push(a.id) });
    const views = Array.from({ length: 6 }, (_, i) => set.allocF32((3 * MiB) / 4).fill(i));
    assert.ok(set.arenas.length >= 3, `${set.arenas.length} arenas`);
    assert.equal(created.length, set.arenas.length);
    for (const [i, v] of views.entries()) {
      assert.ok(set.find(v), 'each view has an arena');
      assert.equal(v[0], i);
    }
    assert.notEqual(set.find(views[0]!), set.find(views[5]!));
    set.free(views[1]!);
    const again = set.allocF32((3 * MiB) / 4);
    assert.equal(set.find(again), set.find(views[0]!), 'freed room is reused in the first arena');
    assert.throws(() => set.alloc(8 * MiB), RangeError);
    set.dispose();
  });

  test('pointers above 2 GiB (unsigned in wasm, plain numbers in JS) work on both threads', async () => {
    const pool = await createNodeThreadPool({ threads: 2 });
    const k = await WasmKernels.create({ relaxedSimd: false, pool, forceParallel: true });
    try {
      const arena = k.arenas.primary;
      // Untouched filler: growing shared memory only changes page protections, no memset.
      const filler = arena.alloc(2.25 * 1024 * MiB);
      arena.releaseScratch();
      const rng = new Rng(3);
      const m = 37, n = 45, kk = 29;
      const a = k.allocF32(m * kk);
      rng.fill(a);
      assert.ok(a.byteOffset > 2 ** 31, `a at ${a.byteOffset}`);
      const b = rng.array(kk * n);
      const out = new Float32Array(m * n);
      k.matmul(a, b, out, m, n, kk, false, false);
      const ref = refMatmul(a, b, m, n, kk, false, false, null);
      assert.ok(worstRatio(out, ref.c, ref.scale, 1e-5 * Math.sqrt(kk), 1e-30).ratio <= 1);
      const e = new Float32Array(m * kk);
      k.unary('exp', a, e);
      assert.ok(Math.abs(e[m * kk - 1]! - Math.exp(a[m * kk - 1]!)) < 1e-6 * Math.exp(1));
      k.freeF32(a);
      arena.free(filler);
    } finally {
      k.dispose();
      pool.dispose();
    }
  });

  test('kernels run across arenas: operands in different memories, new arenas reach the workers', async () => {
    const pool = await createNodeThreadPool({ threads: 2 });
    const k = await WasmKernels.create({
      relaxedSimd: false, pool, forceParallel: true, maxArenaBytes: 16 * MiB, reserveBytes: 4 * MiB, initialArenaBytes: MiB,
    });
    try {
      const rng = new Rng(5);
      const m = 33, n = 300, kk = 1000;
      // a, then 1 MiB fillers until the first arena is full (cap - reserve), so that b, larger
      // than a filler, opens or joins the second arena.
      const a = k.allocF32(m * kk);
      const fillers: Float32Array[] = [];
      while (k.arenas.arenas.length < 2) fillers.push(k.allocF32(MiB / 4));
      const b = k.allocF32(kk * n);
      const arenaA = k.arenas.find(a)!;
      const arenaB = k.arenas.find(b)!;
      assert.notEqual(arenaA, arenaB, 'a and b live in different arenas');
      rng.fill(a); rng.fill(b);
      const ref = refMatmul(a, b, m, n, kk, false, false, null);
      for (const out of [new Float32Array(m * n), k.allocF32(m * n)]) {
        k.matmul(a, b, out, m, n, kk, false, false);
        const { ratio } = worstRatio(out, ref.c, ref.scale, 1e-5 * Math.sqrt(kk), 1e-30);
        assert.ok(ratio <= 1, `matmul across arenas: ${ratio}`);
      }
      const y = new Float32Array(n);
      const x = rng.array(kk);
      k.gemvT(b, x, y, kk, n);
      const refT = refMatmul(x, b, 1, n, kk, false, false, null);
      assert.ok(worstRatio(y, refT.c, refT.scale, 1e-5 * Math.sqrt(kk), 1e-30).ratio <= 1);
      for (const f of fillers) k.freeF32(f);
    } finally {
      k.dispose();
      pool.dispose();
    }
  });
});
