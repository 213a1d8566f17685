// Seeded mutators. A mutated input is its seed plus a list of operations (data, not closures), so
// it can be replayed from (format, seed, index) and minimized by dropping operations.

import { type FuzzSeed } from './seeds.js';
import { Rng } from '../../tensor/rng.js';

/** A JSON value a mutation puts somewhere: plain, or a generator too large to spell in the op list. */
export type JsonReplacement =
  | { readonly plain: unknown }
  | { readonly deep: number; readonly array: boolean }
  | { readonly long: number }
  | { readonly remove: true };

export type MutationOp =
  | { readonly kind: 'flip'; readonly at: number; readonly bit: number }
  | { readonly kind: 'fill'; readonly at: number; readonly length: number; readonly byte: number }
  | { readonly kind: 'random'; readonly at: number; readonly bytes: readonly number[] }
  | { readonly kind: 'int'; readonly at: number; readonly width: 4 | 8; readonly value: string }
  | { readonly kind: 'truncate'; readonly length: number }
  | { readonly kind: 'delete'; readonly at: number; readonly length: number }
  | { readonly kind: 'insert'; readonly at: number; readonly bytes: readonly number[] }
  /** On the JSON document (the whole file; a safetensors header; a checkpoint's state JSON when `inner`). */
  | { readonly kind: 'json'; readonly path: readonly (string | number)[]; readonly value: JsonReplacement; readonly inner?: boolean };

/** Values for integer fields: huge, negative, zero, off by one, just past 2^31, 2^32, 2^53. */
const INTERESTING_INTS = ['0', '1', '-1', '2', '255', '65535', '2147483647', '2147483648', '4294967295', '4294967296', '9007199254740993', '9223372036854775807', '-2147483648', '1000000000', '16', '32', '3'];

const JSON_VALUES: readonly unknown[] = [
  null, true, false, 0, -1, 1, 1.5, 1e9, 2 ** 31, 2 ** 32, 2 ** 53 + 2, 1e300, -1e300, '', 'x', '0', '1e9', [], {}, [1, 2], { type: 'Sequence' }, { String: '' },
  { Regex: '(a|aa)+$' }, { Regex: '(a+)+b' }, { Regex: '[' }, { type: 'Replace', pattern: { String: '' }, content: 'ab' }, 'BPE', 'Split', 'llama', 'F32', 'I64',
];

function jsonPaths(value: unknown, path: (string | number)[], out: Array<(string | number)[]>, limit: number): void {
  if (out.length >= limit) return;
  out.push(path);
  if (Array.isArray(value)) {
    // Long arrays (vocabularies, merges): a few positions only.
    const picks = value.length <= 8 ? value.map((_, i) => i) : [0, 1, value.length - 1, Math.floor(value.length / 2)];
    for (const i of picks) jsonPaths(value[i], [...path, i], out, limit);
  } else if (typeof value === 'object' && value !== null) {
    const keys = Object.keys(value);
    const picks = keys.length <= 24 ? keys : [keys[0]!, keys[1]!, keys[keys.length - 1]!, keys[Math.floor(keys.length / 2)]!, keys[Math.floor(keys.length / 3)]!];
    for (const k of picks) jsonPaths((value as Record<string, unknown>)[k], [...path, k], out, limit);
  }
}

function pick<T>(rng: Rng, items: readonly T[]): T {
  return items[rng.int(items.length)]!;
}

const decoder = new TextDecoder();

function safetensorsHeader(bytes: Uint8Array): { json: unknown; headerEnd: number } | null {
  if (bytes.length < 8) return null;
  const n = Number(new DataView(bytes.buffer, bytes.byteOffset).getBigUint64(0, true));
  if (8 + n > bytes.length) return null;
  try {
    return { json: JSON.parse(decoder.decode(bytes.subarray(8, 8 + n))), headerEnd: 8 + n };
  } catch {
    return null;
  }
}

function jsonDocument(seed: FuzzSeed, inner: boolean): unknown {
  if (seed.kind === 'json') return JSON.parse(decoder.decode(seed.bytes));
  const header = safetensorsHeader(seed.bytes)!.json as Record<string, Record<string, string>>;
  return inner ? JSON.parse(header['__metadata__']!['thrifty']!) : header;
}

