/**
 * A DR that runs out of room mid-run (docs/RELIABILITY.md, section 4): its InnoDB tables live in
 * the system tablespace, capped (`innodb_data_file_path=…:autoextend:max:…`), and a ballast table
 * takes most of it, so a window's rows do not fit. The run stops with SALVAGE_FAULT saying to free
 * space; the windows before stay committed, the failing one is rolled back whole (every row on the
 * DR has its ledger row, and no ledger row lacks its row). With the ballast dropped the same apply
 * resumes and ends with every lost row applied once; a second run changes nothing.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EngineError } from '../../src/errors.js';
import { salvage, SalvageErrorCode, type SalvageOptions } from '../../src/pipeline/salvage.js';
import { startMariadb, type MariadbServer } from '../harness/mariadb-server.js';
import { stageIncident } from '../harness/incident-pair.js';

let primary: MariadbServer;
let dr: MariadbServer;

/** Lost transactions, each inserting ROWS_PER_TX rows of ≈ 1 KB. */
const TRANSACTIONS = 60;
const ROWS_PER_TX = 100;
const LOST_ROWS = TRANSACTIONS * ROWS_PER_TX;

beforeAll(async () => {
  [primary, dr] = await Promise.all([
    startMariadb({ name: 'full-primary' }),
    // Every InnoDB table in the system tablespace, which may not grow past 64 MiB.
    startMariadb({ name: 'full-dr', serverId: 2, extraArgs: ['--innodb-file-per-table=0', '--innodb-data-file-path=ibdata1:12M:autoextend:max:64M'] }),
  ]);
}, 120_000);

afterAll(async () => {
  await Promise.all([primary?.stop(), dr?.stop()]);
});

async function count(sql: string): Promise<number> {
  const rows = (await dr.query(sql)) as { n: number | string }[];
  return Number(rows[0]!.n);
}

describe('a DR that runs out of room', () => {
  it('stops with what to do, a whole window rolled back; resumes once there is room, every row applied once', async () => {
    const insert = (tx: number): string =>
      `INSERT INTO t.big (id, pad) VALUES ${Array.from({ length: ROWS_PER_TX }, (_, i) => `(${tx * ROWS_PER_TX + i + 1}, REPEAT('${String.fromCharCode(97 + (i % 26))}', 1000))`).join(', ')}`;
    const staged = await stageIncident(primary, dr, {
      schema: ['CREATE TABLE t.big (id INT PRIMARY KEY, pad VARCHAR(1000) NOT NULL) ENGINE=InnoDB', 'CREATE TABLE t.ballast (id INT PRIMARY KEY, pad VARCHAR(1000) NOT NULL) ENGINE=InnoDB'],
      lost: Array.from({ length: TRANSACTIONS }, (_, tx) => insert(tx)),
    });
    // The ballast (on the DR only): grown 1,000 rows (≈ 1 MB) at a time until the tablespace is
    // full, then 8,000 rows deleted (and purged: their pages freed), which leaves room for a few
    // windows, not all.
    const fill = async (from: number, rows: number): Promise<void> => {
      await dr.query(`INSERT INTO t.ballast (id, pad) SELECT ${from} + seq, REPEAT('x', 1000) FROM t.seq_1_to_${rows}`);
    };
    let fitted = 0;
    for (;;) {
      try {
        await fill(fitted, 1000);
      } catch (e) {
        expect(String((e as Error).message)).toMatch(/is full/);
        break;
      }
      fitted += 1000;
    }
    expect(fitted).toBeGreaterThan(10_000);
    await dr.query(`DELETE FROM t.ballast WHERE id > ${fitted - 8000}`);
    await dr.query('SET GLOBAL innodb_max_purge_lag_wait = 0');
    const options: SalvageOptions = { mode: 'apply', binlogs: staged.files, target: dr.target, start: { kind: 'from-gtid', set: staged.start }, windowTransactions: 5 };

    let failure: unknown = null;
    try {
      await salvage(options);
    } catch (e) {
      failure = e;
    }
    expect(failure).toBeInstanceOf(EngineError);
    expect((failure as EngineError).code).toBe(SalvageErrorCode.Fault);
    expect((failure as Error).message).toMatch(/free disk space on the DR/);
    // Whole windows only: each row on the DR has its ledger row, each ledger row its row.
    const applied = await count('SELECT COUNT(*) AS n FROM t.big');
    expect(applied % (5 * ROWS_PER_TX)).toBe(0);
    expect(applied).toBeGreaterThan(0);
    expect(applied).toBeLessThan(LOST_ROWS);
    expect(await count('SELECT COUNT(*) AS n FROM salvage.ledger')).toBe(applied);
    expect(await count("SELECT COUNT(*) AS n FROM salvage.ledger l LEFT JOIN t.big b ON b.id = CAST(JSON_VALUE(l.source_key, '$[0]') AS INT) WHERE b.id IS NULL")).toBe(0);

    // Its pages, and those of the rolled-back window's undo, are free once purged.
    await dr.query('DROP TABLE t.ballast');
    await dr.query('SET GLOBAL innodb_max_purge_lag_wait = 0');
    const report = await salvage(options);
    expect(report.outcomes.applied).toBe(LOST_ROWS - applied);
    expect(await count('SELECT COUNT(*) AS n FROM t.big')).toBe(LOST_ROWS);
    expect(await count('SELECT COUNT(DISTINCT source_key) AS n FROM salvage.ledger')).toBe(LOST_ROWS);
    expect(await count('SELECT COUNT(*) AS n FROM salvage.ledger')).toBe(LOST_ROWS);
    const again = await salvage(options);
    expect(again.outcomes.applied).toBe(0);
  }, 300_000);
});
