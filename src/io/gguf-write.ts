// Writing GGUF files (format notes and the shared types: gguf-format.ts): metadata in the order
// given, tensors converted (and quantised) to their ggml type, streamed one tensor per chunk.

import {
  alignUp,
  FIXED_VALUE_BYTES,
  GGML_TYPES,
  ggmlByteLength,
  GGUF_DEFAULT_ALIGNMENT,
  GGUF_MAGIC,
  GGUF_MAX_DIMS,
  GGUF_VALUE_TYPE_IDS,
  ggufValue,
  isGgmlType,
  type GgmlType,
  type GgufArrayValue,
  type GgufBigIntType,
  type GgufNumberType,
  type GgufValue,
} from './gguf-format.js';
import { quantizeQ4_0, quantizeQ8_0 } from './gguf-quant.js';
import { f32ToHalf } from '../tensor/dtype.js';

export interface GgufTensorInput {
  readonly name: string;
  /** Row-major (PyTorch) order; written reversed as ne[]. */
  readonly shape: readonly number[];
  readonly type: GgmlType;
  /**
   * f32 values, converted (and quantised) to `type` on write; for I8/I16/I32, integer values.
   * A function is called when the tensor is written, so large models need not sit in memory whole.
   */
  readonly data: Float32Array | Int32Array | (() => Float32Array | Int32Array);
}

export interface GgufWriteSpec {
  /** Default 3. */
  readonly version?: 2 | 3;
  /** Default 32; a different value is recorded as `general.alignment` (unless the metadata already has it). */
  readonly alignment?: number;
  /** Written in this order. */
  readonly metadata: Iterable<readonly [string, GgufValue]>;
  readonly tensors: readonly GgufTensorInput[];
}

class ByteWriter {
  private buffer = new Uint8Array(1024);
  private view = new DataView(this.buffer.buffer);
  length = 0;

  private grow(n: number): void {
    if (this.length + n <= this.buffer.length) return;
    let size = this.buffer.length * 2;
    while (size < this.length + n) size *= 2;
    const next = new Uint8Array(size);
    next.set(this.buffer.subarray(0, this.length));
    this.buffer = next;
    this.view = new DataView(next.buffer);
  }

