import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';

import { memoryByteSource } from '../../src/io/byte-source.js';
import { ggufValue, type GgufValue } from '../../src/io/gguf-format.js';
import { dequantizeQ4_0, dequantizeQ8_0, quantizeQ4_0, quantizeQ8_0 } from '../../src/io/gguf-quant.js';
import {
  decodeGgufTensorF32,
  ggufInteger,
  ggufMetadataToJson,
  ggufNumber,
  ggufString,
  ggufStringArray,
  parseGguf,
  readGgufHeader,
  readGgufTensorF32,
} from '../../src/io/gguf-read.js';
import { writeGguf } from '../../src/io/gguf-write.js';
import { f16BitsToF32, f32ToF16Bits } from '../../src/tensor/dtype.js';
import { dataFileOrSkip } from '../helpers/data.js';

const SOURCE = 'test.gguf';

/** Little-endian byte builder for files made by hand from the spec (not by writeGguf). */
class Bytes {
  readonly parts: number[] = [];
  u8(v: number): this {
    this.parts.push(v & 0xff);
    return this;
  }
  u32(v: number): this {
    for (let i = 0; i < 4; i++) this.parts.push((v >>> (8 * i)) & 0xff);
    return this;
  }
  u64(v: number): this {
    return this.u32(v % 2 ** 32).u32(Math.floor(v / 2 ** 32));
  }
  str(s: string): this {
    const b = new TextEncoder().encode(s);
    this.u64(b.length);
    for (const x of b) this.parts.push(x);
    return this;
  }
  f32(v: number): this {
    const b = new Uint8Array(new Float32Array([v]).buffer);
    for (const x of b) this.parts.push(x);
    return this;
  }
  padTo(alignment: number): this {
    while (this.parts.length % alignment !== 0) this.parts.push(0);
    return this;
  }
  get length(): number {
    return this.parts.length;
  }
  done(): Uint8Array {
    return Uint8Array.from(this.parts);
  }
}

/** A two-tensor v3 file: 'w' F32 with ne = [2, 3] (shape [3, 2]) and 'b' F32 [2]; metadata: name, an array. */
function handMade(): Uint8Array {
  const b = new Bytes().u32(0x46554747).u32(3).u64(2).u64(2);
  b.str('general.name').u32(8).str('tiny');
  b.str('tiny.list').u32(9).u32(5).u64(3).u32(7).u32(0xffffffff).u32(42); // int32 array [7, -1, 42]
  b.str('w').u32(2).u64(2).u64(3).u32(0).u64(0);
  b.str('b').u32(1).u64(2).u32(0).u64(32); // 24 bytes of 'w', padded to 32
  b.padTo(32);
  for (let i = 0; i < 6; i++) b.f32(i + 0.5);
  b.padTo(32);
  b.f32(-1).f32(-2);
  return b.done();
}

function assertThrowsWith(fn: () => unknown, ...fragments: string[]): void {
  assert.throws(fn, (error: Error) => {
    for (const fragment of fragments) assert.ok(error.message.includes(fragment), `expected '${fragment}' in: ${error.message}`);
    return true;
  });
}

/** The byte offset just after tensor `name`'s name string in its tensor info. */
function tensorInfoAt(bytes: Uint8Array, name: string): number {
  const needle = new Bytes().str(name).done();
  // Tensor infos follow the metadata, so search from the end for the last occurrence.
  outer: for (let p = bytes.length - needle.length; p >= 0; p--) {
    for (let i = 0; i < needle.length; i++) if (bytes[p + i] !== needle[i]) continue outer;
    return p + needle.length;
  }
  throw new Error(`tensor info '${name}' not found`);
}

function smallFile(type: 'F32' | 'Q8_0' = 'F32'): Uint8Array {
  return writeGguf({
    metadata: [['general.architecture', ggufValue.string('llama')]],
    tensors: [{ name: 'w', shape: [2, 32], type, data: Float32Array.from({ length: 64 }, (_, i) => i / 8 - 4) }],
  });
}

