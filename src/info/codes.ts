// Dense ids for the distinct rows of an integer code matrix (a layer's joint bin codes). A row of
// 12 units with 32 bins needs 72 bits, more than a double holds exactly, so rows are hashed to 32
// bits and every hash hit is confirmed by comparing the rows themselves: a collision costs a probe,
// never a wrong id.

import { murmur3Finish, murmur3Round } from '../tensor/hash.js';

export type CodeMatrix = Uint8Array | Uint16Array | Int32Array;

export interface RowIds {
  /** ids[i] in [0, count): equal rows share an id, ids are numbered by first appearance. */
  readonly ids: Int32Array;
  readonly count: number;
}

export interface RowIdOptions {
  /**
   * Replaces the row hash (tests force collisions with a constant). The default mixes every
   * code with a multiply-xorshift step (murmur3's finaliser constants).
   */
  readonly hash?: (codes: CodeMatrix, start: number, width: number) => number;
}

function mixRow(codes: CodeMatrix, start: number, width: number): number {
  let h = 0x9747b28c ^ width;
  for (let c = 0; c < width; c++) h = murmur3Round(h, codes[start + c]! + 1);
  return murmur3Finish(h);
}

function rowsEqual(codes: CodeMatrix, a: number, b: number, width: number): boolean {
  for (let c = 0; c < width; c++) if (codes[a + c] !== codes[b + c]) return false;
  return true;
}

/** Ids of the distinct rows of `codes` [n, width] (open addressing, linear probing, full-row check). */
export function rowIds(codes: CodeMatrix, n: number, width: number, options: RowIdOptions = {}): RowIds {
  if (codes.length !== n * width) throw new Error(`rowIds: ${codes.length} codes, expected n * width = ${n} * ${width}`);
  const hash = options.hash ?? mixRow;
  let capacity = 16;
  while (capacity < 2 * n) capacity *= 2;
  const mask = capacity - 1;
  const slotRow = new Int32Array(capacity).fill(-1); // first row holding this key
  const slotHash = new Uint32Array(capacity);
  const slotId = new Int32Array(capacity);
  const ids = new Int32Array(n);
  let count = 0;
  for (let i = 0; i < n; i++) {
    const start = i * width;
    const h = hash(codes, start, width) >>> 0;
    let slot = h & mask;
    for (;;) {
      const row = slotRow[slot]!;
      if (row < 0) {
        slotRow[slot] = i;
        slotHash[slot] = h;
        slotId[slot] = count;
        ids[i] = count++;
        break;
      }
      if (slotHash[slot] === h && rowsEqual(codes, row * width, start, width)) {
        ids[i] = slotId[slot]!;
        break;
      }
      slot = (slot + 1) & mask;
    }
  }
  return { ids, count };
}

/** Joint ids of two id vectors (the pair (a[i], b[i]) as one symbol). */
export function pairIds(a: Int32Array, countA: number, b: Int32Array, countB: number): RowIds {
  if (a.length !== b.length) throw new Error(`pairIds: ${a.length} and ${b.length} ids`);
  const n = a.length;
  const ids = new Int32Array(n);
  if (countA * countB <= 1 << 24) {
    // Small product space: a lookup table, then renumber by first appearance.
    const table = new Int32Array(countA * countB).fill(-1);
    let count = 0;
    for (let i = 0; i < n; i++) {
      const key = a[i]! * countB + b[i]!;
      let id = table[key]!;
      if (id < 0) id = table[key] = count++;
      ids[i] = id;
    }
    return { ids, count };
  }
  const codes = new Int32Array(2 * n);
  for (let i = 0; i < n; i++) {
    codes[2 * i] = a[i]!;
    codes[2 * i + 1] = b[i]!;
  }
  return rowIds(codes, n, 2);
}
