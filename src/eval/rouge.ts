// ROUGE-L (and ROUGE-N) as Google's `rouge-score` package computes them with use_stemmer=True,
// which is what the reference harness scores CNN/DailyMail with
// (graphcore-research/llm-inference-research: llminference/tasks/summarisation.py calls
// rouge_score.rouge_scorer.RougeScorer(["rougeL"], use_stemmer=True) and keeps .fmeasure).
//
// Followed: google-research/google-research rouge/tokenize.py (lower-case; every run of characters
// outside [a-z0-9] becomes a space; split on whitespace; stem tokens longer than 3 characters; drop
// empty or invalid tokens) and rouge/rouge_scorer.py (_score_lcs: P = lcs/|prediction|,
// R = lcs/|target|, F = 2PR/(P+R); zero when either side has no tokens). The stemmer there is NLTK's
// PorterStemmer() in its default NLTK_EXTENSIONS mode, not the 1980 algorithm, so that mode is what
// porterStem implements (Porter 1980 plus NLTK's deviations, each marked below). No npm package was
// faithful to it: `natural`, `stemmer` and `porter-stemmer` implement Martin Porter's versions, and
// `rouge`/`js-rouge` tokenise differently.

const VOWELS = new Set(['a', 'e', 'i', 'o', 'u']);

// NLTK_EXTENSIONS: irregular forms looked up before any rule.
const IRREGULAR: ReadonlyMap<string, string> = new Map([
  ['sky', 'sky'], ['skies', 'sky'], ['dying', 'die'], ['lying', 'lie'], ['tying', 'tie'], ['news', 'news'],
  ['innings', 'inning'], ['inning', 'inning'], ['outings', 'outing'], ['outing', 'outing'],
  ['cannings', 'canning'], ['canning', 'canning'], ['howe', 'howe'], ['proceed', 'proceed'],
  ['exceed', 'exceed'], ['succeed', 'succeed'],
]);

/** Consonant flags of every letter: y is a consonant at the start or after a vowel. */
function consonants(word: string): boolean[] {
  const flags: boolean[] = [];
  for (let i = 0; i < word.length; i++) {
    const ch = word[i]!;
    if (VOWELS.has(ch)) flags.push(false);
    else if (ch === 'y') flags.push(i === 0 ? true : !flags[i - 1]!);
    else flags.push(true);
  }
  return flags;
}

function isConsonant(word: string, i: number): boolean {
  return consonants(word)[i]!;
}

/** Porter's m: the number of vowel-run/consonant-run pairs in [C](VC)^m[V]. */
function measure(stem: string): number {
  const flags = consonants(stem);
  let m = 0;
  for (let i = 1; i < flags.length; i++) if (!flags[i - 1] && flags[i]) m++;
  return m;
}

function containsVowel(stem: string): boolean {
  return consonants(stem).some((c) => !c);
}

function endsDoubleConsonant(word: string): boolean {
  return word.length >= 2 && word.at(-1) === word.at(-2) && isConsonant(word, word.length - 1);
}

/** *o: ends consonant-vowel-consonant, the last not w, x or y (NLTK: also a two-letter vowel-consonant word). */
function endsCvc(word: string): boolean {
  const n = word.length;
  if (n >= 3) {
    const f = consonants(word);
    if (f[n - 3] && !f[n - 2] && f[n - 1] && !'wxy'.includes(word[n - 1]!)) return true;
  }
  if (n === 2) {
    const f = consonants(word);
    return !f[0] && f[1]!;
  }
  return false;
}

type Condition = ((stem: string) => boolean) | null;
type Rule = readonly [suffix: string, replacement: string, condition: Condition];

/** The first rule whose suffix matches decides: applied if its condition holds, else the word is kept. */
function applyRules(word: string, rules: readonly Rule[]): string {
  for (const [suffix, replacement, condition] of rules) {
    if (suffix === '*d') {
      if (!endsDoubleConsonant(word)) continue;
      const stem = word.slice(0, -2);
      return condition === null || condition(stem) ? stem + replacement : word;
    }
    if (word.endsWith(suffix)) {
      const stem = word.slice(0, word.length - suffix.length);
      return condition === null || condition(stem) ? stem + replacement : word;
    }
  }
  return word;
}

