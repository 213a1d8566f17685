// Learning-rate schedules as pure functions of the step: `schedule(step)` is the rate for the
// update after `step` completed updates (0 for the first). The warm-up convention is Hugging
// Face's get_*_schedule_with_warmup: lr(0) = 0 when warming up, lr(warmupSteps) = peakLr, and
// decays reach finalLr at totalSteps and stay there.

export type LrSchedule = (step: number) => number;

export interface WarmupOptions {
  peakLr: number;
  warmupSteps: number;
}

export interface DecayOptions extends WarmupOptions {
  totalSteps: number;
  /** Where the decay ends (default 0). */
  finalLr?: number;
}

function checkStep(step: number): void {
  if (!(step >= 0) || !Number.isFinite(step)) throw new Error(`lr schedule: step must be a non-negative number, got ${step}`);
}

function checkWarmup({ peakLr, warmupSteps }: WarmupOptions): void {
  if (!(peakLr >= 0)) throw new Error(`lr schedule: peakLr must be non-negative, got ${peakLr}`);
  if (!(warmupSteps >= 0) || !Number.isFinite(warmupSteps)) throw new Error(`lr schedule: warmupSteps must be non-negative, got ${warmupSteps}`);
}

function checkDecay(options: DecayOptions): number {
  checkWarmup(options);
  const finalLr = options.finalLr ?? 0;
  if (!(options.totalSteps >= options.warmupSteps) || !Number.isFinite(options.totalSteps)) {
    throw new Error(`lr schedule: totalSteps ${options.totalSteps} must be finite and at least warmupSteps ${options.warmupSteps}`);
  }
  if (!(finalLr >= 0)) throw new Error(`lr schedule: finalLr must be non-negative, got ${finalLr}`);
  return finalLr;
}

/** Fraction of the decay phase done at `step`, in [0, 1]. */
function decayProgress(step: number, warmupSteps: number, totalSteps: number): number {
  const length = totalSteps - warmupSteps;
  if (length <= 0) return 1;
  return Math.min(1, (step - warmupSteps) / length);
}

/** Linear warm-up from 0 to peakLr, then constant. */
export function constantWithWarmup(options: WarmupOptions): LrSchedule {
  checkWarmup(options);
  const { peakLr, warmupSteps } = options;
  return (step) => {
    checkStep(step);
    return step < warmupSteps ? (peakLr * step) / warmupSteps : peakLr;
  };
}

/** Linear warm-up from 0 to peakLr, then linear decay to finalLr at totalSteps. */
export function linearWarmupLinearDecay(options: DecayOptions): LrSchedule {
  const finalLr = checkDecay(options);
  const { peakLr, warmupSteps, totalSteps } = options;
  return (step) => {
    checkStep(step);
    if (step < warmupSteps) return (peakLr * step) / warmupSteps;
    return peakLr + (finalLr - peakLr) * decayProgress(step, warmupSteps, totalSteps);
  };
}

/** Linear warm-up from 0 to peakLr, then half a cosine down to finalLr at totalSteps. */
export function linearWarmupCosineDecay(options: DecayOptions): LrSchedule {
  const finalLr = checkDecay(options);
  const { peakLr, warmupSteps, totalSteps } = options;
  return (step) => {
    checkStep(step);
    if (step < warmupSteps) return (peakLr * step) / warmupSteps;
    const progress = decayProgress(step, warmupSteps, totalSteps);
    return finalLr + (peakLr - finalLr) * 0.5 * (1 + Math.cos(Math.PI * progress));
  };
}
