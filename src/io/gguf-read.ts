// Reading GGUF files (format notes and the shared types: gguf-format.ts): the header parsed from bytes
// in memory or through a ByteSource, every tensor's type, shape and data range checked against the
// file; metadata accessors whose errors name the file and key; tensor data decoded to f32 or i32.

import { checkReadRange, type ByteSource } from './byte-source.js';
import {
  alignUp,
  FIXED_VALUE_BYTES,
  GGML_TYPES,
  ggmlByteLength,
  ggmlTypeName,
  GGUF_DEFAULT_ALIGNMENT,
  GGUF_MAGIC,
  GGUF_MAX_DIMS,
  TYPE_BY_ID,
  VALUE_TYPE_BY_ID,
  type GgmlType,
  type GgufArrayValue,
  type GgufBigIntType,
  type GgufNumberType,
  type GgufValue,
  type GgufValueType,
} from './gguf-format.js';
import { dequantizeQ4_0, dequantizeQ8_0 } from './gguf-quant.js';
import { floatsFromBytes } from '../tensor/dtype.js';

// ---------- parsed header ----------

export interface GgufTensorInfo {
  /** The file the tensor is in, for error messages. */
  readonly source: string;
  readonly name: string;
  readonly type: GgmlType;
  /** Row-major (PyTorch) order: the reverse of the file's ne[] (see SHAPES in gguf-format.ts). */
  readonly shape: readonly number[];
  readonly elementCount: number;
  /** Offset of the first byte from the start of the FILE (data section offset + the tensor's offset). */
  readonly byteOffset: number;
  readonly byteLength: number;
}

export interface GgufHeader {
  readonly source: string;
  readonly version: 2 | 3;
  /** In file order. */
  readonly metadata: ReadonlyMap<string, GgufValue>;
  /** In file order. */
  readonly tensors: ReadonlyMap<string, GgufTensorInfo>;
  readonly alignment: number;
  /** File offset of the data section. */
  readonly dataOffset: number;
  readonly fileByteLength: number;
}

/** Thrown by parseGgufHeader when the prefix it was given ends before the header does. */
export class GgufNeedMoreBytes extends Error {
  constructor(readonly needed: number) {
    super(`the GGUF header needs at least ${needed} bytes`);
  }
}

const utf8Strict = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });
const utf8Lenient = new TextDecoder('utf-8', { ignoreBOM: true });

class Cursor {
  pos = 0;
  private readonly view: DataView;

  constructor(
    private readonly bytes: Uint8Array,
    private readonly fileByteLength: number,
    private readonly source: string,
  ) {
    this.view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  }

  /** Ensures `n` more bytes exist: in the file (else a truncation error) and in the prefix (else NeedMoreBytes). */
  need(n: number, what: string): void {
    const end = this.pos + n;
    if (!Number.isSafeInteger(end) || end > this.fileByteLength) {
      throw new Error(`${this.source}: ${what} at byte ${this.pos} needs ${n} bytes, past the end of the ${this.fileByteLength}-byte file (truncated?)`);
    }
    if (end > this.bytes.length) throw new GgufNeedMoreBytes(end);
  }

  u32(what: string): number {
    this.need(4, what);
    const v = this.view.getUint32(this.pos, true);
    this.pos += 4;
    return v;
  }

  /** A u64 that must fit in a JS number (counts, lengths, offsets). */
  u64(what: string): number {
    this.need(8, what);
    const v = this.view.getBigUint64(this.pos, true);
    this.pos += 8;
    if (v > BigInt(Number.MAX_SAFE_INTEGER)) throw new Error(`${this.source}: ${what} = ${v} is too large (corrupt file?)`);
    return Number(v);
  }

  string(what: string, strict: boolean): string {
    const length = this.u64(`${what} length`);
    this.need(length, what);
    const slice = this.bytes.subarray(this.pos, this.pos + length);
    this.pos += length;
    if (!strict) return utf8Lenient.decode(slice);
    try {
      return utf8Strict.decode(slice);
    } catch {
      throw new Error(`${this.source}: ${what} is not valid UTF-8`);
    }
  }

