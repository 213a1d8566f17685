// Bundles the browser demo into dist/web with esbuild: the page (page.js), its engine worker
// (engine-worker.js) and the kernel pool's worker (wasm-worker.js, found by the pool beside the
// engine worker), plus index.html. Run by `npm run build` after tsc (which empties dist/).
// Usage: node tools/build-web.mjs [--minify]

import { build } from 'esbuild';
import { copyFile, mkdir } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const outdir = join(root, 'dist/web');
const started = performance.now();
await mkdir(outdir, { recursive: true });
await build({
  entryPoints: {
    'page': join(root, 'src/web/demo/page.ts'),
    'engine-worker': join(root, 'src/web/demo/engine-worker.ts'),
    'wasm-worker': join(root, 'src/web/wasm-worker.ts'),
  },
  outdir,
  bundle: true,
  format: 'esm',
  platform: 'browser',
  target: 'es2022',
  sourcemap: true,
  minify: process.argv.includes('--minify'),
  logLevel: 'warning',
});
await copyFile(join(root, 'src/web/demo/index.html'), join(outdir, 'index.html'));
console.log(`build-web: ${outdir} in ${(performance.now() - started).toFixed(0)} ms`);
