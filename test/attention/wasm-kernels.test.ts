// Conformance of the wasm decode-attention kernels (assembly/attention.ts) with the reference
// kernels, for every policy (dense, SparQ, LM-Infinite, FlexGen, oracle, H2O over many steps), on
// awkward shapes: S = 1, 3, 17, 127 (not multiples of the SIMD width; and long cases for the
// sampled selection), k >= S, head dims 8, 64, 128, GQA groups 1, 2, 4; plain and relaxed SIMD,
// 1 and 2 threads; caches spanning several arenas. Also: the kernels' block layout is
// kvBlockLayout's, and a cache outside the arenas is an error, not a slow path.

import assert from 'node:assert/strict';
import { after, describe, test } from 'node:test';
import type { KvCache } from '../../src/attention/kv-cache.js';
import { type AttentionSpec, createAttentionPolicy } from '../../src/attention/policy.js';
import { SelectWork, topKIndices } from '../../src/attention/select.js';
import { kvBlockLayout } from '../../src/ops/attention-kernels.js';
import { WasmAttention } from '../../src/backend/wasm/attention.js';
import { WasmKernels } from '../../src/backend/wasm/kernels.js';
import { createNodeThreadPool, enableRelaxedSimd } from '../../src/node/wasm-pool.js';
import { Rng } from '../../src/tensor/rng.js';
import { filledCache } from './helpers.js';

const relaxedAvailable = enableRelaxedSimd();
const pool = await createNodeThreadPool({ threads: 2 });

interface Variant {
  readonly name: string;
  readonly kernels: WasmKernels;
  readonly attention: WasmAttention;
}

const variants: Variant[] = [];
for (const flavor of ['simd', 'relaxed'] as const) {
  if (flavor === 'relaxed' && !relaxedAvailable) continue;
  for (const threads of [1, 2]) {
    const kernels = await WasmKernels.create({ relaxedSimd: flavor === 'relaxed', pool, threads, initialArenaBytes: 1 << 22 });
    variants.push({ name: `${flavor} ${threads}T`, kernels, attention: new WasmAttention(kernels) });
  }
}

after(() => {
  for (const v of variants) {
    v.attention.dispose();
    v.kernels.dispose();
  }
  pool.dispose();
});

function assertClose(what: string, got: Float32Array, want: Float32Array, tol: number): void {
  for (let i = 0; i < want.length; i++) {
    const err = Math.abs(got[i]! - want[i]!);
    if (!(err <= tol * (1 + Math.abs(want[i]!)))) assert.fail(`${what}: element ${i} got ${got[i]} want ${want[i]}`);
  }
}

interface Case {
  readonly S: number;
  readonly d: number;
  readonly g: number;
}

const CASES: Case[] = [];
for (const S of [1, 3, 17, 127]) for (const d of [8, 64, 128]) for (const g of [1, 2, 4]) CASES.push({ S, d, g });

function specsFor(S: number, d: number): AttentionSpec[] {
  const specs: AttentionSpec[] = [{ kind: 'dense' }];
  for (const rank of [1, Math.max(1, d / 4), d]) {
    for (const topK of [1, Math.max(1, S >> 1), S + 1]) {
      for (const reallocation of [true, false]) {
        specs.push({ kind: 'sparq', rank, topK, localWindow: topK >> 2, reallocation });
      }
    }
  }
  specs.push({ kind: 'sparq', rank: 3, topK: Math.max(1, S - 1), localWindow: Math.max(1, S - 1), reallocation: true });
  for (const topK of [1, Math.max(1, S >> 1), S + 1]) {
    specs.push({ kind: 'lm-infinite', topK, sinks: topK >> 1 }, { kind: 'flexgen', topK }, { kind: 'oracle', topK },
      { kind: 'h2o', topK, localWindow: topK >> 2 });
  }
  return specs;
}

/** Runs `spec` on the cache through the wasm kernels and through the reference, compares. */
function compare(v: Variant, cache: KvCache, spec: AttentionSpec, heads: number, q: Float32Array, what: string): void {
  const shape = { layers: cache.layers, heads, kvHeads: cache.kvHeads, headDim: cache.headDim };
  const seqs = Array.from({ length: cache.batch }, (_, i) => i);
  const want = new Float32Array(q.length);
  createAttentionPolicy(spec, shape).attend(cache, cache.layers - 1, seqs, q, want, heads);
  const got = new Float32Array(q.length).fill(Number.NaN);
  const fast = createAttentionPolicy(spec, shape, { kernels: v.attention });
  const calls = v.attention.calls;
  fast.attend(cache, cache.layers - 1, seqs, q, got, heads);
  assert.ok(v.attention.calls > calls, `${what}: the wasm kernels did not run`);
  assertClose(`${v.name} ${what} ${JSON.stringify(spec)}`, got, want, 2e-5);
}

