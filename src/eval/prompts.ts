// Samples of every evaluation task, built as the reference harness builds them
// (graphcore-research/llm-inference-research, files followed):
//   llminference/tasks/qa.py            SQuAD.preprocess, TriviaQA.preprocess, add_few_shot_prompt,
//                                       get_default_prompt_template, evaluate (generation length)
//   llminference/tasks/summarisation.py CnnDailymail.preprocess, evaluate ("\nSummary:", lengths)
//   llminference/tasks/repetition.py    generate_examples, split_*, evaluate (PROMPT_PREFIX "\n")
//   llminference/tasks/bpc.py           WikiText.preprocess (the prefill/reference regex), evaluate
//   llminference/tasks/needle.py        Dataset.data, get_default_lengths, evaluate
//   llminference/eval_adapter.py        greedy_sample (context + prompt tokenised as one string,
//                                       left-truncated to max_length - 256), forced_sample
//   llminference/experiments.py         which tasks run with which shots
// The reference draws with numpy (RandomState); thrifty draws with its own seeded Rng, so the same
// seed picks other samples than the reference does, by the same procedure. Each sample draws from
// its own generator (seed and sample index), so the first n samples do not depend on how many are
// asked for, and a resumed run sees the same samples.

import { Rng } from '../tensor/rng.js';
import type { CnnArticle, SquadQuestion, TriviaQuestion } from './datasets.js';
import { exactMatch, needleMatch, NEEDLE_REFERENCE, repetitionMatchLength } from './metrics.js';
import { rougeL } from './rouge.js';

/** The reference's seeds (sample draws, dataset shuffle); a run's --seed S adds S to both. */
export const TASK_SEEDS = {
  squad: { seed: 82735235, shuffleSeed: 945237 },
  triviaqa: { seed: 2751584, shuffleSeed: 487523 },
  cnndm: { shuffleSeed: 2353669 },
  'wikitext-bpc': { shuffleSeed: 2353669 },
  repetition: { shuffleSeed: 544085 },
  needle: { seed: 4852341 },
} as const;

/** What prompt construction needs of a tokenizer: ids of a text without BOS/EOS (the reference's tok_encode). */
export interface TokenCounter {
  encode(text: string): readonly number[];
}

export type TaskName = 'squad' | 'triviaqa' | 'cnndm' | 'wikitext-bpc' | 'repetition' | 'needle';

export type Reference =
  | { readonly kind: 'answers'; readonly answers: readonly string[] }
  | { readonly kind: 'summary'; readonly text: string }
  | { readonly kind: 'continuation'; readonly text: string }
  | { readonly kind: 'needle'; readonly text: string };

/** A greedy-generation sample: prefill `prompt` densely (one pass, or chunks), then generate. */
export interface GenerationSample {
  readonly task: TaskName;
  readonly id: string;
  /**
   * Text: the whole context + prompt, tokenised as one string with the model's BOS (the reference's
   * combine_context_and_prompt). Tokens: already tokenised, BOS included (needle).
   */
  readonly prompt: { readonly text: string } | { readonly tokens: readonly number[] };
  /** Greedy tokens to generate. */
  readonly maxNewTokens: number;
  /** The output is cut to its first `keepTokens` tokens before decoding (the reference's output_ids[:reference_length]). */
  readonly keepTokens: number;
  /** Prefill chunk length in tokens (needle: 256); absent: one dense pass. */
  readonly prefillChunk?: number;
  readonly reference: Reference;
  /** Task details worth keeping in the record (needle length and depth, confusion contexts). */
  readonly details?: Readonly<Record<string, number | string>>;
}

/** A teacher-forced sample (WikiText BPC): prefill densely, then feed the reference token by token. */
export interface TeacherForcedSample {
  readonly task: 'wikitext-bpc';
  readonly id: string;
  readonly prefill: string;
  readonly reference: string;
  /** The reference may have at most this many tokens (bpc.py max_reference_tokens). */
  readonly maxReferenceTokens: number;
}

