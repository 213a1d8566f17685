// Adam (Kingma & Ba 2015) with L2 weight decay folded into the gradient, and AdamW (Loshchilov
// & Hutter 2019) with decoupled weight decay, both as torch.optim (amsgrad off):
//   AdamW only: p = p * (1 - lr * weightDecay)
//   Adam only:  g = grad + weightDecay * p
//   m = beta1 * m + (1 - beta1) * g;  v = beta2 * v + (1 - beta2) * g²
//   p = p - lr / (1 - beta1^t) * m / (sqrt(v) / sqrt(1 - beta2^t) + eps)

import { kernels } from '../backend/backend.js';
import type { FloatArray } from '../tensor/dtype.js';
import { Tensor } from '../tensor/tensor.js';
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

  // The update is the backend's adamUpdate kernel (the reference loop, or wasm SIMD), in place on the
  // parameter's storage and the moments.
  protected update(p: FloatArray, _grad: ArrayLike<number>, state: ParamState, h: AdamHyperparameters, tensor: Tensor): void {
    const { lr, beta1, beta2, eps, weightDecay } = h;
    const m = this.buffer(state, 'exp_avg', tensor);
    const v = this.buffer(state, 'exp_avg_sq', tensor);
    const k = kernels();
    const like = (data: FloatArray): Tensor => new Tensor(data, tensor.dtype, tensor.shape);
    const grad = tensor.grad!;
    k.adamUpdate(like(p), grad.dtype === tensor.dtype ? grad : k.copy(grad, tensor.dtype), like(m), like(v), {
      decay: this.#decoupledWeightDecay ? 1 - lr * weightDecay : 1,
      l2: this.#decoupledWeightDecay ? 0 : weightDecay,
      beta1,
      beta2,
      stepSize: lr / (1 - beta1 ** state.step),
      bias2Sqrt: Math.sqrt(1 - beta2 ** state.step),
      eps,
    });
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
