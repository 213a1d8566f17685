// LAMB (You et al. 2019, "Large Batch Optimization for Deep Learning"), as NVIDIA's BERT
// pre-training uses it (apex FusedLAMB): Adam moments with bias correction, weight decay inside
// the update, and a per-parameter (per-layer) trust ratio:
//   m = beta1 m + (1 - beta1) g;  v = beta2 v + (1 - beta2) g²
//   u = (m / (1 - beta1^t)) / (sqrt(v / (1 - beta2^t)) + eps) + weightDecay * p
//   r = ||p|| / ||u||, or 1 when either norm is 0 or the group is excluded from adaptation
//   p = p - lr * r * u
// Gradient clipping is separate (clipGradNorm before step), as NVIDIA's recipe clips globally.

import type { FloatArray } from '../tensor/dtype.js';
import type { Tensor } from '../tensor/tensor.js';
import { validateAdamHyperparameters, type AdamHyperparameters } from './adam.js';
import { Optimizer, withDefaults, type OptimizerParams, type ParamState } from './optimizer.js';

export interface LAMBHyperparameters extends AdamHyperparameters {
  /** Divide the moments by (1 - beta^t); default true. */
  biasCorrection: boolean;
  /** Use trust ratio 1 for this group (biases and norm weights in BERT recipes); default false. */
  excludeFromAdaptation: boolean;
  /** Upper clamp on the trust ratio, or null for none (default). */
  maxTrustRatio: number | null;
}

export type LAMBOptions = Partial<LAMBHyperparameters>;

/** LAMB; defaults lr 1e-3, betas (0.9, 0.999), eps 1e-6, weightDecay 0.01 (apex FusedLAMB's). */
export class LAMB extends Optimizer<LAMBHyperparameters> {
  protected readonly stateNames = ['exp_avg', 'exp_avg_sq'] as const;
  constructor(params: OptimizerParams<LAMBHyperparameters>, options: LAMBOptions = {}) {
    const defaults: LAMBHyperparameters = {
      lr: 1e-3,
      beta1: 0.9,
      beta2: 0.999,
      eps: 1e-6,
      weightDecay: 0.01,
      biasCorrection: true,
      excludeFromAdaptation: false,
      maxTrustRatio: null,
    };
    super('LAMB', params, withDefaults(defaults, options));
  }

  protected validate(h: LAMBHyperparameters): void {
    validateAdamHyperparameters('LAMB', h);
    if (h.maxTrustRatio !== null && !(h.maxTrustRatio > 0)) throw new Error(`LAMB: maxTrustRatio must be positive or null, got ${h.maxTrustRatio}`);
  }

  protected update(p: FloatArray, grad: ArrayLike<number>, state: ParamState, h: LAMBHyperparameters, tensor: Tensor): void {
    const { lr, beta1, beta2, eps, weightDecay } = h;
    const m = this.buffer(state, 'exp_avg', tensor);
    const v = this.buffer(state, 'exp_avg_sq', tensor);
    const bias1 = h.biasCorrection ? 1 - beta1 ** state.step : 1;
    const bias2 = h.biasCorrection ? 1 - beta2 ** state.step : 1;
    const n = p.length;
    // Two passes instead of an update buffer (an f64 copy of the largest embedding would be big):
    // the first updates the moments and sums the norms, the second recomputes the same update from
    // the stored moments and applies it.
    const updateAt = (i: number): number => m[i]! / bias1 / (Math.sqrt(v[i]! / bias2) + eps) + weightDecay * p[i]!;
    let weightSq = 0;
    let updateSq = 0;
    for (let i = 0; i < n; i++) {
      const g = grad[i]!;
      m[i] = beta1 * m[i]! + (1 - beta1) * g;
      v[i] = beta2 * v[i]! + (1 - beta2) * g * g;
      const u = updateAt(i);
      weightSq += p[i]! * p[i]!;
      updateSq += u * u;
    }
    let trust = 1;
    if (!h.excludeFromAdaptation && weightSq > 0 && updateSq > 0) {
      trust = Math.sqrt(weightSq) / Math.sqrt(updateSq);
      if (h.maxTrustRatio !== null) trust = Math.min(trust, h.maxTrustRatio);
    }
    const stepSize = lr * trust;
    for (let i = 0; i < n; i++) p[i] = p[i]! - stepSize * updateAt(i);
  }
}
