// Dynamic sparse training (Dietrich et al., "Towards Structured Dynamic Sparse Pre-Training of BERT",
// arXiv 2108.06277): every block-sparse weight keeps a fixed number of active b x b blocks; every T/n
// steps the pr(t) fraction with the smallest Lp block norm is pruned, pr(t) = pr (1 + cos(pi t / T)) / 2,
// and as many blocks are switched on among the positions that were not active before the prune
// (a just-pruned block cannot come back in the same update): uniformly at random ('dynamic') or by
// the largest dense-gradient magnitude pooled per block ('rigl'). 'static' keeps the initial random
// pattern; 'dense' has no sparse weights. New blocks and their optimizer moments start at zero.
//
// Optimizer state is kept only for active blocks because the parameter IS the active blocks' values:
// Adam/AdamW/LAMB moments are shaped like it. An update re-indexes the values and every state buffer
// with one map (new slot -> old slot, or -1 for a new block), in place, so shapes never change and
// the optimizer (and a checkpoint) need not know about sparsity.

import type { Module } from '../nn/module.js';
import { Linear } from '../nn/layers.js';
import { blockNorms, type BlockSparsePattern } from '../nn/block-sparse.js';
import { isBlockSparseLayout, type BlockSparseLayout } from '../nn/block-sparse-layout.js';
import type { OptimizerState, OptimizerStateDictOptions } from '../optim/optimizer.js';
import type { FloatArray } from '../tensor/dtype.js';
import { Rng, type RngState } from '../tensor/rng.js';
import type { Tensor } from '../tensor/tensor.js';

export const SPARSITY_MODES = ['dense', 'static', 'dynamic', 'rigl'] as const;
export type SparsityMode = (typeof SPARSITY_MODES)[number];

/** The paper's learning-rate rule: eta(s) = eta(0) exp(1.969 s² + 0.2905 s) (about 6.4x at s = 0.9). */
export function sparseLearningRate(baseLr: number, sparsity: number): number {
  if (!(sparsity >= 0 && sparsity < 1)) throw new RangeError(`sparseLearningRate: sparsity must be in [0, 1), got ${sparsity}`);
  return baseLr * Math.exp(1.969 * sparsity * sparsity + 0.2905 * sparsity);
}

export interface PruneSchedule {
  /** Training steps T. */
  readonly totalSteps: number;
  /** Pattern updates n: one every T/n steps. */
  readonly updates: number;
  /** Initial prune ratio pr, in [0, 1]. */
  readonly pruneRatio: number;
}

/** Throws a one-line error for a schedule that cannot run (n larger than the number of steps, pr outside [0, 1]). */
export function checkPruneSchedule(s: PruneSchedule, where = 'dynsparse'): void {
  if (!Number.isInteger(s.totalSteps) || s.totalSteps < 1) throw new RangeError(`${where}: total steps must be a positive integer, got ${s.totalSteps}`);
  if (!Number.isInteger(s.updates) || s.updates < 1) throw new RangeError(`${where}: updates must be a positive integer, got ${s.updates}`);
  if (s.updates > s.totalSteps) throw new RangeError(`${where}: ${s.updates} updates do not fit in ${s.totalSteps} steps (at most one per step)`);
  if (!(s.pruneRatio >= 0 && s.pruneRatio <= 1)) throw new RangeError(`${where}: prune ratio must be in [0, 1], got ${s.pruneRatio}`);
}

/** pr(t) = pr (1 + cos(pi t / T)) / 2: pr at t = 0, pr / 2 at T / 2, 0 at T. */
export function pruneFraction(step: number, s: PruneSchedule): number {
  const t = Math.min(Math.max(step, 0), s.totalSteps);
  return (s.pruneRatio * (1 + Math.cos((Math.PI * t) / s.totalSteps))) / 2;
}

/**
 * The index k (1..n-1) when `step` (steps done so far) is an update step, t_k = round(k T / n),
 * else 0. The n-th would fall at T, where pr(T) = 0.
 */
