// Decode-attention benchmark: one decode step of attention over a KV cache (all heads of one
// layer, `batch` sequences), dense against SparQ with K stored twice (step 1 from K^T) and once
// (step 1 from the K rows) and against the baselines (H2O, LM-Infinite, FlexGen, oracle), all on
// the wasm SIMD kernels. Every policy gets the settings that move the target fraction of dense
// transfers by its own transfer model (src/attention/planner.ts); a target a policy cannot reach
// (FlexGen below about 1/2) is a note. The peer in the same run is dense attention, plus the
// streaming-read bandwidth of this machine (wasm stream_sum over the cache), which bounds what any
// kernel can reach.
//
// Variants are interleaved per round (the VM is noisy); rows report medians. Theoretical speedup
// is dense bytes / the policy's (the transfer model, which the policies' counters add up, at the
// cache's element size). With --kv-dtype f32,f16 both caches hold the same values and every
// variant runs on both in the same rounds; rows then say how much faster each is than on f32.
// Likewise --threads 1,2 runs every variant on a 1-thread and a 2-thread kernel set (each with its
// own cache, same values) in the same rounds, and rows say how much faster each is than on 1 thread.
//
// Usage: thrifty bench attention [--seq 4096,16384] [--batch 1] [--compression 1/2,1/4,1/8]
//        [--attention sparq,h2o,lm-infinite,flexgen,oracle] [--kv-dtype f32,f16] [--threads 1,2] [--json]

import { availableParallelism, freemem } from 'node:os';
import { KvCache } from '../attention/kv-cache.js';
import { buildHeadTasks } from '../attention/decode-policy.js';
import { formatRatio, planCompression, planTopK, type CompressionRecipe } from '../attention/planner.js';
import type { AttentionSpec } from '../attention/policy.js';
import { transferBytes, transferModel, transferTotal } from '../attention/transfers.js';
import { type AttentionHeadTask, type H2oHeadTask, kvBlockLayout, type KvDType, kvElementBytes } from '../ops/attention-kernels.js';
import { WasmAttention } from '../backend/wasm/attention.js';
import type { WasmArena } from '../backend/wasm/arena.js';
import type { WasmKernels } from '../backend/wasm/kernels.js';
import { createNodeWasmKernels } from '../node/wasm-pool.js';
import { Rng } from '../tensor/rng.js';
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
  /** Policies compared with dense (default all: sparq, h2o, lm-infinite, flexgen, oracle). */
  attention?: readonly BenchPolicy[];
  /** KV cache element types, each run in the same rounds (default ['f16'], the wasm backend's). */
  kvDType?: readonly KvDType[];
  /**
   * Threads including the main one (default: all cores); a list runs every variant on each count in
   * the same rounds (rows then carry vsOneThread when 1 is in the list).
   */
  threads?: number | readonly number[];
  /** Timed rounds (default 7) after `warmup` rounds (default 2). */
  rounds?: number;
  warmup?: number;
  /** Skip configurations whose cache needs more (default: min(6 GiB, 60% of free memory)). */
  maxMemoryBytes?: number;
  json?: boolean;
  log?: (line: string) => void;
}

export const BENCH_POLICIES = ['sparq', 'h2o', 'lm-infinite', 'flexgen', 'oracle'] as const;
export type BenchPolicy = (typeof BENCH_POLICIES)[number];

