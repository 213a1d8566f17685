// Reverse-mode autograd. Each differentiable op is defined once with `defineOp`: its forward
// (on the active backend's kernels) and its backward side by side. Calling an op while gradients
// are enabled and some input requires one records a GradNode on the outputs; `backward` walks
// the recorded graph in reverse topological order (the tape) and accumulates leaf gradients.
// A node's backward runs on the backend its forward ran on (whichever backend is active when
// `backward` is called), so a model run under withBackend(b, ...) is differentiated on b too.

import { getBackend, withBackend } from '../backend/backend.js';
import { isFloat } from '../tensor/dtype.js';
import { Tensor, type GradNode } from '../tensor/tensor.js';
import type { Backend, KernelTable } from '../ops/kernels.js';
import { formatShape, shapesEqual } from '../tensor/shape.js';

let gradEnabled = true;

export function isGradEnabled(): boolean {
  return gradEnabled;
}

/** Runs `fn` without recording gradients (inference, optimiser updates, backward passes). */
export function noGrad<T>(fn: () => T): T {
  const previous = gradEnabled;
  gradEnabled = false;
  try {
    return fn();
  } finally {
    gradEnabled = previous;
  }
}

/** Runs `fn` with gradient recording switched on (e.g. inside a noGrad region). */
export function enableGrad<T>(fn: () => T): T {
  const previous = gradEnabled;
  gradEnabled = true;
  try {
    return fn();
  } finally {
    gradEnabled = previous;
  }
}

export interface OpContext<A, S> {
  readonly inputs: readonly Tensor[];
  readonly outputs: readonly Tensor[];
  readonly attrs: A;
  readonly saved: S;
  /** The backend the forward ran on; backward computes with its kernels (and runs with it active). */
  readonly backend: Backend;
  /** Shorthand for backend.kernels. */
  readonly kernels: KernelTable;
  /** Whether input i needs a gradient (others may be returned as null). */
  needsGrad(i: number): boolean;
}

export interface OpSpec<A, S> {
  readonly name: string;
  /** Computes the outputs from the kernels; `saved` is anything the backward pass needs beyond inputs and outputs. */
  forward(k: KernelTable, inputs: readonly Tensor[], attrs: A): { outputs: Tensor[]; saved: S };
  /** Gradients of the inputs (null for non-differentiable inputs or where not needed). */
  backward?(ctx: OpContext<A, S>, gradOutputs: readonly (Tensor | null)[]): readonly (Tensor | null)[];
}

export type OpFn<A> = (inputs: readonly Tensor[], attrs: A) => Tensor[];

/** The backend each recorded node's forward ran on (gradient sums for its inputs use it too). */
const nodeBackends = new WeakMap<GradNode, Backend>();

/** Defines a differentiable op: the returned function runs it and records it for backward. */
export function defineOp<A, S = undefined>(spec: OpSpec<A, S>): OpFn<A> {
  return (inputs, attrs) => {
    const backend = getBackend();
    const { outputs, saved } = spec.forward(backend.kernels, inputs, attrs);
    // An output that is an input object would get this op's history attached to the input itself.
    if (outputs.some((out) => inputs.includes(out))) throw new Error(`${spec.name}: forward returned an input as an output; return a view instead`);
    if (!gradEnabled || !spec.backward) return outputs;
    const needs = inputs.map((t) => t.requiresGrad);
    if (!needs.some(Boolean)) return outputs;
    const backward = spec.backward;
    const ctx: OpContext<A, S> = { inputs, outputs, attrs, saved, backend, kernels: backend.kernels, needsGrad: (i) => needs[i] === true };
    const node: GradNode = {
      opName: spec.name,
      inputs,
      outputCount: outputs.length,
      backward: (gradOutputs) => withBackend(backend, () => backward(ctx, gradOutputs)),
    };
    nodeBackends.set(node, backend);
    outputs.forEach((out, i) => {
      if (!isFloat(out.dtype)) return;
      out.requiresGrad = true;
      out.gradNode = node;
      out.outputIndex = i;
    });
    return outputs;
  };
}

/** A tensor sharing x's data without history. */
export function detach(x: Tensor): Tensor {
  return new Tensor(x.data, x.dtype, x.shape, x.strides, x.offset);
}

