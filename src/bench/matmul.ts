// Matmul / gemv benchmark: plain-JS reference, our wasm kernels (plain and relaxed SIMD), and
// onnxruntime-node as the native peer, with 1 thread and all cores.
//
// Method (shared/engine-measurements.md: this VM is noisy, so compare within one run): every
// variant runs once per round, in a rotating order, after a warm-up; each row reports the median
// of the rounds. ratioToPeer = ours / onnxruntime, the median of per-round ratios. gemv rows also
// give the ratio to the wasm streaming-read bandwidth measured in the same rounds (ratioToStream).
// The gemv section also runs W stored as Q8_0, Q4_0, F16 and BF16 through the quantized kernels
// (WasmQuant, weights in the arena): GB/s counts the stored bytes, speedupVsF32 is the per-round
// ratio to the f32 gemv of the same kernels, maxRelError is against the reference twin.
//
// Usage: node dist/bench/matmul.js [--json] [--threads 1,2] [--repeats 7] [--quick]

import { availableParallelism } from 'node:os';
import { fileURLToPath } from 'node:url';
import { quantMatmulReference } from '../backend/reference/quant.js';
import { WasmKernels } from '../backend/wasm/kernels.js';
import { WasmQuant } from '../backend/wasm/quant.js';
import { quantizeQ4_0, quantizeQ8_0 } from '../io/gguf-quant.js';
import { QUANT_FORMATS, type QuantFormat, type QuantizedMatrix } from '../ops/quant-kernels.js';
import { f32ToHalf } from '../tensor/dtype.js';
import { createNodeThreadPool, enableRelaxedSimd, type NodeThreadPool } from '../node/wasm-pool.js';
import { loadOrt, type OrtLoader, type OrtMatmul } from './onnx-matmul.js';
import { JsThreads, sharedF32 } from './reference-matmul.js';
import { median } from './stats.js';

/** C[m, n] = A[m, k] . B[k, n]. */
export interface MatmulShape {
  m: number;
  k: number;
  n: number;
}

export type MatmulBenchKernel = 'reference' | 'wasm' | 'wasm-relaxed' | 'onnxruntime';

export interface MatmulBenchRow {
  kernel: MatmulBenchKernel;
  /** matmul: C = A B; gemv: y = W x (W [m, k], n = 1); gemvT: y = W^T x; stream: SIMD sum of k floats. */
  op: 'matmul' | 'gemv' | 'gemvT' | 'stream';
  /** How W is stored: F32, or a GGUF format read in place by the quantized kernels (Backend.quant). */
  format: 'F32' | QuantFormat;
  /** Human-readable shape, "m x k x n". */
  shape: string;
  m: number;
  n: number;
  k: number;
  threads: number;
  /** Median milliseconds per call. */
  ms: number;
  /** 2mnk / time (matmul and gemv). */
  gflops: number | null;
  /** Matrix bytes read / time (gemv, stream). */
  gbps: number | null;
  /** gflops (or gbps) divided by onnxruntime's in the same run; null without onnxruntime. */
  ratioToPeer: number | null;
  /** Quantized gemv only: how many times faster than the f32 gemv of the same kernels (same rounds). */
  speedupVsF32: number | null;
  /** gemv only: gbps divided by the wasm streaming bandwidth at the same thread count. */
  ratioToStream: number | null;
  /** Largest relative error against the JS reference result (checked once per shape). */
  maxRelError: number | null;
  runs: number;
}

export interface MatmulBenchOptions {
  /** One JSON object per line instead of a table. */
  json?: boolean;
  /** Thread counts to run (default [1, os.availableParallelism()]). */
  threads?: number[] | undefined;
  /** Timed rounds per variant (default 7; the slow JS reference runs at most 3). */
  repeats?: number | undefined;
  /** Matmul shapes (default 512^3, 1024^3, 2048x256x1024, 2048x1024x256). */
  shapes?: MatmulShape[];
  /** gemv size (default 4096: W is 4096 x 4096, 64 MiB); 0 skips gemv. */
  gemvSize?: number;
  /** Formats of the quantized gemv rows (default Q8_0, Q4_0, F16, BF16; [] skips them). */
  formats?: readonly QuantFormat[];
  /** Include the plain-JS reference rows (default true). */
  reference?: boolean;
  /** Include onnxruntime-node when it loads (default true). */
  peer?: boolean;
  log?: (line: string) => void;
}

