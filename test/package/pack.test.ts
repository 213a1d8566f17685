// The package as a stranger installs it: `npm pack`, then an offline install of the tarball into an
// empty project, then the CLI and an import. Offline means from npm's content cache, which `npm ci`
// filled: the project gets a lockfile (as a user's project would have after its first install) whose
// entries for thrifty's runtime dependencies come from this repository's lockfile, so npm needs no
// registry metadata.

import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';

import { repoRoot } from '../../src/node/data-dir.js';

const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm';

interface LockEntry {
  version?: string;
  resolved?: string;
  integrity?: string;
  dev?: boolean;
  dependencies?: Record<string, string>;
  [key: string]: unknown;
}

/** A lockfile for a project that depends on the packed tarball: thrifty's runtime closure from ours. */
function projectLockfile(root: string, spec: string, integrity: string): object {
  const ours = JSON.parse(readFileSync(join(root, 'package-lock.json'), 'utf8')) as { packages: Record<string, LockEntry> };
  const manifest = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { version: string; dependencies: Record<string, string>; peerDependencies?: Record<string, string>; peerDependenciesMeta?: Record<string, { optional?: boolean }>; bin: Record<string, string>; engines: Record<string, string>; license: string };
  const packages: Record<string, LockEntry> = {
    '': { name: 'empty-project', version: '1.0.0', dependencies: { thrifty: spec } },
    'node_modules/thrifty': {
      version: manifest.version, resolved: spec, integrity, license: manifest.license,
      dependencies: manifest.dependencies, bin: manifest.bin, engines: manifest.engines,
      ...(manifest.peerDependencies ? { peerDependencies: manifest.peerDependencies, peerDependenciesMeta: manifest.peerDependenciesMeta } : {}),
    },
  };
  for (const [path, lockEntry] of Object.entries(ours.packages)) {
    if (path !== '' && !lockEntry.dev) packages[path] = lockEntry;
  }
  return { name: 'empty-project', version: '1.0.0', lockfileVersion: 3, requires: true, packages };
}

test('npm pack: the tarball installs offline into an empty project; the CLI and the library run from it', { timeout: 240_000 }, () => {
  const root = repoRoot();
  const work = mkdtempSync(join(tmpdir(), 'thrifty-pack-'));
  try {
    // dist/ is already built by `npm test`; --ignore-scripts skips the rebuild that "prepare" does.
    const packed = JSON.parse(execFileSync(npm, ['pack', '--ignore-scripts', '--json', '--pack-destination', work], { cwd: root, encoding: 'utf8' })) as Array<{ filename: string; integrity: string; files: Array<{ path: string }> }>;
    const entry = packed[0]!;
    const files = entry.files.map((f) => f.path);
    for (const needed of ['bin/thrifty.js', 'dist/src/index.js', 'dist/src/index.d.ts', 'dist/src/node.js', 'dist/src/cli/main.js', 'models/default/model.safetensors', 'models/default/tokenizer.json', 'LICENSE', 'README.md', 'CHANGELOG.md']) {
      assert.ok(files.includes(needed), `the tarball lacks ${needed}`);
    }
    for (const path of files) {
      assert.ok(!/^(test|dist\/test|tools|\.ci|assembly)\//.test(path), `the tarball ships ${path}`);
      assert.ok(!path.endsWith('.map'), `the tarball ships source map ${path}`);
    }

    const project = join(work, 'project');
    execFileSync('mkdir', ['-p', project]);
    const spec = `file:../${entry.filename}`;
    writeFileSync(join(project, 'package.json'), JSON.stringify({ name: 'empty-project', version: '1.0.0', private: true, type: 'module', dependencies: { thrifty: spec } }));
    writeFileSync(join(project, 'package-lock.json'), JSON.stringify(projectLockfile(root, spec, entry.integrity)));
    execFileSync(npm, ['ci', '--offline', '--no-audit', '--no-fund', '--loglevel', 'error'], { cwd: project, encoding: 'utf8', env: { ...process.env, npm_config_update_notifier: 'false' } });
    const installed = JSON.parse(readFileSync(join(project, 'node_modules/thrifty/package.json'), 'utf8')) as { version: string };

    const bin = join(project, 'node_modules/.bin/thrifty');
    assert.equal(execFileSync(bin, ['--version'], { cwd: project, encoding: 'utf8' }), `thrifty ${installed.version}\n`);
    const text = execFileSync(bin, ['generate', '--prompt', 'ROMEO:', '--max-tokens', '12', '--temperature', '0', '--stats', 'none'], { cwd: project, encoding: 'utf8' });
    assert.ok(text.startsWith('ROMEO:') && text.length > 'ROMEO:'.length + 4, text);

    const script = [
      "import { Rng, randn, matmul } from 'thrifty';",
      "import { initNodeBackend } from 'thrifty/node';",
      "const engine = await initNodeBackend();",
      "const y = matmul(randn([2, 3], new Rng(1)), randn([3, 4], new Rng(2)));",
      "const config = new URL(import.meta.resolve('thrifty/models/default/config.json'));",
      "console.log(JSON.stringify({ shape: y.shape, config: config.pathname.endsWith('models/default/config.json') }));",
      "engine.dispose();",
    ].join('\n');
    writeFileSync(join(project, 'use.mjs'), script);
    const out = JSON.parse(execFileSync(process.execPath, ['use.mjs'], { cwd: project, encoding: 'utf8' })) as { shape: number[]; config: boolean };
    assert.deepEqual(out, { shape: [2, 4], config: true });
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
});
