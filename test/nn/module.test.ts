import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Rng } from '../../src/tensor/rng.js';
import { f32ToHalf } from '../../src/tensor/dtype.js';
import { arange, fromArray, Tensor, zeros } from '../../src/tensor/tensor.js';
import { Module, ModuleList } from '../../src/nn/module.js';
import { Dropout, Embedding, LayerNorm, Linear } from '../../src/nn/layers.js';

// A BERT-shaped tree, composed the way Hugging Face's checkpoint keys are.
class SelfAttention extends Module {
  readonly query: Linear;
  readonly key: Linear;
  readonly value: Linear;
  constructor(dim: number, rng: Rng) {
    super();
    this.query = this.module('query', new Linear(dim, dim, { rng }));
    this.key = this.module('key', new Linear(dim, dim, { rng }));
    this.value = this.module('value', new Linear(dim, dim, { rng }));
  }
}

class Attention extends Module {
  readonly self: SelfAttention;
  constructor(dim: number, rng: Rng) {
    super();
    this.self = this.module('self', new SelfAttention(dim, rng));
  }
}

class Layer extends Module {
  readonly attention: Attention;
  readonly norm: LayerNorm;
  readonly dropout: Dropout;
  constructor(dim: number, rng: Rng) {
    super();
    this.attention = this.module('attention', new Attention(dim, rng));
    this.norm = this.module('LayerNorm', new LayerNorm(dim));
    this.dropout = this.module('dropout', new Dropout(0.1, rng));
  }
}

class Encoder extends Module {
  readonly layer: ModuleList<Layer>;
  constructor(dim: number, layers: number, rng: Rng) {
    super();
    this.layer = this.module('layer', new ModuleList(Array.from({ length: layers }, () => new Layer(dim, rng))));
  }
}

class Model extends Module {
  readonly embeddings: Embedding;
  readonly encoder: Encoder;
  readonly decoder: Linear;
  constructor(rng: Rng, dim = 4, vocab = 6) {
    super();
    this.embeddings = this.module('embeddings', new Embedding(vocab, dim, { rng }));
    this.encoder = this.module('encoder', new Encoder(dim, 2, rng));
    this.decoder = this.module('decoder', new Linear(dim, vocab, { rng }));
    this.buffer('position_ids', arange(0, 8, 1, 'i32'));
    this.buffer('cache', zeros([3]), { persistent: false });
  }
  /** Ties the output projection to the input embedding, as BERT's MLM head. */
  tie(): void {
    this.param('tied_decoder_weight', this.embeddings.weight);
  }
}

const layerKeys = (i: number): string[] => [
  ...['query', 'key', 'value'].flatMap((n) => [`encoder.layer.${i}.attention.self.${n}.weight`, `encoder.layer.${i}.attention.self.${n}.bias`]),
  `encoder.layer.${i}.LayerNorm.weight`,
  `encoder.layer.${i}.LayerNorm.bias`,
];
const expectedParameterNames = ['embeddings.weight', ...layerKeys(0), ...layerKeys(1), 'decoder.weight', 'decoder.bias'];

test('namedParameters gives dotted checkpoint names in registration order', () => {
  const model = new Model(new Rng(1));
  assert.deepEqual([...model.namedParameters()].map(([name]) => name), expectedParameterNames);
  assert.equal(model.parameters().length, expectedParameterNames.length);
  assert.ok(model.parameters().every((p) => p.requiresGrad));
  assert.equal(model.numParameters(), 6 * 4 + 2 * (3 * (16 + 4) + 8) + (6 * 4 + 6));
  assert.deepEqual([...model.namedBuffers()].map(([name]) => name), ['position_ids', 'cache']);
  assert.deepEqual(
    [...model.namedModules()].map(([name]) => name).slice(0, 6),
    ['', 'embeddings', 'encoder', 'encoder.layer', 'encoder.layer.0', 'encoder.layer.0.attention'],
  );
  assert.deepEqual([...model.encoder.layer].length, 2);
  assert.equal(model.encoder.layer.at(-1), model.encoder.layer.at(1));
  assert.throws(() => model.encoder.layer.at(2), /out of range/);
});

test('stateDict has parameters and persistent buffers; tied tensors under every name', () => {
  const model = new Model(new Rng(1));
  model.tie();
  const keys = [...model.stateDict().keys()];
  assert.deepEqual(keys, ['tied_decoder_weight', 'position_ids', ...expectedParameterNames]);
  // namedParameters lists the tied tensor once (under its first name) so optimisers update it once.
  const names = [...model.namedParameters()].map(([name]) => name);
  assert.equal(names.length, expectedParameterNames.length);
  assert.equal(names[0], 'tied_decoder_weight');
  assert.ok(!names.includes('embeddings.weight'));
  assert.equal(model.numParameters(), 6 * 4 + 2 * (3 * (16 + 4) + 8) + (6 * 4 + 6));
});

