// Language-model training, platform-neutral: the held-out split, the byte-level BPE tokenizer trained
// on the training split, a small Llama-style model, one training step (random windows, AdamW with
// linear warm-up and cosine decay, gradient clipping), held-out evaluation, and the run's state as
// checkpoint contents so that a resumed run continues bit for bit. Files, logs and the loop's hooks
// are the Node runner's (src/node/train-lm-runner.ts).
//
// Recipe: random windows of the training split, each prefixed with BOS (so generation can start
// from BOS alone); the last 10% of each text held out, cut at a line boundary. With a training mix
// (src/train/lm-mix.ts) some windows are synthetic copying and retrieval documents instead; with a
// short-context phase the first steps train on shorter windows, more of them, the same tokens a step.

import { backward, noGrad } from '../autograd/engine.js';
import { withStepMemory } from '../backend/backend.js';
import { crossEntropy } from '../autograd/ops/loss.js';
import type { CheckpointContents, CheckpointTensor, JsonValue } from '../io/checkpoint.js';
import { llamaConfig, type LlmConfig } from '../models/llm-config.js';
import type { CausalLM } from '../models/decoder-common.js';
import { createCausalLM } from '../models/load-llm.js';
import type { FloatAllocator } from '../nn/init.js';
import { AdamW } from '../optim/adam.js';
import { clipGradNorm } from '../optim/clip.js';
import { splitParamGroups } from '../optim/optimizer.js';
import { linearWarmupCosineDecay, type LrSchedule } from '../optim/schedule.js';
import { trainByteLevelBpe } from '../text/bpe-trainer.js';
import type { BpeTokenizer } from '../text/bpe-tokenizer.js';
import { Rng } from '../tensor/rng.js';
import type { Shape } from '../tensor/shape.js';
import { Tensor } from '../tensor/tensor.js';
import { curriculumIdCount, distinctIdsOnce, drawMixKind, formatTrainingMix, MIX_KINDS, mixDocument, NO_MIX, shuffledIds, type IdCurriculum, type MixDocument, type MixKind, type MixSource, type TrainingMix } from './lm-mix.js';
import type { StepReport } from './loop.js';

export const LM_BOS = '<|endoftext|>';
/** Attention scores per block of query rows: smaller blocks skip more of the causal mask's zeros. */
const SCORE_BLOCK = 1 << 20;

/** The last 10% of `text` held out, cut at a line boundary. */
export function splitHeldOut(text: string): { readonly trainText: string; readonly validText: string } {
  let cut = Math.floor(text.length * 0.9);
  const newline = text.indexOf('\n', cut);
  if (newline >= 0) cut = newline + 1;
  return { trainText: text.slice(0, cut), validText: text.slice(cut) };
}

export interface LanguageModelData {
  readonly tokenizer: BpeTokenizer;
  /** The tokenizer.json text. */
  readonly tokenizerJson: string;
  readonly bosId: number;
  readonly trainIds: Int32Array;
  readonly validIds: Int32Array;
  /** Characters of the held-out text (for bits per character). */
  readonly validChars: number;
}

export interface LanguageModelDataOptions {
  readonly vocabSize: number;
  readonly context: number;
  /** Names the text in errors. */
  readonly source: string;
  /** Use this tokenizer (a resumed run's) instead of training one. */
  readonly tokenizer?: { readonly tokenizer: BpeTokenizer; readonly json: string };
}

/**
 * Trains the tokenizer on the training split (unless one is given) and encodes both splits. A list
 * of texts (documents, e.g. the files of a folder) is split one by one, so every document gives
 * the held-out split its end; the parts are joined with a blank line.
 */
