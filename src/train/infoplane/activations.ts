// The activation functions of the information-plane experiments, applied to whole buffers (one
// switch per call, plain loops inside: the fused trainer calls these on every batch). tanh and the
// sigmoids use src/info/fast-math.ts (Math.tanh alone took half of an epoch's time).

import { fastExp, fastSigmoid, fastTanh } from '../../info/fast-math.js';

export const ACTIVATION_NAMES = ['tanh', 'relu', 'elu', 'softsign', 'softplus', 'centered-softplus', 'leaky-relu', 'prelu', 'swish', 'linear'] as const;
export type ActivationName = (typeof ACTIVATION_NAMES)[number];

/** The eight activations of the full protocol. */
export const FULL_PROTOCOL_ACTIVATIONS: readonly ActivationName[] = ['tanh', 'relu', 'elu', 'softsign', 'softplus', 'centered-softplus', 'prelu', 'swish'];

export const LEAKY_RELU_SLOPE = 0.01;
/** PReLU's learnable negative slope starts here (He et al. 2015). */
export const PRELU_INITIAL_SLOPE = 0.25;

export function isActivationName(name: string): name is ActivationName {
  return (ACTIVATION_NAMES as readonly string[]).includes(name);
}

/**
 * The paper's code initialises weights from a normal truncated at 2 sd with sd = gain / sqrt(fan_in):
 * gain 1 for tanh (and its identity-like "abs"), 2 for the rectifier family. Softsign saturates
 * like tanh, linear has no rectification, so both get 1 here.
 */
export function initGain(activation: ActivationName): number {
  switch (activation) {
    case 'tanh':
    case 'softsign':
    case 'linear':
      return 1;
    default:
      return 2;
  }
}

function softplusScalar(z: number): number {
  return z > 0 ? z + Math.log1p(fastExp(-z)) : Math.log1p(fastExp(z));
}

/**
 * out[r * width + c] = f(z[r * width + c]) for `rows` rows. `slopes` [width] are PReLU's learnable
 * negative slopes (ignored by the others).
 */
export function applyActivation(activation: ActivationName, z: Float64Array, out: Float64Array, rows: number, width: number, slopes: Float64Array | null): void {
  const count = rows * width;
  switch (activation) {
    case 'tanh':
      for (let i = 0; i < count; i++) out[i] = fastTanh(z[i]!);
      return;
    case 'relu':
      for (let i = 0; i < count; i++) out[i] = z[i]! > 0 ? z[i]! : 0;
      return;
    case 'elu':
      for (let i = 0; i < count; i++) out[i] = z[i]! > 0 ? z[i]! : Math.expm1(z[i]!);
      return;
    case 'softsign':
      for (let i = 0; i < count; i++) out[i] = z[i]! / (1 + Math.abs(z[i]!));
      return;
    case 'softplus':
      for (let i = 0; i < count; i++) out[i] = softplusScalar(z[i]!);
      return;
    case 'centered-softplus':
      for (let i = 0; i < count; i++) out[i] = softplusScalar(z[i]!) - Math.LN2;
      return;
    case 'leaky-relu':
      for (let i = 0; i < count; i++) out[i] = z[i]! > 0 ? z[i]! : LEAKY_RELU_SLOPE * z[i]!;
      return;
    case 'prelu': {
      if (!slopes) throw new Error('applyActivation: prelu needs its slopes');
      for (let r = 0; r < rows; r++) {
        const o = r * width;
        for (let c = 0; c < width; c++) {
          const v = z[o + c]!;
          out[o + c] = v > 0 ? v : slopes[c]! * v;
        }
      }
      return;
    }
    case 'swish':
      for (let i = 0; i < count; i++) out[i] = z[i]! * fastSigmoid(z[i]!);
      return;
    case 'linear':
      if (out !== z) out.set(z.subarray(0, count));
      return;
    default:
      throw new Error(`applyActivation: unknown activation '${String(activation)}'`);
  }
}

/**
 * Backward through the activation: dz = da * f'(z), in place over `grad` (which holds da on
 * entry). `a` = f(z) (tanh and softsign reuse it). PReLU also accumulates d loss / d slope.
 */
export function activationBackward(
  activation: ActivationName,
  z: Float64Array,
  a: Float64Array,
  grad: Float64Array,
  rows: number,
  width: number,
  slopes: Float64Array | null,
  slopeGrad: Float64Array | null,
): void {
  const count = rows * width;
  switch (activation) {
    case 'tanh':
      for (let i = 0; i < count; i++) grad[i] = grad[i]! * (1 - a[i]! * a[i]!);
      return;
    case 'relu':
      for (let i = 0; i < count; i++) if (!(z[i]! > 0)) grad[i] = 0;
      return;
    case 'elu':
      // f'(z) = e^z = f(z) + 1 for z <= 0
      for (let i = 0; i < count; i++) if (!(z[i]! > 0)) grad[i] = grad[i]! * (a[i]! + 1);
      return;
    case 'softsign':
      for (let i = 0; i < count; i++) {
        const d = 1 + Math.abs(z[i]!);
        grad[i] = grad[i]! / (d * d);
      }
      return;
    case 'softplus':
    case 'centered-softplus':
      for (let i = 0; i < count; i++) grad[i] = grad[i]! * fastSigmoid(z[i]!);
      return;
    case 'leaky-relu':
      for (let i = 0; i < count; i++) if (!(z[i]! > 0)) grad[i] = grad[i]! * LEAKY_RELU_SLOPE;
      return;
    case 'prelu': {
      if (!slopes || !slopeGrad) throw new Error('activationBackward: prelu needs its slopes and their gradient');
      for (let r = 0; r < rows; r++) {
        const o = r * width;
        for (let c = 0; c < width; c++) {
          const v = z[o + c]!;
          if (!(v > 0)) {
            slopeGrad[c] = slopeGrad[c]! + grad[o + c]! * v;
            grad[o + c] = grad[o + c]! * slopes[c]!;
          }
        }
      }
      return;
    }
    case 'swish':
      for (let i = 0; i < count; i++) {
        const s = fastSigmoid(z[i]!);
        grad[i] = grad[i]! * (s + z[i]! * s * (1 - s));
      }
      return;
    case 'linear':
      return;
    default:
      throw new Error(`activationBackward: unknown activation '${String(activation)}'`);
  }
}
