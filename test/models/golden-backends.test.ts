// The model golden fixtures (PyTorch logits of the tiny LLM, BERT and GroupBERT checkpoints in
// test/fixtures) on every backend of test/conformance/backends.ts: reference, primitives-only (every
// fused kernel composed from primitives), wasm SIMD and relaxed SIMD on 1 and 2 threads. The
// per-family tests (llm-reference, bert, groupbert) hold the same tolerances on the reference backend.
// Gradients of a fixed projection of the logits must also agree with the reference backend's, so the
// backward kernels (fused and composite) are checked on whole models too.

import assert from 'node:assert/strict';
import { after, describe, test } from 'node:test';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';

import {
  add,
  backward,
  fromArray,
  GroupBertForPreTraining,
  groupBertConfigFromJson,
  loadHfBert,
  mul,
  noGrad,
  readSafetensorsFile,
  readSafetensorsTensorF32,
  readSafetensorsTensorI32,
  Rng,
  randn,
  sum,
  Tensor,
  withBackend,
  zeroGrad,
  type Module,
  type RawTensor,
} from '../../src/node.js';
import { createTestBackends, type TestBackend } from '../conformance/backends.js';
import { fixtureDir } from './fixtures.js';
import { LLM_FIXTURES, loadLlmFixture, maxAbsDifference } from './llm-fixture-models.js';

const backends = await createTestBackends();
after(() => backends.dispose());

interface Golden {
  readonly name: string;
  readonly model: Module;
  /** The model's outputs, in a fixed order. */
  run(): Tensor[];
  /** PyTorch's values of those outputs, and the largest allowed |difference| for each. */
  readonly expected: readonly Float32Array[];
  readonly tolerances: readonly number[];
}

async function readExpected(dir: string): Promise<{ ints(name: string): Tensor; floats(name: string): Float32Array }> {
  const file = await readSafetensorsFile(join(dir, 'expected.safetensors'));
  return {
    ints: (name) => {
      const entry = file.tensors.get(name)!;
      return fromArray(readSafetensorsTensorI32(file.bytes, entry), entry.shape, { dtype: 'i32' });
    },
    floats: (name) => readSafetensorsTensorF32(file.bytes, file.tensors.get(name)!),
  };
}

async function llmGolden(name: string): Promise<Golden> {
  const fixture = await loadLlmFixture(name);
  const ids = new Tensor(Int32Array.from(fixture.ids.flat()), 'i32', [fixture.ids.length, fixture.ids[0]!.length]);
  return { name, model: fixture.model as unknown as Module, run: () => [fixture.model.forward(ids)], expected: [fixture.logits], tolerances: [1e-4] };
}

async function bertGolden(): Promise<Golden> {
  const dir = fixtureDir('bert-tiny');
  const model = (await loadHfBert(dir)).eval();
  const e = await readExpected(dir);
  const inputs = { inputIds: e.ints('input_ids'), tokenTypeIds: e.ints('token_type_ids'), attentionMask: e.ints('attention_mask') };
  return {
    name: 'bert-tiny',
    model,
    run: () => {
      const out = model.forward(inputs);
      return [model.encode(inputs), out.mlmLogits, out.nspLogits!];
    },
    expected: [e.floats('last_hidden_state'), e.floats('prediction_logits'), e.floats('seq_relationship_logits')],
    tolerances: [1e-4, 2e-4, 1e-4],
  };
}

async function groupBertGolden(): Promise<Golden> {
  const dir = fixtureDir('groupbert-tiny');
  const config = groupBertConfigFromJson(JSON.parse(await readFile(join(dir, 'config.json'), 'utf8')), 'groupbert-tiny/config.json');
  const file = await readSafetensorsFile(join(dir, 'model.safetensors'));
  const state = new Map<string, RawTensor>();
  for (const [name, entry] of file.tensors) state.set(name, { shape: entry.shape, data: readSafetensorsTensorF32(file.bytes, entry) });
  const model = new GroupBertForPreTraining(config);
  model.loadStateDict(state);
  model.eval();
  const e = await readExpected(dir);
  const inputs = { inputIds: e.ints('input_ids'), tokenTypeIds: e.ints('token_type_ids'), attentionMask: e.ints('attention_mask') };
  return {
    name: 'groupbert-tiny',
    model,
    run: () => {
      const out = model.forward(inputs);
      return [model.encode(inputs), out.mlmLogits, out.nspLogits!];
    },
    expected: [e.floats('last_hidden_state'), e.floats('prediction_logits'), e.floats('seq_relationship_logits')],
    tolerances: [1e-4, 2e-4, 1e-4],
  };
}

const goldens: Golden[] = [...(await Promise.all(LLM_FIXTURES.map(llmGolden))), await bertGolden(), await groupBertGolden()];

/** Parameter gradients of sum(outputs . fixed random weights) on a backend, in parameter order. */
function gradients(golden: Golden, variant: TestBackend): Float32Array[] {
  const params = golden.model.parameters();
  zeroGrad(params);
  withBackend(variant.backend, () => {
    const outputs = golden.run();
    const rng = new Rng(11);
    const loss = outputs.map((out) => sum(mul(out, randn(out.shape, rng)))).reduce((a, b) => add(a, b));
    backward(loss);
  });
  const grads = params.map((p) => Float32Array.from(p.grad ? p.grad.toArray() : new Float32Array(p.size)));
  zeroGrad(params);
  return grads;
}

for (const golden of goldens) {
  describe(`golden ${golden.name} on every backend`, () => {
    let referenceGrads: Float32Array[] | null = null;
    for (const variant of backends.all) {
      test(`${variant.name}: outputs match PyTorch`, () => {
        const outputs = withBackend(variant.backend, () => noGrad(() => golden.run()));
        outputs.forEach((out, i) => {
          const worst = maxAbsDifference(out.toArray(), golden.expected[i]!);
          assert.ok(worst < golden.tolerances[i]!, `output ${i}: max |difference| ${worst} (tolerance ${golden.tolerances[i]})`);
        });
      });
      test(`${variant.name}: parameter gradients match the reference backend's`, () => {
        const grads = gradients(golden, variant);
        referenceGrads ??= gradients(golden, backends.all[0]!);
        assert.equal(grads.length, referenceGrads.length);
        const reached = referenceGrads.filter((g) => g.some((v) => v !== 0)).length;
        assert.ok(reached >= referenceGrads.length / 2, `only ${reached} of ${referenceGrads.length} parameters got a gradient`);
        const names = [...golden.model.namedParameters()].map(([name]) => name);
        grads.forEach((g, i) => {
          const want = referenceGrads![i]!;
          let scale = 0;
          for (const v of want) scale = Math.max(scale, Math.abs(v));
          const worst = maxAbsDifference(g, want);
          assert.ok(worst <= 2e-4 * Math.max(1, scale), `parameter ${i} (${names[i] ?? '?'}): max |difference| ${worst}, scale ${scale}`);
        });
      });
    }
  });
}
