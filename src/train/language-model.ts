// Language-model training, platform-neutral: the held-out split, the byte-level BPE tokenizer trained
// on the training split, a small Llama-style model, one training step (random windows, AdamW with
// linear warm-up and cosine decay, gradient clipping), held-out evaluation, and the run's state as
// checkpoint contents so that a resumed run continues bit for bit. Files, logs and the loop's hooks
// are the Node runner's (src/node/train-lm-runner.ts).
//
// Recipe: random windows of the training split, each prefixed with BOS (so generation can start
// from BOS alone); the last 10% of the text held out, cut at a line boundary.

import { backward, noGrad } from '../autograd/engine.js';
import { crossEntropy } from '../autograd/ops/loss.js';
import type { CheckpointContents, CheckpointTensor, JsonValue } from '../io/checkpoint.js';
import { llamaConfig, type LlmConfig } from '../models/llm-config.js';
import type { CausalLM } from '../models/decoder-common.js';
import { createCausalLM } from '../models/load-llm.js';
import { AdamW } from '../optim/adam.js';
import { clipGradNorm } from '../optim/clip.js';
import { splitParamGroups } from '../optim/optimizer.js';
import { linearWarmupCosineDecay, type LrSchedule } from '../optim/schedule.js';
import { trainByteLevelBpe, type TrainedBpe } from '../text/bpe-trainer.js';
import { Rng } from '../tensor/rng.js';
import type { Shape } from '../tensor/shape.js';
import { Tensor } from '../tensor/tensor.js';
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
  readonly trained: TrainedBpe;
  readonly bosId: number;
  readonly trainIds: Int32Array;
  readonly validIds: Int32Array;
  /** Characters of the held-out text (for bits per character). */
  readonly validChars: number;
}

/** Trains the tokenizer on the training split and encodes both splits. `source` names the text in errors. */
export function prepareLanguageModelData(text: string, options: { readonly vocabSize: number; readonly context: number; readonly source: string }): LanguageModelData {
  const { trainText, validText } = splitHeldOut(text);
  if (trainText.length === 0 || validText.length === 0) throw new Error(`--data ${options.source}: too short to split into training and held-out text`);
  const trained = trainByteLevelBpe(trainText, { vocabSize: options.vocabSize, specialTokens: [LM_BOS], bosToken: LM_BOS });
  const bosId = trained.tokenizer.tokenToId(LM_BOS);
  if (bosId === undefined) throw new Error(`the trained tokenizer has no ${LM_BOS} token`);
  const trainIds = Int32Array.from(trained.tokenizer.encode(trainText, { addBos: false, allowSpecial: false }));
  const validIds = Int32Array.from(trained.tokenizer.encode(validText, { addBos: false, allowSpecial: false }));
  const window = options.context - 1;
  if (trainIds.length <= window + 1 || validIds.length <= window + 1) {
    throw new Error(`--context ${options.context}: the split has only ${trainIds.length} training and ${validIds.length} held-out tokens`);
  }
  return { trained, bosId, trainIds, validIds, validChars: validText.length };
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
}

export interface LmStepReport extends StepReport {
  readonly gradNorm: number;
  readonly lr: number;
  readonly tokens: number;
}

/** One language-model run: the model, its optimizer and schedule, the data order, evaluation and checkpoints. */
export class LanguageModelTrainer {
  readonly config: LlmConfig;
  readonly model: CausalLM;
  readonly optimizer: AdamW;
  readonly schedule: LrSchedule;
  readonly data: LanguageModelData;
  readonly settings: LanguageModelSettings;
  /** Steps done (a restored run starts from the checkpoint's). */
  step = 0;
  readonly #dataRng: Rng;
  readonly #validStarts: number[] = [];

  constructor(data: LanguageModelData, settings: LanguageModelSettings) {
    if (settings.hiddenSize % settings.heads !== 0) throw new Error(`--hidden ${settings.hiddenSize} is not a multiple of --heads ${settings.heads}`);
    this.data = data;
    this.settings = settings;
    this.config = llamaConfig({
      vocabSize: data.trained.tokenizer.vocabSize,
      hiddenSize: settings.hiddenSize,
      intermediateSize: settings.intermediateSize,
      numLayers: settings.layers,
      numHeads: settings.heads,
      maxPositions: settings.context,
      bosTokenId: data.bosId,
      eosTokenId: data.bosId,
      tieWordEmbeddings: true,
    });
    this.model = createCausalLM(this.config, { rng: new Rng(settings.seed), std: 0.02 });
    this.optimizer = new AdamW(splitParamGroups(this.model.namedParameters(), { weightDecay: 0 }), { lr: settings.lr, beta1: 0.9, beta2: 0.95, weightDecay: settings.weightDecay });
    this.schedule = linearWarmupCosineDecay({ peakLr: settings.lr, warmupSteps: Math.min(settings.warmup, settings.steps), totalSteps: settings.steps, finalLr: settings.lr / 10 });
    this.#dataRng = new Rng(settings.seed + 1);
    const validWindows = Math.min(settings.evalWindows, Math.floor((data.validIds.length - 1) / settings.context));
    for (let w = 0; w < Math.max(1, validWindows); w++) this.#validStarts.push(w * settings.context);
  }

  /** [batch, context] inputs (BOS, then context - 1 tokens) and the next-token targets. */
  #batch(ids: Int32Array, starts: readonly number[]): { inputs: Tensor; targets: Tensor } {
    const t = this.settings.context;
    const window = t - 1;
    const inputs = new Int32Array(starts.length * t);
    const targets = new Int32Array(starts.length * t);
    starts.forEach((start, b) => {
      inputs[b * t] = this.data.bosId;
      inputs.set(ids.subarray(start, start + window), b * t + 1);
      targets.set(ids.subarray(start, start + t), b * t);
    });
    return { inputs: new Tensor(inputs, 'i32', [starts.length, t]), targets: new Tensor(targets, 'i32', [starts.length, t]) };
  }

  /** One optimizer step on random training windows. */
  trainStep(): LmStepReport {
    const { batch, context, clip } = this.settings;
    const ids = this.data.trainIds;
    const starts = Array.from({ length: batch }, () => this.#dataRng.int(ids.length - context));
    const { inputs, targets } = this.#batch(ids, starts);
    this.optimizer.setLearningRate(this.schedule(this.step));
    this.optimizer.zeroGrad();
    const loss = crossEntropy(this.model.forward(inputs, { maxScoreElements: SCORE_BLOCK }), targets);
    backward(loss);
    const gradNorm = clipGradNorm(this.model.parameters(), clip);
    this.optimizer.step();
    this.step++;
    return { loss: loss.item(), gradNorm, lr: this.optimizer.learningRate, tokens: inputs.size };
  }

  /** Mean held-out loss (nats per token) over fixed windows, without dropout or gradients. */
  evaluate(): number {
    return noGrad(() => {
      this.model.eval();
      let total = 0;
      const starts = this.#validStarts;
      for (let i = 0; i < starts.length; i += this.settings.batch) {
        const { inputs, targets } = this.#batch(this.data.validIds, starts.slice(i, i + this.settings.batch));
        total += crossEntropy(this.model.forward(inputs, { maxScoreElements: SCORE_BLOCK }), targets).item() * inputs.shape[0]!;
      }
      this.model.train();
      return total / starts.length;
    });
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
