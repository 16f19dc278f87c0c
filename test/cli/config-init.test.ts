/**
 * `salvage config init` against a throwaway DR: the file it writes for a small shop schema,
 * that the file passes `config check` and is accepted by `plan --config`, --schemas, and
 * --output never overwriting without --force.
 */
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runConfig, type ConfigCommandEnvironment } from '../../src/cli/config-command.js';
import { runSalvageCommand } from '../../src/cli/salvage-command.js';
import { formatProblems } from '../../src/config/format-problems.js';
import { parseConfig } from '../../src/config/normalise.js';
import { openSession } from '../../src/db/sql-session.js';
import { ensureStateSchema } from '../../src/db/state-schema.js';
import { EngineError } from '../../src/errors.js';
import { startMariadb, type MariadbServer } from '../harness/mariadb-server.js';
import { Capture } from '../harness/capture.js';

const ENV: ConfigCommandEnvironment = { env: {}, home: undefined };

/** The EngineError `p` rejects with; anything else (or success) fails the test. */
async function errorOf(p: Promise<unknown>): Promise<EngineError> {
  try {
    await p;
  } catch (e) {
    if (e instanceof EngineError) return e;
    throw e;
  }
  throw new Error('expected an EngineError');
}

async function init(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  const stdout = new Capture();
  const stderr = new Capture();
  const code = await runConfig(['init', ...args], stdout, stderr, ENV);
  return { code, stdout: stdout.text, stderr: stderr.text };
}

