import { execFile } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RowDataPacket } from 'mysql2/promise';
import { EventType } from '../../src/binlog/event-types.js';
import { EngineError } from '../../src/errors.js';
import { findMariadbBinary } from './mariadb-binaries.js';
import { HarnessErrorCode, mariadbBinlogPath, startMariadb, withMariadb, type MariadbServer } from './mariadb-server.js';

const run = promisify(execFile);

async function variables(server: MariadbServer, names: readonly string[]): Promise<Record<string, string>> {
  const rows = await server.query<RowDataPacket[]>(`SHOW GLOBAL VARIABLES WHERE Variable_name IN (${names.map(() => '?').join(',')})`, [...names]);
  return Object.fromEntries(rows.map((r) => [String(r['Variable_name']), String(r['Value'])]));
}

/** Event type codes of a binlog file, walking the 19-byte v4 headers by their event_size field. */
async function eventTypes(path: string): Promise<number[]> {
  const bytes = await readFile(path);
  const types: number[] = [];
  for (let at = 4; at + 19 <= bytes.length; ) {
    types.push(bytes[at + 4] ?? -1);
    const size = bytes.readUInt32LE(at + 9);
    if (size < 19) break;
    at += size;
  }
  return types;
}

const SCHEMA = `CREATE DATABASE shop;
CREATE TABLE shop.items (id INT PRIMARY KEY, name VARCHAR(40) NOT NULL, price DECIMAL(10,2), note TEXT, at DATETIME(6));`;
const ROWS = `INSERT INTO shop.items VALUES
  (1, 'apple', 1.25, 'crisp and red, quite repetitive text text text text', '2024-01-02 03:04:05.123456'),
  (2, 'pear', 2.50, NULL, '2024-02-03 04:05:06.000001'),
  (3, 'plum', NULL, 'plum plum plum plum plum plum plum plum', NULL);`;

