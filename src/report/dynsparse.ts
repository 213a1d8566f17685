// Analysis of the dynamic-sparsity experiment (Dietrich et al., arXiv 2108.06277, at micro scale):
// per-arm records (one pre-training run of one seed) are grouped into arms and summarised over seeds,
// every sparse arm is set against the dense family at its non-embedding FLOPs (the dense sizes' final
// losses interpolated linearly in log FLOPs, the paper's "dense interpolated"), and every dynamic arm
// against the static arm of the same sparsity and block size. Differences are paired by seed: a seed
// fixes the data order and masks of every arm, so the seed-to-seed spread of a difference is the noise
// a claimed gain has to beat.

import { mean, standardDeviation } from '../train/infoplane/stats.js';
import { costToReach, paretoFrontier, type CurvePoint } from './pareto.js';

export const DYNSPARSE_PARTS = ['pareto', 'sparsity', 'block', 'schedule', 'lr', 'regrow'] as const;
/** The five experiments of the issue: Pareto, sparsity sweep, block sweep, n x pr and learning rate, regrowth. */
export type DynsparsePart = (typeof DYNSPARSE_PARTS)[number];

export type ArmMode = 'dense' | 'static' | 'dynamic' | 'rigl';

/** One configuration trained for every seed. */
export interface ArmSpec {
  /** Folder and record name, e.g. 'dense-micro-xs', 'dynamic-micro-m-s0.9-b16-n80-pr0.5'. */
  readonly id: string;
  readonly parts: readonly DynsparsePart[];
  readonly size: string;
  readonly mode: ArmMode;
  /** 0 for dense arms. */
  readonly sparsity: number;
  /** Block edge (1 for dense arms). */
  readonly block: number;
  /** Pattern updates n (0 for dense and static arms). */
  readonly updates: number;
  /** Initial prune ratio pr (0 for dense and static arms). */
  readonly pruneRatio: number;
  /** Peak learning rate as a multiple of eta(s) = eta(0) exp(1.969 s² + 0.2905 s) (1: the rule). */
  readonly lrFactor: number;
}

export interface ValidationPoint {
  readonly step: number;
  readonly flops: number;
  readonly seconds: number;
  readonly loss: number;
}

export interface ExploredPoint {
  readonly step: number;
  /** Mean over the sparse tensors of positions ever active / all positions. */
  readonly explored: number;
}

/** One weight's accumulated mask: the update at which each block position was first active (-1: never). */
export interface MaskTrace {
  readonly name: string;
  readonly blockRows: number;
  readonly blockCols: number;
  /** The run's pattern updates n (frame u of n shows the positions with firstExplored <= u). */
  readonly updates: number;
  readonly firstExplored: readonly number[];
}

/** The record of one finished run (arm x seed). */
export interface ArmRecord {
  readonly arm: ArmSpec;
  readonly seed: number;
  readonly steps: number;
  readonly lr: number;
  readonly finalLoss: number;
  readonly finalAccuracy: number;
  readonly nonEmbeddingFlops: number;
  readonly trainSeconds: number;
  readonly curve: readonly ValidationPoint[];
  /** At step 0 and after every update (sparse arms; empty for dense). */
  readonly explored: readonly ExploredPoint[];
  readonly mask: MaskTrace | null;
}

export interface Spread {
  readonly n: number;
  readonly mean: number;
  /** Sample standard deviation over seeds (null with one seed). */
  readonly sd: number | null;
  readonly min: number;
  readonly max: number;
  readonly values: readonly number[];
}

export function spread(values: readonly number[]): Spread {
  const sd = standardDeviation(values);
  return { n: values.length, mean: mean(values), sd: Number.isFinite(sd) ? sd : null, min: Math.min(...values), max: Math.max(...values), values: [...values] };
}

/** A loss against the dense family, per seed and over seeds. */
export interface DenseComparison {
  /** The dense family's loss at the arm's FLOPs, seed by seed (null: FLOPs outside the family's range). */
  readonly interpolated: Spread | null;
  /** Arm loss minus the interpolated dense loss, paired by seed (negative: the sparse arm is better). */
  readonly difference: Spread | null;
  /** Sparse FLOPs / the dense family's FLOPs for the arm's mean loss (the paper's "0.48x"); null when no dense size got as low. */
  readonly flopRatio: number | null;
  /** The lowest seed-mean final loss of the dense family (what "no dense size got as low" compares with). */
  readonly denseBest: number;
}

export interface ArmSummary {
  readonly arm: ArmSpec;
  readonly lr: number;
  readonly steps: number;
  readonly seeds: readonly number[];
  readonly loss: Spread;
  readonly nonEmbeddingFlops: number;
  readonly seconds: Spread;
  /** Final explored fraction (mean over seeds; null for dense arms). */
  readonly explored: number | null;
  readonly dense: DenseComparison | null;
  /** Against the static arm of the same size, sparsity and block (dynamic and RigL arms at the rule's learning rate). */
  readonly versusStatic: { readonly arm: string; readonly difference: Spread } | null;
  /** Seed-averaged explored curve (arms of the regrowth part only). */
  readonly exploredCurve: readonly ExploredPoint[] | null;
}

