// `thrifty train-lm`: trains a small Llama-style language model with thrifty's own engine on a
// text file (default: Tiny Shakespeare) and writes a Hugging Face style folder (config.json,
// model.safetensors, tokenizer.json) that `thrifty generate --model DIR` runs. The bundled default
// model (models/default/) was made with it; its README has the exact command. The recipe is in
// src/train/language-model.ts, the run on disk in src/node/train-lm-runner.ts.

import type { Command } from 'commander';
import { InvalidArgumentError } from 'commander';
import { checkTokensPerStep, parseIntInRange, parseNumberInRange, parseThreads, TRAINING_LIMITS as L } from '../args.js';
import { NO_MIX, parseIdCurriculum, parseTrainingMix, type IdCurriculum, type TrainingMix } from '../../train/lm-mix.js';
import type { TrainLmOptions, TrainLmOutcome, TrainLmResult } from '../../node/train-lm-runner.js';
import type { TrainerPlacement } from '../../train/language-model.js';

export type { TrainLmOptions, TrainLmOutcome } from '../../node/train-lm-runner.js';

export const TRAIN_LM_DEFAULTS: Omit<TrainLmOptions, 'data' | 'out'> = {
  vocabSize: 2048,
  hiddenSize: 192,
  layers: 5,
  heads: 6,
  intermediateSize: 512,
  context: 512,
  batch: 4,
  steps: 100,
  lr: 2e-3,
  warmup: 50,
  weightDecay: 0.1,
  clip: 1,
  seed: 1,
  evalEvery: 0,
  evalWindows: 64,
  checkpointEvery: 100,
  resume: false,
  dtype: 'f16',
  mix: NO_MIX,
  shortSteps: 0,
};

/** Trains, evaluates and writes the model folder (loads the runner on demand, so `thrifty --help` stays fast). */
export async function trainLanguageModel(options: TrainLmOptions, log?: (line: string) => void, signal?: AbortSignal, placement?: TrainerPlacement): Promise<TrainLmOutcome> {
  const runner = await import('../../node/train-lm-runner.js');
  return runner.trainLanguageModel(options, log, signal, placement);
}

/** The end-of-run summary for people (--json gives the same numbers as one JSON line). */
export function formatTrainLmSummary(result: TrainLmResult, out: string, engine: string): string {
  const rows: Array<[string, string]> = [
    ['held-out loss', result.validationLoss.toFixed(4)],
    ['held-out bits/char', result.validationBitsPerChar.toFixed(4)],
    ['parameters', result.parameters.toLocaleString('en-US')],
    ['tokens trained', result.trainTokens.toLocaleString('en-US')],
    ['time', `${result.seconds.toFixed(1)} s`],
    ['engine', engine],
    ['model folder', out],
  ];
  const width = Math.max(...rows.map(([label]) => label.length));
  return [
    `train-lm: finished ${result.steps} steps`,
    ...rows.map(([label, value]) => `  ${label.padEnd(width)}  ${value}`),
    `run it: npx thrifty generate --model ${out} --prompt "..."`,
  ].join('\n') + '\n';
}

interface TrainLmFlags {
  data?: string;
  out: string;
  vocabSize: number;
  hidden: number;
  layers: number;
  heads: number;
  intermediate: number;
  context: number;
  batch: number;
  steps: number;
  lr: number;
  warmup: number;
  weightDecay: number;
  clip: number;
  seed: number;
  evalEvery: number;
  evalWindows: number;
  checkpointEvery: number;
  resume: boolean;
  dtype: string;
  mix?: TrainingMix;
  shortContext?: number;
  shortSteps: number;
  extendSteps?: number;
  extendShortSteps?: number;
  extendShortContext?: number;
  extendMix?: TrainingMix;
  randomIds?: IdCurriculum;
  extendRandomIds?: IdCurriculum;
  threads?: number;
  json: boolean;
}

/** A commander parser from a library parser that names the flag in its errors (they become one-line usage errors). */
function flagParser<T>(flag: string, parse: (value: string, flag: string) => T): (value: string) => T {
  return (value) => {
    try {
      return parse(value, flag);
    } catch (error) {
      throw new InvalidArgumentError((error as Error).message);
    }
  };
}

