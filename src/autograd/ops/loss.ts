// Losses. Cross-entropy is fused (log-softmax, pick the target, optional label smoothing) so that
// its gradient is the exact softmax - target form and ignored rows cost nothing and produce no NaN.

import { kernels } from '../../backend/backend.js';
import type { KernelTable } from '../../ops/kernels.js';
import { formatShape, shapesEqual } from '../../tensor/shape.js';
import { assertFloat, Tensor } from '../../tensor/tensor.js';
import { defineOp } from '../engine.js';
import { square, sub } from './elementwise.js';
import { mean, sum } from './reduce.js';
import { asTensor, reshapeContiguous } from './util.js';

export type Reduction = 'mean' | 'sum' | 'none';

interface CrossEntropyAttrs {
  /** Targets as [N, 1] i32 with ignored ones replaced by class 0 (they are masked out afterwards). */
  safeTargets: Tensor;
  /** 1 for rows that count, 0 for ignored ones: [N, 1] in the logits' dtype. */
  valid: Tensor;
  validCount: number;
  labelSmoothing: number;
  reduction: Reduction;
  /** The targets' shape: the shape of the per-row losses for reduction 'none'. */
  rowShape: number[];
}

const crossEntropyOp = defineOp<CrossEntropyAttrs, { logProbs: Tensor }>({
  name: 'crossEntropy',
  forward: (k, [logits], { safeTargets, valid, validCount, labelSmoothing, reduction, rowShape }) => {
    const classes = logits!.shape[logits!.rank - 1]!;
    const rows = safeTargets.size;
    const dtype = logits!.dtype;
    const logProbs = k.logSoftmax(reshapeContiguous(logits!, [rows, classes]), 1);
    let rowLoss = k.unary('neg', k.gather(logProbs, 1, safeTargets), 0);
    if (labelSmoothing > 0) {
      // (1 - s) * nll + s * mean over classes of -log p (PyTorch's label_smoothing).
      const uniform = k.unary('neg', k.reduce('sum', logProbs, [1], true), 0);
      rowLoss = k.binary('add', k.binary('mul', rowLoss, asTensor(1 - labelSmoothing, dtype)), k.binary('mul', uniform, asTensor(labelSmoothing / classes, dtype)));
    }
    // where, not a multiply: an ignored row may hold inf (all -inf logits) and inf * 0 is NaN.
    rowLoss = k.where(valid, rowLoss, asTensor(0, dtype));
    let out: Tensor;
    if (reduction === 'none') out = reshapeContiguous(rowLoss, rowShape);
    else {
      const total = k.reduce('sum', rowLoss, [0, 1], false);
      out = reduction === 'sum' ? total : k.binary('mul', total, asTensor(validCount ? 1 / validCount : 0, dtype));
    }
    return { outputs: [out], saved: { logProbs } };
  },
  backward: ({ kernels: k, inputs: [logits], attrs: { safeTargets, valid, validCount, labelSmoothing, reduction }, saved: { logProbs } }, [dy]) => {
    if (!dy) return [null];
    const rows = safeTargets.size;
    const classes = logProbs.shape[1]!;
    const dtype = dy.dtype;
    // d loss_row / d logits = softmax - (1 - s) * onehot(target) - s / C
    let g = k.unary('exp', logProbs, 0);
    if (labelSmoothing > 0) g = k.binary('sub', g, asTensor(labelSmoothing / classes, g.dtype));
    g = subtractTargets(k, g, safeTargets, 1 - labelSmoothing);
    let rowScale: Tensor;
    if (reduction === 'none') rowScale = reshapeContiguous(dy, [rows, 1]);
    else if (reduction === 'sum') rowScale = dy;
    else rowScale = k.binary('mul', dy, asTensor(validCount ? 1 / validCount : 0, dtype));
    g = k.binary('mul', g, rowScale);
    // Ignored rows get no gradient; with none ignored (masked-LM heads, which only see the masked
    // positions) the where would copy the [rows, classes] gradient to change nothing.
    if (validCount < rows) g = k.where(valid, g, asTensor(0, dtype));
    return [reshapeContiguous(g, logits!.shape)];
  },
});

