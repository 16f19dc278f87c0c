/**
 * `inspect --schema-from` and the library's inspectBinlogs({ schemaFrom }) connect as every other
 * connection does (openSession): through the Unix socket of `?socket=PATH`, with TLS as the
 * target's settings ask. loadSchemaHints called mysql2 with host, port and credentials only, so a
 * socket-only server was unreachable (it dialled host:port instead) and a TLS mode was ignored.
 */
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { exitCodeFor } from '../../src/cli/exit-codes.js';
import { runInspect } from '../../src/cli/inspect-command.js';
import { parseConnectionUrl } from '../../src/db/connection-url.js';
import { DatabaseError, loadSchemaHints } from '../../src/db/schema-hints.js';
import { inspectBinlogs } from '../../src/pipeline/inspect.js';
import type { ReconnectNotice } from '../../src/db/first-connection.js';
import { Capture } from '../harness/capture.js';
import { startTcpProxy, type TcpProxy } from '../harness/tcp-proxy.js';
import { startMariadb, type MariadbServer } from '../harness/mariadb-server.js';

const FILE = resolve(import.meta.dirname, '../../../shared/fixtures/real-binlogs/local-mariadb-10.11/failover/primary/primary-bin.000001');

let db: MariadbServer;
let dir: string;
/** A binlog file of this server's own, logged without column names (the default binlog_row_metadata). */
let logged: string;

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
  // An account with a password, which only an option file (or --schema-password-env) gives.
  for (const host of ['127.0.0.1', 'localhost']) {
    await db.query(`CREATE USER 'reader'@'${host}' IDENTIFIED BY 'pw#1'`);
    await db.query(`GRANT SELECT ON *.* TO 'reader'@'${host}'`);
  }
  await db.flushBinaryLogs();
  await db.query("INSERT INTO shop.t VALUES (1, 'x', 'b')");
  await db.flushBinaryLogs();
  const files = await db.binlogFiles();
  logged = files[files.length - 2]!;
  dir = await mkdtemp(join(tmpdir(), 'salvage-schema-from-'));
}, 120_000);

