// `thrifty bench train` at a tiny size: one row per thread count, tokens/s consistent with the step
// time, every line JSON, and no PyTorch row without the peer.

import assert from 'node:assert/strict';
import { test } from 'node:test';

import { benchTrain } from '../../src/bench/train.js';

test('bench train: a row per thread count for BERT and GroupBERT (tiny size, JSON lines)', async () => {
  for (const arch of ['bert', 'groupbert'] as const) {
    const lines: string[] = [];
    const rows = await benchTrain({ arch, size: 'micro-xs', batch: 2, seq: 16, vocabSize: 97, threads: [1, 2], steps: 2, rounds: 1, peer: false, json: true, log: (line) => lines.push(line) });
    assert.deepEqual(rows.map((r) => [r.impl, r.arch, r.threads, r.steps]), [['thrifty', arch, 1, 2], ['thrifty', arch, 2, 2]]);
    for (const r of rows) {
      assert.ok(r.ms > 0 && Number.isFinite(r.ms));
      assert.ok(Math.abs(r.tokensPerSecond - (2 * 16 * 1000) / r.ms) < 1e-6);
      assert.equal(r.ratioToPeer, null);
      assert.match(r.backend, /^wasm .*, [12] threads?$/);
    }
    assert.equal(lines.length, 3, 'the note and two rows');
    assert.match(JSON.parse(lines[0]!).note, /no PyTorch peer: disabled with --no-peer/);
    for (const line of lines.slice(1)) assert.equal(JSON.parse(line).impl, 'thrifty');
  }
});
