// `thrifty generate --model hf:ORG/NAME`: the model is fetched from a local server laid out as the
// Hugging Face hub (/{repo}/resolve/{revision}/{file}) into a cache folder, generates the same text
// as from the folder itself, and works again offline from the cache.

import assert from 'node:assert/strict';
import { createReadStream } from 'node:fs';
import { mkdtemp, rm, stat, writeFile } from 'node:fs/promises';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';

import { runGenerate, type GenerateCommandOptions } from '../../src/cli/commands/generate.js';
import { trainLanguageModel, TRAIN_LM_DEFAULTS } from '../../src/cli/commands/train-lm.js';

const TEXT = Array.from({ length: 200 }, (_, i) => `Row ${i % 5}: the quick brown fox jumps over the lazy dog.\n`).join('');

async function generateText(model: string): Promise<string> {
  let out = '';
  const options: GenerateCommandOptions = {
    model, prompt: 'the quick', maxTokens: 10, temperature: 0, topP: 1, sampleTopK: 0, seed: 0, attention: 'dense', batch: 1, stats: 'none', threads: 1,
  };
  await runGenerate(options, { write: (t: string) => (out += t) }, { write: () => true });
  return out;
}

test('generate --model hf:ORG/NAME fetches into the cache, then runs offline from it', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'thrifty-generate-hub-'));
  const modelDir = join(dir, 'model');
  const requests: string[] = [];
  const server = createServer((req, res) => {
    requests.push(req.url ?? '');
    const m = /^\/tiny\/story-model\/resolve\/main\/([\w.]+)$/.exec(req.url ?? '');
    const path = m ? join(modelDir, m[1]!) : null;
    stat(path ?? join(dir, 'none')).then(
      (info) => {
        res.writeHead(200, { 'content-length': String(info.size) });
        if (req.method === 'HEAD') res.end();
        else createReadStream(path!).pipe(res);
      },
      () => {
        res.writeHead(404);
        res.end('not found');
      },
    );
  });
  const saved = { endpoint: process.env['HF_ENDPOINT'], cache: process.env['THRIFTY_HUB_CACHE'], offline: process.env['HF_HUB_OFFLINE'] };
  try {
    await writeFile(join(dir, 'text.txt'), TEXT);
    await trainLanguageModel({
      ...TRAIN_LM_DEFAULTS, data: join(dir, 'text.txt'), out: modelDir, vocabSize: 280, hiddenSize: 16, layers: 1, heads: 2,
      intermediateSize: 16, context: 16, batch: 2, steps: 3, evalWindows: 1, checkpointEvery: 0,
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    process.env['HF_ENDPOINT'] = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    process.env['THRIFTY_HUB_CACHE'] = join(dir, 'cache');
    const local = await generateText(modelDir);
    const fetched = await generateText('hf:tiny/story-model');
    assert.equal(fetched, local);
    assert.ok(requests.some((r) => r.endsWith('/model.safetensors')), requests.join(' '));
    // Offline, with the server gone: the cache alone serves the model.
    await new Promise<void>((resolve) => server.close(() => resolve()));
    process.env['HF_HUB_OFFLINE'] = '1';
    assert.equal(await generateText('hf:tiny/story-model'), local);
    await assert.rejects(generateText('hf:tiny/other-model'), /offline/);
  } finally {
    for (const [key, value] of [['HF_ENDPOINT', saved.endpoint], ['THRIFTY_HUB_CACHE', saved.cache], ['HF_HUB_OFFLINE', saved.offline]] as const) {
      if (value === undefined) delete process.env[key];
      else process.env[key] = value;
    }
    if (server.listening) server.close();
    await rm(dir, { recursive: true, force: true });
  }
});
