// What the report and docs say about a set of runs, for one estimator:
//   compression of layer l = max over recorded epochs of I(X;T_l) minus I(X;T_l) at the last
//   recorded epoch (bits): how far the layer has come back down from its peak.
// Per (activation, L2) group: compression per layer (mean, sd, range over seeds, one-sample t-test
// against 0); the effect of L2 per activation and layer (Welch's t-test); and across all runs the
// correlation of each layer's compression with the final test accuracy (Pearson and Spearman).

import type { EstimatorName } from '../../info/estimators.js';
import type { RunRecord } from './experiment.js';
import { mean, oneSampleTTest, pearson, spearman, standardDeviation, welchTTest, type Correlation, type TTest } from './stats.js';

export const COMPRESSION_DEFINITION =
  'Compression of a layer = the maximum of I(X;T) over the recorded epochs minus I(X;T) at the last recorded epoch, in bits (0 when I(X;T) never decreases from its peak).';

export function layerCount(record: RunRecord): number {
  return record.sizes.length - 1;
}

/** I(X;T) of `layer` at every recorded epoch. */
export function ixtSeries(record: RunRecord, estimator: EstimatorName, layer: number): number[] {
  return record.records.map((r) => {
    const info = r.info[estimator];
    if (!info) throw new Error(`run ${record.activation}/seed ${record.seed}: no '${estimator}' estimates recorded`);
    return info[layer]!.ixt;
  });
}

export function layerCompression(record: RunRecord, estimator: EstimatorName, layer: number): number {
  const series = ixtSeries(record, estimator, layer);
  if (series.length === 0) return NaN;
  return Math.max(...series) - series[series.length - 1]!;
}

export interface Spread {
  readonly mean: number;
  readonly sd: number;
  readonly min: number;
  readonly max: number;
}

function spread(values: readonly number[]): Spread {
  return { mean: mean(values), sd: standardDeviation(values), min: Math.min(...values), max: Math.max(...values) };
}

export interface GroupSummary {
  readonly activation: string;
  readonly l2: number;
  readonly runs: number;
  /** Per layer. */
  readonly compression: readonly Spread[];
  /** Per layer: is the mean compression above 0? */
  readonly compressionTest: readonly TTest[];
  /** Per layer: share of runs whose compression exceeds COMPRESSED_THRESHOLD bits. */
  readonly compressedShare: readonly number[];
  readonly testAccuracy: Spread;
  readonly trainAccuracy: Spread;
}

export interface L2Effect {
  readonly activation: string;
  readonly l2: number;
  /** Per layer: mean compression with L2 minus without, and Welch's test. */
  readonly difference: readonly number[];
  readonly test: readonly TTest[];
}

export interface LayerCorrelation {
  readonly layer: number;
  readonly pearson: Correlation;
  readonly spearman: Correlation;
}

export interface CorrelationSet {
  /** Which runs: 'all', or 'l2 = 0' etc. */
  readonly scope: string;
  readonly layers: readonly LayerCorrelation[];
}

export interface InfoplaneSummary {
  readonly estimator: EstimatorName;
  readonly definition: string;
  readonly groups: readonly GroupSummary[];
  readonly l2Effects: readonly L2Effect[];
  readonly correlations: readonly CorrelationSet[];
}

/** Runs below this final training accuracy did not learn the task (the majority class of the 12-bit training set is 56%). */
export const FITTED_TRAIN_ACCURACY = 0.7;

/** A layer counts as compressing in a run when it lost more than this many bits from its peak. */
export const COMPRESSED_THRESHOLD = 0.1;

function correlations(records: readonly RunRecord[], estimator: EstimatorName, scope: string): CorrelationSet {
  const layers = records.length ? layerCount(records[0]!) : 0;
  const accuracy = records.map((r) => r.final.testAccuracy);
  const rows: LayerCorrelation[] = [];
  for (let l = 0; l < layers; l++) {
    const c = records.map((r) => layerCompression(r, estimator, l));
    rows.push({ layer: l, pearson: pearson(c, accuracy), spearman: spearman(c, accuracy) });
  }
  return { scope, layers: rows };
}

export function summarizeRuns(records: readonly RunRecord[], estimator: EstimatorName): InfoplaneSummary {
  const groups = new Map<string, RunRecord[]>();
  for (const r of records) {
    const key = `${r.activation}\u0000${r.l2}`;
    const list = groups.get(key);
    if (list) list.push(r);
    else groups.set(key, [r]);
  }
  const summaries: GroupSummary[] = [];
  const compressionOf = new Map<string, number[][]>();
  for (const [key, runs] of groups) {
    const layers = layerCount(runs[0]!);
    const perLayer = Array.from({ length: layers }, (_, l) => runs.map((r) => layerCompression(r, estimator, l)));
    compressionOf.set(key, perLayer);
    summaries.push({
      activation: runs[0]!.activation,
      l2: runs[0]!.l2,
      runs: runs.length,
      compression: perLayer.map(spread),
      compressionTest: perLayer.map(oneSampleTTest),
      compressedShare: perLayer.map((values) => values.filter((v) => v > COMPRESSED_THRESHOLD).length / values.length),
      testAccuracy: spread(runs.map((r) => r.final.testAccuracy)),
      trainAccuracy: spread(runs.map((r) => r.final.trainAccuracy)),
    });
  }
  const l2Effects: L2Effect[] = [];
  for (const g of summaries) {
    if (g.l2 === 0) continue;
    const base = compressionOf.get(`${g.activation}\u00000`);
    const withL2 = compressionOf.get(`${g.activation}\u0000${g.l2}`)!;
    if (!base) continue;
    l2Effects.push({
      activation: g.activation,
      l2: g.l2,
      difference: withL2.map((values, l) => mean(values) - mean(base[l]!)),
      test: withL2.map((values, l) => welchTTest(values, base[l]!)),
    });
  }
  const sets = [correlations(records, estimator, 'all runs')];
  // A network that never learned (e.g. collapsed under L2 to the majority class) compresses every
  // layer to nothing and fails the test: it alone can decide a correlation, so it is also left out.
  const fitted = records.filter((r) => r.final.trainAccuracy >= FITTED_TRAIN_ACCURACY);
  if (fitted.length < records.length && fitted.length >= 3) sets.push(correlations(fitted, estimator, `runs with train accuracy >= ${FITTED_TRAIN_ACCURACY} (${records.length - fitted.length} left out)`));
  const l2Values = [...new Set(records.map((r) => r.l2))].sort((a, b) => a - b);
  if (l2Values.length > 1) for (const l2 of l2Values) sets.push(correlations(records.filter((r) => r.l2 === l2), estimator, `L2 = ${l2}`));
  return { estimator, definition: COMPRESSION_DEFINITION, groups: summaries, l2Effects, correlations: sets };
}
