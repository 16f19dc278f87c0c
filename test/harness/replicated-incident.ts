/**
 * A hand-written incident over real replication, for the tests that read the DR's own binlog
 * (issue 8): the DR replicates the primary's schema and base rows (log_slave_updates, so its binlog
 * holds them under the primary's server id), the link is cut, the primary commits the lost
 * statements, the DR is promoted and writes its own. Unlike incident-pair.ts, the DR's binlog then
 * shows a real failover point: the last transaction received, and the first the DR wrote itself.
 */
import type { MariadbServer } from './mariadb-server.js';

/** DR options for startMariadb: a replica that logs what it applies. */
export const REPLICA_ARGS = ['--log-slave-updates=ON', '--relay-log=relay-bin'] as const;

export interface ReplicatedIncident {
  readonly schema: readonly string[];
  /** Committed on the primary and replicated (one shared session: `SET SESSION gtid_domain_id = 7` carries over). */
  readonly base?: readonly string[];
  /** Committed on the primary after the link is cut: what the DR never receives. */
  readonly lost: readonly string[];
  /** Committed on the DR after its promotion. */
  readonly dr?: readonly string[];
}

export interface StagedReplicated {
  /** The primary's @@gtid_binlog_pos at the link cut (what the DR had received). */
  readonly linkCut: string;
  /** The primary's binlog files, every transaction of it included. */
  readonly files: string[];
  /** The DR's own binlog files, closed by a FLUSH. */
  readonly drFiles: string[];
}

const POLL_MS = 50;
const CATCH_UP_MS = 30_000;

/** Resets both servers (binlogs, GTID state, replication, `databases`, the state schema) and stages `incident`. */
export async function stageReplicatedIncident(primary: MariadbServer, dr: MariadbServer, incident: ReplicatedIncident, databases: readonly string[]): Promise<StagedReplicated> {
  await dr.query('STOP SLAVE');
  await dr.query('RESET SLAVE ALL');
  for (const s of [primary, dr]) {
    for (const db of [...databases, 'salvage']) await s.query(`DROP DATABASE IF EXISTS \`${db}\``);
    await s.query('RESET MASTER');
    await s.query('SET SESSION gtid_domain_id = 0');
  }
  await dr.query("SET GLOBAL gtid_slave_pos = ''");
  await dr.query(`CHANGE MASTER TO MASTER_HOST='${primary.host}', MASTER_PORT=${primary.port}, MASTER_USER='root', MASTER_USE_GTID=slave_pos, MASTER_CONNECT_RETRY=1`);
  await dr.query('START SLAVE');
  for (const sql of [...incident.schema, ...(incident.base ?? [])]) await primary.query(sql);
  await primary.query('SET SESSION gtid_domain_id = 0');
  const linkCut = await caughtUp(primary, dr);
  await dr.query('STOP SLAVE');
  for (const sql of incident.lost) await primary.query(sql);
  await primary.query('SET SESSION gtid_domain_id = 0');
  await primary.flushBinaryLogs();
  // Promotion, as a DBA does it: forget the primary, take writes.
  await dr.query('RESET SLAVE ALL');
  for (const sql of incident.dr ?? []) await dr.query(sql);
  await dr.flushBinaryLogs();
  return { linkCut, files: await primary.binlogFiles(), drFiles: await dr.binlogFiles() };
}

async function caughtUp(primary: MariadbServer, dr: MariadbServer): Promise<string> {
  const target = await gtidVar(primary, 'gtid_binlog_pos');
  const deadline = Date.now() + CATCH_UP_MS;
  while ((await gtidVar(dr, 'gtid_slave_pos')) !== target) {
    if (Date.now() > deadline) {
      const status = (await dr.query('SHOW SLAVE STATUS'))[0] as Record<string, unknown> | undefined;
      throw new Error(`the DR did not catch up with ${target}: IO ${String(status?.['Slave_IO_Running'])}, SQL ${String(status?.['Slave_SQL_Running'])} ${String(status?.['Last_IO_Error'] ?? '')} ${String(status?.['Last_SQL_Error'] ?? '')}`);
    }
    await new Promise((r) => setTimeout(r, POLL_MS));
  }
  return target;
}

async function gtidVar(s: MariadbServer, name: 'gtid_binlog_pos' | 'gtid_slave_pos'): Promise<string> {
  const rows = (await s.query(`SELECT @@${name} AS v`)) as { v: string }[];
  return String(rows[0]?.v ?? '');
}
