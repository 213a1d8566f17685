// The summary of an evaluation grid from its records (one per sample) and its plan (grid.json):
// one row per cell with the mean score, its standard error and the measured transfer ratio, or why
// the cell was skipped. The report, the `thrifty eval` table and the docs tables all read this.
// Also the paper's published numbers (Ribar et al., SparQ Attention, Table 2, Llama 2 13B at 1/8).

import type { AttentionSpec } from '../attention/policy.js';
import { cellKey, type EvalCell, type EvalRecord } from './records.js';
import { meanAndSem } from './metrics.js';
import { summariseCell } from './run-cell.js';
import type { TaskName } from './prompts.js';

/** What grid.json keeps of each planned cell: the spec the planner chose, or why the cell was skipped. */
export interface GridPlanEntry {
  readonly cell: EvalCell;
  readonly spec: AttentionSpec | null;
  /** The transfer model's ratio at the task's planned lengths. */
  readonly plannedRatio: number | null;
  readonly skipped?: string;
}

/** A snapshot of an output folder: every cell's plan and every record (what `thrifty eval` writes as eval.json). */
export interface EvalSnapshot {
  readonly cells: readonly GridPlanEntry[];
  readonly records: readonly EvalRecord[];
}

export interface GridRow {
  readonly cell: EvalCell;
  readonly n: number;
  readonly mean: number | null;
  readonly sem: number | null;
  /** Mean measured ratio over the samples' policy steps (1 for dense). */
  readonly achievedRatio: number | null;
  readonly spec: AttentionSpec | null;
  readonly skipped: string | null;
  /** Repetition: outputs empty after stripping leading whitespace, which the reference's metric credits in full (null otherwise). */
  readonly degenerate: number | null;
  /** Repetition: mean and s.e. with those outputs scored 0 (null otherwise). */
  readonly degenerateAsZero: { readonly mean: number; readonly sem: number } | null;
  /** Mean prefill tokens of the samples (BOS included; after left truncation). */
  readonly prefillTokens: number | null;
  /**
   * The score less dense's on the same samples (same model, task, variant and seed; samples both
   * cells hold), mean and s.e. of the per-sample differences: far tighter than comparing two means
   * when samples vary more than methods do. Null for dense and without a dense cell.
   */
  readonly vsDense: { readonly mean: number; readonly sem: number; readonly n: number } | null;
}

/** Cells whose samples are the same ones: model, task, variant and seed. */
function pairKey(cell: EvalCell): string {
  return `${cell.model}\u0000${cell.task}\u0000${cell.variant}\u0000${cell.seed}`;
}

/** One row per cell, planned cells first (in plan order), then cells only the records know. */
export function summariseGrid(snapshot: EvalSnapshot): GridRow[] {
  const byCell = new Map<string, EvalRecord[]>();
  for (const r of snapshot.records) {
    const key = cellKey(r);
    const list = byCell.get(key) ?? [];
    list.push(r);
    byCell.set(key, list);
  }
  const denseScores = new Map<string, Map<number, number>>();
  for (const r of snapshot.records) {
    if (r.method !== 'dense') continue;
    const key = pairKey(r);
    const scores = denseScores.get(key) ?? new Map<number, number>();
    scores.set(r.index, r.score);
    denseScores.set(key, scores);
  }
  const vsDense = (cell: EvalCell, records: readonly EvalRecord[]): GridRow['vsDense'] => {
    const dense = cell.method === 'dense' ? undefined : denseScores.get(pairKey(cell));
    if (!dense) return null;
    const diffs = records.filter((r) => dense.has(r.index)).map((r) => r.score - dense.get(r.index)!);
    if (diffs.length === 0) return null;
    const s = meanAndSem(diffs);
    return { mean: s.mean, sem: s.sem, n: s.n };
  };
  const rows: GridRow[] = [];
  const seen = new Set<string>();
  const row = (cell: EvalCell, plan: GridPlanEntry | null): GridRow => {
    const key = cellKey(cell);
    seen.add(key);
    const records = byCell.get(key) ?? [];
    if (plan?.skipped !== undefined || records.length === 0) {
      return {
        cell, n: 0, mean: null, sem: null, achievedRatio: null, spec: plan?.spec ?? null, skipped: plan?.skipped ?? (records.length === 0 ? 'no records yet' : null),
        degenerate: null, degenerateAsZero: null, prefillTokens: null, vsDense: null,
      };
    }
    const s = summariseCell(records);
    return {
      cell, n: s.n, mean: s.mean, sem: s.sem, achievedRatio: s.achievedRatio, spec: plan?.spec ?? null, skipped: null,
      degenerate: s.degenerate,
      degenerateAsZero: s.degenerateAsZero ? { mean: s.degenerateAsZero.mean, sem: s.degenerateAsZero.sem } : null,
      prefillTokens: records.reduce((a, r) => a + r.prefillTokens, 0) / records.length,
      vsDense: vsDense(cell, records),
    };
  };
  for (const plan of snapshot.cells) if (!seen.has(cellKey(plan.cell))) rows.push(row(plan.cell, plan));
  for (const r of snapshot.records) if (!seen.has(cellKey(r))) rows.push(row(r, null));
  return rows;
}