/** `count` operations for one input, drawn from `rng`. */
export function drawMutations(seed: FuzzSeed, rng: Rng): MutationOp[] {
  const ops: MutationOp[] = [];
  const n = 1 + rng.int(rng.uniform() < 0.7 ? 1 : 4);
  const size = seed.bytes.length;
  const structured = seed.kind !== 'binary';
  for (let k = 0; k < n; k++) {
    const r = rng.uniform();
    if (structured && r < 0.45) {
      const inner = seed.kind === 'checkpoint' && rng.uniform() < 0.5;
      const paths: Array<(string | number)[]> = [];
      jsonPaths(jsonDocument(seed, inner), [], paths, 400);
      const path = pick(rng, paths.slice(1).length > 0 ? paths.slice(1) : paths);
      const v = rng.uniform();
      const value: JsonReplacement =
        v < 0.08 ? { deep: pick(rng, [100, 5000, 100000]), array: rng.uniform() < 0.5 } : v < 0.13 ? { long: pick(rng, [1000, 2_000_000]) } : v < 0.25 ? { remove: true } : { plain: pick(rng, JSON_VALUES) };
      ops.push(inner ? { kind: 'json', path, value, inner } : { kind: 'json', path, value });
    } else if (seed.fieldOffsets.length > 0 && r < 0.65) {
      ops.push({ kind: 'int', at: pick(rng, seed.fieldOffsets), width: rng.uniform() < 0.6 ? 4 : 8, value: pick(rng, INTERESTING_INTS) });
    } else if (r < 0.75) {
      ops.push({ kind: 'flip', at: rng.int(size), bit: rng.int(8) });
    } else if (r < 0.82) {
      ops.push({ kind: 'fill', at: rng.int(size), length: 1 + rng.int(16), byte: rng.uniform() < 0.5 ? 0 : 0xff });
    } else if (r < 0.88) {
      ops.push({ kind: 'random', at: rng.int(size), bytes: Array.from({ length: 1 + rng.int(8) }, () => rng.int(256)) });
    } else if (r < 0.94) {
      ops.push({ kind: 'truncate', length: rng.int(size) });
    } else if (r < 0.97) {
      ops.push({ kind: 'delete', at: rng.int(size), length: 1 + rng.int(32) });
    } else {
      ops.push({ kind: 'insert', at: rng.int(size), bytes: Array.from({ length: 1 + rng.int(16) }, () => rng.int(256)) });
    }
  }
  return ops;
}

function materialize(v: JsonReplacement): unknown {
  if ('plain' in v) return v.plain;
  if ('long' in v) return 'a'.repeat(v.long);
  if ('deep' in v) return `\u0000DEEP:${v.deep}:${v.array ? 'a' : 'o'}\u0000`; // spliced in as text by stringify

  return undefined;
}

/** Replaces (or deletes) the value at `path`; the root itself when the path is empty. */
function setAt(root: unknown, path: readonly (string | number)[], value: JsonReplacement): unknown {
  if (path.length === 0) return 'remove' in value ? null : materialize(value);
  let node = root;
  for (const key of path.slice(0, -1)) {
    if (typeof node !== 'object' || node === null) return root;
    node = (node as Record<string | number, unknown>)[key];
  }
  if (typeof node !== 'object' || node === null) return root;
  const last = path[path.length - 1]!;
  if ('remove' in value) {
    if (Array.isArray(node) && typeof last === 'number') node.splice(last, 1);
    else delete (node as Record<string | number, unknown>)[last];
  } else {
    (node as Record<string | number, unknown>)[last] = materialize(value);
  }
  return root;
}

/** Serialises JSON; deep values are spliced in as text (JSON.stringify would recurse through them). */
function stringify(value: unknown): string {
  return JSON.stringify(value).replace(/"\\u0000DEEP:(\d+):([ao])\\u0000"/g, (_m, n: string, kind: string) => {
    const depth = Number(n);
    return kind === 'a' ? `${'['.repeat(depth)}1${']'.repeat(depth)}` : `${'{"type":"Sequence","normalizers":['.repeat(depth)}1${']}'.repeat(depth)}`;
  });
}

