// Entry point of the kernel module. Built twice by tools/build-wasm.mjs (plain SIMD and relaxed
// SIMD); the source is shared and only vmath.madd differs, through ASC_FEATURE_RELAXED_SIMD.
// Memory is imported and shared; the module allocates nothing: every buffer is a pointer from JS.

export { gemm, gemm_work_bytes, gemm_nt_small, gemm_nn_small, gemm_batched, gemv, gemv_t } from './gemm';
export { unary, unary_grad, binary, binary_row, binary_scalar, stream_sum } from './elementwise';
export { softmax_rows, log_softmax_rows, layernorm_rows, rmsnorm_rows, softmax_grad_rows, layernorm_grad_rows } from './rows';
export { adam_update } from './optim';
export {
  attn_dense, attn_dense_work_bytes, attn_sparq, attn_sparq_work_bytes, attn_topk, attn_topk_work_bytes,
  attn_lminf, attn_exact, attn_h2o, kv_block_offset, kv_widen_f16,
} from './attention';
export {
  bsr_rows, bsr_offsets, bsr_rows_work_bytes, bsr_rows1, bsr_rows1_work_bytes, bsr_rows4, bsr_rows4_work_bytes, bsr_pack,
  bsr_sddmm_rows, bsr_sddmm_rows_work_bytes, bsr_sddmm1, bsr_sddmm1_work_bytes, bsr_sddmm4, bsr_sddmm4_work_bytes,
} from './block-sparse';
export { q_matmul, q_matmul_work_bytes, q_matmul_q, q_quantize_act, q_act_bytes } from './quant';

/** First byte JS may allocate from: everything below is reserved for static data. */
export function heap_base(): usize {
  return (__heap_base + 63) & ~(<usize>63);
}

/** 1 in the relaxed-SIMD build: lets the JS side check which binary it instantiated. */
export function relaxed_simd(): i32 {
  return ASC_FEATURE_RELAXED_SIMD ? 1 : 0;
}
