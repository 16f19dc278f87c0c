/**
 * `--start-gtid SET` on a live source: the binlog file to start reading in, found from each file's
 * first events rather than by reading the files. Every binlog opens with the GTID state before it —
 * MariaDB's Gtid_list event (`[0-1-24,1-2-7]`: the last seq_no per domain-server), MySQL's
 * Previous_gtids (a set) — so the newest file whose start state is inside SET is where the
 * transactions after SET begin; what of SET that file still holds is skipped by `startGtidCovers`.
 *
 * SET is read as `--from-gtid` is (src/reconcile/lost-transactions.ts): MySQL entries and MariaDB
 * ranges `d-s-a-b` are a set; a MariaDB `d-s-n` entry is a POSITION, covering every GTID of domain
 * d with seq_no ≤ n whatever its server id (a position is a point of the domain's stream).
 */
import type { Gtid } from '../binlog/transaction.js';
import { checkMariadbGtidRange, GtidSet, parseGtidSetWithin } from '../model/gtid-set.js';
import type { ControlSession } from './live-source.js';

const MARIADB_GTID = /^(\d+)-(\d+)-(\d+)$/;

/** The GTID state a binlog starts with, as its first events state it. */
export type BinlogStartState =
  | { readonly flavor: 'mariadb'; readonly gtids: readonly Gtid[] }
  | { readonly flavor: 'mysql'; readonly set: string };

/**
 * The start state in a file's first SHOW BINLOG EVENTS rows: the Gtid_list (MariaDB) or
 * Previous_gtids (MySQL) event's Info; null when neither is among the rows (GTIDs off, or an old server).
 */
export function parseStartState(rows: readonly Readonly<Record<string, unknown>>[]): BinlogStartState | null {
  for (const row of rows) {
    const type = String(row['Event_type'] ?? '');
    const info = String(row['Info'] ?? '').trim();
    if (type === 'Gtid_list') {
      const inner = info.replace(/^\[/, '').replace(/\]$/, '').trim();
      const gtids: Gtid[] = [];
      for (const part of inner === '' ? [] : inner.split(',')) {
        const m = MARIADB_GTID.exec(part.trim());
        if (!m) return null;
        gtids.push({ flavor: 'mariadb', domainId: Number(m[1]), serverId: Number(m[2]), seqNo: BigInt(m[3]!) });
      }
      return { flavor: 'mariadb', gtids };
    }
    // Long sets are printed over several lines.
    if (type === 'Previous_gtids') return { flavor: 'mysql', set: info.replace(/\s+/g, '') };
  }
  return null;
}

/** Whether a GTID is inside `--start-gtid SET` (MariaDB `d-s-n` entries read as positions). */
export function startGtidCovers(setText: string, option = '--start-gtid'): (g: Gtid) => boolean {
  const parts = setText.split(',').map((p) => p.trim()).filter((p) => p !== '');
  const positions = new Map<number, bigint>();
  for (const p of parts) {
    const m = MARIADB_GTID.exec(p);
    if (!m) continue;
    // A position's numbers are range-checked as the set's are: a typo's extra digits would name a
    // point no server reaches, found out only once connected.
    checkMariadbGtidRange(m[1]!, m[2]!, m[3]!, setText, option);
    const d = Number(m[1]);
    const n = BigInt(m[3]!);
    const prev = positions.get(d);
    if (prev === undefined || n > prev) positions.set(d, n);
  }
  const set = parseGtidSetWithin(parts.filter((p) => !MARIADB_GTID.test(p)).join(','), setText, option);
  return (g) => {
    if (set.contains(g)) return true;
    if (g.flavor !== 'mariadb') return false;
    const n = positions.get(g.domainId);
    return n !== undefined && g.seqNo <= n;
  };
}

/**
 * Whether a file's start state is inside SET. MariaDB: each `d-s-n` of the state (the last GTID of
 * that domain-server before the file) is covered. MySQL: the state set is a subset of SET (the
 * union of both, normalised, is SET itself).
 */
export function startStateWithin(state: BinlogStartState, setText: string): boolean {
  if (state.flavor === 'mariadb') {
    const covers = startGtidCovers(setText);
    return state.gtids.every(covers);
  }
  if (state.set === '') return true;
  const mysqlParts = setText.split(',').map((p) => p.trim()).filter((p) => p !== '' && !MARIADB_GTID.test(p) && !/^\d+-\d+-\d+-\d+$/.test(p));
  const given = GtidSet.parse(mysqlParts.join(','));
  return GtidSet.parse(`${mysqlParts.join(',')},${state.set}`).toString() === given.toString();
}

/** Quotes a binlog name for SHOW BINLOG EVENTS IN '…' (names come from SHOW BINARY LOGS). */
function quoted(name: string): string {
  return `'${name.replace(/\\/g, '\\\\').replace(/'/g, "\\'")}'`;
}

/**
 * Where a read for `--start-gtid SET` starts: the newest binlog (SHOW BINARY LOGS) whose start
 * state is inside SET, at 4; the first binlog when none is (SET predates them all, or the files
 * carry no GTID state). Reads four events per file tried, newest first.
 */
export async function findGtidStart(control: ControlSession, setText: string): Promise<{ readonly file?: string; readonly position: number }> {
  const { rows } = await control.query('SHOW BINARY LOGS');
  const files = rows.map((r) => String(r['Log_name']));
  for (let i = files.length - 1; i >= 0; i--) {
    const first = await control.query(`SHOW BINLOG EVENTS IN ${quoted(files[i]!)} LIMIT 4`);
    const state = parseStartState(first.rows);
    if (state !== null && startStateWithin(state, setText)) return { file: files[i]!, position: 4 };
  }
  // No binlogs at all: left to the read, which reports it as the live source does.
  return files.length === 0 ? { position: 4 } : { file: files[0]!, position: 4 };
}

/** A start state's GTIDs: MariaDB's as listed, MySQL's each interval as its last GTID (what lies before the file). */
export function startStateGtids(state: BinlogStartState): Gtid[] {
  if (state.flavor === 'mariadb') return [...state.gtids];
  const out: Gtid[] = [];
  for (const entry of state.set.split(',').filter((e) => e !== '')) {
    const fields = entry.split(':');
    const uuid = fields.shift()!.toLowerCase();
    let tag: string | null = null;
    for (const f of fields) {
      if (/^[a-z_][a-z0-9_]*$/i.test(f)) {
        tag = f.toLowerCase();
        continue;
      }
      const last = f.split('-').at(-1)!;
      if (/^\d+$/.test(last)) out.push({ flavor: 'mysql', uuid, tag, gno: BigInt(last) });
    }
  }
  return out;
}

/** The server's oldest binlog and the GTID state it opens with (null: no binlogs, or no GTID state in them). */
export async function oldestBinlog(control: ControlSession): Promise<{ readonly file: string; readonly gtids: readonly Gtid[] } | null> {
  const { rows } = await control.query('SHOW BINARY LOGS');
  const first = rows[0]?.['Log_name'];
  if (first === undefined) return null;
  const file = String(first);
  return { file, gtids: (await binlogOpening(control, file)) ?? [] };
}

/** The GTIDs written before `file` (its opening GTID state), or null when the server cannot show the file (purged). */
export async function binlogOpening(control: ControlSession, file: string): Promise<readonly Gtid[] | null> {
  let rows: readonly Readonly<Record<string, unknown>>[];
  try {
    rows = (await control.query(`SHOW BINLOG EVENTS IN ${quoted(file)} LIMIT 4`)).rows;
  } catch {
    return null;
  }
  const state = parseStartState(rows);
  return state === null ? [] : startStateGtids(state);
}
