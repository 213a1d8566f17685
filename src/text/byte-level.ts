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
  source = replaceOutsideClasses(source, '\\s', `[${WHITE_SPACE}]`, WHITE_SPACE);
  source = replaceOutsideClasses(source, '\\S', `[^${WHITE_SPACE}]`, null);
  try {
    return new RegExp(source, 'gu');
  } catch (error) {
    throw new Error(`${where}: pattern ${JSON.stringify(pattern)} is not supported (${(error as Error).message})`);
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
