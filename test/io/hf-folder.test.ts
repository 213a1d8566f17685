// Hugging Face model folders on disk: config.json, safetensors (single and sharded), tokenizer.json.

import assert from 'node:assert/strict';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';

import type { LlmConfig } from '../../src/models/llm-config.js';
import { loadCausalLM } from '../../src/models/load-llm.js';
import { openHfFolder } from '../../src/models/model-files.js';
import { expectedTensors, familyTensors, llmConfigFromHf } from '../../src/models/registry.js';
import { serializeSafetensors, type SafetensorsTensorInput } from '../../src/io/safetensors.js';
import { loadModelFiles, nodeFolderAccess } from '../../src/node/model-files.js';
import { trainByteLevelBpe } from '../../src/text/bpe-trainer.js';
import { f16BitsToF32, f32ToHalf } from '../../src/tensor/dtype.js';

const LLAMA_CONFIG = {
  architectures: ['LlamaForCausalLM'],
  model_type: 'llama',
  vocab_size: 300,
  hidden_size: 8,
  intermediate_size: 16,
  num_hidden_layers: 2,
  num_attention_heads: 2,
  num_key_value_heads: 1,
  max_position_embeddings: 64,
  rms_norm_eps: 1e-5,
  rope_theta: 10000,
  tie_word_embeddings: true,
  bos_token_id: 0,
  eos_token_id: [0, 1],
};

let root = '';
let tokenizerJson = '';

before(async () => {
  root = await mkdtemp(join(tmpdir(), 'thrifty-hf-'));
  tokenizerJson = trainByteLevelBpe('the cat sat on the mat; the cat ate the rat. '.repeat(20), {
    vocabSize: 300,
    specialTokens: ['<|endoftext|>'],
    minFrequency: 1,
  }).json;
});

after(async () => {
  await rm(root, { recursive: true, force: true });
});

/** Tensors for `config` (as its module tree names them) with values i * 0.001 + k (k = tensor index), some stored as F16 and BF16. */
function weightsFor(config: LlmConfig, rename: (name: string) => string = (n) => n): SafetensorsTensorInput[] {
  return expectedTensors(config)
    .map((t, k) => {
      const n = t.shape.reduce((a, b) => a * b, 1);
      const values = Float32Array.from({ length: n }, (_, i) => i * 0.001 + k);
      const name = rename(t.name);
      if (t.name.endsWith('q_proj.weight')) return { name, dtype: 'F16' as const, shape: t.shape, data: f32ToHalf(values, 'f16') };
      if (t.name.endsWith('down_proj.weight')) return { name, dtype: 'BF16' as const, shape: t.shape, data: f32ToHalf(values, 'bf16') };
      return { name, dtype: 'F32' as const, shape: t.shape, data: values };
    });
}

let folderCount = 0;

async function folder(files: Record<string, string | Uint8Array>): Promise<string> {
  const dir = join(root, `model${folderCount++}`);
  await mkdir(dir);
  for (const [name, contents] of Object.entries(files)) await writeFile(join(dir, name), contents);
  return dir;
}

const llama = (): LlmConfig => llmConfigFromHf(LLAMA_CONFIG, 'config.json');