/** The sample's score: exact match (0/1), ROUGE-L F, matched characters, or needle match (0/1). */
export function scoreOutput(sample: GenerationSample, output: string): number {
  const ref = sample.reference;
  switch (ref.kind) {
    case 'answers':
      return exactMatch(output, ref.answers) ? 1 : 0;
    case 'summary':
      return rougeL(ref.text, output).fmeasure;
    case 'continuation':
      return repetitionMatchLength(output, ref.text);
    case 'needle':
      return needleMatch(output, ref.text) ? 1 : 0;
  }
}

/** True where a task's score is binary (accuracy with a binomial standard error). */
export function isBinaryTask(task: TaskName): boolean {
  return task === 'squad' || task === 'triviaqa' || task === 'needle';
}

/**
 * Prefill ids as the reference tokeniser gives them: BOS (when the model has one) and the text's
 * ids, truncated from the left to `limit` tokens in all (eval_adapter.py: max_length minus the
 * tokens reserved for generation, 256 for greedy_sample and max_reference_tokens for forced_sample).
 */
export function prefillIds(textIds: readonly number[], bos: number | null, limit: number): number[] {
  const room = limit - (bos === null ? 0 : 1);
  if (!(room > 0)) throw new Error(`prefill limit ${limit} leaves no room for text`);
  const kept = textIds.length > room ? textIds.slice(textIds.length - room) : [...textIds];
  return bos === null ? kept : [bos, ...kept];
}

/** An independent generator for sample `index` of a task seeded with `seed`. */
export function sampleRng(seed: number, index: number): Rng {
  let h = Math.imul((seed >>> 0) ^ 0x9e3779b9, 0x85ebca6b) ^ Math.imul(index + 1, 0xc2b2ae35);
  h = Math.imul(h ^ (h >>> 15), 0x27d4eb2f);
  return new Rng((h ^ (h >>> 13)) >>> 0);
}

/** The first `count` indices of a seeded shuffle of 0..n-1 (the reference shuffles the whole dataset, then takes the first). */
function shuffledIndices(n: number, count: number | undefined, shuffleSeed: number): number[] {
  const order = Array.from(new Rng(shuffleSeed).permutation(n));
  return count === undefined ? order : order.slice(0, Math.min(count, n));
}

function maxTokens(tokenizer: TokenCounter, texts: readonly string[]): number {
  return Math.max(...texts.map((t) => tokenizer.encode(t).length));
}

function shortest(answers: readonly string[]): string {
  return answers.reduce((a, b) => (b.length < a.length ? b : a));
}

interface QaExample {
  readonly question: string;
  readonly answers: readonly string[];
}

/** qa.py add_few_shot_prompt with the default template: k worked "Question: q\nAnswer: a" lines, then the question. */
export function fewShotPrompt(question: string, examples: readonly QaExample[]): string {
  return [...examples.map((e) => `Question: ${e.question}\nAnswer: ${shortest(e.answers)}`), `Question: ${question}\nAnswer:`].join('\n');
}

/** qa.py evaluate: min(30, 5 + the longest answer in tokens). */
export function qaGenerationLength(tokenizer: TokenCounter, answers: readonly string[]): number {
  return Math.min(30, 5 + maxTokens(tokenizer, answers));
}

export interface SquadOptions {
  readonly tokenizer: TokenCounter;
  /** Samples (the first of the shuffled dataset; the paper: 400). Default all. */
  readonly count?: number;
  /** Other paragraphs mixed in with the true one (default 7; the sequence-length study: 3, 7, 15, 31). */
  readonly confusionContexts?: number;
  /** Worked examples (default 1, the paper's 1-shot). */
  readonly shots?: number;
  readonly seed?: number;
  readonly shuffleSeed?: number;
}

