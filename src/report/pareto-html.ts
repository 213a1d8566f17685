// A self-contained HTML report of a Pareto experiment: validation loss against non-embedding
// training FLOPs and against wall-clock time (inline SVG, log-scaled cost axes), one frontier per
// architecture over its sizes, seed-averaged curves per size, every run faintly, and tables of the
// final losses and of the cost ratio at which one architecture reaches the other's loss.
// No scripts, fonts or links: the file opens anywhere, offline.

import { axisTitles, escapeHtml, htmlTable, niceStep, reportDocument, settingsTable, svgFigure } from './html.js';
import { averageSeeds, paretoFrontier, reachRatios, type CostKind, type CurvePoint, type ReachRatio, type RunCurve, type SizeCurve } from './pareto.js';

export interface ParetoReportInput {
  readonly title: string;
  /** Shown as a table above the charts (corpus, tokens per run, batch, ...). */
  readonly settings: Readonly<Record<string, string | number>>;
  readonly runs: readonly RunCurve[];
  /** The architecture whose losses are the targets (e.g. 'bert'). */
  readonly baseline: string;
  /** The architecture whose cost to reach them is measured (e.g. 'groupbert'). */
  readonly candidate: string;
  /** Free text paragraphs after the title. */
  readonly notes?: readonly string[];
}

const PALETTE = ['#1f77b4', '#d62728', '#2ca02c', '#9467bd', '#ff7f0e', '#8c564b'];

const WIDTH = 720;
const HEIGHT = 420;
const MARGIN = { left: 64, right: 120, top: 20, bottom: 48 };

interface Scale {
  x(cost: number): number;
  y(loss: number): number;
  xTicks: number[];
  yTicks: number[];
}

function makeScale(points: readonly CurvePoint[]): Scale {
  const costs = points.map((p) => p.cost).filter((c) => c > 0);
  const losses = points.map((p) => p.loss).filter(Number.isFinite);
  let lo = Math.log10(Math.min(...costs));
  let hi = Math.log10(Math.max(...costs));
  if (!(hi > lo)) [lo, hi] = [lo - 0.5, hi + 0.5];
  const pad = (hi - lo) * 0.03;
  lo -= pad;
  hi += pad;
  let yLo = Math.min(...losses);
  let yHi = Math.max(...losses);
  if (!(yHi > yLo)) [yLo, yHi] = [yLo - 0.5, yHi + 0.5];
  const yPad = (yHi - yLo) * 0.05;
  yLo -= yPad;
  yHi += yPad;
  const plotW = WIDTH - MARGIN.left - MARGIN.right;
  const plotH = HEIGHT - MARGIN.top - MARGIN.bottom;
  const xTicks: number[] = [];
  for (let e = Math.floor(lo); e <= Math.ceil(hi); e++) {
    for (const m of [1, 2, 5]) {
      const v = m * 10 ** e;
      if (Math.log10(v) >= lo && Math.log10(v) <= hi) xTicks.push(v);
    }
  }
  const step = niceStep(yHi - yLo, 6);
  const yTicks: number[] = [];
  for (let v = Math.ceil(yLo / step) * step; v <= yHi + 1e-12; v += step) yTicks.push(+v.toPrecision(12));
  return {
    x: (cost) => MARGIN.left + ((Math.log10(cost) - lo) / (hi - lo)) * plotW,
    y: (loss) => MARGIN.top + (1 - (loss - yLo) / (yHi - yLo)) * plotH,
    xTicks,
    yTicks,
  };
}

export function formatCost(value: number, kind: CostKind): string {
  if (kind === 'seconds') return value >= 100 ? `${Math.round(value)} s` : `${+value.toPrecision(2)} s`;
  const e = Math.floor(Math.log10(value));
  const m = value / 10 ** e;
  return `${+m.toPrecision(2)}e${e}`;
}

function polyline(points: readonly CurvePoint[], scale: Scale, attrs: string): string {
  const coords = points.filter((p) => p.cost > 0).map((p) => `${scale.x(p.cost).toFixed(1)},${scale.y(p.loss).toFixed(1)}`);
  return coords.length ? `<polyline fill="none" points="${coords.join(' ')}" ${attrs}/>` : '';
}

/**
 * Loss against cost (log scale): every run faintly, each size's seed average dashed and labelled,
 * and each architecture's (family's) frontier over its sizes thick, coloured by its place in `archs`.
 */
