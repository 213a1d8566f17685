// Byte-level BPE pieces (GPT-2, GPT-NeoX, Llama 3): the reversible byte-to-character map and the
// pre-tokenizer regexes.

/**
 * GPT-2's bytes_to_unicode: printable bytes ('!'..'~', '¡'..'¬', '®'..'ÿ') stand for themselves,
 * the other 68 map to U+0100 upwards in byte order, so every byte is one visible character.
 */
function buildByteMaps(): { byteToChar: readonly string[]; charToByte: ReadonlyMap<string, number> } {
  const byteToChar = new Array<string>(256);
  let extra = 0;
  for (let b = 0; b < 256; b++) {
    const printable = (b >= 0x21 && b <= 0x7e) || (b >= 0xa1 && b <= 0xac) || (b >= 0xae && b <= 0xff);
    byteToChar[b] = String.fromCharCode(printable ? b : 256 + extra++);
  }
  const charToByte = new Map<string, number>();
  byteToChar.forEach((c, b) => charToByte.set(c, b));
  return { byteToChar, charToByte };
}

const BYTE_MAPS = buildByteMaps();

/** The character standing for each byte, indexed by byte. */
export const BYTE_TO_CHAR: readonly string[] = BYTE_MAPS.byteToChar;

/** UTF-8 bytes of `text` as byte-level characters (e.g. ' hi' -> 'Ġhi'). */
export function bytesToByteLevel(bytes: Uint8Array): string {
  let out = '';
  for (const b of bytes) out += BYTE_TO_CHAR[b]!;
  return out;
}

/** The bytes of a byte-level token string, or null if a character is not in the map. */
export function byteLevelToBytes(token: string): Uint8Array | null {
  const out = new Uint8Array(token.length);
  for (let i = 0; i < token.length; i++) {
    const b = BYTE_MAPS.charToByte.get(token[i]!);
    if (b === undefined) return null;
    out[i] = b;
  }
  return out;
}

// Oniguruma's (Hugging Face tokenizers) \s is Unicode White_Space; JavaScript's \s also has U+FEFF
// and lacks U+0085. Spelled out so pre-tokenization matches the Rust implementation.
const WHITE_SPACE = '\\t\\n\\v\\f\\r \\u0085\\u00a0\\u1680\\u2000-\\u200a\\u2028\\u2029\\u202f\\u205f\\u3000';

/** GPT-2's pre-tokenizer pattern (also GPT-NeoX's, and ByteLevel's with use_regex). */
export const GPT2_SPLIT_PATTERN = "'s|'t|'re|'ve|'m|'ll|'d| ?\\p{L}+| ?\\p{N}+| ?[^\\s\\p{L}\\p{N}]+|\\s+(?!\\S)|\\s+";

/** Llama 3's pattern (tokenizer.json Split pre-tokenizer; GGUF `tokenizer.ggml.pre` = llama-bpe). */
export const LLAMA3_SPLIT_PATTERN =
  "(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}{1,3}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+";

/**
 * Compiles an Oniguruma-style pattern from a tokenizer file as a JavaScript Unicode regex:
 * `\s`/`\S` become White_Space classes and `(?i:...)` groups of literal alternatives are expanded
 * (Node 20's regex engine has no inline flags). Anything else it cannot translate is an error.
 */
export function compileSplitPattern(pattern: string, where: string): RegExp {
  checkBacktracking(pattern, where);
  let source = pattern.replace(/\(\?i:([^()]*)\)/g, (_match, body: string) => {
    if (/[\\[\]{}*+?.^$]/.test(body)) throw new Error(`${where}: case-insensitive group '(?i:${body})' is too complex to translate`);
    const expanded = [...body].map((ch) => {
      const lower = ch.toLowerCase();
      const upper = ch.toUpperCase();
      return lower === upper ? ch : `[${lower}${upper}]`;
    });
    return `(?:${expanded.join('')})`;
  });
  // Inside a character class, \s contributes the white-space members; outside, it is a class.
  try {
    source = replaceOutsideClasses(source, '\\s', `[${WHITE_SPACE}]`, WHITE_SPACE);
    source = replaceOutsideClasses(source, '\\S', `[^${WHITE_SPACE}]`, null);
  } catch (error) {
    throw new Error(`${where}: ${(error as Error).message}`);
  }
  try {
    return new RegExp(source, 'gu');
  } catch (error) {
    throw new Error(`${where}: pattern ${JSON.stringify(pattern)} is not supported (${(error as Error).message})`);
  }
}

/** Unbounded repeats allowed in one top-level alternative (Llama 3's pattern uses 2). */
const MAX_REPEATS_PER_ALTERNATIVE = 2;
/** A counted repeat {n,m} with m above this counts as unbounded. */
const SMALL_REPEAT = 16;

