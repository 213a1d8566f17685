// KvCache: layout of the views, the transposed copy and the running mean kept in sync (f32 and f16
// caches: f16 rows rounded to nearest even, the mean f32 over the stored values), amortised
// growth, limits and errors.

import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { KvCache } from '../../src/attention/kv-cache.js';
import { KV_DTYPES } from '../../src/ops/attention-kernels.js';
import { bf16BitsToF32, f16BitsToBf16Bits, f16BitsToF32, f32ToF16Bits } from '../../src/tensor/dtype.js';
import { Rng } from '../../src/tensor/rng.js';

function randomRows(rng: Rng, n: number): Float32Array {
  return Float32Array.from({ length: n }, () => rng.normal());
}

describe('KvCache', () => {
  for (const dtype of KV_DTYPES) test(`append lays out K, V, K^T and the mean per (layer, seq, kv head), ${dtype}`, () => {
    const rng = new Rng(1);
    const [layers, kvHeads, d, batch] = [2, 3, 4, 2];
    const cache = new KvCache({ layers, kvHeads, headDim: d, batch, initialCapacity: 4, storeKTransposed: true, dtype });
    // What the cache stores of a value: f32, or the nearest half (ties to even).
    const stored = (x: number): number => (dtype === 'f16' ? f16BitsToF32(f32ToF16Bits(x)) : Math.fround(x));
    // K^T of an f16 cache: the stored half rounded again to bf16 (ties to even).
    const storedT = (x: number): number => (dtype === 'f16' ? bf16BitsToF32(f16BitsToBf16Bits(f32ToF16Bits(x))) : Math.fround(x));
    // Reference copies: per (layer, seq): rows [t][h][c].
    const ks: number[][][] = [];
    const vs: number[][][] = [];
    for (let step = 0; step < 3; step++) {
      for (let layer = 0; layer < layers; layer++) {
        for (let seq = 0; seq < batch; seq++) {
          const T = step === 0 ? 5 : 1 + seq; // a prefill, then steps of different lengths per sequence
          const k = randomRows(rng, T * kvHeads * d);
          const v = randomRows(rng, T * kvHeads * d);
          // Values that test the rounding: a tie between two halves (rounds to even), past the
          // largest half (inf), below the smallest subnormal (0).
          if (step === 0) {
            k[0] = 1 + 2 ** -11;
            k[1] = 1 + 3 * 2 ** -11;
            v[0] = 70000;
            v[1] = 2 ** -26;
          }
          cache.append(layer, seq, k, v, T);
          const key = layer * batch + seq;
          ks[key] ??= [];
          vs[key] ??= [];
          ks[key]!.push(...Array.from({ length: T }, (_, t) => Array.from(k.subarray(t * kvHeads * d, (t + 1) * kvHeads * d))));
          vs[key]!.push(...Array.from({ length: T }, (_, t) => Array.from(v.subarray(t * kvHeads * d, (t + 1) * kvHeads * d))));
        }
      }
    }
    for (let layer = 0; layer < layers; layer++) {
      for (let seq = 0; seq < batch; seq++) {
        const rows = ks[layer * batch + seq]!;
        const vrows = vs[layer * batch + seq]!;
        const len = rows.length;
        assert.equal(cache.length(seq, layer), len);
        for (let h = 0; h < kvHeads; h++) {
          const K = cache.keys(layer, seq, h);
          const V = cache.values(layer, seq, h);
          const KT = cache.keysTransposed(layer, seq, h)!;
          const mean = cache.valueMean(layer, seq, h);
          assert.equal(K.length, len * d);
          for (let t = 0; t < len; t++) {
            for (let c = 0; c < d; c++) {
              assert.equal(K[t * d + c], stored(rows[t]![h * d + c]!));
              assert.equal(V[t * d + c], stored(vrows[t]![h * d + c]!));
              assert.equal(KT.data[c * KT.stride + t], storedT(rows[t]![h * d + c]!));
            }
          }
          for (let c = 0; c < d; c++) {
            let s = 0;
            for (let t = 0; t < len; t++) s += V[t * d + c]!;
            if (!Number.isFinite(s)) assert.equal(mean[c], s / len);
            else assert.ok(Math.abs(mean[c]! - s / len) < 1e-6 * (1 + Math.abs(s / len)), `mean layer ${layer} seq ${seq} head ${h} comp ${c}`);
          }
        }
      }
    }
    assert.equal(cache.length(0), 5 + 1 + 1);
    assert.equal(cache.length(1), 5 + 2 + 2);
    if (dtype === 'f16') {
      const K = cache.keys(0, 0, 0);
      assert.equal(K[0], 1, 'a tie rounds to the even half');
      assert.equal(K[1], 1 + 4 * 2 ** -11, 'a tie rounds to the even half (up)');
      assert.equal(cache.values(0, 0, 0)[0], Infinity);
      assert.ok(Object.is(cache.values(0, 0, 0)[1], 0));
      assert.deepEqual(Array.from(cache.rawKeys(0, 0, 0).subarray(0, 2)), [0x3c00, 0x3c02]);
      // K^T in bf16 (7 fraction bits): the half 0x3c02, 1 + 2^-9, rounds to 1.
      const KT = cache.keysTransposed(0, 0, 0)!;
      assert.deepEqual([KT.data[0], KT.data[KT.stride]], [1, 1]);
      // The block that received the inf says so (fast kernels widen it exactly); the others do not.
      assert.equal(cache.head(0, 0, 0).mayHoldNonFinite, true);
      assert.equal(cache.head(0, 0, 1).mayHoldNonFinite, false);
    }
    assert.equal(cache.bytes, layers * batch * kvHeads * (8 * d + 3 * cache.capacity(0, 0) * d * cache.elementBytes));
    cache.reset(0);
    assert.equal(cache.head(0, 0, 0).mayHoldNonFinite, false, 'an emptied block holds nothing');
  });

  test('capacity doubles: few allocations over many single-position steps', () => {
    let allocations = 0;
    let released = 0;
    const cache = new KvCache({
      layers: 1, kvHeads: 1, headDim: 8, batch: 1, initialCapacity: 16, storeKTransposed: true,
      allocator: (n) => {
        allocations++;
        return new Float32Array(n);
      },
      release: () => {
        released++;
      },
    });
    const row = new Float32Array(8).fill(1);
    for (let i = 0; i < 1000; i++) cache.append(0, 0, row, row, 1);
    // 16 -> 32 -> ... -> 1024: 7 allocations for 1000 appends.
    assert.equal(allocations, 7);
    assert.equal(released, 6);
    assert.equal(cache.capacity(0, 0), 1024);
    assert.equal(cache.bytes, (2 * 8 + 3 * 1024 * 8) * 4);
    const kt = cache.keysTransposed(0, 0, 0)!;
    assert.equal(kt.stride, 1024);
    assert.equal(kt.data[3 * 1024 + 999], 1);
    cache.dispose();
    assert.equal(released, 7);
    assert.throws(() => cache.length(0) + cache.keys(0, 0, 0).length, /after dispose/);
  });

  test('maxLength is a hard cap; bad indices and short inputs are named', () => {
    const cache = new KvCache({ layers: 2, kvHeads: 2, headDim: 4, batch: 1, maxLength: 3 });
    const rows = new Float32Array(3 * 2 * 4);
    cache.append(0, 0, rows, rows, 3);
    assert.throws(() => cache.append(0, 0, rows, rows, 1), /sequence 0 in layer 0 would hold 4 positions, past maxLength 3/);
    assert.throws(() => cache.append(2, 0, rows, rows, 1), /layer 2 out of range/);
    assert.throws(() => cache.append(1, 1, rows, rows, 1), /sequence 1 out of range/);
    assert.throws(() => cache.append(1, 0, rows.subarray(0, 7), rows, 1), /k has 7 elements, needs 8/);
    assert.throws(() => cache.keys(0, 0, 2), /kvHead 2 out of range/);
    assert.throws(() => new KvCache({ layers: 0, kvHeads: 1, headDim: 4, batch: 1 }), /layers must be a positive integer/);
  });

  test('reset forgets one sequence and zeroes its mean; the memory is kept', () => {
    const cache = new KvCache({ layers: 1, kvHeads: 1, headDim: 4, batch: 2 });
    const row = Float32Array.from([1, 2, 3, 4]);
    cache.append(0, 0, row, row, 1);
    cache.append(0, 1, row, row, 1);
    const bytes = cache.bytes;
    cache.reset(0);
    assert.equal(cache.length(0), 0);
    assert.equal(cache.length(1), 1);
    assert.deepEqual(Array.from(cache.valueMean(0, 0, 0)), [0, 0, 0, 0]);
    assert.deepEqual(Array.from(cache.valueMean(0, 1, 0)), [1, 2, 3, 4]);
    assert.equal(cache.bytes, bytes);
    const two = Float32Array.from([3, 3, 3, 3]);
    cache.append(0, 0, two, two, 1);
    assert.deepEqual(Array.from(cache.valueMean(0, 0, 0)), [3, 3, 3, 3]);
    assert.equal(cache.keysTransposed(0, 0, 0), null);
  });
});
