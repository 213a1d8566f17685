// The README's library snippet, run as written (through the package entry points).

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Rng, randn, matmul, gelu, sum, backward } from '../src/index.js';
import { initNodeBackend } from '../src/node.js';

test('the README engine snippet runs and yields a gradient of the weight shape', async () => {
  const engine = await initNodeBackend();
  try {
    const rng = new Rng(1);
    const w = randn([256, 128], rng, { requiresGrad: true });
    const x = randn([32, 256], rng);
    const loss = sum(gelu(matmul(x, w)));
    backward(loss);
    assert.deepEqual(w.grad?.shape, [256, 128]);
    assert.ok(Number.isFinite(loss.item()));
  } finally {
    engine.dispose();
  }
});

test("CI runs the README's two commands exactly", async () => {
  const { readFile } = await import('node:fs/promises');
  const { repoRoot } = await import('../src/node/data-dir.js');
  const root = repoRoot();
  const readme = await readFile(`${root}README.md`, 'utf8');
  const block = /```sh\n([\s\S]*?)```/.exec(readme);
  assert.ok(block?.[1], 'the README starts with a sh block');
  const commands = block[1].trim().split('\n').map((line) => line.replace(/\s+#.*$/, '').trim());
  assert.equal(commands.length, 2);
  assert.match(commands[0]!, /^npm ci && npm start -- /);
  assert.equal(commands[1], 'npm ci && npm test');
  const ci = (await readFile(`${root}.ci/run`, 'utf8')).split('\n').map((line) => line.trim());
  for (const command of commands) assert.ok(ci.includes(command), `.ci/run lacks the README line: ${command}`);
});