describe('GGUF parse', () => {
  it('reads a file made by hand from the spec: metadata, reversed dims, offsets, data', async () => {
    const bytes = handMade();
    const h = parseGguf(bytes, SOURCE);
    assert.equal(h.version, 3);
    assert.equal(h.alignment, 32);
    assert.equal(ggufString(h, 'general.name'), 'tiny');
    assert.deepEqual(h.metadata.get('tiny.list'), { type: 'array', itemType: 'int32', value: [7, -1, 42] });
    const w = h.tensors.get('w')!;
    assert.deepEqual(w.shape, [3, 2], 'ne = [2, 3] is row-major [3, 2]');
    assert.equal(w.type, 'F32');
    assert.equal(w.byteLength, 24);
    assert.equal(w.byteOffset, h.dataOffset);
    assert.equal(h.dataOffset % 32, 0);
    assert.deepEqual([...(await readGgufTensorF32(memoryByteSource(bytes, SOURCE), w))], [0.5, 1.5, 2.5, 3.5, 4.5, 5.5]);
    const b = h.tensors.get('b')!;
    assert.equal(b.byteOffset, h.dataOffset + 32);
    assert.deepEqual([...decodeGgufTensorF32(bytes.subarray(b.byteOffset, b.byteOffset + 8), b)], [-1, -2]);
  });

  it('reads through a ByteSource with a prefix that has to grow', async () => {
    const bytes = handMade();
    const viaSource = await readGgufHeader(memoryByteSource(bytes, SOURCE), 16);
    assert.deepEqual([...viaSource.tensors.keys()], ['w', 'b']);
    assert.deepEqual(viaSource.tensors.get('b'), parseGguf(bytes, SOURCE).tensors.get('b'));
  });

  it('reads the stories260K GGUF (v3, f32, llama metadata, embedded vocabulary)', (t) => {
    const path = dataFileOrSkip(t, 'llm/stories260K/stories260K.gguf');
    if (!path) return;
    const h = parseGguf(new Uint8Array(readFileSync(path)), path);
    assert.equal(h.version, 3);
    assert.equal(ggufString(h, 'general.architecture'), 'llama');
    assert.equal(ggufInteger(h, 'llama.block_count'), 5);
    assert.equal(ggufInteger(h, 'llama.embedding_length'), 64);
    assert.equal(ggufInteger(h, 'llama.attention.head_count_kv'), 4);
    assert.equal(ggufNumber(h, 'llama.attention.layer_norm_rms_epsilon'), Math.fround(1e-5));
    assert.equal(ggufStringArray(h, 'tokenizer.ggml.tokens').length, 512);
    assert.equal(h.tensors.size, 3 + 5 * 9);
    assert.deepEqual(h.tensors.get('blk.0.attn_k.weight')!.shape, [32, 64]);
    assert.deepEqual(h.tensors.get('blk.0.ffn_down.weight')!.shape, [64, 172]);
    assert.deepEqual(h.tensors.get('token_embd.weight')!.shape, [512, 64]);
    assert.equal((ggufMetadataToJson(h, { maxArrayItems: 2 })['tokenizer.ggml.tokens'] as string[]).length, 2);
  });
});

describe('GGUF quantised blocks (ggml layouts)', () => {
  it('dequantises Q8_0: f16 scale, then 32 int8', () => {
    const block = new Uint8Array(34);
    const half = f32ToF16Bits(0.5);
    block[0] = half & 0xff;
    block[1] = half >> 8;
    for (let j = 0; j < 32; j++) block[2 + j] = (j - 16) & 0xff;
    assert.deepEqual([...dequantizeQ8_0(block, 32)], Array.from({ length: 32 }, (_, j) => (j - 16) * 0.5));
  });

  it('dequantises Q4_0: low nibbles are elements 0..15, high nibbles 16..31, value (q - 8) * d', () => {
    const block = new Uint8Array(18);
    const two = f32ToF16Bits(2);
    block[0] = two & 0xff;
    block[1] = two >> 8;
    for (let j = 0; j < 16; j++) block[2 + j] = j | ((15 - j) << 4);
    const expected = [...Array.from({ length: 16 }, (_, j) => (j - 8) * 2), ...Array.from({ length: 16 }, (_, j) => (15 - j - 8) * 2)];
    assert.deepEqual([...dequantizeQ4_0(block, 32)], expected);
  });

  it('quantises Q4_0 like ggml: the largest magnitude maps to -8, values on the grid come back exactly', () => {
    const grid = Float32Array.from({ length: 32 }, (_, j) => (j % 16) - 8); // -8..7 twice
    const q = quantizeQ4_0(grid);
    assert.equal(f16BitsToF32(q[0]! | (q[1]! << 8)), 1, 'd = max / -8 = -8 / -8');
    assert.deepEqual([...dequantizeQ4_0(q, 32)], [...grid]);
  });

  it('quantises Q8_0 like ggml: d = amax / 127, q = round(x / d), error within d / 2', () => {
    const x = Float32Array.from({ length: 64 }, (_, i) => Math.sin(i) * 3);
    const q = quantizeQ8_0(x);
    const back = dequantizeQ8_0(q, 64);
    for (let b = 0; b < 2; b++) {
      const d = f16BitsToF32(q[b * 34]! | (q[b * 34 + 1]! << 8));
      let amax = 0;
      for (let j = 0; j < 32; j++) amax = Math.max(amax, Math.abs(x[b * 32 + j]!));
      assert.ok(Math.abs(d - amax / 127) <= (amax / 127) * 1e-3, 'scale is amax / 127 (in f16)');
      for (let j = 0; j < 32; j++) assert.ok(Math.abs(back[b * 32 + j]! - x[b * 32 + j]!) <= d * 0.5 + 1e-3 * amax);
    }
    // Halves round away from zero, as C's roundf: 63.5 / 127 * 127 -> 64 (not 63 as Math.round would give for -63.5).
    const halves = new Float32Array(32);
    halves[0] = 127;
    halves[1] = -63.5;
    const qh = quantizeQ8_0(halves);
    assert.equal((qh[3]! << 24) >> 24, -64);
  });
});

