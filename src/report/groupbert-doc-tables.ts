// The tables of docs/groupbert.md, drawn from two records: the first Pareto experiment on the micro
// family (transcribed: its run folders were not kept) and the seeded rerun of its micro-xs pair on a
// later engine, with each run's wall-clock and CPU time (the summary.json of `thrifty experiment
// pareto` plus the processes' times).

import { costToReach, paretoFrontier, type CurvePoint, type ReachRatio } from './pareto.js';
import { field, fixed, markdownTable, type DocTable } from './doc-tables.js';

export const GROUPBERT_RECORDS = {
  transcribed: 'docs/records/groupbert-pareto-micro-transcribed.json',
  rerun: 'docs/records/groupbert-pareto-micro-xs.json',
} as const;

/** 3.22e11, as the page writes FLOPs. */
export function flopsText(x: number): string {
  return x.toExponential(2).replace('e+', 'e');
}

function array<T>(record: unknown, path: string, name: string): T[] {
  const value = field(record, path, name);
  if (!Array.isArray(value)) throw new Error(`${name}: field '${path}' is not an array`);
  return value as T[];
}

function num(value: unknown, what: string, name: string): number {
  if (typeof value !== 'number' || !Number.isFinite(value)) throw new Error(`${name}: ${what} is not a number`);
  return value;
}

interface ArchResult {
  readonly loss: readonly number[];
  readonly flops: number;
}

interface TranscribedResult {
  readonly size: string;
  readonly shape: string;
  readonly bert: ArchResult;
  readonly groupbert: ArchResult;
}

const originalResults: DocTable = {
  id: 'groupbert/pareto-results',
  record: GROUPBERT_RECORDS.transcribed,
  render(record) {
    const name = GROUPBERT_RECORDS.transcribed;
    const rows = array<TranscribedResult>(record, 'experiment.results', name).map((r) => {
      const means = field(record, `experiment.reportedMeans.${r.size}`, name) as { bert: number; groupbert: number };
      const cell = (mean: number, seeds: readonly number[], best: boolean): string => `${best ? '**' : ''}${fixed(mean, 3)}${best ? '**' : ''} (${seeds.map((s) => fixed(s, 3)).join(', ')})`;
      const bertMean = num(means.bert, `${r.size} BERT mean`, name);
      const gbMean = num(means.groupbert, `${r.size} GroupBERT mean`, name);
      return [`${r.size} (${r.shape})`, cell(bertMean, r.bert.loss, bertMean < gbMean), flopsText(r.bert.flops), cell(gbMean, r.groupbert.loss, gbMean < bertMean), flopsText(r.groupbert.flops)];
    });
    return markdownTable(['size', 'BERT loss', 'BERT FLOPs', 'GroupBERT loss', 'GroupBERT FLOPs'], rows, ['l', 'r', 'r', 'r', 'r']);
  },
};

const originalFlopRatios: DocTable = {
  id: 'groupbert/pareto-flop-ratios',
  record: GROUPBERT_RECORDS.transcribed,
  render(record) {
    const name = GROUPBERT_RECORDS.transcribed;
    const rows = array<{ size: string; targetLoss: number; bertFlops: number; groupbertFlops: number; ratio: number }>(record, 'experiment.flopRatios', name).map((r, i) => [
      r.size,
      fixed(r.targetLoss, 3),
      flopsText(r.bertFlops),
      flopsText(r.groupbertFlops),
      // The first row (BERT's lowest loss, micro-xs) is the one the text discusses.
      i === 0 ? `**${fixed(r.ratio, 2)}x**` : `${fixed(r.ratio, 2)}x`,
    ]);
    return markdownTable(['BERT size', 'target loss', 'BERT FLOPs', 'GroupBERT FLOPs', 'FLOP ratio'], rows, ['l', 'r', 'r', 'r', 'r']);
  },
};

