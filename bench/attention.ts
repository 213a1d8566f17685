// Decode-attention benchmark: one decode step of attention over a KV cache (all heads of one
// layer, `batch` sequences), dense against SparQ with K stored twice (step 1 from K^T) and once
// (step 1 from the K rows), with the wasm SIMD kernels. The peer in the same run is dense
// attention, plus the streaming-read bandwidth of this machine (wasm stream_sum over the cache),
// which bounds what any kernel can reach.
//
// Variants are interleaved per round (the VM is noisy); rows report medians. Theoretical speedup
// comes from the policies' transfer counters (dense elements / SparQ elements).
//
// Usage: thrifty bench attention [--seq 4096,16384] [--batch 1] [--compression 1/2,1/4,1/8] [--json]

import { availableParallelism, freemem } from 'node:os';
import { KvCache } from '../src/attention/kv-cache.js';
import { planCompression, type CompressionRecipe } from '../src/attention/planner.js';
import { buildHeadTasks } from '../src/attention/decode-policy.js';
import { createAttentionPolicy } from '../src/attention/policy.js';
import { WasmAttention } from '../src/backend/wasm/attention.js';
import type { WasmArena } from '../src/backend/wasm/arena.js';
import type { WasmKernels } from '../src/backend/wasm/kernels.js';
import { createNodeWasmKernels } from '../src/node/wasm-pool.js';
import { Rng } from '../src/tensor/rng.js';
import { median } from './stats.js';

export interface AttentionBenchOptions {
  /** Cached positions per sequence (default [4096, 16384]). */
  seq?: readonly number[];
  headDim?: number;
  /** Query heads (default 32). */
  heads?: number;
  /** KV heads (default = heads: multi-head attention, as in the paper's speed tests). */
  kvHeads?: number;
  /** Sequences decoded together (default [1]). */
  batch?: readonly number[];
  /** Target transfer ratios (default [1/2, 1/4, 1/8]). */
  compression?: readonly number[];
  /** How (r, k, l) follow from the ratio (default both: ['paper', 'even']). */
  recipes?: readonly CompressionRecipe[];
  /** Threads including the main one (default: all cores). */
  threads?: number;
  /** Timed rounds (default 7) after `warmup` rounds (default 2). */
  rounds?: number;
  warmup?: number;
  /** Skip configurations whose cache needs more (default: min(6 GiB, 60% of free memory)). */
  maxMemoryBytes?: number;
  json?: boolean;
  log?: (line: string) => void;
}

export interface AttentionBenchRow {
  seq: number;
  batch: number;
  heads: number;
  kvHeads: number;
  headDim: number;
  compression: number;
  /** 'even' | 'paper'. */
  recipe: string;
  rank: number;
  topK: number;
  localWindow: number;
  /** SparQ step 1 read from the transposed copy of K. */
  kTwice: boolean;
  /** Median ms per decode step (one layer, all heads, all sequences). */
  denseMs: number;
  sparqMs: number;
  speedup: number;
  /** Median over rounds of dense / SparQ time within the round (robust to slow drift in machine load). */
  pairedSpeedup: number;
  /** Dense transfers / SparQ transfers (the paper's formulas, as counted by the policies). */
  theoreticalSpeedup: number;
  /** Counted bytes moved / time. */
  denseGBs: number;
  sparqGBs: number;
  /** Streaming read of the memory holding the cache, in the same run. */
  streamGBs: number;
  threads: number;
  rounds: number;
}


/** Bytes of a KvCache with K twice for these sizes (capacity = seq rounded to 16). */
export function attentionCacheBytes(seq: number, batch: number, kvHeads: number, headDim: number): number {
  const capacity = Math.ceil(seq / 16) * 16;
  return batch * kvHeads * (3 * capacity * headDim + 2 * headDim) * 4;
}

/** Fills the cache with `seq` positions of uniform(-1, 1) values per sequence, in chunks. */
function fillCache(cache: KvCache, seq: number, rng: Rng): void {
  const rowFloats = cache.kvHeads * cache.headDim;
  const chunk = 256;
  const k = new Float32Array(chunk * rowFloats);
  const v = new Float32Array(chunk * rowFloats);
  // xorshift32 seeded from the Rng: the fill is ~10^8 values, so it must be cheap.
  let x = rng.nextU32() | 1;
  const next = (): number => {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    return (x >>> 0) / 2147483648 - 1;
  };
  for (let b = 0; b < cache.batch; b++) {
    for (let t = 0; t < seq; t += chunk) {
      const n = Math.min(chunk, seq - t);
      for (let i = 0; i < n * rowFloats; i++) {
        k[i] = next();
        v[i] = next();
      }
      cache.append(0, b, k, v, n);
    }
  }
}

