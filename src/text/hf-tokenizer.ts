// Hugging Face `tokenizer.json` (and GPT-2's encoder.json + vocab.bpe) to a BpeTokenizer; a
// WordPiece tokenizer.json (BERT) goes to hf-wordpiece.ts.
// Supported components, each checked with an error naming the field:
//   model: BPE (merges as "a b" strings or [a, b] pairs; byte_fallback, unk_token, fuse_unk, ignore_merges)
//   normalizer: null, NFC/NFD/NFKC/NFKD, Lowercase, Prepend, Replace, Strip, Sequence
//   pre_tokenizer: null, ByteLevel, Split (Isolated/Removed), Metaspace, Sequence
//   decoder: null, ByteLevel, Replace, ByteFallback, Fuse, Strip, Metaspace, Sequence
//   post_processor: null, ByteLevel, TemplateProcessing (BOS/EOS around a single text), Sequence

import { BpeTokenizer, type AddedToken, type BpeDecoderSpec, type BpeTokenizerSpec, type PreTokenizer } from './bpe-tokenizer.js';
import { bytesToByteLevel, compileSplitPattern, GPT2_SPLIT_PATTERN, splitIsolated } from './byte-level.js';
import { utf8Bytes } from './tokenizer.js';
import { describeJsonValue, parseJsonBounded } from './bounded-json.js';
import { hfWordPieceFromJson, type HfWordPieceTokenizer } from './hf-wordpiece.js';

export interface HfTokenizerOptions {
  /** From config.json / tokenizer_config.json; otherwise guessed from the post-processor and common names. */
  readonly bosId?: number | null;
  readonly eosId?: number | null;
}

type Json = Record<string, unknown>;

