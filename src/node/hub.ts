// Hugging Face hub downloads: `hf:ORG/NAME[@revision][/path/in/repo.gguf]` fetched into a cache
// folder with the hub's URL layout `${endpoint}/${repo}/resolve/${revision}/${file}`.
// - Resumable: bytes land in `<file>.partial`; a retry (in the same call, or a later run) asks for
//   the rest with an HTTP Range request. A server that ignores Range restarts the file.
// - Verified: the size against `x-linked-size` / Content-Length, and the sha256 against
//   `x-linked-etag` / ETag when that is a 64-hex digest (the hub's LFS files). A mismatch deletes
//   the partial file and fails.
// - Atomic: a file appears under its name only once complete and verified (fsync, then rename).
// - Offline: a file already in the cache is never fetched again, so a complete cache works with no
//   network; HF_HUB_OFFLINE=1 (or `offline`) forbids the network outright. A cached model that
//   fails to open is fetched again once (src/node/model-files.ts, removeCachedHubModel).
// - Bounded: one process at a time writes a file's partial (a `<file>.lock` beside it; others
//   wait, then use the finished file); the size is checked on the file on disk, a body longer than
//   announced is cut at the announced size and refused; connect and idle timeouts; redirects only
//   to http(s), and one to another host only with the hub's x-linked-size.
// Cache layout: `${cacheDir}/models--ORG--NAME/${revision}/${file}`. A moving revision (`main`)
// is pinned to what was fetched first; delete the folder to refresh it.
// Settings: THRIFTY_HUB_CACHE (default ~/.cache/thrifty/hub), HF_ENDPOINT (default
// https://huggingface.co), HF_TOKEN (sent only to the endpoint's host), HF_HUB_OFFLINE.

import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { mkdir, open, readFile, rename, rm, rmdir, stat, truncate, unlink } from 'node:fs/promises';
import { homedir } from 'node:os';
import { dirname, join, resolve, sep } from 'node:path';

import { ProgressBar, type ProgressStream } from './progress.js';
import { parseSafetensorsIndex } from '../io/hf-folder.js';

export interface HubModelSpec {
  /** ORG/NAME. */
  readonly repo: string;
  readonly revision: string;
  /** A single file to fetch (e.g. a .gguf); null for a model folder. */
  readonly file: string | null;
}

const REPO_PART = /^[A-Za-z0-9][A-Za-z0-9._-]*$/;

/** Parses `hf:ORG/NAME[@revision][/path/to/file]`. */
export function parseHubSpec(spec: string): HubModelSpec {
  if (!spec.startsWith('hf:')) throw new Error(`model spec '${spec}' must start with 'hf:' (hf:ORG/NAME[@revision][/file])`);
  const body = spec.slice(3);
  const parts = body.split('/');
  if (parts.length < 2) throw new Error(`model spec '${spec}': expected hf:ORG/NAME[@revision][/file]`);
  const org = parts[0]!;
  let name = parts[1]!;
  let revision = 'main';
  const at = name.indexOf('@');
  if (at >= 0) {
    revision = name.slice(at + 1);
    name = name.slice(0, at);
    if (revision.length === 0) throw new Error(`model spec '${spec}': empty revision after '@'`);
  }
  for (const [what, value] of [['organisation', org], ['repository name', name]] as const) {
    if (!REPO_PART.test(value) || value.includes('..')) throw new Error(`model spec '${spec}': invalid ${what} '${value}'`);
  }
  if (revision.includes('..')) throw new Error(`model spec '${spec}': invalid revision '${revision}'`);
  const file = parts.length > 2 ? parts.slice(2).join('/') : null;
  if (file !== null) checkRepoPath(file, spec);
  return { repo: `${org}/${name}`, revision, file };
}

function checkRepoPath(file: string, where: string): void {
  if (file.length === 0 || file.startsWith('/') || file.split('/').some((s) => s === '' || s === '.' || s === '..') || file.includes('\\')) {
    throw new Error(`${where}: '${file}' is not a valid file path inside the repository`);
  }
}

