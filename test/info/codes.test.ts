import assert from 'node:assert/strict';
import { test } from 'node:test';

import { pairIds, rowIds } from '../../src/info/codes.js';
import { entropyFromCounts, entropyOfIds, millerMadowEntropyBias, mutualInformationOfIds } from '../../src/info/entropy.js';
import { Rng } from '../../src/tensor/rng.js';

/** Reference: ids by first appearance using string keys. */
function idsByString(codes: Uint8Array, n: number, width: number): Int32Array {
  const seen = new Map<string, number>();
  return Int32Array.from({ length: n }, (_, i) => {
    const key = Array.from(codes.subarray(i * width, (i + 1) * width)).join(',');
    let id = seen.get(key);
    if (id === undefined) seen.set(key, (id = seen.size));
    return id;
  });
}

test('rowIds numbers distinct rows by first appearance, as a string-keyed map does', () => {
  const rng = new Rng(1);
  const n = 5000;
  const width = 12;
  const codes = Uint8Array.from({ length: n * width }, () => rng.int(3));
  const { ids, count } = rowIds(codes, n, width);
  const expected = idsByString(codes, n, width);
  assert.deepEqual(Array.from(ids), Array.from(expected));
  assert.equal(count, Math.max(...expected) + 1);
});

test('rowIds is collision-safe: rows that share a hash keep distinct ids', () => {
  const rng = new Rng(2);
  const n = 700;
  const width = 5;
  const codes = Uint8Array.from({ length: n * width }, () => rng.int(4));
  const expected = idsByString(codes, n, width);
  for (const hash of [() => 42, (c: ArrayLike<number>, s: number) => c[s]!]) {
    const { ids } = rowIds(codes, n, width, { hash });
    assert.deepEqual(Array.from(ids), Array.from(expected));
  }
});

test('72-bit codes: rows that agree in their first 53 bits are still told apart', () => {
  // 12 units x 6 bits: rows differing only in the last unit.
  const width = 12;
  const n = 64;
  const codes = new Uint8Array(n * width).fill(63);
  for (let i = 0; i < n; i++) codes[i * width + width - 1] = i;
  assert.equal(rowIds(codes, n, width).count, n);
});

test('entropies: uniform, deterministic, Miller-Madow bias and pair ids', () => {
  assert.ok(Math.abs(entropyFromCounts([1, 1, 1, 1]) - 2) < 1e-15);
  assert.equal(entropyFromCounts([0, 5, 0]), 0);
  assert.ok(Math.abs(entropyFromCounts([1, 3]) - 0.8112781244591328) < 1e-15);
  assert.ok(Math.abs(millerMadowEntropyBias(11, 100) + 10 / (200 * Math.LN2)) < 1e-15);
  const a = Int32Array.from([0, 0, 1, 1, 2, 2, 3, 3]);
  const b = Int32Array.from([0, 1, 0, 1, 0, 1, 0, 1]);
  assert.equal(entropyOfIds(pairIds(a, 4, b, 2).ids, 8), 3);
  assert.equal(mutualInformationOfIds(a, 4, b, 2), 0);
  assert.ok(Math.abs(mutualInformationOfIds(a, 4, a, 4) - 2) < 1e-15);
});
