// Loading weights into a model: every name and shape is checked before anything is copied, the
// errors name the file and the tensor, GPT-2's two naming conventions both load.

import assert from 'node:assert/strict';
import { test } from 'node:test';

import { memoryByteSource } from '../../src/io/byte-source.js';
import { parseSafetensors, serializeSafetensors, type SafetensorsTensorInput } from '../../src/io/safetensors.js';
import { safetensorsEntries, type TableWeightSource } from '../../src/io/weights.js';
import { llamaConfig, type LlmConfig } from '../../src/models/llm-config.js';
import { checkpointWeights, GPT2, LLAMA, llmConfigFromHf, type ModelFamily } from '../../src/models/registry.js';
import { createCausalLM, loadWeights } from '../../src/models/load-llm.js';
import { Rng } from '../../src/tensor/rng.js';

/** The tensors as a checkpoint file of `family`, read under its parameter names. */
function sourceOf(tensors: SafetensorsTensorInput[], name: string, family: ModelFamily<LlmConfig> = LLAMA): TableWeightSource {
  const bytes = serializeSafetensors(tensors);
  const file = memoryByteSource(bytes, name);
  return checkpointWeights(family, name, safetensorsEntries(file, parseSafetensors(bytes, name)));
}

const CONFIG = llamaConfig({ vocabSize: 20, hiddenSize: 8, intermediateSize: 12, numLayers: 2, numHeads: 2, maxPositions: 16 });

function randomState(rng: Rng): SafetensorsTensorInput[] {
  const model = createCausalLM(CONFIG, { rng, std: 1 });
  return [...model.stateDict()].map(([name, t]) => ({ name, dtype: 'F32' as const, shape: t.shape, data: t.toArray() as Float32Array }));
}

test('a complete source loads every parameter exactly', async () => {
  const tensors = randomState(new Rng(1));
  const model = createCausalLM(CONFIG);
  await loadWeights(model, sourceOf(tensors, 'ok.safetensors'));
  const state = model.stateDict();
  for (const t of tensors) assert.deepEqual(state.get(t.name)!.toArray(), t.data, t.name);
});

test('missing and mis-shaped tensors are all reported, naming the file; nothing is copied', async () => {
  const tensors = randomState(new Rng(2)).filter((t) => t.name !== 'model.layers.1.mlp.up_proj.weight');
  const bad = tensors.map((t) => (t.name === 'model.layers.0.self_attn.k_proj.weight' ? { ...t, shape: [4, 16], data: t.data } : t));
  const model = createCausalLM(CONFIG);
  await assert.rejects(loadWeights(model, sourceOf(bad, 'broken.safetensors')), (error: Error) => {
    assert.match(error.message, /broken\.safetensors/);
    assert.match(error.message, /'model\.layers\.1\.mlp\.up_proj\.weight' is missing/);
    assert.match(error.message, /'model\.layers\.0\.self_attn\.k_proj\.weight' has shape \[4, 16\], the config needs \[8, 8\]/);
    return true;
  });
  // The first tensor in the file was fine, but checks come before copies.
  for (const [, t] of model.stateDict()) assert.ok(t.toArray().every((v) => v === 0 || v === 1), 'a parameter was written');
});

test('GPT-2 loads from GPT2LMHeadModel names (transformer.*) and from the hub\'s bare GPT2Model names', async () => {
  const config = llmConfigFromHf({ model_type: 'gpt2', vocab_size: 10, n_embd: 8, n_layer: 1, n_head: 2, n_positions: 8 }, 'gpt2/config.json');
  const reference = createCausalLM(config, { rng: new Rng(3), std: 1 });
  const prefixed = [...reference.stateDict()].map(([name, t]) => ({ name, dtype: 'F32' as const, shape: t.shape, data: t.toArray() as Float32Array }));
  const bare = prefixed.map((t) => ({ ...t, name: t.name.replace(/^transformer\./, '') }));
  for (const [label, tensors] of [['prefixed', prefixed], ['bare', bare]] as const) {
    const model = createCausalLM(config);
    await loadWeights(model, sourceOf([...tensors], `${label}.safetensors`, GPT2));
    assert.deepEqual(model.stateDict().get('transformer.h.0.attn.c_attn.weight')!.toArray(), prefixed.find((t) => t.name === 'transformer.h.0.attn.c_attn.weight')!.data);
  }
});
