import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Rng } from '../../src/tensor/rng.js';
import { fromArray, randn, type Tensor } from '../../src/tensor/tensor.js';
import { backward } from '../../src/autograd/engine.js';
import { mul, sub, tanh } from '../../src/autograd/ops/elementwise.js';
import { mean } from '../../src/autograd/ops/reduce.js';
import { Module } from '../../src/nn/module.js';
import { LayerNorm, Linear } from '../../src/nn/layers.js';
import { type Optimizer, splitParamGroups, type BaseHyperparameters } from '../../src/optim/optimizer.js';
import { SGD } from '../../src/optim/sgd.js';
import { Adam, AdamW } from '../../src/optim/adam.js';
import { LAMB, type LAMBHyperparameters } from '../../src/optim/lamb.js';
import { clipGradNorm } from '../../src/optim/clip.js';
import { linearWarmupLinearDecay } from '../../src/optim/schedule.js';
import { decodeCheckpoint, encodeCheckpoint, type CheckpointTensor } from '../../src/io/checkpoint.js';

// ---------- independent f64 references (the update rules written out once more, plainly) ----------

const P0 = [0.5, -1.5, 2];
const GRADS = [
  [0.1, -0.2, 0.3],
  [0.4, 0.1, -0.5],
  [-0.3, 0.2, 0.05],
  [0.2, -0.6, 0.1],
];

interface SgdRef {
  lr: number;
  momentum: number;
  dampening: number;
  nesterov: boolean;
  wd: number;
}

function sgdReference(p0: number[], grads: number[][], o: SgdRef): number[] {
  const p = [...p0];
  let buf: number[] | null = null;
  for (const grad of grads) {
    const d = grad.map((g, i) => g + o.wd * p[i]!);
    let direction = d;
    if (o.momentum !== 0) {
      const prev: number[] | null = buf;
      const next: number[] = prev === null ? [...d] : prev.map((b, i) => o.momentum * b + (1 - o.dampening) * d[i]!);
      buf = next;
      direction = o.nesterov ? d.map((di, i) => di + o.momentum * next[i]!) : next;
    }
    for (let i = 0; i < p.length; i++) p[i] = p[i]! - o.lr * direction[i]!;
  }
  return p;
}

interface AdamRef {
  lr: number;
  b1: number;
  b2: number;
  eps: number;
  wd: number;
  decoupled: boolean;
}

function adamReference(p0: number[], grads: number[][], o: AdamRef): number[] {
  const p = [...p0];
  const m = p.map(() => 0);
  const v = p.map(() => 0);
  grads.forEach((grad, s) => {
    const t = s + 1;
    for (let i = 0; i < p.length; i++) {
      if (o.decoupled) p[i] = p[i]! * (1 - o.lr * o.wd);
      const g = o.decoupled ? grad[i]! : grad[i]! + o.wd * p[i]!;
      m[i] = o.b1 * m[i]! + (1 - o.b1) * g;
      v[i] = o.b2 * v[i]! + (1 - o.b2) * g * g;
      const mHat = m[i]! / (1 - o.b1 ** t);
      const vHat = v[i]! / (1 - o.b2 ** t);
      p[i] = p[i]! - (o.lr * mHat) / (Math.sqrt(vHat) + o.eps);
    }
  });
  return p;
}

interface LambRef {
  lr: number;
  b1: number;
  b2: number;
  eps: number;
  wd: number;
  adapt: boolean;
}

function lambReference(p0: number[], grads: number[][], o: LambRef): number[] {
  const p = [...p0];
  const m = p.map(() => 0);
  const v = p.map(() => 0);
  grads.forEach((grad, s) => {
    const t = s + 1;
    const u = p.map((pi, i) => {
      m[i] = o.b1 * m[i]! + (1 - o.b1) * grad[i]!;
      v[i] = o.b2 * v[i]! + (1 - o.b2) * grad[i]! ** 2;
      return m[i]! / (1 - o.b1 ** t) / (Math.sqrt(v[i]! / (1 - o.b2 ** t)) + o.eps) + o.wd * pi;
    });
    const norm = (xs: number[]): number => Math.sqrt(xs.reduce((a, x) => a + x * x, 0));
    const wNorm = norm(p);
    const uNorm = norm(u);
    const trust = o.adapt && wNorm > 0 && uNorm > 0 ? wNorm / uNorm : 1;
    for (let i = 0; i < p.length; i++) p[i] = p[i]! - o.lr * trust * u[i]!;
  });
  return p;
}

