// The KV cache for decoding: the caller owns it and passes it to the model and the attention policy.
//
// Storage is one block per (layer, sequence, KV head), preallocated for `capacity` positions and
// doubled when full (amortised: no reallocation per step), laid out as kvBlockLayout
// (src/ops/attention-kernels.ts) defines: mean of V, running sum of V, K rows, V rows, and K
// transposed when K is stored twice. K and V are f32 or f16 (the dtype: f16 halves the bytes every
// decode step reads; appended rows are rounded to nearest even). K transposed is f32 in an f32 cache
// and bf16 in an f16 one (the stored f16 K rounded again: SparQ's step 1 only ranks positions and
// estimates alpha, and the wasm kernel widens bf16 in one instruction per 4 values where f16 takes
// three). The mean and sum of V stay f32,
// summing the stored (rounded) values, so the mean is the mean of what the kernels read. Per-head blocks keep each head's K and V together (a kernel call touches one block per head) and
// let a cache larger than one 4 GiB wasm memory spread over several arenas.

import { type KvBlock, type KvBlockLayout, kvBlockLayout, type KvDType, kvElementBytes, KV_DTYPES } from '../ops/attention-kernels.js';
import { f16ToBf16Table, f16ValueTable, f32ToF16Bits, halfToF32 } from '../tensor/dtype.js';

export interface KvCacheOptions {
  layers: number;
  kvHeads: number;
  headDim: number;
  /** Number of sequences decoded together. */
  batch: number;
  /** Positions preallocated per block (default 256); blocks double when full. */
  initialCapacity?: number;
  /** Hard cap on positions per sequence (the model's context); appending past it throws. */
  maxLength?: number;
  /** Keep a second, component-major copy of K in sync (SparQ step 1 reads it at streaming speed). */
  storeKTransposed?: boolean;
  /** Element type of K and V (default 'f32'); the mean of V is f32 either way. */
  dtype?: KvDType;
  /** Allocates zero-filled storage (e.g. in wasm arenas); default: plain Float32Array. */
  allocator?: (floats: number) => Float32Array;
  /** Releases storage obtained from allocator (on growth and dispose). */
  release?: (view: Float32Array) => void;
}

/** Where one (layer, sequence, KV head) lives: the block layout's offsets (in bytes) into `data`. */
export type KvHeadBlock = KvBlock;

const DEFAULT_CAPACITY = 256;
/** Capacities are multiples of this, so that transposed rows start 64-byte aligned. */
const CAPACITY_ALIGN = 16;

const roundUp = (n: number, a: number): number => Math.ceil(n / a) * a;

function checkPositiveInt(name: string, v: number): void {
  if (!Number.isInteger(v) || v <= 0) throw new RangeError(`KvCache: ${name} must be a positive integer, got ${v}`);
}

interface Block {
  data: Float32Array;
  capacity: number;
  /** kvBlockLayout of this capacity, computed once (head() runs for every head of every layer each step). */
  layout: KvBlockLayout;
}

export class KvCache {
  readonly layers: number;
  readonly kvHeads: number;
  readonly headDim: number;
  readonly batch: number;
  readonly storeKTransposed: boolean;
  readonly maxLength: number;
  readonly dtype: KvDType;
  /** Bytes of one K or V element (4 for f32, 2 for f16). */
  readonly elementBytes: 2 | 4;
  private readonly allocate: (floats: number) => Float32Array;
  private readonly release: ((view: Float32Array) => void) | undefined;
  private readonly initialCapacity: number;
  // Indexed (layer * batch + seq) * kvHeads + head.
  private readonly blocks: (Block | undefined)[];
  // Indexed layer * batch + seq.
  private readonly lengths: Int32Array;
  // Per block: 1 once an f16 block received an inf or NaN (KvBlock.mayHoldNonFinite).
  private readonly nonFinite: Uint8Array;
  private allocatedBytes = 0;
  private disposed = false;