/** "Title: {title}. Background: {context}", underscores of the title as spaces (qa.py SQuAD.format_context). */
export function squadContext(q: Pick<SquadQuestion, 'title' | 'context'>): string {
  return `Title: ${q.title.replaceAll('_', ' ')}. Background: ${q.context}`;
}

/**
 * SQuAD samples (qa.py SQuAD.preprocess): the true paragraph and `confusionContexts` paragraphs
 * drawn uniformly, with replacement, from all distinct formatted paragraphs of the set (so, as in
 * the reference, possibly of the same article), shuffled; each "Title: ... Background: ..." on
 * its own line, then "From what you've just read about {title}, please answer the following
 * questions."; then the worked examples (other questions on the same paragraph first, in shuffled
 * order, then random questions) and the question.
 */
export function squadSamples(questions: readonly SquadQuestion[], options: SquadOptions): GenerationSample[] {
  const confusion = options.confusionContexts ?? 7;
  const shots = options.shots ?? 1;
  const seed = options.seed ?? TASK_SEEDS.squad.seed;
  if (!Number.isInteger(confusion) || confusion < 0) throw new Error(`squad: confusion contexts must be a non-negative integer, got ${confusion}`);
  const allContexts = [...new Set(questions.map(squadContext))].sort();
  const byContext = new Map<string, number[]>();
  questions.forEach((q, i) => byContext.set(q.context, [...(byContext.get(q.context) ?? []), i]));
  return shuffledIndices(questions.length, options.count, options.shuffleSeed ?? TASK_SEEDS.squad.shuffleSeed).map((index) => {
    const q = questions[index]!;
    const rng = sampleRng(seed, index);
    const contexts = [squadContext(q), ...Array.from({ length: confusion }, () => allContexts[rng.int(allContexts.length)]!)];
    rng.shuffle(contexts);
    const title = q.title.replaceAll('_', ' ');
    const context = `${contexts.join('\n')}\nFrom what you've just read about ${title}, please answer the following questions.`;
    const sameContext = rng.shuffle((byContext.get(q.context) ?? []).filter((i) => questions[i]!.id !== q.id));
    // The reference lists 5 examples (of which the prompt uses `shots`): 6 random draws, this question left out.
    const others = Array.from({ length: Math.max(5, shots) + 1 }, () => rng.int(questions.length)).filter((i) => questions[i]!.id !== q.id);
    const examples = [...sameContext, ...others].slice(0, shots).map((i) => questions[i]!);
    if (examples.length < shots) throw new Error(`squad: cannot form a ${shots}-shot prompt for question ${q.id}`);
    return {
      task: 'squad',
      id: q.id,
      prompt: { text: `${context}\n${fewShotPrompt(q.question, examples)}` },
      maxNewTokens: qaGenerationLength(options.tokenizer, q.answers),
      keepTokens: qaGenerationLength(options.tokenizer, q.answers),
      reference: { kind: 'answers', answers: q.answers },
      details: { confusionContexts: confusion },
    };
  });
}

export interface TriviaOptions {
  readonly tokenizer: TokenCounter;
  readonly count?: number;
  readonly shots?: number;
  /** With evidence (rc): keep questions with an evidence text of this many characters and use one. Default [4000, 8000]. */
  readonly charsRange?: readonly [number, number];
  readonly seed?: number;
  readonly shuffleSeed?: number;
}

/**
 * TriviaQA samples (qa.py TriviaQA.preprocess and evaluate). Closed-book questions (no contexts)
 * give the few-shot prompt alone, as the reference's open_book=False; with evidence (the rc
 * variant) a question needs an evidence text within `charsRange` characters, one of which is put
 * before the prompt. Worked examples are other random questions.
 */
