// `thrifty wordpiece train|encode` through the command line parser.

import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';

import { Command } from 'commander';

import { registerWordPieceCommand } from '../../src/cli/commands/wordpiece.js';
import { dataFileOrSkip } from '../helpers/data.js';

let dir = '';
before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'thrifty-wordpiece-cli-'));
});
after(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** Makes every (sub)command throw instead of exiting the process, and keeps its error text quiet. */
function throwOnError(command: Command): Command {
  command.exitOverride().configureOutput({ writeErr: () => undefined });
  for (const sub of command.commands) throwOnError(sub);
  return command;
}

/** Runs `thrifty wordpiece ...args`, returning what it printed. */
async function thrifty(...args: string[]): Promise<string> {
  let out = '';
  const program = new Command('thrifty');
  registerWordPieceCommand(program, { write: (text: string) => (out += text) });
  await throwOnError(program).parseAsync(['node', 'thrifty', ...args]);
  return out;
}

test('wordpiece train writes a vocab.txt that wordpiece encode uses', async () => {
  const corpus = join(dir, 'corpus.txt');
  await writeFile(corpus, 'The cat sat on the mat.\n\nThe cats sat on the mats!\n'.repeat(5));
  // A folder that does not exist yet is created.
  const vocab = join(dir, 'new', 'folder', 'vocab.txt');
  const summary = await thrifty('wordpiece', 'train', '--corpus', corpus, '--out', vocab, '--vocab-size', '60');
  assert.match(summary, /vocab\.txt: \d+ tokens \(\d+ alphabet, \d+ merges\) from 9 distinct words in 1 file\(s\)/);
  const lines = (await readFile(vocab, 'utf8')).split('\n');
  assert.deepEqual(lines.slice(0, 5), ['[PAD]', '[UNK]', '[CLS]', '[SEP]', '[MASK]']);
  assert.ok(lines.includes('the') && lines.includes('sat'));
  const encoded = JSON.parse(await thrifty('wordpiece', 'encode', '--vocab', vocab, '--json', 'The cats sat.')) as { tokens: string[]; ids: number[] };
  assert.equal(encoded.tokens.join(' ').replaceAll(' ##', ''), 'the cats sat .');
  assert.deepEqual(encoded.ids, encoded.tokens.map((t) => lines.indexOf(t)));
});

test('wordpiece encode with bert-base-uncased', async (t) => {
  const vocab = dataFileOrSkip(t, 'tokenizers/bert-base-uncased/vocab.txt');
  if (!vocab) return;
  assert.equal(await thrifty('wordpiece', 'encode', '--vocab', vocab, 'Héllo, unaffable world!'), 'hello , una ##ffa ##ble world !\n');
});

test('wordpiece train names a bad flag', async () => {
  await assert.rejects(thrifty('wordpiece', 'train', '--corpus', dir, '--out', join(dir, 'v.txt'), '--vocab-size', 'many'), /--vocab-size expects a positive integer, got 'many'/);
});