const positive = (stem: string): boolean => measure(stem) > 0;
const aboveOne = (stem: string): boolean => measure(stem) > 1;

function step1a(word: string): string {
  if (word.endsWith('ies') && word.length === 4) return `${word.slice(0, -3)}ie`; // NLTK: dies -> die
  return applyRules(word, [['sses', 'ss', null], ['ies', 'i', null], ['ss', 'ss', null], ['s', '', null]]);
}

function step1b(word: string): string {
  if (word.endsWith('ied')) return word.slice(0, -3) + (word.length === 4 ? 'ie' : 'i'); // NLTK: died -> die, spied -> spi
  if (word.endsWith('eed')) {
    const stem = word.slice(0, -3);
    return measure(stem) > 0 ? `${stem}ee` : word;
  }
  let stem: string | null = null;
  for (const suffix of ['ed', 'ing']) {
    if (word.endsWith(suffix) && containsVowel(word.slice(0, -suffix.length))) {
      stem = word.slice(0, -suffix.length);
      break;
    }
  }
  if (stem === null) return word;
  const last = stem.at(-1) ?? '';
  return applyRules(stem, [
    ['at', 'ate', null],
    ['bl', 'ble', null],
    ['iz', 'ize', null],
    ['*d', last, () => !'lsz'.includes(last)],
    ['', 'e', (s) => measure(s) === 1 && endsCvc(s)],
  ]);
}

function step1c(word: string): string {
  // NLTK: y -> i only after a consonant that is not the whole stem (happy -> happi, enjoy, but also spy -> spi).
  return applyRules(word, [['y', 'i', (stem) => stem.length > 1 && isConsonant(stem, stem.length - 1)]]);
}

function step2(word: string): string {
  // NLTK: ALLI -> AL first, then step 2 again on the result.
  if (word.endsWith('alli') && positive(word.slice(0, -4))) return step2(`${word.slice(0, -4)}al`);
  return applyRules(word, [
    ['ational', 'ate', positive],
    ['tional', 'tion', positive],
    ['enci', 'ence', positive],
    ['anci', 'ance', positive],
    ['izer', 'ize', positive],
    ['bli', 'ble', positive], // Martin's and NLTK's BLI -> BLE in place of the paper's ABLI -> ABLE
    ['alli', 'al', positive],
    ['entli', 'ent', positive],
    ['eli', 'e', positive],
    ['ousli', 'ous', positive],
    ['ization', 'ize', positive],
    ['ation', 'ate', positive],
    ['ator', 'ate', positive],
    ['alism', 'al', positive],
    ['iveness', 'ive', positive],
    ['fulness', 'ful', positive],
    ['ousness', 'ous', positive],
    ['aliti', 'al', positive],
    ['iviti', 'ive', positive],
    ['biliti', 'ble', positive],
    ['fulli', 'ful', positive], // NLTK
    ['logi', 'log', () => positive(word.slice(0, -3))], // NLTK: the l stays with the stem for the measure
  ]);
}

function step3(word: string): string {
  return applyRules(word, [
    ['icate', 'ic', positive],
    ['ative', '', positive],
    ['alize', 'al', positive],
    ['iciti', 'ic', positive],
    ['ical', 'ic', positive],
    ['ful', '', positive],
    ['ness', '', positive],
  ]);
}

function step4(word: string): string {
  return applyRules(word, [
    ['al', '', aboveOne],
    ['ance', '', aboveOne],
    ['ence', '', aboveOne],
    ['er', '', aboveOne],
    ['ic', '', aboveOne],
    ['able', '', aboveOne],
    ['ible', '', aboveOne],
    ['ant', '', aboveOne],
    ['ement', '', aboveOne],
    ['ment', '', aboveOne],
    ['ent', '', aboveOne],
    ['ion', '', (stem) => aboveOne(stem) && (stem.endsWith('s') || stem.endsWith('t'))],
    ['ou', '', aboveOne],
    ['ism', '', aboveOne],
    ['ate', '', aboveOne],
    ['iti', '', aboveOne],
    ['ous', '', aboveOne],
    ['ive', '', aboveOne],
    ['ize', '', aboveOne],
  ]);
}

