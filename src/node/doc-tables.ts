// Regenerates the tables of README.md and docs/*.md from their committed JSON records (see
// src/report/doc-tables.ts); `npm run docs:tables` writes them, the test suite checks them.

import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

import { benchDocTables } from '../report/bench-doc-tables.js';
import { regenerateDocument, type DocTable } from '../report/doc-tables.js';
import { DYNSPARSE_DOC_TABLES } from '../report/dynsparse-doc-tables.js';
import { GROUPBERT_DOC_TABLES } from '../report/groupbert-doc-tables.js';
import { INFOPLANE_BENCH_DOC_TABLES } from '../report/infoplane-bench-doc-tables.js';
import { INFOPLANE_DOC_TABLES } from '../report/infoplane-doc-tables.js';
import { SPARQ_EVAL_DOC_TABLES } from '../report/sparq-eval-doc-tables.js';
import { writeFileAtomic } from './files.js';
import { FUZZ_DOC_TABLE } from './fuzz/record.js';

/** Every generated table; `load` reads a record (tables drawn from several records use it). */
export function docTables(load: (path: string) => unknown): DocTable[] {
  return [...INFOPLANE_DOC_TABLES, ...INFOPLANE_BENCH_DOC_TABLES, ...GROUPBERT_DOC_TABLES, ...SPARQ_EVAL_DOC_TABLES, FUZZ_DOC_TABLE, ...DYNSPARSE_DOC_TABLES, ...benchDocTables(load)];
}

/** README.md and every Markdown file in docs/, relative to the root. */
export function documentPaths(root: string): string[] {
  const docs = readdirSync(join(root, 'docs')).filter((f) => f.endsWith('.md')).sort().map((f) => `docs/${f}`);
  return ['README.md', ...docs];
}

export interface DocRegeneration {
  readonly path: string;
  readonly before: string;
  readonly after: string;
}

/** Each document as it is and as its records draw it (unchanged documents included). */
export function regenerateDocs(root: string): DocRegeneration[] {
  const records = new Map<string, unknown>();
  const loadRecord = (path: string): unknown => {
    if (!records.has(path)) {
      let text: string;
      try {
        text = readFileSync(join(root, path), 'utf8');
      } catch (err) {
        throw new Error(`${path}: cannot read the record (${err instanceof Error ? err.message : String(err)})`);
      }
      try {
        records.set(path, JSON.parse(text));
      } catch (err) {
        throw new Error(`${path}: not JSON (${err instanceof Error ? err.message : String(err)})`);
      }
    }
    return records.get(path);
  };
  const tables = docTables(loadRecord);
  return documentPaths(root).map((path) => {
    const before = readFileSync(join(root, path), 'utf8');
    return { path, before, after: regenerateDocument(path, before, tables, loadRecord) };
  });
}

/** Writes the documents whose tables changed; returns their paths. */
export async function writeRegeneratedDocs(root: string): Promise<string[]> {
  const changed = regenerateDocs(root).filter((d) => d.after !== d.before);
  for (const d of changed) await writeFileAtomic(join(root, d.path), d.after);
  return changed.map((d) => d.path);
}
