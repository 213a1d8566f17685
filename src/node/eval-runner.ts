// Runs an evaluation grid (tasks x attention methods x compressions) on one model with the
// Generator, resumably: each cell's records go to a JSON-lines file under the output folder as
// they are scored, and a re-run skips the samples (so the cells) already there. Each policy's
// setting is planned for the task's own lengths; a target it cannot reach there is a skipped cell
// with the planner's reason. The plan of every cell goes to grid.json beside the records (the
// report reads it). An abort signal stops the run between samples (`thrifty eval` on Ctrl-C).

import { attentionSpecFromSettings, generationPlanShape, plannedRatio, type CompressionRecipe, type PlanShape } from '../attention/planner.js';
import type { AttentionSpec } from '../attention/policy.js';
import { WasmAttention } from '../backend/wasm/attention.js';
import { promptIds } from '../eval/driver.js';
import { evalTokenizer, GeneratorEvalModel } from '../eval/generator-model.js';
import {
  cnnSamples,
  needleLengths,
  needleSamples,
  repetitionSamples,
  squadSamples,
  triviaSamples,
  wikitextBpcSamples,
  type GenerationSample,
  prefillIds,
  type TaskName,
  TASK_SEEDS,
  type TeacherForcedSample,
} from '../eval/prompts.js';
import type { EvalCell, EvalRecord, EvalTokenizer } from '../eval/records.js';
import { runCell, summariseCell, type CellResult } from '../eval/run-cell.js';
import { loadCausalLM } from '../models/load-llm.js';
import { initNodeBackend } from './backend.js';
import { defaultDataDir } from './data-dir.js';
import { readTextFile, readCnnDailyMail, readNeedleFiller, readShakespeare, readSquad, readTriviaQaClosedBook, readWikiTextArticles } from './eval-data.js';
import { EvalStore, writeGridManifest, type GridManifestEntry } from './eval-store.js';
import { loadModelFiles } from './model-files.js';
import type { KvDType } from '../ops/attention-kernels.js';

export interface EvalMethod {
  /** dense | sparq | h2o | lm-infinite | flexgen | oracle | random-projection */
  readonly attention: string;
  /** Requested fraction of dense transfers (ignored for dense). */
  readonly compression: number;
  readonly recipe?: CompressionRecipe;
}

export interface EvalGridOptions {
  /** Model spec as `thrifty generate --model` takes it (a folder, .gguf, .bin, hf:...). */
  readonly model: string;
  /** The model's name in the records (default: `model` as given). */
  readonly modelName?: string;
  readonly tasks: readonly TaskName[];
  readonly methods: readonly EvalMethod[];
  readonly samples: number;
  /** Added to every task's reference seed (default 0: the reference's seeds). */
  readonly seed?: number;
  readonly outDir: string;
  readonly dataDir?: string;
  readonly threads?: number;
  /**
   * KV cache element type (default 'f32', as the committed eval records were measured; 'f16'
   * marks the cell's variant kv-f16, so a resumed folder never mixes the two).
   */
  readonly kvDType?: KvDType;
  /**
   * SQuAD confusion contexts (default 7). Several counts (the sequence-length study: 3, 7, 15, 31)
   * run SQuAD once per count, each a variant confusion-N (7 keeps the default task's empty variant).
   */
  readonly confusionContexts?: number | readonly number[];
  /** Repetition reads this text file instead of Tiny Shakespeare (the variant is its name). */
  readonly text?: string;
  /** Characters per repetition chunk (default 6000, the reference's). */
  readonly contextChars?: number;
  /** BPC reference characters (default 400, the reference's; fewer for small vocabularies, whose 400 characters pass 256 tokens). */
  readonly referenceChars?: number;
  /** Called once the grid is planned: samples in all runnable cells, and how many are already done. */
  readonly onPlan?: (plan: { readonly total: number; readonly done: number; readonly cells: readonly GridEntry[] }) => void;
  /** Called with each new record. */
  readonly onRecord?: (record: EvalRecord) => void;
  /** Called after each cell with its summary (skipped cells: result null). */
  readonly onCell?: (entry: GridEntry, records: readonly EvalRecord[]) => void;
  /** A cell's decode attention runs on other kernels than the backend's (e.g. no wasm kernel for the policy): why. */
  readonly onKernelsNote?: (cell: EvalCell, note: string) => void;
  /** Aborting stops the run after the sample in progress. */
  readonly signal?: AbortSignal;
}

/** One cell of a grid: its summary, or why it was skipped; the planned attention spec. */
export interface GridEntry {
  readonly cell: EvalCell;
  readonly result: CellResult | null;
  readonly spec: AttentionSpec | null;
  /** The transfer model's ratio for the spec at the task's planned lengths. */
  readonly plannedRatio: number | null;
  readonly skipped?: string;
}

export interface EvalGridResult {
  readonly cells: GridEntry[];
  /** True when the signal stopped the run before every cell was complete. */
  readonly interrupted: boolean;
}

