// SGD with momentum, dampening, Nesterov and L2 weight decay, exactly torch.optim.SGD's update:
//   g = grad + weightDecay * p
//   buf = g on the first step, else momentum * buf + (1 - dampening) * g
//   d = nesterov ? g + momentum * buf : buf      (d = g without momentum)
//   p = p - lr * d

import type { FloatArray } from '../tensor/dtype.js';
import type { Tensor } from '../tensor/tensor.js';
import { Optimizer, withDefaults, type BaseHyperparameters, type OptimizerParams, type ParamState } from './optimizer.js';

export interface SGDHyperparameters extends BaseHyperparameters {
  momentum: number;
  dampening: number;
  nesterov: boolean;
}

/** lr is required (no default suits SGD); the rest default to 0 / false. */
export type SGDOptions = Partial<SGDHyperparameters> & { lr: number };

export class SGD extends Optimizer<SGDHyperparameters> {
  protected readonly stateNames = ['momentum_buffer'] as const;

  constructor(params: OptimizerParams<SGDHyperparameters>, options: SGDOptions) {
    super('SGD', params, withDefaults<SGDHyperparameters>({ lr: options.lr, momentum: 0, dampening: 0, nesterov: false, weightDecay: 0 }, options));
  }

  protected validate(h: SGDHyperparameters): void {
    if (!(h.lr >= 0)) throw new Error(`SGD: lr must be non-negative, got ${h.lr}`);
    if (!(h.momentum >= 0)) throw new Error(`SGD: momentum must be non-negative, got ${h.momentum}`);
    if (!(h.weightDecay >= 0)) throw new Error(`SGD: weightDecay must be non-negative, got ${h.weightDecay}`);
    if (!Number.isFinite(h.dampening)) throw new Error(`SGD: dampening must be finite, got ${h.dampening}`);
    if (h.nesterov && (h.momentum <= 0 || h.dampening !== 0)) throw new Error('SGD: Nesterov momentum requires momentum > 0 and dampening 0');
  }

  protected update(p: FloatArray, grad: ArrayLike<number>, state: ParamState, h: SGDHyperparameters, tensor: Tensor): void {
    const { lr, momentum, dampening, nesterov, weightDecay } = h;
    const n = p.length;
    if (momentum === 0) {
      for (let i = 0; i < n; i++) {
        const g = weightDecay !== 0 ? grad[i]! + weightDecay * p[i]! : grad[i]!;
        p[i] = p[i]! - lr * g;
      }
      return;
    }
    const first = !state.buffers.has('momentum_buffer');
    const buf = this.buffer(state, 'momentum_buffer', tensor);
    for (let i = 0; i < n; i++) {
      const g = weightDecay !== 0 ? grad[i]! + weightDecay * p[i]! : grad[i]!;
      buf[i] = first ? g : momentum * buf[i]! + (1 - dampening) * g;
      const d = nesterov ? g + momentum * buf[i]! : buf[i]!;
      p[i] = p[i]! - lr * d;
    }
  }
}
