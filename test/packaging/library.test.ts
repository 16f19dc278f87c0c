/**
 * The library as an application embeds it: the packed package installed into a project of its own
 * (`"type": "module"`), its README examples and an application naming every public type compiled
 * under strict TypeScript (node16 and bundler resolution), what its entry points load at import,
 * and a program that runs plan and apply against throwaway servers ending by itself.
 */
import { readFile, rm, writeFile, mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort } from '../harness/free-port.js';
import { startMariadb, type MariadbServer } from '../harness/mariadb-server.js';
import { stageSmallIncident } from '../harness/small-incident.js';
import { ENV, ROOT, packAndInstall, run, type PackedApp } from './packed-app.js';

/** A MySQL 8.0.32 binlog with zstd-compressed transactions (../shared/fixtures/real-binlogs/MANIFEST.md). */
const COMPRESSED = join(ROOT, '../shared/fixtures/real-binlogs/rust_mysql_common/transaction_compression.000001');

const TSC = join(ROOT, 'node_modules', 'typescript', 'bin', 'tsc');
const CONSUMER = join(import.meta.dirname, 'consumer');

let packed: PackedApp;
let primary: MariadbServer;
let dr: MariadbServer;
let files: string[];
let start: string;

/** The ```ts blocks of README.md's "## Library" section, as written. */
async function readmeLibraryExamples(): Promise<string[]> {
  const readme = await readFile(join(ROOT, 'README.md'), 'utf8');
  const from = readme.indexOf('\n## Library\n');
  const to = readme.indexOf('\n## ', from + 1);
  return [...readme.slice(from, to).matchAll(/```ts\n([\s\S]*?)```/g)].map((m) => m[1]!);
}

beforeAll(async () => {
  const staging = (async () => {
    [primary, dr] = await Promise.all([startMariadb({ name: 'libpack-primary' }), startMariadb({ name: 'libpack-dr', serverId: 2 })]);
    ({ start, files } = await stageSmallIncident(primary, dr));
  })();
  packed = await packAndInstall('salvage-libpack-');
  const src = join(packed.app, 'src');
  await mkdir(src);
  const examples = await readmeLibraryExamples();
  for (const [i, code] of examples.entries()) await writeFile(join(src, `readme-${i + 1}.ts`), code);
  await writeFile(join(src, 'types.ts'), await readFile(join(CONSUMER, 'types.ts.txt'), 'utf8'));
  await writeFile(join(packed.app, 'exits.mjs'), await readFile(join(CONSUMER, 'exits.mjs.txt'), 'utf8'));
  const strict = {
    target: 'ES2022',
    strict: true,
    noUncheckedIndexedAccess: true,
    exactOptionalPropertyTypes: true,
    noEmit: true,
    lib: ['ES2023'],
    types: ['node'],
    typeRoots: [join(ROOT, 'node_modules', '@types')],
  };
  // The package's own .d.ts files are checked once (skipLibCheck off: ~4x slower, it checks the dependencies' too).
  await writeFile(join(packed.app, 'tsconfig.json'), JSON.stringify({ compilerOptions: { ...strict, module: 'Node16', moduleResolution: 'node16', skipLibCheck: false }, include: ['src'] }));
  await writeFile(join(packed.app, 'tsconfig.bundler.json'), JSON.stringify({ compilerOptions: { ...strict, module: 'ESNext', moduleResolution: 'bundler', skipLibCheck: true }, include: ['src'] }));
  await staging;
}, 180_000);

afterAll(async () => {
  await Promise.all([primary?.stop(), dr?.stop()]);
  if (packed) await rm(packed.dir, { recursive: true, force: true });
});

