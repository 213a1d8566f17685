// Training checkpoints: ONE safetensors file. Parameters are stored as `model.<name>`, optimizer
// tensors as `optim.<name>` (e.g. `optim.exp_avg.<param>`), and everything else (step, RNG states,
// optimizer scalars, user metadata) as JSON under `__metadata__.thrifty`. All tensors are F32 and
// all numbers round-trip exactly through JSON, so a resumed run continues bit for bit.
// Integrity (format version 2): `__metadata__.thrifty.crc32` holds the CRC-32 of every tensor's
// stored bytes and of the state JSON; a load verifies each one and refuses a corrupt checkpoint
// naming the tensor. Version-1 files (no checksums) are still read.
// Platform-neutral; src/node/checkpoint.ts adds the atomic file save/load and the fallback.

import type { RngState } from '../tensor/rng.js';
import type { Shape } from '../tensor/shape.js';
import { crc32Hex } from './crc32.js';
import { checkJsonLimits } from '../text/bounded-json.js';
import { parseSafetensors, readSafetensorsTensorF32, serializeSafetensors, type SafetensorsTensorInput } from './safetensors.js';

export const CHECKPOINT_FORMAT_VERSION = 2;
export const CHECKPOINT_METADATA_KEY = 'thrifty';
/** JSON {state: crc, tensors: {name: crc}}, each crc 8 hex digits. */
export const CHECKPOINT_CHECKSUM_KEY = 'thrifty.crc32';
const MODEL_PREFIX = 'model.';
const OPTIMIZER_PREFIX = 'optim.';

export type JsonValue = null | boolean | number | string | readonly JsonValue[] | { readonly [key: string]: JsonValue };

export interface CheckpointTensor {
  readonly shape: Shape;
  readonly data: Float32Array;
}

export interface CheckpointState {
  /** Optimizer steps taken so far. */
  readonly step: number;
  /** Every generator the run draws from, by role (e.g. `data`, `dropout`). */
  readonly rng: Readonly<Record<string, RngState>>;
  /** Optimizer scalars and hyperparameters (e.g. lr, beta1, beta2, eps, bias-correction step). */
  readonly optimizer: Readonly<Record<string, JsonValue>>;
  readonly user: Readonly<Record<string, JsonValue>>;
}

export interface CheckpointContents {
  readonly model: Map<string, CheckpointTensor>;
  readonly optimizer: Map<string, CheckpointTensor>;
  readonly state: CheckpointState;
}

/** What the loader expects; names and shapes that differ are reported together. */
export interface CheckpointExpectation {
  readonly model?: ReadonlyMap<string, Shape>;
  readonly optimizer?: ReadonlyMap<string, Shape>;
}

export function encodeCheckpoint(contents: CheckpointContents): Uint8Array {
  assertState(contents.state, 'encodeCheckpoint: state');
  const tensors: SafetensorsTensorInput[] = [];
  for (const [prefix, group] of [
    [MODEL_PREFIX, contents.model],
    [OPTIMIZER_PREFIX, contents.optimizer],
  ] as const) {
    for (const [name, tensor] of group) tensors.push({ name: prefix + name, dtype: 'F32', shape: tensor.shape, data: tensor.data });
  }
  const stored = JSON.stringify({ formatVersion: CHECKPOINT_FORMAT_VERSION, ...contents.state });
  const checksums = {
    state: crc32Hex(new TextEncoder().encode(stored)),
    tensors: Object.fromEntries(tensors.map((t) => [t.name, crc32Hex(f32Bytes(t.data as Float32Array))])),
  };
  return serializeSafetensors(tensors, { [CHECKPOINT_METADATA_KEY]: stored, [CHECKPOINT_CHECKSUM_KEY]: JSON.stringify(checksums) });
}

/** The bytes a F32 tensor is stored as (little-endian; checkpoints are written on little-endian hosts). */
function f32Bytes(data: Float32Array): Uint8Array {
  return new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
}

interface Checksums {
  readonly state: string;
  readonly tensors: ReadonlyMap<string, string>;
}

