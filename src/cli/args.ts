// Argument parsers shared by the commands: each names its flag in the error.

import { InvalidArgumentError } from 'commander';
import { KV_DTYPES, type KvDType } from '../ops/attention-kernels.js';

export function parsePositiveInt(flag: string): (value: string) => number {
  return (value) => {
    const n = Number(value);
    if (!Number.isInteger(n) || n <= 0) throw new InvalidArgumentError(`${flag} expects a positive integer, got '${value}'`);
    return n;
  };
}

export function parseIntList(flag: string): (value: string) => number[] {
  return (value) =>
    value.split(',').map((part) => {
      const n = Number(part.trim());
      if (!Number.isInteger(n) || n <= 0) throw new InvalidArgumentError(`${flag} expects positive integers separated by commas, got '${value}'`);
      return n;
    });
}

export function parseNumber(flag: string): (value: string) => number {
  return (value) => {
    const n = Number(value);
    if (!Number.isFinite(n)) throw new InvalidArgumentError(`${flag} expects a number, got '${value}'`);
    return n;
  };
}

export function parseNonNegativeInt(flag: string): (value: string) => number {
  return (value) => {
    const n = Number(value);
    if (!Number.isInteger(n) || n < 0) throw new InvalidArgumentError(`${flag} expects a non-negative integer, got '${value}'`);
    return n;
  };
}

/**
 * The most threads any command accepts: the worker pool starts one worker per thread, each with its
 * own wasm instance, so an absurd count would exhaust memory before failing (see issue 12).
 */
export const MAX_THREADS = 64;

/** --threads: a positive integer up to MAX_THREADS. */
export function parseThreads(flag = '--threads'): (value: string) => number {
  const positive = parsePositiveInt(flag);
  return (value) => {
    const n = positive(value);
    if (n > MAX_THREADS) throw new InvalidArgumentError(`${flag} expects at most ${MAX_THREADS} threads, got ${n}`);
    return n;
  };
}

/** How a range is written in an error: [a, b], (a, b], ... */
function rangeText(min: number, max: number, minExclusive: boolean): string {
  const number = (x: number): string => (Number.isInteger(x) && Math.abs(x) >= 1e6 ? x.toLocaleString('en-US') : String(x));
  return `${minExclusive ? '(' : '['}${number(min)}, ${number(max)}]`;
}

/**
 * An integer flag in [min, max], checked when the flags are parsed, before any work: an absurd size
 * (`--seq 1e9`) is refused at once instead of after minutes of allocation (issue 12).
 */
export function parseIntInRange(flag: string, min: number, max: number): (value: string) => number {
  return (value) => {
    const n = Number(value.trim() === '' ? NaN : value);
    if (!Number.isInteger(n)) throw new InvalidArgumentError(`${flag} expects an integer in ${rangeText(min, max, false)}, got '${value}'`);
    if (n < min || n > max) throw new InvalidArgumentError(`${flag} expects an integer in ${rangeText(min, max, false)}, got ${value}`);
    return n;
  };
}

/** A number flag in [min, max], or (min, max] with `minExclusive` (learning rates: 0 trains nothing). */
export function parseNumberInRange(flag: string, min: number, max: number, options: { minExclusive?: boolean } = {}): (value: string) => number {
  const minExclusive = options.minExclusive === true;
  return (value) => {
    const n = Number(value.trim() === '' ? NaN : value);
    if (!Number.isFinite(n)) throw new InvalidArgumentError(`${flag} expects a number in ${rangeText(min, max, minExclusive)}, got '${value}'`);
    if (n > max || n < min || (minExclusive && n === min)) throw new InvalidArgumentError(`${flag} expects a number in ${rangeText(min, max, minExclusive)}, got ${value}`);
    return n;
  };
}

/**
 * Bounds of the training commands' flags (pretrain, experiment pareto, train-lm). Generous for this
 * engine (BERT's 512 positions, vocabularies of real models), but far below what would exhaust
 * memory before the first step.
 */
export const TRAINING_LIMITS = {
  /** Optimizer steps, warm-up steps and every "every n steps" interval. */
  steps: 10_000_000,
  /** Seeds: the generators fold a seed to 32 bits. */
  seed: 2 ** 32 - 1,
  /** Sequences (windows) per step. */
  batch: 4096,
  /** Sequence length or context, in tokens. */
  sequence: 2048,
  /** Tokens per step, batch x sequence length: the activations of one step grow with it. */
  tokensPerStep: 65_536,
  /** Vocabulary sizes to train (Llama 3 has 128,256 tokens). */
  vocabulary: 131_072,
  /** Peak learning rate: (0, 1]. */
  learningRate: 1,
  /** Gradient-norm clip. */
  clip: 1e6,
  /** Hidden width and FFN width of train-lm's model. */
  hidden: 8192,
  intermediate: 32_768,
  layers: 256,
  heads: 256,
  /** Validation sequences or held-out windows per evaluation. */
  evalSequences: 65_536,
} as const;

/** The tokens of one step, refused above TRAINING_LIMITS.tokensPerStep (naming both flags). */
export function checkTokensPerStep(batch: number, batchFlag: string, sequence: number, sequenceFlag: string): void {
  const tokens = batch * sequence;
  if (tokens > TRAINING_LIMITS.tokensPerStep) {
    throw new Error(`${batchFlag} ${batch} x ${sequenceFlag} ${sequence} = ${tokens.toLocaleString('en-US')} tokens per step, more than the ${TRAINING_LIMITS.tokensPerStep.toLocaleString('en-US')} allowed`);
  }
}

/** --kv-dtype: the KV cache's element type (f16 or f32). */
export function parseKvDType(flag = '--kv-dtype'): (value: string) => KvDType {
  return (value) => {
    if (!(KV_DTYPES as readonly string[]).includes(value)) throw new InvalidArgumentError(`${flag} expects ${KV_DTYPES.join(' or ')}, got '${value}'`);
    return value as KvDType;
  };
}

/** The attention policies the benchmarks compare with dense. */
export const SPARSE_POLICIES = ['sparq', 'h2o', 'lm-infinite', 'flexgen', 'oracle'] as const;
export type SparsePolicy = (typeof SPARSE_POLICIES)[number];

/** --attention for the benchmarks: a comma-separated list of SPARSE_POLICIES. */
export function parseSparsePolicies(value: string): SparsePolicy[] {
  return value.split(',').map((part) => {
    const v = part.trim();
    const policy = SPARSE_POLICIES.find((p) => p === v);
    if (!policy) throw new InvalidArgumentError(`--attention expects policies among ${SPARSE_POLICIES.join(', ')} separated by commas; got '${value}'`);
    return policy;
  });
}
