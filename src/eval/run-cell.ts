// Runs the samples of one grid cell that are not done yet, one record per sample. Storage is the
// caller's (src/node/eval-store.ts appends each record as it comes), so a stopped run resumes.

import { runGenerationSample, runTeacherForcedSample, type SampleOutcome } from './driver.js';
import { binomialSummary, isDegenerateRepetition, meanAndSem, type CellSummary } from './metrics.js';
import { isBinaryTask, type GenerationSample, type TeacherForcedSample } from './prompts.js';
import { achievedRatio, type EvalCell, type EvalModel, type EvalRecord, type EvalTokenizer } from './records.js';

export interface RunCellOptions {
  /** Sample indices already recorded (skipped). */
  readonly done?: ReadonlySet<number>;
  /** Called with each new record as soon as it is scored. */
  readonly onRecord?: (record: EvalRecord) => void | Promise<void>;
  /** A clock in seconds (performance.now by default). */
  readonly clock?: () => number;
  /** When aborted, no further sample starts (the event loop gets a turn before each, to see it). */
  readonly signal?: AbortSignal;
}

export async function runCell(
  cell: EvalCell,
  model: EvalModel,
  tokenizer: EvalTokenizer,
  samples: readonly (GenerationSample | TeacherForcedSample)[],
  options: RunCellOptions = {},
): Promise<EvalRecord[]> {
  const clock = options.clock ?? ((): number => performance.now() / 1000);
  const records: EvalRecord[] = [];
  for (const [index, sample] of samples.entries()) {
    if (options.done?.has(index)) continue;
    if (options.signal) {
      await new Promise((resolve) => setTimeout(resolve, 0));
      if (options.signal.aborted) break;
    }
    if (sample.task !== cell.task) throw new Error(`eval: sample ${sample.id} is of task ${sample.task}, the cell's is ${cell.task}`);
    const start = clock();
    const outcome: SampleOutcome = 'prefill' in sample ? runTeacherForcedSample(model, tokenizer, sample) : runGenerationSample(model, tokenizer, sample);
    const details = 'details' in sample ? sample.details : undefined;
    const record: EvalRecord = {
      ...cell,
      sampleId: sample.id,
      index,
      prefillTokens: outcome.prefillTokens,
      generatedTokens: outcome.generated.length,
      output: outcome.output,
      score: outcome.score,
      ...(cell.task === 'repetition' ? { degenerate: isDegenerateRepetition(outcome.output) } : {}),
      achievedRatio: achievedRatio(outcome.transfers),
      transfers: outcome.transfers,
      ...(details ? { details } : {}),
      seconds: clock() - start,
    };
    records.push(record);
    await options.onRecord?.(record);
  }
  return records;
}

export interface CellResult extends CellSummary {
  /** Mean achieved transfer ratio over samples with policy steps (null if none had any). */
  readonly achievedRatio: number | null;
  /** Repetition: outputs empty after stripping leading whitespace (credited in full by the reference's metric); null for other tasks. */
  readonly degenerate: number | null;
  /** Repetition: mean ± s.e. with those outputs scored 0 instead; null for other tasks. */
  readonly degenerateAsZero: CellSummary | null;
}

/** A repetition record's degenerate flag, derived from its output when the record predates the flag. */
export function recordIsDegenerate(record: Pick<EvalRecord, 'degenerate' | 'output'>): boolean {
  return record.degenerate ?? isDegenerateRepetition(record.output);
}

/**
 * Mean score with its standard error (binomial for binary tasks) and the mean achieved ratio; for
 * repetition also the count of degenerate outputs and the score with them counted as 0.
 */
export function summariseCell(records: readonly EvalRecord[]): CellResult {
  if (records.length === 0) throw new Error('summariseCell: no records');
  const task = records[0]!.task;
  const summary = isBinaryTask(task) ? binomialSummary(records.map((r) => r.score === 1)) : meanAndSem(records.map((r) => r.score));
  const ratios = records.map((r) => r.achievedRatio).filter((r): r is number => r !== null);
  const achievedRatio = ratios.length > 0 ? ratios.reduce((a, b) => a + b, 0) / ratios.length : null;
  if (task !== 'repetition') return { ...summary, achievedRatio, degenerate: null, degenerateAsZero: null };
  const flags = records.map(recordIsDegenerate);
  return {
    ...summary,
    achievedRatio,
    degenerate: flags.filter(Boolean).length,
    degenerateAsZero: meanAndSem(records.map((r, i) => (flags[i] ? 0 : r.score))),
  };
}
