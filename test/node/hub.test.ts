// Hub downloads against a local node:http server that serves fixture files in the Hugging Face
// URL layout: /{org}/{name}/resolve/{revision}/{file}. Large ("LFS") files answer with a 302 to a
// CDN path (on a second server, another host:port) and carry x-linked-size / x-linked-etag, as
// the hub does; small files are served directly with a git-style ETag.

import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdtemp, readdir, readFile, rm, writeFile, mkdir } from 'node:fs/promises';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, afterEach, before, beforeEach, describe, it } from 'node:test';

import { expectedTensors, llmConfigFromHf } from '../../src/models/registry.js';
import { serializeSafetensors } from '../../src/io/safetensors.js';
import { downloadHubFile, downloadHubModel, hubFileUrl, hubRevisionDir, parseHubSpec, sha256FromEtag, type HubOptions } from '../../src/node/hub.js';
import { loadModelFiles } from '../../src/node/model-files.js';
import { trainByteLevelBpe } from '../../src/text/bpe-trainer.js';

interface Fixture {
  readonly body: Uint8Array;
  /** Served through a redirect with LFS headers (sha256 of the body unless `sha256` overrides it). */
  readonly lfs?: boolean;
  readonly sha256?: string;
}

interface Behaviour {
  /** Send only this many bytes of the first full response for a file, then drop the connection. */
  cutAfter?: number;
  /** Answer Range requests with the whole file (200), as servers without range support do. */
  ignoreRange?: boolean;
}

interface Seen {
  readonly url: string;
  readonly range: string | undefined;
  readonly authorization: string | undefined;
}

const sha256 = (b: Uint8Array): string => createHash('sha256').update(b).digest('hex');

class FakeHub {
  readonly files = new Map<string, Fixture>();
  readonly seen: Seen[] = [];
  private current: Behaviour = {};
  private readonly cutDone = new Set<string>();
  private hub: Server | null = null;
  private cdn: Server | null = null;
  endpoint = '';
  private cdnBase = '';

  get behaviour(): Behaviour {
    return this.current;
  }

  /** New behaviour; each file's first response can be cut again. */
  set behaviour(b: Behaviour) {
    this.current = b;
    this.cutDone.clear();
  }

  async start(): Promise<void> {
    this.cdn = createServer((req, res) => this.serveCdn(req, res));
    this.hub = createServer((req, res) => this.serveHub(req, res));
    this.cdnBase = await listen(this.cdn);
    this.endpoint = await listen(this.hub);
  }

  async stop(): Promise<void> {
    for (const server of [this.hub, this.cdn]) {
      if (!server) continue;
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    }
    this.hub = null;
    this.cdn = null;
  }

  add(path: string, fixture: Fixture): void {
    this.files.set(path, fixture);
  }

  private record(req: IncomingMessage): void {
    this.seen.push({ url: req.url ?? '', range: req.headers.range, authorization: req.headers.authorization });
  }

  private serveHub(req: IncomingMessage, res: ServerResponse): void {
    this.record(req);
    const m = /^\/([^/]+\/[^/]+)\/resolve\/([^/]+)\/(.+)$/.exec(req.url ?? '');
    const key = m ? `${m[1]}/${decodeURIComponent(m[2]!)}/${m[3]!.split('/').map(decodeURIComponent).join('/')}` : '';
    const fixture = this.files.get(key);
    if (!fixture) {
      res.writeHead(404, { 'content-type': 'text/plain' }).end('Entry not found');
      return;
    }
    if (fixture.lfs) {
      res.writeHead(302, {
        location: `${this.cdnBase}/cdn/${encodeURIComponent(key)}`,
        'x-linked-size': String(fixture.body.length),
        'x-linked-etag': `"${fixture.sha256 ?? sha256(fixture.body)}"`,
      });
      res.end();
      return;
    }
    this.sendBody(key, fixture.body, req, res, { etag: `"${createHash('sha1').update(fixture.body).digest('hex')}"` });
  }

