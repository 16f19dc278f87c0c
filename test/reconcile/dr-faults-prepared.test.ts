/**
 * A lost connection inside a prepared ledger write. A window's full 500-row ledger INSERTs go as
 * prepared statements (src/db/state-store.ts), which the staged failover of dr-faults.test.ts never
 * reaches (its windows hold 1–5 changes): here each lost transaction holds 550–600 row changes, one
 * per window, so every window sends one prepared ledger INSERT and one text INSERT for the rest.
 * The proxy drops the connection while such an execute is on its way, or after the server answered
 * it; the window is rolled back with the connection and decided again on a new one (which prepares
 * the statement afresh), and the DR ends exactly as an uninterrupted apply leaves it: rows,
 * CHECKSUM TABLE, ledger, key map, quarantine and checkpoint (readDrState).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ConnectionTarget } from '../../src/db/connection-url.js';
import { openSession, type SqlSession } from '../../src/db/sql-session.js';
import { salvage, type SalvageOptions, type SalvageReport } from '../../src/pipeline/salvage.js';
import { readDrState, type DrState } from '../harness/failover-dr.js';
import { stageIncident, type Incident, type Staged } from '../harness/incident-pair.js';
import { startMariadb, type MariadbServer } from '../harness/mariadb-server.js';
import { startTcpProxy, type StatementKind, type TcpProxy } from '../harness/tcp-proxy.js';

const TABLE = 'CREATE TABLE t.items (id INT UNSIGNED NOT NULL AUTO_INCREMENT PRIMARY KEY, note VARCHAR(64) NOT NULL, n INT NOT NULL) ENGINE=InnoDB';

/** 1,750 lost row changes in three transactions; the DR's own five rows take ids 11–15, so five inserts are remapped and their later updates follow. */
const INCIDENT: Incident = {
  schema: [TABLE],
  // Explicit ids: an INSERT … SELECT that lets AUTO_INCREMENT choose reserves ids in growing blocks and leaves gaps.
  base: ["INSERT INTO t.items (id, note, n) SELECT seq, CONCAT('base ', seq), seq FROM t.seq_1_to_10"],
  lost: [
    "INSERT INTO t.items (id, note, n) SELECT seq + 10, CONCAT('lost ', seq, ' it''s \\\\ \"q\"'), seq FROM t.seq_1_to_600",
    "INSERT INTO t.items (id, note, n) SELECT seq + 610, CONCAT('more é ✓ 𝄞 ', seq), -seq FROM t.seq_1_to_600",
    'UPDATE t.items SET n = n + 1000 WHERE id <= 560',
  ],
  dr: ["INSERT INTO t.items (note, n) VALUES ('dr 1', 1), ('dr 2', 2), ('dr 3', 3), ('dr 4', 4), ('dr 5', 5)"],
};

const isLedgerInsert = (sql: string): boolean => sql.startsWith('INSERT INTO `salvage`.`ledger`');

let primary: MariadbServer;
let dr: MariadbServer;
let staged: Staged;
let proxy: TcpProxy;
let viaProxy: ConnectionTarget;
let reference: { state: DrState; report: SalvageReport; executes: number };
/** A root session on the DR, for reading its state. */
let admin: SqlSession;

/** Puts the DR back to the incident: the state schema gone, t as staged (schema, base rows, the DR's own rows). */
async function resetDr(): Promise<void> {
  for (const sql of ['DROP DATABASE IF EXISTS salvage', 'DROP DATABASE IF EXISTS t', 'CREATE DATABASE t', ...INCIDENT.schema, ...(INCIDENT.base ?? []), ...(INCIDENT.dr ?? [])]) {
    await dr.query(sql);
  }
}

function readState(): Promise<DrState> {
  return readDrState(admin, ['t.items']);
}

function options(extra: Partial<SalvageOptions> = {}): SalvageOptions {
  return {
    mode: 'apply',
    binlogs: staged.files,
    target: viaProxy,
    start: { kind: 'from-gtid', set: staged.start },
    windowTransactions: 1,
    reconnect: { initialDelayMs: 100 },
    ...extra,
  };
}

/** Arms the proxy to drop on the n-th prepared ledger execute (1-based); counts every ledger execute it sees until then. */
function dropOnExecute(n: number, when: 'after-send' | 'after-reply'): { kinds: StatementKind[] } {
  const seen = { kinds: [] as StatementKind[] };
  let executes = 0;
  proxy.dropOn((sql, kind) => {
    if (!isLedgerInsert(sql)) return false;
    seen.kinds.push(kind);
    return kind === 'execute' && ++executes === n;
  }, when);
  return seen;
}

beforeAll(async () => {
  [primary, dr] = await Promise.all([startMariadb({ name: 'prepared-faults-primary' }), startMariadb({ name: 'prepared-faults-dr', serverId: 2, binlog: false })]);
  staged = await stageIncident(primary, dr, INCIDENT);
  admin = await openSession(dr.target);
  proxy = await startTcpProxy(dr.host, dr.port);
  viaProxy = { ...dr.target, port: proxy.port, redacted: `mysql://root@127.0.0.1:${proxy.port}` };
  // The reference runs through the proxy too, armed with a match that never drops: it counts the prepared ledger writes.
  const seen = dropOnExecute(Number.POSITIVE_INFINITY, 'after-reply');
  const report = await salvage(options());
  reference = { state: await readState(), report, executes: seen.kinds.filter((k) => k === 'execute').length };
}, 120_000);

afterAll(async () => {
  await admin?.end();
  await proxy?.close();
  await Promise.all([primary?.stop(), dr?.stop()]);
});

describe('a connection lost inside a prepared ledger write', () => {
  it('the uninterrupted apply sends one prepared ledger INSERT per window and remaps the five ids the DR took', () => {
    expect(reference.executes).toBe(3);
    expect(reference.report.windows).toBe(3);
    expect(reference.state.ledger).toHaveLength(1_760);
    expect(reference.state.keyMap).toHaveLength(5);
    expect(reference.state.tables['t.items']!).toHaveLength(1_215);
    // Row 11 was the primary's "lost 1": it moved past the DR's rows, and the update (id <= 560) followed it there.
    expect(reference.state.tables['t.items']!.find((r) => r['id'] === 11)).toEqual({ id: 11, note: 'dr 1', n: 1 });
    expect(reference.state.tables['t.items']!.filter((r) => r['note'] === `lost 1 it's \\ "q"`)).toEqual([{ id: 1211, note: `lost 1 it's \\ "q"`, n: 1001 }]);
  });

  it.each([
    ['while the execute is on its way', 'after-send', 2],
    ['after the server answered the execute', 'after-reply', 3],
  ] as const)('%s: the window is rolled back, decided again on a new connection, and the DR ends as the uninterrupted apply left it', async (_title, when, n) => {
    await resetDr();
    const seen = dropOnExecute(n, when);
    const report = await salvage(options());
    expect(proxy.dropped).not.toBeNull();
    expect(isLedgerInsert(proxy.dropped!)).toBe(true);
    expect(seen.kinds.filter((k) => k === 'execute')).toHaveLength(n);
    expect(report.drReconnects).toBe(1);
    expect(report.windows).toBe(reference.report.windows);
    expect(await readState()).toEqual(reference.state);
  });
});
