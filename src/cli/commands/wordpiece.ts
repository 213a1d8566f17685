// `thrifty wordpiece train|encode`: learn a WordPiece vocabulary from a corpus, and tokenize text
// with a vocab.txt (BERT's tokenizer, as Hugging Face's BertTokenizer).

import type { Command } from 'commander';
import { parsePositiveInt } from '../args.js';

export interface WordPieceTrainFlags {
  corpus: string;
  out: string;
  vocabSize: number;
  minFrequency: number;
  limitAlphabet?: number;
  lowercase: boolean;
}

export interface WordPieceEncodeFlags {
  vocab: string;
  lowercase: boolean;
  json: boolean;
}

export interface TextSink {
  write(text: string): unknown;
}

/** Learns a vocabulary and writes vocab.txt; prints a one-line summary. */
export async function runWordPieceTrain(flags: WordPieceTrainFlags, out: TextSink = process.stdout): Promise<void> {
  const { readCorpusFiles, saveWordPieceVocab } = await import('../../node/corpus-files.js');
  const { trainWordPiece } = await import('../../text/wordpiece-trainer.js');
  const start = performance.now();
  const files = await readCorpusFiles(flags.corpus);
  const trained = trainWordPiece(
    files.map((f) => f.text),
    {
      vocabSize: flags.vocabSize,
      minFrequency: flags.minFrequency,
      lowercase: flags.lowercase,
      ...(flags.limitAlphabet === undefined ? {} : { limitAlphabet: flags.limitAlphabet }),
    },
  );
  await saveWordPieceVocab(flags.out, trained.vocab);
  const seconds = (performance.now() - start) / 1000;
  out.write(
    `${flags.out}: ${trained.vocab.length} tokens (${trained.alphabetSize} alphabet, ${trained.merges} merges) ` +
      `from ${trained.distinctWords} distinct words in ${files.length} file(s), ${seconds.toFixed(2)} s\n`,
  );
}

/** Tokenizes `text`: one line of tokens, or JSON {tokens, ids} with --json. */
export async function runWordPieceEncode(text: string, flags: WordPieceEncodeFlags, out: TextSink = process.stdout): Promise<void> {
  const { loadWordPieceVocab } = await import('../../node/corpus-files.js');
  const tokenizer = await loadWordPieceVocab(flags.vocab, { lowercase: flags.lowercase });
  const ids = [...tokenizer.encode(text)];
  const tokens = ids.map((id) => tokenizer.idToToken(id));
  out.write(flags.json ? `${JSON.stringify({ tokens, ids })}\n` : `${tokens.join(' ')}\n`);
}

/** `out` is where results are printed (standard output; tests pass their own). */
export function registerWordPieceCommand(program: Command, out: TextSink = process.stdout): void {
  const group = program.command('wordpiece').description('WordPiece vocabularies (BERT): learn one from a corpus, tokenize text');
  group
    .command('train')
    .description('learn a WordPiece vocabulary from a text file or folder and write vocab.txt')
    .requiredOption('--corpus <path>', 'a text file or a folder of .txt/.raw files')
    .requiredOption('--out <file>', 'the vocab.txt to write')
    .option('--vocab-size <n>', 'tokens in the vocabulary, special tokens included', parsePositiveInt('--vocab-size'), 8000)
    .option('--min-frequency <n>', 'never merge pairs seen fewer times', parsePositiveInt('--min-frequency'), 2)
    .option('--limit-alphabet <n>', 'keep only the n most frequent characters', parsePositiveInt('--limit-alphabet'))
    .option('--no-lowercase', 'keep case and accents (a cased vocabulary)')
    .action(async (flags: WordPieceTrainFlags) => runWordPieceTrain(flags, out));
  group
    .command('encode')
    .description('tokenize text with a vocab.txt, as BERT does')
    .argument('<text>', 'the text to tokenize')
    .requiredOption('--vocab <file>', 'a vocab.txt, e.g. ../shared/data/tokenizers/bert-base-uncased/vocab.txt')
    .option('--no-lowercase', 'keep case and accents (cased vocabularies)')
    .option('--json', 'print {"tokens": [...], "ids": [...]}', false)
    .action(async (text: string, flags: WordPieceEncodeFlags) => runWordPieceEncode(text, flags, out));
}
