/**
 * What the built library loads at import (`npm run build` first): zod, like the driver and zongji,
 * loads on first use (src/config/zod.ts), so an application that only reads binlog files, and
 * `salvage inspect`, never pay for it; parseConfig, the first use, still validates as before.
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';

const run = promisify(execFile);
const DIST = resolve(import.meta.dirname, '../../dist');
const PRIMARY = resolve(import.meta.dirname, '../../../shared/fixtures/real-binlogs/local-mariadb-10.11/failover/primary');
const DIR = mkdtempSync(join(tmpdir(), 'salvage-lazy-'));

// Two ways in, both named: a resolve hook sees every ES import of a package, and require.cache,
// read at exit, every package required through createRequire (how the lazy loads go).
const HOOK = join(DIR, 'hook.mjs');
writeFileSync(
  HOOK,
  'export async function resolve(s, c, next) { const r = await next(s, c); const m = /node_modules\\/((?:@[^/]+\\/)?[^/]+)\\//.exec(r.url); if (m) process.stderr.write(`LOADED ${m[1]}\\n`); return r; }\n',
);
const WATCH = join(DIR, 'watch.mjs');
writeFileSync(
  WATCH,
  [
    "import { register, createRequire } from 'node:module';",
    `register(${JSON.stringify(pathToFileURL(HOOK).href)});`,
    'const cache = createRequire(import.meta.url).cache;',
    "process.on('exit', () => { for (const k of Object.keys(cache)) { const m = /node_modules\\/((?:@[^/]+\\/)?[^/]+)\\//.exec(k); if (m) process.stderr.write(`LOADED ${m[1]}\\n`); } });",
  ].join('\n'),
);

/** The packages a node process loaded, with its stdout. */
async function watched(args: string[]): Promise<{ loaded: string[]; stdout: string }> {
  const { stdout, stderr } = await run(process.execPath, ['--import', pathToFileURL(WATCH).href, ...args]);
  const loaded = [...new Set(stderr.split('\n').filter((l) => l.startsWith('LOADED ')).map((l) => l.slice(7)))].sort();
  return { loaded, stdout };
}

/** A module script: import the built library, then `use` it (`lib`), printing what it prints. */
const script = (use: string): string[] => ['--input-type=module', '-e', `const lib = await import(${JSON.stringify(pathToFileURL(join(DIST, 'index.js')).href)});\n${use}`];

afterAll(() => rmSync(DIR, { recursive: true, force: true }));

describe('what importing the library loads', () => {
  it('import loads no zod, mysql2 or zongji; the first parseConfig loads zod and validates as before', async () => {
    const imported = await watched(script(''));
    expect(imported.loaded).not.toContain('zod');
    expect(imported.loaded).not.toContain('mysql2');
    expect(imported.loaded).not.toContain('@vlasky/zongji');

    const parsed = await watched(
      script(
        [
          "const good = lib.parseConfig({ tables: { 'crm.accounts': { onConflict: { 'update-diverged': { strategy: 'newest', column: 'updated_at' } } } } });",
          "const bad = lib.parseConfig({ escalation: { action: 'halt' }, tables: { 'crm.accounts': { onConflict: { 'update-diverged': 'latest' } } } });",
          "console.log(JSON.stringify({ good: good.ok && good.config.tables[0].onConflict['update-diverged'], bad: bad.ok ? null : lib.formatProblems(bad.problems) }));",
        ].join('\n'),
      ),
    );
    // The watch sees zod when it is loaded: the first check is not blind.
    expect(parsed.loaded).toContain('zod');
    expect(JSON.parse(parsed.stdout)).toEqual({
      good: { strategy: 'newest', column: 'updated_at', tie: 'dr', thresholdMs: 0 },
      bad: [
        '✖ expected "stop" or "suspend-table" → at escalation.action',
        '✖ unknown strategy "latest"; expected one of "apply", "skip", "source", "newest", "oldest", "max", "min", "merge", "delta", "remap", "link", "rewrite-unique", "delete-blocking", "quarantine", "fail", "custom" → at tables."crm.accounts".onConflict.update-diverged',
      ].join('\n'),
    });
  });

  it('salvage inspect loads no zod; salvage config check does', async () => {
    const inspect = await watched([join(DIST, 'cli', 'main.js'), 'inspect', join(PRIMARY, 'primary-bin.000001')]);
    expect(inspect.stdout).toContain('primary-bin.000001');
    expect(inspect.loaded).not.toContain('zod');
    const good = join(DIR, 'good.json');
    writeFileSync(good, JSON.stringify({ tables: { 'crm.accounts': { columns: { balance: 'delta' } } } }));
    const check = await watched([join(DIST, 'cli', 'main.js'), 'config', 'check', good]);
    expect(check.stdout).toBe(`✔ ${good} is valid\n`);
    expect(check.loaded).toContain('zod');
  });
});