/** The task as the tables name it, with its score. */
export const TASK_TITLES: Readonly<Record<TaskName, { readonly title: string; readonly score: string; readonly higherIsBetter: boolean }>> = {
  squad: { title: 'SQuAD 1-shot (exact match)', score: 'accuracy', higherIsBetter: true },
  triviaqa: { title: 'TriviaQA closed-book (exact match)', score: 'accuracy', higherIsBetter: true },
  cnndm: { title: 'CNN/DailyMail (ROUGE-L F)', score: 'ROUGE-L', higherIsBetter: true },
  'wikitext-bpc': { title: 'WikiText (bits per character)', score: 'BPC', higherIsBetter: false },
  repetition: { title: 'Repetition (matched characters)', score: 'characters', higherIsBetter: true },
  needle: { title: 'Needle in a haystack (match)', score: 'accuracy', higherIsBetter: true },
};

/**
 * Ribar et al. (SparQ Attention), Table 2, Llama 2 13B, as quoted in issue 10: dense, and each
 * method at 1/8 of dense transfers. Only these numbers are held here; the rest of Table 2 (the
 * other tasks and models) was not available offline.
 */
export const PAPER_TABLE2: Readonly<Partial<Record<TaskName, { readonly setting: string; readonly values: Readonly<Record<string, number>> }>>> = {
  squad: { setting: 'Llama 2 13B, 1/8, accuracy %', values: { dense: 80.8, sparq: 74.9, h2o: 63.0, 'lm-infinite': 30.1 } },
  repetition: { setting: 'Llama 2 13B, 1/8, matched characters', values: { dense: 229, sparq: 190, h2o: 26, 'lm-infinite': 29 } },
  needle: { setting: 'Llama 2 13B (8k-16k), 1/8, accuracy %', values: { sparq: 79.4, h2o: 2.9, 'lm-infinite': 11.8 } },
};

/** The score as a table prints it: accuracy tasks in %, the rest as they are. */
export function formatScore(task: TaskName, value: number | null): string {
  if (value === null || !Number.isFinite(value)) return '-';
  if (task === 'squad' || task === 'triviaqa' || task === 'needle') return (100 * value).toFixed(1);
  if (task === 'cnndm') return value.toFixed(3);
  if (task === 'wikitext-bpc') return value.toFixed(3);
  return value.toFixed(1);
}

/** A ratio as 1/x when it is one, else to 3 decimals. */
export function formatCompression(value: number): string {
  const inverse = 1 / value;
  return Math.abs(inverse - Math.round(inverse)) < 1e-9 ? (Math.round(inverse) === 1 ? '1' : `1/${Math.round(inverse)}`) : value.toFixed(3);
}

/** A number of the paper's table as the paper prints it (accuracies to one decimal, characters whole). */
export function formatPaperValue(task: TaskName, value: number): string {
  return task === 'repetition' ? String(value) : value.toFixed(1);
}