export const DEFAULT_SHAPES: readonly MatmulShape[] = Object.freeze([
  { m: 512, k: 512, n: 512 },
  { m: 1024, k: 1024, n: 1024 },
  { m: 2048, k: 256, n: 1024 },
  { m: 2048, k: 1024, n: 256 },
]);

interface Variant {
  kernel: MatmulBenchKernel;
  op: MatmulBenchRow['op'];
  format?: QuantFormat;
  maxRuns: number;
  run: () => Promise<void> | void;
  times: number[];
  check?: () => number;
}


/**
 * Same-round ratio: median over rounds of (other's time / this variant's time), i.e. how many
 * times faster this variant is. Each round runs every variant once, back to back, so slow drifts
 * of the shared machine's load cancel out better than in a ratio of medians.
 */
function roundRatio(self: number[], other: number[], otherScale = 1): number | null {
  const n = Math.min(self.length, other.length);
  if (n === 0) return null;
  const ratios: number[] = [];
  for (let r = 0; r < n; r++) ratios.push((other[r]! * otherScale) / self[r]!);
  return median(ratios);
}

function fillSeeded(a: Float32Array, seed: number): void {
  let x = seed >>> 0 || 1;
  for (let i = 0; i < a.length; i++) {
    x ^= x << 13; x >>>= 0; x ^= x >>> 17; x ^= x << 5; x >>>= 0;
    a[i] = x / 4294967296 - 0.5;
  }
}

function maxRelError(got: Float32Array, want: Float32Array): number {
  let scale = 0;
  for (let i = 0; i < want.length; i++) scale = Math.max(scale, Math.abs(want[i]!));
  let err = 0;
  for (let i = 0; i < want.length; i++) err = Math.max(err, Math.abs(got[i]! - want[i]!));
  return scale > 0 ? err / scale : err;
}

async function timeRounds(variants: Variant[], repeats: number): Promise<void> {
  for (const v of variants) {
    await v.run();
    if (v.kernel === 'onnxruntime') await v.run();
  }
  for (let r = 0; r < repeats; r++) {
    for (let i = 0; i < variants.length; i++) {
      const v = variants[(i + r) % variants.length]!;
      if (v.times.length >= v.maxRuns) continue;
      const t0 = performance.now();
      await v.run();
      v.times.push(performance.now() - t0);
    }
  }
}

function formatTable(rows: MatmulBenchRow[]): string[] {
  const header = ['op', 'format', 'shape (m x k x n)', 'threads', 'kernel', 'ms', 'GFLOP/s', 'GB/s', 'vs ORT', 'vs f32', 'vs stream', 'max rel err'];
  const body = rows.map((r) => [
    r.op, r.format, r.shape, String(r.threads), r.kernel, r.ms.toFixed(2),
    r.gflops === null ? '' : r.gflops.toFixed(1),
    r.gbps === null ? '' : r.gbps.toFixed(1),
    r.ratioToPeer === null ? '' : r.ratioToPeer.toFixed(2),
    r.speedupVsF32 === null ? '' : r.speedupVsF32.toFixed(2),
    r.ratioToStream === null ? '' : r.ratioToStream.toFixed(2),
    r.maxRelError === null ? '' : r.maxRelError.toExponential(1),
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...body.map((b) => b[i]!.length)));
  const line = (cells: string[]): string => cells.map((c, i) => c.padEnd(widths[i]!)).join('  ');
  return [line(header), line(widths.map((w) => '-'.repeat(w))), ...body.map(line)];
}

