// The IDX format used by MNIST (http://yann.lecun.com/exdb/mnist/): two zero bytes, an element type
// byte, a rank byte, then one big-endian uint32 per dimension and the elements. Only unsigned
// bytes (type 0x08) are read: that is what MNIST's images (0x00000803) and labels (0x00000801) hold.

export interface IdxArray {
  readonly dims: readonly number[];
  /** A view into the input bytes, row-major. */
  readonly data: Uint8Array;
}

const UNSIGNED_BYTE = 0x08;

export function parseIdx(bytes: Uint8Array, source: string): IdxArray {
  if (bytes.length < 4) throw new Error(`${source}: ${bytes.length} bytes is too short for an IDX magic number (truncated?)`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const magic = view.getUint32(0, false);
  if (bytes[0] !== 0 || bytes[1] !== 0) throw new Error(`${source}: magic 0x${hex(magic)} is not an IDX magic number (gzipped file not unpacked?)`);
  if (bytes[2] !== UNSIGNED_BYTE) {
    throw new Error(`${source}: IDX element type 0x${bytes[2]!.toString(16).padStart(2, '0')} is not supported (only unsigned byte, 0x08)`);
  }
  const rank = bytes[3]!;
  const headerLength = 4 + 4 * rank;
  if (bytes.length < headerLength) throw new Error(`${source}: file ends inside the ${rank} IDX dimensions (truncated?)`);
  const dims: number[] = [];
  let count = 1;
  for (let axis = 0; axis < rank; axis++) {
    const dim = view.getUint32(4 + 4 * axis, false);
    dims.push(dim);
    count *= dim;
  }
  const expected = headerLength + count;
  if (bytes.length !== expected) {
    throw new Error(
      `${source}: IDX dims [${dims.join(', ')}] need ${expected} bytes but the file has ${bytes.length}${bytes.length < expected ? ' (truncated?)' : ''}`,
    );
  }
  return { dims, data: bytes.subarray(headerLength) };
}

function hex(value: number): string {
  return value.toString(16).padStart(8, '0');
}