test('stateDict returns live tensors unless asked for copies', () => {
  const model = new Model(new Rng(1));
  const live = model.stateDict();
  const copied = model.stateDict({ copy: true });
  const weight = model.decoder.weight;
  assert.equal(live.get('decoder.weight'), weight);
  assert.notEqual(copied.get('decoder.weight')!.data, weight.data);
  const before = copied.get('decoder.weight')!.toList();
  weight.data[0] = 42;
  assert.equal(live.get('decoder.weight')!.data[0], 42);
  assert.deepEqual(copied.get('decoder.weight')!.toList(), before);
});

test('loadStateDict copies values in place and round-trips', () => {
  const source = new Model(new Rng(1));
  const target = new Model(new Rng(2));
  const weightBefore = target.decoder.weight;
  const result = target.loadStateDict(source.stateDict());
  assert.deepEqual(result, { missingKeys: [], unexpectedKeys: [] });
  assert.equal(target.decoder.weight, weightBefore, 'the same tensor object, so optimisers stay valid');
  for (const [key, t] of source.stateDict()) assert.deepEqual(target.stateDict().get(key)!.toList(), t.toList(), key);
});

test('loadStateDict accepts raw {shape, data} entries and widens f16', () => {
  const model = new LayerNorm(3);
  const halves = f32ToHalf([0.5, 1.5, -2], 'f16');
  model.loadStateDict(
    new Map<string, Tensor | { shape: number[]; data: Float32Array }>([
      ['weight', new Tensor(halves, 'f16', [3])],
      ['bias', { shape: [3], data: new Float32Array([1, 2, 3]) }],
    ]),
  );
  assert.deepEqual(model.weight!.toList(), [0.5, 1.5, -2]);
  assert.deepEqual(model.bias!.toList(), [1, 2, 3]);
});

test('loadStateDict names the key on a shape mismatch and writes nothing', () => {
  const model = new Model(new Rng(1));
  const state = new Model(new Rng(2)).stateDict({ copy: true });
  state.set('encoder.layer.1.attention.self.key.weight', zeros([4, 5]));
  const before = model.stateDict({ copy: true });
  assert.throws(
    () => model.loadStateDict(state),
    (error: Error) => /'encoder\.layer\.1\.attention\.self\.key\.weight' has shape \[4, 5\] in the state dict but \[4, 4\] in the model/.test(error.message),
  );
  for (const [key, t] of model.stateDict()) assert.deepEqual(t.toList(), before.get(key)!.toList(), `${key} was not written`);
  // Shape errors throw even when not strict.
  assert.throws(() => model.loadStateDict(state, { strict: false }), /key\.weight/);
});

test('strict loadStateDict reports missing and unexpected keys; non-strict returns them', () => {
  const model = new Model(new Rng(1));
  const state = new Model(new Rng(2)).stateDict({ copy: true });
  state.delete('decoder.bias');
  state.delete('encoder.layer.0.LayerNorm.weight');
  state.set('pooler.dense.weight', zeros([4, 4]));
  assert.throws(
    () => model.loadStateDict(state),
    (error: Error) =>
      error.message.includes('missing keys: encoder.layer.0.LayerNorm.weight, decoder.bias') &&
      error.message.includes('unexpected keys: pooler.dense.weight'),
  );
  const result = model.loadStateDict(state, { strict: false });
  assert.deepEqual(result.missingKeys, ['encoder.layer.0.LayerNorm.weight', 'decoder.bias']);
  assert.deepEqual(result.unexpectedKeys, ['pooler.dense.weight']);
  assert.deepEqual(model.decoder.weight.toList(), state.get('decoder.weight')!.toList());
});

test('a tied key counts as present when its tensor is loaded under another name', () => {
  const model = new Model(new Rng(1));
  model.tie();
  const state = new Model(new Rng(2)).stateDict({ copy: true });
  assert.ok(!state.has('tied_decoder_weight'));
  assert.deepEqual(model.loadStateDict(state).missingKeys, []);
  assert.deepEqual(model.embeddings.weight.toList(), state.get('embeddings.weight')!.toList());
});

test('train/eval propagate to every descendant', () => {
  const model = new Model(new Rng(1));
  assert.ok(model.training);
  model.eval();
  for (const [name, m] of model.namedModules()) assert.equal(m.training, false, name);
  model.encoder.train();
  assert.equal(model.training, false);
  assert.ok(model.encoder.layer.at(1).dropout.training);
});

test('registration rejects bad names, duplicates, non-leaves and cycles', () => {
  class Bad extends Module {
    tryParam(name: string, t: Tensor): void {
      this.param(name, t);
    }
    tryModule(name: string, m: Module): void {
      this.module(name, m);
    }
  }
  const m = new Bad();
  assert.throws(() => m.tryParam('a.b', zeros([1])), /no '\.'/);
  m.tryParam('w', zeros([1]));
  assert.throws(() => m.tryParam('w', zeros([1])), /already registered/);
  assert.throws(() => m.tryModule('w', new Module()), /already registered/);
  assert.throws(() => m.tryParam('i', fromArray([1], [1], { dtype: 'i32' })), /float/);
  const parent = new Bad();
  parent.tryModule('child', m);
  assert.throws(() => m.tryModule('parent', parent), /cycle/);
  assert.throws(() => m.tryModule('me', m), /cycle/);
});
