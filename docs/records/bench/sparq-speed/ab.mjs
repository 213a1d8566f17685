// Same-run A/B of the wasm decode-attention kernels from several builds (dist folders of worktrees),
// interleaved rounds, medians and minima of wall-clock and process CPU time, paired ratios.
// usage: node ab.mjs --dist base=/work/wt-base/dist --dist new=/work/wt-sparq-speed/dist[@threads]
//   [--threads 2] [--kv f16|f32] [--seq 16384] [--rounds 9] [--cases dense,paper8,even2,paper8once,...] [--json]
//   [--stops 0,1,2,3,4,5,99]: builds patched by prof-patch.py only (SparQ returns after step N).
import { performance } from 'node:perf_hooks';
import { execSync } from 'node:child_process';

const args = process.argv.slice(2);
const dists = [];
const opt = { threads: 2, kv: 'f16', seq: 16384, rounds: 9, warmup: 2, heads: 32, d: 128, cases: 'dense,paper2,paper4,paper8,even2,even4,even8', json: false, stops: '' };
for (let i = 0; i < args.length; i++) {
  const a = args[i];
  if (a === '--dist') { const [n, rest] = args[++i].split('='); const [p, t] = rest.split('@'); dists.push({ name: n, path: p, threads: t === undefined ? undefined : +t }); }
  else if (a === '--json') opt.json = true;
  else opt[a.slice(2)] = isNaN(+args[i + 1]) ? args[++i] : +args[++i];
}
const caseNames = String(opt.cases).split(',');

function parseCase(name, d, S, plan) {
  if (name === 'dense') return { name, kind: 'dense' };
  const m = /^(paper|even)(\d+)(once)?$/.exec(name);
  if (!m) throw new Error(`case ${name}`);
  const p = plan(1 / +m[2], { headDim: d, seqLen: S }, m[1]);
  return { name, kind: 'sparq', params: { rank: Math.min(p.rank, d), topK: p.topK, localWindow: p.localWindow, reallocation: true, transposed: !m[3] } };
}

const setups = [];
for (const dist of dists) {
  const pool = await import(`${dist.path}/src/node/wasm-pool.js`);
  const { WasmAttention } = await import(`${dist.path}/src/backend/wasm/attention.js`);
  const { KvCache } = await import(`${dist.path}/src/attention/kv-cache.js`);
  const { buildHeadTasks } = await import(`${dist.path}/src/attention/decode-policy.js`);
  const { planCompression } = await import(`${dist.path}/src/attention/planner.js`);
  const { transferBytes, transferModel } = await import(`${dist.path}/src/attention/transfers.js`);
  const kernels = await pool.createNodeWasmKernels({ threads: dist.threads ?? opt.threads });
  const attention = new WasmAttention(kernels);
  const cache = new KvCache({ layers: 1, kvHeads: opt.heads, headDim: opt.d, batch: 1, initialCapacity: opt.seq, maxLength: opt.seq,
    storeKTransposed: true, allocator: attention.cacheAllocator, release: attention.cacheRelease, dtype: opt.kv });
  // Same values in every build: xorshift from a fixed seed.
  let x = 12345;
  const next = () => { x ^= x << 13; x ^= x >>> 17; x ^= x << 5; return (x >>> 0) / 2147483648 - 1; };
  const rowF = opt.heads * opt.d;
  const chunk = 256;
  const k = new Float32Array(chunk * rowF);
  const v = new Float32Array(chunk * rowF);
  for (let t = 0; t < opt.seq; t += chunk) {
    const n = Math.min(chunk, opt.seq - t);
    for (let i = 0; i < n * rowF; i++) { k[i] = next(); v[i] = next(); }
    cache.append(0, 0, k, v, n);
  }
  const tasks = buildHeadTasks(attention, cache, 0, [0], opt.heads);
  let y = 777;
  const q = Float32Array.from({ length: rowF }, () => { y ^= y << 13; y ^= y >>> 17; y ^= y << 5; return ((y >>> 0) / 2147483648 - 1) * 1.7; });
  const out = new Float32Array(rowF);
  const cases = caseNames.map((c) => parseCase(c, opt.d, opt.seq, planCompression));
  const e = opt.kv === 'f16' ? 2 : 4;
  const denseBytes = transferBytes(transferModel({ kind: 'dense' }, opt.seq, opt.d), e);
  for (const c of cases) {
    c.theoretical = c.kind === 'dense' ? 1 : denseBytes / transferBytes(transferModel({ kind: 'sparq', rank: c.params.rank, topK: c.params.topK, localWindow: c.params.localWindow }, opt.seq, opt.d), e);
  }
  const exports = kernels.arenas.primary.exports;
  setups.push({ dist, kernels, attention, cache, tasks, q, out, cases, exports });
}