export function prepareLanguageModelData(text: string | readonly string[], options: LanguageModelDataOptions): LanguageModelData {
  const splits = (typeof text === 'string' ? [text] : text).map(splitHeldOut);
  const trainText = splits.map((s) => s.trainText).filter((t) => t.length > 0).join('\n\n');
  const validText = splits.map((s) => s.validText).filter((t) => t.length > 0).join('\n\n');
  if (trainText.length === 0 || validText.length === 0) throw new Error(`--data ${options.source}: too short to split into training and held-out text`);
  let tokenizer: BpeTokenizer;
  let tokenizerJson: string;
  if (options.tokenizer) {
    ({ tokenizer, json: tokenizerJson } = options.tokenizer);
  } else {
    const trained = trainByteLevelBpe(trainText, { vocabSize: options.vocabSize, specialTokens: [LM_BOS], bosToken: LM_BOS });
    tokenizer = trained.tokenizer;
    tokenizerJson = trained.json;
  }
  const bosId = tokenizer.tokenToId(LM_BOS);
  if (bosId === undefined) throw new Error(`the tokenizer has no ${LM_BOS} token`);
  const trainIds = Int32Array.from(tokenizer.encode(trainText, { addBos: false, allowSpecial: false }));
  const validIds = Int32Array.from(tokenizer.encode(validText, { addBos: false, allowSpecial: false }));
  const window = options.context - 1;
  if (trainIds.length <= window + 1 || validIds.length <= window + 1) {
    throw new Error(`--context ${options.context}: the split has only ${trainIds.length} training and ${validIds.length} held-out tokens`);
  }
  return { tokenizer, tokenizerJson, bosId, trainIds, validIds, validChars: validText.length };
}

export interface LanguageModelSettings {
  readonly hiddenSize: number;
  readonly layers: number;
  readonly heads: number;
  readonly intermediateSize: number;
  /** Training window, BOS included. */
  readonly context: number;
  /** Windows per step. */
  readonly batch: number;
  readonly steps: number;
  readonly lr: number;
  readonly warmup: number;
  readonly weightDecay: number;
  readonly clip: number;
  readonly seed: number;
  /** Held-out windows per evaluation (at most what the split holds). */
  readonly evalWindows: number;
  /** Fractions of synthetic copying / retrieval windows (default none). */
  readonly mix?: TrainingMix;
  /** Window of the first `shortSteps` steps (a divisor of `context`; default `context`). */
  readonly shortContext?: number;
  readonly shortSteps?: number;
  /** A vocabulary curriculum for the copy and period kinds' random ids, from step 0 (`--random-ids`). */
  readonly randomIds?: IdCurriculum;
  /** Lengthenings of the schedule made by resumes (`--extend-steps`), in order; the run's total is the last one's. */
  readonly extensions?: readonly ScheduleExtension[];
}

/**
 * A resume that lengthened the run: from step `fromStep` (0-based, the first step trained under it)
 * the total is `steps`. The cosine goes on from the phase it had reached, stretched over the new
 * remaining steps, so the learning rate is continuous and still ends at the original final lr.
 */
export interface ScheduleExtension {
  readonly fromStep: number;
  readonly steps: number;
  /** A lengthened short-context phase (`--extend-short-steps`), from the same step on. */
  readonly shortSteps?: number;
  /** With shortSteps, after the short phase had ended: a new short phase, from fromStep to shortSteps, in windows of this length (`--extend-short-context`). */
  readonly shortContext?: number;
  /** Another training mix (`--extend-mix`), from the same step on. */
  readonly mix?: TrainingMix;
  /** A vocabulary curriculum for the random ids (`--extend-random-ids`), counted from the same step. */
  readonly randomIds?: IdCurriculum;
}

/**
 * Warm-up and cosine decay with extensions: the base schedule's cosine phase (0 at the end of the
 * warm-up, 1 at the end), re-stretched at each extension's first step from the phase reached there
 * to 1 at its new total. Without extensions it is linearWarmupCosineDecay's value, bit for bit.
 */
export function extendedCosineSchedule(options: { peakLr: number; warmupSteps: number; totalSteps: number; finalLr: number }, extensions: readonly ScheduleExtension[]): LrSchedule {
  const base = linearWarmupCosineDecay(options);
  if (extensions.length === 0) return base;
  const { peakLr, warmupSteps, totalSteps, finalLr } = options;
  // Phase at each extension's first step, under the schedule before it.
  let total = totalSteps;
  let phaseAt = (step: number): number => (total - warmupSteps <= 0 ? 1 : Math.min(1, (step - warmupSteps) / (total - warmupSteps)));
  for (const e of extensions) {
    // An extension of the short phase alone keeps the total, and the lr with it.
    if (e.steps === total) continue;
    if (!(Number.isInteger(e.fromStep) && e.fromStep >= warmupSteps && e.fromStep < e.steps && e.steps > total)) {
      throw new Error(`schedule extension ${JSON.stringify(e)}: needs warm-up over (${warmupSteps}) and a total above ${total}`);
    }
    const previous = phaseAt;
    const p0 = previous(e.fromStep);
    phaseAt = (step) => (step < e.fromStep ? previous(step) : Math.min(1, p0 + ((1 - p0) * (step - e.fromStep)) / (e.steps - e.fromStep)));
    total = e.steps;
  }
  const firstExtension = extensions.find((e) => e.steps !== totalSteps)?.fromStep ?? Infinity;
  const finalPhase = phaseAt;
  return (step) => {
    if (step < firstExtension) return base(step);
    return finalLr + (peakLr - finalLr) * 0.5 * (1 + Math.cos(Math.PI * finalPhase(step)));
  };
}

