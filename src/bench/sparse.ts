// Block-sparse benchmark: the wasm block-sparse products of one BERT-mini-shaped layer (FFN up,
// W [1024, 256], tokens = batch x sequence) against the dense wasm matmul of the same layer, in the
// same run, for b in {1, 4, 8, 16} x density {0.5, 0.25, 0.1}; plus the cost of rebuilding a pattern
// after a prune-and-regrow update.
//
// eps = (t_sparse / FLOP_sparse) / (t_dense / FLOP_dense): the time per useful FLOP of the sparse
// product relative to dense (FLOP_sparse = 2 x tokens x active weights). The paper's bar for sparse
// training to win on wall-clock at density 0.1: eps <= 2 (1x1) and eps <= 1.2 (16x16).
//
// Method: weights (dense W, sparse values) live in the arena as in training; the activations are plain
// arrays that every call copies in and out ('host': what a caller outside the engine pays), or live in
// the arena too ('resident': as in training, where the autograd tape keeps activations in wasm
// memory); every variant runs once per round in rotating order after a warm-up; rows give medians.
//
// Usage: node dist/src/bench/sparse.js [--json] [--threads 1] [--tokens 1024] [--repeats 7] [--quick]

import { fileURLToPath } from 'node:url';
import { WasmBlockSparse } from '../backend/wasm/block-sparse.js';
import { WasmKernels } from '../backend/wasm/kernels.js';
import { BlockSparsePattern, activeBlockCount } from '../nn/block-sparse.js';
import { createNodeThreadPool, enableRelaxedSimd } from '../node/wasm-pool.js';
import { Rng } from '../tensor/rng.js';
import { pruneAndRegrow, reindexBlocks } from '../train/dynsparse.js';
import { median } from './stats.js';

export type SparsePass = 'forward' | 'gradInput' | 'gradWeight' | 'step';

/** Where the activations live: plain arrays copied in and out by every call, or in the arena (as in training). */
export type ActivationPlacement = 'host' | 'resident';
export const ACTIVATION_PLACEMENTS: readonly ActivationPlacement[] = ['host', 'resident'];

export interface SparseBenchRow {
  readonly block: number;
  readonly density: number;
  /** forward: Y = X Wᵀ; gradInput: dX = dY W; gradWeight: dW (sparse: at active blocks only); step: the three together. */
  readonly pass: SparsePass;
  /** Where X, Y, dY and dX live (both the sparse and the dense product use the same arrays). */
  readonly placement: ActivationPlacement;
  readonly tokens: number;
  readonly inFeatures: number;
  readonly outFeatures: number;
  readonly threads: number;
  readonly msSparse: number;
  readonly msDense: number;
  /** Useful GFLOP/s: 2 x tokens x active weights per product. */
  readonly gflopsSparse: number;
  readonly gflopsDense: number;
  /** Time per FLOP, sparse over dense. */
  readonly eps: number;
  /** Dense time / sparse time. */
  readonly speedup: number;
  /**
   * Median CPU time of the process (all threads) per call, and eps from it: on a shared machine a
   * call preempted by other processes inflates wall time, not CPU time.
   */
  readonly msSparseCpu: number;
  readonly msDenseCpu: number;
  readonly epsCpu: number;
}

export interface RebuildRow {
  readonly block: number;
  readonly density: number;
  readonly activeBlocks: number;
  /** Median ms of setMask (the CSR rebuild from a mask) alone. */
  readonly msRebuild: number;
  /** Median ms of a whole update of one tensor at pr = 0.5: norms, prune, regrow, rebuild, re-index values + 2 moments. */
  readonly msUpdate: number;
  /** The same in process CPU time (which other processes on a shared machine do not inflate). */
  readonly msUpdateCpu: number;
}

export interface SparseBenchOptions {
  readonly tokens?: number;
  readonly inFeatures?: number;
  readonly outFeatures?: number;
  readonly blocks?: readonly number[];
  readonly densities?: readonly number[];
  readonly threads?: number;
  readonly repeats?: number;
  readonly relaxedSimd?: boolean;
  /** Activation placements to measure (default both). */
  readonly placements?: readonly ActivationPlacement[];
}

function timeIt(fn: () => void): number {
  const t0 = performance.now();
  fn();
  return performance.now() - t0;
}

/** Wall and CPU milliseconds of one call. */
function timeWallCpu(fn: () => void): [number, number] {
  const c0 = process.cpuUsage();
  const t0 = performance.now();
  fn();
  const wall = performance.now() - t0;
  const c = process.cpuUsage(c0);
  return [wall, (c.user + c.system) / 1000];
}