  constructor(options: KvCacheOptions) {
    checkPositiveInt('layers', options.layers);
    checkPositiveInt('kvHeads', options.kvHeads);
    checkPositiveInt('headDim', options.headDim);
    checkPositiveInt('batch', options.batch);
    if (options.maxLength !== undefined) checkPositiveInt('maxLength', options.maxLength);
    if (options.initialCapacity !== undefined) checkPositiveInt('initialCapacity', options.initialCapacity);
    this.layers = options.layers;
    this.kvHeads = options.kvHeads;
    this.headDim = options.headDim;
    this.batch = options.batch;
    this.storeKTransposed = options.storeKTransposed ?? false;
    const dtype = options.dtype ?? 'f32';
    if (!KV_DTYPES.includes(dtype)) throw new RangeError(`KvCache: dtype must be one of ${KV_DTYPES.join(', ')}, got '${String(dtype)}'`);
    this.dtype = dtype;
    this.elementBytes = kvElementBytes(dtype);
    this.maxLength = options.maxLength ?? Number.MAX_SAFE_INTEGER;
    const initial = Math.min(options.initialCapacity ?? DEFAULT_CAPACITY, this.maxLength);
    this.initialCapacity = roundUp(initial, CAPACITY_ALIGN);
    this.allocate = options.allocator ?? ((floats: number) => new Float32Array(floats));
    this.release = options.release;
    this.blocks = new Array<Block | undefined>(this.layers * this.batch * this.kvHeads).fill(undefined);
    this.lengths = new Int32Array(this.layers * this.batch);
    this.nonFinite = new Uint8Array(this.blocks.length);
  }

  /** Bytes allocated for all blocks. */
  get bytes(): number {
    return this.allocatedBytes;
  }

  /**
   * Positions stored for a sequence in `layer`; by default in the last layer, i.e. the number of
   * completed steps (during a step, after earlier layers appended, this is still the position of
   * the token being decoded).
   */
  length(seq: number, layer = this.layers - 1): number {
    return this.lengths[this.layerSeq(layer, seq)]!;
  }

  /** Positions a block can hold before it grows. */
  capacity(layer: number, seq: number): number {
    return this.blocks[this.layerSeq(layer, seq) * this.kvHeads]?.capacity ?? 0;
  }

  /**
   * Appends `positions` positions for one layer and sequence. k and v are laid out
   * [positions, kvHeads, headDim] (the rows of the K and V projections). Also updates the f32
   * running sum and mean of V.
   */
  append(layer: number, seq: number, k: Float32Array, v: Float32Array, positions: number): void {
    this.checkLive();
    const ls = this.layerSeq(layer, seq);
    if (!Number.isInteger(positions) || positions < 0) {
      throw new RangeError(`KvCache.append: positions must be a non-negative integer, got ${positions}`);
    }
    const d = this.headDim;
    const H = this.kvHeads;
    const need = positions * H * d;
    if (k.length < need) throw new RangeError(`KvCache.append: k has ${k.length} elements, needs ${need} (${positions} x ${H} kv heads x ${d})`);
    if (v.length < need) throw new RangeError(`KvCache.append: v has ${v.length} elements, needs ${need} (${positions} x ${H} kv heads x ${d})`);
    const start = this.lengths[ls]!;
    const end = start + positions;
    if (end > this.maxLength) {
      throw new RangeError(`KvCache.append: sequence ${seq} in layer ${layer} would hold ${end} positions, past maxLength ${this.maxLength}`);
    }
    if (positions === 0) return;
    const half = this.elementBytes === 2;
    // Decoding appends one position per layer each step: nothing is allocated per head or row.
    const f16Values = half ? f16ValueTable() : null;
    const bf16Of = half ? f16ToBf16Table() : null;
    for (let h = 0; h < H; h++) {
      const block = this.ensureCapacity(ls * H + h, start, end);
      const data = block.data;
      const cap = block.capacity;
      const layout = block.layout;
      const sumOff = layout.sumOffset >> 2;
      const meanOff = layout.meanOffset >> 2;
      if (half) {
        const bits = new Uint16Array(data.buffer, data.byteOffset, data.length * 2);
        const kOff = (layout.keyOffset >> 1) + start * d;
        const vOff = (layout.valueOffset >> 1) + start * d;
        const tOff = layout.transposedOffset >> 1;
        // Exponent bits all set: inf or NaN (OR-ed over the rows, checked once).
        let special = 0;
        for (let t = 0; t < positions; t++) {
          const src = (t * H + h) * d;
          const kRow = kOff + t * d;
          const vRow = vOff + t * d;
          for (let c = 0; c < d; c++) {
            const b = f32ToF16Bits(k[src + c]!);
            bits[kRow + c] = b;
            special |= (b & 0x7c00) === 0x7c00 ? 1 : 0;
          }
          if (this.storeKTransposed) for (let c = 0; c < d; c++) bits[tOff + c * cap + start + t] = bf16Of![bits[kRow + c]!]!;
          // The running sum adds V as stored (its f16 value), so the mean matches the cache's contents.
          for (let c = 0; c < d; c++) {
            const b = f32ToF16Bits(v[src + c]!);
            bits[vRow + c] = b;
            special |= (b & 0x7c00) === 0x7c00 ? 1 : 0;
            data[sumOff + c] = Math.fround(data[sumOff + c]! + f16Values![b]!);
          }
        }
        if (special) this.nonFinite[ls * H + h] = 1;
      } else {
        const kOff = (layout.keyOffset >> 2) + start * d;
        const vOff = (layout.valueOffset >> 2) + start * d;
        for (let t = 0; t < positions; t++) {
          const src = (t * H + h) * d;
          data.set(k.subarray(src, src + d), kOff + t * d);
          data.set(v.subarray(src, src + d), vOff + t * d);
          for (let c = 0; c < d; c++) data[sumOff + c] = Math.fround(data[sumOff + c]! + v[src + c]!);
        }
        if (this.storeKTransposed) {
          const tOff = layout.transposedOffset >> 2;
          for (let c = 0; c < d; c++) {
            const row = tOff + c * cap + start;
            for (let t = 0; t < positions; t++) data[row + t] = k[(t * H + h) * d + c]!;
          }
        }
      }
      const inv = 1 / end;
      for (let c = 0; c < d; c++) data[meanOff + c] = data[sumOff + c]! * inv;
    }
    this.lengths[ls] = end;
  }