/**
 * Back-propagates from `root` (a scalar unless `gradRoot` is given) and accumulates into the
 * `.grad` of every leaf that requires a gradient.
 */
export function backward(root: Tensor, gradRoot?: Tensor): void {
  if (!root.requiresGrad) throw new Error('backward: the tensor does not require a gradient (no parameter led to it)');
  let seed = gradRoot;
  if (!seed) {
    if (root.size !== 1) throw new Error(`backward: root of shape ${formatShape(root.shape)} is not a scalar; pass its gradient`);
    seed = new Tensor(new (root.data.constructor as Float32ArrayConstructor)(1).fill(1), root.dtype, root.shape);
  } else if (!shapesEqual(seed.shape, root.shape)) {
    throw new Error(`backward: gradient shape ${formatShape(seed.shape)} does not match ${formatShape(root.shape)}`);
  }
  noGrad(() => runBackward(root, seed!));
}

function runBackward(root: Tensor, seed: Tensor): void {
  // Sums of gradients run on the backend of the node that produced them; leaves and a root without
  // history use the active backend.
  const active = getBackend().kernels;
  const kernelsOf = (node: GradNode): KernelTable => nodeBackends.get(node)?.kernels ?? active;
  const add = (a: Tensor | undefined | null, b: Tensor, k: KernelTable = active): Tensor => (a ? k.binary('add', a, b) : b);
  if (!root.gradNode) {
    root.grad = add(root.grad, seed);
    return;
  }
  const order = topologicalOrder(root.gradNode);
  const nodeGrads = new Map<GradNode, (Tensor | null)[]>();
  const leafGrads = new Map<Tensor, Tensor>();
  nodeGrads.set(root.gradNode, slotWith(root.gradNode.outputCount, root.outputIndex, seed));
  for (let i = order.length - 1; i >= 0; i--) {
    const node = order[i]!;
    const gradOutputs = nodeGrads.get(node);
    nodeGrads.delete(node);
    if (!gradOutputs || gradOutputs.every((g) => g === null)) continue;
    const gradInputs = node.backward(gradOutputs);
    const k = kernelsOf(node);
    node.inputs.forEach((input, j) => {
      const g = gradInputs[j];
      if (!g || !input.requiresGrad) return;
      if (!shapesEqual(g.shape, input.shape)) {
        throw new Error(`${node.opName} backward: gradient ${formatShape(g.shape)} for input ${j} of shape ${formatShape(input.shape)}`);
      }
      if (input.gradNode) {
        const slots = nodeGrads.get(input.gradNode) ?? new Array<Tensor | null>(input.gradNode.outputCount).fill(null);
        slots[input.outputIndex] = slots[input.outputIndex] ? k.binary('add', slots[input.outputIndex]!, g) : g;
        nodeGrads.set(input.gradNode, slots);
      } else {
        leafGrads.set(input, add(leafGrads.get(input), g, k));
      }
    });
  }
  for (const [leaf, g] of leafGrads) {
    leaf.grad = leaf.grad ? active.binary('add', leaf.grad, g) : g.dtype === leaf.dtype ? g : active.copy(g, leaf.dtype);
  }
}

function slotWith(count: number, index: number, value: Tensor): (Tensor | null)[] {
  const slots = new Array<Tensor | null>(count).fill(null);
  slots[index] = value;
  return slots;
}

/** Nodes reachable from `root`, each after all nodes it depends on (iterative DFS: graphs can be deep). */
function topologicalOrder(root: GradNode): GradNode[] {
  const order: GradNode[] = [];
  const visited = new Set<GradNode>();
  const stack: Array<{ node: GradNode; next: number }> = [{ node: root, next: 0 }];
  visited.add(root);
  while (stack.length) {
    const top = stack[stack.length - 1]!;
    if (top.next < top.node.inputs.length) {
      const child = top.node.inputs[top.next++]!.gradNode;
      if (child && !visited.has(child)) {
        visited.add(child);
        stack.push({ node: child, next: 0 });
      }
    } else {
      order.push(top.node);
      stack.pop();
    }
  }
  return order;
}

/** Clears `.grad` of the given tensors. */
export function zeroGrad(tensors: Iterable<Tensor>): void {
  for (const t of tensors) t.grad = null;
}