export async function benchAttention(options: AttentionBenchOptions = {}): Promise<AttentionBenchRow[]> {
  const log = options.log ?? ((line: string) => console.log(line));
  const seqs = options.seq ?? [4096, 16384];
  const headDim = options.headDim ?? 128;
  const heads = options.heads ?? 32;
  const kvHeads = options.kvHeads ?? heads;
  const batches = options.batch ?? [1];
  const compressions = options.compression ?? [1 / 2, 1 / 4, 1 / 8];
  const recipes = options.recipes ?? ['paper', 'even'];
  const rounds = options.rounds ?? 7;
  const warmup = options.warmup ?? 2;
  const maxMemory = options.maxMemoryBytes ?? Math.min(6 * 2 ** 30, 0.6 * freemem());
  if (heads % kvHeads !== 0) throw new RangeError(`--heads (${heads}) must be a multiple of --kv-heads (${kvHeads})`);
  if (!WasmAttention.supports(headDim)) throw new RangeError(`--head-dim must be a multiple of 4, got ${headDim}`);
  const group = heads / kvHeads;
  const say = (note: string): void => log(options.json ? JSON.stringify({ note }) : `# ${note}`);

  const kernels: WasmKernels = await createNodeWasmKernels({ threads: options.threads ?? availableParallelism() });
  const attention = new WasmAttention(kernels);
  const rows: AttentionBenchRow[] = [];
  const rng = new Rng(1234);
  try {
    say(`node ${process.versions.node}, wasm ${kernels.simd}, ${kernels.threads} threads; ${heads} heads (${kvHeads} KV) of ${headDim}, `
      + `f32 cache, one decode step of one layer; SparQ recipes ${recipes.join(', ')} `
      + `(paper: k = 128, r from {8, 16, 32, 64}; even: r = d/R, k = S/2R); medians of ${rounds} interleaved rounds`);
    if (!options.json) {
      log('| seq | batch | ratio | recipe | r | k | l | K twice | dense ms | SparQ ms | speedup | paired | theoretical | dense GB/s | SparQ GB/s | stream GB/s |');
      log('|---:|---:|---:|:---|---:|---:|---:|:---:|---:|---:|---:|---:|---:|---:|---:|---:|');
    }
    for (const seq of seqs) {
      for (const batch of batches) {
        const bytes = attentionCacheBytes(seq, batch, kvHeads, headDim);
        if (bytes > maxMemory) {
          say(`skipped seq ${seq} batch ${batch}: its cache needs ${(bytes / 2 ** 30).toFixed(2)} GiB, over the `
            + `${(maxMemory / 2 ** 30).toFixed(2)} GiB allowed (raise --max-memory-gib if the machine has room)`);
          continue;
        }
        rows.push(...runConfig(kernels, attention, rng, {
          seq, batch, heads, kvHeads, headDim, group, compressions, recipes, rounds, warmup,
        }, (row) => log(options.json ? JSON.stringify(row) : formatRow(row))));
      }
    }
  } finally {
    attention.dispose();
    kernels.dispose();
  }
  return rows;
}

interface Config {
  seq: number;
  batch: number;
  heads: number;
  kvHeads: number;
  headDim: number;
  group: number;
  compressions: readonly number[];
  recipes: readonly CompressionRecipe[];
  rounds: number;
  warmup: number;
}

