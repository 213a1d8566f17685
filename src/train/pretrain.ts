// Masked-LM pre-training, platform-neutral: the optimizer and schedule a run uses, one training
// step (forward, backward, clipping, update), validation, FLOP bookkeeping, and the run's state as
// checkpoint contents so that a resumed run continues bit for bit. Files, logs and progress bars
// are the Node runner's (src/node/pretrain-runner.ts).

import { backward, noGrad } from '../autograd/engine.js';
import { withStepMemory } from '../backend/backend.js';
import type { CheckpointContents, CheckpointTensor, JsonValue } from '../io/checkpoint.js';
import type { Architecture } from '../models/bert-presets.js';
import { trainingFlops, type FlopReport } from '../models/flops.js';
import { preTrainingLoss, type EncoderConfig, type PreTrainingBatch, type PreTrainingLoss, type PreTrainingModel } from '../models/pretraining.js';
import { AdamW, Adam } from '../optim/adam.js';
import { clipGradNorm } from '../optim/clip.js';
import { LAMB } from '../optim/lamb.js';
import { splitParamGroups, type Optimizer, type BaseHyperparameters } from '../optim/optimizer.js';
import { linearWarmupLinearDecay, type LrSchedule } from '../optim/schedule.js';
import type { Rng, RngState } from '../tensor/rng.js';
import { blockSparseLayout, type BlockSparseLayout } from '../nn/block-sparse-layout.js';
import type { FloatAllocator } from '../nn/init.js';
import { DynSparseController, sparseWeightsOf, type DynSparseState, type UpdateTelemetry } from './dynsparse.js';

export type OptimizerKind = 'adamw' | 'adam' | 'lamb';
export const OPTIMIZER_KINDS: readonly OptimizerKind[] = ['adamw', 'adam', 'lamb'];

export interface OptimizerSettings {
  readonly kind: OptimizerKind;
  readonly lr: number;
  readonly weightDecay: number;
  readonly warmupSteps: number;
  readonly totalSteps: number;
  /** Global gradient-norm clip; 0 turns clipping off. */
  readonly clipNorm: number;
}

/**
 * The optimizer of a pre-training run: biases and LayerNorm weights (rank <= 1) get no weight decay
 * (and, for LAMB, no trust-ratio adaptation), as in BERT's recipes.
 */
export function createOptimizer(model: PreTrainingModel, settings: OptimizerSettings): Optimizer<BaseHyperparameters> {
  const params = [...model.namedParameters()];
  const options = { lr: settings.lr, weightDecay: settings.weightDecay };
  switch (settings.kind) {
    case 'adamw':
      return new AdamW(splitParamGroups(params, { weightDecay: 0 }), options);
    case 'adam':
      return new Adam(splitParamGroups(params, { weightDecay: 0 }), options);
    case 'lamb':
      return new LAMB(splitParamGroups(params, { weightDecay: 0, excludeFromAdaptation: true }), options);
  }
}

export function createSchedule(settings: OptimizerSettings): LrSchedule {
  return linearWarmupLinearDecay({ peakLr: settings.lr, warmupSteps: settings.warmupSteps, totalSteps: settings.totalSteps });
}

/** Where batches come from; `state`/`restore` make a resumed run see the same batches. */
export interface MlmBatchSource {
  next(): PreTrainingBatch;
  /** JSON that, given to restore() on a source built the same way, continues with the same batches. */
  state(): JsonValue;
  restore(state: JsonValue): void;
}

export interface StepResult {
  /** The step just completed (1 for the first). */
  readonly step: number;
  readonly loss: number;
  readonly mlmLoss: number;
  readonly nspLoss: number | null;
  readonly mlmAccuracy: number;
  readonly lr: number;
  /** Gradient norm before clipping. */
  readonly gradNorm: number;
  readonly tokens: number;
  readonly sequences: number;
  readonly maskedTokens: number;
  readonly nonEmbeddingFlops: number;
  readonly totalFlops: number;
}

export interface ValidationResult {
  /** Mean over every masked token of the validation batches. */
  readonly mlmLoss: number;
  readonly mlmAccuracy: number;
  readonly nspLoss: number | null;
  readonly maskedTokens: number;
}

