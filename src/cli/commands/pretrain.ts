// `thrifty pretrain`: masked-LM pre-training of BERT or GroupBERT on a text corpus, with resume.

import { InvalidArgumentError, type Command } from 'commander';
import { checkTokensPerStep, parseIntInRange, parseNumberInRange, parseThreads, TRAINING_LIMITS as L } from '../args.js';
import type { PretrainSummary } from '../../node/pretrain-runner.js';

export interface PretrainFlags {
  arch: string;
  size: string;
  corpus: string;
  steps: number;
  batch: number;
  seq: number;
  lr?: number;
  warmup?: number;
  optimizer: string;
  weightDecay: number;
  clip: number;
  seed: number;
  out?: string;
  resume: boolean;
  vocab?: string;
  vocabSize: number;
  dropout?: number;
  nsp: boolean;
  wholeWordMask: boolean;
  evalEvery: number;
  evalSequences: number;
  checkpointEvery: number;
  validationFraction: number;
  stopAfter?: number;
  threads?: number;
  cacheDir?: string;
  conv: boolean;
  convKernel?: number;
  convGroupSize?: number;
  ffnGroups?: number;
  ffnMixer: boolean;
  norm?: string;
  moduleOrder?: string;
  quiet: boolean;
  json?: boolean;
  sparsity?: number;
  block: number;
  regrow: string;
  updates?: number;
  pruneRatio: number;
  blockNorm: string;
}

/** Largest GroupBERT convolution kernel (taps): far wider than any sequence the presets take. */
export const MAX_CONV_KERNEL = 255;
/** Largest block edge of block-sparse weights. */
export const MAX_BLOCK = 256;

/** Peak learning rate of a dense run when --lr is not given; a sparse run scales it by the sparse rule. */
export const DEFAULT_LR = 1e-3;

function parseFraction(flag: string): (value: string) => number {
  return (value) => {
    const x = Number(value.trim() === '' ? NaN : value);
    if (!(x >= 0 && x < 1)) throw new InvalidArgumentError(`${flag} expects a number in [0, 1), got '${value}'`);
    return x;
  };
}