  private serveCdn(req: IncomingMessage, res: ServerResponse): void {
    this.record(req);
    const key = decodeURIComponent((req.url ?? '').replace(/^\/cdn\//, ''));
    const fixture = this.files.get(key);
    if (!fixture) {
      res.writeHead(404).end();
      return;
    }
    this.sendBody(key, fixture.body, req, res, {});
  }

  private sendBody(key: string, body: Uint8Array, req: IncomingMessage, res: ServerResponse, headers: Record<string, string>): void {
    const range = /^bytes=(\d+)-$/.exec(req.headers.range ?? '');
    if (range && !this.behaviour.ignoreRange) {
      const start = Number(range[1]);
      if (start >= body.length) {
        res.writeHead(416, { 'content-range': `bytes */${body.length}` }).end();
        return;
      }
      res.writeHead(206, { ...headers, 'content-length': String(body.length - start), 'content-range': `bytes ${start}-${body.length - 1}/${body.length}` });
      res.end(body.subarray(start));
      return;
    }
    res.writeHead(200, { ...headers, 'content-length': String(body.length) });
    const cut = this.behaviour.cutAfter;
    if (cut !== undefined && !this.cutDone.has(key)) {
      this.cutDone.add(key);
      res.write(body.subarray(0, cut), () => {
        // Let the bytes reach the client, then break the connection mid-body.
        setTimeout(() => res.socket?.destroy(), 20);
      });
      return;
    }
    res.end(body);
  }
}

/** The URL of a port nothing listens on (fetch refuses 'bad' ports such as 9, so make one). */
async function deadEndpoint(): Promise<string> {
  const server = createServer();
  const url = await listen(server);
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return url;
}

function listen(server: Server): Promise<string> {
  return new Promise((resolve) => {
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      if (address === null || typeof address === 'string') throw new Error('no address');
      resolve(`http://127.0.0.1:${address.port}`);
    });
  });
}

const REPO = 'tiny-org/tiny-llama';

/** A small but complete Llama model folder: config, tokenizer, two safetensors shards and their index. */
function modelFixtures(): Record<string, Fixture> {
  const hf = { model_type: 'llama', vocab_size: 300, hidden_size: 8, intermediate_size: 16, num_hidden_layers: 2, num_attention_heads: 2, num_key_value_heads: 1, max_position_embeddings: 32, tie_word_embeddings: true, bos_token_id: 0 };
  const config = llmConfigFromHf(hf, 'config.json');
  const tensors = expectedTensors(config)
    .map((t, k) => ({ name: t.name, dtype: 'F32' as const, shape: t.shape, data: Float32Array.from({ length: t.shape.reduce((a, b) => a * b, 1) }, (_, i) => k + i / 1000) }));
  const first = tensors.filter((t) => !t.name.includes('layers.1'));
  const second = tensors.filter((t) => t.name.includes('layers.1'));
  const weightMap: Record<string, string> = {};
  for (const t of first) weightMap[t.name] = 'model-00001-of-00002.safetensors';
  for (const t of second) weightMap[t.name] = 'model-00002-of-00002.safetensors';
  const text = (s: string): Uint8Array => new TextEncoder().encode(s);
  const tokenizer = trainByteLevelBpe('a tiny corpus for a tiny tokenizer. '.repeat(10), { vocabSize: 300, specialTokens: ['<|endoftext|>'], minFrequency: 1 }).json;
  return {
    'config.json': { body: text(JSON.stringify(hf)) },
    'tokenizer.json': { body: text(tokenizer) },
    'model.safetensors.index.json': { body: text(JSON.stringify({ metadata: {}, weight_map: weightMap })) },
    'model-00001-of-00002.safetensors': { body: serializeSafetensors(first), lfs: true },
    'model-00002-of-00002.safetensors': { body: serializeSafetensors(second), lfs: true },
  };
}