function isObject(v: unknown): v is Json {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function field<T>(obj: Json, key: string, check: (v: unknown) => v is T, where: string, what: string): T {
  const v = obj[key];
  if (!check(v)) throw new Error(`${where}.${key} must be ${what}, got ${describeJsonValue(v)}`);
  return v;
}

function optional<T>(obj: Json, key: string, check: (v: unknown) => v is T, where: string, what: string, fallback: T): T {
  const v = obj[key];
  if (v === undefined || v === null) return fallback;
  if (!check(v)) throw new Error(`${where}.${key} must be ${what}, got ${describeJsonValue(v)}`);
  return v;
}

const isString = (v: unknown): v is string => typeof v === 'string';
const isBool = (v: unknown): v is boolean => typeof v === 'boolean';
const isNumber = (v: unknown): v is number => typeof v === 'number' && Number.isFinite(v);
const isArray = (v: unknown): v is unknown[] => Array.isArray(v);

/** Parses tokenizer.json text (a BPE or a WordPiece model); errors name `source` and the field. */
export function loadHfTokenizer(jsonText: string, source: string, options: HfTokenizerOptions = {}): BpeTokenizer | HfWordPieceTokenizer {
  const json = parseJsonBounded(jsonText, source);
  if (isObject(json) && isObject(json['model']) && json['model']['type'] === 'WordPiece') return hfWordPieceFromJson(json, source);
  return hfTokenizerFromJson(json, source, options);
}

/** Builds a tokenizer from a parsed tokenizer.json object. */
export function hfTokenizerFromJson(json: unknown, source: string, options: HfTokenizerOptions = {}): BpeTokenizer {
  if (!isObject(json)) throw new Error(`${source}: tokenizer.json must be an object, got ${describeJsonValue(json)}`);
  const model = json['model'];
  if (!isObject(model)) throw new Error(`${source}: model must be an object, got ${describeJsonValue(model)}`);
  const modelWhere = `${source}: model`;
  const modelType = optional(model, 'type', isString, modelWhere, 'a string', 'BPE');
  if (modelType !== 'BPE') throw new Error(`${modelWhere}.type '${modelType}' is not supported (only BPE here; loadHfTokenizer also reads WordPiece)`);
  for (const key of ['continuing_subword_prefix', 'end_of_word_suffix']) {
    const v = model[key];
    if (v !== undefined && v !== null && v !== '') throw new Error(`${modelWhere}.${key} is not supported (got ${describeJsonValue(v)})`);
  }

  const vocabJson = field(model, 'vocab', isObject, modelWhere, 'an object of token ids');
  const vocabEntries = Object.entries(vocabJson);
  const addedJson = optional(json, 'added_tokens', isArray, source, 'an array', []);
  // Ids index arrays sized by the largest: bound them by the entries present (gaps allowed, up to
  // as many again), so an id of 2^32 is an error here, not an allocation failure or a wrapped id later.
  const idLimit = Math.min(MAX_TOKEN_ID, 2 * (vocabEntries.length + addedJson.length) + 256);
  const vocab = new Map<string, number>();
  const tokenOfId = new Map<number, string>();
  for (const [token, id] of vocabEntries) {
    const at = `${modelWhere}.vocab[${JSON.stringify(token.length > 40 ? `${token.slice(0, 40)}...` : token)}]`;
    if (typeof id !== 'number' || !Number.isInteger(id) || id < 0) throw new Error(`${at} must be a non-negative integer id, got ${describeJsonValue(id)}`);
    if (id >= idLimit) throw new Error(`${at} = ${id} is out of range: ${vocabEntries.length} tokens allow ids below ${idLimit}`);
    const other = tokenOfId.get(id);
    if (other !== undefined) throw new Error(`${at} = ${id} is also the id of ${JSON.stringify(other)}`);
    tokenOfId.set(id, token);
    vocab.set(token, id);
  }
  const mergesJson = field(model, 'merges', isArray, modelWhere, 'an array');
  const merges = mergesJson.map((m, i): [string, string] => {
    if (typeof m === 'string') {
      const parts = m.split(' ');
      if (parts.length !== 2) throw new Error(`${modelWhere}.merges[${i}] must be "left right", got ${describeJsonValue(m)}`);
      return [parts[0]!, parts[1]!];
    }
    if (Array.isArray(m) && m.length === 2 && typeof m[0] === 'string' && typeof m[1] === 'string') return [m[0], m[1]];
    throw new Error(`${modelWhere}.merges[${i}] must be "left right" or [left, right], got ${describeJsonValue(m)}`);
  });

  const addedIds = new Set<number>();
  const addedTokens: AddedToken[] = addedJson.map((t, i) => {
    const where = `${source}: added_tokens[${i}]`;
    if (!isObject(t)) throw new Error(`${where} must be an object`);
    const id = field(t, 'id', (v): v is number => isNumber(v) && Number.isInteger(v) && v >= 0, where, 'a non-negative integer');
    if (id >= idLimit) throw new Error(`${where}.id = ${id} is out of range: ${vocabEntries.length} tokens allow ids below ${idLimit}`);
    if (addedIds.has(id)) throw new Error(`${where}.id = ${id} is the id of an earlier added token`);
    addedIds.add(id);
    return {
      id,
      content: field(t, 'content', isString, where, 'a string'),
      special: optional(t, 'special', isBool, where, 'a boolean', false),
      normalized: optional(t, 'normalized', isBool, where, 'a boolean', false),
      lstrip: optional(t, 'lstrip', isBool, where, 'a boolean', false),
      rstrip: optional(t, 'rstrip', isBool, where, 'a boolean', false),
      singleWord: optional(t, 'single_word', isBool, where, 'a boolean', false),
    };
  });

  const template = postProcessorTemplate(json['post_processor'], `${source}: post_processor`);
  const idOf = (content: string): number | undefined => addedTokens.find((t) => t.content === content)?.id ?? vocab.get(content);
  const guess = (names: string[]): number | null => {
    for (const name of names) {
      const id = idOf(name);
      if (id !== undefined) return id;
    }
    return null;
  };
  const bosId =
    options.bosId !== undefined ? options.bosId : template.bos !== null ? (idOf(template.bos) ?? null) : guess(['<s>', '<|begin_of_text|>', '<|endoftext|>', '<bos>']);
  const eosId = options.eosId !== undefined ? options.eosId : guess(['</s>', '<|end_of_text|>', '<|endoftext|>', '<eos>']);

  const spec: BpeTokenizerSpec = {
    source,
    vocab,
    merges,
    addedTokens,
    normalizer: boundedNormalizer(json['normalizer'], `${source}: normalizer`),
    preTokenizer: buildPreTokenizer(json['pre_tokenizer'], `${source}: pre_tokenizer`),
    byteFallback: optional(model, 'byte_fallback', isBool, modelWhere, 'a boolean', false),
    unkToken: optional<string | null>(model, 'unk_token', (v): v is string | null => typeof v === 'string', modelWhere, 'a string', null),
    fuseUnk: optional(model, 'fuse_unk', isBool, modelWhere, 'a boolean', false),
    ignoreMerges: optional(model, 'ignore_merges', isBool, modelWhere, 'a boolean', false),
    decoder: buildDecoder(json['decoder'], `${source}: decoder`),
    bosId,
    eosId,
    addBosByDefault: template.bos !== null,
    addEosByDefault: template.eos !== null,
  };
  return new BpeTokenizer(spec);
}

/** Ids above this are refused whatever the vocabulary (2^31 - 1: ids are stored as int32). */
export const MAX_TOKEN_ID = 0x7fffffff;

/**
 * How much a normalizer may grow a text: `Replace` "" -> "ab" triples it, and 20 chained steps
 * would ask for 3^20 times the input. Real normalizers add a prefix or swap single characters.
 */
export function normalizerOutputLimit(inputLength: number): number {
  return 4 * inputLength + 1024;
}

function boundedNormalizer(config: unknown, where: string): ((text: string) => string) | null {
  const budget = { limit: Infinity };
  const normalize = buildNormalizer(config, where, budget);
  if (!normalize) return null;
  return (text) => {
    budget.limit = normalizerOutputLimit(text.length);
    return normalize(text);
  };
}

function buildNormalizer(config: unknown, where: string, budget: { limit: number }): ((text: string) => string) | null {
  if (config === null || config === undefined) return null;
  if (!isObject(config)) throw new Error(`${where} must be an object or null, got ${describeJsonValue(config)}`);
  const type = field(config, 'type', isString, where, 'a string');
  switch (type) {
    case 'NFC':
    case 'NFD':
    case 'NFKC':
    case 'NFKD':
      return (text) => text.normalize(type);
    case 'Lowercase':
      return (text) => text.toLowerCase();
    case 'Prepend': {
      const prepend = field(config, 'prepend', isString, where, 'a string');
      return (text) => (text.length > 0 ? prepend + text : text);
    }
    case 'Replace': {
      const { pattern, content } = replaceArgs(config, where);
      return (text) => {
        // Growth per step is at most (matches + 1) * content: check before building the string.
        if (content.length > 0 && (text.length + 1) * (content.length + 1) > budget.limit) {
          let matches = 0;
          pattern.lastIndex = 0;
          for (const _ of text.matchAll(pattern)) matches++;
          if (text.length + matches * content.length > budget.limit) {
            throw new Error(`${where}: Replace grows the text past ${budget.limit} characters (normalizers may grow a text at most 4x + 1024)`);
          }
        }
        return text.replace(pattern, content);
      };
    }
    case 'Strip': {
      const left = optional(config, 'strip_left', isBool, where, 'a boolean', true);
      const right = optional(config, 'strip_right', isBool, where, 'a boolean', true);
      return (text) => (left && right ? text.trim() : left ? text.trimStart() : right ? text.trimEnd() : text);
    }
    case 'Sequence': {
      const steps = field(config, 'normalizers', isArray, where, 'an array').map((n, i) => buildNormalizer(n, `${where}.normalizers[${i}]`, budget));
      return (text) => steps.reduce((t, step) => (step ? step(t) : t), text);
    }
    default:
      throw new Error(`${where}.type '${type}' is not supported (supported: NFC, NFD, NFKC, NFKD, Lowercase, Prepend, Replace, Strip, Sequence)`);
  }
}

function replaceArgs(config: Json, where: string): { pattern: RegExp; content: string } {
  const pattern = field(config, 'pattern', isObject, where, 'an object');
  const content = field(config, 'content', isString, where, 'a string');
  if (typeof pattern['String'] === 'string') return { pattern: new RegExp(escapeRegExp(pattern['String']), 'gu'), content };
  if (typeof pattern['Regex'] === 'string') return { pattern: compileSplitPattern(pattern['Regex'], `${where}.pattern.Regex`), content };
  throw new Error(`${where}.pattern must be {"String": ...} or {"Regex": ...}`);
}

function escapeRegExp(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

function buildPreTokenizer(config: unknown, where: string): PreTokenizer {
  if (config === null || config === undefined) return (segment) => [segment];
  if (!isObject(config)) throw new Error(`${where} must be an object or null, got ${describeJsonValue(config)}`);
  const type = field(config, 'type', isString, where, 'a string');
  switch (type) {
    case 'ByteLevel': {
      const addPrefixSpace = optional(config, 'add_prefix_space', isBool, where, 'a boolean', true);
      const useRegex = optional(config, 'use_regex', isBool, where, 'a boolean', true);
      const regex = useRegex ? compileSplitPattern(GPT2_SPLIT_PATTERN, where) : null;
      return (segment) => {
        const text = addPrefixSpace && !segment.startsWith(' ') ? ` ${segment}` : segment;
        const pieces = regex ? splitIsolated(text, regex) : [text];
        return pieces.map((p) => bytesToByteLevel(utf8Bytes(p)));
      };
    }
    case 'Split': {
      const pattern = field(config, 'pattern', isObject, where, 'an object');
      const regex =
        typeof pattern['Regex'] === 'string'
          ? compileSplitPattern(pattern['Regex'], `${where}.pattern.Regex`)
          : typeof pattern['String'] === 'string'
            ? new RegExp(escapeRegExp(pattern['String']), 'gu')
            : null;
      if (!regex) throw new Error(`${where}.pattern must be {"String": ...} or {"Regex": ...}`);
      const behavior = field(config, 'behavior', isString, where, 'a string');
      if (optional(config, 'invert', isBool, where, 'a boolean', false)) throw new Error(`${where}.invert = true is not supported`);
      if (behavior === 'Isolated') return (segment) => splitIsolated(segment, regex);
      if (behavior === 'Removed') {
        return (segment) => {
          regex.lastIndex = 0;
          return segment.split(regex).filter((s) => s.length > 0);
        };
      }
      throw new Error(`${where}.behavior '${behavior}' is not supported (only Isolated and Removed)`);
    }
    case 'Metaspace': {
      const replacement = optional(config, 'replacement', isString, where, 'a string', '▁');
      const legacyPrefix = optional(config, 'add_prefix_space', isBool, where, 'a boolean', true);
      const scheme = optional(config, 'prepend_scheme', isString, where, 'a string', legacyPrefix ? 'always' : 'never');
      if (scheme !== 'always' && scheme !== 'first' && scheme !== 'never') throw new Error(`${where}.prepend_scheme '${scheme}' is not one of always, first, never`);
      const split = optional(config, 'split', isBool, where, 'a boolean', true);
      return (segment, isFirst) => {
        let text = segment.split(' ').join(replacement);
        if ((scheme === 'always' || (scheme === 'first' && isFirst)) && !text.startsWith(replacement)) text = replacement + text;
        if (!split) return [text];
        const out: string[] = [];
        let start = 0;
        for (let i = 1; i <= text.length; i++) {
          if (i === text.length || text.startsWith(replacement, i)) {
            if (i > start) out.push(text.slice(start, i));
            start = i;
          }
        }
        return out;
      };
    }
    case 'Sequence': {
      const steps = field(config, 'pretokenizers', isArray, where, 'an array').map((p, i) => buildPreTokenizer(p, `${where}.pretokenizers[${i}]`));
      return (segment, isFirst) => steps.reduce<string[]>((pieces, step) => pieces.flatMap((p) => step(p, isFirst)), [segment]);
    }
    default:
      throw new Error(`${where}.type '${type}' is not supported (supported: ByteLevel, Split, Metaspace, Sequence)`);
  }
}

function buildDecoder(config: unknown, where: string): BpeDecoderSpec {
  const spec: { byteLevel: boolean; byteFallback: boolean; replacements: Array<[string, string]>; stripLeading: { content: string; count: number } | null } = {
    byteLevel: false,
    byteFallback: false,
    replacements: [],
    stripLeading: null,
  };
  const visit = (c: unknown, w: string): void => {
    if (c === null || c === undefined) return;
    if (!isObject(c)) throw new Error(`${w} must be an object or null, got ${describeJsonValue(c)}`);
    const type = field(c, 'type', isString, w, 'a string');
    switch (type) {
      case 'ByteLevel':
        spec.byteLevel = true;
        return;
      case 'ByteFallback':
        spec.byteFallback = true;
        return;
      case 'Fuse':
        return;
      case 'Replace': {
        const pattern = field(c, 'pattern', isObject, w, 'an object');
        if (typeof pattern['String'] !== 'string') throw new Error(`${w}.pattern: only {"String": ...} is supported in a decoder`);
        spec.replacements.push([pattern['String'], field(c, 'content', isString, w, 'a string')]);
        return;
      }
      case 'Strip': {
        const start = optional(c, 'start', isNumber, w, 'a number', 0);
        const stop = optional(c, 'stop', isNumber, w, 'a number', 0);
        if (stop !== 0) throw new Error(`${w}.stop = ${stop} is not supported`);
        if (start > 0) spec.stripLeading = { content: field(c, 'content', isString, w, 'a string'), count: start };
        return;
      }
      case 'Metaspace': {
        const replacement = optional(c, 'replacement', isString, w, 'a string', '▁');
        const legacyPrefix = optional(c, 'add_prefix_space', isBool, w, 'a boolean', true);
        const scheme = optional(c, 'prepend_scheme', isString, w, 'a string', legacyPrefix ? 'always' : 'never');
        spec.replacements.push([replacement, ' ']);
        if (scheme !== 'never') spec.stripLeading = { content: ' ', count: 1 };
        return;
      }
      case 'Sequence':
        field(c, 'decoders', isArray, w, 'an array').forEach((d, i) => visit(d, `${w}.decoders[${i}]`));
        return;
      default:
        throw new Error(`${w}.type '${type}' is not supported (supported: ByteLevel, Replace, ByteFallback, Fuse, Strip, Metaspace, Sequence)`);
    }
  };
  visit(config, where);
  return spec;
}

/** The special tokens a TemplateProcessing puts before and after a single text (by content). */
function postProcessorTemplate(config: unknown, where: string): { bos: string | null; eos: string | null } {
  const none = { bos: null, eos: null };
  if (config === null || config === undefined) return none;
  if (!isObject(config)) throw new Error(`${where} must be an object or null, got ${describeJsonValue(config)}`);
  const type = field(config, 'type', isString, where, 'a string');
  if (type === 'ByteLevel') return none;
  if (type === 'Sequence') {
    const found = field(config, 'processors', isArray, where, 'an array').map((p, i) => postProcessorTemplate(p, `${where}.processors[${i}]`));
    return { bos: found.find((f) => f.bos !== null)?.bos ?? null, eos: found.find((f) => f.eos !== null)?.eos ?? null };
  }
  if (type !== 'TemplateProcessing') throw new Error(`${where}.type '${type}' is not supported (supported: ByteLevel, TemplateProcessing, Sequence)`);
  const single = field(config, 'single', isArray, where, 'an array');
  const specialAt = (item: unknown): string | null => (isObject(item) && isObject(item['SpecialToken']) && typeof item['SpecialToken']['id'] === 'string' ? item['SpecialToken']['id'] : null);
  const sequenceIndex = single.findIndex((item) => isObject(item) && isObject(item['Sequence']));
  if (sequenceIndex < 0) throw new Error(`${where}.single has no Sequence item`);
  const before = single.slice(0, sequenceIndex).map(specialAt);
  const after = single.slice(sequenceIndex + 1).map(specialAt);
  if (before.length > 1 || after.length > 1 || before.includes(null) || after.includes(null)) {
    throw new Error(`${where}.single: only one optional special token before and after the text is supported`);
  }
  return { bos: before[0] ?? null, eos: after[0] ?? null };
}

/**
 * GPT-2's original files: encoder.json (token -> id) and vocab.bpe (a '#version' line, then one
 * merge "left right" per line). `<|endoftext|>` is the special BOS/EOS token, as in Hugging Face's gpt2.
 */
export function loadGpt2Tokenizer(encoderJson: string, vocabBpe: string, source: string): BpeTokenizer {
  const encoder = parseJsonBounded(encoderJson, source, 'encoder.json is not valid JSON');
  if (!isObject(encoder)) throw new Error(`${source}: encoder.json must be an object of token ids`);
  const merges = vocabBpe
    .split('\n')
    .filter((line, i) => !(i === 0 && line.startsWith('#version')) && line.trim().length > 0)
    .map((line) => line.replace(/\r$/, ''));
  const endOfText = encoder['<|endoftext|>'];
  const json = {
    added_tokens:
      typeof endOfText === 'number'
        ? [{ id: endOfText, content: '<|endoftext|>', special: true, normalized: false, lstrip: false, rstrip: false, single_word: false }]
        : [],
    normalizer: null,
    pre_tokenizer: { type: 'ByteLevel', add_prefix_space: false, trim_offsets: true, use_regex: true },
    post_processor: { type: 'ByteLevel' },
    decoder: { type: 'ByteLevel' },
    model: { type: 'BPE', vocab: encoder, merges },
  };
  return hfTokenizerFromJson(json, source);
}
