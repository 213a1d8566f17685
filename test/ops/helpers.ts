// Shared helpers for the op tests: seeded f64 leaves (contiguous or as strided views), small
// constant tensors, and closeness assertions with readable messages.

import assert from 'node:assert/strict';

import { numel } from '../../src/tensor/shape.js';
import type { Rng } from '../../src/tensor/rng.js';
import { setRequiresGrad, Tensor } from '../../src/tensor/tensor.js';

/**
 * How leaf values are drawn. 'signed': magnitude in [0.3, 1.5] with a random sign, which keeps them
 * away from the kinks at 0 (relu, abs, sign, prelu). 'positive': in [0.5, 2] (log, sqrt, pow's base).
 */
export type LeafInit = 'signed' | 'positive';

/** 'contiguous' leaves own their storage; 'strided' ones are transposed, step-2 views at offset 1. */
export type LeafLayout = 'contiguous' | 'strided';

function draw(rng: Rng, init: LeafInit): number {
  const u = rng.uniform();
  if (init === 'positive') return 0.5 + 1.5 * u;
  const magnitude = 0.3 + 1.2 * u;
  return rng.uniform() < 0.5 ? -magnitude : magnitude;
}

/**
 * An f64 leaf that requires a gradient. The strided layout is column-major (every axis order
 * reversed, i.e. a transposed view) with every stride doubled and the view starting at offset 1; the
 * storage in between holds NaN, so a kernel that reads outside the view poisons its result.
 */
export function makeLeaf(shape: readonly number[], rng: Rng, init: LeafInit, layout: LeafLayout): Tensor {
  const n = numel(shape);
  if (layout === 'contiguous') {
    const data = new Float64Array(n);
    for (let i = 0; i < n; i++) data[i] = draw(rng, init);
    return setRequiresGrad(new Tensor(data, 'f64', shape));
  }
  const strides = new Array<number>(shape.length);
  let s = 2;
  for (let i = 0; i < shape.length; i++) {
    strides[i] = s;
    s *= shape[i]!;
  }
  const storage = new Float64Array(2 * n + 1).fill(NaN);
  const view = new Tensor(storage, 'f64', shape, strides, 1);
  // Fill the view's elements in row-major order so values do not depend on the layout's order.
  const index = new Array<number>(shape.length).fill(0);
  for (let linear = 0; linear < n; linear++) {
    let p = 1;
    for (let d = 0; d < shape.length; d++) p += index[d]! * strides[d]!;
    storage[p] = draw(rng, init);
    for (let d = shape.length - 1; d >= 0; d--) {
      if (++index[d]! < shape[d]!) break;
      index[d] = 0;
    }
  }
  return setRequiresGrad(view);
}

/** An i32 tensor of the given shape (indices, targets). */
export function i32(values: readonly number[], shape: readonly number[] = [values.length]): Tensor {
  return new Tensor(Int32Array.from(values), 'i32', shape);
}

/** An f64 tensor of the given shape (no gradient). */
export function f64(values: readonly number[], shape: readonly number[] = [values.length]): Tensor {
  return new Tensor(Float64Array.from(values), 'f64', shape);
}

/** Asserts |actual - expected| <= atol + rtol * |expected| elementwise (NaN matches NaN, inf matches inf). */
export function assertClose(actual: Tensor | ArrayLike<number>, expected: ArrayLike<number>, atol = 1e-9, rtol = 0, what = 'values'): void {
  const a = actual instanceof Tensor ? actual.toList() : Array.from(actual);
  assert.equal(a.length, expected.length, `${what}: ${a.length} values, expected ${expected.length}`);
  for (let i = 0; i < a.length; i++) {
    const x = a[i]!;
    const y = expected[i]!;
    if (Number.isNaN(y) && Number.isNaN(x)) continue;
    if (x === y) continue;
    assert.ok(Math.abs(x - y) <= atol + rtol * Math.abs(y), `${what}[${i}]: got ${x}, expected ${y}\n  got      [${a.join(', ')}]\n  expected [${Array.from(expected).join(', ')}]`);
  }
}