describe('Hugging Face model folders', () => {
  it('opens config.json + model.safetensors + tokenizer.json', async () => {
    const tensors = weightsFor(llama());
    const dir = await folder({
      'config.json': JSON.stringify(LLAMA_CONFIG),
      'model.safetensors': serializeSafetensors(tensors),
      'tokenizer.json': tokenizerJson,
    });
    const model = await loadModelFiles(dir);
    assert.equal(model.format, 'hf');
    const c = model.config;
    assert.deepEqual([c.architecture, c.hiddenSize, c.numLayers, c.numHeads, c.numKvHeads, c.headDim, c.vocabSize], ['llama', 8, 2, 2, 1, 4, 300]);
    assert.deepEqual(c.rope, { layout: 'half', rotaryDim: 4, theta: 10000 });
    assert.equal(c.eosTokenId, 0, 'the first of a list of EOS ids');
    assert.equal(c.tieWordEmbeddings, true);
    assert.equal(model.tokenizer.bosId, 0, 'from config.json bos_token_id');
    const q = tensors.find((t) => t.name === 'model.layers.1.self_attn.q_proj.weight')!;
    const got = await model.weights.getF32(q.name, [8, 8]);
    assert.deepEqual([...got], Array.from(q.data as Uint16Array, (bits) => f16BitsToF32(bits)));
    assert.equal(model.weights.info(q.name).dtype, 'F16');
    assert.equal(model.weights.info('model.layers.0.mlp.down_proj.weight').dtype, 'BF16');
    assert.equal(model.tokenizer.decode(model.tokenizer.encode('the cat sat')), 'the cat sat');
    await model.close();
  });

  it('opens sharded weights through model.safetensors.index.json', async () => {
    const tensors = weightsFor(llama());
    const first = tensors.filter((t) => !t.name.includes('layers.1'));
    const second = tensors.filter((t) => t.name.includes('layers.1'));
    // A stray copy of a layer-1 tensor in the first shard: the index decides which is used.
    const stray = { ...second[0]!, data: new Float32Array(second[0]!.data.length).fill(-7), dtype: 'F32' as const };
    const weightMap: Record<string, string> = {};
    for (const t of first) weightMap[t.name] = 'model-00001-of-00002.safetensors';
    for (const t of second) weightMap[t.name] = 'model-00002-of-00002.safetensors';
    const dir = await folder({
      'config.json': JSON.stringify(LLAMA_CONFIG),
      'model.safetensors.index.json': JSON.stringify({ metadata: { total_size: 0 }, weight_map: weightMap }),
      'model-00001-of-00002.safetensors': serializeSafetensors([...first, stray]),
      'model-00002-of-00002.safetensors': serializeSafetensors(second),
      'tokenizer.json': tokenizerJson,
    });
    const model = await openHfFolder(nodeFolderAccess(dir));
    assert.equal(model.weights.tensorNames().length, tensors.length);
    const norm = second.find((t) => t.name === 'model.layers.1.input_layernorm.weight')!;
    assert.deepEqual(await model.weights.getF32(norm.name, [8]), norm.data);
    assert.match(model.weights.info(norm.name).file, /model-00002-of-00002\.safetensors$/);
    const loaded = await model.weights.loadAll(familyTensors(model.family, model.config));
    assert.equal(loaded.size, tensors.length);
    await model.close();
  });

  it('reports index and shard problems, naming the files', async () => {
    const tensors = weightsFor(llama());
    const weightMap: Record<string, string> = { 'model.norm.weight': 'a.safetensors', 'model.embed_tokens.weight': 'missing.safetensors' };
    const base = { 'config.json': JSON.stringify(LLAMA_CONFIG), 'tokenizer.json': tokenizerJson, 'a.safetensors': serializeSafetensors(tensors) };
    let dir = await folder({ ...base, 'model.safetensors.index.json': JSON.stringify({ weight_map: weightMap }) });
    await assert.rejects(openHfFolder(nodeFolderAccess(dir)), /model\.safetensors\.index\.json: shard 'missing\.safetensors' named in weight_map is not in the folder/);
    dir = await folder({ ...base, 'model.safetensors.index.json': JSON.stringify({ weight_map: { 'model.nope.weight': 'a.safetensors' } }) });
    await assert.rejects(openHfFolder(nodeFolderAccess(dir)), /index\.json: weight_map puts 'model\.nope\.weight' in 'a\.safetensors', which has no such tensor/);
    dir = await folder({ ...base, 'model.safetensors.index.json': JSON.stringify({ weight_map: { x: '../escape.safetensors' } }) });
    await assert.rejects(openHfFolder(nodeFolderAccess(dir)), /weight_map\['x'\] = '\.\.\/escape\.safetensors' must name a file inside the folder/);
  });

  it('rejects weights that contradict config.json at open, naming the tensor and the shapes', async () => {
    const wrongKv = llmConfigFromHf({ ...LLAMA_CONFIG, num_key_value_heads: 2 }, 'x');
    const dir = await folder({
      'config.json': JSON.stringify(LLAMA_CONFIG),
      'model.safetensors': serializeSafetensors(weightsFor(wrongKv)),
      'tokenizer.json': tokenizerJson,
    });
    await assert.rejects(loadModelFiles(dir), (error: Error) => {
      assert.match(error.message, /model\.safetensors: tensor 'model\.layers\.0\.self_attn\.k_proj\.weight' has shape \[8, 8\], but .*config\.json implies \[4, 8\]/);
      assert.match(error.message, /model\.layers\.1\.self_attn\.v_proj\.weight/, 'every mismatch is listed');
      return true;
    });
  });

  it('rejects truncated shards, bad configs, integer weights and missing files', async () => {
    const good = serializeSafetensors(weightsFor(llama()));
    let dir = await folder({ 'config.json': JSON.stringify(LLAMA_CONFIG), 'model.safetensors': good.subarray(0, good.length - 10), 'tokenizer.json': tokenizerJson });
    await assert.rejects(loadModelFiles(dir), /model\.safetensors: .*past the end .*\(truncated\?\)|model\.safetensors: .*belong to no tensor/);
    dir = await folder({ 'config.json': JSON.stringify({ ...LLAMA_CONFIG, hidden_size: -8 }), 'model.safetensors': good, 'tokenizer.json': tokenizerJson });
    await assert.rejects(loadModelFiles(dir), /config\.json: field 'hidden_size' must be a positive integer, got -8/);
    dir = await folder({ 'config.json': JSON.stringify({ ...LLAMA_CONFIG, model_type: 'bert' }), 'model.safetensors': good, 'tokenizer.json': tokenizerJson });
    // A BERT folder is not a decoder's: loadModelFiles names the loader that opens it (loadModel).
    await assert.rejects(loadModelFiles(dir), /a BERT encoder \(config\.json model_type 'bert'\), not a decoder LLM: open it with loadModel\(\)/);
    dir = await folder({ 'config.json': '{"model_type": "llama",', 'model.safetensors': good, 'tokenizer.json': tokenizerJson });
    await assert.rejects(loadModelFiles(dir), /config\.json: not valid JSON/);
    const ints = serializeSafetensors([{ name: 'model.norm.weight', dtype: 'I32', shape: [8], data: new Int32Array(8) }]);
    dir = await folder({ 'config.json': JSON.stringify(LLAMA_CONFIG), 'model.safetensors': ints, 'tokenizer.json': tokenizerJson });
    await assert.rejects(loadModelFiles(dir), /model\.safetensors: tensor 'model\.norm\.weight' has dtype I32; model weights must be F32, F16, BF16 or F64/);
    dir = await folder({ 'config.json': JSON.stringify(LLAMA_CONFIG), 'tokenizer.json': tokenizerJson });
    await assert.rejects(loadModelFiles(dir), /no model\.safetensors or model\.safetensors\.index\.json in the model folder/);
    dir = await folder({ 'config.json': JSON.stringify(LLAMA_CONFIG), 'model.safetensors': good });
    await assert.rejects(loadModelFiles(dir), /no tokenizer\.json \(nor vocab\.json \+ merges\.txt\)/);
    dir = await folder({ 'model.safetensors': good });
    await assert.rejects(loadModelFiles(dir), /no config\.json in the model folder/);
  });

  it('opens a GPT-2 folder: GPT2LMHeadModel names, mask buffers dropped, vocab.json + merges.txt', async () => {
    const hf = { model_type: 'gpt2', vocab_size: 300, n_embd: 8, n_layer: 1, n_head: 2, n_positions: 16, n_inner: null, activation_function: 'gelu_new', bos_token_id: 0, eos_token_id: 0 };
    const config = llmConfigFromHf(hf, 'config.json');
    assert.equal(config.intermediateSize, 32);
    assert.equal(config.rope, null);
    assert.equal(config.activation, 'gelu-tanh');
    const tensors = weightsFor(config);
    tensors.push({ name: 'transformer.h.0.attn.bias', dtype: 'F32', shape: [1, 1, 16, 16], data: new Float32Array(256) });
    const trained = JSON.parse(tokenizerJson) as { model: { vocab: Record<string, number>; merges: string[] } };
    const dir = await folder({
      'config.json': JSON.stringify(hf),
      'model.safetensors': serializeSafetensors(tensors),
      'vocab.json': JSON.stringify(trained.model.vocab),
      'merges.txt': `#version: 0.2\n${trained.model.merges.join('\n')}\n`,
    });
    const model = await loadModelFiles(join(dir, 'config.json'));
    assert.ok(model.weights.has('transformer.h.0.attn.c_attn.weight'));
    assert.deepEqual(model.weights.info('transformer.h.0.attn.c_attn.weight').shape, [8, 24], 'Conv1D layout [in, out]');
    assert.equal(model.weights.has('transformer.h.0.attn.bias'), false);
    assert.equal((await loadCausalLM(model.config, model.weights)).numParameters(), tensors.slice(0, -1).reduce((n, t) => n + t.data.length, 0));
    assert.equal(model.tokenizer.decode(model.tokenizer.encode('the rat')), 'the rat');
    await model.close();
  });

  it('reads GPT-NeoX configs: partial rotary, parallel residual', () => {
    const c = llmConfigFromHf(
      { model_type: 'gpt_neox', vocab_size: 50304, hidden_size: 512, intermediate_size: 2048, num_hidden_layers: 6, num_attention_heads: 8, rotary_pct: 0.25, rotary_emb_base: 10000, max_position_embeddings: 2048, layer_norm_eps: 1e-5, hidden_act: 'gelu', tie_word_embeddings: false },
      'pythia/config.json',
    );
    assert.deepEqual(c.rope, { layout: 'half', rotaryDim: 16, theta: 10000 });
    assert.equal(c.parallelResidual, true);
    assert.equal(c.norm, 'layer');
    assert.equal(c.activation, 'gelu-erf');
    assert.throws(() => llmConfigFromHf({ model_type: 'gpt_neox', vocab_size: 10, hidden_size: 10, intermediate_size: 4, num_hidden_layers: 1, num_attention_heads: 3 }, 'neox.json'), /neox\.json: field 'hidden_size' = 10 is not a multiple of 'num_attention_heads' = 3/);
  });
});
