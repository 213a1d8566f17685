// The core (src/index.ts and everything it imports) must run in a browser: no Node built-ins
// anywhere in its import graph. Walks the compiled modules' static imports.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { builtinModules } from 'node:module';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const IMPORT = /(?:^|\n)\s*(?:import|export)\s[^'"]*?from\s*['"]([^'"]+)['"]|(?:^|\n)\s*import\s*['"]([^'"]+)['"]/g;
const NODE_BUILTINS = new Set(builtinModules);

test('the browser entry imports no Node built-ins, directly or transitively', () => {
  const entry = resolve(here, '../src/index.js');
  const seen = new Set<string>();
  const offenders: string[] = [];
  const stack = [entry];
  while (stack.length) {
    const file = stack.pop()!;
    if (seen.has(file)) continue;
    seen.add(file);
    const source = readFileSync(file, 'utf8');
    for (const match of source.matchAll(IMPORT)) {
      const spec = match[1] ?? match[2]!;
      if (spec.startsWith('.')) stack.push(resolve(dirname(file), spec));
      else if (spec.startsWith('node:') || NODE_BUILTINS.has(spec)) offenders.push(`${file} imports ${spec}`);
    }
  }
  assert.ok(seen.size > 50, `walked only ${seen.size} modules`);
  assert.deepEqual(offenders, []);
});