const stepTimes: DocTable = {
  id: 'groupbert/step-times',
  record: GROUPBERT_RECORDS.transcribed,
  render(record) {
    const name = GROUPBERT_RECORDS.transcribed;
    const rows = array<{ size: string; bertMs: number; groupbertMs: number; flopRatio: number }>(record, 'stepTimes.rows', name).map((r) => [
      r.size,
      String(r.bertMs),
      String(r.groupbertMs),
      fixed(r.groupbertMs / r.bertMs, 2),
      fixed(r.flopRatio, 2),
    ]);
    return markdownTable(['size', 'BERT ms/step', 'GroupBERT ms/step', 'time ratio', 'FLOP ratio per step'], rows, ['l', 'r', 'r', 'r', 'r']);
  },
};

const torchBench: DocTable = {
  id: 'groupbert/torch-bench',
  record: GROUPBERT_RECORDS.transcribed,
  render(record) {
    const name = GROUPBERT_RECORDS.transcribed;
    type Row = { arch: string; threads: number; thriftyMs: number; thriftyTokensPerSecond: number; torchMs: number; torchTokensPerSecond: number };
    const rows = array<Row>(record, 'torchBench.rows', name).map((r) => [
      r.arch,
      String(r.threads),
      String(r.thriftyMs),
      String(r.thriftyTokensPerSecond),
      String(r.torchMs),
      String(r.torchTokensPerSecond),
      `${fixed(r.thriftyMs / r.torchMs, 2)}x`,
    ]);
    return markdownTable(['arch', 'threads', 'thrifty ms/step', 'thrifty tokens/s', 'PyTorch ms/step', 'PyTorch tokens/s', 'thrifty / PyTorch time'], rows, ['l', 'r', 'r', 'r', 'r', 'r', 'r']);
  },
};

/** One run of the rerun: its validation curve (from the experiment's summary) and its process's times. */
export interface RerunRun {
  readonly arch: string;
  readonly seed: number;
  readonly flops: readonly CurvePoint[];
  readonly seconds: readonly CurvePoint[];
  /** Training wall-clock seconds (validation and checkpoints excluded), from metrics.jsonl. */
  readonly trainSeconds: number;
  /** The whole process (setup and validation included): wall-clock, user + system CPU seconds. */
  readonly processWallSeconds: number;
  readonly processCpuSeconds: number;
  /** 1-minute load average of the machine when the run started and ended. */
  readonly loadStart: number;
  readonly loadEnd: number;
}

function rerunRuns(record: unknown): RerunRun[] {
  const name = GROUPBERT_RECORDS.rerun;
  const curves = array<{ arch: string; seed: number; flops: CurvePoint[]; seconds: CurvePoint[] }>(record, 'summary.runs', name);
  const processes = array<Omit<RerunRun, 'flops' | 'seconds'>>(record, 'processes', name);
  return processes.map((p) => {
    const curve = curves.find((c) => c.arch === p.arch && c.seed === p.seed);
    if (!curve) throw new Error(`${name}: no curve for ${p.arch} seed ${p.seed}`);
    return { ...p, flops: curve.flops, seconds: curve.seconds };
  });
}

function finalPoint(points: readonly CurvePoint[], name: string): CurvePoint {
  const last = points[points.length - 1];
  if (!last) throw new Error(`${name}: a run has no validation points`);
  return last;
}

/**
 * What GroupBERT needs to reach a BERT run's final loss, against what that BERT run spent: in
 * FLOPs, in training wall-clock seconds, and in process CPU seconds. CPU time is taken per step as
 * constant over a run, so GroupBERT's share of its CPU time is the share of its FLOPs it needed
 * (both grow by the same amount every step).
 */
export function reachRatiosOfPair(bert: RerunRun, groupbert: RerunRun, name: string): { flops: number | null; seconds: number | null; cpu: number | null; targetLoss: number } {
  const target = finalPoint(bert.flops, name).loss;
  const flopsNeeded = costToReach(paretoFrontier(groupbert.flops), target);
  const secondsNeeded = costToReach(paretoFrontier(groupbert.seconds), target);
  const bertFlops = finalPoint(bert.flops, name).cost;
  const bertSeconds = finalPoint(bert.seconds, name).cost;
  const gbFlops = finalPoint(groupbert.flops, name).cost;
  return {
    targetLoss: target,
    flops: flopsNeeded === null ? null : flopsNeeded / bertFlops,
    seconds: secondsNeeded === null ? null : secondsNeeded / bertSeconds,
    cpu: flopsNeeded === null ? null : (groupbert.processCpuSeconds * (flopsNeeded / gbFlops)) / bert.processCpuSeconds,
  };
}

