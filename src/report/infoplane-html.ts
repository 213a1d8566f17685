// The information-plane report: one self-contained HTML file (inline CSS and SVG, no scripts, no
// fonts, no network), readable offline and in a browser.
// Sections: settings and definitions; per estimator, the information plane of every layer for each
// (activation, L2) group (individual seeds as thin grey lines, the seed mean as points coloured by
// epoch); compression per layer and activation (bars and a table with tests); the effect of L2;
// correlation of each layer's compression with test accuracy (table and scatter plots); training
// curves.

import type { EstimatorName } from '../info/estimators.js';
import { ACTIVATION_NAMES } from '../train/infoplane/activations.js';
import { COMPRESSED_THRESHOLD, layerCompression, type InfoplaneSummary } from '../train/infoplane/analysis.js';
import type { RunRecord } from '../train/infoplane/experiment.js';
import { escapeHtml } from './html.js';

export interface InfoplaneReportInput {
  readonly title: string;
  readonly command: string;
  readonly records: readonly RunRecord[];
  readonly summaries: readonly InfoplaneSummary[];
}

const PALETTE = ['#1f77b4', '#d62728', '#2ca02c', '#ff7f0e', '#9467bd', '#8c564b', '#e377c2', '#17becf', '#bcbd22', '#7f7f7f'];

// The report's escaping is the one every report uses (re-exported for the report's callers).
export { escapeHtml };

function fmt(value: number, digits = 3): string {
  if (!Number.isFinite(value)) return value === Infinity ? '∞' : value === -Infinity ? '-∞' : '–';
  return value.toFixed(digits);
}

function fmtP(p: number): string {
  if (!Number.isFinite(p)) return '–';
  if (p < 1e-4) return p.toExponential(1);
  return p.toFixed(4);
}

// Viridis, sampled at 9 points and interpolated linearly.
const VIRIDIS = [
  [68, 1, 84], [71, 44, 122], [59, 81, 139], [44, 113, 142], [33, 144, 141], [39, 173, 129], [92, 200, 99], [170, 220, 50], [253, 231, 37],
] as const;

export function viridis(t: number): string {
  const x = Math.min(1, Math.max(0, Number.isFinite(t) ? t : 0)) * (VIRIDIS.length - 1);
  const i = Math.min(VIRIDIS.length - 2, Math.floor(x));
  const f = x - i;
  const c = VIRIDIS[i]!.map((v, k) => Math.round(v + f * (VIRIDIS[i + 1]![k]! - v)));
  return `#${c.map((v) => v.toString(16).padStart(2, '0')).join('')}`;
}

function px(v: number): string {
  return (Math.round(v * 10) / 10).toString();
}

interface Frame {
  readonly width: number;
  readonly height: number;
  readonly x0: number;
  readonly x1: number;
  readonly y0: number;
  readonly y1: number;
  readonly logX?: boolean;
}

const MARGIN = { left: 42, right: 14, top: 18, bottom: 30 };

function scaleX(f: Frame, v: number): number {
  const lo = f.logX ? Math.log10(f.x0 + 1) : f.x0;
  const hi = f.logX ? Math.log10(f.x1 + 1) : f.x1;
  const t = ((f.logX ? Math.log10(v + 1) : v) - lo) / (hi - lo || 1);
  return MARGIN.left + t * (f.width - MARGIN.left - MARGIN.right);
}

function scaleY(f: Frame, v: number): number {
  const t = (v - f.y0) / (f.y1 - f.y0 || 1);
  return f.height - MARGIN.bottom - t * (f.height - MARGIN.top - MARGIN.bottom);
}

/** About `count` round tick values in [lo, hi], with the decimals their labels need. */
function ticks(lo: number, hi: number, count = 4): { values: number[]; decimals: number } {
  if (!(hi > lo)) return { values: [lo], decimals: 2 };
  const step = (hi - lo) / count;
  const magnitude = 10 ** Math.floor(Math.log10(step));
  const factor = [1, 2, 2.5, 5, 10].find((m) => m * magnitude >= step) ?? 10;
  const nice = factor * magnitude;
  const decimals = Math.max(0, -Math.floor(Math.log10(nice) + 1e-9) + (factor === 2.5 ? 1 : 0));
  const values: number[] = [];
  for (let k = Math.ceil(lo / nice - 1e-9); k * nice <= hi + 1e-9 * nice; k++) values.push(k * nice);
  return { values, decimals };
}