describe('wasm decode attention vs reference', () => {
  for (const v of variants) {
    test(`${v.name}: every policy (SparQ with K twice and once) on awkward shapes`, () => {
      const rng = new Rng(42);
      for (const { S, d, g } of CASES) {
        const kvHeads = 2;
        const heads = kvHeads * g;
        for (const storeKTransposed of [true, false]) {
          // Two sequences of different lengths, in arena memory.
          const cache = filledCache(rng, {
            layers: 1, kvHeads, headDim: d, lengths: [S, S + 2], storeKTransposed,
            allocator: v.attention.cacheAllocator, release: v.attention.cacheRelease,
          });
          const q = Float32Array.from({ length: 2 * heads * d }, () => rng.normal());
          for (const spec of specsFor(S, d)) {
            if (spec.kind !== 'sparq' && !storeKTransposed) continue;
            compare(v, cache, spec, heads, q, `S=${S} d=${d} g=${g} kt=${storeKTransposed}`);
          }
          cache.dispose();
        }
      }
    });

    test(`${v.name}: long sequence (sampled selection), extreme keys stay finite`, () => {
      const rng = new Rng(7);
      const cache = filledCache(rng, {
        layers: 1, kvHeads: 2, headDim: 8, lengths: [5000], storeKTransposed: true,
        allocator: v.attention.cacheAllocator, release: v.attention.cacheRelease,
      });
      const q = Float32Array.from({ length: 2 * 8 }, () => rng.normal());
      compare(v, cache, { kind: 'sparq', rank: 2, topK: 64, localWindow: 16, reallocation: true }, 2, q, 'S=5000');
      compare(v, cache, { kind: 'sparq', rank: 8, topK: 600, localWindow: 0, reallocation: false }, 2, q, 'S=5000');
      cache.dispose();
      const extreme = filledCache(rng, {
        layers: 1, kvHeads: 1, headDim: 8, lengths: [300], storeKTransposed: true, scale: 1e30,
        allocator: v.attention.cacheAllocator, release: v.attention.cacheRelease,
      });
      const qx = Float32Array.from({ length: 2 * 8 }, () => rng.normal() * 1e5);
      for (const spec of [{ kind: 'dense' }, { kind: 'sparq', rank: 2, topK: 20, localWindow: 4 }] as const) {
        const out = new Float32Array(qx.length);
        createAttentionPolicy(spec, { layers: 1, heads: 2, kvHeads: 1, headDim: 8 }, { kernels: v.attention })
          .attend(extreme, 0, [0], qx, out, 2);
        assert.ok(out.every(Number.isFinite), `${spec.kind}: ${Array.from(out)}`);
      }
      extreme.dispose();
    });
  }
});

