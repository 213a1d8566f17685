// The dynamic-sparsity experiment's report: one self-contained HTML page (inline SVG, no scripts) with
// the five parts of the experiment: the Pareto plot of DynSparse, static and the dense family (the
// Pareto experiment's chart), the sparsity, block-size, n x pr and learning-rate sweeps, and random
// against RigL regrowth (explored degrees of freedom, and one weight's accumulated mask over training).

import { accumulatedMask, beatsBeyondSpread, type ArmRecord, type ArmSummary, type MaskTrace, type Spread } from './dynsparse.js';
import { escapeHtml, htmlTable, reportDocument, settingsTable } from './html.js';
import { xyChart } from './xy-chart.js';
import { viridis } from './infoplane-html.js';
import { averageSeeds, type RunCurve } from './pareto.js';
import { formatCost, lossCostChart } from './pareto-html.js';

export interface DynsparseReportInput {
  readonly title: string;
  readonly settings: Readonly<Record<string, string | number>>;
  readonly summaries: readonly ArmSummary[];
  readonly records: readonly ArmRecord[];
}

/** The paper's BERT-Medium MLM losses at s = 0.9 and equal non-embedding FLOPs (arXiv 2108.06277). */
export const PAPER_LOSSES: Readonly<Record<string, number>> = { 'dynamic 1x1': 2.41, 'dynamic 4x4': 2.55, 'dynamic 8x8': 2.59, 'dynamic 16x16': 2.62, static: 2.65, 'dense interpolated': 2.6 };

/** "2.345 ± 0.012" (sd over seeds; the bare mean with one seed). */
export function meanSd(s: Spread | null | undefined, digits = 3): string {
  if (!s) return '-';
  return s.sd === null ? s.mean.toFixed(digits) : `${s.mean.toFixed(digits)} ± ${s.sd.toFixed(digits)}`;
}

/** A signed difference with its spread: "-0.031 ± 0.010". */
export function signedMeanSd(s: Spread | null | undefined, digits = 3): string {
  if (!s) return '-';
  const m = `${s.mean >= 0 ? '+' : ''}${s.mean.toFixed(digits)}`;
  return s.sd === null ? m : `${m} ± ${s.sd.toFixed(digits)}`;
}

/** The family an arm is drawn in on the Pareto plot: 'dense', 'static 16x16', 'dynamic 1x1', 'rigl 16x16'. */
export function armFamily(arm: ArmSummary['arm']): string {
  return arm.mode === 'dense' ? 'dense' : `${arm.mode} ${arm.block}x${arm.block}`;
}

/** Short label of a sparse arm's setting. */
export function armLabel(arm: ArmSummary['arm']): string {
  if (arm.mode === 'dense') return `dense ${arm.size}`;
  const schedule = arm.mode === 'static' ? '' : `, n ${arm.updates}, pr ${arm.pruneRatio}`;
  const lr = arm.lrFactor === 1 ? '' : `, lr x${+arm.lrFactor.toPrecision(3)}`;
  return `${arm.mode} ${arm.size} s ${arm.sparsity} ${arm.block}x${arm.block}${schedule}${lr}`;
}

/** At most this many cells per side in a mask picture: larger masks are pooled (grey = share of positions explored). */
const MAX_CELLS = 64;

/**
 * A weight's blocks as an SVG of at most MAX_CELLS cells a side, `size` px wide: `fill` gives a cell's
 * colour from the blocks it pools (each callback gets one block's index), null leaves it white.
 */
function pooledPicture(trace: MaskTrace, size: number, caption: string, fill: (blocks: (visit: (index: number) => void) => void) => string | null): string {
  const pool = Math.max(1, Math.ceil(Math.max(trace.blockRows, trace.blockCols) / MAX_CELLS));
  const rows = Math.ceil(trace.blockRows / pool);
  const cols = Math.ceil(trace.blockCols / pool);
  const cell = size / Math.max(rows, cols);
  const rects: string[] = [];
  for (let r = 0; r < rows; r++) {
    for (let c = 0; c < cols; c++) {
      const colour = fill((visit) => {
        for (let i = r * pool; i < Math.min(trace.blockRows, (r + 1) * pool); i++) {
          for (let j = c * pool; j < Math.min(trace.blockCols, (c + 1) * pool); j++) visit(i * trace.blockCols + j);
        }
      });
      if (colour === null) continue;
      rects.push(`<rect x="${(c * cell).toFixed(2)}" y="${(r * cell).toFixed(2)}" width="${cell.toFixed(2)}" height="${cell.toFixed(2)}" fill="${colour}"/>`);
    }
  }
  const w = cols * cell;
  const h = rows * cell;
  return `<figure class="mask"><svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 ${w.toFixed(1)} ${h.toFixed(1)}" width="${w.toFixed(0)}" height="${h.toFixed(0)}" role="img"><rect width="${w.toFixed(1)}" height="${h.toFixed(1)}" fill="white" stroke="#999"/>${rects.join('')}</svg><figcaption>${escapeHtml(caption)}</figcaption></figure>`;
}