  u8(v: number): void {
    this.grow(1);
    this.view.setUint8(this.length, v);
    this.length += 1;
  }
  u32(v: number): void {
    this.grow(4);
    this.view.setUint32(this.length, v, true);
    this.length += 4;
  }
  u64(v: number | bigint): void {
    this.grow(8);
    this.view.setBigUint64(this.length, BigInt(v), true);
    this.length += 8;
  }
  bytes(b: Uint8Array): void {
    this.grow(b.length);
    this.buffer.set(b, this.length);
    this.length += b.length;
  }
  string(s: string): void {
    const b = new TextEncoder().encode(s);
    this.u64(b.length);
    this.bytes(b);
  }
  pad(alignment: number): void {
    const target = alignUp(this.length, alignment);
    this.grow(target - this.length);
    this.buffer.fill(0, this.length, target);
    this.length = target;
  }
  fixed(type: GgufNumberType | GgufBigIntType | 'bool', v: number | bigint | boolean, where: string): void {
    const bytes = FIXED_VALUE_BYTES[type]!;
    this.grow(bytes);
    const p = this.length;
    this.length += bytes;
    const num = (): number => {
      if (typeof v !== 'number') throw new Error(`writeGguf: ${where}: ${type} needs a number, got ${typeof v}`);
      return v;
    };
    switch (type) {
      case 'uint8':
        return this.view.setUint8(p, checkedInt(num(), 0, 0xff, where));
      case 'int8':
        return this.view.setInt8(p, checkedInt(num(), -0x80, 0x7f, where));
      case 'uint16':
        return this.view.setUint16(p, checkedInt(num(), 0, 0xffff, where), true);
      case 'int16':
        return this.view.setInt16(p, checkedInt(num(), -0x8000, 0x7fff, where), true);
      case 'uint32':
        return this.view.setUint32(p, checkedInt(num(), 0, 0xffffffff, where), true);
      case 'int32':
        return this.view.setInt32(p, checkedInt(num(), -0x80000000, 0x7fffffff, where), true);
      case 'float32':
        return this.view.setFloat32(p, num(), true);
      case 'float64':
        return this.view.setFloat64(p, num(), true);
      case 'bool':
        if (typeof v !== 'boolean') throw new Error(`writeGguf: ${where}: bool needs a boolean, got ${typeof v}`);
        return this.view.setUint8(p, v ? 1 : 0);
      case 'uint64':
      case 'int64': {
        if (typeof v !== 'bigint') throw new Error(`writeGguf: ${where}: ${type} needs a bigint, got ${typeof v}`);
        if (type === 'uint64') this.view.setBigUint64(p, BigInt.asUintN(64, v), true);
        else this.view.setBigInt64(p, BigInt.asIntN(64, v), true);
        return;
      }
    }
  }
  value(v: GgufValue, where: string): void {
    if (v.type === 'string') return this.string(v.value);
    if (v.type === 'array') {
      this.u32(GGUF_VALUE_TYPE_IDS[v.itemType]);
      this.u64(v.value.length);
      v.value.forEach((item: unknown, i: number) => {
        const w = `${where}[${i}]`;
        if (v.itemType === 'string') {
          if (typeof item !== 'string') throw new Error(`writeGguf: ${w}: expected a string`);
          this.string(item);
        } else if (v.itemType === 'array') {
          this.value(item as GgufArrayValue, w);
        } else {
          this.fixed(v.itemType, item as number | bigint | boolean, w);
        }
      });
      return;
    }
    this.fixed(v.type, v.value, where);
  }
  result(): Uint8Array {
    return this.buffer.slice(0, this.length);
  }
}

function checkedInt(v: number, min: number, max: number, where: string): number {
  if (!Number.isInteger(v) || v < min || v > max) throw new Error(`writeGguf: ${where}: ${v} is not an integer in [${min}, ${max}]`);
  return v;
}

function encodeTensorData(t: GgufTensorInput, count: number): Uint8Array {
  const data = typeof t.data === 'function' ? t.data() : t.data;
  const where = `writeGguf: tensor '${t.name}'`;
  if (data.length !== count) throw new Error(`${where}: data has ${data.length} values but shape [${t.shape.join(', ')}] needs ${count}`);
  const asBytes = (a: ArrayBufferView): Uint8Array => new Uint8Array(a.buffer, a.byteOffset, a.byteLength);
  const floats = (): Float32Array => (data instanceof Float32Array ? data : Float32Array.from(data));
  switch (t.type) {
    case 'F32':
      return asBytes(floats());
    case 'F16':
      return asBytes(f32ToHalf(data, 'f16'));
    case 'BF16':
      return asBytes(f32ToHalf(data, 'bf16'));
    case 'F64':
      return asBytes(Float64Array.from(data));
    case 'Q8_0':
      return quantizeQ8_0(floats());
    case 'Q4_0':
      return quantizeQ4_0(floats());
    case 'I8':
      return asBytes(Int8Array.from(data, (v, i) => checkedInt(v, -0x80, 0x7f, `${where} element ${i}`)));
    case 'I16':
      return asBytes(Int16Array.from(data, (v, i) => checkedInt(v, -0x8000, 0x7fff, `${where} element ${i}`)));
    case 'I32':
      return asBytes(Int32Array.from(data, (v, i) => checkedInt(v, -0x80000000, 0x7fffffff, `${where} element ${i}`)));
  }
}

/**
 * Encodes a GGUF file as a sequence of chunks: the header (with tensor infos and padding), then
 * each tensor's data with its padding. Tensor data is produced lazily, one tensor per chunk, so a
 * caller can stream a file larger than memory likes to hold (src/node/file-source.ts writeGgufFile).
 */
