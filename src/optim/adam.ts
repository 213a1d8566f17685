// Adam (Kingma & Ba 2015) with L2 weight decay folded into the gradient, and AdamW (Loshchilov
// & Hutter 2019) with decoupled weight decay, both as torch.optim (amsgrad off):
//   AdamW only: p = p * (1 - lr * weightDecay)
//   Adam only:  g = grad + weightDecay * p
//   m = beta1 * m + (1 - beta1) * g;  v = beta2 * v + (1 - beta2) * g²
//   p = p - lr / (1 - beta1^t) * m / (sqrt(v) / sqrt(1 - beta2^t) + eps)

import type { FloatArray } from '../tensor/dtype.js';
import type { Tensor } from '../tensor/tensor.js';
import { Optimizer, withDefaults, type BaseHyperparameters, type OptimizerParams, type ParamState } from './optimizer.js';

export interface AdamHyperparameters extends BaseHyperparameters {
  beta1: number;
  beta2: number;
  eps: number;
}

export type AdamOptions = Partial<AdamHyperparameters>;

export function validateAdamHyperparameters(kind: string, h: AdamHyperparameters): void {
  if (!(h.lr >= 0)) throw new Error(`${kind}: lr must be non-negative, got ${h.lr}`);
  if (!(h.beta1 >= 0 && h.beta1 < 1)) throw new Error(`${kind}: beta1 must be in [0, 1), got ${h.beta1}`);
  if (!(h.beta2 >= 0 && h.beta2 < 1)) throw new Error(`${kind}: beta2 must be in [0, 1), got ${h.beta2}`);
  if (!(h.eps >= 0)) throw new Error(`${kind}: eps must be non-negative, got ${h.eps}`);
  if (!(h.weightDecay >= 0)) throw new Error(`${kind}: weightDecay must be non-negative, got ${h.weightDecay}`);
}

abstract class AdamFamily extends Optimizer<AdamHyperparameters> {
  protected readonly stateNames = ['exp_avg', 'exp_avg_sq'] as const;
  readonly #decoupledWeightDecay: boolean;

  protected constructor(kind: string, params: OptimizerParams<AdamHyperparameters>, defaults: AdamHyperparameters, decoupledWeightDecay: boolean) {
    super(kind, params, defaults);
    this.#decoupledWeightDecay = decoupledWeightDecay;
  }

  protected validate(h: AdamHyperparameters): void {
    validateAdamHyperparameters(this.kind, h);
  }

  protected update(p: FloatArray, grad: ArrayLike<number>, state: ParamState, h: AdamHyperparameters, tensor: Tensor): void {
    const { lr, beta1, beta2, eps, weightDecay } = h;
    const m = this.buffer(state, 'exp_avg', tensor);
    const v = this.buffer(state, 'exp_avg_sq', tensor);
    const stepSize = lr / (1 - beta1 ** state.step);
    const bias2Sqrt = Math.sqrt(1 - beta2 ** state.step);
    const decay = this.#decoupledWeightDecay ? 1 - lr * weightDecay : 1;
    const l2 = this.#decoupledWeightDecay ? 0 : weightDecay;
    const n = p.length;
    for (let i = 0; i < n; i++) {
      if (decay !== 1) p[i] = p[i]! * decay;
      const g = l2 !== 0 ? grad[i]! + l2 * p[i]! : grad[i]!;
      m[i] = beta1 * m[i]! + (1 - beta1) * g;
      v[i] = beta2 * v[i]! + (1 - beta2) * g * g;
      p[i] = p[i]! - (stepSize * m[i]!) / (Math.sqrt(v[i]!) / bias2Sqrt + eps);
    }
  }
}

/** Adam; defaults lr 1e-3, betas (0.9, 0.999), eps 1e-8, weightDecay 0 (L2, added to the gradient). */
export class Adam extends AdamFamily {
  constructor(params: OptimizerParams<AdamHyperparameters>, options: AdamOptions = {}) {
    super('Adam', params, withDefaults({ lr: 1e-3, beta1: 0.9, beta2: 0.999, eps: 1e-8, weightDecay: 0 }, options), false);
  }
}

/** AdamW; defaults as Adam but weightDecay 0.01, applied to the weights directly (decoupled). */
export class AdamW extends AdamFamily {
  constructor(params: OptimizerParams<AdamHyperparameters>, options: AdamOptions = {}) {
    super('AdamW', params, withDefaults({ lr: 1e-3, beta1: 0.9, beta2: 0.999, eps: 1e-8, weightDecay: 0.01 }, options), true);
  }
}
