// The tables of docs/dynsparse.md, drawn from the committed records: the experiment's summary
// (`thrifty experiment dynsparse`, copied to docs/records/dynsparse/summary.json), the same grid's core
// arms with every sparse rate halved (summary-lrx0.5.json) and the kernel benchmark (`thrifty bench sparse --record docs/records/dynsparse/bench-sparse.json`).

import type { DocTable } from './doc-tables.js';
import { field, fixed, markdownTable } from './doc-tables.js';
import { beatsBeyondSpread, type ArmSummary } from './dynsparse.js';
import { armLabel, meanSd, PAPER_LOSSES, signedMeanSd } from './dynsparse-html.js';

export const DYNSPARSE_RECORDS = {
  summary: 'docs/records/dynsparse/summary.json',
  /** The core arms again with `--sparse-lr-factor 0.5`: static and DynSparse where neither stalls. */
  halfRule: 'docs/records/dynsparse/summary-lrx0.5.json',
  bench: 'docs/records/dynsparse/bench-sparse.json',
} as const;

function armsOf(record: unknown, path: string = DYNSPARSE_RECORDS.summary): ArmSummary[] {
  const arms = field(record, 'arms', path);
  if (!Array.isArray(arms)) throw new Error(`${path}: field 'arms' is not a list`);
  return arms as ArmSummary[];
}

function flops(x: number): string {
  return x.toExponential(2);
}

function loss(s: ArmSummary): string {
  return `${meanSd(s.loss)} (${s.loss.n})`;
}

function ratio(s: ArmSummary): string {
  const d = s.dense;
  if (!d) return '-';
  return d.flopRatio === null ? `no dense size as low (best ${fixed(d.denseBest, 3)})` : `${d.flopRatio.toFixed(2)}x`;
}

function paper(s: ArmSummary): string {
  if (s.arm.mode === 'dense') return '';
  const key = s.arm.mode === 'static' ? 'static' : `${s.arm.mode} ${s.arm.block}x${s.arm.block}`;
  const value = PAPER_LOSSES[key];
  return value === undefined ? '-' : value.toFixed(2);
}

/** The base setting's arms: no learning-rate factor, the grid's base n and pr. */
function isBase(s: ArmSummary, arms: readonly ArmSummary[]): boolean {
  const base = arms.find((a) => a.arm.parts.includes('pareto') && a.arm.mode === 'dynamic');
  if (s.arm.lrFactor !== 1) return false;
  if (s.arm.mode === 'dense' || s.arm.mode === 'static' || !base) return true;
  return s.arm.updates === base.arm.updates && s.arm.pruneRatio === base.arm.pruneRatio && s.arm.sparsity === base.arm.sparsity;
}

/** DynSparse, static (and RigL where asked) against the dense family at equal FLOPs, from one summary. */
function paretoTable(id: string, path: string, withRigl: boolean): DocTable {
  return {
    id,
    record: path,
    render(record) {
      const arms = armsOf(record, path);
      const rows = arms
        .filter((s) => (s.arm.mode === 'rigl' ? withRigl : s.arm.parts.includes('pareto') || s.arm.parts.includes('block')) && isBase(s, arms))
        .map((s) => [
          armLabel(s.arm), s.arm.mode === 'dense' ? '' : s.lr.toPrecision(3), flops(s.nonEmbeddingFlops), loss(s), meanSd(s.dense?.interpolated), signedMeanSd(s.dense?.difference),
          s.dense ? (beatsBeyondSpread(s.dense.difference) ? 'yes' : 'no') : '', ratio(s), signedMeanSd(s.versusStatic?.difference),
          s.versusStatic ? (beatsBeyondSpread(s.versusStatic.difference) ? 'yes' : 'no') : '', paper(s),
        ]);
      const dense = PAPER_LOSSES['dense interpolated']!.toFixed(2);
      return markdownTable(
        ['arm', 'peak lr', 'non-embedding FLOPs', 'final MLM loss (seeds)', 'dense at equal FLOPs', 'minus dense', 'beats dense beyond spread', 'FLOP ratio', 'minus static (same block)', 'beats static beyond spread', `paper (BERT-Medium; dense ${dense})`],
        rows,
        ['l', 'r', 'r', 'r', 'r', 'r', 'l', 'r', 'r', 'l', 'r'],
      );
    },
  };
}

const pareto = paretoTable('dynsparse/pareto', DYNSPARSE_RECORDS.summary, false);
const paretoHalfRule = paretoTable('dynsparse/pareto-half-rule', DYNSPARSE_RECORDS.halfRule, true);

