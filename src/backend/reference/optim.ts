// Reference optimizer updates: plain loops over the storage, in double precision per element.

import type { AdamStep } from '../../ops/kernels.js';
import type { FloatArray } from '../../tensor/dtype.js';
import type { Tensor } from '../../tensor/tensor.js';

/** The contiguous storage of t (a subarray when it starts at an offset). */
function storage(t: Tensor, what: string): FloatArray {
  if (!t.isContiguous()) throw new Error(`adamUpdate: ${what} must be contiguous`);
  const data = t.data as FloatArray;
  return t.offset === 0 && data.length === t.size ? data : data.subarray(t.offset, t.offset + t.size);
}

export function adamUpdate(param: Tensor, grad: Tensor, m: Tensor, v: Tensor, step: AdamStep): void {
  const p = storage(param, 'param');
  const ms = storage(m, 'm');
  const vs = storage(v, 'v');
  const g = grad.toArray();
  const n = p.length;
  if (g.length !== n || ms.length !== n || vs.length !== n) throw new Error(`adamUpdate: sizes differ (param ${n}, grad ${g.length}, m ${ms.length}, v ${vs.length})`);
  const { decay, l2, beta1, beta2, stepSize, bias2Sqrt, eps } = step;
  for (let i = 0; i < n; i++) {
    if (decay !== 1) p[i] = p[i]! * decay;
    const gi = l2 !== 0 ? g[i]! + l2 * p[i]! : g[i]!;
    ms[i] = beta1 * ms[i]! + (1 - beta1) * gi;
    vs[i] = beta2 * vs[i]! + (1 - beta2) * gi * gi;
    p[i] = p[i]! - (stepSize * ms[i]!) / (Math.sqrt(vs[i]!) / bias2Sqrt + eps);
  }
}
