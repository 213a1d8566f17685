// The 12-bit task of Shwartz-Ziv & Tishby (2017), the `var_u` dataset: all 4096 binary patterns of
// 12 bits in binary order (x0 is the most significant bit), with a binary label, 2118 ones.
//
// Their paper describes the inputs as 12 points uniformly distributed on a sphere and the label
// as a threshold on a spherically symmetric function of the pattern. The rule below was derived
// from the published labels and reproduces all 4096 of them (test/data/ib12.test.ts checks it
// against ../shared/data/ib/var_u.csv): the 12 inputs are the vertices of a regular icosahedron
// (adjacency below), and with k the number of active inputs and R the sum of their unit vectors,
//   y = 1  iff  k + |R| > 7.6.
// |R|² needs only the vertex pairs' dot products: 1/√5 for neighbours, -1 for antipodes and
// -1/√5 for the rest. Patterns with at most 4 active inputs are all 0 and with 8 or more all 1;
// in between the label says how clustered the active vertices are.

import type { Rng } from '../tensor/rng.js';

export const IB12_BITS = 12;
export const IB12_SIZE = 4096;
/** The rule's threshold on k + |R| (labels change between 7.563 and 7.701). */
export const IB12_THRESHOLD = 7.6;

/** Icosahedron edges between input indices, as found in the var_u labels. */
export const IB12_ICOSAHEDRON_EDGES: ReadonlyArray<readonly [number, number]> = [
  [0, 1], [0, 3], [0, 5], [0, 10], [0, 11], [1, 2], [1, 3], [1, 4], [1, 11], [2, 3],
  [2, 4], [2, 8], [2, 9], [3, 8], [3, 10], [4, 6], [4, 9], [4, 11], [5, 6], [5, 7],
  [5, 10], [5, 11], [6, 7], [6, 9], [6, 11], [7, 8], [7, 9], [7, 10], [8, 9], [8, 10],
];

/** Antipodal vertex of each input. */
export const IB12_ANTIPODE: readonly number[] = [9, 7, 5, 6, 10, 2, 3, 1, 11, 0, 4, 8];

export interface Ib12Dataset {
  /** [4096, 12] of 0/1, row i = the bits of i, most significant first. */
  readonly inputs: Float32Array;
  /** 0/1 per row. */
  readonly labels: Int32Array;
  readonly n: number;
  readonly width: number;
}

export interface Split {
  readonly train: Int32Array;
  readonly test: Int32Array;
}

/** The 12 x 12 matrix of dot products between the icosahedron's unit vertex vectors. */
export function icosahedronGram(): Float64Array {
  const gram = new Float64Array(IB12_BITS * IB12_BITS).fill(-1 / Math.sqrt(5));
  for (let i = 0; i < IB12_BITS; i++) {
    gram[i * IB12_BITS + i] = 1;
    gram[i * IB12_BITS + IB12_ANTIPODE[i]!] = -1;
  }
  for (const [a, b] of IB12_ICOSAHEDRON_EDGES) {
    gram[a * IB12_BITS + b] = 1 / Math.sqrt(5);
    gram[b * IB12_BITS + a] = 1 / Math.sqrt(5);
  }
  return gram;
}

/** k + |R| for the pattern whose bits are those of `pattern` (x0 = bit 11). */
export function ib12Score(pattern: number, gram: Float64Array = icosahedronGram()): number {
  const active: number[] = [];
  for (let b = 0; b < IB12_BITS; b++) if ((pattern >> (IB12_BITS - 1 - b)) & 1) active.push(b);
  let r2 = 0;
  for (const i of active) for (const j of active) r2 += gram[i * IB12_BITS + j]!;
  return active.length + Math.sqrt(Math.max(r2, 0));
}

/** The dataset from the rule (no file needed). */
export function generateIb12(): Ib12Dataset {
  const gram = icosahedronGram();
  const inputs = new Float32Array(IB12_SIZE * IB12_BITS);
  const labels = new Int32Array(IB12_SIZE);
  for (let i = 0; i < IB12_SIZE; i++) {
    for (let b = 0; b < IB12_BITS; b++) inputs[i * IB12_BITS + b] = (i >> (IB12_BITS - 1 - b)) & 1;
    labels[i] = ib12Score(i, gram) > IB12_THRESHOLD ? 1 : 0;
  }
  return { inputs, labels, n: IB12_SIZE, width: IB12_BITS };
}

/** Reads var_u.csv (header x0..x11,y; 4096 rows in binary order); `source` names the file in errors. */
export function parseIb12Csv(text: string, source: string): Ib12Dataset {
  const lines = text.split(/\r?\n/);
  while (lines.length > 0 && lines[lines.length - 1]!.trim() === '') lines.pop();
  const expectedHeader = [...Array.from({ length: IB12_BITS }, (_, b) => `x${b}`), 'y'].join(',');
  if (lines.length === 0 || lines[0]!.trim() !== expectedHeader) {
    throw new Error(`${source}: expected the header '${expectedHeader}', got '${(lines[0] ?? '').slice(0, 80)}'`);
  }
  if (lines.length - 1 !== IB12_SIZE) throw new Error(`${source}: expected ${IB12_SIZE} data rows, got ${lines.length - 1}${lines.length - 1 < IB12_SIZE ? ' (truncated?)' : ''}`);
  const inputs = new Float32Array(IB12_SIZE * IB12_BITS);
  const labels = new Int32Array(IB12_SIZE);
  for (let i = 0; i < IB12_SIZE; i++) {
    const lineNo = i + 2;
    const fields = lines[i + 1]!.split(',');
    if (fields.length !== IB12_BITS + 1) throw new Error(`${source}:${lineNo}: expected ${IB12_BITS + 1} fields, got ${fields.length}`);
    let pattern = 0;
    for (let b = 0; b <= IB12_BITS; b++) {
      const field = fields[b]!.trim();
      if (field !== '0' && field !== '1') throw new Error(`${source}:${lineNo}: field ${b === IB12_BITS ? 'y' : `x${b}`} is '${field}', expected 0 or 1`);
      const bit = field === '1' ? 1 : 0;
      if (b < IB12_BITS) {
        inputs[i * IB12_BITS + b] = bit;
        pattern = pattern * 2 + bit;
      } else {
        labels[i] = bit;
      }
    }
    if (pattern !== i) throw new Error(`${source}:${lineNo}: row ${i} holds pattern ${pattern}; rows must be all 4096 patterns in binary order`);
  }
  return { inputs, labels, n: IB12_SIZE, width: IB12_BITS };
}

function range(start: number, end: number): Int32Array {
  const out = new Int32Array(end - start);
  for (let i = 0; i < out.length; i++) out[i] = start + i;
  return out;
}

/**
 * The authors' split (IDNNs data_shuffle without shuffling): the first round(0.8 n) rows train,
 * the rest test: 3277 / 819 for the 12-bit data, whose test set is then 84% ones (training 44%).
 */
export function authorsSplit(n: number, trainFraction = 0.8): Split {
  const cut = Math.round(trainFraction * n);
  return { train: range(0, cut), test: range(cut, n) };
}

/** A seeded random split with the same sizes. */
export function randomSplit(n: number, rng: Rng, trainFraction = 0.8): Split {
  const cut = Math.round(trainFraction * n);
  const order = rng.permutation(n);
  const train = order.slice(0, cut).sort();
  const test = order.slice(cut).sort();
  return { train, test };
}