/** The pre-training flags, shared with `experiment pareto`. */
export function addTrainingOptions(command: Command): Command {
  return command
    .option('--batch <n>', 'sequences per step', parseIntInRange('--batch', 1, L.batch), 32)
    .option('--seq <n>', 'sequence length', parseIntInRange('--seq', 5, L.sequence), 128)
    .option('--lr <x>', `peak learning rate (default ${DEFAULT_LR}; with --sparsity s, ${DEFAULT_LR} x exp(1.969 s² + 0.2905 s))`, parseNumberInRange('--lr', 0, L.learningRate, { minExclusive: true }))
    .option('--warmup <n>', 'linear warm-up steps (default: 10% of --steps), then linear decay to 0', parseIntInRange('--warmup', 0, L.steps))
    .option('--optimizer <name>', 'adamw, adam or lamb', 'adamw')
    .option('--weight-decay <x>', 'weight decay (not on biases and LayerNorm weights)', parseNumberInRange('--weight-decay', 0, 1), 0.01)
    .option('--clip <x>', 'global gradient-norm clip (0 = off)', parseNumberInRange('--clip', 0, L.clip), 1)
    .option('--vocab <path>', 'a WordPiece vocab.txt (default: train one of --vocab-size on the corpus)')
    .option('--vocab-size <n>', 'size of the vocabulary to train', parseIntInRange('--vocab-size', 8, L.vocabulary), 8192)
    .option('--dropout <p>', 'hidden and attention dropout (default 0.1)', parseFraction('--dropout'))
    .option('--no-nsp', 'no next-sentence prediction')
    .option('--whole-word-mask', 'mask whole words', false)
    .option('--eval-every <n>', 'validate every n steps', parseIntInRange('--eval-every', 1, L.steps), 100)
    .option('--eval-sequences <n>', 'validation sequences', parseIntInRange('--eval-sequences', 1, L.evalSequences), 256)
    .option('--validation-fraction <x>', 'share of documents held out for validation', parseFraction('--validation-fraction'), 0.05)
    .option('--checkpoint-every <n>', 'checkpoint every n steps', parseIntInRange('--checkpoint-every', 1, L.steps), 100)
    .option('--threads <n>', 'threads of the wasm backend (default: all cores)', parseThreads('--threads'))
    .option('--cache-dir <dir>', 'tokenized-corpus cache (default <out>/cache)')
    .option('--no-conv', 'GroupBERT ablation: no convolution module')
    .option('--conv-kernel <k>', 'GroupBERT convolution kernel size (default 7)', parseIntInRange('--conv-kernel', 1, MAX_CONV_KERNEL))
    .option('--conv-group-size <n>', 'GroupBERT channels per convolution group (default 16)', parseIntInRange('--conv-group-size', 1, L.hidden))
    .option('--ffn-groups <g>', 'GroupBERT groups of the FFN down-projection (default 4; 1 = dense)', parseIntInRange('--ffn-groups', 1, L.hidden))
    .option('--no-ffn-mixer', 'GroupBERT ablation: no dense mixer after the grouped down-projection')
    .option('--norm <where>', 'GroupBERT norm placement: pre (default) or post')
    .option('--module-order <list>', 'GroupBERT modules of a layer (default conv,ffn,attention,ffn)')
    .option('--sparsity <s>', 'block-sparse training: fraction of inactive blocks of every fully connected encoder weight, in [0, 1)', parseFraction('--sparsity'))
    .option('--block <b>', 'block edge of the sparse weights (1, 4, 8, 16 have fast kernels)', parseIntInRange('--block', 1, MAX_BLOCK), 16)
    .option('--regrow <mode>', 'dynamic (prune and regrow at random), static (fixed random pattern) or rigl (regrow by dense gradient)', 'dynamic')
    .option('--updates <n>', 'pattern updates over the run, one every steps/n (default min(160, --steps))', parseIntInRange('--updates', 1, L.steps))
    .option('--prune-ratio <x>', 'initial fraction of active blocks pruned per update (cosine decay to 0)', parseNumberInRange('--prune-ratio', 0, 1), 0.5)
    .option('--block-norm <norm>', 'block norm that ranks blocks for pruning: l1 or l2', 'l1')
    .option('--quiet', 'no progress output', false);
}

/** The sparse settings of the flags (null without --sparsity); errors name the flag. */
function sparseSettings(flags: PretrainFlags) {
  if (flags.sparsity === undefined) return null;
  if (!(flags.sparsity >= 0 && flags.sparsity < 1)) throw new Error(`--sparsity must be in [0, 1), got ${flags.sparsity}`);
  const regrow = (['dynamic', 'static', 'rigl'] as const).find((m) => m === flags.regrow);
  if (!regrow) throw new Error(`--regrow must be dynamic, static or rigl, got '${flags.regrow}'`);
  const normOrder = flags.blockNorm === 'l1' ? 1 : flags.blockNorm === 'l2' ? 2 : null;
  if (normOrder === null) throw new Error(`--block-norm must be l1 or l2, got '${flags.blockNorm}'`);
  if (flags.updates !== undefined && flags.updates > flags.steps) throw new Error(`--updates ${flags.updates} is larger than --steps ${flags.steps} (at most one pattern update per step)`);
  if (!(flags.pruneRatio >= 0 && flags.pruneRatio <= 1)) throw new Error(`--prune-ratio must be in [0, 1], got ${flags.pruneRatio}`);
  return { sparsity: flags.sparsity, block: flags.block, regrow, updates: flags.updates ?? Math.min(160, flags.steps), pruneRatio: flags.pruneRatio, normOrder };
}

