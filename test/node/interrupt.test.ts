import assert from 'node:assert/strict';
import { test } from 'node:test';

import { INTERRUPTED_EXIT_CODE, interruptedMessage, interruptOnSigint, resumeCommand } from '../../src/node/interrupt.js';

test('the first SIGINT aborts the signal, the second exits with 130; dispose removes the handler', () => {
  const before = process.listenerCount('SIGINT');
  let written = '';
  const exits: number[] = [];
  const interrupt = interruptOnSigint({ stream: { write: (text: string) => (written += text) }, stopping: 'after this epoch', exit: (code) => void exits.push(code) });
  assert.equal(process.listenerCount('SIGINT'), before + 1);
  assert.equal(interrupt.signal.aborted, false);
  process.emit('SIGINT');
  assert.equal(interrupt.signal.aborted, true);
  assert.deepEqual(exits, []);
  assert.equal(written, '\ninterrupted: stopping after this epoch (Ctrl-C again to quit at once)\n');
  process.emit('SIGINT');
  assert.deepEqual(exits, [INTERRUPTED_EXIT_CODE]);
  assert.equal(INTERRUPTED_EXIT_CODE, 130);
  assert.match(written, /\ninterrupted again: quitting now\n$/);
  interrupt.dispose();
  assert.equal(process.listenerCount('SIGINT'), before);
});

test('the resume command repeats the arguments, adds a flag once, and quotes what a shell would split', () => {
  assert.equal(resumeCommand(['pretrain', '--arch', 'bert', '--out', 'runs/a b'], ['--resume']), "npx thrifty pretrain --arch bert --out 'runs/a b' --resume");
  assert.equal(resumeCommand(['train-lm', '--resume', '--data', "it's.txt"], ['--resume']), "npx thrifty train-lm --resume --data 'it'\\''s.txt'");
  assert.equal(resumeCommand(['experiment', 'pareto', '--sizes', 'micro-xs,micro-s', '--lr=1e-3']), 'npx thrifty experiment pareto --sizes micro-xs,micro-s --lr=1e-3');
  assert.equal(interruptedMessage('step 3 of 9', 'npx thrifty x'), 'stopped: step 3 of 9\nto continue, run:\n  npx thrifty x\n');
});
