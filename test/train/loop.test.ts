import assert from 'node:assert/strict';
import { test } from 'node:test';

import { NonFiniteLossError, runTrainingLoop, yieldToEventLoop, type PeriodicHook } from '../../src/train/loop.js';

/** A loop whose every event is written to `events`; losses[k - 1] is step k's loss (default 1/k). */
function recorder(losses: readonly number[] = []) {
  const events: string[] = [];
  const hook = (name: string, every: number, extra: Partial<PeriodicHook> = {}): PeriodicHook => ({ name, every, ...extra, run: (step) => void events.push(`${name}@${step}`) });
  return {
    events,
    hook,
    step: (step: number) => {
      events.push(`step ${step}`);
      return { loss: losses[step - 1] ?? 1 / step, tokens: 10 };
    },
    beforeStep: (step: number) => void events.push(`before ${step}`),
    afterStep: (step: number) => void events.push(`after ${step}`),
  };
}

test('the loop runs before, step, after, then the periodic hooks in order; atEnd hooks run once at the last step', async () => {
  const r = recorder();
  const progress: number[] = [];
  const result = await runTrainingLoop({
    total: 4,
    step: r.step,
    beforeStep: r.beforeStep,
    afterStep: r.afterStep,
    progress: { update: (step) => void progress.push(step) },
    periodic: [r.hook('eval', 2, { atEnd: true }), r.hook('metrics', 1, { atEnd: true }), r.hook('save', 3)],
  });
  assert.deepEqual(r.events, [
    'before 1', 'step 1', 'after 1', 'metrics@1',
    'before 2', 'step 2', 'after 2', 'eval@2', 'metrics@2',
    'before 3', 'step 3', 'after 3', 'metrics@3', 'save@3',
    'before 4', 'step 4', 'after 4', 'eval@4', 'metrics@4', // save has no atEnd: not at the last step
  ]);
  assert.deepEqual(progress, [1, 2, 3, 4]);
  assert.deepEqual({ step: result.step, sessionSteps: result.sessionSteps, reason: result.reason, loss: result.last?.loss }, { step: 4, sessionSteps: 4, reason: 'finished', loss: 0.25 });
});

test('a resumed loop starts after the steps done; a finished one does nothing', async () => {
  const r = recorder();
  const result = await runTrainingLoop({ total: 5, start: 3, step: r.step, periodic: [r.hook('save', 2, { atEnd: true })] });
  assert.deepEqual(r.events, ['step 4', 'save@4', 'step 5', 'save@5']);
  assert.equal(result.sessionSteps, 2);
  const done = await runTrainingLoop({ total: 5, start: 5, step: r.step, periodic: [r.hook('save', 1, { atEnd: true, onStop: true })] });
  assert.deepEqual({ step: done.step, sessionSteps: done.sessionSteps, reason: done.reason, last: done.last }, { step: 5, sessionSteps: 0, reason: 'finished', last: null });
  assert.equal(r.events.length, 4);
});

test('a NaN or infinite loss stops the loop with an error naming the step, before any hook sees that step', async () => {
  for (const bad of [Number.NaN, Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY]) {
    const r = recorder([2, 1.5, bad, 1]);
    await assert.rejects(
      runTrainingLoop({ total: 4, step: r.step, afterStep: r.afterStep, periodic: [r.hook('save', 1, { atEnd: true, onStop: true })] }),
      (error: unknown) => {
        assert.ok(error instanceof NonFiniteLossError);
        assert.equal(error.step, 3);
        assert.ok(Object.is(error.loss, bad));
        assert.match(error.message, new RegExp(`^training diverged at step 3: the loss is ${String(bad)}`));
        return true;
      },
    );
    assert.deepEqual(r.events, ['step 1', 'after 1', 'save@1', 'step 2', 'after 2', 'save@2', 'step 3']);
  }
});

test('the stop signal ends the loop after the step under way; onStop hooks run once, others not', async () => {
  const controller = new AbortController();
  const r = recorder();
  const result = await runTrainingLoop({
    total: 10,
    signal: controller.signal,
    step: (step) => {
      // As a SIGINT handler would: an event delivered while the step computes.
      if (step === 3) setImmediate(() => controller.abort());
      return r.step(step);
    },
    periodic: [r.hook('eval', 1, { atEnd: true }), r.hook('save', 2, { atEnd: true, onStop: true }), r.hook('log', 3, { onStop: true })],
  });
  assert.deepEqual(r.events, ['step 1', 'eval@1', 'step 2', 'eval@2', 'save@2', 'step 3', 'eval@3', 'log@3', 'save@3']);
  assert.deepEqual({ step: result.step, reason: result.reason }, { step: 3, reason: 'interrupted' });
});

test('an abort that arrives during a hook stops before the next step, saving the state of the last one', async () => {
  const controller = new AbortController();
  const r = recorder();
  const result = await runTrainingLoop({
    total: 10,
    signal: controller.signal,
    step: r.step,
    periodic: [{ name: 'eval', every: 2, run: (step) => void (r.events.push(`eval@${step}`), setImmediate(() => controller.abort())) }, r.hook('save', 5, { onStop: true })],
  });
  assert.deepEqual(r.events, ['step 1', 'step 2', 'eval@2', 'save@2']);
  assert.equal(result.reason, 'interrupted');
});

test('the session limit stops like the signal, with its own reason; an already aborted signal runs no step', async () => {
  const r = recorder();
  const limited = await runTrainingLoop({ total: 10, maxSessionSteps: 2, step: r.step, periodic: [r.hook('save', 2, { onStop: true })] });
  assert.deepEqual(r.events, ['step 1', 'step 2', 'save@2']);
  assert.deepEqual({ step: limited.step, reason: limited.reason }, { step: 2, reason: 'session-limit' });
  const aborted = AbortSignal.abort();
  const r2 = recorder();
  const stopped = await runTrainingLoop({ total: 10, start: 4, signal: aborted, step: r2.step, periodic: [r2.hook('save', 1, { onStop: true })] });
  assert.deepEqual(r2.events, ['save@4']);
  assert.equal(stopped.reason, 'interrupted');
});

test('bad loop settings are refused, naming them', async () => {
  const r = recorder();
  await assert.rejects(runTrainingLoop({ total: -1, step: r.step }), /total must be an integer >= 0, got -1/);
  await assert.rejects(runTrainingLoop({ total: 3, start: 1.5, step: r.step }), /start must be an integer >= 0/);
  await assert.rejects(runTrainingLoop({ total: 3, maxSessionSteps: 0, step: r.step }), /maxSessionSteps must be an integer >= 1/);
  await assert.rejects(runTrainingLoop({ total: 3, step: r.step, periodic: [r.hook('save', -2)] }), /hook 'save' must be an integer >= 0/);
});

test('yieldToEventLoop lets pending events run before it resolves', async () => {
  let ran = false;
  setImmediate(() => (ran = true));
  await yieldToEventLoop();
  assert.equal(ran, true);
});

test('without setImmediate (browsers), yieldToEventLoop still lets pending events run', async () => {
  const saved = globalThis.setImmediate;
  let ran = false;
  const channel = new MessageChannel();
  channel.port1.onmessage = () => {
    ran = true;
    channel.port1.close();
  };
  channel.port2.postMessage(null);
  try {
    (globalThis as { setImmediate?: unknown }).setImmediate = undefined;
    await yieldToEventLoop();
  } finally {
    globalThis.setImmediate = saved;
  }
  assert.equal(ran, true);
});
