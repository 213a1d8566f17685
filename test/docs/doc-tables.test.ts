// Published numbers are drawn from committed records: every generated table of README.md and docs/
// must equal what its record draws today, and the drawing itself is checked on known answers.

import assert from 'node:assert/strict';
import { test } from 'node:test';

import { regenerateDocs } from '../../src/node/doc-tables.js';
import { repoRoot } from '../../src/node/data-dir.js';
import { field, fixed, generatedRegions, hasField, markdownTable, pValue, regenerateDocument, type DocTable } from '../../src/report/doc-tables.js';
import { INFOPLANE_DOC_TABLES, poolGroups, signTestTwoSided, welchFromMoments } from '../../src/report/infoplane-doc-tables.js';
import { mean, standardDeviation, welchTTest } from '../../src/train/infoplane/stats.js';

test('every generated table in README.md and docs/ matches its committed record (npm run docs:tables)', () => {
  const docs = regenerateDocs(repoRoot());
  const regions = docs.flatMap((d) => generatedRegions(d.before));
  assert.ok(regions.length >= 6, `only ${regions.length} generated tables found`);
  for (const d of docs) assert.equal(d.after, d.before, `${d.path} differs from its records: run npm run docs:tables`);
});

const echo: DocTable = { id: 'test/echo', record: 'r.json', render: (r) => `value ${String((r as { v: number }).v)}\n` };

test('a region is redrawn from its record; the text around it is kept; a changed record changes the text', () => {
  const doc = 'before\n<!-- table:test/echo -->\nstale\n<!-- /table:test/echo -->\nafter\n';
  assert.equal(regenerateDocument('d.md', doc, [echo], () => ({ v: 1 })), 'before\n<!-- table:test/echo -->\nvalue 1\n<!-- /table:test/echo -->\nafter\n');
  const current = regenerateDocument('d.md', doc, [echo], () => ({ v: 1 }));
  assert.notEqual(regenerateDocument('d.md', current, [echo], () => ({ v: 2 })), current);
});

test('bad markers are errors naming the document', () => {
  assert.throws(() => regenerateDocument('d.md', '<!-- table:test/none -->\nx\n<!-- /table:test/none -->', [echo], () => ({})), /d\.md: unknown generated table 'test\/none'/);
  assert.throws(() => regenerateDocument('d.md', '<!-- table:test/echo -->\nx\n', [echo], () => ({})), /d\.md: 1 table markers opened and 0 closed/);
  assert.throws(() => regenerateDocument('d.md', '<!-- table:test/echo -->\nx\n<!-- /table:test/other -->', [echo], () => ({})), /closed by the end marker of 'test\/other'/);
});

test('number formats', () => {
  assert.equal(pValue(0.93), '0.93');
  assert.equal(pValue(0.3), '0.30');
  assert.equal(pValue(0.0083341), '0.0083');
  assert.equal(pValue(0.00011037), '1e-4');
  assert.equal(pValue(3.7537e-12), '4e-12');
  assert.equal(pValue(null), '-');
  assert.equal(fixed(-0.001, 2), '0.00');
  assert.equal(fixed(-0.006, 2), '-0.01');
  assert.equal(fixed(Number.NaN, 2), '-');
  assert.equal(markdownTable(['a', 'b'], [['1', '2']], ['l', 'r']), '| a | b |\n| --- | ---: |\n| 1 | 2 |\n');
  assert.throws(() => markdownTable(['a'], [['1', '2']]), /2 cells for 1 columns/);
});

test('pooled statistics from group means and sds equal those of the listed values', () => {
  const groups = [[0.1, 0.5, 0.9], [2, 2.5, 4], [0, 0, 0.3]];
  const all = groups.flat();
  const pooled = poolGroups(groups.map((g) => ({ mean: mean(g), sd: standardDeviation(g), n: g.length })));
  assert.equal(pooled.n, 9);
  assert.ok(Math.abs(pooled.mean - mean(all)) < 1e-12);
  assert.ok(Math.abs(pooled.sd - standardDeviation(all)) < 1e-12);
  const other = [1, 1.5, 3, 3.5, 2, 2.2, 2.9, 4.1, 0.5];
  const fromMoments = welchFromMoments({ mean: mean(other), sd: standardDeviation(other), n: other.length }, pooled);
  assert.ok(Math.abs(fromMoments - welchTTest(other, all).p) < 1e-12);
});

test('sign test: 10 of 10 gives 2/1024, 4 of 10 gives 2 * 386/1024', () => {
  assert.ok(Math.abs(signTestTwoSided(10, 10) - 2 / 1024) < 1e-15);
  assert.ok(Math.abs(signTestTwoSided(4, 10) - (2 * 386) / 1024) < 1e-15);
  assert.equal(signTestTwoSided(5, 10), 1);
});

