// docs/infoplane.md's known-answer and performance tables, drawn from the records that
// `npm run bench:record -- infoplane-known-answers` and `npm run bench:record -- infoplane` write
// (the estimators' known answers as computed, and `thrifty bench infoplane`'s timings).

import { benchRecord, provenance, rows, type BenchRecord, type Row } from './bench-doc-tables.js';
import { fixed, markdownTable, type DocTable } from './doc-tables.js';

export const KNOWN_ANSWERS_RECORD = 'docs/records/bench/infoplane-known-answers.json';
export const INFOPLANE_BENCH_RECORD = 'docs/records/bench/infoplane.json';

const BINNING_NAMES: Readonly<Record<string, string>> = { fixed: 'fixed', saxe: 'Saxe', ebab: 'EBAB' };

function num(row: Row, key: string): number {
  const value = row[key];
  if (typeof value !== 'number') throw new Error(`${KNOWN_ANSWERS_RECORD}: a '${String(row.kind)}' line's '${key}' is not a number`);
  return value;
}

function casesOf(record: BenchRecord, kind: string): Row[] {
  const found = rows(record).filter((r) => r.kind === kind);
  if (found.length === 0) throw new Error(`${KNOWN_ANSWERS_RECORD}: no '${kind}' lines`);
  return found;
}

/** "1e-6" for a tolerance. */
function tolerance(x: number): string {
  return x >= 0.001 ? String(x) : x.toExponential(0);
}

function knownAnswersLine(record: BenchRecord): string {
  return `\nComputed by \`thrifty bench infoplane-known-answers\` on ${record.date.slice(0, 10)} (record \`${KNOWN_ANSWERS_RECORD}\`; regenerate with \`${record.command}\`).\n`;
}

/** The summary table: each known answer, its tolerance, and what the estimators gave. */
export function renderKnownAnswers(recordValue: unknown): string {
  const record = benchRecord(recordValue, KNOWN_ANSWERS_RECORD);
  const table: string[][] = [];

  const identity = casesOf(record, 'identity-binning');
  const first = identity[0]!;
  const measured = identity.map((c) => `${fixed(num(c, 'ixt'), 6)} / ${fixed(num(c, 'ity'), 6)}`);
  const same = measured.every((m) => m === measured[0]);
  table.push([
    `T = X on the 12-bit data, ${identity.map((c) => BINNING_NAMES[String(c.estimator)] ?? String(c.estimator)).join(' / ')} binning`,
    `I(X;T) = ${num(first, 'expectedIxt')}, I(T;Y) = ${fixed(num(first, 'expectedIty'), 6)} (${tolerance(num(first, 'tolerance'))})`,
    same ? `${measured[0]} for all ${identity.length === 3 ? 'three' : identity.length}` : identity.map((c, i) => `${BINNING_NAMES[String(c.estimator)] ?? String(c.estimator)} ${measured[i]}`).join('; '),
  ]);

  for (const c of casesOf(record, 'identity-kde')) {
    table.push([
      `KDE for T = X, σ² = ${num(c, 'variance')}`,
      `upper ${fixed(num(c, 'expectedUpper'), 6)}, lower ${fixed(num(c, 'expectedLower'), 6)} (${tolerance(num(c, 'tolerance'))})`,
      `${fixed(num(c, 'upper'), 6)}, ${fixed(num(c, 'lower'), 6)}`,
    ]);
  }

  const ksg = casesOf(record, 'ksg-gaussian');
  const seeds = ksg[0]!.seeds;
  table.push([
    `KSG, k = 3, bivariate Gaussian, N = ${num(ksg[0]!, 'n')}, ρ = ${ksg.map((c) => num(c, 'rho')).join(' / ')}`,
    `${ksg.map((c) => fixed(num(c, 'truth'), 4)).join(' / ')} bits (${tolerance(num(ksg[0]!, 'tolerance'))})`,
    `${ksg.map((c) => fixed(num(c, 'mean'), 4)).join(' / ')} (mean of ${Array.isArray(seeds) ? seeds.length : '-'} samples whose sample correlation is exactly ρ)`,
  ]);

  const bias = casesOf(record, 'binning-bias');
  const gap = Math.max(...bias.map((c) => Math.abs(num(c, 'bias') - num(c, 'millerMadow'))));
  table.push(['binning bias on the same Gaussians vs Miller-Madow', `gap < ${tolerance(num(bias[0]!, 'tolerance'))} (see below)`, `largest gap ${fixed(gap, 3)} bits`]);

  const independent = casesOf(record, 'independent');
  const name = (c: Row): string => {
    const e = String(c.estimator);
    return e === 'ksg' ? 'KSG' : e === 'ross' ? 'Ross' : e === 'kde' ? 'KDE I(T;Y)' : `${BINNING_NAMES[e] ?? e} binning`;
  };
  // '\\|' keeps |I| from splitting the Markdown cell.
  const expectation = (c: Row): string => (num(c, 'expected') === 0 ? `${name(c)} \\|I\\| < ${tolerance(num(c, 'tolerance'))}` : `${name(c)} = its Miller-Madow bias ±${tolerance(num(c, 'tolerance'))}`);
  const result = (c: Row): string => (num(c, 'expected') === 0
    ? `${name(c)} ${fixed(num(c, 'estimate'), 4)}`
    : `${name(c)} ${fixed(num(c, 'estimate'), 4)} (bias ${fixed(num(c, 'expected'), 4)})`);
  table.push(['independent variables', independent.map(expectation).join('; '), independent.map(result).join('; ')]);

  return markdownTable(['test', 'expected (tolerance)', 'measured'], table) + knownAnswersLine(record);
}

