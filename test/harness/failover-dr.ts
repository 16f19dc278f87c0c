/**
 * A staged failover (src/demo/stage-failover.ts) whose DR can be put back, in about a second, to
 * exactly the state the staging left: the DR is stopped cleanly once, its data directory copied
 * aside, and `restore()` SIGKILLs it, copies that directory back and restarts it. This restores
 * everything the engine reads — rows, AUTO_INCREMENT counters, GTID positions, the DR's own binlog
 * — where staging again takes several seconds. The pattern of test/reconcile/crash-resume.test.ts,
 * for the fault suites.
 */
import { execFileSync } from 'node:child_process';
import { cp, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { SqlRow, SqlSession } from '../../src/db/sql-session.js';
import { FAILOVER_TABLES, stageFailover, type StageFailoverOptions, type StagedFailover } from '../../src/demo/stage-failover.js';
import type { ThrowawayServer } from '../../src/demo/throwaway-server.js';
import { findMariadbBinary, harnessBinaries } from './mariadb-binaries.js';

/** Everything the comparisons cover, with the columns that legitimately differ between runs left out. */
export interface DrState {
  readonly tables: Record<string, readonly SqlRow[]>;
  readonly checksums: readonly SqlRow[];
  readonly ledger: readonly SqlRow[];
  readonly keyMap: readonly SqlRow[];
  readonly quarantine: readonly SqlRow[];
  readonly checkpoint: readonly SqlRow[];
}

export interface FailoverDr {
  readonly staged: StagedFailover;
  readonly dr: ThrowawayServer;
  /** Folder for the test's own files (removed by stop()). */
  readonly workDir: string;
  /** A root session on the DR (replaced by each restore()). */
  admin(): SqlSession;
  /** CONNECTION_ID() of the admin session. */
  adminId(): number;
  /** Puts the DR back to the staged incident: SIGKILL, the data directory copied back, restart, read_only = 0. */
  restore(): Promise<void>;
  /** A new admin session (after the DR restarted under the test's feet); sets read_only = 0 again. */
  reopenAdmin(): Promise<void>;
  /** The DR's tables and state schema, as the comparisons read them. */
  readState(): Promise<DrState>;
  /** Runs `sql` on the DR as root through the `mariadb` client, synchronously (for hooks that cannot await); its output. */
  clientQuery(sql: string): string;
  /** Stops the DR and removes every folder. */
  stop(): Promise<void>;
}

async function rows(s: SqlSession, sql: string): Promise<SqlRow[]> {
  return [...(await s.query(sql)).rows];
}

/**
 * Reads what an apply leaves on the DR, less run ids, per-run sequence numbers, timestamps and the
 * state tables' own ids: `dataTables` (each with an `id` column; the staged failover's by default) and the state schema.
 */
export async function readDrState(s: SqlSession, dataTables: readonly string[] = FAILOVER_TABLES): Promise<DrState> {
  const tables: Record<string, readonly SqlRow[]> = {};
  for (const t of dataTables) tables[t] = await rows(s, `SELECT * FROM ${t} ORDER BY id`);
  const stateExists = (await s.query("SELECT 1 FROM information_schema.SCHEMATA WHERE SCHEMA_NAME = 'salvage'")).rows.length > 0;
  const state = async (sql: string): Promise<SqlRow[]> => (stateExists ? rows(s, sql) : []);
  return {
    tables,
    checksums: await rows(s, `CHECKSUM TABLE ${dataTables.join(', ')}`),
    // Ordered by id: the order rows were recorded in, which is source order in every history.
    ledger: await state(
      `SELECT source_id, change_at, change_index, gtid, binlog_file, binlog_pos, table_name, op, source_key, class, outcome, new_key, reason,
              rule_path, before_image, after_image, dr_image FROM salvage.ledger ORDER BY id`,
    ),
    keyMap: await state('SELECT table_name, HEX(old_key_hash) AS old_key_hash, old_key, new_key, gtid FROM salvage.key_map ORDER BY table_name, old_key_hash'),
    quarantine: await state(
      `SELECT source_id, change_at, change_index, table_name, status, reason, before_image, after_image, dr_image, dependants, row_keys
         FROM salvage.quarantine ORDER BY id`,
    ),
    checkpoint: await state('SELECT source_id, gtid_set, binlog_file, binlog_pos FROM salvage.checkpoint ORDER BY source_id'),
  };
}

/**
 * Stages the failover and keeps a copy of the DR's data directory; `prepare` runs on the DR first
 * (accounts, settings that belong in every restore).
 */
export async function stageFailoverDr(name: string, prepare?: (dr: ThrowawayServer) => Promise<void>, stage: Pick<StageFailoverOptions, 'drGtidDomainId'> = {}): Promise<FailoverDr> {
  const mariadbClient = findMariadbBinary('mariadb');
  const folder = (what: string): Promise<string> => mkdtemp(join(tmpdir(), `salvage-${name}-${what}-`));
  const [filesDir, snapshotDir, workDir] = await Promise.all([folder('files'), folder('snapshot'), folder('work')]);
  let staged: StagedFailover | undefined;
  try {
    staged = await stageFailover({ context: { host: process, binaries: harnessBinaries() }, filesDir, progress: () => undefined, ...stage });
  } catch (e) {
    await Promise.all([filesDir, snapshotDir, workDir].map((d) => rm(d, { recursive: true, force: true })));
    throw e;
  }
  const dr = staged.dr;
  let admin: SqlSession | undefined;
  let adminId = 0;
  const fdr: FailoverDr = {
    staged,
    dr,
    workDir,
    admin: () => admin!,
    adminId: () => adminId,
    async restore() {
      await admin?.end().catch(() => undefined);
      admin = undefined;
      await dr.kill();
      await rm(dr.dataDir, { recursive: true, force: true });
      await cp(snapshotDir, dr.dataDir, { recursive: true });
      await dr.restart();
      await fdr.reopenAdmin();
    },
    async reopenAdmin() {
      admin?.destroy();
      admin = await dr.session();
      // As the promotion left it (the DR's command line says read-only, as a standby's does).
      await admin.query('SET GLOBAL read_only = 0');
      adminId = Number((await admin.query('SELECT CONNECTION_ID() AS id')).rows[0]?.['id']);
    },
    readState: () => readDrState(admin!),
    clientQuery: (sql) =>
      execFileSync(mariadbClient, ['--no-defaults', '--protocol=TCP', '-h', dr.host, '-P', String(dr.port), '-u', 'root', '-N', '-B', '-e', sql], { encoding: 'utf8' }),
    async stop() {
      await admin?.end().catch(() => undefined);
      await staged?.stop();
      await Promise.all([filesDir, snapshotDir, workDir].map((d) => rm(d, { recursive: true, force: true })));
    },
  };
  try {
    if (prepare !== undefined) await prepare(dr);
    await dr.stop({ keep: true });
    await rm(snapshotDir, { recursive: true, force: true });
    await cp(dr.dataDir, snapshotDir, { recursive: true });
    await fdr.restore();
  } catch (e) {
    await fdr.stop();
    throw e;
  }
  return fdr;
}
