// `thrifty train-lm`: trains a small Llama-style language model with thrifty's own engine on a
// text file (default: Tiny Shakespeare) and writes a Hugging Face style folder (config.json,
// model.safetensors, tokenizer.json) that `thrifty generate --model DIR` runs. The bundled default
// model (models/default/) was made with it; its README has the exact command.
//
// Recipe: a byte-level BPE tokenizer trained on the training split; random windows of the
// training split, each prefixed with BOS (so generation can start from BOS alone); AdamW with
// linear warm-up and cosine decay, gradient clipping; the last 10% of the text held out.

import type { Command } from 'commander';
import { parseNonNegativeInt, parseNumber, parsePositiveInt } from '../args.js';

export interface TrainLmOptions {
  readonly data: string;
  readonly out: string;
  readonly vocabSize: number;
  readonly hiddenSize: number;
  readonly layers: number;
  readonly heads: number;
  readonly intermediateSize: number;
  readonly context: number;
  readonly batch: number;
  readonly steps: number;
  readonly lr: number;
  readonly warmup: number;
  readonly weightDecay: number;
  readonly clip: number;
  readonly seed: number;
  /** Evaluate on held-out windows every this many steps (0: only at the end). */
  readonly evalEvery: number;
  /** Held-out windows per evaluation (at most what the split holds). */
  readonly evalWindows: number;
  readonly checkpointEvery: number;
  readonly resume: boolean;
  /** Storage dtype of model.safetensors. */
  readonly dtype: 'f32' | 'f16';
  readonly threads?: number | undefined;
}

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
};

export interface TrainLmResult {
  readonly steps: number;
  readonly trainTokens: number;
  readonly validationLoss: number;
  /** Held-out bits per character (comparable across tokenizers). */
  readonly validationBitsPerChar: number;
  readonly parameters: number;
  readonly seconds: number;
}

const BOS = '<|endoftext|>';
/** Attention scores per block of query rows: smaller blocks skip more of the causal mask's zeros. */
const SCORE_BLOCK = 1 << 20;

