// The tables of the report's two study sections and of the repetition honesty check, as plain
// header + rows of text, so the HTML report (src/report/sparq-eval-html.ts) and the docs tables
// (src/report/sparq-eval-doc-tables.ts) print the same thing from the same grid rows:
// - the sequence-length study: SQuAD accuracy against the number of confusion contexts, per
//   method and target, each point with its measured transfer ratio and the mean prompt length;
// - the key-compression ablation: SparQ, oracle top-k and a random projection of K (and dense),
//   per task and target, with the measured ratio;
// - repetition: the reference's score beside the score with degenerate (whitespace-only) outputs
//   counted as 0, and their count;
// - needle: matched or missed at each depth, per haystack length.
// The paper's Table 2 numbers (PAPER_TABLE2) go beside the cells whose task and target match.

import { formatCompression, formatPaperValue, formatScore, PAPER_TABLE2, type GridRow } from './grid-summary.js';
import type { TaskName } from './prompts.js';
import { cellKey, type EvalRecord } from './records.js';

export interface TextTable {
  readonly header: readonly string[];
  readonly rows: readonly (readonly string[])[];
  /** Column alignment ('l' or 'r'), one per header cell. */
  readonly align: readonly ('l' | 'r')[];
}

/** The number of SQuAD confusion contexts of a row (variant confusion-N; the default task is 7). */
export function confusionContextsOf(row: Pick<GridRow, 'cell'>): number {
  const m = /(?:^|\.)confusion-(\d+)(?:\.|$)/.exec(row.cell.variant);
  return m ? Number(m[1]) : 7;
}

/** The method family the paper names: sparq-paper / sparq-even -> sparq; others as they are. */
function paperMethod(method: string): string {
  return method.startsWith('sparq-') ? 'sparq' : method;
}

/** The paper's Table 2 value for a cell, when it holds one for this task, method and target (dense, or 1/8). */
export function paperValue(task: TaskName, method: string, compression: number): number | null {
  const paper = PAPER_TABLE2[task];
  if (!paper) return null;
  const family = paperMethod(method);
  if (family === 'dense' ? compression !== 1 : Math.abs(compression - 1 / 8) > 1e-9) return null;
  return paper.values[family] ?? null;
}

/** "score ± s.e. @ measured ratio" of a finished row; the skip reason otherwise. */
export function pointText(row: GridRow, skippedText: (reason: string) => string = (reason) => `skipped: ${reason}`): string {
  if (row.skipped !== null) return skippedText(row.skipped);
  const ratio = row.achievedRatio === null ? '-' : row.achievedRatio.toFixed(3);
  return `${formatScore(row.cell.task, row.mean)} ± ${formatScore(row.cell.task, row.sem)} @ ${ratio}`;
}

/** SQuAD rows of the length study (every confusion count of one model), or none when fewer than two counts ran. */
export function lengthStudyRows(rows: readonly GridRow[]): GridRow[] {
  const squad = rows.filter((r) => r.cell.task === 'squad' && !/kv-/.test(r.cell.variant));
  const counts = new Set(squad.filter((r) => r.n > 0).map(confusionContextsOf));
  return counts.size >= 2 ? squad : [];
}

/**
 * Score against confusion contexts: one row per method and target, one column per count holding
 * "score ± s.e. @ measured ratio", then the paper's number (7 contexts) where it has one; the first
 * row is the mean prompt length in tokens at each count (after left truncation to the context).
 */
export function lengthStudyTable(rows: readonly GridRow[], skippedText?: (reason: string) => string): TextTable {
  const squad = lengthStudyRows(rows);
  const counts = [...new Set(squad.map(confusionContextsOf))].sort((a, b) => a - b);
  const header = ['method', 'target', ...counts.map((c) => `${c} contexts`), 'paper, 7 contexts (Llama 2 13B)'];
  const prompt = counts.map((c) => {
    const done = squad.filter((r) => confusionContextsOf(r) === c && r.prefillTokens !== null);
    return done.length === 0 ? '-' : `${Math.round(done.reduce((a, r) => a + r.prefillTokens!, 0) / done.length)} tokens`;
  });
  const body: string[][] = [['prompt (mean)', '', ...prompt, '']];
  const keys = [...new Set(squad.map((r) => `${r.cell.method}\u0000${r.cell.compression}`))];
  for (const key of keys) {
    const [method, compression] = key.split('\u0000') as [string, string];
    const target = Number(compression);
    const mine = squad.filter((r) => r.cell.method === method && r.cell.compression === target);
    const paper = paperValue('squad', method, target);
    body.push([method, formatCompression(target), ...counts.map((c) => {
      const r = mine.find((x) => confusionContextsOf(x) === c);
      return r ? pointText(r, skippedText) : '-';
    }), paper === null ? '' : formatPaperValue('squad', paper)]);
  }
  return { header, rows: body, align: ['l', 'r', ...counts.map((): 'r' => 'r'), 'r'] };
}

/** A signed difference of scores as formatScore prints the score (+ for a rise). */
export function formatDelta(task: TaskName, value: number): string {
  const text = formatScore(task, value);
  return value > 0 && !text.startsWith('-') && Number(text) !== 0 ? `+${text}` : Number(text) === 0 ? formatScore(task, 0) : text;
}

/** Methods of the key-compression ablation: dense, SparQ (both recipes), oracle top-k, random projection. */
export function isAblationMethod(method: string): boolean {
  return method === 'dense' || method === 'oracle' || method.startsWith('sparq-') || method.startsWith('random-projection');
}