export function updateIndex(step: number, s: PruneSchedule): number {
  if (step <= 0 || step >= s.totalSteps) return 0;
  const k = Math.round((step * s.updates) / s.totalSteps);
  return k >= 1 && k < s.updates && Math.round((k * s.totalSteps) / s.updates) === step ? k : 0;
}

export interface PruneRegrowInput {
  readonly pattern: BlockSparsePattern;
  /** The active blocks' values (pattern order). */
  readonly values: FloatArray;
  /** Fraction of active blocks to prune (pr(t)). */
  readonly fraction: number;
  readonly regrow: 'random' | 'gradient';
  /** Draws the random regrowth. */
  readonly rng: Rng;
  /** p of the Lp block norm that ranks blocks for pruning; default 1 (the paper's L1). */
  readonly normOrder?: number | undefined;
  /** Dense dL/dW [rows × cols] for 'gradient' regrowth (RigL). */
  readonly denseGradient?: FloatArray | undefined;
}

export interface PruneRegrowResult {
  /** For each slot of the new pattern: the slot the block had before, or -1 for a regrown block. */
  readonly remap: Int32Array;
  /** Block positions (R × blockCols + C) switched off, and switched on. */
  readonly pruned: Int32Array;
  readonly regrown: Int32Array;
}

/** The k-th smallest (0-based) of `a`, which it reorders: iterative quickselect, median-of-three pivots. */
function kthSmallest(a: Float64Array, k: number): number {
  let lo = 0;
  let hi = a.length - 1;
  while (hi > lo) {
    const mid = (lo + hi) >>> 1;
    // Median of three into a[mid].
    if (a[mid]! < a[lo]!) swap(a, mid, lo);
    if (a[hi]! < a[lo]!) swap(a, hi, lo);
    if (a[hi]! < a[mid]!) swap(a, hi, mid);
    const pivot = a[mid]!;
    let i = lo;
    let j = hi;
    while (i <= j) {
      while (a[i]! < pivot) i++;
      while (a[j]! > pivot) j--;
      if (i <= j) swap(a, i++, j--);
    }
    if (k <= j) hi = j;
    else if (k >= i) lo = i;
    else return a[k]!;
  }
  return a[k]!;
}

function swap(a: Float64Array, i: number, j: number): void {
  const t = a[i]!;
  a[i] = a[j]!;
  a[j] = t;
}

/**
 * The indices of the `count` smallest keys (NaN counts as +Infinity; ties toward lower indices),
 * ascending by index: a quickselect on a copy finds the threshold, one pass collects the keys at or
 * below it, and ties past the count are dropped from the end.
 */
function smallestFirst(keys: Float64Array, count: number): Int32Array {
  if (count === 0) return new Int32Array(0);
  const n = keys.length;
  if (selectWork.length < n) selectWork = new Float64Array(n);
  const work = selectWork;
  work.set(keys);
  for (let i = 0; i < n; i++) if (work[i]! !== work[i]!) work[i] = Infinity;
  const threshold = kthSmallest(work.subarray(0, n), count - 1);
  // Indices of the keys <= threshold (NaN only when the threshold is +Infinity), in order.
  const atMost = selectIndex.length < n ? (selectIndex = new Int32Array(n)) : selectIndex;
  let m = 0;
  for (let i = 0; i < n; i++) {
    const k = keys[i]!;
    if (k <= threshold || (k !== k && threshold === Infinity)) atMost[m++] = i;
  }
  // m >= count; the last m - count of the ties (keys equal to the threshold) go.
  const out = new Int32Array(count);
  let excess = m - count;
  let j = count;
  for (let i = m - 1; i >= 0; i--) {
    const at = atMost[i]!;
    const k = keys[at]!;
    if (excess > 0 && (k === threshold || k !== k)) {
      excess--;
      continue;
    }
    out[--j] = at;
  }
  return out;
}

/** Scratch of smallestFirst, grown to the largest tensor seen. */
let selectWork = new Float64Array(0);
let selectIndex = new Int32Array(0);

/** Scratch of the rejection sampling in pruneAndRegrow: all zeros between calls, grown to the largest grid seen. */
let drawMask = new Uint8Array(0);

