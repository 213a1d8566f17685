// A line chart in SVG (no scripts): the reports' x-y plots (the dynamic-sparsity sweeps, a language
// model's loss curves). Either axis may be logarithmic.

import { axisTitles, escapeHtml, niceStep, svgElement, svgFigure } from './html.js';

const PLOT_WIDTH = 570;
const HEIGHT = 360;
const M = { left: 64, top: 20, bottom: 48 };
const PALETTE = ['#1f77b4', '#d62728', '#2ca02c', '#9467bd', '#ff7f0e', '#8c564b', '#e377c2', '#17becf'];

export interface XyPoint {
  readonly x: number;
  readonly y: number;
  /** Error bar half-height (a seed sd). */
  readonly err?: number | null;
}

export interface XySeries {
  readonly label: string;
  readonly points: readonly XyPoint[];
  /** Markers only, no connecting line. */
  readonly markersOnly?: boolean;
}

export interface XyChartOptions {
  readonly title: string;
  readonly xLabel: string;
  readonly yLabel: string;
  readonly logX?: boolean;
  /** Log y: points with y <= 0 are left out; ticks at powers of ten (and 2x, 5x over fewer than 3.5 decades). */
  readonly logY?: boolean;
  /** Pixels right of the plot for the legend (default 150). */
  readonly legendWidth?: number;
}

function chartWidth(options: XyChartOptions): number {
  return PLOT_WIDTH + (options.legendWidth ?? 150);
}

function ticks(lo: number, hi: number, count: number): number[] {
  const step = niceStep(hi - lo, count);
  const out: number[] = [];
  for (let v = Math.ceil(lo / step) * step; v <= hi + step * 1e-9; v += step) out.push(+v.toPrecision(10));
  return out;
}

/** Tick values (in data units) of a log axis spanning log10 values lo..hi. */
function logTicks(lo: number, hi: number): number[] {
  const out: number[] = [];
  const multiples = hi - lo < 3.5 ? [1, 2, 5] : [1];
  for (let e = Math.floor(lo); e <= Math.ceil(hi); e++) {
    for (const m of multiples) {
      const v = m * 10 ** e;
      const l = Math.log10(v);
      if (l >= lo - 1e-9 && l <= hi + 1e-9) out.push(+v.toPrecision(6));
    }
  }
  return out;
}

/** The chart's parts (gridlines, axes, lines, legend) inside a chartWidth x HEIGHT frame; [] when nothing is plottable. */
function chartParts(series: readonly XySeries[], options: XyChartOptions): string[] {
  const usable = (p: XyPoint): boolean => Number.isFinite(p.x) && Number.isFinite(p.y) && (!options.logX || p.x > 0) && (!options.logY || p.y > 0);
  const all = series.flatMap((s) => s.points).filter(usable);
  if (all.length === 0) return [];
  const fx = (x: number): number => (options.logX ? Math.log10(x) : x);
  const fy = (y: number): number => (options.logY ? Math.log10(y) : y);
  let xLo = Math.min(...all.map((p) => fx(p.x)));
  let xHi = Math.max(...all.map((p) => fx(p.x)));
  if (!(xHi > xLo)) [xLo, xHi] = [xLo - 0.5, xHi + 0.5];
  const xPad = (xHi - xLo) * 0.05;
  xLo -= xPad;
  xHi += xPad;
  // Error bars widen the range on a linear axis only (a log axis cannot show y - err <= 0).
  let yLo = Math.min(...all.map((p) => fy(options.logY ? p.y : p.y - (p.err ?? 0))));
  let yHi = Math.max(...all.map((p) => fy(options.logY ? p.y : p.y + (p.err ?? 0))));
  if (!(yHi > yLo)) [yLo, yHi] = [yLo - 0.05, yHi + 0.05];
  const yPad = (yHi - yLo) * 0.08;
  yLo -= yPad;
  yHi += yPad;
  const right = PLOT_WIDTH;
  const bottom = HEIGHT - M.bottom;
  const X = (x: number): number => M.left + ((fx(x) - xLo) / (xHi - xLo)) * (right - M.left);
  const Y = (y: number): number => M.top + (1 - (fy(y) - yLo) / (yHi - yLo)) * (bottom - M.top);
  const parts: string[] = [];
  const xTicks = options.logX ? [...new Set(all.map((p) => p.x))].sort((a, b) => a - b) : ticks(xLo, xHi, 6);
  for (const t of xTicks) {
    parts.push(`<line x1="${X(t).toFixed(1)}" x2="${X(t).toFixed(1)}" y1="${M.top}" y2="${bottom}" stroke="#eee"/>`);
    parts.push(`<text x="${X(t).toFixed(1)}" y="${bottom + 16}" text-anchor="middle">${+t.toPrecision(3)}</text>`);
  }
  for (const t of options.logY ? logTicks(yLo, yHi) : ticks(yLo, yHi, 6)) {
    parts.push(`<line x1="${M.left}" x2="${right}" y1="${Y(t).toFixed(1)}" y2="${Y(t).toFixed(1)}" stroke="#eee"/>`);
    parts.push(`<text x="${M.left - 6}" y="${Y(t).toFixed(1)}" text-anchor="end" dominant-baseline="middle">${+t.toPrecision(4)}</text>`);
  }
  parts.push(`<rect x="${M.left}" y="${M.top}" width="${right - M.left}" height="${bottom - M.top}" fill="none" stroke="#999"/>`);
  series.forEach((s, i) => {
    const colour = PALETTE[i % PALETTE.length]!;
    const points = s.points.filter(usable).sort((a, b) => a.x - b.x);
    if (!s.markersOnly && points.length > 1) {
      parts.push(`<polyline fill="none" stroke="${colour}" stroke-width="2" points="${points.map((p) => `${X(p.x).toFixed(1)},${Y(p.y).toFixed(1)}`).join(' ')}"/>`);
    }
    for (const p of points) {
      if (p.err && !options.logY) parts.push(`<line x1="${X(p.x).toFixed(1)}" x2="${X(p.x).toFixed(1)}" y1="${Y(p.y - p.err).toFixed(1)}" y2="${Y(p.y + p.err).toFixed(1)}" stroke="${colour}"/>`);
      if (points.length < 40) parts.push(`<circle cx="${X(p.x).toFixed(1)}" cy="${Y(p.y).toFixed(1)}" r="3" fill="${colour}"/>`);
    }
    const y = M.top + 14 + i * 18;
    parts.push(`<line x1="${right + 10}" x2="${right + 30}" y1="${y}" y2="${y}" stroke="${colour}" stroke-width="3"/>`);
    parts.push(`<text x="${right + 36}" y="${y}" dominant-baseline="middle">${escapeHtml(s.label)}</text>`);
  });
  parts.push(...axisTitles(options.xLabel, options.yLabel, { left: M.left, right, top: M.top, bottom }, HEIGHT));
  return parts;
}

/** The chart as an HTML figure with its title as caption ('' when nothing is plottable). */
export function xyChart(series: readonly XySeries[], options: XyChartOptions): string {
  const parts = chartParts(series, options);
  return parts.length === 0 ? '' : svgFigure(options.title, chartWidth(options), HEIGHT, parts);
}

/** The chart as a standalone SVG document (an .svg file; a Markdown image), its title in <title>. */
export function xyChartSvg(series: readonly XySeries[], options: XyChartOptions): string {
  return `${svgElement(options.title, chartWidth(options), HEIGHT, chartParts(series, options))}\n`;
}