describe('hub specs and URLs', () => {
  it('parses hf:ORG/NAME[@revision][/file]', () => {
    assert.deepEqual(parseHubSpec('hf:EleutherAI/pythia-70m'), { repo: 'EleutherAI/pythia-70m', revision: 'main', file: null });
    assert.deepEqual(parseHubSpec('hf:EleutherAI/pythia-70m@step3000'), { repo: 'EleutherAI/pythia-70m', revision: 'step3000', file: null });
    assert.deepEqual(parseHubSpec('hf:org/repo-GGUF@v1.0/q4/model.Q4_0.gguf'), { repo: 'org/repo-GGUF', revision: 'v1.0', file: 'q4/model.Q4_0.gguf' });
    assert.throws(() => parseHubSpec('hf:justone'), /expected hf:ORG\/NAME/);
    assert.throws(() => parseHubSpec('hf:org/na me'), /invalid repository name 'na me'/);
    assert.throws(() => parseHubSpec('hf:org/repo/../etc/passwd'), /not a valid file path inside the repository/);
    assert.throws(() => parseHubSpec('hf:org/repo@'), /empty revision/);
  });

  it('builds resolve URLs and reads sha256 ETags', () => {
    assert.equal(hubFileUrl('https://huggingface.co/', 'a/b', 'refs/pr/1', 'dir/x y.json'), 'https://huggingface.co/a/b/resolve/refs%2Fpr%2F1/dir/x%20y.json');
    const digest = 'ab'.repeat(32);
    assert.equal(sha256FromEtag(`"${digest}"`), digest);
    assert.equal(sha256FromEtag(`W/"${digest.toUpperCase()}"`), digest);
    assert.equal(sha256FromEtag('"0123456789abcdef0123456789abcdef01234567"'), null, 'a git sha1 is not a sha256');
    assert.equal(sha256FromEtag(null), null);
  });
});

