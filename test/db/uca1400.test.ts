/**
 * MariaDB 10.10+'s UCA-14.0.0 collations (`utf8mb4_uca1400_ai_ci`, the default collation from
 * 11.5): information_schema.COLUMNS names them in full where COLLATIONS lists them by a short name
 * without an id, so the DR's columns joined to no collation id and were read as bytes — never equal
 * to the binlog's text, every clean update a divergence. Real servers.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { introspectSchemas } from '../../src/db/introspect.js';
import { readRowsByKeys } from '../../src/db/row-reader.js';
import { openSession } from '../../src/db/sql-session.js';
import { salvage } from '../../src/pipeline/salvage.js';
import type { LedgerLine } from '../../src/sink/ledger-entry.js';
import { readTransactions } from '../../src/source/read-transactions.js';
import { stageIncident, useServerPair } from '../harness/incident-pair.js';

const servers = useServerPair('uca1400');

const TABLE = `CREATE TABLE u.people (id INT PRIMARY KEY, name VARCHAR(40) NOT NULL, city VARCHAR(40) CHARACTER SET utf8mb3 COLLATE utf8mb3_uca1400_as_cs NOT NULL, note TEXT, UNIQUE KEY uk_name (name))
  DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_uca1400_ai_ci`;
const BASE = ["INSERT INTO u.people VALUES (1, 'José', 'Zürich', 'ünïcödé 😀'), (2, 'Ann', 'Oslo', NULL)"];

describe('uca1400 collations', () => {
  let ids: Map<string, number>;

  beforeAll(async () => {
    const { primary, dr } = servers;
    await stageIncident(primary, dr, { schema: [TABLE], base: BASE, lost: [] }, ['u']);
    const rows = (await dr.query(
      "SELECT FULL_COLLATION_NAME AS n, ID AS id FROM information_schema.COLLATION_CHARACTER_SET_APPLICABILITY WHERE FULL_COLLATION_NAME IN ('utf8mb4_uca1400_ai_ci', 'utf8mb3_uca1400_as_cs')",
    )) as { n: string; id: number }[];
    ids = new Map(rows.map((r) => [r.n, Number(r.id)]));
  }, 120_000);

  it("introspection gives each column its collation's id, and the DR's rows read as text", async () => {
    const { dr } = servers;
    expect(ids.size).toBe(2);
    const session = await openSession(dr.target);
    try {
      const table = (await introspectSchemas(session, ['u'])).get('u', 'people')!;
      expect(table.columns.map((c) => [c.name, c.collation, c.collationId])).toEqual([
        ['id', null, null],
        ['name', 'utf8mb4_uca1400_ai_ci', ids.get('utf8mb4_uca1400_ai_ci')],
        ['city', 'utf8mb3_uca1400_as_cs', ids.get('utf8mb3_uca1400_as_cs')],
        ['note', 'utf8mb4_uca1400_ai_ci', ids.get('utf8mb4_uca1400_ai_ci')],
      ]);
      const rows = await readRowsByKeys(session, table, ['id'], [[1], [2]], { forUpdate: false });
      expect([...rows.values()]).toEqual([
        [1, 'José', 'Zürich', 'ünïcödé 😀'],
        [2, 'Ann', 'Oslo', null],
      ]);
    } finally {
      await session.end();
    }
  });

  it('the binlog decodes such columns as text, equal to SELECT', async () => {
    const { primary } = servers;
    const values: unknown[][] = [];
    for await (const batch of readTransactions(await primary.binlogFiles())) {
      for (const item of batch.items) {
        if (item.kind !== 'transaction') continue;
        for (const ch of item.tx.changes) if (ch.table.table === 'people' && ch.after !== null) values.push([...ch.after]);
      }
    }
    expect(values).toEqual([
      [1, 'José', 'Zürich', 'ünïcödé 😀'],
      [2, 'Ann', 'Oslo', null],
    ]);
  });

  it('apply: a lost update is clean (not a divergence between text and bytes), a lost insert of "Zoë" meets the DR\'s "zoe" under the accent-insensitive key', async () => {
    const { primary, dr } = servers;
    const staged = await stageIncident(
      primary,
      dr,
      { schema: [TABLE], base: BASE, lost: ["UPDATE u.people SET note = 'çà 🎉', city = 'Genève' WHERE id = 1", "INSERT INTO u.people VALUES (3, 'Zoë', 'Bern', NULL)"], dr: ["INSERT INTO u.people VALUES (5, 'zoe', 'Basel', NULL)"] },
      ['u'],
    );
    const ledger: LedgerLine[] = [];
    const report = await salvage({ mode: 'apply', binlogs: staged.files, target: dr.target, start: { kind: 'from-gtid', set: staged.start }, onLedger: (l) => ledger.push(l) });
    expect(ledger.map((l) => [l.op, l.key, l.class, l.outcome])).toEqual([
      ['update', [1], 'clean', 'applied'],
      ['insert', [3], 'insert-unique-taken', 'quarantined'],
    ]);
    expect(report.outcomes).toMatchObject({ applied: 1, quarantined: 1 });
    expect(await dr.query('SELECT id, name, city, note FROM u.people ORDER BY id')).toEqual([
      { id: 1, name: 'José', city: 'Genève', note: 'çà 🎉' },
      { id: 2, name: 'Ann', city: 'Oslo', note: null },
      { id: 5, name: 'zoe', city: 'Basel', note: null },
    ]);
  }, 120_000);
});