function step5a(word: string): string {
  if (!word.endsWith('e')) return word;
  const stem = word.slice(0, -1);
  const m = measure(stem);
  return m > 1 || (m === 1 && !endsCvc(stem)) ? stem : word;
}

function step5b(word: string): string {
  return applyRules(word, [['ll', 'l', () => measure(word.slice(0, -1)) > 1]]);
}

/** The Porter stem of a word as NLTK's PorterStemmer() (NLTK_EXTENSIONS mode) gives it; lower-cases first. */
export function porterStem(word: string): string {
  const lower = word.toLowerCase();
  const irregular = IRREGULAR.get(lower);
  if (irregular !== undefined) return irregular;
  if (word.length <= 2) return lower;
  return step5b(step5a(step4(step3(step2(step1c(step1b(step1a(lower))))))));
}

/** rouge-score's tokeniser: lower-case, non-alphanumerics to spaces, optional stemming of tokens longer than 3. */
export function rougeTokens(text: string, stem = true): string[] {
  const tokens = text.toLowerCase().replace(/[^a-z0-9]+/g, ' ').split(/\s+/);
  return tokens.map((t) => (stem && t.length > 3 ? porterStem(t) : t)).filter((t) => /^[a-z0-9]+$/.test(t));
}

export interface RougeScore {
  readonly precision: number;
  readonly recall: number;
  readonly fmeasure: number;
}

function score(hits: number, predicted: number, target: number): RougeScore {
  const precision = hits / predicted;
  const recall = hits / target;
  return { precision, recall, fmeasure: precision + recall > 0 ? (2 * precision * recall) / (precision + recall) : 0 };
}

/** Length of the longest common subsequence (two-row dynamic programme). */
export function lcsLength(a: readonly string[], b: readonly string[]): number {
  let prev = new Int32Array(b.length + 1);
  let row = new Int32Array(b.length + 1);
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      row[j] = a[i - 1] === b[j - 1] ? prev[j - 1]! + 1 : Math.max(prev[j]!, row[j - 1]!);
    }
    [prev, row] = [row, prev];
  }
  return prev[b.length]!;
}

/** ROUGE-L of `prediction` against `target` (rouge-score's rougeL, with the stemmer by default). */
export function rougeL(target: string, prediction: string, options: { stem?: boolean } = {}): RougeScore {
  const t = rougeTokens(target, options.stem ?? true);
  const p = rougeTokens(prediction, options.stem ?? true);
  if (t.length === 0 || p.length === 0) return { precision: 0, recall: 0, fmeasure: 0 };
  return score(lcsLength(t, p), p.length, t.length);
}

/** ROUGE-N (rouge-score's rouge1 ... rouge9): clipped n-gram overlap. */
export function rougeN(target: string, prediction: string, n: number, options: { stem?: boolean } = {}): RougeScore {
  if (!Number.isInteger(n) || n <= 0) throw new Error(`rougeN: n must be a positive integer, got ${n}`);
  const grams = (tokens: string[]): Map<string, number> => {
    const counts = new Map<string, number>();
    for (let i = 0; i + n <= tokens.length; i++) {
      const key = tokens.slice(i, i + n).join(' ');
      counts.set(key, (counts.get(key) ?? 0) + 1);
    }
    return counts;
  };
  const t = grams(rougeTokens(target, options.stem ?? true));
  const p = grams(rougeTokens(prediction, options.stem ?? true));
  let hits = 0;
  for (const [gram, count] of t) hits += Math.min(count, p.get(gram) ?? 0);
  const total = (m: Map<string, number>): number => [...m.values()].reduce((a, b) => a + b, 0);
  return score(hits, Math.max(total(p), 1), Math.max(total(t), 1));
}