interface TaskSetup {
  readonly tokenizer: EvalTokenizer;
  readonly count: number;
  readonly dataDir: string;
  readonly contextLength: number;
  readonly confusionContexts: number;
  /** Added to every reference seed (0: the reference's seeds). */
  readonly seed: number;
  readonly text: string | undefined;
  readonly contextChars: number | undefined;
  readonly referenceChars: number | undefined;
}

/**
 * The samples of a task. Needle takes its first `count` (length, depth) pairs in order, lengths in
 * steps of 1024 tokens up to the context (of half the context, for models under 2048).
 */
async function taskSamples(task: TaskName, s: TaskSetup): Promise<(GenerationSample | TeacherForcedSample)[]> {
  const { tokenizer, count, dataDir, seed } = s;
  switch (task) {
    case 'squad': {
      const seeds = { seed: TASK_SEEDS.squad.seed + seed, shuffleSeed: TASK_SEEDS.squad.shuffleSeed + seed };
      return squadSamples(await readSquad(dataDir), { tokenizer, count, confusionContexts: s.confusionContexts, ...seeds });
    }
    case 'triviaqa': {
      const seeds = { seed: TASK_SEEDS.triviaqa.seed + seed, shuffleSeed: TASK_SEEDS.triviaqa.shuffleSeed + seed };
      return triviaSamples(await readTriviaQaClosedBook(dataDir), { tokenizer, count, ...seeds });
    }
    case 'cnndm':
      return cnnSamples(await readCnnDailyMail(dataDir), { tokenizer, count, shuffleSeed: TASK_SEEDS.cnndm.shuffleSeed + seed });
    case 'repetition': {
      const text = s.text === undefined ? await readShakespeare(dataDir) : await readTextFile(s.text);
      const chars = s.contextChars === undefined ? {} : { contextLength: s.contextChars };
      return repetitionSamples(text, { tokenizer, count, shuffleSeed: TASK_SEEDS.repetition.shuffleSeed + seed, ...chars });
    }
    case 'wikitext-bpc':
      return wikitextBpcSamples(await readWikiTextArticles(dataDir), {
        count, shuffleSeed: TASK_SEEDS['wikitext-bpc'].shuffleSeed + seed, ...(s.referenceChars === undefined ? {} : { referenceChars: s.referenceChars }),
      });
    case 'needle': {
      const step = s.contextLength >= 2048 ? 1024 : Math.floor(s.contextLength / 2);
      const lengths = needleLengths(s.contextLength, step);
      return needleSamples(await readNeedleFiller(dataDir), { tokenizer, bos: tokenizer.bos, lengths, seed: TASK_SEEDS.needle.seed + seed }).slice(0, count);
    }
  }
}

/** The reference's SQuAD confusion contexts (qa.py SQuAD.preprocess). */
export const DEFAULT_CONFUSION_CONTEXTS = 7;

/** The confusion-context counts a grid runs SQuAD at (distinct, in the order given). */
export function confusionCounts(option: number | readonly number[] | undefined): number[] {
  const counts = option === undefined ? [DEFAULT_CONFUSION_CONTEXTS] : typeof option === 'number' ? [option] : [...new Set(option)];
  if (counts.length === 0) throw new Error('eval: no SQuAD confusion-context counts');
  for (const c of counts) if (!Number.isInteger(c) || c < 0) throw new Error(`eval: SQuAD confusion contexts must be non-negative integers, got ${c}`);
  return counts;
}

export function methodName(method: EvalMethod): string {
  if (method.attention === 'dense') return 'dense';
  return method.attention === 'sparq' || method.attention === 'random-projection' ? `${method.attention}-${method.recipe ?? 'paper'}` : method.attention;
}

/** The task variant a cell records (samples that differ from the default task's). */
function taskVariant(task: TaskName, options: EvalGridOptions, confusionContexts: number): string {
  const parts: string[] = [];
  if (task === 'squad' && confusionContexts !== DEFAULT_CONFUSION_CONTEXTS) parts.push(`confusion-${confusionContexts}`);
  if ((options.kvDType ?? 'f32') !== 'f32') parts.push(`kv-${options.kvDType}`);
  if (task === 'repetition' && options.text !== undefined) parts.push(options.text.split(/[\\/]/).at(-1)!.replace(/\.[^.]*$/, ''));
  if (task === 'repetition' && options.contextChars !== undefined) parts.push(`chars-${options.contextChars}`);
  if (task === 'wikitext-bpc' && options.referenceChars !== undefined) parts.push(`reference-${options.referenceChars}`);
  return parts.join('.');
}

/**
 * The decode lengths a task's policy steps span, for the planner: from the mean prompt length + 1
 * over the mean number of policy steps (generated tokens after the first, or reference tokens).
 */
