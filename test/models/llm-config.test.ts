// Configs made here (train-lm, bench decode) and what is written back out: config.json and GGUF
// metadata read back to the same config; unsupported configs refused with the reason.

import assert from 'node:assert/strict';
import { test } from 'node:test';

import { parseGguf } from '../../src/io/gguf-read.js';
import { writeGguf } from '../../src/io/gguf-write.js';
import { llamaConfigFromGguf } from '../../src/models/llm-config-readers.js';
import { checkSupported, contextLength, llamaConfig, llmConfigToGgufMetadata, llmConfigToHf } from '../../src/models/llm-config.js';
import { llmConfigFromHf } from '../../src/models/registry.js';

const SHAPE = { vocabSize: 300, hiddenSize: 64, intermediateSize: 96, numLayers: 3, numHeads: 4, numKvHeads: 2, maxPositions: 128, bosTokenId: 0, eosTokenId: 0 };

test('llamaConfig: head dim from the hidden size, Hugging Face RoPE layout, tied output by default', () => {
  const c = llamaConfig(SHAPE);
  assert.equal(c.headDim, 16);
  assert.deepEqual(c.rope, { layout: 'half', rotaryDim: 16, theta: 10000 });
  assert.equal(c.tieWordEmbeddings, true);
  assert.ok(Object.isFrozen(c));
  assert.throws(() => llamaConfig({ ...SHAPE, numKvHeads: 3 }), /not a multiple of 3 key\/value heads/);
  assert.throws(() => llamaConfig({ ...SHAPE, hiddenSize: 66 }), /headDim must be a positive integer/);
});

test('config.json written by llmConfigToHf reads back to the same config', () => {
  const c = llamaConfig({ ...SHAPE, tieWordEmbeddings: false, ropeTheta: 500000, normEps: 1e-6 });
  const back = llmConfigFromHf(JSON.parse(JSON.stringify(llmConfigToHf(c))), 'config.json');
  assert.deepEqual({ ...back }, { ...c });
  assert.throws(() => llmConfigToHf(llamaConfig({ ...SHAPE, ropeLayout: 'interleaved' })), /Hugging Face RoPE layout/);
});

test('GGUF metadata written by llmConfigToGgufMetadata reads back (interleaved RoPE, untied output)', () => {
  const c = llamaConfig({ ...SHAPE, ropeLayout: 'interleaved', tieWordEmbeddings: false, bosTokenId: 1, eosTokenId: 2 });
  const bytes = writeGguf({
    metadata: llmConfigToGgufMetadata(c, 'test'),
    tensors: [
      { name: 'token_embd.weight', shape: [300, 64], type: 'F32', data: new Float32Array(300 * 64) },
      { name: 'output.weight', shape: [300, 64], type: 'F32', data: new Float32Array(300 * 64) },
    ],
  });
  const back = llamaConfigFromGguf(parseGguf(bytes, 'test.gguf'));
  for (const key of ['vocabSize', 'hiddenSize', 'intermediateSize', 'numLayers', 'numHeads', 'numKvHeads', 'headDim', 'maxPositions', 'tieWordEmbeddings', 'bosTokenId', 'eosTokenId'] as const) {
    assert.equal(back[key], c[key], key);
  }
  assert.deepEqual(back.rope, c.rope);
  assert.ok(Math.abs(back.normEps - c.normEps) < 1e-9);
});

test('unsupported configs are refused naming the source and the reason; sliding windows cap the context', () => {
  const base = llmConfigFromHf({ model_type: 'mistral', vocab_size: 10, hidden_size: 8, intermediate_size: 16, num_hidden_layers: 1, num_attention_heads: 2, max_position_embeddings: 4096, sliding_window: 1024 }, 'm/config.json');
  assert.equal(contextLength(base), 1024);
  assert.throws(() => checkSupported({ ...base, ropeScaling: { type: 'linear', factor: 2 } }, 'm/config.json'), /m\/config\.json: rope_scaling/);
  assert.throws(() => checkSupported({ ...base, gatedMlp: false }, 'x'), /without a gated MLP/);
  const neox = llmConfigFromHf({ model_type: 'gpt_neox', vocab_size: 10, hidden_size: 32, intermediate_size: 16, num_hidden_layers: 1, num_attention_heads: 2, max_position_embeddings: 64, attention_bias: false }, 'n/config.json');
  assert.throws(() => checkSupported(neox, 'n/config.json'), /gpt-neox without biases/);
});