export function triviaSamples(questions: readonly TriviaQuestion[], options: TriviaOptions): GenerationSample[] {
  const shots = options.shots ?? 1;
  const seed = options.seed ?? TASK_SEEDS.triviaqa.seed;
  const [lo, hi] = options.charsRange ?? [4000, 8000];
  const openBook = questions.some((q) => q.contexts.length > 0);
  const usable = openBook ? questions.filter((q) => q.contexts.some((c) => c.length >= lo && c.length <= hi)) : [...questions];
  if (usable.length === 0) throw new Error(`triviaqa: no question has an evidence text of ${lo}..${hi} characters`);
  return shuffledIndices(usable.length, options.count, options.shuffleSeed ?? TASK_SEEDS.triviaqa.shuffleSeed).map((index) => {
    const q = usable[index]!;
    const rng = sampleRng(seed, index);
    // As the reference: 5 + 2 random draws (a question id can appear twice in TriviaQA), this question left out.
    const examples = Array.from({ length: Math.max(5, shots) + 2 }, () => questions[rng.int(questions.length)]!).filter((e) => e.id !== q.id).slice(0, shots);
    if (examples.length < shots) throw new Error(`triviaqa: cannot form a ${shots}-shot prompt for question ${q.id}`);
    const prompt = fewShotPrompt(q.question, examples);
    let text = prompt;
    if (openBook) {
      const docs = q.contexts.filter((c) => c.length >= lo && c.length <= hi);
      text = `${docs[rng.int(docs.length)]!}\n${prompt}`;
    }
    const length = qaGenerationLength(options.tokenizer, q.answers);
    return {
      task: 'triviaqa',
      id: q.id,
      prompt: { text },
      maxNewTokens: length,
      keepTokens: length,
      reference: { kind: 'answers', answers: q.answers },
      details: { openBook: openBook ? 'rc' : 'closed-book' },
    };
  });
}

export interface CnnOptions {
  readonly tokenizer: TokenCounter;
  readonly count?: number;
  /** Articles kept by length in characters (summarisation.py: 4000..8000). */
  readonly charsRange?: readonly [number, number];
  readonly shuffleSeed?: number;
  /** Generation cap (default 128). */
  readonly maxGeneratedTokens?: number;
}

/**
 * CNN/DailyMail samples (summarisation.py): "Article: {article}" + "\nSummary:", greedy for
 * min(128, reference tokens), the output cut to the reference's token length, ROUGE-L F.
 */
export function cnnSamples(articles: readonly CnnArticle[], options: CnnOptions): GenerationSample[] {
  const [lo, hi] = options.charsRange ?? [4000, 8000];
  const kept = articles.filter((a) => a.article.length >= lo && a.article.length <= hi);
  if (kept.length === 0) throw new Error(`cnndm: no article has ${lo}..${hi} characters`);
  return shuffledIndices(kept.length, options.count, options.shuffleSeed ?? TASK_SEEDS.cnndm.shuffleSeed).map((index) => {
    const a = kept[index]!;
    const referenceTokens = options.tokenizer.encode(a.highlights).length;
    return {
      task: 'cnndm',
      id: a.id,
      prompt: { text: `Article: ${a.article}\nSummary:` },
      maxNewTokens: Math.min(options.maxGeneratedTokens ?? 128, referenceTokens),
      keepTokens: referenceTokens,
      reference: { kind: 'summary', text: a.highlights },
    };
  });
}

export interface RepetitionExample {
  /** Character offset of the prompt snippet in the text (the reference's id). */
  readonly id: number;
  /** Character offset of the context chunk. */
  readonly contextId: number;
  readonly context: string;
  readonly prompt: string;
  readonly reference: string;
}

/**
 * repetition.py generate_examples: the text cut into chunks of at least `contextLength` characters
 * ending before whitespace; inside each chunk, consecutive (prompt, reference) pairs: a prompt of at
 * least `promptLength` characters, then a reference that starts with whitespace and has at least
 * `referenceLength` characters, ending before whitespace.
 */
