// Minimum (and median) ms over many calls of each format at 1 thread: under heavy load the
// minimum is the closest to the machine's undisturbed speed. Usage: node qmin.mjs <root> [label] [reps] [threads]
import { openKernels, quantCases } from './common.mjs';
const root = process.argv[2];
const label = process.argv[3] ?? root;
const reps = Number(process.argv[4] ?? 30);
const threads = Number(process.argv[5] ?? 1);
const relaxed = process.argv[6] !== 'simd';
const { imp, k, pool } = await openKernels(root, { relaxed });
k.setThreads(threads);
const { rows, cols, cases } = await quantCases(imp, k, 1);
const times = cases.map(() => []);
for (const c of cases) { c.run(); c.run(); }
for (let r = 0; r < reps; r++) for (let i = 0; i < cases.length; i++) { const t0 = performance.now(); cases[i].run(); times[i].push(performance.now() - t0); }
cases.forEach((c, i) => { const t = [...times[i]].sort((a, b) => a - b); console.log(JSON.stringify({ label, threads, relaxed, format: c.name, minMs: +t[0].toFixed(3), medMs: +t[t.length >> 1].toFixed(3), gbpsAtMin: +(c.bytes / t[0] / 1e6).toFixed(1), weightsPerNsAtMin: +(rows * cols / t[0] / 1e6).toFixed(2) })); });
k.dispose(); pool.dispose();