function randomFill(a: Float32Array, rng: Rng): Float32Array {
  for (let i = 0; i < a.length; i++) a[i] = rng.normal();
  return a;
}

/** Sparse vs dense wasm products of one layer, every block size and density. */
export async function benchSparse(options: SparseBenchOptions = {}): Promise<SparseBenchRow[]> {
  const n = options.tokens ?? 1024;
  const fin = options.inFeatures ?? 256;
  const fout = options.outFeatures ?? 1024;
  const threads = options.threads ?? 1;
  const repeats = options.repeats ?? 7;
  if (options.relaxedSimd) enableRelaxedSimd();
  const pool = threads > 1 ? await createNodeThreadPool({ threads }) : undefined;
  const wasm = await WasmKernels.create({ relaxedSimd: options.relaxedSimd ?? false, threads, ...(pool ? { pool } : {}) });
  const sparse = new WasmBlockSparse(wasm);
  const rng = new Rng(1);
  const rows: SparseBenchRow[] = [];
  try {
    const w = randomFill(wasm.allocF32(fout * fin), rng);
    const dw = wasm.allocF32(fout * fin);
    for (const placement of options.placements ?? ACTIVATION_PLACEMENTS) {
      const alloc = (length: number): Float32Array => (placement === 'resident' ? wasm.allocF32(length) : new Float32Array(length));
      const x = randomFill(alloc(n * fin), rng);
      const dy = randomFill(alloc(n * fout), rng);
      const y = alloc(n * fout);
      const dx = alloc(n * fin);
      const dense = {
        forward: () => wasm.matmul(x, w, y, n, fout, fin, false, true),
        gradInput: () => wasm.matmul(dy, w, dx, n, fin, fout, false, false),
        gradWeight: () => wasm.matmul(dy, x, dw, fout, fin, n, true, false),
      };
      const denseFlops = 2 * n * fin * fout;
      for (const block of options.blocks ?? [1, 4, 8, 16]) {
        for (const density of options.densities ?? [0.5, 0.25, 0.1]) {
          const count = activeBlockCount((fout / block) * (fin / block), density);
          const pattern = BlockSparsePattern.random(fout, fin, block, count, rng);
          const values = randomFill(wasm.allocF32(pattern.valueCount), rng);
          const dValues = wasm.allocF32(pattern.valueCount);
          const sparseOps = {
            forward: () => sparse.matmul(x, n, pattern, values, y),
            gradInput: () => sparse.gradInput(dy, n, pattern, values, dx),
            gradWeight: () => sparse.gradValues(dy, x, n, pattern, dValues),
          };
          const passes = ['forward', 'gradInput', 'gradWeight'] as const;
          const times: Record<string, number[]> = {};
          const cpu: Record<string, number[]> = {};
          for (const p of passes) {
            for (const which of ['s', 'd']) {
              times[`${which}${p}`] = [];
              cpu[`${which}${p}`] = [];
            }
            sparseOps[p]();
            dense[p]();
          }
          for (let r = 0; r < repeats; r++) {
            const order = r % 2 === 0 ? ['s', 'd'] : ['d', 's'];
            for (const p of passes) {
              for (const which of order) {
                const [wall, cpuMs] = timeWallCpu(which === 's' ? sparseOps[p] : dense[p]);
                times[`${which}${p}`]!.push(wall);
                cpu[`${which}${p}`]!.push(cpuMs);
              }
            }
          }
          const sparseFlops = 2 * n * pattern.valueCount;
          const row = (pass: SparsePass, msSparse: number, msDense: number, msSparseCpu: number, msDenseCpu: number, passes: number): SparseBenchRow => {
            const fs = passes * sparseFlops;
            const fd = passes * denseFlops;
            return {
              block, density: pattern.density, pass, placement, tokens: n, inFeatures: fin, outFeatures: fout, threads, msSparse, msDense,
              gflopsSparse: fs / msSparse / 1e6, gflopsDense: fd / msDense / 1e6, eps: msSparse / fs / (msDense / fd), speedup: msDense / msSparse,
              msSparseCpu, msDenseCpu, epsCpu: msSparseCpu / fs / (msDenseCpu / fd),
            };
          };
          let stepSparse = 0;
          let stepDense = 0;
          let stepSparseCpu = 0;
          let stepDenseCpu = 0;
          for (const p of passes) {
            const ms = median(times[`s${p}`]!);
            const md = median(times[`d${p}`]!);
            const cs = median(cpu[`s${p}`]!);
            const cd = median(cpu[`d${p}`]!);
            stepSparse += ms;
            stepDense += md;
            stepSparseCpu += cs;
            stepDenseCpu += cd;
            rows.push(row(p, ms, md, cs, cd, 1));
          }
          rows.push(row('step', stepSparse, stepDense, stepSparseCpu, stepDenseCpu, 3));
          wasm.freeF32(values);
          wasm.freeF32(dValues);
        }
      }
      if (placement === 'resident') for (const a of [x, dy, y, dx]) wasm.freeF32(a);
    }
  } finally {
    wasm.dispose();
    pool?.dispose();
  }
  return rows;
}

