// `thrifty bench sparse`: the table and --json rows on a tiny run (the numbers are timings; the
// test checks the rows' arithmetic and shape, not speed).

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Command } from 'commander';

import { registerBenchSparseCommand } from '../../src/cli/commands/bench-sparse.js';

async function runCommand(args: string[]): Promise<string> {
  const program = new Command().exitOverride();
  registerBenchSparseCommand(program);
  const chunks: string[] = [];
  const write = process.stdout.write.bind(process.stdout);
  // The command writes strings; the test runner's own reports (bytes) pass through.
  process.stdout.write = ((chunk: string | Uint8Array): boolean => {
    if (typeof chunk !== 'string') return write(chunk);
    chunks.push(chunk);
    return true;
  }) as typeof process.stdout.write;
  try {
    await program.parseAsync(['node', 'thrifty', ...args]);
  } finally {
    process.stdout.write = write;
  }
  return chunks.join('');
}

test('bench sparse --json: a rebuild row per block size, forward/gradInput/gradWeight/step per block size and density, eps consistent', async () => {
  const out = await runCommand(['bench', 'sparse', '--tokens', '16', '--repeats', '1', '--blocks', '4,16', '--densities', '0.5,0.1', '--json']);
  const rows = out.trimEnd().split('\n').map((line) => JSON.parse(line) as Record<string, number | string>);
  assert.deepEqual(rows.filter((r) => r['kind'] === 'rebuild').map((r) => r['block']), [4, 16]);
  const products = rows.filter((r) => r['kind'] === 'product');
  // Both activation placements (host arrays, wasm-resident) by default.
  assert.equal(products.length, 2 * 2 * 2 * 4);
  assert.deepEqual([...new Set(products.map((r) => r['placement']))], ['host', 'resident']);
  assert.deepEqual([...new Set(products.map((r) => r['pass']))], ['forward', 'gradInput', 'gradWeight', 'step']);
  for (const r of products) {
    const [ms, md] = [r['msSparse'] as number, r['msDense'] as number];
    assert.ok(ms > 0 && md > 0);
    // eps = (t_s / F_s) / (t_d / F_d) and GFLOP/s = F / t: eps = gflopsDense / gflopsSparse.
    assert.ok(Math.abs((r['eps'] as number) - (r['gflopsDense'] as number) / (r['gflopsSparse'] as number)) < 1e-9 * (r['eps'] as number));
    assert.ok(Math.abs((r['speedup'] as number) - md / ms) < 1e-12 * (r['speedup'] as number));
    assert.equal(r['tokens'], 16);
    const [cs, cd] = [r['msSparseCpu'] as number, r['msDenseCpu'] as number];
    assert.ok(cs >= 0 && cd >= 0);
    // CPU time may read 0 for a call this short where the clock is coarse; else eps_cpu scales eps by the two ratios.
    if (cs > 0 && cd > 0) assert.ok(Math.abs((r['epsCpu'] as number) - (cs / ms) * (md / cd) * (r['eps'] as number)) <= 1e-9 * (r['epsCpu'] as number));
  }
});

test('bench sparse prints a table; bad flags are one-line errors', async () => {
  const table = await runCommand(['bench', 'sparse', '--tokens', '8', '--repeats', '1', '--blocks', '8', '--densities', '0.25', '--placements', 'resident']);
  assert.match(table, /^pattern update of one weight W \[1024, 256\]/);
  assert.match(table, /resident\s+8x8\s+0\.250 step\s+\|/);
  assert.doesNotMatch(table, /host\s+8x8/);
  await assert.rejects(runCommand(['bench', 'sparse', '--placements', 'gpu']), /--placements expects host and\/or resident/);
  await assert.rejects(runCommand(['bench', 'sparse', '--densities', '0']), /--densities expects numbers in \(0, 1\]/);
  await assert.rejects(runCommand(['bench', 'sparse', '--blocks', '3']), /--blocks: 3 does not divide the layer's 256 input features/);
});
