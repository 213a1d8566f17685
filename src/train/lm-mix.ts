// The training mix of `thrifty train-lm --mix`: besides plain windows of the corpus, synthetic
// documents that teach what SparQ's evaluation tasks ask of a model (src/eval/prompts.ts):
//   repeat  a passage of the corpus, then "\n" and spans copied from anywhere inside it, as the
//           repetition task's prompt is a chunk, "\n" and a snippet from inside it, to be continued;
//   kv      corpus filler with fact sentences inserted at random depths and, at the end, questions
//           whose answers are the facts' values, in the needle task's layout (".\n" before a fact,
//           ".\n" + "\n\nWhat is ...? \"<the fact's opening>" before the answer);
//   copy    tokens drawn at random from the corpus's ids, then the same tokens again: nothing but attending
//           back can predict the copy, so it is the plainest signal for induction heads (the mechanism
//           both tasks rely on), which natural-text repeats give weakly;
//   period  one run of random ids repeated to the end of the window, its length drawn per window: the
//           signal that forms induction heads fast (a tiny model trained on it copies at unseen offsets
//           after ~500 steps, one trained on `copy` not in 1000; test/train/induction.test.ts).
// The evaluation's own samples are never produced: no fact is about San Francisco, so neither the
// needle sentence nor its answer appears, and the values are spans of the training split, never of
// Tiny Shakespeare (the repetition task's text) unless the user trains on it.
// Every draw comes from the trainer's data generator, so a run with a mix is as seeded and as
// resumable as one without.

import type { Rng } from '../tensor/rng.js';

export const MIX_KINDS = ['repeat', 'kv', 'copy', 'period'] as const;
export type MixKind = (typeof MIX_KINDS)[number];

/** Fractions of the windows of a step that are synthetic documents (the rest are corpus windows). */
export type TrainingMix = Readonly<Record<MixKind, number>>;

/** Every kind at 0 (built from MIX_KINDS, so a new kind needs no edit here). */
export const NO_MIX: TrainingMix = Object.fromEntries(MIX_KINDS.map((kind) => [kind, 0])) as Record<MixKind, number>;

/** `repeat=0.3,kv=0.2,copy=0.1` (any may be left out; `none` or '' for no mix); errors name `flag`. */
export function parseTrainingMix(text: string, flag = '--mix'): TrainingMix {
  const mix: Record<MixKind, number> = { ...NO_MIX };
  const trimmed = text.trim();
  if (trimmed === '' || trimmed === 'none') return mix;
  for (const part of trimmed.split(',')) {
    const [name, value, ...rest] = part.split('=').map((s) => s.trim());
    if (!MIX_KINDS.includes(name as MixKind) || value === undefined || rest.length > 0) {
      throw new Error(`${flag} expects kind=fraction pairs of ${MIX_KINDS.join(', ')} separated by commas (e.g. repeat=0.3,kv=0.2), got '${text}'`);
    }
    const fraction = Number(value);
    if (value === '' || !Number.isFinite(fraction) || fraction < 0 || fraction > 1) throw new Error(`${flag}: ${name} expects a fraction in [0, 1], got '${value}'`);
    mix[name as MixKind] = fraction;
  }
  const total = mixTotal(mix);
  if (total > 1) throw new Error(`${flag}: the fractions add up to ${total}, more than 1`);
  return mix;
}

export function formatTrainingMix(mix: TrainingMix): string {
  const parts = MIX_KINDS.filter((k) => mix[k] > 0).map((k) => `${k}=${mix[k]}`);
  return parts.length === 0 ? 'none' : parts.join(',');
}

/** What the documents are made of: the training split's ids and the tokenizer. */
export interface MixSource {
  readonly ids: Int32Array;
  /** The distinct ids of `ids`, sorted (what random-copy documents draw from; see distinctIdsOnce). */
  vocabulary(): Int32Array;
  /** Ids of a text, no BOS. */
  encode(text: string): number[];
  decode(ids: readonly number[]): string;
}

