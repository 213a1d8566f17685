// createAttentionPolicy: one entry point for every decode-attention policy.

import type { AttentionOptions, AttentionShape, AttentionSpec, DecodeAttention } from './decode-policy.js';
import { DenseAttention, ExactTopKAttention, H2oAttention, LmInfiniteAttention, RandomProjectionAttention, SparqAttention } from './policies.js';

export type { AttentionKind, AttentionOptions, AttentionShape, AttentionSpec, DecodeAttention } from './decode-policy.js';
export { ATTENTION_KINDS } from './decode-policy.js';

export function createAttentionPolicy(spec: AttentionSpec, shape: AttentionShape, options: AttentionOptions = {}): DecodeAttention {
  switch (spec.kind) {
    case 'dense':
      return new DenseAttention(shape, options);
    case 'sparq':
      return new SparqAttention(spec, shape, options);
    case 'h2o':
      return new H2oAttention(spec, shape, options);
    case 'lm-infinite':
      return new LmInfiniteAttention(spec, shape, options);
    case 'flexgen':
    case 'oracle':
      return new ExactTopKAttention(spec.kind, spec, shape, options);
    case 'random-projection':
      return new RandomProjectionAttention(spec, shape, options);
    default: {
      const unknown: never = spec;
      throw new RangeError(`createAttentionPolicy: unknown kind '${String((unknown as { kind: unknown }).kind)}'`);
    }
  }
}

/** The paper's default: reallocation on for multi-head attention, off for grouped-query attention. */
export function defaultReallocation(shape: Pick<AttentionShape, 'heads' | 'kvHeads'>): boolean {
  return shape.heads === shape.kvHeads;
}
