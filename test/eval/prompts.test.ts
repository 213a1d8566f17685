import assert from 'node:assert/strict';
import { describe, it } from 'node:test';

import type { SquadQuestion, TriviaQuestion } from '../../src/eval/datasets.js';
import {
  cnnSamples,
  fewShotPrompt,
  needleLengths,
  needleSamples,
  prefillIds,
  repetitionExamples,
  repetitionSamples,
  scoreOutput,
  squadContext,
  squadSamples,
  triviaSamples,
  wikitextBpcSamples,
  type TokenCounter,
} from '../../src/eval/prompts.js';

/** One id per whitespace-separated word (ids from a growing table): enough to count and rebuild. */
function wordTokenizer(): TokenCounter & { decode(ids: readonly number[]): string } {
  const words: string[] = [];
  const ids = new Map<string, number>();
  return {
    encode(text: string): number[] {
      return text.split(/\s+/).filter((w) => w).map((w) => {
        if (!ids.has(w)) {
          ids.set(w, words.length);
          words.push(w);
        }
        return ids.get(w)!;
      });
    },
    decode: (list) => list.map((i) => words[i]).join(' '),
  };
}

const squad: SquadQuestion[] = [
  { id: 'q1', title: 'Super_Bowl_50', context: 'Denver won.', question: 'Who won?', answers: ['Denver Broncos', 'Denver'] },
  { id: 'q2', title: 'Super_Bowl_50', context: 'Denver won.', question: 'Which city?', answers: ['Denver'] },
  { id: 'q3', title: 'Warsaw', context: 'Warsaw is a city.', question: 'What is Warsaw?', answers: ['a city'] },
  { id: 'q4', title: 'Normans', context: 'Normans came from Normandy.', question: 'From where?', answers: ['Normandy'] },
];

describe('SQuAD prompts (qa.py SQuAD.preprocess + add_few_shot_prompt)', () => {
  it('builds the literal 1-shot prompt: contexts, the instruction, a worked example from the same paragraph, the question', () => {
    const samples = squadSamples(squad, { tokenizer: wordTokenizer(), confusionContexts: 0 });
    const q1 = samples.find((s) => s.id === 'q1')!;
    assert.deepEqual(q1.prompt, {
      text:
        'Title: Super Bowl 50. Background: Denver won.\n' +
        "From what you've just read about Super Bowl 50, please answer the following questions.\n" +
        'Question: Which city?\nAnswer: Denver\n' +
        'Question: Who won?\nAnswer:',
    });
    // min(30, 5 + the longest answer in tokens): "Denver Broncos" is 2 tokens
    assert.equal(q1.maxNewTokens, 7);
    assert.deepEqual(q1.reference, { kind: 'answers', answers: ['Denver Broncos', 'Denver'] });
    assert.equal(scoreOutput(q1, ' Denver Broncos.\nQuestion:'), 1);
    assert.equal(scoreOutput(q1, ' Carolina'), 0);
  });

  it('mixes in confusion contexts from all paragraphs, seeded, with the true one among them', () => {
    const a = squadSamples(squad, { tokenizer: wordTokenizer(), count: 3, seed: 5 });
    const again = squadSamples(squad, { tokenizer: wordTokenizer(), count: 4, seed: 5 });
    const other = squadSamples(squad, { tokenizer: wordTokenizer(), count: 3, seed: 6 });
    assert.deepEqual(a, again.slice(0, 3)); // the first samples do not depend on how many are asked for
    assert.notDeepEqual(a.map((s) => s.prompt), other.map((s) => s.prompt));
    const all = new Set(squad.map(squadContext));
    for (const s of a) {
      const text = (s.prompt as { text: string }).text;
      const lines = text.split('\n');
      const q = squad.find((x) => x.id === s.id)!;
      assert.equal(lines.filter((l) => l.startsWith('Title: ')).length, 8);
      for (const line of lines.slice(0, 8)) assert.ok(all.has(line), line);
      assert.ok(lines.slice(0, 8).includes(squadContext(q)));
      assert.equal(lines[8], `From what you've just read about ${q.title.replaceAll('_', ' ')}, please answer the following questions.`);
      assert.equal(lines.at(-1), 'Answer:');
      assert.equal(lines.at(-2), `Question: ${q.question}`);
    }
    const long = squadSamples(squad, { tokenizer: wordTokenizer(), count: 1, confusionContexts: 31 })[0]!;
    assert.equal((long.prompt as { text: string }).text.split('\n').filter((l) => l.startsWith('Title: ')).length, 32);
    assert.equal(long.details?.['confusionContexts'], 31);
  });

  it('few-shot examples answer with their shortest answer', () => {
    assert.equal(fewShotPrompt('Q?', [{ question: 'E?', answers: ['longer one', 'short', 'tiny'] }]), 'Question: E?\nAnswer: tiny\nQuestion: Q?\nAnswer:');
  });
});