test('the L2 paragraph counts an activation only where L2 raised a hidden layer significantly, and lists the networks that did not learn', () => {
  const table = INFOPLANE_DOC_TABLES.find((t) => t.id === 'infoplane/l2-notes');
  assert.ok(table);
  const effect = (activation: string, difference: number[], p: number[]) => ({ activation, l2: 0.015, difference, test: p.map((x) => ({ p: x })) });
  const network = (activation: string, l2: number, seed: number, testLoss: number, trainAccuracy: number) => ({ activation, l2, seed, testLoss, trainAccuracy, testAccuracy: trainAccuracy - 0.1 });
  const record = {
    protocol: {
      seeds: 2,
      summaries: [{
        estimator: 'ebab', groups: [], correlations: [],
        l2Effects: [
          effect('tanh', [0.5, 1, 0.2], [0.2, 0.01, 0.001]), // layer 2 raised, p 0.01: counts (the output's p is not a hidden layer's)
          effect('relu', [-0.5, 0.1, 3], [0.01, 0.3, 0.001]), // a significant drop, a raise at p 0.3, the output: does not count
        ],
      }],
      networks: [network('tanh', 0, 0, 0.5, 1), network('tanh', 0, 1, 0.7, 1), network('tanh', 0.015, 0, 0.2, 1), network('relu', 0.015, 1, 0.4, 0.56)],
    },
  };
  assert.equal(
    table.render(record),
    'Per activation (2 seeds against 2, Welch) the increase is significant at p < 0.05 in at least one hidden layer for 1 of the 2 activations (not ReLU). ' +
    'L2 = 0.015 changed the mean test loss from 0.60 to 0.30 nats; 1 of the 4 networks did not learn (training accuracy below 0.7; all at train 0.560, test 0.460): ReLU seed 1 at L2 0.015.\n',
  );
});

test('the protocol facts count compressing networks, accuracies and wide spreads from the network rows', () => {
  const table = INFOPLANE_DOC_TABLES.find((t) => t.id === 'infoplane/protocol-facts');
  assert.ok(table);
  // Layers: two hidden and the output. Compression by more than 0.1 bit counts.
  const row = (activation: string, l2: number, seed: number, ebab: number[], trainAccuracy: number, testAccuracy: number, testLoss: number) =>
    ({ activation, l2, seed, testLoss, trainAccuracy, testAccuracy, compression: { ebab } });
  const record = {
    protocol: {
      networks: [
        row('tanh', 0, 0, [0, 0.5, 1], 1, 0.9, 0.2), // last hidden layer compresses
        row('tanh', 0, 1, [0.3, 0.05, 0], 1, 0.8, 0.4), // only layer 1
        row('relu', 0, 0, [0, 0, 2], 1, 0.7, 0.6), // only the output: compresses no hidden layer
        row('relu', 0, 1, [0, 0.1, 0], 1, 0.6, 0.8), // 0.1 is not more than 0.1
        row('tanh', 0.015, 0, [1, 1, 0], 1, 0.95, 0.1),
        row('tanh', 0.015, 1, [1, 3, 0], 0.5, 0.15, 0.9), // did not learn
      ],
    },
  };
  // Groups with mean > 0.1: tanh/0 layer 1 (0.15, sd 0.21: wide), tanh/0 layer 2 (0.275, sd 0.32: wide),
  // tanh/0.015 layer 1 (1, sd 0), layer 2 (2, sd 1.41: wide); relu/0 layer 2 is 0.05.
  assert.equal(
    table.render(record),
    '- Without L2, the last hidden layer (2) compresses by more than 0.1 bit in 1 of 4 networks, in at least one network of 1 of the 2 activations; 2 of 4 compress some hidden layer.\n' +
    '- Test accuracy: 0.750 without L2, 0.550 with L2 (0.950 over the 1 networks with L2 that learned); test loss 0.50 and 0.50 nats.\n' +
    '- Seed-to-seed spread: of the 4 (activation, L2, hidden layer) groups whose mean compression exceeds 0.1 bit, 3 have a standard deviation of at least half their mean.\n',
  );
});

test('field reads a dotted path or throws naming the record; hasField says whether the path is there', () => {
  const record = { a: { b: 0, c: null } };
  assert.equal(field(record, 'a.b', 'r.json'), 0);
  assert.equal(field(record, 'a.c', 'r.json'), null);
  assert.throws(() => field(record, 'a.d', 'r.json'), /r\.json: field 'a\.d' is missing/);
  assert.equal(hasField(record, 'a.b'), true);
  assert.equal(hasField(record, 'a.c'), true);
  assert.equal(hasField(record, 'a.c.x'), false);
  assert.equal(hasField(record, 'x'), false);
});
