// `thrifty eval`: SparQ's accuracy claim, measured. Runs a grid of tasks x attention methods x
// compression targets on one model, resumably (records per sample under --out; a re-run skips
// what is done), prints a table as cells finish, and writes eval.json and report.html. The
// logic is in src/eval (tasks, driver, summaries), src/node/eval-runner.ts (the grid) and
// src/report/sparq-eval-html.ts (the report); this module parses flags and prints.

import type { Command } from 'commander';
import { InvalidArgumentError } from 'commander';
import { parseKvDType, parsePositiveInt, parseNonNegativeInt } from '../args.js';
import type { KvDType } from '../../ops/attention-kernels.js';
import type { CompressionRecipe } from '../../attention/planner.js';
import type { TaskName } from '../../eval/prompts.js';

export const EVAL_TASKS: readonly TaskName[] = ['squad', 'triviaqa', 'cnndm', 'wikitext-bpc', 'repetition', 'needle'];
export const EVAL_ATTENTION = ['dense', 'sparq', 'h2o', 'lm-infinite', 'flexgen', 'oracle', 'random-projection'] as const;
/** The default grid: every method but the key-compression ablation's random projection (asked for by name). */
export const EVAL_DEFAULT_ATTENTION: readonly (typeof EVAL_ATTENTION)[number][] = ['dense', 'sparq', 'h2o', 'lm-infinite', 'flexgen', 'oracle'];

export interface EvalFlags {
  model?: string;
  task: TaskName[];
  attention: string[];
  compression: number[];
  recipe: CompressionRecipe[];
  samples: number;
  seed: number;
  out: string;
  dataDir?: string;
  threads: number;
  kvDtype?: KvDType;
  confusion?: number;
  text?: string;
  contextChars?: number;
  referenceChars?: number;
  reportOnly: boolean;
}

function listOf<T extends string>(flag: string, allowed: readonly T[]): (value: string) => T[] {
  return (value) => {
    const items = value.split(',').map((s) => s.trim()).filter((s) => s !== '');
    if (items.length === 0) throw new InvalidArgumentError(`${flag} expects a comma-separated list of ${allowed.join(', ')}, got '${value}'`);
    for (const item of items) {
      if (!allowed.includes(item as T)) throw new InvalidArgumentError(`${flag}: unknown '${item}' (expected one of ${allowed.join(', ')})`);
    }
    return [...new Set(items)] as T[];
  };
}

function compressionList(value: string): number[] {
  const items = value.split(',').map((s) => s.trim());
  return items.map((item) => {
    const m = /^1\s*\/\s*([0-9]*\.?[0-9]+)$/.exec(item);
    const v = m ? 1 / Number(m[1]) : item === '' ? NaN : Number(item);
    if (!(v > 0 && v <= 1)) throw new InvalidArgumentError(`--compression expects fractions in (0, 1] separated by commas, such as 1,1/2,1/8; got '${item}' in '${value}'`);
    return v;
  });
}

/** The methods of the grid: dense once, every other policy at every target below 1 (and each recipe, for SparQ and the random projection). */
export function gridMethods(flags: Pick<EvalFlags, 'attention' | 'compression' | 'recipe'>): { attention: string; compression: number; recipe?: CompressionRecipe }[] {
  const methods: { attention: string; compression: number; recipe?: CompressionRecipe }[] = [];
  if (flags.attention.includes('dense')) methods.push({ attention: 'dense', compression: 1 });
  const targets = flags.compression.filter((c) => c < 1);
  for (const attention of flags.attention) {
    if (attention === 'dense') continue;
    for (const compression of targets) {
      if (attention === 'sparq' || attention === 'random-projection') for (const recipe of flags.recipe) methods.push({ attention, compression, recipe });
      else methods.push({ attention, compression });
    }
  }
  if (methods.length === 0) throw new Error('eval: no cells: --attention without dense needs a --compression target below 1');
  return methods;
}

export function registerEvalCommand(program: Command): void {
  program
    .command('eval')
    .description("measure task scores under each decode-attention policy at matched (measured) transfer ratios; writes records, eval.json and report.html")
    .option('--model <spec>', 'a model folder, .gguf, llama2.c .bin or hf:ORG/NAME (default: the bundled model)')
    .option('--task <list>', `tasks, comma-separated: ${EVAL_TASKS.join(', ')}`, listOf('--task', EVAL_TASKS), [...EVAL_TASKS])
    .option('--attention <list>', `methods, comma-separated: ${EVAL_ATTENTION.join(', ')} (random-projection: the key-compression ablation, SparQ's step 1 on a random projection of K; not in the default list)`, listOf('--attention', EVAL_ATTENTION), [...EVAL_DEFAULT_ATTENTION])
    .option('--compression <list>', 'targets: fractions of dense attention transfers (dense is the 1; the others run at each target below 1)', compressionList, [1, 1 / 2, 1 / 4, 1 / 8, 1 / 16])
    .option('--recipe <list>', "SparQ's (and random-projection's) recipe: paper (k = 128, r solved), even (r = d R, k solved), or both", listOf('--recipe', ['paper', 'even'] as const), ['paper'])
    .option('--samples <n>', 'samples per cell', parsePositiveInt('--samples'), 20)
    .option('--seed <n>', "added to every task's reference seed", parseNonNegativeInt('--seed'), 0)
    .option('--out <dir>', 'output folder (records per cell, grid.json, eval.json, report.html)', 'runs/eval')
    .option('--data-dir <dir>', 'datasets folder (default: ../shared/data or THRIFTY_DATA_DIR)')
    .option('--threads <n>', 'worker threads', parsePositiveInt('--threads'), 1)
    .option('--kv-dtype <type>', 'KV cache elements: f32 (default, as the committed records) or f16 (cells get the variant kv-f16)', parseKvDType())
    .option('--confusion <n>', 'SQuAD confusion contexts (default 7; the length study: 3, 15, 31)', parseNonNegativeInt('--confusion'))
    .option('--text <file>', 'repetition reads this text instead of Tiny Shakespeare (e.g. TinyStories for stories260K)')
    .option('--context-chars <n>', 'characters per repetition chunk (default 6000)', parsePositiveInt('--context-chars'))
    .option('--reference-chars <n>', 'BPC reference characters (default 400; fewer for small vocabularies)', parsePositiveInt('--reference-chars'))
    .option('--report-only', 'redraw eval.json and report.html from the records in --out; run nothing', false)
    .action(async (flags: EvalFlags) => {
      await runEvalCommand(flags);
    });
}