const encoder = new TextEncoder();

function applyJson(bytes: Uint8Array, seed: FuzzSeed, op: Extract<MutationOp, { kind: 'json' }>): Uint8Array {
  if (seed.kind === 'json') {
    let doc: unknown;
    try {
      doc = JSON.parse(decoder.decode(bytes));
    } catch {
      return bytes; // an earlier byte edit broke the JSON: nothing to address
    }
    return encoder.encode(stringify(setAt(doc, op.path, op.value)));
  }
  const header = safetensorsHeader(bytes);
  if (!header) return bytes;
  let doc = header.json;
  if (op.inner) {
    const meta = (doc as Record<string, Record<string, unknown>>)['__metadata__'];
    const state = meta?.['thrifty'];
    if (typeof state !== 'string') return bytes;
    let parsed: unknown;
    try {
      parsed = JSON.parse(state);
    } catch {
      return bytes;
    }
    meta!['thrifty'] = stringify(setAt(parsed, op.path, op.value));
  } else {
    doc = setAt(doc, op.path, op.value);
  }
  const headerBytes = encoder.encode(stringify(doc));
  const out = new Uint8Array(8 + headerBytes.length + (bytes.length - header.headerEnd));
  new DataView(out.buffer).setBigUint64(0, BigInt(headerBytes.length), true);
  out.set(headerBytes, 8);
  out.set(bytes.subarray(header.headerEnd), 8 + headerBytes.length);
  return out;
}

/** The seed's bytes with `ops` applied in order. */
export function applyMutations(seed: FuzzSeed, ops: readonly MutationOp[]): Uint8Array {
  let bytes: Uint8Array = seed.bytes.slice();
  for (const op of ops) {
    switch (op.kind) {
      case 'flip':
        if (op.at < bytes.length) bytes[op.at]! ^= 1 << op.bit;
        break;
      case 'fill':
        bytes.fill(op.byte, Math.min(op.at, bytes.length), Math.min(op.at + op.length, bytes.length));
        break;
      case 'random':
        op.bytes.forEach((b, i) => {
          if (op.at + i < bytes.length) bytes[op.at + i] = b;
        });
        break;
      case 'int': {
        if (op.at + op.width > bytes.length) break;
        const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
        const v = BigInt(op.value);
        if (op.width === 4) view.setUint32(op.at, Number(BigInt.asUintN(32, v)), true);
        else view.setBigUint64(op.at, BigInt.asUintN(64, v), true);
        break;
      }
      case 'truncate':
        bytes = bytes.slice(0, op.length);
        break;
      case 'delete': {
        const out = new Uint8Array(Math.max(0, bytes.length - Math.max(0, Math.min(op.length, bytes.length - op.at))));
        out.set(bytes.subarray(0, Math.min(op.at, bytes.length)));
        out.set(bytes.subarray(Math.min(op.at + op.length, bytes.length)), Math.min(op.at, bytes.length));
        bytes = out;
        break;
      }
      case 'insert': {
        const at = Math.min(op.at, bytes.length);
        const out = new Uint8Array(bytes.length + op.bytes.length);
        out.set(bytes.subarray(0, at));
        out.set(op.bytes, at);
        out.set(bytes.subarray(at), at + op.bytes.length);
        bytes = out;
        break;
      }
      case 'json':
        try {
          bytes = applyJson(bytes, seed, op);
        } catch {
          // An earlier deep value is too deep to parse or print again: this op leaves the bytes alone.
        }
        break;
    }
  }
  return bytes;
}

/** The operations of input `index` of a run with `seed`: independent of every other input. */
export function mutationsFor(fuzzSeed: FuzzSeed, runSeed: number, index: number): MutationOp[] {
  return drawMutations(fuzzSeed, new Rng(((runSeed * 1_000_003) ^ (index * 2_654_435_761)) >>> 0));
}
