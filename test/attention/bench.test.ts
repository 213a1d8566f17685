// `bench attention` at a tiny size: rows carry the fields the issue asks for, the transfer-based
// theoretical speedups follow the formulas, oversized configurations are skipped with a note, and
// the CLI names a bad flag.

import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { type AttentionBenchRow, benchAttention } from '../../bench/attention.js';
import { Command } from 'commander';
import { registerBenchAttentionCommand } from '../../src/cli/commands/bench-attention.js';

describe('bench attention', () => {
  test('tiny run: JSON lines with seq, batch, compression, kTwice, denseMs, sparqMs, speedup, theoreticalSpeedup', async () => {
    const lines: string[] = [];
    const rows: AttentionBenchRow[] = await benchAttention({
      seq: [256], heads: 4, headDim: 16, batch: [1, 2], compression: [1 / 2, 1 / 8], recipes: ['even'], rounds: 1, warmup: 0, threads: 1,
      json: true, log: (line) => lines.push(line),
    });
    assert.equal(rows.length, 2 * 2 * 2); // batch x compression x kTwice
    const objects = lines.map((l) => JSON.parse(l) as Record<string, unknown>);
    const data = objects.filter((o) => 'seq' in o);
    assert.equal(data.length, rows.length);
    for (const o of data) {
      for (const key of ['seq', 'batch', 'compression', 'kTwice', 'denseMs', 'sparqMs', 'speedup', 'theoreticalSpeedup']) {
        assert.ok(key in o, `missing ${key}`);
      }
    }
    for (const r of rows) {
      assert.ok(r.denseMs > 0 && r.sparqMs > 0 && r.streamGBs > 0);
      // Even recipe at S = 256, d = 16: 1/2 -> r = 8, the largest k with 256 r + 32 k + 64 <= 4112: 62;
      // 1/8 -> r = 2, k = 14.
      const [rank, topK] = r.compression === 0.5 ? [8, 62] : [2, 14];
      assert.deepEqual([r.rank, r.topK, r.localWindow], [rank, topK, Math.floor(topK / 4)]);
      const dense = 2 * 256 * 16 + 2 * 16;
      const sparq = 256 * rank + 2 * topK * 16 + 4 * 16;
      assert.ok(Math.abs(r.theoreticalSpeedup - dense / sparq) < 1e-3);
    }
  });

  test('configurations over the memory limit are skipped with a note', async () => {
    const lines: string[] = [];
    const rows = await benchAttention({
      seq: [4096], heads: 4, headDim: 16, compression: [1 / 4], rounds: 1, warmup: 0, threads: 1,
      maxMemoryBytes: 1 << 20, log: (line) => lines.push(line),
    });
    assert.equal(rows.length, 0);
    assert.ok(lines.some((l) => /skipped seq 4096 batch 1: its cache needs .* GiB/.test(l)), lines.join('\n'));
  });

  test('the CLI rejects a bad --compression, naming the flag', async () => {
    const program = new Command().exitOverride();
    registerBenchAttentionCommand(program);
    for (const c of program.commands) c.exitOverride();
    const bench = program.commands.find((c) => c.name() === 'bench')!;
    for (const c of bench.commands) c.exitOverride().configureOutput({ writeErr: () => {} });
    await assert.rejects(program.parseAsync(['node', 'thrifty', 'bench', 'attention', '--compression', '8']), /--compression expects fractions in \(0, 1\]/);
  });
});
