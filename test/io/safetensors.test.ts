import assert from 'node:assert/strict';
import { describe, it } from 'node:test';

import {
  parseSafetensors,
  readSafetensorsTensorF32,
  readSafetensorsTensorI32,
  serializeSafetensors,
  type SafetensorsTensorInput,
} from '../../src/io/safetensors.js';
import { f32ToHalf } from '../../src/tensor/dtype.js';

const SOURCE = 'bad.safetensors';

/** A file built by hand per the spec: u64 LE header length, header text, data bytes. */
function handMade(header: string, data: ArrayLike<number> = [], declaredLength?: number): Uint8Array {
  const json = new TextEncoder().encode(header);
  const out = new Uint8Array(8 + json.length + data.length);
  const view = new DataView(out.buffer);
  const length = declaredLength ?? json.length;
  view.setUint32(0, length % 2 ** 32, true);
  view.setUint32(4, Math.floor(length / 2 ** 32), true);
  out.set(json, 8);
  out.set(data, 8 + json.length);
  return out;
}

function entryJson(dtype: string, shape: unknown, offsets?: unknown): string {
  return JSON.stringify(offsets === undefined ? { dtype, shape } : { dtype, shape, data_offsets: offsets });
}

function assertRejects(bytes: Uint8Array, ...fragments: string[]): void {
  assert.throws(
    () => parseSafetensors(bytes, SOURCE),
    (error: Error) => {
      for (const fragment of [SOURCE, ...fragments]) {
        assert.ok(error.message.includes(fragment), `expected '${fragment}' in: ${error.message}`);
      }
      return true;
    },
  );
}

