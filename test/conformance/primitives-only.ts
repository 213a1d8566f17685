// A backend made of the reference primitives only: every fused kernel (softmax, norms, conv1d and the
// backward rules) is the composite of src/ops/composite.ts. It stands for a new backend (e.g. WebGPU)
// that implements nothing but primitives; gradchecks, the conformance table and the model golden
// tests run on it.

import { referenceKernels } from '../../src/backend/reference/index.js';
import { defineBackend } from '../../src/ops/composite.js';
import { PRIMITIVE_KERNEL_NAMES, type Backend, type PrimitiveKernels } from '../../src/ops/kernels.js';

export function primitivesOnlyBackend(): Backend {
  const primitives = Object.fromEntries(PRIMITIVE_KERNEL_NAMES.map((name) => [name, referenceKernels[name]])) as unknown as PrimitiveKernels;
  return defineBackend({ name: 'primitives-only', kernels: primitives, floatDType: 'f32' });
}
