// GGUF (https://github.com/ggml-org/ggml/blob/master/docs/gguf.md), versions 2 and 3, little-endian:
//   magic "GGUF", u32 version, u64 tensor count, u64 metadata count,
//   metadata: { string key, u32 value type, value }*,
//   tensor infos: { string name, u32 n_dims, u64 ne[n_dims], u32 ggml type, u64 offset }*,
//   padding to `general.alignment` (default 32), then the data section; each offset is relative to it.
// Strings are u64 length + UTF-8 bytes. Platform-neutral: parses bytes in memory or reads lazily
// through a ByteSource; Node's file-backed source is in src/node/file-source.ts.
//
// SHAPES: GGUF lists dims fastest-varying first (ne[0] is the row length). Every shape this module
// takes or returns is in row-major (PyTorch) order, the reverse: a Linear weight with ne = [in, out]
// is exposed as [out, in], exactly the layout of the same weight in a PyTorch checkpoint.

import { checkReadRange, type ByteSource } from './byte-source.js';
import { f16BitsToF32, f32ToF16Bits, f32ToHalf, floatsFromBytes } from '../tensor/dtype.js';

export const GGUF_MAGIC = 0x46554747; // "GGUF" read as a little-endian u32
export const GGUF_DEFAULT_ALIGNMENT = 32;
/** ggml's GGML_MAX_DIMS. */
export const GGUF_MAX_DIMS = 4;

// ---------- metadata values ----------

export type GgufNumberType = 'uint8' | 'int8' | 'uint16' | 'int16' | 'uint32' | 'int32' | 'float32' | 'float64';
export type GgufBigIntType = 'uint64' | 'int64';
export type GgufValueType = GgufNumberType | GgufBigIntType | 'bool' | 'string' | 'array';

/** Value type ids as stored in the file (gguf_type). */
export const GGUF_VALUE_TYPE_IDS: Readonly<Record<GgufValueType, number>> = {
  uint8: 0,
  int8: 1,
  uint16: 2,
  int16: 3,
  uint32: 4,
  int32: 5,
  float32: 6,
  bool: 7,
  string: 8,
  array: 9,
  uint64: 10,
  int64: 11,
  float64: 12,
};

const VALUE_TYPE_BY_ID: readonly GgufValueType[] = Object.entries(GGUF_VALUE_TYPE_IDS)
  .sort((a, b) => a[1] - b[1])
  .map(([name]) => name as GgufValueType);

const FIXED_VALUE_BYTES: Readonly<Partial<Record<GgufValueType, number>>> = {
  uint8: 1,
  int8: 1,
  uint16: 2,
  int16: 2,
  uint32: 4,
  int32: 4,
  float32: 4,
  bool: 1,
  uint64: 8,
  int64: 8,
  float64: 8,
};

export type GgufArrayValue =
  | { readonly type: 'array'; readonly itemType: GgufNumberType; readonly value: readonly number[] }
  | { readonly type: 'array'; readonly itemType: GgufBigIntType; readonly value: readonly bigint[] }
  | { readonly type: 'array'; readonly itemType: 'bool'; readonly value: readonly boolean[] }
  | { readonly type: 'array'; readonly itemType: 'string'; readonly value: readonly string[] }
  | { readonly type: 'array'; readonly itemType: 'array'; readonly value: readonly GgufArrayValue[] };

/** A metadata value with its GGUF type, so a parsed file can be written back bit for bit. */
export type GgufValue =
  | { readonly type: GgufNumberType; readonly value: number }
  | { readonly type: GgufBigIntType; readonly value: bigint }
  | { readonly type: 'bool'; readonly value: boolean }
  | { readonly type: 'string'; readonly value: string }
  | GgufArrayValue;

