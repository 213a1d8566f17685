// Finite-difference gradient checking. The function is reduced to a scalar by a fixed random
// projection, analytic gradients come from `backward`, and numeric ones from central
// differences on each input element (through its view's strides, so strided leaves are tested
// as they are). Run it on f64 inputs: the whole op then computes in double precision.

import { Rng } from '../tensor/rng.js';
import { forEachOffset, Tensor } from '../tensor/tensor.js';
import { backward, noGrad } from './engine.js';
import { mul } from './ops/elementwise.js';
import { sum } from './ops/reduce.js';

export interface GradcheckOptions {
  eps?: number;
  atol?: number;
  rtol?: number;
  seed?: number;
}

export interface GradcheckResult {
  ok: boolean;
  maxAbsError: number;
  /** First mismatches, for the error message. */
  failures: string[];
}

export function gradcheck(fn: (...inputs: Tensor[]) => Tensor, inputs: readonly Tensor[], options: GradcheckOptions = {}): GradcheckResult {
  const eps = options.eps ?? 1e-6;
  const atol = options.atol ?? 1e-6;
  const rtol = options.rtol ?? 1e-5;
  const rng = new Rng(options.seed ?? 1234);
  for (const x of inputs) {
    if (x.requiresGrad && x.strides.some((s, i) => s === 0 && x.shape[i]! > 1)) {
      throw new Error('gradcheck: a leaf input may not be a stride-0 (expanded) view; expand inside fn instead');
    }
  }
  const out0 = noGrad(() => fn(...inputs));
  const weights = new Tensor(new Float64Array(out0.size).map(() => rng.normal()), out0.dtype === 'f64' ? 'f64' : 'f32', out0.shape);
  const weightsTyped = out0.dtype === 'f64' ? weights : new Tensor(Float32Array.from(weights.data as Float64Array), 'f32', out0.shape);
  const objective = (): Tensor => sum(mul(fn(...inputs), weightsTyped));

  for (const x of inputs) x.grad = null;
  backward(objective());
  const failures: string[] = [];
  let maxAbsError = 0;
  inputs.forEach((x, inputIndex) => {
    if (!x.requiresGrad) return;
    const analytic = x.grad ? x.grad.toArray() : new Float64Array(x.size);
    const data = x.data;
    forEachOffset(x.shape, x.strides, x.offset, (p, linear) => {
      const original = data[p]!;
      data[p] = original + eps;
      const plus = noGrad(() => objective().item());
      data[p] = original - eps;
      const minus = noGrad(() => objective().item());
      data[p] = original;
      const numeric = (plus - minus) / (2 * eps);
      const a = analytic[linear]!;
      const err = Math.abs(a - numeric);
      maxAbsError = Math.max(maxAbsError, err);
      if (!(err <= atol + rtol * Math.abs(numeric)) && failures.length < 8) {
        failures.push(`input ${inputIndex} element ${linear}: analytic ${a}, numeric ${numeric}`);
      }
    });
  });
  return { ok: failures.length === 0, maxAbsError, failures };
}
