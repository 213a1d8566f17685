// The estimators by name, so experiments and commands can take a list of them.

import { ebabInformation, fixedBinningInformation, saxeBinningInformation } from './binning.js';
import { adaptiveKdeInformation, AKDE_DEFAULT_SCALE, kdeInformation, type KdeBounds, type RangeRule } from './kde.js';
import { ksgInformation } from './ksg.js';
import type { Activations, InformationEstimate, Labels } from './types.js';

export const ESTIMATOR_NAMES = ['ebab', 'fixed', 'saxe', 'kde', 'akde', 'ksg'] as const;
export type EstimatorName = (typeof ESTIMATOR_NAMES)[number];

export const ESTIMATOR_DESCRIPTIONS: Readonly<Record<EstimatorName, string>> = {
  ebab: 'entropy-based adaptive binning: edges at equal ranks of the distinct values (Chelombiev et al.)',
  fixed: 'equal-width bins on a fixed interval, 30 on [-1, 1] (Shwartz-Ziv & Tishby)',
  saxe: 'equal-width bins on [0, max activation] (Saxe et al.)',
  kde: 'Gaussian-mixture KDE bounds at a fixed noise variance (Kolchinsky & Tracey; Saxe et al.): upper, with the lower bound alongside',
  akde: 'adaptive KDE: the noise variance scaled to the layer activation range (Chelombiev et al.)',
  ksg: 'k-nearest-neighbour estimators, k = 3 (KSG for I(X;T), Ross for I(T;Y))',
};

export function isEstimatorName(name: string): name is EstimatorName {
  return (ESTIMATOR_NAMES as readonly string[]).includes(name);
}

export interface EstimatorSettings {
  /** Bins for ebab, fixed and saxe; default 30. */
  readonly numBins: number;
  /** Interval of the fixed binning; default [-1, 1]. */
  readonly fixedLow: number;
  readonly fixedHigh: number;
  /** σ² of the fixed-variance KDE; default 0.1 (Saxe et al.). */
  readonly kdeVariance: number;
  /** aKDE: σ² = scale · range²; default 0.1. */
  readonly akdeScale: number;
  /** aKDE range rule; default 'max-abs'. */
  readonly akdeRange: RangeRule;
  /** Neighbours of the KSG estimators; default 3. */
  readonly ksgK: number;
}

export const DEFAULT_ESTIMATOR_SETTINGS: EstimatorSettings = Object.freeze({
  numBins: 30,
  fixedLow: -1,
  fixedHigh: 1,
  kdeVariance: 0.1,
  akdeScale: AKDE_DEFAULT_SCALE,
  akdeRange: 'max-abs',
  ksgK: 3,
});

/** One estimate for one layer; bound estimators (kde, akde) carry the lower bound too, ixt/ity being the upper. */
export interface LayerInformation extends InformationEstimate {
  readonly lower?: InformationEstimate;
  /** The KDE noise variance used. */
  readonly variance?: number;
}

function fromBounds(bounds: KdeBounds): LayerInformation {
  return { ixt: bounds.upper.ixt, ity: bounds.upper.ity, lower: bounds.lower, variance: bounds.variance };
}

export interface EstimateContext {
  /** The inputs X [n, inputWidth]; needed by ksg only. */
  readonly inputs?: Activations;
  readonly settings?: Partial<EstimatorSettings>;
}

/** I(X;T) and I(T;Y) of one layer by the named estimator. */
export function estimateLayerInformation(name: EstimatorName, t: Activations, y: Labels, context: EstimateContext = {}): LayerInformation {
  const s = { ...DEFAULT_ESTIMATOR_SETTINGS, ...context.settings };
  switch (name) {
    case 'ebab':
      return ebabInformation(t, y, { numBins: s.numBins });
    case 'fixed':
      return fixedBinningInformation(t, y, { numBins: s.numBins, low: s.fixedLow, high: s.fixedHigh });
    case 'saxe':
      return saxeBinningInformation(t, y, { numBins: s.numBins });
    case 'kde':
      return fromBounds(kdeInformation(t, y, { variance: s.kdeVariance }));
    case 'akde':
      return fromBounds(adaptiveKdeInformation(t, y, { scale: s.akdeScale, range: s.akdeRange }));
    case 'ksg':
      if (!context.inputs) throw new Error("estimateLayerInformation: the 'ksg' estimator needs the inputs X");
      return ksgInformation(t, y, context.inputs, { k: s.ksgK });
    default:
      throw new Error(`estimateLayerInformation: unknown estimator '${String(name)}' (${ESTIMATOR_NAMES.join(', ')})`);
  }
}
