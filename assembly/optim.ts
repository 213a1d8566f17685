// Optimizer updates over contiguous f32 arrays, in place on the parameter and its state.

/**
 * One Adam / AdamW step (torch.optim semantics, amsgrad off), with the step's scalars precomputed:
 *   p = p * decay;  g = grad + l2 * p;  m = beta1 m + (1 - beta1) g;  v = beta2 v + (1 - beta2) g^2
 *   p = p - stepSize * m / (sqrt(v) / bias2Sqrt + eps)
 * (AdamW: decay = 1 - lr wd, l2 = 0; Adam: decay = 1, l2 = wd). 1 - beta comes from JS: in f32,
 * 1 - 0.999 is off by 1.3e-5 relative.
 */
export function adam_update(
  n: i32, p: usize, g: usize, m: usize, v: usize,
  decay: f32, l2: f32, beta1: f32, oneMinusBeta1: f32, beta2: f32, oneMinusBeta2: f32, stepSize: f32, bias2Sqrt: f32, eps: f32,
): void {
  const dv = f32x4.splat(decay);
  const lv = f32x4.splat(l2);
  const b1 = f32x4.splat(beta1);
  const c1 = f32x4.splat(oneMinusBeta1);
  const b2 = f32x4.splat(beta2);
  const c2 = f32x4.splat(oneMinusBeta2);
  const sv = f32x4.splat(stepSize);
  const bv = f32x4.splat(bias2Sqrt);
  const ev = f32x4.splat(eps);
  const n4 = n & ~3;
  let i = 0;
  for (; i < n4; i += 4) {
    const o = <usize>i << 2;
    const pi = f32x4.mul(v128.load(p + o), dv);
    const gi = f32x4.add(v128.load(g + o), f32x4.mul(lv, pi));
    const mi = f32x4.add(f32x4.mul(b1, v128.load(m + o)), f32x4.mul(c1, gi));
    const vi = f32x4.add(f32x4.mul(b2, v128.load(v + o)), f32x4.mul(f32x4.mul(c2, gi), gi));
    v128.store(m + o, mi);
    v128.store(v + o, vi);
    const denom = f32x4.add(f32x4.div(f32x4.sqrt(vi), bv), ev);
    v128.store(p + o, f32x4.sub(pi, f32x4.div(f32x4.mul(sv, mi), denom)));
  }
  for (; i < n; i++) {
    const o = <usize>i << 2;
    const pi = load<f32>(p + o) * decay;
    const gi = load<f32>(g + o) + l2 * pi;
    const mi = beta1 * load<f32>(m + o) + oneMinusBeta1 * gi;
    const vi = beta2 * load<f32>(v + o) + oneMinusBeta2 * gi * gi;
    store<f32>(m + o, mi);
    store<f32>(v + o, vi);
    store<f32>(p + o, pi - (stepSize * mi) / (Mathf.sqrt(vi) / bias2Sqrt + eps));
  }
}
