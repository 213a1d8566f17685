// Argument parsers shared by the commands: each names its flag in the error.

import { InvalidArgumentError } from 'commander';

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
