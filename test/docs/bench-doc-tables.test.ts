// README's benchmark tables are drawn from bench records: known records give known tables, the
// provenance line says where and under what load they were measured, and bad records are errors
// naming the record.

import assert from 'node:assert/strict';
import { test } from 'node:test';

import { provenance, renderAttention, renderDecode, renderMatmul, renderTrain, type BenchRecord } from '../../src/report/bench-doc-tables.js';

function benchRecord(name: string, lines: unknown[], load: { before: number | null; after: number | null } = { before: 0.5, after: 2.5 }): BenchRecord {
  return {
    name, command: `npm run bench:record -- ${name}`, benchCommand: `node bin/thrifty.js bench ${name} --json`, date: '2026-12-02T12:00:00.000Z',
    machine: { cpu: 'Test CPU', cores: 2, node: 'v20.20.2' }, load, seconds: 1, lines,
  };
}

test('decode: one row per format and length; ratios computed from the rows, theoretical carried', () => {
  const row = (engine: string, seq: number, tps: number, theoretical: number | null = 1) => ({ engine, seq, batch: 1, tokensPerSecond: tps, theoreticalSpeedup: theoretical });
  const f32 = benchRecord('decode-f32', [{ note: 'x' }, row('thrifty-dense', 4096, 30), row('thrifty-sparq', 4096, 45, 1.5), row('llama.cpp', 4096, 40, null)]);
  const q8 = benchRecord('decode-q8_0', [row('thrifty-dense', 4096, 60), row('thrifty-sparq', 4096, 66, 1.4)]);
  const table = renderDecode([f32, q8], ['decode-f32', 'decode-q8_0']);
  assert.match(table, /\| F32 \| 4096 \| 30\.0 \| 45\.0 \| 40\.0 \| 1\.50x \(1\.50x\) \| 0\.75 \|/);
  // No peer row: the peer's cells are '-', not invented.
  assert.match(table, /\| Q8_0 \| 4096 \| 60\.0 \| 66\.0 \| - \| 1\.10x \(1\.40x\) \| - \|/);
  assert.match(table, /Regenerate with `npm run bench:record -- decode-f32`, `npm run bench:record -- decode-q8_0`/);
  assert.doesNotMatch(table, /saved and loaded/);
});

test('decode: 64k records add rows per format; a loaded llama.cpp cache is named with the run that prefilled it', () => {
  const row = (engine: string, tps: number, extra: Record<string, unknown> = {}) => ({ engine, seq: 65536, batch: 1, tokensPerSecond: tps, theoreticalSpeedup: 1, ...extra });
  const f32 = benchRecord('decode-64k-f32', [row('thrifty-dense', 8), row('thrifty-sparq', 30), row('llama.cpp', 5, { prefill: 'saved', prefillSeconds: 3 })]);
  const q4 = benchRecord('decode-64k-q4_0', [row('thrifty-dense', 10), row('thrifty-sparq', 40), row('llama.cpp', 6, { prefill: 'real', prefillSeconds: 612.4 })]);
  const table = renderDecode([f32, q4], ['decode-64k-f32', 'decode-64k-q4_0']);
  assert.match(table, /\| F32 \| 65536 \| 8\.0 \| 30\.0 \| 5\.0 \| 3\.75x \(1\.00x\) \| 1\.60 \|/);
  assert.match(table, /\| Q4_0 \| 65536 \| 10\.0 \| 40\.0 \| 6\.0 \|/);
  assert.match(table, /cache of 65536 positions: a real prefill of the Q4_0 file in 612 s, saved and loaded by the F32 runs/);
});

