// The tokenizer interface every model format hands to `generate`: Hugging Face tokenizer.json
// (src/text/hf-tokenizer.ts), SentencePiece-style BPE from a GGUF vocab or llama2.c's
// tokenizer.bin (src/text/sentencepiece.ts). Decoding goes through bytes, so a character split
// across tokens (byte fallback, byte-level BPE) is only emitted once it is complete.

export interface EncodeOptions {
  /** Prepend the BOS token; default: the tokenizer's `addBosByDefault`. */
  readonly addBos?: boolean;
  /** Append the EOS token; default false. */
  readonly addEos?: boolean;
  /**
   * Recognise special tokens written in the text (e.g. `<|endoftext|>`); default true, as Hugging
   * Face tokenizers do. Set false for untrusted user text.
   */
  readonly allowSpecial?: boolean;
}

export interface DecodeOptions {
  /** Leave out special (control) tokens such as BOS and EOS; default true. */
  readonly skipSpecial?: boolean;
}

export interface Tokenizer {
  /** One more than the largest id (the embedding table's row count is at least this). */
  readonly vocabSize: number;
  readonly bosId: number | null;
  readonly eosId: number | null;
  /** True where the model was trained with BOS at the start of every text (Llama); false for GPT-2/NeoX. */
  readonly addBosByDefault: boolean;
  encode(text: string, options?: EncodeOptions): number[];
  decode(ids: readonly number[], options?: DecodeOptions): string;
  /**
   * The bytes token `id` adds to the text when it follows `previous` (null at the start of a text):
   * SentencePiece drops the leading space of the first piece. Special tokens give their text.
   */
  tokenBytes(id: number, previous: number | null): Uint8Array;
  /** Control tokens (BOS, EOS, padding, `<|endoftext|>`...), which decode leaves out by default. */
  isSpecial(id: number): boolean;
  /** The vocabulary string of `id` as stored (e.g. 'Ġworld', '▁world', '<0x0A>'). */
  idToToken(id: number): string | undefined;
  tokenToId(token: string): number | undefined;
}

/** Checks ids before decoding, so a bad id names itself rather than printing garbage. */
export function checkTokenId(tokenizer: Tokenizer, id: number): void {
  if (!Number.isInteger(id) || id < 0 || id >= tokenizer.vocabSize) {
    throw new Error(`token id ${id} is out of range for a vocabulary of ${tokenizer.vocabSize}`);
  }
}

/** Decodes through tokenBytes; shared by the tokenizers. */
export function decodeViaBytes(tokenizer: Tokenizer, ids: readonly number[], options: DecodeOptions = {}): string {
  const skipSpecial = options.skipSpecial ?? true;
  const parts: Uint8Array[] = [];
  let total = 0;
  let previous: number | null = null;
  for (const id of ids) {
    checkTokenId(tokenizer, id);
    if (!(skipSpecial && tokenizer.isSpecial(id))) {
      const bytes = tokenizer.tokenBytes(id, previous);
      parts.push(bytes);
      total += bytes.length;
    }
    previous = id;
  }
  const all = new Uint8Array(total);
  let p = 0;
  for (const part of parts) {
    all.set(part, p);
    p += part.length;
  }
  return new TextDecoder('utf-8', { ignoreBOM: true }).decode(all);
}

/**
 * Turns a stream of generated ids into text pieces as soon as they form whole characters; bytes
 * of an unfinished UTF-8 sequence wait for the next token (or `end()`).
 */
export class TokenTextStream {
  private readonly decoder = new TextDecoder('utf-8', { ignoreBOM: true });
  private previous: number | null;
  private readonly skipSpecial: boolean;

  /** `previous`: the last token already in the context (e.g. the prompt's), or null at the start. */
  constructor(
    private readonly tokenizer: Tokenizer,
    options: { previous?: number | null; skipSpecial?: boolean } = {},
  ) {
    this.previous = options.previous ?? null;
    this.skipSpecial = options.skipSpecial ?? true;
  }

  /** The text that token `id` completes (possibly ''). */
  push(id: number): string {
    checkTokenId(this.tokenizer, id);
    const previous = this.previous;
    this.previous = id;
    if (this.skipSpecial && this.tokenizer.isSpecial(id)) return '';
    return this.decoder.decode(this.tokenizer.tokenBytes(id, previous), { stream: true });
  }

  /** Flushes an unfinished character (as U+FFFD). */
  end(): string {
    return this.decoder.decode();
  }
}

const utf8Encoder = new TextEncoder();

export function utf8Bytes(text: string): Uint8Array {
  return utf8Encoder.encode(text);
}