function axes(f: Frame, title: string, xLabel: string, yLabel: string, xTicks = true): string {
  const parts: string[] = [];
  const bottom = f.height - MARGIN.bottom;
  parts.push(`<rect x="${MARGIN.left}" y="${MARGIN.top}" width="${f.width - MARGIN.left - MARGIN.right}" height="${bottom - MARGIN.top}" fill="#fff" stroke="#bbb"/>`);
  const xt = f.logX ? { values: [0, 1, 10, 100, 1000, 10000, 100000].filter((v) => v >= f.x0 && v <= f.x1), decimals: 0 } : ticks(f.x0, f.x1);
  if (xTicks) {
    for (const v of xt.values) {
      const x = scaleX(f, v);
      parts.push(`<line x1="${px(x)}" y1="${bottom}" x2="${px(x)}" y2="${bottom + 3}" stroke="#666"/><text x="${px(x)}" y="${bottom + 13}" text-anchor="middle">${v.toFixed(xt.decimals)}</text>`);
    }
  }
  const yt = ticks(f.y0, f.y1);
  for (const v of yt.values) {
    const y = scaleY(f, v);
    parts.push(`<line x1="${MARGIN.left - 3}" y1="${px(y)}" x2="${MARGIN.left}" y2="${px(y)}" stroke="#666"/><text x="${MARGIN.left - 5}" y="${px(y + 3)}" text-anchor="end">${v.toFixed(yt.decimals)}</text>`);
  }
  parts.push(`<text x="${px((MARGIN.left + f.width - MARGIN.right) / 2)}" y="${f.height - 4}" text-anchor="middle">${escapeHtml(xLabel)}</text>`);
  parts.push(`<text x="10" y="${px((MARGIN.top + bottom) / 2)}" text-anchor="middle" transform="rotate(-90 10 ${px((MARGIN.top + bottom) / 2)})">${escapeHtml(yLabel)}</text>`);
  parts.push(`<text x="${MARGIN.left}" y="12" font-weight="bold">${escapeHtml(title)}</text>`);
  return parts.join('');
}

function polyline(points: ReadonlyArray<readonly [number, number]>, stroke: string, width: number, opacity = 1): string {
  if (points.length === 0) return '';
  return `<polyline fill="none" stroke="${stroke}" stroke-width="${width}" stroke-opacity="${opacity}" points="${points.map(([x, y]) => `${px(x)},${px(y)}`).join(' ')}"/>`;
}

function svg(width: number, height: number, body: string, label: string): string {
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" role="img" aria-label="${escapeHtml(label)}">${body}</svg>`;
}

function groupKey(r: RunRecord): string {
  return `${r.activation}|${r.l2}`;
}

function groupRecords(records: readonly RunRecord[]): RunRecord[][] {
  const map = new Map<string, RunRecord[]>();
  for (const r of records) {
    const list = map.get(groupKey(r));
    if (list) list.push(r);
    else map.set(groupKey(r), [r]);
  }
  const order = (a: RunRecord): number => (ACTIVATION_NAMES as readonly string[]).indexOf(a.activation);
  return [...map.values()].sort((a, b) => order(a[0]!) - order(b[0]!) || a[0]!.l2 - b[0]!.l2);
}

function groupLabel(r: RunRecord): string {
  return r.l2 > 0 ? `${r.activation}, L2 ${r.l2}` : r.activation;
}

function ixtIty(record: RunRecord, estimator: EstimatorName, layer: number): Array<[number, number]> {
  return record.records.map((e) => {
    const info = e.info[estimator]![layer]!;
    return [info.ixt, info.ity];
  });
}

function meanSeries(runs: readonly RunRecord[], estimator: EstimatorName, layer: number): Array<[number, number]> {
  const series = runs.map((r) => ixtIty(r, estimator, layer));
  const length = Math.min(...series.map((s) => s.length));
  return Array.from({ length }, (_, i) => [
    series.reduce((a, s) => a + s[i]![0], 0) / series.length,
    series.reduce((a, s) => a + s[i]![1], 0) / series.length,
  ]);
}

