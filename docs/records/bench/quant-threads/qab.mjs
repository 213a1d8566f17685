// A/B helper: times f32 gemv and WasmQuant (Q8_0, Q4_0, F16, BF16) at 4096 x 4096 in one process,
// threads 1 and 2, interleaved rounds; prints one JSON line per case with the median ms and the
// median per-round ratio to the f32 gemv. Usage: node qab.mjs <repo root> [label] [rounds] [n]
import { median as med, openKernels, quantCases } from './common.mjs';
const root = process.argv[2];
const label = process.argv[3] ?? root;
const rounds = Number(process.argv[4] ?? 15);
const ntok = Number(process.argv[5] ?? 1);
const { imp, k, pool } = await openKernels(root);
const { cases } = await quantCases(imp, k, ntok);
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
  cases.forEach((c, i) => {
    const ratios = times[i].map((t, r) => times[0][r] / t);
    const ms = med(times[i]);
    console.log(JSON.stringify({ label, n: ntok, threads, format: c.name, ms: +ms.toFixed(3), gbps: +(c.bytes / ms / 1e6).toFixed(1), speedupVsF32: +med(ratios).toFixed(2) }));
  });
}
k.dispose(); pool.dispose();
