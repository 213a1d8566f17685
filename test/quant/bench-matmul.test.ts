// bench matmul at a tiny size: the quantized gemv rows (every format, 1 and 2 threads) come out
// with their stored bytes, their speed against the f32 gemv of the same rounds, and results equal
// to the reference twin's.

import assert from 'node:assert/strict';
import { test } from 'node:test';

import { benchMatmul } from '../../src/bench/matmul.js';
import { QUANT_BLOCK, QUANT_FORMATS } from '../../src/ops/quant-kernels.js';

test('bench matmul: quantized gemv rows per format beside the f32 gemv', async () => {
  const lines: string[] = [];
  const rows = await benchMatmul({ json: true, threads: [1, 2], repeats: 2, shapes: [{ m: 8, k: 32, n: 8 }], gemvSize: 128, reference: false, peer: false, log: (l) => lines.push(l) });
  for (const threads of [1, 2]) {
    const f32 = rows.filter((r) => r.op === 'gemv' && r.format === 'F32' && r.threads === threads);
    assert.ok(f32.length > 0);
    for (const format of QUANT_FORMATS) {
      const q = rows.filter((r) => r.op === 'gemv' && r.format === format && r.threads === threads);
      assert.ok(q.length > 0, `${format} rows at ${threads} threads`);
      for (const r of q) {
        const { elements, bytes } = QUANT_BLOCK[format];
        assert.ok(Math.abs(r.gbps! * r.ms * 1e6 - (128 * 128 * bytes) / elements) < 1e-3 * r.gbps! * r.ms * 1e6, `${format}: GB/s counts the stored bytes`);
        assert.ok(r.speedupVsF32! > 0 && Number.isFinite(r.speedupVsF32!));
        assert.ok(r.maxRelError! < 1e-5, `${format} ${r.kernel}: ${r.maxRelError} against the reference twin`);
      }
    }
  }
  assert.equal(lines.length, rows.length + 1, 'one JSON line per row after the note');
  for (const line of lines) JSON.parse(line);
});
