// The direction of dependencies (docs/architecture.md), enforced: a module may import only from its
// own folder or from folders of a lower rank. Reads the TypeScript sources' static imports.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';

const RANK: Readonly<Record<string, number>> = {
  tensor: 0,
  io: 1.5, // formats build tokenizers (text)
  text: 1,
  data: 1,
  ops: 2,
  backend: 3,
  autograd: 4,
  nn: 5,
  optim: 6,
  attention: 6,
  info: 6,
  models: 7,
  generate: 8,
  train: 8,
  eval: 8.5, // evaluation tasks and driver: above generate, below report
  report: 9,
  node: 10,
  cli: 11,
};

const srcDir = resolve(dirname(fileURLToPath(import.meta.url)), '../../src');
const IMPORT = /(?:import|export)\s[^'"]*?from\s*['"](\.[^'"]+)['"]/g;

function sources(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) return name === 'generated' ? [] : sources(path);
    return name.endsWith('.ts') ? [path] : [];
  });
}

function layerOf(file: string): string | null {
  const parts = relative(srcDir, file).split(sep);
  return parts.length > 1 ? parts[0]! : null;
}

test('every module imports only from its own layer or lower ones', () => {
  const files = sources(srcDir);
  assert.ok(files.length > 100, `found only ${files.length} sources in ${srcDir}`);
  const violations: string[] = [];
  for (const file of files) {
    const from = layerOf(file);
    if (from === null) continue; // the entry points (index.ts, node.ts) may import everything
    const fromRank = RANK[from];
    if (fromRank === undefined) {
      violations.push(`${relative(srcDir, file)}: folder '${from}' has no rank in this test`);
      continue;
    }
    for (const match of readFileSync(file, 'utf8').matchAll(IMPORT)) {
      const target = layerOf(resolve(dirname(file), match[1]!));
      if (target === null || target === from) continue;
      const targetRank = RANK[target];
      if (targetRank === undefined || targetRank >= fromRank) violations.push(`${relative(srcDir, file)} (${from}) imports ${match[1]} (${target})`);
    }
  }
  assert.deepEqual(violations, []);
});
