// Optimizer base: parameter groups with their own hyperparameters, per-parameter state
// (step count and named buffers such as exp_avg), and state export/import for checkpoints.
// Updates run as plain loops over each parameter's Float32Array/Float64Array storage (parameters
// are contiguous leaves), computing in f64 and storing in the parameter's dtype; state buffers
// have the parameter's dtype too, so an f32 checkpoint round trip resumes bit for bit.

import type { JsonValue } from '../io/checkpoint.js';
import type { FloatAllocator } from '../nn/init.js';
import type { StateDictEntry } from '../nn/module.js';
import type { FloatArray } from '../tensor/dtype.js';
import { isFloat } from '../tensor/dtype.js';
import { formatShape, shapesEqual } from '../tensor/shape.js';
import { Tensor, zeros } from '../tensor/tensor.js';

export type { JsonValue };

/** Parameters with their names (checkpoint keys), e.g. `model.namedParameters()`. */
export type NamedParameters = Iterable<readonly [string, Tensor]>;

/** A group of parameters overriding some of the optimizer's default hyperparameters. */
export type ParamGroupInput<H> = { readonly params: NamedParameters } & Partial<H>;

export type OptimizerParams<H> = NamedParameters | readonly ParamGroupInput<H>[];

/** Hyperparameters every optimizer has. */
export interface BaseHyperparameters {
  lr: number;
  weightDecay: number;
}

export interface NamedParameter {
  readonly name: string;
  readonly tensor: Tensor;
}

export interface ParamGroup<H> {
  readonly params: readonly NamedParameter[];
  /** Mutable: schedules and callers may change them between steps. */
  readonly hyper: H;
}

/** The state one parameter carries between steps. */
export interface ParamState {
  /** Updates applied to this parameter so far (it skips steps where it had no gradient). */
  step: number;
  /** Buffers by state name (e.g. exp_avg), shaped and typed as the parameter. */
  readonly buffers: Map<string, Tensor>;
}

export interface OptimizerState {
  /** `<stateName>.<paramName>`, e.g. `exp_avg.encoder.layer.0.output.dense.weight`. */
  readonly tensors: Map<string, Tensor>;
  /** Optimizer kind, per-group hyperparameters and parameter names, per-parameter step counts. */
  readonly scalars: { readonly [key: string]: JsonValue };
}

/** What loadStateDict accepts: an OptimizerState, or one read back from a checkpoint ({ shape, data } tensors). */
export interface OptimizerStateInput {
  readonly tensors: ReadonlyMap<string, StateDictEntry>;
  readonly scalars: { readonly [key: string]: JsonValue };
}

export interface OptimizerStateDictOptions {
  /** True returns copies of the state buffers; by default they are the live tensors. */
  copy?: boolean;
}

export abstract class Optimizer<H extends BaseHyperparameters> {
  /** The optimizer's name in exported state (checked on import). */
  readonly kind: string;
  readonly groups: readonly ParamGroup<H>[];
  readonly #state = new Map<Tensor, ParamState>();
  readonly #byName = new Map<string, Tensor>();
  #stateAlloc: FloatAllocator | null = null;

