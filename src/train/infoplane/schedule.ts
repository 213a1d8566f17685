// When to record a network's activations: log-spaced epochs, as the IDNNs code chooses them:
//   unique(int(logspace(log2(1), log2(epochs), samples, base=2))) - 1
// 400 samples over 8000 epochs give the paper's 274 distinct epochs (0, 1, 2, ..., 7999). Epoch
// e means "after e epochs of training" (0 = the initialisation).

/** numpy.linspace(start, stop, num) element i, computed as numpy does. */
function linspaceAt(start: number, stop: number, num: number, i: number): number {
  if (num === 1) return start;
  if (i === num - 1) return stop;
  return i * ((stop - start) / (num - 1)) + start;
}

export function logSpacedEpochs(epochs: number, samples = 400): number[] {
  if (!Number.isInteger(epochs) || epochs < 1) throw new Error(`logSpacedEpochs: epochs must be a positive integer, got ${epochs}`);
  if (!Number.isInteger(samples) || samples < 1) throw new Error(`logSpacedEpochs: samples must be a positive integer, got ${samples}`);
  const stop = Math.log2(epochs);
  const seen = new Set<number>();
  for (let i = 0; i < samples; i++) seen.add(Math.trunc(2 ** linspaceAt(0, stop, samples, i)) - 1);
  return [...seen].sort((a, b) => a - b);
}
