// The one-call generation API (src/generate/language-model.ts, src/node/language-model.ts): the
// same text as `thrifty generate` for each policy, from a path and from bytes in memory (the
// browser's way in), the event loop served between tokens, stopping by AbortSignal or by breaking
// out of the loop, statistics, and clear errors.

import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, test } from 'node:test';

import { runGenerate, type GenerateCommandOptions } from '../../src/cli/commands/generate.js';
import { createLanguageModel, type LanguageModel } from '../../src/index.js';
import { bundledModelDir, loadLanguageModel } from '../../src/node.js';

let lm: LanguageModel;
before(async () => {
  lm = await loadLanguageModel();
});
after(() => lm.dispose());

async function cliText(options: Partial<GenerateCommandOptions>): Promise<string> {
  let out = '';
  await runGenerate(
    { prompt: 'ROMEO:', maxTokens: 30, temperature: 1, topP: 0.9, sampleTopK: 0, seed: 0, attention: 'dense', batch: 1, stats: 'none', ...options },
    { write: (text: string) => (out += text) },
    { write: () => true },
  );
  return out;
}

for (const [attention, extra] of [['dense', {}], ['sparq', { compression: 1 / 2, recipe: 'even' }], ['h2o', { compression: 1 / 4 }], ['lm-infinite', { compression: 1 / 4 }]] as const) {
  test(`stream with ${attention}: the CLI's text for the same seed and settings`, async () => {
    let streamed = '';
    const stream = lm.stream('ROMEO:', { attention, ...extra, maxTokens: 30, seed: 7 });
    for await (const piece of stream) streamed += piece;
    assert.equal(`ROMEO:${streamed}\n`, await cliText({ attention, ...extra, maxTokens: 30, seed: 7 }));
  });
}

test('generate: text, tokens, stop reason and statistics; greedy is the CLI\'s greedy', async () => {
  const out = await lm.generate('JULIET:', { temperature: 0, maxTokens: 25, attention: 'sparq', compression: 1 / 2, recipe: 'even' });
  assert.equal(`JULIET:${out.text}\n`, await cliText({ prompt: 'JULIET:', temperature: 0, maxTokens: 25, attention: 'sparq', compression: 1 / 2, recipe: 'even' }));
  assert.equal(out.tokens.length, 25);
  assert.equal(out.stopReason, 'length');
  assert.equal(out.attentionSpec.kind, 'sparq');
  assert.equal(out.stats.generatedTokens, 25);
  assert.equal(out.stats.decodeTokens, 24);
  assert.ok(out.stats.decodeTokensPerSecond > 0);
  assert.ok(out.stats.attention.ratio > 0 && out.stats.attention.ratio < 1, `ratio ${out.stats.attention.ratio}`);
  assert.match(lm.engine.description, /^wasm (relaxed-)?SIMD/);
});

test('kvDType: an f32 cache gives the CLI\'s --kv-dtype f32 text; the default (f16 on wasm) moves half the dense bytes', async () => {
  const f32 = await lm.generate('JULIET:', { temperature: 0, maxTokens: 20, kvDType: 'f32' });
  assert.equal(`JULIET:${f32.text}\n`, await cliText({ prompt: 'JULIET:', temperature: 0, maxTokens: 20, kvDType: 'f32' }));
  const f16 = await lm.generate('JULIET:', { temperature: 0, maxTokens: 20 });
  // Dense attention moves K and V only: 4 bytes per element in f32, 2 in f16.
  assert.equal(f32.stats.attention.denseBytesPerStep, 4 * f32.stats.attention.denseElementsPerStep);
  assert.equal(f16.stats.attention.denseBytesPerStep, 2 * f16.stats.attention.denseElementsPerStep);
  await assert.rejects(lm.generate('JULIET:', { kvDType: 'f8' as 'f16' }), /KvCache: dtype must be one of f32, f16, got 'f8'/);
});

test('the event loop gets a turn between tokens; onProgress reports running statistics', async () => {
  let ticks = 0;
  const timer = setInterval(() => ticks++, 0);
  const seen: number[] = [];
  let pieces = 0;
  try {
    for await (const _piece of lm.stream('ROMEO:', { maxTokens: 40, onProgress: (p) => seen.push(p.generatedTokens) })) {
      void _piece;
      pieces++;
    }
  } finally {
    clearInterval(timer);
  }
  assert.ok(ticks >= 5, `only ${ticks} timer callbacks ran during ${pieces} pieces`);
  assert.deepEqual(seen, Array.from({ length: 40 }, (_, i) => i + 1));
});

test('an AbortSignal stops the stream with its reason; breaking out frees the generation', async () => {
  const controller = new AbortController();
  let pieces = 0;
  await assert.rejects(async () => {
    for await (const _piece of lm.stream('ROMEO:', { maxTokens: 200, signal: controller.signal })) {
      void _piece;
      if (++pieces === 3) controller.abort();
    }
  }, { name: 'AbortError' });
  assert.equal(pieces, 3);
  for await (const _piece of lm.stream('ROMEO:', { maxTokens: 200 })) {
    void _piece;
    break;
  }
  // The model is free again after both.
  assert.equal((await lm.generate('ROMEO:', { maxTokens: 3 })).tokens.length, 3);
});

test('one generation at a time; bad options name themselves', async () => {
  const first = lm.stream('ROMEO:', { maxTokens: 5 });
  await first.next();
  await assert.rejects(lm.generate('ROMEO:'), /one generation at a time/);
  await first.return(undefined as never);
  await assert.rejects(lm.generate('ROMEO:', { maxTokens: 0 }), /maxTokens must be a positive integer, got 0/);
  await assert.rejects(lm.generate('ROMEO:', { attention: 'nope' as 'dense' }), /attention must be one of/);
  await assert.rejects(loadLanguageModel('/nonexistent/model.gguf'), /nonexistent\/model\.gguf/);
});

test('from bytes in memory (the browser\'s way): the same text as from the folder, on the default engine', async () => {
  const dir = await bundledModelDir();
  const files: Record<string, Uint8Array | string> = {};
  for (const name of ['config.json', 'tokenizer.json', 'model.safetensors']) files[name] = new Uint8Array(await readFile(join(dir, name)));
  const fromBytes = await createLanguageModel({ files, name: 'bundled' });
  try {
    assert.equal(fromBytes.source, 'bundled');
    const a = await fromBytes.generate('ROMEO:', { maxTokens: 20, seed: 3, attention: 'sparq', compression: 1 / 2, recipe: 'even' });
    const b = await lm.generate('ROMEO:', { maxTokens: 20, seed: 3, attention: 'sparq', compression: 1 / 2, recipe: 'even' });
    assert.equal(a.text, b.text);
  } finally {
    fromBytes.dispose();
  }
  await assert.rejects(createLanguageModel({ files: { 'config.json': '{}' } }), /model/);
});