/** KSG's bias and spread over the moment-matched and the raw samples, as a sentence. */
export function renderKsgBias(recordValue: unknown): string {
  const record = benchRecord(recordValue, KNOWN_ANSWERS_RECORD);
  const lines = casesOf(record, 'ksg-bias');
  const of = (sampling: string): Row[] => lines.filter((c) => c.sampling === sampling);
  const matched = of('moment-matched');
  const raw = of('raw');
  const rhos = matched.map((c) => num(c, 'rho')).join(', ');
  const biases = (cs: Row[]): string => {
    const values = cs.map((c) => fixed(num(c, 'bias'), 3));
    return `${values.slice(0, -1).join(', ')} and ${values[values.length - 1]}`;
  };
  const sds = (cs: Row[]): string => {
    const values = cs.map((c) => num(c, 'sd'));
    return `${fixed(Math.min(...values), 3)}-${fixed(Math.max(...values), 3)}`;
  };
  let text = `Over ${num(matched[0]!, 'samples')} such samples KSG's bias was ${biases(matched)} bits (sd ${sds(matched)}) at ρ = ${rhos}`;
  if (raw.length) text += `; over ${num(raw[0]!, 'samples')} raw samples it was ${biases(raw)} bits (sd ${sds(raw)})`;
  return `${text}.\n`;
}

/** Each binning's estimate, the exact MI of the discretised Gaussian, the bias and Miller-Madow's prediction. */
export function renderBinningBias(recordValue: unknown): string {
  const record = benchRecord(recordValue, KNOWN_ANSWERS_RECORD);
  const table = casesOf(record, 'binning-bias').map((c) => [
    String(num(c, 'rho')), BINNING_NAMES[String(c.binning)] ?? String(c.binning),
    fixed(num(c, 'estimate'), 4), fixed(num(c, 'exact'), 4), fixed(num(c, 'bias'), 4), fixed(num(c, 'millerMadow'), 4),
  ]);
  return markdownTable(['ρ', 'binning', 'estimate', 'exact (discretised)', 'bias', 'Miller-Madow'], table, ['l', 'l', 'r', 'r', 'r', 'r']) + knownAnswersLine(record);
}

