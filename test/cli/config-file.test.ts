/**
 * `--config FILE` (src/cli/config-file.ts), in process: JSON, `.mjs` modules with custom
 * strategies, `.ts` through the `typescript` package (a devDependency here) or a clear refusal
 * without it, and every mistake as a UsageError (exit 2) with its `✖ … → at …` lines.
 */
import { mkdtempSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadConfigFile } from '../../src/cli/config-file.js';
import { UsageError } from '../../src/cli/usage-error.js';

const DIR = mkdtempSync(join(tmpdir(), 'salvage-config-file-'));

function file(name: string, text: string): string {
  const path = join(DIR, name);
  writeFileSync(path, text);
  return path;
}

async function failure(p: Promise<unknown>): Promise<UsageError> {
  try {
    await p;
  } catch (e) {
    if (e instanceof UsageError) return e;
    throw e;
  }
  throw new Error('expected a UsageError');
}

const RULES = `{
  tables: { 't.acct': { onConflict: { 'update-diverged': { strategy: 'custom', name: 'vip' }, 'insert-unique-taken': 'delete-blocking' } } },
  strategies: { vip: (change) => (change.dr?.name === 'VIP' ? 'skip' : 'source') },
}`;

describe('--config files', () => {
  it('JSON: delete-blocking is carried out now, so the loader takes it', async () => {
    const f = file('db.json', JSON.stringify({ tables: { 't.cust': { onConflict: { 'insert-unique-taken': { strategy: 'delete-blocking', maxChildren: 2 } } } } }));
    const { config, strategies } = await loadConfigFile(f);
    expect(config.tables[0]!.onConflict['insert-unique-taken']).toEqual({ strategy: 'delete-blocking', maxChildren: 2 });
    expect(strategies).toEqual({});
  });

  it('.mjs: the default export, its functions under "strategies"', async () => {
    const { config, strategies } = await loadConfigFile(file('rules.mjs', `export default ${RULES};\n`));
    expect(config.tables[0]!.onConflict['update-diverged']).toEqual({ strategy: 'custom', name: 'vip' });
    expect(Object.keys(strategies)).toEqual(['vip']);
    expect(strategies['vip']!({ dr: { name: 'VIP' } } as never)).toBe('skip');
  });

  it('.ts: transpiled with the typescript package, the temporary module removed afterwards', async () => {
    const before = readdirSync(DIR).length;
    const f = file(
      'rules.ts',
      `interface Change { readonly dr: Record<string, unknown> | null }\nconst vip = (change: Change): string => (change.dr?.['name'] === 'VIP' ? 'skip' : 'source');\nexport default { tables: { 't.acct': { onConflict: { 'update-diverged': { strategy: 'custom' as const, name: 'vip' } } } }, strategies: { vip } };\n`,
    );
    const { strategies } = await loadConfigFile(f);
    expect(strategies['vip']!({ dr: { name: 'Ann' } } as never)).toBe('source');
    expect(readdirSync(DIR).length).toBe(before + 1);
  });

  it('.ts with syntax errors: refused with file, line and column, as a .mjs would be', async () => {
    const f = file('broken.ts', "export default {\n  tables: {\n    'shop.acct' { columns: { balance: 'delta' } },\n  },\n};\n");
    expect((await failure(loadConfigFile(f))).message).toBe(`--config: ${f} has syntax errors:\n✖ ${f}:3:17: ':' expected.`);
    const cut = file('cut.ts', 'export default {\n');
    expect((await failure(loadConfigFile(cut))).message).toMatch(new RegExp(`^--config: .*cut\\.ts has syntax errors:\\n✖ .*cut\\.ts:2:1: '}' expected\\.`));
  });

  it('.ts without the typescript package: says what to do instead', async () => {
    const f = file('nots.ts', 'export default {};\n');
    const e = await failure(
      loadConfigFile(f, {
        importTypeScript: () => Promise.reject(new Error("Cannot find package 'typescript'")),
      }),
    );
    expect(e.message).toBe(
      `--config: ${f} is TypeScript, and the "typescript" package cannot be imported here: install it (npm install typescript) or write the configuration as a .mjs file (the same code without types)`,
    );
    expect(e.code).toBe('USAGE');
  });

  it('a custom strategy named in JSON, where no function can be: every such name listed', async () => {
    const f = file('custom.json', JSON.stringify({ defaults: { onConflict: { 'update-diverged': { strategy: 'custom', name: 'vip' } } } }));
    expect((await failure(loadConfigFile(f))).message).toBe(
      `--config: ${f} has problems:\n✖ no function for custom strategy "vip": custom strategies are functions: give them in a .mjs or .ts configuration ("strategies": { … }) or to the library call → at defaults.onConflict.update-diverged.name`,
    );
  });

  it('.mjs mistakes: a name without its function, a function in place of a strategy, a strategy that is no function', async () => {
    const f = file(
      'mistakes.mjs',
      `export default {\n  tables: { 't.a': { onConflict: { 'update-diverged': () => 'skip', 'delete-diverged': { strategy: 'custom', name: 'gone' } } } },\n  strategies: { vip: () => 'skip', half: 'skip' },\n};\n`,
    );
    expect((await failure(loadConfigFile(f))).message).toBe(
      `--config: ${f} has problems:\n✖ expected a function, found string → at strategies.half\n✖ a function here: put it under "strategies" and name it: { "strategy": "custom", "name": "…" } → at tables."t.a".onConflict.update-diverged`,
    );
    const g = file('missing.mjs', `export default { tables: { 't.a': { onConflict: { 'delete-diverged': { strategy: 'custom', name: 'gone' } } } }, strategies: { vip: () => 'skip' } };\n`);
    expect((await failure(loadConfigFile(g))).message).toBe(`--config: ${g} has problems:\n✖ no function for custom strategy "gone": "strategies" has "vip" → at tables."t.a".onConflict.delete-diverged.name`);
  });

  it('.mjs without a default export, or one that throws when loaded', async () => {
    const f = file('named.mjs', 'export const config = {};\n');
    expect((await failure(loadConfigFile(f))).message).toBe(`--config: ${f} has no default export: write "export default { … }" with the configuration`);
    const g = file('throws.mjs', "throw new Error('boom');\n");
    expect((await failure(loadConfigFile(g))).message).toBe(`--config: cannot load ${g}: boom`);
    const h = file('throws-string.mjs', "throw 'boom';\n");
    expect((await failure(loadConfigFile(h))).message).toBe(`--config: cannot load ${h}: threw "boom"`);
    const i = file('getter.mjs', "export default { get tables() { throw new Error('no tables'); } };\n");
    expect((await failure(loadConfigFile(i))).message).toBe(`--config: cannot read the default export of ${i}: no tables`);
  });

  it('the configuration itself is checked as for JSON', async () => {
    const f = file('bad.mjs', "export default { tables: { 't.a': { onConflict: { 'update-diverged': 'latest' } } } };\n");
    expect((await failure(loadConfigFile(f))).message).toMatch(new RegExp(`^--config: ${f.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')} has problems:\n✖ unknown strategy "latest"; expected one of .* → at tables\\."t\\.a"\\.onConflict\\.update-diverged$`));
  });
});

describe('salvage config check on a module', () => {
  it('validates a .mjs configuration with its functions, and reports a broken one like --config does', async () => {
    const { runConfig } = await import('../../src/cli/config-command.js');
    const { Capture } = await import('../harness/capture.js');
    const env = { env: {}, home: undefined };
    const good = file('check.mjs', `export default ${RULES};\n`);
    const out = new Capture();
    expect(await runConfig(['check', good], out, new Capture(), env)).toBe(0);
    expect(out.text).toBe(`✔ ${good} is valid (custom strategies: vip)\n`);
    const bad = file('check-bad.mjs', "export default { tables: { 't.acct': { onConflict: { 'update-diverged': { strategy: 'custom', name: 'nope' } } } } };\n");
    const err = new Capture();
    expect(await runConfig(['check', bad], new Capture(), err, env)).toBe(2);
    expect(err.text).toMatch(new RegExp(`^${bad.replace(/[.*+?^\${}()|[\]\\]/g, '\\$&')} has problems:\n✖ .*nope`));
  });
});
