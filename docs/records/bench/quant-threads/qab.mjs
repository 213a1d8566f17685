// A/B helper: times f32 gemv and WasmQuant (Q8_0, Q4_0, F16, BF16) at 4096 x 4096 in one process,
// threads 1 and 2, interleaved rounds; prints one JSON line per case with the median ms and the
// median per-round ratio to the f32 gemv. Usage: node qab.mjs <repo root> [label] [rounds] [n]
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
const root = process.argv[2];
const label = process.argv[3] ?? root;
const rounds = Number(process.argv[4] ?? 15);
const ntok = Number(process.argv[5] ?? 1);
const imp = (p) => import(pathToFileURL(join(root, 'dist/src', p)).href);
const { WasmKernels } = await imp('backend/wasm/kernels.js');
const { WasmQuant } = await imp('backend/wasm/quant.js');
const { createNodeThreadPool, enableRelaxedSimd } = await imp('node/wasm-pool.js');
const { quantizeQ8_0, quantizeQ4_0 } = await imp('io/gguf.js');
const { f32ToHalf } = await imp('tensor/dtype.js');
enableRelaxedSimd();
const pool = await createNodeThreadPool({ threads: 2 });
const k = await WasmKernels.create({ relaxedSimd: true, pool });
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
for (const threads of [1, 2]) {
  k.setThreads(threads);
  const times = cases.map(() => []);
  for (const c of cases) { c.run(); c.run(); }
  for (let r = 0; r < rounds; r++) {
    for (let i = 0; i < cases.length; i++) {
      const j = (i + r) % cases.length;
      const t0 = performance.now(); cases[j].run(); times[j].push(performance.now() - t0);
    }
  }
  const med = (a) => { const b = [...a].sort((x, y) => x - y); return b[b.length >> 1]; };
  cases.forEach((c, i) => {
    const ratios = times[i].map((t, r) => times[0][r] / t);
    const ms = med(times[i]);
    console.log(JSON.stringify({ label, n: ntok, threads, format: c.name, ms: +ms.toFixed(3), gbps: +(c.bytes / ms / 1e6).toFixed(1), speedupVsF32: +med(ratios).toFixed(2) }));
  });
}
k.dispose(); pool.dispose();
