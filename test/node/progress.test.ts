import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { describe, it } from 'node:test';

import { formatDuration, ProgressBar } from '../../src/node/progress.js';

function fakeStream(isTTY: boolean): { stream: Writable & { isTTY?: boolean; columns?: number }; written: () => string } {
  const chunks: string[] = [];
  const stream: Writable & { isTTY?: boolean; columns?: number } = new Writable({
    write(chunk: Buffer | string, _encoding, callback) {
      chunks.push(chunk.toString());
      callback();
    },
  });
  if (isTTY) {
    stream.isTTY = true;
    stream.columns = 120;
  }
  return { stream, written: () => chunks.join('') };
}

describe('ProgressBar', () => {
  it('writes nothing when the stream is not a TTY', () => {
    const { stream, written } = fakeStream(false);
    let now = 0;
    const bar = new ProgressBar({ total: 100, stream, clock: () => now });
    for (let step = 1; step <= 100; step++) {
      now += 1000;
      bar.update(step, { loss: 1 / step, tokens: 512 });
    }
    bar.stop();
    assert.equal(written(), '');
  });

  it('off a TTY with logEveryMs, writes one summary line per interval and one at stop', () => {
    const { stream, written } = fakeStream(false);
    let now = 0;
    const bar = new ProgressBar({ total: 10, stream, logEveryMs: 2500, unit: 'images', label: 'train', clock: () => now });
    for (let step = 1; step <= 9; step++) {
      now += 1000;
      bar.update(step, { loss: 2.5, tokens: 100 });
    }
    bar.stop();
    const lines = written().trimEnd().split('\n');
    assert.deepEqual(lines, [
      'train step 3/10 | loss 2.5000 | 100 images/s | elapsed 3s | ETA 7s',
      'train step 6/10 | loss 2.5000 | 100 images/s | elapsed 6s | ETA 4s',
      'train step 9/10 | loss 2.5000 | 100 images/s | elapsed 9s | ETA 1s',
    ]);
  });

  it('draws a bar with loss and rate on a TTY', () => {
    const { stream, written } = fakeStream(true);
    const bar = new ProgressBar({ total: 4, stream });
    bar.update(2, { loss: 0.125, tokens: 64 });
    bar.stop();
    assert.match(written(), /2\/4 \| loss 0\.1250 \| [\d.]+ tokens\/s/);
  });

  it('on a TTY the ETA comes from its clock and never reads 60 in a field (cli-progress printed 2m60s)', () => {
    const { stream, written } = fakeStream(true);
    let now = 0;
    const bar = new ProgressBar({ total: 180, stream, clock: () => now });
    now = 1000;
    bar.update(1, { loss: 1, tokens: 8 }); // 1 s per step, 179 steps left: cli-progress printed 2m60s
    bar.stop();
    const text = written();
    assert.match(text, /1\/180 \| loss 1\.0000 \| 8\.0 tokens\/s \| ETA 2m59s/);
    assert.doesNotMatch(text, /m60s|h60m/);
  });
});

describe('formatDuration', () => {
  it('rounds the total before splitting it, so no field reads 60', () => {
    const cases: Array<[number, string]> = [
      [0, '0s'],
      [400, '0s'],
      [59_400, '59s'],
      [59_600, '1m00s'],
      [179_000, '2m59s'],
      [179_600, '3m00s'],
      [3_599_000, '59m59s'],
      [3_599_600, '1h00m'],
      [3_659_000, '1h01m'],
      [7_170_000, '2h00m'], // 119.5 min: rounds up to the hour, not 1h60m
      [7_169_000, '1h59m'],
      [90_000_000, '25h00m'],
    ];
    for (const [ms, text] of cases) assert.equal(formatDuration(ms), text, `${ms} ms`);
  });

  it('prints - for an unknown duration', () => {
    for (const ms of [Number.NaN, Number.POSITIVE_INFINITY, -1]) assert.equal(formatDuration(ms), '-');
  });
});
