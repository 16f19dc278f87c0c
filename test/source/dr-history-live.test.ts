/**
 * The DR's history read live (`--dr-source URL`) from a throwaway MariaDB, against the same
 * server's binlog files read as `--dr-binlog`: the same history either way. Two stagings:
 *
 * - one server (server_id 2) whose "received" transactions are written under `SET SESSION
 *   server_id = 1` (as the replication applier logs them with log_slave_updates), in two GTID
 *   domains, then its own writes (in both domains), the salvage engine's state writes, and a
 *   replay of the primary's events after the failover: every answer exact;
 * - a real failover (src/demo/stage-failover.ts: primary → DR replication, link cut, DR
 *   promoted): the point and the per-key answers agree with the DR's rows before and after.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { introspectSchemas } from '../../src/db/introspect.js';
import { openSession, type SqlRow, type SqlSession } from '../../src/db/sql-session.js';
import { stageFailover, FAILOVER_TABLES, type StagedFailover } from '../../src/demo/stage-failover.js';
import type { DrHistory, HistorySpill } from '../../src/model/dr-history.js';
import { rowKey } from '../../src/model/row-key.js';
import { uniqueFold } from '../../src/reconcile/value-equality.js';
import type { SchemaCatalog } from '../../src/model/table-schema.js';
import { DrHistoryBuilder } from '../../src/reconcile/dr-history-builder.js';
import { readDrHistory } from '../../src/source/dr-history-reader.js';
import type { LiveTarget } from '../../src/source/live-source.js';
import { harnessBinaries } from '../harness/mariadb-binaries.js';
import { startMariadb, type MariadbServer } from '../harness/mariadb-server.js';

/** An e-mail's unique key as TableState folds it (utf8mb4_general_ci's weights, not the value as logged). */
const emailKey = (v: string): string => rowKey([uniqueFold(v, 'utf8mb4_general_ci')]);

const OWN = { serverId: 2, serverUuid: null };

async function masterStatus(s: SqlSession): Promise<{ file: string; pos: number }> {
  const r = (await s.query('SHOW MASTER STATUS')).rows[0]!;
  return { file: String(r['File']), pos: Number(r['Position']) };
}

async function both(target: LiveTarget, control: SqlSession, files: string[], catalog: SchemaCatalog): Promise<{ live: DrHistory; fromFiles: DrHistory }> {
  const drEnd = await masterStatus(control);
  const createBuilder = (spill: HistorySpill) => new DrHistoryBuilder({ catalog, own: OWN, spill });
  const live = await readDrHistory({ live: { target, control }, own: OWN, drEnd, createBuilder });
  const fromFiles = await readDrHistory({ files, own: OWN, drEnd, createBuilder });
  return { live, fromFiles };
}

function answers(h: DrHistory, table: string, ids: readonly number[]): unknown[] {
  return ids.map((id) => {
    const r = h.row(table, rowKey([id]));
    return r === undefined ? [id, null] : [id, { ...r, changedColumns: [...r.changedColumns].sort() }];
  });
}

