// GGUF as a model file: config from llama.* metadata, tensors renamed to Hugging Face names and
// dequantised, the embedded tokenizer, and every mismatch with the config caught at open.

import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';

import { memoryByteSource } from '../../src/io/byte-source.js';
import { ggufValue, type GgmlType, type GgufValue } from '../../src/io/gguf-format.js';
import { dequantizeQ4_0, dequantizeQ8_0, quantizeQ4_0, quantizeQ8_0 } from '../../src/io/gguf-quant.js';
import { writeGguf, type GgufTensorInput } from '../../src/io/gguf-write.js';
import { tokenizerFromGguf } from '../../src/io/gguf-tokenizer.js';
import { openGgufModel, type ModelFiles } from '../../src/models/model-files.js';
import { ggufLlamaTensorName } from '../../src/models/registry.js';
import { parseGguf } from '../../src/io/gguf-read.js';
import { writeGgufFile } from '../../src/node/file-source.js';
import { loadModelFiles } from '../../src/node/model-files.js';
import { Rng } from '../../src/tensor/rng.js';

const HIDDEN = 32;
const FFN = 64;
const HEADS = 4;
const KV_HEADS = 2;
const HEAD_DIM = 8;
const BYTE_PIECES = Array.from({ length: 256 }, (_, b) => `<0x${b.toString(16).toUpperCase().padStart(2, '0')}>`);
const PIECES = ['<unk>', '<s>', '</s>', ...BYTE_PIECES, '\u2581', 'h', 'e', 'l', 'o', 'he', 'll', '\u2581he', '\u2581hell', 'hell', '\u2581hello', 'llo'];
const VOCAB = PIECES.length;

function metadata(overrides: Record<string, GgufValue | null> = {}): Array<[string, GgufValue]> {
  const base: Record<string, GgufValue> = {
    'general.architecture': ggufValue.string('llama'),
    'llama.context_length': ggufValue.u32(128),
    'llama.embedding_length': ggufValue.u32(HIDDEN),
    'llama.block_count': ggufValue.u32(1),
    'llama.feed_forward_length': ggufValue.u32(FFN),
    'llama.attention.head_count': ggufValue.u32(HEADS),
    'llama.attention.head_count_kv': ggufValue.u32(KV_HEADS),
    'llama.rope.dimension_count': ggufValue.u32(HEAD_DIM),
    'llama.rope.freq_base': ggufValue.f32(500000),
    'llama.attention.layer_norm_rms_epsilon': ggufValue.f32(1e-6),
    'tokenizer.ggml.model': ggufValue.string('llama'),
    'tokenizer.ggml.tokens': ggufValue.strings(PIECES),
    'tokenizer.ggml.scores': ggufValue.f32s(PIECES.map((_p, i) => (i < 259 ? 0 : -i))),
    'tokenizer.ggml.token_type': ggufValue.i32s(PIECES.map((_p, i) => (i === 0 ? 2 : i < 3 ? 3 : i < 259 ? 6 : 1))),
    'tokenizer.ggml.bos_token_id': ggufValue.u32(1),
    'tokenizer.ggml.eos_token_id': ggufValue.u32(2),
  };
  for (const [key, value] of Object.entries(overrides)) {
    if (value === null) delete base[key];
    else base[key] = value;
  }
  return Object.entries(base);
}

function random(rng: Rng, n: number): Float32Array {
  return Float32Array.from({ length: n }, () => rng.normal() * 0.1);
}

