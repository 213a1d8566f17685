// Samplers: greedy is the first maximum; a seed fixes the draws; draws follow softmax(logits / T)
// restricted by top-k and top-p.

import assert from 'node:assert/strict';
import { test } from 'node:test';

import { argmaxIndex, Sampler } from '../../src/generate/sampler.js';

const LOGITS = Float32Array.from([1.0, 3.0, 0.5, 3.0, -2.0, 2.0]);

/** Empirical frequencies of n draws. */
function frequencies(sampler: Sampler, logits: Float32Array, n: number): number[] {
  const counts = new Array<number>(logits.length).fill(0);
  for (let i = 0; i < n; i++) counts[sampler.sample(logits)]!++;
  return counts.map((c) => c / n);
}

function softmax(logits: ArrayLike<number>, temperature: number, keep: (i: number) => boolean = () => true): number[] {
  const e = Array.from(logits, (x, i) => (keep(i) ? Math.exp(x / temperature) : 0));
  const total = e.reduce((a, b) => a + b, 0);
  return e.map((x) => x / total);
}

test('greedy (temperature 0) takes the first maximum, as llama2.c', () => {
  assert.equal(argmaxIndex(LOGITS), 1);
  const sampler = new Sampler({ temperature: 0, seed: 5 });
  for (let i = 0; i < 5; i++) assert.equal(sampler.sample(LOGITS), 1);
  assert.equal(new Sampler({ temperature: 1, topK: 1 }).sample(LOGITS), 1);
});

test('the same seed gives the same draws; another seed other draws', () => {
  const draw = (seed: number): number[] => {
    const s = new Sampler({ temperature: 1, seed });
    return Array.from({ length: 40 }, () => s.sample(LOGITS));
  };
  assert.deepEqual(draw(7), draw(7));
  assert.notDeepEqual(draw(7), draw(8));
});

test('draws follow softmax(logits / T) (20k draws, within 0.015)', () => {
  for (const temperature of [1, 0.5, 2]) {
    const got = frequencies(new Sampler({ temperature, seed: 1 }), LOGITS, 20000);
    const want = softmax(LOGITS, temperature);
    got.forEach((p, i) => assert.ok(Math.abs(p - want[i]!) < 0.015, `T=${temperature} token ${i}: ${p} vs ${want[i]}`));
  }
});

test('top-k keeps the k most likely tokens, renormalised', () => {
  const got = frequencies(new Sampler({ temperature: 1, topK: 3, seed: 2 }), LOGITS, 20000);
  const want = softmax(LOGITS, 1, (i) => i === 1 || i === 3 || i === 5);
  got.forEach((p, i) => assert.ok(Math.abs(p - want[i]!) < 0.015, `token ${i}: ${p} vs ${want[i]}`));
  assert.equal(got[0], 0);
  assert.equal(got[4], 0);
});

test('top-p keeps the smallest most-likely set reaching p (the token crossing p included)', () => {
  // softmax(LOGITS): tokens 1 and 3 hold 0.386 each, token 5 0.142: p = 0.75 keeps {1, 3}; p = 0.8 adds 5.
  const p = softmax(LOGITS, 1);
  assert.ok(p[1]! + p[3]! > 0.75 && p[1]! + p[3]! < 0.8);
  const two = frequencies(new Sampler({ temperature: 1, topP: 0.75, seed: 3 }), LOGITS, 4000);
  assert.equal(two[0]! + two[2]! + two[4]! + two[5]!, 0);
  assert.ok(Math.abs(two[1]! - 0.5) < 0.03);
  const three = frequencies(new Sampler({ temperature: 1, topP: 0.8, seed: 3 }), LOGITS, 20000);
  const want = softmax(LOGITS, 1, (i) => i === 1 || i === 3 || i === 5);
  three.forEach((f, i) => assert.ok(Math.abs(f - want[i]!) < 0.015, `token ${i}: ${f} vs ${want[i]}`));
});

test('bad settings and logits are refused, naming the setting', () => {
  assert.throws(() => new Sampler({ temperature: -1 }), /temperature/);
  assert.throws(() => new Sampler({ topP: 0 }), /top-p/);
  assert.throws(() => new Sampler({ topK: 1.5 }), /top-k/);
  assert.throws(() => new Sampler({ temperature: 1 }).sample(Float32Array.from([NaN, NaN])), /finite/);
});