  protected constructor(kind: string, params: OptimizerParams<H>, defaults: H) {
    this.kind = kind;
    const inputs = toGroupInputs(params);
    const seen = new Set<Tensor>();
    const groups: ParamGroup<H>[] = [];
    for (const input of inputs) {
      const hyper: H = { ...defaults };
      for (const [key, value] of Object.entries(input)) {
        if (key === 'params' || value === undefined) continue;
        if (!(key in defaults)) throw new Error(`${kind}: unknown hyperparameter '${key}' in a parameter group`);
        (hyper as Record<string, unknown>)[key] = value;
      }
      const named = input.params;
      this.validate(hyper);
      const list: NamedParameter[] = [];
      for (const [name, tensor] of named) {
        if (this.#byName.has(name)) throw new Error(`${kind}: parameter name '${name}' appears twice`);
        if (seen.has(tensor)) throw new Error(`${kind}: parameter '${name}' is already in this optimizer (under another name or group)`);
        if (!isFloat(tensor.dtype)) throw new Error(`${kind}: parameter '${name}' is ${tensor.dtype}, expected a float tensor`);
        if (!tensor.isContiguous()) throw new Error(`${kind}: parameter '${name}' ${formatShape(tensor.shape)} is not contiguous`);
        seen.add(tensor);
        this.#byName.set(name, tensor);
        list.push({ name, tensor });
      }
      groups.push({ params: list, hyper });
    }
    if (seen.size === 0) throw new Error(`${kind}: no parameters to optimise`);
    this.groups = groups;
  }

  /** Throws on hyperparameters out of range. */
  protected abstract validate(hyper: H): void;

  /** Updates one parameter in place from its gradient. */
  protected abstract update(param: FloatArray, grad: ArrayLike<number>, state: ParamState, hyper: H, tensor: Tensor): void;

  /** State buffers this optimizer may create per parameter (to check imported state). */
  protected abstract readonly stateNames: readonly string[];

  /** One update of every parameter that has a gradient. */
  step(): void {
    for (const group of this.groups) {
      for (const { name, tensor } of group.params) {
        const grad = tensor.grad;
        if (!grad) continue;
        if (!shapesEqual(grad.shape, tensor.shape)) {
          throw new Error(`${this.kind}: gradient of '${name}' has shape ${formatShape(grad.shape)}, parameter ${formatShape(tensor.shape)}`);
        }
        const state = this.#stateOf(tensor);
        state.step++;
        this.update(storageOf(tensor), grad.toArray(), state, group.hyper, tensor);
      }
    }
  }

  /** Clears every parameter's gradient. */
  zeroGrad(): void {
    for (const group of this.groups) for (const { tensor } of group.params) tensor.grad = null;
  }

  /** Sets the learning rate of every group. */
  setLearningRate(lr: number): void {
    if (!(lr >= 0)) throw new Error(`${this.kind}: learning rate must be non-negative, got ${lr}`);
    for (const group of this.groups) group.hyper.lr = lr;
  }

  /** The first group's learning rate. */
  get learningRate(): number {
    return this.groups[0]!.hyper.lr;
  }

  #stateOf(tensor: Tensor): ParamState {
    let state = this.#state.get(tensor);
    if (!state) {
      state = { step: 0, buffers: new Map() };
      this.#state.set(tensor, state);
    }
    return state;
  }

  /**
   * Where the state buffers of f32 parameters are created from now on (e.g. WasmKernels.allocF32, so
   * that moments live in a wasm arena beside arena-resident weights and the update copies nothing);
   * null (the default) is ordinary memory. Buffers that exist already stay where they are.
   */
  setStateAllocator(alloc: FloatAllocator | null): void {
    this.#stateAlloc = alloc;
  }

  /** Zeros shaped like `like`, from the state allocator when it applies. */
  #zerosLike(like: Tensor): Tensor {
    if (!this.#stateAlloc || like.dtype !== 'f32') return zeros(like.shape, { dtype: like.dtype });
    const data = this.#stateAlloc(like.size);
    if (data.length !== like.size) throw new Error(`${this.kind}: the state allocator returned ${data.length} floats for ${formatShape(like.shape)}`);
    return new Tensor(data, 'f32', like.shape);
  }

  /** The storage of a state buffer, created as zeros shaped like the parameter on first use. */
  protected buffer(state: ParamState, stateName: string, like: Tensor): FloatArray {
    let t = state.buffers.get(stateName);
    if (!t) {
      t = this.#zerosLike(like);
      state.buffers.set(stateName, t);
    }
    return t.data as FloatArray;
  }

