// MNIST from the original IDX files, gzipped (as distributed) or already unpacked.

import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { gunzip } from 'node:zlib';

import { parseIdx } from '../data/idx.js';
import { asBytes } from './files.js';

const gunzipAsync = promisify(gunzip);

export type MnistSplit = 'train' | 't10k';

export interface MnistData {
  /** [count, rows * cols], pixel / 255. */
  readonly images: Float32Array;
  readonly labels: Int32Array;
  readonly count: number;
  readonly rows: number;
  readonly cols: number;
}

/** Loads `${split}-images-idx3-ubyte[.gz]` and `${split}-labels-idx1-ubyte[.gz]` from `dir`. */
export async function loadMnist(dir: string, split: MnistSplit): Promise<MnistData> {
  const [imageFile, labelFile] = await Promise.all([
    readIdxFile(join(dir, `${split}-images-idx3-ubyte`)),
    readIdxFile(join(dir, `${split}-labels-idx1-ubyte`)),
  ]);
  const images = parseIdx(imageFile.bytes, imageFile.path);
  const labels = parseIdx(labelFile.bytes, labelFile.path);
  if (images.dims.length !== 3) throw new Error(`${imageFile.path}: expected 3 IDX dims [count, rows, cols], got [${images.dims.join(', ')}]`);
  if (labels.dims.length !== 1) throw new Error(`${labelFile.path}: expected 1 IDX dim [count], got [${labels.dims.join(', ')}]`);
  const [count, rows, cols] = images.dims as [number, number, number];
  if (labels.dims[0] !== count) throw new Error(`${labelFile.path}: ${labels.dims[0]} labels for ${count} images in ${imageFile.path}`);

  const pixels = new Float32Array(images.data.length);
  for (let i = 0; i < pixels.length; i++) pixels[i] = images.data[i]! / 255;
  const labelValues = Int32Array.from(labels.data);
  const badLabel = labelValues.findIndex((label) => label > 9);
  if (badLabel >= 0) throw new Error(`${labelFile.path}: label at index ${badLabel} is ${labelValues[badLabel]}, not a digit`);
  return { images: pixels, labels: labelValues, count, rows, cols };
}

/** Prefers `<base>.gz`, falls back to `<base>`; gunzips whenever the bytes start with the gzip magic. */
async function readIdxFile(base: string): Promise<{ path: string; bytes: Uint8Array }> {
  for (const path of [`${base}.gz`, base]) {
    let bytes: Uint8Array;
    try {
      bytes = asBytes(await readFile(path));
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') continue;
      throw error;
    }
    if (bytes[0] === 0x1f && bytes[1] === 0x8b) {
      try {
        bytes = asBytes(await gunzipAsync(bytes));
      } catch (error) {
        throw new Error(`${path}: gunzip failed (${(error as Error).message})`);
      }
    }
    return { path, bytes };
  }
  throw new Error(`MNIST file not found: ${base}.gz (or unpacked ${base}); set THRIFTY_DATA_DIR or put the files there`);
}
