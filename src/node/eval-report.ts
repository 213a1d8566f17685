// The outputs of an evaluation folder drawn from its records: eval.json (every cell's plan and
// every record, one file the docs tables read) and report.html (src/report/sparq-eval-html.ts).

import { join } from 'node:path';

import type { EvalSnapshot } from '../eval/grid-summary.js';
import { renderSparqEvalHtml } from '../report/sparq-eval-html.js';
import { readAllRecords, readGridManifest } from './eval-store.js';
import { writeFileAtomic } from './files.js';

export const SNAPSHOT_FILE = 'eval.json';
export const REPORT_FILE = 'report.html';

/** The plan and records of an output folder. */
export async function readEvalSnapshot(dir: string): Promise<EvalSnapshot> {
  return { cells: await readGridManifest(dir), records: await readAllRecords(dir) };
}

/** Writes eval.json and report.html in `dir` from what it holds; returns their paths. */
export async function writeEvalReport(dir: string, notes: readonly string[] = []): Promise<{ snapshot: string; report: string; cells: number; records: number }> {
  const snapshot = await readEvalSnapshot(dir);
  if (snapshot.records.length === 0 && snapshot.cells.length === 0) throw new Error(`${dir}: no evaluation records (run thrifty eval --out ${dir} first)`);
  const snapshotPath = join(dir, SNAPSHOT_FILE);
  const reportPath = join(dir, REPORT_FILE);
  await writeFileAtomic(snapshotPath, `${JSON.stringify(snapshot)}\n`);
  await writeFileAtomic(reportPath, renderSparqEvalHtml({ title: 'SparQ evaluation: score against measured attention transfers', snapshot, notes }));
  return { snapshot: snapshotPath, report: reportPath, cells: snapshot.cells.length, records: snapshot.records.length };
}
