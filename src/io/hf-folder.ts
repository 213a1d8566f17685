// A Hugging Face model folder: config.json; model.safetensors, or model.safetensors.index.json
// (`weight_map`: tensor name -> shard file) with its shards; tokenizer.json (or GPT-2's
// vocab.json + merges.txt). Platform-neutral: files come through a FolderAccess (Node's is
// src/node/model-files.ts). Every header and the index are checked before the files are returned
// (the model family reads config.json and names the tensors: src/models/registry.ts); on any error
// the files opened so far are closed.

import { type ByteSource } from './byte-source.js';
import { parseJsonBounded } from '../text/bounded-json.js';
import type { OpenedModelFiles } from './model-files.js';
import { checkEntryRanges, readSafetensorsHeader, safetensorsEntries, type WeightEntry } from './weights.js';
import { loadGpt2Tokenizer, loadHfTokenizer } from '../text/hf-tokenizer.js';
import { type Tokenizer } from '../text/tokenizer.js';

/** Files of one folder (names relative to it). */
export interface FolderAccess {
  /** The folder's path or URL, for messages. */
  readonly name: string;
  exists(file: string): Promise<boolean>;
  readText(file: string): Promise<string>;
  /** Opens a file for random access; `close` releases it. */
  open(file: string): Promise<ByteSource & { close(): Promise<void> }>;
}

export const HF_CONFIG_FILE = 'config.json';
export const HF_WEIGHTS_FILE = 'model.safetensors';
export const HF_WEIGHTS_INDEX_FILE = 'model.safetensors.index.json';
export const HF_TOKENIZER_FILE = 'tokenizer.json';

function parseJson(text: string, source: string): unknown {
  return parseJsonBounded(text, source);
}

/** The shard of every tensor from model.safetensors.index.json; shard names must stay inside the folder. */
export function parseSafetensorsIndex(text: string, source: string): Map<string, string> {
  const json = parseJson(text, source);
  if (typeof json !== 'object' || json === null || Array.isArray(json)) throw new Error(`${source}: must be a JSON object`);
  const map = (json as Record<string, unknown>)['weight_map'];
  if (typeof map !== 'object' || map === null || Array.isArray(map)) throw new Error(`${source}: field 'weight_map' must be an object of tensor name -> shard file`);
  const out = new Map<string, string>();
  for (const [name, shard] of Object.entries(map)) {
    if (typeof shard !== 'string' || shard.length === 0) throw new Error(`${source}: weight_map['${name}'] must be a file name, got ${JSON.stringify(shard)}`);
    if (shard.includes('..') || shard.startsWith('/') || shard.includes('\\')) throw new Error(`${source}: weight_map['${name}'] = '${shard}' must name a file inside the folder`);
    out.set(name, shard);
  }
  if (out.size === 0) throw new Error(`${source}: field 'weight_map' is empty`);
  return out;
}

/** The largest count or size a config may hold (int32). */
export const MAX_CONFIG_INT = 0x7fffffff;

/**
 * A token id field of config.json (bos_token_id, eos_token_id): null when absent, the first id
 * when it lists several.
 */
export function configTokenId(json: Readonly<Record<string, unknown>>, key: string, source: string): number | null {
  const v = json[key];
  if (v === undefined || v === null) return null;
  const first = Array.isArray(v) ? v[0] : v;
  if (typeof first !== 'number' || !Number.isInteger(first) || first < 0 || first > MAX_CONFIG_INT) {
    throw new Error(`${source}: field '${key}' must be a token id (or a list of them), got ${JSON.stringify(v)}`);
  }
  return first;
}

async function loadTokenizer(folder: FolderAccess, config: Readonly<Record<string, unknown>>, configPath: string): Promise<Tokenizer> {
  const where = (file: string): string => `${folder.name}/${file}`;
  const ids = { bosId: configTokenId(config, 'bos_token_id', configPath), eosId: configTokenId(config, 'eos_token_id', configPath) };
  if (await folder.exists(HF_TOKENIZER_FILE)) {
    return loadHfTokenizer(await folder.readText(HF_TOKENIZER_FILE), where(HF_TOKENIZER_FILE), ids);
  }
  if ((await folder.exists('vocab.json')) && (await folder.exists('merges.txt'))) {
    return loadGpt2Tokenizer(await folder.readText('vocab.json'), await folder.readText('merges.txt'), where('vocab.json'));
  }
  throw new Error(`${folder.name}: no ${HF_TOKENIZER_FILE} (nor vocab.json + merges.txt) in the model folder`);
}

/** Reads a model folder (src/models/model-files.ts's openHfFolder resolves it as its family). */
export async function readHfFolder(folder: FolderAccess): Promise<OpenedModelFiles> {
  const configPath = `${folder.name}/${HF_CONFIG_FILE}`;
  if (!(await folder.exists(HF_CONFIG_FILE))) throw new Error(`${folder.name}: no ${HF_CONFIG_FILE} in the model folder`);
  const rawConfig = parseJson(await folder.readText(HF_CONFIG_FILE), configPath);
  if (typeof rawConfig !== 'object' || rawConfig === null || Array.isArray(rawConfig)) throw new Error(`${configPath}: config must be a JSON object`);
  const config = rawConfig as Record<string, unknown>;
  const tokenizer = await loadTokenizer(folder, config, configPath);

  const opened: Array<ByteSource & { close(): Promise<void> }> = [];
  const closeAll = async (): Promise<void> => {
    await Promise.all(opened.map((f) => f.close().catch(() => undefined)));
  };
  try {
    const entries: WeightEntry[] = [];
    if (await folder.exists(HF_WEIGHTS_INDEX_FILE)) {
      const indexPath = `${folder.name}/${HF_WEIGHTS_INDEX_FILE}`;
      const weightMap = parseSafetensorsIndex(await folder.readText(HF_WEIGHTS_INDEX_FILE), indexPath);
      const shards = [...new Set(weightMap.values())];
      for (const shard of shards) {
        if (!(await folder.exists(shard))) throw new Error(`${indexPath}: shard '${shard}' named in weight_map is not in the folder`);
        const file = await folder.open(shard);
        opened.push(file);
        const header = await readSafetensorsHeader(file);
        for (const [name, inShard] of weightMap) {
          if (inShard === shard && !header.tensors.has(name)) throw new Error(`${indexPath}: weight_map puts '${name}' in '${shard}', which has no such tensor`);
        }
        // Only the tensors the index assigns to this shard count (a tensor in two shards is the index's choice).
        entries.push(...safetensorsEntries(file, header, (n) => (weightMap.get(n) === shard ? n : null)));
      }
    } else if (await folder.exists(HF_WEIGHTS_FILE)) {
      const file = await folder.open(HF_WEIGHTS_FILE);
      opened.push(file);
      entries.push(...safetensorsEntries(file, await readSafetensorsHeader(file)));
    } else {
      const legacy = (await folder.exists('pytorch_model.bin')) ? ' (pytorch_model.bin is not supported: convert it to safetensors)' : '';
      throw new Error(`${folder.name}: no ${HF_WEIGHTS_FILE} or ${HF_WEIGHTS_INDEX_FILE} in the model folder${legacy}`);
    }
    checkEntryRanges(entries);
    return { format: 'hf', source: folder.name, rawConfig: config, configSource: configPath, entries, tokenizer, close: closeAll };
  } catch (error) {
    await closeAll();
    throw error;
  }
}
