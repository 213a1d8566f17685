// Reference grouped 1-D convolution, channels last: x [B, L, Cin], w [Cout, Cin/groups, K].

import { allocArray } from '../../tensor/dtype.js';
import { formatShape } from '../../tensor/shape.js';
import { Tensor } from '../../tensor/tensor.js';

interface ConvDims {
  batch: number;
  length: number;
  cin: number;
  cout: number;
  kernel: number;
  cinPerGroup: number;
  coutPerGroup: number;
}

function convDims(xShape: readonly number[], wShape: readonly number[], groups: number): ConvDims {
  if (xShape.length !== 3 || wShape.length !== 3) throw new Error(`conv1d: x must be [B, L, Cin] and w [Cout, Cin/groups, K], got ${formatShape(xShape)} and ${formatShape(wShape)}`);
  const [batch, length, cin] = xShape as [number, number, number];
  const [cout, cinPerGroup, kernel] = wShape as [number, number, number];
  if (cin % groups !== 0 || cout % groups !== 0) throw new Error(`conv1d: channels ${cin} -> ${cout} are not divisible by groups ${groups}`);
  if (cinPerGroup !== cin / groups) throw new Error(`conv1d: weight expects ${cinPerGroup} input channels per group, input gives ${cin / groups}`);
  return { batch, length, cin, cout, kernel, cinPerGroup, coutPerGroup: cout / groups };
}

export function conv1d(x: Tensor, w: Tensor, groups: number, padLeft: number): Tensor {
  const { batch, length, cin, cout, kernel, cinPerGroup, coutPerGroup } = convDims(x.shape, w.shape, groups);
  const xs = x.toArray();
  const ws = w.toArray();
  const out = allocArray(x.dtype, batch * length * cout);
  for (let b = 0; b < batch; b++) {
    for (let t = 0; t < length; t++) {
      for (let co = 0; co < cout; co++) {
        const g = (co / coutPerGroup) | 0;
        let acc = 0;
        for (let j = 0; j < kernel; j++) {
          const src = t + j - padLeft;
          if (src < 0 || src >= length) continue;
          const xBase = (b * length + src) * cin + g * cinPerGroup;
          const wBase = co * cinPerGroup * kernel + j;
          for (let ci = 0; ci < cinPerGroup; ci++) acc += xs[xBase + ci]! * ws[wBase + ci * kernel]!;
        }
        out[(b * length + t) * cout + co] = acc;
      }
    }
  }
  return new Tensor(out, x.dtype, [batch, length, cout]);
}

/**
 * The taps both gradients walk: for every nonzero dy[b, t, co] and kernel position j inside the
 * sequence, visit(gy, xBase, wBase), where x[xBase + ci] meets w[wBase + ci * kernel] (ci < Cin/groups).
 */
function forEachGradTap(d: ConvDims, dys: ArrayLike<number>, padLeft: number, visit: (gy: number, xBase: number, wBase: number) => void): void {
  const { batch, length, cin, cout, kernel, cinPerGroup, coutPerGroup } = d;
  for (let b = 0; b < batch; b++) {
    for (let t = 0; t < length; t++) {
      for (let co = 0; co < cout; co++) {
        const g = (co / coutPerGroup) | 0;
        const gy = dys[(b * length + t) * cout + co]!;
        if (gy === 0) continue;
        for (let j = 0; j < kernel; j++) {
          const src = t + j - padLeft;
          if (src < 0 || src >= length) continue;
          visit(gy, (b * length + src) * cin + g * cinPerGroup, co * cinPerGroup * kernel + j);
        }
      }
    }
  }
}

export function conv1dGradInput(dy: Tensor, w: Tensor, groups: number, padLeft: number, inputShape: readonly number[]): Tensor {
  const dims = convDims(inputShape, w.shape, groups);
  const { batch, length, cin, kernel, cinPerGroup } = dims;
  const ws = w.toArray();
  const dx = allocArray(dy.dtype, batch * length * cin);
  forEachGradTap(dims, dy.toArray(), padLeft, (gy, xBase, wBase) => {
    for (let ci = 0; ci < cinPerGroup; ci++) dx[xBase + ci]! += gy * ws[wBase + ci * kernel]!;
  });
  return new Tensor(dx, dy.dtype, inputShape);
}

export function conv1dGradWeight(dy: Tensor, x: Tensor, groups: number, padLeft: number, weightShape: readonly number[]): Tensor {
  const dims = convDims(x.shape, weightShape, groups);
  const { cout, kernel, cinPerGroup } = dims;
  const xs = x.toArray();
  const dw = new Float64Array(cout * cinPerGroup * kernel);
  forEachGradTap(dims, dy.toArray(), padLeft, (gy, xBase, wBase) => {
    for (let ci = 0; ci < cinPerGroup; ci++) dw[wBase + ci * kernel]! += gy * xs[xBase + ci]!;
  });
  const out = dy.dtype === 'f64' ? dw : Float32Array.from(dw);
  return new Tensor(out, dy.dtype, weightShape);
}