export function lossCostChart(kind: CostKind, runs: readonly RunCurve[], sizes: readonly SizeCurve[], archs: readonly string[], title: string): string {
  const all = runs.flatMap((r) => r[kind]).filter((p) => p.cost > 0);
  if (all.length === 0) return `<p>No validation points with ${kind} above 0.</p>`;
  const scale = makeScale(all);
  const colour = (arch: string): string => PALETTE[archs.indexOf(arch) % PALETTE.length]!;
  const parts: string[] = [];
  const plotBottom = HEIGHT - MARGIN.bottom;
  const plotRight = WIDTH - MARGIN.right;
  for (const t of scale.xTicks) {
    const x = scale.x(t).toFixed(1);
    parts.push(`<line x1="${x}" x2="${x}" y1="${MARGIN.top}" y2="${plotBottom}" stroke="#eee"/>`);
    parts.push(`<text x="${x}" y="${plotBottom + 16}" text-anchor="middle">${escapeHtml(formatCost(t, kind))}</text>`);
  }
  for (const t of scale.yTicks) {
    const y = scale.y(t).toFixed(1);
    parts.push(`<line x1="${MARGIN.left}" x2="${plotRight}" y1="${y}" y2="${y}" stroke="#eee"/>`);
    parts.push(`<text x="${MARGIN.left - 6}" y="${y}" text-anchor="end" dominant-baseline="middle">${+t.toPrecision(4)}</text>`);
  }
  parts.push(`<rect x="${MARGIN.left}" y="${MARGIN.top}" width="${plotRight - MARGIN.left}" height="${plotBottom - MARGIN.top}" fill="none" stroke="#999"/>`);
  for (const run of runs) parts.push(polyline(run[kind], scale, `stroke="${colour(run.arch)}" stroke-opacity="0.25" stroke-width="1"`));
  for (const size of sizes) {
    const points = size[kind].filter((p) => p.cost > 0);
    parts.push(polyline(points, scale, `stroke="${colour(size.arch)}" stroke-opacity="0.7" stroke-width="1.5" stroke-dasharray="4 3"`));
    const last = points[points.length - 1];
    if (last) {
      parts.push(`<circle cx="${scale.x(last.cost).toFixed(1)}" cy="${scale.y(last.loss).toFixed(1)}" r="3" fill="${colour(size.arch)}"/>`);
      parts.push(`<text x="${(scale.x(last.cost) + 5).toFixed(1)}" y="${(scale.y(last.loss) - 5).toFixed(1)}" fill="${colour(size.arch)}">${escapeHtml(size.size)}</text>`);
    }
  }
  for (const arch of archs) {
    const frontier = paretoFrontier(sizes.filter((s) => s.arch === arch).flatMap((s) => s[kind]));
    parts.push(polyline(frontier, scale, `stroke="${colour(arch)}" stroke-width="3"`));
  }
  archs.forEach((arch, i) => {
    const y = MARGIN.top + 14 + i * 18;
    parts.push(`<line x1="${plotRight + 10}" x2="${plotRight + 34}" y1="${y}" y2="${y}" stroke="${colour(arch)}" stroke-width="3"/>`);
    parts.push(`<text x="${plotRight + 40}" y="${y}" dominant-baseline="middle">${escapeHtml(arch)}</text>`);
  });
  const xLabel = kind === 'flops' ? 'non-embedding training FLOPs (log scale)' : 'training wall-clock time (log scale)';
  parts.push(...axisTitles(xLabel, 'validation MLM loss', { left: MARGIN.left, right: plotRight, top: MARGIN.top, bottom: plotBottom }, HEIGHT));
  return svgFigure(title, WIDTH, HEIGHT, parts);
}

function ratioRows(ratios: readonly ReachRatio[], kind: CostKind): string[][] {
  return ratios.map((r) => [
    r.size,
    r.targetLoss.toFixed(4),
    formatCost(r.baselineCost, kind),
    r.candidateCost === null ? 'not reached' : formatCost(r.candidateCost, kind),
    r.ratio === null ? '-' : `${r.upperBound ? '<= ' : ''}${r.ratio.toFixed(2)}x`,
  ]);
}

/** The report as one HTML document. */
export function renderParetoHtml(input: ParetoReportInput): string {
  const sizes = averageSeeds(input.runs);
  const archs = [...new Set(input.runs.map((r) => r.arch))];
  const settings = settingsTable(input.settings);
  const finals = htmlTable(
    ['architecture', 'size', 'seeds', 'final validation MLM loss (mean)', 'seed range', 'non-embedding FLOPs', 'wall-clock'],
    sizes.map((s) => {
      const runs = input.runs.filter((r) => r.arch === s.arch && r.size === s.size);
      const finalsOf = runs.map((r) => r.flops[r.flops.length - 1]?.loss ?? NaN);
      const lastFlops = s.flops[s.flops.length - 1];
      const lastSeconds = s.seconds[s.seconds.length - 1];
      return [
        s.arch,
        s.size,
        String(s.seeds),
        lastFlops ? lastFlops.loss.toFixed(4) : '-',
        `${Math.min(...finalsOf).toFixed(4)} - ${Math.max(...finalsOf).toFixed(4)}`,
        lastFlops ? formatCost(lastFlops.cost, 'flops') : '-',
        lastSeconds ? formatCost(lastSeconds.cost, 'seconds') : '-',
      ];
    }),
  );
  const ratioHeader = ['target: final loss of ' + input.baseline, 'loss', `${input.baseline} cost`, `${input.candidate} cost`, 'ratio'];
  const flopRatios = htmlTable(ratioHeader, ratioRows(reachRatios(sizes, input.baseline, input.candidate, 'flops'), 'flops'));
  const timeRatios = htmlTable(ratioHeader, ratioRows(reachRatios(sizes, input.baseline, input.candidate, 'seconds'), 'seconds'));
  const notes = (input.notes ?? []).map((n) => `<p>${escapeHtml(n)}</p>`).join('');
  return reportDocument(input.title, `${notes}
${settings}
<p>Thick lines: each architecture's Pareto frontier over its sizes (seed-averaged). Dashed: one size, averaged over seeds (labelled at its end). Faint: single runs.</p>
${lossCostChart('flops', input.runs, sizes, archs, 'Validation MLM loss against non-embedding training FLOPs')}
${lossCostChart('seconds', input.runs, sizes, archs, 'Validation MLM loss against training wall-clock time')}
<h2>Final losses</h2>
${finals}
<h2>${escapeHtml(input.candidate)} cost to reach ${escapeHtml(input.baseline)}'s loss</h2>
<p>For each ${escapeHtml(input.baseline)} size, the cost at which the ${escapeHtml(input.candidate)} frontier first reaches that size's final loss (interpolated in log cost), relative to ${escapeHtml(input.baseline)}'s cost. "&lt;=" marks a loss the cheapest ${escapeHtml(input.candidate)} point already beat.</p>
<h3>Non-embedding FLOPs</h3>
${flopRatios}
<h3>Wall-clock time</h3>
${timeRatios}`);
}