  /** Everything needed to resume: state buffers as tensors and the rest as JSON. */
  stateDict(options: OptimizerStateDictOptions = {}): OptimizerState {
    const tensors = new Map<string, Tensor>();
    const steps: Record<string, number> = {};
    for (const group of this.groups) {
      for (const { name, tensor } of group.params) {
        const state = this.#state.get(tensor);
        if (!state) continue;
        steps[name] = state.step;
        for (const [stateName, buffer] of state.buffers) {
          tensors.set(`${stateName}.${name}`, options.copy ? new Tensor(buffer.data.slice(), buffer.dtype, buffer.shape) : buffer);
        }
      }
    }
    const groups = this.groups.map((group) => ({
      ...hyperToJson(group.hyper),
      params: group.params.map(({ name }) => name),
    }));
    return { tensors, scalars: { optimizer: this.kind, groups, steps } };
  }

  /**
   * Restores state exported by stateDict (values are copied): the same optimizer kind over the
   * same parameter names in the same groups. Group hyperparameters are restored too, as PyTorch does.
   */
  loadStateDict(state: OptimizerStateInput): void {
    const where = `${this.kind}.loadStateDict`;
    const { scalars, tensors } = state;
    if (scalars['optimizer'] !== this.kind) throw new Error(`${where}: state is from optimizer ${JSON.stringify(scalars['optimizer'])}`);
    const groups = scalars['groups'];
    if (!Array.isArray(groups) || groups.length !== this.groups.length) {
      throw new Error(`${where}: state has ${Array.isArray(groups) ? groups.length : 'no'} parameter groups, this optimizer ${this.groups.length}`);
    }
    const hypers: H[] = [];
    this.groups.forEach((group, g) => {
      const saved: unknown = groups[g];
      if (!isRecord(saved)) throw new Error(`${where}: group ${g} is not an object`);
      const names = saved['params'];
      const expected = group.params.map(({ name }) => name);
      if (!Array.isArray(names) || names.length !== expected.length || names.some((n, i) => n !== expected[i])) {
        const savedNames = Array.isArray(names) ? names.map(String) : [];
        const missing = expected.filter((n) => !savedNames.includes(n));
        const extra = savedNames.filter((n) => !expected.includes(n));
        throw new Error(
          `${where}: group ${g} parameters differ` +
            (missing.length ? `; missing in state: ${missing.join(', ')}` : '') +
            (extra.length ? `; unexpected in state: ${extra.join(', ')}` : '') +
            (!missing.length && !extra.length ? ' in order' : ''),
        );
      }
      const hyper = { ...group.hyper };
      for (const key of Object.keys(group.hyper)) {
        if (!(key in saved)) throw new Error(`${where}: group ${g} lacks hyperparameter '${key}'`);
        (hyper as Record<string, unknown>)[key] = saved[key];
      }
      this.validate(hyper);
      hypers.push(hyper);
    });
    const steps = scalars['steps'];
    if (!isRecord(steps)) throw new Error(`${where}: 'steps' must be an object of per-parameter step counts`);

    // Check every tensor before changing anything.
    const pending = new Map<string, ParamState>();
    for (const [name, step] of Object.entries(steps)) {
      if (!this.#byName.has(name)) throw new Error(`${where}: step count for unknown parameter '${name}'`);
      if (typeof step !== 'number' || !Number.isSafeInteger(step) || step < 0) throw new Error(`${where}: step of '${name}' is ${JSON.stringify(step)}`);
      pending.set(name, { step, buffers: new Map() });
    }
    for (const [key, value] of tensors) {
      const stateName = this.stateNames.find((s) => key.startsWith(`${s}.`));
      const name = stateName === undefined ? undefined : key.slice(stateName.length + 1);
      const tensor = name === undefined ? undefined : this.#byName.get(name);
      if (!stateName || !tensor) throw new Error(`${where}: unexpected state tensor '${key}'`);
      if (!shapesEqual(value.shape, tensor.shape)) {
        throw new Error(`${where}: '${key}' has shape ${formatShape(value.shape)}, parameter ${formatShape(tensor.shape)}`);
      }
      const target = pending.get(name!);
      if (!target) throw new Error(`${where}: '${key}' has no step count for its parameter`);
      const values = value instanceof Tensor ? value.toArray() : value.data;
      if (values.length !== tensor.size) throw new Error(`${where}: '${key}' has ${values.length} values for shape ${formatShape(value.shape)}`);
      const copy = this.#zerosLike(tensor);
      copy.data.set(values);
      target.buffers.set(stateName, copy);
    }
    for (const [name, s] of pending) this.checkLoadedState(s, name);

    this.groups.forEach((group, g) => Object.assign(group.hyper, hypers[g]));
    this.#state.clear();
    for (const [name, s] of pending) this.#state.set(this.#byName.get(name)!, s);
  }

  /** Throws when an imported parameter state is incomplete (e.g. Adam moments missing after a step). */
  protected checkLoadedState(state: ParamState, name: string): void {
    if (state.step > 0) {
      const missing = this.stateNames.filter((s) => !state.buffers.has(s));
      if (missing.length > 0) throw new Error(`${this.kind}.loadStateDict: '${name}' lacks ${missing.map((s) => `${s}.${name}`).join(', ')}`);
    }
  }
}

/** Parameters whose name or shape says no weight decay: rank <= 1 (biases, norm weights), as in BERT recipes. */
export function isNoDecayParameter(_name: string, tensor: Tensor): boolean {
  return tensor.rank <= 1;
}

/**
 * Splits parameters into two groups: the rest with the defaults, then the ones matching
 * `isMatch` with `overrides` (e.g. `{ weightDecay: 0, excludeFromAdaptation: true }` for LAMB).
 */
export function splitParamGroups<H>(
  params: NamedParameters,
  overrides: Partial<H>,
  isMatch: (name: string, tensor: Tensor) => boolean = isNoDecayParameter,
): ParamGroupInput<H>[] {
  const rest: Array<readonly [string, Tensor]> = [];
  const matched: Array<readonly [string, Tensor]> = [];
  for (const entry of params) (isMatch(entry[0], entry[1]) ? matched : rest).push(entry);
  const groups: ParamGroupInput<H>[] = [];
  if (rest.length > 0) groups.push(groupOf<H>(rest, {}));
  if (matched.length > 0) groups.push(groupOf(matched, overrides));
  return groups;
}

/** `defaults` with every option that is set (undefined options keep the default). */
export function withDefaults<H extends object>(defaults: H, options: Partial<H>): H {
  const out = { ...defaults };
  for (const [key, value] of Object.entries(options)) if (value !== undefined) (out as Record<string, unknown>)[key] = value;
  return out;
}

function groupOf<H>(params: NamedParameters, overrides: Partial<H>): ParamGroupInput<H> {
  return Object.assign({}, overrides, { params });
}

function toGroupInputs<H>(params: OptimizerParams<H>): ParamGroupInput<H>[] {
  const items = [...(params as Iterable<readonly [string, Tensor] | ParamGroupInput<H>>)];
  if (items.length === 0) return [];
  if (items.every((item) => Array.isArray(item))) return [groupOf<H>(items as Array<readonly [string, Tensor]>, {})];
  if (items.every((item) => !Array.isArray(item) && 'params' in item)) return items as ParamGroupInput<H>[];
  throw new Error('optimizer: pass either [name, tensor] pairs or parameter groups ({ params, ...hyperparameters }), not a mix');
}

/** The contiguous storage of a parameter. */
function storageOf(t: Tensor): FloatArray {
  const data = t.data as FloatArray;
  return t.offset === 0 && data.length === t.size ? data : data.subarray(t.offset, t.offset + t.size);
}

function hyperToJson<H extends BaseHyperparameters>(hyper: H): Record<string, JsonValue> {
  const out: Record<string, JsonValue> = {};
  for (const [key, value] of Object.entries(hyper)) {
    if (typeof value === 'number' && !Number.isFinite(value)) throw new Error(`hyperparameter '${key}' is ${value}, which JSON cannot hold`);
    out[key] = value as JsonValue;
  }
  return out;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
