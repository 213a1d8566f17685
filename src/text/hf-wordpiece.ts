// Hugging Face `tokenizer.json` with a WordPiece model (BERT's fast tokenizer) to a Tokenizer. The
// splitting is the WordPieceTokenizer of wordpiece.ts (equal to BertTokenizer); this file reads the
// JSON and adapts the result to the Tokenizer interface. Supported components, each checked with an
// error naming the field:
//   model: WordPiece (vocab, unk_token, continuing_subword_prefix "##", max_input_chars_per_word)
//   normalizer: BertNormalizer (clean_text true, handle_chinese_chars, strip_accents, lowercase)
//   pre_tokenizer: BertPreTokenizer
//   post_processor: TemplateProcessing "[CLS] $A [SEP]" or BertProcessing
//   decoder: null or WordPiece (prefix "##", cleanup)

import type { DecodeOptions, EncodeOptions, Tokenizer } from './tokenizer.js';
import { basicTokenize } from './bert-basic.js';
import { describeJsonValue } from './bounded-json.js';
import { CONTINUATION_PREFIX, WordPieceTokenizer } from './wordpiece.js';

type Json = Record<string, unknown>;

const isObject = (v: unknown): v is Json => typeof v === 'object' && v !== null && !Array.isArray(v);

function typeOf(config: unknown, where: string): string {
  if (!isObject(config)) throw new Error(`${where} must be an object, got ${describeJsonValue(config)}`);
  const type = config['type'];
  if (typeof type !== 'string') throw new Error(`${where}.type must be a string, got ${describeJsonValue(type)}`);
  return type;
}

function bool(config: Json, key: string, where: string, fallback: boolean): boolean {
  const v = config[key];
  if (v === undefined) return fallback;
  if (typeof v !== 'boolean') throw new Error(`${where}.${key} must be a boolean, got ${describeJsonValue(v)}`);
  return v;
}

/** A BERT WordPiece tokenizer read from tokenizer.json: `encode` adds [CLS] and [SEP] as its template does. */
export class HfWordPieceTokenizer implements Tokenizer {
  readonly wordPiece: WordPieceTokenizer;
  readonly vocabSize: number;
  /** [CLS]: the template's first token. */
  readonly bosId: number;
  /** [SEP]: the template's last token. */
  readonly eosId: number;
  readonly addBosByDefault = true;
  private readonly cleanUpSpaces: boolean;

  constructor(wordPiece: WordPieceTokenizer, cleanUpSpaces: boolean) {
    this.wordPiece = wordPiece;
    this.vocabSize = wordPiece.vocabSize;
    this.bosId = wordPiece.clsId;
    this.eosId = wordPiece.sepId;
    this.cleanUpSpaces = cleanUpSpaces;
  }

  /**
   * `[CLS] text [SEP]` as Hugging Face's encode (add_special_tokens) gives; unlike the decoder
   * tokenizers, EOS ([SEP]) is added by default (addEos: false leaves it out).
   */
  encode(text: string, options: EncodeOptions = {}): number[] {
    const ids: number[] = [];
    if (options.addBos ?? true) ids.push(this.bosId);
    if (options.allowSpecial ?? true) this.wordPiece.encodeInto(text, ids);
    else for (const word of basicTokenize(text, this.wordPiece.basicOptions)) ids.push(...this.wordPiece.wordPieceIds(word));
    if (options.addEos ?? true) ids.push(this.eosId);
    return ids;
  }

  decode(ids: readonly number[], options: DecodeOptions = {}): string {
    return this.wordPiece.decode(ids, { skipSpecialTokens: options.skipSpecial ?? true, cleanUpSpaces: this.cleanUpSpaces });
  }

  /** A `##` piece joins the word before it; any other token after another one starts with a space. */
  tokenBytes(id: number, previous: number | null): Uint8Array {
    const token = this.wordPiece.idToToken(id);
    const text = this.wordPiece.isContinuation(id) ? token.slice(CONTINUATION_PREFIX.length) : previous === null ? token : ` ${token}`;
    return new TextEncoder().encode(text);
  }

  isSpecial(id: number): boolean {
    return this.wordPiece.specialIds.has(id);
  }

  idToToken(id: number): string | undefined {
    return this.wordPiece.vocab[id];
  }

  tokenToId(token: string): number | undefined {
    return this.wordPiece.tokenToId(token);
  }
}

/** The [CLS]/[SEP] names of a TemplateProcessing "[CLS] $A [SEP]" or a BertProcessing post-processor. */
function templateTokens(config: unknown, where: string): { cls: string; sep: string } {
  if (config === null || config === undefined) throw new Error(`${where} is missing: a WordPiece tokenizer needs the [CLS] $A [SEP] template`);
  const type = typeOf(config, where);
  const c = config as Json;
  if (type === 'BertProcessing') {
    const name = (key: string): string => {
      const v = c[key];
      if (!Array.isArray(v) || typeof v[0] !== 'string') throw new Error(`${where}.${key} must be [token, id], got ${describeJsonValue(v)}`);
      return v[0];
    };
    return { cls: name('cls'), sep: name('sep') };
  }
  if (type !== 'TemplateProcessing') throw new Error(`${where}.type '${type}' is not supported for WordPiece (TemplateProcessing or BertProcessing)`);
  const single = c['single'];
  if (!Array.isArray(single)) throw new Error(`${where}.single must be an array, got ${describeJsonValue(single)}`);
  const pieces = single.map((p, i): string => {
    if (isObject(p) && isObject(p['SpecialToken']) && typeof p['SpecialToken']['id'] === 'string') return p['SpecialToken']['id'];
    if (isObject(p) && isObject(p['Sequence']) && p['Sequence']['id'] === 'A') return '$A';
    throw new Error(`${where}.single[${i}] must be a SpecialToken or the sequence A, got ${JSON.stringify(p)}`);
  });
  if (pieces.length !== 3 || pieces[1] !== '$A' || pieces[0] === '$A' || pieces[2] === '$A') {
    throw new Error(`${where}.single is ${pieces.join(' ')}; only "CLS $A SEP" is supported for WordPiece`);
  }
  return { cls: pieces[0]!, sep: pieces[2]! };
}

