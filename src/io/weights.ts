// WeightSource: named f32 tensors read on demand from model files of any format (safetensors,
// possibly sharded; GGUF; llama2.c), with shape checks whose errors name the file and the
// tensor. Each tensor is an entry that knows its file, byte range and decoder, so nothing is read
// until asked for, and a loader can check every name and shape before reading anything.

import { checkReadRange, type ByteSource } from './byte-source.js';
import { decodeGgufTensorF32, type GgufHeader } from './gguf-read.js';
import { decodeSafetensorsF32, parseSafetensorsHeader, readSafetensorsHeaderLength, type SafetensorsHeader } from './safetensors.js';
import { formatShape, shapesEqual } from '../tensor/shape.js';
import { fromArray, type Tensor } from '../tensor/tensor.js';

export interface WeightInfo {
  /** The name models use (Hugging Face's; each family's checkpoint names in src/models/registry.ts). */
  readonly name: string;
  /** The name inside the file (differs for GGUF and llama2.c). */
  readonly fileName: string;
  /** The file holding it. */
  readonly file: string;
  /** Row-major. */
  readonly shape: readonly number[];
  /** As stored: 'F32', 'F16', 'BF16', 'Q8_0', ... */
  readonly dtype: string;
}

export interface WeightSource {
  /** Names the model (folder or file) in errors. */
  readonly source: string;
  tensorNames(): string[];
  has(name: string): boolean;
  /** Throws naming the source when there is no such tensor. */
  info(name: string): WeightInfo;
  /** Reads one tensor as f32 (f16/bf16 widened, Q8_0/Q4_0 dequantised); `expectedShape` is checked first. */
  getF32(name: string, expectedShape?: readonly number[]): Promise<Float32Array>;
  /** getF32 as a contiguous f32 Tensor. */
  getTensor(name: string, expectedShape?: readonly number[]): Promise<Tensor>;
  /**
   * Checks every name and shape, reporting all problems in one error, and only then reads the
   * tensors: nothing is half-loaded. Entries marked optional may be absent.
   */
  loadAll(expected: Iterable<{ readonly name: string; readonly shape: readonly number[]; readonly optional?: boolean }>): Promise<Map<string, Float32Array>>;
  /** Raw stored bytes, e.g. Q8_0 blocks for a kernel that dequantises on the fly. */
  getRawBytes(name: string): Promise<Uint8Array>;
  close(): Promise<void>;
}

export interface WeightEntry extends WeightInfo {
  readonly reader: ByteSource;
  /** Offset of the first byte in `reader`. */
  readonly byteOffset: number;
  readonly byteLength: number;
  decode(bytes: Uint8Array): Float32Array;
}

/** Checks that every entry's bytes lie inside its file (a truncated file fails here, naming the tensor). */
export function checkEntryRanges(entries: readonly WeightEntry[]): readonly WeightEntry[] {
  for (const entry of entries) checkReadRange(entry.reader, entry.byteOffset, entry.byteLength, `tensor '${entry.fileName}'`);
  return entries;
}

/** The entries under new names: `rename` maps a file's tensor name to the model's (null drops the tensor). */
export function renameEntries(entries: Iterable<WeightEntry>, rename: (fileName: string) => string | null): WeightEntry[] {
  const out: WeightEntry[] = [];
  for (const entry of entries) {
    const name = rename(entry.fileName);
    if (name !== null) out.push({ ...entry, name });
  }
  return out;
}

/** A WeightSource over a table of entries. */
export class TableWeightSource implements WeightSource {
  private readonly entries = new Map<string, WeightEntry>();
  private closed = false;

  constructor(
    readonly source: string,
    entries: Iterable<WeightEntry>,
    private readonly onClose: () => Promise<void> = () => Promise.resolve(),
  ) {
    for (const entry of checkEntryRanges([...entries])) {
      if (this.entries.has(entry.name)) {
        const other = this.entries.get(entry.name)!;
        throw new Error(`${source}: tensor '${entry.name}' appears twice (${other.file}: '${other.fileName}' and ${entry.file}: '${entry.fileName}')`);
      }
      this.entries.set(entry.name, entry);
    }
  }

  tensorNames(): string[] {
    return [...this.entries.keys()];
  }

  has(name: string): boolean {
    return this.entries.has(name);
  }

  private entry(name: string): WeightEntry {
    const entry = this.entries.get(name);
    if (!entry) throw new Error(`${this.source}: no tensor named '${name}' (the model has ${this.entries.size} tensors)`);
    return entry;
  }

  info(name: string): WeightInfo {
    const { file, fileName, shape, dtype } = this.entry(name);
    return { name, file, fileName, shape, dtype };
  }

