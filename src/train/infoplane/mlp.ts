// The information-plane network. InfoPlaneMlp is the model, built from src/nn layers (f64 Linear
// layers, PReLU slopes) with an autograd forward and loss: the reference. FusedMlp is its fast
// kernel: forward, softmax cross-entropy and backward as plain loops over the same parameter
// storage, with no tensor objects or tape (the 12-10-7-5-4-3-2 network trains an epoch in a few
// milliseconds this way, where the engine spends most of its time in per-op overhead); FusedAdam
// is src/optim's Adam as loops. test/train/infoplane/mlp.test.ts checks the kernels against the
// reference and src/optim.
//
// Layer l maps sizes[l] -> sizes[l + 1]; weights are [out, in] as nn.Linear. Hidden layers apply the
// activation; the last layer gives logits. Loss = mean cross-entropy + (l2 / 2) Σ |W|² over the
// non-output weights (the paper's code adds l2 · tf.nn.l2_loss(W) for those layers).

import { add, elu, leakyRelu, mul, prelu, relu, silu, softplus, softsign, sub, tanh } from '../../autograd/ops/elementwise.js';
import { crossEntropy } from '../../autograd/ops/loss.js';
import { sum } from '../../autograd/ops/reduce.js';
import { Linear } from '../../nn/layers.js';
import { Module, ModuleList } from '../../nn/module.js';
import type { FloatArray } from '../../tensor/dtype.js';
import type { Rng } from '../../tensor/rng.js';
import { full, type Tensor } from '../../tensor/tensor.js';
import { activationBackward, applyActivation, initGain, LEAKY_RELU_SLOPE, PRELU_INITIAL_SLOPE, type ActivationName } from './activations.js';

export interface MlpParameter {
  /** Checkpoint-style name, e.g. `layers.0.weight`. */
  readonly name: string;
  readonly data: Float64Array;
  readonly grad: Float64Array;
  /** [out, in] for weights, [out] for biases and slopes. */
  readonly shape: readonly number[];
}

export interface EvaluateResult {
  /** Mean cross-entropy (without the L2 term). */
  readonly loss: number;
  readonly accuracy: number;
}

/** The activation as an autograd op (the reference for activations.ts's loops). */
export function activationOp(name: ActivationName, z: Tensor, slope: Tensor | null): Tensor {
  switch (name) {
    case 'tanh':
      return tanh(z);
    case 'relu':
      return relu(z);
    case 'elu':
      return elu(z);
    case 'softsign':
      return softsign(z);
    case 'softplus':
      return softplus(z);
    case 'centered-softplus':
      return sub(softplus(z), Math.LN2);
    case 'leaky-relu':
      return leakyRelu(z, LEAKY_RELU_SLOPE);
    case 'prelu':
      if (!slope) throw new Error('activationOp: prelu needs its slopes');
      return prelu(z, slope);
    case 'swish':
      return silu(z);
    case 'linear':
      return z;
  }
}

/** PReLU's learnable negative slopes [units], starting at PRELU_INITIAL_SLOPE (torch's nn.PReLU: `weight`). */
class PReluSlopes extends Module {
  readonly weight: Tensor;

  constructor(units: number) {
    super();
    this.weight = this.param('weight', full([units], PRELU_INITIAL_SLOPE, { dtype: 'f64' }));
  }
}

/**
 * The network as a module (f64): `layers.{l}` are Linear layers with the paper's initialisation
 * (truncated normal, sd = gain / sqrt(fan_in), zero biases), `prelu.{l}.weight` PReLU's slopes.
 */
export class InfoPlaneMlp extends Module {
  readonly sizes: readonly number[];
  readonly activation: ActivationName;
  readonly layers: ModuleList<Linear>;
  /** PReLU's slopes for each hidden layer; null for other activations. */
  readonly slopes: ModuleList<PReluSlopes> | null;