/** Builds a WordPiece tokenizer from a parsed tokenizer.json whose model.type is "WordPiece". */
export function hfWordPieceFromJson(json: Json, source: string): HfWordPieceTokenizer {
  const model = json['model'];
  const modelWhere = `${source}: model`;
  if (typeOf(model, modelWhere) !== 'WordPiece') throw new Error(`${modelWhere}.type must be 'WordPiece'`);
  const m = model as Json;
  const prefix = m['continuing_subword_prefix'] ?? CONTINUATION_PREFIX;
  if (prefix !== CONTINUATION_PREFIX) throw new Error(`${modelWhere}.continuing_subword_prefix ${describeJsonValue(prefix)} is not supported (only "##")`);
  const unk = m['unk_token'] ?? '[UNK]';
  if (typeof unk !== 'string') throw new Error(`${modelWhere}.unk_token must be a string, got ${describeJsonValue(unk)}`);
  const maxChars = m['max_input_chars_per_word'] ?? 100;
  if (typeof maxChars !== 'number' || !Number.isInteger(maxChars) || maxChars < 1) {
    throw new Error(`${modelWhere}.max_input_chars_per_word must be a positive integer, got ${describeJsonValue(maxChars)}`);
  }
  const vocabJson = m['vocab'];
  if (!isObject(vocabJson)) throw new Error(`${modelWhere}.vocab must be an object of token ids, got ${describeJsonValue(vocabJson)}`);
  const entries = Object.entries(vocabJson);
  const vocab: string[] = new Array<string>(entries.length);
  for (const [token, id] of entries) {
    const at = `${modelWhere}.vocab[${JSON.stringify(token.length > 40 ? `${token.slice(0, 40)}...` : token)}]`;
    if (typeof id !== 'number' || !Number.isInteger(id) || id < 0 || id >= entries.length) {
      throw new Error(`${at} must be an id in [0, ${entries.length}) (ids are 0..n-1 without gaps), got ${describeJsonValue(id)}`);
    }
    if (vocab[id] !== undefined) throw new Error(`${at} = ${id} is also the id of ${JSON.stringify(vocab[id])}`);
    vocab[id] = token;
  }

  const normWhere = `${source}: normalizer`;
  const normalizer = json['normalizer'];
  if (typeOf(normalizer, normWhere) !== 'BertNormalizer') throw new Error(`${normWhere}.type '${typeOf(normalizer, normWhere)}' is not supported for WordPiece (only BertNormalizer)`);
  const n = normalizer as Json;
  if (!bool(n, 'clean_text', normWhere, true)) throw new Error(`${normWhere}.clean_text = false is not supported`);
  const lowercase = bool(n, 'lowercase', normWhere, true);
  const stripAccentsRaw = n['strip_accents'];
  if (stripAccentsRaw !== undefined && stripAccentsRaw !== null && typeof stripAccentsRaw !== 'boolean') {
    throw new Error(`${normWhere}.strip_accents must be a boolean or null, got ${describeJsonValue(stripAccentsRaw)}`);
  }
  const preWhere = `${source}: pre_tokenizer`;
  const preType = typeOf(json['pre_tokenizer'], preWhere);
  if (preType !== 'BertPreTokenizer') throw new Error(`${preWhere}.type '${preType}' is not supported for WordPiece (only BertPreTokenizer)`);
  const { cls, sep } = templateTokens(json['post_processor'], `${source}: post_processor`);

  let cleanUp = true;
  const decoder = json['decoder'];
  if (decoder !== null && decoder !== undefined) {
    const decWhere = `${source}: decoder`;
    const decType = typeOf(decoder, decWhere);
    if (decType !== 'WordPiece') throw new Error(`${decWhere}.type '${decType}' is not supported for WordPiece (only WordPiece)`);
    const decPrefix = (decoder as Json)['prefix'] ?? CONTINUATION_PREFIX;
    if (decPrefix !== CONTINUATION_PREFIX) throw new Error(`${decWhere}.prefix ${describeJsonValue(decPrefix)} is not supported (only "##")`);
    cleanUp = bool(decoder as Json, 'cleanup', decWhere, true);
  }

  // [PAD] and [MASK]: the special added tokens that name them, else the usual names.
  const added = Array.isArray(json['added_tokens']) ? json['added_tokens'] : [];
  const addedNamed = (part: string, fallback: string): string => {
    for (const t of added) if (isObject(t) && typeof t['content'] === 'string' && t['special'] === true && t['content'].toUpperCase().includes(part)) return t['content'];
    return fallback;
  };
  const wordPiece = new WordPieceTokenizer(
    vocab,
    {
      lowercase,
      stripAccents: typeof stripAccentsRaw === 'boolean' ? stripAccentsRaw : lowercase,
      tokenizeChineseChars: bool(n, 'handle_chinese_chars', normWhere, true),
      maxInputCharsPerWord: maxChars,
      unkToken: unk,
      clsToken: cls,
      sepToken: sep,
      padToken: addedNamed('PAD', '[PAD]'),
      maskToken: addedNamed('MASK', '[MASK]'),
    },
    source,
  );
  return new HfWordPieceTokenizer(wordPiece, cleanUp);
}
