// Runs an evaluation grid (tasks x attention methods x compressions) on one model with today's
// Generator, resumably: each cell's records go to a JSON-lines file under the output folder as
// they are scored, and a re-run skips the samples (so the cells) already there. The `thrifty eval`
// command and the HTML report are built on this (issue 10); it runs the repetition and WikiText
// BPC tasks here, whose data need no answer-length tokenisation beyond the model's tokenizer.

import { attentionSpecFromSettings, type CompressionRecipe } from '../attention/planner.js';
import { WasmAttention } from '../backend/wasm/attention.js';
import { evalTokenizer, GeneratorEvalModel } from '../eval/generator-model.js';
import { repetitionSamples, wikitextBpcSamples, type GenerationSample, type TaskName, type TeacherForcedSample } from '../eval/prompts.js';
import type { EvalCell, EvalRecord, EvalTokenizer } from '../eval/records.js';
import { runCell, summariseCell, type CellResult } from '../eval/run-cell.js';
import { loadCausalLM } from '../models/load-llm.js';
import { initNodeBackend } from './backend.js';
import { defaultDataDir } from './data-dir.js';
import { readShakespeare, readWikiTextArticles } from './eval-data.js';
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
  readonly seed?: number;
  readonly outDir: string;
  readonly dataDir?: string;
  readonly threads?: number;
  /** Called after each cell with its summary. */
  readonly onCell?: (cell: EvalCell, result: CellResult, records: readonly EvalRecord[]) => void;
}

async function taskSamples(task: TaskName, tokenizer: EvalTokenizer, count: number, dataDir: string): Promise<(GenerationSample | TeacherForcedSample)[]> {
  if (task === 'repetition') return repetitionSamples(await readShakespeare(dataDir), { tokenizer, count });
  if (task === 'wikitext-bpc') return wikitextBpcSamples(await readWikiTextArticles(dataDir), { count });
  throw new Error(`eval: task '${task}' is not wired to the runner yet (repetition, wikitext-bpc)`);
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
      const samples = await taskSamples(task, tokenizer, options.samples, dataDir);
      for (const method of options.methods) {
        const compression = method.attention === 'dense' ? 1 : method.compression;
        const cell: EvalCell = { model: options.model, task, method: methodName(method), compression, variant: '', seed };
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