/**
 * One prune-and-regrow update of one tensor: rewrites the pattern in place and returns the map to
 * re-index the values and optimizer state with (reindexBlocks). The number of active blocks is
 * unchanged; regrowth never picks a position that was active before this update.
 */
export function pruneAndRegrow(input: PruneRegrowInput): PruneRegrowResult {
  const { pattern, values, fraction } = input;
  const active = pattern.activeBlocks;
  const total = pattern.totalBlocks;
  const bb = pattern.block * pattern.block;
  if (values.length < active * bb) throw new RangeError(`pruneAndRegrow: ${values.length} values for ${active} blocks of ${bb}`);
  if (!(fraction >= 0 && fraction <= 1)) throw new RangeError(`pruneAndRegrow: fraction must be in [0, 1], got ${fraction}`);
  const count = Math.min(Math.round(fraction * active), total - active);
  if (count === 0) {
    const identity = new Int32Array(active);
    for (let i = 0; i < active; i++) identity[i] = i;
    return { remap: identity, pruned: new Int32Array(0), regrown: new Int32Array(0) };
  }

  const norms = blockNorms(values.subarray(0, active * bb), bb, input.normOrder ?? 1);
  const prunedSlots = smallestFirst(norms, count);
  const pruned = new Int32Array(count);
  const bc = pattern.blockCols;
  for (let r = 0, i = 0; r < pattern.blockRows && i < count; r++) {
    // prunedSlots ascend, so the slots of row r come together.
    const end = pattern.rowPtr[r + 1]!;
    for (; i < count && prunedSlots[i]! < end; i++) pruned[i] = r * bc + pattern.colIdx[prunedSlots[i]!]!;
  }

  let regrown: Int32Array;
  const free = total - active;
  if (input.regrow === 'random' && free >= total / 4) {
    // Rejection sampling over the whole grid: at least 1 in 4 draws is free, and no candidate list is
    // built. The positions active before the update (pruned ones included) and those drawn are marked
    // in a grid-sized scratch mask, cleared again position by position: nothing here is O(grid).
    regrown = new Int32Array(count);
    if (drawMask.length < total) drawMask = new Uint8Array(total);
    const taken = drawMask;
    for (let r = 0; r < pattern.blockRows; r++) {
      for (let k = pattern.rowPtr[r]!; k < pattern.rowPtr[r + 1]!; k++) taken[r * bc + pattern.colIdx[k]!] = 1;
    }
    for (let i = 0; i < count;) {
      const p = input.rng.int(total);
      if (taken[p] !== 0) continue;
      taken[p] = 1;
      regrown[i++] = p;
    }
    for (let r = 0; r < pattern.blockRows; r++) {
      for (let k = pattern.rowPtr[r]!; k < pattern.rowPtr[r + 1]!; k++) taken[r * bc + pattern.colIdx[k]!] = 0;
    }
    for (let i = 0; i < count; i++) taken[regrown[i]!] = 0;
  } else if (input.regrow === 'random') {
    // Positions active before the update (pruned ones included) are never drawn.
    const mask = pattern.mask();
    const candidates = inactivePositions(mask, free);
    for (let i = 0; i < count; i++) {
      const j = i + input.rng.int(candidates.length - i);
      const tmp = candidates[i]!;
      candidates[i] = candidates[j]!;
      candidates[j] = tmp;
    }
    regrown = candidates.slice(0, count);
  } else {
    const g = input.denseGradient;
    if (!g || g.length !== pattern.rows * pattern.cols) {
      throw new RangeError(`pruneAndRegrow: gradient regrowth needs the dense gradient [${pattern.rows}, ${pattern.cols}]`);
    }
    // Score = -(sum of |dL/dW| over the block), so that the smallest keys are the largest gradients.
    const candidates = inactivePositions(pattern.mask(), free);
    const scores = new Float64Array(candidates.length);
    const { block: b, cols } = pattern;
    for (let i = 0; i < candidates.length; i++) {
      const p = candidates[i]!;
      const r0 = Math.floor(p / bc) * b;
      const c0 = (p % bc) * b;
      let acc = 0;
      for (let r = 0; r < b; r++) for (let c = 0; c < b; c++) acc += Math.abs(g[(r0 + r) * cols + c0 + c]!);
      scores[i] = -acc;
    }
    const best = smallestFirst(scores, count);
    regrown = new Int32Array(count);
    for (let i = 0; i < count; i++) regrown[i] = candidates[best[i]!]!;
  }

  // The rebuild merges each block row's kept blocks with its new ones (no pass over the grid) and
  // yields the old slot of every kept block.
  const remap = pattern.replaceBlocks(prunedSlots, regrown);
  return { remap, pruned, regrown };
}