/** Runs an optimizer over GRADS on one named parameter and returns its values. */
function run<H extends BaseHyperparameters>(make: (params: Array<[string, Tensor]>) => Optimizer<H>, p0 = P0, dtype: 'f32' | 'f64' = 'f64'): number[] {
  const p = fromArray(p0, [p0.length], { dtype, requiresGrad: true });
  const optimizer = make([['w', p]]);
  for (const g of GRADS) {
    p.grad = fromArray(g, [g.length], { dtype });
    optimizer.step();
  }
  return p.toList();
}

function assertClose(actual: number[], expected: number[], tol: number, what: string): void {
  assert.equal(actual.length, expected.length);
  actual.forEach((a, i) => assert.ok(Math.abs(a - expected[i]!) <= tol * (1 + Math.abs(expected[i]!)), `${what}[${i}]: ${a} vs ${expected[i]}`));
}

// ---------- reference updates ----------

test('SGD matches torch.optim.SGD', () => {
  // One plain step by hand: p - lr * g.
  const one = fromArray([1, 2, 3], [3], { dtype: 'f64', requiresGrad: true });
  one.grad = fromArray([0.5, -1, 2], [3], { dtype: 'f64' });
  new SGD([['w', one]], { lr: 0.1 }).step();
  assertClose(one.toList(), [0.95, 2.1, 2.8], 1e-15, 'hand');

  const cases: SgdRef[] = [
    { lr: 0.1, momentum: 0, dampening: 0, nesterov: false, wd: 0 },
    { lr: 0.1, momentum: 0.9, dampening: 0, nesterov: false, wd: 0 },
    { lr: 0.05, momentum: 0.8, dampening: 0.3, nesterov: false, wd: 0.01 },
    { lr: 0.05, momentum: 0.9, dampening: 0, nesterov: true, wd: 0.1 },
  ];
  for (const c of cases) {
    const actual = run((params) => new SGD(params, { lr: c.lr, momentum: c.momentum, dampening: c.dampening, nesterov: c.nesterov, weightDecay: c.wd }));
    assertClose(actual, sgdReference(P0, GRADS, c), 1e-14, `SGD ${JSON.stringify(c)}`);
  }
  assert.throws(() => new SGD([['w', fromArray([1], [1])]], { lr: 0.1, nesterov: true }), /Nesterov/);
});

test('Adam and AdamW match the torch.optim formulas', () => {
  // First step with eps 0: m̂ / sqrt(v̂) = sign(g), so p moves by exactly lr against the gradient sign.
  const one = fromArray([1, 2, 3], [3], { dtype: 'f64', requiresGrad: true });
  one.grad = fromArray([0.5, -1, 2], [3], { dtype: 'f64' });
  new Adam([['w', one]], { lr: 0.01, eps: 0 }).step();
  assertClose(one.toList(), [0.99, 2.01, 2.99], 1e-15, 'hand');

  const cases: AdamRef[] = [
    { lr: 1e-2, b1: 0.9, b2: 0.999, eps: 1e-8, wd: 0, decoupled: false },
    { lr: 3e-2, b1: 0.8, b2: 0.99, eps: 1e-6, wd: 0.1, decoupled: false },
    { lr: 3e-2, b1: 0.9, b2: 0.999, eps: 1e-8, wd: 0.1, decoupled: true },
  ];
  for (const c of cases) {
    const options = { lr: c.lr, beta1: c.b1, beta2: c.b2, eps: c.eps, weightDecay: c.wd };
    const actual = run((params) => (c.decoupled ? new AdamW(params, options) : new Adam(params, options)));
    assertClose(actual, adamReference(P0, GRADS, c), 1e-13, `${c.decoupled ? 'AdamW' : 'Adam'} ${JSON.stringify(c)}`);
    // In f32 the same update holds to f32 precision.
    const actual32 = run((params) => (c.decoupled ? new AdamW(params, options) : new Adam(params, options)), P0, 'f32');
    assertClose(actual32, adamReference(P0, GRADS, c), 1e-6, `f32 ${JSON.stringify(c)}`);
  }
  // AdamW's default weight decay is torch's 0.01; Adam's is 0.
  const adamw = new AdamW([['w', fromArray([1], [1])]]);
  assert.equal(adamw.groups[0]!.hyper.weightDecay, 0.01);
  assert.equal(new Adam([['w', fromArray([1], [1])]]).groups[0]!.hyper.weightDecay, 0);
});