afterAll(async () => {
  await db?.stop();
  if (dir) await rm(dir, { recursive: true, force: true });
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

describe('--schema-from reads the option files, as --target and --source do', () => {
  /** inspect --json --quiet of the server's own binlog; the row change of its one insert. */
  async function changes(args: readonly string[], env: NodeJS.ProcessEnv): Promise<unknown> {
    const out = new Capture();
    const err = new Capture();
    expect(await runInspect(['--json', '--quiet', '--tables', 'shop.t', ...args, logged], out, err, env)).toBe(0);
    expect(err.text).toBe('');
    return out.text.trim().split('\n').map((l) => (JSON.parse(l) as { changes: unknown[] }).changes);
  }

  async function cnf(name: string, text: string): Promise<string> {
    const path = join(dir, name);
    await writeFile(path, text, { mode: 0o600 });
    return path;
  }

  it('takes the password from ~/.my.cnf ([client]) when the URL has none', async () => {
    const home = join(dir, 'home');
    await mkdir(home, { recursive: true });
    await cnf('home/.my.cnf', '[client]\npassword = "pw#1"\n');
    expect(await changes(['--schema-from', `mysql://reader@127.0.0.1:${db.port}`], { HOME: home })).toEqual([
      [{ op: 'insert', schema: 'shop', table: 't', after: { id: 1, name: 'x', tier: 'b' } }],
    ]);
  });

  it('takes user, password and socket from --defaults-file', async () => {
    const file = await cnf('schema.cnf', `[client]\nuser=reader\npassword=pw#1\nsocket=${db.socketPath}\n`);
    // Port 1: nothing listens there, so only the option file's socket reaches the server.
    expect(await changes(['--schema-from', 'mysql://localhost:1', '--defaults-file', file], {})).toEqual([
      [{ op: 'insert', schema: 'shop', table: 't', after: { id: 1, name: 'x', tier: 'b' } }],
    ]);
  });

  it('--schema-password-env wins over the option file', async () => {
    const file = await cnf('wrong-pw.cnf', '[client]\nuser=reader\npassword=wrong\n');
    expect(await changes(['--schema-from', `mysql://127.0.0.1:${db.port}`, '--defaults-file', file, '--schema-password-env', 'SCHEMA_PW'], { SCHEMA_PW: 'pw#1' })).toEqual([
      [{ op: 'insert', schema: 'shop', table: 't', after: { id: 1, name: 'x', tier: 'b' } }],
    ]);
  });

  it('a wrong password from the option file is DB_CONNECT (errno 1045, not retryable) naming --schema-from, exit 1', async () => {
    const file = await cnf('wrong.cnf', '[client]\nuser=reader\npassword=wrong\n');
    const e = await rejection(runInspect(['--json', '--schema-from', `mysql://127.0.0.1:${db.port}`, '--defaults-file', file, logged], new Capture(), new Capture(), {}));
    expect(e).toBeInstanceOf(DatabaseError);
    expect(e).toMatchObject({ code: 'DB_CONNECT', retryable: false, details: { option: '--schema-from', errno: 1045 } });
    expect((e as Error).message).toContain('reader');
    expect((e as Error).message).not.toContain('wrong');
    expect(exitCodeFor(e)).toBe(1);
  });

  it("the option file's ssl-mode applies: REQUIRED against a server without TLS is DB_TLS naming --schema-from", async () => {
    const file = await cnf('tls.cnf', '[client]\nuser=reader\npassword=pw#1\nssl-mode=REQUIRED\n');
    const e = await rejection(runInspect(['--json', '--schema-from', `mysql://127.0.0.1:${db.port}`, '--defaults-file', file, logged], new Capture(), new Capture(), {}));
    expect(e).toMatchObject({ code: 'DB_TLS', details: { option: '--schema-from' } });
  });

  it('--schema-password-env naming an unset variable, or without --schema-from, is a usage error', async () => {
    const unset = await rejection(runInspect(['--schema-from', `mysql://127.0.0.1:${db.port}`, '--schema-password-env', 'NO_SUCH_VAR', logged], new Capture(), new Capture(), {}));
    expect(unset).toMatchObject({ code: 'USAGE', message: '--schema-password-env: the environment variable NO_SUCH_VAR is not set', details: { option: '--schema-password-env' } });
    const alone = await rejection(runInspect(['--schema-password-env', 'SCHEMA_PW', logged], new Capture(), new Capture(), { SCHEMA_PW: 'x' }));
    expect(alone).toMatchObject({ code: 'USAGE', message: '--schema-password-env goes with --schema-from URL' });
  });
});

describe('--schema-from: a connection lost during the read is opened again (docs/RELIABILITY.md §7 item 3)', () => {
  let proxy: TcpProxy;
  const viaProxy = (): ReturnType<typeof parseConnectionUrl> => parseConnectionUrl(`mysql://root@127.0.0.1:${proxy.port}`, '--schema-from');
  const COLUMNS = (sql: string): boolean => sql.includes('FROM information_schema.COLUMNS c');
  // The probe that reads back ENUM labels information_schema shows as '?' (characters beyond the BMP).
  const PROBE = (sql: string): boolean => sql.startsWith('INSERT INTO `shop`.`salvage_label_probe`');
  const fast = { attempts: 3, initialDelayMs: 20 };
  const brief = (n: ReconnectNotice): unknown[] => [n.server, n.step, n.attempt, n.attempts, n.code];

  beforeAll(async () => {
    await db.query("CREATE TABLE shop.mood (id INT PRIMARY KEY, face ENUM('\u{1F600}', 'b'))");
    proxy = await startTcpProxy(db.host, db.port);
  });

  afterAll(async () => {
    await proxy?.close();
  });

  it('lost after the columns query answered: read again on a new connection, the same hints, one notice', async () => {
    const direct = await loadSchemaHints(db.target);
    const notices: ReconnectNotice[] = [];
    proxy.dropOn(COLUMNS);
    const hints = await loadSchemaHints(viaProxy(), { reconnect: fast, onReconnect: (n) => notices.push(n) });
    expect(proxy.dropped).not.toBeNull();
    expect(notices.map(brief)).toEqual([['schema', 'schema read', 1, 3, 'DB_QUERY']]);
    expect(hints('shop', 't', 3)).toEqual(direct('shop', 't', 3));
    expect(hints('shop', 'mood', 2)).toEqual([
      { name: 'id', dataType: 'int', unsigned: false, collation: null, isJson: false },
      { name: 'face', dataType: 'enum', unsigned: false, collation: 45, enumLabels: ['\u{1F600}', 'b'], isJson: false },
    ]);
  });

  it("lost during an ENUM label probe: the probe is not taken for refused (labels stay exact, not '?')", async () => {
    const notices: ReconnectNotice[] = [];
    proxy.dropOn(PROBE);
    const hints = await loadSchemaHints(viaProxy(), { reconnect: fast, onReconnect: (n) => notices.push(n) });
    expect(proxy.dropped).not.toBeNull();
    expect(notices.map(brief)).toEqual([['schema', 'schema read', 1, 3, 'DB_QUERY']]);
    expect(hints('shop', 'mood', 2)?.[1]).toMatchObject({ enumLabels: ['\u{1F600}', 'b'] });
  });

  it('with 0 reconnect attempts: DB_QUERY naming --schema-from, saying it does not reconnect', async () => {
    proxy.dropOn(COLUMNS);
    const e = await rejection(loadSchemaHints(viaProxy(), { reconnect: { attempts: 0 } }));
    expect(e).toBeInstanceOf(DatabaseError);
    expect(e).toMatchObject({ code: 'DB_QUERY', details: { option: '--schema-from' } });
    expect((e as Error).message).toContain('not reconnecting (reconnect attempts: 0)');
  });

  it('salvage inspect --schema-from prints what an unbroken read prints, and warns once', async () => {
    const args = ['--json', '--tables', 'shop.t', '--reconnect-attempts', '2'];
    const plain = new Capture();
    expect(await runInspect([...args, '--schema-from', `mysql://root@127.0.0.1:${db.port}`, logged], plain, new Capture(), {})).toBe(0);
    proxy.dropOn(COLUMNS);
    const out = new Capture();
    const err = new Capture();
    expect(await runInspect([...args, '--schema-from', `mysql://root@127.0.0.1:${proxy.port}`, logged], out, err, {})).toBe(0);
    expect(proxy.dropped).not.toBeNull();
    expect(out.text).toBe(plain.text);
    expect(out.text).toContain('"name":"x","tier":"b"');
    const warnings = err.text.split('\n').filter((l) => l.startsWith('salvage: warning:'));
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toContain(`the --schema-from server mysql://root@127.0.0.1:${proxy.port} failed (schema read)`);
  });
});
