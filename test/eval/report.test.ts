// The evaluation report and the docs tables from a hand-made snapshot: the grid summary (means,
// standard errors, measured ratios, skipped cells), the report's sections (a chart per task, the
// paper's Table 2 where it matches, the length study when its cells exist, the ablation saying it
// is not run) and the Markdown tables.

import assert from 'node:assert/strict';
import { test } from 'node:test';

import { summariseGrid, type EvalSnapshot, type GridPlanEntry } from '../../src/eval/grid-summary.js';
import type { EvalCell, EvalRecord } from '../../src/eval/records.js';
import { renderSparqEvalHtml } from '../../src/report/sparq-eval-html.js';
import { ablationDocTable, gridTable, lengthTable, needleTable, paperComparisonTable, repetitionTable } from '../../src/report/sparq-eval-doc-tables.js';
import { confusionContextsOf, paperValue } from '../../src/eval/study-tables.js';

function cell(task: EvalCell['task'], method: string, compression: number, variant = ''): EvalCell {
  return { model: 'm', task, method, compression, variant, seed: 0 };
}

function record(c: EvalCell, index: number, score: number, ratio: number | null): EvalRecord {
  return {
    ...c, sampleId: `s${index}`, index, prefillTokens: 100, generatedTokens: 5, output: 'x', score, achievedRatio: ratio,
    transfers: { steps: 4, elements: ratio === null ? 0 : ratio * 1000, denseElements: ratio === null ? 0 : 1000 }, seconds: 0.1,
  };
}

const dense = cell('squad', 'dense', 1);
const sparq = cell('squad', 'sparq-even', 1 / 8);
const paperSkipped = cell('squad', 'sparq-paper', 1 / 8);
const rep = cell('repetition', 'h2o', 1 / 4);
const long = cell('squad', 'dense', 1, 'confusion-15');
const plan: GridPlanEntry[] = [
  { cell: dense, spec: { kind: 'dense' }, plannedRatio: 1 },
  { cell: sparq, spec: { kind: 'sparq', rank: 4, topK: 10, localWindow: 2 }, plannedRatio: 0.124 },
  { cell: paperSkipped, spec: null, plannedRatio: null, skipped: '--compression 1/8 is out of reach for sparq (paper recipe)' },
  { cell: rep, spec: { kind: 'h2o', topK: 30 }, plannedRatio: 0.25 },
];
const snapshot: EvalSnapshot = {
  cells: plan,
  records: [
    record(dense, 0, 1, 1), record(dense, 1, 0, 1), record(dense, 2, 1, 1), record(dense, 3, 1, 1),
    record(sparq, 0, 1, 0.12), record(sparq, 1, 0, 0.13),
    record(rep, 0, 10, 0.25), record(rep, 1, 30, 0.27),
    record(long, 0, 0, 1), record(long, 1, 1, 1),
  ],
};

test('grid summary: mean, standard error (binomial for exact match), measured ratio, skipped cells with the reason', () => {
  const rows = summariseGrid(snapshot);
  assert.deepEqual(rows.map((r) => `${r.cell.task}/${r.cell.variant}/${r.cell.method}`), ['squad//dense', 'squad//sparq-even', 'squad//sparq-paper', 'repetition//h2o', 'squad/confusion-15/dense']);
  const [d, s, skipped, h] = rows;
  assert.equal(d!.mean, 0.75);
  assert.ok(Math.abs(d!.sem! - Math.sqrt((0.75 * 0.25) / 4)) < 1e-12);
  assert.equal(d!.achievedRatio, 1);
  assert.ok(Math.abs(s!.achievedRatio! - 0.125) < 1e-12);
  assert.equal(skipped!.n, 0);
  assert.match(skipped!.skipped!, /out of reach/);
  assert.equal(h!.mean, 20);
  assert.ok(Math.abs(h!.sem! - Math.sqrt(200 / 2)) < 1e-9); // sample sd of (10, 30) = 14.14, / sqrt(2)
});