  constructor(sizes: readonly number[], activation: ActivationName, rng: Rng) {
    super();
    if (sizes.length < 2) throw new Error(`FusedMlp: need at least input and output sizes, got [${sizes.join(', ')}]`);
    for (const s of sizes) if (!Number.isInteger(s) || s <= 0) throw new Error(`FusedMlp: layer sizes must be positive integers, got [${sizes.join(', ')}]`);
    if (sizes[sizes.length - 1]! < 2) throw new Error(`FusedMlp: the output layer needs at least 2 classes, got ${sizes[sizes.length - 1]}`);
    this.sizes = [...sizes];
    this.activation = activation;
    const gain = initGain(activation);
    const linears = sizes.slice(0, -1).map((fanIn, l) => new Linear(fanIn, sizes[l + 1]!, { dtype: 'f64', rng, init: { std: gain / Math.sqrt(fanIn), truncated: true } }));
    this.layers = this.module('layers', new ModuleList(linears));
    this.slopes = activation === 'prelu' ? this.module('prelu', new ModuleList(sizes.slice(1, -1).map((units) => new PReluSlopes(units)))) : null;
  }

  /** x [n, sizes[0]] -> logits [n, classes] */
  forward(x: Tensor): Tensor {
    let h = x;
    const last = this.layers.length - 1;
    for (let l = 0; l <= last; l++) {
      const z = this.layers.at(l).forward(h);
      h = l < last ? activationOp(this.activation, z, this.slopes ? this.slopes.at(l).weight : null) : z;
    }
    return h;
  }

  /** Mean cross-entropy of x against labels y (i32 [n]) + (l2 / 2) Σ |W|² over the hidden layers' weights. */
  loss(x: Tensor, y: Tensor, l2 = 0): Tensor {
    const ce = crossEntropy(this.forward(x), y);
    if (l2 === 0 || this.layers.length < 2) return ce;
    const hidden = [...this.layers].slice(0, -1).map((layer) => sum(mul(layer.weight, layer.weight)));
    return add(ce, mul(hidden.reduce((a, b) => add(a, b)), 0.5 * l2));
  }
}

export class FusedMlp {
  readonly sizes: readonly number[];
  readonly activation: ActivationName;
  readonly weights: Float64Array[] = [];
  readonly biases: Float64Array[] = [];
  /** PReLU's per-unit slopes for each hidden layer; empty arrays for other activations. */
  readonly slopes: Float64Array[] = [];
  readonly weightGrads: Float64Array[] = [];
  readonly biasGrads: Float64Array[] = [];
  readonly slopeGrads: Float64Array[] = [];
  private capacity = 0;
  // Per layer l (0 = input): a[l] [batch, sizes[l]]; z[l] (l >= 1) pre-activations; g[l] gradients.
  private a: Float64Array[] = [];
  private z: Float64Array[] = [];
  private g: Float64Array[] = [];

  /** The model whose parameter storage the kernel reads and updates in place (its reference twin). */
  readonly model: InfoPlaneMlp;

  /** A network with the paper's initialisation (see InfoPlaneMlp). */
  constructor(sizes: readonly number[], activation: ActivationName, rng: Rng) {
    this.model = new InfoPlaneMlp(sizes, activation, rng);
    this.sizes = this.model.sizes;
    this.activation = activation;
    const f64 = (t: Tensor): Float64Array => t.data as Float64Array;
    [...this.model.layers].forEach((layer, l) => {
      this.weights.push(f64(layer.weight));
      this.biases.push(f64(layer.bias!));
      const hidden = l < this.model.layers.length - 1;
      this.slopes.push(this.model.slopes && hidden ? f64(this.model.slopes.at(l).weight) : new Float64Array(0));
      this.weightGrads.push(new Float64Array(layer.weight.size));
      this.biasGrads.push(new Float64Array(layer.bias!.size));
      this.slopeGrads.push(new Float64Array(this.slopes[l]!.length));
    });
  }