describe('the library from an installed package', () => {
  it("README's library examples, and an application naming every public type, compile under strict TypeScript", async () => {
    expect((await readmeLibraryExamples()).length).toBe(4);
    for (const project of ['tsconfig.json', 'tsconfig.bundler.json']) {
      const compiled = await run('node', [TSC, '-p', project], { cwd: packed.app, env: ENV }).then(
        () => 'ok',
        (e: { stdout?: string }) => e.stdout ?? String(e),
      );
      expect(compiled, project).toBe('ok');
    }
  }, 120_000);

  it('import "binlog-salvage" loads neither the driver, zongji nor zod (they load on first use); "binlog-salvage/binlog" loads no driver, zod or zongji', async () => {
    // A resolve hook names every package an ES import pulled in (on stderr); CommonJS packages
    // required lazily (the driver, zod) show in require.cache, printed last.
    const hook = join(packed.app, 'hook.mjs');
    await writeFile(
      hook,
      'export async function resolve(s, c, next) { const r = await next(s, c); const m = /node_modules\\/((?:@[^/]+\\/)?[^/]+)\\//.exec(r.url); if (m) process.stderr.write(`LOADED ${m[1]}\\n`); return r; }\n',
    );
    const loaded = async (entry: string, use = ''): Promise<string[]> => {
      const script = [
        "import { register, createRequire } from 'node:module';",
        "import { pathToFileURL } from 'node:url';",
        `register(pathToFileURL(${JSON.stringify(hook)}));`,
        `const lib = await import('${entry}');`,
        use,
        'for (const k of Object.keys(createRequire(import.meta.url).cache)) { const m = /node_modules\\/((?:@[^/]+\\/)?[^/]+)\\//.exec(k); if (m) process.stderr.write(`LOADED ${m[1]}\\n`); }',
      ].join('\n');
      const { stderr } = await run('node', ['--input-type=module', '-e', script], { cwd: packed.app, env: ENV });
      return [...new Set(stderr.split('\n').filter((l) => l.startsWith('LOADED ')).map((l) => l.slice(7)))].filter((p) => p !== 'binlog-salvage').sort();
    };
    const main = await loaded('binlog-salvage');
    expect(main).not.toContain('@vlasky/zongji');
    expect(main).not.toContain('mysql2');
    expect(main).not.toContain('zod');
    expect(await loaded('binlog-salvage', 'lib.parseConfig({});')).toContain('zod');
    // The driver is there when a run needs it: a refused connection still went through it.
    expect(await loaded('binlog-salvage', `await lib.plan({ binlogs: ${JSON.stringify(files)}, target: lib.parseConnectionUrl('mysql://root@127.0.0.1:1', 'target'), reconnect: { attempts: 0 } }).catch(() => undefined);`)).toContain('mysql2');
    // zstd loads on the first compressed transaction (MySQL 8 binlog_transaction_compression), not at import.
    expect(await loaded('binlog-salvage/binlog')).toEqual([]);
    const decodeCompressed = [
      `const d = new lib.BinlogDecoder({ file: 'c' }); const events = d.push(await (await import('node:fs/promises')).readFile(${JSON.stringify(COMPRESSED)}));`,
      "if (!events.some((e) => e.kind === 'transaction-payload' && e.events.some((i) => i.kind === 'rows'))) throw new Error('no decoded payload');",
    ].join('\n');
    expect(await loaded('binlog-salvage/binlog', decodeCompressed)).toEqual(['fzstd']);
  }, 60_000);

  it('a program that runs plan and apply, and meets a refused and an aborted apply, exits by itself', async () => {
    const env = { ...ENV, FILES: JSON.stringify(files), DR: dr.url, START: start, REFUSED: `mysql://root@127.0.0.1:${await freePort()}` };
    const t0 = Date.now();
    const { stdout } = await run('node', ['exits.mjs'], { cwd: packed.app, env, timeout: 30_000 });
    expect(JSON.parse(stdout)).toEqual({
      planned: 6,
      // Without the logical reference the cascade guard does not hold the delete of order 2 (test/harness/small-incident.ts).
      applied: { applied: 2, merged: 1, remapped: 2, skipped: 0, quarantined: 1 },
      refused: 'DB_CONNECT',
      aborted: 'SALVAGE_ABORTED',
    });
    expect(Date.now() - t0).toBeLessThan(30_000);
  }, 60_000);
});
