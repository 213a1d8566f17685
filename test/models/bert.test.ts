import { test } from 'node:test';
import assert from 'node:assert/strict';
import { copyFile, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { readSafetensorsTensorF32, readSafetensorsTensorI32 } from '../../src/io/safetensors.js';
import { BertForPreTraining } from '../../src/models/bert.js';
import { bertConfigFromHf, hfConfigFromBert, normalizeHfBertKey } from '../../src/models/hf-bert.js';
import { readSafetensorsFile } from '../../src/node/files.js';
import { loadHfBert } from '../../src/node/hf-bert.js';
import { Rng } from '../../src/tensor/rng.js';
import { fromArray, type Tensor } from '../../src/tensor/tensor.js';
import { noGrad } from '../../src/autograd/engine.js';
import { bertConfig, sizePreset } from '../../src/models/bert-presets.js';
import { fixtureDir } from './fixtures.js';

const fixturePath = (name: string): string => join(fixtureDir('bert-tiny'), name);

interface Expected {
  inputIds: Tensor;
  tokenTypeIds: Tensor;
  attentionMask: Tensor;
  predictionLogits: Float32Array;
  seqRelationshipLogits: Float32Array;
  lastHiddenState: Float32Array;
}

async function readExpected(): Promise<Expected> {
  const file = await readSafetensorsFile(fixturePath('expected.safetensors'));
  const ints = (name: string): Tensor => {
    const entry = file.tensors.get(name)!;
    return fromArray(readSafetensorsTensorI32(file.bytes, entry), entry.shape, { dtype: 'i32' });
  };
  const floats = (name: string): Float32Array => readSafetensorsTensorF32(file.bytes, file.tensors.get(name)!);
  return {
    inputIds: ints('input_ids'),
    tokenTypeIds: ints('token_type_ids'),
    attentionMask: ints('attention_mask'),
    predictionLogits: floats('prediction_logits'),
    seqRelationshipLogits: floats('seq_relationship_logits'),
    lastHiddenState: floats('last_hidden_state'),
  };
}

function maxAbsDiff(actual: ArrayLike<number>, expected: ArrayLike<number>): number {
  assert.equal(actual.length, expected.length);
  let worst = 0;
  for (let i = 0; i < expected.length; i++) worst = Math.max(worst, Math.abs(actual[i]! - expected[i]!));
  return worst;
}

test('BERT reproduces PyTorch BertForPreTraining logits on the tiny random checkpoint (padding included)', async () => {
  const model = (await loadHfBert(fixturePath(''))).eval();
  const expected = await readExpected();
  const inputs = { inputIds: expected.inputIds, tokenTypeIds: expected.tokenTypeIds, attentionMask: expected.attentionMask };
  const { hidden, mlm, nsp } = noGrad(() => {
    const out = model.forward(inputs);
    return { hidden: model.encode(inputs), mlm: out.mlmLogits, nsp: out.nspLogits! };
  });
  assert.deepEqual(mlm.shape, [2, 10, 64]);
  assert.deepEqual(nsp.shape, [2, 2]);
  // f32 against a float64 reference: logits are O(10), so 2e-4 is a few ulps of accumulated rounding.
  assert.ok(maxAbsDiff(hidden.toArray(), expected.lastHiddenState) < 1e-4, 'last hidden state');
  assert.ok(maxAbsDiff(mlm.toArray(), expected.predictionLogits) < 2e-4, `prediction logits differ by ${maxAbsDiff(mlm.toArray(), expected.predictionLogits)}`);
  assert.ok(maxAbsDiff(nsp.toArray(), expected.seqRelationshipLogits) < 1e-4, 'seq relationship logits');
});

test('masked-LM logits at selected positions equal the full logits at those positions', async () => {
  const model = (await loadHfBert(fixturePath(''))).eval();
  const expected = await readExpected();
  const positions = [3, 12, 19];
  const logits = noGrad(() =>
    model.forward(
      { inputIds: expected.inputIds, tokenTypeIds: expected.tokenTypeIds, attentionMask: expected.attentionMask },
      { mlmPositions: fromArray(positions, [3], { dtype: 'i32' }), withNsp: false },
    ),
  );
  assert.equal(logits.nspLogits, null);
  const got = logits.mlmLogits.toArray();
  positions.forEach((p, i) => {
    const row = expected.predictionLogits.subarray(p * 64, (p + 1) * 64);
    assert.ok(maxAbsDiff(got.subarray(i * 64, (i + 1) * 64), row) < 2e-4, `position ${p}`);
  });
});

test('BERT parameter names are Hugging Face names, with the decoder tied to the word embeddings', () => {
  const model = new BertForPreTraining(bertConfig(sizePreset('micro-xs'), { vocabSize: 100 }), { rng: new Rng(1) });
  const names = [...model.stateDict().keys()];
  for (const key of [
    'bert.embeddings.word_embeddings.weight',
    'bert.embeddings.LayerNorm.weight',
    'bert.encoder.layer.0.attention.self.query.weight',
    'bert.encoder.layer.1.attention.output.LayerNorm.bias',
    'bert.encoder.layer.1.intermediate.dense.weight',
    'bert.encoder.layer.1.output.dense.weight',
    'bert.pooler.dense.weight',
    'cls.predictions.bias',
    'cls.predictions.transform.LayerNorm.weight',
    'cls.predictions.decoder.weight',
    'cls.predictions.decoder.bias',
    'cls.seq_relationship.weight',
  ]) {
    assert.ok(names.includes(key), key);
  }
  const state = model.stateDict();
  assert.equal(state.get('cls.predictions.decoder.weight'), state.get('bert.embeddings.word_embeddings.weight'));
  // Tied tensors are trained once: namedParameters lists them under their first name only.
  const trainable = [...model.namedParameters()].map(([n]) => n);
  assert.ok(!trainable.includes('cls.predictions.decoder.weight'));
  assert.ok(!trainable.includes('cls.predictions.decoder.bias'));
});

test('Hugging Face config and key mapping: old spellings, bare BertModel keys, bad fields named', () => {
  assert.equal(normalizeHfBertKey('bert.encoder.layer.0.output.LayerNorm.gamma'), 'bert.encoder.layer.0.output.LayerNorm.weight');
  assert.equal(normalizeHfBertKey('embeddings.LayerNorm.beta'), 'bert.embeddings.LayerNorm.bias');
  assert.equal(normalizeHfBertKey('bert.embeddings.position_ids'), null);
  assert.equal(normalizeHfBertKey('cls.predictions.bias'), 'cls.predictions.bias');
  const mini = bertConfig(sizePreset('mini'));
  assert.deepEqual(bertConfigFromHf(hfConfigFromBert(mini), 'round trip'), mini);
  assert.throws(() => bertConfigFromHf({ model_type: 'gpt2' }, 'c.json'), /c\.json: model_type is 'gpt2'/);
  assert.throws(() => bertConfigFromHf({ vocab_size: 10 }, 'c.json'), /c\.json: missing field 'hidden_size'/);
  assert.throws(
    () => bertConfigFromHf({ vocab_size: 10, hidden_size: 30, num_hidden_layers: 1, num_attention_heads: 4, intermediate_size: 8 }, 'c.json'),
    /c\.json: hiddenSize 30 is not divisible by numHeads 4/,
  );
});

test('a truncated model.safetensors or a missing tensor is refused with the file named', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'bert-fixture-'));
  try {
    await copyFile(fixturePath('config.json'), join(dir, 'config.json'));
    const bytes = await readFile(fixturePath('model.safetensors'));
    await writeFile(join(dir, 'model.safetensors'), bytes.subarray(0, bytes.length - 100));
    await assert.rejects(loadHfBert(dir), /model\.safetensors/);
    // A missing masked-LM weight: strict loading lists the missing key; lenient loading leaves it 0.
    const file = await readSafetensorsFile(fixturePath('model.safetensors'));
    const { serializeSafetensors } = await import('../../src/io/safetensors.js');
    const without = (prefix: string): Uint8Array => {
      const kept = [...file.tensors.values()].filter((e) => !e.name.startsWith(prefix));
      return serializeSafetensors(kept.map((e) => ({ name: e.name, dtype: 'F32' as const, shape: e.shape, data: readSafetensorsTensorF32(file.bytes, e) })));
    };
    await writeFile(join(dir, 'model.safetensors'), without('cls.predictions.transform.dense.'));
    await assert.rejects(loadHfBert(dir), /model\.safetensors: .*missing keys: cls\.predictions\.transform\.dense\.weight/s);
    const lenient = await loadHfBert(dir, { strict: false });
    assert.equal(lenient.cls.predictions.transform.dense.weight.toList().every((v) => v === 0), true);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('loadHfBert returns an eval-mode model: two identical calls give identical outputs', async () => {
  const model = await loadHfBert(fixturePath(''));
  assert.equal(model.training, false);
  assert.deepEqual(model.heads, { pooler: true, nsp: true });
  const expected = await readExpected();
  const inputs = { inputIds: expected.inputIds, tokenTypeIds: expected.tokenTypeIds, attentionMask: expected.attentionMask };
  const first = noGrad(() => model.forward(inputs).mlmLogits.toArray());
  const second = noGrad(() => model.forward(inputs).mlmLogits.toArray());
  assert.deepEqual(second, first);
  assert.ok(maxAbsDiff(first, expected.predictionLogits) < 1e-4);
  // train() turns dropout back on (the fixture's config has dropout 0.1): outputs then differ.
  model.train();
  const dropped = noGrad(() => model.forward(inputs).mlmLogits.toArray());
  assert.notDeepEqual(dropped, first);
});

test('a BertForMaskedLM checkpoint (no pooler, no next-sentence head) loads strictly and says which heads it has', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'bert-mlm-'));
  try {
    await copyFile(fixturePath('config.json'), join(dir, 'config.json'));
    const file = await readSafetensorsFile(fixturePath('model.safetensors'));
    const { serializeSafetensors } = await import('../../src/io/safetensors.js');
    const kept = [...file.tensors.values()].filter((e) => !e.name.startsWith('cls.seq_relationship') && !e.name.startsWith('bert.pooler'));
    assert.ok(kept.length < file.tensors.size - 2);
    await writeFile(join(dir, 'model.safetensors'), serializeSafetensors(kept.map((e) => ({ name: e.name, dtype: 'F32' as const, shape: e.shape, data: readSafetensorsTensorF32(file.bytes, e) }))));
    const model = await loadHfBert(dir);
    assert.deepEqual(model.heads, { pooler: false, nsp: false });
    assert.equal(model.bert.pooler, null);
    assert.equal(model.cls.seqRelationship, null);
    assert.equal([...model.stateDict().keys()].some((k) => k.includes('pooler') || k.includes('seq_relationship')), false);
    const expected = await readExpected();
    const inputs = { inputIds: expected.inputIds, tokenTypeIds: expected.tokenTypeIds, attentionMask: expected.attentionMask };
    const out = noGrad(() => model.forward(inputs));
    assert.equal(out.nspLogits, null);
    assert.ok(maxAbsDiff(out.mlmLogits.toArray(), expected.predictionLogits) < 1e-4);
    assert.throws(() => model.forward(inputs, { withNsp: true }), /no next-sentence head/);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('loadModel opens a BERT folder as an encoder (eval mode, tokenizer from vocab.txt); loadModelFiles names the loader to use', async () => {
  const { loadModel, loadModelFiles } = await import('../../src/node/model-files.js');
  const dir = await mkdtemp(join(tmpdir(), 'bert-folder-'));
  try {
    await copyFile(fixturePath('config.json'), join(dir, 'config.json'));
    await copyFile(fixturePath('model.safetensors'), join(dir, 'model.safetensors'));
    const vocab = ['[PAD]', '[UNK]', '[CLS]', '[SEP]', '[MASK]', 'hello', '##s'];
    await writeFile(join(dir, 'vocab.txt'), vocab.join('\n') + '\n');
    const opened = await loadModel(dir);
    assert.equal(opened.kind, 'encoder');
    if (opened.kind !== 'encoder') return;
    assert.equal(opened.source, dir);
    assert.equal(opened.model.training, false);
    assert.deepEqual(opened.model.heads, { pooler: true, nsp: true });
    assert.deepEqual(Array.from(opened.tokenizer!.encode('Hellos') as ArrayLike<number>), [5, 6]);
    const expected = await readExpected();
    const inputs = { inputIds: expected.inputIds, tokenTypeIds: expected.tokenTypeIds, attentionMask: expected.attentionMask };
    assert.ok(maxAbsDiff(noGrad(() => opened.model.forward(inputs).mlmLogits.toArray()), expected.predictionLogits) < 1e-4);
    // The config.json path works too; loadModelFiles (decoders only) says what to use instead.
    assert.equal((await loadModel(join(dir, 'config.json'))).kind, 'encoder');
    await assert.rejects(loadModelFiles(dir), /a BERT encoder \(config\.json model_type 'bert'\), not a decoder LLM: open it with loadModel\(\)/);
    // A decoder folder comes back as causal-lm files.
    const { bundledModelDir } = await import('../../src/node/bundled-model.js');
    const decoder = await loadModel(await bundledModelDir());
    assert.equal(decoder.kind, 'causal-lm');
    if (decoder.kind === 'causal-lm') {
      assert.equal(decoder.files.config.architecture, 'llama');
      await decoder.files.close();
    }
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('BERT trace: embeddings and every layer, the last equal to PyTorch last_hidden_state', async () => {
  const model = await loadHfBert(fixturePath(''));
  const expected = await readExpected();
  const inputs = { inputIds: expected.inputIds, tokenTypeIds: expected.tokenTypeIds, attentionMask: expected.attentionMask };
  const states = noGrad(() => model.traceHiddenStates(inputs));
  assert.deepEqual(states.map((s) => s.name), ['embeddings', ...Array.from({ length: model.config.numLayers }, (_, i) => `layers.${i}`)]);
  const [batch, seq] = expected.inputIds.shape;
  for (const s of states) assert.deepEqual(s.tensor.shape, [batch, seq, model.config.hiddenSize]);
  assert.ok(maxAbsDiff(states.at(-1)!.tensor.toArray(), expected.lastHiddenState) < 1e-4);
  assert.deepEqual(states.at(-1)!.tensor.toArray(), noGrad(() => model.encode(inputs)).toArray());
});