test('report: a chart per task, every point with its measured ratio, the paper beside SQuAD, the length study and the ablation sections', () => {
  const html = renderSparqEvalHtml({ title: 'T', snapshot, notes: ['a note'] });
  assert.ok(html.startsWith('<!doctype html>'));
  assert.ok(!/<script|https?:\/\//.test(html.replaceAll('http://www.w3.org/2000/svg', '')), 'self-contained');
  assert.equal((html.match(/<svg /g) ?? []).length, 2); // SQuAD and repetition (the confusion-15 cell goes to the length study)
  assert.ok(html.includes('SQuAD 1-shot (exact match) on m'));
  assert.ok(html.includes('Ribar et al., Table 2 (Llama 2 13B, 1/8, accuracy %)'));
  assert.ok(html.includes('<td>80.8</td>'));
  assert.ok(html.includes('sparq-even target 1/8: achieved 0.125'));
  assert.ok(html.includes('--compression 1/8 is out of reach for sparq (paper recipe)'));
  assert.ok(html.includes('<td>r=4 k=10 l=2</td>'));
  // Length study: 7 (the default task) and 15 confusion contexts, each point with its measured ratio; the paper's 7-context number beside.
  assert.match(html, /Sequence-length scaling[\s\S]*<th>7 contexts<\/th><th>15 contexts<\/th><th>paper, 7 contexts \(Llama 2 13B\)<\/th>/);
  assert.ok(html.includes('<tr><td>prompt (mean)</td><td></td><td>100 tokens</td><td>100 tokens</td><td></td></tr>'));
  assert.ok(html.includes('<tr><td>dense</td><td>1</td><td>75.0 ± 21.7 @ 1.000</td><td>50.0 ± 35.4 @ 1.000</td><td>80.8</td></tr>'));
  assert.ok(html.includes('<tr><td>sparq-even</td><td>1/8</td><td>50.0 ± 35.4 @ 0.125</td><td>-</td><td>74.9</td></tr>'));
  assert.match(html, /Key-compression ablation[^<]*<\/h2><p>Not run/);
  assert.ok(html.includes('<p>a note</p>'));
});

test('docs tables: every cell, and the paper beside ours at 1/8', () => {
  const grid = gridTable(snapshot, 'x');
  assert.ok(grid.includes('| squad | dense | 1 | 1.000 | 75.0 ± 21.7 | 4 |'), grid);
  assert.ok(grid.includes('| squad | sparq-paper | 1/8 | - | skipped: out of reach | 0 |'), grid);
  assert.ok(grid.includes('| squad (confusion-15) | dense | 1 | 1.000 | 50.0 ± 35.4 | 2 |'), grid);
  const paper = paperComparisonTable(snapshot, 'x');
  assert.ok(paper.includes('| SQuAD 1-shot (exact match) | dense | 80.8 | 75.0 ± 21.7 (dense, 1.000) |'), paper);
  assert.ok(paper.includes('| SQuAD 1-shot (exact match) | sparq 1/8 | 74.9 | 50.0 ± 35.4 (sparq-even, 0.125) |'), paper);
  assert.ok(paper.includes('| SQuAD 1-shot (exact match) | h2o 1/8 | 63.0 | - |'), paper);
  assert.ok(paper.includes('| Repetition (matched characters) | h2o 1/8 | 26 | - |'), paper);
});

test('repetition: whitespace-only outputs are flagged, keep the reference\'s full credit, and a second column scores them 0 (report and docs)', () => {
  const dense = cell('repetition', 'dense', 1);
  const h2o = cell('repetition', 'h2o', 1 / 8);
  const rec = (c: EvalCell, index: number, output: string, score: number, flag?: boolean): EvalRecord => ({ ...record(c, index, score, c.method === 'dense' ? 1 : 0.125), output, ...(flag === undefined ? {} : { degenerate: flag }) });
  const snap: EvalSnapshot = {
    cells: [{ cell: dense, spec: { kind: 'dense' }, plannedRatio: 1 }, { cell: h2o, spec: { kind: 'h2o', topK: 16 }, plannedRatio: 0.125 }],
    // Dense: one of four outputs is only newlines (credited 256, as the reference does), the others match nothing: 64 ± 64.
    records: [rec(dense, 0, '\n\n\n', 256, true), rec(dense, 1, ' And', 0, false), rec(dense, 2, 'x', 0, false), rec(dense, 3, 'Th', 0), rec(h2o, 0, 'First', 5), rec(h2o, 1, '  ', 255)],
  };
  const [d, h] = summariseGrid(snap);
  assert.equal(d!.mean, 64);
  assert.equal(d!.degenerate, 1);
  assert.deepEqual(d!.degenerateAsZero, { mean: 0, sem: 0 });
  assert.equal(h!.degenerate, 1); // derived from the output: the record predates the flag
  assert.deepEqual(h!.degenerateAsZero, { mean: 2.5, sem: 2.5 });
  const html = renderSparqEvalHtml({ title: 'T', snapshot: snap });
  assert.ok(html.includes('<th>degenerate outputs scored 0</th><th>degenerate</th>'));
  assert.ok(html.includes('<td>dense</td><td>1</td><td>1.000</td><td>64.0</td><td>64.0</td><td>4</td><td>0.0 ± 0.0</td><td>1/4</td>'), html);
  assert.ok(html.includes('credited with the whole reference'));
  const md = repetitionTable(snap, 'x');
  assert.ok(md.includes('| repetition | dense | 1 | 1.000 | 64.0 ± 64.0 | 0.0 ± 0.0 | 1/4 |'), md);
  assert.ok(md.includes('| repetition | h2o | 1/8 | 0.125 | 130.0 ± 125.0 | 2.5 ± 2.5 | 1/2 |'), md);
});

test('length study and ablation: drawn from the records, every point with its measured ratio, the paper where the task and target match', () => {
  const squadAt = (n: number, method: string, compression: number): EvalCell => cell('squad', method, compression, n === 7 ? '' : `confusion-${n}`);
  const plan: GridPlanEntry[] = [];
  const records: EvalRecord[] = [];
  for (const n of [3, 7, 15, 31]) {
    for (const [method, c, ratio] of [['dense', 1, 1], ['h2o', 1 / 8, 0.126], ['sparq-even', 1 / 8, 0.124]] as const) {
      const cl = squadAt(n, method, c);
      plan.push({ cell: cl, spec: null, plannedRatio: c });
      records.push({ ...record(cl, 0, n === 3 ? 1 : 0, ratio), prefillTokens: 50 * n }, { ...record(cl, 1, 0, ratio), prefillTokens: 50 * n });
    }
  }
  plan.push({ cell: squadAt(31, 'sparq-paper', 1 / 8), spec: null, plannedRatio: null, skipped: 'out of reach for sparq (paper recipe)' });
  const rp = cell('repetition', 'random-projection-even', 1 / 4);
  const sp = cell('repetition', 'sparq-even', 1 / 4);
  const or = cell('repetition', 'oracle', 1 / 4);
  const rd = cell('repetition', 'dense', 1);
  const rp8 = cell('repetition', 'random-projection-even', 1 / 8);
  const h2 = cell('repetition', 'h2o', 1 / 4);
  for (const c of [rp, sp, or, rd, h2]) plan.push({ cell: c, spec: null, plannedRatio: c.compression });
  plan.push({ cell: rp8, spec: null, plannedRatio: null, skipped: 'out of reach' });
  records.push(record(rd, 0, 40, 1), record(sp, 0, 30, 0.251), record(or, 0, 35, 0.249), record(rp, 0, 4, 0.252), record(h2, 0, 1, 0.25));
  const snap: EvalSnapshot = { cells: plan, records };
  assert.equal(confusionContextsOf({ cell: squadAt(15, 'dense', 1) }), 15);
  assert.equal(confusionContextsOf({ cell: cell('squad', 'dense', 1, 'confusion-31.kv-f16') }), 31);
  assert.equal(paperValue('squad', 'sparq-paper', 1 / 8), 74.9);
  assert.equal(paperValue('squad', 'sparq-even', 1 / 4), null);
  assert.equal(paperValue('repetition', 'dense', 1), 229);
  assert.equal(paperValue('cnndm', 'dense', 1), null);

  const length = lengthTable(snap, 'x');
  assert.ok(length.includes('| method | target | 3 contexts | 7 contexts | 15 contexts | 31 contexts | paper, 7 contexts (Llama 2 13B) |'), length);
  assert.ok(length.includes('| prompt (mean) |  | 150 tokens | 350 tokens | 750 tokens | 1550 tokens |  |'), length);
  assert.ok(length.includes('| dense | 1 | 50.0 ± 35.4 @ 1.000 | 0.0 ± 0.0 @ 1.000 | 0.0 ± 0.0 @ 1.000 | 0.0 ± 0.0 @ 1.000 | 80.8 |'), length);
  assert.ok(length.includes('| h2o | 1/8 | 50.0 ± 35.4 @ 0.126 | 0.0 ± 0.0 @ 0.126 | 0.0 ± 0.0 @ 0.126 | 0.0 ± 0.0 @ 0.126 | 63.0 |'), length);
  assert.ok(length.includes('| sparq-paper | 1/8 | - | - | - | skipped: out of reach | 74.9 |'), length);

  const ablation = ablationDocTable(snap, 'x');
  const lines = ablation.trim().split('\n');
  assert.deepEqual(lines.slice(2), [
    '| repetition | dense | 1 | 1.000 | 40.0 ± 0.0 | 1 |  | 229 |',
    '| repetition | sparq-even | 1/4 | 0.251 | 30.0 ± 0.0 | 1 | -10.0 ± 0.0 |  |',
    '| repetition | oracle | 1/4 | 0.249 | 35.0 ± 0.0 | 1 | -5.0 ± 0.0 |  |',
    '| repetition | random-projection-even | 1/4 | 0.252 | 4.0 ± 0.0 | 1 | -36.0 ± 0.0 |  |',
    '| repetition | random-projection-even | 1/8 | - | skipped: out of reach | 0 |  |  |',
  ]); // H2O is not part of the ablation

  const html = renderSparqEvalHtml({ title: 'T', snapshot: snap });
  const section = html.slice(html.indexOf('Key-compression ablation'));
  assert.ok(!section.includes('Not run'));
  assert.ok(section.includes('<td>random-projection-even</td><td>1/4</td><td>0.252</td><td>4.0 ± 0.0</td>'), section);
  assert.match(section, /<svg [^>]*aria-label="Repetition \(matched characters\)"/);
  assert.ok(section.includes('random-projection-even target 1/4: achieved 0.252'), 'every plotted point states its measured ratio');
  assert.ok(html.slice(html.indexOf('Sequence-length scaling')).includes('<tr><td>sparq-even</td><td>1/8</td><td>50.0 ± 35.4 @ 0.124</td>'));
});

test('grid summary: each method against dense on the same samples (paired differences), only where both cells hold the sample', () => {
  const d = cell('wikitext-bpc', 'dense', 1);
  const o = cell('wikitext-bpc', 'oracle', 1 / 4);
  const other = cell('wikitext-bpc', 'oracle', 1 / 4, 'reference-300'); // other samples: no dense to pair with
  const snap: EvalSnapshot = {
    cells: [],
    records: [
      record(d, 0, 4.0, 1), record(d, 1, 6.0, 1), record(d, 2, 5.0, 1),
      record(o, 0, 4.1, 0.25), record(o, 1, 6.3, 0.25), record(o, 3, 9.0, 0.25), // index 3 has no dense twin
      record(other, 0, 1, 0.25),
    ],
  };
  const [dense, oracle, unpaired] = summariseGrid(snap);
  assert.equal(dense!.vsDense, null);
  assert.equal(oracle!.vsDense!.n, 2);
  assert.ok(Math.abs(oracle!.vsDense!.mean - 0.2) < 1e-12);
  assert.ok(Math.abs(oracle!.vsDense!.sem - 0.1) < 1e-12); // differences 0.1 and 0.3: sd 0.1414, / sqrt(2)
  assert.equal(unpaired!.vsDense, null);
  const html = renderSparqEvalHtml({ title: 'T', snapshot: snap });
  assert.ok(html.includes('<th>vs dense, same samples</th>'));
  assert.ok(html.includes('<td>+0.200 ± 0.100</td>'), html);
});

test('needle by depth: a mark per depth in depth order, per cell and haystack length; missing samples shown as not run', () => {
  const needleDense = cell('needle', 'dense', 1);
  const needleH2o = cell('needle', 'h2o', 1 / 8);
  const at = (c: EvalCell, index: number, length: number, depth: number, score: number, ratio: number): EvalRecord =>
    ({ ...record(c, index, score, ratio), details: { length, depth } });
  const snap: EvalSnapshot = {
    cells: [
      { cell: needleDense, spec: { kind: 'dense' }, plannedRatio: 1 },
      { cell: needleH2o, spec: { kind: 'h2o', topK: 30 }, plannedRatio: 0.125 },
    ],
    records: [
      // Out of order on purpose: depth 1 first, then 0 and 0.5.
      at(needleDense, 2, 896, 1, 1, 1), at(needleDense, 0, 896, 0, 1, 1), at(needleDense, 1, 896, 0.5, 0, 1),
      at(needleDense, 3, 1920, 0, 1, 1), at(needleDense, 4, 1920, 0.5, 1, 1), at(needleDense, 5, 1920, 1, 1, 1),
      at(needleH2o, 0, 896, 0, 0, 0.125), at(needleH2o, 2, 896, 1, 1, 0.125),
    ],
  };
  assert.equal(needleTable(snap, 'n'), [
    '| method | target | measured ratio | haystack tokens | depth 0 -> 1 (3 depths) | matched |',
    '| --- | ---: | ---: | ---: | --- | ---: |',
    '| dense | 1 | 1.000 | 896 | x.x | 2/3 |',
    '| dense | 1 | 1.000 | 1920 | xxx | 3/3 |',
    '| h2o | 1/8 | 0.125 | 896 | .-x | 1/2 |',
  ].join('\n') + '\n');
});
