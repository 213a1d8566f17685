// The browser demo in a real browser: headless Chromium (Debian's package) loads the page from
// `npm run demo`'s server, generates with fixed seeds through the form, and the text equals
// `thrifty generate`'s for the same settings: on the Web Worker pool (cross-origin isolated), and
// on one thread where the server sends no isolation headers (the page says so). A screenshot is
// kept under runs/test-artifacts/. Without Chromium the tests skip with one line (CI, with
// THRIFTY_REQUIRE_DATA=1, fails instead; .ci/run installs it).

import assert from 'node:assert/strict';
import { mkdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { test, type TestContext } from 'node:test';

import { runGenerate, type GenerateCommandOptions } from '../../src/cli/commands/generate.js';
import { repoRoot } from '../../src/node/data-dir.js';
import { startDemoServer, type DemoServer } from '../../tools/demo-server.js';
import { chromiumMissing, generateInPage, launchChromium, openDemo, type Chromium, type PageSettings } from '../../tools/web-driver.js';
import { dataFileOrSkip, skipForMissingData } from '../helpers/data.js';

interface Env {
  readonly browser: Chromium;
  readonly isolated: DemoServer;
  readonly plain: DemoServer;
}

async function cliText(settings: PageSettings, threads: number): Promise<string> {
  const [num, den] = settings.compression.split('/').map(Number);
  const options: GenerateCommandOptions = {
    prompt: settings.prompt, maxTokens: settings.maxTokens, temperature: settings.temperature, topP: 0.9, sampleTopK: 0,
    seed: settings.seed, attention: settings.attention, batch: 1, stats: 'none', threads,
    // The page always has a compression and a recipe; the CLI takes them only where they apply.
    ...(settings.attention === 'dense' ? {} : { compression: num! / den! }),
    ...(settings.attention === 'sparq' ? { recipe: settings.recipe } : {}),
  };
  let out = '';
  await runGenerate(options, { write: (text: string) => (out += text) }, { write: () => true });
  return out;
}

const SPARQ: PageSettings = { prompt: 'ROMEO:', attention: 'sparq', compression: '1/4', recipe: 'even', maxTokens: 60, temperature: 1, seed: 1 };

async function pooled(t: TestContext, env: Env): Promise<void> {
  const { page, model, errors } = await openDemo(env.browser.context, env.isolated.url, { threads: '2' });
  try {
    assert.equal(model.isolated, true);
    assert.equal(model.pooled, true, model.note);
    assert.equal(model.threadsUsed, 2);
    const run = await generateInPage(page, SPARQ);
    assert.equal(`${run.text}\n`, await cliText(SPARQ, 2));
    assert.equal(run.shown, run.text, 'the page shows the prompt and the continuation');
    assert.equal(run.output.attentionSpec.kind, 'sparq');
    assert.ok(run.output.stats.attention.ratio > 0 && run.output.stats.attention.ratio < 1);
    // The live panel shows the saving the statistics report.
    const ratioShown = await page.textContent('#s-ratio');
    assert.equal(ratioShown, `${(run.output.stats.attention.ratio * 100).toFixed(1)}%`);
    assert.match((await page.textContent('#engine')) ?? '', /worker pool of 2 threads/);
    const dir = join(repoRoot(), 'runs', 'test-artifacts');
    await mkdir(dir, { recursive: true });
    const shot = join(dir, 'web-demo.png');
    await page.screenshot({ path: shot, fullPage: true });
    t.diagnostic(`screenshot: ${shot}`);
    console.log(`# web demo screenshot: ${shot}`);
    assert.deepEqual(errors, []);
  } finally {
    await page.close();
  }
}

async function oneThread(env: Env): Promise<void> {
  const { page } = await openDemo(env.browser.context, env.isolated.url, { threads: '1' });
  try {
    for (const settings of [
      { ...SPARQ, prompt: 'JULIET:', attention: 'dense', temperature: 0, maxTokens: 40 },
      { ...SPARQ, prompt: 'KING HENRY:', attention: 'h2o', compression: '1/8', seed: 5, maxTokens: 40 },
    ]) {
      const run = await generateInPage(page, settings);
      assert.equal(`${run.text}\n`, await cliText(settings, 1), settings.attention);
    }
  } finally {
    await page.close();
  }
}

async function notIsolated(env: Env): Promise<void> {
  const { page, model } = await openDemo(env.browser.context, env.plain.url, { threads: '2' });
  try {
    assert.equal(model.isolated, false);
    assert.equal(model.pooled, false);
    assert.equal(model.threadsUsed, 1);
    assert.match((await page.textContent('#engine')) ?? '', /not cross-origin isolated/);
    const run = await generateInPage(page, SPARQ);
    assert.equal(`${run.text}\n`, await cliText(SPARQ, 1));
  } finally {
    await page.close();
  }
}

async function infoplaneTab(env: Env): Promise<void> {
  const { page } = await openDemo(env.browser.context, env.isolated.url, { threads: '1' });
  try {
    await page.click('#tab-infoplane');
    await page.fill('#ip-epochs', '8');
    await page.click('#ip-run');
    await page.waitForFunction(() => ['report', 'error'].includes(document.body.dataset['state'] ?? ''), null, { timeout: 120_000 });
    assert.equal(await page.evaluate(() => document.body.dataset['state']), 'report', (await page.textContent('#ip-status')) ?? '');
    const frame = page.frameLocator('#report');
    assert.match((await frame.locator('h1').first().textContent()) ?? '', /Information plane: ib12/);
    assert.ok(await frame.locator('svg').count() > 0, 'the report has its plots');
  } finally {
    await page.close();
  }
}

/** A GGUF chosen with the page's file input replaces the bundled model: stories260K greedy is llama2.c's text. */
async function droppedGguf(t: TestContext, env: Env): Promise<void> {
  const expectedPath = dataFileOrSkip(t, 'llm/stories260K/expected_greedy_t0_n200.txt');
  if (!expectedPath) return;
  const { page } = await openDemo(env.browser.context, env.isolated.url, { threads: '1' });
  try {
    await page.setInputFiles('#file', join(expectedPath, '..', 'stories260K.gguf'));
    await page.waitForFunction(() => document.getElementById('engine')?.textContent?.includes('stories260K.gguf') === true, null, { timeout: 60_000 });
    const run = await generateInPage(page, { prompt: '', attention: 'dense', compression: '1/4', recipe: 'even', maxTokens: 200, temperature: 0, seed: 0 });
    assert.equal(`${run.text}\n`, await readFile(expectedPath, 'utf8'));
  } finally {
    await page.close();
  }
}

test('the browser demo in headless Chromium', async (t) => {
  const missing = chromiumMissing();
  if (missing) {
    skipForMissingData(t, missing);
    return;
  }
  const isolated = await startDemoServer({ port: 0 });
  const plain = await startDemoServer({ port: 0, isolation: false });
  let browser: Chromium | null = null;
  try {
    browser = await launchChromium();
    const env: Env = { browser, isolated, plain };
    await t.test('cross-origin isolated: the worker pool generates the CLI\'s text for the same seed (SparQ 1/4, 2 threads); screenshot kept', (st) => pooled(st, env));
    await t.test('greedy dense and H2O on one thread: the CLI\'s text', () => oneThread(env));
    await t.test('without isolation headers: one thread, said on the page, the same text', () => notIsolated(env));
    await t.test('a GGUF chosen on the page (stories260K, greedy, 200 tokens from BOS): llama2.c\'s text', (st) => droppedGguf(st, env));
    await t.test('the information-plane tab runs a small experiment in the page and shows the report', () => infoplaneTab(env));
  } finally {
    await browser?.close();
    await isolated.close();
    await plain.close();
  }
});