/** The ablation's rows: every task that has a random-projection cell, its ablation methods (none when no random projection ran). */
export function ablationRows(rows: readonly GridRow[]): GridRow[] {
  const tasks = new Set(rows.filter((r) => r.cell.method.startsWith('random-projection')).map((r) => `${r.cell.model}\u0000${r.cell.task}\u0000${r.cell.variant}`));
  return rows.filter((r) => tasks.has(`${r.cell.model}\u0000${r.cell.task}\u0000${r.cell.variant}`) && isAblationMethod(r.cell.method));
}

/** Task, method, target, measured ratio, score ± s.e., n, and the paper's number where it has one. */
export function ablationTable(rows: readonly GridRow[], skippedText: (reason: string) => string = (reason) => `skipped: ${reason}`): TextTable {
  const order = (m: string): number => (m === 'dense' ? 0 : m.startsWith('sparq-') ? 1 : m === 'oracle' ? 2 : 3);
  const list = ablationRows(rows).sort((a, b) => (a.cell.task < b.cell.task ? -1 : a.cell.task > b.cell.task ? 1 : 0)
    || b.cell.compression - a.cell.compression || order(a.cell.method) - order(b.cell.method) || a.cell.method.localeCompare(b.cell.method));
  const body = list.map((r) => {
    const task = r.cell.task + (r.cell.variant ? ` (${r.cell.variant})` : '');
    const paper = paperValue(r.cell.task, r.cell.method, r.cell.compression);
    return [
      task,
      r.cell.method,
      formatCompression(r.cell.compression),
      r.achievedRatio === null ? '-' : r.achievedRatio.toFixed(3),
      r.skipped !== null ? skippedText(r.skipped) : `${formatScore(r.cell.task, r.mean)} ± ${formatScore(r.cell.task, r.sem)}`,
      String(r.n),
      r.vsDense === null ? '' : `${formatDelta(r.cell.task, r.vsDense.mean)} ± ${formatScore(r.cell.task, r.vsDense.sem)}`,
      paper === null ? '' : formatPaperValue(r.cell.task, paper),
    ];
  });
  return {
    header: ['task', 'method', 'target', 'measured ratio', 'score ± s.e.', 'n', 'vs dense, same samples', 'paper (Llama 2 13B)'],
    rows: body,
    align: ['l', 'l', 'r', 'r', 'r', 'r', 'r', 'r'],
  };
}

/**
 * Repetition cells: the reference's matched characters (an empty or whitespace-only output
 * credited with the whole reference) beside the same mean with those outputs scored 0, and how
 * many there were.
 */
export function repetitionHonestyTable(rows: readonly GridRow[]): TextTable {
  const body = rows.filter((r) => r.cell.task === 'repetition' && r.skipped === null && r.n > 0).map((r) => [
    r.cell.task + (r.cell.variant ? ` (${r.cell.variant})` : ''),
    r.cell.method,
    formatCompression(r.cell.compression),
    r.achievedRatio === null ? '-' : r.achievedRatio.toFixed(3),
    `${formatScore('repetition', r.mean)} ± ${formatScore('repetition', r.sem)}`,
    r.degenerateAsZero ? `${formatScore('repetition', r.degenerateAsZero.mean)} ± ${formatScore('repetition', r.degenerateAsZero.sem)}` : '-',
    r.degenerate === null ? '-' : `${r.degenerate}/${r.n}`,
  ]);
  return {
    header: ['task', 'method', 'target', 'measured ratio', 'matched chars (reference metric)', 'degenerate outputs scored 0', 'degenerate'],
    rows: body,
    align: ['l', 'l', 'r', 'r', 'r', 'r', 'r'],
  };
}

/**
 * Needle in a haystack by depth: one row per needle cell and haystack length, one mark per depth in
 * order from 0 (the needle first) to 1 (last): 'x' matched, '.' missed, '-' not run; then the count.
 * The goal "at every depth" reads off a row of x's.
 */
export function needleDepthTable(records: readonly EvalRecord[], rows: readonly GridRow[]): TextTable {
  const needle = records.filter((r) => r.task === 'needle' && typeof r.details?.['length'] === 'number' && typeof r.details['depth'] === 'number');
  const depths = [...new Set(needle.map((r) => r.details!['depth'] as number))].sort((a, b) => a - b);
  const body: string[][] = [];
  for (const row of rows) {
    if (row.cell.task !== 'needle' || row.skipped !== null) continue;
    const mine = needle.filter((r) => cellKey(r) === cellKey(row.cell));
    const lengths = [...new Set(mine.map((r) => r.details!['length'] as number))].sort((a, b) => a - b);
    for (const length of lengths) {
      const at = new Map(mine.filter((r) => r.details!['length'] === length).map((r) => [r.details!['depth'] as number, r.score]));
      const marks = depths.map((d) => (at.has(d) ? (at.get(d)! > 0 ? 'x' : '.') : '-')).join('');
      const matched = [...at.values()].filter((s) => s > 0).length;
      body.push([row.cell.method, formatCompression(row.cell.compression), row.achievedRatio === null ? '-' : row.achievedRatio.toFixed(3), String(length), marks, `${matched}/${at.size}`]);
    }
  }
  return {
    header: ['method', 'target', 'measured ratio', 'haystack tokens', `depth 0 -> 1 (${depths.length} depths)`, 'matched'],
    rows: body,
    align: ['l', 'r', 'r', 'r', 'l', 'r'],
  };
}
