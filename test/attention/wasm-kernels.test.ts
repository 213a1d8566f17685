// Conformance of the wasm decode-attention kernels (assembly/attention.ts) with the reference
// kernels, for every policy (dense, SparQ, LM-Infinite, FlexGen, oracle, H2O over many steps), on
// awkward shapes: S = 1, 3, 17, 127 (not multiples of the SIMD width; and long cases for the
// radix selection), k >= S, head dims 8, 64, 128, GQA groups 1, 2, 4; plain and relaxed SIMD,
// 1 and 2 threads; caches spanning several arenas; f32 and f16 caches (the reference reads the same
// f16 bits, widened exactly), with special values (subnormal halves, overflow to inf, NaN). Also:
// the kernels' block layout is kvBlockLayout's for both element sizes, the in-register f16
// widening is exact for all 65536 halves, and a cache outside the arenas is an error, not a slow path.

import assert from 'node:assert/strict';
import { after, describe, test } from 'node:test';
import { KvCache } from '../../src/attention/kv-cache.js';
import { type AttentionSpec, createAttentionPolicy } from '../../src/attention/policy.js';
import { SelectWork, topKIndices } from '../../src/attention/select.js';
import { kvBlockLayout, KV_DTYPES, kvElementBytes } from '../../src/ops/attention-kernels.js';
import { bf16BitsToF32, f16BitsToBf16Bits, f16BitsToF32, f32ToF16Bits } from '../../src/tensor/dtype.js';
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
    // Special values must agree exactly: NaN where the reference has NaN, the same infinity.
    if (Number.isNaN(want[i]!) && Number.isNaN(got[i]!)) continue;
    if (!Number.isFinite(want[i]!) && got[i] === want[i]) continue;
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
    for (const dtype of KV_DTYPES) {
      test(`${v.name}: every policy (SparQ with K twice and once) on awkward shapes, ${dtype} cache`, () => {
        const rng = new Rng(42);
        for (const { S, d, g } of CASES) {
          const kvHeads = 2;
          const heads = kvHeads * g;
          for (const storeKTransposed of [true, false]) {
            // Two sequences of different lengths, in arena memory.
            const cache = filledCache(rng, {
              layers: 1, kvHeads, headDim: d, lengths: [S, S + 2], storeKTransposed, dtype,
              allocator: v.attention.cacheAllocator, release: v.attention.cacheRelease,
            });
            const q = Float32Array.from({ length: 2 * heads * d }, () => rng.normal());
            for (const spec of specsFor(S, d)) {
              if (spec.kind !== 'sparq' && !storeKTransposed) continue;
              compare(v, cache, spec, heads, q, `${dtype} S=${S} d=${d} g=${g} kt=${storeKTransposed}`);
            }
            cache.dispose();
          }
        }
      });
    }

    test(`${v.name}: f16 caches with special values (subnormal halves, overflow to inf, NaN in V, -0)`, () => {
      const rng = new Rng(23);
      // Halves at the edges of the format: the smallest subnormal, a subnormal, the largest
      // subnormal, the smallest normal, the largest finite, values that round to them, -0.
      const edges = [5.960464477539063e-8, 3.0e-6, 6.097555160522461e-5, 6.103515625e-5, 65504, 65519, -65504, -0, 1e-8];
      for (const [d, heads] of [[8, 2], [12, 1], [64, 2], [64, 1]] as const) {
        // K stored once too: its f16 step 1 reads masked chunks only for blocks known finite.
        for (const [special, storeKTransposed] of [['edges', true], ['inf', true], ['nan', true], ['edges', false], ['inf', false]] as const) {
          const kvHeads = 1;
          const S = 37;
          const cache = filledCache(rng, {
            layers: 1, kvHeads, headDim: d, lengths: [S], storeKTransposed, dtype: 'f16',
            allocator: v.attention.cacheAllocator, release: v.attention.cacheRelease,
          });
          // Replace some positions: K components at the edges (scores stay finite), V as chosen.
          const k = Float32Array.from({ length: d }, (_, c) => edges[c % edges.length]! * (c % 3 === 0 ? 1e-3 : 1) / 65504);
          const val = Float32Array.from({ length: d }, (_, c) => edges[(c + 3) % edges.length]!);
          if (special === 'inf') val[1] = 1e6; // rounds to +inf in f16
          if (special === 'nan') val[2] = Number.NaN;
          cache.append(0, 0, k, val, 1);
          const q = Float32Array.from({ length: heads * d }, () => rng.normal());
          // Queries past 2^15 take the kernels' other f16 path (q * 2^112 would overflow); keys of
          // about 1e-5 (subnormal halves among them) keep the logits moderate.
          const smallKeys = filledCache(rng, {
            layers: 1, kvHeads, headDim: d, lengths: [S], storeKTransposed, dtype: 'f16', scale: 1e-5,
            allocator: v.attention.cacheAllocator, release: v.attention.cacheRelease,
          });
          const qLarge = Float32Array.from(q, (x, i) => (i % 3 === 0 ? x * 1e5 : x));
          for (const spec of [
            { kind: 'dense' }, { kind: 'sparq', rank: 2, topK: 8, localWindow: 2, reallocation: true },
            { kind: 'sparq', rank: d, topK: 64, localWindow: 0, reallocation: false },
            { kind: 'flexgen', topK: 5 }, { kind: 'lm-infinite', topK: 6, sinks: 2 }, { kind: 'h2o', topK: 7, localWindow: 2 },
          ] as const) {
            if (spec.kind !== 'sparq' && !storeKTransposed) continue;
            compare(v, cache, spec, heads, q, `f16 ${special} d=${d} g=${heads} kt=${storeKTransposed}`);
            if (special === 'edges') compare(v, smallKeys, spec, heads, qLarge, `f16 large q d=${d} g=${heads} kt=${storeKTransposed}`);
          }
          smallKeys.dispose();
          if (special !== 'edges') {
            // The new position is attended by dense with a positive weight: the special value reaches the output.
            const out = new Float32Array(q.length);
            createAttentionPolicy({ kind: 'dense' }, { layers: 1, heads, kvHeads, headDim: d }, { kernels: v.attention }).attend(cache, 0, [0], q, out, heads);
            const c = special === 'inf' ? 1 : 2;
            assert.ok(special === 'inf' ? out[c] === Infinity : Number.isNaN(out[c]!), `${special}: ${out[c]}`);
          }
          cache.dispose();
        }
      }
    });

    test(`${v.name}: step 2 over several touched blocks (heads of 128, f16 and f32, one and two query heads)`, () => {
      // Step 2 touches the selected rows 32 KiB at a time: 128 rows of 128 halves (the unrolled touch),
      // 64 rows of 128 floats (the general one); k = 300 and 400 take 3-7 blocks, with a short last one.
      const rng = new Rng(11);
      for (const dtype of ['f16', 'f32'] as const) {
        const cache = filledCache(rng, {
          layers: 1, kvHeads: 1, headDim: 128, lengths: [1000], storeKTransposed: true, dtype,
          allocator: v.attention.cacheAllocator, release: v.attention.cacheRelease,
        });
        for (const heads of [1, 2]) {
          const q = Float32Array.from({ length: heads * 128 }, () => rng.normal());
          const what = `${dtype} S=1000 g=${heads}`;
          compare(v, cache, { kind: 'sparq', rank: 16, topK: 300, localWindow: 75, reallocation: heads === 1 }, heads, q, what);
          compare(v, cache, { kind: 'oracle', topK: 400 }, heads, q, what);
          compare(v, cache, { kind: 'h2o', topK: 302, localWindow: 30 }, heads, q, what);
        }
        cache.dispose();
      }
    });

    test(`${v.name}: long sequence (radix selection), extreme keys stay finite`, () => {
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

describe('wasm SparQ on head dims that are not multiples of 8', () => {
  // d % 8 == 4: the f16 kernels' last 4 components take their own loads (K once: the masked
  // chunks plus a tail); d = 4 has no full chunk at all. S = 300 with k = 64 selects by radix
  // select (more than 256 candidates), S = 9 by quickselect; step 2 gets counts that are not
  // multiples of 4 for one query head and for a group.
  for (const v of variants) {
    test(`${v.name}: d = 4, 12, 20, K twice and once, f32 and f16, groups 1 and 3`, () => {
      const rng = new Rng(77);
      for (const dtype of KV_DTYPES) {
        for (const d of [4, 12, 20]) {
          for (const g of [1, 3]) {
            for (const storeKTransposed of [true, false]) {
              const cache = filledCache(rng, {
                layers: 1, kvHeads: 2, headDim: d, lengths: [9, 300], storeKTransposed, dtype,
                allocator: v.attention.cacheAllocator, release: v.attention.cacheRelease,
              });
              const heads = 2 * g;
              const q = Float32Array.from({ length: 2 * heads * d }, () => rng.normal());
              for (const rank of [1, 2, Math.max(1, d >> 1), d - 1, d]) {
                for (const [topK, localWindow] of [[5, 1], [64, 16], [301, 3]] as const) {
                  compare(v, cache, { kind: 'sparq', rank, topK, localWindow, reallocation: g === 1 }, heads, q,
                    `${dtype} d=${d} g=${g} kt=${storeKTransposed}`);
                }
              }
              cache.dispose();
            }
          }
        }
      }
    });
  }
});

describe('wasm SparQ with K stored once: non-finite keys outside i1', () => {
  // Step 1 multiplies whole chunks of a row by q masked to i1: a NaN or infinity in a masked
  // component makes 0 * x = NaN, which the kernel recomputes component by component (the
  // reference sums the components of i1 only). Those rows' approximate logits are 0, below the
  // selected ones, so step 2 never reads them.
  for (const v of variants) {
    test(`${v.name}: NaN, +inf and -inf in the component of smallest |q|, f32 and f16`, () => {
      const rng = new Rng(91);
      for (const dtype of KV_DTYPES) {
        for (const d of [12, 64]) {
          const cache = new KvCache({
            layers: 1, kvHeads: 1, headDim: d, batch: 1, storeKTransposed: false, initialCapacity: 16, dtype,
            allocator: v.attention.cacheAllocator, release: v.attention.cacheRelease,
          });
          const q = Float32Array.from({ length: d }, () => rng.normal());
          let cMin = 0;
          for (let c = 1; c < d; c++) if (Math.abs(q[c]!) < Math.abs(q[cMin]!)) cMin = c;
          const special = [Number.NaN, Infinity, -Infinity];
          for (let i = 0; i < 200; i++) {
            const k = Float32Array.from({ length: d }, () => rng.normal());
            if (i < special.length) {
              k.fill(0);
              k[cMin] = special[i]!;
            }
            cache.append(0, 0, k, Float32Array.from({ length: d }, () => rng.normal()), 1);
          }
          assert.equal(cache.head(0, 0, 0).mayHoldNonFinite, dtype === 'f16');
          for (const rank of [1, d >> 1, d - 1]) {
            compare(v, cache, { kind: 'sparq', rank, topK: 16, localWindow: 4, reallocation: true }, 1, q, `${dtype} d=${d} r=${rank}`);
          }
          cache.dispose();
        }
      }
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

    test(`${v.name}: long sequences (radix selection) for FlexGen and H2O`, () => {
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
  test('the wasm kernels find mean, sum, K, V and K^T (in bytes) where kvBlockLayout puts them, f32 and f16', () => {
    const exports = variants[0]!.kernels.arenas.primary.exports;
    for (const dtype of KV_DTYPES) {
      const e = kvElementBytes(dtype);
      for (const d of [4, 8, 64, 128]) {
        for (const cap of [16, 32, 4096]) {
          const layout = kvBlockLayout(d, cap, true, dtype);
          const parts = [layout.meanOffset, layout.sumOffset, layout.keyOffset, layout.valueOffset, layout.transposedOffset];
          assert.deepEqual(parts.map((_, part) => exports.kv_block_offset(part, d, cap, e)), parts, `${dtype} d=${d} cap=${cap}`);
          assert.equal(layout.bytes, layout.transposedOffset + d * cap * e);
          assert.equal(layout.keyOffset, 8 * d, 'mean and sum stay f32 whatever the dtype');
        }
      }
    }
  });

  for (const dtype of KV_DTYPES) {
    test(`the cache lays its ${dtype} blocks out by kvBlockLayout`, () => {
      const cache = filledCache(new Rng(1), { layers: 1, kvHeads: 1, headDim: 8, lengths: [40], storeKTransposed: true, dtype });
      const b = cache.head(0, 0, 0);
      const layout = kvBlockLayout(8, b.capacity, true, dtype);
      assert.deepEqual({ ...b, data: null, length: 0, capacity: 0, headDim: 0, mayHoldNonFinite: false },
        { ...layout, data: null, length: 0, capacity: 0, headDim: 0, mayHoldNonFinite: false });
      assert.equal(b.data.byteLength, layout.bytes);
      const e = layout.elementBytes;
      const raw = e === 2 ? new Uint16Array(b.data.buffer, b.data.byteOffset, b.data.length * 2) : b.data;
      const widen = (x: number): number => (e === 2 ? f16BitsToF32(x) : x);
      // Row 5 of K, component 3 of K^T, as the layout says (element indices = byte offsets / e).
      const kRow = Array.from(raw.subarray(layout.keyOffset / e + 40, layout.keyOffset / e + 48), widen);
      assert.deepEqual(Array.from(cache.keys(0, 0, 0).subarray(40, 48)), kRow);
      // K^T: f32 as K, bf16 in an f16 cache (K's half rounded again).
      const kt = raw[layout.transposedOffset / e + 3 * b.capacity + 5]!;
      assert.equal(cache.keysTransposed(0, 0, 0)!.data[3 * b.capacity + 5], e === 2 ? bf16BitsToF32(kt) : kt);
      const k = raw[layout.keyOffset / e + 5 * 8 + 3]!;
      assert.equal(kt, e === 2 ? f16BitsToBf16Bits(k) : k);
      cache.dispose();
    });
  }

  test('the kernels widen every one of the 65536 halves exactly (vector and scalar paths), NaN payloads kept', () => {
    const arena = variants[0]!.kernels.arenas.primary;
    const src = arena.alloc(65536 * 2);
    const dst = arena.alloc(65536 * 4);
    try {
      // In order (vectors of 8 all finite or all inf/NaN) and scrambled (a bijection: finite halves
      // share vectors with inf/NaN ones, which send the whole vector down the exact path).
      // Modes: 0 the fast vector path (finite halves only), 1 scalar, 2 the exact vector path, 3 the
      // fast path's scaled form (value * 2^-112).
      for (const [order, scalar] of [['ascending', 0], ['ascending', 3], ['scrambled', 1], ['scrambled', 2]] as const) {
        const halves = Uint16Array.from({ length: 65536 }, (_, i) => (order === 'ascending' ? i : Math.imul(i, 40503) & 0xffff));
        new Uint16Array(arena.heap().buffer, src, 65536).set(halves);
        arena.exports.kv_widen_f16(src, dst, 65536, scalar);
        const out = new Float32Array(arena.heap().buffer, dst, 65536);
        const bits = new Uint32Array(arena.heap().buffer, dst, 65536);
        for (let i = 0; i < 65536; i++) {
          const h = halves[i]!;
          const exact = f16BitsToF32(h);
          if ((scalar === 0 || scalar === 3) && !Number.isFinite(exact)) continue;
          const want = scalar === 3 ? exact * 2 ** -112 : exact;
          if (Number.isNaN(want)) {
            // A quiet or signalling NaN keeps its sign and payload (the top 10 mantissa bits).
            assert.equal(bits[i]! >>> 0, (((h & 0x8000) << 16) | 0x7f800000 | ((h & 0x3ff) << 13)) >>> 0, `NaN 0x${h.toString(16)} ${order} scalar=${scalar}`);
          } else {
            assert.ok(Object.is(out[i], want), `0x${h.toString(16)}: got ${out[i]} want ${want} ${order} scalar=${scalar}`);
            // Round trip: the cache's rounding gives the same half back.
            if (scalar !== 3) assert.equal(f32ToF16Bits(out[i]!), h);
          }
        }
      }
    } finally {
      arena.free(src);
      arena.free(dst);
    }
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
  test('matches topKIndices on random, tied and adversarial inputs (quickselect and radix select)', () => {
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
    // Radix select: -0 and +0 are one value (ties go to the lower index), infinities, a range
    // narrower than the histogram (one key per bin), keys that share their top 21 bits (three
    // levels), two far clusters, exponentials of logits (SparQ's input), sizes around the switch.
    for (const nz of [255, 256, 257, 3001]) {
      inputs.push([`signed zeros ${nz}`, Float32Array.from({ length: nz }, (_, i) => (i % 3 === 0 ? -0 : i % 3 === 1 ? 0 : -rng.uniform())), Math.floor(nz / 2)]);
      inputs.push([`infinities ${nz}`, Float32Array.from({ length: nz }, (_, i) => (i % 7 === 0 ? Infinity : i % 7 === 1 ? -Infinity : rng.normal())), Math.floor(nz / 5)]);
    }
    const bits = new Uint32Array(1);
    const asF32 = new Float32Array(bits.buffer);
    const nearOne = (ulps: number): number => {
      asF32[0] = 1;
      bits[0]! += ulps;
      return asF32[0]!;
    };
    inputs.push(['narrow range', Float32Array.from({ length: 4000 }, () => nearOne(rng.int(1500))), 1234]);
    inputs.push(['shared top bits', Float32Array.from({ length: 6000 }, () => nearOne(rng.int(3000) * 1024 + rng.int(3))), 2999]);
    inputs.push(['two clusters', Float32Array.from({ length: 7000 }, (_, i) => (i % 2 === 0 ? 1e30 + rng.uniform() * 1e24 : -1e-30 * rng.uniform())), 3600]);
    inputs.push(['softmax numerators', Float32Array.from({ length: 16384 }, () => Math.fround(Math.exp(rng.normal() * 3 - 12))), 4094]);
    inputs.push(['all equal', new Float32Array(5000).fill(0.25), 777]);
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
