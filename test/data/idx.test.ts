import assert from 'node:assert/strict';
import { describe, it } from 'node:test';

import { parseIdx } from '../../src/data/idx.js';

/** Header bytes written out by hand: 00 00 08 <rank>, then big-endian u32 dims. */
function idx(dims: number[], data: number[]): Uint8Array {
  const header = [0, 0, 0x08, dims.length, ...dims.flatMap((d) => [d >>> 24, (d >>> 16) & 255, (d >>> 8) & 255, d & 255])];
  return new Uint8Array([...header, ...data]);
}

describe('parseIdx', () => {
  it('reads labels (0x00000801) and images (0x00000803)', () => {
    assert.deepEqual(parseIdx(idx([3], [7, 2, 1]), 'l'), { dims: [3], data: new Uint8Array([7, 2, 1]) });
    const images = parseIdx(idx([2, 1, 258], new Array(516).fill(0).map((_, i) => i & 255)), 'i');
    assert.deepEqual(images.dims, [2, 1, 258]);
    assert.equal(images.data.length, 516);
    assert.equal(images.data[257], 1);
  });

  it('rejects bad files, naming the source', () => {
    assert.throws(() => parseIdx(new Uint8Array([0, 0]), 'a.idx'), /a\.idx: 2 bytes is too short/);
    assert.throws(() => parseIdx(new Uint8Array([0x1f, 0x8b, 8, 0]), 'a.idx'), /a\.idx: magic 0x1f8b0800 is not an IDX magic number/);
    assert.throws(() => parseIdx(new Uint8Array([0, 0, 0x0d, 1, 0, 0, 0, 0]), 'a.idx'), /a\.idx: IDX element type 0x0d is not supported/);
    assert.throws(() => parseIdx(new Uint8Array([0, 0, 8, 3, 0, 0, 0, 1]), 'a.idx'), /a\.idx: file ends inside the 3 IDX dimensions/);
    assert.throws(() => parseIdx(idx([4], [1, 2, 3]), 'a.idx'), /a\.idx: IDX dims \[4\] need 12 bytes but the file has 11 \(truncated\?\)/);
    assert.throws(() => parseIdx(idx([2], [1, 2, 3]), 'a.idx'), /a\.idx: IDX dims \[2\] need 10 bytes but the file has 11$/);
  });
});
