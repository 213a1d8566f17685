import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';

import { noGrad } from '../../src/autograd/engine.js';
import { readSafetensorsTensorF32, readSafetensorsTensorI32 } from '../../src/io/safetensors.js';
import { groupBertConfig, sizePreset } from '../../src/models/bert-presets.js';
import { GroupBertForPreTraining, groupBertConfigFromJson, type GroupBertConfig } from '../../src/models/groupbert.js';
import type { RawTensor } from '../../src/nn/module.js';
import { readSafetensorsFile } from '../../src/node/files.js';
import { Rng } from '../../src/tensor/rng.js';
import { fromArray, type Tensor } from '../../src/tensor/tensor.js';
import { fixtureDir } from './fixtures.js';

const fixturePath = (name: string): string => join(fixtureDir('groupbert-tiny'), name);

async function loadFixtureModel(): Promise<GroupBertForPreTraining> {
  const config = groupBertConfigFromJson(JSON.parse(await readFile(fixturePath('config.json'), 'utf8')), 'groupbert-tiny/config.json');
  const file = await readSafetensorsFile(fixturePath('model.safetensors'));
  const state = new Map<string, RawTensor>();
  for (const [name, entry] of file.tensors) state.set(name, { shape: entry.shape, data: readSafetensorsTensorF32(file.bytes, entry) });
  const model = new GroupBertForPreTraining(config);
  model.loadStateDict(state);
  return model.eval();
}

function maxAbsDiff(actual: ArrayLike<number>, expected: ArrayLike<number>): number {
  assert.equal(actual.length, expected.length);
  let worst = 0;
  for (let i = 0; i < expected.length; i++) worst = Math.max(worst, Math.abs(actual[i]! - expected[i]!));
  return worst;
}

test('GroupBERT reproduces the PyTorch reference (conv, grouped FFN, attention, padding) on a tiny random checkpoint', async () => {
  const model = await loadFixtureModel();
  const file = await readSafetensorsFile(fixturePath('expected.safetensors'));
  const ints = (name: string): Tensor => {
    const e = file.tensors.get(name)!;
    return fromArray(readSafetensorsTensorI32(file.bytes, e), e.shape, { dtype: 'i32' });
  };
  const floats = (name: string): Float32Array => readSafetensorsTensorF32(file.bytes, file.tensors.get(name)!);
  const inputs = { inputIds: ints('input_ids'), tokenTypeIds: ints('token_type_ids'), attentionMask: ints('attention_mask') };
  const { hidden, out } = noGrad(() => ({ hidden: model.encode(inputs), out: model.forward(inputs) }));
  assert.ok(maxAbsDiff(hidden.toArray(), floats('last_hidden_state')) < 1e-4, `hidden ${maxAbsDiff(hidden.toArray(), floats('last_hidden_state'))}`);
  assert.ok(maxAbsDiff(out.mlmLogits.toArray(), floats('prediction_logits')) < 2e-4, 'prediction logits');
  assert.ok(maxAbsDiff(out.nspLogits!.toArray(), floats('seq_relationship_logits')) < 1e-4, 'nsp logits');
});

test('GroupBERT: outputs at real tokens do not depend on what the padded positions hold', () => {
  const config = groupBertConfig(sizePreset('micro-xs'), { vocabSize: 50, dropout: 0 });
  const model = new GroupBertForPreTraining(config, { rng: new Rng(3) }).eval();
  const seq = 12;
  const real = 8;
  const ids = (pad: number): Tensor => fromArray(Array.from({ length: seq }, (_, i) => (i < real ? 5 + i : pad)), [1, seq], { dtype: 'i32' });
  const mask = fromArray(Array.from({ length: seq }, (_, i) => (i < real ? 1 : 0)), [1, seq], { dtype: 'i32' });
  const a = noGrad(() => model.encode({ inputIds: ids(0), attentionMask: mask })).toArray();
  const b = noGrad(() => model.encode({ inputIds: ids(33), attentionMask: mask })).toArray();
  const h = config.hiddenSize;
  assert.ok(maxAbsDiff(a.subarray(0, real * h), b.subarray(0, real * h)) < 1e-5);
  // Without the mask the padding leaks (through the convolution and attention): the mask matters.
  const c = noGrad(() => model.encode({ inputIds: ids(33) })).toArray();
  assert.ok(maxAbsDiff(a.subarray(0, real * h), c.subarray(0, real * h)) > 1e-3);
});

test('GroupBERT ablation switches change the module tree as configured', () => {
  const size = sizePreset('micro-xs');
  const names = (overrides: Partial<GroupBertConfig>): string[] =>
    [...new GroupBertForPreTraining(groupBertConfig(size, { vocabSize: 40, groupbert: overrides })).stateDict().keys()];
  const full = names({});
  assert.ok(full.includes('groupbert.encoder.layer.0.conv.body.conv.weight'));
  assert.ok(full.includes('groupbert.encoder.layer.1.ffn2.body.mixer.weight'));
  assert.ok(full.includes('groupbert.encoder.final_norm.weight'));
  const noConv = names({ moduleOrder: ['ffn', 'attention', 'ffn'] });
  assert.ok(!noConv.some((n) => n.includes('.conv.')));
  const post = names({ norm: 'post', ffnGroups: 1, ffnMixer: false, moduleOrder: ['attention', 'ffn'] });
  assert.ok(!post.includes('groupbert.encoder.final_norm.weight'));
  assert.ok(post.includes('groupbert.encoder.layer.0.ffn.body.down.weight'));
  assert.ok(!post.some((n) => n.includes('mixer')));
  const model = new GroupBertForPreTraining(groupBertConfig(size, { vocabSize: 40, groupbert: { ffnGroups: 1 } }));
  assert.deepEqual(model.stateDict().get('groupbert.encoder.layer.0.ffn1.body.down.weight')!.shape, [64, 256]); // Linear [out, in]
  const grouped = new GroupBertForPreTraining(groupBertConfig(size, { vocabSize: 40, groupbert: { convKernelSize: 5, convGroupSize: 8 } }));
  assert.deepEqual(grouped.stateDict().get('groupbert.encoder.layer.0.ffn1.body.down.weight')!.shape, [4, 64, 16]);
  assert.deepEqual(grouped.stateDict().get('groupbert.encoder.layer.0.conv.body.conv.weight')!.shape, [64, 8, 5]);
  assert.throws(() => groupBertConfig(size, { groupbert: { convGroupSize: 7 } }) && new GroupBertForPreTraining(groupBertConfig(size, { groupbert: { convGroupSize: 7 } })), /convGroupSize 7 must divide hiddenSize 64/);
});

test('groupBertConfigFromJson names the bad field', () => {
  const good = groupBertConfig(sizePreset('micro-s'), { vocabSize: 100 });
  assert.deepEqual(groupBertConfigFromJson(JSON.parse(JSON.stringify(good)), 'x'), good);
  assert.throws(() => groupBertConfigFromJson({ ...good, moduleOrder: ['conv', 'mlp'] }, 'cfg.json'), /cfg\.json: config field 'moduleOrder'/);
  assert.throws(() => groupBertConfigFromJson({ ...good, ffnGroups: 3 }, 'cfg.json'), /cfg\.json: ffnGroups 3 must divide/);
});