/**
 * The guard for patterns read from tokenizer files, which JavaScript's backtracking engine runs:
 * it refuses the shapes that make backtracking exponential (a repeated group that contains a
 * repeat, `(a+)+`, or an alternation, `(a|aa)+`; backreferences) and bounds the polynomial case
 * (adjacent repeats) by allowing at most MAX_REPEATS_PER_ALTERNATIVE unbounded repeats in one
 * top-level alternative. Every pattern of a released tokenizer we know passes (GPT-2, Llama 3,
 * Qwen 2, GPT-4o, DeepSeek). A structural check, rather than a time limit: a regex cannot be
 * interrupted in JavaScript, and a timing test would make loading depend on machine load.
 */
export function checkBacktracking(pattern: string, where: string): void {
  interface Frame {
    repeats: number; // repeats anywhere inside
    alternation: boolean;
  }
  const stack: Frame[] = [{ repeats: 0, alternation: false }];
  let topRepeats = 0; // unbounded repeats in the current top-level alternative
  let lastAtom: Frame | 'atom' | null = null; // what a quantifier would apply to
  const fail = (why: string): never => {
    throw new Error(`${where}: pattern ${JSON.stringify(pattern.length > 80 ? `${pattern.slice(0, 80)}...` : pattern)} is refused: ${why} (catastrophic backtracking)`);
  };
  for (let i = 0; i < pattern.length; i++) {
    const ch = pattern[i]!;
    const top = stack[stack.length - 1]!;
    if (ch === '\\') {
      const next = pattern[i + 1] ?? '';
      if (/[1-9]/.test(next) || next === 'k') fail('backreferences are not supported');
      if ((next === 'p' || next === 'P' || next === 'u' || next === 'x') && pattern[i + 2] === '{') i = Math.max(i + 1, pattern.indexOf('}', i));
      else i++;
      lastAtom = 'atom';
    } else if (ch === '[') {
      for (i++; i < pattern.length && pattern[i] !== ']'; i++) if (pattern[i] === '\\') i++;
      lastAtom = 'atom';
    } else if (ch === '(') {
      stack.push({ repeats: 0, alternation: false });
      if (pattern[i + 1] === '?') {
        // (?:  (?=  (?!  (?<=  (?<!  (?<name>
        i++;
        if (pattern[i + 1] === '<' && pattern[i + 2] !== '=' && pattern[i + 2] !== '!') i = Math.max(i, pattern.indexOf('>', i));
      }
      lastAtom = null;
    } else if (ch === ')') {
      const frame = stack.pop();
      if (!frame || stack.length === 0) return; // unbalanced: the RegExp constructor reports it
      const parent = stack[stack.length - 1]!;
      parent.repeats += frame.repeats;
      parent.alternation ||= frame.alternation && stack.length > 1;
      lastAtom = frame;
    } else if (ch === '|') {
      top.alternation = true;
      if (stack.length === 1) topRepeats = 0;
      lastAtom = null;
    } else if (ch === '*' || ch === '+' || ch === '?' || ch === '{') {
      let max = Infinity;
      if (ch === '?') max = 1;
      else if (ch === '{') {
        const m = /^\{(\d+)(,(\d*))?\}/.exec(pattern.slice(i));
        if (!m) {
          lastAtom = 'atom';
          continue;
        }
        max = m[2] === undefined ? Number(m[1]) : m[3] === '' ? Infinity : Number(m[3]);
        i += m[0].length - 1;
      }
      if (pattern[i + 1] === '?') i++; // lazy
      if (lastAtom === null) continue;
      if (max > 1 && lastAtom !== 'atom') {
        if (lastAtom.repeats > 0) fail('a repeated group contains a repeat');
        if (lastAtom.alternation) fail('a repeated group contains an alternation');
      }
      if (max > SMALL_REPEAT) {
        top.repeats++;
        if (++topRepeats > MAX_REPEATS_PER_ALTERNATIVE) fail(`more than ${MAX_REPEATS_PER_ALTERNATIVE} unbounded repeats in one alternative`);
      }
      lastAtom = null;
    } else {
      lastAtom = 'atom';
    }
  }
}

function replaceOutsideClasses(source: string, escape: string, outside: string, inside: string | null): string {
  let out = '';
  let inClass = false;
  for (let i = 0; i < source.length; i++) {
    const ch = source[i]!;
    if (ch === '\\') {
      const pair = source.slice(i, i + 2);
      if (pair === escape) {
        if (inClass) {
          if (inside === null) throw new Error(`pattern uses ${escape} inside a character class, which is not supported`);
          out += inside;
        } else {
          out += outside;
        }
      } else {
        out += pair;
      }
      i++;
      continue;
    }
    if (ch === '[' && !inClass) inClass = true;
    else if (ch === ']' && inClass) inClass = false;
    out += ch;
  }
  return out;
}

/** Splits `text` into the regex's matches and the gaps between them (Split behaviour 'Isolated'), in order. */
export function splitIsolated(text: string, regex: RegExp): string[] {
  const out: string[] = [];
  let last = 0;
  regex.lastIndex = 0;
  for (const match of text.matchAll(regex)) {
    const start = match.index;
    if (start > last) out.push(text.slice(last, start));
    if (match[0].length > 0) out.push(match[0]);
    last = start + match[0].length;
  }
  if (last < text.length) out.push(text.slice(last));
  return out;
}
