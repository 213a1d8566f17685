// A language-model training run on disk (`thrifty train-lm`): reads the text, trains the tokenizer
// and the model through the training loop (src/train/loop.ts, src/train/language-model.ts), logs
// metrics, checkpoints, and writes a Hugging Face style folder (config.json, model.safetensors,
// tokenizer.json) that `thrifty generate --model DIR` runs. Output folder:
//   metrics.jsonl            one record per step, held-out evaluations included
//   checkpoint.safetensors   the latest checkpoint (also written when stopped by the signal)
//   model.safetensors, config.json, tokenizer.json, training.json   when the run finishes

import { existsSync } from 'node:fs';
import { mkdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';

import type { JsonValue } from '../io/checkpoint.js';
import { serializeSafetensors } from '../io/safetensors.js';
import { llmConfigToHf } from '../models/llm-config.js';
import { f32ToHalf } from '../tensor/dtype.js';
import { LanguageModelTrainer, prepareLanguageModelData, type LanguageModelSettings } from '../train/language-model.js';
import { assertFiniteCheckpoint, runTrainingLoop } from '../train/loop.js';
import { loadCheckpoint, saveCheckpoint } from './checkpoint.js';
import { writeFileAtomic } from './files.js';
import { MetricsLog, truncateMetricsLog } from './metrics-log.js';

export interface TrainLmOptions extends LanguageModelSettings {
  readonly data: string;
  readonly out: string;
  readonly vocabSize: number;
  /** Evaluate on held-out windows every this many steps (0: only at the end). */
  readonly evalEvery: number;
  readonly checkpointEvery: number;
  readonly resume: boolean;
  /** Storage dtype of model.safetensors. */
  readonly dtype: 'f32' | 'f16';
  readonly threads?: number | undefined;
}

export interface TrainLmResult {
  readonly steps: number;
  readonly trainTokens: number;
  readonly validationLoss: number;
  /** Held-out bits per character (comparable across tokenizers). */
  readonly validationBitsPerChar: number;
  readonly parameters: number;
  readonly seconds: number;
}

/** A finished run's result, or where an interrupted run stopped (its checkpoint continues it). */
export type TrainLmOutcome =
  | ({ readonly status: 'finished' } & TrainLmResult)
  | { readonly status: 'interrupted'; readonly steps: number; readonly checkpoint: string };

export const LM_CHECKPOINT_FILE = 'checkpoint.safetensors';

/** The options that define a run (data, model, schedule, seed): resuming with others would not continue it. */
const RUN_DEFINING: ReadonlyArray<keyof TrainLmOptions> = [
  'data', 'vocabSize', 'hiddenSize', 'layers', 'heads', 'intermediateSize', 'context', 'batch', 'steps', 'lr', 'warmup', 'weightDecay', 'clip', 'seed',
];

function checkSameRun(options: TrainLmOptions, saved: JsonValue | undefined, source: string): void {
  if (typeof saved !== 'object' || saved === null || Array.isArray(saved)) throw new Error(`${source}: the checkpoint does not record the options of its run`);
  const record = saved as Readonly<Record<string, JsonValue>>;
  const differing = RUN_DEFINING.filter((key) => JSON.stringify(options[key]) !== JSON.stringify(record[key]));
  if (differing.length > 0) throw new Error(`${source}: --resume with different settings (${differing.join(', ')}); use the original flags or another --out`);
}

/** Trains, evaluates and writes the model folder. `log` receives progress lines; `signal` stops the run after a step, saving a checkpoint. */
export async function trainLanguageModel(options: TrainLmOptions, log: (line: string) => void = () => {}, signal?: AbortSignal): Promise<TrainLmOutcome> {
  const started = Date.now();
  if (options.hiddenSize % options.heads !== 0) throw new Error(`--hidden ${options.hiddenSize} is not a multiple of --heads ${options.heads}`);
  const text = await readFile(options.data, 'utf8').catch((error: unknown) => {
    throw new Error(`--data ${options.data}: ${error instanceof Error ? error.message : String(error)}`);
  });
  await mkdir(options.out, { recursive: true });
  log(`training a ${options.vocabSize}-token BPE tokenizer on ${text.length} characters of ${options.data} and tokenizing it...`);
  const data = prepareLanguageModelData(text, { vocabSize: options.vocabSize, context: options.context, source: options.data });
  const tokenizer = data.trained.tokenizer;
  const trainChars = text.length - data.validChars;
  log(`tokenizer: ${tokenizer.vocabSize} tokens; ${data.trainIds.length} training and ${data.validIds.length} held-out tokens (${(trainChars / data.trainIds.length).toFixed(2)} chars/token)`);

  const trainer = new LanguageModelTrainer(data, options);
  const config = trainer.config;
  const parameters = trainer.model.numParameters();
  log(`model: ${parameters} parameters (d_model ${config.hiddenSize}, ${config.numLayers} layers, ${config.numHeads} heads of ${config.headDim}, context ${config.maxPositions})`);
  const checkpointPath = join(options.out, LM_CHECKPOINT_FILE);
  const metricsPath = join(options.out, 'metrics.jsonl');
  if (options.resume && existsSync(checkpointPath)) {
    const saved = await loadCheckpoint(checkpointPath, { model: trainer.modelShapes() });
    checkSameRun(options, saved.state.user['options'], checkpointPath);
    trainer.restore(saved, checkpointPath);
    await truncateMetricsLog(metricsPath, trainer.step);
    log(`resumed from ${checkpointPath} at step ${trainer.step}`);
  }
  const userState = { options: { ...options, threads: options.threads ?? null } };
  const save = (): Promise<void> => {
    const contents = trainer.checkpoint(userState);
    assertFiniteCheckpoint(contents);
    return saveCheckpoint(checkpointPath, contents);
  };

  const metrics = new MetricsLog(metricsPath);
  let windowStart = Date.now();
  let windowTokens = 0;
  let record: Record<string, number> = {};
  try {
    const loop = await runTrainingLoop({
      total: options.steps,
      start: trainer.step,
      ...(signal ? { signal } : {}),
      step: () => trainer.trainStep(),
      afterStep: (step, report) => {
        windowTokens += report.tokens;
        record = { loss: report.loss, gradNorm: report.gradNorm, lr: report.lr };
        if (step % 10 === 0 || step === options.steps) {
          const seconds = (Date.now() - windowStart) / 1000;
          record['tokensPerSecond'] = windowTokens / seconds;
          log(`step ${step}/${options.steps} loss ${report.loss.toFixed(4)} lr ${report.lr.toExponential(2)} ${(windowTokens / seconds).toFixed(0)} tokens/s`);
          windowStart = Date.now();
          windowTokens = 0;
        }
      },
      periodic: [
        {
          name: 'evaluation',
          every: options.evalEvery,
          run: (step) => {
            const validationLoss = trainer.evaluate();
            record['validationLoss'] = validationLoss;
            log(`step ${step}: held-out loss ${validationLoss.toFixed(4)} nats/token (${trainer.bitsPerChar(validationLoss).toFixed(3)} bits/char)`);
          },
        },
        { name: 'metrics', every: 1, atEnd: true, run: (step) => metrics.append(step, record) },
        { name: 'checkpoint', every: options.checkpointEvery, onStop: true, run: save },
      ],
    });
    if (loop.reason !== 'finished') return { status: 'interrupted', steps: loop.step, checkpoint: checkpointPath };

    const step = loop.step;
    const validationLoss = trainer.evaluate();
    metrics.append(step, { validationLoss });
    const validationBitsPerChar = trainer.bitsPerChar(validationLoss);
    log(`held-out loss ${validationLoss.toFixed(4)} nats/token (${validationBitsPerChar.toFixed(3)} bits/char) after ${step} steps`);

    // The model folder: weights (tied lm_head left out, as Hugging Face saves it), config, tokenizer.
    const tensors = [...trainer.model.stateDict()].map(([name, t]) => {
      const values = t.toArray() as Float32Array;
      return options.dtype === 'f16'
        ? { name, dtype: 'F16' as const, shape: t.shape, data: f32ToHalf(values, 'f16') }
        : { name, dtype: 'F32' as const, shape: t.shape, data: values };
    });
    await writeFileAtomic(join(options.out, 'model.safetensors'), serializeSafetensors(tensors, { format: 'pt' }));
    await writeFileAtomic(join(options.out, 'config.json'), `${JSON.stringify(llmConfigToHf(config), null, 2)}\n`);
    await writeFileAtomic(join(options.out, 'tokenizer.json'), data.trained.json);
    const result: TrainLmResult = {
      steps: step,
      trainTokens: data.trainIds.length,
      validationLoss,
      validationBitsPerChar,
      parameters,
      seconds: (Date.now() - started) / 1000,
    };
    await writeFileAtomic(join(options.out, 'training.json'), `${JSON.stringify({ ...result, options: { ...options, threads: options.threads ?? null } }, null, 2)}\n`);
    return { status: 'finished', ...result };
  } finally {
    metrics.close();
  }
}