describe('hub downloads from a local server', () => {
  const hub = new FakeHub();
  let cache = '';
  let options: HubOptions = {};

  before(async () => {
    await hub.start();
    for (const [file, fixture] of Object.entries(modelFixtures())) hub.add(`${REPO}/main/${file}`, fixture);
  });

  after(async () => {
    await hub.stop();
  });

  beforeEach(async () => {
    cache = await mkdtemp(join(tmpdir(), 'thrifty-hub-'));
    options = { endpoint: hub.endpoint, cacheDir: cache, progress: null, retryDelayMs: 1, token: 'secret-token' };
    hub.seen.length = 0;
    hub.behaviour = {};
  });

  afterEach(async () => {
    await rm(cache, { recursive: true, force: true });
  });

  it('fetches a sharded model folder, verified, then opens it with loadModelFiles', async () => {
    const dir = await downloadHubModel(`hf:${REPO}`, options);
    assert.equal(dir, hubRevisionDir(REPO, 'main', cache));
    for (const [file, fixture] of Object.entries(modelFixtures())) {
      assert.deepEqual(new Uint8Array(await readFile(join(dir, file))), fixture.body, file);
      assert.equal(existsSync(join(dir, `${file}.partial`)), false);
    }
    const resolveRequests = hub.seen.filter((s) => s.url.includes('/resolve/'));
    assert.ok(resolveRequests.every((s) => s.authorization === 'Bearer secret-token'), 'the token goes to the hub');
    const cdnRequests = hub.seen.filter((s) => s.url.startsWith('/cdn/'));
    assert.equal(cdnRequests.length, 2);
    assert.ok(cdnRequests.every((s) => s.authorization === undefined), 'but not to the CDN host it redirects to');
    const model = await loadModelFiles(`hf:${REPO}`, { hub: options });
    assert.equal(model.config.numLayers, 2);
    assert.equal(model.weights.tensorNames().length, 2 + 2 * 9);
    await model.close();
  });

  it('works offline from a complete cache: no request is made', async () => {
    await downloadHubModel(`hf:${REPO}`, options);
    const requests = hub.seen.length;
    // The endpoint now points at a closed port: any request would fail.
    const offline = { ...options, endpoint: await deadEndpoint() };
    const model = await loadModelFiles(`hf:${REPO}`, { hub: offline });
    assert.equal(model.config.vocabSize, 300);
    await model.close();
    await downloadHubModel(`hf:${REPO}`, { ...options, offline: true });
    assert.equal(hub.seen.length, requests);
  });

  it('fails clearly with no network and no cache, or offline mode and no cache', async () => {
    await assert.rejects(
      downloadHubModel(`hf:${REPO}`, { ...options, endpoint: await deadEndpoint(), attempts: 2 }),
      /hf:tiny-org\/tiny-llama@main\/config\.json: download failed after 2 attempts: could not reach http:\/\/127\.0\.0\.1:\d+\/.*ECONNREFUSED/,
    );
    await assert.rejects(downloadHubModel(`hf:${REPO}`, { ...options, offline: true }), /config\.json: not in the cache \(.*\) and offline mode is on/);
  });

  it('resumes an interrupted download with a Range request, in the same call', async () => {
    hub.behaviour = { cutAfter: 100 };
    const path = await downloadHubFile(REPO, 'main', 'model-00001-of-00002.safetensors', options);
    const fixture = hub.files.get(`${REPO}/main/model-00001-of-00002.safetensors`)!;
    assert.deepEqual(new Uint8Array(await readFile(path)), fixture.body);
    const cdn = hub.seen.filter((s) => s.url.startsWith('/cdn/'));
    assert.deepEqual(
      cdn.map((s) => s.range),
      [undefined, 'bytes=100-'],
    );
  });

  it('resumes a partial file left by an earlier run', async () => {
    const fixture = hub.files.get(`${REPO}/main/model-00002-of-00002.safetensors`)!;
    const dest = join(hubRevisionDir(REPO, 'main', cache), 'model-00002-of-00002.safetensors');
    await mkdir(join(dest, '..'), { recursive: true });
    await writeFile(`${dest}.partial`, fixture.body.subarray(0, 64));
    const path = await downloadHubFile(REPO, 'main', 'model-00002-of-00002.safetensors', options);
    assert.deepEqual(new Uint8Array(await readFile(path)), fixture.body);
    assert.deepEqual(hub.seen.filter((s) => s.url.startsWith('/cdn/')).map((s) => s.range), ['bytes=64-']);

    // A server that ignores Range makes the client start over rather than append the whole file.
    hub.behaviour = { ignoreRange: true };
    await rm(path);
    await writeFile(`${dest}.partial`, fixture.body.subarray(0, 64));
    await downloadHubFile(REPO, 'main', 'model-00002-of-00002.safetensors', options);
    assert.deepEqual(new Uint8Array(await readFile(path)), fixture.body);
  });

  it('keeps the partial file when every attempt breaks, and says so', async () => {
    hub.behaviour = { cutAfter: 50 };
    await assert.rejects(
      downloadHubFile(REPO, 'main', 'model-00001-of-00002.safetensors', { ...options, attempts: 1 }),
      /download failed after 1 attempts: the connection broke after 50 B.*partial file .* is kept; run again to resume/,
    );
    const path = await downloadHubFile(REPO, 'main', 'model-00001-of-00002.safetensors', options);
    assert.deepEqual(new Uint8Array(await readFile(path)), hub.files.get(`${REPO}/main/model-00001-of-00002.safetensors`)!.body);
  });

  it('rejects a file whose sha256 does not match the hub, and removes it', async () => {
    const body = new TextEncoder().encode('weights that were corrupted in transit');
    hub.add(`${REPO}/main/bad.gguf`, { body, lfs: true, sha256: 'cd'.repeat(32) });
    await assert.rejects(downloadHubFile(REPO, 'main', 'bad.gguf', options), /bad\.gguf: sha256 mismatch: the hub says cdcd.*, the download is [0-9a-f]{64}; the partial file was removed/);
    const dest = join(hubRevisionDir(REPO, 'main', cache), 'bad.gguf');
    assert.equal(existsSync(dest), false);
    assert.equal(existsSync(`${dest}.partial`), false);
  });

  it('reports a missing file (404) and a repository without config.json clearly', async () => {
    await assert.rejects(downloadHubFile(REPO, 'main', 'nope.gguf', options), /hf:tiny-org\/tiny-llama@main\/nope\.gguf: not found \(HTTP 404 from .*\/tiny-org\/tiny-llama\/resolve\/main\/nope\.gguf\)/);
    await assert.rejects(downloadHubModel('hf:other-org/missing', options), /hf:other-org\/missing@main: the repository has no config\.json/);
    await assert.rejects(loadModelFiles(`hf:${REPO}@v2`, { hub: options }), /no config\.json/);
  });

  it('leaves no empty folders in the cache when a download fails', async () => {
    await assert.rejects(downloadHubFile(REPO, 'main', 'sub/dir/nope.gguf', options), /not found \(HTTP 404/);
    await assert.rejects(downloadHubModel('hf:other-org/missing@v1', options), /no config\.json/);
    await assert.rejects(downloadHubModel(`hf:${REPO}`, { ...options, endpoint: await deadEndpoint(), attempts: 1 }), /could not reach/);
    assert.deepEqual(await readdir(cache), []);
    // A folder that already holds files is kept; a kept partial file keeps its folder.
    await downloadHubFile(REPO, 'main', 'config.json', options);
    await assert.rejects(downloadHubFile(REPO, 'main', 'nope.gguf', options), /HTTP 404/);
    assert.deepEqual(await readdir(hubRevisionDir(REPO, 'main', cache)), ['config.json']);
    await rm(hubRevisionDir(REPO, 'main', cache), { recursive: true });
    hub.behaviour = { cutAfter: 50 };
    await assert.rejects(downloadHubFile(REPO, 'main', 'model-00001-of-00002.safetensors', { ...options, attempts: 1 }), /partial file .* is kept/);
    assert.deepEqual(await readdir(hubRevisionDir(REPO, 'main', cache)), ['model-00001-of-00002.safetensors.partial']);
  });

  it('falls back to model.safetensors and vocab.json + merges.txt, and finds them offline', async () => {
    const other = 'tiny-org/plain';
    const text = (x: string): Uint8Array => new TextEncoder().encode(x);
    const files: Record<string, Fixture> = {
      'config.json': { body: text('{"model_type": "gpt2"}') },
      'vocab.json': { body: text('{"a": 0}') },
      'merges.txt': { body: text('#version: 0.2\n') },
      'model.safetensors': { body: new Uint8Array(300).fill(7), lfs: true },
    };
    for (const [file, fixture] of Object.entries(files)) hub.add(`${other}/main/${file}`, fixture);
    const dir = await downloadHubModel(`hf:${other}`, options);
    for (const [file, fixture] of Object.entries(files)) assert.deepEqual(new Uint8Array(await readFile(join(dir, file))), fixture.body, file);
    const misses = hub.seen.filter((x) => /tokenizer\.json|index\.json/.test(x.url)).length;
    assert.equal(misses, 2, 'one 404 each for tokenizer.json and the index');
    const requests = hub.seen.length;
    assert.equal(await downloadHubModel(`hf:${other}`, { ...options, offline: true }), dir);
    assert.equal(hub.seen.length, requests);
  });

  it('fetches a single file spec (a GGUF in a subfolder, revision pinned)', async () => {
    const body = new Uint8Array(1000).map((_, i) => i % 251);
    hub.add(`${REPO}/v1.0/q8/model.gguf`, { body, lfs: true });
    const path = await downloadHubModel(`hf:${REPO}@v1.0/q8/model.gguf`, options);
    assert.equal(path, join(hubRevisionDir(REPO, 'v1.0', cache), 'q8', 'model.gguf'));
    assert.deepEqual(new Uint8Array(await readFile(path)), body);
  });
});