function parseChecksums(json: string, where: string): Checksums {
  checkJsonLimits(json, where, { maxDepth: 3, maxStringLength: 1 << 16 });
  let parsed: unknown;
  try {
    parsed = JSON.parse(json);
  } catch (error) {
    throw new Error(`${where} is not valid JSON (${(error as Error).message})`);
  }
  const isCrc = (v: unknown): v is string => typeof v === 'string' && /^[0-9a-f]{8}$/.test(v);
  if (!isRecord(parsed) || !isCrc(parsed['state']) || !isRecord(parsed['tensors'])) throw new Error(`${where} must be {"state": crc, "tensors": {name: crc}} with 8-hex-digit CRCs`);
  const tensors = new Map<string, string>();
  for (const [name, crc] of Object.entries(parsed['tensors'])) {
    if (!isCrc(crc)) throw new Error(`${where}.tensors['${name}'] must be 8 hex digits, got ${JSON.stringify(crc)}`);
    tensors.set(name, crc);
  }
  return { state: parsed['state'], tensors };
}

export function decodeCheckpoint(bytes: Uint8Array, source: string, expected?: CheckpointExpectation): CheckpointContents {
  const file = parseSafetensors(bytes, source);
  const json = file.metadata[CHECKPOINT_METADATA_KEY];
  if (json === undefined) throw new Error(`${source}: not a thrifty checkpoint (no __metadata__.${CHECKPOINT_METADATA_KEY})`);
  const checksumJson = file.metadata[CHECKPOINT_CHECKSUM_KEY];
  const checksums = checksumJson === undefined ? null : parseChecksums(checksumJson, `${source}: __metadata__.${CHECKPOINT_CHECKSUM_KEY}`);
  // The state is verified before it is parsed: a changed step or RNG word is corruption too.
  if (checksums && crc32Hex(new TextEncoder().encode(json)) !== checksums.state) {
    throw new Error(`${source}: __metadata__.${CHECKPOINT_METADATA_KEY} (the training state) fails its CRC-32 check: the checkpoint is corrupt`);
  }
  checkJsonLimits(json, `${source}: __metadata__.${CHECKPOINT_METADATA_KEY}`, { maxStringLength: json.length });
  let stored: unknown;
  try {
    stored = JSON.parse(json);
  } catch (error) {
    throw new Error(`${source}: __metadata__.${CHECKPOINT_METADATA_KEY} is not valid JSON (${(error as Error).message})`);
  }
  if (!isRecord(stored)) throw new Error(`${source}: __metadata__.${CHECKPOINT_METADATA_KEY} must be a JSON object`);
  const { formatVersion, ...state } = stored;
  if (formatVersion !== CHECKPOINT_FORMAT_VERSION && formatVersion !== 1) {
    throw new Error(`${source}: checkpoint format version ${JSON.stringify(formatVersion)} is not supported (this build reads 1 and ${CHECKPOINT_FORMAT_VERSION})`);
  }
  if (formatVersion === CHECKPOINT_FORMAT_VERSION && !checksums) throw new Error(`${source}: __metadata__.${CHECKPOINT_CHECKSUM_KEY} is missing (format version ${CHECKPOINT_FORMAT_VERSION} carries checksums)`);
  if (checksums) {
    for (const name of checksums.tensors.keys()) if (!file.tensors.has(name)) throw new Error(`${source}: tensor '${name}' has a checksum but is not in the file: the checkpoint is corrupt`);
  }
  assertState(state, `${source}: __metadata__.${CHECKPOINT_METADATA_KEY}`);

  const model = new Map<string, CheckpointTensor>();
  const optimizer = new Map<string, CheckpointTensor>();
  for (const [fullName, entry] of file.tensors) {
    if (checksums) {
      const expectedCrc = checksums.tensors.get(fullName);
      if (expectedCrc === undefined) throw new Error(`${source}: tensor '${fullName}' has no checksum in __metadata__.${CHECKPOINT_CHECKSUM_KEY}: the checkpoint is corrupt`);
      const actual = crc32Hex(bytes.subarray(entry.byteOffset, entry.byteOffset + entry.byteLength));
      if (actual !== expectedCrc) throw new Error(`${source}: tensor '${fullName}' fails its CRC-32 check (stored ${expectedCrc}, computed ${actual}): the checkpoint is corrupt`);
    }
    if (entry.dtype !== 'F32') throw new Error(`${source}: tensor '${fullName}' has dtype ${entry.dtype}; checkpoints store F32`);
    const tensor = { shape: entry.shape, data: readSafetensorsTensorF32(bytes, entry) };
    if (fullName.startsWith(MODEL_PREFIX)) model.set(fullName.slice(MODEL_PREFIX.length), tensor);
    else if (fullName.startsWith(OPTIMIZER_PREFIX)) optimizer.set(fullName.slice(OPTIMIZER_PREFIX.length), tensor);
    else throw new Error(`${source}: tensor '${fullName}' is neither '${MODEL_PREFIX}*' nor '${OPTIMIZER_PREFIX}*'`);
  }

  const problems = [
    ...compareKeys(MODEL_PREFIX, model, expected?.model),
    ...compareKeys(OPTIMIZER_PREFIX, optimizer, expected?.optimizer),
  ];
  if (problems.length > 0) throw new Error(`${source}: checkpoint does not match:\n  ${problems.join('\n  ')}`);
  return { model, optimizer, state };
}

