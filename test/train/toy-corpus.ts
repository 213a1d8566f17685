// A corpus for the experiment tests: documents of ten short sentences over a ten-word vocabulary.

import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';

const WORDS = ['river', 'stone', 'light', 'window', 'garden', 'winter', 'letter', 'soldier', 'village', 'evening'];

export function documentText(d: number): string {
  const sentences: string[] = [];
  for (let s = 0; s < 10; s++) {
    const w = (k: number): string => WORDS[(d * 7 + s * 3 + k) % WORDS.length]!;
    sentences.push(`The ${w(0)} by the ${w(1)} saw a ${w(2)} in the ${w(3)}.`);
  }
  return sentences.join(' ');
}

/** Writes `documents` documents as d0.txt, d1.txt, ... into `<dir>/corpus`; returns that folder. */
export async function writeToyCorpus(dir: string, documents = 12): Promise<string> {
  const corpus = join(dir, 'corpus');
  await mkdir(corpus);
  for (let d = 0; d < documents; d++) await writeFile(join(corpus, `d${d}.txt`), documentText(d));
  return corpus;
}
