// Backward runs on the backend its forward ran on, not on whichever backend is active when
// backward() is called.

import assert from 'node:assert/strict';
import { test } from 'node:test';

import { backward } from '../../src/autograd/engine.js';
import * as F from '../../src/autograd/ops/index.js';
import { referenceBackend, referenceKernels } from '../../src/backend/reference/index.js';
import { getBackend, withBackend } from '../../src/backend/backend.js';
import { defineBackend } from '../../src/ops/composite.js';
import type { Backend, KernelTable } from '../../src/ops/kernels.js';
import { Rng } from '../../src/tensor/rng.js';
import { randn } from '../../src/tensor/tensor.js';

/** The reference kernels, counting calls per kernel name. */
function countingBackend(name: string): { backend: Backend; calls: Map<string, number> } {
  const calls = new Map<string, number>();
  const wrapped = Object.fromEntries(
    Object.entries(referenceKernels).map(([kernel, fn]) => [
      kernel,
      (...args: unknown[]) => {
        calls.set(kernel, (calls.get(kernel) ?? 0) + 1);
        return (fn as (...a: unknown[]) => unknown)(...args);
      },
    ]),
  ) as unknown as KernelTable;
  return { backend: defineBackend({ name, kernels: wrapped, floatDType: 'f32' }), calls };
}

test('backward uses the backend of the forward, with it active for helpers', () => {
  const forward = countingBackend('forward');
  const other = countingBackend('other');
  const rng = new Rng(3);
  const x = randn([4, 6], rng, { requiresGrad: true });
  const w = randn([6, 5], rng, { requiresGrad: true });
  const gamma = randn([5], rng, { requiresGrad: true });
  const loss = withBackend(forward.backend, () => F.sum(F.softmax(F.layerNorm(F.matmul(x, w), gamma), -1)));
  const forwardCalls = new Map(forward.calls);
  let activeDuringBackward = '';
  withBackend(other.backend, () => {
    backward(loss);
    activeDuringBackward = getBackend().name;
  });
  assert.equal(activeDuringBackward, 'other', 'the caller’s backend is restored');
  for (const kernel of ['softmaxGrad', 'layerNormGrad', 'matmul']) {
    assert.ok((forward.calls.get(kernel) ?? 0) > (forwardCalls.get(kernel) ?? 0), `${kernel} ran on the forward's backend`);
    assert.equal(other.calls.get(kernel) ?? 0, 0, `${kernel} did not run on the active backend`);
  }
  assert.ok(x.grad && w.grad && gamma.grad);
  assert.equal(getBackend(), referenceBackend);
});