export function repetitionExamples(text: string, contextLength = 6000, promptLength = 128, referenceLength = 256): RepetitionExample[] {
  const chunk = new RegExp(`(.{${contextLength},}?)(?=\\s|$)`, 'gs');
  const pair = new RegExp(`(.{${promptLength},}?)(\\s.{${referenceLength - 1},}?)(?=\\s|$)`, 'gs');
  const out: RepetitionExample[] = [];
  for (const c of text.matchAll(chunk)) {
    const context = c[1]!;
    for (const p of context.matchAll(pair)) {
      out.push({ id: c.index! + p.index!, contextId: c.index!, context, prompt: p[1]!, reference: p[2]! });
    }
  }
  return out;
}

export interface RepetitionOptions {
  readonly tokenizer: TokenCounter;
  readonly count?: number;
  readonly shuffleSeed?: number;
  readonly contextLength?: number;
  readonly maxGeneratedTokens?: number;
}

/**
 * Repetition samples (repetition.py evaluate): the chunk, "\n" and the prompt snippet; greedy for
 * min(128, reference tokens), cut to the reference's tokens; score = matched characters.
 */
export function repetitionSamples(text: string, options: RepetitionOptions): GenerationSample[] {
  const examples = repetitionExamples(text, options.contextLength ?? 6000);
  if (examples.length === 0) throw new Error(`repetition: the text (${text.length} characters) yields no examples`);
  return shuffledIndices(examples.length, options.count, options.shuffleSeed ?? TASK_SEEDS.repetition.shuffleSeed).map((index) => {
    const e = examples[index]!;
    const referenceTokens = options.tokenizer.encode(e.reference).length;
    return {
      task: 'repetition',
      id: String(e.id),
      prompt: { text: `${e.context}\n${e.prompt}` },
      maxNewTokens: Math.min(options.maxGeneratedTokens ?? 128, referenceTokens),
      keepTokens: referenceTokens,
      reference: { kind: 'continuation', text: e.reference },
      details: { contextId: e.contextId },
    };
  });
}

export interface BpcOptions {
  readonly count?: number;
  readonly prefillChars?: number;
  readonly referenceChars?: number;
  readonly shuffleSeed?: number;
  readonly maxReferenceTokens?: number;
}

/**
 * WikiText BPC samples (bpc.py WikiText.preprocess): per article, the prefill is its first
 * `prefillChars` characters extended to just before the next whitespace, the reference the next
 * whitespace and at least `referenceChars - 1` characters, to just before whitespace or the end.
 * Articles too short are left out.
 */
export function wikitextBpcSamples(pages: readonly string[], options: BpcOptions = {}): TeacherForcedSample[] {
  const prefillChars = options.prefillChars ?? 6000;
  const referenceChars = options.referenceChars ?? 400;
  const pattern = new RegExp(`^(.{${prefillChars}}.*?)(\\s.{${referenceChars - 1}}.*?)(?:\\s|$)`, 's');
  const examples: { page: number; prefill: string; reference: string }[] = [];
  pages.forEach((page, i) => {
    const m = pattern.exec(page);
    if (m) examples.push({ page: i, prefill: m[1]!, reference: m[2]! });
  });
  if (examples.length === 0) throw new Error(`wikitext-bpc: no article has ${prefillChars + referenceChars} characters`);
  return shuffledIndices(examples.length, options.count, options.shuffleSeed ?? TASK_SEEDS['wikitext-bpc'].shuffleSeed).map((index) => {
    const e = examples[index]!;
    return { task: 'wikitext-bpc', id: `page-${e.page}`, prefill: e.prefill, reference: e.reference, maxReferenceTokens: options.maxReferenceTokens ?? 256 };
  });
}

// needle.py: the Gemini 1.5 report's needle, separator, prefix and query.
export const NEEDLE_SEPARATOR = '.\n';
export const NEEDLE_PREFIX = 'Articles by Paul Graham:\n';
export const NEEDLE_SENTENCE = 'The best thing to do in San Francisco is to eat a sandwich and sit in Dolores Park on a sunny day.\n';
export const NEEDLE_QUERY = '\n\nWhat is the best thing to do in San Francisco? "The best thing to do in San Francisco is to';

