// Reading a decoder LLM's files, whatever the format: the raw config, the tensor table and the
// tokenizer (OpenedModelFiles). Readers for GGUF and llama2.c live here; Hugging Face folders in
// src/io/hf-folder.ts. They validate headers, sizes and dtypes; what the tensors mean (names,
// shapes, the typed config) is the model family's: src/models/model-files.ts opens a model
// (openGgufModel, openLlama2cModel, openHfFolder) by reading it here and resolving it there.

import { type ByteSource } from './byte-source.js';
import { ggufMetadataToJson, readGgufHeader, type GgufHeader } from './gguf-read.js';
import { tokenizerFromGguf } from './gguf-tokenizer.js';
import { llama2cTokenizer, LLAMA2C_HEADER_BYTES, parseLlama2cCheckpoint, type Llama2cConfig } from './llama2c.js';
import { checkEntryRanges, ggufEntries, type WeightEntry } from './weights.js';
import { type Tokenizer } from '../text/tokenizer.js';
import { floatsFromBytes } from '../tensor/dtype.js';

export type ModelFormat = 'gguf' | 'hf' | 'llama2c';

/**
 * A model's files as opened, before a model family reads them: the raw config, the weights under
 * the file's own tensor names, and the tokenizer. src/models/model-files.ts turns it into ModelFiles
 * (typed config, weights under the model's parameter names, every check against the module tree).
 */
export type OpenedModelFiles =
  | (OpenedFilesCommon & { readonly format: 'hf' })
  | (OpenedFilesCommon & { readonly format: 'gguf'; readonly header: GgufHeader })
  | (OpenedFilesCommon & { readonly format: 'llama2c'; readonly header: Llama2cConfig });

interface OpenedFilesCommon {
  /** The path (or other origin) of the model, for messages. */
  readonly source: string;
  /** config.json as parsed, GGUF metadata (long arrays cut), or the llama2.c header fields. */
  readonly rawConfig: Readonly<Record<string, unknown>>;
  /** Where rawConfig came from, for messages (e.g. 'model/config.json', 'model.gguf metadata'). */
  readonly configSource: string;
  /** Every float tensor under its name in the file (name = fileName). */
  readonly entries: readonly WeightEntry[];
  readonly tokenizer: Tokenizer;
  /** Closes the files behind the entries. */
  close(): Promise<void>;
}

// ---------- GGUF ----------

/**
 * Reads a GGUF model: the header, the embedded tokenizer and the tensor table, all validated.
 * `onClose` releases the file (Node passes its handle's close).
 */
export async function readGgufModel(file: ByteSource, onClose: () => Promise<void> = () => Promise.resolve()): Promise<OpenedModelFiles> {
  const header = await readGgufHeader(file);
  return {
    format: 'gguf',
    source: file.name,
    rawConfig: ggufMetadataToJson(header, { maxArrayItems: 16 }),
    configSource: `${file.name} metadata`,
    header,
    entries: checkEntryRanges(ggufEntries(file, header)),
    tokenizer: tokenizerFromGguf(header),
    close: onClose,
  };
}

// ---------- llama2.c ----------

/**
 * Reads a llama2.c checkpoint with its tokenizer.bin (read whole: it is small). The checkpoint is
 * read lazily through `checkpoint`.
 */
export async function readLlama2cModel(
  checkpoint: ByteSource,
  tokenizerBytes: Uint8Array,
  tokenizerSource: string,
  onClose: () => Promise<void> = () => Promise.resolve(),
): Promise<OpenedModelFiles> {
  const prefix = await checkpoint.read(0, Math.min(LLAMA2C_HEADER_BYTES, checkpoint.byteLength));
  const parsed = parseLlama2cCheckpoint(prefix, checkpoint.byteLength, checkpoint.name);
  const c = parsed.config;
  const tokenizer = llama2cTokenizer(tokenizerBytes, c.vocabSize, tokenizerSource);
  const entries = [...parsed.tensors.values()].map((t) => ({
    name: t.name,
    fileName: t.name,
    file: checkpoint.name,
    shape: t.shape,
    dtype: 'F32',
    reader: checkpoint,
    byteOffset: t.byteOffset,
    byteLength: t.byteLength,
    decode: (bytes: Uint8Array) => floatsFromBytes(bytes, 'f32'),
  }));
  return {
    format: 'llama2c',
    source: checkpoint.name,
    configSource: `${checkpoint.name} header`,
    header: c,
    rawConfig: {
      version: c.version,
      dim: c.dim,
      hidden_dim: c.hiddenDim,
      n_layers: c.nLayers,
      n_heads: c.nHeads,
      n_kv_heads: c.nKvHeads,
      vocab_size: c.vocabSize,
      seq_len: c.seqLen,
      shared_classifier: c.sharedClassifier,
    },
    entries: checkEntryRanges(entries),
    tokenizer,
    close: onClose,
  };
}
