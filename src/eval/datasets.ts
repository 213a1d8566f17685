// Parsers of the evaluation datasets (no file system: src/node/eval-data.ts reads the files). Every
// parser takes the file's name for its errors, which name the file, the record and the field.

/** One SQuAD v1.1 question with its paragraph, as the Hugging Face `squad` rows give it. */
export interface SquadQuestion {
  readonly id: string;
  readonly title: string;
  readonly context: string;
  readonly question: string;
  readonly answers: readonly string[];
}

/** A TriviaQA question; `contexts` holds evidence texts (empty closed-book). */
export interface TriviaQuestion {
  readonly id: string;
  readonly question: string;
  readonly answers: readonly string[];
  readonly contexts: readonly string[];
}

export interface CnnArticle {
  readonly id: string;
  readonly article: string;
  readonly highlights: string;
}

function fail(file: string, where: string, what: string): never {
  throw new Error(`${file}: ${where}: ${what}`);
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function field(file: string, where: string, record: unknown, name: string): unknown {
  if (!isRecord(record)) fail(file, where, `expected an object, got ${JSON.stringify(record)?.slice(0, 40)}`);
  if (!(name in record)) fail(file, where, `missing field '${name}'`);
  return record[name];
}

function stringField(file: string, where: string, record: unknown, name: string): string {
  const value = field(file, where, record, name);
  if (typeof value !== 'string') fail(file, where, `field '${name}' must be a string, got ${typeof value}`);
  return value;
}

function arrayField(file: string, where: string, record: unknown, name: string): unknown[] {
  const value = field(file, where, record, name);
  if (!Array.isArray(value)) fail(file, where, `field '${name}' must be an array`);
  return value;
}

function parseJson(file: string, text: string, where = 'file'): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch (error) {
    return fail(file, where, `not valid JSON (${(error as Error).message})`);
  }
}

/** The non-empty lines of a JSON-lines file, parsed; errors name the line number. */
export function parseJsonLines(file: string, text: string): { line: number; value: unknown }[] {
  const rows: { line: number; value: unknown }[] = [];
  text.split('\n').forEach((raw, i) => {
    if (raw.trim() === '') return;
    rows.push({ line: i + 1, value: parseJson(file, raw, `line ${i + 1}`) });
  });
  return rows;
}

/** SQuAD v1.1 (the official dev-v1.1.json): questions in file order, as Hugging Face `squad` lists them. */
export function parseSquad(file: string, text: string): SquadQuestion[] {
  const root = parseJson(file, text);
  const articles = arrayField(file, 'top level', root, 'data');
  const out: SquadQuestion[] = [];
  articles.forEach((article, a) => {
    const where = `data[${a}]`;
    const title = stringField(file, where, article, 'title');
    arrayField(file, where, article, 'paragraphs').forEach((paragraph, p) => {
      const pWhere = `${where}.paragraphs[${p}]`;
      const context = stringField(file, pWhere, paragraph, 'context');
      arrayField(file, pWhere, paragraph, 'qas').forEach((qa, q) => {
        const qWhere = `${pWhere}.qas[${q}]`;
        const answers = arrayField(file, qWhere, qa, 'answers').map((answer, i) => stringField(file, `${qWhere}.answers[${i}]`, answer, 'text'));
        if (answers.length === 0) fail(file, qWhere, "field 'answers' is empty (SQuAD v1.1 questions all have answers)");
        out.push({ id: stringField(file, qWhere, qa, 'id'), title, context, question: stringField(file, qWhere, qa, 'question'), answers });
      });
    });
  });
  if (out.length === 0) fail(file, 'top level', 'no questions');
  return out;
}