export interface HubOptions {
  /** Default: THRIFTY_HUB_CACHE, else ~/.cache/thrifty/hub. */
  readonly cacheDir?: string;
  /** Default: HF_ENDPOINT, else https://huggingface.co. */
  readonly endpoint?: string;
  /** Default: HF_TOKEN. Sent only to the endpoint's own host, never to a redirect target elsewhere. */
  readonly token?: string;
  /** No network at all (default: HF_HUB_OFFLINE=1). */
  readonly offline?: boolean;
  /** Tries per file after a network error or 5xx, each resuming the partial file (default 4). */
  readonly attempts?: number;
  /** Wait before retry n is n times this (default 500 ms). */
  readonly retryDelayMs?: number;
  /** Progress bar stream (a bar shows only on a TTY); null for none. Default process.stderr. */
  readonly progress?: ProgressStream | null;
  /** One line per file fetched; default silent. */
  readonly log?: (line: string) => void;
  /** Until the response headers arrive (default 30 s). */
  readonly connectTimeoutMs?: number;
  /** Between two pieces of a body (default 60 s). */
  readonly idleTimeoutMs?: number;
  /** How long to wait for another process downloading the same file (default 30 min). */
  readonly lockTimeoutMs?: number;
}

interface ResolvedOptions {
  readonly cacheDir: string;
  readonly endpoint: string;
  readonly token: string | undefined;
  readonly offline: boolean;
  readonly attempts: number;
  readonly retryDelayMs: number;
  readonly progress: ProgressStream | null;
  readonly log: (line: string) => void;
  readonly connectTimeoutMs: number;
  readonly idleTimeoutMs: number;
  readonly lockTimeoutMs: number;
}

export function defaultHubCacheDir(): string {
  return process.env['THRIFTY_HUB_CACHE'] || join(homedir(), '.cache', 'thrifty', 'hub');
}

function resolveOptions(options: HubOptions): ResolvedOptions {
  const offlineEnv = process.env['HF_HUB_OFFLINE'];
  return {
    cacheDir: options.cacheDir ?? defaultHubCacheDir(),
    endpoint: (options.endpoint ?? (process.env['HF_ENDPOINT'] || 'https://huggingface.co')).replace(/\/+$/, ''),
    token: options.token ?? (process.env['HF_TOKEN'] || undefined),
    offline: options.offline ?? (offlineEnv === '1' || offlineEnv === 'true'),
    attempts: Math.max(1, options.attempts ?? 4),
    retryDelayMs: options.retryDelayMs ?? 500,
    progress: options.progress === undefined ? process.stderr : options.progress,
    log: options.log ?? (() => undefined),
    connectTimeoutMs: options.connectTimeoutMs ?? 30_000,
    idleTimeoutMs: options.idleTimeoutMs ?? 60_000,
    lockTimeoutMs: options.lockTimeoutMs ?? 30 * 60_000,
  };
}

/** The cache folder of one repository revision. */
export function hubRevisionDir(repo: string, revision: string, cacheDir = defaultHubCacheDir()): string {
  return join(cacheDir, `models--${repo.replace('/', '--')}`, encodeURIComponent(revision));
}

export function hubFileUrl(endpoint: string, repo: string, revision: string, file: string): string {
  const path = file.split('/').map(encodeURIComponent).join('/');
  return `${endpoint.replace(/\/+$/, '')}/${repo}/resolve/${encodeURIComponent(revision)}/${path}`;
}

/** The file is not on the hub (HTTP 404): callers use it to try an alternative file. */
export class HubFileNotFoundError extends Error {}

async function exists(path: string): Promise<boolean> {
  try {
    await stat(path);
    return true;
  } catch {
    return false;
  }
}

async function fileSize(path: string): Promise<number> {
  try {
    return (await stat(path)).size;
  } catch {
    return 0;
  }
}

async function sha256OfFile(path: string): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(path)) hash.update(chunk as Buffer);
  return hash.digest('hex');
}

