// The block-sparse linear map: y = x Wᵀ + b with W [out, in] stored as active b x b blocks
// (src/backend/reference/block-sparse.ts). The values array of the active blocks is the
// differentiable input; the structure is a constant of the call. Backward gives dx = dy W and the
// values' gradient (dyᵀ x at the active blocks only); on request (RigL's update steps) also the
// dense dL/dW = dyᵀ x, through the dense matmul.

import { getBackend, kernels } from '../../backend/backend.js';
import {
  activeBlocks, blockSparseGradInputReference, blockSparseGradValuesReference, blockSparseMatmulReference,
  blockSparseProductsOf, checkStructure, type BlockSparseProducts, type BlockSparseStructure,
} from '../../backend/reference/block-sparse.js';
import { isFloat, type FloatArray } from '../../tensor/dtype.js';
import { formatShape } from '../../tensor/shape.js';
import { Tensor } from '../../tensor/tensor.js';
import { defineOp } from '../engine.js';
import { add } from './elementwise.js';
import { reshape } from './movement.js';

export type { BlockSparseStructure } from '../../backend/reference/block-sparse.js';

interface BlockSparseAttrs {
  readonly structure: BlockSparseStructure;
  readonly onDenseGradient: ((grad: Tensor) => void) | undefined;
}

interface BlockSparseSaved {
  /** The products of the backend the forward ran on (null: reference kernels). */
  readonly products: BlockSparseProducts | null;
}

function floatData(t: Tensor): FloatArray {
  return t.toArray() as FloatArray;
}

function alloc(like: FloatArray, n: number): FloatArray {
  return like instanceof Float64Array ? new Float64Array(n) : new Float32Array(n);
}

const blockSparseMatmulOp = defineOp<BlockSparseAttrs, BlockSparseSaved>({
  name: 'blockSparseMatmul',
  forward: (_k, [x, values], { structure }) => {
    const n = x!.shape[0]!;
    const xd = floatData(x!);
    const vd = floatData(values!);
    const y = alloc(xd, n * structure.rows);
    const products = x!.dtype === 'f32' ? blockSparseProductsOf(getBackend()) : null;
    if (products) products.matmul(xd as Float32Array, n, structure, vd as Float32Array, y as Float32Array);
    else blockSparseMatmulReference(xd, n, structure, vd, y);
    return { outputs: [new Tensor(y, x!.dtype, [n, structure.rows])], saved: { products } };
  },
  backward: ({ inputs: [x, values], attrs: { structure, onDenseGradient }, saved: { products }, needsGrad }, [dy]) => {
    if (!dy) return [null, null];
    const n = x!.shape[0]!;
    const dyd = floatData(dy);
    const xd = floatData(x!);
    let dx: Tensor | null = null;
    let dValues: Tensor | null = null;
    if (needsGrad(0)) {
      const out = alloc(xd, n * structure.cols);
      if (products) products.gradInput(dyd as Float32Array, n, structure, floatData(values!) as Float32Array, out as Float32Array);
      else blockSparseGradInputReference(dyd, n, structure, floatData(values!), out);
      dx = new Tensor(out, x!.dtype, x!.shape);
    }
    if (needsGrad(1)) {
      const out = alloc(xd, values!.size);
      if (products) products.gradValues(dyd as Float32Array, xd as Float32Array, n, structure, out as Float32Array);
      else blockSparseGradValuesReference(dyd, xd, n, structure, out);
      dValues = new Tensor(out, values!.dtype, values!.shape);
    }
    if (onDenseGradient) {
      // dyᵀ as a view: [rows, n] with swapped strides.
      const dyC = new Tensor(dyd, dy.dtype, [n, structure.rows]);
      const dyT = new Tensor(dyC.data, dyC.dtype, [structure.rows, n], [1, structure.rows], 0);
      onDenseGradient(kernels().matmul(dyT, new Tensor(xd, x!.dtype, [n, structure.cols])));
    }
    return [dx, dValues];
  },
});

export interface BlockSparseLinearOptions {
  /**
   * Receives the dense dL/dW [out, in] = dyᵀ x during backward (each call of the op; the caller
   * sums): RigL ranks inactive blocks by it at update steps. Costs a dense matmul, so set it only then.
   */
  readonly onDenseGradient?: ((grad: Tensor) => void) | undefined;
}

/**
 * y = x Wᵀ + b for x [..., in] and a block-sparse W [out, in]: `values` holds the active blocks
 * ([active, b, b] or flat, in the structure's order), `structure` says where they are.
 */
export function blockSparseLinear(x: Tensor, values: Tensor, structure: BlockSparseStructure, bias?: Tensor | null,
  options: BlockSparseLinearOptions = {}): Tensor {
  checkStructure(structure, 'blockSparseLinear');
  const { rows, cols, block } = structure;
  const expected = activeBlocks(structure) * block * block;
  if (!isFloat(x.dtype) || x.dtype !== values.dtype) {
    throw new Error(`blockSparseLinear: x (${x.dtype}) and values (${values.dtype}) must share one float dtype`);
  }
  if (values.size !== expected) {
    throw new Error(`blockSparseLinear: values ${formatShape(values.shape)} hold ${values.size} elements, the pattern's active blocks need ${expected}`);
  }
  if (x.rank < 1 || x.shape[x.rank - 1] !== cols) {
    throw new Error(`blockSparseLinear: input ${formatShape(x.shape)} does not end in the weight's ${cols} input features`);
  }
  const flat = reshape(x, [-1, cols]);
  let y = blockSparseMatmulOp([flat, values], { structure, onDenseGradient: options.onDenseGradient })[0]!;
  if (bias) y = add(y, bias);
  return reshape(y, [...x.shape.slice(0, -1), rows]);
}