/** Turns parsed flags into runner options (errors name the flag). */
export async function runnerOptions(flags: PretrainFlags, arch: string, size: string, seed: number, out: string) {
  const { parseArchitecture } = await import('../../models/bert-presets.js');
  const { OPTIMIZER_KINDS } = await import('../../train/pretrain.js');
  const { sparseLearningRate } = await import('../../train/dynsparse.js');
  const architecture = parseArchitecture(arch, '--arch');
  checkTokensPerStep(flags.batch, '--batch', flags.seq, '--seq');
  const optimizer = OPTIMIZER_KINDS.find((k) => k === flags.optimizer);
  if (!optimizer) throw new Error(`--optimizer must be one of ${OPTIMIZER_KINDS.join(', ')}, got '${flags.optimizer}'`);
  let moduleOrder = flags.moduleOrder?.split(',').map((s) => s.trim());
  if (moduleOrder && !moduleOrder.every((k) => k === 'conv' || k === 'ffn' || k === 'attention')) {
    throw new Error(`--module-order lists conv, ffn and attention, got '${flags.moduleOrder}'`);
  }
  if (!flags.conv) moduleOrder = (moduleOrder ?? ['conv', 'ffn', 'attention', 'ffn']).filter((k) => k !== 'conv');
  if (flags.norm !== undefined && flags.norm !== 'pre' && flags.norm !== 'post') throw new Error(`--norm must be pre or post, got '${flags.norm}'`);
  const groupbert = {
    ...(moduleOrder ? { moduleOrder: moduleOrder as ('conv' | 'ffn' | 'attention')[] } : {}),
    ...(flags.convKernel !== undefined ? { convKernelSize: flags.convKernel } : {}),
    ...(flags.convGroupSize !== undefined ? { convGroupSize: flags.convGroupSize } : {}),
    ...(flags.ffnGroups !== undefined ? { ffnGroups: flags.ffnGroups } : {}),
    ...(flags.ffnMixer ? {} : { ffnMixer: false }),
    ...(flags.norm ? { norm: flags.norm as 'pre' | 'post' } : {}),
  };
  const sparse = sparseSettings(flags);
  // The sparse learning-rate rule is the default of a sparse run; --lr overrides it.
  const lr = flags.lr ?? (sparse ? sparseLearningRate(DEFAULT_LR, sparse.sparsity) : DEFAULT_LR);
  return {
    sparse: sparse ?? undefined,
    lrSource: flags.lr !== undefined ? '--lr' : sparse ? `the sparse rule at s = ${sparse.sparsity}: ${DEFAULT_LR} x exp(1.969 s² + 0.2905 s)` : 'the default',
    arch: architecture,
    size,
    corpus: flags.corpus,
    vocab: flags.vocab,
    vocabSize: flags.vocabSize,
    steps: flags.steps,
    batchSize: flags.batch,
    seqLength: flags.seq,
    optimizer,
    lr,
    warmupSteps: flags.warmup ?? Math.round(flags.steps / 10),
    weightDecay: flags.weightDecay,
    clipNorm: flags.clip,
    seed,
    dropout: flags.dropout,
    nsp: flags.nsp,
    wholeWordMask: flags.wholeWordMask,
    out,
    resume: flags.resume,
    evalEvery: flags.evalEvery,
    evalSequences: flags.evalSequences,
    validationFraction: flags.validationFraction,
    checkpointEvery: flags.checkpointEvery,
    stopAfter: flags.stopAfter,
    threads: flags.threads,
    cacheDir: flags.cacheDir,
    groupbert,
    quiet: flags.quiet,
  };
}

