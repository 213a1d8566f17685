// Shared shapes of the mutual-information estimators: a layer's activations for every input, row-major.

import type { FloatArray } from '../tensor/dtype.js';

/** One representation T for all N inputs: `data` is [n, width], row-major. */
export interface Activations {
  readonly data: FloatArray;
  readonly n: number;
  readonly width: number;
}

/** I(X;T) and I(T;Y) in bits. */
export interface InformationEstimate {
  readonly ixt: number;
  readonly ity: number;
}

/** Class labels Y: one integer in [0, numClasses) per input. */
export interface Labels {
  readonly values: Int32Array;
  readonly numClasses: number;
}

export function activations(data: FloatArray, n: number, width: number): Activations {
  if (!Number.isInteger(n) || n <= 0) throw new Error(`activations: n must be a positive integer, got ${n}`);
  if (!Number.isInteger(width) || width <= 0) throw new Error(`activations: width must be a positive integer, got ${width}`);
  if (data.length !== n * width) throw new Error(`activations: data has ${data.length} values, expected n * width = ${n} * ${width}`);
  return { data, n, width };
}

/** Labels from class ids; the number of classes is max + 1 unless given. */
export function labels(values: Int32Array | readonly number[], numClasses?: number): Labels {
  const ids = values instanceof Int32Array ? values : Int32Array.from(values);
  let max = -1;
  for (let i = 0; i < ids.length; i++) {
    const v = ids[i]!;
    if (!(v >= 0)) throw new Error(`labels: label at index ${i} is ${v}, labels must be non-negative integers`);
    if (v > max) max = v;
  }
  const classes = numClasses ?? max + 1;
  if (max >= classes) throw new Error(`labels: label ${max} is outside [0, ${classes})`);
  return { values: ids, numClasses: classes };
}

export function checkLabels(t: Activations, y: Labels, what: string): void {
  if (y.values.length !== t.n) throw new Error(`${what}: ${y.values.length} labels for ${t.n} activation rows`);
}

export const LN2 = Math.LN2;
