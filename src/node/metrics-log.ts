// Training metrics as JSON lines: one `{"step":..,"time":..,...}` object per line, appended as it
// happens so a crashed run keeps everything logged before the crash.

import { closeSync, existsSync, fsyncSync, mkdirSync, openSync, writeSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { dirname } from 'node:path';

import { writeFileAtomic } from './files.js';

export type MetricValue = number | string | boolean | null;

export interface MetricsRecord {
  readonly step: number;
  /** Milliseconds since the Unix epoch when the record was appended. */
  readonly time: number;
  readonly [key: string]: MetricValue;
}

export class MetricsLog {
  private fd: number | null;

  /** Opens `path` for appending (an existing log is continued, as when a run resumes). */
  constructor(
    readonly path: string,
    private readonly clock: () => number = Date.now,
  ) {
    mkdirSync(dirname(path), { recursive: true });
    this.fd = openSync(path, 'a');
  }

  /** Appends one line. NaN and Infinity are written as null (JSON has neither). */
  append(step: number, values: Readonly<Record<string, MetricValue>> = {}): void {
    if (this.fd === null) throw new Error(`${this.path}: metrics log is closed`);
    if ('step' in values || 'time' in values) throw new Error(`${this.path}: 'step' and 'time' are set by MetricsLog, not by the values`);
    // A synchronous write per line: a few microseconds, and the line is in the file before training continues.
    writeSync(this.fd, `${JSON.stringify({ step, time: this.clock(), ...values })}\n`);
  }

  /** Flushes to disk and closes. */
  close(): void {
    if (this.fd === null) return;
    const fd = this.fd;
    this.fd = null;
    try {
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
  }
}

/** Reads a metrics log; a torn last line (a crash mid-write) is ignored, any other bad line is an error. */
export async function readMetricsLog(path: string): Promise<MetricsRecord[]> {
  const text = await readFile(path, 'utf8');
  const lines = text.split('\n');
  const records: MetricsRecord[] = [];
  lines.forEach((line, index) => {
    if (line.trim() === '') return;
    const isTornLastLine = index === lines.length - 1;
    let value: unknown;
    try {
      value = JSON.parse(line);
    } catch (error) {
      if (isTornLastLine) return;
      throw new Error(`${path}:${index + 1}: not valid JSON (${(error as Error).message})`);
    }
    if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new Error(`${path}:${index + 1}: expected a JSON object`);
    const record = value as Record<string, unknown>;
    for (const field of ['step', 'time'] as const) {
      if (typeof record[field] !== 'number') throw new Error(`${path}:${index + 1}: field '${field}' must be a number`);
    }
    for (const [key, item] of Object.entries(record)) {
      if (item !== null && typeof item === 'object') throw new Error(`${path}:${index + 1}: field '${key}' must be a number, string, boolean or null`);
    }
    records.push(record as MetricsRecord);
  });
  return records;
}

/** Drops records after `step`: a run killed after its last checkpoint logged steps it will redo. */
export async function truncateMetricsLog(path: string, step: number): Promise<void> {
  if (!existsSync(path)) return;
  const records = await readMetricsLog(path);
  const kept = records.filter((r) => r.step <= step);
  if (kept.length === records.length) return;
  await writeFileAtomic(path, kept.map((r) => `${JSON.stringify(r)}\n`).join(''));
}
