// thrifty's browser-safe public API. Node-only parts (files, worker threads, progress bars) are in
// `thrifty/node` (src/node.ts).

export * from './tensor/dtype.js';
export * from './tensor/shape.js';
export * from './tensor/rng.js';
export * from './tensor/tensor.js';
export type { Backend, KernelTable, KernelName, UnaryKind, BinaryKind, ReduceKind, RopeLayout } from './ops/kernels.js';
export { getBackend, kernels, useBackend, withBackend, referenceBackend } from './backend/backend.js';
export { createWasmBackend } from './backend/wasm/backend.js';
export { WasmKernels } from './backend/wasm/kernels.js';
export { backward, detach, enableGrad, isGradEnabled, noGrad, zeroGrad, defineOp } from './autograd/engine.js';
export { gradcheck } from './autograd/gradcheck.js';
export * from './autograd/ops/index.js';
export * from './nn/module.js';
export * from './nn/layers.js';
export * from './nn/init.js';
export * from './optim/optimizer.js';
export * from './optim/sgd.js';
export * from './optim/adam.js';
export * from './optim/lamb.js';
export * from './optim/clip.js';
export * from './optim/schedule.js';
export * from './io/safetensors.js';
export * from './io/checkpoint.js';
export * from './data/idx.js';
