// GGUF (https://github.com/ggml-org/ggml/blob/master/docs/gguf.md), versions 2 and 3, little-endian:
//   magic "GGUF", u32 version, u64 tensor count, u64 metadata count,
//   metadata: { string key, u32 value type, value }*,
//   tensor infos: { string name, u32 n_dims, u64 ne[n_dims], u32 ggml type, u64 offset }*,
//   padding to `general.alignment` (default 32), then the data section; each offset is relative to it.
// Strings are u64 length + UTF-8 bytes. This module holds what reading and writing share: the
// constants, metadata value types and ggml tensor types. Reading: gguf-read.ts (platform-neutral,
// bytes in memory or a ByteSource; Node's file-backed source is in src/node/file-source.ts);
// writing: gguf-write.ts; the Q8_0 / Q4_0 block codecs: gguf-quant.ts.
//
// SHAPES: GGUF lists dims fastest-varying first (ne[0] is the row length). Every shape these modules
// take or return is in row-major (PyTorch) order, the reverse: a Linear weight with ne = [in, out]
// is exposed as [out, in], exactly the layout of the same weight in a PyTorch checkpoint.

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

/** Value types by id (the index). */
export const VALUE_TYPE_BY_ID: readonly GgufValueType[] = Object.entries(GGUF_VALUE_TYPE_IDS)
  .sort((a, b) => a[1] - b[1])
  .map(([name]) => name as GgufValueType);

/** Bytes of a value of each fixed-size type. */
export const FIXED_VALUE_BYTES: Readonly<Partial<Record<GgufValueType, number>>> = {
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

/** The ggml tensor types thrifty decodes (gguf-read.ts) and writes (gguf-write.ts). */
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

export const TYPE_BY_ID = new Map<number, GgmlType>(Object.entries(GGML_TYPES).map(([name, t]) => [t.id, name as GgmlType]));

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

/** `offset` rounded up to a multiple of `alignment`. */
export function alignUp(offset: number, alignment: number): number {
  return Math.ceil(offset / alignment) * alignment;
}
