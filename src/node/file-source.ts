// Node file access for model files: a ByteSource over an open file handle (reads on demand, so
// multi-GB GGUF and safetensors files are never read whole), and a streaming, atomic GGUF writer.

import { open } from 'node:fs/promises';
import { writeFileAtomicWith } from './files.js';

import { checkReadRange, type ByteSource } from '../io/byte-source.js';
import { readGgufHeader, type GgufHeader } from '../io/gguf-read.js';
import { encodeGgufChunks, type GgufWriteSpec } from '../io/gguf-write.js';

export interface FileByteSource extends ByteSource {
  close(): Promise<void>;
}

/** Opens `path` for random-access reads; close() when done. */
export async function openFileByteSource(path: string): Promise<FileByteSource> {
  const handle = await open(path, 'r');
  let size: number;
  try {
    size = (await handle.stat()).size;
  } catch (error) {
    await handle.close().catch(() => undefined);
    throw error;
  }
  let closed = false;
  const source: FileByteSource = {
    name: path,
    byteLength: size,
    async read(offset: number, length: number): Promise<Uint8Array> {
      checkReadRange(source, offset, length);
      if (closed) throw new Error(`${path}: read after close`);
      const buffer = new Uint8Array(length);
      let filled = 0;
      while (filled < length) {
        // A single read() is capped near 2 GiB; larger tensors take several.
        const chunk = Math.min(length - filled, 1 << 30);
        const { bytesRead } = await handle.read(buffer, filled, chunk, offset + filled);
        if (bytesRead === 0) throw new Error(`${path}: expected ${length} bytes at offset ${offset}, the file ended after ${filled} (truncated while open?)`);
        filled += bytesRead;
      }
      return buffer;
    },
    async close(): Promise<void> {
      if (closed) return;
      closed = true;
      await handle.close();
    },
  };
  return source;
}

/**
 * Opens a GGUF file and parses its header (metadata and tensor table) without reading tensor data;
 * read tensors with readGgufTensorF32(file, header.tensors.get(name)). close() the file when done.
 */
export async function openGgufFile(path: string): Promise<{ header: GgufHeader; file: FileByteSource }> {
  const file = await openFileByteSource(path);
  try {
    return { header: await readGgufHeader(file), file };
  } catch (error) {
    await file.close().catch(() => undefined);
    throw error;
  }
}

/**
 * Writes a GGUF file tensor by tensor (see encodeGgufChunks), so a model larger than memory likes
 * can be written; atomic like writeFileAtomic: a temporary file, fsync, then rename over `path`.
 */
export async function writeGgufFile(path: string, spec: GgufWriteSpec): Promise<void> {
  await writeFileAtomicWith(path, async (handle) => {
    for (const chunk of encodeGgufChunks(spec)) {
      let written = 0;
      while (written < chunk.length) written += (await handle.write(chunk, written, chunk.length - written)).bytesWritten;
    }
  });
}
