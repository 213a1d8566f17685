import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { describe, it } from 'node:test';
import { gzipSync } from 'node:zlib';

import { loadMnist } from '../../src/node/mnist.js';
import { dataFileOrSkip } from '../helpers/data.js';

function idx(dims: number[], data: number[]): Uint8Array {
  const header = [0, 0, 0x08, dims.length, ...dims.flatMap((d) => [d >>> 24, (d >>> 16) & 255, (d >>> 8) & 255, d & 255])];
  return new Uint8Array([...header, ...data]);
}

describe('loadMnist', () => {
  it('loads the t10k split', async (t) => {
    const imagesPath = dataFileOrSkip(t, 'mnist/t10k-images-idx3-ubyte.gz');
    if (!imagesPath || !dataFileOrSkip(t, 'mnist/t10k-labels-idx1-ubyte.gz')) return;
    const mnist = await loadMnist(dirname(imagesPath), 't10k');
    assert.equal(mnist.count, 10000);
    assert.equal(mnist.rows, 28);
    assert.equal(mnist.cols, 28);
    assert.equal(mnist.images.length, 10000 * 784);
    assert.equal(mnist.labels.length, 10000);
    assert.equal(mnist.labels[0], 7);
    let min = Infinity;
    let max = -Infinity;
    for (const v of mnist.images) {
      min = Math.min(min, v);
      max = Math.max(max, v);
    }
    assert.equal(min, 0);
    assert.equal(max, 1);
  });

  it('accepts unpacked files and names a missing one', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'thrifty-mnist-'));
    try {
      await assert.rejects(loadMnist(dir, 'train'), new RegExp(`MNIST file not found: ${join(dir, 'train-').replace(/[\\/.]/g, '\\$&')}`));
      await writeFile(join(dir, 'train-images-idx3-ubyte'), idx([2, 1, 2], [0, 255, 51, 102]));
      await writeFile(join(dir, 'train-labels-idx1-ubyte.gz'), gzipSync(idx([2], [3, 9])));
      const mnist = await loadMnist(dir, 'train');
      assert.deepEqual([...mnist.images], [0, 1, 0.2, 0.4].map((v) => Math.fround(v)));
      assert.deepEqual([...mnist.labels], [3, 9]);
      assert.equal(mnist.count, 2);
      await writeFile(join(dir, 'train-labels-idx1-ubyte.gz'), gzipSync(idx([3], [3, 9, 1])));
      await assert.rejects(loadMnist(dir, 'train'), /train-labels-idx1-ubyte\.gz: 3 labels for 2 images/);
      assert.ok((await readFile(join(dir, 'train-images-idx3-ubyte'))).length > 0);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
