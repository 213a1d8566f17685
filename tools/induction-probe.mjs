// Induction probe on a fresh tiny Llama (issue 10: which training windows form induction heads?).
// Trains on one kind of window and prints, every 100 steps, the held-out loss on the predictable copy
// tokens of two window kinds: `vary` (random filler, then a run of MINRUN..T/2 random ids and its copy at
// the end: the offset differs per window, so only content matching predicts it) and `fixed` (T/2 random
// ids, then the same again: a fixed-offset head suffices).
//   MODE=period|copy|vary|fixed|curriculum [T=64] [V=64] [B=16] [STEPS=1500] [LR=3e-3] [H=64] [L=2] [HEADS=2]
//   [MINRUN=8] [SEED=1] [CURR=300] [SUBV=V] [SUBV_STEPS=0] node --experimental-wasm-relaxed-simd tools/induction-probe.mjs
// SUBV < V: training windows draw their ids from the first SUBV ids at first, the count growing geometrically
// to V over SUBV_STEPS steps (a vocabulary curriculum); the held-out windows always use all V.
// Training kinds: period (one run repeated to the window's end, train-lm's `period` mix), copy (runs of
// log-uniform length, each followed by one copy: train-lm's `copy` mix), vary, fixed, curriculum (fixed for
// CURR steps, then vary). Measured on 2026-12-03 (V 64, T 64, B 16, seed 1, 1000 steps): period forms induction
// heads abruptly between steps 400 and 500 (vary loss 4.18 -> 0.77 at 500, 0.26 at 1000); copy had not
// (vary loss 4.00 at step 1000); nor had vary and fixed training after 4000 and 1800 steps (vary loss 3.9-4.1,
// the first version of this script).
import { backward } from '../dist/src/autograd/engine.js';
import { crossEntropy } from '../dist/src/autograd/ops/loss.js';
import { useBackend } from '../dist/src/backend/backend.js';
import { createWasmBackend } from '../dist/src/backend/wasm/backend.js';
import { llamaConfig } from '../dist/src/models/llm-config.js';
import { createCausalLM } from '../dist/src/models/load-llm.js';
import { createNodeWasmKernels } from '../dist/src/node/wasm-pool.js';
import { AdamW } from '../dist/src/optim/adam.js';
import { clipGradNorm } from '../dist/src/optim/clip.js';
import { splitParamGroups } from '../dist/src/optim/optimizer.js';
import { linearWarmupCosineDecay } from '../dist/src/optim/schedule.js';
import { Rng } from '../dist/src/tensor/rng.js';
import { curriculumIdCount } from '../dist/src/train/lm-mix.js';
import { Tensor } from '../dist/src/tensor/tensor.js';

const env = (k, d) => Number(process.env[k] ?? d);
const VOCAB = env('V', 64), T = env('T', 64), BATCH = env('B', 16), STEPS = env('STEPS', 1500), LR = env('LR', 3e-3);
const H = env('H', 64), LAYERS = env('L', 2), HEADS = env('HEADS', 2), MINRUN = env('MINRUN', 8), SEED = env('SEED', 1), CURR = env('CURR', 300);
const SUBV = env('SUBV', VOCAB), SUBV_STEPS = env('SUBV_STEPS', 0);
const MODE = process.env.MODE ?? 'period';
if (!['period', 'copy', 'vary', 'fixed', 'curriculum'].includes(MODE)) throw new Error(`MODE must be period, copy, vary, fixed or curriculum, got ${MODE}`);

/** One window of `kind`; `held` masks every target but the copy's predictable tokens. */
function windowOf(kind, rng, seq, ids) {
  for (let i = 0; i < T; i++) seq[i] = 1 + rng.int(ids - 1);
  if (kind === 'period') {
    const run = MINRUN + rng.int(T / 2 - MINRUN + 1);
    for (let i = run; i < T; i++) seq[i] = seq[i - run];
    return run;
  }
  if (kind === 'copy') {
    for (let p = 0; p < T;) {
      const r = Math.min(T / 2, Math.floor(MINRUN * Math.exp(rng.uniform() * Math.log((T / 2 + 1) / MINRUN))));
      for (let i = 0; i < r && p + r + i < T; i++) seq[p + r + i] = seq[p + i];
      p += 2 * r;
    }
    return 0;
  }
  const run = kind === 'vary' ? MINRUN + rng.int(T / 2 - MINRUN + 1) : T / 2;
  const start = T - 2 * run;
  for (let i = start + run; i < T; i++) seq[i] = seq[i - run];
  return start + run; // the held-out targets start after this position
}

function batch(kind, rng, held, ids = VOCAB) {
  const inputs = new Int32Array(BATCH * T), targets = new Int32Array(BATCH * T), seq = new Int32Array(T);
  for (let b = 0; b < BATCH; b++) {
    const from = windowOf(kind, rng, seq, ids);
    inputs[b * T] = 0;
    for (let i = 0; i < T; i++) {
      if (i + 1 < T) inputs[b * T + i + 1] = seq[i];
      targets[b * T + i] = held && i <= from ? -100 : seq[i];
    }
  }
  return { inputs: new Tensor(inputs, 'i32', [BATCH, T]), targets: new Tensor(targets, 'i32', [BATCH, T]) };
}

const wasm = await createNodeWasmKernels({ threads: 1 });
useBackend(createWasmBackend(wasm));
const config = llamaConfig({ vocabSize: VOCAB, hiddenSize: H, intermediateSize: 2 * H, numLayers: LAYERS, numHeads: HEADS, maxPositions: T, bosTokenId: 0, eosTokenId: 0, tieWordEmbeddings: true });
const model = createCausalLM(config, { rng: new Rng(SEED), std: 0.02 });
const optimizer = new AdamW(splitParamGroups(model.namedParameters(), { weightDecay: 0 }), { lr: LR, beta1: 0.9, beta2: 0.95, weightDecay: 0.1 });
const schedule = linearWarmupCosineDecay({ peakLr: LR, warmupSteps: 20, totalSteps: STEPS, finalLr: LR / 10 });
const heldVary = batch('vary', new Rng(3), true);
const heldFixed = batch('fixed', new Rng(3), true);
const t0 = Date.now();
const evaluate = (step) => {
  model.eval();
  const vary = crossEntropy(model.forward(heldVary.inputs, {}), heldVary.targets).item();
  const fixed = crossEntropy(model.forward(heldFixed.inputs, {}), heldFixed.targets).item();
  model.train();
  console.log(`step ${step} held-out copy loss: vary ${vary.toFixed(3)} fixed ${fixed.toFixed(3)} (chance ${Math.log(VOCAB - 1).toFixed(3)}) ${((Date.now() - t0) / 1000).toFixed(0)} s`);
};
evaluate(0);
const rng = new Rng(SEED + 1);
for (let s = 0; s < STEPS; s++) {
  const kind = MODE === 'curriculum' ? (s < CURR ? 'fixed' : 'vary') : MODE;
  const ids = curriculumIdCount({ start: SUBV, steps: SUBV_STEPS }, s, VOCAB);
  const { inputs, targets } = batch(kind, rng, false, ids);
  optimizer.setLearningRate(schedule(s));
  optimizer.zeroGrad();
  backward(crossEntropy(model.forward(inputs, {}), targets));
  clipGradNorm(model.parameters(), 1);
  optimizer.step();
  if ((s + 1) % 100 === 0) evaluate(s + 1);
}
wasm.dispose();
