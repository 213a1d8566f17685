// A small corpus with learnable regularities for pre-training tests: templated sentences.

import { Rng } from '../../src/tensor/rng.js';

/** `documents` documents of 12 templated sentences each, drawn with `seed`. */
export function syntheticDocuments(documents: number, seed: number): string[] {
  const rng = new Rng(seed);
  const pick = <T>(xs: readonly T[]): T => xs[rng.int(xs.length)]!;
  const animals = ['fox', 'dog', 'cat', 'horse', 'bird', 'mouse'];
  const colours = ['red', 'brown', 'black', 'white', 'grey'];
  const verbs = ['jumps over', 'runs past', 'looks at', 'sleeps near'];
  const docs: string[] = [];
  for (let d = 0; d < documents; d++) {
    const sentences: string[] = [];
    for (let s = 0; s < 12; s++) sentences.push(`The ${pick(colours)} ${pick(animals)} ${pick(verbs)} the lazy ${pick(animals)}.`);
    docs.push(sentences.join(' '));
  }
  return docs;
}
