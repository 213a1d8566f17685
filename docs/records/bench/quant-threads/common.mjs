// What qab.mjs, qmin.mjs and pool.mjs share: loading a build's modules from its dist/, the wasm
// kernels on a 2-thread pool, the upper median, and the 4096 x 4096 gemv / matmul cases (the f32
// weights and the same weights stored as Q8_0, Q4_0, F16 and BF16, all in the arena).
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';

/** `import(p)` of `<root>/dist/src/<p>`: each script times the build it is pointed at. */
export function importFrom(root) {
  return (p) => import(pathToFileURL(join(root, 'dist/src', p)).href);
}

/** The upper median (the element at half the length of the sorted copy). */
export function median(values) {
  const sorted = [...values].sort((x, y) => x - y);
  return sorted[sorted.length >> 1];
}

/** The build's wasm kernels (relaxed SIMD unless `relaxed` is false) on a pool of 2 worker threads. */
export async function openKernels(root, { relaxed = true } = {}) {
  const imp = importFrom(root);
  const { WasmKernels } = await imp('backend/wasm/kernels.js');
  const { createNodeThreadPool, enableRelaxedSimd } = await imp('node/wasm-pool.js');
  enableRelaxedSimd();
  const pool = await createNodeThreadPool({ threads: 2 });
  const k = await WasmKernels.create({ relaxedSimd: relaxed, pool });
  return { imp, k, pool };
}

/**
 * The cases of the quantized-kernel A/B: W 4096 x 4096 (xorshift values in [-0.5, 0.5)), x of `ntok`
 * tokens; F32 is the gemv (ntok 1) or the matmul, each format runs WasmQuant's matmul. Each case has
 * its name, `run` and the bytes of W it reads.
 */
export async function quantCases(imp, k, ntok = 1) {
  const { WasmQuant } = await imp('backend/wasm/quant.js');
  // The quantizers moved from io/gguf.js (the build these records were made on) to io/gguf-quant.js.
  const { quantizeQ8_0, quantizeQ4_0 } = await imp('io/gguf-quant.js').catch(() => imp('io/gguf.js'));
  const { f32ToHalf } = await imp('tensor/dtype.js');
  const rows = 4096, cols = 4096;
  const w = new Float32Array(rows * cols);
  let s = 7;
  for (let i = 0; i < w.length; i++) { s ^= s << 13; s >>>= 0; s ^= s >>> 17; s ^= s << 5; s >>>= 0; w[i] = s / 4294967296 - 0.5; }
  const rw = k.allocF32(rows * cols); rw.set(w);
  const rx = k.allocF32(cols * ntok); for (let i = 0; i < rx.length; i++) rx[i] = Math.sin(i);
  const ry = k.allocF32(rows * ntok);
  const quant = new WasmQuant(k);
  const cases = [{ name: 'F32', run: () => (ntok === 1 ? k.gemv(rw, rx, ry, rows, cols) : k.matmul(rx, rw, ry, ntok, rows, cols, false, true)), bytes: rows * cols * 4 }];
  for (const format of ['Q8_0', 'Q4_0', 'F16', 'BF16']) {
    const b = format === 'Q8_0' ? quantizeQ8_0(w) : format === 'Q4_0' ? quantizeQ4_0(w) : new Uint8Array(f32ToHalf(w, format === 'F16' ? 'f16' : 'bf16').buffer);
    const home = quant.allocBytes(b.length); home.set(b);
    const m = { format, rows, cols, bytes: home };
    cases.push({ name: format, run: () => quant.matmul(rx, ntok, m, ry), bytes: b.length });
  }
  return { rows, cols, cases };
}