test('LAMB matches its reference: bias-corrected Adam direction, weight decay inside, per-layer trust ratio', () => {
  // One step by hand (wd 0, eps 0): u = sign(g), ||u|| = sqrt(3), ||p|| = 3, so p -= lr * sqrt(3) * sign(g).
  const one = fromArray([1, 2, 2], [3], { dtype: 'f64', requiresGrad: true });
  one.grad = fromArray([0.5, -1, 2], [3], { dtype: 'f64' });
  new LAMB([['w', one]], { lr: 0.1, eps: 0, weightDecay: 0 }).step();
  const r = 0.1 * Math.sqrt(3);
  assertClose(one.toList(), [1 - r, 2 + r, 2 - r], 1e-15, 'hand');

  const c: LambRef = { lr: 0.02, b1: 0.9, b2: 0.999, eps: 1e-6, wd: 0.01, adapt: true };
  const options = { lr: c.lr, beta1: c.b1, beta2: c.b2, eps: c.eps, weightDecay: c.wd };
  assertClose(run((params) => new LAMB(params, options)), lambReference(P0, GRADS, c), 1e-13, 'LAMB');
  assertClose(
    run((params) => new LAMB(params, { ...options, excludeFromAdaptation: true })),
    lambReference(P0, GRADS, { ...c, adapt: false }),
    1e-13,
    'LAMB excluded from adaptation',
  );
  // A zero parameter has ||w|| = 0, so the trust ratio is 1: the first step is the plain update.
  assertClose(run((params) => new LAMB(params, options), [0, 0, 0]), lambReference([0, 0, 0], GRADS, c), 1e-13, 'LAMB from zero');
  const zeroStep = fromArray([0, 0, 0], [3], { dtype: 'f64', requiresGrad: true });
  zeroStep.grad = fromArray([0.5, -1, 2], [3], { dtype: 'f64' });
  new LAMB([['w', zeroStep]], { lr: 0.1, eps: 0 }).step();
  assertClose(zeroStep.toList(), [-0.1, 0.1, -0.1], 1e-15, 'trust 1 at ||w|| = 0');
  // maxTrustRatio clamps the ratio.
  const clamped = fromArray([1, 2, 2], [3], { dtype: 'f64', requiresGrad: true });
  clamped.grad = fromArray([0.5, -1, 2], [3], { dtype: 'f64' });
  new LAMB([['w', clamped]], { lr: 0.1, eps: 0, weightDecay: 0, maxTrustRatio: 1 }).step();
  assertClose(clamped.toList(), [0.9, 2.1, 1.9], 1e-15, 'clamped');
});