/** A 64-hex sha256 from an ETag-style header (quotes and W/ stripped), or null. */
export function sha256FromEtag(value: string | null): string | null {
  if (!value) return null;
  const bare = value.replace(/^W\//, '').replace(/^"|"$/g, '').toLowerCase();
  return /^[0-9a-f]{64}$/.test(bare) ? bare : null;
}

interface FetchResult {
  readonly response: Response;
  /** From the hub's responses (not the CDN's): the LFS file's size and sha256. */
  readonly linkedSize: number | null;
  readonly linkedSha256: string | null;
}

const REDIRECTS = new Set([301, 302, 303, 307, 308]);

async function fetchFollowing(url: string, headers: Record<string, string>, o: ResolvedOptions, abort: AbortController): Promise<FetchResult> {
  const endpointHost = new URL(o.endpoint).host;
  let current = url;
  let linkedSize: number | null = null;
  let linkedSha256: string | null = null;
  for (let hop = 0; hop < 6; hop++) {
    const sameHost = new URL(current).host === endpointHost;
    const h: Record<string, string> = { ...headers };
    if (o.token && sameHost) h['authorization'] = `Bearer ${o.token}`;
    const response = await fetchWithConnectTimeout(current, h, o.connectTimeoutMs, abort);
    // The hub's own responses carry the LFS metadata; a CDN's (after a cross-host redirect) do not.
    if (sameHost) {
      const size = response.headers.get('x-linked-size');
      if (linkedSize === null && size !== null && /^\d+$/.test(size)) linkedSize = Number(size);
      linkedSha256 ??= sha256FromEtag(response.headers.get('x-linked-etag')) ?? sha256FromEtag(response.headers.get('etag'));
    }
    if (!REDIRECTS.has(response.status)) return { response, linkedSize, linkedSha256 };
    const location = response.headers.get('location');
    await response.body?.cancel();
    if (!location) throw new Error(`${current}: HTTP ${response.status} redirect without a Location header`);
    const next = new URL(location, current);
    if (next.protocol !== 'http:' && next.protocol !== 'https:') throw new HubRefusedError(`${current}: redirect to a ${next.protocol} URL refused (only http and https)`);
    // Another host (a CDN) is trusted only with the hub's own record of the file's size.
    if (next.host !== endpointHost && linkedSize === null) throw new HubRefusedError(`${current}: redirect to another host (${next.host}) without the hub's x-linked-size refused`);
    current = next.toString();
  }
  throw new Error(`${url}: too many redirects`);
}

/**
 * A fetch that gives up when the response headers take longer than `timeoutMs`. `abort` also
 * governs the body: aborting it later (the idle timeout) errors a read that would wait forever.
 */
async function fetchWithConnectTimeout(url: string, headers: Record<string, string>, timeoutMs: number, abort: AbortController): Promise<Response> {
  const timer = setTimeout(() => abort.abort(new Error(`no response within ${timeoutMs} ms`)), timeoutMs);
  try {
    return await fetch(url, { headers, redirect: 'manual', signal: abort.signal });
  } catch (error) {
    if (abort.signal.aborted) throw new Error(`no response within ${timeoutMs} ms (connect timeout)`);
    throw error;
  } finally {
    clearTimeout(timer);
  }
}

/** The next piece of a body, or a rejection after `timeoutMs` of silence (the request is aborted then). */
async function nextWithin<T>(iterator: AsyncIterator<T>, timeoutMs: number, abort: AbortController): Promise<IteratorResult<T>> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      reject(new Error(`no data for ${timeoutMs} ms (idle timeout)`)); // settles the race first
      abort.abort();
    }, timeoutMs);
  });
  try {
    return await Promise.race([iterator.next(), timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/** fetch() reports 'fetch failed'; the reason (ECONNREFUSED, ENOTFOUND...) is down its cause chain. */
function describeNetworkError(error: unknown): string {
  if (!(error instanceof Error)) return String(error);
  const codes = new Set<string>();
  const visit = (e: unknown, depth: number): void => {
    if (depth > 4 || typeof e !== 'object' || e === null) return;
    const code = (e as { code?: unknown }).code;
    if (typeof code === 'string') codes.add(code);
    visit((e as { cause?: unknown }).cause, depth + 1);
    const errors = (e as { errors?: unknown }).errors;
    if (Array.isArray(errors)) for (const inner of errors) visit(inner, depth + 1);
  };
  visit(error, 0);
  if (codes.size > 0) return `${error.message} (${[...codes].join(', ')})`;
  const cause = (error as { cause?: unknown }).cause;
  return cause instanceof Error ? `${error.message} (${cause.message})` : error.message;
}

class RetryableError extends Error {}

/** A response the client will not follow or keep (a bad redirect, a body past its size): not retried. */
class HubRefusedError extends Error {}

/**
 * Makes sure `file` of `repo@revision` is in the cache and returns its path. A cached file is
 * returned without touching the network.
 */
export async function downloadHubFile(repo: string, revision: string, file: string, options: HubOptions = {}): Promise<string> {
  const o = resolveOptions(options);
  checkRepoPath(file, `hf:${repo}@${revision}`);
  const dest = join(hubRevisionDir(repo, revision, o.cacheDir), ...file.split('/'));
  if (await exists(dest)) return dest;
  const url = hubFileUrl(o.endpoint, repo, revision, file);
  const label = `hf:${repo}@${revision}/${file}`;
  if (o.offline) {
    throw new Error(`${label}: not in the cache (${dest}) and offline mode is on (HF_HUB_OFFLINE); run once with network access to fetch it`);
  }
  await mkdir(dirname(dest), { recursive: true });
  try {
    return await downloadLocked(url, dest, label, o);
  } catch (error) {
    // A failed download leaves no empty folders in the cache (a kept partial file keeps its folder).
    await removeEmptyFolders(dirname(dest), o.cacheDir);
    throw error;
  }
}

/** Removes `folder` and its parents up to (not including) `root` while they are empty. */
async function removeEmptyFolders(folder: string, root: string): Promise<void> {
  const stop = resolve(root);
  for (let dir = resolve(folder); dir !== stop && dir.startsWith(`${stop}${sep}`); dir = dirname(dir)) {
    try {
      await rmdir(dir);
    } catch {
      return; // not empty (or already gone): its parents are not empty either
    }
  }
}

async function downloadLocked(url: string, dest: string, label: string, o: ResolvedOptions): Promise<string> {
  const release = await acquireFileLock(`${dest}.lock`, dest, label, o.lockTimeoutMs);
  if (release === null) return dest; // another process finished it while we waited
  try {
    if (await exists(dest)) return dest;
    const partial = `${dest}.partial`;
    let lastError: unknown = null;
    for (let attempt = 1; attempt <= o.attempts; attempt++) {
      try {
        await downloadOnce(url, partial, label, o);
        await rename(partial, dest);
        return dest;
      } catch (error) {
        if (error instanceof HubRefusedError) {
          await unlink(partial).catch(() => undefined);
          throw new Error(`${label}: ${error.message}`);
        }
        if (!(error instanceof RetryableError)) throw error;
        lastError = error;
        if (attempt < o.attempts) await new Promise((r) => setTimeout(r, o.retryDelayMs * attempt));
      }
    }
    throw new Error(`${label}: download failed after ${o.attempts} attempts: ${(lastError as Error).message}${(await exists(partial)) ? ` (the partial file ${partial} is kept; run again to resume)` : ''}`);
  } finally {
    await release();
  }
}

function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * Takes `lockPath` (created exclusively, holding our pid), so one process at a time writes the
 * partial file. While another live process holds it, waits; returns null when `dest` appears
 * meanwhile. A lock whose process is gone (killed mid-download) is taken over.
 */
async function acquireFileLock(lockPath: string, dest: string, label: string, timeoutMs: number): Promise<(() => Promise<void>) | null> {
  const started = Date.now();
  for (let wait = 20; ; wait = Math.min(wait * 2, 500)) {
    try {
      const handle = await open(lockPath, 'wx');
      await handle.writeFile(`${process.pid}\n`);
      await handle.close();
      return () => unlink(lockPath).catch(() => undefined);
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      if (code === 'ENOENT') {
        // Another process's failed download removed the empty folder just now: make it again.
        await mkdir(dirname(lockPath), { recursive: true });
        continue;
      }
      if (code !== 'EEXIST') throw error;
    }
    if (await exists(dest)) return null;
    const holder = Number((await readFile(lockPath, 'utf8').catch(() => '')).trim());
    if (Number.isSafeInteger(holder) && holder > 0 && holder !== process.pid && !processAlive(holder)) {
      await unlink(lockPath).catch(() => undefined); // stale: its process died
      continue;
    }
    if (Date.now() - started > timeoutMs) throw new Error(`${label}: another process (pid ${holder || '?'}) has been downloading it for over ${timeoutMs} ms (lock ${lockPath})`);
    await new Promise((r) => setTimeout(r, wait));
  }
}

/**
 * Removes what the cache holds for `spec` (the file, or the revision folder of a model) so the
 * next download fetches it again: for a cached model that no longer opens.
 */
export async function removeCachedHubModel(spec: HubModelSpec | string, options: HubOptions = {}): Promise<void> {
  const s = typeof spec === 'string' ? parseHubSpec(spec) : spec;
  const dir = hubRevisionDir(s.repo, s.revision, options.cacheDir ?? defaultHubCacheDir());
  if (s.file !== null) await unlink(join(dir, ...s.file.split('/'))).catch(() => undefined);
  else await rm(dir, { recursive: true, force: true });
}

async function downloadOnce(url: string, partial: string, label: string, o: ResolvedOptions): Promise<void> {
  let have = await fileSize(partial);
  const headers: Record<string, string> = { 'accept-encoding': 'identity' };
  if (have > 0) headers['range'] = `bytes=${have}-`;
  let result: FetchResult;
  const abort = new AbortController();
  try {
    result = await fetchFollowing(url, headers, o, abort);
  } catch (error) {
    if (error instanceof HubRefusedError) throw error;
    throw new RetryableError(`could not reach ${url}: ${describeNetworkError(error)}`);
  }
  const { response } = result;
  if (response.status === 404) {
    await response.body?.cancel();
    throw new HubFileNotFoundError(`${label}: not found (HTTP 404 from ${url}); check the repository name, revision and file name`);
  }
  if (response.status === 401 || response.status === 403) {
    await response.body?.cancel();
    throw new Error(`${label}: access denied (HTTP ${response.status} from ${url}); a gated or private repository needs HF_TOKEN`);
  }
  if (response.status === 416 && have > 0) {
    // Range past the end: the partial file may already be whole; verify below, else start over.
    await response.body?.cancel();
    if (result.linkedSize === have) return verify(partial, have, result.linkedSize, result.linkedSha256, label);
    await truncate(partial, 0);
    throw new RetryableError(`server refused to resume at byte ${have}`);
  }
  if (response.status >= 500) {
    await response.body?.cancel();
    throw new RetryableError(`HTTP ${response.status} from ${url}`);
  }
  if (response.status !== 200 && response.status !== 206) {
    await response.body?.cancel();
    throw new Error(`${label}: unexpected HTTP ${response.status} from ${url}`);
  }

  let total: number | null = result.linkedSize;
  if (response.status === 206) {
    const range = /^bytes (\d+)-(\d+)\/(\d+|\*)$/.exec(response.headers.get('content-range') ?? '');
    if (!range || Number(range[1]) !== have) {
      await response.body?.cancel();
      await truncate(partial, 0);
      throw new RetryableError(`server answered the range request with Content-Range '${response.headers.get('content-range')}', expected it to start at ${have}`);
    }
    if (range[3] !== '*') total ??= Number(range[3]);
  } else {
    if (have > 0) await truncate(partial, 0); // the server ignored Range: start over
    have = 0;
    const length = response.headers.get('content-length');
    if (length !== null && /^\d+$/.test(length)) total ??= Number(length);
  }

  if (have === 0) o.log(`fetching ${label}${total !== null ? ` (${formatBytes(total)})` : ''}`);
  else o.log(`resuming ${label} at ${formatBytes(have)}${total !== null ? ` of ${formatBytes(total)}` : ''}`);
  const bar = o.progress && total !== null ? new ProgressBar({ total, start: have, label: label.slice(label.lastIndexOf('/') + 1), unit: 'B', stream: o.progress }) : null;
  const handle = await open(partial, 'a');
  let received = have;
  try {
    if (!response.body) throw new RetryableError(`empty response body from ${url}`);
    const iterator = (response.body as AsyncIterable<Uint8Array>)[Symbol.asyncIterator]();
    try {
      for (;;) {
        const next = await nextWithin(iterator, o.idleTimeoutMs, abort);
        if (next.done) break;
        let bytes = next.value;
        // Never write past the announced size: an endless body stops here, not at a full disk.
        const over = total !== null && received + bytes.length > total;
        if (over) bytes = bytes.subarray(0, total! - received);
        let written = 0;
        while (written < bytes.length) written += (await handle.write(bytes, written, bytes.length - written)).bytesWritten;
        received += bytes.length;
        bar?.update(received, { tokens: bytes.length });
        if (over) throw new HubRefusedError(`the server sent more than the ${total} bytes announced; the partial file was removed`);
      }
    } catch (error) {
      // Abort rather than await return(): return() waits for a read that may never end.
      abort.abort();
      iterator.return?.().catch(() => undefined);
      if (error instanceof HubRefusedError) throw error;
      throw new RetryableError(`the connection broke after ${formatBytes(received)}: ${describeNetworkError(error)}`);
    }
    await handle.sync();
  } finally {
    bar?.stop();
    await handle.close();
  }
  // The file on disk, not this process's count: what matters is what the next step will read.
  await verify(partial, await fileSize(partial), total, result.linkedSha256, label);
}

async function verify(partial: string, received: number, total: number | null, sha256: string | null, label: string): Promise<void> {
  if (total !== null && received !== total) {
    if (received < total) throw new RetryableError(`the download ended after ${received} of ${total} bytes`);
    await unlink(partial).catch(() => undefined);
    throw new Error(`${label}: received ${received} bytes but the hub announced ${total}; the partial file was removed`);
  }
  if (sha256 !== null) {
    const actual = await sha256OfFile(partial);
    if (actual !== sha256) {
      await unlink(partial).catch(() => undefined);
      throw new Error(`${label}: sha256 mismatch: the hub says ${sha256}, the download is ${actual}; the partial file was removed`);
    }
  }
}

function formatBytes(n: number): string {
  if (n >= 1 << 30) return `${(n / (1 << 30)).toFixed(2)} GiB`;
  if (n >= 1 << 20) return `${(n / (1 << 20)).toFixed(1)} MiB`;
  if (n >= 1 << 10) return `${(n / (1 << 10)).toFixed(1)} KiB`;
  return `${n} B`;
}

/**
 * Makes sure one group of alternative files is in the cache: a group already cached wins (no
 * network); otherwise the first group the hub has all of. Returns its index, or -1 if none.
 */
async function firstAvailableGroup(repo: string, revision: string, groups: ReadonlyArray<readonly string[]>, options: HubOptions): Promise<number> {
  const dir = hubRevisionDir(repo, revision, options.cacheDir ?? defaultHubCacheDir());
  for (let g = 0; g < groups.length; g++) {
    let cached = true;
    for (const file of groups[g]!) if (!(await exists(join(dir, ...file.split('/'))))) cached = false;
    if (cached) return g;
  }
  for (let g = 0; g < groups.length; g++) {
    try {
      for (const file of groups[g]!) await downloadHubFile(repo, revision, file, options);
      return g;
    } catch (error) {
      if (!(error instanceof HubFileNotFoundError)) throw error;
    }
  }
  return -1;
}

/**
 * Makes sure a model is in the cache and returns its local path: for a single-file spec the
 * file's path; otherwise the revision folder holding config.json, the tokenizer and the
 * safetensors weights (sharded or not), ready for openHfFolder.
 */
export async function downloadHubModel(spec: HubModelSpec | string, options: HubOptions = {}): Promise<string> {
  const s = typeof spec === 'string' ? parseHubSpec(spec) : spec;
  if (s.file !== null) return downloadHubFile(s.repo, s.revision, s.file, options);
  const label = `hf:${s.repo}@${s.revision}`;
  const dir = hubRevisionDir(s.repo, s.revision, options.cacheDir ?? defaultHubCacheDir());
  try {
    await downloadHubFile(s.repo, s.revision, 'config.json', options);
  } catch (error) {
    if (error instanceof HubFileNotFoundError) {
      throw new Error(`${label}: the repository has no config.json (is the name right? for a GGUF repository give the file: hf:${s.repo}/FILE.gguf)`);
    }
    throw error;
  }
  if ((await firstAvailableGroup(s.repo, s.revision, [['tokenizer.json'], ['vocab.json', 'merges.txt']], options)) < 0) {
    throw new Error(`${label}: the repository has no tokenizer.json (nor vocab.json + merges.txt)`);
  }
  const weights = await firstAvailableGroup(s.repo, s.revision, [['model.safetensors.index.json'], ['model.safetensors']], options);
  if (weights < 0) throw new Error(`${label}: the repository has neither model.safetensors nor model.safetensors.index.json`);
  if (weights === 0) {
    const indexPath = join(dir, 'model.safetensors.index.json');
    const shards = new Set(parseSafetensorsIndex(await readFile(indexPath, 'utf8'), indexPath).values());
    for (const shard of shards) await downloadHubFile(s.repo, s.revision, shard, options);
  }
  return dir;
}
