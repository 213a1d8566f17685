// Safetensors (https://github.com/huggingface/safetensors): an 8-byte little-endian header length N,
// N bytes of UTF-8 JSON, then the data buffer. Header offsets are relative to the data buffer.
// Platform-neutral (Uint8Array only), so the browser can load weights too. Node file access
// (whole-file and lazy, by offset) lives in src/node/files.ts.

import { parseJsonBounded } from '../text/bounded-json.js';
import { floatsFromBytes } from '../tensor/dtype.js';

export type SafetensorsDType = 'F64' | 'F32' | 'F16' | 'BF16' | 'I64' | 'I32' | 'I8' | 'U8' | 'BOOL';

export const SAFETENSORS_DTYPE_BYTES: Readonly<Record<SafetensorsDType, number>> = {
  F64: 8,
  F32: 4,
  F16: 2,
  BF16: 2,
  I64: 8,
  I32: 4,
  I8: 1,
  U8: 1,
  BOOL: 1,
};

/** Same bound as the reference implementation: a larger header is a corrupt or hostile file. */
export const SAFETENSORS_MAX_HEADER_BYTES = 100_000_000;

export interface SafetensorsEntry {
  /** The file (or other origin) the entry was parsed from, so later errors can name it. */
  readonly source: string;
  readonly name: string;
  readonly dtype: SafetensorsDType;
  readonly shape: readonly number[];
  /** Offset of the first byte from the start of the FILE (data-buffer offset + 8 + N). */
  readonly byteOffset: number;
  readonly byteLength: number;
}

export interface SafetensorsHeader {
  readonly metadata: Readonly<Record<string, string>>;
  /** Entries in data-buffer order. */
  readonly tensors: ReadonlyMap<string, SafetensorsEntry>;
  /** File offset of the data buffer (8 + N). */
  readonly dataOffset: number;
}

export type SafetensorsData = Float64Array | Float32Array | Uint16Array | BigInt64Array | Int32Array | Int8Array | Uint8Array;

export interface SafetensorsTensorInput {
  readonly name: string;
  readonly dtype: SafetensorsDType;
  readonly shape: readonly number[];
  /** F16/BF16 take raw bits (Uint16Array, see f32ToHalf); BOOL takes a Uint8Array of 0/1. */
  readonly data: SafetensorsData;
}

// Typed-array views below reinterpret file bytes in host order; the format is little-endian.
const LITTLE_ENDIAN_HOST = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

function requireLittleEndianHost(): void {
  if (!LITTLE_ENDIAN_HOST) throw new Error('safetensors: big-endian hosts are not supported');
}

function isDType(value: unknown): value is SafetensorsDType {
  return typeof value === 'string' && Object.hasOwn(SAFETENSORS_DTYPE_BYTES, value);
}