/** Shorthands for building metadata to write. */
export const ggufValue = {
  u32: (value: number): GgufValue => ({ type: 'uint32', value }),
  i32: (value: number): GgufValue => ({ type: 'int32', value }),
  u64: (value: number | bigint): GgufValue => ({ type: 'uint64', value: BigInt(value) }),
  f32: (value: number): GgufValue => ({ type: 'float32', value }),
  bool: (value: boolean): GgufValue => ({ type: 'bool', value }),
  string: (value: string): GgufValue => ({ type: 'string', value }),
  strings: (value: readonly string[]): GgufArrayValue => ({ type: 'array', itemType: 'string', value }),
  f32s: (value: readonly number[]): GgufArrayValue => ({ type: 'array', itemType: 'float32', value }),
  i32s: (value: readonly number[]): GgufArrayValue => ({ type: 'array', itemType: 'int32', value }),
} as const;

// ---------- tensor types ----------

/** The ggml tensor types this module decodes (and writes). */
export type GgmlType = 'F32' | 'F16' | 'BF16' | 'F64' | 'Q8_0' | 'Q4_0' | 'I8' | 'I16' | 'I32';

interface GgmlTypeTraits {
  readonly id: number;
  /** Elements per block (1 for plain types). */
  readonly blockSize: number;
  /** Bytes per block. */
  readonly blockBytes: number;
}

export const GGML_TYPES: Readonly<Record<GgmlType, GgmlTypeTraits>> = {
  F32: { id: 0, blockSize: 1, blockBytes: 4 },
  F16: { id: 1, blockSize: 1, blockBytes: 2 },
  Q4_0: { id: 2, blockSize: 32, blockBytes: 18 },
  Q8_0: { id: 8, blockSize: 32, blockBytes: 34 },
  I8: { id: 24, blockSize: 1, blockBytes: 1 },
  I16: { id: 25, blockSize: 1, blockBytes: 2 },
  I32: { id: 26, blockSize: 1, blockBytes: 4 },
  F64: { id: 28, blockSize: 1, blockBytes: 8 },
  BF16: { id: 30, blockSize: 1, blockBytes: 2 },
};

const TYPE_BY_ID = new Map<number, GgmlType>(Object.entries(GGML_TYPES).map(([name, t]) => [t.id, name as GgmlType]));

/** ggml type ids that exist but are not decoded here, so the error can say what the file holds. */
const UNSUPPORTED_TYPE_NAMES: Readonly<Record<number, string>> = {
  3: 'Q4_1',
  6: 'Q5_0',
  7: 'Q5_1',
  9: 'Q8_1',
  10: 'Q2_K',
  11: 'Q3_K',
  12: 'Q4_K',
  13: 'Q5_K',
  14: 'Q6_K',
  15: 'Q8_K',
  16: 'IQ2_XXS',
  17: 'IQ2_XS',
  18: 'IQ3_XXS',
  19: 'IQ1_S',
  20: 'IQ4_NL',
  21: 'IQ3_S',
  22: 'IQ2_S',
  23: 'IQ4_XS',
  27: 'I64',
  29: 'IQ1_M',
  34: 'TQ1_0',
  35: 'TQ2_0',
  39: 'MXFP4',
};

export function isGgmlType(name: string): name is GgmlType {
  return Object.hasOwn(GGML_TYPES, name);
}

export function ggmlTypeName(id: number): string {
  return TYPE_BY_ID.get(id) ?? UNSUPPORTED_TYPE_NAMES[id] ?? `unknown type id ${id}`;
}

/** Bytes a tensor of `elementCount` elements takes; the last dim must be a whole number of blocks. */
export function ggmlByteLength(type: GgmlType, shape: readonly number[]): number {
  const traits = GGML_TYPES[type];
  const rowLength = shape.length === 0 ? 1 : shape[shape.length - 1]!;
  if (rowLength % traits.blockSize !== 0) {
    throw new Error(`${type} stores blocks of ${traits.blockSize} along the last dim, which is ${rowLength} in shape [${shape.join(', ')}]`);
  }
  let n = 1;
  for (const d of shape) n *= d;
  return (n / traits.blockSize) * traits.blockBytes;
}

// ---------- parsed header ----------