function compareKeys(prefix: string, found: ReadonlyMap<string, CheckpointTensor>, expected: ReadonlyMap<string, Shape> | undefined): string[] {
  if (!expected) return [];
  const missing = [...expected.keys()].filter((name) => !found.has(name));
  const unexpected = [...found.keys()].filter((name) => !expected.has(name));
  const mismatched: string[] = [];
  for (const [name, shape] of expected) {
    const tensor = found.get(name);
    if (tensor && !sameShape(tensor.shape, shape)) {
      mismatched.push(`${prefix}${name} [${tensor.shape.join(', ')}] (expected [${shape.join(', ')}])`);
    }
  }
  const problems: string[] = [];
  if (missing.length > 0) problems.push(`missing ${prefix}* keys: ${listNames(missing, prefix)}`);
  if (unexpected.length > 0) problems.push(`unexpected ${prefix}* keys: ${listNames(unexpected, prefix)}`);
  if (mismatched.length > 0) problems.push(`shape mismatch: ${listNames(mismatched, '')}`);
  return problems;
}

function listNames(names: readonly string[], prefix: string): string {
  const shown = names.slice(0, 10).map((name) => prefix + name);
  return shown.join(', ') + (names.length > shown.length ? ` and ${names.length - shown.length} more` : '');
}

function sameShape(a: Shape, b: Shape): boolean {
  return a.length === b.length && a.every((dim, axis) => dim === b[axis]);
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Checks the shape of a state on both save and load, so a bad state never reaches a file. */
function assertState(state: unknown, where: string): asserts state is CheckpointState {
  if (!isRecord(state)) throw new Error(`${where} must be an object`);
  const step = state['step'];
  if (typeof step !== 'number' || !Number.isSafeInteger(step) || step < 0) {
    throw new Error(`${where}.step must be a non-negative integer, got ${JSON.stringify(step)}`);
  }
  const rng = state['rng'];
  if (!isRecord(rng)) throw new Error(`${where}.rng must be an object of RNG states`);
  for (const [role, rngState] of Object.entries(rng)) assertRngState(rngState, `${where}.rng.${role}`);
  for (const field of ['optimizer', 'user'] as const) {
    const value = state[field];
    if (!isRecord(value)) throw new Error(`${where}.${field} must be an object`);
    assertJson(value, `${where}.${field}`);
  }
  const known = new Set(['step', 'rng', 'optimizer', 'user']);
  const extra = Object.keys(state).filter((key) => !known.has(key));
  if (extra.length > 0) throw new Error(`${where}: unexpected fields ${extra.join(', ')}`);
}

function assertRngState(value: unknown, where: string): void {
  if (!isRecord(value)) throw new Error(`${where} must be an RngState object`);
  const words = value['s'];
  if (!Array.isArray(words) || words.length !== 4 || !words.every((w: unknown) => typeof w === 'number' && Number.isInteger(w) && (w | 0) === w)) {
    throw new Error(`${where}.s must be four int32 words`);
  }
  const spare = value['spareNormal'];
  if (spare !== null && (typeof spare !== 'number' || !Number.isFinite(spare))) {
    throw new Error(`${where}.spareNormal must be a finite number or null`);
  }
}

/** JSON.stringify silently turns NaN into null and drops undefined; refuse both instead. */
function assertJson(value: unknown, where: string): void {
  if (value === null || typeof value === 'string' || typeof value === 'boolean') return;
  if (typeof value === 'number') {
    if (!Number.isFinite(value)) throw new Error(`${where} is ${value}, which JSON cannot hold`);
    return;
  }
  if (Array.isArray(value)) {
    value.forEach((item: unknown, index) => assertJson(item, `${where}[${index}]`));
    return;
  }
  if (typeof value === 'object' && Object.getPrototypeOf(value) === Object.prototype) {
    for (const [key, item] of Object.entries(value)) assertJson(item, `${where}.${key}`);
    return;
  }
  throw new Error(`${where} is not JSON-able (${typeof value === 'object' ? value.constructor.name : typeof value})`);
}
