// Training on the wasm backend with weights and optimizer moments in arenas, and each step's kernel
// outputs in step memory (Backend.withStepMemory): the same numbers, bit for bit, as plain memory,
// and no arena memory kept from one step to the next (the BERT pre-trainer and the language-model trainer).

import { test } from 'node:test';
import assert from 'node:assert/strict';

import { useBackend } from '../../src/backend/backend.js';
import { createWasmBackend } from '../../src/backend/wasm/backend.js';
import { matmul } from '../../src/autograd/ops/linalg.js';
import { createPreTrainingModel, modelConfig, sizePreset, type Architecture } from '../../src/models/bert-presets.js';
import { IGNORE_LABEL, type PreTrainingBatch } from '../../src/models/pretraining.js';
import { createNodeWasmKernels } from '../../src/node/wasm-pool.js';
import type { Backend } from '../../src/ops/kernels.js';
import { PreTrainer, type MlmBatchSource } from '../../src/train/pretrain.js';
import { Rng } from '../../src/tensor/rng.js';
import { fromArray } from '../../src/tensor/tensor.js';
import { TRAIN_LM_DEFAULTS } from '../../src/cli/commands/train-lm.js';
import { LanguageModelTrainer, prepareLanguageModelData } from '../../src/train/language-model.js';
import { NO_MIX } from '../../src/train/lm-mix.js';

/** Random batches like bench train's: 15% of positions masked, a padded tail in every other row. */
function randomSource(vocab: number, batch: number, seq: number, seed: number): MlmBatchSource {
  const rng = new Rng(seed);
  return {
    next(): PreTrainingBatch {
      const n = batch * seq;
      const inputIds = new Int32Array(n);
      const tokenTypeIds = new Int32Array(n);
      const attentionMask = new Int32Array(n).fill(1);
      const mlmLabels = new Int32Array(n).fill(IGNORE_LABEL);
      for (let i = 0; i < n; i++) {
        inputIds[i] = 5 + rng.int(vocab - 5);
        if (i % seq >= seq / 2) tokenTypeIds[i] = 1;
        if (Math.floor(i / seq) % 2 === 1 && i % seq >= seq - 3) attentionMask[i] = 0;
        else if (rng.uniform() < 0.15 || i % seq === 1) {
          mlmLabels[i] = inputIds[i]!;
          inputIds[i] = 4;
        }
      }
      return { batchSize: batch, seqLength: seq, inputIds, tokenTypeIds, attentionMask, mlmLabels, nspLabels: Int32Array.from({ length: batch }, () => rng.int(2)) };
    },
    state: () => null,
    restore: () => undefined,
  };
}

interface Trained {
  losses: number[];
  gradNorms: number[];
  params: Float32Array[];
}

/** Four steps of a trainer: their losses and gradient norms, then a copy of every parameter. */
function trainFourSteps(step: () => { loss: number; gradNorm: number }, model: { parameters(): { toArray(): ArrayLike<number> }[] }): Trained {
  const losses: number[] = [];
  const gradNorms: number[] = [];
  for (let s = 0; s < 4; s++) {
    const r = step();
    losses.push(r.loss);
    gradNorms.push(r.gradNorm);
  }
  return { losses, gradNorms, params: model.parameters().map((p) => Float32Array.from(p.toArray())) };
}

function train(arch: Architecture, backend: Backend, alloc: ((n: number) => Float32Array) | undefined): Trained {
  const previous = useBackend(backend);
  try {
    const config = modelConfig(arch, sizePreset('micro-xs'), { vocabSize: 97, dropout: 0.1, maxPositions: 32 });
    const model = createPreTrainingModel(arch, config, { rng: new Rng(5), dropoutRng: new Rng(6), alloc });
    const trainer = new PreTrainer(model, randomSource(config.vocabSize, 4, 24, 7), {
      architecture: arch,
      optimizer: { kind: 'adamw', lr: 3e-3, weightDecay: 0.01, warmupSteps: 1, totalSteps: 4, clipNorm: 0.5 },
      stateAlloc: alloc,
    });
    return trainFourSteps(() => trainer.step(), model);
  } finally {
    useBackend(previous);
  }
}

