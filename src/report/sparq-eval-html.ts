// A self-contained HTML report of an evaluation grid (`thrifty eval`): per task, the score against
// the measured transfer ratio (log scale), one line per method with standard-error bars, the table
// of every cell (target, achieved ratio, planned settings, or why it was skipped), and the paper's
// Table 2 beside it where the task matches; then the SQuAD sequence-length study and the
// key-compression ablation when their cells exist. Inline SVG: no scripts, fonts or links.

import { formatCompression, formatPaperValue, formatScore, PAPER_TABLE2, summariseGrid, TASK_TITLES, type EvalSnapshot, type GridRow } from '../eval/grid-summary.js';
import type { TaskName } from '../eval/prompts.js';
import { ablationRows, ablationTable, formatDelta, lengthStudyRows, lengthStudyTable, type TextTable } from '../eval/study-tables.js';
import { escapeHtml } from './html.js';

export interface SparqEvalReportInput {
  readonly title: string;
  readonly snapshot: EvalSnapshot;
  /** Free text paragraphs after the title. */
  readonly notes?: readonly string[];
}

const PALETTE: Readonly<Record<string, string>> = {
  dense: '#000000',
  'sparq-paper': '#d62728',
  'sparq-even': '#ff7f0e',
  h2o: '#1f77b4',
  'lm-infinite': '#2ca02c',
  flexgen: '#9467bd',
  oracle: '#8c564b',
};
const OTHER = ['#e377c2', '#7f7f7f', '#bcbd22', '#17becf'];

const WIDTH = 640;
const HEIGHT = 360;
const MARGIN = { left: 64, right: 130, top: 20, bottom: 48 };

function color(method: string, index: number): string {
  return PALETTE[method] ?? OTHER[index % OTHER.length]!;
}

function specText(row: GridRow): string {
  const s = row.spec;
  if (!s) return '-';
  switch (s.kind) {
    case 'dense':
      return 'dense';
    case 'sparq':
      return `r=${s.rank} k=${s.topK} l=${s.localWindow ?? Math.floor(s.topK / 4)}`;
    case 'h2o':
      return `k=${s.topK}${s.localWindow !== undefined ? ` l=${s.localWindow}` : ''}`;
    default:
      return `k=${s.topK}`;
  }
}

/** Score against achieved ratio, one polyline per method, error bars of one standard error. */
function chart(task: TaskName, rows: readonly GridRow[]): string {
  const points = rows.filter((r) => r.mean !== null && r.achievedRatio !== null);
  if (points.length === 0) return '<p>No finished cells to plot.</p>';
  const scale = task === 'needle' || task === 'squad' || task === 'triviaqa' ? 100 : 1;
  const lo = Math.min(...points.map((p) => p.mean! - (p.sem ?? 0)));
  const hi = Math.max(...points.map((p) => p.mean! + (p.sem ?? 0)));
  const yLo = (hi > lo ? lo - 0.05 * (hi - lo) : lo - 0.5) * scale;
  const yHi = (hi > lo ? hi + 0.05 * (hi - lo) : hi + 0.5) * scale;
  const minRatio = Math.min(1 / 16, ...points.map((p) => p.achievedRatio!));
  const xLo = Math.log2(minRatio) - 0.3;
  const xHi = 0.3;
  const plotW = WIDTH - MARGIN.left - MARGIN.right;
  const plotH = HEIGHT - MARGIN.top - MARGIN.bottom;
  const x = (ratio: number): number => MARGIN.left + ((Math.log2(ratio) - xLo) / (xHi - xLo)) * plotW;
  const y = (v: number): number => MARGIN.top + (1 - (v * scale - yLo) / (yHi - yLo)) * plotH;
  const parts: string[] = [];
  parts.push(`<rect x="${MARGIN.left}" y="${MARGIN.top}" width="${plotW}" height="${plotH}" fill="none" stroke="#888"/>`);
  for (let e = Math.ceil(xLo); e <= 0; e++) {
    const px = x(2 ** e).toFixed(1);
    parts.push(`<line x1="${px}" x2="${px}" y1="${MARGIN.top}" y2="${MARGIN.top + plotH}" stroke="#eee"/>`);
    parts.push(`<text x="${px}" y="${HEIGHT - MARGIN.bottom + 16}" font-size="11" text-anchor="middle">${e === 0 ? '1' : `1/${2 ** -e}`}</text>`);
  }
  for (let i = 0; i <= 5; i++) {
    const v = yLo + ((yHi - yLo) * i) / 5;
    const py = (MARGIN.top + (1 - i / 5) * plotH).toFixed(1);
    parts.push(`<text x="${MARGIN.left - 6}" y="${py}" font-size="11" text-anchor="end" dominant-baseline="middle">${+v.toPrecision(3)}</text>`);
  }
  parts.push(`<text x="${MARGIN.left + plotW / 2}" y="${HEIGHT - 10}" font-size="12" text-anchor="middle">measured attention transfers / dense (log scale)</text>`);
  parts.push(`<text transform="translate(14 ${MARGIN.top + plotH / 2}) rotate(-90)" font-size="12" text-anchor="middle">${escapeHtml(TASK_TITLES[task].score)}${scale === 100 ? ' (%)' : ''}</text>`);
  const methods = [...new Set(points.map((p) => p.cell.method))];
  methods.forEach((method, i) => {
    const c = color(method, i);
    const mine = points.filter((p) => p.cell.method === method).sort((a, b) => a.achievedRatio! - b.achievedRatio!);
    if (method === 'dense') {
      const py = y(mine[0]!.mean!).toFixed(1);
      parts.push(`<line x1="${MARGIN.left}" x2="${MARGIN.left + plotW}" y1="${py}" y2="${py}" stroke="${c}" stroke-dasharray="4 3" stroke-width="1"/>`);
    }
    if (mine.length > 1) parts.push(`<polyline fill="none" stroke="${c}" stroke-width="1.5" points="${mine.map((p) => `${x(p.achievedRatio!).toFixed(1)},${y(p.mean!).toFixed(1)}`).join(' ')}"/>`);
    for (const p of mine) {
      const px = x(p.achievedRatio!).toFixed(1);
      const sem = p.sem ?? 0;
      parts.push(`<line x1="${px}" x2="${px}" y1="${y(p.mean! - sem).toFixed(1)}" y2="${y(p.mean! + sem).toFixed(1)}" stroke="${c}"/>`);
      parts.push(`<circle cx="${px}" cy="${y(p.mean!).toFixed(1)}" r="3" fill="${c}"><title>${escapeHtml(`${method} target ${formatCompression(p.cell.compression)}: achieved ${p.achievedRatio!.toFixed(3)}, score ${formatScore(task, p.mean)} ± ${formatScore(task, p.sem)}`)}</title></circle>`);
    }
    const ly = MARGIN.top + 14 + i * 16;
    parts.push(`<line x1="${WIDTH - MARGIN.right + 10}" x2="${WIDTH - MARGIN.right + 26}" y1="${ly}" y2="${ly}" stroke="${c}" stroke-width="2"/>`);
    parts.push(`<text x="${WIDTH - MARGIN.right + 30}" y="${ly}" font-size="11" dominant-baseline="middle">${escapeHtml(method)}</text>`);
  });
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${WIDTH}" height="${HEIGHT}" viewBox="0 0 ${WIDTH} ${HEIGHT}" role="img" aria-label="${escapeHtml(TASK_TITLES[task].title)}">${parts.join('')}</svg>`;
}

