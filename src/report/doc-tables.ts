// Tables in README.md and docs/ that are generated from committed JSON records, so that every
// published number can be regenerated (`npm run docs:tables`) and a test can check that the text
// still says what the records say. A generated table sits between two markers naming it:
//
//   <!-- table:infoplane/ebab-no-l2 -->
//   | ... the table ... |
//   <!-- /table:infoplane/ebab-no-l2 -->
//
// Everything between the markers is replaced; everything else in the document is left alone.

/** One generated table: its id (used in the markers), the record it reads, and how it is drawn. */
export interface DocTable {
  readonly id: string;
  /** The record's path relative to the repository root. */
  readonly record: string;
  /** Markdown (without the markers) from the parsed record. */
  render(record: unknown): string;
}

const MARKER = /<!-- table:([\w./-]+) -->\n([\s\S]*?)<!-- \/table:([\w./-]+) -->/g;

/** The ids of the generated regions in a document, in order. */
export function generatedRegions(text: string): string[] {
  const ids: string[] = [];
  for (const m of text.matchAll(MARKER)) ids.push(m[1]!);
  return ids;
}

/**
 * The document with every generated region drawn again from its record. `loadRecord` returns the
 * parsed JSON of a record path. Unknown ids, mismatched end markers and unterminated regions are
 * errors naming the document.
 */
export function regenerateDocument(docName: string, text: string, tables: readonly DocTable[], loadRecord: (path: string) => unknown): string {
  const byId = new Map(tables.map((t) => [t.id, t]));
  const opened = (text.match(/<!-- table:/g) ?? []).length;
  const closed = (text.match(/<!-- \/table:/g) ?? []).length;
  if (opened !== closed) throw new Error(`${docName}: ${opened} table markers opened and ${closed} closed`);
  return text.replace(MARKER, (_whole, id: string, _body: string, endId: string) => {
    if (id !== endId) throw new Error(`${docName}: table '${id}' is closed by the end marker of '${endId}'`);
    const table = byId.get(id);
    if (!table) throw new Error(`${docName}: unknown generated table '${id}' (known: ${[...byId.keys()].join(', ')})`);
    const body = table.render(loadRecord(table.record)).replace(/\n*$/, '\n');
    return `<!-- table:${id} -->\n${body}<!-- /table:${id} -->`;
  });
}

/** A Markdown table; `align` per column: 'l' (default) or 'r'. */
export function markdownTable(headers: readonly string[], rows: ReadonlyArray<readonly string[]>, align: readonly ('l' | 'r')[] = []): string {
  for (const row of rows) {
    if (row.length !== headers.length) throw new Error(`markdownTable: a row has ${row.length} cells for ${headers.length} columns`);
  }
  const rule = headers.map((_, i) => (align[i] === 'r' ? '---:' : '---'));
  return [headers, rule, ...rows].map((cells) => `| ${cells.join(' | ')} |`).join('\n') + '\n';
}

/** A fixed-point number, with '-' for a missing or non-finite value. */
export function fixed(value: number | null | undefined, digits: number): string {
  if (value === null || value === undefined || !Number.isFinite(value)) return '-';
  const s = value.toFixed(digits);
  // No "-0.00": a value that rounds to zero is written without a sign.
  return /^-0\.?0*$/.test(s) ? s.slice(1) : s;
}

/**
 * A p-value as the docs write it: two significant digits from 0.001 up (0.0083, 0.019, 0.30), one
 * significant digit in exponent form below (1e-4, 2e-12), '-' when undefined.
 */
export function pValue(p: number | null | undefined): string {
  if (p === null || p === undefined || !Number.isFinite(p)) return '-';
  if (p >= 0.001) return p.toPrecision(2);
  const [mantissa, exponent] = p.toExponential(0).split('e');
  return `${mantissa}e${Number(exponent)}`;
}

const MISSING = Symbol('missing');

// The value at `path` (dot-separated), or MISSING.
function lookUp(record: unknown, path: string): unknown {
  let value: unknown = record;
  for (const key of path.split('.')) {
    if (value === null || typeof value !== 'object' || !(key in value)) return MISSING;
    value = (value as Record<string, unknown>)[key];
  }
  return value;
}

/** Reads `path` (dot-separated) from a parsed record, or throws naming the record and the field. */
export function field(record: unknown, path: string, recordName: string): unknown {
  const value = lookUp(record, path);
  if (value === MISSING) throw new Error(`${recordName}: field '${path}' is missing`);
  return value;
}

/** Whether a parsed record has `path` (for fields that only some records carry). */
export function hasField(record: unknown, path: string): boolean {
  return lookUp(record, path) !== MISSING;
}
