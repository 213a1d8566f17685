// The tables of docs/sparq-eval.md, drawn from the eval.json snapshots that `thrifty eval` writes
// (every planned cell and every per-sample record), committed under docs/records/.

import { formatCompression, formatPaperValue, formatScore, PAPER_TABLE2, summariseGrid, TASK_TITLES, type EvalSnapshot } from '../eval/grid-summary.js';
import type { TaskName } from '../eval/prompts.js';
import { ablationTable, lengthStudyTable, needleDepthTable, repetitionHonestyTable, type TextTable } from '../eval/study-tables.js';
import { field, markdownTable, type DocTable } from './doc-tables.js';

/** The committed snapshots, by table id. */
export const SPARQ_EVAL_RECORDS = {
  bundled: 'docs/records/sparq-eval-bundled/eval.json',
  stories260k: 'docs/records/sparq-eval-stories260k/eval.json',
  lengthBundled: 'docs/records/sparq-eval-length-bundled/eval.json',
  ablationBundled: 'docs/records/sparq-eval-ablation-bundled/eval.json',
  house: 'docs/records/sparq-eval-house/eval.json',
} as const;

const OUT_OF_REACH = (): string => 'skipped: out of reach';

function snapshotOf(record: unknown, name: string): EvalSnapshot {
  const cells = field(record, 'cells', name);
  const records = field(record, 'records', name);
  if (!Array.isArray(cells) || !Array.isArray(records)) throw new Error(`${name}: fields 'cells' and 'records' must be arrays`);
  return record as EvalSnapshot;
}

/** Every cell: task, method, target, measured ratio, score ± s.e., samples; skipped cells say so. */
export function gridTable(record: unknown, name: string): string {
  const rows = summariseGrid(snapshotOf(record, name));
  const body = rows.map((r) => {
    const task = r.cell.task + (r.cell.variant ? ` (${r.cell.variant})` : '');
    return [
      task,
      r.cell.method,
      formatCompression(r.cell.compression),
      r.achievedRatio === null ? '-' : r.achievedRatio.toFixed(3),
      r.skipped !== null ? 'skipped: out of reach' : `${formatScore(r.cell.task, r.mean)} ± ${formatScore(r.cell.task, r.sem)}`,
      String(r.n),
    ];
  });
  return markdownTable(['task', 'method', 'target', 'measured ratio', 'score ± s.e.', 'n'], body, ['l', 'l', 'r', 'r', 'r', 'r']);
}

/** The paper's Table 2 numbers held here (src/eval/grid-summary.ts) next to ours at the target nearest 1/8. */
export function paperComparisonTable(record: unknown, name: string): string {
  const rows = summariseGrid(snapshotOf(record, name));
  const body: string[][] = [];
  for (const [task, paper] of Object.entries(PAPER_TABLE2) as [TaskName, NonNullable<(typeof PAPER_TABLE2)[TaskName]>][]) {
    for (const [method, value] of Object.entries(paper.values)) {
      const mine = rows.filter((r) => r.cell.task === task && r.cell.variant === '' && r.mean !== null
        && (method === 'sparq' ? r.cell.method.startsWith('sparq') : r.cell.method === method)
        && (method === 'dense' || Math.abs(r.cell.compression - 1 / 8) < 1e-9));
      const ours = mine.map((r) => `${formatScore(task, r.mean)} ± ${formatScore(task, r.sem)} (${r.cell.method}, ${r.achievedRatio?.toFixed(3) ?? '-'})`).join('; ');
      body.push([TASK_TITLES[task].title, method === 'dense' ? 'dense' : `${method} 1/8`, formatPaperValue(task, value), ours || '-']);
    }
  }
  return markdownTable(['task', 'method', 'paper (Llama 2 13B)', 'ours ± s.e. (method, measured ratio)'], body, ['l', 'l', 'r', 'l']);
}

function markdownOf(t: TextTable, name: string): string {
  if (t.rows.length === 0) throw new Error(`${name}: no cells for this table`);
  return markdownTable(t.header, t.rows.map((r) => [...r]), t.align);
}

/** Repetition: the reference's matched characters beside the score with degenerate (whitespace-only) outputs counted as 0. */
export function repetitionTable(record: unknown, name: string): string {
  return markdownOf(repetitionHonestyTable(summariseGrid(snapshotOf(record, name))), name);
}

/** Needle: matched or missed at each depth, per cell and haystack length. */
export function needleTable(record: unknown, name: string): string {
  const snapshot = snapshotOf(record, name);
  return markdownOf(needleDepthTable(snapshot.records, summariseGrid(snapshot)), name);
}

/** The sequence-length study: SQuAD accuracy @ measured ratio against confusion contexts. */
export function lengthTable(record: unknown, name: string): string {
  return markdownOf(lengthStudyTable(summariseGrid(snapshotOf(record, name)), OUT_OF_REACH), name);
}

/** The key-compression ablation: SparQ vs oracle top-k vs random projection, with measured ratios. */
export function ablationDocTable(record: unknown, name: string): string {
  return markdownOf(ablationTable(summariseGrid(snapshotOf(record, name)), OUT_OF_REACH), name);
}

export const SPARQ_EVAL_DOC_TABLES: readonly DocTable[] = [
  { id: 'sparq-eval/bundled-grid', record: SPARQ_EVAL_RECORDS.bundled, render: (r) => gridTable(r, SPARQ_EVAL_RECORDS.bundled) },
  { id: 'sparq-eval/bundled-paper', record: SPARQ_EVAL_RECORDS.bundled, render: (r) => paperComparisonTable(r, SPARQ_EVAL_RECORDS.bundled) },
  { id: 'sparq-eval/stories260k-grid', record: SPARQ_EVAL_RECORDS.stories260k, render: (r) => gridTable(r, SPARQ_EVAL_RECORDS.stories260k) },
  { id: 'sparq-eval/bundled-repetition', record: SPARQ_EVAL_RECORDS.bundled, render: (r) => repetitionTable(r, SPARQ_EVAL_RECORDS.bundled) },
  { id: 'sparq-eval/stories260k-repetition', record: SPARQ_EVAL_RECORDS.stories260k, render: (r) => repetitionTable(r, SPARQ_EVAL_RECORDS.stories260k) },
  { id: 'sparq-eval/length-bundled', record: SPARQ_EVAL_RECORDS.lengthBundled, render: (r) => lengthTable(r, SPARQ_EVAL_RECORDS.lengthBundled) },
  { id: 'sparq-eval/ablation-bundled', record: SPARQ_EVAL_RECORDS.ablationBundled, render: (r) => ablationDocTable(r, SPARQ_EVAL_RECORDS.ablationBundled) },
  { id: 'sparq-eval/house-grid', record: SPARQ_EVAL_RECORDS.house, render: (r) => gridTable(r, SPARQ_EVAL_RECORDS.house) },
  { id: 'sparq-eval/house-paper', record: SPARQ_EVAL_RECORDS.house, render: (r) => paperComparisonTable(r, SPARQ_EVAL_RECORDS.house) },
  { id: 'sparq-eval/house-repetition', record: SPARQ_EVAL_RECORDS.house, render: (r) => repetitionTable(r, SPARQ_EVAL_RECORDS.house) },
  { id: 'sparq-eval/house-needle', record: SPARQ_EVAL_RECORDS.house, render: (r) => needleTable(r, SPARQ_EVAL_RECORDS.house) },
];