  /** K rows [length, headDim] as f32: a view of an f32 cache, a decoded copy of an f16 one. */
  keys(layer: number, seq: number, kvHead: number): Float32Array {
    const b = this.head(layer, seq, kvHead);
    return this.elements(b, b.keyOffset, b.length * this.headDim);
  }

  /**
   * K transposed: row c (component) at data[c * stride ...], the first length entries valid (f32:
   * a view; f16 cache: a decoded copy of its bf16 elements).
   */
  keysTransposed(layer: number, seq: number, kvHead: number): { data: Float32Array; stride: number } | null {
    if (!this.storeKTransposed) return null;
    const b = this.head(layer, seq, kvHead);
    return { data: transposedElements(b), stride: b.capacity };
  }

  /** V rows [length, headDim] as f32 (a view, or a decoded copy of an f16 cache). */
  values(layer: number, seq: number, kvHead: number): Float32Array {
    const b = this.head(layer, seq, kvHead);
    return this.elements(b, b.valueOffset, b.length * this.headDim);
  }

  /** K rows [length, headDim] as stored (a view): f16 bits (Uint16Array) or f32. */
  rawKeys(layer: number, seq: number, kvHead: number): Uint16Array | Float32Array {
    const b = this.head(layer, seq, kvHead);
    return kvElements(b, b.keyOffset, b.length * this.headDim);
  }

  /** Mean of V over the stored positions [headDim] (a view; zeros when empty). */
  valueMean(layer: number, seq: number, kvHead: number): Float32Array {
    const b = this.head(layer, seq, kvHead);
    const o = b.meanOffset >> 2;
    return b.data.subarray(o, o + this.headDim);
  }

  /** The storage of one head, for kernels that take raw offsets. */
  head(layer: number, seq: number, kvHead: number): KvHeadBlock {
    this.checkLive();
    const ls = this.layerSeq(layer, seq);
    if (!(Number.isInteger(kvHead) && kvHead >= 0 && kvHead < this.kvHeads)) {
      throw new RangeError(`KvCache: kvHead ${kvHead} out of range [0, ${this.kvHeads})`);
    }
    const slot = ls * this.kvHeads + kvHead;
    const block = this.blocks[slot] ?? this.ensureCapacity(slot, 0, 0);
    const l = block.layout;
    // Spelled out: an object spread here cost ~4 us a call on Node 20, 64 calls a decode step.
    return {
      dtype: l.dtype, elementBytes: l.elementBytes, meanOffset: l.meanOffset, sumOffset: l.sumOffset, keyOffset: l.keyOffset,
      valueOffset: l.valueOffset, transposedOffset: l.transposedOffset, bytes: l.bytes,
      data: block.data, capacity: block.capacity, length: this.lengths[ls]!, headDim: this.headDim,
      mayHoldNonFinite: this.nonFinite[slot] === 1,
    };
  }

