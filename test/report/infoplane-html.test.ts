import assert from 'node:assert/strict';
import { test } from 'node:test';

import { authorsSplit, generateIb12 } from '../../src/data/ib12.js';
import { escapeHtml, renderInfoplaneReport, viridis } from '../../src/report/infoplane-html.js';
import { COMPRESSION_DEFINITION, summarizeRuns } from '../../src/train/infoplane/analysis.js';
import { Rng } from '../../src/tensor/rng.js';
import { runInfoplane, type ExperimentConfig, type InfoplaneDataset, type RunRecord } from '../../src/train/infoplane/experiment.js';

const CONFIG: ExperimentConfig = { hidden: [10, 7, 5, 4, 3], epochs: 30, batchSize: 256, lr: 4e-3, logSamples: 8, estimators: ['ebab', 'kde'], shuffleBatches: false };

async function runs(): Promise<RunRecord[]> {
  const data = generateIb12();
  const split = authorsSplit(data.n);
  // The estimators see 512 of the 4096 inputs: enough for the plots, and KDE stays cheap.
  const infoRows = new Rng(1).permutation(data.n).slice(0, 512).sort();
  const dataset: InfoplaneDataset = { name: 'ib12', ...data, numClasses: 2, train: split.train, test: split.test, infoRows, splitDescription: 'authors 80/20' };
  const out: RunRecord[] = [];
  for (const l2 of [0, 0.05]) for (const activation of ['tanh', 'relu'] as const) for (const seed of [0, 1, 2]) out.push(await runInfoplane(dataset, CONFIG, { activation, l2, seed }));
  return out;
}

let trained: Promise<RunRecord[]> | undefined;
/** The runs, trained once for the file's tests. */
function runsOnce(): Promise<RunRecord[]> {
  trained ??= runs();
  return trained;
}

test('the report is one self-contained HTML file with every section and plot', async () => {
  const records = await runsOnce();
  const summaries = CONFIG.estimators.map((e) => summarizeRuns(records, e));
  const html = renderInfoplaneReport({ title: 'test <report>', command: 'thrifty infoplane --out "<x>"', records, summaries });
  assert.ok(html.startsWith('<!DOCTYPE html>'));
  assert.ok(html.endsWith('</html>'));
  // Self-contained: no scripts, stylesheets, images or fonts fetched from anywhere.
  assert.doesNotMatch(html, /<script|<link|<img|<iframe|@import|url\(http|src=/i);
  const urls = html.match(/https?:\/\/[^"'\s)]+/g) ?? [];
  assert.deepEqual([...new Set(urls)], ['http://www.w3.org/2000/svg'], 'only the SVG namespace');
  // Text is escaped.
  assert.match(html, /test &lt;report&gt;/);
  assert.match(html, /--out &quot;&lt;x&gt;&quot;/);
  assert.ok(html.includes(escapeHtml(COMPRESSION_DEFINITION)));
  // Information planes: estimators x groups x layers panels; compression bars and scatter per estimator.
  const planes = html.match(/aria-label="information plane, /g) ?? [];
  assert.equal(planes.length, 2 * 4 * 6);
  assert.equal((html.match(/aria-label="compression bars, /g) ?? []).length, 2);
  assert.equal((html.match(/aria-label="compression vs test accuracy, layer /g) ?? []).length, 2 * 6);
  assert.equal((html.match(/aria-label="loss"/g) ?? []).length, 4);
  assert.equal((html.match(/aria-label="accuracy"/g) ?? []).length, 4);
  // The correlation tables report the summary's numbers.
  const c = summaries[0]!.correlations[0]!.layers[5]!;
  assert.match(html, /Pearson r/);
  assert.match(html, /Spearman ρ/);
  assert.ok(html.includes(`<td>6</td><td>${c.pearson.r.toFixed(3)}</td>`), 'layer 6 Pearson r in the table');
  assert.deepEqual(summaries[0]!.correlations.map((c) => c.scope).filter((scope) => !scope.startsWith('runs with')), ['all runs', 'L2 = 0', 'L2 = 0.05']);
  for (const set of summaries[0]!.correlations) assert.ok(html.includes(escapeHtml(set.scope)));
  assert.ok(html.includes('L2 = 0.05'));
  // Every group's seed mean is drawn as points coloured by epoch: the first and last colours of viridis appear.
  assert.ok(html.includes(viridis(0)) && html.includes(viridis(1)));
});

test('viridis runs from dark purple to yellow; escapeHtml escapes markup', () => {
  assert.equal(viridis(0), '#440154');
  assert.equal(viridis(1), '#fde725');
  assert.equal(viridis(-3), viridis(0));
  assert.equal(escapeHtml('<a href="x">&</a>'), '&lt;a href=&quot;x&quot;&gt;&amp;&lt;/a&gt;');
});

test('an empty report is refused', () => {
  assert.throws(() => renderInfoplaneReport({ title: 't', command: '', records: [], summaries: [] }), /no runs/);
});

test('a protocol-sized report renders: hundreds of thousands of estimates do not overflow the stack', async () => {
  // Three seeds of one group, each stretched to 12,000 recorded epochs: 216,000 I(X;T) values per
  // estimator (the 10-seed protocol has 329,000; spreading them into Math.max overflowed the stack).
  const base = (await runsOnce()).filter((r) => r.activation === 'tanh' && r.l2 === 0);
  const records = base.map((r) => ({ ...r, records: Array.from({ length: 12000 }, (_, i) => ({ ...r.records[i % r.records.length]!, epoch: i })) }));
  const summaries = CONFIG.estimators.map((e) => summarizeRuns(records, e));
  const html = renderInfoplaneReport({ title: 't', command: '', records, summaries });
  assert.ok(html.endsWith('</html>'));
  assert.equal((html.match(/aria-label="information plane, /g) ?? []).length, 2 * 6);
});
