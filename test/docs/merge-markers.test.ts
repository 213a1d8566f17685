// No committed text file keeps the markers of an unresolved merge (one reached docs/sparq-eval.md
// once and was read as prose by nobody for several sessions).

import assert from 'node:assert/strict';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { test } from 'node:test';
import { repoRoot } from '../../src/node/data-dir.js';

const TEXT = /\.(md|ts|mjs|js|json|sh|html|css|txt)$/;
const SKIP = new Set(['node_modules', 'dist', '.git', 'runs', 'generated']);
// A marker line: seven of <, > or = at the start, the first two followed by a space and a name.
const MARKER = /^(<{7} \S|>{7} \S|={7}$)/m;

/** Text files under dir (skipping build outputs, runs and generated code), as paths. */
function textFiles(dir: string): string[] {
  const out: string[] = [];
  for (const name of readdirSync(dir)) {
    if (SKIP.has(name)) continue;
    const path = join(dir, name);
    const stat = statSync(path);
    if (stat.isDirectory()) out.push(...textFiles(path));
    else if (TEXT.test(name) && stat.size < 4_000_000) out.push(path);
  }
  return out;
}

test('no text file holds merge-conflict markers', () => {
  const root = repoRoot();
  const files = ['README.md', 'CHANGELOG.md', 'docs', 'src', 'test', 'tools', 'models', 'assembly', 'examples', 'bin', '.ci']
    .map((p) => join(root, p))
    .flatMap((p) => {
      try {
        return statSync(p).isDirectory() ? textFiles(p) : [p];
      } catch {
        return [];
      }
    });
  assert.ok(files.length > 100, `found only ${files.length} files under ${root}`);
  const marked = files.filter((f) => MARKER.test(readFileSync(f, 'utf8'))).map((f) => relative(root, f));
  assert.deepEqual(marked, []);
});