export function registerTrainLmCommand(program: Command): void {
  const d = TRAIN_LM_DEFAULTS;
  program
    .command('train-lm')
    .description('train a small Llama-style language model (and its BPE tokenizer) on text files; writes config.json, model.safetensors, tokenizer.json')
    .option('--data <path>', 'training text: a file, a folder (its .txt files, recursively), or several separated by commas (default: <data dir>/text/tinyshakespeare/input.txt)')
    .option('--out <dir>', 'output folder', 'runs/train-lm')
    .option('--vocab-size <n>', 'BPE vocabulary size', parseIntInRange('--vocab-size', 257, L.vocabulary), d.vocabSize)
    .option('--hidden <n>', 'd_model', parseIntInRange('--hidden', 1, L.hidden), d.hiddenSize)
    .option('--layers <n>', 'transformer blocks', parseIntInRange('--layers', 1, L.layers), d.layers)
    .option('--heads <n>', 'attention heads (head dim = hidden / heads)', parseIntInRange('--heads', 1, L.heads), d.heads)
    .option('--intermediate <n>', 'SwiGLU hidden width', parseIntInRange('--intermediate', 1, L.intermediate), d.intermediateSize)
    .option('--context <n>', 'context length (training window, BOS included)', parseIntInRange('--context', 2, L.sequence), d.context)
    .option('--batch <n>', 'windows per step', parseIntInRange('--batch', 1, L.batch), d.batch)
    .option('--steps <n>', 'optimizer steps', parseIntInRange('--steps', 1, L.steps), d.steps)
    .option('--lr <x>', 'peak learning rate', parseNumberInRange('--lr', 0, L.learningRate, { minExclusive: true }), d.lr)
    .option('--warmup <n>', 'warm-up steps', parseIntInRange('--warmup', 0, L.steps), d.warmup)
    .option('--weight-decay <x>', 'AdamW weight decay (matrices only)', parseNumberInRange('--weight-decay', 0, 1), d.weightDecay)
    .option('--clip <x>', 'gradient-norm clip', parseNumberInRange('--clip', 0, L.clip), d.clip)
    .option('--seed <n>', 'seed of the initialisation and the data order', parseIntInRange('--seed', 0, L.seed), d.seed)
    .option('--eval-every <n>', 'held-out evaluation every n steps (0: at the end only)', parseIntInRange('--eval-every', 0, L.steps), d.evalEvery)
    .option('--eval-windows <n>', 'held-out windows per evaluation', parseIntInRange('--eval-windows', 1, L.evalSequences), d.evalWindows)
    .option('--checkpoint-every <n>', 'save a resumable checkpoint (and the model folder) every n steps (0: never)', parseIntInRange('--checkpoint-every', 0, L.steps), d.checkpointEvery)
    .option('--mix <kinds>', 'synthetic documents as fractions of the windows: repeat (a passage, then spans of it copied after a newline), kv (facts at random depths, questions about them at the end, as the needle task), copy (random corpus tokens, then the same again) and period (one run of random tokens repeated to the end of the window: forms induction heads fastest); e.g. repeat=0.3,kv=0.2 (default: none)', flagParser('--mix', parseTrainingMix))
    .option('--random-ids <start:steps>', 'a vocabulary curriculum for the copy and period kinds: their random ids come from START ids at first (a fixed seeded choice), growing geometrically to every id over STEPS steps; deep models form induction heads much sooner this way (e.g. 64:1500)', flagParser('--random-ids', parseIdCurriculum))
    .option('--short-context <n>', 'window of the first --short-steps steps (divides --context; context/n times the windows, so the same tokens a step)', parseIntInRange('--short-context', 2, L.sequence))
    .option('--short-steps <n>', 'steps trained at --short-context before the full context', parseIntInRange('--short-steps', 0, L.steps), d.shortSteps)
    .option('--resume', 'continue from <out>/checkpoint.safetensors if present', false)
    .option('--extend-steps <n>', 'with --resume: lengthen the run to n steps in all (more than its current total); the cosine goes on from the current lr to the same final lr at step n, and the checkpoint records it, so later resumes need only --resume', parseIntInRange('--extend-steps', 1, L.steps))
    .option('--extend-short-steps <n>', 'with --resume, while the run is still in its short-context phase: lengthen that phase to n steps; after it, with --extend-short-context: a new short phase from the checkpoint\'s step to step n (recorded in the checkpoint like --extend-steps)', parseIntInRange('--extend-short-steps', 1, L.steps))
    .option('--extend-short-context <n>', 'with --resume and --extend-short-steps: windows of n tokens from the checkpoint\'s step to step --extend-short-steps, then the full context (after the short-context phase, or inside it to change its window; divides --context; context/n times the windows)', parseIntInRange('--extend-short-context', 2, L.sequence))
    .option('--extend-mix <kinds>', 'with --resume: train on this mix (as --mix) from the checkpoint\'s step on (recorded in the checkpoint like --extend-steps)', flagParser('--extend-mix', parseTrainingMix))
    .option('--extend-random-ids <start:steps>', 'with --resume: a vocabulary curriculum (as --random-ids) counted from the checkpoint\'s step (recorded in the checkpoint like --extend-steps)', flagParser('--extend-random-ids', parseIdCurriculum))
    .option('--dtype <type>', 'f32 or f16 storage for model.safetensors', d.dtype)
    .option('--threads <n>', 'threads including the main one (default: all cores)', parseThreads('--threads'))
    .option('--json', 'print the summary as one JSON line', false)
    .action(async (flags: TrainLmFlags) => {
      if (flags.dtype !== 'f32' && flags.dtype !== 'f16') throw new Error(`--dtype expects f32 or f16, got '${flags.dtype}'`);
      checkTokensPerStep(flags.batch, '--batch', flags.context, '--context');
      if (flags.shortSteps > 0 && flags.shortContext === undefined) throw new Error('--short-steps needs --short-context');
      if (flags.shortSteps > flags.steps) throw new Error(`--short-steps ${flags.shortSteps} is more than --steps ${flags.steps}`);
      const { join } = await import('node:path');
      const { defaultDataDir } = await import('../../node/data-dir.js');
      const { initNodeBackend } = await import('../../node/backend.js');
      const { interruptOnSigint, interruptedMessage, resumeCommand, INTERRUPTED_EXIT_CODE } = await import('../../node/interrupt.js');
      const engine = await initNodeBackend({ threads: flags.threads });
      const interrupt = interruptOnSigint({ stopping: 'after this step, saving a checkpoint' });
      try {
        const outcome = await trainLanguageModel(
          {
            data: flags.data ?? join(defaultDataDir(), 'text', 'tinyshakespeare', 'input.txt'),
            out: flags.out,
            vocabSize: flags.vocabSize,
            hiddenSize: flags.hidden,
            layers: flags.layers,
            heads: flags.heads,
            intermediateSize: flags.intermediate,
            context: flags.context,
            batch: flags.batch,
            steps: flags.steps,
            lr: flags.lr,
            warmup: flags.warmup,
            weightDecay: flags.weightDecay,
            clip: flags.clip,
            seed: flags.seed,
            evalEvery: flags.evalEvery,
            evalWindows: flags.evalWindows,
            checkpointEvery: flags.checkpointEvery,
            resume: flags.resume,
            ...(flags.extendSteps === undefined ? {} : { extendSteps: flags.extendSteps }),
            ...(flags.extendShortSteps === undefined ? {} : { extendShortSteps: flags.extendShortSteps }),
            ...(flags.extendShortContext === undefined ? {} : { extendShortContext: flags.extendShortContext }),
            ...(flags.extendMix === undefined ? {} : { extendMix: flags.extendMix }),
            ...(flags.extendRandomIds === undefined ? {} : { extendRandomIds: flags.extendRandomIds }),
            ...(flags.randomIds === undefined ? {} : { randomIds: flags.randomIds }),
            dtype: flags.dtype,
            mix: flags.mix ?? NO_MIX,
            shortSteps: flags.shortSteps,
            ...(flags.shortContext === undefined ? {} : { shortContext: flags.shortContext }),
            threads: flags.threads,
          },
          (line) => process.stderr.write(`${line}\n`),
          interrupt.signal,
          // Weights and moments in the wasm arenas: kernels read them in place (no per-call staging).
          { alloc: (n) => engine.wasm.allocF32(n) },
        );
        if (outcome.status === 'interrupted') {
          const kept = `step ${outcome.steps} of ${outcome.totalSteps}, checkpoint saved to ${outcome.checkpoint}`;
          process.stderr.write(interruptedMessage(kept, resumeCommand(['--extend-steps', '--extend-short-steps', '--extend-short-context', '--extend-mix', '--extend-random-ids'].reduce(withoutFlag, process.argv.slice(2)), ['--resume'])));
          process.exitCode = INTERRUPTED_EXIT_CODE;
          return;
        }
        const { status: _status, ...result } = outcome;
        process.stdout.write(flags.json
          ? `${JSON.stringify({ ...result, out: flags.out, engine: engine.description })}\n`
          : formatTrainLmSummary(result, flags.out, engine.description));
      } finally {
        interrupt.dispose();
        engine.dispose();
      }
    });
}

/** `args` without `flag` and its value (the extension is in the checkpoint once made; repeating it would be refused). */
function withoutFlag(args: readonly string[], flag: string): string[] {
  const out: string[] = [];
  for (let i = 0; i < args.length; i++) {
    if (args[i] === flag) i++;
    else if (!args[i]!.startsWith(`${flag}=`)) out.push(args[i]!);
  }
  return out;
}
