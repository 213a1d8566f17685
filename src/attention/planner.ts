// The planner: settings for a target fraction of dense attention transfers, for every policy,
// solved on the policies' one transfer model (transfers.ts), so that `--compression R` means the
// fraction the counters will measure: SparQ's r (paper recipe) or k (even split), the baselines' k
// (H2O's score traffic included). A target a policy cannot reach is a one-line error.

import { ATTENTION_KINDS, type AttentionKind, type AttentionSpec } from './decode-policy.js';
import { type TransferSpec, transferModel, transferTotal } from './transfers.js';

/**
 * 'paper': k = 128, l = k/4 and the largest r that keeps the transfers within the target (the
 * paper fixes k and sweeps r). 'even': r = d R, l = k/4 and the largest k within the target
 * (about half the budget to each step).
 */
export type CompressionRecipe = 'paper' | 'even';

export interface CompressionPlan {
  readonly rank: number;
  readonly topK: number;
  readonly localWindow: number;
  /** SparQ transfers / dense transfers over the planned lengths (the transfer model). */
  readonly achievedRatio: number;
}

/**
 * The decode steps planned for: attention over seqLen cached positions, or over every length from
 * firstSeqLen to seqLen (a generation: the ratio the counters measure is summed over its steps).
 */
export interface PlanShape {
  readonly headDim: number;
  readonly seqLen: number;
  readonly firstSeqLen?: number | undefined;
}

export const PAPER_TOP_K = 128;

/**
 * The decode steps of a generation: the first new token comes from the dense prefill, then the policy
 * attends over prompt + 1 ... prompt + maxTokens - 1 positions. The CLI and the library plan with it.
 */
export function generationPlanShape(headDim: number, promptLength: number, maxTokens: number): PlanShape {
  return { headDim, firstSeqLen: promptLength + 1, seqLen: promptLength + Math.max(1, maxTokens - 1) };
}

function checkShape(shape: PlanShape, who: string): { d: number; first: number; last: number } {
  const { headDim: d, seqLen: S } = shape;
  if (!Number.isInteger(d) || d <= 0) throw new RangeError(`${who}: headDim must be a positive integer, got ${d}`);
  if (!Number.isInteger(S) || S <= 0) throw new RangeError(`${who}: seqLen must be a positive integer, got ${S}`);
  const first = shape.firstSeqLen ?? S;
  if (!Number.isInteger(first) || first <= 0 || first > S) throw new RangeError(`${who}: firstSeqLen must be an integer in [1, seqLen], got ${first}`);
  return { d, first, last: S };
}

/** The model's transfers of `spec` over dense's, summed over the planned lengths. */
export function plannedRatio(spec: TransferSpec, shape: PlanShape): number {
  const { d, first, last } = checkShape(shape, 'plannedRatio');
  let moved = 0;
  let dense = 0;
  for (let S = first; S <= last; S++) {
    moved += transferTotal(transferModel(spec, S, d));
    dense += transferTotal(transferModel({ kind: 'dense' }, S, d));
  }
  return moved / dense;
}

/** Largest integer x in [lo, hi] with ratio(x) <= target (ratio non-decreasing in x); lo - 1 if none. */
function largestWithin(lo: number, hi: number, target: number, ratio: (x: number) => number): number {
  const within = (x: number): boolean => ratio(x) <= target * (1 + 1e-12);
  if (!within(lo)) return lo - 1;
  while (lo < hi) {
    const mid = Math.ceil((lo + hi) / 2);
    if (within(mid)) lo = mid;
    else hi = mid - 1;
  }
  return lo;
}

const percent = (x: number): string => `${(100 * x).toFixed(1)}%`;

export function formatRatio(r: number): string {
  const inv = 1 / r;
  return Math.abs(inv - Math.round(inv)) < 1e-9 ? `1/${Math.round(inv)}` : String(r);
}

function unreachable(kind: string, target: number, shape: PlanShape, least: number, with_: string): RangeError {
  const span = shape.firstSeqLen !== undefined && shape.firstSeqLen !== shape.seqLen ? `${shape.firstSeqLen}-${shape.seqLen}` : `${shape.seqLen}`;
  return new RangeError(`--compression ${formatRatio(target)} is out of reach for ${kind} at ${span} cached positions with heads of ${shape.headDim}: `
    + `it moves at least ${percent(least)} of dense attention's transfers (${with_})`);
}

function checkTarget(target: number, who: string): void {
  if (!(target > 0 && target <= 1)) throw new RangeError(`${who}: target must be in (0, 1], e.g. 1/8; got ${target}`);
}

/**
 * SparQ's (r, k, l) for a target fraction of dense transfers; throws when it cannot be reached.
 * `kind` 'random-projection' plans the ablation's policy (r = the projection's rank) the same way on its own model.
 */
export function planCompression(target: number, shape: PlanShape, recipe: CompressionRecipe = 'paper',
  kind: 'sparq' | 'random-projection' = 'sparq'): CompressionPlan {
  checkTarget(target, 'planCompression');
  const { d, last } = checkShape(shape, 'planCompression');
  if (recipe === 'paper') {
    const k = Math.min(PAPER_TOP_K, last);
    const ratio = (r: number): number => plannedRatio({ kind, rank: r, topK: k }, shape);
    const r = largestWithin(1, d, target, ratio);
    if (r < 1) throw unreachable(`${kind} (paper recipe)`, target, shape, ratio(1), `r = 1, k = ${k}; --recipe even lowers k`);
    return { rank: r, topK: k, localWindow: Math.floor(k / 4), achievedRatio: ratio(r) };
  }
  if (recipe === 'even') {
    const r = Math.max(1, Math.min(d, Math.round(d * target)));
    const ratio = (k: number): number => plannedRatio({ kind, rank: r, topK: k }, shape);
    const k = largestWithin(1, last, target, ratio);
    if (k < 1) throw unreachable(`${kind} (even recipe)`, target, shape, ratio(1), `r = ${r}, k = 1`);
    return { rank: r, topK: k, localWindow: Math.floor(k / 4), achievedRatio: ratio(k) };
  }
  throw new RangeError(`planCompression: unknown recipe '${String(recipe)}' (expected paper or even)`);
}

