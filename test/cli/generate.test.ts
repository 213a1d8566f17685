// `thrifty generate` end to end: the golden 200-token greedy text of stories260K (llama2.c's
// reference output) from the GGUF and from the llama2.c checkpoint, statistics on stderr, and
// errors that name the flag.

import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { test, type TestContext } from 'node:test';

import { runGenerate, type GenerateCommandOptions } from '../../src/cli/commands/generate.js';
import { buildProgram } from '../../src/cli/main.js';
import { dataFileOrSkip, skipForMissingData } from '../helpers/data.js';

const BASE: GenerateCommandOptions = {
  prompt: '', maxTokens: 200, temperature: 0, topP: 0.9, sampleTopK: 0, seed: 0, attention: 'dense', batch: 1, stats: 'none', threads: 2,
};

async function generate(options: Partial<GenerateCommandOptions>): Promise<{ out: string; err: string }> {
  let out = '';
  let err = '';
  await runGenerate({ ...BASE, ...options }, { write: (t: string) => (out += t) }, { write: (t: string) => (err += t) });
  return { out, err };
}

async function golden(t: TestContext): Promise<{ dir: string; expected: string } | null> {
  const path = dataFileOrSkip(t, 'llm/stories260K/expected_greedy_t0_n200.txt');
  if (!path) return null;
  return { dir: join(path, '..'), expected: await readFile(path, 'utf8') };
}

test('stories260K.gguf, greedy, 200 tokens from BOS: exactly llama2.c\'s text, with an f32 and an f16 KV cache (the default)', async (t) => {
  const g = await golden(t);
  if (!g) return;
  for (const kvDType of [undefined, 'f32', 'f16'] as const) {
    const { out, err } = await generate({ model: join(g.dir, 'stories260K.gguf'), kvDType, stats: 'json' });
    assert.equal(out, g.expected, `--kv-dtype ${kvDType ?? '(default)'}`);
    const stats = JSON.parse(err) as { attention: { kvDType: string; bytesPerStep: number; elementsPerStep: number } };
    assert.equal(stats.attention.kvDType, kvDType ?? 'f16');
    // Dense: K and V only, at the cache's element size.
    assert.equal(stats.attention.bytesPerStep, stats.attention.elementsPerStep * (stats.attention.kvDType === 'f16' ? 2 : 4));
  }
});

test('stories260K.bin + tok512.bin (llama2.c format): the same text', async (t) => {
  const g = await golden(t);
  if (!g) return;
  const { out } = await generate({ model: join(g.dir, 'stories260K.bin'), tokenizer: join(g.dir, 'tok512.bin') });
  assert.equal(out, g.expected);
});

test('through the command line: thrifty generate --model ... --temperature 0 --max-tokens 200', async (t) => {
  const g = await golden(t);
  if (!g) return;
  let out = '';
  const write = process.stdout.write.bind(process.stdout);
  process.stdout.write = ((chunk: string | Uint8Array): boolean => {
    out += typeof chunk === 'string' ? chunk : Buffer.from(chunk).toString('utf8');
    return true;
  }) as typeof process.stdout.write;
  try {
    await buildProgram().parseAsync(['node', 'thrifty', 'generate', '--model', join(g.dir, 'stories260K.gguf'), '--temperature', '0', '--max-tokens', '200', '--stats', 'none', '--threads', '2']);
  } finally {
    process.stdout.write = write;
  }
  assert.equal(out, g.expected);
});

test('a prompt is echoed and continued; SparQ statistics on stderr as JSON', async (t) => {
  const g = await golden(t);
  if (!g) return;
  const model = join(g.dir, 'stories260K.gguf');
  const dense = await generate({ model, prompt: 'Once upon a time', maxTokens: 40 });
  assert.ok(dense.out.startsWith('Once upon a time'));
  // The golden text starts with the same words, so greedy from this prompt continues it.
  assert.ok(g.expected.startsWith(dense.out.trimEnd().slice(0, 60)), dense.out);
  const { err } = await generate({ model, prompt: 'Once upon a time', maxTokens: 40, attention: 'sparq', rank: 2, topK: 16, localWindow: 4, stats: 'json' });
  const stats = JSON.parse(err) as { attentionSpec: { kind: string; rank: number }; decodeTokensPerSecond: number; prefillTokensPerSecond: number; attention: { ratio: number; elementsPerStep: number; denseElementsPerStep: number } };
  assert.equal(stats.attentionSpec.kind, 'sparq');
  assert.equal(stats.attentionSpec.rank, 2);
  assert.ok(stats.decodeTokensPerSecond > 0 && stats.prefillTokensPerSecond > 0);
  assert.ok(stats.attention.ratio > 0 && stats.attention.ratio < 1, `ratio ${stats.attention.ratio}`);
  assert.equal(stats.attention.elementsPerStep, stats.attention.ratio * stats.attention.denseElementsPerStep);
});

