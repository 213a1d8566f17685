import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';

import { memoryByteSource } from '../../src/io/byte-source.js';
import { LLAMA2C_MAGIC, parseLlama2cCheckpoint, parseLlama2cTokenizer } from '../../src/io/llama2c.js';
import { openGgufModel, openLlama2cModel } from '../../src/models/model-files.js';
import { dataFileOrSkip } from '../helpers/data.js';

// A tiny model: dim 4, hidden_dim 6, 2 layers, 2 heads of size 2, 1 KV head, vocab 5, seq_len 3.
const HEADER = [4, 6, 2, 2, 1, 5, 3];
const LEGACY_FLOATS = 286; // see the layout in legacyCheckpoint's comment

/** Legacy (run.c) layout, every weight = its index among the floats, so offsets can be read off the values. */
function legacyCheckpoint(options: { shared?: boolean; extraFloats?: number; header?: number[] } = {}): Uint8Array {
  // embed [5,4] 0..19 | rms_att [2,4] 20..27 | wq [2,4,4] 28..59 | wk [2,2,4] 60..75 | wv [2,2,4] 76..91
  // wo [2,4,4] 92..123 | rms_ffn [2,4] 124..131 | w1 [2,6,4] 132..179 | w2 [2,4,6] 180..227
  // w3 [2,6,4] 228..275 | rms_final [4] 276..279 | freq_cis real+imag [3,1] x2 280..285 | wcls [5,4] 286..305
  const header = [...(options.header ?? HEADER)];
  if (options.shared === false) header[5] = -header[5]!;
  const floats = LEGACY_FLOATS + (options.shared === false ? 20 : 0) + (options.extraFloats ?? 0);
  const out = new Uint8Array(28 + floats * 4);
  const view = new DataView(out.buffer);
  header.forEach((v, i) => view.setInt32(4 * i, v, true));
  for (let i = 0; i < floats; i++) view.setFloat32(28 + 4 * i, i, true);
  return out;
}

/** export.py version 1: 256-byte header, weights grouped by kind (norms first). */
function version1Checkpoint(shared: boolean): Uint8Array {
  const floats = 280 + (shared ? 0 : 20);
  const out = new Uint8Array(256 + floats * 4);
  const view = new DataView(out.buffer);
  view.setUint32(0, LLAMA2C_MAGIC, true);
  view.setInt32(4, 1, true);
  HEADER.forEach((v, i) => view.setInt32(8 + 4 * i, v, true));
  view.setUint8(36, shared ? 1 : 0);
  for (let i = 0; i < floats; i++) view.setFloat32(256 + 4 * i, i, true);
  return out;
}

function tokenizerBin(tokens: string[], scores: number[], maxTokenLength = 8): Uint8Array {
  const parts: number[] = [];
  const push32 = (v: number, float = false): void => {
    const b = new Uint8Array(4);
    if (float) new DataView(b.buffer).setFloat32(0, v, true);
    else new DataView(b.buffer).setInt32(0, v, true);
    parts.push(...b);
  };
  push32(maxTokenLength);
  tokens.forEach((t, i) => {
    const bytes = new TextEncoder().encode(t);
    push32(scores[i]!, true);
    push32(bytes.length);
    parts.push(...bytes);
  });
  return Uint8Array.from(parts);
}

const TINY_TOKENS = ['<unk>', '\n<s>\n', '\n</s>\n', ' ', 'a'];
const range = (start: number, count: number): number[] => Array.from({ length: count }, (_, i) => start + i);

