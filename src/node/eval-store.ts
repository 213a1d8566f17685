// A resumable store of evaluation records: one JSON-lines file per grid cell under a folder. A
// record is appended (one write of one line, flushed) as soon as its sample is scored, so a run
// that stops loses at most the sample in progress; a re-run reads what is there and skips the
// samples (and whole cells) already done. A torn last line (a crash mid-write) is dropped on read
// and truncated away before the next append.

import { mkdir, open, readdir, readFile, rename, truncate, writeFile } from 'node:fs/promises';
import { join } from 'node:path';

import type { GridPlanEntry } from '../eval/grid-summary.js';
import { cellKey, checkRecord, type EvalCell, type EvalRecord } from '../eval/records.js';

/** The file's text, or null when there is no such file. */
async function readTextIfExists(path: string): Promise<string | null> {
  try {
    return await readFile(path, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw error;
  }
}

export class EvalStore {
  constructor(readonly dir: string) {}

  pathOf(cell: EvalCell): string {
    return join(this.dir, `${cellKey(cell)}.jsonl`);
  }

  /** The cell's records in file order (a torn last line is ignored; any other bad line is an error). */
  async read(cell: EvalCell): Promise<EvalRecord[]> {
    const path = this.pathOf(cell);
    const text = await readTextIfExists(path);
    if (text === null) return [];
    // The piece after the last newline is empty, or a line torn by a crash mid-write.
    return text.split('\n').slice(0, -1).map((line, i) => {
      let value: unknown;
      try {
        value = JSON.parse(line) as unknown;
      } catch {
        throw new Error(`${path}: line ${i + 1} is not valid JSON`);
      }
      return checkRecord(value, cell, `${path}: line ${i + 1}`);
    });
  }

  /** Sample indices already scored in this cell. */
  async done(cell: EvalCell): Promise<Set<number>> {
    return new Set((await this.read(cell)).map((r) => r.index));
  }

  /** True when the cell holds `samples` records (indices 0..samples-1). */
  async isComplete(cell: EvalCell, samples: number): Promise<boolean> {
    const done = await this.done(cell);
    for (let i = 0; i < samples; i++) if (!done.has(i)) return false;
    return true;
  }

  /** Appends one record as one line (after cutting off a torn last line, if any). */
  async append(record: EvalRecord): Promise<void> {
    checkRecord(record, record, 'record to append');
    await mkdir(this.dir, { recursive: true });
    const path = this.pathOf(record);
    await this.dropTornTail(path);
    const handle = await open(path, 'a');
    try {
      await handle.write(`${JSON.stringify(record)}\n`);
      await handle.sync();
    } finally {
      await handle.close();
    }
  }

  private async dropTornTail(path: string): Promise<void> {
    const text = await readTextIfExists(path);
    if (text === null) return;
    if (text.length === 0 || text.endsWith('\n')) return;
    await truncate(path, Buffer.byteLength(text.slice(0, text.lastIndexOf('\n') + 1), 'utf8'));
  }
}

export type GridManifestEntry = GridPlanEntry;

export const GRID_MANIFEST = 'grid.json';

/** Every cell's plan so far: entries from earlier runs are kept, this run's replace theirs. */
export async function readGridManifest(dir: string): Promise<GridManifestEntry[]> {
  const path = join(dir, GRID_MANIFEST);
  const text = await readTextIfExists(path);
  if (text === null) return [];
  let value: unknown;
  try {
    value = JSON.parse(text) as unknown;
  } catch {
    throw new Error(`${path}: not valid JSON`);
  }
  const cells = (value as { cells?: unknown }).cells;
  if (!Array.isArray(cells)) throw new Error(`${path}: field 'cells' must be an array`);
  return cells as GridManifestEntry[];
}

/** Merges `entries` into dir/grid.json (by cell key), written whole and renamed into place. */
export async function writeGridManifest(dir: string, entries: readonly GridManifestEntry[]): Promise<void> {
  await mkdir(dir, { recursive: true });
  const merged = new Map<string, GridManifestEntry>();
  for (const e of await readGridManifest(dir)) merged.set(cellKey(e.cell), e);
  for (const e of entries) merged.set(cellKey(e.cell), e);
  const path = join(dir, GRID_MANIFEST);
  const sorted = [...merged.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)).map(([, e]) => e);
  await writeFile(`${path}.tmp`, `${JSON.stringify({ cells: sorted }, null, 1)}\n`);
  await rename(`${path}.tmp`, path);
}

/** Every record under dir (all cells), in file-name order. */
export async function readAllRecords(dir: string): Promise<EvalRecord[]> {
  let names: string[];
  try {
    names = (await readdir(dir)).filter((n) => n.endsWith('.jsonl')).sort();
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw error;
  }
  const out: EvalRecord[] = [];
  for (const name of names) {
    const text = await readFile(join(dir, name), 'utf8');
    text.split('\n').slice(0, -1).forEach((line, i) => {
      let value: unknown;
      try {
        value = JSON.parse(line) as unknown;
      } catch {
        throw new Error(`${join(dir, name)}: line ${i + 1} is not valid JSON`);
      }
      const r = value as EvalRecord;
      out.push(checkRecord(value, r, `${join(dir, name)}: line ${i + 1}`));
    });
  }
  return out;
}