function colorBar(maxEpoch: number): string {
  const stops = Array.from({ length: 9 }, (_, i) => `<stop offset="${i / 8}" stop-color="${viridis(i / 8)}"/>`).join('');
  return svg(
    260,
    34,
    `<defs><linearGradient id="epochs">${stops}</linearGradient></defs><rect x="10" y="4" width="240" height="10" fill="url(#epochs)"/>` +
      `<text x="10" y="28">epoch 0</text><text x="250" y="28" text-anchor="end">${maxEpoch} (log scale)</text>`,
    'colour scale: epoch',
  );
}

function informationPlanes(runs: readonly RunRecord[], estimator: EstimatorName, limits: { ixt: number; ity: number }): string {
  const layers = runs[0]!.sizes.length - 1;
  const maxEpoch = Math.max(...runs[0]!.records.map((r) => r.epoch), 1);
  const panels: string[] = [];
  for (let l = 0; l < layers; l++) {
    const f: Frame = { width: 230, height: 200, x0: 0, x1: limits.ixt, y0: 0, y1: limits.ity };
    const body: string[] = [axes(f, `layer ${l + 1}${l === layers - 1 ? ' (output)' : ''} · width ${runs[0]!.sizes[l + 1]}`, 'I(X;T) bits', 'I(T;Y) bits')];
    for (const r of runs) body.push(polyline(ixtIty(r, estimator, l).map(([x, y]) => [scaleX(f, x), scaleY(f, y)] as const), '#888', 0.7, 0.45));
    const mean = meanSeries(runs, estimator, l);
    body.push(polyline(mean.map(([x, y]) => [scaleX(f, x), scaleY(f, y)] as const), '#333', 0.8, 0.8));
    mean.forEach(([x, y], i) => {
      const epoch = runs[0]!.records[i]!.epoch;
      body.push(`<circle cx="${px(scaleX(f, x))}" cy="${px(scaleY(f, y))}" r="2.3" fill="${viridis(Math.log1p(epoch) / Math.log1p(maxEpoch))}"/>`);
    });
    panels.push(svg(f.width, f.height, body.join(''), `information plane, ${groupLabel(runs[0]!)}, layer ${l + 1}`));
  }
  return `<div class="panels">${panels.join('')}</div>`;
}

function compressionBars(summary: InfoplaneSummary): string {
  const groups = summary.groups;
  if (groups.length === 0) return '';
  const layers = groups[0]!.compression.length;
  const width = Math.max(420, 90 + layers * (groups.length * 9 + 18));
  const maxValue = Math.max(0.1, ...groups.flatMap((g) => g.compression.map((c) => c.mean + (Number.isFinite(c.sd) ? c.sd : 0))));
  const minValue = Math.min(0, ...groups.flatMap((g) => g.compression.map((c) => c.mean)));
  const f: Frame = { width, height: 240, x0: 0, x1: layers, y0: minValue, y1: maxValue };
  const body: string[] = [axes(f, `compression per layer (${summary.estimator}), mean ± sd over seeds`, 'layer', 'bits', false)];
  const slot = (scaleX(f, 1) - scaleX(f, 0)) / (groups.length + 1.5);
  groups.forEach((g, gi) => {
    g.compression.forEach((c, l) => {
      const x = scaleX(f, l) + slot * (gi + 0.75);
      const y = scaleY(f, Math.max(0, c.mean));
      const y0 = scaleY(f, Math.min(0, c.mean));
      body.push(`<rect x="${px(x)}" y="${px(y)}" width="${px(slot * 0.9)}" height="${px(Math.max(0.5, y0 - y))}" fill="${PALETTE[gi % PALETTE.length]}"><title>${escapeHtml(`${g.activation}${g.l2 ? `, L2 ${g.l2}` : ''}, layer ${l + 1}: ${fmt(c.mean)} ± ${fmt(c.sd)} bits`)}</title></rect>`);
      if (Number.isFinite(c.sd)) {
        const cx = x + slot * 0.45;
        body.push(`<line x1="${px(cx)}" x2="${px(cx)}" y1="${px(scaleY(f, c.mean - c.sd))}" y2="${px(scaleY(f, c.mean + c.sd))}" stroke="#222" stroke-width="0.8"/>`);
      }
    });
  });
  for (let l = 0; l < layers; l++) body.push(`<text x="${px(scaleX(f, l + 0.5))}" y="${f.height - MARGIN.bottom + 13}" text-anchor="middle">${l + 1}</text>`);
  const legend = groups.map((g, gi) => `<span class="key"><i style="background:${PALETTE[gi % PALETTE.length]}"></i>${escapeHtml(g.activation)}${g.l2 ? `, L2 ${g.l2}` : ''}</span>`).join(' ');
  return svg(f.width, f.height, body.join(''), `compression bars, ${summary.estimator}`) + `<p class="legend">${legend}</p>`;
}

