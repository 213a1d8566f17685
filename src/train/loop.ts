// The one training loop: language models, masked-LM pre-training and the information-plane
// networks all run their steps through runTrainingLoop. A task supplies one step; the loop owns
// the order of everything around it (hooks before and after a step, every-N callbacks for
// evaluation, metrics, checkpoints and, later, the sparsity controller), progress, the guard
// against a non-finite loss, a per-session step limit and a stop signal. It yields to the event
// loop between steps, so a signal handler (Ctrl-C) runs within one step. Platform-neutral: files,
// checkpoints and signals come in from src/node through the interfaces here.

import type { CheckpointContents } from '../io/checkpoint.js';
import { yieldToEventLoop } from '../platform/event-loop.js';

/** What every step reports; tasks add their own fields. */
export interface StepReport {
  readonly loss: number;
  /** Units of work of this step (tokens, examples) for the progress rate. */
  readonly tokens?: number;
}

/** A callback run after every `every`-th step and, if asked, after the last step or when stopping early. */
export interface PeriodicHook {
  /** For messages, e.g. 'checkpoint'. */
  readonly name: string;
  /** Runs after step s when s % every === 0 and s is not the last step; 0 = never periodically. */
  readonly every: number;
  /** Also after the last step of the run (default false). */
  readonly atEnd?: boolean;
  /** Also when the run stops early, by the signal or the session limit (default false). */
  readonly onStop?: boolean;
  readonly run: (step: number) => void | Promise<void>;
}

/** Receives progress after each step (a terminal bar in Node; nothing in tests). */
export interface LoopProgress {
  update(step: number, values: { readonly loss?: number; readonly tokens?: number }): void;
}

export interface TrainingLoopOptions<R extends StepReport> {
  /** Steps of the whole run. */
  readonly total: number;
  /** Steps already done (a resumed run starts after them). */
  readonly start?: number;
  /** Performs step `step` (1 for the first of the run) and reports it. */
  readonly step: (step: number) => R | Promise<R>;
  /** Before step `step` (e.g. record the network before that epoch, prune and regrow weights). */
  readonly beforeStep?: (step: number) => void | Promise<void>;
  /** After step `step`, once its loss is known to be finite, before the periodic hooks. */
  readonly afterStep?: (step: number, report: R) => void | Promise<void>;
  /** Run in this order after each step (e.g. evaluation, then metrics, then the checkpoint). */
  readonly periodic?: readonly PeriodicHook[];
  readonly progress?: LoopProgress | null;
  /** Stop early once aborted: the step under way completes, the onStop hooks run, the loop returns. */
  readonly signal?: AbortSignal;
  /** Steps this session may do before stopping early (time-sliced runs, tests). */
  readonly maxSessionSteps?: number;
  /** Lets pending events (signals, messages) run between steps; default yieldToEventLoop. */
  readonly yieldControl?: () => Promise<void>;
}

export type StopReason = 'finished' | 'interrupted' | 'session-limit';

export interface TrainingLoopResult<R extends StepReport> {
  /** Steps done in the run, the resumed ones included. */
  readonly step: number;
  readonly sessionSteps: number;
  readonly reason: StopReason;
  /** The report of the last step of this session, or null if it did none. */
  readonly last: R | null;
}

/** A step's loss was NaN or infinite: the run stops before anything logs or saves that state. */
export class NonFiniteLossError extends Error {
  constructor(
    readonly step: number,
    readonly loss: number,
  ) {
    super(`training diverged at step ${step}: the loss is ${loss} (is the learning rate too high?); stopped without saving this state`);
    this.name = 'NonFiniteLossError';
  }
}

/** Weights or optimizer state stopped being finite (the loss of the step that made them still was). */
export class NonFiniteStateError extends Error {
  constructor(
    readonly step: number,
    readonly tensor: string,
  ) {
    super(`training diverged at step ${step}: '${tensor}' holds non-finite values (is the learning rate too high?); its checkpoint was not saved`);
    this.name = 'NonFiniteStateError';
  }
}

/** Refuses to save a diverged state: every tensor of the checkpoint must be finite. */
export function assertFiniteCheckpoint(contents: CheckpointContents): void {
  for (const [prefix, group] of [['', contents.model], ['optimizer ', contents.optimizer]] as const) {
    for (const [name, tensor] of group) {
      const data = tensor.data;
      for (let i = 0; i < data.length; i++) if (!Number.isFinite(data[i]!)) throw new NonFiniteStateError(contents.state.step, prefix + name);
    }
  }
}

export { yieldToEventLoop };

function checkCount(name: string, value: number, min: number): void {
  if (!Number.isInteger(value) || value < min) throw new Error(`training loop: ${name} must be an integer >= ${min}, got ${value}`);
}

/** Runs steps start+1 .. total (or until stopped); see the module comment for the order of events. */
export async function runTrainingLoop<R extends StepReport>(options: TrainingLoopOptions<R>): Promise<TrainingLoopResult<R>> {
  const total = options.total;
  let step = options.start ?? 0;
  checkCount('total', total, 0);
  checkCount('start', step, 0);
  if (options.maxSessionSteps !== undefined) checkCount('maxSessionSteps', options.maxSessionSteps, 1);
  const periodic = options.periodic ?? [];
  for (const hook of periodic) checkCount(`the every of hook '${hook.name}'`, hook.every, 0);
  const pause = options.yieldControl ?? yieldToEventLoop;
  let sessionSteps = 0;
  let last: R | null = null;
  // Hooks that already ran after the current step (a stop must not run them twice).
  let ranAtStep = new Set<PeriodicHook>();
  for (;;) {
    await pause();
    if (step >= total) return { step, sessionSteps, last, reason: 'finished' };
    const interrupted = options.signal?.aborted === true;
    if (interrupted || (options.maxSessionSteps !== undefined && sessionSteps >= options.maxSessionSteps)) {
      for (const hook of periodic) if (hook.onStop && !ranAtStep.has(hook)) await hook.run(step);
      return { step, sessionSteps, last, reason: interrupted ? 'interrupted' : 'session-limit' };
    }
    await options.beforeStep?.(step + 1);
    const report = await options.step(step + 1);
    step++;
    sessionSteps++;
    if (!Number.isFinite(report.loss)) throw new NonFiniteLossError(step, report.loss);
    last = report;
    await options.afterStep?.(step, report);
    options.progress?.update(step, report);
    ranAtStep = new Set();
    const final = step >= total;
    for (const hook of periodic) {
      const due = final ? hook.atEnd === true : hook.every > 0 && step % hook.every === 0;
      if (!due) continue;
      await hook.run(step);
      ranAtStep.add(hook);
    }
  }
}
