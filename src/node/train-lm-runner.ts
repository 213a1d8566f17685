// A language-model training run on disk (`thrifty train-lm`): reads the text, trains the tokenizer
// and the model through the training loop (src/train/loop.ts, src/train/language-model.ts), logs
// metrics, checkpoints, and writes a Hugging Face style folder (config.json, model.safetensors,
// tokenizer.json) that `thrifty generate --model DIR` runs. Output folder:
//   metrics.jsonl            one record per step, held-out evaluations included
//   tokenizer.json           as soon as it is trained (a resumed run reads it instead of training again)
//   checkpoint.safetensors   the latest checkpoint (also written when stopped by the signal)
//   model.safetensors, config.json   with every checkpoint (so a run can be evaluated while it trains)
//                            and when the run finishes
//   training.json            when the run finishes
// --data names a text file, a folder (its .txt files, recursively, in name order: one document
// each) or several of those separated by commas.

import { existsSync } from 'node:fs';
import { mkdir, readdir, readFile, stat } from 'node:fs/promises';
import { join, resolve } from 'node:path';

import type { JsonValue } from '../io/checkpoint.js';
import { serializeSafetensors } from '../io/safetensors.js';
import { llmConfigToHf } from '../models/llm-config.js';
import { lossCurveSvg } from '../report/lm-training.js';
import { f32ToHalf } from '../tensor/dtype.js';
import { hfTokenizerFromJson } from '../text/hf-tokenizer.js';
import { LanguageModelTrainer, prepareLanguageModelData, type LanguageModelSettings, type RetrievalLosses, type ScheduleExtension, type TrainerPlacement } from '../train/language-model.js';
import { formatTrainingMix, MIX_KINDS, NO_MIX, parseIdCurriculum, trainingMixFromJson, type IdCurriculum, type MixKind, type TrainingMix } from '../train/lm-mix.js';
import { assertFiniteCheckpoint, runTrainingLoop } from '../train/loop.js';
import { loadCheckpoint, saveCheckpoint } from './checkpoint.js';
import { writeFileAtomic } from './files.js';
import { MetricsLog, readMetricsLog, truncateMetricsLog } from './metrics-log.js';

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
  /** With --resume: lengthen the run to this many steps from the checkpoint's step (the lr stays continuous). */
  readonly extendSteps?: number | undefined;
  /** With --resume: lengthen the short-context phase to this many steps (while the run is still in it). */
  readonly extendShortSteps?: number | undefined;
  /** With --resume and extendShortSteps, after the short phase ended: a new short phase in windows of this length. */
  readonly extendShortContext?: number | undefined;
  /** With --resume: train on this mix from the checkpoint's step on. */
  readonly extendMix?: TrainingMix | undefined;
  /** With --resume: a vocabulary curriculum for the random ids, counted from the checkpoint's step. */
  readonly extendRandomIds?: IdCurriculum | undefined;
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
  | { readonly status: 'interrupted'; readonly steps: number; readonly totalSteps: number; readonly checkpoint: string };

export const LM_CHECKPOINT_FILE = 'checkpoint.safetensors';
/** The run's loss curves (training and held-out), drawn from metrics.jsonl. */
export const LOSS_CURVE_FILE = 'loss-curve.svg';

/** Each mix kind's held-out retrieval loss: its field in metrics.jsonl and its words in the log. */
const RETRIEVAL_METRICS: Readonly<Record<MixKind, { readonly field: string; readonly label: string }>> = {
  repeat: { field: 'validationCopyLoss', label: 'copied tokens' },
  kv: { field: 'validationAnswerLoss', label: 'answers' },
  copy: { field: 'validationRandomCopyLoss', label: 'random copies' },
  period: { field: 'validationPeriodicLoss', label: 'periodic repeats' },
};

/** The held-out measures loss-curve.svg draws: the text loss and every retrieval loss. */
const HELD_OUT_CURVES = [{ field: 'validationLoss', label: 'text' }, ...MIX_KINDS.map((k) => RETRIEVAL_METRICS[k])];

/** The metrics.jsonl fields of a retrieval evaluation. */
function retrievalFields(retrieval: RetrievalLosses): Record<string, number> {
  const fields: Record<string, number> = {};
  for (const kind of MIX_KINDS) {
    const loss = retrieval[kind];
    if (loss !== undefined) fields[RETRIEVAL_METRICS[kind].field] = loss;
  }
  return fields;
}

/** The options that define a run (data, model, schedule, seed): resuming with others would not continue it. */
const RUN_DEFINING: ReadonlyArray<keyof TrainLmOptions> = [
  'data', 'vocabSize', 'hiddenSize', 'layers', 'heads', 'intermediateSize', 'context', 'batch', 'steps', 'lr', 'warmup', 'weightDecay', 'clip', 'seed',
  'mix', 'shortContext', 'shortSteps', 'randomIds',
];