  numberValue(type: GgufNumberType): number {
    const p = this.pos;
    switch (type) {
      case 'uint8':
        this.pos += 1;
        return this.view.getUint8(p);
      case 'int8':
        this.pos += 1;
        return this.view.getInt8(p);
      case 'uint16':
        this.pos += 2;
        return this.view.getUint16(p, true);
      case 'int16':
        this.pos += 2;
        return this.view.getInt16(p, true);
      case 'uint32':
        this.pos += 4;
        return this.view.getUint32(p, true);
      case 'int32':
        this.pos += 4;
        return this.view.getInt32(p, true);
      case 'float32':
        this.pos += 4;
        return this.view.getFloat32(p, true);
      case 'float64':
        this.pos += 8;
        return this.view.getFloat64(p, true);
    }
  }

  bigValue(type: GgufBigIntType): bigint {
    const p = this.pos;
    this.pos += 8;
    return type === 'uint64' ? this.view.getBigUint64(p, true) : this.view.getBigInt64(p, true);
  }

  valueType(what: string): GgufValueType {
    const id = this.u32(what);
    const type = VALUE_TYPE_BY_ID[id];
    if (type === undefined) throw new Error(`${this.source}: ${what} ${id} is not a GGUF value type (0..${VALUE_TYPE_BY_ID.length - 1})`);
    return type;
  }

  value(type: GgufValueType, what: string, depth: number): GgufValue {
    if (type === 'string') return { type, value: this.string(what, false) };
    if (type === 'array') return this.array(what, depth);
    this.need(FIXED_VALUE_BYTES[type]!, what);
    if (type === 'bool') {
      const byte = this.bytes[this.pos++]!;
      if (byte > 1) throw new Error(`${this.source}: ${what}: bool must be 0 or 1, got ${byte}`);
      return { type, value: byte === 1 };
    }
    if (type === 'uint64' || type === 'int64') return { type, value: this.bigValue(type) };
    return { type, value: this.numberValue(type) };
  }

  array(what: string, depth: number): GgufArrayValue {
    if (depth > 8) throw new Error(`${this.source}: ${what}: arrays nested more than 8 deep (corrupt file?)`);
    const itemType = this.valueType(`${what} item type`);
    const count = this.u64(`${what} length`);
    // Every item takes at least this many bytes, so a bogus count fails here, before any allocation.
    const minItemBytes = FIXED_VALUE_BYTES[itemType] ?? (itemType === 'string' ? 8 : 12);
    if (count * minItemBytes > this.fileByteLength - this.pos) {
      throw new Error(
        `${this.source}: ${what}: ${count} items of type ${itemType} cannot fit in the ${this.fileByteLength - this.pos} bytes left (truncated or corrupt?)`,
      );
    }
    const fixed = FIXED_VALUE_BYTES[itemType];
    if (fixed !== undefined) this.need(count * fixed, what);
    switch (itemType) {
      case 'string': {
        const value = new Array<string>(count);
        for (let i = 0; i < count; i++) value[i] = this.string(`${what}[${i}]`, false);
        return { type: 'array', itemType, value };
      }
      case 'array': {
        const value = new Array<GgufArrayValue>(count);
        for (let i = 0; i < count; i++) value[i] = this.array(`${what}[${i}]`, depth + 1);
        return { type: 'array', itemType, value };
      }
      case 'bool': {
        const value = new Array<boolean>(count);
        for (let i = 0; i < count; i++) {
          const byte = this.bytes[this.pos++]!;
          if (byte > 1) throw new Error(`${this.source}: ${what}[${i}]: bool must be 0 or 1, got ${byte}`);
          value[i] = byte === 1;
        }
        return { type: 'array', itemType, value };
      }
      case 'uint64':
      case 'int64': {
        const value = new Array<bigint>(count);
        for (let i = 0; i < count; i++) value[i] = this.bigValue(itemType);
        return { type: 'array', itemType, value };
      }
      default: {
        const value = new Array<number>(count);
        for (let i = 0; i < count; i++) value[i] = this.numberValue(itemType);
        return { type: 'array', itemType, value };
      }
    }
  }
}

/**
 * Parses a GGUF header from `prefix`, the first bytes of a file of `fileByteLength` bytes (or the
 * whole file), and checks every tensor's type, shape and data range against the file size.
 * Throws GgufNeedMoreBytes when the prefix ends before the header does (readGgufHeader retries).
 */