/** The positions where mask is 0 (there are `count`). */
function inactivePositions(mask: Uint8Array, count: number): Int32Array {
  const out = new Int32Array(count);
  for (let p = 0, j = 0; p < mask.length; p++) if (mask[p] === 0) out[j++] = p;
  return out;
}

/** Scratch copies of reindexBlocks, grown to the largest tensor seen (one per element type). */
let reindexScratch32 = new Float32Array(0);
let reindexScratch64 = new Float64Array(0);

/**
 * In place: block j becomes old block remap[j], or zeros where remap[j] < 0. The old data is copied
 * into a reused scratch array with a zero block after it, which the new blocks read (no allocation
 * and no branch per block: each update re-indexes the values and every optimizer moment).
 */
export function reindexBlocks(data: FloatArray, remap: Int32Array, blockElems: number): void {
  const n = remap.length;
  const size = n * blockElems;
  let old: FloatArray;
  if (data instanceof Float32Array) {
    if (reindexScratch32.length < size + blockElems) reindexScratch32 = new Float32Array(size + blockElems);
    old = reindexScratch32;
  } else {
    if (reindexScratch64.length < size + blockElems) reindexScratch64 = new Float64Array(size + blockElems);
    old = reindexScratch64;
  }
  old.set(data.subarray(0, size));
  old.fill(0, size, size + blockElems);
  if (blockElems === 1) {
    for (let j = 0; j < n; j++) {
      const from = remap[j]!;
      data[j] = old[from < 0 ? n : from]!;
    }
    return;
  }
  if (blockElems < 16) {
    // Small blocks: element copies (a subarray per block cost most of a small-block update).
    for (let j = 0, at = 0; j < n; j++) {
      const from = (remap[j]! < 0 ? n : remap[j]!) * blockElems;
      for (let e = 0; e < blockElems; e++) data[at++] = old[from + e]!;
    }
    return;
  }
  for (let j = 0; j < n; j++) {
    const from = (remap[j]! < 0 ? n : remap[j]!) * blockElems;
    data.set(old.subarray(from, from + blockElems), j * blockElems);
  }
}

/** What reindexOptimizerState needs of an optimizer (every Optimizer has it). */
export interface StatefulOptimizer {
  stateDict(options?: OptimizerStateDictOptions): OptimizerState;
}

/**
 * Re-indexes every state buffer (exp_avg, exp_avg_sq, momentum...) of parameter `paramName` like
 * its values: kept blocks move with their block, new blocks start at zero. Returns the buffers changed.
 */
export function reindexOptimizerState(optimizer: StatefulOptimizer, paramName: string, remap: Int32Array, blockElems: number): number {
  let changed = 0;
  for (const [key, buffer] of optimizer.stateDict().tensors) {
    const dot = key.indexOf('.');
    if (dot < 0 || key.slice(dot + 1) !== paramName) continue;
    reindexBlocks(buffer.data as FloatArray, remap, blockElems);
    changed++;
  }
  return changed;
}

/** A sparse weight the controller updates: its checkpoint name, pattern and values. */
export interface SparseWeight {
  readonly name: string;
  readonly pattern: BlockSparsePattern;
  readonly values: Tensor;
  /** The layout, when the weight is a Linear's (RigL asks it for the dense gradient). */
  readonly layout?: BlockSparseLayout | undefined;
}

