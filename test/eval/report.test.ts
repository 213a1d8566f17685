// The evaluation report and the docs tables from a hand-made snapshot: the grid summary (means,
// standard errors, measured ratios, skipped cells), the report's sections (a chart per task, the
// paper's Table 2 where it matches, the length study when its cells exist, the ablation saying it
// is not run) and the Markdown tables.

import assert from 'node:assert/strict';
import { test } from 'node:test';

import { summariseGrid, type EvalSnapshot, type GridPlanEntry } from '../../src/eval/grid-summary.js';
import type { EvalCell, EvalRecord } from '../../src/eval/records.js';
import { renderSparqEvalHtml } from '../../src/report/sparq-eval-html.js';
import { gridTable, paperComparisonTable } from '../../src/report/sparq-eval-doc-tables.js';

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
  // Length study: 7 (the default task) and 15 confusion contexts.
  assert.match(html, /Sequence-length scaling[\s\S]*<th>7 contexts<\/th><th>15 contexts<\/th>[\s\S]*<td>75\.0 ± 21\.7<\/td><td>50\.0 ± 35\.4<\/td>/);
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
