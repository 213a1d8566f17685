// `bench attention` at a tiny size: rows carry the fields the issue asks for, every policy at the
// settings its transfer model gives for the target, theoretical speedups from the model, oversized configurations are skipped with a note, and
// the CLI names a bad flag.

import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { type AttentionBenchRow, benchAttention } from '../../src/bench/attention.js';
import { Command } from 'commander';
import { registerBenchAttentionCommand } from '../../src/cli/commands/bench-attention.js';
import type { AttentionSpec } from '../../src/attention/policy.js';
import { transferBytes, transferModel } from '../../src/attention/transfers.js';
import { kvElementBytes } from '../../src/ops/attention-kernels.js';

describe('bench attention', () => {
  test('tiny run: JSON lines per policy with the planned settings, achieved ratio and theoretical speedup', async () => {
    const lines: string[] = [];
    const rows: AttentionBenchRow[] = await benchAttention({
      seq: [256], heads: 4, headDim: 16, batch: [1, 2], compression: [1 / 2, 1 / 8], recipes: ['even'], rounds: 1, warmup: 0, threads: 1,
      kvDType: ['f32', 'f16'], json: true, log: (line) => lines.push(line),
    });
    // Per batch and KV dtype: SparQ (K twice, once) and H2O, LM-Infinite, oracle at both ratios;
    // FlexGen at neither (it reads every key: at least about 1/2 of dense).
    assert.equal(rows.length, 2 * 2 * 2 * (2 + 3));
    const objects = lines.map((l) => JSON.parse(l) as Record<string, unknown>);
    const data = objects.filter((o) => 'seq' in o);
    assert.equal(data.length, rows.length);
    assert.ok(objects.some((o) => /flexgen at 1\/8: --compression 1\/8 is out of reach for flexgen/.test(String(o.note))), lines.join('\n'));
    for (const o of data) {
      for (const key of ['seq', 'batch', 'compression', 'kvDType', 'policy', 'kTwice', 'achievedRatio', 'denseMs', 'ms', 'speedup', 'theoreticalSpeedup', 'ofTheoretical', 'bytes', 'denseBytes', 'vsF32', 'denseVsF32']) {
        assert.ok(key in o, `missing ${key}`);
      }
    }
    for (const r of rows) {
      assert.ok(r.denseMs > 0 && r.ms > 0 && r.streamGBs > 0);
      assert.ok(r.achievedRatio <= r.compression + 1e-12, `${r.policy} ${r.achievedRatio}`);
      // Bytes by the transfer model at the cache's element size; an f32 cache's are 4 per element.
      const e = kvElementBytes(r.kvDType);
      const spec: AttentionSpec = r.policy === 'sparq'
        ? { kind: 'sparq', rank: r.rank!, topK: r.topK, localWindow: r.localWindow!, reallocation: true }
        : { kind: r.policy, topK: r.topK };
      assert.equal(r.bytes, 4 * r.batch * transferBytes(transferModel(spec, 256, 16), e));
      assert.equal(r.denseBytes, 4 * r.batch * e * (2 * 256 * 16 + 2 * 16));
      assert.ok(Math.abs(r.theoreticalSpeedup - r.denseBytes / r.bytes) < 1e-3);
      // Each field is rounded to 3 decimals: the quotient of the rounded ones agrees to ~1e-4 relative.
      const quotient = r.pairedSpeedup / r.theoreticalSpeedup;
      assert.ok(Math.abs(r.ofTheoretical - quotient) <= 1e-3 * quotient + 1e-3, `${r.ofTheoretical} ${r.pairedSpeedup} ${r.theoreticalSpeedup}`);
      if (r.kvDType === 'f32') assert.ok(Math.abs(r.theoreticalSpeedup - 1 / r.achievedRatio) < 1e-3);
      assert.ok(r.vsF32 !== null && r.vsF32 > 0 && r.denseVsF32 !== null && r.denseVsF32 > 0);
      if (r.kvDType === 'f32') assert.equal(r.vsF32, 1);
      if (r.policy === 'sparq') {
        // Even recipe at S = 256, d = 16: 1/2 -> r = 8, the largest k with 256 r + 32 k + 64 <= 4112: 62;
        // 1/8 -> r = 2, k = 14.
        const [rank, topK] = r.compression === 0.5 ? [8, 62] : [2, 14];
        assert.deepEqual([r.rank, r.topK, r.localWindow], [rank, topK, Math.floor(topK / 4)]);
        const dense = 2 * 256 * 16 + 2 * 16;
        const sparq = 256 * rank + 2 * topK * 16 + 4 * 16;
        // K and V at e bytes; the mean of V (read and written) always f32.
        assert.ok(Math.abs(r.theoreticalSpeedup - (e * dense) / (e * (sparq - 2 * 16) + 4 * 2 * 16)) < 1e-3);
      }
      if (r.policy === 'h2o') {
        // 2 k 16 + 32 + 2 * 256 <= 8224 / 8 -> k = 15 at 1/8 (its score vector counted).
        if (r.compression === 1 / 8) assert.equal(r.topK, 15);
      }
    }
  });

  test('--threads 1,2: every variant on both kernel sets in the same rounds, with the ratio to 1 thread', async () => {
    const lines: string[] = [];
    const rows = await benchAttention({
      seq: [256], heads: 4, headDim: 16, compression: [1 / 4], recipes: ['even'], attention: ['sparq', 'lm-infinite'],
      rounds: 2, warmup: 0, threads: [1, 2], json: true, log: (line) => lines.push(line),
    });
    // Per thread count: SparQ with K twice and once, LM-Infinite.
    assert.deepEqual(rows.map((r) => r.threads), [1, 1, 1, 2, 2, 2]);
    for (const r of rows) {
      assert.ok(r.vsOneThread !== null && r.vsOneThread > 0 && r.denseVsOneThread !== null && r.denseVsOneThread > 0);
      if (r.threads === 1) assert.deepEqual([r.vsOneThread, r.denseVsOneThread], [1, 1]);
      assert.equal(r.vsF32, null);
    }
    // The same plans on both: the settings and transfers do not depend on the thread count.
    const settings = (t: number): unknown[] => rows.filter((r) => r.threads === t).map((r) => [r.policy, r.rank, r.topK, r.kTwice, r.bytes]);
    assert.deepEqual(settings(2), settings(1));
    assert.ok(lines.some((l) => /1 and 2 threads \(same rounds\)/.test(l)), lines.join('\n'));
    // Without 1 thread in the run: no ratio.
    const two = await benchAttention({ seq: [64], heads: 2, headDim: 8, compression: [1 / 2], recipes: ['even'], attention: ['lm-infinite'],
      rounds: 1, warmup: 0, threads: 2, log: () => {} });
    assert.ok(two.length > 0 && two.every((r) => r.threads === 2 && r.vsOneThread === null && r.denseVsOneThread === null));
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
    await assert.rejects(program.parseAsync(['node', 'thrifty', 'bench', 'attention', '--threads', '2,2']), /--threads lists each count once/);
  });
});

