import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DbErrorCode, mapDbError } from '../../src/db/db-errors.js';
import { DatabaseError } from '../../src/db/schema-hints.js';
import { openSession, transaction, type SqlSession } from '../../src/db/sql-session.js';
import { DEFAULT_STATE_SCHEMA, ensureStateSchema, STATE_SCHEMA_VERSION, StateSchemaErrorCode } from '../../src/db/state-schema.js';
import {
  canonicalKey,
  finishRun,
  ledgerWrites,
  loadKeyMap,
  lookupKeyMap,
  pendingQuarantineImages,
  readCheckpoint,
  readKeyFloors,
  recordKeyMap,
  recordLedger,
  recordQuarantine,
  recordSkippedInsert,
  skippedInserts,
  startRun,
  writeCheckpoint,
  writeKeyFloors,
  type LedgerRow,
  type LedgerRun,
} from '../../src/db/state-store.js';
import { readQuarantineEntries } from '../../src/db/quarantine-store.js';
import { readRunQuarantine, readRuns } from '../../src/db/run-store.js';
import { startMariadb, type MariadbServer } from '../harness/mariadb-server.js';

const WEIRD = 'sal`vage ✓';
const SOURCE = 'mysql://primary:3306 server_uuid=3e11fa47-71ca-11e1-9e33-c80aa9429562';

const RUN: LedgerRun = { runId: 1, sourceId: SOURCE };

function ledgerRow(over: Partial<LedgerRow> = {}): LedgerRow {
  return {
    seq: 1,
    gtid: '0-1-42',
    file: 'mariadb-bin.000003',
    pos: 4242n,
    changeIndex: 0,
    table: 'crm.tickets',
    op: 'insert',
    sourceKey: [7, 9223372036854775807n],
    class: 'insert-pk-taken',
    outcome: 'remap',
    newKey: [7, 1001],
    reason: 'DR inserted id 1001 after the failover',
    rulePath: 'tables.crm.tickets.onInsertPkTaken',
    beforeImage: null,
    afterImage: '{"tenant":7,"id":"9223372036854775807","note":"é ✓"}',
    drImage: '{"tenant":7,"id":"9223372036854775807","note":"other"}',
    ...over,
  };
}

