// Block-sparse kernels: the reference twins against dense products of the expanded weight, and the
// wasm kernels against the reference on awkward shapes and patterns (empty block rows, all-zero
// blocks, a single block, every block, n not a multiple of 4), for plain and relaxed SIMD, 1 and 2
// threads (2-thread variants split every call), with values in plain memory and in the arena.

import assert from 'node:assert/strict';
import { after, describe, test } from 'node:test';
import {
  blockSparseGradInputReference, blockSparseGradValuesReference, blockSparseMatmulReference, checkStructure, transposeStructure,
} from '../../src/backend/reference/block-sparse.js';
import { WasmBlockSparse } from '../../src/backend/wasm/block-sparse.js';
import { WasmKernels } from '../../src/backend/wasm/kernels.js';
import { createNodeThreadPool, enableRelaxedSimd } from '../../src/node/wasm-pool.js';
import { BlockSparsePattern } from '../../src/nn/block-sparse.js';
import { Rng } from '../../src/tensor/rng.js';

const relaxedAvailable = enableRelaxedSimd();
const pool = await createNodeThreadPool({ threads: 2 });

interface Variant {
  readonly name: string;
  readonly k: WasmKernels;
  readonly sparse: WasmBlockSparse;
}

const variants: Variant[] = [];
for (const flavor of ['simd', 'relaxed'] as const) {
  if (flavor === 'relaxed' && !relaxedAvailable) continue;
  for (const threads of [1, 2]) {
    const k = await WasmKernels.create({ relaxedSimd: flavor === 'relaxed', pool, threads, forceParallel: threads > 1, initialArenaBytes: 1 << 22 });
    variants.push({ name: `${flavor} ${threads}T`, k, sparse: new WasmBlockSparse(k, { forceParallel: threads > 1 }) });
  }
}

after(() => {
  for (const v of variants) v.k.dispose();
  pool.dispose();
});

function randomArray(n: number, rng: Rng): Float32Array {
  const a = new Float32Array(n);
  for (let i = 0; i < n; i++) a[i] = rng.normal();
  return a;
}

/** Dense y = x Wᵀ, dx = dy W, dW = dyᵀ x in f64 (the oracle of the reference twins). */
function denseProducts(w: Float64Array, rows: number, cols: number, x: Float64Array, dy: Float64Array, n: number) {
  const y = new Float64Array(n * rows);
  const dx = new Float64Array(n * cols);
  const dw = new Float64Array(rows * cols);
  for (let t = 0; t < n; t++) {
    for (let r = 0; r < rows; r++) {
      let acc = 0;
      for (let c = 0; c < cols; c++) acc += w[r * cols + c]! * x[t * cols + c]!;
      y[t * rows + r] = acc;
      for (let c = 0; c < cols; c++) {
        dx[t * cols + c] = dx[t * cols + c]! + dy[t * rows + r]! * w[r * cols + c]!;
        dw[r * cols + c] = dw[r * cols + c]! + dy[t * rows + r]! * x[t * cols + c]!;
      }
    }
  }
  return { y, dx, dw };
}

function assertClose(what: string, got: ArrayLike<number>, want: ArrayLike<number>, tol: number): void {
  assert.equal(got.length >= want.length, true, `${what}: length ${got.length} < ${want.length}`);
  for (let i = 0; i < want.length; i++) {
    const err = Math.abs(got[i]! - want[i]!);
    if (!(err <= tol * (1 + Math.abs(want[i]!)))) assert.fail(`${what}: element ${i} got ${got[i]} want ${want[i]}`);
  }
}

interface PatternCase {
  readonly name: string;
  readonly rows: number;
  readonly cols: number;
  readonly block: number;
  readonly mask: (br: number, bc: number, rng: Rng) => Uint8Array;
  readonly zeroBlocks?: boolean;
}

