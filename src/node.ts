// Node entry: the browser-safe API plus files, checkpoints on disk, worker threads and progress.

export * from './index.js';
export { initNodeBackend, type NodeBackend, type NodeBackendOptions } from './node/backend.js';
export { createNodeWasmKernels, enableRelaxedSimd } from './node/wasm-pool.js';
export { loadLanguageModel, type LoadLanguageModelOptions } from './node/language-model.js';
export { bundledModelDir } from './node/bundled-model.js';
export {
  asBytes, openSafetensorsFile, readSafetensorsFile, SafetensorsFileReader, writeFileAtomic, writeFileAtomicWith,
} from './node/files.js';
export type { SafetensorsFileContents } from './node/files.js';
export {
  loadCheckpoint, loadCheckpointWithFallback, previousCheckpointPath, removeStaleCheckpointTemps, saveCheckpoint,
} from './node/checkpoint.js';
export type { LoadedCheckpoint, SaveCheckpointOptions } from './node/checkpoint.js';
export { formatDuration, ProgressBar } from './node/progress.js';
export type { ProgressBarOptions, ProgressStream, ProgressValues } from './node/progress.js';
export { MetricsLog, readMetricsLog, truncateMetricsLog } from './node/metrics-log.js';
export type { MetricsRecord, MetricValue } from './node/metrics-log.js';
export { loadMnist } from './node/mnist.js';
export type { MnistData, MnistSplit } from './node/mnist.js';
export { defaultDataDir, repoRoot } from './node/data-dir.js';
export { openFileByteSource, openGgufFile, writeGgufFile } from './node/file-source.js';
export type { FileByteSource } from './node/file-source.js';
export { loadModelFiles, nodeFolderAccess } from './node/model-files.js';
export type { LoadModelOptions } from './node/model-files.js';
export {
  defaultHubCacheDir, downloadHubFile, downloadHubModel, HubFileNotFoundError, hubFileUrl, hubRevisionDir,
  parseHubSpec, removeCachedHubModel, sha256FromEtag,
} from './node/hub.js';
export type { HubModelSpec, HubOptions } from './node/hub.js';
export {
  CORPUS_EXTENSIONS, decodeUtf8, listCorpusFiles, loadWordPieceVocab, readCorpus, readCorpusFiles,
  saveWordPieceVocab,
} from './node/corpus-files.js';
export type { CorpusFile } from './node/corpus-files.js';
export {
  decodeTokenCache, encodeTokenCache, TOKEN_CACHE_VERSION, tokenCacheKey, tokenizeCorpusCached,
} from './node/token-cache.js';
export type { TokenizeCorpusOptions, TokenizeCorpusResult } from './node/token-cache.js';
export { loadOrTrainVocab, preparePretrainingData } from './node/pretraining-data.js';
export type { PretrainingData, PretrainingDataOptions } from './node/pretraining-data.js';
export { CHECKPOINT_FILE, METRICS_FILE, RUN_FILE, runPretraining } from './node/pretrain-runner.js';
export type { PretrainRunOptions, PretrainSummary } from './node/pretrain-runner.js';
export { loadHfBert } from './node/hf-bert.js';
export type { LoadHfBertOptions } from './node/hf-bert.js';
