// Where a decode step's time goes: loads the bench decode GGUF (thrifty bench decode writes it),
// fills a dense f16 KV cache with `seq` random positions, runs `steps` decode steps and reports
// per step the wall time inside WasmQuant.matmul (the quantized products, all threads' work
// included), inside the attention kernels (WasmAttention), and the rest, as medians.
// Usage: node --experimental-wasm-relaxed-simd step-breakdown.mjs <root> <gguf> [seq] [steps] [threads]
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { loadavg } from 'node:os';

const [root, gguf] = [process.argv[2], process.argv[3]];
const seq = Number(process.argv[4] ?? 4096);
const steps = Number(process.argv[5] ?? 24);
const threads = Number(process.argv[6] ?? 2);
const imp = (p) => import(pathToFileURL(join(root, 'dist/src', p)).href);
const { initNodeBackend } = await imp('node/backend.js');
const { loadModelFiles } = await imp('node/model-files.js');
const { loadCausalLM } = await imp('models/load-llm.js');
const { Generator } = await imp('generate/generator.js');
const { WasmAttention } = await imp('backend/wasm/attention.js');
const { WasmQuant } = await imp('backend/wasm/quant.js');
const { WasmKernels } = await imp('backend/wasm/kernels.js');

const engine = await initNodeBackend({ threads });
const files = await loadModelFiles(gguf);
const model = await loadCausalLM(files.config, files.weights, { alloc: (n) => engine.wasm.allocF32(n), trainable: false });
await files.close();
const kernels = new WasmAttention(engine.wasm);
const generator = new Generator(model, { attention: { kind: 'dense' }, sequences: 1, kernels, initialCapacity: seq + steps + 64, kvDType: 'f16' });

const timers = { quant: 0, attention: 0, kernels: 0 };
let depth = 0;
function wrap(proto, name, bucket) {
  const original = Object.getOwnPropertyDescriptor(proto, name)?.value;
  if (typeof original !== 'function') return;
  proto[name] = function (...args) {
    if (depth > 0) return original.apply(this, args);
    depth++;
    const t0 = performance.now();
    try { return original.apply(this, args); } finally { timers[bucket] += performance.now() - t0; depth--; }
  };
}
wrap(WasmQuant.prototype, 'matmul', 'quant');
for (const name of Object.getOwnPropertyNames(WasmAttention.prototype)) if (name !== 'constructor' && name !== 'supports') wrap(WasmAttention.prototype, name, 'attention');
for (const name of Object.getOwnPropertyNames(WasmKernels.prototype)) if (!['constructor', 'allocF32', 'free', 'setThreads', 'dispose'].includes(name)) wrap(WasmKernels.prototype, name, 'kernels');

const { cache } = generator;
const rowFloats = cache.kvHeads * cache.headDim;
const chunk = 1024;
const k = new Float32Array(chunk * rowFloats);
const v = new Float32Array(chunk * rowFloats);
let x = 12345;
for (let i = 0; i < k.length; i++) { x ^= x << 13; x ^= x >>> 17; x ^= x << 5; k[i] = (x >>> 0) / 2147483648 - 1; v[i] = (Math.imul(x, 0x9e3779b1) >>> 0) / 2147483648 - 1; }
for (let layer = 0; layer < cache.layers; layer++) for (let t = 0; t < seq; t += chunk) cache.append(layer, 0, k, v, Math.min(chunk, seq - t));

const rows = [];
let token = 5;
for (let s = 0; s < steps + 2; s++) {
  timers.quant = 0; timers.attention = 0; timers.kernels = 0;
  const u0 = process.cpuUsage();
  const t0 = performance.now();
  const logits = generator.decode([0], [token]);
  const wall = performance.now() - t0;
  const u = process.cpuUsage(u0);
  token = 3 + (s * 97) % 1000;
  if (s >= 2) rows.push({ wall, cpu: (u.user + u.system) / 1000, ...timers });
  void logits;
}
const med = (key) => { const a = rows.map((r) => r[key]).sort((p, q) => p - q); return +a[a.length >> 1].toFixed(2); };
const out = { root, gguf: gguf.split('/').pop(), seq, steps, threads, load: +loadavg()[0].toFixed(2), msPerStep: med('wall'), cpuMsPerStep: med('cpu'), quantMs: med('quant'), attentionMs: med('attention'), otherKernelMs: med('kernels') };
out.restMs = +(out.msPerStep - out.quantMs - out.attentionMs - out.otherKernelMs).toFixed(2);
console.log(JSON.stringify(out));
engine.dispose?.();
process.exit(0);
