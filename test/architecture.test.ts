// The direction of dependencies (docs/architecture.md), enforced: a module may import only from its
// own folder or from folders of a lower rank, and the core never imports a leaf. Reads the TypeScript
// sources' static imports, re-exports and dynamic `import('...')` calls alike.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';

const RANK: Readonly<Record<string, number>> = {
  tensor: 0,
  platform: 0, // event-loop helpers: no engine knowledge
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
  web: 10, // the browser's leaf (Web Workers), the twin of node
  bench: 10.5, // benchmarks run Node jobs; the CLI reaches them
  cli: 11,
};

/** Folders the core (everything else, and the browser entry src/index.ts) must never import. */
const LEAVES: ReadonlySet<string> = new Set(['node', 'bench', 'cli']);

const srcDir = resolve(dirname(fileURLToPath(import.meta.url)), '../../src');
// `import x from '...'`, `export * from '...'`, `import '...'` and `import('...')` with a relative specifier.
const IMPORT = /(?:(?:import|export)\s[^'"]*?from\s*|\bimport\s*\(\s*|\bimport\s+)['"](\.[^'"]+)['"]/g;

function sources(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) return name === 'generated' ? [] : sources(path);
    return name.endsWith('.ts') ? [path] : [];
  });
}

/** The top folder of `file` under src/, or null for the entry points directly in src/. */
function layerOf(file: string): string | null {
  const parts = relative(srcDir, file).split(sep);
  return parts.length > 1 ? parts[0]! : null;
}

/** Relative specifiers imported by `source` (static, re-export, side-effect and dynamic). */
function importedSpecifiers(source: string): string[] {
  return [...source.matchAll(IMPORT)].map((match) => match[1]!);
}

/** Layering violations of one source file; `file` is an absolute path under src/. */
function violationsOf(file: string, source: string): string[] {
  const name = relative(srcDir, file);
  const from = layerOf(file);
  // src/node.ts is the Node entry and may import everything; src/index.ts is the browser entry: core.
  if (from === null && name !== 'index.ts') return [];
  const fromRank = from === null ? Infinity : RANK[from];
  if (fromRank === undefined) return [`${name}: folder '${from}' has no rank in this test`];
  const fromLeaf = from !== null && LEAVES.has(from);
  const found: string[] = [];
  for (const spec of importedSpecifiers(source)) {
    const target = layerOf(resolve(dirname(file), spec));
    if (target === null || target === from) continue;
    const targetRank = RANK[target];
    if (!fromLeaf && LEAVES.has(target)) found.push(`${name} (core) imports the leaf ${spec} (${target})`);
    else if (targetRank === undefined || targetRank >= fromRank) found.push(`${name} (${from ?? 'entry'}) imports ${spec} (${target})`);
  }
  return found;
}

test('every module imports only from its own layer or lower ones, dynamic imports included', () => {
  const files = sources(srcDir);
  assert.ok(files.length > 100, `found only ${files.length} sources in ${srcDir}`);
  const violations = files.flatMap((file) => violationsOf(file, readFileSync(file, 'utf8')));
  assert.deepEqual(violations, []);
});

test('the import scanner sees every form of import', () => {
  const source = [
    "import { a } from './a.js';",
    "import type { B } from '../b.js';",
    "export * from './c.js';",
    "import './d.js';",
    "const { e } = await import('../e.js');",
    'const f = await import ( "./f.js" );',
    "import { readFile } from 'node:fs';", // not relative: not a layering edge
  ].join('\n');
  assert.deepEqual(importedSpecifiers(source), ['./a.js', '../b.js', './c.js', './d.js', '../e.js', './f.js']);
});

test('a core module importing a leaf, statically or dynamically, is a violation', () => {
  const trainFile = join(srcDir, 'train', 'loop.ts');
  assert.deepEqual(violationsOf(trainFile, "const { x } = await import('../node/files.js');"), [
    'train/loop.ts (core) imports the leaf ../node/files.js (node)',
  ]);
  assert.deepEqual(violationsOf(trainFile, "import { y } from '../bench/stats.js';"), [
    'train/loop.ts (core) imports the leaf ../bench/stats.js (bench)',
  ]);
  assert.deepEqual(violationsOf(join(srcDir, 'index.ts'), "export * from './cli/main.js';"), [
    'index.ts (core) imports the leaf ./cli/main.js (cli)',
  ]);
  // Upward within the core, and a leaf reaching a higher leaf, are violations too; downward is fine.
  assert.equal(violationsOf(join(srcDir, 'nn', 'x.ts'), "await import('../models/llama.js');").length, 1);
  assert.equal(violationsOf(join(srcDir, 'node', 'x.ts'), "import { c } from '../cli/main.js';").length, 1);
  assert.deepEqual(violationsOf(join(srcDir, 'cli', 'x.ts'), "await import('../bench/train.js');"), []);
  // Reaching outside src/ (as the CLI once did into bench/) is a folder without a rank.
  assert.equal(violationsOf(join(srcDir, 'cli', 'commands', 'x.ts'), "await import('../../../bench/train.js');").length, 1);
  assert.deepEqual(violationsOf(join(srcDir, 'node.ts'), "export * from './node/files.js';"), []);
});