export async function benchMatmul(options: MatmulBenchOptions = {}): Promise<MatmulBenchRow[]> {
  const log = options.log ?? ((line: string) => console.log(line));
  const cores = availableParallelism();
  const threadCounts = options.threads ?? (cores > 1 ? [1, cores] : [1]);
  const repeats = options.repeats ?? 7;
  const shapes = options.shapes ?? DEFAULT_SHAPES;
  const gemvSize = options.gemvSize ?? 4096;
  const withReference = options.reference ?? true;
  const maxThreads = Math.max(...threadCounts);

  const relaxed = enableRelaxedSimd();
  const pool: NodeThreadPool = await createNodeThreadPool({ threads: maxThreads });
  const kernelSets: { kernel: MatmulBenchKernel; k: WasmKernels }[] = [
    { kernel: 'wasm', k: await WasmKernels.create({ relaxedSimd: false, pool }) },
  ];
  if (relaxed) kernelSets.push({ kernel: 'wasm-relaxed', k: await WasmKernels.create({ relaxedSimd: true, pool }) });
  const ort: OrtLoader = options.peer === false
    ? { available: false, note: 'onnxruntime disabled', version: '', create: () => Promise.reject(new Error('disabled')) }
    : await loadOrt();
  const js = new JsThreads(maxThreads);
  const notes = [
    `node ${process.versions.node}, ${cores} cores; wasm operands resident in the arena; relaxed SIMD ${relaxed ? 'on' : 'unavailable'}`,
    ort.available ? ort.note : `${ort.note}: ratioToPeer is null`,
  ];
  if (!options.json) for (const n of notes) log(`# ${n}`);
  else log(JSON.stringify({ note: notes.join('; ') }));

  const rows: MatmulBenchRow[] = [];
  const emit = (row: MatmulBenchRow): void => {
    rows.push(row);
    if (options.json) log(JSON.stringify(row));
  };

  try {
    for (const { m, k, n } of shapes) {
      const a = sharedF32(m * k);
      const b = sharedF32(k * n);
      fillSeeded(a, 1 + m + k);
      fillSeeded(b, 2 + k + n);
      const cRef = sharedF32(m * n);
      await js.matmul(a, b, cRef, m, n, k, maxThreads);
      const resident = kernelSets.map(({ kernel, k: kk }) => {
        const ra = kk.allocF32(m * k); ra.set(a);
        const rb = kk.allocF32(k * n); rb.set(b);
        return { kernel, kk, ra, rb, rc: kk.allocF32(m * n) };
      });
      for (const threads of threadCounts) {
        const variants: Variant[] = [];
        if (withReference) {
          const c = sharedF32(m * n);
          variants.push({ kernel: 'reference', op: 'matmul', maxRuns: Math.min(repeats, 3), times: [],
            run: async () => { await js.matmul(a, b, c, m, n, k, threads); }, check: () => maxRelError(c, cRef) });
        }
        for (const { kernel, kk, ra, rb, rc } of resident) {
          variants.push({ kernel, op: 'matmul', maxRuns: repeats, times: [],
            run: () => { kk.setThreads(threads); kk.matmul(ra, rb, rc, m, n, k, false, false); },
            check: () => maxRelError(rc, cRef) });
        }
        let session: OrtMatmul | undefined;
        let ortOut: Float32Array | undefined;
        if (ort.available) {
          const s = await ort.create(a.slice(), b.slice(), m, k, n, threads);
          session = s;
          variants.push({ kernel: 'onnxruntime', op: 'matmul', maxRuns: repeats, times: [],
            run: async () => { ortOut = await s.run(); },
            check: () => (ortOut ? maxRelError(ortOut, cRef) : NaN) });
        }
        await timeRounds(variants, repeats);
        await session?.release();
        const flops = 2 * m * n * k;
        const peer = variants.find((v) => v.kernel === 'onnxruntime');
        for (const v of variants) {
          const ms = median(v.times);
          const gflops = flops / ms / 1e6;
          emit({ kernel: v.kernel, op: 'matmul', format: 'F32', shape: `${m} x ${k} x ${n}`, m, n, k, threads, ms, gflops, gbps: null,
            ratioToPeer: peer ? roundRatio(v.times, peer.times) : null, speedupVsF32: null, ratioToStream: null,
            maxRelError: v.check ? v.check() : null, runs: v.times.length });
        }
      }
      for (const r of resident) { r.kk.freeF32(r.ra); r.kk.freeF32(r.rb); r.kk.freeF32(r.rc); }
    }

    if (gemvSize > 0) await benchGemv(gemvSize, threadCounts, repeats, withReference, options.formats ?? QUANT_FORMATS, kernelSets, ort, js, emit);
  } finally {
    for (const { k } of kernelSets) k.dispose();
    pool.dispose();
    js.dispose();
  }
  if (!options.json) for (const line of formatTable(rows)) log(line);
  return rows;
}