describe('bench decode with the baselines', () => {
  test('every policy runs end to end on the wasm kernels at the target ratio; FlexGen out of reach is a note', async () => {
    const { benchDecode } = await import('../../src/bench/decode.js');
    const { mkdtemp, rm } = await import('node:fs/promises');
    const { tmpdir } = await import('node:os');
    const { join } = await import('node:path');
    const dir = await mkdtemp(join(tmpdir(), 'thrifty-bench-decode-'));
    const lines: string[] = [];
    try {
      const rows = await benchDecode({
        seq: [300], batch: [1], hiddenSize: 64, heads: 2, layers: 2, intermediateSize: 96, vocabSize: 300, compression: 1 / 4,
        attention: ['h2o', 'lm-infinite', 'flexgen', 'oracle'], steps: 2, rounds: 1, threads: 1, peer: false, json: true,
        ggufPath: join(dir, 'tiny.gguf'), log: (line) => lines.push(line),
      });
      assert.deepEqual(rows.map((r) => r.engine), ['thrifty-dense', 'thrifty-h2o', 'thrifty-lm-infinite', 'thrifty-oracle']);
      assert.ok(lines.some((l) => /out of reach for flexgen.*flexgen skipped/.test(l)), lines.join('\n'));
      for (const r of rows.slice(1)) {
        // Counted over the timed steps (a few positions past 300): at most the target, near it.
        assert.ok(r.attentionRatio! <= 0.25 + 1e-3 && r.attentionRatio! > 0.2, `${r.engine}: ${r.attentionRatio}`);
        assert.ok(r.topK! > 0 && r.msPerStep > 0);
      }
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
