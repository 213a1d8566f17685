// Per-sample scores of the evaluation tasks, as the reference harness defines them
// (graphcore-research/llm-inference-research), and the mean with its standard error per cell.

/**
 * Leading spaces, quotes, _ . , and one leading "the "/"a "/"an ", or the trailing run of those
 * characters. llminference/tasks/qa.py EVALUATE_NORMALISATION_PATTERN, applied with re.sub to every
 * match: `^[\s\n"'_.,]*(the |a |an )?|[\s\n"'_.,]*$`. Only the first of several spaces before
 * the article is taken with it, as there ("  the  cat" -> " cat").
 */
const NORMALISATION = /^[\s"'_.,]*(?:the |a |an )?|[\s"'_.,]*$/g;

/** The reference's answer normalisation: lower-case, then strip as NORMALISATION says. */
export function normaliseAnswer(text: string): string {
  return text.toLowerCase().replace(NORMALISATION, '');
}

/**
 * SQuAD / TriviaQA exact match (qa.py evaluate_prediction): the normalised output starts with
 * some non-empty normalised answer. The output is the whole generation (up to its token budget),
 * so an answer followed by more text still matches.
 */
export function exactMatch(output: string, answers: readonly string[]): boolean {
  const out = normaliseAnswer(output);
  return answers.some((answer) => {
    const norm = normaliseAnswer(answer);
    return norm.length > 0 && out.startsWith(norm);
  });
}

const LEADING_SPACE = /^\s+/;

/**
 * Repetition score (llminference/tasks/repetition.py evaluate_match_length): with leading
 * whitespace stripped from both, the index of the first differing character, or the reference's
 * length when the generation agrees with it to the end of the shorter of the two.
 */
export function repetitionMatchLength(generation: string, reference: string): number {
  // Code points, as Python's str indexes them.
  const g = Array.from(generation.replace(LEADING_SPACE, ''));
  const r = Array.from(reference.replace(LEADING_SPACE, ''));
  const n = Math.min(g.length, r.length);
  for (let i = 0; i < n; i++) if (g[i] !== r[i]) return i;
  return r.length;
}

/**
 * True when a repetition output is empty once leading whitespace is stripped (empty, or only
 * whitespace). repetitionMatchLength, as the reference's evaluate_match_length, then finds no
 * differing character (zip stops at the empty generation) and credits the whole reference: an
 * untrained model printing newlines scores the maximum. The faithful score is kept; this flag lets
 * a table also report the score with such outputs counted as 0.
 */
export function isDegenerateRepetition(output: string): boolean {
  return output.replace(LEADING_SPACE, '') === '';
}

/** Bits per character (llminference/tasks/bpc.py calc_bpc): sum of NLL in nats * log2(e) / characters. */
export function bitsPerCharacter(nll: ArrayLike<number>, referenceCharacters: number): number {
  if (!(referenceCharacters > 0)) throw new Error(`bitsPerCharacter: the reference must have characters, got ${referenceCharacters}`);
  let sum = 0;
  for (let i = 0; i < nll.length; i++) {
    const v = nll[i]!;
    if (!Number.isFinite(v) || v < 0) throw new Error(`bitsPerCharacter: NLL ${i} is ${v}, expected a finite non-negative number of nats`);
    sum += v;
  }
  return (sum * Math.LOG2E) / referenceCharacters;
}

/** Negative log-likelihood (nats) of `target` under `logits` (log-sum-exp, stable). */
export function tokenNll(logits: ArrayLike<number>, target: number): number {
  if (!Number.isInteger(target) || target < 0 || target >= logits.length) throw new Error(`tokenNll: target ${target} is outside the ${logits.length} logits`);
  let max = -Infinity;
  for (let i = 0; i < logits.length; i++) max = Math.max(max, logits[i]!);
  let sum = 0;
  for (let i = 0; i < logits.length; i++) sum += Math.exp(logits[i]! - max);
  return max + Math.log(sum) - logits[target]!;
}

/** Needle's answer (llminference/tasks/needle.py REFERENCE_OUTPUT). */
export const NEEDLE_REFERENCE = 'eat a sandwich and sit in Dolores Park on a sunny day';

/** Needle score (needle.py MATCH_PATTERN `^\s*` + reference, re.match): leading whitespace, then the reference. */
export function needleMatch(output: string, reference: string = NEEDLE_REFERENCE): boolean {
  return output.replace(LEADING_SPACE, '').startsWith(reference);
}

export interface CellSummary {
  readonly n: number;
  readonly mean: number;
  /** Standard error of the mean: sample standard deviation (n - 1) / sqrt(n); 0 when n < 2. */
  readonly sem: number;
}

/** Mean and standard error of per-sample scores (ROUGE-L, match length, BPC). */
export function meanAndSem(scores: readonly number[]): CellSummary {
  const n = scores.length;
  if (n === 0) throw new Error('meanAndSem: no scores');
  for (const [i, s] of scores.entries()) if (!Number.isFinite(s)) throw new Error(`meanAndSem: score ${i} is ${s}`);
  const mean = scores.reduce((a, b) => a + b, 0) / n;
  if (n < 2) return { n, mean, sem: 0 };
  const variance = scores.reduce((a, s) => a + (s - mean) * (s - mean), 0) / (n - 1);
  return { n, mean, sem: Math.sqrt(variance / n) };
}

/** Accuracy of binary scores (exact match, needle) with the binomial standard error sqrt(p(1-p)/n). */
export function binomialSummary(hits: readonly boolean[]): CellSummary {
  const n = hits.length;
  if (n === 0) throw new Error('binomialSummary: no scores');
  const mean = hits.filter(Boolean).length / n;
  return { n, mean, sem: Math.sqrt((mean * (1 - mean)) / n) };
}