export interface AttentionBenchRow {
  seq: number;
  batch: number;
  heads: number;
  kvHeads: number;
  headDim: number;
  /** Target fraction of dense transfers. */
  compression: number;
  /** The cache's K/V element type. */
  kvDType: KvDType;
  policy: BenchPolicy;
  /** SparQ: 'even' | 'paper'; baselines: ''. */
  recipe: string;
  /** SparQ's r (null for the baselines). */
  rank: number | null;
  topK: number;
  /** SparQ's and H2O's l (null for the others). */
  localWindow: number | null;
  /** SparQ step 1 read from the transposed copy of K (false for the baselines). */
  kTwice: boolean;
  /** The policy's transfers over dense's by its transfer model (at most `compression`). */
  achievedRatio: number;
  /** Median ms per decode step (one layer, all heads, all sequences). */
  denseMs: number;
  ms: number;
  speedup: number;
  /** Median over rounds of dense / policy time within the round (robust to slow drift in machine load). */
  pairedSpeedup: number;
  /** Dense bytes / the policy's (the transfer model at the cache's element size, as the policies count). */
  theoreticalSpeedup: number;
  /** pairedSpeedup / theoreticalSpeedup: how close the kernel comes to what its bytes allow. */
  ofTheoretical: number;
  /** Modelled bytes per step (all tasks): dense's and the policy's. */
  denseBytes: number;
  bytes: number;
  /** Modelled bytes moved / time. */
  denseGBs: number;
  gbs: number;
  /**
   * When f32 ran in the same rounds: median over rounds of (f32 time / this dtype's time) for
   * dense and for this policy (1 on the f32 rows); null otherwise.
   */
  denseVsF32: number | null;
  vsF32: number | null;
  /**
   * When 1 thread ran in the same rounds: median over rounds of (1-thread time / this time) for dense
   * and for this policy (1 on the 1-thread rows); null otherwise.
   */
  denseVsOneThread: number | null;
  vsOneThread: number | null;
  /** Streaming read of the memory holding the cache, in the same run. */
  streamGBs: number;
  threads: number;
  rounds: number;
}


/** Bytes of a KvCache with K twice for these sizes (capacity = seq rounded to 16). */
export function attentionCacheBytes(seq: number, batch: number, kvHeads: number, headDim: number, dtype: KvDType = 'f32'): number {
  const capacity = Math.ceil(seq / 16) * 16;
  return batch * kvHeads * kvBlockLayout(headDim, capacity, true, dtype).bytes;
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
  const policies = options.attention ?? BENCH_POLICIES;
  const dtypes = options.kvDType ?? ['f16'];
  if (dtypes.length === 0 || new Set(dtypes).size !== dtypes.length) throw new RangeError(`--kv-dtype lists each of f32, f16 at most once, got ${dtypes.join(',')}`);
  const rounds = options.rounds ?? 7;
  const warmup = options.warmup ?? 2;
  const maxMemory = options.maxMemoryBytes ?? Math.min(6 * 2 ** 30, 0.6 * freemem());
  if (heads % kvHeads !== 0) throw new RangeError(`--heads (${heads}) must be a multiple of --kv-heads (${kvHeads})`);
  if (!WasmAttention.supports(headDim)) throw new RangeError(`--head-dim must be a multiple of 4, got ${headDim}`);
  const group = heads / kvHeads;
  const say = (note: string): void => log(options.json ? JSON.stringify({ note }) : `# ${note}`);

  const threadCounts = typeof options.threads === 'number' ? [options.threads] : options.threads ?? [availableParallelism()];
  if (threadCounts.length === 0 || new Set(threadCounts).size !== threadCounts.length) throw new RangeError(`--threads lists each count at most once, got ${threadCounts.join(',')}`);
  const engines: Engine[] = [];
  const rows: AttentionBenchRow[] = [];
  const rng = new Rng(1234);
  try {
    for (const threads of threadCounts) {
      const kernels = await createNodeWasmKernels({ threads });
      engines.push({ kernels, attention: new WasmAttention(kernels) });
    }
    const threadsText = engines.map((e) => e.kernels.threads).join(' and ');
    say(`node ${process.versions.node}, wasm ${engines[0]!.kernels.simd}, ${threadsText} threads${engines.length > 1 ? ' (same rounds)' : ''}; ${heads} heads (${kvHeads} KV) of ${headDim}, `
      + `${dtypes.join(' and ')} cache${dtypes.length > 1 ? 's (same values, same rounds)' : ''}, one decode step of one layer; ${policies.join(', ')} against dense; SparQ recipes ${recipes.join(', ')} `
      + `(paper: k = 128, largest r within the ratio; even: r = d R, largest k); baselines: largest k within the ratio; `
      + `medians of ${rounds} interleaved rounds`);
    if (!options.json) {
      log('| threads | seq | batch | KV | ratio | policy | recipe | r | k | l | K twice | achieved | dense ms | ms | speedup | paired | theoretical | of theoretical | dense GB/s | GB/s | stream GB/s | dense vs f32 | vs f32 | dense vs 1 thread | vs 1 thread |');
      log('|---:|---:|---:|:---|---:|:---|:---|---:|---:|---:|:---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|');
    }
    for (const seq of seqs) {
      for (const batch of batches) {
        let bytes = 0;
        for (const dtype of dtypes) bytes += engines.length * attentionCacheBytes(seq, batch, kvHeads, headDim, dtype);
        if (bytes > maxMemory) {
          say(`skipped seq ${seq} batch ${batch}: its cache needs ${(bytes / 2 ** 30).toFixed(2)} GiB, over the `
            + `${(maxMemory / 2 ** 30).toFixed(2)} GiB allowed (raise --max-memory-gib if the machine has room)`);
          continue;
        }
        rows.push(...runConfig(engines, rng, {
          seq, batch, heads, kvHeads, headDim, group, compressions, recipes, policies, rounds, warmup, dtypes,
        }, (row) => log(options.json ? JSON.stringify(row) : formatRow(row)), say));
      }
    }
  } finally {
    for (const { kernels, attention } of engines) {
      attention.dispose();
      kernels.dispose();
    }
  }
  return rows;
}