function compressionTable(summary: InfoplaneSummary): string {
  const layers = summary.groups[0]?.compression.length ?? 0;
  const head = `<tr><th>activation</th><th>L2</th><th>runs</th>${Array.from({ length: layers }, (_, l) => `<th>layer ${l + 1}</th>`).join('')}<th>test acc.</th><th>train acc.</th></tr>`;
  const rows = summary.groups.map((g) => {
    const cells = g.compression.map((c, l) => {
      const t = g.compressionTest[l]!;
      return `<td>${fmt(c.mean)} ± ${fmt(c.sd)}<br><small>[${fmt(c.min, 2)}, ${fmt(c.max, 2)}] · ${Math.round(100 * g.compressedShare[l]!)}% &gt; ${COMPRESSED_THRESHOLD} · p ${fmtP(t.p)}</small></td>`;
    });
    return `<tr><td>${escapeHtml(g.activation)}</td><td>${g.l2}</td><td>${g.runs}</td>${cells.join('')}<td>${fmt(g.testAccuracy.mean)} ± ${fmt(g.testAccuracy.sd)}</td><td>${fmt(g.trainAccuracy.mean)} ± ${fmt(g.trainAccuracy.sd)}</td></tr>`;
  });
  return `<table>${head}${rows.join('')}</table><p class="note">Each cell: mean ± sd over seeds (bits), [min, max], share of runs compressing by more than ${COMPRESSED_THRESHOLD} bits, and the p-value of a one-sample t-test of mean compression = 0.</p>`;
}

function l2Table(summary: InfoplaneSummary): string {
  if (summary.l2Effects.length === 0) return '<p class="note">No runs with L2 in this report.</p>';
  const layers = summary.l2Effects[0]!.difference.length;
  const head = `<tr><th>activation</th><th>L2</th>${Array.from({ length: layers }, (_, l) => `<th>layer ${l + 1}</th>`).join('')}</tr>`;
  const rows = summary.l2Effects.map(
    (e) => `<tr><td>${escapeHtml(e.activation)}</td><td>${e.l2}</td>${e.difference.map((d, l) => `<td class="${d > 0 ? 'up' : 'down'}">${d >= 0 ? '+' : ''}${fmt(d)}<br><small>p ${fmtP(e.test[l]!.p)}</small></td>`).join('')}</tr>`,
  );
  return `<table>${head}${rows.join('')}</table><p class="note">Mean compression with L2 minus without (bits), Welch's t-test p-value.</p>`;
}

function correlationTables(summary: InfoplaneSummary): string {
  return summary.correlations
    .map((set) => {
      const rows = set.layers.map(
        (c) =>
          `<tr><td>${c.layer + 1}</td><td>${fmt(c.pearson.r)}</td><td>${fmtP(c.pearson.p)}</td><td>${fmt(c.spearman.r)}</td><td>${fmtP(c.spearman.p)}</td><td>${c.pearson.n}</td></tr>`,
      );
      return `<h4>${escapeHtml(set.scope)}</h4><table><tr><th>layer</th><th>Pearson r</th><th>p</th><th>Spearman ρ</th><th>p</th><th>n</th></tr>${rows.join('')}</table>`;
    })
    .join('');
}

