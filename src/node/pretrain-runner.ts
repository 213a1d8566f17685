// A pre-training run on disk: corpus and vocabulary, the MLM data, the model, the training loop with
// a progress bar, validation every so often, a JSON-lines metrics log with the FLOPs consumed, and
// atomic checkpoints that a run resumes from exactly (same batches, masks, dropout and optimizer
// state, so the same loss curve). Output folder:
//   run.json            the settings (a resumed run must match them)
//   vocab.txt           the vocabulary, when trained for this run
//   metrics.jsonl       one record per step ("train") and per validation ("validation")
//   checkpoint.safetensors  the latest checkpoint (model, optimizer, generators, data position, counters)

import { existsSync } from 'node:fs';
import { mkdir, readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';

import type { JsonValue } from '../io/checkpoint.js';
import { createPreTrainingModel, modelConfig, sizePreset, type Architecture, type ConfigOverrides } from '../models/bert-presets.js';
import type { GroupBertConfig } from '../models/groupbert.js';
import { createValidationBatches, MlmBatcher, mlmVocabOf, type MlmBatcherState } from '../data/mlm.js';
import { numDocuments, splitTrainValidation, type TokenizedCorpus } from '../data/corpus.js';
import { assertFiniteCheckpoint, runTrainingLoop, type StopReason } from '../train/loop.js';
import {
  PreTrainer, sparseEncoderLayout, type MlmBatchSource, type OptimizerKind, type SparseTrainingSettings, type StepResult, type ValidationResult,
} from '../train/pretrain.js';
import type { UpdateTelemetry } from '../train/dynsparse.js';
import { trainWordPiece } from '../text/wordpiece-trainer.js';
import type { WordPieceTokenizer } from '../text/wordpiece.js';
import { Rng } from '../tensor/rng.js';
import { initNodeBackend, type NodeBackend } from './backend.js';
import { loadCheckpointWithFallback, removeStaleCheckpointTemps, saveCheckpoint } from './checkpoint.js';
import { loadWordPieceVocab, readCorpusFiles, saveWordPieceVocab } from './corpus-files.js';
import { writeFileAtomic } from './files.js';
import { MetricsLog, truncateMetricsLog, type MetricValue } from './metrics-log.js';
import { ProgressBar, type ProgressStream } from './progress.js';
import { tokenizeCorpusCached } from './token-cache.js';

export interface PretrainRunOptions {
  readonly arch: Architecture;
  /** A size preset name (see src/models/bert-presets.ts). */
  readonly size: string;
  /** A text file or a folder of them. */
  readonly corpus: string;
  /** A vocab.txt; without it a vocabulary of vocabSize is trained on the corpus and saved in the output folder. */
  readonly vocab?: string | undefined;
  readonly vocabSize: number;
  readonly steps: number;
  readonly batchSize: number;
  readonly seqLength: number;
  readonly optimizer: OptimizerKind;
  readonly lr: number;
  readonly warmupSteps: number;
  readonly weightDecay: number;
  readonly clipNorm: number;
  readonly seed: number;
  /** Hidden and attention dropout (default: the preset's 0.1). */
  readonly dropout?: number | undefined;
  readonly nsp: boolean;
  readonly wholeWordMask: boolean;
  readonly out: string;
  readonly resume: boolean;
  /** Validate every this many steps (and at the end). */
  readonly evalEvery: number;
  /** Validation sequences (a fixed subset of the held-out documents). */
  readonly evalSequences: number;
  readonly validationFraction: number;
  /** Checkpoint every this many steps (and at the end). */
  readonly checkpointEvery: number;
  /** Stop after this many steps of this session, checkpointing first (for time-sliced runs and tests). */
  readonly stopAfter?: number | undefined;
  /** Worker threads of the wasm backend; 'reference' runs on the plain TypeScript kernels (tests). */
  readonly threads?: number | 'reference' | undefined;
  /** Tokenized-corpus cache folder (default <out>/cache). */
  readonly cacheDir?: string | undefined;
  readonly groupbert?: Partial<Omit<GroupBertConfig, keyof ConfigOverrides>> | undefined;
  /** Progress output (default process.stderr; a TTY gets a bar, anything else a line every 10 s). */
  readonly progressStream?: ProgressStream | undefined;
  readonly quiet?: boolean | undefined;
  /** Block-sparse training of every fully connected encoder weight (--sparsity ...); the seed is the run's. */
  readonly sparse?: Omit<SparseTrainingSettings, 'seed'> | undefined;
  /**
   * Log the first sparse weight's newly explored block positions at the start and after every update
   * (kind 'sparse-explored'), so that its accumulated mask can be drawn at any update.
   */
  readonly traceMask?: boolean | undefined;
}

export interface PretrainSummary {
  readonly out: string;
  readonly step: number;
  readonly finished: boolean;
  /** Why the session ended: the run finished, Ctrl-C (the signal), or --stop-after. */
  readonly stoppedBy: StopReason;
  /** The checkpoint that continues the run. */
  readonly checkpoint: string;
  readonly resumedFrom: number | null;
  readonly lastTrain: StepResult | null;
  readonly lastValidation: ValidationResult | null;
  readonly nonEmbeddingFlops: number;
  readonly totalFlops: number;
  readonly trainSeconds: number;
  readonly tokens: number;
}

export const CHECKPOINT_FILE = 'checkpoint.safetensors';
export const METRICS_FILE = 'metrics.jsonl';
export const RUN_FILE = 'run.json';

/** The settings that define a run: resuming with different ones is refused. */
function runSettings(options: PretrainRunOptions, config: JsonValue, vocabPath: string): Record<string, JsonValue> {
  return {
    arch: options.arch,
    size: options.size,
    config,
    corpus: options.corpus,
    vocab: vocabPath,
    steps: options.steps,
    batchSize: options.batchSize,
    seqLength: options.seqLength,
    optimizer: options.optimizer,
    lr: options.lr,
    warmupSteps: options.warmupSteps,
    weightDecay: options.weightDecay,
    clipNorm: options.clipNorm,
    seed: options.seed,
    nsp: options.nsp,
    wholeWordMask: options.wholeWordMask,
    evalEvery: options.evalEvery,
    evalSequences: options.evalSequences,
    validationFraction: options.validationFraction,
    ...(options.sparse ? { sparse: { ...options.sparse } } : {}),
  };
}

function checkOptions(o: PretrainRunOptions): void {
  const positive: Array<[string, number]> = [
    ['--steps', o.steps],
    ['--batch', o.batchSize],
    ['--seq', o.seqLength],
    ['--vocab-size', o.vocabSize],
    ['--eval-every', o.evalEvery],
    ['--eval-sequences', o.evalSequences],
    ['--checkpoint-every', o.checkpointEvery],
  ];
  for (const [flag, v] of positive) if (!Number.isInteger(v) || v < 1) throw new Error(`${flag} must be a positive integer, got ${v}`);
  if (!(o.lr > 0)) throw new Error(`--lr must be positive, got ${o.lr}`);
  if (!Number.isInteger(o.warmupSteps) || o.warmupSteps < 0 || o.warmupSteps > o.steps) throw new Error(`--warmup must be an integer in [0, --steps], got ${o.warmupSteps}`);
  if (!(o.weightDecay >= 0)) throw new Error(`--weight-decay must be non-negative, got ${o.weightDecay}`);
  if (!(o.clipNorm >= 0)) throw new Error(`--clip must be non-negative, got ${o.clipNorm}`);
  if (o.dropout !== undefined && !(o.dropout >= 0 && o.dropout < 1)) throw new Error(`--dropout must be in [0, 1), got ${o.dropout}`);
  if (o.stopAfter !== undefined && (!Number.isInteger(o.stopAfter) || o.stopAfter < 1)) throw new Error(`--stop-after must be a positive integer, got ${o.stopAfter}`);
  const sp = o.sparse;
  if (sp) {
    if (!(sp.sparsity >= 0 && sp.sparsity < 1)) throw new Error(`--sparsity must be in [0, 1), got ${sp.sparsity}`);
    if (!Number.isInteger(sp.block) || sp.block < 1) throw new Error(`--block must be a positive integer, got ${sp.block}`);
    if (!['static', 'dynamic', 'rigl'].includes(sp.regrow)) throw new Error(`--regrow must be dynamic, static or rigl, got '${String(sp.regrow)}'`);
    if (!Number.isInteger(sp.updates) || sp.updates < 1) throw new Error(`--updates must be a positive integer, got ${sp.updates}`);
    if (sp.updates > o.steps) throw new Error(`--updates ${sp.updates} is larger than --steps ${o.steps} (at most one pattern update per step)`);
    if (!(sp.pruneRatio >= 0 && sp.pruneRatio <= 1)) throw new Error(`--prune-ratio must be in [0, 1], got ${sp.pruneRatio}`);
    if (!(sp.normOrder > 0)) throw new Error(`--block-norm must be l1 or l2 (a positive p), got p = ${sp.normOrder}`);
  }
}

/** Throws naming --block when it does not divide a sparse weight's dimensions. */
function checkBlockDivides(block: number, config: { readonly hiddenSize: number; readonly intermediateSize: number }): void {
  const { hiddenSize: h, intermediateSize: i } = config;
  if (h % block !== 0 || i % block !== 0) {
    throw new Error(`--block ${block} does not divide the encoder's weight dimensions (hidden ${h}, intermediate ${i})`);
  }
}

/** One metrics record of a pattern update: the schedule, means over the sparse tensors, and each tensor's explored fraction. */
function telemetryRecord(t: UpdateTelemetry): Record<string, MetricValue> {
  const n = t.tensors.length;
  const mean = (f: (x: UpdateTelemetry['tensors'][number]) => number): number => t.tensors.reduce((acc, x) => acc + f(x), 0) / n;
  const record: Record<string, MetricValue> = {
    kind: 'sparse-update',
    update: t.update,
    pruneFraction: t.pruneFraction,
    density: mean((x) => x.density),
    explored: mean((x) => x.explored),
    prunedRecentlyRegrown: mean((x) => x.prunedRecentlyRegrown),
    pruned: t.tensors.reduce((acc, x) => acc + x.pruned, 0),
    regrown: t.tensors.reduce((acc, x) => acc + x.regrown, 0),
  };
  for (const x of t.tensors) {
    record[`density:${x.name}`] = x.density;
    record[`explored:${x.name}`] = x.explored;
    record[`prunedRecentlyRegrown:${x.name}`] = x.prunedRecentlyRegrown;
  }
  return record;
}

/** Adapts the MLM batcher to the trainer's source interface; its state is {epoch, cursor}. */
class BatcherSource implements MlmBatchSource {
  constructor(private readonly batcher: MlmBatcher) {}

  next() {
    return this.batcher.next();
  }

  state(): JsonValue {
    const { epoch, cursor } = this.batcher.getState();
    return { epoch, cursor };
  }

  restore(state: JsonValue): void {
    if (typeof state !== 'object' || state === null || Array.isArray(state)) throw new Error(`checkpoint: data state must be {epoch, cursor}, got ${JSON.stringify(state)}`);
    const s = state as Record<string, JsonValue>;
    this.batcher.setState({ epoch: s['epoch'], cursor: s['cursor'] } as MlmBatcherState);
  }
}

async function prepareTokenizer(options: PretrainRunOptions, note: (line: string) => void): Promise<{ tokenizer: WordPieceTokenizer; vocabPath: string }> {
  if (options.vocab) return { tokenizer: await loadWordPieceVocab(options.vocab), vocabPath: options.vocab };
  const vocabPath = join(options.out, 'vocab.txt');
  if (!existsSync(vocabPath)) {
    const files = await readCorpusFiles(options.corpus);
    const chars = files.reduce((sum, f) => sum + f.text.length, 0);
    note(`training a ${options.vocabSize}-token WordPiece vocabulary on ${options.corpus} (${files.length} file${files.length === 1 ? '' : 's'}, ${formatCount(chars)} characters)...`);
    const trained = trainWordPiece(
      files.map((f) => f.text),
      { vocabSize: options.vocabSize },
    );
    await saveWordPieceVocab(vocabPath, trained.vocab);
  }
  return { tokenizer: await loadWordPieceVocab(vocabPath), vocabPath };
}

/** 1234567 -> '1,234,567'. */
function formatCount(n: number): string {
  return n.toLocaleString('en-US');
}

function sameJson(a: JsonValue, b: unknown): boolean {
  return JSON.stringify(a) === JSON.stringify(b);
}

/**
 * Runs (or resumes) pre-training as configured; returns where it stopped. An aborted `signal` (Ctrl-C)
 * stops the run after the step under way, with a checkpoint.
 */
export async function runPretraining(options: PretrainRunOptions, signal?: AbortSignal): Promise<PretrainSummary> {
  checkOptions(options);
  const size = sizePreset(options.size);
  await mkdir(options.out, { recursive: true });
  const checkpointPath = join(options.out, CHECKPOINT_FILE);
  const metricsPath = join(options.out, METRICS_FILE);
  const runPath = join(options.out, RUN_FILE);
  await removeStaleCheckpointTemps(checkpointPath);
  const hasCheckpoint = existsSync(checkpointPath);
  if (hasCheckpoint && !options.resume) throw new Error(`${options.out} already holds a run (${CHECKPOINT_FILE}); pass --resume to continue it or choose another --out`);
  // No checkpoint: a new run (also under --resume, e.g. after a kill before the first save), so lines
  // a killed start left in the log must go.
  if (!hasCheckpoint && existsSync(metricsPath)) await rm(metricsPath);

  // Without --quiet, say what the seconds before the first step go into.
  const note = (line: string): void => {
    if (!options.quiet) (options.progressStream ?? process.stderr).write(`${line}\n`);
  };
  const { tokenizer, vocabPath } = await prepareTokenizer(options, note);
  note(`tokenizing ${options.corpus}...`);
  const { corpus, fromCache } = await tokenizeCorpusCached({ corpusPath: options.corpus, tokenizer, cacheDir: options.cacheDir ?? join(options.out, 'cache') });
  note(`${formatCount(corpus.tokens.length)} tokens in ${formatCount(numDocuments(corpus))} documents${fromCache ? ' (from the token cache)' : ''}`);
  const split: { train: TokenizedCorpus; validation: TokenizedCorpus } = splitTrainValidation(corpus, { validationFraction: options.validationFraction, seed: 0 });
  const vocab = mlmVocabOf(tokenizer);
  const mlm = { seqLength: options.seqLength, nsp: options.nsp, wholeWordMask: options.wholeWordMask };
  const batcher = new MlmBatcher(split.train, vocab, { ...mlm, batchSize: options.batchSize, seed: options.seed });
  // Validation is the same for every run on this corpus and sequence length: its own fixed seed.
  const validation = createValidationBatches(split.validation, vocab, { ...mlm, batchSize: options.batchSize, seed: 0, maxSequences: options.evalSequences });
  if (validation.length === 0) throw new Error(`corpus ${options.corpus}: the validation split is empty`);

  const config = modelConfig(options.arch, size, {
    vocabSize: tokenizer.vocabSize,
    maxPositions: Math.max(size.maxPositions, options.seqLength),
    dropout: options.dropout,
    groupbert: options.groupbert,
  });
  if (options.sparse) checkBlockDivides(options.sparse.block, config);
  const settings = runSettings(options, config as unknown as JsonValue, vocabPath);
  if (hasCheckpoint) {
    let saved: unknown;
    try {
      saved = JSON.parse(await readFile(runPath, 'utf8'));
    } catch (error) {
      throw new Error(`${runPath}: cannot read the settings of the run to resume (${(error as Error).message})`);
    }
    const differing = Object.keys(settings).filter((k) => !sameJson(settings[k]!, (saved as Record<string, unknown>)[k]));
    if (differing.length > 0) throw new Error(`${runPath}: --resume with different settings (${differing.join(', ')}); use the original flags or another --out`);
  } else {
    await writeFileAtomic(runPath, `${JSON.stringify(settings, null, 2)}\n`);
  }

  // The backend first: on wasm, the weights and the optimizer's moments are placed in its arenas,
  // where the kernels use them in place (no per-step copies).
  let engine: NodeBackend | null = null;
  if (options.threads !== 'reference') engine = await initNodeBackend({ threads: options.threads });
  const wasm = engine?.wasm;
  const alloc = wasm ? (n: number): Float32Array => wasm.allocF32(n) : undefined;
  const initRng = new Rng(options.seed);
  const sparse = options.sparse ? { ...options.sparse, seed: options.seed + 2 } : undefined;
  let trainer: PreTrainer;
  let resumedFrom: number | null = null;
  try {
    const model = createPreTrainingModel(options.arch, config, {
      rng: initRng, dropoutRng: new Rng(options.seed + 1), encoderLinearLayout: sparse ? sparseEncoderLayout(sparse) : undefined, alloc,
    });
    trainer = new PreTrainer(model, new BatcherSource(batcher), {
      architecture: options.arch,
      optimizer: {
        kind: options.optimizer,
        lr: options.lr,
        weightDecay: options.weightDecay,
        warmupSteps: options.warmupSteps,
        totalSteps: options.steps,
        clipNorm: options.clipNorm,
      },
      sparse,
      stateAlloc: alloc,
    });
    if (hasCheckpoint) {
      // A latest checkpoint that fails its checksums (or restore) falls back to the previous one kept.
      const loaded = await loadCheckpointWithFallback(checkpointPath, undefined, (contents, from) => trainer.restore(contents, from));
      if (loaded.fallbackReason !== null) (options.progressStream ?? process.stderr).write(`${loaded.fallbackReason}\nresuming from the previous checkpoint ${loaded.path}\n`);
      resumedFrom = trainer.counters.step;
      await truncateMetricsLog(metricsPath, resumedFrom);
    }
  } catch (error) {
    engine?.dispose(); // the workers would keep the process alive
    throw error;
  }

  const log = new MetricsLog(metricsPath);
  const progress = options.quiet
    ? null
    : new ProgressBar({ total: options.steps, start: trainer.counters.step, label: `${options.arch} ${options.size}`, stream: options.progressStream, logEveryMs: 10_000 });
  const countersRecord = (): Record<string, MetricValue> => ({
    tokens: trainer.counters.tokens,
    sequences: trainer.counters.sequences,
    nonEmbeddingFlops: trainer.counters.nonEmbeddingFlops,
    totalFlops: trainer.counters.totalFlops,
    trainSeconds: trainer.counters.trainMs / 1000,
  });
  const save = async (): Promise<void> => {
    const contents = trainer.checkpoint({ runSettings: settings });
    assertFiniteCheckpoint(contents);
    await saveCheckpoint(checkpointPath, contents, { keepPrevious: true });
  };
  // The traced weight's positions ever active, as last logged (restored with the controller on resume).
  const traced = options.traceMask ? trainer.sparsity?.weights[0] : undefined;
  let explored = traced ? trainer.sparsity!.everActiveOf(traced.name) : null;
  const logExplored = (step: number, update: number, before: Uint8Array | null): void => {
    if (!traced || !explored) return;
    const now = trainer.sparsity!.everActiveOf(traced.name)!;
    const added: number[] = [];
    for (let p = 0; p < now.length; p++) if (now[p] !== 0 && (before === null || before[p] === 0)) added.push(p);
    log.append(step, {
      kind: 'sparse-explored', name: traced.name, update, blockRows: traced.pattern.blockRows, blockCols: traced.pattern.blockCols, positions: added.join(','),
    });
    explored = now;
  };
  let lastTrain: StepResult | null = null;
  let lastValidation: ValidationResult | null = null;
  const validate = (): void => {
    lastValidation = trainer.validate(validation);
    log.append(trainer.counters.step, {
      kind: 'validation',
      valMlmLoss: lastValidation.mlmLoss,
      valMlmAccuracy: lastValidation.mlmAccuracy,
      valNspLoss: lastValidation.nspLoss,
      ...countersRecord(),
    });
  };
  let stoppedBy: StopReason;
  try {
    if (trainer.counters.step === 0) {
      validate();
      logExplored(0, 0, null);
    }
    const loop = await runTrainingLoop({
      total: options.steps,
      start: trainer.counters.step,
      step: () => trainer.step(),
      beforeStep: (step) => trainer.beforeStep(step),
      afterStep: (step, report) => {
        lastTrain = report;
        log.append(report.step, {
          kind: 'train',
          loss: report.loss,
          mlmLoss: report.mlmLoss,
          nspLoss: report.nspLoss,
          mlmAccuracy: report.mlmAccuracy,
          lr: report.lr,
          gradNorm: report.gradNorm,
          ...countersRecord(),
        });
        const update = trainer.afterStep(step);
        if (update) {
          log.append(step, telemetryRecord(update));
          logExplored(step, update.update, explored);
        }
      },
      progress,
      ...(signal ? { signal } : {}),
      ...(options.stopAfter !== undefined ? { maxSessionSteps: options.stopAfter } : {}),
      periodic: [
        { name: 'validation', every: options.evalEvery, atEnd: true, run: validate },
        { name: 'checkpoint', every: options.checkpointEvery, atEnd: true, onStop: true, run: save },
      ],
    });
    stoppedBy = loop.reason;
  } finally {
    progress?.stop();
    log.close();
    engine?.dispose();
  }
  const c = trainer.counters;
  return {
    out: options.out,
    step: c.step,
    finished: c.step >= options.steps,
    stoppedBy,
    checkpoint: checkpointPath,
    resumedFrom,
    lastTrain,
    lastValidation,
    nonEmbeddingFlops: c.nonEmbeddingFlops,
    totalFlops: c.totalFlops,
    trainSeconds: c.trainMs / 1000,
    tokens: c.tokens,
  };
}