  get numLayers(): number {
    return this.sizes.length - 1;
  }

  /** Every trainable array with its gradient, under the model's parameter names, in a fixed order. */
  parameters(): MlpParameter[] {
    const params: MlpParameter[] = [];
    for (let l = 0; l < this.numLayers; l++) {
      params.push({ name: `layers.${l}.weight`, data: this.weights[l]!, grad: this.weightGrads[l]!, shape: [this.sizes[l + 1]!, this.sizes[l]!] });
      params.push({ name: `layers.${l}.bias`, data: this.biases[l]!, grad: this.biasGrads[l]!, shape: [this.sizes[l + 1]!] });
      if (this.slopes[l]!.length > 0) params.push({ name: `prelu.${l}.weight`, data: this.slopes[l]!, grad: this.slopeGrads[l]!, shape: [this.sizes[l + 1]!] });
    }
    return params;
  }

  private ensureCapacity(rows: number): void {
    if (rows <= this.capacity) return;
    this.capacity = rows;
    this.a = this.sizes.map((s) => new Float64Array(rows * s));
    this.z = this.sizes.map((s) => new Float64Array(rows * s));
    this.g = this.sizes.map((s) => new Float64Array(rows * s));
  }

  /** Forward over x[rows[start..end)] (x is [n, sizes[0]]); fills a, z; returns the batch size. */
  private forward(x: FloatArray, rows: Int32Array | null, start: number, end: number): number {
    const batch = end - start;
    this.ensureCapacity(batch);
    const inWidth = this.sizes[0]!;
    const a0 = this.a[0]!;
    for (let b = 0; b < batch; b++) {
      const src = (rows ? rows[start + b]! : start + b) * inWidth;
      for (let c = 0; c < inWidth; c++) a0[b * inWidth + c] = x[src + c]!;
    }
    const last = this.numLayers - 1;
    for (let l = 0; l <= last; l++) {
      const nIn = this.sizes[l]!;
      const nOut = this.sizes[l + 1]!;
      const w = this.weights[l]!;
      const bias = this.biases[l]!;
      const input = this.a[l]!;
      const z = this.z[l + 1]!;
      for (let b = 0; b < batch; b++) {
        const ib = b * nIn;
        const zb = b * nOut;
        for (let o = 0; o < nOut; o++) {
          const wo = o * nIn;
          let s = bias[o]!;
          for (let i = 0; i < nIn; i++) s += input[ib + i]! * w[wo + i]!;
          z[zb + o] = s;
        }
      }
      if (l < last) applyActivation(this.activation, z, this.a[l + 1]!, batch, nOut, this.slopes[l]!.length ? this.slopes[l]! : null);
    }
    return batch;
  }

  private l2Penalty(l2: number): number {
    if (l2 === 0) return 0;
    let s = 0;
    for (let l = 0; l < this.numLayers - 1; l++) {
      const w = this.weights[l]!;
      for (let i = 0; i < w.length; i++) s += w[i]! * w[i]!;
    }
    return 0.5 * l2 * s;
  }

