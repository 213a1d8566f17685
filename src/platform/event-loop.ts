// Giving the event loop a turn from long synchronous work (a training loop, token-by-token
// generation), so signals, messages and page updates get through. Platform-neutral.

/**
 * Resolves after pending events have run (a macrotask): setImmediate in Node, scheduler.yield or
 * a MessageChannel in browsers (not setTimeout, which browsers clamp to 4 ms when nested).
 */
export function yieldToEventLoop(): Promise<void> {
  const g = globalThis as { setImmediate?: (callback: () => void) => unknown; scheduler?: { yield?: () => Promise<void> } };
  const immediate = g.setImmediate;
  if (immediate) return new Promise((resolve) => immediate(resolve));
  if (typeof g.scheduler?.yield === 'function') return g.scheduler.yield();
  return new Promise((resolve) => {
    const channel = new MessageChannel();
    channel.port1.onmessage = () => {
      channel.port1.close();
      resolve();
    };
    channel.port2.postMessage(null);
  });
}
