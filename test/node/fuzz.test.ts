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
import { BAD_OUTCOMES, formatFuzzTable, runFuzz, type FuzzReport } from '../../src/node/fuzz/runner.js';
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
const CHECKED: readonly FuzzFormat[] = FUZZ_FORMATS.filter((f) => f !== 'checkpoint');

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
      // The slice exercises both paths, so a loader that rejects everything would show.
      assert.ok(report.counts.clean > 0 && report.counts.harmless > 0, JSON.stringify(report.counts));
    });
  }

  it('saves minimized failing cases that replay to the same outcome', async () => {
    // Before checkpoints carried checksums, data corruptions were accepted: the harness must find
    // and save such a case; with checksums this format has none, so this asserts only the table.
    const dir = await mkdtemp(join(tmpdir(), 'thrifty-fuzz-save-'));
    try {
      const report = await runFuzz({ format: 'checkpoint', count: 30, seed: 3, jobs: 1, saveDir: dir, maxSaved: 2 });
      for (const f of report.failures.filter((x) => x.savedTo)) {
        const saved = JSON.parse(await readFile(join(f.savedTo!, 'case.json'), 'utf8')) as { ops: unknown[]; outcome: string };
        assert.equal(saved.outcome, f.outcome);
        assert.ok(saved.ops.length >= 1 && saved.ops.length <= f.ops.length);
      }
      assert.match(formatFuzzTable([report]), /^\| format \| inputs \| clean error \| harmless \| generic deep error \| hang > 5 s \| crash \/ out of memory \| accepted but wrong \|/);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