/** Every Linear of `model` with a block-sparse layout, under its weight's parameter name. */
export function sparseWeightsOf(model: Module): SparseWeight[] {
  const out: SparseWeight[] = [];
  for (const [prefix, m] of model.namedModules()) {
    if (!(m instanceof Linear) || !isBlockSparseLayout(m.layout)) continue;
    out.push({ name: prefix ? `${prefix}.weight` : 'weight', pattern: m.layout.pattern, values: m.weight, layout: m.layout });
  }
  return out;
}

export interface DynSparseOptions {
  readonly mode: SparsityMode;
  readonly schedule: PruneSchedule;
  /** p of the Lp block norm; default 1. */
  readonly normOrder?: number | undefined;
  /** Seed (or generator) of the random regrowth. */
  readonly seed: number | Rng;
  /** "Recently" regrown = in the last this many updates (telemetry); default 1. */
  readonly recentUpdates?: number | undefined;
}

export interface TensorTelemetry {
  readonly name: string;
  /** Active blocks / all blocks (constant). */
  readonly density: number;
  /** Positions ever active / all positions (explored degrees of freedom). */
  readonly explored: number;
  /** Of the blocks pruned now, the fraction regrown in the last `recentUpdates` updates. */
  readonly prunedRecentlyRegrown: number;
  readonly pruned: number;
  readonly regrown: number;
}

export interface UpdateTelemetry {
  readonly step: number;
  readonly update: number;
  readonly pruneFraction: number;
  readonly tensors: readonly TensorTelemetry[];
}

/** The controller's own state, for checkpoints (resume is bit-exact with the pattern buffers and this). */
export interface DynSparseState {
  readonly rng: RngState;
  /** Per weight name: positions ever active (0/1) and the update that last regrew each (-1: never). */
  readonly weights: { readonly [name: string]: { readonly everActive: number[]; readonly lastRegrown: number[] } };
}

interface Tracked {
  readonly weight: SparseWeight;
  readonly everActive: Uint8Array;
  readonly lastRegrown: Int32Array;
  /** Positions ever active (the ones of everActive), kept so an update need not count the grid. */
  explored: number;
}

function countOnes(flags: Uint8Array): number {
  let n = 0;
  for (let i = 0; i < flags.length; i++) n += flags[i]!;
  return n;
}

/**
 * Runs the prune-and-regrow schedule over a set of sparse weights. Per training step t (1-based):
 * beginStep(t) before the forward (RigL captures the dense gradient on update steps), then after
 * optimizer.step(): afterStep(t, optimizer), which updates patterns, values and optimizer state on
 * update steps and returns the telemetry (null otherwise).
 */
export class DynSparseController {
  readonly mode: SparsityMode;
  readonly schedule: PruneSchedule;
  readonly normOrder: number;
  readonly recentUpdates: number;
  readonly rng: Rng;
  readonly #tracked: Tracked[];