function runConfig(kernels: WasmKernels, attention: WasmAttention, rng: Rng, c: Config,
  emit: (row: AttentionBenchRow) => void): AttentionBenchRow[] {
  const cache = new KvCache({
    layers: 1, kvHeads: c.kvHeads, headDim: c.headDim, batch: c.batch, initialCapacity: c.seq, maxLength: c.seq,
    storeKTransposed: true, allocator: attention.cacheAllocator, release: attention.cacheRelease,
  });
  try {
    fillCache(cache, c.seq, rng);
    const seqIds = Array.from({ length: c.batch }, (_, i) => i);
    const tasks = buildHeadTasks(attention, cache, 0, seqIds, c.heads);
    const q = Float32Array.from({ length: c.batch * c.heads * c.headDim }, () => rng.normal());
    const out = new Float32Array(q.length);
    const shape = { layers: 1, heads: c.heads, kvHeads: c.kvHeads, headDim: c.headDim };
    const plans = c.recipes.flatMap((recipe) => c.compressions.map((ratio) => ({
      ratio, recipe, ...planCompression(ratio, { headDim: c.headDim, seqLen: c.seq }, recipe),
    })));

    // Transfers per step as the policies count them (also checks the policies run on this cache).
    const densePolicy = createAttentionPolicy({ kind: 'dense' }, shape, { kernels: attention });
    densePolicy.attend(cache, 0, seqIds, q, out, c.heads);
    const denseElements = densePolicy.counters.get().total;
    const sparqElements = plans.map((p) => {
      const policy = createAttentionPolicy({ kind: 'sparq', rank: p.rank, topK: p.topK, localWindow: p.localWindow }, shape, { kernels: attention });
      policy.attend(cache, 0, seqIds, q, out, c.heads);
      return policy.counters.get().total;
    });

    // Streaming read over the memory the cache occupies (per arena, from its first block to the
    // end of its last): the same DRAM, read at the best rate this machine gives wasm.
    const extents = new Map<WasmArena, { start: number; end: number }>();
    for (const t of tasks) {
      const arena = kernels.arenas.find(t.block.data)!;
      const start = t.block.data.byteOffset;
      const end = start + t.block.data.byteLength;
      const e = extents.get(arena);
      if (!e) extents.set(arena, { start, end });
      else {
        e.start = Math.min(e.start, start);
        e.end = Math.max(e.end, end);
      }
    }
    let streamBytes = 0;
    for (const e of extents.values()) streamBytes += e.end - e.start;
    const stream = (): void => {
      for (const [arena, e] of extents) kernels.streamSum(e.start, (e.end - e.start) / 4, arena);
    };

    interface Variant { name: string; run: () => void; times: number[] }
    const variants: Variant[] = [
      { name: 'stream', run: stream, times: [] },
      { name: 'dense', run: () => attention.dense(tasks, q, out, c.headDim, c.group), times: [] },
    ];
    for (const p of plans) {
      for (const kTwice of [true, false]) {
        const params = { rank: p.rank, topK: p.topK, localWindow: p.localWindow, reallocation: c.group === 1, transposed: kTwice };
        variants.push({ name: `sparq ${p.recipe} ${p.ratio} ${kTwice}`, run: () => attention.sparq(tasks, q, out, c.headDim, c.group, params), times: [] });
      }
    }
    for (let round = 0; round < c.warmup + c.rounds; round++) {
      // Rotate the order so that no variant always runs right after the same neighbour.
      for (let i = 0; i < variants.length; i++) {
        const v = variants[(i + round) % variants.length]!;
        const t0 = performance.now();
        v.run();
        const dt = performance.now() - t0;
        if (round >= c.warmup) v.times.push(dt);
      }
    }
    const timesOf = (name: string): number[] => variants.find((v) => v.name === name)!.times;
    const ms = (name: string): number => median(timesOf(name));
    const paired = (name: string): number => median(timesOf('dense').map((t, i) => t / timesOf(name)[i]!));
    const streamMs = ms('stream');
    const denseMs = ms('dense');
    const rows: AttentionBenchRow[] = [];
    plans.forEach((p, i) => {
      for (const kTwice of [true, false]) {
        const sparqMs = ms(`sparq ${p.recipe} ${p.ratio} ${kTwice}`);
        const row: AttentionBenchRow = {
          seq: c.seq, batch: c.batch, heads: c.heads, kvHeads: c.kvHeads, headDim: c.headDim,
          compression: p.ratio, recipe: p.recipe, rank: p.rank, topK: p.topK, localWindow: p.localWindow, kTwice,
          denseMs: round3(denseMs), sparqMs: round3(sparqMs), speedup: round3(denseMs / sparqMs),
          pairedSpeedup: round3(paired(`sparq ${p.recipe} ${p.ratio} ${kTwice}`)),
          theoreticalSpeedup: round3(denseElements / sparqElements[i]!),
          denseGBs: round3((denseElements * 4) / (denseMs * 1e6)),
          sparqGBs: round3((sparqElements[i]! * 4) / (sparqMs * 1e6)),
          streamGBs: round3(streamBytes / (streamMs * 1e6)),
          threads: kernels.threads, rounds: c.rounds,
        };
        rows.push(row);
        emit(row);
      }
    });
    return rows;
  } finally {
    cache.dispose();
  }
}

const round3 = (x: number): number => Math.round(x * 1000) / 1000;

function ratioText(r: number): string {
  const inv = 1 / r;
  return Math.abs(inv - Math.round(inv)) < 1e-9 ? `1/${Math.round(inv)}` : r.toFixed(3);
}

function formatRow(r: AttentionBenchRow): string {
  return `| ${r.seq} | ${r.batch} | ${ratioText(r.compression)} | ${r.recipe} | ${r.rank} | ${r.topK} | ${r.localWindow} | ${r.kTwice ? 'yes' : 'no'} `
    + `| ${r.denseMs.toFixed(2)} | ${r.sparqMs.toFixed(2)} | ${r.speedup.toFixed(2)}x | ${r.pairedSpeedup.toFixed(2)}x | ${r.theoreticalSpeedup.toFixed(2)}x `
    + `| ${r.denseGBs.toFixed(1)} | ${r.sparqGBs.toFixed(1)} | ${r.streamGBs.toFixed(1)} |`;
}
