import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';

import { authorsSplit, generateIb12, IB12_ANTIPODE, IB12_ICOSAHEDRON_EDGES, parseIb12Csv, randomSplit } from '../../src/data/ib12.js';
import { Rng } from '../../src/tensor/rng.js';
import { dataFileOrSkip } from '../helpers/data.js';

test('the generated 12-bit dataset equals ../shared/data/ib/var_u.csv, all 4096 labels', (t) => {
  const path = dataFileOrSkip(t, 'ib/var_u.csv');
  if (!path) return;
  const fromFile = parseIb12Csv(readFileSync(path, 'utf8'), path);
  const generated = generateIb12();
  assert.deepEqual(Array.from(generated.inputs), Array.from(fromFile.inputs));
  const mismatches = generated.labels.reduce((acc, v, i) => acc + (v === fromFile.labels[i] ? 0 : 1), 0);
  assert.equal(mismatches, 0);
  assert.equal(fromFile.labels.reduce((a, b) => a + b, 0), 2118);
});

test('the generator: binary order, 2118 ones, and the icosahedron it assumes is one', () => {
  const data = generateIb12();
  assert.equal(data.n, 4096);
  assert.equal(data.labels.reduce((a, b) => a + b, 0), 2118);
  assert.deepEqual(Array.from(data.inputs.subarray(5 * 12, 6 * 12)), [0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0, 1]);
  // 30 edges, every vertex of degree 5, antipodes an involution that is never a neighbour.
  assert.equal(IB12_ICOSAHEDRON_EDGES.length, 30);
  const degree = new Array<number>(12).fill(0);
  for (const [a, b] of IB12_ICOSAHEDRON_EDGES) {
    degree[a]!++;
    degree[b]!++;
    assert.notEqual(IB12_ANTIPODE[a], b);
  }
  assert.deepEqual(degree, new Array<number>(12).fill(5));
  for (let i = 0; i < 12; i++) assert.equal(IB12_ANTIPODE[IB12_ANTIPODE[i]!], i);
  // Few active inputs: 0; many: 1 (the label is a threshold on a spherically symmetric score).
  for (let i = 0; i < 4096; i++) {
    const k = data.inputs.subarray(i * 12, i * 12 + 12).reduce((a, b) => a + b, 0);
    if (k <= 4) assert.equal(data.labels[i], 0);
    if (k >= 8) assert.equal(data.labels[i], 1);
  }
});

test('splits: the authors\' unshuffled 80/20 (3277/819, 84% vs 44% ones) and a seeded random one', () => {
  const data = generateIb12();
  const split = authorsSplit(data.n);
  assert.equal(split.train.length, 3277);
  assert.equal(split.test.length, 819);
  assert.equal(split.train[3276], 3276);
  assert.equal(split.test[0], 3277);
  const ones = (idx: Int32Array): number => idx.reduce((acc, i) => acc + data.labels[i]!, 0) / idx.length;
  assert.ok(Math.abs(ones(split.test) - 0.8364) < 1e-3, `test ones ${ones(split.test)}`);
  assert.ok(Math.abs(ones(split.train) - 0.4373) < 1e-3, `train ones ${ones(split.train)}`);

  const a = randomSplit(data.n, new Rng(5));
  const b = randomSplit(data.n, new Rng(5));
  const c = randomSplit(data.n, new Rng(6));
  assert.deepEqual(Array.from(a.train), Array.from(b.train));
  assert.notDeepEqual(Array.from(a.train), Array.from(c.train));
  assert.equal(a.train.length, 3277);
  const all = new Set([...a.train, ...a.test]);
  assert.equal(all.size, 4096);
  assert.ok(Math.abs(ones(a.test) - ones(a.train)) < 0.06, 'a random split has balanced classes');
});

test('parseIb12Csv names the file and line of bad input', () => {
  const good = readableCsv();
  assert.throws(() => parseIb12Csv('a,b\n', 'x.csv'), /x\.csv: expected the header/);
  assert.throws(() => parseIb12Csv(good.split('\n').slice(0, 100).join('\n'), 'x.csv'), /expected 4096 data rows, got 99 \(truncated\?\)/);
  const lines = good.split('\n');
  lines[3] = lines[3]!.replace(/^0/, '2');
  assert.throws(() => parseIb12Csv(lines.join('\n'), 'x.csv'), /x\.csv:4: field x0 is '2'/);
  const swapped = good.split('\n');
  [swapped[2], swapped[3]] = [swapped[3]!, swapped[2]!];
  assert.throws(() => parseIb12Csv(swapped.join('\n'), 'x.csv'), /x\.csv:3: row 1 holds pattern 2/);
});

function readableCsv(): string {
  const data = generateIb12();
  const rows = ['x0,x1,x2,x3,x4,x5,x6,x7,x8,x9,x10,x11,y'];
  for (let i = 0; i < data.n; i++) rows.push([...data.inputs.subarray(i * 12, i * 12 + 12), data.labels[i]].join(','));
  return rows.join('\n') + '\n';
}