  /**
   * Loss (mean cross-entropy + L2 term) on x[rows[start..end)] with labels y, and its gradients in
   * the parameters' `grad` arrays (overwritten). `rows` null means rows start..end-1 in order.
   */
  lossAndGradients(x: FloatArray, y: Int32Array, rows: Int32Array | null, start: number, end: number, l2 = 0): number {
    const batch = this.forward(x, rows, start, end);
    if (batch <= 0) throw new Error('FusedMlp.lossAndGradients: empty batch');
    const last = this.numLayers - 1;
    const classes = this.sizes[last + 1]!;
    const logits = this.z[last + 1]!;
    const dLogits = this.g[last + 1]!;
    let loss = 0;
    const inv = 1 / batch;
    for (let b = 0; b < batch; b++) {
      const o = b * classes;
      let max = -Infinity;
      for (let c = 0; c < classes; c++) if (logits[o + c]! > max) max = logits[o + c]!;
      let sum = 0;
      for (let c = 0; c < classes; c++) {
        const e = Math.exp(logits[o + c]! - max);
        dLogits[o + c] = e;
        sum += e;
      }
      const target = y[rows ? rows[start + b]! : start + b]!;
      loss += Math.log(sum) + max - logits[o + target]!;
      for (let c = 0; c < classes; c++) dLogits[o + c] = (dLogits[o + c]! / sum - (c === target ? 1 : 0)) * inv;
    }
    loss = loss * inv + this.l2Penalty(l2);

    for (let l = last; l >= 0; l--) {
      const nIn = this.sizes[l]!;
      const nOut = this.sizes[l + 1]!;
      const w = this.weights[l]!;
      const dz = this.g[l + 1]!;
      const input = this.a[l]!;
      const gw = this.weightGrads[l]!;
      const gb = this.biasGrads[l]!;
      // gW[o, i] = Σ_b dz[b, o] a[b, i], gb[o] = Σ_b dz[b, o]: sums kept in registers (the batch is
      // a few KB, cache-resident, so the strided reads are cheap and each gradient is stored once).
      for (let o = 0; o < nOut; o++) {
        let sb = 0;
        for (let b = 0; b < batch; b++) sb += dz[b * nOut + o]!;
        gb[o] = sb;
        const wo = o * nIn;
        for (let i = 0; i < nIn; i++) {
          let sw = 0;
          for (let b = 0; b < batch; b++) sw += dz[b * nOut + o]! * input[b * nIn + i]!;
          gw[wo + i] = sw;
        }
      }
      if (l < last && l2 !== 0) for (let i = 0; i < gw.length; i++) gw[i] = gw[i]! + l2 * w[i]!;
      if (l === 0) break;
      // d loss / d a[l] = dz W, then through the activation of layer l.
      const da = this.g[l]!;
      for (let b = 0; b < batch; b++) {
        const ib = b * nIn;
        const zb = b * nOut;
        for (let i = 0; i < nIn; i++) {
          let s = 0;
          for (let o = 0; o < nOut; o++) s += dz[zb + o]! * w[o * nIn + i]!;
          da[ib + i] = s;
        }
      }
      const hasSlopes = this.slopes[l - 1]!.length > 0;
      if (hasSlopes) this.slopeGrads[l - 1]!.fill(0);
      activationBackward(this.activation, this.z[l]!, this.a[l]!, da, batch, nIn, hasSlopes ? this.slopes[l - 1]! : null, hasSlopes ? this.slopeGrads[l - 1]! : null);
    }
    return loss;
  }

  /** Mean cross-entropy and accuracy over the given rows (all rows when null), in chunks. */
  evaluate(x: FloatArray, y: Int32Array, rows: Int32Array | null, count?: number): EvaluateResult {
    const total = rows ? rows.length : (count ?? y.length);
    if (total === 0) return { loss: NaN, accuracy: NaN };
    const last = this.numLayers - 1;
    const classes = this.sizes[last + 1]!;
    const chunk = 1024;
    let loss = 0;
    let correct = 0;
    for (let start = 0; start < total; start += chunk) {
      const end = Math.min(total, start + chunk);
      const batch = this.forward(x, rows, start, end);
      const logits = this.z[last + 1]!;
      for (let b = 0; b < batch; b++) {
        const o = b * classes;
        let max = -Infinity;
        let arg = 0;
        for (let c = 0; c < classes; c++) if (logits[o + c]! > max) {
          max = logits[o + c]!;
          arg = c;
        }
        let sum = 0;
        for (let c = 0; c < classes; c++) sum += Math.exp(logits[o + c]! - max);
        const target = y[rows ? rows[start + b]! : start + b]!;
        loss += Math.log(sum) + max - logits[o + target]!;
        if (arg === target) correct++;
      }
    }
    return { loss: loss / total, accuracy: correct / total };
  }

