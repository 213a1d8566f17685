// Module: a node of a model tree holding named parameters, buffers and submodules. Registration
// is explicit (`this.param(...)`, `this.buffer(...)`, `this.module(...)`), and dotted paths
// through the tree are the checkpoint keys, so composing modules the way the checkpoint does
// (e.g. encoder.layer.0.attention.self.query.weight) makes loading a plain name match.

import { halfToF32, isFloat } from '../tensor/dtype.js';
import { formatShape, numel, shapesEqual } from '../tensor/shape.js';
import { setRequiresGrad, Tensor } from '../tensor/tensor.js';

/** A tensor as checkpoint readers hand it over (e.g. src/io/checkpoint.ts's CheckpointTensor). */
export interface RawTensor {
  readonly shape: readonly number[];
  readonly data: Float32Array | Float64Array | Int32Array;
}

export type StateDictEntry = Tensor | RawTensor;

export interface ParamOptions {
  /** False registers a frozen parameter: saved and loaded, but no gradient is computed. Default true. */
  requiresGrad?: boolean;
}

export interface BufferOptions {
  /** False keeps the buffer out of stateDict (e.g. caches derived from config). Default true. */
  persistent?: boolean;
}

export interface StateDictOptions {
  /**
   * True returns copies; by default the entries are the live tensors (as PyTorch), which later
   * training steps overwrite in place.
   */
  copy?: boolean;
}

export interface LoadStateDictOptions {
  /** Throw when keys are missing or unexpected (default true). Shape mismatches always throw. */
  strict?: boolean;
}

export interface LoadStateDictResult {
  readonly missingKeys: string[];
  readonly unexpectedKeys: string[];
}

interface BufferSlot {
  readonly tensor: Tensor;
  readonly persistent: boolean;
}

export class Module {
  // ECMAScript private fields, so subclasses can name their own fields freely (weight, layers, ...).
  readonly #parameters = new Map<string, Tensor>();
  readonly #buffers = new Map<string, BufferSlot>();
  readonly #children = new Map<string, Module>();
  #training = true;

  /** True in training mode (dropout active); set with train()/eval(). */
  get training(): boolean {
    return this.#training;
  }

  /** Registers a parameter: a contiguous float leaf, marked as requiring a gradient. */
  protected param(name: string, tensor: Tensor, options: ParamOptions = {}): Tensor {
    this.#checkNewName(name);
    if (!isFloat(tensor.dtype)) throw new Error(`parameter '${name}': expected a float tensor, got ${tensor.dtype}`);
    if (!tensor.isContiguous()) throw new Error(`parameter '${name}': tensor ${formatShape(tensor.shape)} is not contiguous`);
    if (tensor.gradNode) throw new Error(`parameter '${name}': must be a leaf (it was computed by ${tensor.gradNode.opName})`);
    setRequiresGrad(tensor, options.requiresGrad ?? true);
    tensor.name ??= name;
    this.#parameters.set(name, tensor);
    return tensor;
  }

  /** Registers a non-trainable tensor that is part of the state (e.g. position ids, running statistics). */
  protected buffer(name: string, tensor: Tensor, options: BufferOptions = {}): Tensor {
    this.#checkNewName(name);
    if (!tensor.isContiguous()) throw new Error(`buffer '${name}': tensor ${formatShape(tensor.shape)} is not contiguous`);
    this.#buffers.set(name, { tensor, persistent: options.persistent ?? true });
    return tensor;
  }

  /** Registers a submodule; its entries appear under `name.`. */
  protected module<M extends Module>(name: string, child: M): M {
    this.#checkNewName(name);
    if ((child as Module) === this || [...child.namedModules()].some(([, m]) => m === this)) {
      throw new Error(`submodule '${name}': registering it would make a cycle`);
    }
    this.#children.set(name, child);
    return child;
  }