/** A baseline's k for a target fraction of dense transfers (its own traffic model); throws when out of reach. */
export function planTopK(kind: 'h2o' | 'lm-infinite' | 'flexgen' | 'oracle', target: number, shape: PlanShape): { topK: number; achievedRatio: number } {
  checkTarget(target, 'planTopK');
  const { last } = checkShape(shape, 'planTopK');
  const ratio = (k: number): number => plannedRatio({ kind, topK: k }, shape);
  const k = largestWithin(1, last, target, ratio);
  if (k < 1) throw unreachable(kind, target, shape, ratio(1), 'k = 1');
  return { topK: k, achievedRatio: ratio(k) };
}

/**
 * The fewest cached positions at which SparQ with these settings moves less than dense attention
 * (Infinity if never): below it, e.g. at the start of a short generation, it moves more.
 */
export function sparqBreakEven(spec: { rank: number; topK: number }, headDim: number): number {
  const more = (S: number): boolean => transferTotal(transferModel({ kind: 'sparq', ...spec }, S, headDim))
    >= transferTotal(transferModel({ kind: 'dense' }, S, headDim));
  // Beyond k the excess shrinks with S; below k SparQ reads at least the dense rows.
  const hi = Math.max(spec.topK, 1) * 64 + 64;
  if (more(hi)) return Infinity;
  let lo = 1;
  let top = hi;
  while (lo < top) {
    const mid = Math.floor((lo + top) / 2);
    if (more(mid)) lo = mid + 1;
    else top = mid;
  }
  return lo;
}

/** Parses '1/8', '0.125' (a fraction in (0, 1]); the error names the flag. */
export function parseCompression(text: string, flag = '--compression'): number {
  const trimmed = text.trim();
  const m = /^1\s*\/\s*([0-9]*\.?[0-9]+)$/.exec(trimmed);
  const value = m ? 1 / Number(m[1]) : Number(trimmed);
  if (!(value > 0 && value <= 1) || trimmed === '') {
    throw new RangeError(`${flag} expects a fraction in (0, 1] such as 1/8 or 0.125, got '${text}'`);
  }
  return value;
}

export interface AttentionSettings {
  /** dense | sparq | h2o | lm-infinite | flexgen | oracle | random-projection (default dense). */
  readonly attention?: string | undefined;
  /** Target ratio of transfers, e.g. 1/8; used when rank/topK are not given (default 1/8). */
  readonly compression?: number | undefined;
  readonly rank?: number | undefined;
  readonly topK?: number | undefined;
  readonly localWindow?: number | undefined;
  readonly recipe?: CompressionRecipe | undefined;
  readonly reallocation?: boolean | undefined;
}

/**
 * The AttentionSpec for command-line style settings, planned for `shape` (the decode lengths of the
 * run). Explicit rank/top-k win over compression; otherwise every policy's free setting is solved
 * so that its transfers are at most `compression` of dense (default 1/8) by the transfer model.
 */
export function attentionSpecFromSettings(settings: AttentionSettings, shape: PlanShape): AttentionSpec {
  const kind = (settings.attention ?? 'dense') as AttentionKind;
  if (!ATTENTION_KINDS.includes(kind)) {
    throw new RangeError(`--attention must be one of ${ATTENTION_KINDS.join(', ')}; got '${settings.attention}'`);
  }
  if (kind === 'dense') return { kind };
  const compression = settings.compression ?? 1 / 8;
  const planShape: PlanShape = { ...shape, seqLen: Math.max(1, shape.seqLen) };
  if (kind === 'sparq' || kind === 'random-projection') {
    const explicit = settings.rank !== undefined || settings.topK !== undefined;
    let rank = settings.rank;
    let topK = settings.topK;
    let localWindow = settings.localWindow;
    if (!explicit) {
      const plan = planCompression(compression, planShape, settings.recipe ?? 'paper', kind);
      rank = plan.rank;
      topK = plan.topK;
      localWindow ??= plan.localWindow;
    } else if (rank === undefined || topK === undefined) {
      // One of r, k given: solve the other for the target (the given one held fixed).
      const d = planShape.headDim;
      const last = planShape.seqLen;
      if (rank === undefined) {
        const k = topK!;
        const r = largestWithin(1, d, compression, (x) => plannedRatio({ kind, rank: x, topK: k }, planShape));
        if (r < 1) throw unreachable(`${kind} with k = ${k}`, compression, planShape, plannedRatio({ kind, rank: 1, topK: k }, planShape), 'r = 1');
        rank = r;
      } else {
        const r = rank;
        const k = largestWithin(1, last, compression, (x) => plannedRatio({ kind, rank: r, topK: x }, planShape));
        if (k < 1) throw unreachable(`${kind} with r = ${r}`, compression, planShape, plannedRatio({ kind, rank: r, topK: 1 }, planShape), 'k = 1');
        topK = k;
      }
    }
    return {
      kind, rank: rank!, topK: topK!, localWindow: localWindow ?? Math.floor(topK! / 4),
      ...(settings.reallocation !== undefined ? { reallocation: settings.reallocation } : {}),
    };
  }
  const topK = settings.topK ?? planTopK(kind, compression, planShape).topK;
  if (kind === 'h2o') return settings.localWindow !== undefined ? { kind, topK, localWindow: settings.localWindow } : { kind, topK };
  return { kind, topK };
}
