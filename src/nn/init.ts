// Parameter initialisers. Each writes in place into a contiguous float tensor from a seeded Rng
// and returns the tensor, mirroring torch.nn.init (trailing underscore = in place). Fans follow
// PyTorch's weight layout [out, in, ...kernel], so fanIn = in * receptive field.

import { isFloat, type FloatDType } from '../tensor/dtype.js';
import { formatShape, numel } from '../tensor/shape.js';
import type { Rng } from '../tensor/rng.js';
import { Tensor, zeros } from '../tensor/tensor.js';
import type { WeightLayout } from './weight-layout.js';

export type Nonlinearity = 'linear' | 'identity' | 'sigmoid' | 'tanh' | 'relu' | 'leakyRelu' | 'selu';
export type FanMode = 'fanIn' | 'fanOut';

/** Writes fill(i) at every element of a contiguous float tensor. */
function fillWith(t: Tensor, what: string, fill: () => number): Tensor {
  if (!isFloat(t.dtype)) throw new Error(`${what}: expected a float tensor, got ${t.dtype}`);
  if (!t.isContiguous()) throw new Error(`${what}: tensor ${formatShape(t.shape)} is not contiguous`);
  const data = t.data;
  const end = t.offset + t.size;
  for (let i = t.offset; i < end; i++) data[i] = fill();
  return t;
}

export function constant_(t: Tensor, value: number): Tensor {
  return fillWith(t, 'constant_', () => value);
}

export function zeros_(t: Tensor): Tensor {
  return constant_(t, 0);
}

export function ones_(t: Tensor): Tensor {
  return constant_(t, 1);
}

export interface UniformOptions {
  low?: number;
  high?: number;
}

/** U(low, high), default U(0, 1). */
export function uniform_(t: Tensor, rng: Rng, options: UniformOptions = {}): Tensor {
  const low = options.low ?? 0;
  const high = options.high ?? 1;
  if (!(high >= low)) throw new Error(`uniform_: high ${high} is below low ${low}`);
  return fillWith(t, 'uniform_', () => low + (high - low) * rng.uniform());
}

export interface NormalOptions {
  mean?: number;
  std?: number;
}

/** N(mean, std²), default N(0, 1). */
export function normal_(t: Tensor, rng: Rng, options: NormalOptions = {}): Tensor {
  const mean = options.mean ?? 0;
  const std = options.std ?? 1;
  if (!(std >= 0)) throw new Error(`normal_: std must be non-negative, got ${std}`);
  return fillWith(t, 'normal_', () => mean + std * rng.normal());
}

export interface TruncatedNormalOptions extends NormalOptions {
  /** Lower bound (absolute value); default mean - 2 std. */
  a?: number;
  /** Upper bound (absolute value); default mean + 2 std. */
  b?: number;
}

/** Rejection sampling gives up after this many draws for one element (bounds far in a tail). */
const MAX_TRUNCATED_DRAWS = 1000;

/**
 * N(mean, std²) restricted to [a, b] by redrawing samples outside the bounds, as BERT's
 * truncated_normal initializer. `std` is that of the untruncated normal: with the default
 * bounds of ±2 std the samples' own std is about 0.88 std.
 */
export function truncatedNormal_(t: Tensor, rng: Rng, options: TruncatedNormalOptions = {}): Tensor {
  const mean = options.mean ?? 0;
  const std = options.std ?? 1;
  const a = options.a ?? mean - 2 * std;
  const b = options.b ?? mean + 2 * std;
  if (!(std >= 0)) throw new Error(`truncatedNormal_: std must be non-negative, got ${std}`);
  if (!(b >= a)) throw new Error(`truncatedNormal_: upper bound ${b} is below lower bound ${a}`);
  return fillWith(t, 'truncatedNormal_', () => {
    for (let draw = 0; draw < MAX_TRUNCATED_DRAWS; draw++) {
      const x = mean + std * rng.normal();
      if (x >= a && x <= b) return x;
    }
    throw new Error(`truncatedNormal_: no sample of N(${mean}, ${std}²) fell in [${a}, ${b}] in ${MAX_TRUNCATED_DRAWS} draws`);
  });
}

/** fanIn and fanOut of a weight laid out [out, in, ...kernel] (torch's _calculate_fan_in_and_fan_out). */
export function computeFans(shape: readonly number[]): { fanIn: number; fanOut: number } {
  if (shape.length < 2) throw new Error(`fan in and fan out need a tensor of rank >= 2, got ${formatShape(shape)}`);
  let receptiveField = 1;
  for (let i = 2; i < shape.length; i++) receptiveField *= shape[i]!;
  return { fanIn: shape[1]! * receptiveField, fanOut: shape[0]! * receptiveField };
}

/** The recommended gain for a nonlinearity (torch.nn.init.calculate_gain); `param` is leakyRelu's slope (default 0.01). */
export function calculateGain(nonlinearity: Nonlinearity, param?: number): number {
  switch (nonlinearity) {
    case 'linear':
    case 'identity':
    case 'sigmoid':
      return 1;
    case 'tanh':
      return 5 / 3;
    case 'relu':
      return Math.SQRT2;
    case 'leakyRelu': {
      const slope = param ?? 0.01;
      return Math.sqrt(2 / (1 + slope * slope));
    }
    case 'selu':
      return 3 / 4;
    default:
      throw new Error(`calculateGain: unknown nonlinearity '${String(nonlinearity)}'`);
  }
}

export interface XavierOptions {
  gain?: number;
}

/** U(-a, a) with a = gain * sqrt(6 / (fanIn + fanOut)) (Glorot & Bengio 2010). */
export function xavierUniform_(t: Tensor, rng: Rng, options: XavierOptions = {}): Tensor {
  const { fanIn, fanOut } = computeFans(t.shape);
  const bound = (options.gain ?? 1) * Math.sqrt(6 / (fanIn + fanOut));
  return uniform_(t, rng, { low: -bound, high: bound });
}

