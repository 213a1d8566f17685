// thrifty's browser-safe public API. Node-only parts (files, worker threads, progress bars) are in
// `thrifty/node` (src/node.ts).

export {
  allocArray, bf16BitsToF32, BYTES_PER_ELEMENT, convertArray, f16BitsToF32, f32ToBf16Bits, f32ToF16Bits, f32ToHalf,
  f32ToInt8, floatsFromBytes, halfToF32, int8ToF32, isFloat,
} from './tensor/dtype.js';
export type {
  AnyTypedArray, ComputeDType, DType, FloatArray, FloatDType, StorageDType, TypedArrayFor,
} from './tensor/dtype.js';
export {
  assertValidShape, broadcastShapes, contiguousStrides, formatShape, normalizeAxes, normalizeAxis, numel,
  shapesEqual,
} from './tensor/shape.js';
export type { Shape } from './tensor/shape.js';
export { Rng } from './tensor/rng.js';
export type { RngState } from './tensor/rng.js';
export {
  arange, assertFloat, forEachOffset, fromArray, full, gatherStrided, ones, rand, randn, scalar, setRequiresGrad,
  tensor, Tensor, zeros,
} from './tensor/tensor.js';
export type { CreateOptions, GradNode, NestedNumbers } from './tensor/tensor.js';
export type { Backend, KernelTable, KernelName, UnaryKind, BinaryKind, ReduceKind, RopeLayout } from './ops/kernels.js';
export { getBackend, kernels, useBackend, withBackend, withStepMemory, referenceBackend } from './backend/backend.js';
export { createWasmBackend } from './backend/wasm/backend.js';
export { WasmKernels } from './backend/wasm/kernels.js';
export { backward, detach, enableGrad, isGradEnabled, noGrad, zeroGrad, defineOp } from './autograd/engine.js';
export { gradcheck } from './autograd/gradcheck.js';
export {
  abs, add, argmax, argmin, blockSparseLinear, cast, concat, contiguous, conv1d, cos, crossEntropy, div, dropout,
  elu, embedding, eq, erf, exp, expand, flatten, gather, ge, gelu, groupedMatmul, gt, indexSelect, layerNorm, le,
  leakyRelu, linear, log, logSoftmax, logsumexp, lt, matmul, max, maximum, mean, min, minimum, mseLoss, mul, narrow,
  ne, neg, permute, pow, prelu, reciprocal, relu, reshape, rmsNorm, rope, ropeTables, rsqrt, scatterAdd, sigmoid,
  sign, silu, sin, slice, softmax, softplus, softsign, split, sqrt, square, squeeze, sub, sum, tanh, topk, transpose,
  unsqueeze, where,
} from './autograd/ops/index.js';
export type {
  BlockSparseLinearOptions, Conv1dOptions, CrossEntropyOptions, MatmulOptions, MseLossOptions, ReduceOptions,
  Reduction, RopeOptions, RopeTables, SliceRange, SoftmaxOptions,
} from './autograd/ops/index.js';
export { Module, ModuleList } from './nn/module.js';
export type {
  BufferOptions, LoadStateDictOptions, LoadStateDictResult, ParamOptions, RawTensor, StateDictEntry,
  StateDictOptions,
} from './nn/module.js';
export { activate, createNorm, Dropout, Embedding, LayerNorm, Linear, RMSNorm } from './nn/layers.js';
export type {
  Activation, FloatAllocator, LayerNormOptions, LinearOptions, ParamInit, RMSNormOptions, WeightInit,
} from './nn/layers.js';
export {
  calculateGain, computeFans, constant_, fanInInit_, fillNormal_, initRng, kaimingNormal_, kaimingUniform_, normal_,
  ones_, parameterTensor, truncatedNormal_, uniform_, xavierNormal_, xavierUniform_, zeros_,
} from './nn/init.js';
export type {
  FanMode, KaimingOptions, Nonlinearity, NormalInit, NormalOptions, TruncatedNormalOptions, UniformOptions,
  XavierOptions,
} from './nn/init.js';
export { isNoDecayParameter, Optimizer, splitParamGroups, withDefaults } from './optim/optimizer.js';
export type {
  BaseHyperparameters, JsonValue, NamedParameter, NamedParameters, OptimizerParams, OptimizerState,
  OptimizerStateDictOptions, OptimizerStateInput, ParamGroup, ParamGroupInput, ParamState,
} from './optim/optimizer.js';
export { SGD } from './optim/sgd.js';
export type { SGDHyperparameters, SGDOptions } from './optim/sgd.js';
export { Adam, AdamW, validateAdamHyperparameters } from './optim/adam.js';
export type { AdamHyperparameters, AdamOptions } from './optim/adam.js';
export { LAMB } from './optim/lamb.js';
export type { LAMBHyperparameters, LAMBOptions } from './optim/lamb.js';
export { clipGradNorm } from './optim/clip.js';
export type { ClipGradNormOptions } from './optim/clip.js';
export { constantWithWarmup, linearWarmupCosineDecay, linearWarmupLinearDecay } from './optim/schedule.js';
export type { DecayOptions, LrSchedule, WarmupOptions } from './optim/schedule.js';
export {
  decodeSafetensorsF32, decodeSafetensorsI32, parseSafetensors, parseSafetensorsHeader, readSafetensorsHeaderLength,
  readSafetensorsTensorF32, readSafetensorsTensorI32, SAFETENSORS_DTYPE_BYTES, SAFETENSORS_MAX_HEADER_BYTES,
  serializeSafetensors,
} from './io/safetensors.js';
export type {
  SafetensorsData, SafetensorsDType, SafetensorsEntry, SafetensorsHeader, SafetensorsTensorInput,
} from './io/safetensors.js';
export {
  CHECKPOINT_CHECKSUM_KEY, CHECKPOINT_FORMAT_VERSION, CHECKPOINT_METADATA_KEY, decodeCheckpoint, encodeCheckpoint,
} from './io/checkpoint.js';
export type { CheckpointContents, CheckpointExpectation, CheckpointState, CheckpointTensor } from './io/checkpoint.js';
export { parseIdx } from './data/idx.js';
export type { IdxArray } from './data/idx.js';
// File formats and tokenizers
export { checkReadRange, memoryByteSource } from './io/byte-source.js';
export type { ByteSource } from './io/byte-source.js';
export {
  GGML_TYPES, ggmlByteLength, ggmlTypeName, GGUF_DEFAULT_ALIGNMENT, GGUF_MAGIC, GGUF_MAX_DIMS, GGUF_VALUE_TYPE_IDS,
  ggufValue, isGgmlType,
} from './io/gguf-format.js';
export type { GgmlType, GgufArrayValue, GgufBigIntType, GgufNumberType, GgufValue, GgufValueType } from './io/gguf-format.js';
export { dequantizeQ4_0, dequantizeQ8_0, quantizeQ4_0, quantizeQ8_0 } from './io/gguf-quant.js';
export {
  decodeGgufTensorF32, decodeGgufTensorI32, ggufInteger, ggufMetadataToJson, GgufNeedMoreBytes, ggufNumber,
  ggufNumberArray, ggufString, ggufStringArray, parseGguf, parseGgufHeader, readGgufHeader, readGgufTensorBytes,
  readGgufTensorF32,
} from './io/gguf-read.js';
export type { GgufHeader, GgufTensorInfo } from './io/gguf-read.js';
export { encodeGgufChunks, writeGguf } from './io/gguf-write.js';
export type { GgufTensorInput, GgufWriteSpec } from './io/gguf-write.js';
export { tokenizerFromGguf } from './io/gguf-tokenizer.js';
export {
  LLAMA2C_HEADER_BYTES, LLAMA2C_MAGIC, llama2cTokenizer, parseLlama2cCheckpoint, parseLlama2cTokenizer,
} from './io/llama2c.js';
export type { Llama2cCheckpoint, Llama2cConfig, Llama2cTensor, Llama2cTokenizerFile } from './io/llama2c.js';
export {
  checkEntryRanges, ggufEntries, readSafetensorsHeader, renameEntries, safetensorsEntries, TableWeightSource,
} from './io/weights.js';
export type { WeightEntry, WeightInfo, WeightSource } from './io/weights.js';
export { readGgufModel, readLlama2cModel } from './io/model-files.js';
export type { ModelFormat, OpenedModelFiles } from './io/model-files.js';
export {
  configTokenId, HF_CONFIG_FILE, HF_TOKENIZER_FILE, HF_WEIGHTS_FILE, HF_WEIGHTS_INDEX_FILE, MAX_CONFIG_INT,
  parseSafetensorsIndex, readHfFolder,
} from './io/hf-folder.js';
export type { FolderAccess } from './io/hf-folder.js';
export { checkTokenId, decodeViaBytes, TokenTextStream, utf8Bytes } from './text/tokenizer.js';
export type { DecodeOptions, EncodeOptions, Tokenizer } from './text/tokenizer.js';
export { BpeTokenizer } from './text/bpe-tokenizer.js';
export type { AddedToken, BpeDecoderSpec, BpeTokenizerSpec, PreTokenizer } from './text/bpe-tokenizer.js';
export {
  hfTokenizerFromJson, loadGpt2Tokenizer, loadHfTokenizer, MAX_TOKEN_ID, normalizerOutputLimit,
} from './text/hf-tokenizer.js';
export type { HfTokenizerOptions } from './text/hf-tokenizer.js';
export { HfWordPieceTokenizer, hfWordPieceFromJson } from './text/hf-wordpiece.js';
export { SentencePieceTokenizer, SentencePieceTokenType } from './text/sentencepiece.js';
export type { SentencePieceVocab } from './text/sentencepiece.js';
export { trainByteLevelBpe } from './text/bpe-trainer.js';
export type { BpeTrainOptions, TrainedBpe } from './text/bpe-trainer.js';
export {
  cleanUpTokenizationSpaces, CONTINUATION_PREFIX, formatVocabText, parseVocabText, wordPieceFromVocabText,
  WordPieceTokenizer,
} from './text/wordpiece.js';
export type { EncodedPair, WordPieceDecodeOptions, WordPieceOptions } from './text/wordpiece.js';
export {
  countWords, DEFAULT_SPECIAL_TOKENS, trainWordPiece, trainWordPieceFromCounts,
} from './text/wordpiece-trainer.js';
export type { TrainedWordPiece, WordPieceTrainingOptions } from './text/wordpiece-trainer.js';
export {
  numDocuments, numSentences, resolveCorpusOptions, selectDocuments, splitDocumentIndices, splitDocuments,
  splitSentences, splitTrainValidation, tokenizeDocuments, validateTokenizedCorpus,
} from './data/corpus.js';
export type {
  CorpusDocument, CorpusOptions, DocumentSplit, TokenEncoder, TokenizedCorpus, ValidationSplitOptions,
} from './data/corpus.js';
export {
  createPairInstances, createValidationBatches, deriveSeed, IGNORE_INDEX, maskTokensInto, MlmBatcher, mlmVocabOf,
  NSP_IS_NEXT, NSP_RANDOM_NEXT, resolveMlmOptions,
} from './data/mlm.js';
export type {
  MlmBatch, MlmBatcherOptions, MlmBatcherState, MlmOptions, MlmVocab, PairInstance, ResolvedMlmOptions,
  ValidationBatchOptions,
} from './data/mlm.js';
export {
  authorsSplit, generateIb12, IB12_ANTIPODE, IB12_BITS, IB12_ICOSAHEDRON_EDGES, IB12_SIZE, IB12_THRESHOLD, ib12Score,
  icosahedronGram, parseIb12Csv, randomSplit,
} from './data/ib12.js';
export type { Ib12Dataset, Split } from './data/ib12.js';
// SparQ and decode-time attention
export {
  ATTENTION_KINDS, attentionSpecFromSettings, blockHeadView, buildHeadTasks, cacheHeadView, createAttentionPolicy,
  defaultReallocation, DenseAttention, denseAttentionHead, denseTransfers, ExactTopKAttention, exactTopKHead,
  exactTopKSelect, formatRatio, H2oAttention, h2oHead, h2oSelect, HeavyHitterState, KV_DTYPES, kvBlockLayout, KvCache,
  kvElementBytes,
  LmInfiniteAttention, lmInfiniteHead, lmInfiniteSelect, notResident, nthLargest, oracleHead, PAPER_TOP_K,
  parseCompression, planCompression, plannedRatio, planTopK, RandomProjectionAttention, randomProjectionHead,
  referenceAttentionKernels, ReferenceAttentionKernels, selectWithLocalWindow, SelectWork, sparqApproxLogits, SparqAttention, sparqAttentionHead, sparqBreakEven,
  sparqTransfers, topKIndices, TRANSFER_KINDS, transferBytes, TransferCounters, transferModel, transferRatio, transferTotal,
} from './attention/index.js';
export type {
  AttentionHeadTask, AttentionKernelName, AttentionKernels, AttentionKind, AttentionOptions, AttentionSettings,
  AttentionShape, AttentionSpec, CompressionPlan, CompressionRecipe, DecodeAttention, H2oHeadTask, HeadView, KvBlock,
  KvBlockLayout, KvCacheOptions, KvDType, KvHeadBlock, PlanShape, ProjectedHeadTask, RandomProjectionKernelParams,
  RandomProjectionSpec, SparqHeadResult, SparqKernelParams, SparqParams, SparqSpec, SparqStep1,
  TransferBreakdown, TransferCounts, TransferKind, TransferSpec, TransferSummary,
} from './attention/index.js';
export { WasmAttention } from './backend/wasm/attention.js';
// Models
export {
  checkSupported, contextLength, llamaConfig, llamaFamilyConfig, llmConfigToGgufMetadata, llmConfigToHf,
} from './models/llm-config.js';
export type { LlamaFields, LlamaShape, LlmActivation, LlmArchitecture, LlmConfig } from './models/llm-config.js';
export {
  gpt2ConfigFromHf, gptNeoxConfigFromHf, llamaConfigFromGguf, llamaConfigFromHf, llamaConfigFromLlama2c,
} from './models/llm-config-readers.js';
export {
  BERT, checkpointWeights, createCausalLM, DECODER_FAMILIES, expectedTensors, familyTensors, ggufLlamaTensorName,
  GPT_NEOX, GPT2, GROUPBERT, LLAMA, llmConfigFromHf, MAX_TENSOR_ELEMENTS, MODEL_FAMILIES,
} from './models/registry.js';
export type { ExpectedTensor, GgufFamily, ModelFamily } from './models/registry.js';
export { familyParamInit } from './models/model-init.js';
export type { ModelInitOptions } from './models/model-init.js';
export { openGgufModel, openHfFolder, openLlama2cModel, resolveModelFiles } from './models/model-files.js';
export type { ModelFiles } from './models/model-files.js';
export { LlamaForCausalLM } from './models/llama.js';
export { GptNeoxForCausalLM } from './models/gpt-neox.js';
export { Gpt2LMHeadModel } from './models/gpt2.js';
export { loadCausalLM, loadWeights } from './models/load-llm.js';
export {
  ARCHITECTURES, bertConfig, createPreTrainingModel, groupBertConfig, isGroupBertConfig, modelConfig,
  parseArchitecture, SIZE_PRESETS, sizePreset,
} from './models/bert-presets.js';
export type { Architecture, ConfigOverrides, SizePreset } from './models/bert-presets.js';
export { BertForPreTraining, BertLayer, BertModel, encoderInit } from './models/bert.js';
export type { BertConfig } from './models/bert.js';
export {
  GROUPBERT_DEFAULTS, groupBertConfigFromJson, GroupBertForPreTraining, GroupBertLayer, GroupBertModel,
  validateGroupBertConfig,
} from './models/groupbert.js';
export type { GroupBertConfig, GroupBertModuleKind } from './models/groupbert.js';
export {
  batchInputs, checkBatch, checkTokenShape, encoderConfigFromJson, IGNORE_LABEL, preTrainingLoss, PreTrainingModel,
  selectPositions, validateEncoderConfig,
} from './models/pretraining.js';
export type {
  EncoderConfig, EncoderInputs, PreTrainingBatch, PreTrainingForwardOptions, PreTrainingLoss, PreTrainingOutputs,
} from './models/pretraining.js';
export { createFlopCounter, trainingFlops } from './models/flops.js';
export type { FlopCounter, FlopCounts, FlopOptions, FlopReport, ModuleFlops } from './models/flops.js';
export { Generator } from './generate/generator.js';
export type {
  AttentionTraffic, GeneratedToken, GenerationOptions, GenerationResult, GenerationStats, GeneratorOptions,
  StopReason,
} from './generate/generator.js';
export { argmaxIndex, Sampler } from './generate/sampler.js';
export type { SamplerOptions } from './generate/sampler.js';
export { LanguageModel, createLanguageModel, openModelBytes, defaultEngine, wasmEngine, describeWasmKernels, defaultDecodeThreads, SMALL_MODEL_PARAMETERS, type LanguageModelEngine, type LanguageModelOptions, type ModelBytes, type GenerateOptions, type GenerationOutput, type GenerationProgress } from './generate/language-model.js';
// Information plane
export {
  activationRange, activations, adaptiveKdeInformation, adaptiveKdeVariance, AKDE_DEFAULT_SCALE, checkLabels,
  countIds, DEFAULT_ESTIMATOR_SETTINGS, digamma, digammaTable, discreteInformation, distinctSorted, ebabBins,
  ebabInformation, entropyFromCounts, entropyOfIds, equalWidthBins, estimateLayerInformation, ESTIMATOR_DESCRIPTIONS,
  ESTIMATOR_NAMES, fixedBinningInformation, isEstimatorName, kdeInformation, ksgDiscreteMutualInformation,
  ksgInformation, ksgMutualInformation, labels, layerIds, LN2, millerMadowEntropyBias, millerMadowEntropyOfIds,
  millerMadowInformationBias, mutualInformationOfIds, occupiedCount, pairIds, radixSortFloat32, rowIds,
  saxeBinningInformation, saxeBins,
} from './info/index.js';
export type {
  Activations, AdaptiveKdeOptions, BinnedValues, CodeMatrix, DiscreteInformationOptions, EbabInformationOptions,
  EbabOptions, EstimateContext, EstimatorName, EstimatorSettings, FixedBinningOptions, InformationEstimate,
  KdeBounds, KdeOptions, KsgOptions, Labels, LayerInformation, RangeRule, RowIdOptions, RowIds, SaxeBinningOptions,
} from './info/index.js';
// Block-sparse weights and dynamic sparse training
export { BLOCK_SIZES, BlockSparsePattern, activeBlockCount, blockNorms, checkBlockSize } from './nn/block-sparse.js';
export { blockSparseLayout, isBlockSparseLayout, type BlockSparseLayout, type BlockSparseLayoutOptions } from './nn/block-sparse-layout.js';
export { blockSparseProductsOf, withBlockSparse, type BlockSparseBackend, type BlockSparseProducts, type BlockSparseStructure } from './backend/reference/block-sparse.js';
export { WasmBlockSparse, type WasmBlockSparseOptions } from './backend/wasm/block-sparse.js';
export {
  checkPruneSchedule, DynSparseController, pruneAndRegrow, pruneFraction, reindexBlocks, reindexOptimizerState,
  sparseLearningRate, sparseWeightsOf, SPARSITY_MODES, updateIndex,
} from './train/dynsparse.js';
export type {
  DynSparseOptions, DynSparseState, PruneRegrowInput, PruneRegrowResult, PruneSchedule, SparseWeight, SparsityMode,
  StatefulOptimizer, TensorTelemetry, UpdateTelemetry,
} from './train/dynsparse.js';
