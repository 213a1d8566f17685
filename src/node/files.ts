// Node file access: crash-safe writes, and safetensors files read whole or lazily by offset.

import { open, readFile, rename, unlink, type FileHandle } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';

import {
  decodeSafetensorsF32,
  decodeSafetensorsI32,
  parseSafetensors,
  parseSafetensorsHeader,
  readSafetensorsHeaderLength,
  type SafetensorsEntry,
  type SafetensorsHeader,
} from '../io/safetensors.js';

let tempCounter = 0;

/** A plain Uint8Array view of a Buffer, without the copy `new Uint8Array(buffer)` would make. */
export function asBytes(buffer: Buffer): Uint8Array {
  return new Uint8Array(buffer.buffer, buffer.byteOffset, buffer.byteLength);
}

/**
 * Writes `contents` so that `path` holds either its old content or the complete new one, never a
 * mix: write a temporary file beside it, fsync, rename over the target, then fsync the directory
 * (best effort) so the rename survives a power cut. The temporary file is removed on failure.
 */
export async function writeFileAtomic(path: string, contents: Uint8Array | string): Promise<void> {
  await writeFileAtomicWith(path, (handle) => handle.writeFile(contents));
}

/** writeFileAtomic for content produced piece by piece: `write` fills the temporary file's handle. */
export async function writeFileAtomicWith(path: string, write: (handle: FileHandle) => Promise<void>): Promise<void> {
  // pid + counter keeps concurrent writers (processes and calls) apart; 'wx' refuses to reuse a name.
  const tempPath = join(dirname(path), `.${basename(path)}.${process.pid}.${tempCounter++}.tmp`);
  let handle: FileHandle | null = null;
  try {
    handle = await open(tempPath, 'wx');
    await write(handle);
    await handle.sync();
    await handle.close();
    handle = null;
    await rename(tempPath, path);
  } catch (error) {
    await handle?.close().catch(() => undefined);
    await unlink(tempPath).catch(() => undefined);
    throw error;
  }
  await syncDirectory(dirname(path));
}

async function syncDirectory(directory: string): Promise<void> {
  // Not every platform can open or fsync a directory (Windows); the data itself is already synced.
  let handle: FileHandle | null = null;
  try {
    handle = await open(directory, 'r');
    await handle.sync();
  } catch {
    // best effort
  } finally {
    await handle?.close().catch(() => undefined);
  }
}

export interface SafetensorsFileContents extends SafetensorsHeader {
  /** The whole file; pass it with an entry to readSafetensorsTensorF32 / readSafetensorsTensorI32. */
  readonly bytes: Uint8Array;
}

/** Reads and validates a whole safetensors file. */
export async function readSafetensorsFile(path: string): Promise<SafetensorsFileContents> {
  const bytes = asBytes(await readFile(path));
  return { ...parseSafetensors(bytes, path), bytes };
}

/**
 * A safetensors file opened for reading tensors on demand. The header and every offset were
 * checked against the file size when it was opened, so a truncated file fails at open.
 */
export class SafetensorsFileReader implements SafetensorsHeader {
  private handle: FileHandle | null;

  constructor(
    readonly path: string,
    handle: FileHandle,
    readonly metadata: Readonly<Record<string, string>>,
    readonly tensors: ReadonlyMap<string, SafetensorsEntry>,
    readonly dataOffset: number,
  ) {
    this.handle = handle;
  }

  entry(name: string): SafetensorsEntry {
    const entry = this.tensors.get(name);
    if (!entry) throw new Error(`${this.path}: no tensor named '${name}' (the file has ${this.tensors.size})`);
    return entry;
  }

  /** The tensor's raw little-endian bytes. */
  async readBytes(name: string): Promise<Uint8Array> {
    const entry = this.entry(name);
    if (!this.handle) throw new Error(`${this.path}: file is closed`);
    return readExactly(this.handle, entry.byteLength, entry.byteOffset, `${this.path}: tensor '${name}'`);
  }

  async readF32(name: string): Promise<Float32Array> {
    return decodeSafetensorsF32(await this.readBytes(name), this.entry(name));
  }

  async readI32(name: string): Promise<Int32Array> {
    return decodeSafetensorsI32(await this.readBytes(name), this.entry(name));
  }

  async close(): Promise<void> {
    const handle = this.handle;
    this.handle = null;
    await handle?.close();
  }
}

async function readExactly(handle: FileHandle, length: number, position: number, what: string): Promise<Uint8Array> {
  const buffer = new Uint8Array(length);
  let filled = 0;
  while (filled < length) {
    const { bytesRead } = await handle.read(buffer, filled, length - filled, position + filled);
    if (bytesRead === 0) {
      throw new Error(`${what}: expected ${length} bytes at offset ${position}, the file ended after ${filled} (truncated while open?)`);
    }
    filled += bytesRead;
  }
  return buffer;
}

/** Opens a safetensors file reading only its header; tensors are read later, one by one. */
export async function openSafetensorsFile(path: string): Promise<SafetensorsFileReader> {
  const handle = await open(path, 'r');
  try {
    const { size } = await handle.stat();
    const prefix = await readExactly(handle, Math.min(8, size), 0, `${path}: header length`);
    const headerLength = readSafetensorsHeaderLength(prefix, size, path);
    const headerBytes = await readExactly(handle, headerLength, 8, `${path}: header`);
    const header = parseSafetensorsHeader(headerBytes, size, path);
    return new SafetensorsFileReader(path, handle, header.metadata, header.tensors, header.dataOffset);
  } catch (error) {
    await handle.close().catch(() => undefined);
    throw error;
  }
}
