// `npm run docs:tables`: draws every generated table of README.md and docs/ from its JSON record.
// `--check` only reports documents that differ (exit 1), as the test suite does.

import { repoRoot } from '../src/node/data-dir.js';
import { regenerateDocs, writeRegeneratedDocs } from '../src/node/doc-tables.js';

const root = repoRoot();
if (process.argv.includes('--check')) {
  const stale = regenerateDocs(root).filter((d) => d.after !== d.before).map((d) => d.path);
  if (stale.length) {
    process.stderr.write(`docs:tables: out of date with their records: ${stale.join(', ')} (run npm run docs:tables)\n`);
    process.exitCode = 1;
  } else process.stdout.write('docs:tables: every generated table matches its record\n');
} else {
  const written = await writeRegeneratedDocs(root);
  process.stdout.write(written.length ? `docs:tables: rewrote ${written.join(', ')}\n` : 'docs:tables: nothing to change\n');
}