/** w [rows, cols] stored in `format` (ggml's quantisers for Q8_0 / Q4_0, round-to-nearest halves). */
function encodeMatrix(format: QuantFormat, w: Float32Array): Uint8Array {
  if (format === 'Q8_0') return quantizeQ8_0(w);
  if (format === 'Q4_0') return quantizeQ4_0(w);
  const halves = f32ToHalf(w, format === 'F16' ? 'f16' : 'bf16');
  return new Uint8Array(halves.buffer, halves.byteOffset, halves.byteLength);
}

async function benchGemv(
  size: number, threadCounts: number[], repeats: number, withReference: boolean, formats: readonly QuantFormat[],
  kernelSets: { kernel: MatmulBenchKernel; k: WasmKernels }[], ort: OrtLoader, js: JsThreads,
  emit: (row: MatmulBenchRow) => void,
): Promise<void> {
  const push = emit;
  const rows = size;
  const cols = size;
  const bytes = rows * cols * 4;
  const w = sharedF32(rows * cols);
  const x = sharedF32(cols);
  fillSeeded(w, 7);
  fillSeeded(x, 8);
  const yRef = sharedF32(rows);
  await js.gemv(w, x, yRef, rows, cols, Math.max(...threadCounts));
  // W^T x for gemvT and for onnxruntime's [1, k] x [k, n] product (its natural layout).
  const ytRef = new Float32Array(cols);
  for (let r = 0; r < rows; r++) {
    const xr = x[r]!;
    for (let c = 0; c < cols; c++) ytRef[c] = ytRef[c]! + w[r * cols + c]! * xr;
  }
  // Streaming baseline: 4x W (256 MiB at the default size), so that it is not cached either.
  const streamLen = Math.max(4 * rows * cols, 1 << 16);
  const base = kernelSets[0]!.k;
  const stream = base.allocF32(streamLen);
  stream.fill(1);
  const resident = kernelSets.map(({ kernel, k }) => {
    const rw = k.allocF32(rows * cols); rw.set(w);
    const rx = k.allocF32(cols); rx.set(x);
    return { kernel, k, rw, rx, ry: k.allocF32(rows), ryt: k.allocF32(cols) };
  });
  // The quantized matrices, in each kernel set's arena (read in place), and the reference twin's y.
  const quantized = formats.map((format) => {
    const bytes = encodeMatrix(format, w);
    const want = new Float32Array(rows);
    quantMatmulReference(x, 1, { format, rows, cols, bytes }, want);
    const sets = resident.map(({ kernel, k, rx }) => {
      const quant = new WasmQuant(k);
      const home = quant.allocBytes(bytes.length);
      home.set(bytes);
      const matrix: QuantizedMatrix = { format, rows, cols, bytes: home };
      return { kernel, k, quant, matrix, rx, y: k.allocF32(rows) };
    });
    return { format, bytes: bytes.length, want, sets };
  });
  for (const threads of threadCounts) {
    const variants: Variant[] = [];
    variants.push({ kernel: 'wasm', op: 'stream', maxRuns: repeats, times: [],
      run: () => { base.setThreads(threads); base.streamSum(stream); } });
    if (withReference) {
      const y = sharedF32(rows);
      variants.push({ kernel: 'reference', op: 'gemv', maxRuns: repeats, times: [],
        run: async () => { await js.gemv(w, x, y, rows, cols, threads); }, check: () => maxRelError(y, yRef) });
    }
    for (const { kernel, k, rw, rx, ry, ryt } of resident) {
      variants.push({ kernel, op: 'gemv', maxRuns: repeats, times: [],
        run: () => { k.setThreads(threads); k.gemv(rw, rx, ry, rows, cols); }, check: () => maxRelError(ry, yRef) });
      variants.push({ kernel, op: 'gemvT', maxRuns: repeats, times: [],
        run: () => { k.setThreads(threads); k.gemvT(rw, rx, ryt, rows, cols); }, check: () => maxRelError(ryt, ytRef) });
    }
    for (const q of quantized) {
      for (const { kernel, k, quant, matrix, rx, y } of q.sets) {
        variants.push({ kernel, op: 'gemv', format: q.format, maxRuns: repeats, times: [],
          run: () => { k.setThreads(threads); quant.matmul(rx, 1, matrix, y); }, check: () => maxRelError(y, q.want) });
      }
    }
    let session: OrtMatmul | undefined;
    let ortOut: Float32Array | undefined;
    if (ort.available) {
      const s = await ort.create(x.slice(), w.slice(), 1, rows, cols, threads);
      session = s;
      variants.push({ kernel: 'onnxruntime', op: 'gemvT', maxRuns: repeats, times: [],
        run: async () => { ortOut = await s.run(); }, check: () => (ortOut ? maxRelError(ortOut, ytRef) : NaN) });
    }
    await timeRounds(variants, repeats);
    await session?.release();
    const streamV = variants.find((v) => v.op === 'stream')!;
    const streamGbps = (streamLen * 4) / median(streamV.times) / 1e6;
    const peer = variants.find((v) => v.kernel === 'onnxruntime');
    for (const v of variants) {
      const ms = median(v.times);
      if (v.op === 'stream') {
        push({ kernel: 'wasm', op: 'stream', format: 'F32', shape: `${streamLen} floats`, m: 1, n: 1, k: streamLen, threads, ms,
          gflops: null, gbps: streamGbps, ratioToPeer: null, speedupVsF32: null, ratioToStream: 1, maxRelError: null, runs: v.times.length });
        continue;
      }
      // Bytes of W as stored (the quantized rows read fewer for the same products); the stream's
      // times are scaled to the same byte count.
      const stored = v.format ? quantized.find((q) => q.format === v.format)!.bytes : bytes;
      const f32 = v.format ? variants.find((o) => o.kernel === v.kernel && o.op === 'gemv' && !o.format) : undefined;
      push({ kernel: v.kernel, op: v.op, format: v.format ?? 'F32', shape: v.op === 'gemv' ? `${rows} x ${cols} x 1` : `1 x ${rows} x ${cols}`,
        m: v.op === 'gemv' ? rows : 1, n: v.op === 'gemv' ? 1 : cols, k: v.op === 'gemv' ? cols : rows, threads, ms,
        gflops: (2 * rows * cols) / ms / 1e6, gbps: stored / ms / 1e6, ratioToPeer: peer ? roundRatio(v.times, peer.times) : null,
        speedupVsF32: f32 ? roundRatio(v.times, f32.times) : null,
        ratioToStream: roundRatio(v.times, streamV.times, stored / (streamLen * 4)), maxRelError: v.check ? v.check() : null,
        runs: v.times.length });
    }
  }
  for (const q of quantized) for (const set of q.sets) set.k.freeF32(set.y);
  for (const r of resident) { r.k.freeF32(r.rw); r.k.freeF32(r.rx); r.k.freeF32(r.ry); r.k.freeF32(r.ryt); }
  base.freeF32(stream);
}

function parseArgs(argv: string[]): MatmulBenchOptions {
  const opts: MatmulBenchOptions = { json: argv.includes('--json') };
  const value = (flag: string): string | undefined => {
    const i = argv.indexOf(flag);
    return i >= 0 ? argv[i + 1] : undefined;
  };
  const threads = value('--threads');
  if (threads) opts.threads = threads.split(',').map(Number);
  const repeats = value('--repeats');
  if (repeats) opts.repeats = Number(repeats);
  if (argv.includes('--quick')) {
    opts.shapes = [{ m: 256, k: 256, n: 256 }];
    opts.gemvSize = 1024;
    opts.repeats = opts.repeats ?? 3;
  }
  if (argv.includes('--no-reference')) opts.reference = false;
  if (argv.includes('--no-peer')) opts.peer = false;
  return opts;
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  await benchMatmul(parseArgs(process.argv.slice(2)));
}