describe('wasm baselines over many decode steps', () => {
  for (const v of variants) {
    test(`${v.name}: H2O (state carried between steps, prefill observed), LM-Infinite, FlexGen, oracle`, () => {
      const rng = new Rng(11);
      for (const [g, d] of [[1, 8], [2, 12], [4, 64]] as const) {
        const kvHeads = 2;
        const heads = kvHeads * g;
        const shape = { layers: 1, heads, kvHeads, headDim: d };
        const specs: AttentionSpec[] = [
          { kind: 'h2o', topK: 9, localWindow: 2 }, { kind: 'h2o', topK: 16, localWindow: 0 },
          { kind: 'lm-infinite', topK: 7, sinks: 3 }, { kind: 'flexgen', topK: 6 }, { kind: 'oracle', topK: 5 },
        ];
        for (const spec of specs) {
          const refCache = filledCache(new Rng(d), { layers: 1, kvHeads, headDim: d, lengths: [20, 5] });
          const fastCache = filledCache(new Rng(d), {
            layers: 1, kvHeads, headDim: d, lengths: [20, 5], allocator: v.attention.cacheAllocator, release: v.attention.cacheRelease,
          });
          const ref = createAttentionPolicy(spec, shape);
          const fast = createAttentionPolicy(spec, shape, { kernels: v.attention });
          // The prompt's attention seeds H2O's scores in both.
          const probs = Float32Array.from({ length: heads * 19 * 19 }, () => rng.uniform() / 19);
          for (const p of [ref, fast]) p.observePrefill?.(0, 0, probs, heads, 19, 19);
          for (let step = 0; step < 40; step++) {
            const q = Float32Array.from({ length: 2 * heads * d }, () => rng.normal() * 2);
            const want = new Float32Array(q.length);
            const got = new Float32Array(q.length).fill(Number.NaN);
            ref.attend(refCache, 0, [0, 1], q, want, heads);
            fast.attend(fastCache, 0, [0, 1], q, got, heads);
            assertClose(`${v.name} ${JSON.stringify(spec)} g=${g} d=${d} step ${step}`, got, want, 2e-5);
            const k = Float32Array.from({ length: kvHeads * d }, () => rng.normal());
            const val = Float32Array.from({ length: kvHeads * d }, () => rng.normal());
            for (const seq of [0, 1]) {
              refCache.append(0, seq, k, val, 1);
              fastCache.append(0, seq, k, val, 1);
            }
          }
          assert.deepEqual(fast.counters.get(), ref.counters.get(), 'the same transfers counted');
          fast.reset?.();
          refCache.dispose();
          fastCache.dispose();
        }
      }
    });

    test(`${v.name}: long sequences (sampled selection) for FlexGen and H2O`, () => {
      const rng = new Rng(17);
      const cache = filledCache(rng, {
        layers: 1, kvHeads: 1, headDim: 16, lengths: [6000], storeKTransposed: true,
        allocator: v.attention.cacheAllocator, release: v.attention.cacheRelease,
      });
      const q = Float32Array.from({ length: 2 * 16 }, () => rng.normal());
      compare(v, cache, { kind: 'flexgen', topK: 300 }, 2, q, 'S=6000');
      compare(v, cache, { kind: 'h2o', topK: 500, localWindow: 100 }, 2, q, 'S=6000');
      compare(v, cache, { kind: 'lm-infinite', topK: 700 }, 2, q, 'S=6000');
      cache.dispose();
    });
  }
});

describe('one block layout', () => {
  test('the wasm kernels find mean, sum, K, V and K^T where kvBlockLayout puts them', () => {
    const exports = variants[0]!.kernels.arenas.primary.exports;
    for (const d of [4, 8, 64, 128]) {
      for (const cap of [16, 32, 4096]) {
        const layout = kvBlockLayout(d, cap, true);
        const parts = [layout.meanOffset, layout.sumOffset, layout.keyOffset, layout.valueOffset, layout.transposedOffset];
        assert.deepEqual(parts.map((_, part) => exports.kv_block_offset(part, d, cap)), parts, `d=${d} cap=${cap}`);
        assert.equal(layout.floats, layout.transposedOffset + d * cap);
      }
    }
  });

  test('the cache lays its blocks out by kvBlockLayout', () => {
    const cache = filledCache(new Rng(1), { layers: 1, kvHeads: 1, headDim: 8, lengths: [40], storeKTransposed: true });
    const b = cache.head(0, 0, 0);
    const layout = kvBlockLayout(8, b.capacity, true);
    assert.deepEqual({ ...b, data: null, length: 0, capacity: 0, headDim: 0 }, { ...layout, data: null, length: 0, capacity: 0, headDim: 0 });
    assert.equal(b.data.length, layout.floats);
    // Row 5 of K and V, component 3 of K^T, as the layout says.
    assert.deepEqual(cache.keys(0, 0, 0).subarray(40, 48), b.data.subarray(layout.keyOffset + 40, layout.keyOffset + 48));
    assert.equal(cache.keysTransposed(0, 0, 0)!.data[3 * b.capacity + 5], b.data[layout.transposedOffset + 3 * b.capacity + 5]);
    assert.equal(b.data[layout.keyOffset + 5 * 8 + 3], b.data[layout.transposedOffset + 3 * b.capacity + 5]);
    cache.dispose();
  });
});

