// The ratio planner: the paper recipe and the even split, clamping, and the flag parsers.

import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { attentionSpecFromSettings, parseCompression, planCompression } from '../../src/attention/planner.js';

describe('planCompression', () => {
  test('paper recipe: k = 128, l = 32, r from {8, 16, 32, 64} nearest the target', () => {
    const shape = { headDim: 128, seqLen: 16384 };
    assert.deepEqual(
      { ...planCompression(1 / 8, shape, 'paper'), achievedRatio: 0 },
      { rank: 32, topK: 128, localWindow: 32, achievedRatio: 0 },
    );
    assert.equal(planCompression(1 / 2, shape, 'paper').rank, 64);
    assert.equal(planCompression(1 / 4, shape, 'paper').rank, 64);
    assert.equal(planCompression(1 / 16, shape, 'paper').rank, 16);
    // (S r + 2 k d + 4 d) / (2 S d + 2 d) at r = 32, k = 128.
    const p = planCompression(1 / 8, shape, 'paper');
    assert.equal(p.achievedRatio, (16384 * 32 + 2 * 128 * 128 + 4 * 128) / (2 * 16384 * 128 + 2 * 128));
  });

  test('even split: r = d/R, k = S/(2R), l = k/4; 1/8 at S = 16384 gives ~7.99x fewer transfers', () => {
    const p = planCompression(1 / 8, { headDim: 128, seqLen: 16384 }, 'even');
    assert.deepEqual({ rank: p.rank, topK: p.topK, localWindow: p.localWindow }, { rank: 16, topK: 1024, localWindow: 256 });
    assert.ok(Math.abs(1 / p.achievedRatio - 7.9927) < 1e-3, `${1 / p.achievedRatio}`);
  });

  test('clamps to the head dim and the sequence length', () => {
    assert.equal(planCompression(1 / 2, { headDim: 16, seqLen: 4096 }, 'paper').rank, 16);
    const short = planCompression(1 / 8, { headDim: 64, seqLen: 50 }, 'paper');
    assert.equal(short.topK, 50);
    const tiny = planCompression(1 / 64, { headDim: 8, seqLen: 10 }, 'even');
    assert.equal(tiny.rank, 1);
    assert.equal(tiny.topK, 1);
    assert.throws(() => planCompression(0, { headDim: 8, seqLen: 10 }), /target must be in \(0, 1\]/);
    assert.throws(() => planCompression(2, { headDim: 8, seqLen: 10 }), /target must be in \(0, 1\]/);
  });
});

describe('settings', () => {
  test('parseCompression accepts 1/R and decimals and names the flag', () => {
    assert.equal(parseCompression('1/8'), 0.125);
    assert.equal(parseCompression(' 0.25 '), 0.25);
    assert.equal(parseCompression('1/2.5'), 0.4);
    assert.throws(() => parseCompression('8'), /--compression expects a fraction in \(0, 1\]/);
    assert.throws(() => parseCompression('abc', '--ratio'), /--ratio expects/);
    assert.throws(() => parseCompression(''), /--compression/);
  });

  test('attentionSpecFromSettings: explicit r/k win, else the planner; baselines get k = S x ratio', () => {
    const shape = { headDim: 64, seqLen: 1000 };
    assert.deepEqual(attentionSpecFromSettings({}, shape), { kind: 'dense' });
    assert.deepEqual(attentionSpecFromSettings({ attention: 'sparq', rank: 8, topK: 40 }, shape),
      { kind: 'sparq', rank: 8, topK: 40, localWindow: 10 });
    assert.deepEqual(attentionSpecFromSettings({ attention: 'sparq', compression: 1 / 4, recipe: 'even', reallocation: false }, shape),
      { kind: 'sparq', rank: 16, topK: 125, localWindow: 31, reallocation: false });
    assert.deepEqual(attentionSpecFromSettings({ attention: 'h2o', compression: 1 / 8 }, shape), { kind: 'h2o', topK: 125 });
    assert.deepEqual(attentionSpecFromSettings({ attention: 'lm-infinite', topK: 64 }, shape), { kind: 'lm-infinite', topK: 64 });
    assert.throws(() => attentionSpecFromSettings({ attention: 'sparse' }, shape), /--attention must be one of dense, sparq/);
  });
});
