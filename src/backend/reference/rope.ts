// Reference rotary position embedding in both layouts.

import { allocArray } from '../../tensor/dtype.js';
import { formatShape } from '../../tensor/shape.js';
import { Tensor } from '../../tensor/tensor.js';
import type { RopeLayout } from '../../ops/kernels.js';

export function rope(x: Tensor, cos: Tensor, sin: Tensor, layout: RopeLayout, rotaryDim: number, inverse: boolean): Tensor {
  if (x.rank < 2) throw new Error(`rope: x must be [..., S, D], got ${formatShape(x.shape)}`);
  const d = x.shape[x.rank - 1]!;
  const s = x.shape[x.rank - 2]!;
  const half = rotaryDim / 2;
  if (rotaryDim % 2 !== 0 || rotaryDim > d) throw new Error(`rope: rotary dimension ${rotaryDim} must be even and <= ${d}`);
  if (cos.shape[0] !== s || cos.shape[1] !== half || sin.shape[0] !== s || sin.shape[1] !== half) {
    throw new Error(`rope: cos/sin must be [${s}, ${half}], got ${formatShape(cos.shape)} and ${formatShape(sin.shape)}`);
  }
  const xs = x.toArray();
  const cs = cos.toArray();
  const ss = sin.toArray();
  const out = allocArray(x.dtype, x.size);
  out.set(xs);
  const sign = inverse ? -1 : 1;
  const rows = x.size / d;
  for (let r = 0; r < rows; r++) {
    const pos = r % s;
    const base = r * d;
    for (let i = 0; i < half; i++) {
      const c = cs[pos * half + i]!;
      const sn = sign * ss[pos * half + i]!;
      // interleaved: pairs (2i, 2i+1); half: pairs (i, i + rotaryDim/2)
      const i0 = layout === 'interleaved' ? base + 2 * i : base + i;
      const i1 = layout === 'interleaved' ? i0 + 1 : base + i + half;
      const a = xs[i0]!;
      const b = xs[i1]!;
      out[i0] = a * c - b * sn;
      out[i1] = a * sn + b * c;
    }
  }
  return new Tensor(out, x.dtype, x.shape);
}
