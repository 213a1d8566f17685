// Element types. Compute happens in f32 (f64 in gradient checks); i32 holds indices;
// f16, bf16 and i8 are storage types for weights, converted to f32 on load.

export type FloatDType = 'f32' | 'f64';
export type ComputeDType = FloatDType | 'i32';
export type StorageDType = 'f16' | 'bf16' | 'i8';
export type DType = ComputeDType | StorageDType;

export type FloatArray = Float32Array | Float64Array;
export type TypedArrayFor<D extends DType> = D extends 'f32'
  ? Float32Array
  : D extends 'f64'
    ? Float64Array
    : D extends 'i32'
      ? Int32Array
      : D extends 'i8'
        ? Int8Array
        : Uint16Array;
export type AnyTypedArray = Float32Array | Float64Array | Int32Array | Uint16Array | Int8Array;

export const BYTES_PER_ELEMENT: Readonly<Record<DType, number>> = {
  f32: 4,
  f64: 8,
  i32: 4,
  f16: 2,
  bf16: 2,
  i8: 1,
};

export function isFloat(dtype: DType): dtype is FloatDType {
  return dtype === 'f32' || dtype === 'f64';
}

export function allocArray<D extends DType>(dtype: D, length: number): TypedArrayFor<D> {
  switch (dtype) {
    case 'f32':
      return new Float32Array(length) as TypedArrayFor<D>;
    case 'f64':
      return new Float64Array(length) as TypedArrayFor<D>;
    case 'i32':
      return new Int32Array(length) as TypedArrayFor<D>;
    case 'i8':
      return new Int8Array(length) as TypedArrayFor<D>;
    case 'f16':
    case 'bf16':
      return new Uint16Array(length) as TypedArrayFor<D>;
    default:
      throw new Error(`unknown dtype '${String(dtype)}'`);
  }
}

// ---- half precision conversions (exact, round-to-nearest-even on the way down) ----

const f32Scratch = new Float32Array(1);
const u32Scratch = new Uint32Array(f32Scratch.buffer);

export function f16BitsToF32(h: number): number {
  const sign = h & 0x8000 ? -1 : 1;
  const exp = (h >> 10) & 0x1f;
  const frac = h & 0x3ff;
  if (exp === 0) return sign * frac * 2 ** -24;
  if (exp === 31) return frac ? NaN : sign * Infinity;
  return sign * (1 + frac / 1024) * 2 ** (exp - 15);
}

export function f32ToF16Bits(value: number): number {
  f32Scratch[0] = value;
  const x = u32Scratch[0]!;
  const sign = (x >>> 16) & 0x8000;
  const exp = (x >>> 23) & 0xff;
  let mant = x & 0x7fffff;
  if (exp === 0xff) return sign | 0x7c00 | (mant ? 0x200 : 0);
  let e = exp - 127 + 15;
  if (e >= 31) return sign | 0x7c00;
  if (e <= 0) {
    if (e < -10) return sign;
    mant |= 0x800000;
    const shift = 14 - e;
    let half = mant >>> shift;
    const rem = mant & ((1 << shift) - 1);
    const halfway = 1 << (shift - 1);
    if (rem > halfway || (rem === halfway && (half & 1))) half++;
    return sign | half;
  }
  let half = (e << 10) | (mant >>> 13);
  const rem = mant & 0x1fff;
  if (rem > 0x1000 || (rem === 0x1000 && (half & 1))) half++;
  return sign | half;
}

export function bf16BitsToF32(h: number): number {
  u32Scratch[0] = h << 16;
  return f32Scratch[0]!;
}

export function f32ToBf16Bits(value: number): number {
  f32Scratch[0] = value;
  const x = u32Scratch[0]!;
  if ((x & 0x7f800000) === 0x7f800000 && x & 0x7fffff) return ((x >>> 16) | 0x40) & 0xffff;
  const rounding = 0x7fff + ((x >>> 16) & 1);
  return ((x + rounding) >>> 16) & 0xffff;
}

/** Converts f16 or bf16 bits to f32 (a new array). */
export function halfToF32(bits: Uint16Array, dtype: 'f16' | 'bf16'): Float32Array {
  const out = new Float32Array(bits.length);
  if (dtype === 'bf16') {
    const outBits = new Uint32Array(out.buffer);
    for (let i = 0; i < bits.length; i++) outBits[i] = bits[i]! << 16;
  } else {
    // A 64K-entry table beats recomputing powers for every element of a large weight.
    const table = f16ValueTable();
    for (let i = 0; i < bits.length; i++) out[i] = table[bits[i]!]!;
  }
  return out;
}

