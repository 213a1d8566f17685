// Same-process A/B of the quantized gemv kernels: two builds (A = base worktree, B = this branch)
// loaded side by side, each with its own pool and arena, cases interleaved round by round (the order
// rotates every round). A case is one build, one shape, one thread count and one format (F32 = the
// dense gemv of the same build); it runs `calls` products per round and records wall and process CPU
// time (all threads) per call. Prints one JSON line per case: medians over rounds, the median
// per-round ratio to the same build's F32 gemv and to build A's same case, the minima, GB/s of the
// stored bytes (median wall),
// and the max relative error against the build's reference twin.
// Usage: node --experimental-wasm-relaxed-simd gemv-ab.mjs <root A> <root B> [rounds] [shapes] [formats] [threads]
//   shapes: comma-separated ROWSxCOLS (default 4096x4096,1024x1024,2816x1024,1024x2816); formats
//   default F32,Q8_0,Q4_0,F16,BF16; threads default 1,2
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { loadavg } from 'node:os';

const [rootA, rootB] = [process.argv[2], process.argv[3]];
const rounds = Number(process.argv[4] ?? 9);
const shapes = (process.argv[5] ?? '4096x4096,1024x1024,2816x1024,1024x2816').split(',').map((s) => s.split('x').map(Number));
const formats = (process.argv[6] ?? 'F32,Q8_0,Q4_0,F16,BF16').split(',');
const threadCounts = (process.argv[7] ?? '1,2').split(',').map(Number);

async function openBuild(root, label) {
  const imp = (p) => import(pathToFileURL(join(root, 'dist/src', p)).href);
  const { WasmKernels } = await imp('backend/wasm/kernels.js');
  const { WasmQuant } = await imp('backend/wasm/quant.js');
  const { quantMatmulReference } = await imp('backend/reference/quant.js');
  const { createNodeThreadPool, enableRelaxedSimd } = await imp('node/wasm-pool.js');
  const { quantizeQ8_0, quantizeQ4_0 } = await imp('io/gguf-quant.js');
  const { f32ToHalf } = await imp('tensor/dtype.js');
  enableRelaxedSimd();
  const pool = await createNodeThreadPool({ threads: 2 });
  const k = await WasmKernels.create({ relaxedSimd: true, pool });
  const quant = new WasmQuant(k);
  const encode = (format, w) => format === 'Q8_0' ? quantizeQ8_0(w) : format === 'Q4_0' ? quantizeQ4_0(w)
    : new Uint8Array(f32ToHalf(w, format === 'F16' ? 'f16' : 'bf16').buffer);
  return { label, k, quant, pool, encode, quantMatmulReference };
}

const builds = [await openBuild(rootA, 'A'), await openBuild(rootB, 'B')];

function weights(rows, cols) {
  const w = new Float32Array(rows * cols);
  let s = 7;
  for (let i = 0; i < w.length; i++) { s ^= s << 13; s >>>= 0; s ^= s >>> 17; s ^= s << 5; s >>>= 0; w[i] = s / 4294967296 - 0.5; }
  return w;
}

const cases = [];
for (const [rows, cols] of shapes) {
  const w = weights(rows, cols);
  const x = Float32Array.from({ length: cols }, (_, i) => Math.sin(i));
  const calls = Math.max(1, Math.round(2e8 / (rows * cols * 4)));
  for (const b of builds) {
    const rx = b.k.allocF32(cols); rx.set(x);
    const ry = b.k.allocF32(rows);
    for (const format of formats) {
      let run; let bytes; let want = null;
      if (format === 'F32') {
        const rw = b.k.allocF32(rows * cols); rw.set(w);
        run = () => b.k.gemv(rw, rx, ry, rows, cols);
        bytes = rows * cols * 4;
      } else {
        const enc = b.encode(format, w);
        const home = b.quant.allocBytes(enc.length); home.set(enc);
        const m = { format, rows, cols, bytes: home };
        want = new Float32Array(rows);
        b.quantMatmulReference(x, 1, { format, rows, cols, bytes: enc }, want);
        run = () => b.quant.matmul(rx, 1, m, ry);
        bytes = enc.length;
      }
      for (const threads of threadCounts) {
        cases.push({ build: b, shape: `${rows}x${cols}`, format, threads, run, bytes, calls, want, ry, wall: [], cpu: [], err: 0 });
      }
    }
  }
}

for (const c of cases) {
  c.build.k.setThreads(c.threads);
  c.run(); c.run();
  if (c.want) {
    let e = 0;
    for (let i = 0; i < c.want.length; i++) e = Math.max(e, Math.abs(c.ry[i] - c.want[i]) / (Math.abs(c.want[i]) + 1e-3));
    c.err = e;
  }
}
const load0 = loadavg()[0];
for (let r = 0; r < rounds; r++) {
  for (let i = 0; i < cases.length; i++) {
    const c = cases[(i + r * 7) % cases.length];
    c.build.k.setThreads(c.threads);
    const u0 = process.cpuUsage();
    const t0 = performance.now();
    for (let j = 0; j < c.calls; j++) c.run();
    const t1 = performance.now();
    const u1 = process.cpuUsage(u0);
    c.wall.push((t1 - t0) / c.calls);
    c.cpu.push((u1.user + u1.system) / 1000 / c.calls);
  }
}
const med = (a) => { const s = [...a].sort((x, y) => x - y); return s.length % 2 ? s[s.length >> 1] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2; };
const find = (build, shape, format, threads) => cases.find((c) => c.build === build && c.shape === shape && c.format === format && c.threads === threads);
console.log(`# ${new Date().toISOString()} rounds ${rounds} load ${load0.toFixed(2)} -> ${loadavg()[0].toFixed(2)} A=${rootA} B=${rootB}`);
for (const c of cases) {
  const f32 = find(c.build, c.shape, 'F32', c.threads);
  const a = find(builds[0], c.shape, c.format, c.threads);
  const ratio = (other) => +med(c.wall.map((t, r) => other.wall[r] / t)).toFixed(3);
  console.log(JSON.stringify({
    build: c.build.label, shape: c.shape, format: c.format, threads: c.threads,
    wallMs: +med(c.wall).toFixed(4), cpuMs: +med(c.cpu).toFixed(4), minWallMs: +Math.min(...c.wall).toFixed(4), minCpuMs: +Math.min(...c.cpu).toFixed(4), gbps: +(c.bytes / med(c.wall) / 1e6).toFixed(1),
    speedupVsF32: ratio(f32), speedupVsA: ratio(a), maxRelErr: +c.err.toExponential(2),
  }));
}
for (const b of builds) { b.k.dispose(); b.pool.dispose(); }
