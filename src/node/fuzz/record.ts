// A fuzz run as a committed record, and the docs table drawn from it (src/report/doc-tables.ts).

import { field, type DocTable } from '../../report/doc-tables.js';
import { formatFuzzTable, type FuzzReport } from './runner.js';
import { FUZZ_FORMATS, isFuzzFormat } from './seeds.js';

export interface FuzzRecord {
  readonly command: string;
  /** ISO date of the run. */
  readonly date: string;
  readonly reports: ReadonlyArray<Omit<FuzzReport, 'failures'>>;
}

export function fuzzRecord(reports: readonly FuzzReport[], command: string, date: Date): FuzzRecord {
  return { command, date: date.toISOString(), reports: reports.map(({ failures: _failures, ...rest }) => rest) };
}

export const FUZZ_RECORD = 'docs/records/fuzz-latest.json';

/** `<!-- table:fuzz/latest -->`: the outcome table of the latest full run, with its command. */
export const FUZZ_DOC_TABLE: DocTable = {
  id: 'fuzz/latest',
  record: FUZZ_RECORD,
  render(record) {
    const command = field(record, 'command', FUZZ_RECORD);
    const date = field(record, 'date', FUZZ_RECORD);
    const reports = field(record, 'reports', FUZZ_RECORD);
    if (typeof command !== 'string' || typeof date !== 'string' || !Array.isArray(reports)) throw new Error(`${FUZZ_RECORD}: command, date and reports have the wrong types`);
    for (const r of reports as Array<{ format: unknown }>) {
      if (typeof r.format !== 'string' || !isFuzzFormat(r.format)) throw new Error(`${FUZZ_RECORD}: unknown format '${String(r.format)}' (known: ${FUZZ_FORMATS.join(', ')})`);
    }
    const total = (reports as FuzzReport[]).reduce((a, r) => a + r.count, 0);
    const seconds = (reports as FuzzReport[]).reduce((a, r) => a + r.seconds, 0);
    const table = formatFuzzTable((reports as FuzzReport[]).map((r) => ({ ...r, failures: [] })));
    return `\`${command}\` (${date.slice(0, 10)}, ${total.toLocaleString('en-US')} inputs, ${Math.round(seconds / 60)} min):\n\n${table}\n`;
  },
};
