// Copy probe of a model folder (issue 10's house model): the loss on the second half of windows made of
// HALF uniform random token ids repeated once (the first half is unpredictable; the second only by attending
// back), before and while fine-tuning on such windows at a constant lr. Shows whether, and how fast, a
// checkpoint can form induction heads at short windows.
//   node --experimental-wasm-relaxed-simd tools/copy-probe.mjs DIR [HALF=64] [BATCH=8] [STEPS=200] [LR=6e-4] [vary|period]
// (prints the copied-half loss every 100 steps; STEPS 0 only measures). Env SUBV=K SUBV_STEPS=S: training windows draw
// their ids from ids 1..K at first, the count growing geometrically to the whole vocabulary over S steps (the
// vocabulary curriculum that formed induction heads in a fresh model of the house model's shape); held-out: all ids.
import { useBackend } from '../dist/src/backend/backend.js';
import { createWasmBackend } from '../dist/src/backend/wasm/backend.js';
import { createNodeWasmKernels } from '../dist/src/node/wasm-pool.js';
import { loadModelFiles } from '../dist/src/node/model-files.js';
import { loadCausalLM } from '../dist/src/models/load-llm.js';
import { Rng } from '../dist/src/tensor/rng.js';
import { curriculumIdCount } from '../dist/src/train/lm-mix.js';
import { Tensor } from '../dist/src/tensor/tensor.js';
import { crossEntropy } from '../dist/src/autograd/ops/loss.js';
import { backward } from '../dist/src/autograd/engine.js';
import { AdamW } from '../dist/src/optim/adam.js';
import { clipGradNorm } from '../dist/src/optim/clip.js';
import { splitParamGroups } from '../dist/src/optim/optimizer.js';
const kernels = await createNodeWasmKernels({ threads: 1 });
useBackend(createWasmBackend(kernels));
const [dir, HALF, BATCH, STEPS, LR] = [process.argv[2], Number(process.argv[3] ?? 64), Number(process.argv[4] ?? 8), Number(process.argv[5] ?? 200), Number(process.argv[6] ?? 6e-4)];
// 'vary': each window is random filler, then a run of 8..HALF ids and its copy, so the copy's offset varies per window
// (a fixed-offset head cannot predict it; only content matching, induction, can).
const VARY = process.argv[7] === 'vary' || process.argv[7] === 'period';
// 'period': train on windows that repeat one run of 8..HALF ids to the end (train-lm's `period` mix),
// measure on the 'vary' windows above: whether periodic training forms induction heads in this model.
const PERIODIC = process.argv[7] === 'period';
const files = await loadModelFiles(dir);
const model = await loadCausalLM(files.config, files.weights);
model.train();
const opt = new AdamW(splitParamGroups(model.namedParameters(), { weightDecay: 0 }), { lr: LR, beta1: 0.9, beta2: 0.95, weightDecay: 0.1 });
const V = files.config.vocabSize;
const SUBV = Number(process.env.SUBV ?? V), SUBV_STEPS = Number(process.env.SUBV_STEPS ?? 0);
const batch = (rng, copiedOnly, ids = V) => {
  const t = 2 * HALF; const inp = new Int32Array(BATCH * t), tg = new Int32Array(BATCH * t);
  for (let b = 0; b < BATCH; b++) {
    const seq = new Int32Array(t);
    for (let i = 0; i < t; i++) seq[i] = 1 + rng.int(ids - 1);
    const run = VARY ? 8 + rng.int(Math.max(1, HALF - 7)) : HALF;
    // the run at [start, start + run), its copy after it, to the window's end (periodic training: from 0)
    const start = PERIODIC && !copiedOnly ? 0 : t - 2 * run;
    for (let i = start + run; i < t; i++) seq[i] = seq[i - run];
    inp[b * t] = 0;
    for (let i = 0; i < t; i++) { if (i + 1 < t) inp[b * t + i + 1] = seq[i]; tg[b * t + i] = copiedOnly && i <= start + run ? -100 : seq[i]; }
  }
  return { inputs: new Tensor(inp, 'i32', [BATCH, t]), targets: new Tensor(tg, 'i32', [BATCH, t]) };
};
const held = batch(new Rng(3), true);
const ev = (s) => { model.eval(); const l = crossEntropy(model.forward(held.inputs, {}), held.targets).item(); model.train(); console.log(`step ${s} copied-half loss ${l.toFixed(3)}`); };
ev(0);
const rng = new Rng(2);
const idsAt = (s) => curriculumIdCount({ start: SUBV, steps: SUBV_STEPS }, s, V);
for (let s = 0; s < STEPS; s++) { const { inputs, targets } = batch(rng, false, idsAt(s)); opt.setLearningRate(LR); opt.zeroGrad(); const loss = crossEntropy(model.forward(inputs, {}), targets); backward(loss); clipGradNorm(model.parameters(), 1); opt.step(); if ((s + 1) % 100 === 0) ev(s + 1); }
process.exit(0);