export function f32ToHalf(values: ArrayLike<number>, dtype: 'f16' | 'bf16'): Uint16Array {
  const out = new Uint16Array(values.length);
  const convert = dtype === 'f16' ? f32ToF16Bits : f32ToBf16Bits;
  for (let i = 0; i < values.length; i++) out[i] = convert(values[i]!);
  return out;
}

let f16ToBf16LookupTable: Uint16Array | null = null;
/** bf16 bits of the value of f16 bits h (rounded to nearest even; infinities and NaN kept). */
export function f16BitsToBf16Bits(h: number): number {
  return f16ToBf16Table()[h & 0xffff]!;
}

/** f16BitsToBf16Bits for every f16 bit pattern (built once; hot loops index it directly). */
export function f16ToBf16Table(): Uint16Array {
  if (!f16ToBf16LookupTable) {
    f16ToBf16LookupTable = new Uint16Array(65536);
    const table = f16ValueTable();
    for (let i = 0; i < 65536; i++) f16ToBf16LookupTable[i] = f32ToBf16Bits(table[i]!);
  }
  return f16ToBf16LookupTable;
}

let f16LookupTable: Float32Array | null = null;
/** The f32 value of every f16 bit pattern (built once; hot loops index it directly). */
export function f16ValueTable(): Float32Array {
  if (!f16LookupTable) {
    f16LookupTable = new Float32Array(65536);
    for (let h = 0; h < 65536; h++) f16LookupTable[h] = f16BitsToF32(h);
  }
  return f16LookupTable;
}

/** Symmetric int8 quantisation with one scale per row: value = q * scale[row]. */
export function int8ToF32(q: Int8Array, scales: Float32Array, rowLength: number): Float32Array {
  const out = new Float32Array(q.length);
  for (let i = 0; i < q.length; i++) out[i] = q[i]! * scales[(i / rowLength) | 0]!;
  return out;
}

export function f32ToInt8(values: Float32Array, rowLength: number): { q: Int8Array; scales: Float32Array } {
  const rows = values.length / rowLength;
  if (!Number.isInteger(rows)) throw new Error(`f32ToInt8: length ${values.length} is not a multiple of row length ${rowLength}`);
  const q = new Int8Array(values.length);
  const scales = new Float32Array(rows);
  for (let r = 0; r < rows; r++) {
    let maxAbs = 0;
    for (let j = 0; j < rowLength; j++) maxAbs = Math.max(maxAbs, Math.abs(values[r * rowLength + j]!));
    const scale = maxAbs / 127 || 1;
    scales[r] = scale;
    for (let j = 0; j < rowLength; j++) q[r * rowLength + j] = Math.round(values[r * rowLength + j]! / scale);
  }
  return { q, scales };
}

/** Converts elements between dtypes (f16/bf16 decoded from their bits; i8 taken as plain integers). */
export function convertArray(src: AnyTypedArray, from: DType, to: DType): AnyTypedArray {
  if (from === to) return src.slice();
  if (from === 'f16' || from === 'bf16') {
    const f = halfToF32(src as Uint16Array, from);
    return to === 'f32' ? f : convertArray(f, 'f32', to);
  }
  if (to === 'f16' || to === 'bf16') return f32ToHalf(src, to);
  const out = allocArray(to, src.length);
  if (to === 'i32' || to === 'i8') {
    for (let i = 0; i < src.length; i++) out[i] = Math.trunc(src[i]!);
  } else {
    out.set(src);
  }
  return out;
}

/**
 * Little-endian file bytes of f32/f16/bf16/f64 values as a new Float32Array. Copies first: file
 * bytes sit at any offset (typed views need alignment), and a Node Buffer's slice() is no copy.
 */
export function floatsFromBytes(bytes: Uint8Array, format: 'f32' | 'f16' | 'bf16' | 'f64'): Float32Array {
  const copy = new Uint8Array(bytes.length);
  copy.set(bytes);
  const buffer = copy.buffer;
  switch (format) {
    case 'f32':
      return new Float32Array(buffer);
    case 'f16':
    case 'bf16':
      return halfToF32(new Uint16Array(buffer), format);
    case 'f64':
      return Float32Array.from(new Float64Array(buffer));
  }
}