function table(header: readonly string[], rows: readonly (readonly string[])[]): string {
  const head = `<tr>${header.map((h) => `<th>${escapeHtml(h)}</th>`).join('')}</tr>`;
  return `<table>${head}${rows.map((r) => `<tr>${r.map((c) => `<td>${escapeHtml(c)}</td>`).join('')}</tr>`).join('')}</table>`;
}

function cellTable(task: TaskName, rows: readonly GridRow[]): string {
  const repetition = task === 'repetition';
  const header = ['method', 'target', 'achieved ratio', 'score', '± s.e.', 'n', ...(repetition ? ['degenerate outputs scored 0', 'degenerate'] : []), 'vs dense, same samples', 'planned settings', 'note'];
  return table(header, rows.map((r) => [
    r.cell.method,
    formatCompression(r.cell.compression),
    r.achievedRatio === null ? '-' : r.achievedRatio.toFixed(3),
    formatScore(task, r.mean),
    formatScore(task, r.sem),
    String(r.n),
    ...(repetition ? [
      r.degenerateAsZero ? `${formatScore(task, r.degenerateAsZero.mean)} ± ${formatScore(task, r.degenerateAsZero.sem)}` : '-',
      r.degenerate === null ? '-' : `${r.degenerate}/${r.n}`,
    ] : []),
    r.vsDense === null ? '' : `${formatDelta(task, r.vsDense.mean)} ± ${formatScore(task, r.vsDense.sem)}`,
    specText(r),
    r.skipped ?? '',
  ]));
}

const REPETITION_NOTE = '<p>The score is the reference harness\'s (llminference/tasks/repetition.py evaluate_match_length): leading whitespace is stripped from output and reference, and characters are compared until the first mismatch <em>or the end of the shorter</em>, so an output that is empty after stripping (only newlines or spaces) is credited with the whole reference (about 256 characters). Such outputs are <em>degenerate</em>; the next columns give the mean with them scored 0 and their count, the honest reading of a score near the maximum.</p>';

function paperTable(task: TaskName): string {
  const paper = PAPER_TABLE2[task];
  if (!paper) return '<p class="paper">The paper\'s Table 2 numbers for this task are not held here (only SQuAD, repetition and needle at 1/8 for Llama 2 13B, as quoted in issue 10).</p>';
  return `<div class="paper"><h4>Ribar et al., Table 2 (${escapeHtml(paper.setting)})</h4>${table(['method', 'score'], Object.entries(paper.values).map(([m, v]) => [m, formatPaperValue(task, v)]))}</div>`;
}

