import assert from 'node:assert/strict';
import { mkdir, mkdtemp, readdir, readFile, rm, truncate, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';

import { numDocuments } from '../../src/data/corpus.js';
import { listCorpusFiles, loadWordPieceVocab, readCorpus, readCorpusFiles, saveWordPieceVocab } from '../../src/node/corpus-files.js';
import { tokenizeCorpusCached } from '../../src/node/token-cache.js';
import { WordPieceTokenizer } from '../../src/text/wordpiece.js';

const VOCAB = ['[PAD]', '[UNK]', '[CLS]', '[SEP]', '[MASK]', 'the', 'cat', 'sat', 'dog', 'ran', '.', '##s'];

let dir = '';
before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'thrifty-corpus-'));
  await mkdir(join(dir, 'corpus', 'sub'), { recursive: true });
  await writeFile(join(dir, 'corpus', 'b.txt'), 'The cat sat.\n\n\n\nThe dog ran.\n');
  await writeFile(join(dir, 'corpus', 'sub', 'a.raw'), '\ufeffThe cats ran. The dog sat.\n');
  await writeFile(join(dir, 'corpus', 'notes.md'), 'not corpus text');
  await writeFile(join(dir, 'corpus', '.hidden.txt'), 'hidden');
  await mkdir(join(dir, 'empty'));
  await writeFile(join(dir, 'binary.txt'), new Uint8Array([0x54, 0xff, 0xfe, 0x00]));
});
after(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('corpus files', () => {
  it('reads a folder of .txt/.raw files recursively and in order, or a single file', async () => {
    const root = join(dir, 'corpus');
    assert.deepEqual(await listCorpusFiles(root), [join(root, 'b.txt'), join(root, 'sub', 'a.raw')]);
    const files = await readCorpusFiles(root);
    assert.deepEqual(files.map((f) => f.name), ['b.txt', join('sub', 'a.raw')]);
    assert.equal(files[1]!.text, 'The cats ran. The dog sat.\n', 'the byte order mark was kept');
    assert.deepEqual((await readCorpusFiles(join(root, 'notes.md'))).map((f) => f.name), ['notes.md']);
    const documents = await readCorpus(root);
    assert.deepEqual(documents, [
      { source: 'b.txt#0', sentences: ['The cat sat.'] },
      { source: 'b.txt#1', sentences: ['The dog ran.'] },
      { source: `${join('sub', 'a.raw')}#0`, sentences: ['The cats ran.', 'The dog sat.'] },
    ]);
  });

  it('names the path when a corpus is missing, empty or not UTF-8', async () => {
    await assert.rejects(listCorpusFiles(join(dir, 'nope')), /corpus .*nope: ENOENT/);
    await assert.rejects(listCorpusFiles(join(dir, 'empty')), /corpus .*empty: the folder has no \.txt\/\.raw\/\.text files/);
    await assert.rejects(readCorpusFiles(join(dir, 'binary.txt')), /binary\.txt: not valid UTF-8 text/);
  });

  it('saves and loads vocab.txt', async () => {
    const path = join(dir, 'vocab.txt');
    await saveWordPieceVocab(path, VOCAB);
    assert.equal(await readFile(path, 'utf8'), `${VOCAB.join('\n')}\n`);
    const tok = await loadWordPieceVocab(path);
    assert.deepEqual(tok.tokenize('The cats sat.'), ['the', 'cat', '##s', 'sat', '.']);
    await writeFile(join(dir, 'bad-vocab.txt'), 'a\nb\n');
    await assert.rejects(loadWordPieceVocab(join(dir, 'bad-vocab.txt')), /bad-vocab\.txt: the special token \[PAD\] is not in the vocabulary/);
  });
});

describe('tokenizeCorpusCached', () => {
  it('tokenizes once, then reads the ids back; a changed input or vocabulary misses the cache', async () => {
    const tok = new WordPieceTokenizer(VOCAB);
    const corpusPath = join(dir, 'corpus');
    const cacheDir = join(dir, 'cache');
    const first = await tokenizeCorpusCached({ corpusPath, tokenizer: tok, cacheDir });
    assert.equal(first.fromCache, false);
    assert.deepEqual([...first.corpus.tokens], [5, 6, 7, 10, 5, 8, 9, 10, 5, 6, 11, 9, 10, 5, 8, 7, 10]);
    assert.equal(numDocuments(first.corpus), 3);
    const second = await tokenizeCorpusCached({ corpusPath, tokenizer: tok, cacheDir });
    assert.equal(second.fromCache, true);
    assert.equal(second.cachePath, first.cachePath);
    assert.deepEqual(second.corpus, first.corpus);

    const otherOptions = await tokenizeCorpusCached({ corpusPath, tokenizer: tok, cacheDir, corpusOptions: { documentBreakBlankLines: 5 } });
    assert.equal(otherOptions.fromCache, false);
    assert.equal(numDocuments(otherOptions.corpus), 2);
    const otherVocab = await tokenizeCorpusCached({ corpusPath, tokenizer: new WordPieceTokenizer([...VOCAB, 'cats']), cacheDir });
    assert.equal(otherVocab.fromCache, false);
    await writeFile(join(corpusPath, 'b.txt'), 'The cat ran.\n');
    const edited = await tokenizeCorpusCached({ corpusPath, tokenizer: tok, cacheDir });
    assert.equal(edited.fromCache, false);
    assert.deepEqual([...edited.corpus.tokens.subarray(0, 4)], [5, 6, 9, 10]);
    assert.equal((await readdir(cacheDir)).length, 4);

    const uncached = await tokenizeCorpusCached({ corpusPath, tokenizer: tok });
    assert.equal(uncached.cachePath, null);
    assert.deepEqual(uncached.corpus, edited.corpus);
  });

  it('detects a truncated cache file and rebuilds it', async () => {
    const tok = new WordPieceTokenizer(VOCAB);
    const corpusPath = join(dir, 'corpus', 'sub', 'a.raw');
    const cacheDir = join(dir, 'cache-truncated');
    const built = await tokenizeCorpusCached({ corpusPath, tokenizer: tok, cacheDir });
    await truncate(built.cachePath!, 100);
    const rebuilt = await tokenizeCorpusCached({ corpusPath, tokenizer: tok, cacheDir });
    assert.equal(rebuilt.fromCache, false);
    assert.match(rebuilt.cacheProblem ?? '', /tokens-[0-9a-f]{24}\.safetensors/);
    assert.deepEqual(rebuilt.corpus, built.corpus);
    assert.equal((await tokenizeCorpusCached({ corpusPath, tokenizer: tok, cacheDir })).fromCache, true);
  });
});