const randomMask = (density: number) => (br: number, bc: number, rng: Rng): Uint8Array => {
  const p = BlockSparsePattern.random(br, bc, 1, Math.max(1, Math.round(density * br * bc)), rng);
  return p.mask();
};
const emptyRows = (br: number, bc: number): Uint8Array => {
  // Even block rows empty; odd ones hold every other block.
  const m = new Uint8Array(br * bc);
  for (let r = 1; r < br; r += 2) for (let c = r % 2; c < bc; c += 2) m[r * bc + c] = 1;
  return m;
};
const single = (br: number, bc: number): Uint8Array => {
  const m = new Uint8Array(br * bc);
  m[(br >> 1) * bc + (bc - 1)] = 1;
  return m;
};
const full = (br: number, bc: number): Uint8Array => new Uint8Array(br * bc).fill(1);
const none = (br: number, bc: number): Uint8Array => new Uint8Array(br * bc);

const CASES: PatternCase[] = [];
for (const block of [1, 4, 8, 16]) {
  const [rows, cols] = block === 16 ? [48, 32] : block === 8 ? [24, 40] : block === 4 ? [20, 12] : [7, 13];
  CASES.push({ name: `b${block} density 0.3`, rows, cols, block, mask: randomMask(0.3) });
  CASES.push({ name: `b${block} empty block rows`, rows, cols, block, mask: emptyRows });
  CASES.push({ name: `b${block} single block`, rows, cols, block, mask: single });
  CASES.push({ name: `b${block} every block, some all-zero`, rows, cols, block, mask: full, zeroBlocks: true });
  CASES.push({ name: `b${block} no block`, rows, cols, block, mask: none });
}
// Not a wasm block size: the wrapper runs the reference kernels.
CASES.push({ name: 'b2 (reference fallback) density 0.5', rows: 6, cols: 10, block: 2, mask: randomMask(0.5) });

const TOKENS = [1, 3, 4, 6, 13, 37];

function build(c: PatternCase, rng: Rng): { pattern: BlockSparsePattern; values: Float32Array } {
  const br = c.rows / c.block;
  const bc = c.cols / c.block;
  const pattern = BlockSparsePattern.fromMask(c.rows, c.cols, c.block, c.mask(br, bc, rng));
  const values = randomArray(pattern.valueCount, rng);
  if (c.zeroBlocks) {
    const bb = c.block * c.block;
    for (let k = 0; k < pattern.activeBlocks; k += 3) values.fill(0, k * bb, (k + 1) * bb);
  }
  return { pattern, values };
}

