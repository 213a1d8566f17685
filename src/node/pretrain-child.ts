// Entry of a child process that runs one pre-training run (forked by the Pareto experiment): it
// receives the run's options as its first message and answers with the summary or the error. A
// later {type: 'stop'} message, or Ctrl-C in the terminal (which reaches the whole process group),
// stops the run after its step with a checkpoint; a second Ctrl-C ends it at once.

import { interruptOnSigint } from './interrupt.js';
import { runPretraining, type PretrainRunOptions } from './pretrain-runner.js';

export interface PretrainChildStop {
  readonly type: 'stop';
}

// The parent prints the notices; the child stays quiet.
const interrupt = interruptOnSigint({ stream: { write: () => true } });
const stopped = new AbortController();
interrupt.signal.addEventListener('abort', () => stopped.abort(), { once: true });

process.once('message', (options: PretrainRunOptions) => {
  process.on('message', (message: PretrainChildStop) => {
    if (message.type === 'stop') stopped.abort();
  });
  runPretraining(options, stopped.signal).then(
    (summary) => process.send?.({ ok: true, summary }, () => process.exit(0)),
    (error: unknown) => process.send?.({ ok: false, error: error instanceof Error ? error.message : String(error) }, () => process.exit(1)),
  );
});
