// A seeded slice of the fuzzing harness (npm run fuzz runs the full table): every format's
// mutated inputs, loaded in child processes with the heap and time limits, must end in a clean
// error naming the file or in a harmless load; never a hang, a crash, a generic error or a
// silently wrong result.

import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';

import { applyMutations, mutationsFor } from '../../src/node/fuzz/mutate.js';
import { BAD_OUTCOMES, formatFuzzTable, minimizeAndSave, runFuzz, type FuzzReport } from '../../src/node/fuzz/runner.js';
import { FUZZ_FORMATS, fuzzSeed, type FuzzFormat } from '../../src/node/fuzz/seeds.js';

const SLICE: Readonly<Record<FuzzFormat, number>> = {
  gguf: 150,
  safetensors: 150,
  llama2c: 150,
  'llama2c-tokenizer': 150,
  'tokenizer-json': 150,
  'vocab-txt': 100,
  'config-json': 150,
  checkpoint: 150,
};
const CHECKED: readonly FuzzFormat[] = FUZZ_FORMATS;

describe('fuzzing harness', () => {
  it('draws the same mutations for the same (seed, index), different ones otherwise', () => {
    const seed = fuzzSeed('gguf');
    assert.deepEqual(mutationsFor(seed, 5, 17), mutationsFor(seed, 5, 17));
    assert.deepEqual(applyMutations(seed, mutationsFor(seed, 5, 17)), applyMutations(seed, mutationsFor(seed, 5, 17)));
    assert.notDeepEqual(mutationsFor(seed, 5, 17), mutationsFor(seed, 5, 18));
    assert.notDeepEqual(mutationsFor(seed, 5, 17), mutationsFor(seed, 6, 17));
  });

  it('splices deep nesting into JSON without recursing', () => {
    const seed = fuzzSeed('tokenizer-json');
    const bytes = applyMutations(seed, [{ kind: 'json', path: ['normalizer'], value: { deep: 100000, array: false } }]);
    const text = new TextDecoder().decode(bytes);
    assert.ok(text.includes('{"type":"Sequence","normalizers":['.repeat(1000)));
    assert.ok(bytes.length > 100000 * 30);
  });

  it('classifies a child that outlives its time limit as a hang and one that dies as a crash', async () => {
    // The seed is loaded first as a check of the harness itself, so these limits fail it there.
    await assert.rejects(runFuzz({ format: 'gguf', count: 1, seed: 1, timeoutMs: 1 }), /the gguf seed itself does not load \(hang: no result within 1 ms\)/);
    await assert.rejects(runFuzz({ format: 'vocab-txt', count: 1, seed: 1, heapMb: 1 }), /the vocab-txt seed itself does not load \(crash: child exited/);
  });

  const reports: FuzzReport[] = [];
  for (const format of CHECKED) {
    it(`${format}: ${SLICE[format]} mutated inputs end in clean errors or harmless loads`, async () => {
      const report = await runFuzz({ format, count: SLICE[format], seed: 20261202, jobs: 1 });
      reports.push(report);
      const bad = report.failures.map((f) => `#${f.index} ${f.outcome}: ${f.message}`);
      assert.deepEqual(bad, []);
      for (const o of BAD_OUTCOMES) assert.equal(report.counts[o], 0);
      assert.equal(report.counts.clean + report.counts.harmless, SLICE[format]);
      // The slice exercises both paths, so a loader that rejects everything would show (a
      // checkpoint is the exception: every changed byte of it is corruption, caught by its CRCs).
      assert.ok(report.counts.clean > 0 && (report.counts.harmless > 0 || format === 'checkpoint'), JSON.stringify(report.counts));
    });
  }

  it('minimizes a case by dropping operations that do not matter, and saves it to replay', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'thrifty-fuzz-save-'));
    try {
      const seed = fuzzSeed('llama2c');
      // A flip in the last weight is harmless; n_layers = 2^31 - 1 is what fails (cleanly): the minimizer keeps only it.
      const ops = [
        { kind: 'flip', at: seed.bytes.length - 2, bit: 3 },
        { kind: 'int', at: 8, width: 4, value: '2147483647' },
        { kind: 'flip', at: seed.bytes.length - 9, bit: 1 },
      ] as const;
      const saved = await minimizeAndSave(seed, { index: 7, outcome: 'clean', message: '', ops }, join(dir, 'work'), join(dir, 'saved'), { timeoutMs: 5000, heapMb: 512 });
      assert.deepEqual(saved.ops, [ops[1]]);
      assert.match(saved.message, /model\.bin: the header \(.*n_layers 2147483647/);
      const replay = JSON.parse(await readFile(join(saved.savedTo!, 'case.json'), 'utf8')) as { ops: unknown[]; outcome: string; format: string };
      assert.deepEqual(replay, { format: 'llama2c', index: 7, outcome: 'clean', message: saved.message, ops: [ops[1]] });
      assert.deepEqual(new Uint8Array(await readFile(join(saved.savedTo!, 'model.bin'))), applyMutations(seed, [ops[1]]));
      assert.match(formatFuzzTable(reports), /^\| format \| inputs \| clean error \| harmless \| generic deep error \| hang > 5 s \| crash \/ out of memory \| accepted but wrong \|/);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
