// The command line as a user meets it: --version, one-line errors with the "did you mean" hint,
// and a quiet stop when the reader of stdout goes away.

import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';

import { repoRoot } from '../../src/node/data-dir.js';

const root = repoRoot();
const cli = `${root}bin/thrifty.js`;

function run(args: string[]): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [cli, ...args], { encoding: 'utf8', timeout: 60_000 });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

test('--version prints the package version', () => {
  const version = (JSON.parse(readFileSync(`${root}package.json`, 'utf8')) as { version: string }).version;
  for (const flag of ['--version', '-V']) {
    const r = run([flag]);
    assert.equal(r.status, 0);
    assert.equal(r.stdout, `thrifty ${version}\n`);
  }
});

test('an unknown option is one line, with the hint', () => {
  const r = run(['generate', '--max-tokn', '5']);
  assert.equal(r.status, 1);
  assert.equal(r.stdout, '');
  assert.equal(r.stderr, "thrifty: error: unknown option '--max-tokn' (did you mean --max-tokens?)\n");
});

test('an unknown command is one line, with the hint', () => {
  const r = run(['genrate']);
  assert.equal(r.status, 1);
  assert.equal(r.stderr, "thrifty: error: unknown command 'genrate' (did you mean generate?)\n");
});

test('an invalid value names the flag and the value once', () => {
  const r = run(['generate', '--max-tokens', 'abc']);
  assert.equal(r.status, 1);
  assert.equal(r.stderr, "thrifty: error: --max-tokens expects a positive integer, got 'abc'\n");
});

test('an error from a command is one line in the same form', () => {
  const r = run(['generate', '--stats', 'xml', '--max-tokens', '1']);
  assert.equal(r.status, 1);
  assert.equal(r.stderr, "thrifty: error: --stats expects text, json or none, got 'xml'\n");
});

test('generate stops quietly when stdout closes (| head -1)', async () => {
  const child = spawn(process.execPath, [cli, 'generate', '--prompt', 'ROMEO:', '--max-tokens', '480', '--seed', '1'], { stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
  // Like `head -c 1`: read the first chunk, then close the pipe.
  await new Promise<void>((resolve) => child.stdout.once('data', () => resolve()));
  child.stdout.destroy();
  const code = await new Promise<number | null>((resolve) => child.on('close', (c) => resolve(c)));
  assert.equal(code, 0, stderr);
  assert.doesNotMatch(stderr, /EPIPE|Error|at .*\.js/);
  // It stopped generating: the end-of-run statistics were never printed.
  assert.doesNotMatch(stderr, /^decode:/m);
});
