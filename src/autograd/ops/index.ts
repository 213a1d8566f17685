// The functional API: every differentiable op (and the few non-differentiable helpers that live
// beside them: comparisons, argmax/argmin, ropeTables). Each op has a row in the gradcheck suite
// (test/ops/gradcheck.test.ts), which fails when an op exported here has none.

export * from './elementwise.js';
export * from './reduce.js';
export * from './movement.js';
export * from './linalg.js';
export * from './softmax.js';
export * from './norm.js';
export * from './conv.js';
export * from './indexing.js';
export * from './rope.js';
export * from './loss.js';
export * from './dropout.js';
export * from './block-sparse.js';
