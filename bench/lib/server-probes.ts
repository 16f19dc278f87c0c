/**
 * What the apply benchmark asks a server before and after a run: CHECKSUM TABLE of the
 * workload's tables (the equality check between primary and DR) and the global status
 * counters and the server's CPU time, which say where a replay's time went (statements, round
 * trips, fsyncs, server work).
 */
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import type { Connection, RowDataPacket } from 'mysql2/promise';

/** `schema.table` → CHECKSUM TABLE value (a decimal string; null when the table does not exist). */
export type TableChecksums = Record<string, string | null>;

/** CHECKSUM TABLE of each table, in one statement. */
export async function tableChecksums(conn: Connection, database: string, tables: readonly string[]): Promise<TableChecksums> {
  const names = tables.map((t) => `\`${database}\`.\`${t}\``).join(', ');
  const [rows] = await conn.query<RowDataPacket[]>(`CHECKSUM TABLE ${names}`);
  const out: TableChecksums = {};
  for (const t of tables) out[`${database}.${t}`] = null;
  for (const row of rows) {
    const v = row['Checksum'] as unknown;
    out[String(row['Table'])] = v === null || v === undefined ? null : String(v);
  }
  return out;
}

/** The tables whose checksum differs (or is missing on either side). */
export function checksumDifferences(expected: TableChecksums, actual: TableChecksums): string[] {
  return Object.keys(expected).filter((t) => expected[t] === null || actual[t] !== expected[t]);
}

/** The counters a run's delta is printed for: statement mix, round trips, log and data fsyncs. */
export const STATUS_COUNTERS = [
  'Questions',
  'Com_select',
  'Com_insert',
  'Com_update',
  'Com_delete',
  'Com_replace',
  'Com_begin',
  'Com_commit',
  'Com_rollback',
  'Com_set_option',
  'Com_stmt_execute',
  'Com_stmt_prepare',
  'Handler_commit',
  // MariaDB 10.11 counts redo-log fsyncs in Innodb_data_fsyncs (it has no Innodb_os_log_fsyncs; MySQL does).
  'Innodb_data_fsyncs',
  'Innodb_os_log_fsyncs',
  'Innodb_log_writes',
  'Innodb_rows_read',
  'Innodb_rows_inserted',
  'Innodb_rows_updated',
  'Innodb_rows_deleted',
  'Bytes_received',
] as const;
export type StatusCounter = (typeof STATUS_COUNTERS)[number];
export type StatusSnapshot = Record<StatusCounter, number>;

/** SHOW GLOBAL STATUS, the counters above (0 for one this server does not have). */
export async function statusSnapshot(conn: Connection): Promise<StatusSnapshot> {
  const [rows] = await conn.query<RowDataPacket[]>('SHOW GLOBAL STATUS');
  const all = new Map(rows.map((r) => [String(r['Variable_name']), Number(r['Value'])]));
  const out = {} as StatusSnapshot;
  for (const name of STATUS_COUNTERS) out[name] = all.get(name) ?? 0;
  return out;
}

/** after − before, counter by counter. */
export function statusDelta(before: StatusSnapshot, after: StatusSnapshot): StatusSnapshot {
  const out = {} as StatusSnapshot;
  for (const name of STATUS_COUNTERS) out[name] = after[name] - before[name];
  return out;
}

let clockTicks: number | undefined;

/** CPU seconds (user + system) a process has used so far, from /proc/PID/stat; null off Linux or when it is gone. */
export function processCpuSeconds(pid: number | undefined): number | null {
  if (pid === undefined) return null;
  let stat: string;
  try {
    stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  } catch {
    return null;
  }
  // Fields after the parenthesised command name (which may hold spaces): utime and stime are the 14th and 15th.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  clockTicks ??= Number(spawnSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).stdout.trim()) || 100;
  return (Number(fields[11]) + Number(fields[12])) / clockTicks;
}
