// JSON from files we did not write (config.json, tokenizer.json, safetensors headers, checkpoint
// metadata): nesting depth and string lengths are bounded BEFORE JSON.parse, by one linear scan,
// so a hostile file cannot overflow the stack of the recursive walkers that read the result, nor
// make a reader copy a gigabyte string. Platform-neutral.

export interface JsonLimits {
  /** Deepest nesting of arrays and objects (default 64; real configs and tokenizers use < 10). */
  readonly maxDepth?: number;
  /** Longest string literal, in UTF-16 code units of the source text (default 1 MiB). */
  readonly maxStringLength?: number;
}

export const JSON_MAX_DEPTH = 64;
export const JSON_MAX_STRING_LENGTH = 1 << 20;

/**
 * Checks `text`'s nesting depth and string lengths against `limits`; throws naming `source`
 * and the byte where the limit is crossed. Does not validate the JSON (JSON.parse does that).
 */
export function checkJsonLimits(text: string, source: string, limits: JsonLimits = {}): void {
  const maxDepth = limits.maxDepth ?? JSON_MAX_DEPTH;
  const maxString = limits.maxStringLength ?? JSON_MAX_STRING_LENGTH;
  let depth = 0;
  for (let i = 0; i < text.length; i++) {
    const ch = text.charCodeAt(i);
    if (ch === 0x22 /* " */) {
      const start = i;
      for (i++; i < text.length; i++) {
        const c = text.charCodeAt(i);
        if (c === 0x5c /* \ */) i++;
        else if (c === 0x22) break;
      }
      if (i - start - 1 > maxString) throw new Error(`${source}: a string at character ${start} is longer than the ${maxString}-character limit (corrupt file?)`);
    } else if (ch === 0x5b /* [ */ || ch === 0x7b /* { */) {
      if (++depth > maxDepth) throw new Error(`${source}: JSON nested deeper than ${maxDepth} levels at character ${i} (corrupt file?)`);
    } else if (ch === 0x5d /* ] */ || ch === 0x7d /* } */) {
      depth--;
    }
  }
}

/** JSON.parse behind checkJsonLimits; every error is one line naming `source` (`what` says which part of it). */
export function parseJsonBounded(text: string, source: string, what = 'not valid JSON', limits: JsonLimits = {}): unknown {
  checkJsonLimits(text, source, limits);
  try {
    return JSON.parse(text);
  } catch (error) {
    throw new Error(`${source}: ${what} (${(error as Error).message})`);
  }
}

/** A parsed JSON value as an error message names it: "an array", a string (cut at 40 chars), "number 3". */
export function describeJsonValue(v: unknown): string {
  if (v === undefined) return 'nothing';
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'an array';
  if (typeof v === 'string') return JSON.stringify(v.length > 40 ? `${v.slice(0, 40)}...` : v);
  return typeof v === 'object' ? 'an object' : `${typeof v} ${String(v)}`;
}