describe('safetensors', () => {
  it('reads a hand-made file: f16 and bf16 bit patterns, metadata', () => {
    // f16 0x3C00 = 1, 0xC000 = -2, 0x7BFF = 65504, 0x0001 = 2^-24; bf16 0x3F80 = 1, 0x4049 = 3.140625.
    const header =
      `{"__metadata__":{"format":"pt"},"h":${entryJson('F16', [2, 2], [0, 8])},` + `"b":${entryJson('BF16', [2], [8, 12])}}`;
    const bytes = handMade(header, [0x00, 0x3c, 0x00, 0xc0, 0xff, 0x7b, 0x01, 0x00, 0x80, 0x3f, 0x49, 0x40]);
    const file = parseSafetensors(bytes, SOURCE);
    assert.deepEqual(file.metadata, { format: 'pt' });
    assert.deepEqual([...file.tensors.keys()], ['h', 'b']);
    const h = file.tensors.get('h')!;
    assert.deepEqual(h.shape, [2, 2]);
    assert.equal(h.dtype, 'F16');
    assert.equal(h.byteOffset, 8 + new TextEncoder().encode(header).length);
    assert.equal(h.byteLength, 8);
    assert.deepEqual([...readSafetensorsTensorF32(bytes, h)], [1, -2, 65504, 2 ** -24]);
    assert.deepEqual([...readSafetensorsTensorF32(bytes, file.tensors.get('b')!)], [1, 3.140625]);
  });

  it('writes the exact bytes of the spec, header space-padded to 8', () => {
    const bytes = serializeSafetensors([{ name: 'x', dtype: 'F32', shape: [1], data: new Float32Array([1]) }]);
    const json = '{"x":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}}';
    const padded = json + ' '.repeat((8 - ((8 + json.length) % 8)) % 8);
    const expected = handMade(padded, [0x00, 0x00, 0x80, 0x3f]);
    assert.deepEqual(bytes, expected);
    assert.equal((bytes.length - 4) % 8, 0);
  });

  it('round-trips f32, f16, bf16, i32, i64, f64 and metadata', () => {
    const f32 = new Float32Array([0, -0, 1.5, -3.25e-7, 3.4e38, Number.MIN_VALUE, NaN, Infinity]);
    const halfValues = [1, -2, 0.5, 65504, 2 ** -24, -Infinity];
    const tensors: SafetensorsTensorInput[] = [
      { name: 'f32', dtype: 'F32', shape: [2, 4], data: f32 },
      { name: 'f16', dtype: 'F16', shape: [6], data: f32ToHalf(halfValues, 'f16') },
      { name: 'bf16', dtype: 'BF16', shape: [3, 2], data: f32ToHalf(halfValues.map((v) => (v === 65504 ? 65536 : v)), 'bf16') },
      { name: 'i32', dtype: 'I32', shape: [3], data: new Int32Array([-2147483648, 0, 2147483647]) },
      { name: 'i64', dtype: 'I64', shape: [2], data: new BigInt64Array([-5n, 2147483647n]) },
      { name: 'f64', dtype: 'F64', shape: [], data: new Float64Array([0.25]) },
      { name: 'empty', dtype: 'F32', shape: [0, 3], data: new Float32Array(0) },
    ];
    const bytes = serializeSafetensors(tensors, { note: 'round trip', 'ünïcode': '✓' });
    const file = parseSafetensors(bytes, 'mem');
    assert.deepEqual(file.metadata, { note: 'round trip', 'ünïcode': '✓' });
    const f32Out = readSafetensorsTensorF32(bytes, file.tensors.get('f32')!);
    assert.deepEqual(new Uint32Array(f32Out.buffer), new Uint32Array(f32.buffer)); // bit-exact, NaN and -0 included
    assert.deepEqual([...readSafetensorsTensorF32(bytes, file.tensors.get('f16')!)], halfValues);
    assert.deepEqual([...readSafetensorsTensorF32(bytes, file.tensors.get('bf16')!)], [1, -2, 0.5, 65536, 2 ** -24, -Infinity]);
    assert.deepEqual([...readSafetensorsTensorI32(bytes, file.tensors.get('i32')!)], [-2147483648, 0, 2147483647]);
    assert.deepEqual([...readSafetensorsTensorI32(bytes, file.tensors.get('i64')!)], [-5, 2147483647]);
    assert.deepEqual([...readSafetensorsTensorF32(bytes, file.tensors.get('f64')!)], [0.25]);
    assert.deepEqual(file.tensors.get('f64')!.shape, []);
    assert.equal(readSafetensorsTensorF32(bytes, file.tensors.get('empty')!).length, 0);
    for (const tensor of tensors) assert.deepEqual(file.tensors.get(tensor.name)!.shape, tensor.shape);
  });

  it('reads unaligned data (header not padded by the writer)', () => {
    const bytes = handMade(`{"a":${entryJson('F32', [2], [0, 8])}}`, new Uint8Array(new Float32Array([1.25, -7]).buffer));
    assert.notEqual((8 + new TextEncoder().encode(`{"a":${entryJson('F32', [2], [0, 8])}}`).length) % 4, 0);
    const file = parseSafetensors(bytes, SOURCE);
    assert.deepEqual([...readSafetensorsTensorF32(bytes, file.tensors.get('a')!)], [1.25, -7]);
  });

  it('refuses to read across kinds and out-of-range i64', () => {
    const bytes = serializeSafetensors([
      { name: 'ids', dtype: 'I64', shape: [2], data: new BigInt64Array([1n, 2n ** 31n]) },
      { name: 'w', dtype: 'F32', shape: [1], data: new Float32Array([1]) },
    ]);
    const file = parseSafetensors(bytes, 'm.safetensors');
    assert.throws(() => readSafetensorsTensorI32(bytes, file.tensors.get('ids')!), /m\.safetensors: tensor 'ids' element 1 = 2147483648 does not fit in int32/);
    assert.throws(() => readSafetensorsTensorF32(bytes, file.tensors.get('ids')!), /m\.safetensors: tensor 'ids' has integer dtype I64/);
    assert.throws(() => readSafetensorsTensorI32(bytes, file.tensors.get('w')!), /m\.safetensors: tensor 'w' has float dtype F32/);
  });

  it('serializer rejects inconsistent input', () => {
    const one = new Float32Array([1]);
    assert.throws(() => serializeSafetensors([{ name: 'a', dtype: 'F32', shape: [2], data: one }]), /tensor 'a': data has 1 elements but shape \[2\] needs 2/);
    assert.throws(() => serializeSafetensors([{ name: 'a', dtype: 'F16', shape: [1], data: one }]), /tensor 'a': data is a Float32Array, which does not hold dtype F16/);
    assert.throws(
      () =>
        serializeSafetensors([
          { name: 'a', dtype: 'F32', shape: [1], data: one },
          { name: 'a', dtype: 'F32', shape: [1], data: one },
        ]),
      /tensor 'a': duplicate name/,
    );
    assert.throws(() => serializeSafetensors([{ name: '__metadata__', dtype: 'F32', shape: [1], data: one }]), /reserved/);
  });

  describe('malformed files: the error names the source and the field', () => {
    const good = serializeSafetensors([
      { name: 'a', dtype: 'F32', shape: [2], data: new Float32Array([1, 2]) },
      { name: 'b', dtype: 'F32', shape: [1], data: new Float32Array([3]) },
    ]);

    it('truncated data', () => assertRejects(good.subarray(0, good.length - 2), "tensor 'b'", 'data_offsets end', 'truncated'));
    it('truncated inside the length prefix', () => assertRejects(good.subarray(0, 5), 'header length', 'too short'));
    it('header length past the end of the file', () => assertRejects(handMade('{}', [], 1000), 'header length 1000', 'past the end'));
    it('header length over the 100 MB bound', () => assertRejects(handMade('{}', [], 100_000_001), 'header length 100000001', 'limit'));
    it('header length over 2^32', () => assertRejects(handMade('{}', [], 2 ** 40), 'header length', 'limit'));
    it('invalid JSON', () => assertRejects(handMade('{"a": {'), 'header', 'not valid JSON'));
    it('invalid UTF-8', () => assertRejects(handMade('{"\u00ff"}').map((b) => (b === 0xc3 ? 0xff : b)), 'header', 'UTF-8'));
    it('JSON array instead of object', () => assertRejects(handMade('[1, 2]'), 'header must be a JSON object', 'array'));
    it('JSON null instead of object', () => assertRejects(handMade('null'), 'header must be a JSON object', 'null'));
    it('header not starting with {', () => assertRejects(handMade(' {}'), "must start with '{'"));
    it('entry not an object', () => assertRejects(handMade('{"a": 3}'), "tensor 'a'", 'entry must be an object'));
    it('missing dtype', () => assertRejects(handMade(`{"a":{"shape":[0],"data_offsets":[0,0]}}`), "tensor 'a'", 'dtype is missing'));
    it('unknown dtype', () => assertRejects(handMade(`{"a":${entryJson('F8_E4M3', [1], [0, 1])}}`, [0]), "tensor 'a'", 'dtype "F8_E4M3"', 'not supported'));
    it('missing shape', () => assertRejects(handMade(`{"a":{"dtype":"F32","data_offsets":[0,0]}}`), "tensor 'a'", 'shape is missing'));
    it('shape not an array', () => assertRejects(handMade(`{"a":${entryJson('F32', 4, [0, 16])}}`), "tensor 'a'", 'shape must be an array'));
    it('negative shape', () => assertRejects(handMade(`{"a":${entryJson('F32', [2, -1], [0, 0])}}`), "tensor 'a'", 'shape[1]', 'non-negative integer', '-1'));
    it('non-integer shape', () => assertRejects(handMade(`{"a":${entryJson('F32', [1.5], [0, 4])}}`, [0, 0, 0, 0]), "tensor 'a'", 'shape[0]', '1.5'));
    it('missing data_offsets', () => assertRejects(handMade(`{"a":${entryJson('F32', [1])}}`, [0, 0, 0, 0]), "tensor 'a'", 'data_offsets is missing'));
    it('malformed data_offsets', () => assertRejects(handMade(`{"a":${entryJson('F32', [1], [4, 0])}}`, [0, 0, 0, 0]), "tensor 'a'", 'data_offsets must be [begin, end]'));
    it('data_offsets past the end', () =>
      assertRejects(handMade(`{"a":${entryJson('F32', [2], [0, 8])}}`, [0, 0, 0, 0]), "tensor 'a'", 'data_offsets end 8', 'past the end', '4-byte'));
    it('wrong byte length for the shape', () =>
      assertRejects(handMade(`{"a":${entryJson('F32', [2, 2], [0, 12])}}`, new Uint8Array(12)), "tensor 'a'", 'data_offsets [0, 12] span 12 bytes', 'needs 16'));
    it('overlapping tensors', () =>
      assertRejects(
        handMade(`{"a":${entryJson('F32', [2], [0, 8])},"b":${entryJson('F32', [2], [4, 12])}}`, new Uint8Array(12)),
        "'a' [0, 8]",
        "'b' [4, 12]",
        'overlap',
        'data_offsets',
      ));
    it('hole between tensors', () =>
      assertRejects(
        handMade(`{"a":${entryJson('F32', [1], [0, 4])},"b":${entryJson('F32', [1], [8, 12])}}`, new Uint8Array(12)),
        'bytes [4, 8) belong to no tensor',
        "'b' data_offsets",
      ));
    it('trailing bytes after the last tensor', () =>
      assertRejects(handMade(`{"a":${entryJson('F32', [1], [0, 4])}}`, new Uint8Array(6)), '2 bytes after the last tensor'));
    it('__metadata__ not a string map', () => assertRejects(handMade('{"__metadata__":{"epoch":3}}'), '__metadata__.epoch must be a string'));
    it('__metadata__ not an object', () => assertRejects(handMade('{"__metadata__":"x"}'), '__metadata__ must be an object'));
  });
});