/** `thrifty bench infoplane`: each kernel against its plain peer, wall-clock and CPU medians. */
export function renderInfoplaneBench(recordValue: unknown): string {
  const record = benchRecord(recordValue, INFOPLANE_BENCH_RECORD);
  const ms = (row: Row, key: string): string => {
    const v = row[key];
    if (typeof v !== 'number') return '-';
    return v >= 100 ? fixed(v, 0) : v >= 10 ? fixed(v, 1) : fixed(v, 2);
  };
  const table = rows(record).map((r) => {
    const speedup = typeof r.speedup === 'number' ? `${fixed(r.speedup, 1)}x` : '-';
    const cpuSpeedup = typeof r.cpuMs === 'number' && typeof r.peerCpuMs === 'number' && r.cpuMs > 0 ? `${fixed(r.peerCpuMs / r.cpuMs, 1)}x` : '-';
    return [String(r.name), String(r.input), ms(r, 'ms'), ms(r, 'cpuMs'), String(r.peer), ms(r, 'peerMs'), ms(r, 'peerCpuMs'), speedup, cpuSpeedup, `≤ ${String(r.targetMs)}`];
  });
  return markdownTable(
    ['measurement', 'input', 'thrifty ms', 'thrifty CPU ms', 'plain peer', 'peer ms', 'peer CPU ms', 'speedup (wall)', 'speedup (CPU)', 'target ms'],
    table,
    ['l', 'l', 'r', 'r', 'l', 'r', 'r', 'r', 'r', 'r'],
  ) + provenance([record]);
}

/**
 * What 10 and 50 seeds of the 12-bit protocol (10 activations x 2 L2 values) would cost on one core, from
 * the benchmark's training time per epoch and EBAB time per (layer, epoch): 8000 epochs, and EBAB on the
 * 6 layers at 274 recorded epochs, per network. CPU medians where the record has them (a loaded machine
 * stretches wall-clock, not the work), wall-clock otherwise.
 */
export function renderTenSeedCost(recordValue: unknown): string {
  const record = benchRecord(recordValue, INFOPLANE_BENCH_RECORD);
  const find = (prefix: string): Row => {
    const row = rows(record).find((r) => String(r.name).startsWith(prefix));
    if (!row || typeof row.ms !== 'number') throw new Error(`${INFOPLANE_BENCH_RECORD}: no '${prefix}' timing`);
    return row;
  };
  const training = find('training per epoch');
  const ebab = find('EBAB per layer-epoch');
  const cpu = typeof training.cpuMs === 'number' && typeof ebab.cpuMs === 'number';
  const epochMs = (cpu ? training.cpuMs : training.ms) as number;
  const ebabMs = (cpu ? ebab.cpuMs : ebab.ms) as number;
  const epochs = 8000;
  const layers = 6;
  const recorded = 274;
  const perNetwork = (epochs * epochMs + layers * recorded * ebabMs) / 1000;
  const networks = (seeds: number): number => 10 * 2 * seeds;
  const hours = (seeds: number): string => fixed((networks(seeds) * perNetwork) / 3600, 1);
  return `One network: ${epochs} epochs at the trainer's ${fixed(epochMs, 2)} ms, plus EBAB on ${layers} layers at ${recorded} epochs at ${fixed(ebabMs, 2)} ms, `
    + `${fixed(perNetwork, 0)} s of one core (${cpu ? 'CPU-time' : 'wall-clock'} medians of ${record.date.slice(0, 10)}, the record of Performance). `
    + `10 seeds (${networks(10)} networks): ${hours(10)} core-hours; the paper's 50 (${networks(50)}): ${hours(50)}.\n`;
}

export const INFOPLANE_BENCH_DOC_TABLES: readonly DocTable[] = [
  { id: 'infoplane/known-answers', record: KNOWN_ANSWERS_RECORD, render: renderKnownAnswers },
  { id: 'infoplane/ksg-bias', record: KNOWN_ANSWERS_RECORD, render: renderKsgBias },
  { id: 'infoplane/binning-bias', record: KNOWN_ANSWERS_RECORD, render: renderBinningBias },
  { id: 'infoplane/performance', record: INFOPLANE_BENCH_RECORD, render: renderInfoplaneBench },
  { id: 'infoplane/ten-seed-cost', record: INFOPLANE_BENCH_RECORD, render: renderTenSeedCost },
];