  constructor(weights: readonly SparseWeight[], options: DynSparseOptions) {
    if (!SPARSITY_MODES.includes(options.mode)) throw new RangeError(`dynsparse: mode must be one of ${SPARSITY_MODES.join(', ')}, got ${String(options.mode)}`);
    checkPruneSchedule(options.schedule);
    if (options.mode === 'dense' && weights.length > 0) throw new RangeError('dynsparse: mode dense with block-sparse weights (use static, dynamic or rigl)');
    this.mode = options.mode;
    this.schedule = options.schedule;
    this.normOrder = options.normOrder ?? 1;
    if (!(this.normOrder > 0)) throw new RangeError(`dynsparse: norm order must be positive, got ${this.normOrder}`);
    this.recentUpdates = options.recentUpdates ?? 1;
    this.rng = typeof options.seed === 'number' ? new Rng(options.seed) : options.seed;
    this.#tracked = weights.map((weight) => {
      if (weight.values.size !== weight.pattern.valueCount) {
        throw new RangeError(`dynsparse: '${weight.name}' has ${weight.values.size} values, its pattern ${weight.pattern.valueCount}`);
      }
      if (this.mode === 'rigl' && !weight.layout) throw new RangeError(`dynsparse: rigl needs the layout of '${weight.name}' for the dense gradient`);
      const everActive = weight.pattern.mask();
      return { weight, everActive, lastRegrown: new Int32Array(weight.pattern.totalBlocks).fill(-1), explored: countOnes(everActive) };
    });
  }

  get weights(): readonly SparseWeight[] {
    return this.#tracked.map((t) => t.weight);
  }

  /** Call before the forward of step t: on RigL update steps the layers capture the dense gradient. */
  beginStep(step: number): void {
    if (this.mode !== 'rigl') return;
    const capture = updateIndex(step, this.schedule) > 0;
    for (const { weight } of this.#tracked) {
      weight.layout!.captureDenseGradient = capture;
      weight.layout!.denseGradient = null;
    }
  }

  /** Call after the optimizer's step t: prunes and regrows on update steps. */
  afterStep(step: number, optimizer: StatefulOptimizer | null): UpdateTelemetry | null {
    const update = updateIndex(step, this.schedule);
    if (update === 0 || this.mode === 'static' || this.mode === 'dense') return null;
    const fraction = pruneFraction(step, this.schedule);
    const tensors: TensorTelemetry[] = [];
    for (const tracked of this.#tracked) {
      const { weight, everActive, lastRegrown } = tracked;
      const { pattern, values } = weight;
      const bb = pattern.block * pattern.block;
      let denseGradient: FloatArray | undefined;
      if (this.mode === 'rigl') {
        const g = weight.layout!.denseGradient;
        if (!g) throw new Error(`dynsparse: no dense gradient for '${weight.name}' at update step ${step} (call beginStep(${step}) before its forward)`);
        denseGradient = g.toArray() as FloatArray;
        weight.layout!.captureDenseGradient = false;
        weight.layout!.denseGradient = null;
      }
      const result = pruneAndRegrow({
        pattern, values: values.data as FloatArray, fraction, regrow: this.mode === 'rigl' ? 'gradient' : 'random',
        rng: this.rng, normOrder: this.normOrder, denseGradient,
      });
      reindexBlocks(values.data as FloatArray, result.remap, bb);
      if (optimizer) reindexOptimizerState(optimizer, weight.name, result.remap, bb);
      let recent = 0;
      for (const p of result.pruned) if (lastRegrown[p]! >= 0 && lastRegrown[p]! >= update - this.recentUpdates) recent++;
      for (const p of result.regrown) {
        lastRegrown[p] = update;
        tracked.explored += 1 - everActive[p]!;
        everActive[p] = 1;
      }
      const explored = tracked.explored;
      tensors.push({
        name: weight.name,
        density: pattern.density,
        explored: explored / pattern.totalBlocks,
        prunedRecentlyRegrown: result.pruned.length ? recent / result.pruned.length : 0,
        pruned: result.pruned.length,
        regrown: result.regrown.length,
      });
    }
    return { step, update, pruneFraction: fraction, tensors };
  }

  /** A copy of the positions ever active (0/1, block-row-major) of weight `name`, or null when it is not tracked. */
  everActiveOf(name: string): Uint8Array | null {
    const tracked = this.#tracked.find((t) => t.weight.name === name);
    return tracked ? tracked.everActive.slice() : null;
  }

  stateDict(): DynSparseState {
    const weights: Record<string, { everActive: number[]; lastRegrown: number[] }> = {};
    for (const t of this.#tracked) weights[t.weight.name] = { everActive: Array.from(t.everActive), lastRegrown: Array.from(t.lastRegrown) };
    return { rng: this.rng.getState(), weights };
  }

  loadStateDict(state: DynSparseState): void {
    for (const t of this.#tracked) {
      const saved = state.weights[t.weight.name];
      if (!saved || saved.everActive.length !== t.everActive.length || saved.lastRegrown.length !== t.lastRegrown.length) {
        throw new Error(`dynsparse: the saved state lacks '${t.weight.name}' or has other sizes`);
      }
      t.everActive.set(saved.everActive);
      t.lastRegrown.set(saved.lastRegrown);
      t.explored = countOnes(t.everActive);
    }
    this.rng.setState(state.rng);
  }
}
