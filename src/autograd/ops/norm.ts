// Normalisation over the last axis: layer norm and RMS norm, with optional per-feature gain (gamma)
// and bias (beta). The kernels save per-row statistics, so backward does not recompute them.

import { formatShape } from '../../tensor/shape.js';
import { assertFloat, type Tensor } from '../../tensor/tensor.js';
import { defineOp } from '../engine.js';
import { reshapeContiguous } from './util.js';

interface NormAttrs {
  eps: number;
  hasGamma: boolean;
  hasBeta: boolean;
}

interface NormSaved {
  mean: Tensor | null;
  rstd: Tensor;
}

/**
 * gamma/beta broadcast against x's last axis: shape [D], or [D] with leading size-1 axes. The kernels
 * take them flat as [D]; gradients are reshaped back to the parameter's own shape.
 */
function checkedAffine(what: string, t: Tensor | null | undefined, x: Tensor): Tensor | null {
  if (!t) return null;
  const d = x.shape[x.rank - 1];
  const leadingOnes = t.shape.slice(0, -1).every((s) => s === 1);
  if (t.rank === 0 || t.shape[t.rank - 1] !== d || !leadingOnes || t.rank > x.rank) {
    throw new Error(`${what}: expected shape [${d}] to broadcast over x ${formatShape(x.shape)}, got ${formatShape(t.shape)}`);
  }
  assertFloat(t, what);
  return t;
}

/** The kernels want gamma/beta as [D]; a strided [D] view is fine (they read through toArray). */
function asVector(t: Tensor): Tensor {
  return t.rank === 1 ? t : reshapeContiguous(t, [t.size]);
}

const layerNormOp = defineOp<NormAttrs, NormSaved>({
  name: 'layerNorm',
  forward: (k, inputs, { eps, hasGamma, hasBeta }) => {
    const x = inputs[0]!;
    const gamma = hasGamma ? asVector(inputs[1]!) : null;
    const beta = hasBeta ? asVector(inputs[hasGamma ? 2 : 1]!) : null;
    const { y, mean, rstd } = k.layerNorm(x, gamma, beta, eps);
    return { outputs: [y], saved: { mean, rstd } };
  },
  backward: ({ kernels: k, inputs, attrs: { hasGamma, hasBeta }, saved: { mean, rstd }, needsGrad }, [dy]) => {
    if (!dy) return inputs.map(() => null);
    const x = inputs[0]!;
    const gamma = hasGamma ? inputs[1]! : null;
    const { dx, dgamma, dbeta } = k.layerNormGrad(x, gamma ? asVector(gamma) : null, mean!, rstd, dy);
    const grads: (Tensor | null)[] = [needsGrad(0) ? dx : null];
    if (gamma) grads.push(needsGrad(1) && dgamma ? reshapeContiguous(dgamma, gamma.shape) : null);
    if (hasBeta) {
      const i = hasGamma ? 2 : 1;
      // dbeta = dy summed over rows; a backend may skip it when there is no gamma, so recompute then.
      const db = needsGrad(i) ? (dbeta ?? k.reduce('sum', dy, [...Array(dy.rank - 1).keys()], false)) : null;
      grads.push(db ? reshapeContiguous(db, inputs[i]!.shape) : null);
    }
    return grads;
  },
});

/** Layer norm over the last axis: (x - mean) / sqrt(var + eps) * gamma + beta (biased variance, as PyTorch). */
export function layerNorm(x: Tensor, gamma?: Tensor | null, beta?: Tensor | null, eps = 1e-5): Tensor {
  assertFloat(x, 'layerNorm');
  const g = checkedAffine('layerNorm gamma', gamma, x);
  const b = checkedAffine('layerNorm beta', beta, x);
  const inputs = [x, ...(g ? [g] : []), ...(b ? [b] : [])];
  return layerNormOp(inputs, { eps, hasGamma: g !== null, hasBeta: b !== null })[0]!;
}

const rmsNormOp = defineOp<NormAttrs, NormSaved>({
  name: 'rmsNorm',
  forward: (k, inputs, { eps, hasGamma }) => {
    const x = inputs[0]!;
    const gamma = hasGamma ? asVector(inputs[1]!) : null;
    const { y, rstd } = k.rmsNorm(x, gamma, eps);
    return { outputs: [y], saved: { mean: null, rstd } };
  },
  backward: ({ kernels: k, inputs, attrs: { hasGamma }, saved: { rstd }, needsGrad }, [dy]) => {
    if (!dy) return inputs.map(() => null);
    const x = inputs[0]!;
    const gamma = hasGamma ? inputs[1]! : null;
    const { dx, dgamma } = k.rmsNormGrad(x, gamma ? asVector(gamma) : null, rstd, dy);
    const grads: (Tensor | null)[] = [needsGrad(0) ? dx : null];
    if (gamma) grads.push(needsGrad(1) && dgamma ? reshapeContiguous(dgamma, gamma.shape) : null);
    return grads;
  },
});

/** RMS norm over the last axis: x / sqrt(mean(x^2) + eps) * gamma (T5, LLaMA). */
export function rmsNorm(x: Tensor, gamma?: Tensor | null, eps = 1e-6): Tensor {
  assertFloat(x, 'rmsNorm');
  const g = checkedAffine('rmsNorm gamma', gamma, x);
  return rmsNormOp(g ? [x, g] : [x], { eps, hasGamma: g !== null, hasBeta: false })[0]!;
}