  #checkNewName(name: string): void {
    if (name === '' || name.includes('.')) throw new Error(`invalid name '${name}': must be non-empty and contain no '.'`);
    if (this.#parameters.has(name) || this.#buffers.has(name) || this.#children.has(name)) {
      throw new Error(`'${name}' is already registered on this ${this.constructor.name}`);
    }
  }

  /** Direct submodules with their local names, in registration order. */
  *namedChildren(): Generator<[string, Module]> {
    yield* this.#children;
  }

  /** This module ('' ) and every descendant with its dotted path; a module shared by two parents is listed once. */
  *namedModules(prefix = ''): Generator<[string, Module]> {
    const seen = new Set<Module>();
    const stack: Array<[string, Module]> = [[prefix, this]];
    // Depth-first in registration order, as torch's named_modules.
    while (stack.length > 0) {
      const [path, m] = stack.pop()!;
      if (seen.has(m)) continue;
      seen.add(m);
      yield [path, m];
      const children = [...m.#children];
      for (let i = children.length - 1; i >= 0; i--) {
        const [name, child] = children[i]!;
        stack.push([join(path, name), child]);
      }
    }
  }

  /**
   * Every parameter with its dotted name (the checkpoint key). A tensor registered under several
   * names (tied weights) is listed once, under the first, so optimisers update it once.
   */
  *namedParameters(): Generator<[string, Tensor]> {
    const seen = new Set<Tensor>();
    for (const [path, m] of this.namedModules()) {
      for (const [name, p] of m.#parameters) {
        if (seen.has(p)) continue;
        seen.add(p);
        yield [join(path, name), p];
      }
    }
  }

  parameters(): Tensor[] {
    return [...this.namedParameters()].map(([, p]) => p);
  }

  /** Every buffer with its dotted name (persistent or not). */
  *namedBuffers(): Generator<[string, Tensor]> {
    const seen = new Set<Tensor>();
    for (const [path, m] of this.namedModules()) {
      for (const [name, slot] of m.#buffers) {
        if (seen.has(slot.tensor)) continue;
        seen.add(slot.tensor);
        yield [join(path, name), slot.tensor];
      }
    }
  }

  /** Number of scalar parameters (tied tensors counted once). */
  numParameters(options: { trainableOnly?: boolean } = {}): number {
    let n = 0;
    for (const p of this.parameters()) if (!options.trainableOnly || p.requiresGrad) n += p.size;
    return n;
  }

  /** Sets training mode on this module and all descendants; returns this. */
  train(mode = true): this {
    for (const [, m] of this.namedModules()) m.#training = mode;
    return this;
  }

  /** Evaluation mode: dropout becomes the identity. */
  eval(): this {
    return this.train(false);
  }

  /**
   * Parameters and persistent buffers under their checkpoint keys, in registration order. Unlike
   * namedParameters, a tied tensor appears under every name it has (as in PyTorch checkpoints).
   */
  stateDict(options: StateDictOptions = {}): Map<string, Tensor> {
    const out = new Map<string, Tensor>();
    this.#collectState('', out);
    if (options.copy) for (const [key, t] of out) out.set(key, copyTensor(t));
    return out;
  }

  #collectState(prefix: string, out: Map<string, Tensor>): void {
    for (const [name, p] of this.#parameters) out.set(join(prefix, name), p);
    for (const [name, slot] of this.#buffers) if (slot.persistent) out.set(join(prefix, name), slot.tensor);
    for (const [name, child] of this.#children) child.#collectState(join(prefix, name), out);
  }

  /**
   * Copies values into the existing parameters and buffers (so optimisers holding them stay
   * valid). Everything is checked before anything is written: a shape mismatch throws naming
   * the key, and in strict mode (the default) so do missing and unexpected keys. A key counts as
   * present when its tensor is loaded under a tied name. f16/bf16 sources are widened.
   */
  loadStateDict(source: ReadonlyMap<string, StateDictEntry>, options: LoadStateDictOptions = {}): LoadStateDictResult {
    const strict = options.strict ?? true;
    const targets = this.stateDict();
    const problems: string[] = [];
    const loaded = new Set<Tensor>();
    for (const [key, entry] of source) {
      const target = targets.get(key);
      if (!target) continue;
      const shape = entry.shape;
      if (!shapesEqual(shape, target.shape)) {
        problems.push(`'${key}' has shape ${formatShape(shape)} in the state dict but ${formatShape(target.shape)} in the model`);
      } else if (!(entry instanceof Tensor) && entry.data.length !== numel(shape)) {
        problems.push(`'${key}' has ${entry.data.length} values for shape ${formatShape(shape)}`);
      } else if (target.dtype === 'f16' || target.dtype === 'bf16' || target.dtype === 'i8') {
        problems.push(`'${key}': cannot load into a ${target.dtype} storage tensor`);
      }
      loaded.add(target);
    }
    const missingKeys = [...targets].filter(([key, t]) => !source.has(key) && !loaded.has(t)).map(([key]) => key);
    const unexpectedKeys = [...source.keys()].filter((key) => !targets.has(key));
    if (strict) {
      if (missingKeys.length > 0) problems.push(`missing keys: ${listKeys(missingKeys)}`);
      if (unexpectedKeys.length > 0) problems.push(`unexpected keys: ${listKeys(unexpectedKeys)}`);
    }
    if (problems.length > 0) {
      throw new Error(`loadStateDict (${this.constructor.name}): the state dict does not match:\n  ${problems.join('\n  ')}`);
    }
    for (const [key, entry] of source) {
      const target = targets.get(key);
      if (target) target.data.set(valuesOf(entry), target.offset);
    }
    return { missingKeys, unexpectedKeys };
  }
}

/** Numbered children `0`, `1`, ... (e.g. `encoder.layer.3.`), iterable in order. */
export class ModuleList<M extends Module = Module> extends Module implements Iterable<M> {
  readonly #items: M[] = [];

  constructor(items: Iterable<M> = []) {
    super();
    for (const item of items) this.push(item);
  }

  push(item: M): M {
    this.module(String(this.#items.length), item);
    this.#items.push(item);
    return item;
  }

  get length(): number {
    return this.#items.length;
  }

  /** The item at `index` (negative counts from the end). */
  at(index: number): M {
    const i = index < 0 ? index + this.#items.length : index;
    const item = this.#items[i];
    if (item === undefined) throw new Error(`ModuleList: index ${index} is out of range for length ${this.#items.length}`);
    return item;
  }

  [Symbol.iterator](): Iterator<M> {
    return this.#items[Symbol.iterator]();
  }
}

function join(prefix: string, name: string): string {
  return prefix === '' ? name : `${prefix}.${name}`;
}

function listKeys(keys: readonly string[]): string {
  const shown = keys.slice(0, 20);
  return shown.join(', ') + (keys.length > shown.length ? ` and ${keys.length - shown.length} more` : '');
}

/** Values of an entry in row-major order, widened from half precision when needed. */
function valuesOf(entry: StateDictEntry): ArrayLike<number> {
  if (!(entry instanceof Tensor)) return entry.data;
  const values = entry.toArray();
  if (entry.dtype === 'f16' || entry.dtype === 'bf16') return halfToF32(values as Uint16Array, entry.dtype);
  return values;
}

function copyTensor(t: Tensor): Tensor {
  const data = t.toArray().slice();
  return new Tensor(data, t.dtype, t.shape);
}