describe('llama2.c checkpoints', () => {
  it('lays out the legacy format under Hugging Face names with [out, in] shapes', async () => {
    const bytes = legacyCheckpoint();
    const model = await openLlama2cModel(memoryByteSource(bytes, 'tiny.bin'), tokenizerBin(TINY_TOKENS, [0, 0, 0, -1, -2]), 'tok.bin');
    const w = model.weights;
    assert.deepEqual([...(await w.getF32('model.embed_tokens.weight', [5, 4]))], range(0, 20));
    assert.deepEqual([...(await w.getF32('model.layers.1.input_layernorm.weight', [4]))], range(24, 4));
    assert.deepEqual([...(await w.getF32('model.layers.1.self_attn.q_proj.weight', [4, 4]))], range(44, 16));
    assert.deepEqual([...(await w.getF32('model.layers.0.self_attn.k_proj.weight', [2, 4]))], range(60, 8));
    assert.deepEqual([...(await w.getF32('model.layers.1.self_attn.v_proj.weight', [2, 4]))], range(84, 8));
    assert.deepEqual([...(await w.getF32('model.layers.0.self_attn.o_proj.weight', [4, 4]))], range(92, 16));
    assert.deepEqual([...(await w.getF32('model.layers.1.post_attention_layernorm.weight', [4]))], range(128, 4));
    assert.deepEqual([...(await w.getF32('model.layers.1.mlp.gate_proj.weight', [6, 4]))], range(156, 24));
    assert.deepEqual([...(await w.getF32('model.layers.0.mlp.down_proj.weight', [4, 6]))], range(180, 24));
    assert.deepEqual([...(await w.getF32('model.layers.0.mlp.up_proj.weight', [6, 4]))], range(228, 24));
    assert.deepEqual([...(await w.getF32('model.norm.weight', [4]))], range(276, 4));
    assert.equal(w.has('lm_head.weight'), false, 'a shared classifier is the embedding');
    assert.equal(model.config.tieWordEmbeddings, true);
    assert.deepEqual(
      [model.config.hiddenSize, model.config.intermediateSize, model.config.numLayers, model.config.numHeads, model.config.numKvHeads, model.config.headDim, model.config.vocabSize, model.config.maxPositions],
      [4, 6, 2, 2, 1, 2, 5, 3],
    );
    assert.deepEqual(model.config.rope, { layout: 'interleaved', rotaryDim: 2, theta: 10000 });
    assert.equal(model.format, 'llama2c');
  });

  it('reads an unshared classifier after the RoPE tables (negative vocab_size)', async () => {
    const model = await openLlama2cModel(memoryByteSource(legacyCheckpoint({ shared: false }), 'tiny.bin'), tokenizerBin(TINY_TOKENS, [0, 0, 0, 0, 0]), 'tok.bin');
    assert.equal(model.config.tieWordEmbeddings, false);
    assert.equal(model.config.vocabSize, 5);
    assert.deepEqual([...(await model.weights.getF32('lm_head.weight', [5, 4]))], range(286, 20));
  });

  it('reads export.py version 1 (norms first, then the embedding, then the matrices)', () => {
    for (const shared of [true, false]) {
      const bytes = version1Checkpoint(shared);
      const parsed = parseLlama2cCheckpoint(bytes.subarray(0, 256), bytes.length, 'v1.bin');
      assert.equal(parsed.config.version, 1);
      assert.equal(parsed.config.sharedClassifier, shared);
      const at = (name: string): number => (parsed.tensors.get(name)!.byteOffset - 256) / 4;
      assert.equal(at('model.layers.1.input_layernorm.weight'), 4);
      assert.equal(at('model.layers.0.post_attention_layernorm.weight'), 8);
      assert.equal(at('model.norm.weight'), 16);
      assert.equal(at('model.embed_tokens.weight'), 20);
      assert.equal(at('model.layers.0.self_attn.q_proj.weight'), 40);
      assert.equal(at('model.layers.1.mlp.up_proj.weight'), 256);
      assert.equal(parsed.tensors.has('lm_head.weight'), !shared);
    }
  });

  it('rejects truncated, padded and inconsistent files, naming the file and field', () => {
    const good = legacyCheckpoint();
    const parse = (bytes: Uint8Array): unknown => parseLlama2cCheckpoint(bytes.subarray(0, 256), bytes.length, 'tiny.bin');
    assert.throws(() => parse(good.subarray(0, good.length - 4)), /tiny\.bin: .*needs 1172 bytes.*the file has 1168 \(truncated\?\)/);
    assert.throws(() => parse(legacyCheckpoint({ extraFloats: 1 })), /tiny\.bin: .*4 extra bytes/);
    assert.throws(() => parse(good.subarray(0, 20)), /tiny\.bin: file is 20 bytes, too short/);
    assert.throws(() => parse(legacyCheckpoint({ header: [4, 6, 2, 0, 1, 5, 3] })), /tiny\.bin: header field n_heads = 0 is invalid/);
    assert.throws(() => parse(legacyCheckpoint({ header: [4, 6, 2, 2, 3, 5, 3] })), /tiny\.bin: header field n_heads = 2 is not a multiple of n_kv_heads = 3/);
    const v2 = version1Checkpoint(true);
    new DataView(v2.buffer).setInt32(4, 2, true);
    assert.throws(() => parse(v2), /tiny\.bin: llama2\.c export version 2 is not supported/);
  });
});

