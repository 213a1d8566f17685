// `thrifty bench decode` at a tiny size: it writes its random-weight GGUF, loads it through the
// generate path, and reports dense and SparQ rows whose ratios follow from the same run.

import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';

import { benchDecode } from '../../src/bench/decode.js';

test('bench decode: dense and SparQ rows with consistent ratios (tiny model, JSON lines)', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'thrifty-bench-decode-'));
  const lines: string[] = [];
  try {
    const rows = await benchDecode({
      seq: [300], batch: [1, 2], hiddenSize: 64, heads: 2, layers: 2, intermediateSize: 96, vocabSize: 300,
      steps: 2, rounds: 2, threads: 1, peer: false, json: true, ggufPath: join(dir, 'tiny.gguf'), log: (line) => lines.push(line),
    });
    assert.equal(rows.length, 4);
    for (const line of lines) JSON.parse(line); // every line is JSON
    for (const batch of [1, 2]) {
      const dense = rows.find((r) => r.engine === 'thrifty-dense' && r.batch === batch)!;
      const sparq = rows.find((r) => r.engine === 'thrifty-sparq' && r.batch === batch)!;
      assert.equal(dense.speedupVsDense, 1);
      assert.ok(Math.abs(sparq.speedupVsDense! - dense.msPerStep / sparq.msPerStep) < 1e-9);
      assert.ok(Math.abs(dense.tokensPerSecond - (batch * 1000) / dense.msPerStep) < 1e-6);
      // SparQ moves fewer cache elements, so in theory it is faster.
      assert.ok(sparq.attentionRatio! < 1 && sparq.theoreticalSpeedup! > 1, JSON.stringify(sparq));
      assert.ok(sparq.rank! > 0 && sparq.topK! > 0);
    }
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