test('parameter groups carry their own hyperparameters', () => {
  const a = fromArray([1, 1], [2], { dtype: 'f64', requiresGrad: true });
  const b = fromArray([1, 1], [2], { dtype: 'f64', requiresGrad: true });
  const optimizer = new SGD(
    [
      { params: [['a', a]] },
      { params: [['b', b]], lr: 0.5 },
    ],
    { lr: 0.1 },
  );
  a.grad = fromArray([1, 1], [2], { dtype: 'f64' });
  b.grad = fromArray([1, 1], [2], { dtype: 'f64' });
  optimizer.step();
  assert.deepEqual(a.toList(), [0.9, 0.9]);
  assert.deepEqual(b.toList(), [0.5, 0.5]);
  optimizer.setLearningRate(0.25);
  assert.equal(optimizer.learningRate, 0.25);
  assert.ok(optimizer.groups.every((g) => g.hyper.lr === 0.25));
  optimizer.zeroGrad();
  assert.equal(a.grad, null);
  optimizer.step(); // no gradients: nothing moves
  assert.deepEqual(a.toList(), [0.9, 0.9]);

  assert.throws(() => new SGD([{ params: [['a', a]], betas: 1 } as never], { lr: 0.1 }), /unknown hyperparameter 'betas'/);
  assert.throws(() => new SGD([['a', a], ['a2', a]], { lr: 0.1 }), /already in this optimizer/);
  assert.throws(() => new SGD([['a', a], ['a', b]], { lr: 0.1 }), /appears twice/);
  assert.throws(() => new SGD([], { lr: 0.1 }), /no parameters/);
});

test('splitParamGroups puts biases and norm weights in a no-decay, no-adaptation group', () => {
  const model = new Mlp(new Rng(1));
  const groups = splitParamGroups<LAMBHyperparameters>(model.namedParameters(), { weightDecay: 0, excludeFromAdaptation: true });
  const optimizer = new LAMB(groups, { weightDecay: 0.01 });
  assert.deepEqual(optimizer.groups.map((g) => g.params.map((p) => p.name)), [
    ['hidden.weight', 'out.weight'],
    ['hidden.bias', 'norm.weight', 'norm.bias', 'out.bias'],
  ]);
  assert.deepEqual(optimizer.groups.map((g) => [g.hyper.weightDecay, g.hyper.excludeFromAdaptation]), [
    [0.01, false],
    [0, true],
  ]);
});

// ---------- training ----------

class Mlp extends Module {
  readonly hidden: Linear;
  readonly norm: LayerNorm;
  readonly out: Linear;
  constructor(rng: Rng) {
    super();
    this.hidden = this.module('hidden', new Linear(3, 8, { rng }));
    this.norm = this.module('norm', new LayerNorm(8));
    this.out = this.module('out', new Linear(8, 1, { rng }));
  }
  forward(x: Tensor): Tensor {
    return this.out.forward(tanh(this.norm.forward(this.hidden.forward(x))));
  }
}

/** A fixed regression batch per step: y = x · [1, -2, 0.5] + 0.3. */
function batch(step: number): { x: Tensor; y: Tensor } {
  const rng = new Rng(1000 + step);
  const x = randn([16, 3], rng);
  const xs = x.toArray();
  const y = new Float32Array(16);
  for (let i = 0; i < 16; i++) y[i] = xs[i * 3]! - 2 * xs[i * 3 + 1]! + 0.5 * xs[i * 3 + 2]! + 0.3;
  return { x, y: fromArray(y, [16, 1]) };
}

function mseLoss(model: Mlp, step: number): Tensor {
  const { x, y } = batch(step);
  const diff = sub(model.forward(x), y);
  return mean(mul(diff, diff));
}

function trainStep(model: Mlp, optimizer: Optimizer<BaseHyperparameters>, step: number): number {
  optimizer.zeroGrad();
  const loss = mseLoss(model, step);
  backward(loss);
  clipGradNorm(model.parameters(), 5);
  optimizer.step();
  return loss.item();
}

type MakeOptimizer = (model: Mlp) => Optimizer<BaseHyperparameters>;

const optimizers: Record<string, MakeOptimizer> = {
  SGD: (m) => new SGD(m.namedParameters(), { lr: 0.05, momentum: 0.9 }),
  Adam: (m) => new Adam(m.namedParameters(), { lr: 0.02 }),
  AdamW: (m) => new AdamW(m.namedParameters(), { lr: 0.02 }),
  LAMB: (m) =>
    new LAMB(splitParamGroups<LAMBHyperparameters>(m.namedParameters(), { weightDecay: 0, excludeFromAdaptation: true }), {
      lr: 0.02,
    }),
};

