// Hub download faults against a local HTTP server on 127.0.0.1 (bounded: every test's server
// closes itself, every stream it sends is capped): two processes fetching one file, a body longer
// than announced, a silent server, a stalled body, redirects to data: URLs and to other hosts
// without size headers, a stale lock, and a cached model that no longer parses.

import assert from 'node:assert/strict';
import { fork, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, it } from 'node:test';

import { downloadHubFile, hubRevisionDir, type HubOptions } from '../../src/node/hub.js';
import { loadModelFiles } from '../../src/node/model-files.js';
import { fuzzSeed } from '../../src/node/fuzz/seeds.js';

type Handler = (req: IncomingMessage, res: ServerResponse) => void;

/** A server on 127.0.0.1 that stops itself after `lifetimeMs` whatever happens. */
async function serve(handler: Handler, lifetimeMs = 20_000): Promise<{ url: string; stop: () => Promise<void>; requests: string[] }> {
  const requests: string[] = [];
  const server = createServer((req, res) => {
    requests.push(`${req.method} ${req.url}${req.headers.range ? ` ${req.headers.range}` : ''}`);
    handler(req, res);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  if (address === null || typeof address === 'string') throw new Error('no port');
  const stop = async (): Promise<void> => {
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  };
  setTimeout(() => void stop(), lifetimeMs).unref();
  return { url: `http://127.0.0.1:${address.port}`, stop, requests };
}

const BODY = Uint8Array.from({ length: 20_000 }, (_, i) => (i * 7) & 255);

/** Streams `body` in pieces of `piece` bytes every `everyMs`, stopping when the client goes away. */
function streamSlowly(res: ServerResponse, body: Uint8Array, piece: number, everyMs: number): void {
  let at = 0;
  const timer = setInterval(() => {
    if (res.destroyed || at >= body.length) {
      clearInterval(timer);
      if (!res.destroyed) res.end();
      return;
    }
    res.write(body.subarray(at, at + piece));
    at += piece;
  }, everyMs);
  res.on('close', () => clearInterval(timer));
}

let cacheDir = '';
beforeEach(async () => {
  cacheDir = await mkdtemp(join(tmpdir(), 'thrifty-hub-faults-'));
});
afterEach(async () => {
  await rm(cacheDir, { recursive: true, force: true });
});

const quiet = (endpoint: string, more: HubOptions = {}): HubOptions => ({ cacheDir, endpoint, progress: null, retryDelayMs: 10, ...more });

describe('hub download faults', () => {
  it('two processes fetching one file: one downloads, the other waits for it; the file is whole', async () => {
    const server = await serve((_req, res) => {
      res.writeHead(200, { 'content-length': String(BODY.length), 'x-linked-size': String(BODY.length) });
      streamSlowly(res, BODY, 1000, 60); // 1.2 s: long enough for the second process to start and meet the lock
    });
    try {
      // A second process, as two `generate --model hf:...` started together.
      // Written at run time: a script under test/ would be taken for a test file by `node --test`.
      const script = join(cacheDir, 'fetch-child.mjs');
      await writeFile(
        script,
        [
          `import { downloadHubFile } from ${JSON.stringify(new URL('../../src/node/hub.js', import.meta.url).href)};`,
          `const [cacheDir, endpoint] = process.argv.slice(2);`,
          `await downloadHubFile('org/model', 'main', 'weights.bin', { cacheDir, endpoint, progress: null });`,
        ].join('\n'),
      );
      const other = fork(script, [cacheDir, server.url], { stdio: 'pipe' });
      const otherDone = new Promise<number>((resolve) => other.on('exit', (code) => resolve(code ?? -1)));
      const mine = downloadHubFile('org/model', 'main', 'weights.bin', quiet(server.url));
      const [path, code] = await Promise.all([mine, otherDone]);
      assert.equal(code, 0);
      assert.deepEqual(new Uint8Array(await readFile(path)), BODY);
      assert.equal(server.requests.filter((r) => r.startsWith('GET')).length, 1, server.requests.join('\n'));
      assert.deepEqual(await readdir(hubRevisionDir('org/model', 'main', cacheDir)), ['weights.bin']);
    } finally {
      await server.stop();
    }
  });

  it('takes over the lock of a process that died mid-download', async () => {
    const server = await serve((_req, res) => {
      res.writeHead(200, { 'content-length': String(BODY.length) });
      res.end(BODY);
    });
    try {
      const dir = hubRevisionDir('org/model', 'main', cacheDir);
      await mkdir(dir, { recursive: true });
      const dead = spawn(process.execPath, ['-e', '']);
      const deadPid = dead.pid!;
      await new Promise((resolve) => dead.on('exit', resolve));
      await writeFile(join(dir, 'weights.bin.lock'), `${deadPid}\n`);
      await writeFile(join(dir, 'weights.bin.partial'), BODY.subarray(0, 100));
      const path = await downloadHubFile('org/model', 'main', 'weights.bin', quiet(server.url, { lockTimeoutMs: 2000 }));
      assert.deepEqual(new Uint8Array(await readFile(path)), BODY);
      assert.ok(!existsSync(join(dir, 'weights.bin.lock')));
    } finally {
      await server.stop();
    }
  });

  it('cuts an endless body at the announced size, refuses it and removes the partial file', async () => {
    const server = await serve((_req, res) => {
      res.writeHead(200, { 'x-linked-size': '1000' }); // chunked, and it never ends (capped at 64 MiB here)
      streamSlowly(res, new Uint8Array(64 << 20), 1 << 16, 1);
    });
    try {
      const started = Date.now();
      await assert.rejects(downloadHubFile('org/model', 'main', 'big.bin', quiet(server.url)), /hf:org\/model@main\/big\.bin: the server sent more than the 1000 bytes announced; the partial file was removed/);
      assert.ok(Date.now() - started < 5000);
      // Nothing is left: neither the partial file nor the folders made for it.
      assert.equal(existsSync(hubRevisionDir('org/model', 'main', cacheDir)), false);
    } finally {
      await server.stop();
    }
  });

  it('gives up on a silent server (connect timeout) and on a stalled body (idle timeout), keeping the partial file', async () => {
    const silent = await serve(() => undefined);
    try {
      const started = Date.now();
      await assert.rejects(
        downloadHubFile('org/model', 'main', 'a.bin', quiet(silent.url, { connectTimeoutMs: 200, attempts: 2 })),
        /hf:org\/model@main\/a\.bin: download failed after 2 attempts: could not reach .*no response within 200 ms \(connect timeout\)/,
      );
      assert.ok(Date.now() - started < 3000);
    } finally {
      await silent.stop();
    }
    const stalled = await serve((_req, res) => {
      res.writeHead(200, { 'content-length': String(BODY.length) });
      res.write(BODY.subarray(0, 500)); // then nothing
    });
    try {
      const started = Date.now();
      await assert.rejects(
        downloadHubFile('org/model', 'main', 'b.bin', quiet(stalled.url, { idleTimeoutMs: 200, attempts: 1 })),
        /download failed after 1 attempts: the connection broke after 500 B: no data for 200 ms \(idle timeout\) \(the partial file .*b\.bin\.partial is kept; run again to resume\)/,
      );
      // The stalled request is aborted, not waited on until the server goes away.
      assert.ok(Date.now() - started < 3000, `${Date.now() - started} ms`);
    } finally {
      await stalled.stop();
    }
  });

  it('follows only http(s) redirects, and to another host only with the hub size header', async () => {
    const cdn = await serve((_req, res) => {
      res.writeHead(200, { 'content-length': '5' });
      res.end('hello');
    });
    const hub = await serve((req, res) => {
      if (req.url!.includes('data.bin')) res.writeHead(302, { location: 'data:application/octet-stream;base64,aGVsbG8=' });
      else if (req.url!.includes('cdn-bare.bin')) res.writeHead(302, { location: `${cdn.url.replace('127.0.0.1', 'localhost')}/x` });
      else res.writeHead(302, { location: `${cdn.url.replace('127.0.0.1', 'localhost')}/x`, 'x-linked-size': '5' });
      res.end();
    });
    try {
      await assert.rejects(downloadHubFile('org/model', 'main', 'data.bin', quiet(hub.url)), /hf:org\/model@main\/data\.bin: .*redirect to a data: URL refused \(only http and https\)/);
      await assert.rejects(downloadHubFile('org/model', 'main', 'cdn-bare.bin', quiet(hub.url)), /redirect to another host \(localhost:\d+\) without the hub's x-linked-size refused/);
      const ok = await downloadHubFile('org/model', 'main', 'cdn.bin', quiet(hub.url));
      assert.equal(await readFile(ok, 'utf8'), 'hello');
      assert.deepEqual((await readdir(hubRevisionDir('org/model', 'main', cacheDir))).sort(), ['cdn.bin']);
    } finally {
      await hub.stop();
      await cdn.stop();
    }
  });

  it('fetches a cached model again when it no longer parses', async () => {
    const seed = fuzzSeed('config-json');
    const files: Record<string, Uint8Array> = { 'config.json': seed.bytes, ...seed.companions };
    const server = await serve((req, res) => {
      const name = /\/resolve\/main\/(.+)$/.exec(req.url ?? '')?.[1];
      const body = name ? files[name] : undefined;
      if (!body) {
        res.writeHead(404);
        res.end();
        return;
      }
      res.writeHead(200, { 'content-length': String(body.length) });
      res.end(body);
    });
    try {
      const dir = hubRevisionDir('org/tiny', 'main', cacheDir);
      await mkdir(dir, { recursive: true });
      for (const [name, body] of Object.entries(files)) await writeFile(join(dir, name), body);
      // The cached weights were cut short (a crash of an older version, a full disk).
      await writeFile(join(dir, 'model.safetensors'), files['model.safetensors']!.subarray(0, 1000));
      const model = await loadModelFiles('hf:org/tiny', { hub: quiet(server.url) });
      try {
        assert.equal(model.config.numLayers, 2);
        assert.equal((await readFile(join(dir, 'model.safetensors'))).length, files['model.safetensors']!.length);
      } finally {
        await model.close();
      }
      assert.ok(server.requests.some((r) => r.includes('model.safetensors')));
      // Offline, a broken cache is an error about the file, not a download.
      await writeFile(join(dir, 'model.safetensors'), files['model.safetensors']!.subarray(0, 1000));
      await assert.rejects(loadModelFiles('hf:org/tiny', { hub: quiet(server.url, { offline: true }) }), /model\.safetensors/);
    } finally {
      await server.stop();
    }
  });

  it('fetches a model whose own files fail once more, then no longer', async () => {
    const seed = fuzzSeed('config-json');
    const config = JSON.parse(new TextDecoder().decode(seed.bytes)) as Record<string, unknown>;
    const files: Record<string, Uint8Array> = { 'config.json': new TextEncoder().encode(JSON.stringify({ ...config, model_type: 'mamba' })), ...seed.companions };
    const server = await serve((req, res) => {
      const body = files[/\/resolve\/main\/(.+)$/.exec(req.url ?? '')?.[1] ?? ''];
      res.writeHead(body ? 200 : 404, body ? { 'content-length': String(body.length) } : {});
      res.end(body);
    });
    try {
      const gets = (): number => server.requests.filter((r) => r.includes('config.json')).length;
      await assert.rejects(loadModelFiles('hf:org/mamba', { hub: quiet(server.url) }), /config\.json: field 'model_type' = 'mamba' is not supported/);
      assert.equal(gets(), 2, 'fetched, then fetched once more');
      await assert.rejects(loadModelFiles('hf:org/mamba', { hub: quiet(server.url) }), /'mamba' is not supported/);
      assert.equal(gets(), 2, 'not fetched a third time');
    } finally {
      await server.stop();
    }
  });
});