/** needle.py get_default_lengths: step, 2 step, ... up to the context, each less 128 tokens for needle, query and output. */
export function needleLengths(maxLength: number, step = 1024): number[] {
  const out: number[] = [];
  for (let x = step; x <= maxLength; x += step) out.push(x - 128);
  return out;
}

export interface NeedleOptions {
  readonly tokenizer: TokenCounter;
  /** The model's BOS id (null: none, as GPT-NeoX). */
  readonly bos: number | null;
  /** Haystack lengths in tokens (needleLengths(context)). */
  readonly lengths: readonly number[];
  /** Depths evenly from 0 to 1 (default 17). */
  readonly depthSteps?: number;
  readonly seed?: number;
  /** Filler characters tokenised (the reference: (1 + mean vocabulary string length) x max length). Default 8 x max length. */
  readonly characterLimit?: number;
  readonly prefillChunk?: number;
}

/**
 * Needle-in-a-haystack samples (needle.py Dataset.data): the filler documents shuffled and joined
 * with blank lines; [BOS] + prefix + filler[:depth] + needle + filler[depth:length] + query, in
 * tokens, for every length and depth; greedy for 5 + the reference's tokens; prefilled in chunks.
 * The reference's filler is Paul Graham's essays (its prefix says so, kept verbatim); ours is
 * whatever documents the caller passes (public-domain essays).
 */
export function needleSamples(documents: readonly string[], options: NeedleOptions): GenerationSample[] {
  const { tokenizer, lengths } = options;
  const depthSteps = options.depthSteps ?? 17;
  if (lengths.length === 0) throw new Error('needle: no lengths (is the model context under 1024 tokens? pass lengths)');
  if (!Number.isInteger(depthSteps) || depthSteps < 2) throw new Error(`needle: depth steps must be an integer >= 2, got ${depthSteps}`);
  const longest = Math.max(...lengths);
  const docs = new Rng(options.seed ?? TASK_SEEDS.needle.seed).shuffle([...documents]);
  const filler = tokenizer.encode(docs.join('\n\n').slice(0, options.characterLimit ?? 8 * longest));
  if (filler.length < longest) throw new Error(`needle: insufficient tokens in the filler (expected: ${longest}, actual: ${filler.length})`);
  const prefix = tokenizer.encode(NEEDLE_PREFIX);
  const question = tokenizer.encode(NEEDLE_SEPARATOR + NEEDLE_QUERY);
  const generate = 5 + tokenizer.encode(NEEDLE_REFERENCE).length;
  const samples: GenerationSample[] = [];
  for (const length of lengths) {
    for (let step = 0; step < depthSteps; step++) {
      // np.linspace(0, 1, n): i * (1 / (n - 1)), the last exactly 1 (i / (n - 1) can differ in the
      // last bit, and int(depth * length) then by one token).
      const depth = step === depthSteps - 1 ? 1 : step * (1 / (depthSteps - 1));
      const depthIndex = Math.floor(depth * length);
      const needle = tokenizer.encode((depthIndex > 0 ? NEEDLE_SEPARATOR : '') + NEEDLE_SENTENCE);
      const tokens = [...(options.bos === null ? [] : [options.bos]), ...prefix, ...filler.slice(0, depthIndex), ...needle, ...filler.slice(depthIndex, length), ...question];
      samples.push({
        task: 'needle',
        id: `${length}-${depthIndex}`,
        prompt: { tokens },
        maxNewTokens: generate,
        keepTokens: generate,
        prefillChunk: options.prefillChunk ?? 256,
        reference: { kind: 'needle', text: NEEDLE_REFERENCE },
        details: { length, depth },
      });
    }
  }
  return samples;
}