test('each optimizer reduces the loss of a tiny regression', () => {
  for (const [name, make] of Object.entries(optimizers)) {
    const model = new Mlp(new Rng(7));
    const optimizer = make(model);
    const first = trainStep(model, optimizer, 0);
    let last = first;
    for (let step = 1; step < 150; step++) last = trainStep(model, optimizer, step);
    assert.ok(last < 0.1 * first, `${name}: loss ${first} -> ${last}`);
  }
});

function toCheckpointTensors(tensors: ReadonlyMap<string, Tensor>): Map<string, CheckpointTensor> {
  return new Map([...tensors].map(([key, t]) => [key, { shape: t.shape, data: Float32Array.from(t.toArray()) }]));
}

test('training resumes bit for bit from model and optimizer state (through a checkpoint file)', () => {
  const schedule = linearWarmupLinearDecay({ peakLr: 0.03, warmupSteps: 3, totalSteps: 10 });
  for (const [name, make] of Object.entries(optimizers)) {
    const train = (model: Mlp, optimizer: Optimizer<BaseHyperparameters>, from: number, to: number): void => {
      for (let step = from; step < to; step++) {
        optimizer.setLearningRate(schedule(step));
        trainStep(model, optimizer, step);
      }
    };
    const model = new Mlp(new Rng(11));
    const optimizer = make(model);
    train(model, optimizer, 0, 5);
    const optimizerState = optimizer.stateDict();
    const bytes = encodeCheckpoint({
      model: toCheckpointTensors(model.stateDict()),
      optimizer: toCheckpointTensors(optimizerState.tensors),
      state: { step: 5, rng: {}, optimizer: optimizerState.scalars, user: {} },
    });
    train(model, optimizer, 5, 10);

    const restored = new Mlp(new Rng(99));
    const restoredOptimizer = make(restored);
    const contents = decodeCheckpoint(bytes, name);
    restored.loadStateDict(contents.model);
    restoredOptimizer.loadStateDict({ tensors: contents.optimizer, scalars: contents.state.optimizer });
    train(restored, restoredOptimizer, 5, 10);

    for (const [key, t] of model.stateDict()) {
      assert.deepEqual(restored.stateDict().get(key)!.toArray(), t.toArray(), `${name}: ${key}`);
    }
    for (const [key, t] of optimizer.stateDict().tensors) {
      assert.deepEqual(restoredOptimizer.stateDict().tensors.get(key)!.toArray(), t.toArray(), `${name}: ${key}`);
    }
  }
});

test('optimizer state is keyed by state and parameter name, copied on request', () => {
  const model = new Mlp(new Rng(3));
  const optimizer = new Adam(model.namedParameters(), { lr: 0.01 });
  trainStep(model, optimizer, 0);
  const state = optimizer.stateDict();
  assert.deepEqual(
    [...state.tensors.keys()].slice(0, 4),
    ['exp_avg.hidden.weight', 'exp_avg_sq.hidden.weight', 'exp_avg.hidden.bias', 'exp_avg_sq.hidden.bias'],
  );
  assert.equal(state.tensors.size, 12);
  assert.deepEqual(state.scalars['steps'], {
    'hidden.weight': 1,
    'hidden.bias': 1,
    'norm.weight': 1,
    'norm.bias': 1,
    'out.weight': 1,
    'out.bias': 1,
  });
  const groups = state.scalars['groups'] as Array<Record<string, unknown>>;
  assert.deepEqual(groups[0], {
    lr: 0.01,
    beta1: 0.9,
    beta2: 0.999,
    eps: 1e-8,
    weightDecay: 0,
    params: ['hidden.weight', 'hidden.bias', 'norm.weight', 'norm.bias', 'out.weight', 'out.bias'],
  });
  const copy = optimizer.stateDict({ copy: true });
  assert.notEqual(copy.tensors.get('exp_avg.out.bias')!.data, state.tensors.get('exp_avg.out.bias')!.data);
  assert.deepEqual(copy.tensors.get('exp_avg.out.bias')!.toList(), state.tensors.get('exp_avg.out.bias')!.toList());
});