function describe(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  if (typeof value === 'string') return JSON.stringify(value.length > 40 ? `${value.slice(0, 40)}...` : value);
  if (typeof value === 'object') return 'an object';
  return `${typeof value} ${String(value)}`;
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/**
 * Reads and bounds the header length N from the first 8 bytes of a file of `fileByteLength` bytes.
 * `prefix` may be the whole file or just its first 8 bytes.
 */
export function readSafetensorsHeaderLength(prefix: Uint8Array, fileByteLength: number, source: string): number {
  if (fileByteLength < 8 || prefix.length < 8) {
    throw new Error(`${source}: file is ${fileByteLength} bytes, too short for the 8-byte safetensors header length (truncated?)`);
  }
  const view = new DataView(prefix.buffer, prefix.byteOffset, 8);
  const low = view.getUint32(0, true);
  const high = view.getUint32(4, true);
  const headerLength = high * 2 ** 32 + low;
  if (high !== 0 || headerLength > SAFETENSORS_MAX_HEADER_BYTES) {
    throw new Error(`${source}: header length ${headerLength} exceeds the ${SAFETENSORS_MAX_HEADER_BYTES}-byte limit (corrupt file?)`);
  }
  if (8 + headerLength > fileByteLength) {
    throw new Error(`${source}: header length ${headerLength} runs past the end of the ${fileByteLength}-byte file (truncated?)`);
  }
  return headerLength;
}

/**
 * Parses the N header bytes (the JSON, without the 8-byte length) and checks every entry
 * against the data buffer of a file of `fileByteLength` bytes.
 */
export function parseSafetensorsHeader(headerBytes: Uint8Array, fileByteLength: number, source: string): SafetensorsHeader {
  const dataOffset = 8 + headerBytes.length;
  const dataLength = fileByteLength - dataOffset;
  if (dataLength < 0) throw new Error(`${source}: header runs past the end of the ${fileByteLength}-byte file (truncated?)`);

  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true }).decode(headerBytes);
  } catch {
    throw new Error(`${source}: safetensors header is not valid UTF-8`);
  }
  // Depth bounded; strings only by the header size (a checkpoint keeps its state as one long string).
  const json = parseJsonBounded(text, source, 'safetensors header is not valid JSON', { maxStringLength: SAFETENSORS_MAX_HEADER_BYTES });
  if (!isPlainObject(json)) throw new Error(`${source}: safetensors header must be a JSON object, got ${describe(json)}`);
  if (!text.startsWith('{')) throw new Error(`${source}: safetensors header must start with '{'`);

  let metadata: Record<string, string> = {};
  const unsorted: Array<{ entry: SafetensorsEntry; begin: number; end: number }> = [];
  for (const [name, raw] of Object.entries(json)) {
    if (name === '__metadata__') {
      metadata = parseMetadata(raw, source);
      continue;
    }
    const where = `${source}: tensor '${name}'`;
    if (!isPlainObject(raw)) throw new Error(`${where}: entry must be an object, got ${describe(raw)}`);

    const dtype = raw['dtype'];
    if (dtype === undefined) throw new Error(`${where}: dtype is missing`);
    if (!isDType(dtype)) {
      throw new Error(`${where}: dtype ${describe(dtype)} is not supported (supported: ${Object.keys(SAFETENSORS_DTYPE_BYTES).join(', ')})`);
    }

    const shape = raw['shape'];
    if (shape === undefined) throw new Error(`${where}: shape is missing`);
    if (!Array.isArray(shape)) throw new Error(`${where}: shape must be an array, got ${describe(shape)}`);
    let byteCount = SAFETENSORS_DTYPE_BYTES[dtype];
    shape.forEach((dim: unknown, axis) => {
      if (typeof dim !== 'number' || !Number.isSafeInteger(dim) || dim < 0) {
        throw new Error(`${where}: shape[${axis}] must be a non-negative integer, got ${describe(dim)}`);
      }
      byteCount *= dim;
    });
    if (!Number.isSafeInteger(byteCount)) throw new Error(`${where}: shape [${shape.join(', ')}] is too large`);

    const offsets = raw['data_offsets'];
    if (offsets === undefined) throw new Error(`${where}: data_offsets is missing`);
    if (
      !Array.isArray(offsets) ||
      offsets.length !== 2 ||
      !offsets.every((o: unknown) => typeof o === 'number' && Number.isSafeInteger(o) && o >= 0) ||
      offsets[0] > offsets[1]
    ) {
      throw new Error(`${where}: data_offsets must be [begin, end] with integers 0 <= begin <= end, got ${JSON.stringify(offsets)}`);
    }
    const [begin, end] = offsets as [number, number];
    if (end - begin !== byteCount) {
      throw new Error(
        `${where}: data_offsets [${begin}, ${end}] span ${end - begin} bytes but dtype ${dtype} with shape [${shape.join(', ')}] needs ${byteCount}`,
      );
    }
    if (end > dataLength) {
      throw new Error(`${where}: data_offsets end ${end} is past the end of the ${dataLength}-byte data buffer (truncated?)`);
    }
    unsorted.push({
      entry: { source, name, dtype, shape: shape as number[], byteOffset: dataOffset + begin, byteLength: byteCount },
      begin,
      end,
    });
  }

  // The spec requires the data buffer to be covered exactly: no overlaps, no holes, nothing after the last tensor.
  unsorted.sort((a, b) => a.begin - b.begin || a.end - b.end);
  const tensors = new Map<string, SafetensorsEntry>();
  let covered = 0;
  let previous: (typeof unsorted)[number] | null = null;
  for (const item of unsorted) {
    if (item.begin < covered && previous) {
      throw new Error(
        `${source}: tensors '${previous.entry.name}' [${previous.begin}, ${previous.end}] and '${item.entry.name}' [${item.begin}, ${item.end}] overlap (data_offsets)`,
      );
    }
    if (item.begin > covered) {
      throw new Error(`${source}: data buffer bytes [${covered}, ${item.begin}) belong to no tensor (hole before '${item.entry.name}' data_offsets)`);
    }
    tensors.set(item.entry.name, item.entry);
    covered = item.end;
    previous = item;
  }
  if (covered !== dataLength) {
    throw new Error(`${source}: ${dataLength - covered} bytes after the last tensor belong to no tensor (data buffer is ${dataLength} bytes)`);
  }
  return { metadata, tensors, dataOffset };
}

