import assert from 'node:assert/strict';
import { describe, it } from 'node:test';

import { decodeCheckpoint, encodeCheckpoint, type CheckpointContents } from '../../src/io/checkpoint.js';
import { crc32, crc32Hex, crc32Reference } from '../../src/io/crc32.js';
import { parseSafetensors, serializeSafetensors } from '../../src/io/safetensors.js';
import { Rng } from '../../src/tensor/rng.js';

function randomTensor(rng: Rng, shape: number[]): { shape: number[]; data: Float32Array } {
  const data = new Float32Array(shape.reduce((a, b) => a * b, 1));
  for (let i = 0; i < data.length; i++) data[i] = rng.normal();
  return { shape, data };
}

function sampleCheckpoint(): { contents: CheckpointContents; dropoutRng: Rng } {
  const init = new Rng(42);
  const dropoutRng = new Rng(7);
  dropoutRng.normal(); // leaves a cached spare normal in the state, which must survive too
  const contents: CheckpointContents = {
    model: new Map([
      ['embed.weight', randomTensor(init, [5, 3])],
      ['head.bias', randomTensor(init, [5])],
    ]),
    optimizer: new Map([
      ['exp_avg.embed.weight', randomTensor(init, [5, 3])],
      ['exp_avg.head.bias', { shape: [5], data: new Float32Array([NaN, -0, Infinity, 1e-45, -3.4e38]) }],
    ]),
    state: {
      step: 1234,
      rng: { init: init.getState(), dropout: dropoutRng.getState() },
      optimizer: { name: 'adamw', lr: 0.1 + 0.2, betas: [0.9, 0.999], eps: 1e-8, t: 1234 },
      user: { run: 'test', config: { layers: 2, tied: true, note: null } },
    },
  };
  return { contents, dropoutRng };
}

function bits(data: Float32Array): Uint32Array {
  return new Uint32Array(data.buffer, data.byteOffset, data.length);
}