describe('TriviaQA prompts', () => {
  const questions: TriviaQuestion[] = [
    { id: 't1', question: 'Capital of France?', answers: ['Paris'], contexts: [] },
    { id: 't2', question: 'Largest planet?', answers: ['Jupiter', 'planet Jupiter'], contexts: [] },
  ];

  it('closed-book: the 1-shot prompt alone', () => {
    const s = triviaSamples(questions, { tokenizer: wordTokenizer() });
    const t1 = s.find((x) => x.id === 't1')!;
    assert.deepEqual(t1.prompt, { text: 'Question: Largest planet?\nAnswer: Jupiter\nQuestion: Capital of France?\nAnswer:' });
    assert.equal(t1.details?.['openBook'], 'closed-book');
    assert.equal(t1.maxNewTokens, 6);
  });

  it('rc: an evidence text of 4000..8000 characters before the prompt; questions without one are left out', () => {
    const doc = 'x '.repeat(2500);
    const withEvidence: TriviaQuestion[] = [
      { ...questions[0]!, contexts: ['too short', doc] },
      { ...questions[1]!, contexts: ['too short'] },
    ];
    const s = triviaSamples(withEvidence, { tokenizer: wordTokenizer() });
    assert.equal(s.length, 1);
    assert.ok((s[0]!.prompt as { text: string }).text.startsWith(`${doc}\nQuestion: Largest planet?`));
  });
});

describe('CNN/DailyMail prompts (summarisation.py)', () => {
  it('"Article: {article}\\nSummary:", lengths from the reference, articles filtered by length', () => {
    const article = 'word '.repeat(900).trim();
    const articles = [
      { id: 'a', article, highlights: 'one two three' },
      { id: 'short', article: 'too short', highlights: 'x' },
    ];
    const [s, ...rest] = cnnSamples(articles, { tokenizer: wordTokenizer() });
    assert.equal(rest.length, 0);
    assert.deepEqual(s!.prompt, { text: `Article: ${article}\nSummary:` });
    assert.equal(s!.maxNewTokens, 3);
    assert.equal(s!.keepTokens, 3);
    assert.equal(scoreOutput(s!, 'One two three'), 1);
    assert.equal(cnnSamples(articles, { tokenizer: wordTokenizer(), charsRange: [0, 10_000] }).length, 2);
  });
});

describe('repetition prompts (repetition.py)', () => {
  it('splits as the reference regexes do (values from Python re)', () => {
    const text = 'one two three four five six seven eight nine ten eleven twelve thirteen fourteen';
    assert.deepEqual(
      repetitionExamples(text, 20, 5, 8).map((e) => [e.id, e.contextId, e.prompt, e.reference]),
      [
        [0, 0, 'one two', ' three four'],
        [23, 23, ' six seven', ' eight nine'],
        [44, 44, ' ten eleven', ' twelve thirteen'],
      ],
    );
  });

  it('prompt = chunk + "\\n" + snippet; target = what followed the snippet', () => {
    const text = Array.from({ length: 3000 }, (_, i) => `w${i}`).join(' ');
    const samples = repetitionSamples(text, { tokenizer: wordTokenizer(), count: 3 });
    const examples = repetitionExamples(text);
    for (const s of samples) {
      const e = examples.find((x) => String(x.id) === s.id)!;
      assert.deepEqual(s.prompt, { text: `${e.context}\n${e.prompt}` });
      assert.equal(text.slice(e.id, e.id + e.prompt.length), e.prompt);
      assert.equal(text.slice(e.id + e.prompt.length, e.id + e.prompt.length + e.reference.length), e.reference);
      assert.equal(s.maxNewTokens, Math.min(128, wordTokenizer().encode(e.reference).length));
      assert.equal(scoreOutput(s, e.reference), e.reference.trimStart().length);
    }
  });
});