describe('llama2.c tokenizer.bin', () => {
  it('reads scores and byte strings', () => {
    const file = parseLlama2cTokenizer(tokenizerBin(TINY_TOKENS, [0, 0, 0, -1.5, 2]), 5, 'tok.bin');
    assert.equal(file.maxTokenLength, 8);
    assert.deepEqual(file.tokens, TINY_TOKENS);
    assert.deepEqual([...file.scores], [0, 0, 0, -1.5, 2]);
  });

  it('rejects a file that does not match the vocab size or is cut short', () => {
    const bytes = tokenizerBin(TINY_TOKENS, [0, 0, 0, 0, 0]);
    assert.throws(() => parseLlama2cTokenizer(bytes, 4, 'tok.bin'), /tok\.bin: \d+ bytes after the last of 4 tokens/);
    assert.throws(() => parseLlama2cTokenizer(bytes, 6, 'tok.bin'), /tok\.bin: token 5 of 6: the file ends/);
    assert.throws(() => parseLlama2cTokenizer(bytes.subarray(0, bytes.length - 1), 5, 'tok.bin'), /tok\.bin: token 4: 1 bytes at offset \d+ run past the end/);
    assert.throws(() => parseLlama2cTokenizer(tokenizerBin(['toolong'], [0], 3), 1, 'tok.bin'), /tok\.bin: token 0: length 7 is outside 0\.\.max_token_length \(3\)/);
  });
});

describe('stories260K in both formats', () => {
  it('the .bin and the .gguf hold the same weights and vocabulary', async (t) => {
    const binPath = dataFileOrSkip(t, 'llm/stories260K/stories260K.bin');
    const tokPath = dataFileOrSkip(t, 'llm/stories260K/tok512.bin');
    const ggufPath = dataFileOrSkip(t, 'llm/stories260K/stories260K.gguf');
    if (!binPath || !tokPath || !ggufPath) return;
    const bin = await openLlama2cModel(memoryByteSource(new Uint8Array(readFileSync(binPath)), binPath), new Uint8Array(readFileSync(tokPath)), tokPath);
    const gguf = await openGgufModel(memoryByteSource(new Uint8Array(readFileSync(ggufPath)), ggufPath));
    assert.deepEqual(bin.rawConfig, { version: 0, dim: 64, hidden_dim: 172, n_layers: 5, n_heads: 8, n_kv_heads: 4, vocab_size: 512, seq_len: 512, shared_classifier: true });
    const c = gguf.config;
    assert.deepEqual([c.hiddenSize, c.intermediateSize, c.numLayers, c.numHeads, c.numKvHeads, c.headDim, c.vocabSize], [64, 172, 5, 8, 4, 8, 512]);
    assert.equal(bin.weights.tensorNames().length, 2 + 5 * 9);
    for (const name of bin.weights.tensorNames()) {
      const shape = bin.weights.info(name).shape;
      assert.deepEqual(await gguf.weights.getF32(name, shape), await bin.weights.getF32(name, shape), name);
    }
    // The converter wrote the shared classifier out as output.weight.
    assert.deepEqual(await gguf.weights.getF32('lm_head.weight'), await bin.weights.getF32('model.embed_tokens.weight'));
    assert.equal(gguf.weights.info('lm_head.weight').fileName, 'output.weight');
    // Ids 1 and 2 differ in spelling only: llama2.c writes BOS/EOS as '\n<s>\n' and '\n</s>\n'.
    for (let id = 3; id < 512; id++) {
      assert.deepEqual(gguf.tokenizer.tokenBytes(id, 5), bin.tokenizer.tokenBytes(id, 5), `token ${id}`);
    }
  });
});