/** Trains, evaluates and writes the model folder. `log` receives progress lines. */
export async function trainLanguageModel(options: TrainLmOptions, log: (line: string) => void = () => {}): Promise<TrainLmResult> {
  const { readFile, mkdir, stat } = await import('node:fs/promises');
  const { join } = await import('node:path');
  const { backward, noGrad } = await import('../../autograd/engine.js');
  const { crossEntropy } = await import('../../autograd/ops/loss.js');
  const { llamaConfig, llmConfigToHf } = await import('../../models/llm-config.js');
  const { createCausalLM } = await import('../../models/load-llm.js');
  const { AdamW } = await import('../../optim/adam.js');
  const { clipGradNorm } = await import('../../optim/clip.js');
  const { splitParamGroups } = await import('../../optim/optimizer.js');
  const { linearWarmupCosineDecay } = await import('../../optim/schedule.js');
  const { Rng } = await import('../../tensor/rng.js');
  const { Tensor } = await import('../../tensor/tensor.js');
  const { f32ToHalf } = await import('../../tensor/dtype.js');
  const { serializeSafetensors } = await import('../../io/safetensors.js');
  const { writeFileAtomic } = await import('../../node/files.js');
  const { saveCheckpoint, loadCheckpoint } = await import('../../node/checkpoint.js');
  const { MetricsLog } = await import('../../node/metrics-log.js');
  const { trainByteLevelBpe } = await import('../../text/bpe-trainer.js');

  const started = Date.now();
  if (options.hiddenSize % options.heads !== 0) throw new Error(`--hidden ${options.hiddenSize} is not a multiple of --heads ${options.heads}`);
  const text = await readFile(options.data, 'utf8').catch((error: unknown) => {
    throw new Error(`--data ${options.data}: ${error instanceof Error ? error.message : String(error)}`);
  });
  // Hold out the last 10%, cut at a line boundary.
  let cut = Math.floor(text.length * 0.9);
  const newline = text.indexOf('\n', cut);
  if (newline >= 0) cut = newline + 1;
  const trainText = text.slice(0, cut);
  const validText = text.slice(cut);
  if (trainText.length === 0 || validText.length === 0) throw new Error(`--data ${options.data}: too short to split into training and held-out text`);

  await mkdir(options.out, { recursive: true });
  const trained = trainByteLevelBpe(trainText, { vocabSize: options.vocabSize, specialTokens: [BOS], bosToken: BOS });
  const tokenizer = trained.tokenizer;
  const bosId = tokenizer.tokenToId(BOS);
  if (bosId === undefined) throw new Error(`the trained tokenizer has no ${BOS} token`);
  const trainIds = Int32Array.from(tokenizer.encode(trainText, { addBos: false, allowSpecial: false }));
  const validIds = Int32Array.from(tokenizer.encode(validText, { addBos: false, allowSpecial: false }));
  const window = options.context - 1; // text tokens per window after BOS
  if (trainIds.length <= window + 1 || validIds.length <= window + 1) {
    throw new Error(`--context ${options.context}: the split has only ${trainIds.length} training and ${validIds.length} held-out tokens`);
  }
  log(`tokenizer: ${tokenizer.vocabSize} tokens; ${trainIds.length} training and ${validIds.length} held-out tokens (${(trainText.length / trainIds.length).toFixed(2)} chars/token)`);

  const config = llamaConfig({
    vocabSize: tokenizer.vocabSize,
    hiddenSize: options.hiddenSize,
    intermediateSize: options.intermediateSize,
    numLayers: options.layers,
    numHeads: options.heads,
    maxPositions: options.context,
    bosTokenId: bosId,
    eosTokenId: bosId,
    tieWordEmbeddings: true,
  });
  const rng = new Rng(options.seed);
  const model = createCausalLM(config, { rng, std: 0.02 });
  const parameters = model.numParameters();
  log(`model: ${parameters} parameters (d_model ${config.hiddenSize}, ${config.numLayers} layers, ${config.numHeads} heads of ${config.headDim}, context ${config.maxPositions})`);
  const optimizer = new AdamW(splitParamGroups(model.namedParameters(), { weightDecay: 0 }), { lr: options.lr, beta1: 0.9, beta2: 0.95, weightDecay: options.weightDecay });
  const schedule = linearWarmupCosineDecay({ peakLr: options.lr, warmupSteps: Math.min(options.warmup, options.steps), totalSteps: options.steps, finalLr: options.lr / 10 });
  const dataRng = new Rng(options.seed + 1);
  const checkpointPath = join(options.out, 'checkpoint.safetensors');
  let step = 0;
  if (options.resume && (await stat(checkpointPath).catch(() => null))) {
    const shapes = new Map([...model.stateDict()].map(([k, t]) => [k, t.shape]));
    const saved = await loadCheckpoint(checkpointPath, { model: shapes });
    model.loadStateDict(saved.model);
    optimizer.loadStateDict({ tensors: saved.optimizer, scalars: saved.state.optimizer });
    dataRng.setState(saved.state.rng['data']!);
    step = saved.state.step;
    log(`resumed from ${checkpointPath} at step ${step}`);
  }

  // [batch, context] inputs (BOS, then `window` tokens) and the next-token targets.
  const makeBatch = (ids: Int32Array, starts: readonly number[]): { inputs: InstanceType<typeof Tensor>; targets: InstanceType<typeof Tensor> } => {
    const t = options.context;
    const inputs = new Int32Array(starts.length * t);
    const targets = new Int32Array(starts.length * t);
    starts.forEach((start, b) => {
      inputs[b * t] = bosId;
      inputs.set(ids.subarray(start, start + window), b * t + 1);
      targets.set(ids.subarray(start, start + t), b * t);
    });
    return { inputs: new Tensor(inputs, 'i32', [starts.length, t]), targets: new Tensor(targets, 'i32', [starts.length, t]) };
  };
  const validStarts: number[] = [];
  const validWindows = Math.min(options.evalWindows, Math.floor((validIds.length - 1) / options.context));
  for (let w = 0; w < Math.max(1, validWindows); w++) validStarts.push(w * options.context);
  const evaluate = (): number =>
    noGrad(() => {
      model.eval();
      let total = 0;
      for (let i = 0; i < validStarts.length; i += options.batch) {
        const { inputs, targets } = makeBatch(validIds, validStarts.slice(i, i + options.batch));
        total += crossEntropy(model.forward(inputs, { maxScoreElements: SCORE_BLOCK }), targets).item() * inputs.shape[0]!;
      }
      model.train();
      return total / validStarts.length;
    });
  // Nats per token over the average characters per held-out token.
  const bitsPerChar = (loss: number): number => loss / (validText.length / validIds.length) / Math.LN2;

  const metrics = new MetricsLog(join(options.out, 'metrics.jsonl'));
  const saveState = async (): Promise<void> => {
    const optimizerState = optimizer.stateDict({ copy: true });
    await saveCheckpoint(checkpointPath, {
      model: new Map([...model.stateDict({ copy: true })].map(([k, t]) => [k, { shape: t.shape, data: t.toArray() as Float32Array }])),
      optimizer: new Map([...optimizerState.tensors].map(([k, t]) => [k, { shape: t.shape, data: t.toArray() as Float32Array }])),
      state: { step, rng: { data: dataRng.getState() }, optimizer: optimizerState.scalars, user: { options: { ...options, threads: options.threads ?? null } } },
    });
  };
  let windowStart = Date.now();
  let windowTokens = 0;
  try {
    while (step < options.steps) {
      const starts = Array.from({ length: options.batch }, () => dataRng.int(trainIds.length - options.context));
      const { inputs, targets } = makeBatch(trainIds, starts);
      optimizer.setLearningRate(schedule(step));
      optimizer.zeroGrad();
      const loss = crossEntropy(model.forward(inputs, { maxScoreElements: SCORE_BLOCK }), targets);
      backward(loss);
      const gradNorm = clipGradNorm(model.parameters(), options.clip);
      optimizer.step();
      step++;
      windowTokens += inputs.size;
      const lossValue = loss.item();
      if (!Number.isFinite(lossValue)) throw new Error(`training diverged at step ${step} (loss ${lossValue})`);
      const record: Record<string, number> = { loss: lossValue, gradNorm, lr: optimizer.learningRate };
      if (step % 10 === 0 || step === options.steps) {
        const seconds = (Date.now() - windowStart) / 1000;
        record['tokensPerSecond'] = windowTokens / seconds;
        log(`step ${step}/${options.steps} loss ${lossValue.toFixed(4)} lr ${optimizer.learningRate.toExponential(2)} ${(windowTokens / seconds).toFixed(0)} tokens/s`);
        windowStart = Date.now();
        windowTokens = 0;
      }
      if (options.evalEvery > 0 && step % options.evalEvery === 0 && step < options.steps) {
        const validationLoss = evaluate();
        record['validationLoss'] = validationLoss;
        log(`step ${step}: held-out loss ${validationLoss.toFixed(4)} nats/token (${bitsPerChar(validationLoss).toFixed(3)} bits/char)`);
      }
      metrics.append(step, record);
      if (options.checkpointEvery > 0 && step % options.checkpointEvery === 0 && step < options.steps) await saveState();
    }
    const validationLoss = evaluate();
    metrics.append(step, { validationLoss });
    const validationBitsPerChar = bitsPerChar(validationLoss);
    log(`held-out loss ${validationLoss.toFixed(4)} nats/token (${validationBitsPerChar.toFixed(3)} bits/char) after ${step} steps`);

    // The model folder: weights (tied lm_head left out, as Hugging Face saves it), config, tokenizer.
    const tensors = [...model.stateDict()].map(([name, t]) => {
      const values = t.toArray() as Float32Array;
      return options.dtype === 'f16'
        ? { name, dtype: 'F16' as const, shape: t.shape, data: f32ToHalf(values, 'f16') }
        : { name, dtype: 'F32' as const, shape: t.shape, data: values };
    });
    await writeFileAtomic(join(options.out, 'model.safetensors'), serializeSafetensors(tensors, { format: 'pt' }));
    await writeFileAtomic(join(options.out, 'config.json'), `${JSON.stringify(llmConfigToHf(config), null, 2)}\n`);
    await writeFileAtomic(join(options.out, 'tokenizer.json'), trained.json);
    const result: TrainLmResult = {
      steps: step,
      trainTokens: trainIds.length,
      validationLoss,
      validationBitsPerChar,
      parameters,
      seconds: (Date.now() - started) / 1000,
    };
    await writeFileAtomic(join(options.out, 'training.json'), `${JSON.stringify({ ...result, options: { ...options, threads: options.threads ?? null } }, null, 2)}\n`);
    return result;
  } finally {
    metrics.close();
  }
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
  threads?: number;
}