const rerunRunsTable: DocTable = {
  id: 'groupbert/rerun-runs',
  record: GROUPBERT_RECORDS.rerun,
  render(record) {
    const name = GROUPBERT_RECORDS.rerun;
    const rows = rerunRuns(record).map((r) => [
      r.arch === 'bert' ? 'BERT' : 'GroupBERT',
      String(r.seed),
      fixed(finalPoint(r.flops, name).loss, 3),
      flopsText(finalPoint(r.flops, name).cost),
      fixed(r.trainSeconds, 0),
      fixed(r.processCpuSeconds, 0),
      fixed(r.processWallSeconds, 0),
      `${fixed(r.loadStart, 1)} / ${fixed(r.loadEnd, 1)}`,
    ]);
    return markdownTable(
      ['micro-xs', 'seed', 'final validation loss', 'non-embedding FLOPs', 'training wall-clock s', 'process CPU s', 'process wall-clock s', 'load at start / end'],
      rows,
      ['l', 'r', 'r', 'r', 'r', 'r', 'r', 'r'],
    );
  },
};

const rerunRatiosTable: DocTable = {
  id: 'groupbert/rerun-ratios',
  record: GROUPBERT_RECORDS.rerun,
  render(record) {
    const name = GROUPBERT_RECORDS.rerun;
    const runs = rerunRuns(record);
    const seeds = [...new Set(runs.map((r) => r.seed))].sort((a, b) => a - b);
    const ratio = (x: number | null): string => (x === null ? 'not reached' : `${fixed(x, 2)}x`);
    const rows = seeds.map((seed) => {
      const bert = runs.find((r) => r.arch === 'bert' && r.seed === seed);
      const gb = runs.find((r) => r.arch === 'groupbert' && r.seed === seed);
      if (!bert || !gb) throw new Error(`${name}: seed ${seed} lacks a BERT or a GroupBERT run`);
      const r = reachRatiosOfPair(bert, gb, name);
      return [`seed ${seed}`, fixed(r.targetLoss, 3), ratio(r.flops), ratio(r.seconds), ratio(r.cpu), fixed(gb.processCpuSeconds / bert.processCpuSeconds, 2)];
    });
    // The experiment's own reading: seed-averaged curves (src/report/pareto.ts reachRatios); the CPU
    // time of the mean curves scales the mean CPU seconds the same way as per seed.
    const flop = array<ReachRatio>(record, 'summary.flopRatios', name)[0];
    const wall = array<ReachRatio>(record, 'summary.wallClockRatios', name)[0];
    if (!flop || !wall) throw new Error(`${name}: the summary has no reach ratios`);
    const meanOf = (arch: string, pick: (r: RerunRun) => number): number => {
      const of = runs.filter((r) => r.arch === arch);
      return of.reduce((acc, r) => acc + pick(r), 0) / of.length;
    };
    const gbFlops = meanOf('groupbert', (r) => finalPoint(r.flops, name).cost);
    const cpuPerRun = meanOf('groupbert', (r) => r.processCpuSeconds) / meanOf('bert', (r) => r.processCpuSeconds);
    const cpu = flop.candidateCost === null ? null : (flop.candidateCost / gbFlops) * cpuPerRun;
    rows.push([`mean of ${seeds.length} seeds`, fixed(flop.targetLoss, 3), `**${ratio(flop.ratio)}**`, `**${ratio(wall.ratio)}**`, `**${ratio(cpu)}**`, fixed(cpuPerRun, 2)]);
    return markdownTable(
      ['curves', "target (BERT's final loss)", 'FLOP ratio', 'wall-clock ratio (training)', 'CPU-time ratio (process)', 'CPU per run, GroupBERT / BERT'],
      rows,
      ['l', 'r', 'r', 'r', 'r', 'r'],
    );
  },
};

export const GROUPBERT_DOC_TABLES: readonly DocTable[] = [originalResults, originalFlopRatios, stepTimes, torchBench, rerunRunsTable, rerunRatiosTable];
