// What one evaluated sample leaves behind (one JSON object per sample, JSON lines per cell), what
// identifies a cell of the grid (model x task x method x compression), and the smallest model
// interface the evaluation driver needs (see src/eval/README.md).

import type { TaskName } from './prompts.js';

/** One cell of the grid: every sample of a task run with one method at one requested compression. */
export interface EvalCell {
  readonly model: string;
  readonly task: TaskName;
  /** Attention policy: dense, sparq, h2o, lm-infinite, flexgen, oracle, random-projection (with its recipe, e.g. 'sparq-paper'). */
  readonly method: string;
  /** Requested fraction of dense attention transfers (1 for dense). */
  readonly compression: number;
  /** Task variant that changes the samples (e.g. 'confusion-15' for the SQuAD length study); '' for none. */
  readonly variant: string;
  readonly seed: number;
}

/** Measured attention traffic of one sample's policy decode steps (KV-cache elements). */
export interface MeasuredTransfers {
  /** Decode steps that went through the policy (generated tokens after the first). */
  readonly steps: number;
  /** Elements moved (read and written) in all policy steps, all layers and KV heads. */
  readonly elements: number;
  /** What dense attention would have moved for the same steps. */
  readonly denseElements: number;
}

export interface EvalRecord extends EvalCell {
  /** Sample id (question id, character offset, needle "length-depth", WikiText page). */
  readonly sampleId: string;
  /** Position of the sample in the task's seeded order. */
  readonly index: number;
  /** Prefill tokens (BOS included) and generated or teacher-forced tokens. */
  readonly prefillTokens: number;
  readonly generatedTokens: number;
  /** Decoded output (greedy tasks); '' for BPC. */
  readonly output: string;
  /** The task's score: exact match 0/1, ROUGE-L F, matched characters, bits per character, needle 0/1. */
  readonly score: number;
  /**
   * Repetition only: the output is empty or whitespace once leading whitespace is stripped, so the
   * reference's metric credits the whole reference (isDegenerateRepetition). Records written before
   * the flag existed lack it; summaries then derive it from `output`.
   */
  readonly degenerate?: boolean;
  /** Measured transfers / dense transfers over this sample's policy steps (1 for dense; null without policy steps). */
  readonly achievedRatio: number | null;
  readonly transfers: MeasuredTransfers;
  /** Task details (needle length and depth, confusion contexts, ...). */
  readonly details?: Readonly<Record<string, number | string>>;
  readonly seconds: number;
}

/** A file-name-safe key of a cell: model, task, variant, method, compression and seed. */
export function cellKey(cell: EvalCell): string {
  const safe = (s: string): string => s.replace(/[^A-Za-z0-9.+-]+/g, '_');
  const compression = Number.isInteger(1 / cell.compression) ? `1-${1 / cell.compression}` : String(cell.compression);
  return [safe(cell.model), cell.task + (cell.variant ? `.${safe(cell.variant)}` : ''), safe(cell.method), compression, `seed${cell.seed}`].join('__');
}

/** Achieved ratio from measured transfers (null when no decode step went through the policy). */
export function achievedRatio(t: MeasuredTransfers): number | null {
  return t.denseElements > 0 ? t.elements / t.denseElements : null;
}

/** Checks that a parsed JSON value is an EvalRecord of `cell`; errors name the file, line and field. */
export function checkRecord(value: unknown, cell: EvalCell, where: string): EvalRecord {
  if (typeof value !== 'object' || value === null) throw new Error(`${where}: expected a JSON object`);
  const r = value as Record<string, unknown>;
  const need = (name: string, type: 'string' | 'number' | 'object'): void => {
    if (typeof r[name] !== type || r[name] === null) throw new Error(`${where}: field '${name}' must be a ${type}`);
  };
  for (const name of ['model', 'task', 'method', 'variant', 'sampleId', 'output']) need(name, 'string');
  for (const name of ['compression', 'seed', 'index', 'prefillTokens', 'generatedTokens', 'score', 'seconds']) need(name, 'number');
  need('transfers', 'object');
  if (r['degenerate'] !== undefined && typeof r['degenerate'] !== 'boolean') throw new Error(`${where}: field 'degenerate' must be a boolean`);
  for (const key of ['model', 'task', 'method', 'compression', 'variant', 'seed'] as const) {
    if (r[key] !== cell[key]) throw new Error(`${where}: field '${key}' is ${JSON.stringify(r[key])}, this cell's is ${JSON.stringify(cell[key])}`);
  }
  return value as EvalRecord;
}

/**
 * The model side of the evaluation driver, for one sequence at a time. The reference harness's
 * rules, which the driver keeps and an implementation must make possible:
 * - `prefill` is dense attention over all its tokens, whatever the policy (a one-token chunk too),
 *   and its last logits give the first generated token; the policy applies from the second.
 * - `decode` appends one token and attends through the policy; eviction policies (H2O) may only
 *   evict between calls.
 * - Needle prefills in chunks of 256 (repeated `prefill` calls that append).
 */
export interface EvalModel {
  readonly contextLength: number;
  readonly vocabSize: number;
  /** Empties the cache and the policy state and counters; starts a new sample. */
  reset(): void;
  /** Appends `ids` with dense attention; the logits [vocab] after the last. */
  prefill(ids: readonly number[]): Float32Array;
  /** Appends one token, attention through the policy; the logits [vocab] after it. */
  decode(id: number): Float32Array;
  /** Transfers measured since the last reset. */
  transfers(): MeasuredTransfers;
}

/** What the driver needs of a tokenizer: ids without BOS/EOS, the BOS id (or null), and decoding. */
export interface EvalTokenizer {
  readonly bos: number | null;
  encode(text: string): readonly number[];
  decode(ids: readonly number[]): string;
}