describe('checkpoint encoding', () => {
  it('round-trips bit-exactly, and the restored RNG continues the same stream', () => {
    const { contents, dropoutRng } = sampleCheckpoint();
    const decoded = decodeCheckpoint(encodeCheckpoint(contents), 'ckpt.safetensors');
    for (const group of ['model', 'optimizer'] as const) {
      assert.deepEqual([...decoded[group].keys()], [...contents[group].keys()]);
      for (const [name, tensor] of contents[group]) {
        const restored = decoded[group].get(name)!;
        assert.deepEqual(restored.shape, tensor.shape);
        assert.deepEqual(bits(restored.data), bits(tensor.data), `${group}.${name}`);
      }
    }
    assert.deepEqual(decoded.state, contents.state);
    const resumed = new Rng(decoded.state.rng['dropout']!);
    for (let i = 0; i < 5; i++) assert.equal(resumed.normal(), dropoutRng.normal());
  });

  it('stores model.* and optim.* tensors and the JSON state under __metadata__.thrifty', () => {
    const { contents } = sampleCheckpoint();
    const file = parseSafetensors(encodeCheckpoint(contents), 'c');
    assert.deepEqual([...file.tensors.keys()].sort(), ['model.embed.weight', 'model.head.bias', 'optim.exp_avg.embed.weight', 'optim.exp_avg.head.bias']);
    const stored = JSON.parse(file.metadata['thrifty']!) as { formatVersion: number; step: number };
    assert.equal(stored.formatVersion, 2);
    assert.equal(stored.step, 1234);
  });

  it('reports missing, unexpected and mis-shaped tensors together', () => {
    const { contents } = sampleCheckpoint();
    const bytes = encodeCheckpoint(contents);
    const expected = { model: new Map([['embed.weight', [3, 5]], ['blocks.0.attn.q.weight', [3, 3]]]) };
    assert.throws(
      () => decodeCheckpoint(bytes, 'ckpt.safetensors', expected),
      (error: Error) => {
        assert.match(error.message, /^ckpt\.safetensors: checkpoint does not match/);
        assert.match(error.message, /missing model\.\* keys: model\.blocks\.0\.attn\.q\.weight/);
        assert.match(error.message, /unexpected model\.\* keys: model\.head\.bias/);
        assert.match(error.message, /shape mismatch: model\.embed\.weight \[5, 3\] \(expected \[3, 5\]\)/);
        return true;
      },
    );
    const matching = { model: new Map([['embed.weight', [5, 3]], ['head.bias', [5]]]) };
    assert.equal(decodeCheckpoint(bytes, 'c', matching).model.size, 2);
  });

  it('checks the format version and the state', () => {
    const withMeta = (thrifty: string | undefined): Uint8Array =>
      serializeSafetensors([], thrifty === undefined ? { other: 'x' } : { thrifty });
    const state = { step: 1, rng: {}, optimizer: {}, user: {} };
    assert.throws(() => decodeCheckpoint(withMeta(undefined), 'c.st'), /c\.st: not a thrifty checkpoint \(no __metadata__\.thrifty\)/);
    assert.throws(() => decodeCheckpoint(withMeta('{'), 'c.st'), /c\.st: __metadata__\.thrifty is not valid JSON/);
    assert.throws(
      () => decodeCheckpoint(withMeta(JSON.stringify({ formatVersion: 3, ...state })), 'c.st'),
      /c\.st: checkpoint format version 3 is not supported \(this build reads 1 and 2\)/,
    );
    assert.throws(
      () => decodeCheckpoint(withMeta(JSON.stringify({ formatVersion: 2, ...state })), 'c.st'),
      /c\.st: __metadata__\.thrifty\.crc32 is missing \(format version 2 carries checksums\)/,
    );
    assert.throws(
      () => decodeCheckpoint(withMeta(JSON.stringify({ formatVersion: 1, ...state, step: -1 })), 'c.st'),
      /c\.st: __metadata__\.thrifty\.step must be a non-negative integer/,
    );
    assert.throws(
      () => decodeCheckpoint(withMeta(JSON.stringify({ formatVersion: 1, ...state, rng: { data: { s: [1, 2, 3], spareNormal: null } } })), 'c.st'),
      /c\.st: __metadata__\.thrifty\.rng\.data\.s must be four int32 words/,
    );
    assert.equal(decodeCheckpoint(withMeta(JSON.stringify({ formatVersion: 1, ...state })), 'c.st').state.step, 1);
    const stray = serializeSafetensors([{ name: 'w', dtype: 'F32', shape: [1], data: new Float32Array(1) }], {
      thrifty: JSON.stringify({ formatVersion: 1, ...state }),
    });
    assert.throws(() => decodeCheckpoint(stray, 'c.st'), /c\.st: tensor 'w' is neither 'model\.\*' nor 'optim\.\*'/);
  });

  it('refuses state that JSON would silently change', () => {
    const { contents } = sampleCheckpoint();
    const withLr = (lr: number): CheckpointContents => ({ ...contents, state: { ...contents.state, optimizer: { lr } } });
    assert.throws(() => encodeCheckpoint(withLr(NaN)), /encodeCheckpoint: state\.optimizer\.lr is NaN, which JSON cannot hold/);
    assert.throws(() => encodeCheckpoint(withLr(Infinity)), /state\.optimizer\.lr is Infinity/);
  });

  it('stores a CRC-32 of every tensor and of the state, and verifies them on load', () => {
    const { contents } = sampleCheckpoint();
    const bytes = encodeCheckpoint(contents);
    const file = parseSafetensors(bytes, 'c');
    const sums = JSON.parse(file.metadata['thrifty.crc32']!) as { state: string; tensors: Record<string, string> };
    assert.deepEqual(Object.keys(sums.tensors).sort(), [...file.tensors.keys()].sort());
    const head = file.tensors.get('model.head.bias')!;
    assert.equal(sums.tensors['model.head.bias'], crc32Hex(bytes.subarray(head.byteOffset, head.byteOffset + head.byteLength)));
    assert.equal(sums.state, crc32Hex(new TextEncoder().encode(file.metadata['thrifty']!)));

    // Every single-bit flip in the tensor data is refused, naming the tensor it lands in.
    for (const [name, entry] of file.tensors) {
      for (const at of [entry.byteOffset, entry.byteOffset + entry.byteLength - 1]) {
        const corrupt = bytes.slice();
        corrupt[at]! ^= 0x10;
        assert.throws(() => decodeCheckpoint(corrupt, 'ckpt.safetensors'), (error: Error) => {
          assert.equal(error.message.split('\n').length, 1);
          assert.match(error.message, new RegExp(`^ckpt\\.safetensors: tensor '${name.replace(/\./g, '\\.')}' fails its CRC-32 check \\(stored [0-9a-f]{8}, computed [0-9a-f]{8}\\): the checkpoint is corrupt$`));
          return true;
        });
      }
    }
  });

  it('refuses a changed state value with the same length (step 1234 -> 1235)', () => {
    const { contents } = sampleCheckpoint();
    const bytes = encodeCheckpoint(contents);
    const text = new TextDecoder().decode(bytes);
    // The state is a JSON string inside the header JSON: its quotes are escaped.
    const needle = '\\"step\\":1234';
    const at = text.indexOf(needle);
    assert.ok(at > 0);
    const corrupt = bytes.slice();
    corrupt[at + needle.length - 1] = '5'.charCodeAt(0);
    assert.throws(() => decodeCheckpoint(corrupt, 'ckpt.safetensors'), /^Error: ckpt\.safetensors: __metadata__\.thrifty \(the training state\) fails its CRC-32 check: the checkpoint is corrupt$/);
  });

  it('still reads version-1 checkpoints, which carry no checksums', () => {
    const { contents } = sampleCheckpoint();
    const tensors = [...contents.model].map(([name, t]) => ({ name: `model.${name}`, dtype: 'F32' as const, shape: t.shape, data: t.data }));
    const v1 = serializeSafetensors(tensors, { thrifty: JSON.stringify({ formatVersion: 1, ...contents.state }) });
    const decoded = decodeCheckpoint(v1, 'old.safetensors');
    assert.equal(decoded.state.step, 1234);
    assert.deepEqual(bits(decoded.model.get('head.bias')!.data), bits(contents.model.get('head.bias')!.data));
  });
});

describe('crc32', () => {
  it('gives the known answers and agrees with the byte-at-a-time reference at every alignment', () => {
    const text = (s: string): Uint8Array => new TextEncoder().encode(s);
    assert.equal(crc32(text('123456789')), 0xcbf43926);
    assert.equal(crc32(text('The quick brown fox jumps over the lazy dog')), 0x414fa339);
    assert.equal(crc32(new Uint8Array(0)), 0);
    assert.equal(crc32Hex(text('a')), 'e8b7be43');
    assert.equal(crc32(text('6789'), crc32(text('12345'))), 0xcbf43926, 'continues a previous CRC');
    const rng = new Rng(3);
    const data = Uint8Array.from({ length: 1031 }, () => rng.int(256));
    for (let offset = 0; offset < 5; offset++) {
      for (const length of [0, 1, 3, 4, 5, 7, 8, 64, 1000]) {
        const view = data.subarray(offset, offset + length);
        assert.equal(crc32(view), crc32Reference(view), `offset ${offset}, length ${length}`);
      }
    }
  });
});