test('bad flags are refused, naming the flag or the file', async (t) => {
  const g = await golden(t);
  if (!g) return;
  await assert.rejects(generate({ model: join(g.dir, 'stories260K.gguf'), attention: 'nope' }), /--attention/);
  await assert.rejects(generate({ model: join(g.dir, 'missing.gguf') }), /missing\.gguf/);
  const program = buildProgram().exitOverride();
  for (const c of program.commands) c.exitOverride().configureOutput({ writeErr: () => {} });
  await assert.rejects(program.parseAsync(['node', 'thrifty', 'generate', '--model', join(g.dir, 'stories260K.gguf'), '--kv-dtype', 'f8']),
    /--kv-dtype expects f32 or f16, got 'f8'/);
});

test('without --model: the bundled model continues a prompt; SparQ at r = d_h, k >= S gives the same text', async (t) => {
  const { bundledModelDir } = await import('../../src/cli/commands/generate.js');
  const { existsSync } = await import('node:fs');
  const dir = await bundledModelDir();
  if (!existsSync(join(dir, 'config.json'))) {
    skipForMissingData(t, `no bundled model at ${dir}`);
    return;
  }
  const dense = await generate({ prompt: 'ROMEO:', maxTokens: 48 });
  assert.ok(dense.out.startsWith('ROMEO:') && dense.out.length > 60, dense.out);
  const sparq = await generate({ prompt: 'ROMEO:', maxTokens: 48, attention: 'sparq', rank: 32, topK: 512, localWindow: 8 });
  assert.equal(sparq.out, dense.out);
});

test('--compression R is the measured fraction of dense transfers for every policy; out of reach is one line', async (t) => {
  const { bundledModelDir } = await import('../../src/cli/commands/generate.js');
  const { existsSync } = await import('node:fs');
  const dir = await bundledModelDir();
  if (!existsSync(join(dir, 'config.json'))) {
    t.skip(`no bundled model at ${dir}`);
    return;
  }
  const run = async (attention: string, extra: Partial<GenerateCommandOptions> = {}): Promise<{ ratio: number; notes: string[] }> => {
    const { err } = await generate({ prompt: 'ROMEO:', maxTokens: 120, attention, compression: 1 / 4, stats: 'json', ...extra });
    const stats = JSON.parse(err) as { attention: { ratio: number }; notes: string[] };
    return { ratio: stats.attention.ratio, notes: stats.notes };
  };
  for (const [attention, extra] of [['h2o', {}], ['lm-infinite', {}], ['oracle', {}], ['sparq', { recipe: 'even' }]] as const) {
    const { ratio } = await run(attention, extra);
    // Measured by the counters over the run's decode steps; the largest k within the target.
    assert.ok(ratio <= 0.25 && ratio > 0.2, `${attention}: measured ${ratio}`);
  }
  // FlexGen reads every key: a quarter is out of reach; so is the paper recipe's k = 128 on a short run.
  await assert.rejects(run('flexgen'), /^RangeError: --compression 1\/4 is out of reach for flexgen at \d+-\d+ cached positions with heads of 32: it moves at least [0-9.]+% of dense attention's transfers \(k = 1\)$/);
  await assert.rejects(run('sparq'), /out of reach for sparq \(paper recipe\).*--recipe even lowers k/);
  // Explicit settings that move more than dense at the start of the run: said on stderr.
  const { notes } = await run('sparq', { rank: 2, topK: 16, compression: undefined });
  assert.equal(notes.length, 1);
  assert.match(notes[0]!, /^sparq r=2 k=16 moves more KV-cache data than dense attention below \d+ cached positions; this run starts at \d+$/);
  const text = await generate({ prompt: 'ROMEO:', maxTokens: 30, attention: 'sparq', rank: 2, topK: 16, stats: 'text' });
  assert.match(text.err, /^note: sparq r=2 k=16 moves more/m);
});