/**
 * g[r, target[r]] -= weight for every row of g [rows, classes]. In place when g is a contiguous
 * float array the caller owns (a kernel's fresh output): the [rows, classes] copy a scatterAdd
 * makes is the size of the vocabulary per row. Same arithmetic as scatterAdd (element + value,
 * rounded to g's dtype).
 */
function subtractTargets(k: KernelTable, g: Tensor, targets: Tensor, weight: number): Tensor {
  const data = g.data;
  if (!g.isContiguous() || !(data instanceof Float32Array || data instanceof Float64Array)) {
    const rows = targets.size;
    return k.scatterAdd(g, 1, targets, k.copy(new Tensor(new Float64Array(rows).fill(-weight), 'f64', [rows, 1]), g.dtype));
  }
  const classes = g.shape[1]!;
  const t = targets.toArray();
  for (let r = 0; r < t.length; r++) data[g.offset + r * classes + t[r]!]! -= weight;
  return g;
}

export interface CrossEntropyOptions {
  /** Targets equal to this are skipped: no loss, no gradient, not counted by 'mean'. */
  ignoreIndex?: number;
  /** 'mean' averages over the targets that are not ignored (0 when all are, rather than NaN). */
  reduction?: Reduction;
  /** Mixes the one-hot target with the uniform distribution: (1 - s) * onehot + s / C. */
  labelSmoothing?: number;
}

/**
 * Cross-entropy of logits [..., C] (classes last) against i32 class targets [...]:
 * -log softmax(logits)[target], as PyTorch's F.cross_entropy with its ignore_index and label_smoothing.
 */
export function crossEntropy(logits: Tensor, targets: Tensor, options: CrossEntropyOptions = {}): Tensor {
  assertFloat(logits, 'crossEntropy');
  if (targets.dtype !== 'i32') throw new Error(`crossEntropy: targets must be i32, got ${targets.dtype}`);
  if (logits.rank < 1 || !shapesEqual(targets.shape, logits.shape.slice(0, -1))) {
    throw new Error(`crossEntropy: targets ${formatShape(targets.shape)} must be logits ${formatShape(logits.shape)} without the class axis`);
  }
  const ignoreIndex = options.ignoreIndex ?? -100;
  const labelSmoothing = options.labelSmoothing ?? 0;
  if (!(labelSmoothing >= 0 && labelSmoothing <= 1)) throw new Error(`crossEntropy: label smoothing must be in [0, 1], got ${labelSmoothing}`);
  const classes = logits.shape[logits.rank - 1]!;
  const rows = targets.size;
  const raw = targets.toArray();
  const safe = new Int32Array(rows);
  const valid = new Float64Array(rows);
  let validCount = 0;
  for (let i = 0; i < rows; i++) {
    const t = raw[i]!;
    if (t === ignoreIndex) continue;
    if (!(t >= 0 && t < classes)) throw new Error(`crossEntropy: target ${t} at row ${i} is outside [0, ${classes}) and is not the ignore index ${ignoreIndex}`);
    safe[i] = t;
    valid[i] = 1;
    validCount++;
  }
  const validMask = kernels().copy(new Tensor(valid, 'f64', [rows, 1]), logits.dtype);
  return crossEntropyOp([logits], {
    safeTargets: new Tensor(safe, 'i32', [rows, 1]),
    valid: validMask,
    validCount,
    labelSmoothing,
    reduction: options.reduction ?? 'mean',
    rowShape: [...targets.shape],
  })[0]!;
}

export interface MseLossOptions {
  reduction?: Reduction;
}

/** Mean squared error (pred - target)^2, reduced by mean (default), sum or not at all; both sides differentiable. */
export function mseLoss(pred: Tensor, target: Tensor, options: MseLossOptions = {}): Tensor {
  const squared = square(sub(pred, target));
  const reduction = options.reduction ?? 'mean';
  if (reduction === 'none') return squared;
  return reduction === 'sum' ? sum(squared) : mean(squared);
}