function groupBy<T>(items: readonly T[], key: (t: T) => string): Map<string, T[]> {
  const out = new Map<string, T[]>();
  for (const item of items) {
    const k = key(item);
    const list = out.get(k) ?? [];
    list.push(item);
    out.set(k, list);
  }
  return out;
}

function textTable(t: TextTable): string {
  return table(t.header, t.rows);
}

/** SQuAD accuracy per method and target against the number of confusion contexts (variant confusion-N; 7 is the default task). */
function lengthStudy(rows: readonly GridRow[]): string {
  const intro = '<h2>Sequence-length scaling (SQuAD with 3, 7, 15, 31 confusion contexts)</h2>';
  if (lengthStudyRows(rows).length === 0) {
    return `${intro}<p>Not run: it needs SQuAD cells at two or more confusion-context counts (<code>thrifty eval --study length</code>, or <code>--task squad --confusion 3,7,15,31</code>). At a 512-token context the prompt is left-truncated long before 15 contexts, so on the small models this study measures truncation, not length.</p>`;
  }
  return `${intro}<p>Each cell: accuracy (%) ± one standard error @ the measured fraction of dense attention transfers. The first row is the mean prompt length after left truncation to the context less 256 tokens: where it stops growing with the contexts, the study measures truncation, not length. The paper's column is Table 2 (Llama 2 13B, 7 contexts, dense and 1/8).</p>${textTable(lengthStudyTable(rows))}`;
}

/** SparQ against oracle top-k and a random low-rank projection of K, per task, at matched measured ratios. */
function ablation(rows: readonly GridRow[]): string {
  const intro = '<h2>Key-compression ablation (SparQ vs oracle top-k vs a random low-rank projection of K)</h2>';
  const ablated = ablationRows(rows);
  if (ablated.length === 0) {
    return `${intro}<p>Not run: it needs <code>--attention random-projection</code> cells (<code>thrifty eval --study ablation</code>). SparQ against oracle top-k at the same measured ratio is in the task sections above (methods <code>sparq-*</code> and <code>oracle</code>).</p>`;
  }
  const charts = [...groupBy(ablated, (r) => `${r.cell.model}\u0000${r.cell.task}\u0000${r.cell.variant}`).values()]
    .map((list) => `<div><h4>${escapeHtml(TASK_TITLES[list[0]!.cell.task].title)}${list[0]!.cell.variant ? ` [${escapeHtml(list[0]!.cell.variant)}]` : ''}</h4>${chart(list[0]!.cell.task, list)}</div>`).join('');
  return `${intro}<p>random-projection: SparQ's step 1 on a seeded random r-dimensional projection of q and K instead of q's largest components, then SparQ's step 2; oracle: exact top-k scores handed over for free. Same recipes and measured ratios as SparQ. The paper's column is Table 2 (Llama 2 13B) where it has the task and target.</p><div class="row">${charts}</div>${textTable(ablationTable(rows))}`;
}

export function renderSparqEvalHtml(input: SparqEvalReportInput): string {
  const rows = summariseGrid(input.snapshot);
  const sections: string[] = [];
  const mainRows = rows.filter((r) => !(r.cell.task === 'squad' && /confusion-/.test(r.cell.variant)));
  const groups = groupBy(mainRows, (r) => `${r.cell.model}\u0000${r.cell.task}\u0000${r.cell.variant}`);
  for (const list of groups.values()) {
    const { model, task, variant } = list[0]!.cell;
    const heading = `${TASK_TITLES[task].title}${variant ? ` [${variant}]` : ''} on ${model}`;
    sections.push(`<section><h2>${escapeHtml(heading)}</h2><div class="row"><div>${chart(task, list)}</div>${paperTable(task)}</div>${task === 'repetition' ? REPETITION_NOTE : ''}${cellTable(task, list)}</section>`);
  }
  const notes = (input.notes ?? []).map((n) => `<p>${escapeHtml(n)}</p>`).join('');
  const style = 'body{font-family:sans-serif;max-width:1100px;margin:2em auto;padding:0 1em;color:#222}table{border-collapse:collapse;margin:0.5em 0 1.5em}td,th{border:1px solid #ccc;padding:2px 8px;font-size:13px;text-align:right}td:first-child,th:first-child{text-align:left}.row{display:flex;gap:2em;align-items:flex-start}.paper{font-size:13px}';
  return `<!doctype html>\n<html lang="en"><head><meta charset="utf-8"><title>${escapeHtml(input.title)}</title><style>${style}</style></head><body><h1>${escapeHtml(input.title)}</h1>${notes}`
    + `<p>Scores are means over samples with one standard error (binomial for exact match and needle). The x axis is the <em>measured</em> fraction of dense attention transfers over each sample's policy decode steps (the first generated token comes from the dense prefill). A skipped cell is a target the policy cannot reach at the task's lengths.</p>`
    + `${sections.join('')}${lengthStudy(rows)}${ablation(rows)}</body></html>\n`;
}
