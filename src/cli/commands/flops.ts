// `thrifty flops`: analytic FLOPs per training sequence of a BERT or GroupBERT size.

import { InvalidArgumentError, type Command } from 'commander';
import { parsePositiveInt, parseNumber } from '../args.js';

interface FlopsFlags {
  arch: string;
  size: string;
  seq: number;
  sparsity: number;
  vocab?: number;
  predicted?: number;
  json: boolean;
}

function parseSparsity(value: string): number {
  const s = parseNumber('--sparsity')(value);
  if (!(s >= 0 && s < 1)) throw new InvalidArgumentError(`--sparsity expects a number in [0, 1), got '${value}'`);
  return s;
}

function formatFlops(x: number): string {
  return x.toExponential(3);
}

export function registerFlopsCommand(program: Command): void {
  program
    .command('flops')
    .description('FLOPs per training sequence (forward + backward), non-embedding and total, of BERT or GroupBERT')
    .requiredOption('--arch <arch>', 'bert or groupbert')
    .requiredOption('--size <name>', 'size preset: tiny, mini, small, medium, base, micro-xs ... micro-xl')
    .option('--seq <n>', 'sequence length', parsePositiveInt('--seq'), 128)
    .option('--sparsity <s>', 'fraction of zero weights in the encoder layers (density f = 1 - s)', parseSparsity, 0)
    .option('--vocab <n>', 'vocabulary size (default: the preset\'s)', parsePositiveInt('--vocab'))
    .option('--predicted <n>', 'positions per sequence the masked-LM head runs on (default: all)', parsePositiveInt('--predicted'))
    .option('--json', 'print one JSON object', false)
    .action(async (flags: FlopsFlags) => {
      const { modelConfig, parseArchitecture, sizePreset } = await import('../../models/bert-presets.js');
      const { trainingFlops } = await import('../../models/flops.js');
      const arch = parseArchitecture(flags.arch, '--arch');
      const size = sizePreset(flags.size);
      const config = modelConfig(arch, size, { vocabSize: flags.vocab, maxPositions: Math.max(size.maxPositions, flags.seq) });
      const report = trainingFlops(arch, config, { seqLength: flags.seq, density: 1 - flags.sparsity, ...(flags.predicted !== undefined ? { predictedPositions: flags.predicted } : {}) });
      const summary = { size: size.name, layers: config.numLayers, hidden: config.hiddenSize, vocab: config.vocabSize, sparsity: flags.sparsity, ...report };
      if (flags.json) {
        process.stdout.write(`${JSON.stringify(summary)}\n`);
        return;
      }
      const lines = [
        `${arch} ${size.name}: L=${config.numLayers} H=${config.hiddenSize} heads=${config.numHeads} V=${config.vocabSize}, S=${flags.seq}, sparsity ${flags.sparsity}`,
        `  non-embedding parameters   ${report.nonEmbeddingParameters.toLocaleString('en-US')}`,
        `  embedding parameters       ${report.embeddingParameters.toLocaleString('en-US')}`,
        `  non-embedding train FLOPs  ${formatFlops(report.nonEmbeddingTrainFlopsPerSequence)} per sequence`,
        `  total train FLOPs          ${formatFlops(report.totalTrainFlopsPerSequence)} per sequence (head on ${report.predictedPositions} positions)`,
        '  forward FLOPs per sequence by module:',
        ...report.modules.map((m) => `    ${m.name.padEnd(10)} ${String(m.count).padStart(3)} x ${formatFlops(m.forwardFlops)}`),
      ];
      process.stdout.write(`${lines.join('\n')}\n`);
    });
}
