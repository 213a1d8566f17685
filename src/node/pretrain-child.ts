// Entry of a child process that runs one pre-training run (forked by the Pareto experiment): it
// receives the run's options as its first message and answers with the summary or the error.

import { runPretraining, type PretrainRunOptions } from './pretrain-runner.js';

process.once('message', (options: PretrainRunOptions) => {
  runPretraining(options).then(
    (summary) => process.send?.({ ok: true, summary }, () => process.exit(0)),
    (error: unknown) => process.send?.({ ok: false, error: error instanceof Error ? error.message : String(error) }, () => process.exit(1)),
  );
});
