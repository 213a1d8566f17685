// `npm run demo`: serves the browser demo (dist/web) and the bundled model (models/default) on
// 127.0.0.1 with the cross-origin-isolation headers that shared memory (SharedArrayBuffer, the
// kernel worker pool) needs: COOP same-origin and COEP require-corp. --no-isolation leaves them
// out (the page then falls back to one thread and says so).
// Usage: node dist/tools/demo-server.js [--port 8080] [--host 127.0.0.1] [--no-isolation]

import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { extname, join, normalize, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';

const CONTENT_TYPES: Readonly<Record<string, string>> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.map': 'application/json; charset=utf-8',
  '.json': 'application/json; charset=utf-8',
  '.safetensors': 'application/octet-stream',
  '.gguf': 'application/octet-stream',
  '.md': 'text/markdown; charset=utf-8',
  '.jsonl': 'application/jsonl; charset=utf-8',
};

export interface DemoServerOptions {
  /** 0 picks a free port. Default 8080. */
  readonly port?: number;
  readonly host?: string;
  /** Send COOP/COEP (default true). */
  readonly isolation?: boolean;
  /** The package root (default: two folders above dist/tools). */
  readonly root?: string;
}

export interface DemoServer {
  readonly url: string;
  readonly server: Server;
  close(): Promise<void>;
}

/** The file a URL path names under one of the served folders, or null. */
function resolvePath(root: string, urlPath: string): string | null {
  let path: string;
  try {
    path = decodeURIComponent(urlPath.split('?')[0]!);
  } catch {
    return null;
  }
  const mounts: ReadonlyArray<[string, string]> = [['/models/default/', join(root, 'models/default')], ['/', join(root, 'dist/web')]];
  for (const [prefix, dir] of mounts) {
    if (!path.startsWith(prefix)) continue;
    const rest = path.slice(prefix.length) || 'index.html';
    const file = resolve(dir, normalize(rest));
    return file.startsWith(dir + sep) ? file : null;
  }
  return null;
}

export async function startDemoServer(options: DemoServerOptions = {}): Promise<DemoServer> {
  const root = options.root ?? resolve(fileURLToPath(new URL('../..', import.meta.url)));
  const isolation = options.isolation ?? true;
  await stat(join(root, 'dist/web/index.html')).catch(() => {
    throw new Error(`${join(root, 'dist/web/index.html')} is missing: run npm run build first`);
  });
  const server = createServer((request, response) => {
    const headers: Record<string, string> = { 'Cache-Control': 'no-store' };
    if (isolation) {
      headers['Cross-Origin-Opener-Policy'] = 'same-origin';
      headers['Cross-Origin-Embedder-Policy'] = 'require-corp';
      headers['Cross-Origin-Resource-Policy'] = 'same-origin';
    }
    const file = request.method === 'GET' || request.method === 'HEAD' ? resolvePath(root, request.url ?? '/') : null;
    const fail = (status: number, text: string): void => {
      response.writeHead(status, { ...headers, 'Content-Type': 'text/plain; charset=utf-8' });
      response.end(`${text}\n`);
    };
    if (!file) {
      fail(request.method === 'GET' || request.method === 'HEAD' ? 404 : 405, 'not found');
      return;
    }
    stat(file).then((info) => {
      if (!info.isFile()) throw new Error('not a file');
      response.writeHead(200, { ...headers, 'Content-Type': CONTENT_TYPES[extname(file)] ?? 'application/octet-stream', 'Content-Length': String(info.size) });
      if (request.method === 'HEAD') response.end();
      else createReadStream(file).pipe(response);
    }, () => fail(404, 'not found'));
  });
  await new Promise<void>((done, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 8080, options.host ?? '127.0.0.1', () => done());
  });
  const address = server.address() as AddressInfo;
  return {
    url: `http://${address.address}:${address.port}/`,
    server,
    close: () => new Promise<void>((done) => {
      server.closeAllConnections();
      server.close(() => done());
    }),
  };
}

function parseArgs(argv: readonly string[]): DemoServerOptions {
  let port = 8080;
  let host = '127.0.0.1';
  let isolation = true;
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    const value = (): string => {
      const v = argv[++i];
      if (v === undefined) throw new Error(`${arg} needs a value`);
      return v;
    };
    if (arg === '--port') {
      port = Number(value());
      if (!Number.isInteger(port) || port < 0 || port > 65535) throw new Error(`--port expects an integer in 0..65535, got '${argv[i]}'`);
    } else if (arg === '--host') host = value();
    else if (arg === '--no-isolation') isolation = false;
    else if (arg === '--help' || arg === '-h') {
      console.log('usage: npm run demo -- [--port 8080] [--host 127.0.0.1] [--no-isolation]');
      process.exit(0);
    } else throw new Error(`unknown option '${arg}' (expected --port, --host, --no-isolation)`);
  }
  return { port, host, isolation };
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  try {
    const options = parseArgs(process.argv.slice(2));
    const demo = await startDemoServer(options);
    const headers = options.isolation === false ? 'without COOP/COEP: one thread' : 'with COOP/COEP: worker pool';
    console.log(`thrifty demo: ${demo.url}  (${headers}; Ctrl-C to stop)`);
  } catch (error) {
    console.error(`demo: error: ${error instanceof Error ? error.message : String(error)}`);
    process.exit(1);
  }
}