/** A MixSource's vocabulary(): the distinct ids of `ids`, found on the first call (a pass over the corpus) and kept. */
export function distinctIdsOnce(ids: Int32Array): () => Int32Array {
  let distinct: Int32Array | null = null;
  return () => (distinct ??= Int32Array.from(new Set(ids)).sort());
}

/** A synthetic document of exactly `length` tokens (BOS not included) and which of them can be read off the context. */
export interface MixDocument {
  readonly tokens: Int32Array;
  /**
   * 1 where the token is determined by earlier tokens of the document (a copied token after the
   * first of its span, an answer token): the held-out copy and retrieval losses are taken there.
   */
  readonly retrievable: Uint8Array;
}

function uniformInt(rng: Rng, lo: number, hi: number): number {
  return hi <= lo ? lo : lo + rng.int(hi - lo + 1);
}

class DocumentBuilder {
  readonly tokens: number[] = [];
  readonly retrievable: number[] = [];

  push(ids: ArrayLike<number>, retrievable: boolean | ((i: number) => boolean)): void {
    for (let i = 0; i < ids.length; i++) {
      this.tokens.push(ids[i]!);
      this.retrievable.push((typeof retrievable === 'function' ? retrievable(i) : retrievable) ? 1 : 0);
    }
  }

  get length(): number {
    return this.tokens.length;
  }

  finish(length: number, fill: () => number): MixDocument {
    while (this.tokens.length < length) this.push([fill()], false);
    return { tokens: Int32Array.from(this.tokens.slice(0, length)), retrievable: Uint8Array.from(this.retrievable.slice(0, length)) };
  }
}

/**
 * A repeated-passage document: a corpus passage of a third of the window or more, then, to the end of the
 * window, "\n" and a span of 16..256 tokens (a quarter of the window at most) copied from a random
 * place inside the passage, again and again. Copies reach back up to the whole window.
 */
export function repeatDocument(source: MixSource, length: number, rng: Rng): MixDocument {
  const newline = source.encode('\n');
  const maxCopy = Math.max(2, Math.min(256, Math.floor(length / 4)));
  const minCopy = Math.max(2, Math.min(16, Math.floor(maxCopy / 2)));
  const passage = Math.min(source.ids.length - 1, uniformInt(rng, Math.ceil(length / 3), Math.max(Math.ceil(length / 3), length - newline.length - minCopy)));
  const start = rng.int(source.ids.length - passage);
  const chunk = source.ids.subarray(start, start + passage);
  const doc = new DocumentBuilder();
  doc.push(chunk, false);
  while (doc.length < length) {
    doc.push(newline, false);
    const span = Math.min(uniformInt(rng, minCopy, maxCopy), chunk.length);
    const from = rng.int(chunk.length - span + 1);
    // The first copied token says where the copy starts; the rest follow from it.
    doc.push(chunk.subarray(from, from + span), (i) => i > 0);
  }
  return doc.finish(length, () => 0);
}

/**
 * A run of ids drawn uniformly from `pool` (default: the corpus's ids), its length log-uniform in
 * 8..length/2 (the copy and period kinds).
 */
function randomRun(source: MixSource, length: number, rng: Rng, pool?: Int32Array): number[] {
  const maxRun = Math.max(1, Math.floor(length / 2));
  const minRun = Math.min(8, maxRun);
  const vocabulary = pool && pool.length > 0 ? pool : source.vocabulary();
  const run = Math.min(maxRun, Math.floor(minRun * Math.exp(rng.uniform() * Math.log((maxRun + 1) / minRun))));
  return Array.from({ length: run }, () => vocabulary[rng.int(vocabulary.length)]!);
}

/**
 * A random-copy document: again and again to the end of the window, a run of tokens drawn uniformly
 * from the ids the corpus uses (so a token rarely recurs inside a run and the copy is unambiguous),
 * then the same run again. Run lengths are log-uniform in 8..length/2: mostly short runs, so a window
 * holds many copies at many distances, and some that reach back half the window. Only the copy's first
 * token is unpredictable (where the run ends is not marked), so the rest is retrievable.
 */
export function randomCopyDocument(source: MixSource, length: number, rng: Rng, pool?: Int32Array): MixDocument {
  const doc = new DocumentBuilder();
  while (doc.length < length) {
    const tokens = randomRun(source, length, rng, pool);
    doc.push(tokens, false);
    doc.push(tokens, (i) => i > 0);
  }
  return doc.finish(length, () => 0);
}