/** Cumulative counters of a run; they are part of its checkpoint. */
export interface RunCounters {
  step: number;
  tokens: number;
  sequences: number;
  nonEmbeddingFlops: number;
  totalFlops: number;
  /** Milliseconds spent in training steps (validation and checkpointing excluded). */
  trainMs: number;
}

/** Block-sparse pre-training (Dietrich et al., arXiv 2108.06277): every fully connected encoder weight at one sparsity. */
export interface SparseTrainingSettings {
  /** Fraction of blocks inactive, in [0, 1). */
  readonly sparsity: number;
  /** Block edge b. */
  readonly block: number;
  /** static: the initial random pattern throughout; dynamic: prune and regrow at random; rigl: regrow by dense gradient. */
  readonly regrow: 'static' | 'dynamic' | 'rigl';
  /** Pattern updates n over the run (one every T/n steps). */
  readonly updates: number;
  /** Initial prune ratio pr of the cosine schedule. */
  readonly pruneRatio: number;
  /** p of the Lp block norm that ranks blocks for pruning (1: the paper's L1). */
  readonly normOrder: number;
  /** Seed of the random regrowth. */
  readonly seed: number;
}

/** The encoder layout factory of a sparse model (ModelInitOptions.encoderLinearLayout): one block-sparse layout per Linear. */
export function sparseEncoderLayout(settings: Pick<SparseTrainingSettings, 'sparsity' | 'block'>): () => BlockSparseLayout {
  return () => blockSparseLayout({ block: settings.block, density: 1 - settings.sparsity });
}

export interface PreTrainerOptions {
  readonly architecture: Architecture;
  readonly optimizer: OptimizerSettings;
  /** Generators whose state a checkpoint keeps, by role; the model's dropout generator is added as 'dropout'. */
  readonly rngs?: Readonly<Record<string, Rng>>;
  /** Milliseconds clock (injectable for tests). */
  readonly clock?: () => number;
  /** Sparse training: the model's encoder must be built with sparseEncoderLayout of the same settings. */
  readonly sparse?: SparseTrainingSettings | undefined;
  /**
   * Where the optimizer's state lives: the allocator the model's weights came from (a wasm arena,
   * ModelInitOptions.alloc), so that the update reads and writes everything in place. Default:
   * ordinary memory.
   */
  readonly stateAlloc?: FloatAllocator | undefined;
}

/** Drives one pre-training run: steps, validation, and checkpoint contents. */
export class PreTrainer {
  readonly model: PreTrainingModel;
  readonly source: MlmBatchSource;
  readonly optimizer: Optimizer<BaseHyperparameters>;
  readonly schedule: LrSchedule;
  readonly settings: OptimizerSettings;
  readonly architecture: Architecture;
  readonly counters: RunCounters = { step: 0, tokens: 0, sequences: 0, nonEmbeddingFlops: 0, totalFlops: 0, trainMs: 0 };
  /** The prune-and-regrow controller of a sparse run (null: dense). */
  readonly sparsity: DynSparseController | null;
  readonly sparseSettings: SparseTrainingSettings | null;
  readonly #rngs: Record<string, Rng>;
  readonly #clock: () => number;
  readonly #flopsBySeq = new Map<number, FlopReport>();

  constructor(model: PreTrainingModel, source: MlmBatchSource, options: PreTrainerOptions) {
    this.model = model;
    this.source = source;
    this.settings = options.optimizer;
    this.architecture = options.architecture;
    this.optimizer = createOptimizer(model, options.optimizer);
    if (options.stateAlloc) this.optimizer.setStateAllocator(options.stateAlloc);
    this.schedule = createSchedule(options.optimizer);
    this.#rngs = { ...options.rngs, dropout: model.dropoutRng };
    this.#clock = options.clock ?? (() => performance.now());
    this.sparseSettings = options.sparse ?? null;
    const weights = sparseWeightsOf(model);
    if (this.sparseSettings && weights.length === 0) throw new Error('PreTrainer: sparse settings for a model without block-sparse weights (build it with sparseEncoderLayout)');
    if (!this.sparseSettings && weights.length > 0) throw new Error('PreTrainer: the model has block-sparse weights; pass the sparse settings');
    const sparse = this.sparseSettings;
    this.sparsity = sparse
      ? new DynSparseController(weights, {
        mode: sparse.regrow,
        schedule: { totalSteps: options.optimizer.totalSteps, updates: sparse.updates, pruneRatio: sparse.pruneRatio },
        normOrder: sparse.normOrder,
        seed: sparse.seed,
      })
      : null;
  }

