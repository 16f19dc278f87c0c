/**
 * A DR reached through its Unix socket (`--target mysql://root@localhost?socket=PATH`) is named so
 * in the report: the target was built as mysql://user@host:port, so it read
 * mysql://root@localhost:3306 — a server the run never talked to. The plan's summary and JSON, and
 * `salvage report`'s rebuilt report after an apply.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runReport } from '../../src/cli/report-command.js';
import { runSalvageCommand, type SalvageCommandEnvironment } from '../../src/cli/salvage-command.js';
import { serverLabel } from '../../src/db/connection-url.js';
import { Capture } from '../harness/capture.js';
import { startMariadb, type MariadbServer } from '../harness/mariadb-server.js';
import { SMALL_INCIDENT } from '../harness/small-incident.js';

const ENV: SalvageCommandEnvironment = { env: {}, home: undefined, isTty: false };
let primary: MariadbServer;
let dr: MariadbServer;
let files: string[] = [];
let start = '';

beforeAll(async () => {
  [primary, dr] = await Promise.all([startMariadb({ name: 'socket-primary' }), startMariadb({ name: 'socket-dr', serverId: 2 })]);
  for (const sql of [...SMALL_INCIDENT.schema, ...SMALL_INCIDENT.base]) {
    await primary.query(sql);
    await dr.query(sql);
  }
  start = String(((await primary.query('SELECT @@gtid_binlog_pos AS p')) as { p: string }[])[0]!.p);
  // The lost inserts alone: nothing to quarantine, so apply exits 0.
  for (const sql of SMALL_INCIDENT.lost.slice(0, 3)) await primary.query(sql);
  await primary.flushBinaryLogs();
  files = await primary.binlogFiles();
}, 120_000);

afterAll(async () => {
  await Promise.all([primary?.stop(), dr?.stop()]);
});

describe('a DR reached through its socket', () => {
  // Port 1 answers nothing: were the socket ignored, nothing (not the shared server on 3306) is reached.
  const url = (): string => `mysql://root@localhost:1?socket=${dr.socketPath}`;

  it('serverLabel writes the socket as the URL grammar does, host:port otherwise', () => {
    expect(serverLabel({ user: 'root', host: 'localhost', port: 3306, socket: '/run/mysqld/mysqld.sock' })).toBe('mysql://root@localhost?socket=/run/mysqld/mysqld.sock');
    expect(serverLabel({ user: 'root', host: '::1', port: 3307 })).toBe('mysql://root@[::1]:3307');
  });

  it('plan: the JSON report and the summary name the socket', async () => {
    const json = new Capture();
    expect(await runSalvageCommand('plan', ['--binlog', ...files, '--target', url(), '--from-gtid', start, '--json', '--quiet'], json, new Capture(), ENV)).toBe(0);
    expect(JSON.parse(json.text).target).toBe(`mysql://root@localhost?socket=${dr.socketPath}`);
    const human = new Capture();
    expect(await runSalvageCommand('plan', ['--binlog', ...files, '--target', url(), '--from-gtid', start, '--quiet'], human, new Capture(), ENV)).toBe(0);
    expect(human.text.split('\n')[0]).toMatch(new RegExp(`^salvage plan: DR mysql://root@localhost\\?socket=${dr.socketPath.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')} \\(`));
  });

  it('salvage report after an apply names the socket', async () => {
    expect(await runSalvageCommand('apply', ['--binlog', ...files, '--target', url(), '--from-gtid', start, '--quiet'], new Capture(), new Capture(), ENV)).toBe(0);
    const out = new Capture();
    expect(await runReport(['--target', url(), '--json'], out, new Capture(), ENV)).toBe(0);
    expect((JSON.parse(out.text) as { report: { target: string } }).report.target).toBe(`mysql://root@localhost?socket=${dr.socketPath}`);
  });
});