export function registerPretrainCommand(program: Command): void {
  const command = program
    .command('pretrain')
    .description('pre-train BERT or GroupBERT with masked-LM (and next-sentence) loss; resumable')
    .requiredOption('--arch <arch>', 'bert or groupbert')
    .requiredOption('--size <name>', 'size preset: tiny, mini, small, medium, base, micro-xs ... micro-xl')
    .requiredOption('--corpus <path>', 'a text file or a folder of .txt/.raw files')
    .requiredOption('--steps <n>', 'optimizer steps', parseIntInRange('--steps', 1, L.steps))
    .option('--seed <n>', 'seed of initialisation, data order, masking and dropout', parseIntInRange('--seed', 0, L.seed), 0)
    .option('--out <dir>', 'output folder (default runs/pretrain-<arch>-<size>-seed<seed>)')
    .option('--resume', 'continue the run in --out from its checkpoint', false)
    .option('--stop-after <n>', 'stop (checkpointing) after n steps of this session', parseIntInRange('--stop-after', 1, L.steps))
    .option('--json', 'print the summary as one JSON line', false);
  addTrainingOptions(command).action(async (flags: PretrainFlags) => {
    const { runPretraining } = await import('../../node/pretrain-runner.js');
    const { interruptOnSigint, interruptedMessage, resumeCommand, INTERRUPTED_EXIT_CODE } = await import('../../node/interrupt.js');
    const out = flags.out ?? `runs/pretrain-${flags.arch}-${flags.size}-seed${flags.seed}`;
    const options = await runnerOptions(flags, flags.arch, flags.size, flags.seed, out);
    if (!flags.quiet) {
      const sparse = options.sparse ? `, sparsity ${options.sparse.sparsity} in ${options.sparse.block}x${options.sparse.block} blocks, ${options.sparse.regrow}` : '';
      process.stderr.write(`learning rate ${options.lr.toPrecision(4)} (${options.lrSource})${sparse}\n`);
    }
    const interrupt = interruptOnSigint({ stopping: 'after this step, saving a checkpoint' });
    let summary: PretrainSummary;
    try {
      summary = await runPretraining(options, interrupt.signal);
    } finally {
      interrupt.dispose();
    }
    const result = {
      out: summary.out,
      step: summary.step,
      finished: summary.finished,
      resumedFrom: summary.resumedFrom,
      trainLoss: summary.lastTrain?.loss ?? null,
      valMlmLoss: summary.lastValidation?.mlmLoss ?? null,
      nonEmbeddingFlops: summary.nonEmbeddingFlops,
      totalFlops: summary.totalFlops,
      trainSeconds: summary.trainSeconds,
      tokens: summary.tokens,
    };
    process.stdout.write(flags.json ? `${JSON.stringify(result)}\n` : formatPretrainSummary(summary, options.steps, `${flags.arch} ${flags.size}`));
    if (summary.stoppedBy === 'interrupted') {
      const kept = `step ${summary.step} of ${options.steps}, checkpoint saved to ${summary.checkpoint}`;
      process.stderr.write(interruptedMessage(kept, resumeCommand(process.argv.slice(2), ['--resume'])));
      process.exitCode = INTERRUPTED_EXIT_CODE;
    }
  });
}

/** The end-of-run summary for people (--json gives the same numbers as one JSON line). */
export function formatPretrainSummary(summary: PretrainSummary, steps: number, model: string): string {
  const state = summary.finished ? 'finished' : summary.stoppedBy === 'interrupted' ? 'interrupted' : 'paused';
  const resumed = summary.resumedFrom !== null ? ` (resumed at step ${summary.resumedFrom})` : '';
  const number = (x: number | null | undefined, digits = 4): string => (x === null || x === undefined ? '-' : x.toFixed(digits));
  const rows: Array<[string, string]> = [
    ['train loss', number(summary.lastTrain?.loss)],
    ['validation MLM loss', number(summary.lastValidation?.mlmLoss)],
    ['validation MLM accuracy', number(summary.lastValidation?.mlmAccuracy)],
    ['tokens trained', summary.tokens.toLocaleString('en-US')],
    ['FLOPs (non-embedding)', summary.nonEmbeddingFlops.toExponential(3)],
    ['FLOPs (total)', summary.totalFlops.toExponential(3)],
    ['training time', `${summary.trainSeconds.toFixed(1)} s`],
    ['checkpoint', summary.checkpoint],
    ['metrics', `${summary.out}/metrics.jsonl`],
  ];
  const width = Math.max(...rows.map(([label]) => label.length));
  return [`pretrain ${model}: ${state} at step ${summary.step} of ${steps}${resumed}`, ...rows.map(([label, value]) => `  ${label.padEnd(width)}  ${value}`)].join('\n') + '\n';
}
