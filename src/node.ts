// Node entry: the browser-safe API plus files, checkpoints on disk, worker threads and progress.

export * from './index.js';
export { initNodeBackend, type NodeBackend, type NodeBackendOptions } from './node/backend.js';
export { createNodeWasmKernels, enableRelaxedSimd } from './node/wasm-pool.js';
export { loadLanguageModel, type LoadLanguageModelOptions } from './node/language-model.js';
export { bundledModelDir } from './node/bundled-model.js';
export * from './node/files.js';
export * from './node/checkpoint.js';
export * from './node/progress.js';
export * from './node/metrics-log.js';
export * from './node/mnist.js';
export * from './node/data-dir.js';
export * from './node/file-source.js';
export * from './node/model-files.js';
export * from './node/hub.js';
export * from './node/corpus-files.js';
export * from './node/token-cache.js';
export * from './node/pretraining-data.js';
export * from './node/pretrain-runner.js';
export * from './node/hf-bert.js';