function parseMetadata(raw: unknown, source: string): Record<string, string> {
  if (!isPlainObject(raw)) throw new Error(`${source}: __metadata__ must be an object of strings, got ${describe(raw)}`);
  const metadata: Record<string, string> = {};
  for (const [key, value] of Object.entries(raw)) {
    if (typeof value !== 'string') throw new Error(`${source}: __metadata__.${key} must be a string, got ${describe(value)}`);
    metadata[key] = value;
  }
  return metadata;
}

/** Parses a whole safetensors file held in memory. */
export function parseSafetensors(bytes: Uint8Array, source: string): SafetensorsHeader {
  const headerLength = readSafetensorsHeaderLength(bytes, bytes.length, source);
  return parseSafetensorsHeader(bytes.subarray(8, 8 + headerLength), bytes.length, source);
}

function tensorBytesOf(fileBytes: Uint8Array, entry: SafetensorsEntry): Uint8Array {
  const end = entry.byteOffset + entry.byteLength;
  if (end > fileBytes.length) {
    throw new Error(`${entry.source}: tensor '${entry.name}' ends at byte ${end} but only ${fileBytes.length} bytes were given`);
  }
  return fileBytes.subarray(entry.byteOffset, end);
}

/** Reads a float tensor from the whole file's bytes as a new Float32Array (F16/BF16/F64 converted). */
export function readSafetensorsTensorF32(fileBytes: Uint8Array, entry: SafetensorsEntry): Float32Array {
  return decodeSafetensorsF32(tensorBytesOf(fileBytes, entry), entry);
}

/** Reads an integer tensor from the whole file's bytes as a new Int32Array (I64 range-checked). */
export function readSafetensorsTensorI32(fileBytes: Uint8Array, entry: SafetensorsEntry): Int32Array {
  return decodeSafetensorsI32(tensorBytesOf(fileBytes, entry), entry);
}

/** Copies into a fresh, aligned buffer: file bytes may sit at any offset. */
function checkTensorBytes(tensorBytes: Uint8Array, entry: SafetensorsEntry): void {
  requireLittleEndianHost();
  if (tensorBytes.length !== entry.byteLength) {
    throw new Error(`${entry.source}: tensor '${entry.name}' needs ${entry.byteLength} bytes, got ${tensorBytes.length}`);
  }
}

function alignedCopy(tensorBytes: Uint8Array, entry: SafetensorsEntry): ArrayBuffer {
  checkTensorBytes(tensorBytes, entry);
  // Not slice(): on a Node Buffer it returns a view of the same memory, not a copy.
  const copy = new Uint8Array(tensorBytes.length);
  copy.set(tensorBytes);
  return copy.buffer;
}

const FLOAT_FORMATS = { F32: 'f32', F16: 'f16', BF16: 'bf16', F64: 'f64' } as const;

/** Decodes exactly one tensor's bytes (e.g. from a lazy file read) as a Float32Array. */
export function decodeSafetensorsF32(tensorBytes: Uint8Array, entry: SafetensorsEntry): Float32Array {
  checkTensorBytes(tensorBytes, entry);
  switch (entry.dtype) {
    case 'F32':
    case 'F16':
    case 'BF16':
    case 'F64':
      return floatsFromBytes(tensorBytes, FLOAT_FORMATS[entry.dtype]);
    default:
      throw new Error(`${entry.source}: tensor '${entry.name}' has integer dtype ${entry.dtype}; read it as Int32 instead of Float32`);
  }
}

