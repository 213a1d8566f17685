// MurmurHash3 (x86, 32-bit) in steps, for hashing integers without allocating: seeds derived from
// several numbers (data/mlm.ts) and rows of codes (info/codes.ts).

/** One body round: mixes the 32-bit block k into the running hash h (returned as an int32). */
export function murmur3Round(h: number, k: number): number {
  k = Math.imul(k, 0xcc9e2d51);
  k = (k << 15) | (k >>> 17);
  h ^= Math.imul(k, 0x1b873593);
  h = (h << 13) | (h >>> 19);
  return (Math.imul(h, 5) + 0xe6546b64) | 0;
}

/** The finaliser (fmix32): every input bit reaches every output bit; an unsigned 32-bit result. */
export function murmur3Finish(h: number): number {
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}