/** Time to rebuild a pattern, and to run one whole prune-and-regrow update of one tensor. */
export function benchPatternRebuild(options: { rows?: number; cols?: number; density?: number; blocks?: readonly number[]; repeats?: number } = {}): RebuildRow[] {
  const rows = options.rows ?? 1024;
  const cols = options.cols ?? 256;
  const density = options.density ?? 0.1;
  const repeats = options.repeats ?? 21;
  const rng = new Rng(2);
  const out: RebuildRow[] = [];
  for (const block of options.blocks ?? [1, 4, 8, 16]) {
    const count = activeBlockCount((rows / block) * (cols / block), density);
    const pattern = BlockSparsePattern.random(rows, cols, block, count, rng);
    const bb = block * block;
    const values = randomFill(new Float32Array(pattern.valueCount), rng);
    const m = new Float32Array(values.length);
    const v = new Float32Array(values.length);
    const rebuild: number[] = [];
    const update: number[] = [];
    const updateCpu: number[] = [];
    for (let r = 0; r < repeats + 2; r++) {
      const mask = pattern.mask();
      const tRebuild = timeIt(() => pattern.setMask(mask));
      const [tUpdate, cpuUpdate] = timeWallCpu(() => {
        const result = pruneAndRegrow({ pattern, values, fraction: 0.5, regrow: 'random', rng });
        reindexBlocks(values, result.remap, bb);
        reindexBlocks(m, result.remap, bb);
        reindexBlocks(v, result.remap, bb);
      });
      randomFill(values, rng);
      if (r < 2) continue;
      rebuild.push(tRebuild);
      update.push(tUpdate);
      updateCpu.push(cpuUpdate);
    }
    out.push({ block, density: pattern.density, activeBlocks: count, msRebuild: median(rebuild), msUpdate: median(update), msUpdateCpu: median(updateCpu) });
  }
  return out;
}

function parseArgs(argv: readonly string[]): SparseBenchOptions & { json: boolean } {
  const value = (flag: string): string | undefined => {
    const i = argv.indexOf(flag);
    return i >= 0 ? argv[i + 1] : undefined;
  };
  const number = (flag: string): number | undefined => {
    const v = value(flag);
    if (v === undefined) return undefined;
    const n = Number(v);
    if (!Number.isInteger(n) || n < 1) throw new Error(`bench sparse: ${flag} must be a positive integer, got ${v}`);
    return n;
  };
  const quick = argv.includes('--quick');
  return {
    json: argv.includes('--json'),
    tokens: number('--tokens') ?? (quick ? 256 : 1024),
    threads: number('--threads') ?? 1,
    repeats: number('--repeats') ?? (quick ? 3 : 7),
    relaxedSimd: argv.includes('--relaxed'),
  };
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const options = parseArgs(process.argv.slice(2));
  const rebuild = benchPatternRebuild();
  const rows = await benchSparse(options);
  if (options.json) {
    for (const r of rebuild) console.log(JSON.stringify({ kind: 'rebuild', ...r }));
    for (const r of rows) console.log(JSON.stringify({ kind: 'product', ...r }));
  } else {
    console.log('pattern rebuild, W [1024, 256], density 0.1 (median ms): block, active blocks, setMask, whole update (pr 0.5, values + 2 moments), its CPU time');
    for (const r of rebuild) console.log(`  ${r.block}x${r.block}  ${r.activeBlocks}  ${r.msRebuild.toFixed(3)}  ${r.msUpdate.toFixed(3)}  ${r.msUpdateCpu.toFixed(3)}`);
    console.log(`products, tokens ${rows[0]?.tokens}, W [${rows[0]?.outFeatures}, ${rows[0]?.inFeatures}], ${rows[0]?.threads} thread(s): block density pass | ms sparse, ms dense | GFLOP/s sparse, dense | eps | speedup`);
    for (const r of rows) {
      console.log(`  ${r.placement.padEnd(8)} ${r.block}x${r.block} ${r.density.toFixed(3)} ${r.pass.padEnd(10)} | ${r.msSparse.toFixed(3)} ${r.msDense.toFixed(3)} | ${r.gflopsSparse.toFixed(1)} ${r.gflopsDense.toFixed(1)} | ${r.eps.toFixed(2)} | ${r.speedup.toFixed(2)}x`);
    }
  }
}
