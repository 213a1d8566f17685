// One forward + backward of a model folder at T = 2048, batch 2 (a train-lm step of the house model without
// the optimizer), 3 times, with the time of each: for --cpu-prof, and for the step-memory A/B (STEPMEM=1: kernel
// outputs in reused arena blocks, as train-lm runs since session 9; unset: fresh arrays copied out of wasm) and the
// arena-weights A/B (ARENA=1: the weights in a wasm arena, as train-lm places them since session 10; unset: plain
// memory, staged into scratch on every kernel call).
//   node --experimental-wasm-relaxed-simd [--cpu-prof] tools/lm-step-profile.mjs DIR [THREADS=1]
import { useBackend, withStepMemory } from '../dist/src/backend/backend.js';
import { createWasmBackend } from '../dist/src/backend/wasm/backend.js';
import { createNodeWasmKernels } from '../dist/src/node/wasm-pool.js';
import { loadModelFiles } from '../dist/src/node/model-files.js';
import { loadCausalLM } from '../dist/src/models/load-llm.js';
import { Tensor } from '../dist/src/tensor/tensor.js';
import { crossEntropy } from '../dist/src/autograd/ops/loss.js';
import { backward } from '../dist/src/autograd/engine.js';
const kernels = await createNodeWasmKernels({ threads: Number(process.argv[3] ?? 1) });
useBackend(createWasmBackend(kernels));
const files = await loadModelFiles(process.argv[2]);
const model = await loadCausalLM(files.config, files.weights, { trainable: true, ...(process.env.ARENA ? { alloc: (n) => kernels.allocF32(n) } : {}) });
const T = 2048, B = 2;
const ids = new Int32Array(B * T).map((_, i) => (i * 7919) % 2048);
for (let s = 0; s < 3; s++) {
  const t0 = performance.now();
  const inputs = new Tensor(ids, 'i32', [B, T]);
  const targets = new Tensor(ids.map((x) => (x + 1) % 2048), 'i32', [B, T]);
  const run = () => {
    const loss = crossEntropy(model.forward(inputs, { maxScoreElements: 1 << 20 }), targets);
    backward(loss);
    for (const p of model.parameters()) p.grad = null;
    return loss.item();
  };
  const loss = process.env.STEPMEM ? withStepMemory(run) : run();
  console.log('step', s, (performance.now() - t0).toFixed(0), 'ms, loss', loss.toFixed(4));
}
process.exit(0);