describe('readDrHistory live, one server with two identities', () => {
  let db: MariadbServer;
  let s: SqlSession;

  beforeAll(async () => {
    db = await startMariadb({ name: 'dr-history-live', serverId: 2 });
    s = await openSession(db.target);
  }, 120_000);

  afterAll(async () => {
    await s?.end();
    await db?.stop();
  });

  it('finds the point, keeps the DR own writes only, and reads the same live as from the files', async () => {
    const run = async (sql: string[]): Promise<void> => {
      for (const q of sql) await s.query(q);
    };
    // What the DR received from the primary (server_id 1), in domains 0 and 7.
    await run([
      'SET SESSION server_id = 1',
      'CREATE DATABASE shop',
      'CREATE TABLE shop.c (id INT PRIMARY KEY, email VARCHAR(40) NOT NULL, n INT NOT NULL, UNIQUE KEY uk_email (email)) DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_general_ci',
      "INSERT INTO shop.c VALUES (1, 'a@x', 0), (2, 'b@x', 0), (3, 'c@x', 0)",
      'SET SESSION gtid_domain_id = 7',
      "INSERT INTO shop.c VALUES (4, 'd@x', 0)",
      'SET SESSION gtid_domain_id = 0',
      'SET SESSION server_id = 2',
    ]);
    // The DR on its own, in both domains; then the engine's state writes; then a replay of the primary.
    await run([
      "INSERT INTO shop.c VALUES (5, 'E@X', 0)",
      'UPDATE shop.c SET n = 1 WHERE id = 1',
      'UPDATE shop.c SET n = 0 WHERE id = 1',
      'DELETE FROM shop.c WHERE id = 2',
      "INSERT INTO shop.c VALUES (2, 'b2@x', 0)",
      'SET SESSION gtid_domain_id = 7',
      'UPDATE shop.c SET id = 40 WHERE id = 4',
      'SET SESSION gtid_domain_id = 0',
      'CREATE DATABASE IF NOT EXISTS `salvage` CHARACTER SET utf8mb4 COLLATE utf8mb4_bin',
      'CREATE TABLE IF NOT EXISTS `salvage`.`checkpoint` (id INT PRIMARY KEY, pos INT)',
      'BEGIN',
      "INSERT INTO shop.c VALUES (6, 'lost@x', 0)",
      'INSERT INTO salvage.checkpoint VALUES (1, 1)',
      'COMMIT',
      'SET SESSION server_id = 1',
      'UPDATE shop.c SET n = 9 WHERE id = 3',
      'SET SESSION server_id = 2',
    ]);
    const catalog = await introspectSchemas(s, ['shop']);
    const { live, fromFiles } = await both(db.target, s, await db.binlogFiles(), catalog);
    try {
      expect(live.failover.lastReceived?.at).toBe('7-1-1');
      expect(live.failover.firstOwn?.at).toBe('0-2-4');
      expect(live.failover.rule).toMatch(/^first transaction with the DR's own server id 2 \(0-2-4 at mysql-bin\.000001:\d+\)$/);
      expect(live.failover.evidence.slice(2)).toEqual([
        'before the failover point: 4 transactions; server ids 1 (4); GTID domains 0, 7',
        expect.stringMatching(/^last received from the primary: 7-1-1 at mysql-bin\.000001:\d+ \(server id 1, .* UTC\)$/),
        expect.stringMatching(/^first written by the DR: 0-2-4 at mysql-bin\.000001:\d+ \(server id 2, .* UTC\)$/),
        "after the failover point: 9 transactions of the DR's own; server ids 2 (9); GTID domains 0, 7",
        "3 of them the salvage engine's own (state schema salvage): not history",
        "replayed after the failover: 1 transactions from other servers (server ids 1 (1); GTID domains 0): not the DR's history",
      ]);
      expect(live.transactions).toBe(6);
      expect(live.complete).toBe(true);
      expect(fromFiles.complete).toBe(true);
      expect(live.tables).toEqual([{ table: 'shop.c', inserted: 2, updated: 3, deleted: 1 }]);
      expect(answers(live, 'shop.c', [1, 2, 3, 4, 5, 6, 40])).toEqual([
        [1, { insertedByDr: false, existedAtFailover: true, deletedByDr: false, changedColumns: ['n'], first: '0-2-5', last: '0-2-6' }],
        [2, { insertedByDr: true, existedAtFailover: true, deletedByDr: false, changedColumns: [], first: '0-2-7', last: '0-2-8' }],
        [3, null],
        [4, { insertedByDr: false, existedAtFailover: true, deletedByDr: true, changedColumns: [], first: '7-2-2', last: '7-2-2' }],
        [5, { insertedByDr: true, existedAtFailover: false, deletedByDr: false, changedColumns: [], first: '0-2-4', last: '0-2-4' }],
        [6, null],
        [40, { insertedByDr: true, existedAtFailover: false, deletedByDr: false, changedColumns: [], first: '7-2-2', last: '7-2-2' }],
      ]);
      expect(live.uniqueInserted('shop.c', 'uk_email', emailKey('e@x'))).toBe('0-2-4');
      expect(live.uniqueInserted('shop.c', 'uk_email', emailKey('b2@x'))).toBe('0-2-8');
      expect(live.uniqueInserted('shop.c', 'uk_email', emailKey('lost@x'))).toBeUndefined();
      // The files say the same, down to the evidence (file names, positions, times).
      expect(fromFiles.failover).toEqual(live.failover);
      expect(answers(fromFiles, 'shop.c', [1, 2, 3, 4, 5, 6, 40])).toEqual(answers(live, 'shop.c', [1, 2, 3, 4, 5, 6, 40]));
    } finally {
      await live.close();
      await fromFiles.close();
    }
  }, 60_000);
});

describe('readDrHistory on a staged failover (real replication)', () => {
  let staged: StagedFailover;
  let filesDir: string;
  let s: SqlSession;

  beforeAll(async () => {
    filesDir = await mkdtemp(join(tmpdir(), 'dr-history-stage-'));
    staged = await stageFailover({ context: { host: process, binaries: harnessBinaries() }, filesDir, progress: () => undefined });
    s = await openSession(staged.dr.target);
  }, 240_000);

  afterAll(async () => {
    await s?.end();
    await staged?.stop();
    if (filesDir !== undefined) await rm(filesDir, { recursive: true, force: true });
  });

  it('the point is the link cut and the first DR write; every key agrees with the DR rows before and after', async () => {
    const catalog = await introspectSchemas(s, ['shop']);
    const { live, fromFiles } = await both(staged.dr.target, s, await staged.dr.binlogFiles(), catalog);
    try {
      const lastShared = staged.shared[staged.shared.length - 1]!.gtid;
      expect(staged.linkCutGtidPos.split(',')).toContain(lastShared);
      expect(live.failover.lastReceived?.at).toBe(lastShared);
      expect(live.failover.firstOwn?.at).toBe(staged.drOwn[0]!.gtid);
      expect(live.transactions).toBe(staged.drOwn.length);
      expect(live.complete).toBe(true);
      expect(fromFiles.failover).toEqual(live.failover);
      const seen = { inserted: 0, deleted: 0, changed: 0, untouched: 0 };
      for (const table of FAILOVER_TABLES) {
        const before = new Map(staged.drAtFailover[table].map((r): [number, SqlRow] => [Number(r['id']), r]));
        const after = new Map(staged.drAfterPromotion[table].map((r): [number, SqlRow] => [Number(r['id']), r]));
        const ids = [...new Set([...before.keys(), ...after.keys()])].sort((a, b) => a - b);
        for (const id of ids) {
          const h = live.row(table, rowKey([id]));
          expect(fromFiles.row(table, rowKey([id]))).toEqual(h);
          const was = before.get(id);
          const now = after.get(id);
          const where = `${table} id ${id}`;
          if (was === undefined) {
            seen.inserted++;
            expect([where, h?.insertedByDr, h?.existedAtFailover]).toEqual([where, true, false]);
          } else if (now === undefined) {
            seen.deleted++;
            expect([where, h?.deletedByDr, h?.existedAtFailover]).toEqual([where, true, true]);
          } else if (JSON.stringify(was) !== JSON.stringify(now)) {
            // Changed since (or deleted and re-inserted): the history knows the key.
            seen.changed++;
            expect([where, h !== undefined && (h.changedColumns.size > 0 || h.insertedByDr)]).toEqual([where, true]);
          } else {
            seen.untouched++;
          }
        }
      }
      // The default seed's plan: the DR inserted 5 + 3 + 4 rows (workload.drInsertIds), deleted 3, changed 4.
      expect(seen).toEqual({ inserted: Object.values(staged.workload.drInsertIds).flat().length, deleted: 3, changed: 4, untouched: 28 });
      expect(seen.inserted).toBe(12);
    } finally {
      await live.close();
      await fromFiles.close();
    }
  }, 120_000);
});