export function parseGgufHeader(prefix: Uint8Array, fileByteLength: number, source: string): GgufHeader {
  const c = new Cursor(prefix, fileByteLength, source);
  if (fileByteLength < 4) throw new Error(`${source}: file is ${fileByteLength} bytes, too short for the GGUF magic (truncated?)`);
  c.need(4, 'magic');
  const magic = c.u32('magic');
  if (magic !== GGUF_MAGIC) {
    const seen = Array.from(prefix.subarray(0, 4), (b) => (b >= 0x20 && b < 0x7f ? String.fromCharCode(b) : `\\x${b.toString(16).padStart(2, '0')}`)).join('');
    throw new Error(`${source}: not a GGUF file: magic is "${seen}", expected "GGUF"`);
  }
  const version = c.u32('version');
  if (version === 1) throw new Error(`${source}: GGUF version 1 is not supported (only 2 and 3; re-convert the model with a current llama.cpp)`);
  if (version !== 2 && version !== 3) throw new Error(`${source}: GGUF version ${version} is not supported (only 2 and 3)`);
  const tensorCount = c.u64('tensor count');
  const metadataCount = c.u64('metadata count');
  // A metadata pair takes >= 8 + 4 + 1 bytes and a tensor info >= 8 + 4 + 8 + 4 + 8.
  if (metadataCount * 13 + tensorCount * 32 > fileByteLength - c.pos) {
    throw new Error(`${source}: ${metadataCount} metadata entries and ${tensorCount} tensors cannot fit in the ${fileByteLength}-byte file (truncated or corrupt?)`);
  }

  const metadata = new Map<string, GgufValue>();
  for (let i = 0; i < metadataCount; i++) {
    const key = c.string(`metadata entry ${i} key`, true);
    if (metadata.has(key)) throw new Error(`${source}: metadata key '${key}' appears twice`);
    const type = c.valueType(`metadata '${key}' value type`);
    metadata.set(key, c.value(type, `metadata '${key}'`, 0));
  }

  let alignment = GGUF_DEFAULT_ALIGNMENT;
  const alignmentValue = metadata.get('general.alignment');
  if (alignmentValue !== undefined) {
    if (alignmentValue.type !== 'uint32') throw new Error(`${source}: metadata 'general.alignment' must be uint32, got ${alignmentValue.type}`);
    alignment = alignmentValue.value;
    if (alignment === 0 || (alignment & (alignment - 1)) !== 0) {
      throw new Error(`${source}: metadata 'general.alignment' must be a power of two, got ${alignment}`);
    }
  }

  interface RawInfo {
    name: string;
    type: GgmlType;
    shape: number[];
    elementCount: number;
    offset: number;
    byteLength: number;
  }
  const raw: RawInfo[] = [];
  const names = new Set<string>();
  for (let i = 0; i < tensorCount; i++) {
    const name = c.string(`tensor info ${i} name`, true);
    const where = `tensor '${name}'`;
    if (names.has(name)) throw new Error(`${source}: ${where} appears twice`);
    names.add(name);
    const nDims = c.u32(`${where} n_dims`);
    if (nDims < 1 || nDims > GGUF_MAX_DIMS) throw new Error(`${source}: ${where} n_dims must be 1..${GGUF_MAX_DIMS}, got ${nDims}`);
    const ne: number[] = [];
    let elementCount = 1;
    for (let d = 0; d < nDims; d++) {
      const n = c.u64(`${where} ne[${d}]`);
      ne.push(n);
      elementCount *= n;
    }
    if (!Number.isSafeInteger(elementCount)) throw new Error(`${source}: ${where} has too many elements (ne = [${ne.join(', ')}])`);
    const typeId = c.u32(`${where} type`);
    const type = TYPE_BY_ID.get(typeId);
    if (type === undefined) {
      throw new Error(
        `${source}: ${where} has ggml type ${ggmlTypeName(typeId)} (id ${typeId}), which is not supported (supported: ${Object.keys(GGML_TYPES).join(', ')})`,
      );
    }
    const offset = c.u64(`${where} offset`);
    if (offset % alignment !== 0) throw new Error(`${source}: ${where} offset ${offset} is not a multiple of the alignment ${alignment}`);
    const shape = ne.slice().reverse();
    let byteLength: number;
    try {
      byteLength = ggmlByteLength(type, shape);
    } catch (error) {
      throw new Error(`${source}: ${where}: ${(error as Error).message}`);
    }
    raw.push({ name, type, shape, elementCount, offset, byteLength });
  }

  const dataOffset = alignUp(c.pos, alignment);
  const dataLength = fileByteLength - dataOffset;
  if (tensorCount > 0 && dataLength < 0) {
    throw new Error(`${source}: the data section would start at byte ${dataOffset}, past the end of the ${fileByteLength}-byte file (truncated?)`);
  }
  // Overlapping tensors mean a corrupt index; check in data order.
  const byOffset = [...raw].sort((a, b) => a.offset - b.offset);
  let previous: RawInfo | null = null;
  for (const t of byOffset) {
    if (t.offset + t.byteLength > dataLength) {
      throw new Error(
        `${source}: tensor '${t.name}' data [${t.offset}, ${t.offset + t.byteLength}) runs past the end of the ${Math.max(0, dataLength)}-byte data section (offset field; truncated file?)`,
      );
    }
    if (previous && t.offset < previous.offset + previous.byteLength) {
      throw new Error(`${source}: tensors '${previous.name}' and '${t.name}' overlap (offset fields ${previous.offset} and ${t.offset})`);
    }
    previous = t;
  }

  const tensors = new Map<string, GgufTensorInfo>();
  for (const t of raw) {
    tensors.set(t.name, {
      source,
      name: t.name,
      type: t.type,
      shape: Object.freeze(t.shape),
      elementCount: t.elementCount,
      byteOffset: dataOffset + t.offset,
      byteLength: t.byteLength,
    });
  }
  return { source, version, metadata, tensors, alignment, dataOffset, fileByteLength };
}

