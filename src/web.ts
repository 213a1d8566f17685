// Browser entry: the browser-safe API plus the Web Worker pool for the wasm kernels (needs a
// cross-origin-isolated page; falls back to one thread) and the engine a LanguageModel runs on.

export * from './index.js';
export { WebThreadPool, createWebThreadPool, createWebWasmKernels, sharedMemoryWithWorkers, type WebThreadPoolOptions, type WebWasmKernelsOptions } from './web/wasm-pool.js';
export { createWebEngine, type WebEngine } from './web/engine.js';