/** llama.cpp names and ne-order-reversed (row-major) shapes of a one-layer model. */
function tensors(type: GgmlType, options: { tied?: boolean; kShape?: number[] } = {}): GgufTensorInput[] {
  const rng = new Rng(3);
  const list: Array<[string, number[], GgmlType]> = [
    ['token_embd.weight', [VOCAB, HIDDEN], 'F16'],
    ['blk.0.attn_norm.weight', [HIDDEN], 'F32'],
    ['blk.0.attn_q.weight', [HEADS * HEAD_DIM, HIDDEN], type],
    ['blk.0.attn_k.weight', options.kShape ?? [KV_HEADS * HEAD_DIM, HIDDEN], type],
    ['blk.0.attn_v.weight', [KV_HEADS * HEAD_DIM, HIDDEN], type],
    ['blk.0.attn_output.weight', [HIDDEN, HEADS * HEAD_DIM], type],
    ['blk.0.ffn_norm.weight', [HIDDEN], 'F32'],
    ['blk.0.ffn_gate.weight', [FFN, HIDDEN], type],
    ['blk.0.ffn_up.weight', [FFN, HIDDEN], type],
    ['blk.0.ffn_down.weight', [HIDDEN, FFN], type],
    ['output_norm.weight', [HIDDEN], 'F32'],
  ];
  if (!options.tied) list.push(['output.weight', [VOCAB, HIDDEN], 'BF16']);
  return list.map(([name, shape, t]) => ({ name, shape, type: t, data: random(rng, shape.reduce((a, b) => a * b, 1)) }));
}

async function open(bytes: Uint8Array): Promise<ModelFiles> {
  return openGgufModel(memoryByteSource(bytes, 'tiny.gguf'));
}