test('optimizer loadStateDict rejects mismatched state', () => {
  const model = new Mlp(new Rng(3));
  const optimizer = new Adam(model.namedParameters());
  trainStep(model, optimizer, 0);
  const state = optimizer.stateDict({ copy: true });
  assert.throws(() => new AdamW(model.namedParameters()).loadStateDict(state), /from optimizer "Adam"/);
  const fewer = new Adam([...model.namedParameters()].slice(1));
  assert.throws(() => fewer.loadStateDict(state), /missing in state: |unexpected in state: hidden\.weight/);
  const badShape = new Map(state.tensors);
  badShape.set('exp_avg.out.bias', fromArray([1, 2], [2]));
  assert.throws(() => new Adam(model.namedParameters()).loadStateDict({ ...state, tensors: badShape }), /'exp_avg\.out\.bias' has shape \[2\], parameter \[1\]/);
  const missing = new Map(state.tensors);
  missing.delete('exp_avg_sq.norm.bias');
  assert.throws(() => new Adam(model.namedParameters()).loadStateDict({ ...state, tensors: missing }), /'norm\.bias' lacks exp_avg_sq\.norm\.bias/);
  const unknown = new Map(state.tensors);
  unknown.set('momentum_buffer.out.bias', fromArray([1], [1]));
  assert.throws(() => new Adam(model.namedParameters()).loadStateDict({ ...state, tensors: unknown }), /unexpected state tensor 'momentum_buffer\.out\.bias'/);
  // Hyperparameters come back with the state, as in PyTorch.
  const fresh = new Adam(model.namedParameters(), { lr: 0.5 });
  fresh.loadStateDict(state);
  assert.equal(fresh.learningRate, 1e-3);
});

test('setStateAllocator: f32 moments (new and loaded) come from the allocator, and the updates are the same', () => {
  const run = (withAllocator: boolean): { values: number[][]; requests: number[]; state: Map<string, Tensor>; opt: AdamW } => {
    const w = fromArray([0.5, -1.5, 2, 0.25], [2, 2]);
    const b = fromArray([0.1, -0.1], [2]);
    w.requiresGrad = true;
    b.requiresGrad = true;
    const opt = new AdamW([['w', w], ['b', b]], { lr: 0.1 });
    const requests: number[] = [];
    const handed = new Set<Float32Array>();
    if (withAllocator) {
      opt.setStateAllocator((n) => {
        requests.push(n);
        const data = new Float32Array(n);
        handed.add(data);
        return data;
      });
    }
    for (let s = 0; s < 3; s++) {
      w.grad = fromArray([0.3 * s, -0.2, 0.1, 0.4], [2, 2]);
      b.grad = fromArray([-0.5, 0.2 * s], [2]);
      opt.step();
    }
    const state = opt.stateDict().tensors;
    if (withAllocator) for (const t of state.values()) assert.ok(handed.has(t.data as Float32Array), 'live state is the allocated storage');
    return { values: [Array.from(w.toArray()), Array.from(b.toArray())], requests, state, opt };
  };
  const plain = run(false);
  const placed = run(true);
  assert.deepEqual(placed.values, plain.values);
  assert.deepEqual(placed.requests.sort(), [2, 2, 4, 4], 'exp_avg and exp_avg_sq of each parameter');
  // Loading state places the copies with the allocator too.
  let loaded = 0;
  placed.opt.setStateAllocator((n) => {
    loaded += n;
    return new Float32Array(n);
  });
  placed.opt.loadStateDict({ tensors: plain.state, scalars: plain.opt.stateDict().scalars });
  assert.equal(loaded, 12);
  assert.throws(() => {
    placed.opt.setStateAllocator((n) => new Float32Array(n + 1));
    placed.opt.loadStateDict({ tensors: plain.state, scalars: plain.opt.stateDict().scalars });
  }, /state allocator returned \d+ floats for \[/);
});
