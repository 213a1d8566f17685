// Runs an evaluation grid (tasks x attention methods x compressions) on one model with today's
// Generator, resumably: each cell's records go to a JSON-lines file under the output folder as
// they are scored, and a re-run skips the samples (so the cells) already there. The `thrifty eval`
// command and the HTML report are to be built on this (issue 10).

import { attentionSpecFromSettings, type CompressionRecipe } from '../attention/planner.js';
import { WasmAttention } from '../backend/wasm/attention.js';
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
  type TaskName,
  TASK_SEEDS,
  type TeacherForcedSample,
} from '../eval/prompts.js';
import type { EvalCell, EvalRecord, EvalTokenizer } from '../eval/records.js';
import { runCell, summariseCell, type CellResult } from '../eval/run-cell.js';
import { loadCausalLM } from '../models/load-llm.js';
import { initNodeBackend } from './backend.js';
import { defaultDataDir } from './data-dir.js';
import { readCnnDailyMail, readNeedleFiller, readShakespeare, readSquad, readTriviaQaClosedBook, readWikiTextArticles } from './eval-data.js';
import { EvalStore } from './eval-store.js';
import { loadModelFiles } from './model-files.js';

export interface EvalMethod {
  /** dense | sparq | h2o | lm-infinite | flexgen | oracle */
  readonly attention: string;
  /** Requested fraction of dense transfers (ignored for dense). */
  readonly compression: number;
  readonly recipe?: CompressionRecipe;
}

export interface EvalGridOptions {
  /** Model spec as `thrifty generate --model` takes it (a folder, .gguf, .bin, hf:...). */
  readonly model: string;
  readonly tasks: readonly TaskName[];
  readonly methods: readonly EvalMethod[];
  readonly samples: number;
  /** Added to every task's reference seed (default 0: the reference's seeds). */
  readonly seed?: number;
  readonly outDir: string;
  readonly dataDir?: string;
  readonly threads?: number;
  /** SQuAD confusion contexts (default 7; the sequence-length study: 3, 7, 15, 31). */
  readonly confusionContexts?: number;
  /** Called after each cell with its summary. */
  readonly onCell?: (cell: EvalCell, result: CellResult, records: readonly EvalRecord[]) => void;
}

interface TaskSetup {
  readonly tokenizer: EvalTokenizer;
  readonly count: number;
  readonly dataDir: string;
  readonly contextLength: number;
  readonly confusionContexts: number;
  /** Added to every reference seed (0: the reference's seeds). */
  readonly seed: number;
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
    case 'repetition':
      return repetitionSamples(await readShakespeare(dataDir), { tokenizer, count, shuffleSeed: TASK_SEEDS.repetition.shuffleSeed + seed });
    case 'wikitext-bpc':
      return wikitextBpcSamples(await readWikiTextArticles(dataDir), { count, shuffleSeed: TASK_SEEDS['wikitext-bpc'].shuffleSeed + seed });
    case 'needle': {
      const step = s.contextLength >= 2048 ? 1024 : Math.floor(s.contextLength / 2);
      const lengths = needleLengths(s.contextLength, step);
      return needleSamples(await readNeedleFiller(dataDir), { tokenizer, bos: tokenizer.bos, lengths, seed: TASK_SEEDS.needle.seed + seed }).slice(0, count);
    }
  }
}

export function methodName(method: EvalMethod): string {
  if (method.attention === 'dense') return 'dense';
  return method.attention === 'sparq' ? `sparq-${method.recipe ?? 'paper'}` : method.attention;
}

/** Runs every cell of the grid not already complete in outDir; returns each cell's summary. */
export async function runEvalGrid(options: EvalGridOptions): Promise<{ cell: EvalCell; result: CellResult }[]> {
  const dataDir = options.dataDir ?? defaultDataDir();
  const seed = options.seed ?? 0;
  const store = new EvalStore(options.outDir);
  const files = await loadModelFiles(options.model);
  let engine: Awaited<ReturnType<typeof initNodeBackend>> | null = null;
  const results: { cell: EvalCell; result: CellResult }[] = [];
  try {
    engine = await initNodeBackend({ threads: options.threads ?? 1 });
    const wasm = engine.wasm;
    const model = await loadCausalLM(files.config, files.weights, { alloc: (n) => wasm.allocF32(n), trainable: false });
    const tokenizer = evalTokenizer(files.tokenizer);
    const kernels = new WasmAttention(wasm);
    for (const task of options.tasks) {
      const confusionContexts = options.confusionContexts ?? 7;
      const setup = { tokenizer, count: options.samples, dataDir, contextLength: model.contextLength, confusionContexts, seed };
      const samples = await taskSamples(task, setup);
      const variant = task === 'squad' && confusionContexts !== 7 ? `confusion-${confusionContexts}` : '';
      for (const method of options.methods) {
        const compression = method.attention === 'dense' ? 1 : method.compression;
        const cell: EvalCell = { model: options.model, task, method: methodName(method), compression, variant, seed };
        const done = await store.done(cell);
        if (samples.some((_, i) => !done.has(i))) {
          const spec = attentionSpecFromSettings(
            { attention: method.attention, compression, recipe: method.recipe },
            { headDim: files.config.headDim, seqLen: model.contextLength },
          );
          const evalModel = new GeneratorEvalModel(model, spec, kernels);
          try {
            await runCell(cell, evalModel, tokenizer, samples, { done, onRecord: (r) => store.append(r) });
          } finally {
            evalModel.dispose();
          }
        }
        const records = (await store.read(cell)).filter((r) => r.index < samples.length);
        const result = summariseCell(records);
        options.onCell?.(cell, result, records);
        results.push({ cell, result });
      }
    }
  } finally {
    await files.close();
    engine?.dispose();
  }
  return results;
}