test('attention: the summary keeps one target ratio; K stored once or twice is shown for SparQ only', () => {
  const base = { seq: 4096, batch: 1, heads: 32, kvHeads: 32, headDim: 128, denseMs: 3, theoreticalSpeedup: 8, denseGBs: 40, streamGBs: 50 };
  const record = benchRecord('attention', [
    { ...base, compression: 0.125, policy: 'sparq', recipe: 'paper', rank: 23, topK: 128, kTwice: true, achievedRatio: 0.122, ms: 1.5, speedup: 2 },
    { ...base, compression: 0.125, policy: 'h2o', recipe: null, rank: null, topK: 479, kTwice: false, achievedRatio: 0.125, ms: 2, speedup: 1.5 },
    { ...base, compression: 0.25, policy: 'sparq', recipe: 'even', rank: 32, topK: 510, kTwice: true, achievedRatio: 0.25, ms: 2.5, speedup: 1.2 },
  ]);
  const summary = renderAttention(record, 0.125);
  assert.match(summary, /\| 4096 \| 1\/8 \| sparq \| paper \| 23 \| 128 \| twice \| 0\.122 \| 3\.00 \| 1\.50 \| 2\.00x \| 8\.00x \|/);
  assert.match(summary, /\| 4096 \| 1\/8 \| h2o \| - \| - \| 479 \| - \|/);
  assert.doesNotMatch(summary, /1\/4/);
  assert.match(renderAttention(record), /1\/4 \| sparq \| even/);
  assert.match(summary, /read the cache at 40\.0 GB\/s against a streaming rate of 50\.0 GB\/s/);
});

test('matmul: GFLOP/s for matmul, GB/s for gemv, the ratio to onnxruntime only where it ran', () => {
  const record = benchRecord('matmul', [
    { kernel: 'wasm-relaxed', op: 'matmul', shape: '8 x 8 x 8', threads: 1, gflops: 40, gbps: null },
    { kernel: 'onnxruntime', op: 'matmul', shape: '8 x 8 x 8', threads: 1, gflops: 80, gbps: null },
    { kernel: 'wasm', op: 'gemv', shape: '8 x 8 x 1', threads: 1, gflops: 1, gbps: 20 },
  ]);
  const table = renderMatmul(record);
  assert.match(table, /\| matmul 8 x 8 x 8 \| 1 \| GFLOP\/s \| - \| - \| 40\.0 \| 80\.0 \| 0\.50 \|/);
  assert.match(table, /\| gemv 8 x 8 x 1 \| 1 \| GB\/s \| - \| 20\.0 \| - \| - \| - \|/);
});

test('train: thrifty against PyTorch per thread count', () => {
  const row = (impl: string, threads: number, tps: number) => ({ impl, arch: 'bert', size: 'mini', batch: 8, seq: 128, threads, tokensPerSecond: tps });
  const table = renderTrain([benchRecord('train-bert', [row('thrifty', 1, 700), row('pytorch', 1, 140), row('thrifty', 2, 900)])], ['train-bert']);
  assert.match(table, /\| bert \| mini, 8 x 128 \| 1 \| 700 \| 140 \| 5\.00 \|/);
  assert.match(table, /\| bert \| mini, 8 x 128 \| 2 \| 900 \| - \| - \|/);
});

test('provenance: date, machine, load, and the conditions when the load was not recorded', () => {
  assert.match(provenance([benchRecord('memory', [])]), /Recorded 2026-12-02 on Test CPU \(2 cores\), Node 20\.20\.2; 1-minute load 0\.5 before, 2\.5 after\. Regenerate with `npm run bench:record -- memory`/);
  const quiet = { ...benchRecord('memory', [], { before: null, after: null }), conditions: 'no other work on the machine' };
  assert.match(provenance([quiet]), /; no other work on the machine\./);
});

test('a record without its lines or machine is an error naming it', () => {
  assert.throws(() => renderMatmul({ name: 'matmul' }), /docs\/records\/bench\/matmul\.json: field 'lines' is missing/);
  assert.throws(() => renderMatmul({ lines: [], command: 'c', benchCommand: 'b', date: 'd' }), /docs\/records\/bench\/matmul\.json: field 'machine.cpu' is missing/);
});