/** An option as a comparable value; the options added later read as their defaults in older checkpoints. */
function definingValue(record: Readonly<Record<string, JsonValue | undefined>>, key: keyof TrainLmOptions): string | undefined {
  switch (key) {
    case 'mix': {
      const mix = record['mix'];
      if (mix === undefined || mix === null) return 'none';
      if (typeof mix !== 'object' || Array.isArray(mix)) return JSON.stringify(mix);
      return formatTrainingMix({ ...NO_MIX, ...(mix as Record<string, number>) });
    }
    case 'data': {
      // The same files, wherever the command runs from (../shared/data from a checkout, or an absolute path).
      const data = record['data'];
      return typeof data === 'string' ? JSON.stringify(data.split(',').map((p) => p.trim()).filter((p) => p.length > 0).map((p) => resolve(p))) : JSON.stringify(data);
    }
    case 'shortSteps':
      return JSON.stringify(record['shortSteps'] ?? 0);
    case 'shortContext':
      return JSON.stringify(((record['shortSteps'] ?? 0) as number) > 0 ? record['shortContext'] : null);
    default:
      return JSON.stringify(record[key]);
  }
}

/** The schedule extensions a checkpoint's options record (none in checkpoints before --extend-steps). */
function savedExtensions(saved: JsonValue | undefined, source: string): ScheduleExtension[] {
  const list = (saved as Readonly<Record<string, JsonValue>> | null)?.['extensions'];
  if (list === undefined || list === null) return [];
  const valid = Array.isArray(list) && list.every((e) => typeof e === 'object' && e !== null && !Array.isArray(e) && Number.isInteger(e['fromStep']) && Number.isInteger(e['steps']));
  if (!valid) throw new Error(`${source}: the recorded schedule extensions are malformed: ${JSON.stringify(list)}`);
  return (list as Record<string, JsonValue>[]).map((e) => ({
    fromStep: e['fromStep'] as number,
    steps: e['steps'] as number,
    ...(Number.isInteger(e['shortSteps']) ? { shortSteps: e['shortSteps'] as number } : {}),
    ...(Number.isInteger(e['shortContext']) ? { shortContext: e['shortContext'] as number } : {}),
    ...(e['mix'] === undefined ? {} : { mix: trainingMixFromJson(e['mix'], `${source}: options.extensions`) }),
    ...(e['randomIds'] === undefined ? {} : { randomIds: idCurriculumFromJson(e['randomIds'], `${source}: options.extensions`) }),
  }));
}

/** The log's words for a curriculum started at `step` (nothing without one). */
function curriculumNote(curriculum: IdCurriculum | undefined, step: number): string {
  return curriculum === undefined ? '' : `; random ids of the copy and period kinds from ${curriculum.start} ids, growing to all by step ${step + curriculum.steps}`;
}

/** A vocabulary curriculum read back from a checkpoint's options; errors name `source`. */
function idCurriculumFromJson(value: JsonValue, source: string): IdCurriculum {
  const record: Readonly<Record<string, JsonValue>> = typeof value === 'object' && value !== null && !Array.isArray(value) ? (value as Readonly<Record<string, JsonValue>>) : {};
  return parseIdCurriculum(`${String(record['start'])}:${String(record['steps'])}`, `${source}: randomIds`);
}

function checkSameRun(options: TrainLmOptions, saved: JsonValue | undefined, source: string): void {
  if (typeof saved !== 'object' || saved === null || Array.isArray(saved)) throw new Error(`${source}: the checkpoint does not record the options of its run`);
  const record = saved as Readonly<Record<string, JsonValue>>;
  const current = JSON.parse(JSON.stringify(options)) as Record<string, JsonValue>;
  const differing = RUN_DEFINING.filter((key) => definingValue(current, key) !== definingValue(record, key));
  if (differing.length > 0) throw new Error(`${source}: --resume with different settings (${differing.join(', ')}); use the original flags or another --out`);
}

/** The documents --data names: a file, or a folder's .txt files (recursively, in name order), or several separated by commas. */
export async function readTrainingTexts(data: string): Promise<{ readonly name: string; readonly text: string }[]> {
  const fail = (error: unknown): never => {
    throw new Error(`--data ${data}: ${error instanceof Error ? error.message : String(error)}`);
  };
  const files: string[] = [];
  const walk = async (dir: string): Promise<void> => {
    const entries = (await readdir(dir, { withFileTypes: true })).sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    for (const entry of entries) {
      const path = join(dir, entry.name);
      if (entry.isDirectory()) await walk(path);
      else if (entry.isFile() && entry.name.endsWith('.txt')) files.push(path);
    }
  };
  for (const part of data.split(',').map((p) => p.trim()).filter((p) => p.length > 0)) {
    const info = await stat(part).catch(fail);
    if (info.isDirectory()) {
      const before = files.length;
      await walk(part).catch(fail);
      if (files.length === before) fail(new Error(`the folder ${part} has no .txt files`));
    } else {
      files.push(part);
    }
  }
  if (files.length === 0) fail(new Error('no files named'));
  return Promise.all(files.map(async (name) => ({ name, text: await readFile(name, 'utf8').catch(fail) })));
}

