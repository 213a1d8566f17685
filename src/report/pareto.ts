// Pareto analysis of pre-training runs: validation loss against a cost (non-embedding training
// FLOPs or wall-clock seconds). Runs of one architecture and size are averaged over seeds; an
// architecture's frontier is the lower envelope over its sizes (the best loss any size reached at
// that cost or less); and the cost ratio says how much (or little) of one architecture's cost the
// other needs to reach the same loss.

export interface CurvePoint {
  /** Cost so far: FLOPs or seconds. */
  readonly cost: number;
  readonly loss: number;
}

export interface RunCurve {
  readonly arch: string;
  readonly size: string;
  readonly seed: number;
  /** Validation points in training order, by FLOPs. */
  readonly flops: readonly CurvePoint[];
  /** The same points by training wall-clock seconds. */
  readonly seconds: readonly CurvePoint[];
}

export type CostKind = 'flops' | 'seconds';

/** Seeds of one architecture and size averaged point by point (runs validate at the same steps). */
export interface SizeCurve {
  readonly arch: string;
  readonly size: string;
  readonly seeds: number;
  readonly flops: readonly CurvePoint[];
  readonly seconds: readonly CurvePoint[];
}

function mean(xs: readonly number[]): number {
  return xs.reduce((s, x) => s + x, 0) / xs.length;
}

/** Groups runs by architecture and size and averages cost and loss over seeds, point by point. */
export function averageSeeds(runs: readonly RunCurve[]): SizeCurve[] {
  const groups = new Map<string, RunCurve[]>();
  for (const run of runs) {
    const key = `${run.arch}\u0000${run.size}`;
    groups.set(key, [...(groups.get(key) ?? []), run]);
  }
  const out: SizeCurve[] = [];
  for (const group of groups.values()) {
    const length = Math.min(...group.map((r) => r.flops.length));
    const average = (kind: CostKind): CurvePoint[] =>
      Array.from({ length }, (_, i) => ({ cost: mean(group.map((r) => r[kind][i]!.cost)), loss: mean(group.map((r) => r[kind][i]!.loss)) }));
    out.push({ arch: group[0]!.arch, size: group[0]!.size, seeds: group.length, flops: average('flops'), seconds: average('seconds') });
  }
  return out;
}

/**
 * The lower envelope of the points: sorted by cost, each point kept only if its loss is below every
 * loss at a lower or equal cost. Points at cost 0 (before training) are left out (no log scale).
 */
export function paretoFrontier(points: readonly CurvePoint[]): CurvePoint[] {
  const sorted = points.filter((p) => p.cost > 0 && Number.isFinite(p.loss)).sort((a, b) => a.cost - b.cost || a.loss - b.loss);
  const frontier: CurvePoint[] = [];
  for (const p of sorted) if (frontier.length === 0 || p.loss < frontier[frontier.length - 1]!.loss) frontier.push(p);
  return frontier;
}

/**
 * The cost at which a frontier first reaches `loss`: interpolated linearly in (log cost, loss) between
 * the frontier points around it, or null when the frontier never gets that low. A loss already reached
 * by the first (cheapest) point gives that point's cost: lower costs were not measured.
 */
export function costToReach(frontier: readonly CurvePoint[], loss: number): number | null {
  if (frontier.length === 0) return null;
  if (frontier[0]!.loss <= loss) return frontier[0]!.cost;
  for (let i = 1; i < frontier.length; i++) {
    const a = frontier[i - 1]!;
    const b = frontier[i]!;
    if (b.loss === loss) return b.cost;
    if (b.loss < loss) {
      const t = (a.loss - loss) / (a.loss - b.loss);
      return Math.exp(Math.log(a.cost) + t * (Math.log(b.cost) - Math.log(a.cost)));
    }
  }
  return null;
}

export interface ReachRatio {
  /** The baseline's size whose final loss is the target. */
  readonly size: string;
  readonly targetLoss: number;
  readonly baselineCost: number;
  /** Cost of the candidate's frontier to reach targetLoss, or null when it never does. */
  readonly candidateCost: number | null;
  /** candidateCost / baselineCost (null when not reached). */
  readonly ratio: number | null;
  /** Whether the first (cheapest) candidate point was already below the target: the ratio is then an upper bound. */
  readonly upperBound: boolean;
}

/**
 * For each baseline size, the cost the candidate architecture needs to reach the baseline's final
 * (seed-averaged) loss at that size, relative to the baseline's own cost.
 */
export function reachRatios(sizes: readonly SizeCurve[], baseline: string, candidate: string, kind: CostKind): ReachRatio[] {
  const frontier = paretoFrontier(sizes.filter((s) => s.arch === candidate).flatMap((s) => s[kind]));
  return sizes
    .filter((s) => s.arch === baseline && s[kind].length > 0)
    .map((s) => {
      const last = s[kind][s[kind].length - 1]!;
      const candidateCost = costToReach(frontier, last.loss);
      return {
        size: s.size,
        targetLoss: last.loss,
        baselineCost: last.cost,
        candidateCost,
        ratio: candidateCost === null ? null : candidateCost / last.cost,
        upperBound: frontier.length > 0 && frontier[0]!.loss <= last.loss,
      };
    });
}
