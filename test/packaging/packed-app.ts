/**
 * The published package as an application gets it: `npm pack` of the built tree, installed from
 * the tarball into an empty project of its own (from npm's cache, no network). Assumes `dist/` is
 * built (`npm test` builds before it runs vitest); packs with `--ignore-scripts` so a test never
 * rebuilds `dist/` under other running suites.
 */
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';

export const run = promisify(execFile);
export const ROOT = resolve(import.meta.dirname, '../..');

/** The environment without what `npm test` sets for its own package, so the nested npm sees the temp folder's. */
export const ENV = Object.fromEntries(Object.entries(process.env).filter(([k]) => !/^(npm_package_|npm_lifecycle_|INIT_CWD$)/.test(k)));

export interface PackResult {
  readonly filename: string;
  readonly files: readonly { readonly path: string }[];
}

export interface PackedApp {
  /** The temp folder (the caller removes it). */
  readonly dir: string;
  readonly pack: PackResult;
  /** The application's folder: package.json (`"type": "module"`) and node_modules/binlog-salvage. */
  readonly app: string;
}

export async function packAndInstall(prefix: string): Promise<PackedApp> {
  if (!existsSync(join(ROOT, 'dist', 'index.d.ts')) || !existsSync(join(ROOT, 'dist', 'cli', 'main.js'))) {
    throw new Error('dist/ is not built: run "npm run build" first (npm test does)');
  }
  const dir = await mkdtemp(join(tmpdir(), prefix));
  const { stdout } = await run('npm', ['pack', '--ignore-scripts', '--json', '--pack-destination', dir], { cwd: ROOT, env: ENV, maxBuffer: 64 << 20 });
  const pack = (JSON.parse(stdout) as PackResult[])[0]!;
  // An empty project of its own, so npm does not climb to a parent folder's package.json.
  const app = join(dir, 'app');
  await mkdir(app);
  await writeFile(join(app, 'package.json'), `${JSON.stringify({ name: 'salvage-pack-smoke', version: '0.0.0', private: true, type: 'module' }, null, 2)}\n`);
  const tgz = join(dir, pack.filename);
  const install = (mode: string): Promise<unknown> => run('npm', ['install', '--no-audit', '--no-fund', mode, tgz], { cwd: app, env: ENV, maxBuffer: 64 << 20 });
  // The dependencies are in npm's cache once `npm ci` has run; --prefer-offline only if one is not.
  await install('--offline').catch(() => install('--prefer-offline'));
  return { dir, pack, app };
}
