/**
 * The DR's history from its real binlog: the MariaDB 10.11 failover fixture (MANIFEST.md gives the
 * truth: the DR is server id 2; it received 0-1-1 … 0-1-12 and wrote 0-2-13 … 0-2-17 itself),
 * read through the file reader exactly as `--dr-binlog` reads it. Positions are those of
 * failover/dr/_decoded/dr-bin.000001.mariadb-binlog-10.11.txt (`# at 5828` … GTID 0-1-12,
 * `# at 6125` … GTID 0-2-13). Also the wrong files a DBA may give (the DR's relay log, the
 * primary's binlog), `--failover-at` and the spill to temporary files.
 */
import { copyFileSync, existsSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import type { DrHistory, FailoverAt, HistorySpill } from '../../src/model/dr-history.js';
import { BinlogError } from '../../src/errors.js';
import { rowKey } from '../../src/model/row-key.js';
import { uniqueFold } from '../../src/reconcile/value-equality.js';
import { createSchemaCatalog, type ColumnSchema, type TableSchema } from '../../src/model/table-schema.js';
import { DrHistoryBuilder } from '../../src/reconcile/dr-history-builder.js';
import { parseFailoverAt, readDrHistory, TempFileSpill, type DrBinlogEnd } from '../../src/source/dr-history-reader.js';
import { FIXTURES_ROOT, requireFixturesRoot } from '../conformance/fixtures.js';

/** A unique key (e-mail, order number) as TableState folds it: utf8mb4_general_ci's weights, not the value as logged. */
const uniqueKey = (v: string): string => rowKey([uniqueFold(v, 'utf8mb4_general_ci')]);

requireFixturesRoot();
const FAILOVER = join(FIXTURES_ROOT, 'local-mariadb-10.11/failover');
const DR_INDEX = join(FAILOVER, 'dr/dr-bin.index');
const OWN = { serverId: 2, serverUuid: null };

const GENERAL = 'utf8mb4_general_ci';
function col(name: string, ordinal: number, dataType: string, collation: string | null = null): ColumnSchema {
  return { name, ordinal, dataType, columnType: dataType, nullable: true, unsigned: false, collation, collationId: null, isAutoIncrement: false, isGenerated: false, default: null, onUpdateCurrentTimestamp: false, isJson: false };
}
const cols = (list: [string, string, (string | null)?][]): ColumnSchema[] => list.map(([n, t, c], i) => col(n, i + 1, t, c ?? null));

// workload/w0_schema.sql, as the DR's information_schema describes it.
const customers: TableSchema = {
  schema: 'shop',
  table: 'customers',
  columns: cols([
    ['id', 'bigint'], ['email', 'varchar', GENERAL], ['name', 'varchar', GENERAL], ['balance', 'decimal'], ['credit_limit', 'decimal'],
    ['created_at', 'datetime'], ['updated_at', 'timestamp'], ['birth', 'date'], ['pref_time', 'time'], ['flags', 'bit'],
    ['tier', 'enum', GENERAL], ['tags', 'set', GENERAL], ['location', 'point'], ['profile', 'longtext', 'utf8mb4_bin'], ['external_uuid', 'uuid'],
    ['last_ip', 'inet6'], ['big_signed', 'bigint'], ['ratio', 'float'], ['score', 'double'], ['yr', 'year'], ['avatar', 'blob'],
  ]),
  primaryKey: ['id'],
  uniqueKeys: [{ name: 'uk_email', columns: ['email'] }],
  foreignKeys: [],
  autoIncrement: { column: 'id', next: 6n },
  engine: 'InnoDB',
};
const orders: TableSchema = {
  ...customers,
  table: 'orders',
  columns: cols([['id', 'int'], ['customer_id', 'bigint'], ['order_no', 'varchar', GENERAL], ['amount', 'decimal'], ['status', 'enum', GENERAL]]),
  uniqueKeys: [{ name: 'uk_order_no', columns: ['order_no'] }],
  autoIncrement: { column: 'id', next: 5n },
};
const auditNopk: TableSchema = { ...customers, table: 'audit_nopk', columns: cols([['msg', 'varchar', GENERAL], ['ts', 'datetime']]), primaryKey: null, uniqueKeys: [], autoIncrement: null };
const catalog = createSchemaCatalog([customers, orders, auditNopk]);

const histories: DrHistory[] = [];
afterAll(async () => {
  for (const h of histories) await h.close();
});

async function read(files: string[], drEnd: DrBinlogEnd | null = { file: 'dr-bin.000002', pos: 418 }, extra: { failoverAt?: FailoverAt; maxEntries?: number; tempDir?: string } = {}): Promise<DrHistory> {
  const h = await readDrHistory({
    files,
    own: OWN,
    drEnd,
    tempDir: extra.tempDir,
    createBuilder: (spill: HistorySpill) => new DrHistoryBuilder({ catalog, own: OWN, spill, failoverAt: extra.failoverAt, maxEntries: extra.maxEntries, partitions: 4 }),
  });
  histories.push(h);
  return h;
}

const at = (h: DrHistory, table: string, id: number) => {
  const r = h.row(table, rowKey([id]));
  return r === undefined ? undefined : { ...r, changedColumns: [...r.changedColumns].sort() };
};

describe('readDrHistory on the MariaDB failover fixture', () => {
  it('finds the failover point and the DR own writes, exactly as the MANIFEST says', async () => {
    const h = await read([DR_INDEX]);
    expect(h.failover).toEqual({
      lastReceived: { at: '0-1-12', file: 'dr-bin.000001', pos: 5828, timestamp: 1795673722, serverId: 1 },
      firstOwn: { at: '0-2-13', file: 'dr-bin.000001', pos: 6125, timestamp: 1795673724, serverId: 2 },
      rule: "first transaction with the DR's own server id 2 (0-2-13 at dr-bin.000001:6125)",
      evidence: [
        'DR identity: server id 2',
        'read 17 transactions in dr-bin.000001',
        'before the failover point: 12 transactions; server ids 1 (12); GTID domains 0',
        'last received from the primary: 0-1-12 at dr-bin.000001:5828 (server id 1, 2026-11-26 06:15:22 UTC)',
        'first written by the DR: 0-2-13 at dr-bin.000001:6125 (server id 2, 2026-11-26 06:15:24 UTC)',
        "after the failover point: 5 transactions of the DR's own; server ids 2 (5); GTID domains 0",
      ],
    });
    expect(h.transactions).toBe(5);
    expect(h.complete).toBe(true);
    expect(h.untracked.size).toBe(0);
    expect(h.tables).toEqual([
      { table: 'shop.customers', inserted: 2, updated: 1, deleted: 0 },
      { table: 'shop.orders', inserted: 2, updated: 0, deleted: 0 },
    ]);
    const inserted = (first: string) => ({ insertedByDr: true, existedAtFailover: false, deletedByDr: false, changedColumns: [], first, last: first });
    expect(at(h, 'shop.customers', 4)).toEqual(inserted('0-2-13'));
    expect(at(h, 'shop.customers', 5)).toEqual(inserted('0-2-14'));
    // The MANIFEST's {name, balance}, and updated_at: ON UPDATE CURRENT_TIMESTAMP(6) changed it too, and the binlog logs it.
    expect(at(h, 'shop.customers', 2)).toEqual({ insertedByDr: false, existedAtFailover: true, deletedByDr: false, changedColumns: ['balance', 'name', 'updated_at'], first: '0-2-15', last: '0-2-15' });
    expect(at(h, 'shop.orders', 3)).toEqual(inserted('0-2-16'));
    expect(at(h, 'shop.orders', 4)).toEqual(inserted('0-2-17'));
    for (const untouched of [1, 3]) expect(at(h, 'shop.customers', untouched)).toBeUndefined();
    for (const untouched of [1, 2]) expect(at(h, 'shop.orders', untouched)).toBeUndefined();
    // Unique values folded as TableState folds them under utf8mb4_general_ci.
    expect(h.uniqueInserted('shop.orders', 'uk_order_no', uniqueKey('ord-0004'))).toBe('0-2-16');
    expect(h.uniqueInserted('shop.orders', 'uk_order_no', uniqueKey('ord-0100'))).toBe('0-2-17');
    expect(h.uniqueInserted('shop.orders', 'uk_order_no', uniqueKey('ord-0001'))).toBeUndefined();
    expect(h.uniqueInserted('shop.customers', 'uk_email', uniqueKey('dave@example.com'))).toBe('0-2-13');
    expect(h.uniqueInserted('shop.customers', 'uk_email', uniqueKey('erin@example.com'))).toBe('0-2-14');
    expect(h.uniqueInserted('shop.customers', 'uk_email', uniqueKey('bob@example.com'))).toBeUndefined();
  });

  it('complete only when the files reach the DR binlog end given', async () => {
    expect((await read([DR_INDEX], { file: 'dr-bin.000002', pos: 419 })).complete).toBe(false);
    expect((await read([DR_INDEX], { file: 'dr-bin.000003', pos: 4 })).complete).toBe(false);
    expect((await read([DR_INDEX], null)).complete).toBe(false);
    // The first file alone: the DR went on into dr-bin.000002.
    expect((await read([join(FAILOVER, 'dr/dr-bin.000001')])).complete).toBe(false);
    expect((await read([join(FAILOVER, 'dr/dr-bin.000001')], { file: 'dr-bin.000001', pos: 8983 })).complete).toBe(true);
  });

  it('a later DR file alone, whose binlog state shows the DR wrote before it: incomplete, and the evidence says why', async () => {
    const h = await read([join(FAILOVER, 'dr/dr-bin.000002')]);
    expect(h.failover.firstOwn).toBeNull();
    expect(h.complete).toBe(false);
    expect(h.failover.evidence).toContain("incomplete: dr-bin.000002 starts with the binlog state 0-2-17, which holds writes of the DR's own before it: the DR's earlier binlogs are not among those read, so a key whose first change read is an update or delete is judged by values (the DR may have created its record before)");
  });

  it('--failover-at overrides the point: GTID, FILE:POS, TIME', async () => {
    const byGtid = await read([DR_INDEX], undefined, { failoverAt: parseFailoverAt('0-1-12') });
    expect(byGtid.failover.lastReceived?.at).toBe('0-1-12');
    expect(byGtid.failover.firstOwn?.at).toBe('0-2-13');
    expect(byGtid.transactions).toBe(5);
    expect(byGtid.complete).toBe(true);
    const byPos = await read([DR_INDEX], undefined, { failoverAt: parseFailoverAt('dr-bin.000001:6803') });
    expect(byPos.failover.firstOwn?.at).toBe('0-2-14');
    expect(byPos.transactions).toBe(4);
    expect(at(byPos, 'shop.customers', 4)).toBeUndefined();
    const byTime = await read([DR_INDEX], undefined, { failoverAt: parseFailoverAt('2026-11-26 06:15:23') });
    expect(byTime.failover.firstOwn?.at).toBe('0-2-13');
    expect(byTime.failover.rule).toBe("--failover-at 2026-11-26 06:15:23 UTC: the DR's own transactions committed at or after that time (first: 0-2-13 at dr-bin.000001:6125)");
    await expect(read([DR_INDEX], undefined, { failoverAt: parseFailoverAt('0-1-13') })).rejects.toMatchObject({ code: 'DR_HISTORY_FAILOVER_NOT_FOUND' });
    // A position the files read do not have: refused, not an empty history.
    await expect(read([DR_INDEX], undefined, { failoverAt: parseFailoverAt('dr-bin.000003:4') })).rejects.toMatchObject({
      code: 'DR_HISTORY_FAILOVER_OUTSIDE',
      message: '--failover-at dr-bin.000003:4: dr-bin.000003 is not among the DR binlogs read (dr-bin.000001 … dr-bin.000002): give the DR binlog that holds the failover point, or a position in one given',
    });
    await expect(read([DR_INDEX], undefined, { failoverAt: parseFailoverAt('dr-bin.000002:419') })).rejects.toMatchObject({ code: 'DR_HISTORY_FAILOVER_OUTSIDE', details: { file: 'dr-bin.000002', option: '--failover-at' } });
    expect((await read([DR_INDEX], undefined, { failoverAt: parseFailoverAt('dr-bin.000002:418') })).transactions).toBe(0);
  });

  it('spilled to temporary files: the same answers, and close() removes them', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'dr-history-test-'));
    try {
      const whole = await read([DR_INDEX]);
      const small = await read([DR_INDEX], undefined, { maxEntries: 1, tempDir: dir });
      // Appends are buffered: nothing is on disk until a partition is read.
      expect(readdirSync(dir)).toEqual([]);
      const ids = [1, 2, 3, 4, 5, 6];
      await small.prepare(new Map([['shop.customers', new Set(ids.map((i) => rowKey([i])))], ['shop.orders', new Set(ids.map((i) => rowKey([i])))]]), new Map([['shop.orders', new Map([['uk_order_no', new Set([uniqueKey('ord-0004'), uniqueKey('ord-0100')])]])]]));
      const [spillDir] = readdirSync(dir);
      expect(spillDir).toMatch(/^salvage-dr-history-/);
      for (const t of ['shop.customers', 'shop.orders']) for (const i of ids) expect(small.row(t, rowKey([i]))).toEqual(whole.row(t, rowKey([i])));
      expect(small.uniqueInserted('shop.orders', 'uk_order_no', uniqueKey('ord-0100'))).toBe('0-2-17');
      // 5 keys and 4 unique values: one held in memory, the rest spilled.
      expect(small.failover.evidence).toContain('history too large for memory: 1 entries held, 8 records spilled to 3 partitions');
      await small.close();
      expect(readdirSync(dir)).toEqual([]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("refuses the DR's relay log: it is what the DR received, not what it wrote", async () => {
    const relay = join(FAILOVER, 'dr-relay-at-link-loss/dr-relay-bin.index');
    await expect(read([relay])).rejects.toMatchObject({
      code: 'DR_HISTORY_RELAY_LOG',
      details: { file: join(FAILOVER, 'dr-relay-at-link-loss/dr-relay-bin.000001'), option: '--dr-binlog' },
    });
  });

  it("refuses the primary's binlog given as the DR's, naming the file and the server ids seen", async () => {
    const error = await read([join(FAILOVER, 'primary/primary-bin.index')]).catch((e: unknown) => e);
    expect(error).toMatchObject({ code: 'DR_HISTORY_NOT_THE_DR', details: { file: 'primary-bin.000001', serverIds: ['1'], option: '--dr-binlog' } });
    expect((error as Error).message).toBe(
      "primary-bin.000001 was not written by the DR: its format description and its 17 transactions (GTIDs 0-1-1, 0-1-2, 0-1-3, …) carry server id(s) 1, the DR's is 2: was the primary's binlog given as --dr-binlog?",
    );
  });

  // Found by a review against real servers: files given out of order, or with one missing between
  // two, made an "incomplete" history whose keys were still trusted; a key the DR deleted and
  // re-inserted, folded the wrong way round (or without the delete), read as the primary's record,
  // and a lost update was merged into the DR's own record instead of held as update-pk-reused.
  it('refuses DR binlogs given twice, out of order, or with one missing between two, naming the file and --dr-binlog', async () => {
    const f1 = join(FAILOVER, 'dr/dr-bin.000001');
    const f2 = join(FAILOVER, 'dr/dr-bin.000002');
    const refusal = async (files: string[]) => {
      const e = (await read(files).catch((x: unknown) => x)) as { code: string; details: unknown; message: string };
      return { code: e.code, details: e.details, message: e.message };
    };
    expect(await refusal([f1, f1])).toEqual({
      code: 'DR_HISTORY_FILE_TWICE',
      details: { file: f1, option: '--dr-binlog' },
      message: `${f1} is given twice as --dr-binlog: give each of the DR's binlogs once, oldest first (or its .index file)`,
    });
    expect(await refusal([f2, f1])).toEqual({
      code: 'DR_HISTORY_OUT_OF_ORDER',
      details: { file: f1, option: '--dr-binlog' },
      message: "dr-bin.000001 is given after dr-bin.000002 as --dr-binlog: the DR's binlogs are read in the order given, oldest first (or give its .index file), so the DR's changes to a key would be taken in the wrong order",
    });
    const dir = mkdtempSync(join(tmpdir(), 'dr-history-test-'));
    try {
      copyFileSync(f1, join(dir, 'dr-bin.000001'));
      copyFileSync(f2, join(dir, 'dr-bin.000003'));
      expect(await refusal([join(dir, 'dr-bin.000001'), join(dir, 'dr-bin.000003')])).toEqual({
        code: 'DR_HISTORY_GAP',
        details: { file: join(dir, 'dr-bin.000003'), option: '--dr-binlog' },
        message:
          'dr-bin.000002 is missing between dr-bin.000001 and dr-bin.000003 given as --dr-binlog: what the DR did in between would be unknown while its later changes to the same keys are read as all it did. Give every DR binlog from the first one needed to the last (or its .index file); if one is gone, run without --dr-binlog (records are then told apart by their values)',
      });
      // Renamed copies the names cannot order: the ROTATE dr-bin.000001 ends with names the next file.
      copyFileSync(f2, join(dir, 'later.bin'));
      expect(await refusal([f1, join(dir, 'later.bin')])).toMatchObject({ code: 'DR_HISTORY_GAP', details: { file: join(dir, 'later.bin'), option: '--dr-binlog' } });
      // In order and whole, the renamed copy reads as the original.
      copyFileSync(f2, join(dir, 'dr-bin.000002'));
      expect((await read([join(dir, 'dr-bin.000001'), join(dir, 'dr-bin.000002')])).transactions).toBe(5);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  // Found by a review against real servers: "binlog file not found: …/mysql-bin.000001" did not say
  // whether the file was given as --binlog or --dr-binlog, which often share names.
  it('a --dr-binlog file not found, or not a binlog: the reader\'s error, saying it was given as --dr-binlog', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'dr-history-test-'));
    try {
      const missing = join(dir, 'dr-bin.000009');
      await expect(read([missing])).rejects.toMatchObject({ code: 'SOURCE_FILE_NOT_FOUND', message: `binlog file not found: ${missing} (given as --dr-binlog)`, details: { file: missing, option: '--dr-binlog' } });
      const garbage = join(dir, 'dr-bin.000001');
      writeFileSync(garbage, 'garbage\n');
      const e = await read([garbage]).catch((x: unknown) => x);
      expect(e).toBeInstanceOf(BinlogError);
      expect(e).toMatchObject({ code: 'BINLOG_BAD_MAGIC', message: `not a binlog: ${garbage} starts with 67617262, expected fe62696e (given as --dr-binlog)`, details: { option: '--dr-binlog' } });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('leaves no temporary directory behind when it refuses the input', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'dr-history-test-'));
    try {
      await expect(read([join(FAILOVER, 'primary/primary-bin.index')], null, { maxEntries: 1, tempDir: dir })).rejects.toMatchObject({ code: 'DR_HISTORY_NOT_THE_DR' });
      expect(readdirSync(dir)).toEqual([]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('parseFailoverAt', () => {
  it('reads GTIDs, positions and UTC times', () => {
    expect(parseFailoverAt('0-1-12')).toEqual({ kind: 'gtid', gtid: '0-1-12' });
    expect(parseFailoverAt(' 007-01-0012 ')).toEqual({ kind: 'gtid', gtid: '7-1-12' });
    expect(parseFailoverAt('3E11FA47-71CA-11E1-9E33-C80AA9429562:23')).toEqual({ kind: 'gtid', gtid: '3e11fa47-71ca-11e1-9e33-c80aa9429562:23' });
    expect(parseFailoverAt('3e11fa47-71ca-11e1-9e33-c80aa9429562:Tag_1:5')).toEqual({ kind: 'gtid', gtid: '3e11fa47-71ca-11e1-9e33-c80aa9429562:tag_1:5' });
    expect(parseFailoverAt('dr-bin.000001:6125')).toEqual({ kind: 'position', file: 'dr-bin.000001', pos: 6125 });
    expect(parseFailoverAt('/var/lib/mysql/dr-bin.000001:6125')).toEqual({ kind: 'position', file: 'dr-bin.000001', pos: 6125 });
    expect(parseFailoverAt('2026-11-26 06:15:24')).toEqual({ kind: 'time', seconds: 1795673724 });
    expect(parseFailoverAt('2026-11-26T06:15')).toEqual({ kind: 'time', seconds: 1795673700 });
  });

  it('refuses what it cannot read, as a bad option', () => {
    const bad = (text: string) => {
      try {
        parseFailoverAt(text);
      } catch (e) {
        return { code: (e as { code: string }).code, option: (e as { details: { option: string } }).details.option, message: (e as Error).message };
      }
      return null;
    };
    expect(bad('2026-11-26')).toEqual({ code: 'BAD_OPTION', option: '--failover-at', message: '--failover-at: a date alone is ambiguous (it reads as a MariaDB GTID too): give a time as "YYYY-MM-DD HH:MM:SS" (UTC), or write a GTID without leading zeros, got "2026-11-26"' });
    expect(bad('2026-02-30 10:00:00')?.message).toBe('--failover-at: not a valid date and time, got "2026-02-30 10:00:00"');
    expect(bad('2026-02-03 10h')?.message).toBe('--failover-at: expected a UTC time as "YYYY-MM-DD HH:MM:SS", got "2026-02-03 10h"');
    expect(bad('dr-bin.000001:2')?.message).toBe('--failover-at: a binlog position is at least 4, got "dr-bin.000001:2"');
    expect(bad('0-4294967296-1')?.message).toBe('--failover-at: a MariaDB GTID is DOMAIN-SERVER-SEQ with 32-bit domain and server ids and a 64-bit sequence number, got "0-4294967296-1"');
    expect(bad('yesterday')?.message).toBe('--failover-at: expected a GTID (0-1-12, or uuid:n), a binlog position FILE:POS (dr-bin.000001:6125) or a UTC time "YYYY-MM-DD HH:MM:SS", got "yesterday"');
  });
});

describe('TempFileSpill', () => {
  it('keeps lines per partition in order across flushes, and creates nothing until used', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'dr-history-test-'));
    try {
      const spill = new TempFileSpill(dir);
      expect(await spill.read(0)).toEqual([]);
      expect(spill.directory).toBeNull();
      const big = 'x'.repeat(40_000);
      const lines = [big, 'a', big, 'b', '{"q":"line \\n with escape"}'];
      for (const l of lines) spill.append(3, l);
      spill.append(1, 'other');
      expect(await spill.read(3)).toEqual(lines);
      expect(await spill.read(1)).toEqual(['other']);
      expect(await spill.read(2)).toEqual([]);
      const where = spill.directory!;
      expect(existsSync(where)).toBe(true);
      await spill.close();
      expect(existsSync(where)).toBe(false);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
