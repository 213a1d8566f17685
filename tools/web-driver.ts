// Drives the browser demo in headless Chromium (Debian's package, never a downloaded browser)
// through playwright-core: shared by the browser test (test/web/demo.test.ts) and the speed
// comparison (tools/web-bench.ts, `npm run demo:bench`).

import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { BrowserContext, Page } from 'playwright-core';

import type { GenerationOutput } from '../src/generate/language-model.js';

/** The Chromium executable: THRIFTY_CHROMIUM, else Debian's /usr/bin/chromium. */
export const CHROMIUM_PATH = process.env['THRIFTY_CHROMIUM'] ?? '/usr/bin/chromium';

export const CHROMIUM_ARGS: readonly string[] = [
  '--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
  '--disable-background-networking', '--disable-component-update', '--disable-sync',
];

/** Why Chromium cannot be driven here, or null when it can. */
export function chromiumMissing(): string | null {
  return existsSync(CHROMIUM_PATH) ? null : `chromium is not installed at ${CHROMIUM_PATH} (apt-get install chromium, or set THRIFTY_CHROMIUM)`;
}

export interface Chromium {
  readonly context: BrowserContext;
  close(): Promise<void>;
}

/** Starts headless Chromium with a fresh profile (removed on close). */
export async function launchChromium(): Promise<Chromium> {
  const { chromium } = await import('playwright-core');
  const profile = await mkdtemp(join(tmpdir(), 'thrifty-chromium-'));
  try {
    const context = await chromium.launchPersistentContext(profile, {
      executablePath: CHROMIUM_PATH,
      headless: true,
      args: [...CHROMIUM_ARGS],
      viewport: { width: 1280, height: 900 },
    });
    return {
      context,
      close: async () => {
        await context.close();
        await rm(profile, { recursive: true, force: true });
      },
    };
  } catch (error) {
    await rm(profile, { recursive: true, force: true });
    throw error;
  }
}

export interface DemoModelInfo {
  readonly engine: string;
  readonly pooled: boolean;
  readonly note: string;
  readonly isolated: boolean;
  readonly threadsUsed: number;
}

/** Opens the demo (query: settings such as threads=2) and waits until the model is loaded. */
export async function openDemo(context: BrowserContext, url: string, query: Record<string, string> = {}): Promise<{ page: Page; model: DemoModelInfo; errors: string[] }> {
  const page = await context.newPage();
  const errors: string[] = [];
  page.on('pageerror', (error) => errors.push(error.message));
  await page.goto(`${url}?${new URLSearchParams(query).toString()}`);
  await page.waitForFunction(() => ['ready', 'error'].includes(document.body.dataset['state'] ?? ''), null, { timeout: 60_000 });
  const state = await page.evaluate(() => ({ state: document.body.dataset['state'], status: document.getElementById('status')?.textContent ?? '' }));
  if (state.state !== 'ready') throw new Error(`the demo did not load its model: ${state.status} ${errors.join('; ')}`);
  const model = await page.evaluate(() => (globalThis as unknown as { thriftyDemo: { model: DemoModelInfo } }).thriftyDemo.model);
  return { page, model, errors };
}

export interface PageSettings {
  readonly prompt: string;
  readonly attention: string;
  /** As the page's select spells it: 1/2, 1/4, 1/8 or 1/16. */
  readonly compression: string;
  readonly recipe: 'even' | 'paper';
  readonly maxTokens: number;
  readonly temperature: number;
  readonly seed: number;
}

/** Fills the form as a user would, clicks Generate, and waits for the end. */
export async function generateInPage(page: Page, settings: PageSettings): Promise<{ text: string; shown: string; output: GenerationOutput }> {
  await page.fill('#prompt', settings.prompt);
  await page.selectOption('#attention', settings.attention);
  await page.selectOption('#compression', settings.compression);
  await page.selectOption('#recipe', settings.recipe);
  await page.fill('#max-tokens', String(settings.maxTokens));
  await page.fill('#temperature', String(settings.temperature));
  await page.fill('#seed', String(settings.seed));
  await page.click('#run');
  await page.waitForFunction(() => ['done', 'error'].includes(document.body.dataset['state'] ?? ''), null, { timeout: 120_000 });
  const result = await page.evaluate(() => ({
    state: document.body.dataset['state'],
    status: document.getElementById('status')?.textContent ?? '',
    shown: document.getElementById('output')?.textContent ?? '',
    demo: (globalThis as unknown as { thriftyDemo: { text: string; last: GenerationOutput | null } }).thriftyDemo,
  }));
  if (result.state !== 'done' || !result.demo.last) throw new Error(`generation in the page failed: ${result.status}`);
  return { text: result.demo.text, shown: result.shown, output: result.demo.last };
}