/** One frame of a weight's mask as an SVG of cells: black = explored (pooled cells in grey levels). */
export function maskPicture(trace: MaskTrace, mask: Uint8Array, label: string, size = 160): string {
  let explored = 0;
  for (const v of mask) explored += v;
  const caption = `${label}: ${((100 * explored) / mask.length).toFixed(1)}% explored`;
  return pooledPicture(trace, size, caption, (blocks) => {
    let on = 0;
    let count = 0;
    blocks((index) => {
      on += mask[index]!;
      count++;
    });
    if (on === 0) return null;
    const grey = Math.round(255 * (1 - on / count));
    return `rgb(${grey},${grey},${grey})`;
  });
}

/** The update at which each position was first active, in colour (viridis: early dark, late yellow; never: white). */
function firstExploredPicture(trace: MaskTrace, size = 160): string {
  const last = Math.max(1, trace.updates - 1);
  return pooledPicture(trace, size, 'first active at update (dark: start, yellow: last)', (blocks) => {
    let first = Infinity;
    blocks((index) => {
      const u = trace.firstExplored[index]!;
      if (u >= 0) first = Math.min(first, u);
    });
    return first === Infinity ? null : viridis(first / last);
  });
}

function maskFrames(record: ArmRecord): string {
  const trace = record.mask;
  if (!trace) return '';
  const last = Math.max(0, trace.updates - 1);
  const frames = [...new Set([0, Math.round(last / 4), Math.round(last / 2), last])];
  const pooled = Math.ceil(Math.max(trace.blockRows, trace.blockCols) / MAX_CELLS);
  const heading = `${armLabel(record.arm)}, seed ${record.seed}: ${trace.name} (${trace.blockRows} x ${trace.blockCols} blocks${pooled > 1 ? `, drawn in cells of ${pooled} x ${pooled} blocks` : ''})`;
  return `<h4>${escapeHtml(heading)}</h4><div class="masks">${frames.map((u) => maskPicture(trace, accumulatedMask(trace, u), u === 0 ? 'initial pattern' : `after update ${u}`)).join('')}${firstExploredPicture(trace)}</div>`;
}

function lossCell(s: ArmSummary): string {
  return `${meanSd(s.loss)} (${s.loss.n})`;
}

function denseCells(s: ArmSummary): string[] {
  const d = s.dense;
  const ratio = !d ? '-' : d.flopRatio === null ? `no dense size as low (best ${d.denseBest.toFixed(3)})` : `${d.flopRatio.toFixed(2)}x`;
  return [meanSd(d?.interpolated), signedMeanSd(d?.difference), d && beatsBeyondSpread(d.difference) ? 'yes' : 'no', ratio];
}

function paretoCurves(records: readonly ArmRecord[], include: (s: ArmRecord) => boolean): RunCurve[] {
  return records.filter(include).map((r) => ({
    arch: armFamily(r.arm),
    size: r.arm.mode === 'dense' ? r.arm.size : `s${r.arm.sparsity}`,
    seed: r.seed,
    flops: r.curve.map((p) => ({ cost: p.flops, loss: p.loss })),
    seconds: r.curve.map((p) => ({ cost: p.seconds, loss: p.loss })),
  }));
}

