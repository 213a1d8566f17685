import assert from 'node:assert/strict';
import { describe, it } from 'node:test';

import { parseCnnDailyMail, parseSquad, parseTriviaQaClosedBook, parseTriviaQaRc, splitWikiTextArticles } from '../../src/eval/datasets.js';
import { repetitionExamples, wikitextBpcSamples } from '../../src/eval/prompts.js';
import { EVAL_DATA_FILES, readCnnDailyMail, readNeedleFiller, readShakespeare, readSquad, readTriviaQaClosedBook, readWikiTextArticles } from '../../src/node/eval-data.js';
import { dataFileOrSkip } from '../helpers/data.js';

describe('dataset parsers: errors name the file, the record and the field', () => {
  it('SQuAD', () => {
    assert.throws(() => parseSquad('dev.json', '{"data": [{"title": "T", "paragraphs": [{"context": "c", "qas": [{"id": "1", "question": "q"}]}]}]}'), /^Error: dev\.json: data\[0\]\.paragraphs\[0\]\.qas\[0\]: missing field 'answers'$/);
    assert.throws(() => parseSquad('dev.json', '{"data": [{"title": 3}]}'), /dev\.json: data\[0\]: field 'title' must be a string/);
    assert.throws(() => parseSquad('dev.json', '{"dat'), /dev\.json: file: not valid JSON/);
    const [q] = parseSquad('dev.json', '{"data": [{"title": "T", "paragraphs": [{"context": "c", "qas": [{"id": "1", "question": "q", "answers": [{"text": "a", "answer_start": 0}]}]}]}]}');
    assert.deepEqual(q, { id: '1', title: 'T', context: 'c', question: 'q', answers: ['a'] });
  });

  it('TriviaQA closed-book and rc, CNN/DailyMail', () => {
    assert.throws(() => parseTriviaQaClosedBook('t.jsonl', '{"id": "a", "question": "q", "golden_answers": ["x"]}\n\n{"id": "b", "question": "q"}\n'), /t\.jsonl: line 3: missing field 'golden_answers'/);
    assert.throws(() => parseTriviaQaClosedBook('t.jsonl', '{"id": "a", "question": "q", "golden_answers": [1]}'), /t\.jsonl: line 1: golden_answers\[0\] must be a string/);
    assert.throws(() => parseTriviaQaRc('rc.json', '{"Data": [{"Question": "q", "QuestionId": "i", "Answer": {}}]}'), /rc\.json: Data\[0\]\.Answer: missing field 'Aliases'/);
    assert.throws(() => parseCnnDailyMail('cnn.jsonl', '{"id": "x", "article": "a"}'), /cnn\.jsonl: line 1: missing field 'highlights'/);
  });

  it('WikiText articles start at level-one headings', () => {
    const text = ' \n = A = \n \n text a \n = = Section = = \n more a \n = B = \n text b \n';
    assert.deepEqual(splitWikiTextArticles('w.raw', text), [' \n = A = \n \n text a \n = = Section = = \n more a \n', ' = B = \n text b \n']);
  });
});