const stops = opt.stops === '' ? [null] : String(opt.stops).split(',').map(Number);
const variants = [];
for (const s of setups) {
  for (const c of s.cases) {
    for (const stop of c.kind === 'sparq' ? stops : [null]) {
      const run = c.kind === 'dense' ? () => s.attention.dense(s.tasks, s.q, s.out, opt.d, 1)
        : () => s.attention.sparq(s.tasks, s.q, s.out, opt.d, 1, c.params);
      const pre = stop === null ? () => {} : () => s.exports.set_sparq_stop(stop);
      variants.push({ name: `${s.dist.name} ${c.name}${stop === null ? '' : ` stop${stop}`}`, dist: s.dist.name, case: c.name, stop, run, pre, wall: [], cpu: [], out: null });
    }
  }
}
const load0 = execSync('uptime').toString().trim();
for (let round = 0; round < opt.warmup + opt.rounds; round++) {
  for (let i = 0; i < variants.length; i++) {
    const v = variants[(i + round) % variants.length];
    v.pre();
    const c0 = process.cpuUsage();
    const t0 = performance.now();
    v.run();
    const dt = performance.now() - t0;
    const c1 = process.cpuUsage(c0);
    if (round >= opt.warmup) { v.wall.push(dt); v.cpu.push((c1.user + c1.system) / 1000); }
  }
}
const load1 = execSync('uptime').toString().trim();
// Outputs of the last run of every variant agree across builds (checksum).
const median = (a) => { const s = [...a].sort((p, q) => p - q); const m = s.length >> 1; return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2; };
const rows = [];
for (const v of variants) {
  const s = setups.find((x) => x.dist.name === v.dist);
  if (v.stop === null) { s.exports.set_sparq_stop?.(99); v.run(); }
  const sum = v.stop === null ? s.out.reduce((a, b) => a + Math.abs(b), 0) : null;
  const theoretical = s.cases.find((c) => c.name === v.case).theoretical;
  rows.push({ name: v.name, dist: v.dist, case: v.case, stop: v.stop, wallMs: median(v.wall), cpuMs: median(v.cpu), minWallMs: Math.min(...v.wall), minCpuMs: Math.min(...v.cpu), theoretical: +theoretical.toFixed(3), checksum: sum, wallRounds: v.wall.map((t) => +t.toFixed(3)), cpuRounds: v.cpu.map((t) => +t.toFixed(3)) });
}
const denseOf = (dist) => rows.find((r) => r.dist === dist && r.case === 'dense' && r.stop === null);
const base = dists[0].name;
// Paired ratios: per round, dense time / variant time (same dist), and base time / this time (same case).
const paired = (a, b) => median(a.wall.map((t, i) => t / b.wall[i]));
const pairedCpu = (a, b) => median(a.cpu.map((t, i) => t / b.cpu[i]));
for (const r of rows) {
  const v = variants.find((x) => x.name === r.name);
  const dv = variants.find((x) => x.dist === r.dist && x.case === 'dense');
  const bv = variants.find((x) => x.dist === base && x.case === r.case && x.stop === r.stop);
  r.vsDense = dv ? +paired(dv, v).toFixed(3) : null;
  r.vsBase = bv ? +paired(bv, v).toFixed(3) : null;
  r.vsDenseCpu = dv ? +pairedCpu(dv, v).toFixed(3) : null;
  r.vsBaseCpu = bv ? +pairedCpu(bv, v).toFixed(3) : null;
  r.ofTheoretical = r.vsDense === null ? null : +(r.vsDense / r.theoretical).toFixed(3);
}
const meta = { threads: opt.threads, kv: opt.kv, seq: opt.seq, heads: opt.heads, d: opt.d, rounds: opt.rounds, load0, load1, cases: setups[0].cases.map((c) => ({ name: c.name, ...c.params })) };
if (opt.json) console.log(JSON.stringify({ meta, rows }));
else {
  console.log(JSON.stringify(meta));
  console.log('| variant | wall ms | cpu ms | min wall | min cpu | vs dense (paired) | cpu vs dense | theoretical | of theoretical | vs base (paired) | cpu vs base | checksum |');
  for (const r of rows) console.log(`| ${r.name} | ${r.wallMs.toFixed(3)} | ${r.cpuMs.toFixed(2)} | ${r.minWallMs.toFixed(2)} | ${r.minCpuMs.toFixed(2)} | ${r.vsDense ?? '-'} | ${r.vsDenseCpu ?? '-'} | ${r.theoretical} | ${r.ofTheoretical ?? '-'} | ${r.vsBase ?? '-'} | ${r.vsBaseCpu ?? '-'} | ${r.checksum === null ? '-' : r.checksum.toFixed(4)} |`);
}
for (const s of setups) { s.cache.dispose(); s.attention.dispose(); s.kernels.dispose(); }