  /**
   * Every layer's activity for rows 0..n-1 of x, as float32 [n, width] per layer: the hidden
   * layers after their activation and the output layer after the softmax (as the paper's code
   * records it).
   */
  layerActivations(x: FloatArray, n: number, rows: Int32Array | null = null): Float32Array[] {
    const total = rows ? rows.length : n;
    const outputs = this.sizes.slice(1).map((s) => new Float32Array(total * s));
    const last = this.numLayers - 1;
    const chunk = 1024;
    for (let start = 0; start < total; start += chunk) {
      const end = Math.min(total, start + chunk);
      const batch = this.forward(x, rows, start, end);
      for (let l = 0; l < last; l++) outputs[l]!.set(this.a[l + 1]!.subarray(0, batch * this.sizes[l + 1]!), start * this.sizes[l + 1]!);
      const classes = this.sizes[last + 1]!;
      const logits = this.z[last + 1]!;
      const out = outputs[last]!;
      for (let b = 0; b < batch; b++) {
        const o = b * classes;
        let max = -Infinity;
        for (let c = 0; c < classes; c++) if (logits[o + c]! > max) max = logits[o + c]!;
        let sum = 0;
        for (let c = 0; c < classes; c++) sum += Math.exp(logits[o + c]! - max);
        for (let c = 0; c < classes; c++) out[(start + b) * classes + c] = Math.exp(logits[o + c]! - max) / sum;
      }
    }
    return outputs;
  }
}

export interface FusedAdamOptions {
  /** Default 4e-4 (the paper's). */
  readonly lr?: number;
  readonly beta1?: number;
  readonly beta2?: number;
  readonly eps?: number;
}

/**
 * Adam with the update of src/optim/adam.ts (torch.optim.Adam):
 *   m = β1 m + (1 - β1) g;  v = β2 v + (1 - β2) g²;  p -= lr / (1 - β1^t) · m / (sqrt(v) / sqrt(1 - β2^t) + eps).
 * TensorFlow's Adam, which the paper used, puts eps inside the bias correction instead; with
 * eps = 1e-8 the two differ only for gradients near 1e-8.
 */
export class FusedAdam {
  readonly lr: number;
  readonly beta1: number;
  readonly beta2: number;
  readonly eps: number;
  private t = 0;
  private readonly m: Float64Array[];
  private readonly v: Float64Array[];

  constructor(
    private readonly params: readonly MlpParameter[],
    options: FusedAdamOptions = {},
  ) {
    this.lr = options.lr ?? 4e-4;
    this.beta1 = options.beta1 ?? 0.9;
    this.beta2 = options.beta2 ?? 0.999;
    this.eps = options.eps ?? 1e-8;
    if (!(this.lr > 0)) throw new Error(`FusedAdam: lr must be positive, got ${this.lr}`);
    this.m = params.map((p) => new Float64Array(p.data.length));
    this.v = params.map((p) => new Float64Array(p.data.length));
  }

  get steps(): number {
    return this.t;
  }

  step(): void {
    this.t++;
    const { beta1, beta2, eps } = this;
    const stepSize = this.lr / (1 - beta1 ** this.t);
    const bias2Sqrt = Math.sqrt(1 - beta2 ** this.t);
    for (let k = 0; k < this.params.length; k++) {
      const { data, grad } = this.params[k]!;
      const m = this.m[k]!;
      const v = this.v[k]!;
      for (let i = 0; i < data.length; i++) {
        const g = grad[i]!;
        m[i] = beta1 * m[i]! + (1 - beta1) * g;
        v[i] = beta2 * v[i]! + (1 - beta2) * g * g;
        data[i] = data[i]! - (stepSize * m[i]!) / (Math.sqrt(v[i]!) / bias2Sqrt + eps);
      }
    }
  }
}
