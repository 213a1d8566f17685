// exp and tanh for the hot loops (the KDE pair sums, the fused trainer's activations), where
// V8's Math.exp costs ~9 ns and Math.tanh more. exp(x) = 2^m · 2^(j/256) · e^r with
// x = (256 m + j) ln2/256 + r, |r| <= ln2/512, a Cody-Waite split of ln2/256, a degree-4
// polynomial, and k = 256 m + j rounded by adding 1.5·2^52 (Math.round alone cost more than
// Math.exp): ~5.5 ns, relative error below 5e-16 over the normal range (test/info/fast-math.test.ts
// checks it against Math.exp).

const FRACTION_BITS = 8;
const FRACTIONS = 1 << FRACTION_BITS;
/** 2^(j/256), j = 0..255. */
const EXP2_FRACTION = Float64Array.from({ length: FRACTIONS }, (_, j) => 2 ** (j / FRACTIONS));
const POW2_OFFSET = 1075;
/** 2^m for m = -1075..1023 (subnormals and 0 at the low end). */
const POW2 = Float64Array.from({ length: POW2_OFFSET + 1024 }, (_, i) => 2 ** (i - POW2_OFFSET));
const INV_STEP = FRACTIONS / Math.LN2;
// fdlibm's ln2_hi (low 32 bits zero, so k * STEP_HI is exact) and ln2_lo, divided by 256.
const STEP_HI = 6.93147180369123816490e-1 / FRACTIONS;
const STEP_LO = 1.90821492927058770002e-10 / FRACTIONS;
/** Adding and subtracting 1.5·2^52 rounds a double of magnitude below 2^51 to the nearest integer. */
const ROUNDER = 6755399441055744;

export function fastExp(x: number): number {
  if (!(x > -745.1)) return x === x ? 0 : NaN;
  if (x > 709.78) return Infinity;
  const kf = x * INV_STEP + ROUNDER - ROUNDER;
  const r = x - kf * STEP_HI - kf * STEP_LO;
  const k = kf | 0;
  const m = (k >> FRACTION_BITS) + POW2_OFFSET;
  if (m < 0) return 0; // below half the smallest subnormal
  const p = 1 + r * (1 + r * (0.5 + r * (1 / 6 + r * (1 / 24))));
  return POW2[m]! * EXP2_FRACTION[k & (FRACTIONS - 1)]! * p;
}

/**
 * tanh(z) = 2 / (1 + e^(-2z)) - 1 via fastExp: no branch on the sign or size of z (random signs
 * made a branchy version cost 15 ns). Absolute error below 3e-16; near 0 the relative error grows
 * as 1e-16 / |z|, harmless for activations.
 */
export function fastTanh(z: number): number {
  return 2 / (1 + fastExp(-2 * z)) - 1;
}

/** The logistic sigmoid 1 / (1 + e^(-z)) via fastExp (e^(-z) = Infinity gives 0, as it should). */
export function fastSigmoid(z: number): number {
  return 1 / (1 + fastExp(-z));
}