describe('GGUF models', () => {
  it('maps llama.cpp tensor names to Hugging Face names', () => {
    assert.equal(ggufLlamaTensorName('token_embd.weight'), 'model.embed_tokens.weight');
    assert.equal(ggufLlamaTensorName('blk.12.attn_output.weight'), 'model.layers.12.self_attn.o_proj.weight');
    assert.equal(ggufLlamaTensorName('blk.3.ffn_gate.weight'), 'model.layers.3.mlp.gate_proj.weight');
    assert.equal(ggufLlamaTensorName('output.weight'), 'lm_head.weight');
    assert.equal(ggufLlamaTensorName('rope_freqs.weight'), 'rope_freqs.weight');
  });

  for (const type of ['Q8_0', 'Q4_0', 'F16'] as const) {
    it(`opens a ${type} model: config, dequantised weights, tokenizer`, async () => {
      const input = tensors(type);
      const model = await open(writeGguf({ metadata: metadata(), tensors: input }));
      const c = model.config;
      assert.deepEqual(
        [c.architecture, c.vocabSize, c.hiddenSize, c.intermediateSize, c.numLayers, c.numHeads, c.numKvHeads, c.headDim, c.maxPositions],
        ['llama', VOCAB, HIDDEN, FFN, 1, HEADS, KV_HEADS, HEAD_DIM, 128],
      );
      assert.deepEqual(c.rope, { layout: 'interleaved', rotaryDim: HEAD_DIM, theta: 500000 });
      assert.equal(c.normEps, Math.fround(1e-6));
      assert.equal(c.tieWordEmbeddings, false);
      assert.equal(c.bosTokenId, 1);
      const q = input.find((t) => t.name === 'blk.0.attn_q.weight')!.data as Float32Array;
      const expected = type === 'Q8_0' ? dequantizeQ8_0(quantizeQ8_0(q), q.length) : type === 'Q4_0' ? dequantizeQ4_0(quantizeQ4_0(q), q.length) : null;
      const got = await model.weights.getF32('model.layers.0.self_attn.q_proj.weight', [HEADS * HEAD_DIM, HIDDEN]);
      if (expected) assert.deepEqual(got, expected);
      else got.forEach((v, i) => assert.ok(Math.abs(v - q[i]!) <= Math.abs(q[i]!) / 1024 + 1e-7));
      assert.equal(model.weights.info('model.layers.0.self_attn.q_proj.weight').dtype, type);
      assert.equal(model.tokenizer.bosId, 1);
      const ids = model.tokenizer.encode('hello hello');
      assert.equal(ids[0], 1);
      assert.equal(model.tokenizer.decode(ids), 'hello hello');
      const all = await model.weights.loadAll([{ name: 'model.norm.weight', shape: [HIDDEN] }, { name: 'lm_head.weight', shape: [VOCAB, HIDDEN] }]);
      assert.equal(all.size, 2);
      await model.close();
    });
  }

  it('ties the output to the embedding when output.weight is absent', async () => {
    const model = await open(writeGguf({ metadata: metadata(), tensors: tensors('F32', { tied: true }) }));
    assert.equal(model.config.tieWordEmbeddings, true);
    assert.equal(model.weights.has('lm_head.weight'), false);
  });

  it('rejects a tensor whose shape contradicts the metadata, naming both', async () => {
    const bytes = writeGguf({ metadata: metadata(), tensors: tensors('F32', { kShape: [HEADS * HEAD_DIM, HIDDEN] }) });
    await assert.rejects(open(bytes), (error: Error) => {
      assert.match(error.message, /tiny\.gguf: tensor 'model\.layers\.0\.self_attn\.k_proj\.weight' \(stored as 'blk\.0\.attn_k\.weight'\) has shape \[32, 32\]/);
      assert.match(error.message, /but tiny\.gguf metadata implies \[16, 32\]/);
      return true;
    });
  });

  it('rejects missing tensors, missing metadata and other architectures', async () => {
    const noNorm = tensors('F32').filter((t) => t.name !== 'output_norm.weight');
    await assert.rejects(open(writeGguf({ metadata: metadata(), tensors: noNorm })), /tiny\.gguf: the model files do not match the config:\n  tensor 'model\.norm\.weight' is missing/);
    await assert.rejects(open(writeGguf({ metadata: metadata({ 'llama.block_count': null }), tensors: tensors('F32') })), /tiny\.gguf: metadata key 'llama\.block_count' is missing/);
    await assert.rejects(
      open(writeGguf({ metadata: metadata({ 'general.architecture': ggufValue.string('falcon') }), tensors: [] })),
      /tiny\.gguf: metadata 'general\.architecture' = 'falcon' is not supported/,
    );
    await assert.rejects(
      open(writeGguf({ metadata: metadata({ 'tokenizer.ggml.model': ggufValue.string('bert') }), tensors: tensors('F32') })),
      /tiny\.gguf: metadata 'tokenizer\.ggml\.model' = 'bert' is not supported/,
    );
  });

  it('reads a byte-level BPE vocabulary (tokenizer.ggml.model = gpt2)', () => {
    const bytes = writeGguf({
      metadata: [
        ['tokenizer.ggml.model', ggufValue.string('gpt2')],
        ['tokenizer.ggml.tokens', ggufValue.strings(['<|endoftext|>', 'h', 'i', '\u0120', 'hi', '\u0120hi'])],
        ['tokenizer.ggml.token_type', ggufValue.i32s([3, 1, 1, 1, 1, 1])],
        ['tokenizer.ggml.merges', ggufValue.strings(['h i', '\u0120 hi'])],
        ['tokenizer.ggml.eos_token_id', ggufValue.u32(0)],
      ],
      tensors: [],
    });
    const tok = tokenizerFromGguf(parseGguf(bytes, 'bpe.gguf'));
    assert.deepEqual(tok.encode('hi hi<|endoftext|>'), [4, 5, 0]);
    assert.equal(tok.decode([4, 5, 0]), 'hi hi');
    assert.equal(tok.eosId, 0);
    assert.equal(tok.addBosByDefault, false);
  });

  it('writes a GGUF file atomically and opens it from disk through loadModelFiles', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'thrifty-gguf-'));
    try {
      const path = join(dir, 'tiny.gguf');
      await writeGgufFile(path, { metadata: metadata(), tensors: tensors('Q8_0') });
      const model = await loadModelFiles(path);
      assert.equal(model.format, 'gguf');
      assert.equal((await model.weights.getF32('model.layers.0.mlp.down_proj.weight', [HIDDEN, FFN])).length, HIDDEN * FFN);
      await model.close();
      await assert.rejects(model.weights.getF32('model.norm.weight'), /closed/);
      // A truncated copy fails at open, naming the file.
      const bytes = writeGguf({ metadata: metadata(), tensors: tensors('Q8_0') });
      await writeFile(join(dir, 'cut.gguf'), bytes.subarray(0, bytes.length - 100));
      await assert.rejects(loadModelFiles(join(dir, 'cut.gguf')), /cut\.gguf: tensor 'output\.weight' data .* runs past the end .*truncated/);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
