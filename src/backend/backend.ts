// The active backend. The reference backend is the default; `useBackend` swaps in a fast one
// (the Node entry does so with the wasm backend). This is the engine's one piece of mutable
// configuration, set explicitly by the caller, never as an import side effect.

import type { Backend, KernelTable } from '../ops/kernels.js';
import { referenceBackend } from './reference/index.js';

let active: Backend = referenceBackend;

export function getBackend(): Backend {
  return active;
}

export function kernels(): KernelTable {
  return active.kernels;
}

/** Makes `backend` the active one and returns the previous backend. */
export function useBackend(backend: Backend): Backend {
  const previous = active;
  active = backend;
  return previous;
}

/** Runs `fn` with `backend` active, restoring the previous one afterwards. */
export function withBackend<T>(backend: Backend, fn: () => T): T {
  const previous = useBackend(backend);
  try {
    return fn();
  } finally {
    active = previous;
  }
}

/**
 * Runs one training step in the active backend's step memory (Backend.withStepMemory), or as is
 * when it has none. Tensors made by kernels inside are invalid once it returns: return numbers.
 */
export function withStepMemory<T>(fn: () => T): T {
  const backend = active;
  return backend.withStepMemory ? backend.withStepMemory(fn) : fn();
}

export { referenceBackend };