/** N(0, std²) with std = gain * sqrt(2 / (fanIn + fanOut)). */
export function xavierNormal_(t: Tensor, rng: Rng, options: XavierOptions = {}): Tensor {
  const { fanIn, fanOut } = computeFans(t.shape);
  const std = (options.gain ?? 1) * Math.sqrt(2 / (fanIn + fanOut));
  return normal_(t, rng, { std });
}

export interface KaimingOptions {
  /** Negative slope of the leaky ReLU that follows (only used when nonlinearity is 'leakyRelu'); default 0. */
  a?: number;
  /** 'fanIn' (default) keeps forward variance, 'fanOut' backward variance. */
  mode?: FanMode;
  /** Default 'leakyRelu' (with a = 0 that is ReLU's gain), as torch. */
  nonlinearity?: Nonlinearity;
}

function kaimingStd(t: Tensor, options: KaimingOptions): number {
  const { fanIn, fanOut } = computeFans(t.shape);
  const fan = (options.mode ?? 'fanIn') === 'fanIn' ? fanIn : fanOut;
  const gain = calculateGain(options.nonlinearity ?? 'leakyRelu', options.a ?? 0);
  return gain / Math.sqrt(fan);
}

/** U(-bound, bound) with bound = gain * sqrt(3 / fan) (He et al. 2015). */
export function kaimingUniform_(t: Tensor, rng: Rng, options: KaimingOptions = {}): Tensor {
  const bound = Math.sqrt(3) * kaimingStd(t, options);
  return uniform_(t, rng, { low: -bound, high: bound });
}

/** N(0, std²) with std = gain / sqrt(fan). */
export function kaimingNormal_(t: Tensor, rng: Rng, options: KaimingOptions = {}): Tensor {
  return normal_(t, rng, { std: kaimingStd(t, options) });
}

// ------------------------------------------------------------------------------------------------
// How layers create their parameters: one type for every layer and model.

/**
 * How a weight is filled at construction:
 * - 'torch': PyTorch's default for the layer (Linear: U(±1/sqrt(in)) for weight and bias; Embedding: N(0, 1));
 * - 'xavierUniform': Glorot uniform, bias 0;
 * - { std, truncated }: N(0, std²), optionally truncated at ±2 std (BERT: std 0.02, truncated), bias 0;
 * - 'zeros': everything 0, no Rng needed (for weights about to be loaded).
 * Norm scales start at 1 and biases at 0 whatever the init.
 */
export type WeightInit = 'torch' | 'xavierUniform' | 'zeros' | NormalInit;

export interface NormalInit {
  readonly std: number;
  readonly truncated?: boolean | undefined;
}

/** Storage for a parameter of `floats` elements, zero-filled (e.g. WasmKernels.allocF32: a wasm arena). */
export type FloatAllocator = (floats: number) => Float32Array;

/** How a layer creates its parameters (Linear, Embedding, LayerNorm, RMSNorm and the blocks built from them). */
export interface ParamInit {
  /** Default 'torch'. */
  readonly init?: WeightInit | undefined;
  /** Draws random weights; required for every init but 'zeros'. */
  readonly rng?: Rng | undefined;
  /** Where f32 parameters live (e.g. a wasm arena); default ordinary memory. */
  readonly alloc?: FloatAllocator | undefined;
  /** False registers frozen parameters (inference): no gradient. Default true. */
  readonly trainable?: boolean | undefined;
  /** Default 'f32'. */
  readonly dtype?: FloatDType | undefined;
  /**
   * Makes the weight layout of each Linear built with this init that names none (called once per
   * Linear: a layout may hold per-layer state, e.g. a block pattern). Default: dense.
   */
  readonly linearLayout?: (() => WeightLayout) | undefined;
}

/** A zero-filled parameter tensor of `shape`, stored where `init.alloc` says. */
export function parameterTensor(shape: readonly number[], init: ParamInit): Tensor {
  const dtype = init.dtype ?? 'f32';
  if (!init.alloc) return zeros(shape, { dtype });
  if (dtype !== 'f32') throw new Error(`an allocator gives f32 storage, not ${dtype} (parameter ${formatShape(shape)})`);
  const n = numel(shape);
  const data = init.alloc(n);
  if (data.length !== n) throw new Error(`allocator returned ${data.length} floats for a ${formatShape(shape)} parameter`);
  return new Tensor(data, 'f32', shape);
}

/** The generator for a random init, or null for 'zeros'; throws naming the layer when it is missing. */
export function initRng(layer: string, init: ParamInit): Rng | null {
  if ((init.init ?? 'torch') === 'zeros') return null;
  if (!init.rng) throw new Error(`${layer}: pass options.rng for random initialisation (or init: 'zeros' for weights to be loaded)`);
  return init.rng;
}

/** N(0, std²), truncated at ±2 std when asked. */
export function fillNormal_(t: Tensor, rng: Rng, init: NormalInit): Tensor {
  return init.truncated ? truncatedNormal_(t, rng, { std: init.std }) : normal_(t, rng, { std: init.std });
}

/** 'torch' and 'xavierUniform': U(±1/sqrt(fanIn)) (nn.Conv1d's default); a normal init as given. */
export function fanInInit_(weight: Tensor, init: Exclude<WeightInit, 'zeros'>, rng: Rng, fanIn: number): Tensor {
  if (init === 'torch' || init === 'xavierUniform') {
    const bound = 1 / Math.sqrt(fanIn);
    return uniform_(weight, rng, { low: -bound, high: bound });
  }
  return fillNormal_(weight, rng, init);
}