describe('block-sparse format', () => {
  test('random patterns have exactly the requested number of blocks, sorted, seeded', () => {
    for (const block of [1, 4, 8, 16]) {
      const a = BlockSparsePattern.random(1024, 256, block, 77, new Rng(5));
      const b = BlockSparsePattern.random(1024, 256, block, 77, new Rng(5));
      const c = BlockSparsePattern.random(1024, 256, block, 77, new Rng(6));
      assert.equal(a.activeBlocks, 77);
      checkStructure(a, 'test');
      assert.deepEqual(a.colIdx, b.colIdx);
      assert.deepEqual(a.rowPtr, b.rowPtr);
      assert.notDeepEqual(a.positions(), c.positions());
    }
  });

  test('dense round trip, mask round trip, fromDense finds the nonzero blocks', () => {
    const rng = new Rng(3);
    const p = BlockSparsePattern.random(16, 24, 4, 9, rng);
    const values = randomArray(p.valueCount, rng);
    const dense = p.toDense(values);
    assert.equal(dense.length, 16 * 24);
    assert.deepEqual(p.valuesFromDense(dense), values);
    assert.deepEqual(BlockSparsePattern.fromMask(16, 24, 4, p.mask()).colIdx, p.colIdx);
    const q = BlockSparsePattern.fromDense(dense, 16, 24, 4);
    assert.deepEqual(q.positions(), p.positions());
    // Inactive positions are zero in the dense weight: 9 of 24 blocks hold values.
    let nonzero = 0;
    for (const v of dense) if (v !== 0) nonzero++;
    assert.equal(nonzero, 9 * 16);
  });

  test('bad sizes and inconsistent indices are one-line errors', () => {
    assert.throws(() => BlockSparsePattern.random(30, 16, 4, 3, new Rng(1)), /block size 4 does not divide the weight's dimensions \[30, 16\]/);
    assert.throws(() => new BlockSparsePattern(8, 8, 4, Int32Array.from([0, 2, 2]), Int32Array.from([1, 1])), /out of order/);
    assert.throws(() => new BlockSparsePattern(8, 8, 4, Int32Array.from([0, 2, 2]), Int32Array.from([0, 2])), /out of order or out of range \[0, 2\)/);
    assert.throws(() => new BlockSparsePattern(8, 8, 4, Int32Array.from([0, 2, 1]), Int32Array.from([0, 1])), /rowPtr decreases/);
    const p = BlockSparsePattern.random(8, 8, 4, 2, new Rng(1));
    assert.throws(() => p.setMask(new Uint8Array(4).fill(1)), /more than the pattern's 2 active blocks/);
  });

  test('transposeStructure lists every block once per block column', () => {
    const p = BlockSparsePattern.random(32, 48, 4, 30, new Rng(9));
    const t = transposeStructure(p);
    const pos = p.positions();
    const seen = new Set<number>();
    for (let c = 0; c < p.blockCols; c++) {
      for (let i = t.colPtr[c]!; i < t.colPtr[c + 1]!; i++) {
        const k = t.perm[i]!;
        assert.equal(pos[k], t.rowIdx[i]! * p.blockCols + c);
        seen.add(k);
      }
    }
    assert.equal(seen.size, 30);
  });
});

describe('reference kernels equal dense products of the expanded weight (f64)', () => {
  for (const c of CASES) {
    test(c.name, () => {
      const rng = new Rng(11);
      const { pattern, values } = build(c, rng);
      const v64 = Float64Array.from(values);
      const w = pattern.toDense(v64);
      for (const n of [1, 5]) {
        const x = Float64Array.from(randomArray(n * c.cols, rng));
        const dy = Float64Array.from(randomArray(n * c.rows, rng));
        const want = denseProducts(w, c.rows, c.cols, x, dy, n);
        const y = new Float64Array(n * c.rows);
        blockSparseMatmulReference(x, n, pattern, v64, y);
        assertClose('y', y, want.y, 1e-12);
        const dx = new Float64Array(n * c.cols);
        blockSparseGradInputReference(dy, n, pattern, v64, dx);
        assertClose('dx', dx, want.dx, 1e-12);
        const dv = new Float64Array(pattern.valueCount);
        blockSparseGradValuesReference(dy, x, n, pattern, dv);
        assertClose('dValues', dv, pattern.valuesFromDense(want.dw), 1e-12);
      }
    });
  }
});

describe('wasm block-sparse kernels equal the reference', () => {
  test('variants: plain and relaxed SIMD, 1 and 2 threads', () => {
    assert.equal(variants.length, relaxedAvailable ? 4 : 2);
  });
  for (const c of CASES) {
    test(c.name, () => {
      const rng = new Rng(21);
      const { pattern, values } = build(c, rng);
      const v64 = Float64Array.from(values);
      for (const n of TOKENS) {
        const x = randomArray(n * c.cols, rng);
        const dy = randomArray(n * c.rows, rng);
        const y64 = new Float64Array(n * c.rows);
        blockSparseMatmulReference(Float64Array.from(x), n, pattern, v64, y64);
        const dx64 = new Float64Array(n * c.cols);
        blockSparseGradInputReference(Float64Array.from(dy), n, pattern, v64, dx64);
        const dv64 = new Float64Array(pattern.valueCount);
        blockSparseGradValuesReference(Float64Array.from(dy), Float64Array.from(x), n, pattern, dv64);
        const tol = 2e-5 * Math.sqrt(Math.max(c.cols, c.rows, n));
        for (const v of variants) {
          for (const resident of [false, true]) {
            const what = `${v.name} n=${n}${resident ? ' resident' : ''}`;
            const vals = resident ? v.k.allocF32(Math.max(1, values.length)) : values;
            if (resident) vals.set(values);
            const y = new Float32Array(n * c.rows).fill(NaN);
            v.sparse.matmul(x, n, pattern, vals, y);
            assertClose(`${what} y`, y, y64, tol);
            const dx = new Float32Array(n * c.cols).fill(NaN);
            v.sparse.gradInput(dy, n, pattern, vals, dx);
            assertClose(`${what} dx`, dx, dx64, tol);
            const dv = resident ? v.k.allocF32(Math.max(1, values.length)) : new Float32Array(values.length);
            dv.fill(NaN);
            v.sparse.gradValues(dy, x, n, pattern, dv);
            assertClose(`${what} dValues`, dv.subarray(0, values.length), dv64, tol);
            if (resident) {
              v.k.freeF32(vals);
              v.k.freeF32(dv);
            }
          }
        }
      }
    });
  }

  test('the wasm path runs for b in {1, 4, 8, 16} and not for b = 2 or 12 (b >= 8 must be a multiple of 8)', () => {
    const v = variants[0]!;
    for (const block of [1, 2, 4, 8, 12, 16]) {
      const p = BlockSparsePattern.random(48, 48, block, 2, new Rng(1));
      const before = v.sparse.calls;
      v.sparse.matmul(new Float32Array(5 * 48), 5, p, new Float32Array(p.valueCount), new Float32Array(5 * 48));
      assert.equal(v.sparse.calls - before, block === 2 || block === 12 ? 0 : 1, `b = ${block}`);
    }
  });

  test('b = 12 (reference fallback) agrees with the reference', () => {
    const rng = new Rng(31);
    const pattern = BlockSparsePattern.random(36, 48, 12, 5, rng);
    const values = randomArray(pattern.valueCount, rng);
    for (const v of variants) checkAll(`${v.name} b12`, v, pattern, values, 11, rng, 1e-4);
  });

  test('activations staged in 64-token chunks: every residency of x / dy and y / dx, densities 0.5, 0.25, 0.1', () => {
    // One thread stages activations that live outside the arena chunk by chunk (the products see
    // each chunk as its own call; dW accumulates over them). Token counts around the chunk size,
    // awkward patterns (an empty block row and an all-zero block), each operand in or out of the arena.
    const rng = new Rng(14);
    for (const block of [1, 4, 8, 16]) {
      const [rows, cols] = [4 * 16, 3 * 16];
      const br = rows / block;
      const bc = cols / block;
      for (const density of [0.5, 0.25, 0.1]) {
        const mask = BlockSparsePattern.random(br, bc, 1, Math.max(1, Math.round(density * br * bc)), rng).mask();
        mask.fill(0, 0, bc); // block row 0 empty
        if (!mask.some((m) => m === 1)) mask[bc] = 1;
        const pattern = BlockSparsePattern.fromMask(rows, cols, block, mask);
        const values = randomArray(pattern.valueCount, rng);
        values.fill(0, 0, block * block); // an all-zero block
        const v64 = Float64Array.from(values);
        for (const n of [63, 64, 65, 150]) {
          const x = randomArray(n * cols, rng);
          const dy = randomArray(n * rows, rng);
          const { y64, dx64, dv64 } = referenceProducts(x, dy, n, pattern, v64);
          for (const v of variants) {
            // [input resident, output resident]: the three mixtures that stage something, and neither.
            for (const [inArena, outArena] of [[false, false], [true, false], [false, true], [true, true]] as const) {
              const what = `${v.name} b${block} d${density} n=${n} in ${inArena ? 'arena' : 'js'} out ${outArena ? 'arena' : 'js'}`;
              const place = (a: Float32Array, arena: boolean): Float32Array => {
                if (!arena) return a;
                const r = v.k.allocF32(Math.max(1, a.length));
                r.set(a);
                return r;
              };
              const xs = place(x, inArena);
              const dys = place(dy, inArena);
              const y = place(new Float32Array(n * rows).fill(NaN), outArena);
              const dx = place(new Float32Array(n * cols).fill(NaN), outArena);
              const dv = place(new Float32Array(pattern.valueCount).fill(NaN), outArena);
              v.sparse.matmul(xs, n, pattern, values, y);
              assertClose(`${what} y`, y.subarray(0, n * rows), y64, 1e-4);
              v.sparse.gradInput(dys, n, pattern, values, dx);
              assertClose(`${what} dx`, dx.subarray(0, n * cols), dx64, 1e-4);
              // dW: dy on the input's side, x on the output's (all four mixtures over the loop).
              const xw = place(x, outArena);
              v.sparse.gradValues(dys, xw, n, pattern, dv);
              assertClose(`${what} dValues (x ${outArena ? 'arena' : 'js'})`, dv.subarray(0, pattern.valueCount), dv64, 1e-4);
              for (const a of [xs, dys, xw, y, dx, dv]) if (v.k.arenas.find(a)) v.k.freeF32(a);
            }
          }
        }
      }
    }
  });

  /** The three products by the f64 reference kernels: y = x Wᵀ, dx = dy W, dValues at the active blocks. */
  function referenceProducts(x: Float32Array, dy: Float32Array, n: number, pattern: BlockSparsePattern, v64: Float64Array): { y64: Float64Array; dx64: Float64Array; dv64: Float64Array } {
    const y64 = new Float64Array(n * pattern.rows);
    blockSparseMatmulReference(Float64Array.from(x), n, pattern, v64, y64);
    const dx64 = new Float64Array(n * pattern.cols);
    blockSparseGradInputReference(Float64Array.from(dy), n, pattern, v64, dx64);
    const dv64 = new Float64Array(pattern.valueCount);
    blockSparseGradValuesReference(Float64Array.from(dy), Float64Array.from(x), n, pattern, dv64);
    return { y64, dx64, dv64 };
  }

  /** The three wasm products against the f64 reference for one pattern, values and token count. */
  function checkAll(what: string, v: Variant, pattern: BlockSparsePattern, values: Float32Array, n: number, rng: Rng, tol: number): void {
    const { rows, cols } = pattern;
    const x = randomArray(n * cols, rng);
    const dy = randomArray(n * rows, rng);
    const { y64, dx64, dv64 } = referenceProducts(x, dy, n, pattern, Float64Array.from(values));
    const y = new Float32Array(n * rows).fill(NaN);
    v.sparse.matmul(x, n, pattern, values, y);
    assertClose(`${what} y`, y, y64, tol);
    const dx = new Float32Array(n * cols).fill(NaN);
    v.sparse.gradInput(dy, n, pattern, values, dx);
    assertClose(`${what} dx`, dx, dx64, tol);
    const dv = new Float32Array(pattern.valueCount).fill(NaN);
    v.sparse.gradValues(dy, x, n, pattern, dv);
    assertClose(`${what} dValues`, dv, dv64, tol);
  }

  test('1x1 and 4x4 weights wider than one 256-feature panel, partial panels and token chunks', () => {
    // [40, 600]: the forward reads 3 panels (the last 88 features), dX 1; [600, 40] the other way round.
    // Token counts: partial 16-token chunks of up to 8 tokens (one 8-token tile) and of more.
    const rng = new Rng(8);
    for (const [rows, cols, block] of [[40, 600, 1], [600, 40, 1], [12, 257, 1], [40, 600, 4], [600, 40, 4], [12, 260, 4]] as const) {
      for (const density of [0.05, 0.3]) {
        const total = (rows / block) * (cols / block);
        const pattern = BlockSparsePattern.random(rows, cols, block, Math.max(1, Math.round(density * total)), rng);
        const values = randomArray(pattern.valueCount, rng);
        for (const n of [1, 5, 13, 16, 21, 29, 35]) {
          for (const v of variants) checkAll(`${v.name} [${rows}, ${cols}] b${block} d${density} n=${n}`, v, pattern, values, n, rng, 1e-4);
        }
      }
    }
  });

  test('token counts around the kernels\' groups (4-token tiles, 8-token groups and tiles, 16-token chunks, 32-token dW chunks)', () => {
    const rng = new Rng(12);
    for (const block of [4, 8, 16]) {
      const pattern = BlockSparsePattern.random(64, 48, block, Math.max(1, Math.round(0.4 * (64 / block) * (48 / block))), rng);
      const values = randomArray(pattern.valueCount, rng);
      for (const n of [2, 7, 8, 9, 12, 31, 32, 33, 67]) {
        for (const v of variants) checkAll(`${v.name} b${block} n=${n}`, v, pattern, values, n, rng, 1e-4);
      }
    }
  });

  test('a pattern rewritten in place (prune and regrow) is re-read, not served from the derived-index cache', () => {
    const rng = new Rng(13);
    for (const block of [1, 4, 16]) {
      const pattern = BlockSparsePattern.random(64, 32, block, Math.max(2, Math.round(0.25 * (64 / block) * (32 / block))), rng);
      const values = randomArray(pattern.valueCount, rng);
      for (const v of variants) {
        checkAll(`${v.name} b${block} before`, v, pattern, values, 9, rng, 1e-4);
        // Same arrays, new positions (the controller's update): the next calls must see them.
        pattern.randomize(rng);
        checkAll(`${v.name} b${block} after`, v, pattern, values, 9, rng, 1e-4);
        // One block moved within its block row only (same row pointers).
        const mask = pattern.mask();
        const bc = pattern.blockCols;
        for (let r = 0; r < pattern.blockRows; r++) {
          const on = [];
          for (let c = 0; c < bc; c++) if (mask[r * bc + c]) on.push(c);
          const off = [];
          for (let c = 0; c < bc; c++) if (!mask[r * bc + c]) off.push(c);
          if (on.length > 0 && off.length > 0) {
            mask[r * bc + on[0]!] = 0;
            mask[r * bc + off[0]!] = 1;
            break;
          }
        }
        pattern.setMask(mask);
        checkAll(`${v.name} b${block} one block moved`, v, pattern, values, 9, rng, 1e-4);
      }
    }
  });

  test('a larger layer (BERT-mini FFN up, 1024 x 256, density 0.1) agrees for every block size', () => {
    const rng = new Rng(4);
    const n = 70;
    for (const block of [1, 4, 8, 16]) {
      const total = (1024 / block) * (256 / block);
      const pattern = BlockSparsePattern.random(1024, 256, block, Math.round(0.1 * total), rng);
      const values = randomArray(pattern.valueCount, rng);
      const x = randomArray(n * 256, rng);
      const dy = randomArray(n * 1024, rng);
      const y64 = new Float64Array(n * 1024);
      blockSparseMatmulReference(Float64Array.from(x), n, pattern, Float64Array.from(values), y64);
      const dx64 = new Float64Array(n * 256);
      blockSparseGradInputReference(Float64Array.from(dy), n, pattern, Float64Array.from(values), dx64);
      const dv64 = new Float64Array(pattern.valueCount);
      blockSparseGradValuesReference(Float64Array.from(dy), Float64Array.from(x), n, pattern, dv64);
      for (const v of variants) {
        const y = new Float32Array(n * 1024);
        v.sparse.matmul(x, n, pattern, values, y);
        assertClose(`${v.name} b${block} y`, y, y64, 1e-4);
        const dx = new Float32Array(n * 256);
        v.sparse.gradInput(dy, n, pattern, values, dx);
        assertClose(`${v.name} b${block} dx`, dx, dx64, 1e-4);
        const dv = new Float32Array(pattern.valueCount);
        v.sparse.gradValues(dy, x, n, pattern, dv);
        assertClose(`${v.name} b${block} dValues`, dv, dv64, 1e-4);
      }
    }
  });
});
