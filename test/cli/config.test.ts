/**
 * `salvage config` end to end through the built command (`npm run build` first): exit codes
 * 0 and 2, the valid message, every problem rendered, and the JSON Schema.
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';

const run = promisify(execFile);
const CLI = resolve(import.meta.dirname, '../../dist/cli/main.js');
const DIR = mkdtempSync(join(tmpdir(), 'salvage-config-'));

async function salvage(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await run(process.execPath, [CLI, ...args]);
    return { code: 0, stdout, stderr };
  } catch (e) {
    const err = e as { code: number; stdout: string; stderr: string };
    return { code: err.code, stdout: err.stdout, stderr: err.stderr };
  }
}

function file(name: string, text: string): string {
  const path = join(DIR, name);
  writeFileSync(path, text);
  return path;
}

describe('salvage config', () => {
  it('check: a valid file exits 0 with ✔', async () => {
    const f = file('good.json', JSON.stringify({ tables: { 'crm.accounts': { onConflict: { 'update-diverged': { strategy: 'newest', column: 'updated_at' } }, columns: { balance: 'delta' } } } }));
    const r = await salvage('config', 'check', f);
    expect(r).toEqual({ code: 0, stdout: `✔ ${f} is valid\n`, stderr: '' });
  });

  it('check: an invalid file exits 2 and prints every problem, no stack trace', async () => {
    const f = file('bad.json', JSON.stringify({ escalation: { maxQuarantined: 5, action: 'halt' }, tables: { 'crm.accounts': { onConflict: { 'update-diverged': 'latest', 'insert-pk-takn': 'remap' } } } }));
    const r = await salvage('config', 'check', f);
    expect(r.code).toBe(2);
    expect(r.stdout).toBe('');
    expect(r.stderr.replace(f, 'FILE')).toMatchInlineSnapshot(`
      "FILE: 3 problems
      ✖ expected "stop" or "suspend-table" → at escalation.action
      ✖ unknown strategy "latest"; expected one of "apply", "skip", "source", "newest", "oldest", "max", "min", "merge", "delta", "remap", "link", "rewrite-unique", "delete-blocking", "quarantine", "fail", "custom" → at tables."crm.accounts".onConflict.update-diverged
      ✖ unknown conflict class "insert-pk-takn"; did you mean "insert-pk-taken"? → at tables."crm.accounts".onConflict.insert-pk-takn
      "
    `);
  });

  it('check: bad JSON and a missing file exit 2 with one line', async () => {
    const bad = await salvage('config', 'check', file('broken.json', '{ "tables": '));
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/^✖ .*broken\.json: not valid JSON \(.+\)\n$/);
    const missing = await salvage('config', 'check', join(DIR, 'nope.json'));
    expect(missing).toEqual({ code: 2, stdout: '', stderr: `✖ ${join(DIR, 'nope.json')}: no such file\n` });
  });

  it('check: a JSON file naming a custom strategy is refused as --config refuses it (exit 2)', async () => {
    const f = file('custom.json', JSON.stringify({ tables: { 'shop.customers': { onConflict: { 'update-diverged': { strategy: 'custom', name: 'byTier' } } } } }));
    const r = await salvage('config', 'check', f);
    expect(r.code).toBe(2);
    expect(r.stderr.replace(f, 'FILE')).toMatchInlineSnapshot(`
      "FILE: 1 problem
      ✖ no function for custom strategy "byTier": custom strategies are functions: give them in a .mjs or .ts configuration ("strategies": { … }) or to the library call → at tables."shop.customers".onConflict.update-diverged.name
      "
    `);
  });

  it('check: "references" under a glob table key is refused with its path (exit 2)', async () => {
    const f = file('glob-refs.json', JSON.stringify({ tables: { 'shop.*': { references: { customer_id: 'shop.customers.id' } } } }));
    const r = await salvage('config', 'check', f);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('→ at tables."shop.*".references');
  });

  it('check without a FILE is a usage error (exit 2)', async () => {
    const r = await salvage('config', 'check');
    expect(r.code).toBe(2);
    expect(r.stderr).toBe('salvage: salvage config check needs a FILE [USAGE]\n');
  });

  it('check: an unknown option is a usage error naming it (exit 2), not a file name', async () => {
    for (const args of [['--bogus=1'], ['--bogus'], [file('ok-bogus.json', '{}'), '--bogus=1']]) {
      const r = await salvage('config', 'check', ...args);
      expect(r.code, args.join(' ')).toBe(2);
      expect(r.stderr, args.join(' ')).toBe('salvage: config check: unknown option --bogus; see "salvage config --help" [USAGE]\n');
    }
  });

  it('schema prints the JSON Schema (exit 0)', async () => {
    const r = await salvage('config', 'schema');
    expect(r.code).toBe(0);
    const schema = JSON.parse(r.stdout) as { $schema: string; title: string };
    expect(schema.$schema).toBe('https://json-schema.org/draft/2020-12/schema');
    expect(schema.title).toBe('binlog-salvage configuration');
  });

  it('--help shows an example and exits 0', async () => {
    const r = await salvage('config', '--help');
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('salvage config check salvage.json');
    expect(r.stdout).toContain('"strategy": "newest"');
  });
});