/** Held-out losses on the retrievable tokens of synthetic documents (nats/token), per kind the mix has. */
export type RetrievalLosses = Partial<Record<MixKind, number>>;

export interface LmStepReport extends StepReport {
  readonly gradNorm: number;
  readonly lr: number;
  readonly tokens: number;
}

/** Where a trainer's weights and optimizer moments live (see LanguageModelTrainer's constructor). */
export interface TrainerPlacement {
  readonly alloc?: FloatAllocator | undefined;
}

/** One language-model run: the model, its optimizer and schedule, the data order, evaluation and checkpoints. */
export class LanguageModelTrainer {
  readonly config: LlmConfig;
  readonly model: CausalLM;
  readonly optimizer: AdamW;
  schedule: LrSchedule;
  readonly data: LanguageModelData;
  readonly settings: LanguageModelSettings;
  /** Steps done (a restored run starts from the checkpoint's). */
  step = 0;
  readonly #dataRng: Rng;
  #extensions: ScheduleExtension[];
  readonly #validStarts: number[] = [];
  readonly #trainSource: MixSource;
  readonly #validSource: MixSource;
  /** The training split's ids in the curriculum's fixed shuffled order (found on first use). */
  #curriculumOrder: Int32Array | null = null;

  /**
   * `placement.alloc`: where the weights and the optimizer's moments live (a wasm arena,
   * WasmKernels.allocF32), so that kernels and the update use them in place instead of staging
   * them into scratch on every call (as PreTrainer's stateAlloc). Default: ordinary memory.
   */
  constructor(data: LanguageModelData, settings: LanguageModelSettings, placement: TrainerPlacement = {}) {
    if (settings.hiddenSize % settings.heads !== 0) throw new Error(`--hidden ${settings.hiddenSize} is not a multiple of --heads ${settings.heads}`);
    const shortContext = settings.shortContext ?? settings.context;
    if (!(shortContext >= 2 && shortContext <= settings.context && settings.context % shortContext === 0)) {
      throw new Error(`--short-context ${shortContext} must be at least 2 and divide --context ${settings.context}`);
    }
    this.data = data;
    this.settings = settings;
    const sourceOf = (ids: Int32Array): MixSource => ({
      ids,
      vocabulary: distinctIdsOnce(ids),
      encode: (text) => data.tokenizer.encode(text, { addBos: false, allowSpecial: false }),
      decode: (tokens) => data.tokenizer.decode(tokens),
    });
    this.#trainSource = sourceOf(data.trainIds);
    this.#validSource = sourceOf(data.validIds);
    this.config = llamaConfig({
      vocabSize: data.tokenizer.vocabSize,
      hiddenSize: settings.hiddenSize,
      intermediateSize: settings.intermediateSize,
      numLayers: settings.layers,
      numHeads: settings.heads,
      maxPositions: settings.context,
      bosTokenId: data.bosId,
      eosTokenId: data.bosId,
      tieWordEmbeddings: true,
    });
    this.model = createCausalLM(this.config, { rng: new Rng(settings.seed), std: 0.02, alloc: placement.alloc });
    this.optimizer = new AdamW(splitParamGroups(this.model.namedParameters(), { weightDecay: 0 }), { lr: settings.lr, beta1: 0.9, beta2: 0.95, weightDecay: settings.weightDecay });
    if (placement.alloc) this.optimizer.setStateAllocator(placement.alloc);
    this.#extensions = [...(settings.extensions ?? [])];
    this.schedule = this.#buildSchedule();
    this.#dataRng = new Rng(settings.seed + 1);
    const validWindows = Math.min(settings.evalWindows, Math.floor((data.validIds.length - 1) / settings.context));
    for (let w = 0; w < Math.max(1, validWindows); w++) this.#validStarts.push(w * settings.context);
  }