export interface GgufTensorInfo {
  /** The file the tensor is in, for error messages. */
  readonly source: string;
  readonly name: string;
  readonly type: GgmlType;
  /** Row-major (PyTorch) order: the reverse of the file's ne[] (see the note at the top). */
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

function alignUp(offset: number, alignment: number): number {
  return Math.ceil(offset / alignment) * alignment;
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

/** Q8_0 block: f16 scale d, then 32 int8 q; value = q * d. */
export function dequantizeQ8_0(blocks: Uint8Array, elementCount: number): Float32Array {
  const out = new Float32Array(elementCount);
  const nBlocks = elementCount / 32;
  for (let b = 0; b < nBlocks; b++) {
    const p = b * 34;
    const d = f16BitsToF32(blocks[p]! | (blocks[p + 1]! << 8));
    const o = b * 32;
    for (let j = 0; j < 32; j++) {
      const q = blocks[p + 2 + j]!;
      out[o + j] = (q > 127 ? q - 256 : q) * d;
    }
  }
  return out;
}

/** Q4_0 block: f16 scale d, then 16 bytes; element j is the low nibble of byte j, element j + 16 the high one; value = (nibble - 8) * d. */
export function dequantizeQ4_0(blocks: Uint8Array, elementCount: number): Float32Array {
  const out = new Float32Array(elementCount);
  const nBlocks = elementCount / 32;
  for (let b = 0; b < nBlocks; b++) {
    const p = b * 18;
    const d = f16BitsToF32(blocks[p]! | (blocks[p + 1]! << 8));
    const o = b * 32;
    for (let j = 0; j < 16; j++) {
      const q = blocks[p + 2 + j]!;
      out[o + j] = ((q & 0x0f) - 8) * d;
      out[o + j + 16] = ((q >> 4) - 8) * d;
    }
  }
  return out;
}

/** C's roundf: halves away from zero (Math.round sends -2.5 to -2). */
function roundHalfAway(x: number): number {
  return x < 0 ? -Math.floor(-x + 0.5) : Math.floor(x + 0.5);
}

/** ggml's quantize_row_q8_0_ref, with its f32 arithmetic. */
export function quantizeQ8_0(values: Float32Array): Uint8Array {
  if (values.length % 32 !== 0) throw new Error(`quantizeQ8_0: length ${values.length} is not a multiple of 32`);
  const nBlocks = values.length / 32;
  const out = new Uint8Array(nBlocks * 34);
  for (let b = 0; b < nBlocks; b++) {
    let amax = 0;
    for (let j = 0; j < 32; j++) amax = Math.max(amax, Math.abs(values[b * 32 + j]!));
    const d = Math.fround(amax / 127);
    const id = d !== 0 ? Math.fround(1 / d) : 0;
    const bits = f32ToF16Bits(d);
    const p = b * 34;
    out[p] = bits & 0xff;
    out[p + 1] = bits >> 8;
    for (let j = 0; j < 32; j++) out[p + 2 + j] = roundHalfAway(Math.fround(values[b * 32 + j]! * id)) & 0xff;
  }
  return out;
}

/** ggml's quantize_row_q4_0_ref: the scale maps the largest-magnitude element to -8. */
export function quantizeQ4_0(values: Float32Array): Uint8Array {
  if (values.length % 32 !== 0) throw new Error(`quantizeQ4_0: length ${values.length} is not a multiple of 32`);
  const nBlocks = values.length / 32;
  const out = new Uint8Array(nBlocks * 18);
  for (let b = 0; b < nBlocks; b++) {
    let amax = 0;
    let max = 0;
    for (let j = 0; j < 32; j++) {
      const v = values[b * 32 + j]!;
      if (amax < Math.abs(v)) {
        amax = Math.abs(v);
        max = v;
      }
    }
    const d = Math.fround(max / -8);
    const id = d !== 0 ? Math.fround(1 / d) : 0;
    const bits = f32ToF16Bits(d);
    const p = b * 18;
    out[p] = bits & 0xff;
    out[p + 1] = bits >> 8;
    for (let j = 0; j < 16; j++) {
      const x0 = Math.fround(values[b * 32 + j]! * id);
      const x1 = Math.fround(values[b * 32 + 16 + j]! * id);
      const q0 = Math.min(15, Math.trunc(Math.fround(x0 + 8.5)));
      const q1 = Math.min(15, Math.trunc(Math.fround(x1 + 8.5)));
      out[p + 2 + j] = q0 | (q1 << 4);
    }
  }
  return out;
}

// ---------- writing ----------

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