describe('WikiText BPC samples (bpc.py WikiText.preprocess)', () => {
  it('prefill to the first whitespace after 6000 characters, reference of 400+ characters starting with it', () => {
    const page = Array.from({ length: 1500 }, (_, i) => `tok${i}`).join(' ');
    const [s] = wikitextBpcSamples([page, 'short page']);
    assert.ok(s!.prefill.length >= 6000 && !/\s/.test(s!.prefill.at(-1)!));
    assert.ok(page.startsWith(s!.prefill + s!.reference));
    assert.ok(/^\s/.test(s!.reference) && s!.reference.length >= 400);
    assert.ok(/\s/.test(page[s!.prefill.length + s!.reference.length]!));
    assert.equal(s!.id, 'page-0');
    assert.equal(wikitextBpcSamples([page, 'short page']).length, 1);
  });
});

describe('needle prompts (needle.py)', () => {
  it('lengths: steps of 1024 up to the context, less 128', () => {
    assert.deepEqual(needleLengths(4096), [896, 1920, 2944, 3968]);
    assert.deepEqual(needleLengths(1000), []);
  });

  it('[BOS] prefix filler[:depth] needle filler[depth:length] query, 17 depths per length', () => {
    const tok = wordTokenizer();
    const filler = [Array.from({ length: 4000 }, (_, i) => `f${i}`).join(' ')];
    const samples = needleSamples(filler, { tokenizer: tok, bos: 99999, lengths: [100, 200] });
    assert.equal(samples.length, 34);
    const first = samples[0]!;
    const tokens = (first.prompt as { tokens: number[] }).tokens;
    assert.equal(tokens[0], 99999);
    assert.equal(tok.decode(tokens.slice(1)), `Articles by Paul Graham: The best thing to do in San Francisco is to eat a sandwich and sit in Dolores Park on a sunny day. ${Array.from({ length: 100 }, (_, i) => `f${i}`).join(' ')} . What is the best thing to do in San Francisco? "The best thing to do in San Francisco is to`);
    assert.equal(first.id, '100-0');
    const mid = samples[8]!; // depth 0.5
    assert.equal(mid.id, '100-50');
    assert.deepEqual(mid.details, { length: 100, depth: 0.5 });
    assert.ok(tok.decode((mid.prompt as { tokens: number[] }).tokens.slice(1)).includes('f49 . The best thing'));
    assert.equal(mid.prefillChunk, 256);
    assert.equal(mid.maxNewTokens, 5 + 12);
    assert.equal(scoreOutput(mid, ' eat a sandwich and sit in Dolores Park on a sunny day."'), 1);
    assert.throws(() => needleSamples(['tiny'], { tokenizer: tok, bos: null, lengths: [100] }), /insufficient tokens in the filler/);
  });

  it('depths are np.linspace(0, 1, n) and the depth index int(depth * length), as numpy rounds them', () => {
    const tok = wordTokenizer();
    const filler = [Array.from({ length: 200 }, (_, i) => `f${i}`).join(' ')];
    // np.linspace(0, 1, 7)[5] = 5 * (1/6) = 0.8333333333333333 (5/6 rounds up to ...334); int(0.8333333333333333 * 18) = 14, not 15.
    const samples = needleSamples(filler, { tokenizer: tok, bos: null, lengths: [18], depthSteps: 7 });
    assert.deepEqual(samples.map((s) => s.id), ['18-0', '18-3', '18-6', '18-9', '18-12', '18-14', '18-18']);
    assert.equal(samples[5]!.details!['depth'], 0.8333333333333333);
    assert.equal(samples[6]!.details!['depth'], 1);
  });
});

describe('prefill ids (eval_adapter.py left truncation)', () => {
  it('keeps BOS and the last tokens that fit', () => {
    assert.deepEqual(prefillIds([1, 2, 3, 4, 5], 0, 4), [0, 3, 4, 5]);
    assert.deepEqual(prefillIds([1, 2], 0, 4), [0, 1, 2]);
    assert.deepEqual(prefillIds([1, 2, 3], null, 2), [2, 3]);
    assert.throws(() => prefillIds([1], 0, 1), /leaves no room/);
  });
});
