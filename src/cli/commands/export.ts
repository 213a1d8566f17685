// `thrifty export`: a (sparse) pre-training run as a dense Hugging Face BERT folder (config.json,
// model.safetensors under BertForPreTraining's names, vocab.txt), loadable by transformers and by
// thrifty's own loader (src/node/hf-bert.ts). Block-sparse weights are expanded with zeros where
// inactive; their pattern buffers are not exported.

import type { Command } from 'commander';

export interface ExportResult {
  readonly out: string;
  readonly step: number;
  readonly tensors: number;
  /** Weights that were block-sparse in the run (now dense with zeros). */
  readonly expanded: number;
}

const PATTERN_BUFFERS = /\.block_(row_ptr|col_idx)$/;

/** Writes `out`/config.json, model.safetensors and vocab.txt from the pretrain run folder `run`; errors name the file or flag. */
export async function exportHfBert(run: string, out: string): Promise<ExportResult> {
  const { copyFile, mkdir, readFile } = await import('node:fs/promises');
  const { existsSync } = await import('node:fs');
  const { join } = await import('node:path');
  const { loadCheckpoint } = await import('../../node/checkpoint.js');
  const { writeFileAtomic } = await import('../../node/files.js');
  const { BertForPreTraining } = await import('../../models/bert.js');
  const { hfConfigFromBert } = await import('../../models/hf-bert.js');
  const { BlockSparsePattern } = await import('../../nn/block-sparse.js');
  const { serializeSafetensors } = await import('../../io/safetensors.js');
  const { CHECKPOINT_FILE, RUN_FILE } = await import('../../node/pretrain-runner.js');

  const runPath = join(run, RUN_FILE);
  let settings: Record<string, unknown>;
  try {
    settings = JSON.parse(await readFile(runPath, 'utf8')) as Record<string, unknown>;
  } catch (error) {
    throw new Error(`--run ${run}: cannot read ${RUN_FILE} of a pretrain run (${(error as Error).message})`);
  }
  if (settings['arch'] !== 'bert') throw new Error(`--run ${run}: a ${String(settings['arch'])} run has no Hugging Face BERT equivalent (only bert runs export)`);
  const config = settings['config'] as ConstructorParameters<typeof BertForPreTraining>[0];
  const checkpoint = await loadCheckpoint(join(run, CHECKPOINT_FILE));
  // The dense model gives every weight's shape and checks the names.
  const dense = new BertForPreTraining(config);
  const shapes = new Map([...dense.stateDict()].map(([name, t]) => [name, t.shape]));
  const tensors: { name: string; dtype: 'F32'; shape: readonly number[]; data: Float32Array }[] = [];
  let expanded = 0;
  for (const [name, t] of checkpoint.model) {
    if (PATTERN_BUFFERS.test(name)) continue;
    const shape = shapes.get(name);
    if (!shape) throw new Error(`${join(run, CHECKPOINT_FILE)}: '${name}' is not a BERT weight`);
    const prefix = name.replace(/\.weight$/, '');
    const rowPtr = checkpoint.model.get(`${prefix}.block_row_ptr`);
    const colIdx = checkpoint.model.get(`${prefix}.block_col_idx`);
    if (name.endsWith('.weight') && rowPtr && colIdx) {
      const [rows, cols] = shape as [number, number];
      const block = t.shape[1]!;
      const pattern = new BlockSparsePattern(rows, cols, block, Int32Array.from(rowPtr.data), Int32Array.from(colIdx.data));
      tensors.push({ name, dtype: 'F32', shape, data: pattern.toDense(t.data) });
      expanded++;
    } else {
      tensors.push({ name, dtype: 'F32', shape: t.shape, data: t.data });
    }
  }
  await mkdir(out, { recursive: true });
  await writeFileAtomic(join(out, 'config.json'), `${JSON.stringify(hfConfigFromBert(config), null, 2)}\n`);
  await writeFileAtomic(join(out, 'model.safetensors'), serializeSafetensors(tensors, { format: 'pt' }));
  const vocab = typeof settings['vocab'] === 'string' ? settings['vocab'] : null;
  if (vocab && existsSync(vocab)) await copyFile(vocab, join(out, 'vocab.txt'));
  return { out, step: checkpoint.state.step, tensors: tensors.length, expanded };
}

export function registerExportCommand(program: Command): void {
  program
    .command('export')
    .description('write a pretrain run (dense or block-sparse) as a dense Hugging Face BERT folder: config.json, model.safetensors, vocab.txt')
    .requiredOption('--run <dir>', 'the pretrain output folder (run.json, checkpoint.safetensors)')
    .requiredOption('--out <dir>', 'the folder to write')
    .action(async (flags: { run: string; out: string }) => {
      const result = await exportHfBert(flags.run, flags.out);
      process.stdout.write(`exported step ${result.step} to ${result.out}: ${result.tensors} tensors, ${result.expanded} block-sparse weights expanded with zeros\n`);
    });
}