/**
 * A periodic random document: one run of tokens drawn uniformly from the ids the corpus uses, its length
 * log-uniform in 8..length/2, repeated to the end of the window. The period differs between windows, so no
 * fixed-offset head predicts it; from the second token of the first repeat on, every token follows from
 * the token after the previous occurrence of the current one (induction). Denser in that signal than
 * `copy` (every run repeated many times, most of the window retrievable), which is what made it form
 * induction heads where `copy` did not.
 */
export function periodicDocument(source: MixSource, length: number, rng: Rng, pool?: Int32Array): MixDocument {
  const tokens = randomRun(source, length, rng, pool);
  const doc = new DocumentBuilder();
  doc.push(tokens, false);
  // The first repeat's first token is not predictable (where the run ends is not marked); later repeats' are.
  doc.push(tokens, (i) => i > 0);
  while (doc.length < length) doc.push(tokens, true);
  return doc.finish(length, () => 0);
}

// Keys of the facts: never San Francisco (the needle task's key).
const PLACES = [
  'Lisbon', 'Kyoto', 'Nairobi', 'Oslo', 'Lima', 'Cairo', 'Dublin', 'Havana', 'Prague', 'Seoul', 'Quebec', 'Marrakesh',
  'Edinburgh', 'Reykjavik', 'Istanbul', 'Vienna', 'Buenos Aires', 'Cape Town', 'Helsinki', 'Mumbai', 'Sydney', 'Boston',
  'Chicago', 'Naples', 'Florence', 'Bruges', 'Krakow', 'Hanoi', 'Lagos', 'Santiago', 'Bergen', 'Tangier', 'Geneva',
  'Montreal', 'New Orleans', 'Salzburg', 'Seville', 'Tbilisi', 'Zanzibar', 'Valparaiso', 'Glasgow', 'Athens', 'Vancouver',
];
const NAMES = [
  'Alice', 'Bruno', 'Clara', 'Daniel', 'Elena', 'Farid', 'Greta', 'Hugo', 'Ines', 'Jonas', 'Kira', 'Louis', 'Maya', 'Nils',
  'Olga', 'Pavel', 'Quinn', 'Rosa', 'Samuel', 'Tara', 'Umar', 'Vera', 'Walter', 'Yara', 'Zoltan', 'Agnes', 'Basil', 'Cecily',
];
const ATTRIBUTES = ['favourite saying', 'secret password', 'motto', 'first memory', 'lucky phrase', 'oldest story', 'last wish', 'private joke'];
const AUTHORS = ['Paul Graham', 'Ralph Waldo Emerson', 'John Stuart Mill', 'William James', 'Bertrand Russell', 'Michel de Montaigne'];

interface Fact {
  readonly statement: string;
  /** The question and the opening the answer continues (the needle's `What is ...? "The ... is to`). */
  readonly question: string;
  readonly answer: string;
}

function pick<T>(rng: Rng, items: readonly T[]): T {
  return items[rng.int(items.length)]!;
}