/** Parses the header of a GGUF file held whole in memory. */
export function parseGguf(bytes: Uint8Array, source: string): GgufHeader {
  return parseGgufHeader(bytes, bytes.length, source);
}

/** Reads and parses the header through a ByteSource, fetching a growing prefix until it is complete. */
export async function readGgufHeader(file: ByteSource, initialBytes = 1 << 20): Promise<GgufHeader> {
  let length = Math.min(file.byteLength, initialBytes);
  for (;;) {
    const prefix = await file.read(0, length);
    try {
      return parseGgufHeader(prefix, file.byteLength, file.name);
    } catch (error) {
      if (!(error instanceof GgufNeedMoreBytes)) throw error;
      length = Math.min(file.byteLength, Math.max(error.needed, length * 2));
    }
  }
}

// ---------- metadata accessors (errors name the file and key) ----------

function describeValue(v: GgufValue): string {
  return v.type === 'array' ? `an array of ${v.itemType}` : v.type;
}

/** A numeric metadata value (any integer or float type); `fallback` when absent, else an error. */
export function ggufNumber(header: GgufHeader, key: string, fallback?: number): number {
  const v = header.metadata.get(key);
  if (v === undefined) {
    if (fallback !== undefined) return fallback;
    throw new Error(`${header.source}: metadata key '${key}' is missing`);
  }
  if (v.type === 'uint64' || v.type === 'int64') {
    if (v.value > BigInt(Number.MAX_SAFE_INTEGER) || v.value < -BigInt(Number.MAX_SAFE_INTEGER)) {
      throw new Error(`${header.source}: metadata '${key}' = ${v.value} is out of range`);
    }
    return Number(v.value);
  }
  if (v.type === 'string' || v.type === 'bool' || v.type === 'array') {
    throw new Error(`${header.source}: metadata '${key}' must be a number, got ${describeValue(v)}`);
  }
  return v.value as number;
}

/** An integer metadata value (see ggufNumber). */
export function ggufInteger(header: GgufHeader, key: string, fallback?: number): number {
  const n = ggufNumber(header, key, fallback);
  if (!Number.isInteger(n)) throw new Error(`${header.source}: metadata '${key}' must be an integer, got ${n}`);
  return n;
}

export function ggufString(header: GgufHeader, key: string, fallback?: string): string {
  const v = header.metadata.get(key);
  if (v === undefined) {
    if (fallback !== undefined) return fallback;
    throw new Error(`${header.source}: metadata key '${key}' is missing`);
  }
  if (v.type !== 'string') throw new Error(`${header.source}: metadata '${key}' must be a string, got ${describeValue(v)}`);
  return v.value;
}

export function ggufStringArray(header: GgufHeader, key: string): readonly string[] {
  const v = header.metadata.get(key);
  if (v === undefined) throw new Error(`${header.source}: metadata key '${key}' is missing`);
  if (v.type !== 'array' || v.itemType !== 'string') throw new Error(`${header.source}: metadata '${key}' must be an array of strings, got ${describeValue(v)}`);
  return v.value;
}

