// `thrifty bench decode` at a tiny size: it writes its random-weight GGUF, loads it through the
// generate path, and reports dense and SparQ rows whose ratios follow from the same run.

import assert from 'node:assert/strict';
import { mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';

import { BENCH_MIN_VOCAB, benchDecode, writeBenchGguf, type LlamaCppModule } from '../../src/bench/decode.js';
import { llamaConfig } from '../../src/models/llm-config.js';
import { loadModelFiles } from '../../src/node/model-files.js';

test('bench decode: dense and SparQ rows with consistent ratios (tiny model, JSON lines)', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'thrifty-bench-decode-'));
  const lines: string[] = [];
  try {
    const rows = await benchDecode({
      seq: [300], batch: [1, 2], hiddenSize: 64, heads: 2, layers: 2, intermediateSize: 96, vocabSize: 300,
      steps: 2, rounds: 2, threads: 1, peer: false, json: true, ggufPath: join(dir, 'tiny.gguf'), log: (line) => lines.push(line),
    });
    assert.equal(rows.length, 4);
    for (const line of lines) JSON.parse(line); // every line is JSON
    for (const batch of [1, 2]) {
      const dense = rows.find((r) => r.engine === 'thrifty-dense' && r.batch === batch)!;
      const sparq = rows.find((r) => r.engine === 'thrifty-sparq' && r.batch === batch)!;
      assert.equal(dense.speedupVsDense, 1);
      assert.ok(Math.abs(sparq.speedupVsDense! - dense.msPerStep / sparq.msPerStep) < 1e-9);
      assert.ok(Math.abs(dense.tokensPerSecond - (batch * 1000) / dense.msPerStep) < 1e-6);
      // SparQ moves fewer cache elements, so in theory it is faster.
      assert.ok(sparq.attentionRatio! < 1 && sparq.theoreticalSpeedup! > 1, JSON.stringify(sparq));
      assert.ok(sparq.rank! > 0 && sparq.topK! > 0);
    }
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('bench decode: a vocabulary too small for the bench tokens is a one-line error before any file is written', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'thrifty-bench-decode-'));
  try {
    const path = join(dir, 'tiny.gguf');
    await assert.rejects(
      benchDecode({ seq: [300], hiddenSize: 64, heads: 2, layers: 1, intermediateSize: 96, vocabSize: 256, steps: 1, rounds: 1, threads: 1, peer: false, json: true, ggufPath: path, log: () => undefined }),
      (error: Error) => error.message.startsWith('--vocab-size 256: the bench vocabulary needs at least 260 tokens') && !error.message.includes('\n'),
    );
    assert.deepEqual(await readdir(dir), []);
    // The smallest allowed vocabulary works, and the write leaves only the finished file.
    await writeBenchGguf(path, llamaConfig({ vocabSize: BENCH_MIN_VOCAB, hiddenSize: 32, intermediateSize: 48, numLayers: 1, numHeads: 2, maxPositions: 64 }));
    assert.deepEqual(await readdir(dir), ['tiny.gguf']);
    const files = await loadModelFiles(path);
    assert.equal(files.config.vocabSize, BENCH_MIN_VOCAB);
    await files.close();
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

/** A stand-in for node-llama-cpp that keeps a sequence's tokens and counts the tokens it evaluates. */
function fakeLlamaCpp(evaluated: number[]): LlamaCppModule {
  return {
    getLlama: async () => ({
      loadModel: async () => ({
        createContext: async () => {
          let tokens: number[] = [];
          return {
            getSequence: () => ({
              get contextTokens() { return tokens; },
              evaluateWithoutGeneratingNewTokens: async (input: number[]) => { evaluated.push(input.length); tokens = [...tokens, ...input]; },
              async *evaluate(input: number[]) { evaluated.push(input.length); for (;;) yield 3; },
              saveStateToFile: async (file: string) => { await writeFile(file, JSON.stringify(tokens)); return { fileSize: 1 }; },
              loadStateFromFile: async (file: string) => { tokens = JSON.parse(await readFile(file, 'utf8')) as number[]; },
            }),
            dispose: async () => undefined,
          };
        },
        dispose: async () => undefined,
      }),
      dispose: async () => undefined,
    }),
  };
}

test('bench decode --llama-state: the first run prefills llama.cpp and saves its state, the next loads it; a state of another prompt is refused', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'thrifty-bench-decode-'));
  try {
    const evaluated: number[] = [];
    const stateDir = join(dir, 'state');
    const run = () => benchDecode({
      seq: [40], hiddenSize: 32, heads: 2, layers: 1, intermediateSize: 48, vocabSize: 300, steps: 1, rounds: 1, threads: 1,
      json: true, ggufPath: join(dir, 'tiny.gguf'), log: () => undefined, llamaCpp: fakeLlamaCpp(evaluated), llamaStateDir: stateDir,
    });
    const first = (await run()).find((r) => r.engine === 'llama.cpp')!;
    assert.equal(first.prefill, 'real');
    assert.deepEqual(evaluated, [39, 1]); // the prompt but its last token, then that token
    const [state] = await readdir(stateDir);
    assert.match(state!, /^llama-cache-32x1-2h-2kv-vocab300-ctx\d+-seq40-t1\.state$/);
    evaluated.length = 0;
    const second = (await run()).find((r) => r.engine === 'llama.cpp')!;
    assert.equal(second.prefill, 'saved');
    assert.deepEqual(evaluated, [1]); // no prefill
    assert.ok(first.ratioToLlamaCpp === 1 && second.speedupVsDense! > 0);
    await writeFile(join(stateDir, state!), JSON.stringify([5, 6, 7]));
    await assert.rejects(run(), (error: Error) => error.message.includes('holds 3 tokens that are not this run\'s prompt of 39; delete it'));
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
