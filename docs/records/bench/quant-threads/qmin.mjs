// Minimum (and median) ms over many calls of each format at 1 thread: under heavy load the
// minimum is the closest to the machine's undisturbed speed. Usage: node qmin.mjs <root> [label] [reps] [threads]
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
const root = process.argv[2];
const label = process.argv[3] ?? root;
const reps = Number(process.argv[4] ?? 30);
const threads = Number(process.argv[5] ?? 1);
const imp = (p) => import(pathToFileURL(join(root, 'dist/src', p)).href);
const { WasmKernels } = await imp('backend/wasm/kernels.js');
const { WasmQuant } = await imp('backend/wasm/quant.js');
const { createNodeThreadPool, enableRelaxedSimd } = await imp('node/wasm-pool.js');
const { quantizeQ8_0, quantizeQ4_0 } = await imp('io/gguf.js');
const { f32ToHalf } = await imp('tensor/dtype.js');
const relaxed = process.argv[6] !== 'simd';
enableRelaxedSimd();
const pool = await createNodeThreadPool({ threads: 2 });
const k = await WasmKernels.create({ relaxedSimd: relaxed, pool });
k.setThreads(threads);
const rows = 4096, cols = 4096;
const w = new Float32Array(rows * cols);
let s = 7;
for (let i = 0; i < w.length; i++) { s ^= s << 13; s >>>= 0; s ^= s >>> 17; s ^= s << 5; s >>>= 0; w[i] = s / 4294967296 - 0.5; }
const rw = k.allocF32(rows * cols); rw.set(w);
const rx = k.allocF32(cols); for (let i = 0; i < rx.length; i++) rx[i] = Math.sin(i);
const ry = k.allocF32(rows);
const quant = new WasmQuant(k);
const cases = [{ name: 'F32', run: () => k.gemv(rw, rx, ry, rows, cols), bytes: rows * cols * 4 }];
for (const format of ['Q8_0', 'Q4_0', 'F16', 'BF16']) {
  const b = format === 'Q8_0' ? quantizeQ8_0(w) : format === 'Q4_0' ? quantizeQ4_0(w) : new Uint8Array(f32ToHalf(w, format === 'F16' ? 'f16' : 'bf16').buffer);
  const home = quant.allocBytes(b.length); home.set(b);
  const m = { format, rows, cols, bytes: home };
  cases.push({ name: format, run: () => quant.matmul(rx, 1, m, ry), bytes: b.length });
}
const times = cases.map(() => []);
for (const c of cases) { c.run(); c.run(); }
for (let r = 0; r < reps; r++) for (let i = 0; i < cases.length; i++) { const t0 = performance.now(); cases[i].run(); times[i].push(performance.now() - t0); }
cases.forEach((c, i) => { const t = [...times[i]].sort((a, b) => a - b); console.log(JSON.stringify({ label, threads, relaxed, format: c.name, minMs: +t[0].toFixed(3), medMs: +t[t.length >> 1].toFixed(3), gbpsAtMin: +(c.bytes / t[0] / 1e6).toFixed(1), weightsPerNsAtMin: +(rows * cols / t[0] / 1e6).toFixed(2) })); });
k.dispose(); pool.dispose();
