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
// File formats and tokenizers
export * from './io/byte-source.js';
export * from './io/gguf.js';
export * from './io/gguf-tokenizer.js';
export * from './io/llama2c.js';
export * from './io/weights.js';
export * from './io/model-files.js';
export * from './io/hf-folder.js';
export * from './text/tokenizer.js';
export * from './text/bpe-tokenizer.js';
export * from './text/hf-tokenizer.js';
export * from './text/hf-wordpiece.js';
export * from './text/sentencepiece.js';
export * from './text/bpe-trainer.js';
export * from './text/wordpiece.js';
export * from './text/wordpiece-trainer.js';
export * from './data/corpus.js';
export * from './data/mlm.js';
export * from './data/ib12.js';
// SparQ and decode-time attention
export * from './attention/index.js';
export { WasmAttention } from './backend/wasm/attention.js';
// Models
export * from './models/llm-config.js';
export * from './models/llm-config-readers.js';
export * from './models/registry.js';
export * from './models/model-init.js';
export * from './models/model-files.js';
export * from './models/llama.js';
export * from './models/gpt-neox.js';
export * from './models/gpt2.js';
export * from './models/load-llm.js';
export * from './models/bert-presets.js';
export * from './models/bert.js';
export * from './models/groupbert.js';
export * from './models/pretraining.js';
export * from './models/flops.js';
export * from './generate/generator.js';
export * from './generate/sampler.js';
export { LanguageModel, createLanguageModel, openModelBytes, defaultEngine, wasmEngine, describeWasmKernels, defaultDecodeThreads, SMALL_MODEL_PARAMETERS, type LanguageModelEngine, type LanguageModelOptions, type ModelBytes, type GenerateOptions, type GenerationOutput, type GenerationProgress } from './generate/language-model.js';
// Information plane
export * from './info/index.js';
// Block-sparse weights and dynamic sparse training
export { BLOCK_SIZES, BlockSparsePattern, activeBlockCount, blockNorms, checkBlockSize } from './nn/block-sparse.js';
export { blockSparseLayout, isBlockSparseLayout, type BlockSparseLayout, type BlockSparseLayoutOptions } from './nn/block-sparse-layout.js';
export { blockSparseProductsOf, withBlockSparse, type BlockSparseBackend, type BlockSparseProducts, type BlockSparseStructure } from './backend/reference/block-sparse.js';
export { WasmBlockSparse, type WasmBlockSparseOptions } from './backend/wasm/block-sparse.js';
export * from './train/dynsparse.js';