/** A numeric array (any integer or float item type except 64-bit integers). */
export function ggufNumberArray(header: GgufHeader, key: string): readonly number[] {
  const v = header.metadata.get(key);
  if (v === undefined) throw new Error(`${header.source}: metadata key '${key}' is missing`);
  if (v.type !== 'array' || v.itemType === 'string' || v.itemType === 'array' || v.itemType === 'bool' || v.itemType === 'uint64' || v.itemType === 'int64') {
    throw new Error(`${header.source}: metadata '${key}' must be an array of numbers, got ${describeValue(v)}`);
  }
  return v.value as readonly number[];
}

/** Metadata as plain JSON-compatible values (64-bit integers as numbers when safe, else strings). */
export function ggufMetadataToJson(header: GgufHeader, options: { maxArrayItems?: number } = {}): Record<string, unknown> {
  const limit = options.maxArrayItems ?? Infinity;
  const plain = (v: GgufValue): unknown => {
    if (v.type === 'array') {
      const items = (v.value as readonly unknown[]).slice(0, limit);
      return v.itemType === 'array'
        ? (items as GgufArrayValue[]).map(plain)
        : items.map((x) => (typeof x === 'bigint' ? bigToPlain(x) : x));
    }
    return typeof v.value === 'bigint' ? bigToPlain(v.value) : v.value;
  };
  const out: Record<string, unknown> = {};
  for (const [key, v] of header.metadata) out[key] = plain(v);
  return out;
}

function bigToPlain(x: bigint): number | string {
  return x <= BigInt(Number.MAX_SAFE_INTEGER) && x >= -BigInt(Number.MAX_SAFE_INTEGER) ? Number(x) : x.toString();
}

// ---------- tensor data ----------

const FLOAT_FORMATS = { F32: 'f32', F16: 'f16', BF16: 'bf16', F64: 'f64' } as const;

/** Decodes exactly one tensor's bytes to f32 (quantised types dequantised as ggml does). */
export function decodeGgufTensorF32(tensorBytes: Uint8Array, info: GgufTensorInfo): Float32Array {
  if (tensorBytes.length !== info.byteLength) {
    throw new Error(`${info.source}: tensor '${info.name}' needs ${info.byteLength} bytes, got ${tensorBytes.length}`);
  }
  const n = info.elementCount;
  switch (info.type) {
    case 'F32':
    case 'F16':
    case 'BF16':
    case 'F64':
      return floatsFromBytes(tensorBytes, FLOAT_FORMATS[info.type]);
    case 'Q8_0':
      return dequantizeQ8_0(tensorBytes, n);
    case 'Q4_0':
      return dequantizeQ4_0(tensorBytes, n);
    case 'I8':
    case 'I16':
    case 'I32':
      throw new Error(`${info.source}: tensor '${info.name}' has integer type ${info.type}; read it with decodeGgufTensorI32`);
  }
}

/** Decodes an integer tensor (I8, I16, I32) to Int32Array. */
export function decodeGgufTensorI32(tensorBytes: Uint8Array, info: GgufTensorInfo): Int32Array {
  if (tensorBytes.length !== info.byteLength) {
    throw new Error(`${info.source}: tensor '${info.name}' needs ${info.byteLength} bytes, got ${tensorBytes.length}`);
  }
  const copy = new Uint8Array(tensorBytes.length);
  copy.set(tensorBytes);
  switch (info.type) {
    case 'I8':
      return Int32Array.from(new Int8Array(copy.buffer));
    case 'I16':
      return Int32Array.from(new Int16Array(copy.buffer));
    case 'I32':
      return new Int32Array(copy.buffer);
    default:
      throw new Error(`${info.source}: tensor '${info.name}' has float type ${info.type}; read it with decodeGgufTensorF32`);
  }
}

/** Reads one tensor through a ByteSource and decodes it to f32. */
export async function readGgufTensorF32(file: ByteSource, info: GgufTensorInfo): Promise<Float32Array> {
  checkReadRange(file, info.byteOffset, info.byteLength, `tensor '${info.name}'`);
  return decodeGgufTensorF32(await file.read(info.byteOffset, info.byteLength), info);
}

/** The tensor's raw bytes (e.g. Q8_0/Q4_0 blocks for a kernel that dequantises on the fly). */
export async function readGgufTensorBytes(file: ByteSource, info: GgufTensorInfo): Promise<Uint8Array> {
  checkReadRange(file, info.byteOffset, info.byteLength, `tensor '${info.name}'`);
  return file.read(info.byteOffset, info.byteLength);
}