/** A few words of the corpus on one line: the value of a fact, so that the answer must be copied, not known. */
function corpusPhrase(source: MixSource, rng: Rng, minTokens: number, maxTokens: number): string {
  for (let attempt = 0; attempt < 8; attempt++) {
    const n = uniformInt(rng, minTokens, maxTokens);
    const start = rng.int(Math.max(1, source.ids.length - n));
    const words = source.decode(Array.from(source.ids.subarray(start, start + n))).replace(/[^A-Za-z0-9' ,;-]+/g, ' ').trim().split(/\s+/).filter((w) => w.length > 0);
    // Whole words only: drop the first and last, which may be cut.
    const inner = words.slice(1, -1).join(' ').replace(/^[ ,;-]+|[ ,;-]+$/g, '');
    if (inner.length >= 3) return inner.toLowerCase();
  }
  return pick(rng, ['walk along the river', 'read in the garden', 'sing an old song']);
}

function drawFact(source: MixSource, rng: Rng, usedKeys: Set<string>): Fact {
  for (;;) {
    const kind = rng.int(3);
    if (kind === 0) {
      const place = pick(rng, PLACES);
      if (usedKeys.has(place)) continue;
      usedKeys.add(place);
      const action = corpusPhrase(source, rng, 6, 16);
      const opening = `The best thing to do in ${place} is to`;
      return { statement: `${opening} ${action}.`, question: `What is the best thing to do in ${place}? "${opening}`, answer: ` ${action}.` };
    }
    const name = pick(rng, NAMES);
    if (kind === 1) {
      const attribute = pick(rng, ATTRIBUTES);
      const key = `${attribute} of ${name}`;
      if (usedKeys.has(key)) continue;
      usedKeys.add(key);
      const value = corpusPhrase(source, rng, 4, 12);
      const opening = `The ${key} is`;
      return { statement: `${opening} "${value}".`, question: `What is the ${key}? "${opening}`, answer: ` "${value}".` };
    }
    const key = `${name}'s number`;
    if (usedKeys.has(key)) continue;
    usedKeys.add(key);
    const digits = String(uniformInt(rng, 100, 9_999_999));
    const opening = `${name}'s secret number is`;
    return { statement: `${opening} ${digits}.`, question: `What is ${name}'s secret number? "${opening}`, answer: ` ${digits}.` };
  }
}

/**
 * A key-value retrieval document: an optional "Articles by ...:" line, corpus filler with 1..4 facts
 * (as many as fit) inserted at random depths (each after ".\n", as the needle), then questions about some of them,
 * each ".\n\n\nWhat is ...? \"<opening>" and the answer; filler from the corpus continues to the end
 * of the window when room is left.
 */
export function keyValueDocument(source: MixSource, length: number, rng: Rng): MixDocument {
  const used = new Set<string>();
  const wanted = uniformInt(rng, 1, 4);
  const facts = Array.from({ length: wanted }, () => drawFact(source, rng, used));
  const prefix = rng.uniform() < 0.5 ? source.encode(`Articles by ${pick(rng, AUTHORS)}:\n`) : [];
  const askOrder = rng.shuffle(facts.map((_, i) => i));
  const askCount = uniformInt(rng, 1, wanted);
  const encoded = facts.map((f) => ({
    statement: source.encode(`.\n${f.statement}\n`),
    question: source.encode(`.\n\n\n${f.question}`),
    answer: source.encode(f.answer),
  }));
  // As many of the facts as fit in the window (at least one; a window too short for it is cut).
  let kept = wanted;
  const overheadOf = (n: number): number => {
    const asked = askOrder.filter((i) => i < n).slice(0, Math.max(1, Math.min(askCount, n)));
    return prefix.length + encoded.slice(0, n).reduce((a, e) => a + e.statement.length, 0)
      + asked.reduce((a, i) => a + encoded[i]!.question.length + encoded[i]!.answer.length, 0);
  };
  while (kept > 1 && overheadOf(kept) > length) kept--;
  const statements = encoded.slice(0, kept).map((e) => e.statement);
  const questions = askOrder.filter((i) => i < kept).slice(0, Math.max(1, Math.min(askCount, kept))).map((i) => encoded[i]!);
  const overhead = overheadOf(kept);
  const fillerLength = Math.max(0, Math.min(source.ids.length - 1, length - overhead));
  const start = rng.int(source.ids.length - fillerLength);
  const filler = source.ids.subarray(start, start + fillerLength);
  const depths = statements.map(() => rng.int(fillerLength + 1)).sort((a, b) => a - b);
  const doc = new DocumentBuilder();
  doc.push(prefix, false);
  let at = 0;
  depths.forEach((depth, i) => {
    doc.push(filler.subarray(at, depth), false);
    doc.push(statements[i]!, false);
    at = depth;
  });
  doc.push(filler.subarray(at), false);
  for (const q of questions) {
    doc.push(q.question, false);
    doc.push(q.answer, true);
  }
  let next = (start + fillerLength) % source.ids.length;
  return doc.finish(length, () => {
    const id = source.ids[next]!;
    next = (next + 1) % source.ids.length;
    return id;
  });
}

/** The document kind of one window: one uniform draw against the fractions (none drawn without a mix). */
export function drawMixKind(mix: TrainingMix, rng: Rng): MixKind | 'corpus' {
  // No draw without a mix; kinds are taken in MIX_KINDS order, so a kind at 0 leaves the others' draws as
  // they were before it existed (resumes of older runs stay exact).
  if (mixTotal(mix) === 0) return 'corpus';
  const u = rng.uniform();
  let bound = 0;
  for (const kind of MIX_KINDS) {
    bound += mix[kind];
    if (u < bound) return kind;
  }
  return 'corpus';
}

/** The fraction of windows that are synthetic documents. */
function mixTotal(mix: TrainingMix): number {
  return MIX_KINDS.reduce((sum, kind) => sum + mix[kind], 0);
}

/** A document of `kind`; `pool` limits the random ids of the copy and period kinds (see IdCurriculum). */
export function mixDocument(kind: MixKind, source: MixSource, length: number, rng: Rng, pool?: Int32Array): MixDocument {
  switch (kind) {
    case 'repeat':
      return repeatDocument(source, length, rng);
    case 'kv':
      return keyValueDocument(source, length, rng);
    case 'copy':
      return randomCopyDocument(source, length, rng, pool);
    case 'period':
      return periodicDocument(source, length, rng, pool);
  }
}

/**
 * A vocabulary curriculum for the random ids of the copy and period kinds: from the step it takes
 * effect, they are drawn from `start` ids (the first of a fixed seeded shuffle of the corpus's ids), the
 * count growing geometrically to all of them over `steps` steps. A deep model forms induction heads on
 * few ids first much sooner than on all of them at once (a fresh 4-layer model of the house model's
 * shape: none in 2,800 steps on all 2,048 ids, copies at unseen offsets by step 1,900 when the ids grew
 * from 64 over 1,500 steps; tools/induction-probe.mjs).
 */
export interface IdCurriculum {
  readonly start: number;
  readonly steps: number;
}

/** `64:1500` (start ids : steps to reach all); errors name `flag`. */
export function parseIdCurriculum(text: string, flag: string): IdCurriculum {
  const match = /^\s*(\d+)\s*:\s*(\d+)\s*$/.exec(text);
  const start = match ? Number(match[1]) : NaN;
  const steps = match ? Number(match[2]) : NaN;
  if (!match || !(start >= 2 && start <= 1e6) || !(steps >= 1 && steps <= 1e8)) {
    throw new Error(`${flag} expects START:STEPS (ids at first, at least 2, : steps to reach all ids, at least 1), e.g. 64:1500, got '${text}'`);
  }
  return { start, steps };
}

/** How many ids the curriculum allows `since` steps after it took effect, of `all`. */
export function curriculumIdCount(curriculum: IdCurriculum, since: number, all: number): number {
  if (since >= curriculum.steps || curriculum.start >= all) return all;
  return Math.min(all, Math.max(2, Math.round(curriculum.start * (all / curriculum.start) ** (Math.max(0, since) / curriculum.steps))));
}

/** The ids of `vocabulary` in a fixed order shuffled by `rng`: the curriculum's pools are its prefixes. */
export function shuffledIds(vocabulary: Int32Array, rng: Rng): Int32Array {
  return rng.permutation(vocabulary.length).map((i) => vocabulary[i]!);
}

/** A mix read back from JSON (a checkpoint's options); errors name `source`. */
export function trainingMixFromJson(value: unknown, source: string): TrainingMix {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new Error(`${source}: a training mix must be an object of fractions, got ${JSON.stringify(value)}`);
  const record = value as Record<string, unknown>;
  const unknownKeys = Object.keys(record).filter((k) => !MIX_KINDS.includes(k as MixKind));
  if (unknownKeys.length > 0) throw new Error(`${source}: unknown training mix kind(s) ${unknownKeys.join(', ')}`);
  const text = MIX_KINDS.filter((k) => record[k] !== undefined).map((k) => `${k}=${String(record[k])}`).join(',');
  return parseTrainingMix(text, source);
}