  /** Forgets the positions of one sequence (or all); keeps the memory for reuse. */
  reset(seq?: number): void {
    this.checkLive();
    if (seq !== undefined) this.layerSeq(0, seq);
    const d = this.headDim;
    for (let layer = 0; layer < this.layers; layer++) {
      for (let s = 0; s < this.batch; s++) {
        if (seq !== undefined && s !== seq) continue;
        const ls = layer * this.batch + s;
        this.lengths[ls] = 0;
        // The mean and the running sum (the first 2 d floats of the layout).
        for (let h = 0; h < this.kvHeads; h++) {
          this.blocks[ls * this.kvHeads + h]?.data.fill(0, 0, 2 * d);
          this.nonFinite[ls * this.kvHeads + h] = 0;
        }
      }
    }
  }

  /** Releases all storage; the cache cannot be used afterwards. */
  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    for (let i = 0; i < this.blocks.length; i++) {
      const block = this.blocks[i];
      if (block) this.release?.(block.data);
      this.blocks[i] = undefined;
    }
    this.allocatedBytes = 0;
  }

  private elements(block: KvBlock, byteOffset: number, count: number): Float32Array {
    const raw = kvElements(block, byteOffset, count);
    return raw instanceof Float32Array ? raw : halfToF32(raw, 'f16');
  }

  private layout(capacity: number): KvBlockLayout {
    return kvBlockLayout(this.headDim, capacity, this.storeKTransposed, this.dtype);
  }

  private blockFloats(capacity: number): number {
    return this.layout(capacity).bytes / 4;
  }

  // Makes sure block `slot` holds positions [0, end); copies the first `keep` positions on growth.
  private ensureCapacity(slot: number, keep: number, end: number): Block {
    const old = this.blocks[slot];
    if (old && end <= old.capacity) return old;
    let capacity = old ? old.capacity : this.initialCapacity;
    while (capacity < end) capacity *= 2;
    capacity = roundUp(capacity, CAPACITY_ALIGN);
    const floats = this.blockFloats(capacity);
    const data = this.allocate(floats);
    if (data.length < floats) throw new RangeError(`KvCache: allocator returned ${data.length} floats, asked for ${floats}`);
    const block: Block = { data, capacity, layout: this.layout(capacity) };
    // The running V sum must start at zero even if the allocator hands out recycled memory.
    data.fill(0, 0, 2 * this.headDim);
    if (old) {
      const e = this.elementBytes;
      const oc = old.capacity;
      const src = new Uint8Array(old.data.buffer, old.data.byteOffset, old.data.length * 4);
      const dst = new Uint8Array(data.buffer, data.byteOffset, data.length * 4);
      const from = old.layout;
      const to = block.layout;
      const rowBytes = this.headDim * e;
      dst.set(src.subarray(0, from.keyOffset), 0); // mean and running sum
      dst.set(src.subarray(from.keyOffset, from.keyOffset + keep * rowBytes), to.keyOffset);
      dst.set(src.subarray(from.valueOffset, from.valueOffset + keep * rowBytes), to.valueOffset);
      if (this.storeKTransposed) {
        for (let c = 0; c < this.headDim; c++) {
          const row = from.transposedOffset + c * oc * e;
          dst.set(src.subarray(row, row + keep * e), to.transposedOffset + c * capacity * e);
        }
      }
      this.release?.(old.data);
      this.allocatedBytes -= this.blockFloats(oc) * 4;
    }
    this.allocatedBytes += floats * 4;
    this.blocks[slot] = block;
    return block;
  }

  private layerSeq(layer: number, seq: number): number {
    if (!(Number.isInteger(layer) && layer >= 0 && layer < this.layers)) {
      throw new RangeError(`KvCache: layer ${layer} out of range [0, ${this.layers})`);
    }
    if (!(Number.isInteger(seq) && seq >= 0 && seq < this.batch)) {
      throw new RangeError(`KvCache: sequence ${seq} out of range [0, ${this.batch})`);
    }
    return layer * this.batch + seq;
  }

  private checkLive(): void {
    if (this.disposed) throw new Error('KvCache: used after dispose()');
  }
}

/** `count` K/V elements of a block from byteOffset, as stored: Float32Array (f32) or Uint16Array (f16 bits); views. */
export function kvElements(block: KvBlock, byteOffset: number, count: number): Float32Array | Uint16Array {
  const data = block.data;
  return block.elementBytes === 2
    ? new Uint16Array(data.buffer, data.byteOffset + byteOffset, count)
    : new Float32Array(data.buffer, data.byteOffset + byteOffset, count);
}

/** The whole K^T part of a block (d x capacity) as f32: a view (f32) or a decoded copy (bf16). */
export function transposedElements(block: KvBlock): Float32Array {
  const raw = kvElements(block, block.transposedOffset, block.headDim * block.capacity);
  return raw instanceof Float32Array ? raw : halfToF32(raw, 'bf16');
}