/** Trains, evaluates and writes the model folder. `log` receives progress lines; `signal` stops the run after a step, saving a checkpoint. */
export async function trainLanguageModel(options: TrainLmOptions, log: (line: string) => void = () => {}, signal?: AbortSignal, placement: TrainerPlacement = {}): Promise<TrainLmOutcome> {
  const started = Date.now();
  if (options.hiddenSize % options.heads !== 0) throw new Error(`--hidden ${options.hiddenSize} is not a multiple of --heads ${options.heads}`);
  const texts = await readTrainingTexts(options.data);
  const characters = texts.reduce((a, t) => a + t.text.length, 0);
  await mkdir(options.out, { recursive: true });
  const tokenizerPath = join(options.out, 'tokenizer.json');
  const checkpointPath = join(options.out, LM_CHECKPOINT_FILE);
  // A resumed run reads the tokenizer it trained (training it again gives the same one, slowly).
  const reuseTokenizer = options.resume && existsSync(checkpointPath) && existsSync(tokenizerPath);
  let given: { tokenizer: ReturnType<typeof hfTokenizerFromJson>; json: string } | undefined;
  if (reuseTokenizer) {
    const json = await readFile(tokenizerPath, 'utf8');
    given = { tokenizer: hfTokenizerFromJson(JSON.parse(json) as unknown, tokenizerPath), json };
    log(`tokenizing ${characters} characters of ${texts.length} file(s) with ${tokenizerPath}...`);
  } else {
    log(`training a ${options.vocabSize}-token BPE tokenizer on ${characters} characters of ${texts.length} file(s) (${options.data}) and tokenizing it...`);
  }
  const data = prepareLanguageModelData(texts.map((t) => t.text), { vocabSize: options.vocabSize, context: options.context, source: options.data, ...(given ? { tokenizer: given } : {}) });
  const tokenizer = data.tokenizer;
  if (!reuseTokenizer) await writeFileAtomic(tokenizerPath, data.tokenizerJson);
  const trainChars = characters - data.validChars;
  log(`tokenizer: ${tokenizer.vocabSize} tokens; ${data.trainIds.length} training and ${data.validIds.length} held-out tokens (${(trainChars / data.trainIds.length).toFixed(2)} chars/token)`);

  const trainer = new LanguageModelTrainer(data, options, placement);
  const config = trainer.config;
  const parameters = trainer.model.numParameters();
  log(`model: ${parameters} parameters (d_model ${config.hiddenSize}, ${config.numLayers} layers, ${config.numHeads} heads of ${config.headDim}, context ${config.maxPositions}); mix ${formatTrainingMix(trainer.mix)}${curriculumNote(options.randomIds, 0)}`);
  const metricsPath = join(options.out, 'metrics.jsonl');
  if (options.resume && existsSync(checkpointPath)) {
    const saved = await loadCheckpoint(checkpointPath, { model: trainer.modelShapes() });
    checkSameRun(options, saved.state.user['options'], checkpointPath);
    trainer.restore(saved, checkpointPath);
    trainer.setExtensions(savedExtensions(saved.state.user['options'], checkpointPath));
    if (options.extendSteps !== undefined || options.extendShortSteps !== undefined || options.extendShortContext !== undefined || options.extendMix !== undefined || options.extendRandomIds !== undefined) {
      trainer.extend({ steps: options.extendSteps, shortSteps: options.extendShortSteps, shortContext: options.extendShortContext, mix: options.extendMix, randomIds: options.extendRandomIds });
      const phase = trainer.phase(trainer.step);
      log(`extended the run from step ${trainer.step}: ${trainer.totalSteps} steps (lr ${trainer.schedule(trainer.step).toExponential(3)}, cosine to ${(options.lr / 10).toExponential(3)} at step ${trainer.totalSteps}); windows of ${phase.window} tokens now${trainer.step < trainer.shortSteps ? ` until step ${trainer.shortSteps}` : ''}; mix ${formatTrainingMix(trainer.mix)}${curriculumNote(options.extendRandomIds, trainer.step)}`);
    }
    await truncateMetricsLog(metricsPath, trainer.step);
    log(`resumed from ${checkpointPath} at step ${trainer.step}`);
  }
  if (trainer.step === 0) {
    // The extending flags change a run that exists: each names the flag a new run takes instead.
    const resumeOnly: ReadonlyArray<[string, string | number | undefined, string]> = [
      ['--extend-steps', options.extendSteps, '--steps'],
      ['--extend-mix', options.extendMix === undefined ? undefined : formatTrainingMix(options.extendMix), '--mix'],
      ['--extend-short-context', options.extendShortContext, '--short-context'],
      ['--extend-short-steps', options.extendShortSteps, '--short-steps'],
      ['--extend-random-ids', options.extendRandomIds === undefined ? undefined : `${options.extendRandomIds.start}:${options.extendRandomIds.steps}`, '--random-ids'],
    ];
    for (const [flag, value, instead] of resumeOnly) {
      if (value !== undefined) throw new Error(`${flag} ${value}: needs --resume and a checkpoint in ${options.out} (a new run takes ${instead})`);
    }
  }
  const totalSteps = trainer.totalSteps;
  // The extensions are saved with the options (the extending flag itself is not), so a plain --resume continues them.
  const { extendSteps: _extendSteps, extendShortSteps: _extendShortSteps, extendShortContext: _extendShortContext, extendMix: _extendMix, extendRandomIds: _extendRandomIds, ...definingOptions } = options;
  const userState = { options: JSON.parse(JSON.stringify({ ...definingOptions, threads: options.threads ?? null, extensions: trainer.extensions })) as JsonValue };
  // The model folder: weights (tied lm_head left out, as Hugging Face saves it), config, tokenizer,
  // and the loss curves drawn from metrics.jsonl (redrawn with every checkpoint).
  const writeModelFolder = async (): Promise<void> => {
    const tensors = [...trainer.model.stateDict()].map(([name, t]) => {
      const values = t.toArray() as Float32Array;
      return options.dtype === 'f16'
        ? { name, dtype: 'F16' as const, shape: t.shape, data: f32ToHalf(values, 'f16') }
        : { name, dtype: 'F32' as const, shape: t.shape, data: values };
    });
    await writeFileAtomic(join(options.out, 'model.safetensors'), serializeSafetensors(tensors, { format: 'pt' }));
    await writeFileAtomic(join(options.out, 'config.json'), `${JSON.stringify(llmConfigToHf(config), null, 2)}\n`);
    await writeFileAtomic(join(options.out, LOSS_CURVE_FILE), lossCurveSvg(await readMetricsLog(metricsPath), HELD_OUT_CURVES, 'Loss against step: training windows, and held-out evaluations'));
  };
  const save = async (): Promise<void> => {
    const contents = trainer.checkpoint(userState);
    assertFiniteCheckpoint(contents);
    await saveCheckpoint(checkpointPath, contents);
    await writeModelFolder();
  };

  const metrics = new MetricsLog(metricsPath);
  let windowStart = Date.now();
  let windowTokens = 0;
  let record: Record<string, number> = {};
  try {
    const loop = await runTrainingLoop({
      total: totalSteps,
      start: trainer.step,
      ...(signal ? { signal } : {}),
      step: () => trainer.trainStep(),
      afterStep: (step, report) => {
        windowTokens += report.tokens;
        record = { loss: report.loss, gradNorm: report.gradNorm, lr: report.lr };
        if (step % 10 === 0 || step === totalSteps) {
          const seconds = (Date.now() - windowStart) / 1000;
          record['tokensPerSecond'] = windowTokens / seconds;
          log(`step ${step}/${totalSteps} loss ${report.loss.toFixed(4)} lr ${report.lr.toExponential(2)} ${(windowTokens / seconds).toFixed(0)} tokens/s`);
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
            const retrieval = trainer.evaluateRetrieval(options.evalWindows);
            Object.assign(record, retrievalFields(retrieval));
            const extra = MIX_KINDS.map((k) => (retrieval[k] === undefined ? '' : `, ${RETRIEVAL_METRICS[k].label} ${retrieval[k].toFixed(4)}`)).join('');
            log(`step ${step}: held-out loss ${validationLoss.toFixed(4)} nats/token (${trainer.bitsPerChar(validationLoss).toFixed(3)} bits/char)${extra}`);
          },
        },
        { name: 'metrics', every: 1, atEnd: true, run: (step) => metrics.append(step, record) },
        { name: 'checkpoint', every: options.checkpointEvery, onStop: true, run: save },
      ],
    });
    if (loop.reason !== 'finished') return { status: 'interrupted', steps: loop.step, totalSteps, checkpoint: checkpointPath };

    const step = loop.step;
    const validationLoss = trainer.evaluate();
    const retrieval = trainer.evaluateRetrieval(options.evalWindows);
    metrics.append(step, {
      validationLoss,
      ...retrievalFields(retrieval),
    });
    const validationBitsPerChar = trainer.bitsPerChar(validationLoss);
    log(`held-out loss ${validationLoss.toFixed(4)} nats/token (${validationBitsPerChar.toFixed(3)} bits/char) after ${step} steps`);

    await writeModelFolder();
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