/** The loss of the line through the points (sorted by cost) at `cost`, linear in log cost; null outside their range. */
export function interpolateLoss(points: readonly CurvePoint[], cost: number): number | null {
  const sorted = [...points].filter((p) => p.cost > 0).sort((a, b) => a.cost - b.cost);
  if (sorted.length === 0 || !(cost > 0)) return null;
  const first = sorted[0]!;
  const last = sorted[sorted.length - 1]!;
  if (cost < first.cost || cost > last.cost) return null;
  for (let i = 1; i < sorted.length; i++) {
    const a = sorted[i - 1]!;
    const b = sorted[i]!;
    if (cost <= b.cost) {
      if (b.cost === a.cost) return Math.min(a.loss, b.loss);
      const t = (Math.log(cost) - Math.log(a.cost)) / (Math.log(b.cost) - Math.log(a.cost));
      return a.loss + t * (b.loss - a.loss);
    }
  }
  return first.cost === cost ? first.loss : null;
}

function groupBy<T>(items: readonly T[], key: (t: T) => string): Map<string, T[]> {
  const out = new Map<string, T[]>();
  for (const item of items) out.set(key(item), [...(out.get(key(item)) ?? []), item]);
  return out;
}

/** Differences a - b over the seeds both have. */
function paired(a: readonly ArmRecord[], b: readonly ArmRecord[]): number[] {
  const bySeed = new Map(b.map((r) => [r.seed, r.finalLoss]));
  return a.filter((r) => bySeed.has(r.seed)).map((r) => r.finalLoss - bySeed.get(r.seed)!);
}

function meanCurve(records: readonly ArmRecord[]): ExploredPoint[] {
  const length = Math.min(...records.map((r) => r.explored.length));
  return Array.from({ length }, (_, i) => ({ step: records[0]!.explored[i]!.step, explored: mean(records.map((r) => r.explored[i]!.explored)) }));
}

/** The summaries of every arm with at least one record, in the order of `arms`. */
export function summarizeArms(arms: readonly ArmSpec[], records: readonly ArmRecord[]): ArmSummary[] {
  const byArm = groupBy(records, (r) => r.arm.id);
  const denseArms = arms.filter((a) => a.mode === 'dense' && a.parts.includes('pareto') && byArm.has(a.id));
  const denseRecords = denseArms.flatMap((a) => byArm.get(a.id)!);
  const denseBySeed = groupBy(denseRecords, (r) => String(r.seed));
  // The family's final points, seed-averaged, for the FLOP ratio.
  const denseMeans: CurvePoint[] = denseArms.map((a) => {
    const rs = byArm.get(a.id)!;
    return { cost: mean(rs.map((r) => r.nonEmbeddingFlops)), loss: mean(rs.map((r) => r.finalLoss)) };
  });
  const denseFrontier = paretoFrontier(denseMeans);
  const denseBest = Math.min(...denseMeans.map((p) => p.loss));

  const out: ArmSummary[] = [];
  for (const arm of arms) {
    const rs = byArm.get(arm.id);
    if (!rs || rs.length === 0) continue;
    const loss = spread(rs.map((r) => r.finalLoss));
    const flops = mean(rs.map((r) => r.nonEmbeddingFlops));
    let dense: DenseComparison | null = null;
    if (arm.mode !== 'dense' && denseArms.length >= 2) {
      const interpolated: number[] = [];
      const differences: number[] = [];
      for (const r of rs) {
        const family = (denseBySeed.get(String(r.seed)) ?? []).map((d) => ({ cost: d.nonEmbeddingFlops, loss: d.finalLoss }));
        if (family.length < denseArms.length) continue;
        const at = interpolateLoss(family, r.nonEmbeddingFlops);
        if (at === null) continue;
        interpolated.push(at);
        differences.push(r.finalLoss - at);
      }
      const reach = costToReach(denseFrontier, loss.mean);
      dense = {
        interpolated: interpolated.length ? spread(interpolated) : null,
        difference: differences.length ? spread(differences) : null,
        flopRatio: reach !== null ? flops / reach : null,
        denseBest,
      };
    }
    let versusStatic: ArmSummary['versusStatic'] = null;
    if ((arm.mode === 'dynamic' || arm.mode === 'rigl') && arm.lrFactor === 1) {
      const control = arms.find((a) => a.mode === 'static' && a.size === arm.size && a.sparsity === arm.sparsity && a.block === arm.block && a.lrFactor === 1);
      const controlRecords = control ? byArm.get(control.id) : undefined;
      const differences = controlRecords ? paired(rs, controlRecords) : [];
      if (control && differences.length) versusStatic = { arm: control.id, difference: spread(differences) };
    }
    const finalExplored = rs.map((r) => r.explored[r.explored.length - 1]?.explored).filter((x): x is number => x !== undefined);
    out.push({
      arm,
      lr: rs[0]!.lr,
      steps: rs[0]!.steps,
      seeds: rs.map((r) => r.seed).sort((a, b) => a - b),
      loss,
      nonEmbeddingFlops: flops,
      seconds: spread(rs.map((r) => r.trainSeconds)),
      explored: finalExplored.length ? mean(finalExplored) : null,
      dense,
      versusStatic,
      exploredCurve: arm.parts.includes('regrow') && arm.mode !== 'dense' && rs.every((r) => r.explored.length > 0) ? meanCurve(rs) : null,
    });
  }
  return out;
}

/** Whether a paired difference is below zero by more than its seed spread (mean + sd < 0; with one seed, never). */
export function beatsBeyondSpread(difference: Spread | null): boolean {
  return difference !== null && difference.sd !== null && difference.mean + difference.sd < 0;
}

/** The accumulated mask after update u: 1 where the position was active at some update <= u. */
export function accumulatedMask(trace: MaskTrace, update: number): Uint8Array {
  return Uint8Array.from(trace.firstExplored, (u) => (u >= 0 && u <= update ? 1 : 0));
}
