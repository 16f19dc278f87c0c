/**
 * The published package, as a user gets it (packed-app.ts: `npm pack` of the built tree installed
 * into an empty project), then `npx salvage --help` there and an import of the library.
 */
import { readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ENV, packAndInstall, run, type PackedApp, type PackResult } from './packed-app.js';

let packed: PackedApp;
let pack: PackResult;
let app: string;

beforeAll(async () => {
  packed = await packAndInstall('salvage-pack-');
  ({ pack, app } = packed);
}, 120_000);

afterAll(async () => {
  if (packed) await rm(packed.dir, { recursive: true, force: true });
});

describe('npm pack', () => {
  it('holds the built code with its types, the docs, the licence and the changelog, and no tests or sources', () => {
    const paths = pack.files.map((f) => f.path);
    for (const p of ['package.json', 'README.md', 'LICENSE', 'CHANGELOG.md', 'docs/RUNBOOK.md', 'dist/index.js', 'dist/index.d.ts', 'dist/binlog/index.d.ts', 'dist/cli/main.js', 'cjs/index.cjs', 'cjs/binlog.cjs', 'cjs/require-esm.cjs']) {
      expect(paths).toContain(p);
    }
    expect(paths.filter((p) => /\.test\.|(^|\/)test\/|^src\/|^bench\/|(^|\/)\.tmp\//.test(p))).toEqual([]);
  });

  it('installs into an empty folder, where npx salvage --help prints the main help and exits 0', async () => {
    const { stdout } = await run('npx', ['--no', '--', 'salvage', '--help'], { cwd: app, env: ENV });
    expect(stdout).toMatch(/^salvage \d+\.\d+\.\d+\S* — recover the transactions a failed MySQL\/MariaDB primary committed\n/);
    expect(stdout).toContain('\nUsage:\n  salvage inspect (FILE… | --source URL)');
    expect(stdout).toContain('Run "salvage COMMAND --help" for a command\'s options and examples.');
  });

  it('ships source maps that carry their sources (the package has no src/ for them to point at)', async () => {
    const dist = join(app, 'node_modules', 'binlog-salvage', 'dist');
    const maps = (await readdir(dist, { recursive: true })).filter((f) => f.endsWith('.js.map'));
    expect(maps.length).toBeGreaterThan(50);
    for (const f of maps) {
      const map = JSON.parse(await readFile(join(dist, f), 'utf8')) as { sources: string[]; sourcesContent?: (string | null)[] };
      expect({ f, n: map.sourcesContent?.filter((c) => typeof c === 'string' && c.length > 0).length }).toEqual({ f, n: map.sources.length });
    }
  });

  it('imports as a library from the installed package, with both entry points', async () => {
    const script = "const m = await import('binlog-salvage'); const b = await import('binlog-salvage/binlog'); console.log(typeof m.apply, typeof m.plan, b.BinlogDecoder === m.BinlogDecoder);";
    const { stdout } = await run('node', ['--input-type=module', '-e', script], { cwd: app, env: ENV });
    expect(stdout).toBe('function function true\n');
  });

  // Without a `require` condition in `exports`, require() met ERR_PACKAGE_PATH_NOT_EXPORTED, which
  // does not say the package is an ES module.
  it('require() from CommonJS gets the module import gives where Node can require an ES module, and says to use import where it cannot', async () => {
    const script = join(app, 'require-it.cjs');
    await writeFile(
      script,
      `try {
  const m = require('binlog-salvage');
  const b = require('binlog-salvage/binlog');
  import('binlog-salvage').then((n) => console.log(typeof m.plan, b.BinlogDecoder === m.BinlogDecoder, n === m));
} catch (e) {
  console.log(e.code, e.message);
  try { require('binlog-salvage/binlog'); } catch (f) { console.log(f.code, f.message); }
}
`,
    );
    const modern = await run('node', [script], { cwd: app, env: ENV });
    expect(modern.stdout).toBe('function true true\n');
    const without = await run('node', ['--no-experimental-require-module', script], { cwd: app, env: ENV });
    const available = `require() of an ES module is not available in this Node (${process.version}; Node 20.19+ and 22.12+ have it, unless run with --no-experimental-require-module)`;
    expect(without.stdout).toBe(
      `ERR_REQUIRE_ESM binlog-salvage is an ES module: use import (import { plan, apply } from 'binlog-salvage') or await import('binlog-salvage'); ${available}\n` +
        `ERR_REQUIRE_ESM binlog-salvage/binlog is an ES module: use import (import { BinlogDecoder } from 'binlog-salvage/binlog') or await import('binlog-salvage/binlog'); ${available}\n`,
    );
  });
});
