// Reads the evaluation datasets from the data folder (../shared/data or THRIFTY_DATA_DIR); parsing
// is in src/eval/datasets.ts. Paths are relative to the data folder, as its README lists them.

import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';

import {
  fillerDocuments,
  parseCnnDailyMail,
  parseSquad,
  parseTriviaQaClosedBook,
  parseTriviaQaRc,
  splitWikiTextArticles,
  type CnnArticle,
  type SquadQuestion,
  type TriviaQuestion,
} from '../eval/datasets.js';
import { defaultDataDir } from './data-dir.js';

export const EVAL_DATA_FILES = {
  squad: 'qa/squad-v1.1/dev-v1.1.json.gz',
  triviaqa: 'qa/triviaqa/triviaqa_test_subsample_1000.jsonl',
  cnndm: 'qa/cnn_dailymail/cnn_validation_15.jsonl',
  wikitext: 'text/wikitext-2-raw/wiki.test.raw',
  shakespeare: 'text/tinyshakespeare/input.txt',
  needleFiller: 'text/public-domain-en/philosophy-essays',
} as const;

async function readText(path: string): Promise<string> {
  try {
    const bytes = await readFile(path);
    return new TextDecoder('utf-8', { fatal: true }).decode(path.endsWith('.gz') ? gunzipSync(bytes) : bytes);
  } catch (error) {
    const e = error as NodeJS.ErrnoException;
    if (e.code === 'ENOENT') throw new Error(`${path}: not found (set THRIFTY_DATA_DIR or --data-dir to the folder holding ${path.split('/').slice(-3).join('/')})`);
    throw new Error(`${path}: ${e.message}`);
  }
}

export async function readSquad(dataDir = defaultDataDir(), file: string = EVAL_DATA_FILES.squad): Promise<SquadQuestion[]> {
  const path = join(dataDir, file);
  return parseSquad(path, await readText(path));
}

export async function readTriviaQaClosedBook(dataDir = defaultDataDir(), file: string = EVAL_DATA_FILES.triviaqa): Promise<TriviaQuestion[]> {
  const path = join(dataDir, file);
  return parseTriviaQaClosedBook(path, await readText(path));
}

/**
 * TriviaQA rc: the official question JSON and its evidence folder (holding wikipedia/ and web/);
 * each question's contexts are its Wikipedia pages (source 'wiki', as the paper) or web results.
 */
export async function readTriviaQaRc(questionsPath: string, evidenceDir: string, source: 'wiki' | 'search' = 'wiki'): Promise<TriviaQuestion[]> {
  const questions = parseTriviaQaRc(questionsPath, await readText(questionsPath));
  const out: TriviaQuestion[] = [];
  for (const q of questions) {
    const files = source === 'wiki' ? q.wikipediaFiles.map((f) => join(evidenceDir, 'wikipedia', f)) : q.webFiles.map((f) => join(evidenceDir, 'web', f));
    const contexts: string[] = [];
    for (const f of files) contexts.push(await readText(f));
    out.push({ id: q.id, question: q.question, answers: q.answers, contexts });
  }
  return out;
}

export async function readCnnDailyMail(dataDir = defaultDataDir(), file: string = EVAL_DATA_FILES.cnndm): Promise<CnnArticle[]> {
  const path = join(dataDir, file);
  return parseCnnDailyMail(path, await readText(path));
}

export async function readWikiTextArticles(dataDir = defaultDataDir(), file: string = EVAL_DATA_FILES.wikitext): Promise<string[]> {
  const path = join(dataDir, file);
  return splitWikiTextArticles(path, await readText(path));
}

/** A UTF-8 text file (e.g. the text `thrifty eval --text` gives the repetition task). */
export async function readTextFile(path: string): Promise<string> {
  return readText(path);
}

export async function readShakespeare(dataDir = defaultDataDir(), file: string = EVAL_DATA_FILES.shakespeare): Promise<string> {
  return readText(join(dataDir, file));
}

/** The .txt files of a folder (sorted by name), one document each: the needle's filler. */
export async function readNeedleFiller(dataDir = defaultDataDir(), folder: string = EVAL_DATA_FILES.needleFiller): Promise<string[]> {
  const dir = join(dataDir, folder);
  let names: string[];
  try {
    names = (await readdir(dir)).filter((n) => n.endsWith('.txt')).sort();
  } catch {
    throw new Error(`${dir}: not a readable folder of .txt files (needle filler)`);
  }
  const files = await Promise.all(names.map(async (name) => ({ name: join(dir, name), text: await readText(join(dir, name)) })));
  return fillerDocuments(files);
}