/** Decodes exactly one tensor's bytes as an Int32Array; I64 values outside int32 are an error. */
export function decodeSafetensorsI32(tensorBytes: Uint8Array, entry: SafetensorsEntry): Int32Array {
  const buffer = alignedCopy(tensorBytes, entry);
  switch (entry.dtype) {
    case 'I32':
      return new Int32Array(buffer);
    case 'I64': {
      const wide = new BigInt64Array(buffer);
      const out = new Int32Array(wide.length);
      for (let i = 0; i < wide.length; i++) {
        const value = wide[i]!;
        if (value < -2147483648n || value > 2147483647n) {
          throw new Error(`${entry.source}: tensor '${entry.name}' element ${i} = ${value} does not fit in int32`);
        }
        out[i] = Number(value);
      }
      return out;
    }
    case 'I8':
      return Int32Array.from(new Int8Array(buffer));
    case 'U8':
    case 'BOOL':
      return Int32Array.from(new Uint8Array(buffer));
    default:
      throw new Error(`${entry.source}: tensor '${entry.name}' has float dtype ${entry.dtype}; read it as Float32 instead of Int32`);
  }
}

function dataMatchesDType(data: SafetensorsData, dtype: SafetensorsDType): boolean {
  switch (dtype) {
    case 'F64':
      return data instanceof Float64Array;
    case 'F32':
      return data instanceof Float32Array;
    case 'F16':
    case 'BF16':
      return data instanceof Uint16Array;
    case 'I64':
      return data instanceof BigInt64Array;
    case 'I32':
      return data instanceof Int32Array;
    case 'I8':
      return data instanceof Int8Array;
    case 'U8':
    case 'BOOL':
      return data instanceof Uint8Array;
  }
}

/**
 * Serializes tensors in the order given (data buffer and header), with optional string metadata.
 * The header is padded with spaces so the data buffer starts 8-byte aligned.
 */
export function serializeSafetensors(tensors: readonly SafetensorsTensorInput[], metadata?: Readonly<Record<string, string>>): Uint8Array {
  requireLittleEndianHost();
  const header: Record<string, unknown> = {};
  if (metadata && Object.keys(metadata).length > 0) header['__metadata__'] = { ...metadata };
  const seen = new Set<string>();
  let dataLength = 0;
  for (const tensor of tensors) {
    const where = `serializeSafetensors: tensor '${tensor.name}'`;
    if (tensor.name === '__metadata__') throw new Error(`${where}: the name is reserved for metadata`);
    if (seen.has(tensor.name)) throw new Error(`${where}: duplicate name`);
    seen.add(tensor.name);
    if (!isDType(tensor.dtype)) throw new Error(`${where}: unknown dtype ${describe(tensor.dtype)}`);
    if (!dataMatchesDType(tensor.data, tensor.dtype)) {
      throw new Error(`${where}: data is a ${tensor.data.constructor.name}, which does not hold dtype ${tensor.dtype}`);
    }
    let count = 1;
    tensor.shape.forEach((dim, axis) => {
      if (!Number.isSafeInteger(dim) || dim < 0) throw new Error(`${where}: shape[${axis}] must be a non-negative integer, got ${dim}`);
      count *= dim;
    });
    if (tensor.data.length !== count) {
      throw new Error(`${where}: data has ${tensor.data.length} elements but shape [${tensor.shape.join(', ')}] needs ${count}`);
    }
    if (tensor.dtype === 'BOOL' && (tensor.data as Uint8Array).some((v) => v > 1)) throw new Error(`${where}: BOOL data must be 0 or 1`);
    header[tensor.name] = { dtype: tensor.dtype, shape: [...tensor.shape], data_offsets: [dataLength, dataLength + tensor.data.byteLength] };
    dataLength += tensor.data.byteLength;
  }

  const json = new TextEncoder().encode(JSON.stringify(header));
  const headerLength = Math.ceil((8 + json.length) / 8) * 8 - 8;
  const out = new Uint8Array(8 + headerLength + dataLength);
  const view = new DataView(out.buffer);
  view.setUint32(0, headerLength, true); // < 2^32 since the header is held in memory
  out.set(json, 8);
  out.fill(0x20, 8 + json.length, 8 + headerLength);
  let offset = 8 + headerLength;
  for (const tensor of tensors) {
    out.set(new Uint8Array(tensor.data.buffer, tensor.data.byteOffset, tensor.data.byteLength), offset);
    offset += tensor.data.byteLength;
  }
  return out;
}
