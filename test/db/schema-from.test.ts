/**
 * `inspect --schema-from` and the library's inspectBinlogs({ schemaFrom }) connect as every other
 * connection does (openSession): through the Unix socket of `?socket=PATH`, with TLS as the
 * target's settings ask. loadSchemaHints called mysql2 with host, port and credentials only, so a
 * socket-only server was unreachable (it dialled host:port instead) and a TLS mode was ignored.
 */
import { resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runInspect } from '../../src/cli/inspect-command.js';
import { parseConnectionUrl } from '../../src/db/connection-url.js';
import { DatabaseError, loadSchemaHints } from '../../src/db/schema-hints.js';
import { inspectBinlogs } from '../../src/pipeline/inspect.js';
import { Capture } from '../harness/capture.js';
import { startMariadb, type MariadbServer } from '../harness/mariadb-server.js';

const FILE = resolve(import.meta.dirname, '../../../shared/fixtures/real-binlogs/local-mariadb-10.11/failover/primary/primary-bin.000001');

let db: MariadbServer;

async function rejection(p: Promise<unknown>): Promise<unknown> {
  try {
    await p;
  } catch (e) {
    return e;
  }
  throw new Error('expected a rejection');
}

beforeAll(async () => {
  // No ssl_cert/ssl_key: the server offers no TLS.
  db = await startMariadb({ name: 'schema-from' });
  await db.query('CREATE DATABASE shop');
  await db.query("CREATE TABLE shop.t (id INT UNSIGNED PRIMARY KEY, name VARCHAR(20) CHARACTER SET utf8mb4, tier ENUM('a','b'))");
}, 120_000);

afterAll(async () => {
  await db?.stop();
});

describe('--schema-from through a Unix socket', () => {
  // Port 1: nothing listens there, so only the socket reaches the server.
  const url = (): string => `mysql://root@localhost:1?socket=${db.socketPath}`;

  it('loadSchemaHints reads the column names through the socket', async () => {
    const hints = await loadSchemaHints(parseConnectionUrl(url(), '--schema-from'));
    expect(hints('shop', 't', 3)).toEqual([
      { name: 'id', dataType: 'int', unsigned: true, collation: null, isJson: false },
      { name: 'name', dataType: 'varchar', unsigned: false, collation: 45, isJson: false },
      { name: 'tier', dataType: 'enum', unsigned: false, collation: 45, enumLabels: ['a', 'b'], isJson: false },
    ]);
  });

  it('salvage inspect --schema-from mysql://root@localhost?socket=PATH runs', async () => {
    const out = new Capture();
    const err = new Capture();
    expect(await runInspect(['--json', '--quiet', '--include-gtids', '0-1-8', '--schema-from', url(), FILE], out, err, {})).toBe(0);
    expect(JSON.parse(out.text.trim())).toMatchObject({ gtid: '0-1-8' });
  });
});

describe('--schema-from with TLS the server cannot give', () => {
  it('inspectBinlogs({ schemaFrom }) with tls REQUIRED fails with DB_TLS naming --schema-from', async () => {
    const items = inspectBinlogs([FILE], { schemaFrom: { ...db.target, tls: { mode: 'REQUIRED' } } });
    const e = await rejection(items.next());
    expect(e).toBeInstanceOf(DatabaseError);
    expect(e).toMatchObject({ code: 'DB_TLS', retryable: false, details: { option: '--schema-from' } });
    expect((e as Error).message).toContain('the server offers no TLS');
  });

  it('salvage inspect --schema-ssl-mode REQUIRED fails with DB_TLS', async () => {
    const e = await rejection(runInspect(['--json', '--schema-from', `mysql://root@127.0.0.1:${db.port}`, '--schema-ssl-mode', 'REQUIRED', FILE], new Capture(), new Capture(), {}));
    expect(e).toMatchObject({ code: 'DB_TLS', details: { option: '--schema-from' } });
    // It names the flag to change, this connection's, not the DR's --ssl-mode.
    expect((e as Error).message).toContain('and --schema-ssl-mode is REQUIRED: configure ssl_cert and ssl_key on the server, or connect with --schema-ssl-mode PREFERRED or DISABLED');
  });

  it('--schema-ssl-* without --schema-from is a usage error', async () => {
    const e = await rejection(runInspect(['--schema-ssl-mode', 'REQUIRED', FILE], new Capture(), new Capture(), {}));
    expect(e).toMatchObject({ code: 'USAGE', message: '--schema-ssl-mode goes with --schema-from URL' });
  });
});
