import assert from 'node:assert/strict';
import { mkdir, mkdtemp, readdir, readFile, rm, truncate, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';

import { readSafetensorsTensorF32, serializeSafetensors } from '../../src/io/safetensors.js';
import { openSafetensorsFile, readSafetensorsFile, writeFileAtomic } from '../../src/node/files.js';

let dir = '';
before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'thrifty-files-'));
});
after(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('writeFileAtomic', () => {
  it('writes bytes and strings and leaves no temporary file', async () => {
    const path = join(dir, 'plain.bin');
    await writeFileAtomic(path, new Uint8Array([1, 2, 3]));
    assert.deepEqual(new Uint8Array(await readFile(path)), new Uint8Array([1, 2, 3]));
    await writeFileAtomic(path, 'text ✓');
    assert.equal(await readFile(path, 'utf8'), 'text ✓');
    assert.deepEqual(await readdir(dir), ['plain.bin']);
  });

  it('a concurrent reader sees the old or the new content, never a mix', async () => {
    const path = join(dir, 'swap.bin');
    const size = 1 << 22;
    const versions = [new Uint8Array(size).fill(0x61), new Uint8Array(size).fill(0x62)];
    await writeFileAtomic(path, versions[0]!);
    let reads = 0;
    for (let round = 1; round <= 10; round++) {
      let done = false;
      const writing = writeFileAtomic(path, versions[round % 2]!).then(() => {
        done = true;
      });
      while (!done) {
        const seen = new Uint8Array(await readFile(path));
        reads++;
        assert.equal(seen.length, size);
        assert.ok(seen.every((b) => b === seen[0]) && (seen[0] === 0x61 || seen[0] === 0x62), 'torn read');
      }
      await writing;
    }
    assert.ok(reads > 0);
    assert.deepEqual(new Uint8Array(await readFile(path)), versions[0]);
  });

  it('on failure removes the temporary file and leaves the target alone', async () => {
    // A non-empty directory cannot be renamed over, so the write fails after the temp file exists.
    const target = join(dir, 'occupied');
    await mkdir(target);
    await writeFile(join(target, 'keep'), 'x');
    await assert.rejects(writeFileAtomic(target, 'new'));
    assert.deepEqual(await readdir(target), ['keep']);
    assert.ok(!(await readdir(dir)).some((name) => name.endsWith('.tmp')), 'temp file left behind');
    await assert.rejects(writeFileAtomic(join(dir, 'no-such-dir', 'f'), 'x'), /ENOENT/);
  });
});

describe('safetensors files', () => {
  const bytes = serializeSafetensors(
    [
      { name: 'w', dtype: 'F32', shape: [2, 2], data: new Float32Array([1, 2, 3, 4]) },
      { name: 'ids', dtype: 'I32', shape: [3], data: new Int32Array([7, 8, 9]) },
      { name: 'h', dtype: 'BF16', shape: [1], data: new Uint16Array([0x3f80]) },
    ],
    { origin: 'test' },
  );

  it('reads a whole file', async () => {
    const path = join(dir, 'whole.safetensors');
    await writeFileAtomic(path, bytes);
    const file = await readSafetensorsFile(path);
    assert.deepEqual(file.metadata, { origin: 'test' });
    assert.deepEqual([...readSafetensorsTensorF32(file.bytes, file.tensors.get('w')!)], [1, 2, 3, 4]);
    // A Buffer is a Uint8Array whose slice() shares memory; reading must still copy just the tensor.
    const asBuffer = Buffer.concat([Buffer.alloc(3), Buffer.from(bytes)]).subarray(3);
    assert.deepEqual([...readSafetensorsTensorF32(asBuffer, file.tensors.get('w')!)], [1, 2, 3, 4]);
  });

  it('reads tensors lazily by offset', async () => {
    const path = join(dir, 'lazy.safetensors');
    await writeFileAtomic(path, bytes);
    const file = await openSafetensorsFile(path);
    try {
      assert.deepEqual(file.metadata, { origin: 'test' });
      assert.deepEqual([...file.tensors.keys()], ['w', 'ids', 'h']);
      assert.deepEqual([...(await file.readI32('ids'))], [7, 8, 9]);
      assert.deepEqual([...(await file.readF32('w'))], [1, 2, 3, 4]);
      assert.deepEqual([...(await file.readF32('h'))], [1]);
      assert.deepEqual(await file.readBytes('h'), new Uint8Array([0x80, 0x3f]));
      await assert.rejects(file.readF32('nope'), new RegExp(`lazy\\.safetensors: no tensor named 'nope'`));
    } finally {
      await file.close();
    }
    await assert.rejects(file.readF32('w'), /lazy\.safetensors: file is closed/);
  });

  it('detects a truncated file at open, before any tensor is returned', async () => {
    const path = join(dir, 'cut.safetensors');
    await writeFile(path, bytes.subarray(0, bytes.length - 1));
    await assert.rejects(openSafetensorsFile(path), /cut\.safetensors: tensor 'h': data_offsets end 30 is past the end of the 29-byte data buffer \(truncated\?\)/);
    await writeFile(path, bytes.subarray(0, 30));
    await assert.rejects(openSafetensorsFile(path), /cut\.safetensors: header length \d+ runs past the end of the 30-byte file/);
    await writeFile(path, new Uint8Array(0));
    await assert.rejects(openSafetensorsFile(path), /cut\.safetensors: file is 0 bytes/);
  });

  it('detects a file truncated after it was opened', async () => {
    const path = join(dir, 'shrinks.safetensors');
    await writeFile(path, bytes);
    const file = await openSafetensorsFile(path);
    try {
      await truncate(path, bytes.length - 4);
      await assert.rejects(file.readF32('h'), /shrinks\.safetensors: tensor 'h': expected 2 bytes at offset \d+, the file ended after 0/);
    } finally {
      await file.close();
    }
  });
});
