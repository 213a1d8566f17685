// The block-sparse WeightLayout: `new Linear(in, out, { layout: blockSparseLayout({ block: 16, density: 0.1 }) })`
// trains a Linear whose weight is sparse from the first step. The weight parameter is the values of
// the active blocks, [active, b, b]; the pattern lives in two i32 buffers of the Linear
// (block_row_ptr [out/b + 1], block_col_idx [active]), so a checkpoint holds it and the names of
// the dense parts (weight, bias) are unchanged. The number of active blocks never changes: the
// prune-and-regrow controller (src/train/dynsparse.ts) rewrites the pattern and the values in place.
//
// A layout instance holds its Linear's pattern, so each Linear needs its own (call blockSparseLayout
// once per layer).

import { blockSparseLinear } from '../autograd/ops/block-sparse.js';
import type { Rng } from '../tensor/rng.js';
import { Tensor } from '../tensor/tensor.js';
import { activeBlockCount, BlockSparsePattern, checkBlockSize } from './block-sparse.js';
import { fillNormal_, uniform_, type WeightInit } from './init.js';
import type { WeightLayout } from './weight-layout.js';

export interface BlockSparseLayoutOptions {
  /** Block edge b (1, 4, 8 or 16 have wasm kernels; any b dividing both dimensions works). */
  readonly block: number;
  /** Fraction of blocks active, in (0, 1]: 1 - sparsity. */
  readonly density: number;
}

export interface BlockSparseLayout extends WeightLayout {
  readonly kind: 'block-sparse';
  readonly block: number;
  readonly density: number;
  /** The pattern of the Linear this layout serves (throws before the Linear is built). */
  readonly pattern: BlockSparsePattern;
  /**
   * While true, every backward through this layer adds the dense dL/dW [out, in] into
   * denseGradient (RigL's update steps); leave it false otherwise: it costs a dense matmul.
   */
  captureDenseGradient: boolean;
  /** The captured dense gradient (reset it to null before the step that captures). */
  denseGradient: Tensor | null;
}

export function isBlockSparseLayout(layout: WeightLayout): layout is BlockSparseLayout {
  return layout.kind === 'block-sparse';
}

class BlockSparseLayoutImpl implements BlockSparseLayout {
  readonly kind = 'block-sparse' as const;
  readonly block: number;
  readonly density: number;
  captureDenseGradient = false;
  denseGradient: Tensor | null = null;
  #pattern: BlockSparsePattern | null = null;
  #rowPtr: Tensor | null = null;
  #colIdx: Tensor | null = null;

  constructor(options: BlockSparseLayoutOptions) {
    const { block, density } = options;
    if (!Number.isInteger(block) || block < 1) throw new RangeError(`blockSparseLayout: block must be a positive integer, got ${block}`);
    if (!(density > 0 && density <= 1)) throw new RangeError(`blockSparseLayout: density must be in (0, 1] (sparsity in [0, 1)), got ${density}`);
    this.block = block;
    this.density = density;
  }

  get pattern(): BlockSparsePattern {
    if (!this.#pattern) throw new Error('blockSparseLayout: no Linear has been built with this layout yet');
    return this.#pattern;
  }

  weightShape(inFeatures: number, outFeatures: number): readonly number[] {
    if (this.#pattern) {
      throw new Error('blockSparseLayout: this layout already serves a Linear; create one layout per layer (it holds the pattern)');
    }
    const b = this.block;
    checkBlockSize(outFeatures, inFeatures, b, `blockSparseLayout (Linear ${inFeatures} -> ${outFeatures})`);
    const count = activeBlockCount((outFeatures / b) * (inFeatures / b), this.density);
    // A valid placeholder (the first blocks); initialize() draws the random pattern, loading overwrites it.
    const first = BlockSparsePattern.firstBlocks(outFeatures, inFeatures, b, count);
    this.#rowPtr = new Tensor(first.rowPtr, 'i32', [first.rowPtr.length]);
    this.#colIdx = new Tensor(first.colIdx, 'i32', [first.colIdx.length]);
    this.#pattern = first;
    return [count, b, b];
  }

  buffers(): ReadonlyArray<readonly [string, Tensor]> {
    if (!this.#rowPtr || !this.#colIdx) throw new Error('blockSparseLayout: buffers() before weightShape()');
    return [['block_row_ptr', this.#rowPtr], ['block_col_idx', this.#colIdx]];
  }

  initialize(weight: Tensor, bias: Tensor | null, init: Exclude<WeightInit, 'zeros'>, rng: Rng, inFeatures: number): void {
    const pattern = this.pattern;
    pattern.randomize(rng);
    if (init === 'torch' || init === 'xavierUniform') {
      // The dense layer's distribution for the active entries: nn.Linear's U(±1/sqrt(in)), or Xavier's U(±sqrt(6/(in+out))).
      const bound = init === 'torch' ? (inFeatures > 0 ? 1 / Math.sqrt(inFeatures) : 0) : Math.sqrt(6 / (inFeatures + pattern.rows));
      uniform_(weight, rng, { low: -bound, high: bound });
      if (bias && init === 'torch') uniform_(bias, rng, { low: -bound, high: bound });
    } else {
      fillNormal_(weight, rng, init);
    }
  }

  forward(x: Tensor, weight: Tensor, bias: Tensor | null): Tensor {
    const onDenseGradient = this.captureDenseGradient
      ? (g: Tensor) => {
        this.denseGradient = this.denseGradient ? addInto(this.denseGradient, g) : g;
      }
      : undefined;
    return blockSparseLinear(x, weight, this.pattern, bias, { onDenseGradient });
  }
}

function addInto(acc: Tensor, g: Tensor): Tensor {
  const a = acc.data;
  const b = g.toArray();
  for (let i = 0; i < b.length; i++) a[i] = a[i]! + b[i]!;
  return acc;
}

/** A fresh block-sparse layout for one Linear. */
export function blockSparseLayout(options: BlockSparseLayoutOptions): BlockSparseLayout {
  return new BlockSparseLayoutImpl(options);
}