describe('state store', () => {
  let db: MariadbServer;
  let session: SqlSession;

  beforeAll(async () => {
    db = await startMariadb({ name: 'state-store', binlog: false });
    session = await openSession(db.target);
  });

  afterAll(async () => {
    await session?.end();
    await db?.stop();
  });

  async function tables(schema: string): Promise<string[]> {
    const { rows } = await session.query('SELECT table_name AS t FROM information_schema.tables WHERE table_schema = ? ORDER BY table_name', [schema]);
    return rows.map((r) => String(r['t']));
  }

  async function count(schema: string, table: string): Promise<number> {
    const { rows } = await session.query(`SELECT COUNT(*) AS n FROM \`${schema.replaceAll('`', '``')}\`.\`${table}\``);
    return Number(rows[0]?.['n']);
  }

  it('creates the schema once; a second ensureStateSchema is a no-op', async () => {
    expect(await ensureStateSchema(session)).toBe(STATE_SCHEMA_VERSION);
    const runId = await startRun(session, DEFAULT_STATE_SCHEMA, SOURCE, { window: 1000 });
    expect(await ensureStateSchema(session, DEFAULT_STATE_SCHEMA)).toBe(2);
    expect(await tables('salvage')).toEqual(['archive', 'checkpoint', 'key_floor', 'key_map', 'ledger', 'quarantine', 'runs', 'schema_version', 'skipped_insert']);
    expect(await count('salvage', 'schema_version')).toBe(1);
    // The run written between the two calls survives the second one.
    const { rows } = await session.query('SELECT id, status, source_id, options, finished_at FROM salvage.runs');
    expect(rows).toEqual([{ id: String(runId), status: 'running', source_id: SOURCE, options: '{"window":1000}', finished_at: null }]);
    const { rows: engines } = await session.query("SELECT DISTINCT engine, table_collation FROM information_schema.tables WHERE table_schema = 'salvage'");
    expect(engines).toEqual([{ engine: 'InnoDB', table_collation: 'utf8mb4_bin' }]);
  });

  it('readRuns lists runs newest first by number: run 10 before run 9 (they were sorted as text)', async () => {
    await ensureStateSchema(session, 'runs_order');
    for (let i = 0; i < 10; i++) await startRun(session, 'runs_order', 'binlog:x', { mode: 'apply' });
    expect((await readRuns(session, 'runs_order')).map((r) => r.id)).toEqual([10, 9, 8, 7, 6, 5, 4, 3, 2, 1]);
  });

  it('quotes a schema name holding a backtick', async () => {
    await ensureStateSchema(session, WEIRD);
    await ensureStateSchema(session, WEIRD);
    expect(await tables(WEIRD)).toEqual(['archive', 'checkpoint', 'key_floor', 'key_map', 'ledger', 'quarantine', 'runs', 'schema_version', 'skipped_insert']);
    const runId = await startRun(session, WEIRD, SOURCE, {});
    await transaction(session, async (s) => {
      await writeCheckpoint(s, WEIRD, { sourceId: SOURCE, gtidSet: '0-1-5', file: null, pos: null, runId });
      await finishRun(s, WEIRD, runId, 'completed');
    });
    expect(await readCheckpoint(session, WEIRD, SOURCE)).toMatchObject({ gtidSet: '0-1-5', runId });
    const { rows } = await session.query(`SELECT status, finished_at IS NOT NULL AS done FROM \`sal\`\`vage ✓\`.runs WHERE id = ?`, [runId]);
    expect(rows).toEqual([{ status: 'completed', done: 1 }]);
  });

  it('refuses schema names the server would not take', async () => {
    for (const name of ['', 'x'.repeat(65), 'trailing ', 'nul\0']) {
      await expect(ensureStateSchema(session, name)).rejects.toMatchObject({ code: StateSchemaErrorCode.BadName });
    }
  });

  it('refuses a schema written by a newer engine', async () => {
    await ensureStateSchema(session, 'salvage_future');
    await session.query('UPDATE salvage_future.schema_version SET version = ? WHERE id = 1', [STATE_SCHEMA_VERSION + 1]);
    await expect(ensureStateSchema(session, 'salvage_future')).rejects.toMatchObject({ code: StateSchemaErrorCode.NewerVersion });
  });

  it('adds the columns a state schema written before them lacks (quarantine.origin, quarantine.statement, ledger.other_image, key_map.is_link), keeping its rows and layout version', async () => {
    await ensureStateSchema(session, 'salvage_old');
    await session.query('ALTER TABLE salvage_old.quarantine DROP COLUMN origin');
    await session.query('ALTER TABLE salvage_old.quarantine DROP COLUMN statement');
    await session.query('ALTER TABLE salvage_old.ledger DROP COLUMN other_image');
    await session.query('ALTER TABLE salvage_old.key_map DROP COLUMN is_link');
    await session.query("INSERT INTO salvage_old.key_map (table_name, old_key_hash, old_key, new_key, run_id, gtid) VALUES ('t.a', UNHEX(SHA2('[1]', 256)), '[1]', '[9]', 1, NULL)");
    await session.query(
      "INSERT INTO salvage_old.quarantine (run_id, source_id, change_at, change_index, table_name, status, reason, dependants, created_at) VALUES (1, 's', '0-1-5', 0, 't.a', 'pending', 'r', '[]', UTC_TIMESTAMP(6))",
    );
    // The review commands read such a schema as it is (they add no column): no origin, no statement.
    expect((await readQuarantineEntries(session, 'salvage_old', 'all')).map((e) => [e.changeAt, e.origin, e.statement])).toEqual([['0-1-5', null, null]]);
    expect(await readRunQuarantine(session, 'salvage_old', 1, 10)).toMatchObject([{ changeAt: '0-1-5', statement: null }]);
    expect(await ensureStateSchema(session, 'salvage_old')).toBe(STATE_SCHEMA_VERSION);
    const { rows } = await session.query(
      "SELECT table_name AS t, column_name AS c, is_nullable AS n, column_type AS type FROM information_schema.columns WHERE table_schema = 'salvage_old' AND column_name IN ('origin', 'statement', 'other_image', 'is_link') ORDER BY table_name, column_name",
    );
    expect(rows).toEqual([
      { t: 'key_map', c: 'is_link', n: 'NO', type: 'tinyint(4)' },
      { t: 'ledger', c: 'other_image', n: 'YES', type: 'longtext' },
      { t: 'quarantine', c: 'origin', n: 'YES', type: 'varchar(300)' },
      { t: 'quarantine', c: 'statement', n: 'YES', type: 'longtext' },
    ]);
    const { rows: kept } = await session.query('SELECT change_at, origin, statement FROM salvage_old.quarantine');
    expect(kept).toEqual([{ change_at: '0-1-5', origin: null, statement: null }]);
    // A mapping an earlier engine recorded is a remap (it recorded links onto another key alike: not told apart).
    expect((await session.query('SELECT old_key, new_key, is_link FROM salvage_old.key_map')).rows).toEqual([{ old_key: '[1]', new_key: '[9]', is_link: 0 }]);
    // A second call finds the column there and adds nothing.
    expect(await ensureStateSchema(session, 'salvage_old')).toBe(STATE_SCHEMA_VERSION);
    // Two runs (of two sources) adding them at once: the second ALTER failed, duplicate column.
    await session.query('ALTER TABLE salvage_old.ledger DROP COLUMN other_image');
    const other = await openSession(db.target);
    try {
      expect(await Promise.all([ensureStateSchema(session, 'salvage_old'), ensureStateSchema(other, 'salvage_old')])).toEqual([STATE_SCHEMA_VERSION, STATE_SCHEMA_VERSION]);
    } finally {
      await other.end();
    }
    expect((await session.query("SELECT COUNT(*) AS n FROM information_schema.columns WHERE table_schema = 'salvage_old' AND column_name = 'other_image'")).rows).toEqual([{ n: '1' }]);
  });

  it('widens ledger.rule_path of a state schema written when it was VARCHAR(512), keeping its rows, so a two-rule path of any length is recorded', async () => {
    await ensureStateSchema(session, 'salvage_narrow');
    await session.query('ALTER TABLE salvage_narrow.ledger MODIFY COLUMN rule_path VARCHAR(512) NULL');
    await transaction(session, (s) => recordLedger(s, 'salvage_narrow', RUN, [ledgerRow()]));
    expect(await ensureStateSchema(session, 'salvage_narrow')).toBe(STATE_SCHEMA_VERSION);
    const { rows: type } = await session.query("SELECT column_type AS t FROM information_schema.columns WHERE table_schema = 'salvage_narrow' AND table_name = 'ledger' AND column_name = 'rule_path'");
    expect(type).toEqual([{ t: 'text' }]);
    const long = `built-in.insert-pk-taken → remap; tables."${'s'.repeat(64)}.${'t'.repeat(64)}".onConflict.insert-unique-taken → custom ${'f'.repeat(600)} → skip`;
    await transaction(session, (s) => recordLedger(s, 'salvage_narrow', RUN, [ledgerRow({ seq: 2, changeIndex: 1, rulePath: long })]));
    const { rows } = await session.query('SELECT seq, rule_path FROM salvage_narrow.ledger ORDER BY seq');
    expect(rows).toEqual([
      { seq: '1', rule_path: 'tables.crm.tickets.onInsertPkTaken' },
      { seq: '2', rule_path: long },
    ]);
  });

  it('records the skipped inserts whose row is held (heldSkip) in skipped_insert with their ledger rows; skippedInserts reads them there, other skipped inserts not', async () => {
    await ensureStateSchema(session, 'salvage_skips');
    const held = ledgerRow({ seq: 1, changeIndex: 1, class: 'insert-pk-taken', outcome: 'skipped', newKey: null, heldSkip: true });
    // Skipped without a hold: a value rule that changed nothing on the DR's same record.
    const notHeld = ledgerRow({ seq: 2, changeIndex: 2, class: 'insert-pk-same-record', outcome: 'skipped', newKey: null });
    const applied = ledgerRow({ seq: 3, changeIndex: 3, class: 'clean', outcome: 'applied', newKey: null });
    const noGtid = ledgerRow({ seq: 4, gtid: null, changeIndex: 0, class: 'insert-unique-taken', outcome: 'skipped', newKey: null, heldSkip: true });
    await transaction(session, (s) => recordLedger(s, 'salvage_skips', RUN, [held, notHeld, applied, noGtid]));
    expect((await session.query('SELECT source_id, change_at, change_index FROM salvage_skips.skipped_insert ORDER BY change_at')).rows).toEqual([
      { source_id: SOURCE, change_at: '0-1-42', change_index: 1 },
      { source_id: SOURCE, change_at: 'mariadb-bin.000003:4242', change_index: 0 },
    ]);
    const image = '{"tenant":7,"id":"9223372036854775807","note":"é ✓"}';
    expect(await skippedInserts(session, 'salvage_skips')).toEqual([
      { table: 'crm.tickets', sourceKey: canonicalKey([7, 9223372036854775807n]), change: '0-1-42#1', afterImage: image },
      { table: 'crm.tickets', sourceKey: canonicalKey([7, 9223372036854775807n]), change: 'mariadb-bin.000003:4242#0', afterImage: image },
    ]);
    // Rolled back with the window that wrote them.
    await expect(
      transaction(session, async (s) => {
        await recordLedger(s, 'salvage_skips', RUN, [ledgerRow({ seq: 5, gtid: '0-1-43', changeIndex: 0, outcome: 'skipped', newKey: null, heldSkip: true })]);
        throw new Error('window cut off');
      }),
    ).rejects.toThrow('window cut off');
    expect(await count('salvage_skips', 'skipped_insert')).toBe(2);
    // A review's skip (resolve) records it once, however often it is carried out.
    await recordSkippedInsert(session, 'salvage_skips', { sourceId: SOURCE, changeAt: '0-1-42', changeIndex: 2 });
    await recordSkippedInsert(session, 'salvage_skips', { sourceId: SOURCE, changeAt: '0-1-42', changeIndex: 2 });
    expect((await skippedInserts(session, 'salvage_skips')).map((s) => s.change)).toEqual(['0-1-42#1', '0-1-42#2', 'mariadb-bin.000003:4242#0']);
  });

  it('migrates a layout-1 schema: its skipped inserts (but already-applied ones) copied from the ledger into skipped_insert, the version moved to 2, the ledger index by_outcome dropped; read as layout 1 before', async () => {
    // Found measuring: the by_outcome (outcome, op) index, kept up on every ledger row, cost the DR
    // ≈ 2.5 s per 200k rows; a layout-1 engine would skip inserts without recording them here.
    await ensureStateSchema(session, 'salvage_v1');
    await session.query('DROP TABLE salvage_v1.skipped_insert');
    await session.query('ALTER TABLE salvage_v1.ledger ADD INDEX by_outcome (outcome, op)');
    await session.query('UPDATE salvage_v1.schema_version SET version = 1');
    const rows = [
      ledgerRow({ seq: 1, changeIndex: 0, class: 'insert-pk-taken', outcome: 'skipped', newKey: null }),
      ledgerRow({ seq: 2, changeIndex: 1, class: 'already-applied', outcome: 'skipped', newKey: null }),
      ledgerRow({ seq: 3, changeIndex: 2, op: 'update', class: 'update-missing', outcome: 'skipped', newKey: null }),
      ledgerRow({ seq: 4, changeIndex: 3, class: 'clean', outcome: 'applied', newKey: null }),
      ledgerRow({ seq: 5, gtid: '0-1-50', changeIndex: 0, class: 'parent-missing', outcome: 'skipped', newKey: null }),
    ];
    await transaction(session, (s) => recordLedger(s, 'salvage_v1', RUN, rows));
    const expected = ['0-1-42#0', '0-1-50#0'];
    // plan reads a layout-1 schema as it is, and apply reads it before migrating it.
    expect((await skippedInserts(session, 'salvage_v1')).map((s) => s.change)).toEqual(expected);
    const other = await openSession(db.target);
    try {
      // Two runs (of two sources) migrating at once: each copies (INSERT IGNORE) before it moves the version.
      expect(await Promise.all([ensureStateSchema(session, 'salvage_v1'), ensureStateSchema(other, 'salvage_v1')])).toEqual([2, 2]);
    } finally {
      await other.end();
    }
    expect((await session.query('SELECT version FROM salvage_v1.schema_version')).rows).toEqual([{ version: 2 }]);
    expect((await session.query('SELECT change_at, change_index FROM salvage_v1.skipped_insert ORDER BY change_at, change_index')).rows).toEqual([
      { change_at: '0-1-42', change_index: 0 },
      { change_at: '0-1-50', change_index: 0 },
    ]);
    expect((await session.query("SELECT COUNT(*) AS n FROM information_schema.STATISTICS WHERE table_schema = 'salvage_v1' AND table_name = 'ledger' AND index_name = 'by_outcome'")).rows).toEqual([{ n: '0' }]);
    expect((await skippedInserts(session, 'salvage_v1')).map((s) => s.change)).toEqual(expected);
    expect(await count('salvage_v1', 'ledger')).toBe(5);
    // Once migrated, the copy is not made again: a skip recorded only in the ledger now is not one this engine wrote.
    await transaction(session, (s) => recordLedger(s, 'salvage_v1', RUN, [ledgerRow({ seq: 6, gtid: '0-1-51', changeIndex: 0, outcome: 'skipped', newKey: null })]));
    expect(await ensureStateSchema(session, 'salvage_v1')).toBe(2);
    expect(await count('salvage_v1', 'skipped_insert')).toBe(2);
  });

  it('ledgerWrites: the first insert or update applied, merged or remapped at each asked DR key (new_key when re-keyed), of other runs or of all, this source only, over several scans', async () => {
    await ensureStateSchema(session, 'salvage_writes');
    const row = (seq: number, over: Partial<LedgerRow>): LedgerRow => ledgerRow({ seq, gtid: `0-1-${seq}`, table: 't.ord', class: 'clean', outcome: 'applied', newKey: null, ...over });
    await transaction(session, (s) =>
      recordLedger(s, 'salvage_writes', RUN, [
        row(1, { op: 'update', sourceKey: [50] }),
        // A later change of the same row: the first is named.
        row(2, { op: 'update', sourceKey: [50], outcome: 'merged' }),
        // Re-keyed: the DR row is at 7; its source key 3 is another DR record.
        row(3, { op: 'insert', sourceKey: [3], class: 'insert-pk-taken', outcome: 'remapped', newKey: [7] }),
        // Wrote nothing there: held, skipped, deleted.
        row(4, { op: 'update', sourceKey: [60], class: 'update-diverged', outcome: 'quarantined' }),
        row(5, { op: 'insert', sourceKey: [61], class: 'insert-pk-taken', outcome: 'skipped' }),
        row(6, { op: 'delete', sourceKey: [62] }),
        row(7, { op: 'insert', table: 't.cust', sourceKey: [2] }),
      ]),
    );
    await transaction(session, (s) => recordLedger(s, 'salvage_writes', { runId: 2, sourceId: SOURCE }, [row(8, { op: 'insert', sourceKey: [80] })]));
    await transaction(session, (s) => recordLedger(s, 'salvage_writes', { runId: 3, sourceId: 'another source' }, [row(9, { op: 'insert', sourceKey: [90] })]));
    const keys = (...k: number[]): Set<string> => new Set(k.map((n) => canonicalKey([n])));
    // More keys than one scan takes (10,000): the answer is the same.
    const many = new Set([...keys(50, 3, 7, 60, 61, 62, 80, 90), ...Array.from({ length: 20_001 }, (_, i) => canonicalKey([100_000 + i]))]);
    const wanted = new Map([['t.ord', many], ['t.cust', keys(2)]]);
    const of = (found: Map<string, Map<string, unknown>>): unknown => Object.fromEntries([...found].map(([t, m]) => [t, Object.fromEntries(m)]));
    expect(of(await ledgerWrites(session, 'salvage_writes', SOURCE, 2, wanted))).toEqual({
      't.ord': { '[50]': { change: '0-1-1#0', runId: 1 }, '[7]': { change: '0-1-3#0', runId: 1 } },
      't.cust': { '[2]': { change: '0-1-7#0', runId: 1 } },
    });
    expect(of(await ledgerWrites(session, 'salvage_writes', SOURCE, null, new Map([['t.ord', keys(50, 80)]])))).toEqual({
      't.ord': { '[50]': { change: '0-1-1#0', runId: 1 }, '[80]': { change: '0-1-8#0', runId: 2 } },
    });
    expect(of(await ledgerWrites(session, 'salvage_writes', SOURCE, 1, new Map([['t.ord', keys(50, 80)]])))).toEqual({ 't.ord': { '[80]': { change: '0-1-8#0', runId: 2 } } });
    expect(of(await ledgerWrites(session, 'salvage_writes', SOURCE, null, new Map()))).toEqual({});
  });

  it('upserts the checkpoint and reads it back exactly', async () => {
    await ensureStateSchema(session);
    expect(await readCheckpoint(session, 'salvage', SOURCE)).toBeUndefined();
    const gtidSet = '3e11fa47-71ca-11e1-9e33-c80aa9429562:1-77,4d22fa47-71ca-11e1-9e33-c80aa9429562:1-3';
    await transaction(session, (s) => writeCheckpoint(s, 'salvage', { sourceId: SOURCE, gtidSet, file: 'binlog.000007', pos: 18446744073709551615n, runId: 3 }));
    const first = await readCheckpoint(session, 'salvage', SOURCE);
    expect(first).toEqual({ sourceId: SOURCE, gtidSet, file: 'binlog.000007', pos: 18446744073709551615n, runId: 3, updatedAt: expect.stringMatching(/^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{6}$/) });
    await transaction(session, (s) => writeCheckpoint(s, 'salvage', { sourceId: SOURCE, gtidSet: null, file: 'binlog.000008', pos: 4n, runId: 4 }));
    expect(await readCheckpoint(session, 'salvage', SOURCE)).toMatchObject({ sourceId: SOURCE, gtidSet: null, file: 'binlog.000008', pos: 4n, runId: 4 });
    expect(await count('salvage', 'checkpoint')).toBe(1);
    // A rolled-back window leaves the checkpoint where it was.
    await expect(
      transaction(session, async (s) => {
        await writeCheckpoint(s, 'salvage', { sourceId: SOURCE, gtidSet: null, file: 'binlog.000009', pos: 99n, runId: 5 });
        throw new Error('killed mid-window');
      }),
    ).rejects.toThrow('killed mid-window');
    expect(await readCheckpoint(session, 'salvage', SOURCE)).toMatchObject({ file: 'binlog.000008', pos: 4n, runId: 4 });
  });

  it('leaves nothing of a ledger batch whose transaction rolled back', async () => {
    await ensureStateSchema(session, 'salvage_rb');
    const rows = Array.from({ length: 1200 }, (_, i) => ledgerRow({ seq: i + 1, changeIndex: i }));
    await expect(
      transaction(session, async (s) => {
        await recordLedger(s, 'salvage_rb', RUN, rows);
        await recordQuarantine(s, 'salvage_rb', [{ ...ledgerRow(), ...RUN, dependants: ['[7,2]'], rowKeys: [] }]);
        expect(await count('salvage_rb', 'ledger')).toBe(1200);
        throw new Error('window failed');
      }),
    ).rejects.toThrow('window failed');
    expect(await count('salvage_rb', 'ledger')).toBe(0);
    expect(await count('salvage_rb', 'quarantine')).toBe(0);
  });

  it('reads the after images of the pending quarantine page by page, in order, those that have one, of every source', async () => {
    await ensureStateSchema(session, 'salvage_qi');
    const held = (i: number, over: Record<string, unknown> = {}) => ({ ...ledgerRow({ changeIndex: i, afterImage: `{"id":${i}}` }), ...RUN, dependants: [], rowKeys: [], ...over });
    await recordQuarantine(session, 'salvage_qi', [
      ...Array.from({ length: 7 }, (_, i) => held(i)),
      held(7, { afterImage: null }),
      held(8, { sourceId: 'another source', beforeImage: '{"id":8}' }),
      held(9),
    ]);
    await session.query("UPDATE `salvage_qi`.quarantine SET status = 'resolved' WHERE change_index = 9");
    const got: unknown[] = [];
    for await (const h of pendingQuarantineImages(session, 'salvage_qi', 3)) got.push(h);
    // Another source's held rows count too: the same primary read under another source id holds the same rows.
    // The before image beside it (an update's): what a later run completes the row's MINIMAL updates from.
    expect(got).toEqual([0, 1, 2, 3, 4, 5, 6, 8].map((i) => ({ table: 'crm.tickets', change: `0-1-42#${i}`, afterImage: `{"id":${i}}`, beforeImage: i === 8 ? '{"id":8}' : null })));
  });

  it('records a ledger row with every field, and refuses to record the same change twice', async () => {
    await ensureStateSchema(session, 'salvage_dup');
    const row = ledgerRow();
    await transaction(session, (s) => recordLedger(s, 'salvage_dup', RUN, [row, ledgerRow({ seq: 2, gtid: null, pos: 5000n, changeIndex: 0 })]));
    const { rows } = await session.query(
      'SELECT run_id, seq, source_id, change_at, change_index, gtid, binlog_file, binlog_pos, table_name, op, source_key, class, outcome, new_key, reason, rule_path, before_image, after_image, dr_image FROM salvage_dup.ledger ORDER BY seq',
    );
    expect(rows).toEqual([
      {
        run_id: '1',
        seq: '1',
        source_id: SOURCE,
        change_at: '0-1-42',
        change_index: 0,
        gtid: '0-1-42',
        binlog_file: 'mariadb-bin.000003',
        binlog_pos: '4242',
        table_name: 'crm.tickets',
        op: 'insert',
        source_key: '[7,"9223372036854775807"]',
        class: 'insert-pk-taken',
        outcome: 'remap',
        new_key: '[7,1001]',
        reason: 'DR inserted id 1001 after the failover',
        rule_path: 'tables.crm.tickets.onInsertPkTaken',
        before_image: null,
        after_image: '{"tenant":7,"id":"9223372036854775807","note":"é ✓"}',
        dr_image: '{"tenant":7,"id":"9223372036854775807","note":"other"}',
      },
      expect.objectContaining({ seq: '2', change_at: 'mariadb-bin.000003:5000', gtid: null, binlog_pos: '5000' }),
    ]);

    // A resumed run (new run id, new seq) meets the same change: the unique key stops it.
    const again = transaction(session, (s) => recordLedger(s, 'salvage_dup', { ...RUN, runId: 2 }, [ledgerRow({ seq: 1, changeIndex: 1 }), ledgerRow({ seq: 2 })]));
    await expect(again).rejects.toMatchObject({ code: DbErrorCode.Duplicate, retryable: false, details: { errno: 1062 } });
    expect(await count('salvage_dup', 'ledger')).toBe(2);
  });

  it('keeps key floors exactly, up to BIGINT UNSIGNED, and never lowers one', async () => {
    await ensureStateSchema(session, 'salvage_kf');
    await writeKeyFloors(session, 'salvage_kf', 1, new Map([['shop.customers', 27n], ['big.t', 18446744073709551615n]]));
    await transaction(session, (s) => writeKeyFloors(s, 'salvage_kf', 2, new Map([['shop.customers', 23n], ['shop.orders', 22n]])));
    expect(await readKeyFloors(session, 'salvage_kf')).toEqual(new Map([['big.t', 18446744073709551615n], ['shop.customers', 27n], ['shop.orders', 22n]]));
  });

  it('round-trips the key map with composite and bigint keys', async () => {
    await ensureStateSchema(session, 'salvage_km');
    const table = 'crm.ticket`s';
    await transaction(session, (s) =>
      recordKeyMap(s, 'salvage_km', [
        { table, oldKey: [7, 18446744073709551615n], newKey: [7, 18446744073709551614n], runId: 1, gtid: '0-1-9' },
        { table, oldKey: [7, 1000n], newKey: [7, 1001], runId: 1, gtid: null },
        { table, oldKey: ['ab', Buffer.from([0, 255])], newKey: ['ab', Buffer.from([1])], runId: 1, gtid: null },
        { table: 'crm.other', oldKey: [7, 5], newKey: [7, 6], runId: 1, gtid: null },
      ]),
    );
    const found = await transaction(session, (s) =>
      lookupKeyMap(s, 'salvage_km', table, [[7, 18446744073709551615n], [7, 1000], [7, 5], ['ab', Buffer.from([0, 255])], [8, 1000]]),
    );
    expect([...found]).toEqual(
      expect.arrayContaining([
        ['[7,"18446744073709551615"]', '[7,"18446744073709551614"]'],
        ['[7,1000]', '[7,1001]'],
        ['["ab","AP8="]', '["ab","AQ=="]'],
      ]),
    );
    expect(found.size).toBe(3);
    expect(found.get(canonicalKey([7, 18446744073709551615n]))).toBe('[7,"18446744073709551614"]');
    expect((await loadKeyMap(session, 'salvage_km')).filter((e) => e.table === 'crm.other')).toEqual([{ table: 'crm.other', oldKey: '[7,5]', newKey: '[7,6]' }]);
    // Mapping one old key twice is a bug in the caller, reported with the mapped code.
    await expect(transaction(session, (s) => recordKeyMap(s, 'salvage_km', [{ table, oldKey: [7, 1000], newKey: [7, 1002], runId: 2, gtid: null }]))).rejects.toMatchObject({
      code: DbErrorCode.Duplicate,
      details: { errno: 1062 },
    });
  });

  it('writes canonical keys: safe integers as numbers, larger ones as digit strings, bytes as base64', () => {
    expect(canonicalKey([1n, -9007199254740991n, 9007199254740992n, -9223372036854775808n, 'x', null, true, new Uint8Array([104, 105])])).toBe(
      '[1,-9007199254740991,"9007199254740992","-9223372036854775808","x",null,true,"aGk="]',
    );
  });

  it('maps server errnos to stable codes and leaves the others alone', () => {
    const query = (errno?: number): DatabaseError => new DatabaseError('DB_QUERY', 'boom', errno === undefined ? {} : { errno });
    expect(mapDbError(query(1062))).toMatchObject({ code: 'DB_DUPLICATE', retryable: false, details: { errno: 1062 } });
    expect(mapDbError(query(1586))).toMatchObject({ code: 'DB_DUPLICATE', retryable: false, details: { errno: 1586 } });
    expect(mapDbError(query(1213))).toMatchObject({ code: 'DB_DEADLOCK', retryable: true, details: { errno: 1213 } });
    expect(mapDbError(query(1205))).toMatchObject({ code: 'DB_LOCK_TIMEOUT', retryable: true, details: { errno: 1205 } });
    const other = query(1146);
    expect(mapDbError(other)).toBe(other);
    const plain = new Error('not a server error');
    expect(mapDbError(plain)).toBe(plain);
    expect((mapDbError(query(1062)) as Error).cause).toMatchObject({ code: 'DB_QUERY' });
  });
});
