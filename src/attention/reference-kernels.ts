// The reference decode-attention kernels: plain TypeScript loops over each task's block (f64
// arithmetic, f32 in and out), the oracle the fast implementations are tested against, and the
// kernels used when the backend supplies none.

import type {
  AttentionHeadTask, AttentionKernels, H2oHeadTask, ProjectedHeadTask, RandomProjectionKernelParams, SparqKernelParams,
} from '../ops/attention-kernels.js';
import { exactTopKHead, h2oHead, lmInfiniteHead, oracleHead } from './baselines.js';
import { denseAttentionHead } from './dense.js';
import { blockHeadView } from './head.js';
import { randomProjectionHead } from './random-projection.js';
import { SelectWork } from './select.js';
import { sparqAttentionHead } from './sparq.js';

export class ReferenceAttentionKernels implements AttentionKernels {
  readonly name = 'reference';
  readonly needsResidentCache = false;
  // The oracle reads either dtype; f32 keeps reference decoding identical to the training-time math.
  readonly defaultKvDType = 'f32' as const;
  private readonly work = new SelectWork();

  isResident(): boolean {
    return true;
  }

  supports(headDim: number): boolean {
    return Number.isInteger(headDim) && headDim > 0;
  }

  dense(tasks: readonly AttentionHeadTask[], q: Float32Array, out: Float32Array, _headDim: number, group: number): void {
    for (const t of tasks) denseAttentionHead(blockHeadView(t.block), q, t.qOffset, group, out, t.outOffset);
  }

  sparq(tasks: readonly AttentionHeadTask[], q: Float32Array, out: Float32Array, _headDim: number, group: number,
    params: SparqKernelParams): void {
    for (const t of tasks) {
      sparqAttentionHead(blockHeadView(t.block, params.transposed), q, t.qOffset, group, params, out, t.outOffset, this.work);
    }
  }

  lmInfinite(tasks: readonly AttentionHeadTask[], q: Float32Array, out: Float32Array, _headDim: number, group: number,
    params: { readonly topK: number; readonly sinks: number }): void {
    for (const t of tasks) lmInfiniteHead(blockHeadView(t.block), q, t.qOffset, group, params.topK, params.sinks, out, t.outOffset);
  }

  exactTopK(tasks: readonly AttentionHeadTask[], q: Float32Array, out: Float32Array, _headDim: number, group: number,
    params: { readonly topK: number; readonly oracle?: boolean | undefined }): void {
    for (const t of tasks) {
      const view = blockHeadView(t.block);
      // Same result; the oracle is handed its selection and reads only the k rows it attends.
      if (params.oracle) oracleHead(view, view, q, t.qOffset, group, params.topK, out, t.outOffset, this.work);
      else exactTopKHead(view, q, t.qOffset, group, params.topK, out, t.outOffset, this.work);
    }
  }

  h2o(tasks: readonly H2oHeadTask[], q: Float32Array, out: Float32Array, _headDim: number, group: number,
    params: { readonly topK: number; readonly localWindow: number }): void {
    for (const t of tasks) {
      h2oHead(blockHeadView(t.block), t.scores, q, t.qOffset, group, params.topK, params.localWindow, out, t.outOffset, this.work);
    }
  }

  randomProjection(tasks: readonly ProjectedHeadTask[], q: Float32Array, out: Float32Array, _headDim: number, group: number,
    params: RandomProjectionKernelParams): void {
    for (const t of tasks) {
      randomProjectionHead(blockHeadView(t.block), { data: t.projectedKeys, stride: t.projectedStride }, params.projection, q, t.qOffset, group,
        params, out, t.outOffset, this.work);
    }
  }
}

/** The one reference instance (stateless apart from its selection scratch). */
export const referenceAttentionKernels: AttentionKernels = new ReferenceAttentionKernels();
