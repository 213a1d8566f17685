// BERT's "basic" tokenizer, the step before WordPiece, ported from Hugging Face's BasicTokenizer
// (transformers, tokenization_bert_legacy.py, itself google-research/bert's tokenization.py):
//   1. clean: drop NUL, U+FFFD and control characters (category C*, except \t \n \r); every
//      whitespace character (\t \n \r and category Zs) becomes a space;
//   2. put spaces around CJK ideographs (the CJK Unified Ideographs blocks, not Hangul or kana);
//   3. NFC, then split on whitespace;
//   4. per word: lower-case, then (when stripping accents) NFD and drop nonspacing marks (Mn);
//   5. split every punctuation character (ASCII non-alphanumerics and category P*) off as its own word.
// Python iterates code points, so everything here does too (an astral CJK ideograph is one char).

export interface BasicTokenizerOptions {
  /** Lower-case every word (uncased models). Default true. */
  readonly lowercase?: boolean;
  /** Strip accents (NFD, drop Mn). Default: the value of `lowercase`, as in the original BERT. */
  readonly stripAccents?: boolean;
  /** Put spaces around CJK ideographs. Default true. */
  readonly tokenizeChineseChars?: boolean;
}

const CONTROL = /\p{C}/u;
const SPACE_SEPARATOR = /\p{Zs}/u;
const NONSPACING_MARKS = /\p{Mn}/gu;
// ASCII non-alphanumerics count as punctuation even where Unicode says symbol (^ $ ` + < = > | ~).
const PUNCTUATION_OR_RUN = /[\p{P}!-/:-@[-`{-~]|[^\p{P}!-/:-@[-`{-~]+/gu;
const ASCII_PUNCTUATION_OR_RUN = /[!-/:-@[-`{-~]|[^!-/:-@[-`{-~]+/g;
/** Whitespace left after cleaning: spaces, and the line/paragraph separators that Python's split() also splits on. */
const WHITESPACE_RUN = /[ \u2028\u2029]+/;
/** Text made only of printable ASCII, \t, \n and \r needs no cleaning, CJK spacing or NFC. */
const NEEDS_UNICODE_PASS = /[^\t\n\r\x20-\x7e]/;
const NON_ASCII = /[\x80-\uffff]/;

/** True for code points in the CJK Unified Ideographs blocks (and their extensions/compatibility blocks). */
export function isChineseChar(cp: number): boolean {
  return (
    (cp >= 0x4e00 && cp <= 0x9fff) ||
    (cp >= 0x3400 && cp <= 0x4dbf) ||
    (cp >= 0x20000 && cp <= 0x2a6df) ||
    (cp >= 0x2a700 && cp <= 0x2b73f) ||
    (cp >= 0x2b740 && cp <= 0x2b81f) ||
    (cp >= 0x2b820 && cp <= 0x2ceaf) ||
    (cp >= 0xf900 && cp <= 0xfaff) ||
    (cp >= 0x2f800 && cp <= 0x2fa1f)
  );
}

/** BERT's _is_punctuation: ASCII 33-47, 58-64, 91-96, 123-126, or Unicode category P*. */
export function isBertPunctuation(char: string): boolean {
  const cp = char.codePointAt(0) ?? 0;
  if ((cp >= 33 && cp <= 47) || (cp >= 58 && cp <= 64) || (cp >= 91 && cp <= 96) || (cp >= 123 && cp <= 126)) return true;
  return /^\p{P}$/u.test(char);
}

/** Steps 1-3 for text with characters outside printable ASCII. */
function cleanUnicode(text: string, tokenizeChineseChars: boolean): string {
  const parts: string[] = [];
  let runStart = 0; // start of the current run of characters copied unchanged
  let i = 0;
  while (i < text.length) {
    const cp = text.codePointAt(i)!;
    const width = cp > 0xffff ? 2 : 1;
    let replacement: string | null = null;
    if (cp < 0x80) {
      if (cp === 0x09 || cp === 0x0a || cp === 0x0d) replacement = ' ';
      else if (cp < 0x20 || cp === 0x7f) replacement = '';
    } else {
      const char = text.slice(i, i + width);
      if (cp === 0xfffd || CONTROL.test(char)) replacement = '';
      else if (SPACE_SEPARATOR.test(char)) replacement = ' ';
      else if (tokenizeChineseChars && isChineseChar(cp)) replacement = ` ${char} `;
    }
    if (replacement !== null) {
      if (i > runStart) parts.push(text.slice(runStart, i));
      parts.push(replacement);
      runStart = i + width;
    }
    i += width;
  }
  if (runStart < text.length) parts.push(text.slice(runStart));
  return parts.join('').normalize('NFC');
}

/**
 * Splits `text` into BERT's basic tokens (words and single punctuation characters), lower-cased and
 * accent-stripped when asked. Equal to Hugging Face's BasicTokenizer.tokenize.
 */
export function basicTokenize(text: string, options: BasicTokenizerOptions = {}): string[] {
  const lowercase = options.lowercase ?? true;
  const stripAccents = options.stripAccents ?? lowercase;
  const tokenizeChineseChars = options.tokenizeChineseChars ?? true;
  const cleaned = NEEDS_UNICODE_PASS.test(text) ? cleanUnicode(text, tokenizeChineseChars) : text.replace(/[\t\n\r]/g, ' ');
  const output: string[] = [];
  for (const word of cleaned.split(WHITESPACE_RUN)) {
    if (word.length === 0) continue;
    let normalized = lowercase ? word.toLowerCase() : word;
    const ascii = !NON_ASCII.test(normalized);
    if (stripAccents && !ascii) normalized = normalized.normalize('NFD').replace(NONSPACING_MARKS, '');
    const pieces = normalized.match(ascii ? ASCII_PUNCTUATION_OR_RUN : PUNCTUATION_OR_RUN);
    if (pieces) for (const piece of pieces) output.push(piece);
  }
  return output;
}
