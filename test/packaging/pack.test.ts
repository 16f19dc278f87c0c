/**
 * The published package, as a user gets it: `npm pack` of the built tree, installed from the
 * tarball into an empty folder (from npm's cache, no network), then `npx salvage --help` there and
 * an import of the library. Assumes `dist/` is built (`npm test` builds before it runs vitest);
 * packs with `--ignore-scripts` so the test never rebuilds `dist/` under other running suites.
 */
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const run = promisify(execFile);
const ROOT = resolve(import.meta.dirname, '../..');

/** The environment without what `npm test` sets for its own package, so the nested npm sees the temp folder's. */
const ENV = Object.fromEntries(Object.entries(process.env).filter(([k]) => !/^(npm_package_|npm_lifecycle_|INIT_CWD$)/.test(k)));

interface PackResult {
  readonly filename: string;
  readonly files: readonly { readonly path: string }[];
}

let dir: string;
let pack: PackResult;
let app: string;

beforeAll(async () => {
  if (!existsSync(join(ROOT, 'dist', 'index.d.ts')) || !existsSync(join(ROOT, 'dist', 'cli', 'main.js'))) {
    throw new Error('dist/ is not built: run "npm run build" first (npm test does)');
  }
  dir = await mkdtemp(join(tmpdir(), 'salvage-pack-'));
  const { stdout } = await run('npm', ['pack', '--ignore-scripts', '--json', '--pack-destination', dir], { cwd: ROOT, env: ENV, maxBuffer: 64 << 20 });
  pack = (JSON.parse(stdout) as PackResult[])[0]!;

  // An empty project of its own, so npm does not climb to a parent folder's package.json.
  app = join(dir, 'app');
  await mkdir(app);
  await writeFile(join(app, 'package.json'), `${JSON.stringify({ name: 'salvage-pack-smoke', version: '0.0.0', private: true }, null, 2)}\n`);
  const tgz = join(dir, pack.filename);
  const install = (mode: string): Promise<unknown> => run('npm', ['install', '--no-audit', '--no-fund', mode, tgz], { cwd: app, env: ENV, maxBuffer: 64 << 20 });
  // The dependencies are in npm's cache once `npm ci` has run; --prefer-offline only if one is not.
  await install('--offline').catch(() => install('--prefer-offline'));
}, 120_000);

afterAll(async () => {
  if (dir) await rm(dir, { recursive: true, force: true });
});

describe('npm pack', () => {
  it('holds the built code with its types, the docs, the licence and the changelog, and no tests or sources', () => {
    const paths = pack.files.map((f) => f.path);
    for (const p of ['package.json', 'README.md', 'LICENSE', 'CHANGELOG.md', 'docs/RUNBOOK.md', 'dist/index.js', 'dist/index.d.ts', 'dist/binlog/index.d.ts', 'dist/cli/main.js']) {
      expect(paths).toContain(p);
    }
    expect(paths.filter((p) => /\.test\.|(^|\/)test\/|^src\/|^bench\//.test(p))).toEqual([]);
  });

  it('installs into an empty folder, where npx salvage --help prints the main help and exits 0', async () => {
    const { stdout } = await run('npx', ['--no', '--', 'salvage', '--help'], { cwd: app, env: ENV });
    expect(stdout).toMatch(/^salvage \d+\.\d+\.\d+\S* — recover the transactions a failed MySQL\/MariaDB primary committed\n/);
    expect(stdout).toContain('\nUsage:\n  salvage inspect (FILE… | --source URL)');
    expect(stdout).toContain('Run "salvage COMMAND --help" for a command\'s options and examples.');
  });

  it('imports as a library from the installed package, with both entry points', async () => {
    const script = "const m = await import('binlog-salvage'); const b = await import('binlog-salvage/binlog'); console.log(typeof m.apply, typeof m.plan, b.BinlogDecoder === m.BinlogDecoder);";
    const { stdout } = await run('node', ['--input-type=module', '-e', script], { cwd: app, env: ENV });
    expect(stdout).toBe('function function true\n');
  });
});