/** The sparsity sweep of one summary: each sparsity at its rule-assigned rate (times the summary's factor). */
function sparsityTable(id: string, path: string): DocTable {
  return {
    id,
    record: path,
    render(record) {
      const arms = armsOf(record, path).filter((s) => s.arm.parts.includes('sparsity')).sort((a, b) => a.arm.sparsity - b.arm.sparsity);
      return markdownTable(
        ['sparsity', 'peak learning rate', 'non-embedding FLOPs', 'final MLM loss (seeds)', 'dense at equal FLOPs', 'minus dense', 'beats dense beyond spread', 'FLOP ratio'],
        arms.map((s) => [
          String(s.arm.sparsity), s.lr.toPrecision(3), flops(s.nonEmbeddingFlops), loss(s), meanSd(s.dense?.interpolated), signedMeanSd(s.dense?.difference),
          beatsBeyondSpread(s.dense?.difference ?? null) ? 'yes' : 'no', ratio(s),
        ]),
        ['r', 'r', 'r', 'r', 'r', 'r', 'l', 'r'],
      );
    },
  };
}

const sparsity = sparsityTable('dynsparse/sparsity', DYNSPARSE_RECORDS.summary);
const sparsityHalfRule = sparsityTable('dynsparse/sparsity-half-rule', DYNSPARSE_RECORDS.halfRule);

const blocks: DocTable = {
  id: 'dynsparse/blocks',
  record: DYNSPARSE_RECORDS.summary,
  render(record) {
    const all = armsOf(record);
    const arms = all.filter((s) => s.arm.parts.includes('block')).sort((a, b) => a.arm.block - b.arm.block || a.arm.mode.localeCompare(b.arm.mode));
    // The dense model of the sparse arms' size: the wall-clock reference.
    const dense = all.find((s) => s.arm.mode === 'dense' && s.arm.size === arms[0]?.arm.size);
    const secondsPerFlop = (s: ArmSummary): number => s.seconds.mean / s.nonEmbeddingFlops;
    const row = (s: ArmSummary): string[] => [
      s.arm.mode === 'dense' ? `dense ${s.arm.size}` : `${s.arm.block}x${s.arm.block}`, s.arm.mode === 'dense' ? '' : s.arm.mode, loss(s), signedMeanSd(s.versusStatic?.difference),
      flops(s.nonEmbeddingFlops), meanSd(s.seconds, 0), fixed((1000 * s.seconds.mean) / s.steps, 0),
      dense ? `${fixed(s.seconds.mean / dense.seconds.mean, 2)}x` : '-', dense ? fixed(secondsPerFlop(s) / secondsPerFlop(dense), 1) : '-', paper(s),
    ];
    return markdownTable(
      ['block', 'regrowth', 'final MLM loss (seeds)', 'minus static (same block)', 'non-embedding FLOPs', 'training seconds', 'ms per step', 'time / dense', 'eps of the whole step', 'paper loss'],
      [...(dense ? [row(dense)] : []), ...arms.map(row)],
      ['l', 'l', 'r', 'r', 'r', 'r', 'r', 'r', 'r', 'r'],
    );
  },
};

const schedule: DocTable = {
  id: 'dynsparse/schedule',
  record: DYNSPARSE_RECORDS.summary,
  render(record) {
    const arms = armsOf(record).filter((s) => s.arm.parts.includes('schedule'));
    const ns = [...new Set(arms.map((s) => s.arm.updates))].sort((a, b) => a - b);
    const prs = [...new Set(arms.map((s) => s.arm.pruneRatio))].sort((a, b) => a - b);
    return markdownTable(
      ['updates n', ...prs.map((pr) => `pr ${pr}`)],
      ns.map((n) => [String(n), ...prs.map((pr) => meanSd(arms.find((s) => s.arm.updates === n && s.arm.pruneRatio === pr)?.loss))]),
      ['r', ...prs.map(() => 'r' as const)],
    );
  },
};

const learningRate: DocTable = {
  id: 'dynsparse/lr',
  record: DYNSPARSE_RECORDS.summary,
  render(record) {
    const arms = armsOf(record).filter((s) => s.arm.parts.includes('lr')).sort((a, b) => a.lr - b.lr);
    return markdownTable(
      ['peak learning rate', 'multiple of the rule eta(s)', 'final MLM loss (seeds)'],
      arms.map((s) => [s.lr.toPrecision(3), `${+s.arm.lrFactor.toPrecision(3)}${s.arm.lrFactor === 1 ? ' (the rule)' : s.arm.lrFactor < 0.2 ? ' (eta(0), no rule)' : ''}`, loss(s)]),
      ['r', 'l', 'r'],
    );
  },
};