function pad(text: string, width: number, right = false): string {
  return right ? text.padStart(width) : text.padEnd(width);
}

export async function runEvalCommand(flags: EvalFlags): Promise<void> {
  const { writeEvalReport } = await import('../../node/eval-report.js');
  if (flags.reportOnly) {
    const written = await writeEvalReport(flags.out);
    process.stdout.write(`${written.records} records of ${written.cells} planned cells: wrote ${written.snapshot} and ${written.report}\n`);
    return;
  }
  const methods = gridMethods(flags);
  const { runEvalGrid } = await import('../../node/eval-runner.js');
  const { bundledModelDir } = await import('../../node/bundled-model.js');
  const { ProgressBar } = await import('../../node/progress.js');
  const { formatCompression, formatScore } = await import('../../eval/grid-summary.js');
  const { interruptOnSigint, interruptedMessage, resumeCommand, INTERRUPTED_EXIT_CODE } = await import('../../node/interrupt.js');
  const out = process.stdout;
  const model = flags.model ?? (await bundledModelDir());
  const widths = [13, 12, 7, 9, 16, 4];
  const line = (cells: string[]): string => `${cells.map((c, i) => pad(c, widths[i] ?? 0, i >= 2 && i <= 5)).join('  ')}`;
  let bar: InstanceType<typeof ProgressBar> | null = null;
  let step = 0;
  let recorded = 0;
  const interrupt = interruptOnSigint({ stopping: 'after the sample in progress (finished samples are kept)' });
  let result: Awaited<ReturnType<typeof runEvalGrid>>;
  try {
    result = await runEvalGrid({
      model,
      modelName: flags.model ?? 'bundled',
      tasks: flags.task,
      methods,
      samples: flags.samples,
      seed: flags.seed,
      outDir: flags.out,
      threads: flags.threads,
      ...(flags.kvDtype !== undefined ? { kvDType: flags.kvDtype } : {}),
      signal: interrupt.signal,
      ...(flags.dataDir !== undefined ? { dataDir: flags.dataDir } : {}),
      ...(flags.confusion !== undefined ? { confusionContexts: flags.confusion } : {}),
      ...(flags.text !== undefined ? { text: flags.text } : {}),
      ...(flags.contextChars !== undefined ? { contextChars: flags.contextChars } : {}),
      ...(flags.referenceChars !== undefined ? { referenceChars: flags.referenceChars } : {}),
      onPlan: ({ total, done, cells }) => {
        const skipped = cells.filter((c) => c.skipped).length;
        out.write(`eval: ${cells.length} cells (${skipped} skipped: target out of reach), ${total} samples, ${done} already recorded in ${flags.out}\n`);
        out.write(`${line(['task', 'method', 'target', 'achieved', 'score ± s.e.', 'n'])}\n`);
        step = done;
        bar = new ProgressBar({ total, start: done, label: 'eval', unit: 'samples', logEveryMs: 60_000 });
      },
      onRecord: () => {
        step++;
        recorded++;
        bar?.update(step, { tokens: 1 });
      },
      onKernelsNote: (cell, note) => {
        out.write(`${cell.task} ${cell.method}: ${note}\n`);
      },
      onCell: (entry) => {
        const { cell, result: r } = entry;
        const task = cell.task + (cell.variant ? `.${cell.variant}` : '');
        const row = entry.skipped
          ? line([task, cell.method, formatCompression(cell.compression), '-', 'skipped', '0']) + `  ${entry.skipped}`
          : line([task, cell.method, formatCompression(cell.compression), r!.achievedRatio === null ? '-' : r!.achievedRatio.toFixed(3),
            `${formatScore(cell.task, r!.mean)} ± ${formatScore(cell.task, r!.sem)}`, String(r!.n)]);
        out.write(`${row}\n`);
      },
    });
  } finally {
    (bar as InstanceType<typeof ProgressBar> | null)?.stop();
    interrupt.dispose();
  }
  const written = await writeEvalReport(flags.out);
  if (result.interrupted) {
    process.stderr.write(interruptedMessage(`${recorded} new samples recorded in ${flags.out} (report drawn from what is finished)`, resumeCommand(process.argv.slice(2))));
    process.exitCode = INTERRUPTED_EXIT_CODE;
    return;
  }
  out.write(`wrote ${written.snapshot} and ${written.report}\n`);
}