describe('salvage config init against a throwaway DR', () => {
  let dr: MariadbServer;
  let dir: string;

  beforeAll(async () => {
    dr = await startMariadb({ name: 'config-init' });
    dir = await mkdtemp(join(tmpdir(), 'salvage-config-init-'));
    await dr.query('CREATE DATABASE shop');
    await dr.query(
      `CREATE TABLE shop.customers (id INT UNSIGNED NOT NULL AUTO_INCREMENT PRIMARY KEY, email VARCHAR(200) NOT NULL,
         balance DECIMAL(12,2) NOT NULL DEFAULT 0, updated_at TIMESTAMP NOT NULL DEFAULT CURRENT_TIMESTAMP ON UPDATE CURRENT_TIMESTAMP,
         lock_version INT NOT NULL DEFAULT 0, is_vip BOOLEAN NOT NULL DEFAULT FALSE, UNIQUE KEY uk_email (email)) ENGINE=InnoDB`,
    );
    await dr.query('CREATE TABLE shop.orders (id INT UNSIGNED NOT NULL AUTO_INCREMENT PRIMARY KEY, customer_id INT UNSIGNED NOT NULL, status VARCHAR(20) NOT NULL, modified DATETIME NULL, discount DECIMAL(5,2) NULL) ENGINE=InnoDB');
    await dr.query(
      `CREATE TABLE shop.order_lines (order_id INT UNSIGNED NOT NULL, line_no SMALLINT NOT NULL, qty INT NOT NULL, PRIMARY KEY (order_id, line_no),
         CONSTRAINT fk_lines_order FOREIGN KEY (order_id) REFERENCES shop.orders (id) ON DELETE CASCADE) ENGINE=InnoDB`,
    );
    await dr.query('CREATE DATABASE crm');
    await dr.query('CREATE TABLE crm.notes (id BIGINT NOT NULL PRIMARY KEY, body TEXT NULL) ENGINE=InnoDB');
    // The state a previous run left: left out of the tables, and named as stateSchema.
    const session = await openSession(dr.target);
    try {
      await ensureStateSchema(session, 'salvage_incident_7');
    } finally {
      await session.end();
    }
  }, 120_000);

  afterAll(async () => {
    await dr?.stop();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('prints a starting file for every schema: keys, a guessed reference, suggestions in "$comment"; parseConfig accepts it', async () => {
    const r = await init('--target', dr.url);
    expect(r.code).toBe(0);
    expect(r.stderr).toBe(`salvage config init: 4 tables, 1 guessed reference from ${dr.target.redacted}\n`);
    expect(r.stdout.replaceAll(dr.target.redacted, 'DR')).toMatchInlineSnapshot(`
      "{
        "$schema": "./salvage.schema.json",
        "$comment": [
          "Written by \\"salvage config init\\" from the DR at DR: 4 tables (schemas crm, shop) and 1 guessed reference. Check it with: salvage config check FILE",
          "\\"$comment\\" keys are notes for people: salvage ignores them in every object of settings.",
          "$schema: for completion and checking in an editor, write the JSON Schema beside this file: salvage config schema > salvage.schema.json",
          "The run-level settings below are the built-in defaults, spelled out:",
          "  stateSchema: the engine's own schema on the DR (checkpoint, ledger, key map, quarantine).",
          "  keepTransactionsWhole: true applies each lost transaction whole or quarantines it whole; false decides row by row.",
          "  cascadeGuard: forbid quarantines a lost delete that the DR would cascade onto rows the lost changes never touched.",
          "Also available: escalation, compare, ignoreColumns, defaults.onConflict (a strategy per conflict class for every table): see salvage config schema.",
          "Each table's \\"$comment\\" lists its keys and, for columns that look like timestamps, versions or counters, a suggested strategy. The suggestions are not active: they are guesses from column names and types, so copy into the table's rule only those that fit your data.",
          "\\"references\\" entries are active: logical foreign keys guessed from columns named <table>_id where the DR declares none and the table (same schema) and its one-column primary key exist. salvage treats them as foreign keys the server does not enforce (a remapped parent key is rewritten in them); delete any that is wrong.",
          "A table named here wins over a glob: a rule written under \\"db.*\\" does not reach a table listed by name, so write its rules in its own entry or delete the entry.",
          "Left out, the engine's own state: salvage_incident_7.*."
        ],
        "stateSchema": "salvage_incident_7",
        "keepTransactionsWhole": true,
        "cascadeGuard": "forbid",
        "tables": {
          "crm.notes": {
            "$comment": [
              "primary key (id)"
            ]
          },
          "shop.customers": {
            "$comment": [
              "primary key (id), AUTO_INCREMENT",
              "unique key uk_email (email)",
              "balance looks like a counter or balance. Suggestion (not active): columns: { balance: delta } — when both sides changed balance, the lost change's difference (after − before) is added to the DR's value instead of choosing a side",
              "updated_at looks like a timestamp (ON UPDATE CURRENT_TIMESTAMP). Suggestion (not active): onConflict: { update-diverged: { strategy: newest, column: updated_at, tie: dr } } — when both sides changed the row, the one with the later updated_at wins; a tie keeps the DR row",
              "updated_at is rewritten by the server on every write, so two copies of a row differ in it even when their data agrees: to compare rows without it, add \\"shop.customers.updated_at\\" to the top-level ignoreColumns",
              "lock_version looks like a row version. Suggestion (not active): onConflict: { update-diverged: { strategy: max, column: lock_version } } — when both sides changed the row, the one with the higher lock_version wins"
            ]
          },
          "shop.order_lines": {
            "$comment": [
              "primary key (order_id, line_no)",
              "foreign key fk_lines_order (order_id) → shop.orders (id), ON DELETE CASCADE",
              "qty looks like a counter or balance. Suggestion (not active): columns: { qty: delta } — when both sides changed qty, the lost change's difference (after − before) is added to the DR's value instead of choosing a side"
            ]
          },
          "shop.orders": {
            "$comment": [
              "primary key (id), AUTO_INCREMENT",
              "referenced by shop.order_lines (order_id), ON DELETE CASCADE",
              "references.customer_id → shop.customers.id: guessed from the column name (no foreign key is declared; shop.customers has primary key id); active: delete it if wrong",
              "modified looks like a timestamp. Suggestion (not active): onConflict: { update-diverged: { strategy: newest, column: modified, tie: dr } } — when both sides changed the row, the one with the later modified wins; a tie keeps the DR row"
            ],
            "references": {
              "customer_id": "shop.customers.id"
            }
          }
        }
      }
      "
    `);
    const parsed = parseConfig(JSON.parse(r.stdout));
    if (!parsed.ok) throw new Error(formatProblems(parsed.problems));
    expect(parsed.config.stateSchema).toBe('salvage_incident_7');
    expect(parsed.config.tables.map((t) => [t.pattern, t.onConflict, t.columns, t.references])).toEqual([
      ['crm.notes', {}, {}, {}],
      ['shop.customers', {}, {}, {}],
      ['shop.order_lines', {}, {}, {}],
      ['shop.orders', {}, {}, { customer_id: { schema: 'shop', table: 'customers', column: 'id' } }],
    ]);
  });

  it('--schemas reads only those; a schema without tables is a usage error (exit 2)', async () => {
    const r = await init('--target', dr.url, '--schemas', 'crm');
    expect(Object.keys((JSON.parse(r.stdout) as { tables: object }).tables)).toEqual(['crm.notes']);
    const e = await errorOf(init('--target', dr.url, '--schemas', 'crm,shopp'));
    expect([e.code, e.message]).toEqual(['USAGE', '--schemas: the DR has no tables in "shopp"']);
  });

  it('--output writes a file that passes config check and plan --config; it is never overwritten without --force', async () => {
    const file = join(dir, 'salvage.json');
    const r = await init('--target', dr.url, '--output', file);
    expect(r).toEqual({ code: 0, stdout: `✔ wrote ${file}: 4 tables, 1 guessed reference from ${dr.target.redacted}; check it with: salvage config check ${file}\n`, stderr: '' });
    const written = await readFile(file, 'utf8');
    expect(written).toBe((await init('--target', dr.url)).stdout);

    const out = new Capture();
    expect(await runConfig(['check', file], out, new Capture(), ENV)).toBe(0);
    expect(out.text).toBe(`✔ ${file} is valid\n`);
    // plan reads the configuration (refusing strategies this version does not carry out) before the binlog.
    const plan = await errorOf(runSalvageCommand('plan', ['--binlog', join(dir, 'no-such-binlog'), '--target', dr.url, '--config', file, '--quiet'], new Capture(), new Capture(), { ...ENV, isTty: false }));
    expect(plan.code).not.toBe('USAGE');
    expect(plan.code).toMatch(/^SOURCE_/);

    await writeFile(file, '{}\n');
    const kept = await errorOf(init('--target', dr.url, '--output', file));
    expect([kept.code, kept.message]).toEqual(['USAGE', `--output: ${file} exists; add --force to overwrite it`]);
    expect(await readFile(file, 'utf8')).toBe('{}\n');
    expect((await init('--target', dr.url, '--output', file, '--force')).code).toBe(0);
    expect(await readFile(file, 'utf8')).toBe(written);
  });

  it('usage errors: no --target, --force without --output, an empty schema name', async () => {
    const messages = await Promise.all([init(), init('--target', dr.url, '--force'), init('--target', dr.url, '--schemas', 'shop,')].map(async (p) => (await errorOf(p)).message));
    expect(messages).toEqual([
      'config init: --target mysql://user@host:port (the DR) is required',
      '--force only applies with --output FILE',
      '--schemas takes names separated by commas, got "shop,"',
    ]);
  });
});
