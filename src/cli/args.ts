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

/** An integer in [min, max]: the upper bound keeps a typo (an extra zero or two) from a run that cannot finish or fit. */
export function parseIntInRange(flag: string, min: number, max: number): (value: string) => number {
  return (value) => {
    const n = Number(value);
    if (!Number.isInteger(n) || n < min || n > max) throw new InvalidArgumentError(`${flag} expects an integer from ${min} to ${max}, got '${value}'`);
    return n;
  };
}

/** A number in [min, max] (exclusive of min when `minExclusive`). */
export function parseNumberInRange(flag: string, min: number, max: number, minExclusive = false): (value: string) => number {
  return (value) => {
    const n = Number(value);
    const low = minExclusive ? n > min : n >= min;
    if (value.trim() === '' || !Number.isFinite(n) || !low || n > max) {
      throw new InvalidArgumentError(`${flag} expects a number ${minExclusive ? 'above' : 'from'} ${min} ${minExclusive ? 'up to' : 'to'} ${max}, got '${value}'`);
    }
    return n;
  };
}
