// Top-k selection: known answers, ties, NaN, masks, and adversarial orders for the quickselect.

import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { SelectWork, nthLargest, topKIndices } from '../../src/attention/select.js';
import { Rng } from '../../src/tensor/rng.js';

/** Brute force: sort indices by (value desc, index asc), take k, return ascending. */
function bruteTopK(keys: ArrayLike<number>, k: number, mask?: ArrayLike<number>): number[] {
  const idx: number[] = [];
  for (let i = 0; i < keys.length; i++) if (!mask || mask[i] !== 0) idx.push(i);
  const val = (i: number): number => (Number.isNaN(keys[i]!) ? -Infinity : keys[i]!);
  idx.sort((a, b) => val(b) - val(a) || a - b);
  return idx.slice(0, k).sort((a, b) => a - b);
}

function run(keys: ArrayLike<number>, k: number, mask?: ArrayLike<number>): number[] {
  const out = new Int32Array(Math.max(k, 1));
  const n = topKIndices(keys, keys.length, k, out, new SelectWork(), mask);
  return Array.from(out.subarray(0, n));
}

describe('topKIndices', () => {
  test('known answer, ascending index order', () => {
    assert.deepEqual(run([0.1, 5, -3, 7, 2, 7], 3), [1, 3, 5]);
    assert.deepEqual(run([4, 3, 2, 1], 1), [0]);
    assert.deepEqual(run([4, 3, 2, 1], 4), [0, 1, 2, 3]);
    assert.deepEqual(run([4, 3, 2, 1], 9), [0, 1, 2, 3]);
    assert.deepEqual(run([4, 3, 2, 1], 0), []);
  });

  test('ties at the threshold go to the lower indices', () => {
    assert.deepEqual(run([1, 2, 2, 2, 0, 2], 2), [1, 2]);
    assert.deepEqual(run([5, 5, 5, 5, 5], 3), [0, 1, 2]);
  });

  test('NaN ranks as -Infinity; masked positions are never chosen', () => {
    assert.deepEqual(run([NaN, 1, NaN, -5], 2), [1, 3]);
    assert.deepEqual(run([NaN, 1, -Infinity], 2), [0, 1]); // NaN ties with -Infinity
    assert.deepEqual(run([9, 8, 7, 6], 2, [0, 1, 0, 1]), [1, 3]);
    assert.deepEqual(run([9, 8, 7, 6], 5, [0, 1, 0, 1]), [1, 3]);
  });

  test('random inputs with many duplicates match brute force', () => {
    const rng = new Rng(7);
    const work = new SelectWork();
    for (let trial = 0; trial < 300; trial++) {
      const n = 1 + rng.int(300);
      const levels = 1 + rng.int(8);
      const keys = Array.from({ length: n }, () => (rng.uniform() < 0.5 ? rng.int(levels) : rng.normal()));
      const mask = rng.uniform() < 0.3 ? Array.from({ length: n }, () => (rng.uniform() < 0.7 ? 1 : 0)) : undefined;
      const k = rng.int(n + 2);
      const out = new Int32Array(k + 1);
      const c = topKIndices(keys, n, k, out, work, mask);
      assert.deepEqual(Array.from(out.subarray(0, c)), bruteTopK(keys, k, mask), `trial ${trial}`);
    }
  });
});

describe('nthLargest', () => {
  test('sorted, reversed, constant, organ-pipe and sawtooth inputs', () => {
    const n = 5000;
    const patterns: Record<string, (i: number) => number> = {
      ascending: (i) => i,
      descending: (i) => n - i,
      constant: () => 3,
      organPipe: (i) => Math.min(i, n - i),
      sawtooth: (i) => i % 17,
      twoValues: (i) => i % 2,
    };
    for (const [name, gen] of Object.entries(patterns)) {
      const values = Float64Array.from({ length: n }, (_, i) => gen(i));
      const sorted = Array.from(values).sort((a, b) => b - a);
      for (const rank of [0, 1, 17, n >> 1, n - 2, n - 1]) {
        assert.equal(nthLargest(values.slice(), n, rank), sorted[rank], `${name} rank ${rank}`);
      }
    }
  });
});