describe('GGUF write', () => {
  const metadata: Array<[string, GgufValue]> = [
    ['general.architecture', ggufValue.string('llama')],
    ['t.u8', { type: 'uint8', value: 200 }],
    ['t.i8', { type: 'int8', value: -100 }],
    ['t.u16', { type: 'uint16', value: 60000 }],
    ['t.i16', { type: 'int16', value: -30000 }],
    ['t.u32', ggufValue.u32(4_000_000_000)],
    ['t.i32', ggufValue.i32(-2_000_000_000)],
    ['t.f32', ggufValue.f32(0.25)],
    ['t.f64', { type: 'float64', value: Math.PI }],
    ['t.bool', ggufValue.bool(true)],
    ['t.u64', ggufValue.u64(12345678901234567n)],
    ['t.i64', { type: 'int64', value: -5n }],
    ['t.str', ggufValue.string('héllo ▁ wörld')],
    ['t.strs', ggufValue.strings(['a', '', 'ü'])],
    ['t.f32s', ggufValue.f32s([1.5, -2])],
    ['t.bools', { type: 'array', itemType: 'bool', value: [true, false] }],
    ['t.nested', { type: 'array', itemType: 'array', value: [ggufValue.i32s([1, 2]), ggufValue.i32s([])] }],
  ];

  it('round-trips every metadata type and each tensor type, in v2 and v3, at alignment 64', () => {
    const values = Float32Array.from({ length: 2 * 64 }, (_, i) => Math.cos(i) * 2);
    for (const version of [2, 3] as const) {
      const bytes = writeGguf({
        version,
        alignment: 64,
        metadata,
        tensors: [
          { name: 'f32', shape: [2, 64], type: 'F32', data: values },
          { name: 'f16', shape: [2, 64], type: 'F16', data: values },
          { name: 'bf16', shape: [2, 64], type: 'BF16', data: values },
          { name: 'q8', shape: [2, 64], type: 'Q8_0', data: values },
          { name: 'q4', shape: [4, 32], type: 'Q4_0', data: () => values },
          { name: 'ids', shape: [3], type: 'I32', data: Int32Array.of(-1, 0, 7) },
        ],
      });
      const h = parseGguf(bytes, SOURCE);
      assert.equal(h.version, version);
      assert.equal(h.alignment, 64);
      for (const [key, value] of metadata) assert.deepEqual(h.metadata.get(key), value, key);
      assert.deepEqual(h.metadata.get('general.alignment'), ggufValue.u32(64));
      const read = (name: string): Float32Array => {
        const info = h.tensors.get(name)!;
        assert.equal(info.byteOffset % 64, 0, `${name} is aligned`);
        return decodeGgufTensorF32(bytes.subarray(info.byteOffset, info.byteOffset + info.byteLength), info);
      };
      assert.deepEqual(read('f32'), values);
      read('f16').forEach((v, i) => assert.equal(v, f16BitsToF32(f32ToF16Bits(values[i]!))));
      assert.deepEqual(read('q8'), dequantizeQ8_0(quantizeQ8_0(values), values.length));
      assert.deepEqual(read('q4'), dequantizeQ4_0(quantizeQ4_0(values), values.length));
      assert.deepEqual(h.tensors.get('q4')!.shape, [4, 32]);
      assert.equal(h.tensors.get('q8')!.byteLength, 4 * 34);
      read('bf16').forEach((v, i) => assert.ok(Math.abs(v - values[i]!) <= Math.abs(values[i]!) / 128));
    }
  });

  it('rejects what it cannot write, naming the tensor', () => {
    assertThrowsWith(() => writeGguf({ metadata: [], tensors: [{ name: 'q', shape: [2, 30], type: 'Q8_0', data: new Float32Array(60) }] }), "tensor 'q'", 'blocks of 32');
    assertThrowsWith(() => writeGguf({ metadata: [], tensors: [{ name: 'x', shape: [3], type: 'F32', data: new Float32Array(2) }] }), "tensor 'x'", '2 values', '[3]');
    assertThrowsWith(() => writeGguf({ metadata: [['k', ggufValue.u32(-1)]], tensors: [] }), "metadata 'k'", 'not an integer in [0, 4294967295]');
  });
});