describe('the datasets in ../shared/data', () => {
  it('SQuAD v1.1 dev: 10,570 questions in 48 articles', async (t) => {
    if (!dataFileOrSkip(t, EVAL_DATA_FILES.squad)) return;
    const questions = await readSquad();
    assert.equal(questions.length, 10570);
    assert.equal(new Set(questions.map((q) => q.title)).size, 48);
    assert.equal(questions[0]!.id, '56be4db0acb8001400a502ec');
    assert.deepEqual(questions[0]!.answers, ['Denver Broncos', 'Denver Broncos', 'Denver Broncos']);
  });

  it('TriviaQA closed-book (1,000) and the rc sample schema', async (t) => {
    if (!dataFileOrSkip(t, EVAL_DATA_FILES.triviaqa)) return;
    const questions = await readTriviaQaClosedBook();
    assert.equal(questions.length, 1000);
    assert.ok(questions.every((q) => q.answers.length > 0 && q.contexts.length === 0));
    const rcPath = dataFileOrSkip(t, 'qa/triviaqa/triviaqa_sample.json');
    if (!rcPath) return;
    const { readFile } = await import('node:fs/promises');
    const [rc] = parseTriviaQaRc(rcPath, await readFile(rcPath, 'utf8'));
    assert.equal(rc!.id, 'tc_33');
    assert.ok(rc!.answers.includes('Sunset Boulevard'));
    assert.deepEqual(rc!.wikipediaFiles, ['Andrew_Lloyd_Webber.txt']);
    assert.deepEqual(rc!.webFiles, ['35/35_995.txt']);
  });

  it('CNN/DailyMail: 15 articles, 5 of 4000..8000 characters', async (t) => {
    if (!dataFileOrSkip(t, EVAL_DATA_FILES.cnndm)) return;
    const articles = await readCnnDailyMail();
    assert.equal(articles.length, 15);
    assert.equal(articles.filter((a) => a.article.length >= 4000 && a.article.length <= 8000).length, 5);
  });

  it('WikiText-2 test: 62 articles, 49 long enough for BPC (counts from the reference regex in Python)', async (t) => {
    if (!dataFileOrSkip(t, EVAL_DATA_FILES.wikitext)) return;
    const pages = await readWikiTextArticles();
    assert.equal(pages.length, 62);
    const samples = wikitextBpcSamples(pages);
    assert.equal(samples.length, 49);
    const page1 = samples.find((s) => s.id === 'page-1')!;
    assert.deepEqual([page1.prefill.length, page1.reference.length], [6005, 400]);
  });

  it('Tiny Shakespeare: 2,775 repetition examples (count and offsets from the reference regexes in Python)', async (t) => {
    if (!dataFileOrSkip(t, EVAL_DATA_FILES.shakespeare)) return;
    const examples = repetitionExamples(await readShakespeare());
    assert.equal(examples.length, 2775);
    assert.deepEqual(examples.slice(0, 3).map((e) => e.id), [0, 392, 782]);
    assert.deepEqual(examples.slice(-2).map((e) => e.id), [1109608, 1110000]);
    assert.deepEqual([examples[5]!.prompt.length, examples[5]!.reference.length], [128, 257]);
  });

  it('needle filler: the essays folder', async (t) => {
    if (!dataFileOrSkip(t, EVAL_DATA_FILES.needleFiller)) return;
    const docs = await readNeedleFiller();
    assert.ok(docs.length >= 10 && docs.every((d) => d.length > 10_000));
  });

  it('TriviaQA rc: questions with their Wikipedia or web evidence read from the evidence folder', async () => {
    const { mkdtemp, mkdir, writeFile, rm } = await import('node:fs/promises');
    const { tmpdir } = await import('node:os');
    const { join } = await import('node:path');
    const dir = await mkdtemp(join(tmpdir(), 'thrifty-trivia-'));
    try {
      await mkdir(join(dir, 'evidence', 'wikipedia'), { recursive: true });
      await mkdir(join(dir, 'evidence', 'web', '35'), { recursive: true });
      await writeFile(join(dir, 'evidence', 'wikipedia', 'A.txt'), 'wiki text');
      await writeFile(join(dir, 'evidence', 'web', '35', '35_1.txt'), 'web text');
      const json = { Data: [{ Question: 'q?', QuestionId: 'tc_1', Answer: { Aliases: ['x', 'y'] }, EntityPages: [{ Filename: 'A.txt' }], SearchResults: [{ Filename: '35/35_1.txt' }] }] };
      await writeFile(join(dir, 'rc.json'), JSON.stringify(json));
      const { readTriviaQaRc } = await import('../../src/node/eval-data.js');
      assert.deepEqual(await readTriviaQaRc(join(dir, 'rc.json'), join(dir, 'evidence')), [{ id: 'tc_1', question: 'q?', answers: ['x', 'y'], contexts: ['wiki text'] }]);
      assert.deepEqual((await readTriviaQaRc(join(dir, 'rc.json'), join(dir, 'evidence'), 'search'))[0]!.contexts, ['web text']);
      await rm(join(dir, 'evidence', 'wikipedia', 'A.txt'));
      await assert.rejects(readTriviaQaRc(join(dir, 'rc.json'), join(dir, 'evidence')), /evidence\/wikipedia\/A\.txt: not found/);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('a missing file names itself and the setting', async () => {
    await assert.rejects(readSquad('/nonexistent-data'), /\/nonexistent-data\/qa\/squad-v1\.1\/dev-v1\.1\.json\.gz: not found \(set THRIFTY_DATA_DIR/);
  });
});