/** One kernel set (a thread count) with its attention kernels. */
interface Engine {
  kernels: WasmKernels;
  attention: WasmAttention;
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
  policies: readonly BenchPolicy[];
  rounds: number;
  warmup: number;
  dtypes: readonly KvDType[];
}

/** One policy at one target: its spec and how the kernels run it on the tasks. */
interface Plan {
  ratio: number;
  policy: BenchPolicy;
  recipe: string;
  spec: AttentionSpec;
  kTwice: boolean;
  name: string;
}

function runConfig(engines: readonly Engine[], rng: Rng, c: Config,
  emit: (row: AttentionBenchRow) => void, say: (note: string) => void): AttentionBenchRow[] {
  const caches: KvCache[] = [];
  const scoreVectors: Array<{ attention: WasmAttention; scores: Float32Array }> = [];
  try {
    const q = Float32Array.from({ length: c.batch * c.heads * c.headDim }, () => rng.normal());
    const out = new Float32Array(q.length);
    const planShape = { headDim: c.headDim, seqLen: c.seq };

    // Every policy's settings for every target, by its own transfer model.
    const plans: Plan[] = [];
    for (const ratio of c.compressions) {
      for (const policy of c.policies) {
        try {
          if (policy === 'sparq') {
            for (const recipe of c.recipes) {
              const p = planCompression(ratio, planShape, recipe);
              for (const kTwice of [true, false]) {
                plans.push({ ratio, policy, recipe, kTwice, name: `sparq ${recipe} ${ratio} ${kTwice}`,
                  spec: { kind: 'sparq', rank: p.rank, topK: p.topK, localWindow: p.localWindow, reallocation: c.group === 1 } });
              }
            }
          } else {
            const { topK } = planTopK(policy, ratio, planShape);
            const spec: AttentionSpec = policy === 'h2o' ? { kind: policy, topK, localWindow: Math.floor(topK / 4) }
              : policy === 'lm-infinite' ? { kind: policy, topK, sinks: Math.min(16, topK) } : { kind: policy, topK };
            plans.push({ ratio, policy, recipe: '', kTwice: false, name: `${policy} ${ratio}`, spec });
          }
        } catch (err) {
          say(`seq ${c.seq}, ${policy} at ${formatRatio(ratio)}: ${(err as Error).message}`);
        }
      }
    }

    // Per engine and dtype: a cache (the same values everywhere: one fill seed), its tasks, and the
    // variants that run on them. H2O's score vectors (one per task, in the cache's memory) start in a
    // used state (uniform scores, no evictions yet); the first call evicts down to k, later calls run
    // in the steady state.
    const fillSeed = rng.nextU32();
    const h2oSeed = rng.nextU32();
    interface Variant { name: string; run: () => void; times: number[] }
    const variants: Variant[] = [];
    const setups: Array<{ engine: Engine; tag: string; tasksOf: Map<KvDType, AttentionHeadTask[]>; streamName: string; streamBytes: number }> = [];
    for (const engine of engines) {
      const { kernels, attention } = engine;
      const tag = `T${kernels.threads}`;
      const tasksOf = new Map<KvDType, AttentionHeadTask[]>();
      for (const dtype of c.dtypes) {
        const cache = new KvCache({
          layers: 1, kvHeads: c.kvHeads, headDim: c.headDim, batch: c.batch, initialCapacity: c.seq, maxLength: c.seq,
          storeKTransposed: true, allocator: attention.cacheAllocator, release: attention.cacheRelease, dtype,
        });
        caches.push(cache);
        fillCache(cache, c.seq, new Rng(fillSeed));
        tasksOf.set(dtype, buildHeadTasks(attention, cache, 0, Array.from({ length: c.batch }, (_, i) => i), c.heads));
      }
      const h2oRng = new Rng(h2oSeed);
      const h2oTasks = (tasks: readonly AttentionHeadTask[]): H2oHeadTask[] => tasks.map((task) => {
        const scores = attention.cacheAllocator(c.seq);
        for (let i = 0; i < c.seq; i++) scores[i] = h2oRng.uniform();
        scoreVectors.push({ attention, scores });
        return { ...task, scores };
      });
      const runner = (p: Plan, tasks: readonly AttentionHeadTask[]): (() => void) => {
        const spec = p.spec;
        switch (spec.kind) {
          case 'sparq': {
            const params = { rank: spec.rank, topK: spec.topK, localWindow: spec.localWindow, reallocation: spec.reallocation ?? true, transposed: p.kTwice };
            return () => attention.sparq(tasks, q, out, c.headDim, c.group, params);
          }
          case 'h2o': {
            const h2o = h2oTasks(tasks);
            const params = { topK: spec.topK, localWindow: spec.localWindow ?? 0 };
            return () => attention.h2o(h2o, q, out, c.headDim, c.group, params);
          }
          case 'lm-infinite': {
            const params = { topK: spec.topK, sinks: spec.sinks ?? 0 };
            return () => attention.lmInfinite(tasks, q, out, c.headDim, c.group, params);
          }
          case 'flexgen':
          case 'oracle':
            return () => attention.exactTopK(tasks, q, out, c.headDim, c.group, { topK: spec.topK });
          default:
            throw new Error(`bench attention: no runner for ${spec.kind}`);
        }
      };

      // Streaming read over the memory the caches occupy (per arena, from its first block to the
      // end of its last): the same DRAM, read at the best rate this machine gives wasm.
      const extents = new Map<WasmArena, { start: number; end: number }>();
      for (const tasks of tasksOf.values()) {
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
      }
      let streamBytes = 0;
      for (const e of extents.values()) streamBytes += e.end - e.start;
      const streamName = `${tag} stream`;
      variants.push({ name: streamName, run: () => { for (const [arena, e] of extents) kernels.streamSum(e.start, (e.end - e.start) / 4, arena); }, times: [] });
      for (const [dtype, tasks] of tasksOf) {
        variants.push({ name: `${tag} ${dtype} dense`, run: () => attention.dense(tasks, q, out, c.headDim, c.group), times: [] });
        for (const p of plans) variants.push({ name: `${tag} ${dtype} ${p.name}`, run: runner(p, tasks), times: [] });
      }
      setups.push({ engine, tag, tasksOf, streamName, streamBytes });
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
    const pairedRatio = (slow: string, fast: string): number => median(timesOf(slow).map((t, i) => t / timesOf(fast)[i]!));
    const withF32 = c.dtypes.includes('f32');
    const withOne = setups.some((st) => st.engine.kernels.threads === 1);
    const rows: AttentionBenchRow[] = [];
    for (const { engine, tag, tasksOf, streamName, streamBytes } of setups) {
      const streamMs = ms(streamName);
      for (const [dtype, tasks] of tasksOf) {
        const e = kvElementBytes(dtype);
        const denseName = `${tag} ${dtype} dense`;
        const denseMs = ms(denseName);
        // Elements and bytes per step over all tasks, by the transfer model.
        const elements = (spec: AttentionSpec): number => tasks.length * transferTotal(transferModel(spec, c.seq, c.headDim));
        const bytes = (spec: AttentionSpec): number => tasks.length * transferBytes(transferModel(spec, c.seq, c.headDim), e);
        const denseElements = elements({ kind: 'dense' });
        const denseBytes = bytes({ kind: 'dense' });
        for (const p of plans) {
          const spec = p.spec;
          const name = `${tag} ${dtype} ${p.name}`;
          const policyMs = ms(name);
          const moved = bytes(spec);
          const row: AttentionBenchRow = {
            seq: c.seq, batch: c.batch, heads: c.heads, kvHeads: c.kvHeads, headDim: c.headDim,
            compression: p.ratio, kvDType: dtype, policy: p.policy, recipe: p.recipe,
            rank: spec.kind === 'sparq' ? spec.rank : null,
            topK: 'topK' in spec ? spec.topK : c.seq,
            localWindow: spec.kind === 'sparq' || spec.kind === 'h2o' ? (spec.localWindow ?? null) : null,
            kTwice: p.kTwice,
            achievedRatio: elements(spec) / denseElements,
            denseMs: round3(denseMs), ms: round3(policyMs), speedup: round3(denseMs / policyMs),
            pairedSpeedup: round3(pairedRatio(denseName, name)),
            theoreticalSpeedup: round3(denseBytes / moved),
            ofTheoretical: round3(pairedRatio(denseName, name) / (denseBytes / moved)),
            denseBytes, bytes: moved,
            denseGBs: round3(denseBytes / (denseMs * 1e6)),
            gbs: round3(moved / (policyMs * 1e6)),
            streamGBs: round3(streamBytes / (streamMs * 1e6)),
            denseVsF32: withF32 ? round3(pairedRatio(`${tag} f32 dense`, denseName)) : null,
            vsF32: withF32 ? round3(pairedRatio(`${tag} f32 ${p.name}`, name)) : null,
            denseVsOneThread: withOne ? round3(pairedRatio(`T1 ${dtype} dense`, denseName)) : null,
            vsOneThread: withOne ? round3(pairedRatio(`T1 ${dtype} ${p.name}`, name)) : null,
            threads: engine.kernels.threads, rounds: c.rounds,
          };
          rows.push(row);
          emit(row);
        }
      }
    }
    return rows;
  } finally {
    for (const { attention, scores } of scoreVectors) attention.cacheRelease(scores);
    for (const cache of caches) cache.dispose();
  }
}

const round3 = (x: number): number => Math.round(x * 1000) / 1000;

function formatRow(r: AttentionBenchRow): string {
  return `| ${r.threads} | ${r.seq} | ${r.batch} | ${r.kvDType} | ${formatRatio(r.compression)} | ${r.policy} | ${r.recipe || '-'} | ${r.rank ?? '-'} | ${r.topK} | ${r.localWindow ?? '-'} `
    + `| ${r.policy === 'sparq' ? (r.kTwice ? 'yes' : 'no') : '-'} | ${(100 * r.achievedRatio).toFixed(1)}% `
    + `| ${r.denseMs.toFixed(2)} | ${r.ms.toFixed(2)} | ${r.speedup.toFixed(2)}x | ${r.pairedSpeedup.toFixed(2)}x | ${r.theoreticalSpeedup.toFixed(2)}x | ${r.ofTheoretical.toFixed(2)} `
    + `| ${r.denseGBs.toFixed(1)} | ${r.gbs.toFixed(1)} | ${r.streamGBs.toFixed(1)} `
    + `| ${ratioCell(r.denseVsF32)} | ${ratioCell(r.vsF32)} | ${ratioCell(r.denseVsOneThread)} | ${ratioCell(r.vsOneThread)} |`;
}

function ratioCell(x: number | null): string {
  return x === null ? '-' : `${x.toFixed(2)}x`;
}
