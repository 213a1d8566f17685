// `npm run bench:record -- NAME... [--list]`: runs the named benchmarks with `--json` and writes each
// one's output, with the machine and its load, to docs/records/bench/NAME.json. README's benchmark
// tables are drawn from those records (`npm run docs:tables`), so every published speed can be
// measured again by one command. Build first (`npm run build`); peers: `npm run bench:peers`.

import { spawnSync } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';

import { repoRoot } from '../src/node/data-dir.js';
import { writeFileAtomic } from '../src/node/files.js';
import type { BenchRecord } from '../src/report/bench-doc-tables.js';

/** A recorded benchmark: the script (relative to the root) and its arguments, `--json` appended. */
interface BenchRecipe {
  readonly script: string;
  readonly args: readonly string[];
}

const CLI = 'bin/thrifty.js';
/** Where the long-cache records keep llama.cpp's prefilled state between runs. */
const LLAMA_STATE = join(tmpdir(), 'thrifty-bench-llama-state');

/** Every recorded benchmark, by record name. */
const RECIPES: Readonly<Record<string, BenchRecipe>> = {
  memory: { script: CLI, args: ['bench', 'memory'] },
  matmul: { script: CLI, args: ['bench', 'matmul'] },
  attention: { script: CLI, args: ['bench', 'attention'] },
  'attention-threads': { script: CLI, args: ['bench', 'attention', '--threads', '1,2', '--compression', '1/8'] },
  'decode-f32': { script: CLI, args: ['bench', 'decode', '--format', 'F32'] },
  'decode-f16': { script: CLI, args: ['bench', 'decode', '--format', 'F16'] },
  'decode-q8_0': { script: CLI, args: ['bench', 'decode', '--format', 'Q8_0'] },
  'decode-q4_0': { script: CLI, args: ['bench', 'decode', '--format', 'Q4_0'] },
  // llama.cpp prefills 65,536 positions once (~10 minutes here), saved in the temp folder; the
  // other formats load that cache (src/bench/decode.ts).
  'decode-64k-f32': { script: CLI, args: ['bench', 'decode', '--format', 'F32', '--seq', '65536', '--llama-state', LLAMA_STATE] },
  'decode-64k-q8_0': { script: CLI, args: ['bench', 'decode', '--format', 'Q8_0', '--seq', '65536', '--llama-state', LLAMA_STATE] },
  'decode-64k-q4_0': { script: CLI, args: ['bench', 'decode', '--format', 'Q4_0', '--seq', '65536', '--llama-state', LLAMA_STATE] },
  'decode-64k-f16': { script: CLI, args: ['bench', 'decode', '--format', 'F16', '--seq', '65536', '--llama-state', LLAMA_STATE] },
  'decode-batch': { script: CLI, args: ['bench', 'decode', '--format', 'Q8_0', '--seq', '4096', '--batch', '1,4,16', '--no-peer'] },
  'train-bert': { script: CLI, args: ['bench', 'train', '--arch', 'bert'] },
  'train-groupbert': { script: CLI, args: ['bench', 'train', '--arch', 'groupbert'] },
  infoplane: { script: CLI, args: ['bench', 'infoplane'] },
  'infoplane-known-answers': { script: CLI, args: ['bench', 'infoplane-known-answers'] },
  mnist: { script: 'dist/examples/mnist-mlp.js', args: [] },
  browser: { script: 'dist/tools/web-bench.js', args: [] },
};

function usage(): string {
  return `usage: npm run bench:record -- NAME... (names: ${Object.keys(RECIPES).join(', ')}, or all)`;
}

function record(root: string, name: string, recipe: BenchRecipe): BenchRecord {
  const args = [recipe.script, ...recipe.args, '--json'];
  const before = loadavg()[0]!;
  const started = performance.now();
  process.stderr.write(`bench:record: ${name}: node ${args.join(' ')}\n`);
  const run = spawnSync(process.execPath, args, { cwd: root, encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'], maxBuffer: 64 << 20 });
  if (run.status !== 0) throw new Error(`${name}: node ${args.join(' ')} exited with ${run.status ?? run.signal}`);
  const lines = run.stdout.split('\n').filter((l) => l.trim() !== '').map((l, i) => {
    try {
      return JSON.parse(l) as unknown;
    } catch {
      throw new Error(`${name}: output line ${i + 1} is not JSON: ${l.slice(0, 80)}`);
    }
  });
  const cpu = cpus()[0]?.model ?? 'unknown';
  return {
    name,
    command: `npm run bench:record -- ${name}`,
    benchCommand: `node ${args.join(' ')}`,
    date: new Date().toISOString(),
    machine: { cpu, cores: cpus().length, node: process.version },
    load: { before: Math.round(before * 100) / 100, after: Math.round(loadavg()[0]! * 100) / 100 },
    seconds: Math.round((performance.now() - started) / 100) / 10,
    lines,
  };
}

const names = process.argv.slice(2);
if (names.length === 0 || names.includes('--help') || names.includes('-h')) {
  process.stdout.write(`${usage()}\n`);
} else {
  const chosen = names.includes('all') ? Object.keys(RECIPES) : names;
  const unknown = chosen.filter((n) => !(n in RECIPES));
  if (unknown.length) {
    process.stderr.write(`bench:record: unknown benchmark '${unknown.join("', '")}'; ${usage()}\n`);
    process.exitCode = 2;
  } else {
    const root = repoRoot();
    const folder = join(root, 'docs', 'records', 'bench');
    mkdirSync(folder, { recursive: true });
    for (const name of chosen) {
      const result = record(root, name, RECIPES[name]!);
      await writeFileAtomic(join(folder, `${name}.json`), `${JSON.stringify(result, null, 1)}\n`);
      process.stderr.write(`bench:record: wrote docs/records/bench/${name}.json (${result.seconds} s, load ${result.load.before} -> ${result.load.after})\n`);
    }
  }
}
