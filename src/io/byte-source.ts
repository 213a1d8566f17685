// Random access to the bytes of a file that may be larger than memory wants to hold at once
// (a GGUF, a safetensors shard). Platform-neutral: the browser can wrap a Uint8Array or a
// Blob; Node's file-backed source is in src/node/file-source.ts.

export interface ByteSource {
  /** Names the file (or other origin) in error messages. */
  readonly name: string;
  readonly byteLength: number;
  /** Exactly `length` bytes from `offset`; rejects, naming the file, when they are not all there. */
  read(offset: number, length: number): Promise<Uint8Array>;
}

/** Checks a read against the source's size with a message that names the file and what was read. */
export function checkReadRange(source: ByteSource, offset: number, length: number, what = 'read'): void {
  if (!Number.isSafeInteger(offset) || !Number.isSafeInteger(length) || offset < 0 || length < 0) {
    throw new Error(`${source.name}: ${what}: invalid range offset ${offset}, length ${length}`);
  }
  if (offset + length > source.byteLength) {
    throw new Error(
      `${source.name}: ${what}: bytes [${offset}, ${offset + length}) run past the end of the ${source.byteLength}-byte file (truncated?)`,
    );
  }
}

/** A ByteSource over bytes already in memory (a whole file, a fetch() result). Reads are views, not copies. */
export function memoryByteSource(bytes: Uint8Array, name: string): ByteSource {
  return {
    name,
    byteLength: bytes.length,
    read(offset: number, length: number): Promise<Uint8Array> {
      try {
        checkReadRange(this, offset, length);
      } catch (error) {
        return Promise.reject(error);
      }
      return Promise.resolve(bytes.subarray(offset, offset + length));
    },
  };
}
