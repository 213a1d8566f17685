// The ratio planner: SparQ settings (r, k, l) for a target compression of attention transfers,
// and the conversion of command-line style settings into an AttentionSpec.

import { ATTENTION_KINDS, type AttentionKind, type AttentionSpec } from './decode-policy.js';
import { denseTransfers, sparqTransfers } from './transfers.js';

/**
 * 'paper': k = 128, l = k/4 and r in {8, 16, 32, 64}, the r whose transfers come closest to the
 * target (the settings swept in the SparQ paper). 'even': half the budget to each step,
 * r = d/R and k = S/(2R), l = k/4.
 */
export type CompressionRecipe = 'paper' | 'even';

export interface CompressionPlan {
  readonly rank: number;
  readonly topK: number;
  readonly localWindow: number;
  /** SparQ transfers / dense transfers at seqLen with these settings (the paper's formulas). */
  readonly achievedRatio: number;
}

export const PAPER_TOP_K = 128;
export const PAPER_RANKS: readonly number[] = [8, 16, 32, 64];

const clamp = (v: number, lo: number, hi: number): number => Math.max(lo, Math.min(hi, v));

export function planCompression(target: number, shape: { headDim: number; seqLen: number },
  recipe: CompressionRecipe = 'paper'): CompressionPlan {
  if (!(target > 0 && target <= 1)) throw new RangeError(`planCompression: target must be in (0, 1], e.g. 1/8; got ${target}`);
  const { headDim: d, seqLen: S } = shape;
  if (!Number.isInteger(d) || d <= 0) throw new RangeError(`planCompression: headDim must be a positive integer, got ${d}`);
  if (!Number.isInteger(S) || S <= 0) throw new RangeError(`planCompression: seqLen must be a positive integer, got ${S}`);
  const ratio = (r: number, k: number): number => sparqTransfers(S, d, r, k) / denseTransfers(S, d);
  if (recipe === 'paper') {
    const k = Math.min(PAPER_TOP_K, S);
    const candidates = [...new Set(PAPER_RANKS.map((r) => Math.min(r, d)))];
    let best = candidates[0]!;
    let bestErr = Infinity;
    for (const r of candidates) {
      const err = Math.abs(Math.log(ratio(r, k) / target));
      if (err < bestErr) {
        best = r;
        bestErr = err;
      }
    }
    return { rank: best, topK: k, localWindow: Math.floor(k / 4), achievedRatio: ratio(best, k) };
  }
  if (recipe === 'even') {
    const r = clamp(Math.round(d * target), 1, d);
    const k = clamp(Math.round((S * target) / 2), 1, S);
    return { rank: r, topK: k, localWindow: Math.floor(k / 4), achievedRatio: ratio(r, k) };
  }
  throw new RangeError(`planCompression: unknown recipe '${String(recipe)}' (expected paper or even)`);
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
  /** dense | sparq | h2o | lm-infinite | flexgen | oracle (default dense). */
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
 * The AttentionSpec for command-line style settings. seqLen is the context length the settings
 * are planned for (prompt plus generated tokens). Explicit rank/top-k win over compression.
 * Baselines get k = round(S * compression) unless topK is given.
 */
export function attentionSpecFromSettings(settings: AttentionSettings, shape: { headDim: number; seqLen: number }): AttentionSpec {
  const kind = (settings.attention ?? 'dense') as AttentionKind;
  if (!ATTENTION_KINDS.includes(kind)) {
    throw new RangeError(`--attention must be one of ${ATTENTION_KINDS.join(', ')}; got '${settings.attention}'`);
  }
  if (kind === 'dense') return { kind };
  const compression = settings.compression ?? 1 / 8;
  const S = Math.max(1, shape.seqLen);
  if (kind === 'sparq') {
    const explicit = settings.rank !== undefined || settings.topK !== undefined;
    const plan = planCompression(compression, { headDim: shape.headDim, seqLen: S }, settings.recipe ?? 'paper');
    const rank = settings.rank ?? plan.rank;
    const topK = settings.topK ?? plan.topK;
    const localWindow = settings.localWindow ?? (explicit ? Math.floor(topK / 4) : plan.localWindow);
    return {
      kind, rank, topK, localWindow,
      ...(settings.reallocation !== undefined ? { reallocation: settings.reallocation } : {}),
    };
  }
  const topK = settings.topK ?? Math.max(1, Math.round(S * compression));
  if (kind === 'h2o') return settings.localWindow !== undefined ? { kind, topK, localWindow: settings.localWindow } : { kind, topK };
  if (kind === 'lm-infinite') return { kind, topK };
  return { kind, topK };
}
