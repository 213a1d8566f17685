// Dispatch overhead: f32 gemv 1024 x 1024 (4 MiB, ~0.15 ms) on 1 and 2 threads, back to back and
// with G us of JS work between calls (decode runs JS between kernels). Prints median us per call
// (the gap excluded) and the 2-thread speedup. Usage: node pool.mjs <repo root> [label] [calls]
import { median as med, openKernels } from './common.mjs';
const root = process.argv[2];
const label = process.argv[3] ?? root;
const calls = Number(process.argv[4] ?? 400);
const { k, pool } = await openKernels(root);
const size = Number(process.argv[5] ?? 1024);
const rw = k.allocF32(size * size); for (let i = 0; i < rw.length; i++) rw[i] = (i % 7) - 3;
const rx = k.allocF32(size); rx.fill(0.5);
const ry = k.allocF32(size);
const spin = (us) => { const t = performance.now() + us / 1000; while (performance.now() < t); };
for (const gap of [0, 100, 300, 1000]) {
  const res = {};
  const times = { 1: [], 2: [] };
  // Blocks of 20 calls per thread count, alternating; the first call of a block is not timed.
  for (let r = 0; r < calls / 20; r++) {
    for (const threads of r % 2 ? [1, 2] : [2, 1]) {
      k.setThreads(threads);
      for (let c = 0; c < 21; c++) {
        spin(gap);
        const t0 = performance.now(); k.gemv(rw, rx, ry, size, size);
        if (c > 0) times[threads].push(performance.now() - t0);
      }
    }
  }
  for (const t of [1, 2]) res[`us${t}T`] = +(med(times[t]) * 1000).toFixed(1);
  console.log(JSON.stringify({ label, size, gapUs: gap, ...res, speedup: +(res.us1T / res.us2T).toFixed(2) }));
}
k.dispose(); pool.dispose();