export function* encodeGgufChunks(spec: GgufWriteSpec): Generator<Uint8Array> {
  const version = spec.version ?? 3;
  if (version !== 2 && version !== 3) throw new Error(`writeGguf: version must be 2 or 3, got ${String(version)}`);
  const alignment = spec.alignment ?? GGUF_DEFAULT_ALIGNMENT;
  if (!Number.isInteger(alignment) || alignment <= 0 || (alignment & (alignment - 1)) !== 0) {
    throw new Error(`writeGguf: alignment must be a power of two, got ${alignment}`);
  }
  const metadata = new Map<string, GgufValue>();
  for (const [key, value] of spec.metadata) {
    if (metadata.has(key)) throw new Error(`writeGguf: metadata key '${key}' given twice`);
    metadata.set(key, value);
  }
  const recorded = metadata.get('general.alignment');
  if (recorded !== undefined && !(recorded.type === 'uint32' && recorded.value === alignment)) {
    throw new Error(`writeGguf: metadata 'general.alignment' must be uint32 ${alignment} (the alignment written)`);
  }
  if (recorded === undefined && alignment !== GGUF_DEFAULT_ALIGNMENT) metadata.set('general.alignment', ggufValue.u32(alignment));

  const header = new ByteWriter();
  header.u32(GGUF_MAGIC);
  header.u32(version);
  header.u64(spec.tensors.length);
  header.u64(metadata.size);
  for (const [key, value] of metadata) {
    header.string(key);
    header.u32(GGUF_VALUE_TYPE_IDS[value.type]);
    header.value(value, `metadata '${key}'`);
  }
  const names = new Set<string>();
  const counts: number[] = [];
  let offset = 0;
  for (const t of spec.tensors) {
    const where = `writeGguf: tensor '${t.name}'`;
    if (names.has(t.name)) throw new Error(`${where}: duplicate name`);
    names.add(t.name);
    if (!isGgmlType(t.type)) throw new Error(`${where}: type '${String(t.type)}' is not one of ${Object.keys(GGML_TYPES).join(', ')}`);
    if (t.shape.length < 1 || t.shape.length > GGUF_MAX_DIMS) throw new Error(`${where}: rank must be 1..${GGUF_MAX_DIMS}, got ${t.shape.length}`);
    let count = 1;
    for (const d of t.shape) {
      if (!Number.isSafeInteger(d) || d < 0) throw new Error(`${where}: shape [${t.shape.join(', ')}] must hold non-negative integers`);
      count *= d;
    }
    counts.push(count);
    let byteLength: number;
    try {
      byteLength = ggmlByteLength(t.type, t.shape);
    } catch (error) {
      throw new Error(`${where}: ${(error as Error).message}`);
    }
    header.string(t.name);
    header.u32(t.shape.length);
    for (let d = t.shape.length - 1; d >= 0; d--) header.u64(t.shape[d]!);
    header.u32(GGML_TYPES[t.type].id);
    header.u64(offset);
    offset = alignUp(offset + byteLength, alignment);
  }
  header.pad(alignment);
  yield header.result();

  for (let i = 0; i < spec.tensors.length; i++) {
    const t = spec.tensors[i]!;
    const bytes = encodeTensorData(t, counts[i]!);
    const padded = alignUp(bytes.length, alignment);
    if (padded === bytes.length) {
      yield bytes;
    } else {
      const chunk = new Uint8Array(padded);
      chunk.set(bytes);
      yield chunk;
    }
  }
}

/** Encodes a whole GGUF file in memory (see encodeGgufChunks to stream a large one). */
export function writeGguf(spec: GgufWriteSpec): Uint8Array {
  const chunks = [...encodeGgufChunks(spec)];
  let total = 0;
  for (const c of chunks) total += c.length;
  const out = new Uint8Array(total);
  let p = 0;
  for (const c of chunks) {
    out.set(c, p);
    p += c.length;
  }
  return out;
}
