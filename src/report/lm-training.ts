// A language-model run's loss curves (metrics.jsonl as `thrifty train-lm` writes it) as one SVG:
// the training loss, averaged over bins of steps (a step's windows mix document kinds, so single
// steps jump by nats), and every held-out evaluation, on a log axis (the synthetic retrieval losses
// fall by two or three decades while the text loss falls by a fraction).

import { xyChartSvg, type XySeries } from './xy-chart.js';

/** A metrics.jsonl record: its step and named values (non-numbers are ignored). */
export interface CurveRecord {
  readonly step: number;
  readonly [field: string]: number | string | boolean | null;
}

/** A held-out measure to draw: its field in the records and its legend label. */
export interface CurveField {
  readonly field: string;
  readonly label: string;
}

/** At most about this many points on the training-loss line. */
const TRAINING_POINTS = 200;

function valueOf(record: CurveRecord, field: string): number | null {
  const v = record[field];
  return typeof v === 'number' && Number.isFinite(v) ? v : null;
}

/** Steps per point of the training-loss line for `count` logged steps. */
function trainingBinWidth(count: number): number {
  return Math.max(1, Math.round(count / TRAINING_POINTS));
}

/** The training loss as the mean of each bin of consecutive steps (bin width chosen for ~TRAINING_POINTS points). */
export function binnedTrainingLoss(records: readonly CurveRecord[], field = 'loss'): { x: number; y: number }[] {
  const points = records.map((r) => ({ step: r.step, value: valueOf(r, field) })).filter((p): p is { step: number; value: number } => p.value !== null);
  if (points.length === 0) return [];
  const width = trainingBinWidth(points.length);
  const out: { x: number; y: number }[] = [];
  for (let i = 0; i < points.length; i += width) {
    const bin = points.slice(i, i + width);
    out.push({ x: bin.reduce((s, p) => s + p.step, 0) / bin.length, y: bin.reduce((s, p) => s + p.value, 0) / bin.length });
  }
  return out;
}

/** The run's loss curves: training loss (binned) and each held-out field present, against step, log loss axis. */
export function lossCurveSvg(records: readonly CurveRecord[], heldOut: readonly CurveField[], title: string): string {
  const training = binnedTrainingLoss(records);
  const steps = trainingBinWidth(records.filter((r) => valueOf(r, 'loss') !== null).length);
  const series: XySeries[] = [{ label: steps > 1 ? `training (mean of ${steps} steps)` : 'training', points: training }];
  for (const { field, label } of heldOut) {
    const points = records.flatMap((r) => {
      const y = valueOf(r, field);
      return y === null ? [] : [{ x: r.step, y }];
    });
    if (points.length > 0) series.push({ label: `held-out ${label}`, points });
  }
  return xyChartSvg(series, { title, xLabel: 'step', yLabel: 'loss (nats per token, log scale)', logY: true, legendWidth: 230 });
}