/** TriviaQA without evidence, one JSON object a line: {id, question, golden_answers: [aliases]}. */
export function parseTriviaQaClosedBook(file: string, text: string): TriviaQuestion[] {
  const rows = parseJsonLines(file, text).map(({ line, value }) => {
    const where = `line ${line}`;
    const answers = arrayField(file, where, value, 'golden_answers');
    answers.forEach((a, i) => typeof a === 'string' || fail(file, where, `golden_answers[${i}] must be a string`));
    if (answers.length === 0) fail(file, where, "field 'golden_answers' is empty");
    return { id: stringField(file, where, value, 'id'), question: stringField(file, where, value, 'question'), answers: answers as string[], contexts: [] };
  });
  if (rows.length === 0) fail(file, 'file', 'no questions');
  return rows;
}

/** A question of the official TriviaQA rc schema, before its evidence files are read. */
export interface TriviaRcQuestion {
  readonly id: string;
  readonly question: string;
  /** Answer.Aliases (what Hugging Face `trivia_qa` calls answer.aliases). */
  readonly answers: readonly string[];
  /** EntityPages[].Filename: Wikipedia evidence, relative to evidence/wikipedia/. */
  readonly wikipediaFiles: readonly string[];
  /** SearchResults[].Filename: web evidence, relative to evidence/web/. */
  readonly webFiles: readonly string[];
}

/** The official TriviaQA rc JSON ({Data: [{Question, QuestionId, Answer: {Aliases}, EntityPages, SearchResults}]}). */
export function parseTriviaQaRc(file: string, text: string): TriviaRcQuestion[] {
  const root = parseJson(file, text);
  return arrayField(file, 'top level', root, 'Data').map((row, i) => {
    const where = `Data[${i}]`;
    const answer = field(file, where, row, 'Answer');
    const aliases = arrayField(file, `${where}.Answer`, answer, 'Aliases');
    aliases.forEach((a, j) => typeof a === 'string' || fail(file, `${where}.Answer`, `Aliases[${j}] must be a string`));
    const files = (name: string): string[] => {
      if (!isRecord(row) || !(name in row)) return [];
      return arrayField(file, where, row, name).map((entry, j) => stringField(file, `${where}.${name}[${j}]`, entry, 'Filename'));
    };
    return {
      id: stringField(file, where, row, 'QuestionId'),
      question: stringField(file, where, row, 'Question'),
      answers: aliases as string[],
      wikipediaFiles: files('EntityPages'),
      webFiles: files('SearchResults'),
    };
  });
}

/** CNN/DailyMail 3.0.0 rows, one JSON object a line: {article, highlights, id}. */
export function parseCnnDailyMail(file: string, text: string): CnnArticle[] {
  const rows = parseJsonLines(file, text).map(({ line, value }) => {
    const where = `line ${line}`;
    return { id: stringField(file, where, value, 'id'), article: stringField(file, where, value, 'article'), highlights: stringField(file, where, value, 'highlights') };
  });
  if (rows.length === 0) fail(file, 'file', 'no articles');
  return rows;
}

/**
 * The articles of a WikiText raw file (original line layout): a new article starts at each
 * level-one heading line " = Title = " (level two is " = = Section = = "). Each page is its lines
 * joined as they stand, heading included, as EleutherAI/wikitext_document_level's `page` field
 * (the reference's source) holds them.
 */
export function splitWikiTextArticles(file: string, text: string): string[] {
  const lines = text.split(/(?<=\n)/);
  const pages: string[] = [];
  let current: string[] = [];
  const heading = /^ = [^=].* = \n?$/;
  for (const line of lines) {
    if (heading.test(line) && current.some((l) => l.trim() !== '')) {
      pages.push(current.join(''));
      current = [];
    }
    current.push(line);
  }
  if (current.some((l) => l.trim() !== '')) pages.push(current.join(''));
  if (pages.length === 0) fail(file, 'file', 'no WikiText articles (no text)');
  return pages;
}

/** Splits text files of a filler corpus into documents: a file is one document, trimmed; empty files are skipped. */
export function fillerDocuments(files: readonly { name: string; text: string }[]): string[] {
  const docs = files.map((f) => f.text.trim()).filter((t) => t.length > 0);
  if (docs.length === 0) throw new Error(`needle filler: no text in ${files.map((f) => f.name).join(', ') || 'no files'}`);
  return docs;
}
