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
  confusion?: number[];
  study?: EvalStudy;
  text?: string;
  contextChars?: number;
  referenceChars?: number;
  reportOnly: boolean;
}

export type EvalStudy = 'length' | 'ablation';
export const EVAL_STUDIES: readonly EvalStudy[] = ['length', 'ablation'];

/**
 * The two extra studies of issue 10 as one command each: the flags a study sets when they are not
 * given (a flag given on the command line wins). Small by default, as every grid here.
 * - length: SQuAD with 3, 7, 15 and 31 confusion contexts, dense and each method at 1/8 (the
 *   paper's comparison point), both SparQ recipes.
 * - ablation: key compression, SparQ against oracle top-k and a random projection of K (same
 *   recipes, same measured ratios), on the two tasks with signal on small models.
 */
export const STUDY_PRESETS: Readonly<Record<EvalStudy, Readonly<Pick<EvalFlags, 'task' | 'attention' | 'compression' | 'recipe' | 'out'> & { readonly confusion?: number[] }>>> = {
  length: { task: ['squad'], confusion: [3, 7, 15, 31], attention: ['dense', 'sparq', 'h2o', 'lm-infinite'], compression: [1, 1 / 8], recipe: ['paper', 'even'], out: 'runs/eval-length' },
  ablation: { task: ['repetition', 'wikitext-bpc'], attention: ['dense', 'sparq', 'oracle', 'random-projection'], compression: [1, 1 / 2, 1 / 4, 1 / 8], recipe: ['paper', 'even'], out: 'runs/eval-ablation' },
};

/** The flags with a study's presets filled in where the command line left the default (`given` says which it set). */
export function applyStudy(flags: EvalFlags, given: (name: keyof EvalFlags) => boolean): EvalFlags {
  if (flags.study === undefined) return flags;
  const preset = STUDY_PRESETS[flags.study];
  const out: EvalFlags = { ...flags };
  for (const name of ['task', 'attention', 'compression', 'recipe', 'out', 'confusion'] as const) {
    if (given(name) || preset[name] === undefined) continue;
    (out as unknown as Record<string, unknown>)[name] = preset[name];
  }
  return out;
}

function nonNegativeIntList(flag: string): (value: string) => number[] {
  return (value) => {
    const items = value.split(',').map((s) => s.trim());
    const out = items.map((item) => {
      const n = item === '' ? NaN : Number(item);
      if (!Number.isInteger(n) || n < 0) throw new InvalidArgumentError(`${flag} expects non-negative integers separated by commas, such as 3,7,15,31; got '${item}' in '${value}'`);
      return n;
    });
    return [...new Set(out)];
  };
}

function oneOf<T extends string>(flag: string, allowed: readonly T[]): (value: string) => T {
  return (value) => {
    if (!allowed.includes(value as T)) throw new InvalidArgumentError(`${flag}: unknown '${value}' (expected one of ${allowed.join(', ')})`);
    return value as T;
  };
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
    .option('--confusion <list>', 'SQuAD confusion contexts, one count or several (default 7; the length study: 3,7,15,31, each a variant confusion-N)', nonNegativeIntList('--confusion'))
    .option('--study <name>', `a study in one command: length (SQuAD at 3/7/15/31 confusion contexts, dense and each method at 1/8, into runs/eval-length) or ablation (SparQ vs oracle top-k vs random-projection on repetition and BPC at 1/2-1/8, into runs/eval-ablation); flags given override its settings`, oneOf('--study', EVAL_STUDIES))
    .option('--text <file>', 'repetition reads this text instead of Tiny Shakespeare (e.g. TinyStories for stories260K)')
    .option('--context-chars <n>', 'characters per repetition chunk (default 6000)', parsePositiveInt('--context-chars'))
    .option('--reference-chars <n>', 'BPC reference characters (default 400; fewer for small vocabularies)', parsePositiveInt('--reference-chars'))
    .option('--report-only', 'redraw eval.json and report.html from the records in --out; run nothing', false)
    .action(async (parsed: EvalFlags, command: Command) => {
      await runEvalCommand(applyStudy(parsed, (name) => command.getOptionValueSource(name) === 'cli'));
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
  if (flags.study !== undefined) {
    const confusion = flags.task.includes('squad') && flags.confusion ? ` --confusion ${flags.confusion.join(',')}` : '';
    const targets = flags.compression.map((c) => (c === 1 ? '1' : Number.isInteger(1 / c) ? `1/${1 / c}` : String(c))).join(',');
    process.stdout.write(`eval --study ${flags.study}: --task ${flags.task.join(',')}${confusion} --attention ${flags.attention.join(',')} --compression ${targets} --recipe ${flags.recipe.join(',')} --samples ${flags.samples} --out ${flags.out}\n`);
  }
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
            `${formatScore(cell.task, r!.mean)} ± ${formatScore(cell.task, r!.sem)}`, String(r!.n)])
            + (r!.degenerateAsZero ? `  degenerate ${r!.degenerate}/${r!.n}, scored 0: ${formatScore(cell.task, r!.degenerateAsZero.mean)} ± ${formatScore(cell.task, r!.degenerateAsZero.sem)}` : '');
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