  #buildSchedule(): LrSchedule {
    const s = this.settings;
    return extendedCosineSchedule({ peakLr: s.lr, warmupSteps: Math.min(s.warmup, s.steps), totalSteps: s.steps, finalLr: s.lr / 10 }, this.#extensions);
  }

  /** The run's total steps: the last extension's, or the settings'. */
  get totalSteps(): number {
    return this.#extensions.at(-1)?.steps ?? this.settings.steps;
  }

  /** The extensions so far (saved with the run's options, so a resume rebuilds the same schedule). */
  get extensions(): readonly ScheduleExtension[] {
    return this.#extensions;
  }

  /** Replaces the extensions (a restored run's). */
  setExtensions(extensions: readonly ScheduleExtension[]): void {
    const previous = this.#extensions;
    this.#extensions = [...extensions];
    try {
      this.schedule = this.#buildSchedule();
    } catch (error) {
      this.#extensions = previous;
      throw error;
    }
  }

  /** Steps of the short-context phase: the last extension's that sets it, or the settings'. */
  get shortSteps(): number {
    return [...this.#extensions].reverse().find((e) => e.shortSteps !== undefined)?.shortSteps ?? this.settings.shortSteps ?? 0;
  }

  /**
   * The pool of random ids of the copy and period kinds at `step`, under the last curriculum in force
   * (an extension's, or the settings'); undefined once it has reached every id, or with none.
   */
  randomIdPool(step: number): Int32Array | undefined {
    const fromExtension = [...this.#extensions].reverse().find((e) => e.randomIds !== undefined && e.fromStep <= step);
    const curriculum = fromExtension?.randomIds ?? this.settings.randomIds;
    if (curriculum === undefined) return undefined;
    const all = this.#trainSource.vocabulary();
    const count = curriculumIdCount(curriculum, step - (fromExtension?.fromStep ?? 0), all.length);
    if (count >= all.length) return undefined;
    this.#curriculumOrder ??= shuffledIds(all, new Rng(this.settings.seed + 3));
    return this.#curriculumOrder.subarray(0, count);
  }

  /** The training mix now: the last extension's that sets one, or the settings'. */
  get mix(): TrainingMix {
    return [...this.#extensions].reverse().find((e) => e.mix !== undefined)?.mix ?? this.settings.mix ?? NO_MIX;
  }

  /**
   * Lengthens the run to `steps` from the current step, the learning rate continuous (see
   * extendedCosineSchedule), and/or the short-context phase to `shortSteps` (while the run is still in it),
   * and/or trains on another mix, and/or starts a vocabulary curriculum for the random ids, from the current step on.
   */
  extend(change: {
    readonly steps?: number | undefined;
    readonly shortSteps?: number | undefined;
    readonly shortContext?: number | undefined;
    readonly mix?: TrainingMix | undefined;
    readonly randomIds?: IdCurriculum | undefined;
  }): void {
    const steps = change.steps ?? this.totalSteps;
    if (change.steps !== undefined) {
      if (!(Number.isInteger(steps) && steps > this.totalSteps)) throw new Error(`--extend-steps ${steps}: must be larger than the run's current total of ${this.totalSteps} steps`);
      if (this.step < Math.min(this.settings.warmup, this.settings.steps)) throw new Error(`--extend-steps ${steps}: the run is still warming up (step ${this.step} of ${this.settings.warmup}); extend after the warm-up`);
    }
    const { shortSteps, shortContext } = change;
    if (shortContext !== undefined) {
      const { context } = this.settings;
      if (shortSteps === undefined) throw new Error(`--extend-short-context ${shortContext}: needs --extend-short-steps (the step the new short phase ends at)`);
      if (!(Number.isInteger(shortContext) && shortContext >= 2 && shortContext <= context && context % shortContext === 0)) throw new Error(`--extend-short-context ${shortContext} must be at least 2 and divide --context ${context}`);
    }
    if (shortSteps !== undefined) {
      if (shortContext === undefined) {
        if (!(Number.isInteger(shortSteps) && shortSteps > this.shortSteps)) throw new Error(`--extend-short-steps ${shortSteps}: must be larger than the run's current ${this.shortSteps} short-context steps`);
        if (this.step >= this.shortSteps) throw new Error(`--extend-short-steps ${shortSteps}: the short-context phase ended at step ${this.shortSteps} (the run is at step ${this.step}); a new one needs --extend-short-context`);
      } else if (!(Number.isInteger(shortSteps) && shortSteps > this.step)) {
        throw new Error(`--extend-short-steps ${shortSteps}: a new short-context phase must end after the run's current step ${this.step}`);
      }
      if (shortSteps > steps) throw new Error(`--extend-short-steps ${shortSteps} is more than the run's ${steps} steps`);
    }
    const { mix } = change;
    if (mix !== undefined && formatTrainingMix(mix) === formatTrainingMix(this.mix)) throw new Error(`--extend-mix ${formatTrainingMix(mix)}: the run already trains on that mix`);
    const { randomIds } = change;
    if (change.steps === undefined && shortSteps === undefined && mix === undefined && randomIds === undefined) return;
    this.setExtensions([...this.#extensions, {
      fromStep: this.step,
      steps,
      ...(shortSteps === undefined ? {} : { shortSteps }),
      ...(shortContext === undefined ? {} : { shortContext }),
      ...(mix === undefined ? {} : { mix }),
      ...(randomIds === undefined ? {} : { randomIds }),
    }]);
  }

  /** Inputs (BOS, then the first t - 1 tokens) and next-token targets of sequences of t tokens each. */
  #batch(sequences: readonly ArrayLike<number>[], t: number): { inputs: Tensor; targets: Tensor } {
    const inputs = new Int32Array(sequences.length * t);
    const targets = new Int32Array(sequences.length * t);
    sequences.forEach((seq, b) => {
      inputs[b * t] = this.data.bosId;
      for (let i = 0; i < t; i++) {
        if (i + 1 < t) inputs[b * t + i + 1] = seq[i]!;
        targets[b * t + i] = seq[i]!;
      }
    });
    return { inputs: new Tensor(inputs, 'i32', [sequences.length, t]), targets: new Tensor(targets, 'i32', [sequences.length, t]) };
  }

  /** The window length and windows per step of step `step` (0-based): the short phase first. */
  phase(step: number): { readonly window: number; readonly rows: number } {
    const { context, batch } = this.settings;
    // The settings' phase, as the extensions in force at `step` changed it (in the order they were made).
    let short = this.settings.shortContext ?? context;
    let until = this.settings.shortSteps ?? 0;
    for (const e of this.#extensions) {
      if (e.fromStep > step) break;
      if (e.shortSteps !== undefined) until = e.shortSteps;
      if (e.shortContext !== undefined) short = e.shortContext;
    }
    return step < until ? { window: short, rows: batch * (context / short) } : { window: context, rows: batch };
  }

  /** One optimizer step on random training windows (corpus windows and the mix's documents). */
  trainStep(): LmStepReport {
    const { clip } = this.settings;
    const { window, rows } = this.phase(this.step);
    const ids = this.data.trainIds;
    const mix = this.mix;
    const pool = this.randomIdPool(this.step);
    const sequences = Array.from({ length: rows }, () => {
      const kind = drawMixKind(mix, this.#dataRng);
      if (kind !== 'corpus') return mixDocument(kind, this.#trainSource, window, this.#dataRng, pool).tokens;
      const start = this.#dataRng.int(ids.length - window);
      return ids.subarray(start, start + window);
    });
    const { inputs, targets } = this.#batch(sequences, window);
    this.optimizer.setLearningRate(this.schedule(this.step));
    // In the backend's step memory: kernel outputs (activations, gradients) are arena blocks reused
    // from step to step, not fresh arrays copied out of wasm memory (a third of a 2048-token step's
    // time went to those copies and their page faults). No gradient may outlive the step.
    const { loss, gradNorm } = withStepMemory(() => {
      this.optimizer.zeroGrad();
      const lossTensor = crossEntropy(this.model.forward(inputs, { maxScoreElements: SCORE_BLOCK }), targets);
      backward(lossTensor);
      const norm = clipGradNorm(this.model.parameters(), clip);
      this.optimizer.step();
      this.optimizer.zeroGrad();
      return { loss: lossTensor.item(), gradNorm: norm };
    });
    this.step++;
    return { loss, gradNorm, lr: this.optimizer.learningRate, tokens: inputs.size };
  }

  /** Mean held-out loss (nats per token) over fixed corpus windows, without dropout or gradients. */
  evaluate(): number {
    const t = this.settings.context;
    return withStepMemory(() => noGrad(() => {
      this.model.eval();
      let total = 0;
      const starts = this.#validStarts;
      for (let i = 0; i < starts.length; i += this.settings.batch) {
        const { inputs, targets } = this.#batch(starts.slice(i, i + this.settings.batch).map((s) => this.data.validIds.subarray(s, s + t)), t);
        total += crossEntropy(this.model.forward(inputs, { maxScoreElements: SCORE_BLOCK }), targets).item() * inputs.shape[0]!;
      }
      this.model.train();
      return total / starts.length;
    }));
  }

  /**
   * Held-out copying and retrieval: the mean loss on the retrievable tokens (copied spans, answers)
   * of `windows` fixed synthetic documents of each kind the mix has, built from the held-out split
   * at the full context with a generator of their own (the same documents at every evaluation).
   */
  evaluateRetrieval(windows: number): RetrievalLosses {
    const t = this.settings.context;
    const out: RetrievalLosses = {};
    withStepMemory(() => noGrad(() => {
      this.model.eval();
      for (const kind of MIX_KINDS.filter((k) => this.mix[k] > 0)) {
        const rng = new Rng(this.settings.seed + 2);
        const docs: MixDocument[] = Array.from({ length: Math.max(1, windows) }, () => mixDocument(kind, this.#validSource, t, rng));
        let sum = 0;
        let count = 0;
        for (let i = 0; i < docs.length; i += this.settings.batch) {
          const part = docs.slice(i, i + this.settings.batch);
          const { inputs, targets } = this.#batch(part.map((d) => d.tokens), t);
          // Only retrievable positions count: the others get the ignored label.
          const labels = targets.toArray() as Int32Array;
          let n = 0;
          part.forEach((d, b) => d.retrievable.forEach((r, j) => (r ? n++ : (labels[b * t + j] = -100))));
          if (n === 0) continue;
          sum += crossEntropy(this.model.forward(inputs, { maxScoreElements: SCORE_BLOCK }), new Tensor(labels, 'i32', targets.shape)).item() * n;
          count += n;
        }
        if (count > 0) out[kind] = sum / count;
      }
      this.model.train();
    }));
    return out;
  }

  /** Nats per token over the average characters per held-out token, in bits. */
  bitsPerChar(loss: number): number {
    return loss / (this.data.validChars / this.data.validIds.length) / Math.LN2;
  }

  /** Names and shapes a checkpoint of this run must hold. */
  modelShapes(): Map<string, Shape> {
    return new Map([...this.model.stateDict()].map(([k, t]) => [k, t.shape]));
  }

  /** Everything needed to continue the run exactly: weights, optimizer, data order, step. */
  checkpoint(user: Readonly<Record<string, JsonValue>>): CheckpointContents {
    const optimizerState = this.optimizer.stateDict({ copy: true });
    const tensors = (entries: Iterable<[string, Tensor]>): Map<string, CheckpointTensor> =>
      new Map([...entries].map(([k, t]) => [k, { shape: t.shape, data: t.toArray() as Float32Array }]));
    return {
      model: tensors(this.model.stateDict({ copy: true })),
      optimizer: tensors(optimizerState.tensors),
      state: { step: this.step, rng: { data: this.#dataRng.getState() }, optimizer: optimizerState.scalars, user },
    };
  }

  /** Restores a checkpoint written by checkpoint() for the same settings and data. */
  restore(saved: CheckpointContents, source: string): void {
    const dataState = saved.state.rng['data'];
    if (!dataState) throw new Error(`${source}: no state for the 'data' random generator`);
    this.model.loadStateDict(saved.model);
    this.optimizer.loadStateDict({ tensors: saved.optimizer, scalars: saved.state.optimizer });
    this.#dataRng.setState(dataState);
    this.step = saved.state.step;
  }
}
