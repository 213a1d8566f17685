// Memory bandwidth benchmark: streaming read (sum) of a large arena buffer with the wasm SIMD
// kernel on 1 thread and on all threads, against plain-JS loops (on the same shared memory, and on
// a plain ArrayBuffer). Variants are interleaved per round; rows report medians.
//
// Usage: node dist/bench/memory.js [--json] [--mib 512] [--threads 1,2] [--repeats 7]

import { availableParallelism } from 'node:os';
import { fileURLToPath } from 'node:url';
import { WasmKernels } from '../backend/wasm/kernels.js';
import { createNodeThreadPool } from '../node/wasm-pool.js';
import { JsThreads, jsSum } from './reference-matmul.js';
import { median } from './stats.js';

export interface MemoryBenchRow {
  kernel: 'wasm' | 'js' | 'js-plain';
  pattern: 'stream-sum';
  /** Buffer size read per call. */
  mib: number;
  threads: number;
  /** Median milliseconds per pass. */
  ms: number;
  gbps: number;
  /** gbps / wasm gbps at the same thread count in this run. */
  ratioToWasm: number;
  runs: number;
}

export interface MemoryBenchOptions {
  json?: boolean;
  /** Buffer size in MiB (default 512). */
  mib?: number | undefined;
  /** Thread counts (default [1, os.availableParallelism()]). */
  threads?: number[] | undefined;
  /** Timed rounds (default 7). */
  repeats?: number;
  log?: (line: string) => void;
}

// A copy of jsSum for the plain ArrayBuffer: typed arrays on growable shared memory (wasm) and on
// plain buffers have different element kinds in V8, and one function fed both goes polymorphic.
function jsSumPlain(x: Float32Array): number {
  let s0 = 0, s1 = 0, s2 = 0, s3 = 0;
  let i = 0;
  const n = x.length;
  for (; i + 4 <= n; i += 4) {
    s0 += x[i]!; s1 += x[i + 1]!; s2 += x[i + 2]!; s3 += x[i + 3]!;
  }
  for (; i < n; i++) s0 += x[i]!;
  return s0 + s1 + s2 + s3;
}


export async function benchMemory(options: MemoryBenchOptions = {}): Promise<MemoryBenchRow[]> {
  const log = options.log ?? ((line: string) => console.log(line));
  const cores = availableParallelism();
  const threadCounts = options.threads ?? (cores > 1 ? [1, cores] : [1]);
  const mib = options.mib ?? 512;
  const repeats = options.repeats ?? 7;
  const maxThreads = Math.max(...threadCounts);
  const length = (mib * 1024 * 1024) / 4;
  const bytes = length * 4;

  const pool = await createNodeThreadPool({ threads: maxThreads });
  const kernels = await WasmKernels.create({ pool, relaxedSimd: false });
  const js = new JsThreads(maxThreads);
  const rows: MemoryBenchRow[] = [];
  try {
    // Touch every page first so that the timed passes read memory, not zero pages being mapped.
    const buf = kernels.allocF32(length);
    for (let i = 0; i < length; i += 1024) buf[i] = 1;
    // Prime the tail loop (see primeJsKernels in reference-matmul.ts).
    for (let i = 0; i < 30; i++) jsSumPlain(new Float32Array(7));
    const plain = new Float32Array(length);
    for (let i = 0; i < length; i += 1024) plain[i] = 1;
    const note = `node ${process.versions.node}, ${cores} cores, ${mib} MiB buffer, wasm SIMD sum (8 accumulators) vs JS (4 accumulators)`;
    log(options.json ? JSON.stringify({ note }) : `# ${note}`);

    interface Variant { kernel: MemoryBenchRow['kernel']; threads: number; run: () => Promise<unknown> | unknown; times: number[] }
    const variants: Variant[] = [];
    for (const threads of threadCounts) {
      variants.push({ kernel: 'wasm', threads, times: [], run: () => { kernels.setThreads(threads); return kernels.streamSum(buf); } });
      variants.push({ kernel: 'js', threads, times: [], run: () => (threads === 1 ? jsSum(buf) : js.sum(buf, threads)) });
    }
    variants.push({ kernel: 'js-plain', threads: 1, times: [], run: () => jsSumPlain(plain) });
    for (const v of variants) await v.run();
    for (let r = 0; r < repeats; r++) {
      for (let i = 0; i < variants.length; i++) {
        const v = variants[(i + r) % variants.length]!;
        const t0 = performance.now();
        await v.run();
        v.times.push(performance.now() - t0);
      }
    }
    for (const v of variants) {
      const ms = median(v.times);
      const wasm = variants.find((w) => w.kernel === 'wasm' && w.threads === v.threads)!;
      const row: MemoryBenchRow = {
        kernel: v.kernel, pattern: 'stream-sum', mib, threads: v.threads, ms, gbps: bytes / ms / 1e6,
        ratioToWasm: median(wasm.times) / ms, runs: v.times.length,
      };
      rows.push(row);
      if (options.json) log(JSON.stringify(row));
    }
    kernels.freeF32(buf);
  } finally {
    kernels.dispose();
    pool.dispose();
    js.dispose();
  }
  if (!options.json) {
    log('kernel    threads  ms      GB/s   vs wasm');
    for (const r of rows) {
      log(`${r.kernel.padEnd(9)} ${String(r.threads).padEnd(8)} ${r.ms.toFixed(2).padEnd(7)} ${r.gbps.toFixed(1).padEnd(6)} ${r.ratioToWasm.toFixed(2)}`);
    }
  }
  return rows;
}

function parseArgs(argv: string[]): MemoryBenchOptions {
  const opts: MemoryBenchOptions = { json: argv.includes('--json') };
  const value = (flag: string): string | undefined => {
    const i = argv.indexOf(flag);
    return i >= 0 ? argv[i + 1] : undefined;
  };
  const mib = value('--mib');
  if (mib) opts.mib = Number(mib);
  const threads = value('--threads');
  if (threads) opts.threads = threads.split(',').map(Number);
  const repeats = value('--repeats');
  if (repeats) opts.repeats = Number(repeats);
  return opts;
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  await benchMemory(parseArgs(process.argv.slice(2)));
}