/** The report as one HTML document. */
export function renderDynsparseHtml(input: DynsparseReportInput): string {
  const { summaries, records } = input;
  const part = (name: string): ArmSummary[] => summaries.filter((s) => s.arm.parts.includes(name as ArmSummary['arm']['parts'][number]));
  const sections: string[] = [];

  // 1. Pareto: the dense family, static and dynamic sparse arms at the base setting and every block size.
  const onPareto = (r: ArmRecord): boolean => (r.arm.parts.includes('pareto') || r.arm.parts.includes('block')) && r.arm.lrFactor === 1;
  const curves = paretoCurves(records, onPareto);
  const sizes = averageSeeds(curves);
  const families = [...new Set(curves.map((c) => c.arch))];
  const paretoArms = summaries.filter((s) => (s.arm.parts.includes('pareto') || s.arm.parts.includes('block')) && s.arm.lrFactor === 1);
  sections.push(`<h2>1. DynSparse, static and the dense family at equal FLOPs</h2>
<p>Thick lines: each family's frontier; dashed: seed means; faint: single runs. "Dense at equal FLOPs" interpolates the dense sizes' final losses linearly in log FLOPs at the arm's FLOPs, seed by seed; the difference is paired by seed (mean ± sd over seeds). "Beyond spread": mean + sd &lt; 0. FLOP ratio: the arm's FLOPs over the FLOPs the dense family needs for the arm's mean loss (interpolated along its sizes' final losses), when some dense size got that low.</p>
${curves.length ? lossCostChart('flops', curves, sizes, families, 'Validation MLM loss against non-embedding training FLOPs') : ''}
${curves.length ? lossCostChart('seconds', curves, sizes, families, 'Validation MLM loss against training wall-clock time') : ''}
${htmlTable(
    ['arm', 'non-embedding FLOPs', 'final loss (seeds)', 'dense at equal FLOPs', 'difference', 'beyond spread', 'FLOP ratio', 'vs static (same block)', 'paper (BERT-Medium)'],
    paretoArms.map((s) => [
      armLabel(s.arm), formatCost(s.nonEmbeddingFlops, 'flops'), lossCell(s), ...denseCells(s), signedMeanSd(s.versusStatic?.difference),
      s.arm.mode === 'dense' ? '' : String(PAPER_LOSSES[s.arm.mode === 'static' ? 'static' : armFamily(s.arm)] ?? '-'),
    ]),
  )}`);

  // 2. Sparsity sweep.
  const sweep = part('sparsity');
  if (sweep.length) {
    sections.push(`<h2>2. Sparsity sweep</h2>
${xyChart([
    { label: 'dynamic', points: sweep.map((s) => ({ x: s.arm.sparsity, y: s.loss.mean, err: s.loss.sd })) },
    { label: 'dense at equal FLOPs', points: sweep.filter((s) => s.dense?.interpolated).map((s) => ({ x: s.arm.sparsity, y: s.dense!.interpolated!.mean, err: s.dense!.interpolated!.sd })) },
  ], { title: 'Final validation MLM loss against sparsity', xLabel: 'sparsity s', yLabel: 'validation MLM loss' })}
${htmlTable(['arm', 'learning rate', 'non-embedding FLOPs', 'final loss (seeds)', 'dense at equal FLOPs', 'difference', 'beyond spread', 'FLOP ratio'],
    sweep.map((s) => [armLabel(s.arm), s.lr.toPrecision(3), formatCost(s.nonEmbeddingFlops, 'flops'), lossCell(s), ...denseCells(s)]))}`);
  }

  // 3. Block sizes, with wall-clock.
  const blocks = part('block');
  if (blocks.length) {
    sections.push(`<h2>3. Block size at s = ${blocks[0]!.arm.sparsity}</h2>
${xyChart([
    { label: 'dynamic', points: blocks.filter((s) => s.arm.mode === 'dynamic').map((s) => ({ x: s.arm.block, y: s.loss.mean, err: s.loss.sd })) },
    { label: 'static', points: blocks.filter((s) => s.arm.mode === 'static').map((s) => ({ x: s.arm.block, y: s.loss.mean, err: s.loss.sd })), markersOnly: true },
  ], { title: 'Final validation MLM loss against block size', xLabel: 'block edge b (log scale)', yLabel: 'validation MLM loss', logX: true })}
${htmlTable(['arm', 'final loss (seeds)', 'vs static', 'non-embedding FLOPs', 'training seconds (mean ± sd)', 'ms per step', 'eps of the whole step'],
    [...summaries.filter((s) => s.arm.mode === 'dense' && s.arm.size === blocks[0]!.arm.size), ...blocks].map((s) => {
      const dense = summaries.find((d) => d.arm.mode === 'dense' && d.arm.size === s.arm.size);
      const eps = dense ? (s.seconds.mean / s.nonEmbeddingFlops) / (dense.seconds.mean / dense.nonEmbeddingFlops) : NaN;
      return [armLabel(s.arm), lossCell(s), signedMeanSd(s.versusStatic?.difference), formatCost(s.nonEmbeddingFlops, 'flops'), meanSd(s.seconds, 0), ((1000 * s.seconds.mean) / s.steps).toFixed(0), Number.isFinite(eps) ? eps.toFixed(1) : '-'];
    }))}
<p>eps of the whole step: training time per non-embedding FLOP relative to the dense model of the same size (the paper's bar for a wall-clock win at density 0.1: 2 for 1x1, 1.2 for 16x16; at micro sizes the step is dominated by work the sparsity does not touch). Wall-clock times are from the experiment's own runs on a shared machine: compare them with care.</p>`);
  }

  // 4. n x pr, and the learning-rate rule.
  const schedule = part('schedule');
  if (schedule.length) {
    const ns = [...new Set(schedule.map((s) => s.arm.updates))].sort((a, b) => a - b);
    const prs = [...new Set(schedule.map((s) => s.arm.pruneRatio))].sort((a, b) => a - b);
    sections.push(`<h2>4. Update count n and prune ratio pr</h2>
<p>Final validation MLM loss, mean ± sd over seeds (dynamic, s = ${schedule[0]!.arm.sparsity}, ${schedule[0]!.arm.block}x${schedule[0]!.arm.block}).</p>
${htmlTable(['n \\ pr', ...prs.map(String)], ns.map((n) => [String(n), ...prs.map((pr) => meanSd(schedule.find((s) => s.arm.updates === n && s.arm.pruneRatio === pr)?.loss))]))}`);
  }
  const lr = part('lr');
  if (lr.length) {
    sections.push(`<h3>Learning rate at s = ${lr[0]!.arm.sparsity}</h3>
<p>The rule eta(s) = eta(0) exp(1.969 s² + 0.2905 s) gives factor 1; factor ${(lr.map((s) => s.arm.lrFactor).sort((a, b) => a - b)[0] ?? 1).toPrecision(3)} is eta(0), the dense rate.</p>
${xyChart([{ label: 'dynamic', points: lr.map((s) => ({ x: s.lr, y: s.loss.mean, err: s.loss.sd })) }], { title: 'Final validation MLM loss against peak learning rate', xLabel: 'peak learning rate (log scale)', yLabel: 'validation MLM loss', logX: true })}
${htmlTable(['factor of the rule', 'learning rate', 'final loss (seeds)'], [...lr].sort((a, b) => a.lr - b.lr).map((s) => [`${+s.arm.lrFactor.toPrecision(3)}`, s.lr.toPrecision(3), lossCell(s)]))}`);
  }

  // 5. Random vs RigL regrowth.
  const regrow = part('regrow');
  if (regrow.length) {
    const masks = records
      .filter((r) => r.arm.parts.includes('regrow') && r.mask && r.seed === Math.min(...records.filter((x) => x.arm.id === r.arm.id).map((x) => x.seed)))
      .map(maskFrames)
      .join('');
    sections.push(`<h2>5. Random against RigL regrowth</h2>
${xyChart(regrow.filter((s) => s.exploredCurve).map((s) => ({ label: `${s.arm.mode} ${s.arm.block}x${s.arm.block}`, points: s.exploredCurve!.map((p) => ({ x: p.step, y: p.explored })) })),
    { title: 'Explored degrees of freedom (positions ever active / all), mean over tensors and seeds', xLabel: 'training step', yLabel: 'explored fraction' })}
${htmlTable(['arm', 'final loss (seeds)', 'vs static', 'explored at the end'], regrow.map((s) => [armLabel(s.arm), lossCell(s), signedMeanSd(s.versusStatic?.difference), s.explored === null ? '-' : s.explored.toFixed(3)]))}
<h3>One weight's accumulated mask over training</h3>
<p>Black: block positions active at some update so far (grey: the share of a pooled cell). The last picture colours each position by the update that first switched it on.</p>
${masks}`);
  }

  const settings = settingsTable(input.settings);
  const maskStyle = ['.masks { display: flex; flex-wrap: wrap; gap: 12px; }', '.masks figure { margin: 0; }', '.masks figcaption { font-weight: normal; font-size: 12px; max-width: 170px; }'];
  return reportDocument(input.title, `<p>Dietrich et al., "Towards Structured Dynamic Sparse Pre-Training of BERT" (arXiv 2108.06277), at micro scale: every arm trains BERT on the same data, tokens and schedule; validation masked-LM loss on held-out documents with fixed masks; non-embedding training FLOPs from the accountant (sparse layers count their active weights).</p>
${settings}
${sections.join('\n')}`, maskStyle);
}