describe('no silent slow path', () => {
  test('a cache outside the wasm arenas is an error naming the fix; an unsupported head size is refused', () => {
    const v = variants[0]!;
    const shape = { layers: 1, heads: 2, kvHeads: 1, headDim: 8 };
    const plain = filledCache(new Rng(2), { layers: 1, kvHeads: 1, headDim: 8, lengths: [10] });
    for (const spec of [{ kind: 'dense' }, { kind: 'sparq', rank: 2, topK: 4, localWindow: 1 }, { kind: 'h2o', topK: 4 }] as const) {
      const policy = createAttentionPolicy(spec, shape, { kernels: v.attention });
      assert.throws(() => policy.attend(plain, 0, [0], new Float32Array(16), new Float32Array(16), 2),
        /^Error: attention: the KV cache \(sequence 0, layer 0\) is not in the wasm kernels' memory; create the KvCache with their cacheAllocator/);
    }
    assert.throws(() => createAttentionPolicy({ kind: 'dense' }, { ...shape, headDim: 6 }, { kernels: v.attention }),
      /the wasm kernels do not handle heads of 6/);
    plain.dispose();
  });
});

describe('wasm top-k selection', () => {
  test('matches topKIndices on random, tied and adversarial inputs (sampled path and its fallback)', () => {
    const v = variants[0]!;
    const rng = new Rng(3);
    const work = new SelectWork();
    const inputs: Array<[string, Float32Array, number]> = [];
    for (const n of [1, 5, 100, 4095, 4096, 20000]) {
      inputs.push([`normal ${n}`, Float32Array.from({ length: n }, () => rng.normal()), Math.max(1, n >> 5)]);
      inputs.push([`levels ${n}`, Float32Array.from({ length: n }, () => rng.int(3)), Math.max(1, n >> 4)]);
    }
    // The sample (every n/1024-th value) sees only the large values: its cut keeps too few
    // candidates and the kernel must fall back to selecting over everything.
    const n = 16384;
    const step = n / 1024;
    inputs.push(['sample-fooling', Float32Array.from({ length: n }, (_, i) => (i % step === 0 ? 1 : rng.uniform() * 0.5)), 2000]);
    inputs.push(['NaN', Float32Array.from({ length: 9000 }, (_, i) => (i % 3 === 0 ? Number.NaN : rng.normal())), 100]);
    // Orders that defeat naive quickselect pivots (full-selection path: k = n / 2).
    const m = 5000;
    const orders: Record<string, (i: number) => number> = {
      ascending: (i) => i, descending: (i) => m - i, constant: () => 1, organPipe: (i) => Math.min(i, m - i), sawtooth: (i) => i % 17,
    };
    for (const [name, gen] of Object.entries(orders)) {
      for (const k of [1, 300, m >> 1, m - 1]) inputs.push([`${name} k=${k}`, Float32Array.from({ length: m }, (_, i) => gen(i)), k]);
    }
    for (const [name, values, k] of inputs) {
      const want = new Int32Array(k);
      const c = topKIndices(values, values.length, k, want, work);
      assert.deepEqual(Array.from(v.attention.topK(values, k)), Array.from(want.subarray(0, c)), name);
    }
  });
});

describe('caches spanning several arenas', () => {
  test('blocks in different 16 MiB arenas give the reference result', async () => {
    const kernels = await WasmKernels.create({ pool, threads: 2, maxArenaBytes: 16 << 20, initialArenaBytes: 1 << 20 });
    const attention = new WasmAttention(kernels);
    try {
      const rng = new Rng(5);
      // 4 sequences x 2 KV heads x (K, V, K^T) x 4096 positions x 64 floats: 24 MiB in all.
      const cache = filledCache(rng, {
        layers: 1, kvHeads: 2, headDim: 64, lengths: [4000, 3000, 3500, 4096], storeKTransposed: true,
        allocator: attention.cacheAllocator, release: attention.cacheRelease, initialCapacity: 4096,
      });
      assert.ok(kernels.arenas.arenas.length >= 2, `${kernels.arenas.arenas.length} arenas`);
      const heads = 4;
      const q = Float32Array.from({ length: 4 * heads * 64 }, () => rng.normal());
      const v: Variant = { name: 'multi-arena', kernels, attention };
      compare(v, cache, { kind: 'dense' }, heads, q, 'multi-arena');
      compare(v, cache, { kind: 'sparq', rank: 8, topK: 100, localWindow: 25 }, heads, q, 'multi-arena');
      cache.dispose();
    } finally {
      attention.dispose();
      kernels.dispose();
    }
  });
});

describe('lifetime', () => {
  test('a cache in wasm memory can be disposed after its kernels', async () => {
    const kernels = await WasmKernels.create({ threads: 1 });
    const attention = new WasmAttention(kernels);
    const cache = filledCache(new Rng(1), {
      layers: 1, kvHeads: 1, headDim: 8, lengths: [40], allocator: attention.cacheAllocator, release: attention.cacheRelease,
    });
    assert.ok(attention.isResident(cache.keys(0, 0, 0)));
    attention.dispose();
    kernels.dispose();
    assert.doesNotThrow(() => cache.dispose());
  });
});