function correlationScatter(records: readonly RunRecord[], estimator: EstimatorName): string {
  const layers = records[0]!.sizes.length - 1;
  const activations = [...new Set(records.map((r) => r.activation))];
  const acc = records.map((r) => r.final.testAccuracy);
  const panels: string[] = [];
  for (let l = 0; l < layers; l++) {
    const c = records.map((r) => layerCompression(r, estimator, l));
    const f: Frame = { width: 220, height: 190, x0: Math.min(0, ...c), x1: Math.max(0.1, ...c), y0: Math.min(...acc) - 0.005, y1: Math.max(...acc) + 0.005 };
    const body = [axes(f, `layer ${l + 1}`, 'compression (bits)', 'test accuracy')];
    records.forEach((r, i) => {
      const color = PALETTE[activations.indexOf(r.activation) % PALETTE.length];
      body.push(`<circle cx="${px(scaleX(f, c[i]!))}" cy="${px(scaleY(f, acc[i]!))}" r="2.5" fill="${color}" fill-opacity="0.7"${r.l2 > 0 ? ' stroke="#000" stroke-width="0.6"' : ''}/>`);
    });
    panels.push(svg(f.width, f.height, body.join(''), `compression vs test accuracy, layer ${l + 1}`));
  }
  const legend = activations.map((a, i) => `<span class="key"><i style="background:${PALETTE[i % PALETTE.length]}"></i>${escapeHtml(a)}</span>`).join(' ');
  return `<div class="panels">${panels.join('')}</div><p class="legend">${legend} · outlined points: with L2</p>`;
}

function curves(runs: readonly RunRecord[]): string {
  const epochs = runs[0]!.records.map((r) => r.epoch);
  const maxEpoch = Math.max(...epochs, runs[0]!.final.epoch);
  const panel = (title: string, pick: (r: RunRecord, i: number) => [number, number], yLabel: string): string => {
    const values = runs.flatMap((r) => r.records.flatMap((_, i) => pick(r, i))).filter(Number.isFinite);
    const f: Frame = { width: 300, height: 200, x0: 0, x1: maxEpoch, y0: Math.min(0, ...values), y1: Math.max(...values, 1e-9), logX: true };
    const body = [axes(f, title, 'epoch (log scale)', yLabel)];
    for (const r of runs) {
      body.push(polyline(r.records.map((e, i) => [scaleX(f, e.epoch), scaleY(f, pick(r, i)[0])] as const), PALETTE[0]!, 0.8, 0.5));
      body.push(polyline(r.records.map((e, i) => [scaleX(f, e.epoch), scaleY(f, pick(r, i)[1])] as const), PALETTE[1]!, 0.8, 0.5));
    }
    return svg(f.width, f.height, body.join(''), title);
  };
  return (
    `<div class="panels">` +
    panel('loss', (r, i) => [r.records[i]!.trainLoss, r.records[i]!.testLoss], 'cross-entropy (nats)') +
    panel('accuracy', (r, i) => [r.records[i]!.trainAccuracy, r.records[i]!.testAccuracy], 'accuracy') +
    `</div><p class="legend"><span class="key"><i style="background:${PALETTE[0]}"></i>train</span> <span class="key"><i style="background:${PALETTE[1]}"></i>test</span> (one line per seed)</p>`
  );
}

const STYLE = `body{font:14px/1.45 system-ui,-apple-system,"Segoe UI",sans-serif;margin:24px;color:#222;max-width:1500px}
h1{font-size:22px}h2{font-size:18px;margin-top:32px;border-bottom:1px solid #ddd}h3{font-size:15px;margin:18px 0 6px}h4{margin:10px 0 4px}
table{border-collapse:collapse;margin:6px 0}td,th{border:1px solid #ddd;padding:3px 7px;text-align:right;vertical-align:top}th{background:#f4f4f4}
td:first-child{text-align:left}small{color:#555}.note,.legend{color:#555;font-size:12px}.panels{display:flex;flex-wrap:wrap;gap:4px}
svg{font-size:10px;font-family:inherit}.key i{display:inline-block;width:10px;height:10px;margin-right:4px}td.up{background:#eef7ee}td.down{background:#fbeeee}
code{background:#f4f4f4;padding:1px 3px}`;