describe('startMariadb', () => {
  let plain: MariadbServer;
  let variant: MariadbServer;

  beforeAll(async () => {
    // Two at once: the template is built once and each start copies it.
    [plain, variant] = await Promise.all([
      startMariadb({ name: 'harness-plain' }),
      startMariadb({
        name: 'harness-variant',
        checksum: 'NONE',
        rowImage: 'MINIMAL',
        rowMetadata: 'MINIMAL',
        compressBinlog: true,
        annotateRows: false,
        serverId: 7,
        gtidDomainId: 3,
        maxBinlogSize: 1_048_576,
        durable: true,
        bufferPool: '32M',
      }),
    ]);
  });

  afterAll(async () => {
    await Promise.all([plain?.stop(), variant?.stop()]);
  });

  it('listens on its own loopback port', () => {
    expect(plain.host).toBe('127.0.0.1');
    expect(plain.port).not.toBe(variant.port);
    expect(plain.port).not.toBe(3306);
    expect(plain.url).toBe(`mysql://root@127.0.0.1:${plain.port}`);
    expect(plain.binlogBasename).toBe(`${plain.dataDir}/mysql-bin`);
  });

  it('writes row events for inserts into a binlog that starts with the magic bytes', async () => {
    await plain.query(SCHEMA);
    await plain.query(ROWS);
    const rows = await plain.query<RowDataPacket[]>('SELECT id, name, price, at FROM shop.items ORDER BY id');
    expect(rows).toEqual([
      { id: 1, name: 'apple', price: '1.25', at: '2024-01-02 03:04:05.123456' },
      { id: 2, name: 'pear', price: '2.50', at: '2024-02-03 04:05:06.000001' },
      { id: 3, name: 'plum', price: null, at: null },
    ]);
    const files = await plain.binlogFiles();
    expect(files).toEqual([`${plain.dataDir}/mysql-bin.000001`]);
    const bytes = await readFile(files[0] ?? '');
    expect([...bytes.subarray(0, 4)]).toEqual([0xfe, 0x62, 0x69, 0x6e]);
    const types = await eventTypes(files[0] ?? '');
    expect(types[0]).toBe(EventType.FORMAT_DESCRIPTION);
    expect(types).toContain(EventType.ANNOTATE_ROWS);
    expect(types).toContain(EventType.TABLE_MAP);
    expect(types).toContain(EventType.WRITE_ROWS_V1);
  });

  it('applies the default options', async () => {
    const v = await variables(plain, [
      'log_bin', 'binlog_format', 'binlog_row_image', 'binlog_row_metadata', 'binlog_checksum', 'binlog_annotate_row_events',
      'log_bin_compress', 'server_id', 'gtid_domain_id', 'innodb_flush_log_at_trx_commit', 'innodb_buffer_pool_size',
      'time_zone', 'character_set_server', 'performance_schema', 'skip_name_resolve', 'bind_address', 'port',
    ]);
    expect(v).toEqual({
      log_bin: 'ON',
      binlog_format: 'ROW',
      binlog_row_image: 'FULL',
      binlog_row_metadata: 'FULL',
      binlog_checksum: 'CRC32',
      binlog_annotate_row_events: 'ON',
      log_bin_compress: 'OFF',
      server_id: '1',
      gtid_domain_id: '0',
      innodb_flush_log_at_trx_commit: '2',
      innodb_buffer_pool_size: String(64 * 1024 * 1024),
      time_zone: '+00:00',
      character_set_server: 'utf8mb4',
      performance_schema: 'OFF',
      skip_name_resolve: 'ON',
      bind_address: '127.0.0.1',
      port: String(plain.port),
    });
  });

  it('applies the variant options and compresses its row events', async () => {
    const v = await variables(variant, [
      'binlog_checksum', 'binlog_row_image', 'binlog_row_metadata', 'log_bin_compress', 'log_bin_compress_min_len',
      'binlog_annotate_row_events', 'server_id', 'gtid_domain_id', 'max_binlog_size', 'innodb_flush_log_at_trx_commit',
      'sync_binlog', 'innodb_buffer_pool_size',
    ]);
    expect(v).toEqual({
      binlog_checksum: 'NONE',
      binlog_row_image: 'MINIMAL',
      binlog_row_metadata: 'MINIMAL',
      log_bin_compress: 'ON',
      log_bin_compress_min_len: '10',
      binlog_annotate_row_events: 'OFF',
      server_id: '7',
      gtid_domain_id: '3',
      max_binlog_size: '1048576',
      innodb_flush_log_at_trx_commit: '1',
      sync_binlog: '1',
      innodb_buffer_pool_size: String(32 * 1024 * 1024),
    });
    await variant.query(SCHEMA);
    await variant.query(ROWS);
    const [file] = await variant.binlogFiles();
    const types = await eventTypes(file ?? '');
    expect(types).toContain(EventType.WRITE_ROWS_COMPRESSED_V1);
    expect(types).toContain(EventType.QUERY_COMPRESSED);
    expect(types).not.toContain(EventType.WRITE_ROWS_V1);
    expect(types).not.toContain(EventType.ANNOTATE_ROWS);
  });

  it('locates mariadb-binlog, which decodes the binlog written', async () => {
    const [file] = await plain.binlogFiles();
    const { stdout } = await run(mariadbBinlogPath(), ['--no-defaults', '-vv', '--base64-output=decode-rows', file ?? '']);
    expect(stdout).toContain('### INSERT INTO `shop`.`items`');
    expect(stdout).toContain("###   @2='pear'");
  });

  it('rotates the binlog on flushBinaryLogs()', async () => {
    await plain.flushBinaryLogs();
    const files = await plain.binlogFiles();
    expect(files).toEqual([`${plain.dataDir}/mysql-bin.000001`, `${plain.dataDir}/mysql-bin.000002`]);
    expect(files.every((f) => existsSync(f))).toBe(true);
  });

  it('keeps committed rows across kill() and restart() on the same port', async () => {
    const port = plain.port;
    const pid = plain.pid;
    await plain.query("INSERT INTO shop.items (id, name) VALUES (4, 'fig')");
    await plain.kill();
    expect(plain.running).toBe(false);
    expect(existsSync(plain.dataDir)).toBe(true);
    await expect(plain.query('SELECT 1')).rejects.toMatchObject({ code: HarnessErrorCode.NotRunning });
    await plain.restart();
    expect(plain.running).toBe(true);
    expect(plain.pid).not.toBe(pid);
    expect(plain.port).toBe(port);
    const rows = await plain.query<RowDataPacket[]>('SELECT id FROM shop.items ORDER BY id');
    expect(rows.map((r) => r['id'])).toEqual([1, 2, 3, 4]);
    // The crash left the open binlog marked in use; the restart recovered it and opened a new one.
    expect((await plain.binlogFiles()).length).toBe(3);
  });

  it('restart() moves to another free port when its own was taken meanwhile', async () => {
    const old = variant.port;
    await variant.kill();
    const blocker = createServer();
    await new Promise<void>((resolve) => blocker.listen(old, '127.0.0.1', resolve));
    try {
      await variant.restart();
    } finally {
      await new Promise<void>((resolve) => blocker.close(() => resolve()));
    }
    expect(variant.port).not.toBe(old);
    expect(variant.url).toBe(`mysql://root@127.0.0.1:${variant.port}`);
    const rows = await variant.query<RowDataPacket[]>('SELECT COUNT(*) AS n FROM shop.items');
    expect(rows).toEqual([{ n: '3' }]); // BIGINT, returned as a string (bigNumberStrings)
  });

  it('removes its folder on stop(), and stop() is idempotent', async () => {
    await plain.stop();
    expect(plain.running).toBe(false);
    expect(existsSync(plain.rootDir)).toBe(false);
    await plain.stop();
  });
});

