// The README's "Generation from code" snippet, run as written (only the package name is pointed at
// this build), in a child process: its streamed text is `thrifty generate`'s for the same settings.

import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';

import { runGenerate } from '../../src/cli/commands/generate.js';
import { repoRoot } from '../../src/node/data-dir.js';

async function readmeSnippet(): Promise<string> {
  const readme = await readFile(join(repoRoot(), 'README.md'), 'utf8');
  const section = readme.indexOf('## Generation from code');
  assert.ok(section >= 0, 'the README has a "Generation from code" section');
  const block = /```js\n([\s\S]*?)```/.exec(readme.slice(section));
  assert.ok(block?.[1], 'the section starts with a js block');
  return block[1];
}

test('the README generation snippet runs as written and streams the CLI\'s text', async () => {
  const snippet = await readmeSnippet();
  assert.match(snippet, /from 'thrifty\/node'/);
  const entry = new URL('../../src/node.js', import.meta.url).href;
  const dir = await mkdtemp(join(tmpdir(), 'thrifty-readme-api-'));
  try {
    const file = join(dir, 'snippet.mjs');
    await writeFile(file, snippet.replaceAll("'thrifty/node'", JSON.stringify(entry)));
    const run = spawnSync(process.execPath, [file], { encoding: 'utf8', timeout: 120_000 });
    assert.equal(run.status, 0, run.stderr);
    let cli = '';
    await runGenerate(
      { prompt: 'ROMEO:', maxTokens: 120, temperature: 1, topP: 0.9, sampleTopK: 0, seed: 1, attention: 'sparq', compression: 1 / 4, recipe: 'even', batch: 1, stats: 'none' },
      { write: (text: string) => (cli += text) },
      { write: () => true },
    );
    const streamed = cli.slice('ROMEO:'.length, -1);
    assert.ok(streamed.length > 60, cli);
    const lines = run.stdout.slice(streamed.length);
    assert.equal(run.stdout.slice(0, streamed.length), streamed);
    assert.match(lines, /^\n\d+ characters, \d+ tokens\/s, KV-cache traffic 100\.0% of dense\n$/);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