  private shapeProblem(entry: WeightEntry, expectedShape: readonly number[]): string | null {
    if (shapesEqual(entry.shape, expectedShape)) return null;
    const alias = entry.fileName === entry.name ? '' : ` (stored as '${entry.fileName}')`;
    return `${entry.file}: tensor '${entry.name}'${alias} has shape ${formatShape(entry.shape)}, expected ${formatShape(expectedShape)}`;
  }

  async getF32(name: string, expectedShape?: readonly number[]): Promise<Float32Array> {
    const entry = this.entry(name);
    if (expectedShape) {
      const problem = this.shapeProblem(entry, expectedShape);
      if (problem) throw new Error(problem);
    }
    if (this.closed) throw new Error(`${this.source}: the weights were closed`);
    const bytes = await entry.reader.read(entry.byteOffset, entry.byteLength);
    return entry.decode(bytes);
  }

  async getTensor(name: string, expectedShape?: readonly number[]): Promise<Tensor> {
    const data = await this.getF32(name, expectedShape);
    return fromArray(data, this.entry(name).shape, { dtype: 'f32' });
  }

  async loadAll(expected: Iterable<{ readonly name: string; readonly shape: readonly number[]; readonly optional?: boolean }>): Promise<Map<string, Float32Array>> {
    const problems: string[] = [];
    const wanted: WeightEntry[] = [];
    for (const { name, shape, optional } of expected) {
      const entry = this.entries.get(name);
      if (!entry) {
        if (!optional) problems.push(`tensor '${name}' is missing`);
        continue;
      }
      const problem = this.shapeProblem(entry, shape);
      if (problem) problems.push(problem);
      else wanted.push(entry);
    }
    if (problems.length > 0) throw new Error(`${this.source}: the weights do not match the model:\n  ${problems.slice(0, 20).join('\n  ')}${problems.length > 20 ? `\n  ... and ${problems.length - 20} more` : ''}`);
    const out = new Map<string, Float32Array>();
    for (const entry of wanted) out.set(entry.name, await this.getF32(entry.name));
    return out;
  }

  async getRawBytes(name: string): Promise<Uint8Array> {
    const entry = this.entry(name);
    if (this.closed) throw new Error(`${this.source}: the weights were closed`);
    return entry.reader.read(entry.byteOffset, entry.byteLength);
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.onClose();
  }
}

/** Reads and validates a safetensors header through a ByteSource. */
export async function readSafetensorsHeader(file: ByteSource): Promise<SafetensorsHeader> {
  const prefix = await file.read(0, Math.min(8, file.byteLength));
  const headerLength = readSafetensorsHeaderLength(prefix, file.byteLength, file.name);
  const headerBytes = await file.read(8, headerLength);
  return parseSafetensorsHeader(headerBytes, file.byteLength, file.name);
}

const FLOAT_SAFETENSORS = new Set(['F32', 'F16', 'BF16', 'F64']);

/** Entries for the float tensors of a safetensors file; `rename` maps file names to model names (null drops one). */
export function safetensorsEntries(file: ByteSource, header: SafetensorsHeader, rename: (fileName: string) => string | null = (n) => n): WeightEntry[] {
  const out: WeightEntry[] = [];
  for (const entry of header.tensors.values()) {
    const name = rename(entry.name);
    if (name === null) continue;
    if (!FLOAT_SAFETENSORS.has(entry.dtype)) {
      throw new Error(`${file.name}: tensor '${entry.name}' has dtype ${entry.dtype}; model weights must be F32, F16, BF16 or F64`);
    }
    out.push({
      name,
      fileName: entry.name,
      file: file.name,
      shape: entry.shape,
      dtype: entry.dtype,
      reader: file,
      byteOffset: entry.byteOffset,
      byteLength: entry.byteLength,
      decode: (bytes) => decodeSafetensorsF32(bytes, entry),
    });
  }
  return out;
}

/** Entries for the float tensors of a GGUF file (integer tensors are left out). */
export function ggufEntries(file: ByteSource, header: GgufHeader, rename: (fileName: string) => string | null = (n) => n): WeightEntry[] {
  const out: WeightEntry[] = [];
  for (const info of header.tensors.values()) {
    const name = rename(info.name);
    if (name === null || info.type === 'I8' || info.type === 'I16' || info.type === 'I32') continue;
    out.push({
      name,
      fileName: info.name,
      file: file.name,
      shape: info.shape,
      dtype: info.type,
      reader: file,
      byteOffset: info.byteOffset,
      byteLength: info.byteLength,
      decode: (bytes) => decodeGgufTensorF32(bytes, info),
    });
  }
  return out;
}

