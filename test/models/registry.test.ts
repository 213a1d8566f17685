// The model registry: what a checkpoint must hold is derived from each family's module tree, and
// it is exactly what the committed reference checkpoints (written by PyTorch / transformers, see
// tools/) hold under the family's name map; configs dispatch to the family their file names.

import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { test } from 'node:test';

import { memoryByteSource } from '../../src/io/byte-source.js';
import { readSafetensorsHeader, safetensorsEntries } from '../../src/io/weights.js';
import { llamaConfig } from '../../src/models/llm-config.js';
import {
  BERT,
  checkpointWeights,
  DECODER_FAMILIES,
  familyTensors,
  GPT2,
  GPT_NEOX,
  GROUPBERT,
  LLAMA,
  llmConfigFromHf,
  MODEL_FAMILIES,
  type ModelFamily,
} from '../../src/models/registry.js';
import { formatShape } from '../../src/tensor/shape.js';
import { fixtureDir } from './fixtures.js';


/** Checks one family against one checkpoint; returns the family's name. */
async function checkFixture<C>(family: ModelFamily<C>, fixture: string): Promise<string> {
  const dir = fixtureDir(fixture);
  const config = family.configFromJson(JSON.parse(await readFile(join(dir, 'config.json'), 'utf8')), `${fixture}/config.json`);
  const path = join(dir, 'model.safetensors');
  const file = memoryByteSource(new Uint8Array(await readFile(path)), path);
  const weights = checkpointWeights(family, path, safetensorsEntries(file, await readSafetensorsHeader(file)));
  const expected = familyTensors(family, config);
  assert.ok(expected.length > 0);
  for (const t of expected) {
    // A tied tensor is stored once, under any of its names.
    const stored = [t.name, ...t.aliases].find((n) => weights.has(n));
    assert.ok(stored, `${fixture}: the module tree's '${t.name}' is not in the checkpoint`);
    assert.equal(formatShape(weights.info(stored).shape), formatShape(t.shape), `${fixture}: '${stored}'`);
  }
  const names = new Set(expected.flatMap((t) => [t.name, ...t.aliases]));
  const extra = weights.tensorNames().filter((n) => !names.has(n));
  assert.deepEqual(extra, [], `${fixture}: checkpoint tensors the module tree does not have`);
  return family.name;
}

test('every family has a reference checkpoint, and the module tree names exactly its tensors and shapes', async () => {
  const checked = [
    await checkFixture(LLAMA, 'llama-tiny'),
    await checkFixture(GPT_NEOX, 'gpt-neox-tiny'),
    await checkFixture(GPT_NEOX, 'gpt-neox-sequential-tiny'),
    await checkFixture(GPT2, 'gpt2-tiny'),
    await checkFixture(BERT, 'bert-tiny'),
    await checkFixture(GROUPBERT, 'groupbert-tiny'),
  ];
  assert.deepEqual(new Set(checked), new Set(MODEL_FAMILIES.map((f) => f.name)));
});

test("GPT-2's name map reads both the hub's bare GPT2Model names and GPT2LMHeadModel's, and drops mask buffers", () => {
  assert.equal(GPT2.checkpointName('wte.weight'), 'transformer.wte.weight');
  assert.equal(GPT2.checkpointName('transformer.h.0.mlp.c_fc.weight'), 'transformer.h.0.mlp.c_fc.weight');
  assert.equal(GPT2.checkpointName('h.3.attn.bias'), null);
  assert.equal(GPT2.checkpointName('transformer.h.0.attn.masked_bias'), null);
  assert.equal(GPT_NEOX.checkpointName('gpt_neox.layers.0.attention.rotary_emb.inv_freq'), null);
  assert.equal(GPT_NEOX.checkpointName('gpt_neox.layers.0.attention.dense.bias'), 'gpt_neox.layers.0.attention.dense.bias');
  assert.equal(BERT.checkpointName('bert.embeddings.LayerNorm.gamma'), 'bert.embeddings.LayerNorm.weight');
  assert.equal(LLAMA.gguf!.tensorName('blk.0.ffn_down.weight'), 'model.layers.0.mlp.down_proj.weight');
});

test('a tied output projection is no tensor of its own; an untied one is expected', () => {
  const shape = { vocabSize: 10, hiddenSize: 8, intermediateSize: 12, numLayers: 1, numHeads: 2, maxPositions: 8 };
  const names = (tie: boolean): string[] => familyTensors(LLAMA, llamaConfig({ ...shape, tieWordEmbeddings: tie })).map((t) => t.name);
  assert.equal(names(true).includes('lm_head.weight'), false);
  assert.deepEqual(familyTensors(LLAMA, llamaConfig({ ...shape, tieWordEmbeddings: false })).find((t) => t.name === 'lm_head.weight')?.shape, [10, 8]);
  assert.equal(names(false).length, names(true).length + 1);
});

test('config.json dispatches on model_type to the family that reads it', () => {
  const llama = { vocab_size: 10, hidden_size: 8, intermediate_size: 16, num_hidden_layers: 1, num_attention_heads: 2 };
  assert.equal(llmConfigFromHf({ ...llama, model_type: 'mistral' }, 'm.json').architecture, 'llama');
  for (const [architecture, family] of Object.entries(DECODER_FAMILIES)) assert.equal(family.name, architecture);
  assert.throws(() => llmConfigFromHf({ ...llama, model_type: 'bert' }, 'b.json'), /b\.json: field 'model_type' = 'bert' is not supported \(supported: llama, mistral, gpt_neox, gpt2\)/);
  assert.throws(() => llmConfigFromHf({ ...llama }, 'x.json'), /x\.json: field 'model_type' must be a string, got nothing \(missing\)/);
});