  /** Before step `step` (1-based; the loop's beforeStep): on RigL update steps the sparse layers capture the dense gradient in backward. */
  beforeStep(step: number): void {
    this.sparsity?.beginStep(step);
  }

  /** After step `step` (the loop's afterStep): prunes and regrows on update steps; the telemetry, or null. */
  afterStep(step: number): UpdateTelemetry | null {
    if (step !== this.counters.step) throw new Error(`PreTrainer.afterStep(${step}) after step ${this.counters.step}`);
    return this.sparsity?.afterStep(step, this.optimizer) ?? null;
  }

  /** FLOPs per sequence at this length (head at no positions: its share is added per masked token). */
  #flops(seqLength: number): FlopReport {
    let report = this.#flopsBySeq.get(seqLength);
    if (!report) {
      const sparse = this.sparseSettings;
      const density = sparse ? { density: 1 - sparse.sparsity, block: sparse.block } : { density: 1 };
      report = trainingFlops(this.architecture, this.model.config, { seqLength, ...density, predictedPositions: 0, nsp: true });
      this.#flopsBySeq.set(seqLength, report);
    }
    return report;
  }

  /** One optimizer step on the next batch. */
  step(): StepResult {
    const start = this.#clock();
    const batch = this.source.next();
    const lr = this.schedule(this.counters.step);
    this.optimizer.setLearningRate(lr);
    this.model.train();
    const compute = (): { out: PreTrainingLoss; loss: number; gradNorm: number } => {
      const out = preTrainingLoss(this.model, batch);
      backward(out.loss);
      const gradNorm = this.settings.clipNorm > 0 ? clipGradNorm(this.model.parameters(), this.settings.clipNorm) : Number.NaN;
      this.optimizer.step();
      this.optimizer.zeroGrad();
      return { out, loss: out.loss.item(), gradNorm };
    };
    // In the backend's step memory, unless RigL keeps a dense gradient from this step for afterStep.
    const { out, loss, gradNorm } = this.sparsity ? compute() : withStepMemory(compute);
    const flops = this.#flops(batch.seqLength);
    const nonEmbeddingFlops = batch.batchSize * flops.nonEmbeddingTrainFlopsPerSequence;
    const totalFlops = batch.batchSize * flops.totalTrainFlopsPerSequence + out.maskedTokens * headTrainFlopsPerPosition(this.model.config);
    const c = this.counters;
    c.step++;
    c.tokens += out.tokens;
    c.sequences += batch.batchSize;
    c.nonEmbeddingFlops += nonEmbeddingFlops;
    c.totalFlops += totalFlops;
    c.trainMs += this.#clock() - start;
    return {
      step: c.step,
      loss,
      mlmLoss: out.mlmLoss,
      nspLoss: out.nspLoss,
      mlmAccuracy: out.mlmCorrect / out.maskedTokens,
      lr,
      gradNorm,
      tokens: out.tokens,
      sequences: batch.batchSize,
      maskedTokens: out.maskedTokens,
      nonEmbeddingFlops,
      totalFlops,
    };
  }

  /** Validation loss over fixed batches: eval mode (no dropout), no gradients, the model left in train mode. */
  validate(batches: readonly PreTrainingBatch[]): ValidationResult {
    if (batches.length === 0) throw new Error('validate: no validation batches');
    this.model.eval();
    try {
      let mlmSum = 0;
      let masked = 0;
      let correct = 0;
      let nspSum = 0;
      let nspCount = 0;
      noGrad(() => {
        for (const batch of batches) {
          const out = preTrainingLoss(this.model, batch);
          mlmSum += out.mlmLoss * out.maskedTokens;
          masked += out.maskedTokens;
          correct += out.mlmCorrect;
          if (out.nspLoss !== null) {
            nspSum += out.nspLoss * batch.batchSize;
            nspCount += batch.batchSize;
          }
        }
      });
      return { mlmLoss: mlmSum / masked, mlmAccuracy: correct / masked, nspLoss: nspCount ? nspSum / nspCount : null, maskedTokens: masked };
    } finally {
      this.model.train();
    }
  }

  /** Everything needed to continue this run exactly: model, optimizer, generators, data position, counters. */
  checkpoint(user: Readonly<Record<string, JsonValue>> = {}): CheckpointContents {
    const model = new Map<string, CheckpointTensor>();
    for (const [name, t] of this.model.namedParameters()) model.set(name, { shape: t.shape, data: float32Of(t.toArray(), name) });
    // Integer buffers (block-sparse patterns) as exact f32 (indices < 2^24).
    for (const [name, t] of this.model.stateDict()) if (!model.has(name) && t.dtype === 'i32') model.set(name, { shape: t.shape, data: Float32Array.from(t.toArray()) });
    const optimizerState = this.optimizer.stateDict();
    const optimizer = new Map<string, CheckpointTensor>();
    for (const [name, t] of optimizerState.tensors) optimizer.set(name, { shape: t.shape, data: float32Of(t.toArray(), name) });
    const rng: Record<string, RngState> = {};
    for (const [role, generator] of Object.entries(this.#rngs)) rng[role] = generator.getState();
    return {
      model,
      optimizer,
      state: {
        step: this.counters.step,
        rng,
        optimizer: optimizerState.scalars,
        user: {
          ...user, counters: { ...this.counters }, data: this.source.state(), architecture: this.architecture,
          ...(this.sparsity ? { dynsparse: this.sparsity.stateDict() as unknown as JsonValue } : {}),
        },
      },
    };
  }

  /** Restores a checkpoint written by checkpoint() for the same model, optimizer and data. */
  restore(contents: CheckpointContents, source: string): void {
    const { state } = contents;
    if (state.user['architecture'] !== this.architecture) {
      throw new Error(`${source}: the checkpoint is of architecture ${JSON.stringify(state.user['architecture'])}, this run is ${this.architecture}`);
    }
    try {
      this.model.loadStateDict(contents.model);
      this.optimizer.loadStateDict({ tensors: contents.optimizer, scalars: state.optimizer });
    } catch (error) {
      throw new Error(`${source}: ${(error as Error).message}`);
    }
    for (const [role, generator] of Object.entries(this.#rngs)) {
      const saved = state.rng[role];
      if (!saved) throw new Error(`${source}: no state for the '${role}' random generator`);
      generator.setState(saved);
    }
    const counters = state.user['counters'];
    if (!isCounters(counters)) throw new Error(`${source}: user.counters is missing or malformed`);
    if (counters.step !== state.step) throw new Error(`${source}: user.counters.step ${counters.step} differs from step ${state.step}`);
    Object.assign(this.counters, counters);
    this.source.restore(state.user['data'] ?? null);
    if (this.sparsity) {
      const saved = state.user['dynsparse'];
      if (typeof saved !== 'object' || saved === null || Array.isArray(saved)) throw new Error(`${source}: user.dynsparse (the sparsity controller's state) is missing`);
      try {
        this.sparsity.loadStateDict(saved as unknown as DynSparseState);
      } catch (error) {
        throw new Error(`${source}: ${(error as Error).message}`);
      }
    }
  }
}

/** Training FLOPs per predicted position of the masked-LM head (transform H -> H, decoder H -> V). */
export function headTrainFlopsPerPosition(config: EncoderConfig): number {
  return 3 * 2 * (config.hiddenSize * config.hiddenSize + config.hiddenSize * config.vocabSize);
}

function float32Of(values: ArrayLike<number>, name: string): Float32Array {
  if (values instanceof Float32Array) return values.slice();
  throw new Error(`checkpoint: '${name}' is not f32`);
}

function isCounters(value: unknown): value is RunCounters {
  if (typeof value !== 'object' || value === null) return false;
  const record = value as Record<string, unknown>;
  return ['step', 'tokens', 'sequences', 'nonEmbeddingFlops', 'totalFlops', 'trainMs'].every((k) => typeof record[k] === 'number');
}