describe('GGUF errors name the file and the field', () => {
  it('wrong magic', () => {
    const bytes = smallFile();
    bytes.set([0x47, 0x47, 0x55, 0x58], 0);
    assertThrowsWith(() => parseGguf(bytes, SOURCE), SOURCE, 'not a GGUF file', 'magic is "GGUX"');
  });

  it('unsupported version', () => {
    const bytes = smallFile();
    bytes[4] = 1;
    assertThrowsWith(() => parseGguf(bytes, SOURCE), SOURCE, 'version 1 is not supported');
    bytes[4] = 9;
    assertThrowsWith(() => parseGguf(bytes, SOURCE), SOURCE, 'version 9 is not supported');
  });

  it('truncation inside the header and inside the data', () => {
    const bytes = smallFile();
    const h = parseGguf(bytes, SOURCE);
    assertThrowsWith(() => parseGguf(bytes.subarray(0, 40), SOURCE), SOURCE, 'truncated');
    assertThrowsWith(() => parseGguf(bytes.subarray(0, h.dataOffset + 100), SOURCE), SOURCE, "tensor 'w'", 'runs past the end', 'truncated');
    assertThrowsWith(() => parseGguf(bytes.subarray(0, 2), SOURCE), SOURCE, 'too short');
  });

  it('an unknown or unsupported tensor type names the tensor and the type', () => {
    const bytes = smallFile();
    const typeAt = tensorInfoAt(bytes, 'w') + 4 + 2 * 8;
    new DataView(bytes.buffer).setUint32(typeAt, 12, true);
    assertThrowsWith(() => parseGguf(bytes, SOURCE), SOURCE, "tensor 'w'", 'Q4_K (id 12)', 'not supported');
    new DataView(bytes.buffer).setUint32(typeAt, 99, true);
    assertThrowsWith(() => parseGguf(bytes, SOURCE), SOURCE, "tensor 'w'", 'unknown type id 99');
  });

  it('offsets past the end, misaligned or overlapping', () => {
    const single = smallFile();
    const offsetAt = tensorInfoAt(single, 'w') + 4 + 2 * 8 + 4;
    const view = new DataView(single.buffer);
    view.setBigUint64(offsetAt, 4096n, true);
    assertThrowsWith(() => parseGguf(single, SOURCE), SOURCE, "tensor 'w'", 'runs past the end', 'offset');
    view.setBigUint64(offsetAt, 4n, true);
    assertThrowsWith(() => parseGguf(single, SOURCE), SOURCE, "tensor 'w'", 'offset 4 is not a multiple of the alignment 32');

    const two = writeGguf({
      metadata: [],
      tensors: [
        { name: 'a', shape: [16], type: 'F32', data: new Float32Array(16) },
        { name: 'b', shape: [16], type: 'F32', data: new Float32Array(16) },
      ],
    });
    new DataView(two.buffer).setBigUint64(tensorInfoAt(two, 'b') + 4 + 8 + 4, 32n, true);
    assertThrowsWith(() => parseGguf(two, SOURCE), SOURCE, "'a' and 'b' overlap");
  });

  it('bad metadata: value type, array length, alignment', () => {
    const badType = new Bytes().u32(0x46554747).u32(3).u64(0).u64(1).str('k').u32(13).done();
    assertThrowsWith(() => parseGguf(badType, SOURCE), SOURCE, "metadata 'k' value type 13");
    const hugeArray = new Bytes().u32(0x46554747).u32(3).u64(0).u64(1).str('k').u32(9).u32(4).u64(2 ** 40).done();
    assertThrowsWith(() => parseGguf(hugeArray, SOURCE), SOURCE, "metadata 'k'", 'cannot fit');
    const badAlignment = new Bytes().u32(0x46554747).u32(3).u64(0).u64(1).str('general.alignment').u32(4).u32(24).done();
    assertThrowsWith(() => parseGguf(badAlignment, SOURCE), SOURCE, "'general.alignment' must be a power of two");
    const tooManyDims = new Bytes().u32(0x46554747).u32(3).u64(1).u64(0).str('w').u32(5).padTo(64).done();
    assertThrowsWith(() => parseGguf(tooManyDims, SOURCE), SOURCE, "tensor 'w' n_dims must be 1..4, got 5");
    const h = parseGguf(handMade(), SOURCE);
    assertThrowsWith(() => ggufNumber(h, 'general.name'), SOURCE, "'general.name' must be a number");
    assertThrowsWith(() => ggufString(h, 'nope'), SOURCE, "metadata key 'nope' is missing");
  });
});