const regrow: DocTable = {
  id: 'dynsparse/regrow',
  record: DYNSPARSE_RECORDS.summary,
  render(record) {
    const arms = armsOf(record).filter((s) => s.arm.parts.includes('regrow')).sort((a, b) => a.arm.block - b.arm.block || a.arm.mode.localeCompare(b.arm.mode));
    return markdownTable(
      ['block', 'regrowth', 'final MLM loss (seeds)', 'minus static (same block)', 'explored at the end (density ' + (arms[0] ? fixed(1 - arms[0].arm.sparsity, 2) : '-') + ')'],
      arms.map((s) => [`${s.arm.block}x${s.arm.block}`, s.arm.mode === 'dynamic' ? 'random' : 'RigL', loss(s), signedMeanSd(s.versusStatic?.difference), fixed(s.explored, 3)]),
      ['l', 'l', 'r', 'r', 'r'],
    );
  },
};

interface ProductRow {
  readonly block: number;
  readonly density: number;
  readonly pass: string;
  /** Records before placements were measured hold host rows only (no field). */
  readonly placement?: 'host' | 'resident';
  readonly msSparse: number;
  readonly msDense: number;
  readonly eps: number;
  readonly speedup: number;
}

interface RebuildRow {
  readonly block: number;
  readonly density: number;
  readonly activeBlocks: number;
  readonly msRebuild: number;
  readonly msUpdate: number;
}

const eps: DocTable = {
  id: 'dynsparse/eps',
  record: DYNSPARSE_RECORDS.bench,
  render(record) {
    const rows = field(record, 'products', DYNSPARSE_RECORDS.bench) as ProductRow[];
    const date = String(field(record, 'date', DYNSPARSE_RECORDS.bench)).slice(0, 10);
    const load = (field(record, 'loadAverage', DYNSPARSE_RECORDS.bench) as number[])[0];
    const keys = [...new Set(rows.map((r) => `${r.block} ${r.density}`))];
    const cell = (block: number, density: number, pass: string, f: (r: ProductRow) => string, placement = 'host'): string => {
      const r = rows.find((x) => x.block === block && x.density === density && x.pass === pass && (x.placement ?? 'host') === placement);
      return r ? f(r) : '-';
    };
    const resident = rows.some((r) => r.placement === 'resident');
    const body = keys.map((k) => {
      const [block, density] = k.split(' ').map(Number) as [number, number];
      return [
        `${block}x${block}`, fixed(density, 3),
        ...['forward', 'gradInput', 'gradWeight', 'step'].map((p) => cell(block, density, p, (r) => fixed(r.eps, 2))),
        cell(block, density, 'step', (r) => `${fixed(r.msSparse, 2)} / ${fixed(r.msDense, 2)}`),
        cell(block, density, 'step', (r) => `${fixed(r.speedup, 2)}x`),
        ...(resident ? [
          cell(block, density, 'step', (r) => fixed(r.eps, 2), 'resident'),
          cell(block, density, 'step', (r) => `${fixed(r.msSparse, 2)} / ${fixed(r.msDense, 2)}`, 'resident'),
        ] : []),
      ];
    });
    const header = ['block', 'density', 'eps forward', 'eps dX', 'eps dW', 'eps step', 'step ms sparse / dense', 'speed-up'];
    if (resident) header.push('eps step, activations in wasm memory', 'its step ms sparse / dense');
    return `${markdownTable(header, body, header.map((_, i) => (i === 0 ? 'l' : 'r')))}\nMeasured ${date}, load average ${fixed(load, 1)} (\`${String(field(record, 'command', DYNSPARSE_RECORDS.bench))}\`).\n`;
  },
};

const rebuild: DocTable = {
  id: 'dynsparse/rebuild',
  record: DYNSPARSE_RECORDS.bench,
  render(record) {
    const rows = field(record, 'rebuild', DYNSPARSE_RECORDS.bench) as RebuildRow[];
    return markdownTable(
      ['block', 'density', 'active blocks', 'pattern rebuild ms', 'whole update ms (prune, regrow, rebuild, re-index values + 2 moments)'],
      rows.map((r) => [`${r.block}x${r.block}`, fixed(r.density, 3), String(r.activeBlocks), fixed(r.msRebuild, 3), fixed(r.msUpdate, 3)]),
      ['l', 'r', 'r', 'r', 'r'],
    );
  },
};

export const DYNSPARSE_DOC_TABLES: readonly DocTable[] = [pareto, paretoHalfRule, sparsity, sparsityHalfRule, blocks, schedule, learningRate, regrow, eps, rebuild];
