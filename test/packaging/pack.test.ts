/**
 * The published package, as a user gets it (packed-app.ts: `npm pack` of the built tree installed
 * into an empty project), then `npx salvage --help` there and an import of the library.
 */
import { readdir, readFile, rm } from 'node:fs/promises';
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
    for (const p of ['package.json', 'README.md', 'LICENSE', 'CHANGELOG.md', 'docs/RUNBOOK.md', 'dist/index.js', 'dist/index.d.ts', 'dist/binlog/index.d.ts', 'dist/cli/main.js']) {
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
});
