// Transfer accounting in bytes: K and V elements at the cache's element size (f32 4, f16 2), the
// running mean of V and H2O's scores in f32, for the model and the counters alike.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';

import { TransferCounters, transferBytes, transferModel, transferTotal } from '../../src/attention/transfers.js';

const S = 4096;
const d = 64;

describe('transfer bytes', () => {
  it('dense moves 4 bytes per element from an f32 cache and 2 from an f16 one', () => {
    const model = transferModel({ kind: 'dense' }, S, d);
    assert.equal(transferBytes(model, 4), 4 * transferTotal(model));
    assert.equal(transferBytes(model, 2), 2 * (2 * S * d + 2 * d));
  });

  it("SparQ's mean of V and H2O's scores stay f32 in an f16 cache", () => {
    const sparq = transferModel({ kind: 'sparq', rank: 8, topK: 128 }, S, d);
    assert.equal(transferBytes(sparq, 2), 2 * (S * 8 + 2 * 128 * d + 2 * d) + 4 * (2 * d));
    const noMean = transferModel({ kind: 'sparq', rank: 8, topK: 128, reallocation: false }, S, d);
    assert.equal(transferBytes(noMean, 2), 2 * transferTotal(noMean));
    const h2o = transferModel({ kind: 'h2o', topK: 512 }, S, d);
    assert.equal(transferBytes(h2o, 2), 2 * (2 * 512 * d + 2 * d) + 4 * (2 * S));
  });

  it('the counters report bytes per step as the model gives them', () => {
    for (const bytes of [2, 4]) {
      const counters = new TransferCounters(2, 3, bytes);
      const spec = { kind: 'sparq', rank: 4, topK: 64 } as const;
      for (let layer = 0; layer < 2; layer++) {
        for (let h = 0; h < 3; h++) {
          counters.beginStep(layer, h, S, d);
          counters.addModel(layer, h, transferModel(spec, S, d));
        }
      }
      const summary = counters.summary();
      assert.equal(summary.steps, 1);
      assert.equal(summary.totalBytesPerStep, 6 * transferBytes(transferModel(spec, S, d), bytes));
      assert.equal(summary.denseBytesPerStep, 6 * transferBytes(transferModel({ kind: 'dense' }, S, d), bytes));
      assert.equal(counters.get().totalBytes, counters.get().readBytes + counters.get().writtenBytes);
    }
  });

  it('an element size other than 2 or 4 is refused, naming it', () => {
    assert.throws(() => new TransferCounters(1, 1, 3), /TransferCounters: bytes per KV element must be 2 \(f16\) or 4 \(f32\), got 3/);
    assert.throws(() => transferBytes(transferModel({ kind: 'dense' }, 8, 4), 8), /transferBytes: bytes per KV element/);
  });
});
