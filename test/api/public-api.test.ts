// The public API, pinned. The entry files name every export (no `export *`), so the names can be read from
// them; this test compares them with test/api/public-api.txt and prints the difference. The compile-only half,
// test/api/public-api-names.ts, re-exports every listed name, so removing one fails the build.

import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';

import * as thrifty from '../../src/index.js';
import * as thriftyNode from '../../src/node.js';
import { repoRoot } from '../../src/node/data-dir.js';
import * as pinned from './public-api-names.js';

type Entry = 'thrifty' | 'thrifty/node';

/** `export { a, type B }` and `export type { C }` items of an entry file: names and whether type-only. */
function declaredExports(source: string): { values: Set<string>; types: Set<string> } {
  const values = new Set<string>();
  const types = new Set<string>();
  const code = source.replace(/\/\/.*$/gm, '');
  for (const [, typeOnly, body] of code.matchAll(/export\s+(type\s+)?\{([^}]*)\}/g)) {
    for (const raw of body!.split(',').map((item) => item.trim()).filter(Boolean)) {
      const isType = typeOnly !== undefined || raw.startsWith('type ');
      const name = raw.replace(/^type\s+/, '').split(/\s+as\s+/).pop()!;
      (isType ? types : values).add(name);
    }
  }
  return { values, types };
}

function line(entry: Entry, name: string, isType: boolean): string {
  return `${entry} ${isType ? 'type ' : ''}${name}`;
}

function difference(actual: readonly string[], expected: readonly string[]): string {
  const a = new Set(actual);
  const e = new Set(expected);
  const added = actual.filter((l) => !e.has(l)).map((l) => `+ ${l}`);
  const removed = expected.filter((l) => !a.has(l)).map((l) => `- ${l}`);
  return [...added, ...removed].join('\n');
}

const root = repoRoot();
const expected = readFileSync(`${root}test/api/public-api.txt`, 'utf8')
  .split('\n')
  .filter((l) => l !== '' && !l.startsWith('#'));

test('the entry files export exactly the names in test/api/public-api.txt', () => {
  assert.ok(!/^export \*/m.test(readFileSync(`${root}src/index.ts`, 'utf8')), 'src/index.ts names its exports (no export *)');
  const index = declaredExports(readFileSync(`${root}src/index.ts`, 'utf8'));
  const node = declaredExports(readFileSync(`${root}src/node.ts`, 'utf8'));
  const actual = [
    ...[...index.values].map((n) => line('thrifty', n, false)),
    ...[...index.types].map((n) => line('thrifty', n, true)),
    ...[...node.values].filter((n) => !index.values.has(n)).map((n) => line('thrifty/node', n, false)),
    ...[...node.types].filter((n) => !index.types.has(n)).map((n) => line('thrifty/node', n, true)),
  ];
  const diff = difference(actual, expected);
  assert.equal(diff, '', `the public API changed (+ exported, not listed; - listed, not exported); update test/api/public-api.txt:\n${diff}`);
});

test('the runtime exports of thrifty and thrifty/node are the listed values', () => {
  const listed = (entry: Entry): string[] => expected.filter((l) => l.startsWith(`${entry} `) && !l.includes(' type ')).map((l) => l.split(' ')[1]!);
  const indexNames = Object.keys(thrifty);
  const nodeOwn = Object.keys(thriftyNode).filter((n) => !(n in thrifty));
  assert.equal(difference(indexNames.map((n) => `thrifty ${n}`), listed('thrifty').map((n) => `thrifty ${n}`)), '');
  assert.equal(difference(nodeOwn.map((n) => `thrifty/node ${n}`), listed('thrifty/node').map((n) => `thrifty/node ${n}`)), '');
  // thrifty/node is a superset of thrifty.
  assert.deepEqual(Object.keys(thrifty).filter((n) => !(n in thriftyNode)), []);
  // The compile-only list names every runtime value (its types are checked by the compiler).
  assert.deepEqual(Object.keys(pinned).sort(), [...indexNames, ...nodeOwn].sort());
});