for (const threads of [1, 2]) {
  test(`${threads} thread(s): arena weights and moments, and step memory, train bit for bit as plain memory (BERT, GroupBERT)`, async () => {
    const wasm = await createNodeWasmKernels({ threads, initialArenaBytes: 1 << 22 });
    try {
      const backend = createWasmBackend(wasm);
      assert.equal(typeof backend.withStepMemory, 'function');
      const withoutStepMemory: Backend = { ...backend, withStepMemory: undefined };
      for (const arch of ['bert', 'groupbert'] as const) {
        const plain = train(arch, withoutStepMemory, undefined);
        const used = wasm.arenas.arenas.reduce((s, a) => s + a.usedBytes, 0);
        const resident = train(arch, backend, (n) => wasm.allocF32(n));
        const stepOnly = train(arch, backend, undefined);
        assert.ok(plain.losses.every(Number.isFinite) && plain.losses[3]! !== plain.losses[0]!, 'the model trains');
        assert.deepEqual(resident.losses, plain.losses, `${arch}: losses with arena weights and step memory`);
        assert.deepEqual(resident.gradNorms, plain.gradNorms);
        assert.deepEqual(resident.params, plain.params, `${arch}: parameters after 4 steps`);
        assert.deepEqual(stepOnly.losses, plain.losses, `${arch}: losses with step memory only`);
        assert.deepEqual(stepOnly.params, plain.params);
        // The resident run's weights and moments stay allocated; step memory is all returned.
        const after = wasm.arenas.arenas.reduce((s, a) => s + a.usedBytes, 0);
        const paramFloats = createPreTrainingModel(arch, modelConfig(arch, sizePreset('micro-xs'), { vocabSize: 97, dropout: 0.1, maxPositions: 32 }), { rng: new Rng(5) })
          .parameters().reduce((s, p) => s + p.size, 0);
        assert.ok(after - used >= 3 * 4 * paramFloats, `weights, exp_avg and exp_avg_sq are in the arena (${after - used} bytes)`);
        assert.ok(after - used < 3 * 4 * paramFloats + 64 * 3 * 200 + (1 << 16), `nothing else is left in the arena (${after - used} bytes)`);
      }
    } finally {
      wasm.dispose();
    }
  });
}

test('step memory: outputs inside are arena blocks, freed when the step returns; nested calls join the outer step; outside, outputs are plain arrays', async () => {
  const wasm = await createNodeWasmKernels({ threads: 1, initialArenaBytes: 1 << 22 });
  try {
    const backend = createWasmBackend(wasm);
    const previous = useBackend(backend);
    try {
      const a = fromArray(Array.from({ length: 64 * 48 }, (_, i) => Math.sin(i)), [64, 48]);
      const b = fromArray(Array.from({ length: 48 * 32 }, (_, i) => Math.cos(i)), [48, 32]);
      const expected = matmul(a, b).toArray();
      assert.equal(wasm.arenas.find(matmul(a, b).data as Float32Array), undefined, 'outside a step: ordinary memory');
      const before = wasm.arenas.primary.usedBytes;
      const inside = backend.withStepMemory!(() => {
        const c = matmul(a, b);
        assert.ok(wasm.arenas.find(c.data as Float32Array), 'inside a step: an arena block');
        const d = backend.withStepMemory!(() => matmul(c, fromArray(new Array<number>(32 * 8).fill(0.5), [32, 8])));
        assert.ok(wasm.arenas.primary.usedBytes > before, 'the nested step did not free the outer blocks');
        assert.ok(wasm.arenas.find(d.data as Float32Array));
        return { values: Float32Array.from(c.toArray()), sum: Array.from(d.toArray()).reduce((s, v) => s + v, 0) };
      });
      assert.deepEqual(inside.values, expected);
      assert.ok(Number.isFinite(inside.sum));
      assert.equal(wasm.arenas.primary.usedBytes, before, 'every block of the step is freed');
      // A step that throws frees its blocks too.
      assert.throws(() => backend.withStepMemory!(() => {
        matmul(a, b);
        throw new Error('boom');
      }), /boom/);
      assert.equal(wasm.arenas.primary.usedBytes, before);
    } finally {
      useBackend(previous);
    }
  } finally {
    wasm.dispose();
  }
});

test('language-model trainer: arena weights and moments train bit for bit as plain memory, and stay in the arena', async () => {
  const text = Array.from({ length: 300 }, (_, i) => `The cat sat on mat ${i % 7}, and the dog ran to log ${i % 5}.\n`).join('');
  const data = prepareLanguageModelData(text, { vocabSize: 300, context: 32, source: 'text' });
  const settings = { ...TRAIN_LM_DEFAULTS, hiddenSize: 32, layers: 2, heads: 2, intermediateSize: 48, context: 32, batch: 2, steps: 4, warmup: 1, evalWindows: 1, mix: { ...NO_MIX, repeat: 0.5 } };
  const wasm = await createNodeWasmKernels({ threads: 2, initialArenaBytes: 1 << 22 });
  const previous = useBackend(createWasmBackend(wasm));
  try {
    const run = (alloc: ((n: number) => Float32Array) | undefined): Trained => {
      const trainer = new LanguageModelTrainer(data, settings, { alloc });
      return trainFourSteps(() => trainer.trainStep(), trainer.model);
    };
    const plain = run(undefined);
    const used = wasm.arenas.arenas.reduce((s, a) => s + a.usedBytes, 0);
    const resident = run((n) => wasm.allocF32(n));
    assert.ok(plain.losses.every(Number.isFinite) && plain.losses[3]! !== plain.losses[0]!, 'the model trains');
    assert.deepEqual(resident.losses, plain.losses);
    assert.deepEqual(resident.gradNorms, plain.gradNorms);
    assert.deepEqual(resident.params, plain.params);
    const paramFloats = plain.params.reduce((s, p) => s + p.length, 0);
    const after = wasm.arenas.arenas.reduce((s, a) => s + a.usedBytes, 0);
    assert.ok(after - used >= 3 * 4 * paramFloats, `weights, exp_avg and exp_avg_sq are in the arena (${after - used} bytes)`);
  } finally {
    useBackend(previous);
    wasm.dispose();
  }
});