function taskPlanShape(samples: readonly (GenerationSample | TeacherForcedSample)[], tokenizer: EvalTokenizer, contextLength: number, headDim: number): PlanShape {
  let prompt = 0;
  let tokens = 0;
  for (const sample of samples) {
    if ('prefill' in sample) {
      prompt += prefillIds(tokenizer.encode(sample.prefill), tokenizer.bos, contextLength - sample.maxReferenceTokens).length;
      tokens += Math.min(sample.maxReferenceTokens, tokenizer.encode(sample.reference).length);
    } else {
      prompt += promptIds(sample, tokenizer, contextLength).length;
      tokens += sample.maxNewTokens;
    }
  }
  const n = Math.max(1, samples.length);
  return generationPlanShape(headDim, Math.max(1, Math.round(prompt / n)), Math.max(2, Math.round(tokens / n)));
}

/** Runs every cell of the grid not already complete in outDir; returns each cell's summary or why it was skipped. */
export async function runEvalGrid(options: EvalGridOptions): Promise<EvalGridResult> {
  const dataDir = options.dataDir ?? defaultDataDir();
  const seed = options.seed ?? 0;
  const store = new EvalStore(options.outDir);
  const files = await loadModelFiles(options.model);
  let engine: Awaited<ReturnType<typeof initNodeBackend>> | null = null;
  const cells: GridEntry[] = [];
  let interrupted = false;
  try {
    engine = await initNodeBackend({ threads: options.threads ?? 1 });
    const wasm = engine.wasm;
    const model = await loadCausalLM(files.config, files.weights, { alloc: (n) => wasm.allocF32(n), trainable: false });
    const tokenizer = evalTokenizer(files.tokenizer);
    const kernels = new WasmAttention(wasm);
    const modelName = options.modelName ?? options.model;

    // Plan every cell first, so the progress bar knows the whole run.
    const planned: { entry: GridEntry; samples: (GenerationSample | TeacherForcedSample)[]; done: Set<number> }[] = [];
    const taskRuns = options.tasks.flatMap((task) => (task === 'squad' ? confusionCounts(options.confusionContexts) : [DEFAULT_CONFUSION_CONTEXTS]).map((confusionContexts) => ({ task, confusionContexts })));
    for (const { task, confusionContexts } of taskRuns) {
      const setup = { tokenizer, count: options.samples, dataDir, contextLength: model.contextLength, confusionContexts, seed, text: options.text, contextChars: options.contextChars, referenceChars: options.referenceChars };
      const samples = await taskSamples(task, setup);
      const shape = taskPlanShape(samples, tokenizer, model.contextLength, files.config.headDim);
      const variant = taskVariant(task, options, confusionContexts);
      for (const method of options.methods) {
        const compression = method.attention === 'dense' ? 1 : method.compression;
        const cell: EvalCell = { model: modelName, task, method: methodName(method), compression, variant, seed };
        let entry: GridEntry;
        try {
          const spec = attentionSpecFromSettings({ attention: method.attention, compression, recipe: method.recipe }, shape);
          entry = { cell, result: null, spec, plannedRatio: plannedRatio(spec, shape) };
        } catch (error) {
          if (!(error instanceof RangeError)) throw error;
          entry = { cell, result: null, spec: null, plannedRatio: null, skipped: error.message };
        }
        planned.push({ entry, samples, done: entry.skipped ? new Set() : await store.done(cell) });
      }
    }
    const runnable = planned.filter((p) => !p.entry.skipped);
    const total = runnable.reduce((n, p) => n + p.samples.length, 0);
    const done = runnable.reduce((n, p) => n + p.samples.filter((_, i) => p.done.has(i)).length, 0);
    await writeGridManifest(options.outDir, planned.map((p): GridManifestEntry => ({
      cell: p.entry.cell, spec: p.entry.spec, plannedRatio: p.entry.plannedRatio, ...(p.entry.skipped ? { skipped: p.entry.skipped } : {}),
    })));
    options.onPlan?.({ total, done, cells: planned.map((p) => p.entry) });

    for (const { entry, samples, done: doneBefore } of planned) {
      if (entry.skipped || !entry.spec) {
        cells.push(entry);
        options.onCell?.(entry, []);
        continue;
      }
      if (options.signal?.aborted) {
        interrupted = true;
        break;
      }
      if (samples.some((_, i) => !doneBefore.has(i))) {
        const evalModel = new GeneratorEvalModel(model, entry.spec, kernels, options.kvDType ?? 'f32');
        const note = evalModel.generator.kernelsNote;
        if (note !== null) options.onKernelsNote?.(entry.cell, note);
        try {
          await runCell(entry.cell, evalModel, tokenizer, samples, {
            done: doneBefore,
            onRecord: async (r) => {
              await store.append(r);
              options.onRecord?.(r);
            },
            ...(options.signal ? { signal: options.signal } : {}),
          });
        } finally {
          evalModel.dispose();
        }
      }
      const records = (await store.read(entry.cell)).filter((r) => r.index < samples.length);
      if (records.length < samples.length) {
        interrupted = true;
        break;
      }
      const finished: GridEntry = { ...entry, result: summariseCell(records) };
      options.onCell?.(finished, records);
      cells.push(finished);
    }
  } finally {
    await files.close();
    engine?.dispose();
  }
  return { cells, interrupted };
}
