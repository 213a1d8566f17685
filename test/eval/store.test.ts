import assert from 'node:assert/strict';
import { appendFile, mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';

import { achievedRatio, cellKey, type EvalCell, type EvalRecord } from '../../src/eval/records.js';
import { EvalStore } from '../../src/node/eval-store.js';

const cell: EvalCell = { model: 'models/default', task: 'repetition', method: 'sparq-paper', compression: 1 / 8, variant: '', seed: 0 };

function record(index: number, overrides: Partial<EvalRecord> = {}): EvalRecord {
  const transfers = { steps: 10, elements: 100, denseElements: 800 };
  return {
    ...cell, sampleId: `s${index}`, index, prefillTokens: 300, generatedTokens: 11, output: 'out',
    score: index, achievedRatio: achievedRatio(transfers), transfers, seconds: 0.5, ...overrides,
  };
}

describe('eval records and the resumable store', () => {
  it('names cells safely and records the achieved ratio', () => {
    assert.equal(cellKey(cell), 'models_default__repetition__sparq-paper__1-8__seed0');
    assert.equal(cellKey({ ...cell, compression: 0.3, variant: 'confusion 15' }), 'models_default__repetition.confusion_15__sparq-paper__0.3__seed0');
    assert.equal(record(0).achievedRatio, 0.125);
    assert.equal(achievedRatio({ steps: 0, elements: 0, denseElements: 0 }), null);
  });

  it('appends, reads back, skips what is done, and survives a torn last line', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'thrifty-eval-'));
    try {
      const store = new EvalStore(join(dir, 'runs'));
      assert.deepEqual(await store.read(cell), []);
      await store.append(record(0));
      await store.append(record(1));
      assert.deepEqual(await store.read(cell), [record(0), record(1)]);
      assert.deepEqual([...(await store.done(cell))], [0, 1]);
      assert.equal(await store.isComplete(cell, 2), true);
      assert.equal(await store.isComplete(cell, 3), false);
      // A crash mid-write leaves a partial line: ignored on read, cut off before the next append.
      await appendFile(store.pathOf(cell), '{"model": "models/def');
      assert.equal((await store.read(cell)).length, 2);
      await store.append(record(2));
      assert.deepEqual((await store.read(cell)).map((r) => r.index), [0, 1, 2]);
      assert.equal((await readFile(store.pathOf(cell), 'utf8')).split('\n').length, 4);
      // Another cell's record in this file, or a broken line, is an error naming the file and line.
      await appendFile(store.pathOf(cell), `${JSON.stringify({ ...record(3), method: 'h2o' })}\n`);
      await assert.rejects(store.read(cell), /line 4: field 'method' is "h2o", this cell's is "sparq-paper"/);
      await assert.rejects(store.append({ ...record(5), score: Number.NaN as unknown as number, output: 3 as unknown as string }), /record to append: field 'output' must be a string/);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