/** The report as one HTML string. */
/**
 * The largest I(X;T) or I(T;Y) of an estimator over every run, epoch and layer (at least 1e-9). A loop:
 * spreading them into Math.max overflows the stack (200 networks x 274 epochs x 6 layers).
 */
function largestEstimate(records: readonly RunRecord[], estimator: EstimatorName, key: 'ixt' | 'ity'): number {
  let largest = 1e-9;
  for (const run of records) for (const at of run.records) for (const layer of at.info[estimator] ?? []) largest = Math.max(largest, layer[key]);
  return largest;
}

export function renderInfoplaneReport(input: InfoplaneReportInput): string {
  const { records, summaries } = input;
  if (records.length === 0) throw new Error('renderInfoplaneReport: no runs to report');
  const first = records[0]!;
  const groups = groupRecords(records);
  const out: string[] = [];
  out.push(`<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><title>${escapeHtml(input.title)}</title><style>${STYLE}</style></head><body>`);
  out.push(`<h1>${escapeHtml(input.title)}</h1>`);
  const cfg = first.config;
  const settings: Array<[string, string]> = [
    ['command', input.command ? `<code>${escapeHtml(input.command)}</code>` : '–'],
    ['dataset', `${escapeHtml(first.dataset)} (${escapeHtml(first.split)})`],
    ['network', first.sizes.join('-')],
    ['training', `Adam lr ${cfg.lr}, batch ${cfg.batchSize}, ${cfg.epochs} epochs${cfg.shuffleBatches ? ', reshuffled every epoch' : ', fixed minibatches (as the paper\'s code)'}`],
    ['recorded epochs', `${first.records.length} log-spaced (${cfg.logSamples} grid points)`],
    ['groups', groups.map((g) => `${escapeHtml(groupLabel(g[0]!))} × ${g.length}`).join(', ')],
    ['estimators', cfg.estimators.join(', ')],
  ];
  out.push(`<table>${settings.map(([k, v]) => `<tr><th>${k}</th><td style="text-align:left">${v}</td></tr>`).join('')}</table>`);
  out.push(`<p><b>Compression.</b> ${escapeHtml(summaries[0]?.definition ?? '')} Layers are numbered from the input; the last is the softmax output.</p>`);

  for (const summary of summaries) {
    const e = summary.estimator;
    const ixtMax = largestEstimate(records, e, 'ixt');
    const ityMax = largestEstimate(records, e, 'ity');
    out.push(`<h2>Estimator: ${escapeHtml(e)}</h2>`);
    out.push(`<h3>Information planes</h3><p class="note">Grey: individual seeds. Points: the mean over seeds at each recorded epoch, coloured by epoch.</p>${colorBar(Math.max(...first.records.map((r) => r.epoch)))}`);
    for (const runs of groups) out.push(`<h3>${escapeHtml(groupLabel(runs[0]!))} · ${runs.length} seed${runs.length === 1 ? '' : 's'}</h3>${informationPlanes(runs, e, { ixt: ixtMax * 1.02, ity: ityMax * 1.05 })}`);
    out.push(`<h3>Compression per layer and activation</h3>${compressionBars(summary)}${compressionTable(summary)}`);
    out.push(`<h3>Effect of L2 regularisation</h3>${l2Table(summary)}`);
    out.push(`<h3>Compression and generalisation</h3><p class="note">Correlation across runs between a layer's compression and the final test accuracy.</p>${correlationTables(summary)}${correlationScatter(records, e)}`);
  }
  out.push('<h2>Training curves</h2>');
  for (const runs of groups) out.push(`<h3>${escapeHtml(groupLabel(runs[0]!))}</h3>${curves(runs)}`);
  const timing = records.reduce((acc, r) => ({ train: acc.train + r.timing.trainMs, info: acc.info + r.timing.infoMs }), { train: 0, info: 0 });
  out.push(`<p class="note">Compute: ${fmt(timing.train / 1000, 1)} s training, ${fmt(timing.info / 1000, 1)} s estimating, summed over runs. Generated by thrifty.</p>`);
  out.push('</body></html>');
  return out.join('\n');
}