export function registerTrainLmCommand(program: Command): void {
  const d = TRAIN_LM_DEFAULTS;
  program
    .command('train-lm')
    .description('train a small Llama-style language model (and its BPE tokenizer) on a text file; writes config.json, model.safetensors, tokenizer.json')
    .option('--data <file>', 'training text (default: <data dir>/text/tinyshakespeare/input.txt)')
    .option('--out <dir>', 'output folder', 'runs/train-lm')
    .option('--vocab-size <n>', 'BPE vocabulary size', parsePositiveInt('--vocab-size'), d.vocabSize)
    .option('--hidden <n>', 'd_model', parsePositiveInt('--hidden'), d.hiddenSize)
    .option('--layers <n>', 'transformer blocks', parsePositiveInt('--layers'), d.layers)
    .option('--heads <n>', 'attention heads (head dim = hidden / heads)', parsePositiveInt('--heads'), d.heads)
    .option('--intermediate <n>', 'SwiGLU hidden width', parsePositiveInt('--intermediate'), d.intermediateSize)
    .option('--context <n>', 'context length (training window, BOS included)', parsePositiveInt('--context'), d.context)
    .option('--batch <n>', 'windows per step', parsePositiveInt('--batch'), d.batch)
    .option('--steps <n>', 'optimizer steps', parsePositiveInt('--steps'), d.steps)
    .option('--lr <x>', 'peak learning rate', parseNumber('--lr'), d.lr)
    .option('--warmup <n>', 'warm-up steps', parseNonNegativeInt('--warmup'), d.warmup)
    .option('--weight-decay <x>', 'AdamW weight decay (matrices only)', parseNumber('--weight-decay'), d.weightDecay)
    .option('--clip <x>', 'gradient-norm clip', parseNumber('--clip'), d.clip)
    .option('--seed <n>', 'seed of the initialisation and the data order', parseNonNegativeInt('--seed'), d.seed)
    .option('--eval-every <n>', 'held-out evaluation every n steps (0: at the end only)', parseNonNegativeInt('--eval-every'), d.evalEvery)
    .option('--eval-windows <n>', 'held-out windows per evaluation', parsePositiveInt('--eval-windows'), d.evalWindows)
    .option('--checkpoint-every <n>', 'save a resumable checkpoint every n steps (0: never)', parseNonNegativeInt('--checkpoint-every'), d.checkpointEvery)
    .option('--resume', 'continue from <out>/checkpoint.safetensors if present', false)
    .option('--dtype <type>', 'f32 or f16 storage for model.safetensors', d.dtype)
    .option('--threads <n>', 'threads including the main one (default: all cores)', parsePositiveInt('--threads'))
    .action(async (flags: TrainLmFlags) => {
      if (flags.dtype !== 'f32' && flags.dtype !== 'f16') throw new Error(`--dtype expects f32 or f16, got '${flags.dtype}'`);
      const { join } = await import('node:path');
      const { defaultDataDir } = await import('../../node/data-dir.js');
      const { initNodeBackend } = await import('../../node/backend.js');
      const engine = await initNodeBackend({ threads: flags.threads });
      try {
        const result = await trainLanguageModel(
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
            dtype: flags.dtype,
            threads: flags.threads,
          },
          (line) => process.stderr.write(`${line}\n`),
        );
        process.stdout.write(`${JSON.stringify({ ...result, out: flags.out, engine: engine.description })}\n`);
      } finally {
        engine.dispose();
      }
    });
}