describe('binaries', () => {
  it('finds mariadb-binlog and says how to install a missing program', () => {
    expect(mariadbBinlogPath()).toMatch(/\/mariadb-binlog$/);
    expect(() => findMariadbBinary('mariadbd-that-does-not-exist')).toThrow(
      expect.objectContaining({ code: HarnessErrorCode.BinaryNotFound, message: expect.stringContaining('apt-get install mariadb-server') }),
    );
  });
});

describe('withMariadb', () => {
  it('runs without a binlog and stops afterwards', async () => {
    let root = '';
    const value = await withMariadb({ name: 'harness-nobinlog', binlog: false }, async (db) => {
      root = db.rootDir;
      expect(db.binlogBasename).toBeUndefined();
      expect(await variables(db, ['log_bin'])).toEqual({ log_bin: 'OFF' });
      await expect(db.binlogFiles()).rejects.toMatchObject({ code: HarnessErrorCode.BinlogDisabled });
      const conn = await db.connect();
      try {
        const [rows] = await conn.query<RowDataPacket[][]>('SELECT 18446744073709551615 AS big, NOW() AS now; SELECT 1 AS one');
        expect(rows[0]?.[0]?.['big']).toBe('18446744073709551615');
        expect(rows[1]?.[0]?.['one']).toBe(1);
      } finally {
        await conn.end();
      }
      return 42;
    });
    expect(value).toBe(42);
    expect(root).not.toBe('');
    expect(existsSync(root)).toBe(false);
  });

  it('reports a taken port with the error log and leaves nothing behind', async () => {
    const blocker: Server = createServer();
    await new Promise<void>((resolve) => blocker.listen(0, '127.0.0.1', resolve));
    const address = blocker.address();
    const port = typeof address === 'object' && address !== null ? address.port : 0;
    const name = `harness-busy-${process.pid}`; // unique, so a parallel run of this file does not disturb the count
    const leftovers = (): string[] => readdirSync(tmpdir()).filter((e) => e.startsWith(`binlog-salvage-mdb-${name}-`));
    const before = leftovers();
    try {
      const err: unknown = await startMariadb({ name, port }).then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(err).toBeInstanceOf(EngineError);
      expect(err).toMatchObject({ code: HarnessErrorCode.StartFailed, details: { port } });
      expect((err as Error).message).toContain('Address already in use');
      expect(leftovers()).toEqual(before);
    } finally {
      await new Promise<void>((resolve) => blocker.close(() => resolve()));
    }
  });
});
