/**
 * Says why a DR statement is taking long. A run that waits on the DR looks like a hung run: a row
 * an application holds locked (a transaction left open), a metadata lock behind an `ALTER`, a disk
 * that filled up (the server waits for space rather than failing). lock_wait_timeout is a year by
 * default, so nothing ends such a wait on its own. Once a statement has waited `afterMs`, a second
 * connection asks the DR what the run's connection is doing (PROCESSLIST) and who holds the InnoDB
 * lock it waits for, or, in a metadata-lock wait, who holds a metadata lock on its table; the answer
 * goes to `onStall`; again every `everyMs` while it lasts.
 */
import type { ConnectionTarget } from './connection-url.js';
import type { SqlResult, SqlRow, SqlSession } from './sql-session.js';

/** How long a statement waits before it is explained, unless the caller says (plan, apply, resolve: `--stall-notice`). */
export const DEFAULT_STALL_AFTER_MS = 30_000;

/**
 * `session` with its statements watched when someone listens (`onStall`) and `afterMs` (default
 * DEFAULT_STALL_AFTER_MS) is above 0; else `session` itself. The second connection goes to `target`.
 */
export function watchStallsFor(session: SqlSession, target: ConnectionTarget, onStall: ((notice: StallNotice) => void) | undefined, afterMs = DEFAULT_STALL_AFTER_MS): SqlSession {
  if (onStall === undefined || afterMs <= 0) return session;
  // Loaded on the first stall: `inspect` prints no stall but loads describeStall through the CLI's
  // progress module, and should not load the connection code with it.
  return watchStalls(session, { afterMs, openSide: async () => (await import('./sql-session.js')).openSession(target), onStall });
}

/** A connection of the DR that holds what the run's statement waits for. */
export interface StallBlocker {
  /** Its connection id (`KILL` takes it). */
  readonly id: number;
  readonly user: string;
  readonly host: string;
  /** PROCESSLIST COMMAND: `Sleep` for a transaction left open by an idle client. */
  readonly command: string;
  /** Seconds in its present command. */
  readonly seconds: number;
  /** What it is running, when anything (its first 200 characters). */
  readonly statement: string | null;
}

/** One DR statement that has waited long (SalvageOptions.onStall). */
export interface StallNotice {
  /** How long the statement has been waiting, in milliseconds. */
  readonly waitedMs: number;
  /** Its first 120 characters. */
  readonly statement: string;
  /** The table it reads or writes (`db.table`), when its text names one. */
  readonly table: string | null;
  /** The run's connection id on the DR. */
  readonly connectionId: number | null;
  /** What the DR says the connection is doing (PROCESSLIST STATE: `Updating`, `Waiting for table metadata lock`, …), null when unknown. */
  readonly state: string | null;
  /** The connections holding the InnoDB locks it waits for (empty when it waits for none, or they cannot be read). */
  readonly blockers: readonly StallBlocker[];
  /**
   * In a metadata-lock wait (`state` says so), the connections holding a metadata lock on `table`
   * (an ALTER, LOCK TABLES, a transaction left open that read it), the run's own connection and the
   * watch's left out; empty otherwise, or when they cannot be listed (`metadataLocks` says why).
   */
  readonly metadataHolders: readonly StallBlocker[];
  /** Where `metadataHolders` were read, or why not; null when the state is no table metadata-lock wait or the statement names no table. */
  readonly metadataLocks: MetadataLockSource | null;
  /** Why the DR could not be asked, when it could not. */
  readonly unanswered: string | null;
  /** The InnoDB lock waits could not be read (the account lacks PROCESS): `blockers` is empty for want of sight, not of holders. */
  readonly lockHoldersUnreadable?: true;
}

/**
 * Where a DR lists who holds metadata locks: `metadata-lock-info` (MariaDB's METADATA_LOCK_INFO
 * plugin), `performance-schema` (performance_schema.metadata_locks: MySQL 8; MariaDB with the
 * schema and its mdl instrument on); `plugin-not-loaded` (a MariaDB with neither: `INSTALL SONAME
 * 'metadata_lock_info'` lists them); `unreadable` (neither, or reading failed: no privilege, …).
 */
export type MetadataLockSource = 'metadata-lock-info' | 'performance-schema' | 'plugin-not-loaded' | 'unreadable';

export interface StallWatchOptions {
  /** A statement waiting this long is reported. */
  readonly afterMs: number;
  /** While it goes on waiting, reported again this often (default 60 s). */
  readonly everyMs?: number;
  /** Opens the second connection that asks (once, at the first stall; closed with the session). */
  readonly openSide: () => Promise<SqlSession>;
  /** Told each stall; what it throws is ignored. */
  readonly onStall: (notice: StallNotice) => void;
  /** The clock, for tests. */
  readonly now?: () => number;
}

interface Pending {
  readonly since: number;
  readonly sql: string;
}

/** `inner`, with its statements watched: the same calls, answers and errors. */
export function watchStalls(inner: SqlSession, options: StallWatchOptions): SqlSession {
  const watch = new StallWatch(inner, options);
  const session: SqlSession = {
    query: (sql, params) => watch.run(sql, () => inner.query(sql, params)),
    end: async () => {
      await watch.close();
      await inner.end();
    },
    destroy: () => {
      void watch.close();
      inner.destroy();
    },
    ...(inner.encrypted === undefined ? {} : { encrypted: inner.encrypted }),
    ...(inner.threadId === undefined ? {} : { threadId: inner.threadId }),
  };
  const execute = inner.execute?.bind(inner);
  return execute === undefined ? session : { ...session, execute: (sql, params) => watch.run(sql, () => execute(sql, params)) };
}

class StallWatch {
  readonly #inner: SqlSession;
  readonly #o: StallWatchOptions;
  readonly #now: () => number;
  /** Statements sent and not answered, oldest first (the one the server is running: it answers in order). */
  readonly #pending = new Map<number, Pending>();
  #next = 0;
  #timer: NodeJS.Timeout | null = null;
  /** The pending statement last reported, and when. */
  #reported: { id: number; at: number } | null = null;
  #asking = false;
  #side: Promise<SqlSession> | null = null;
  /** Where this DR lists metadata locks: asked once, at the first metadata-lock wait (again on a new side connection). */
  #metadataSource: Promise<MetadataLockSource> | null = null;
  #closed = false;

  constructor(inner: SqlSession, options: StallWatchOptions) {
    this.#inner = inner;
    this.#o = options;
    this.#now = options.now ?? Date.now;
  }

  async run(sql: string, send: () => Promise<SqlResult>): Promise<SqlResult> {
    const id = this.#next++;
    this.#pending.set(id, { since: this.#now(), sql });
    this.#arm();
    try {
      return await send();
    } finally {
      this.#pending.delete(id);
      if (this.#pending.size === 0) this.#disarm();
    }
  }

  async close(): Promise<void> {
    this.#closed = true;
    this.#disarm();
    const side = this.#side;
    this.#side = null;
    if (side !== null) await side.then((s) => s.end()).catch(() => undefined);
  }

  /** A check every quarter of `afterMs` (at most every 5 s) while anything is pending. */
  #arm(): void {
    if (this.#timer !== null || this.#closed) return;
    const every = Math.max(10, Math.min(5000, Math.floor(this.#o.afterMs / 4)));
    this.#timer = setInterval(() => void this.#check(), every);
    // A wait on the DR must not keep the process alive once the run has let go of it.
    this.#timer.unref();
  }

  #disarm(): void {
    if (this.#timer === null) return;
    clearInterval(this.#timer);
    this.#timer = null;
  }

  async #check(): Promise<void> {
    if (this.#asking || this.#closed) return;
    const first = this.#pending.entries().next();
    if (first.done === true) return;
    const [id, p] = first.value;
    const now = this.#now();
    const waited = now - p.since;
    if (waited < this.#o.afterMs) return;
    const r = this.#reported;
    if (r !== null && r.id === id && now - r.at < (this.#o.everyMs ?? 60_000)) return;
    this.#reported = { id, at: now };
    this.#asking = true;
    try {
      const notice = await this.#ask(p, waited);
      // Answered meanwhile: no longer a stall worth a word.
      if (this.#pending.has(id) && !this.#closed) this.#o.onStall(notice);
    } catch {
      // A notice is a courtesy, told from a timer: what the caller's callback throws must neither
      // end the waiting statement nor escape as an unhandled rejection.
    } finally {
      this.#asking = false;
    }
  }

  async #ask(p: Pending, waited: number): Promise<StallNotice> {
    const table = tableOf(p.sql);
    const base = { waitedMs: waited, statement: p.sql.slice(0, 120).replace(/\s+/g, ' '), table: table === null ? null : `${table.schema}.${table.name}`, connectionId: this.#inner.threadId ?? null };
    const none = { blockers: [], metadataHolders: [], metadataLocks: null };
    const connectionId = this.#inner.threadId;
    if (connectionId === undefined) return { ...base, state: null, ...none, unanswered: 'the connection id is unknown' };
    try {
      this.#side ??= this.#o.openSide();
      const side = await this.#side;
      const self = (await side.query('SELECT STATE AS state FROM information_schema.PROCESSLIST WHERE ID = ?', [connectionId])).rows[0];
      const holders = await lockHolders(side, connectionId);
      const blockers = await processRows(side, holders ?? []);
      const found = self?.['state'];
      const state = typeof found === 'string' && found !== '' ? found : null;
      const metadata = state !== null && TABLE_METADATA_WAIT.test(state) && table !== null ? await this.#metadataHolders(side, table, connectionId) : { metadataHolders: [], metadataLocks: null };
      return { ...base, state, blockers, ...metadata, unanswered: null, ...(holders === null ? { lockHoldersUnreadable: true } : {}) };
    } catch (e) {
      // The side connection may be what failed (the DR out of connections): asked again next time,
      // the metadata-lock source with it.
      this.#side = null;
      this.#metadataSource = null;
      return { ...base, state: null, ...none, unanswered: e instanceof Error ? e.message : String(e) };
    }
  }

  /**
   * The connections holding a metadata lock on `table`, but the waiting one and the side one. A
   * courtesy on top of the state: whatever fails here (no plugin, no privilege, a table the server
   * lacks) leaves the notice as it would be without it.
   */
  async #metadataHolders(side: SqlSession, table: TableName, connectionId: number): Promise<Pick<StallNotice, 'metadataHolders' | 'metadataLocks'>> {
    this.#metadataSource ??= probeMetadataLocks(side);
    const source = await this.#metadataSource;
    if (source !== 'metadata-lock-info' && source !== 'performance-schema') return { metadataHolders: [], metadataLocks: source };
    try {
      const own = new Set([connectionId, side.threadId]);
      const ids = (await side.query(METADATA_HOLDERS[source], [table.schema, table.name])).rows.map((r) => Number(r['id'])).filter((n) => Number.isSafeInteger(n) && n > 0 && !own.has(n));
      return { metadataHolders: await processRows(side, ids), metadataLocks: source };
    } catch {
      return { metadataHolders: [], metadataLocks: 'unreadable' };
    }
  }
}

/** PROCESSLIST STATE of a statement waiting for a metadata lock (`Waiting for table metadata lock`, `… schema metadata lock`). */
const METADATA_WAIT = /metadata lock/i;
/** The one whose holders are looked for: a schema's or a routine's lock is not on the statement's table. */
const TABLE_METADATA_WAIT = /table metadata lock/i;

/**
 * The connections holding (granted) metadata locks on one table, by where the server lists them:
 * MariaDB's plugin lists only granted locks, by connection id; performance_schema lists pending ones
 * too, by its own thread id. Each is SQL both servers parse; the table is what differs.
 */
const METADATA_HOLDERS = {
  // LOCK_TYPE: a stored routine or trigger of the same name is listed in the same two columns.
  'metadata-lock-info': "SELECT DISTINCT THREAD_ID AS id FROM information_schema.METADATA_LOCK_INFO WHERE LOCK_TYPE = 'Table metadata lock' AND TABLE_SCHEMA = ? AND TABLE_NAME = ?",
  'performance-schema': `SELECT DISTINCT t.PROCESSLIST_ID AS id FROM performance_schema.metadata_locks m
       JOIN performance_schema.threads t ON t.THREAD_ID = m.OWNER_THREAD_ID
      WHERE m.OBJECT_TYPE = 'TABLE' AND m.OBJECT_SCHEMA = ? AND m.OBJECT_NAME = ? AND m.LOCK_STATUS = 'GRANTED'`,
} as const;

/**
 * Where the DR lists metadata locks. MariaDB's plugin first: MariaDB 10.5+ has
 * performance_schema.metadata_locks too, but empty unless the schema is on (it is off by default)
 * and the mdl instrument enabled (off by default there, on in MySQL 8) — so the instrument is asked,
 * not the table. A query that fails counts as a no.
 */
async function probeMetadataLocks(side: SqlSession): Promise<MetadataLockSource> {
  const first = async (sql: string): Promise<unknown> => {
    try {
      return (await side.query(sql)).rows[0]?.['s'];
    } catch {
      return undefined;
    }
  };
  if ((await first("SELECT PLUGIN_STATUS AS s FROM information_schema.PLUGINS WHERE PLUGIN_NAME = 'METADATA_LOCK_INFO'")) === 'ACTIVE') return 'metadata-lock-info';
  if ((await first("SELECT ENABLED AS s FROM performance_schema.setup_instruments WHERE NAME = 'wait/lock/metadata/sql/mdl'")) === 'YES') return 'performance-schema';
  const version = await first('SELECT VERSION() AS s');
  return typeof version === 'string' && /mariadb/i.test(version) ? 'plugin-not-loaded' : 'unreadable';
}

/** The PROCESSLIST rows of `ids`, by id (none asked for none). */
async function processRows(side: SqlSession, ids: readonly number[]): Promise<StallBlocker[]> {
  if (ids.length === 0) return [];
  return (await side.query(`SELECT ID AS id, USER AS user, HOST AS host, COMMAND AS command, TIME AS t, LEFT(INFO, 200) AS info FROM information_schema.PROCESSLIST WHERE ID IN (${ids.map(() => '?').join(', ')}) ORDER BY ID`, [...ids])).rows.map(blockerOf);
}

/**
 * The connections holding the InnoDB locks `connectionId` waits for: MariaDB and MySQL 5.7 list lock
 * waits in information_schema, MySQL 8 in performance_schema (which MariaDB lacks). null when
 * neither could be read (an account without PROCESS): "none" would be a guess.
 */
async function lockHolders(side: SqlSession, connectionId: number): Promise<number[] | null> {
  const queries = [
    `SELECT DISTINCT b.trx_mysql_thread_id AS id FROM information_schema.INNODB_TRX r
       JOIN information_schema.INNODB_LOCK_WAITS w ON w.requesting_trx_id = r.trx_id
       JOIN information_schema.INNODB_TRX b ON b.trx_id = w.blocking_trx_id
      WHERE r.trx_mysql_thread_id = ?`,
    `SELECT DISTINCT bt.PROCESSLIST_ID AS id FROM performance_schema.data_lock_waits w
       JOIN performance_schema.threads rt ON rt.THREAD_ID = w.REQUESTING_THREAD_ID
       JOIN performance_schema.threads bt ON bt.THREAD_ID = w.BLOCKING_THREAD_ID
      WHERE rt.PROCESSLIST_ID = ?`,
  ];
  for (const sql of queries) {
    try {
      return (await side.query(sql, [connectionId])).rows.map((r) => Number(r['id'])).filter((n) => Number.isSafeInteger(n) && n > 0);
    } catch {
      // The other server's tables, or no privilege: the next query.
    }
  }
  return null;
}

interface TableName {
  readonly schema: string;
  readonly name: string;
}

/** The first table a statement names after FROM, INTO or UPDATE (as the engine quotes them). */
function tableOf(sql: string): TableName | null {
  const m = /\b(?:FROM|INTO|UPDATE)\s+`((?:[^`]|``)+)`\.`((?:[^`]|``)+)`/.exec(sql.slice(0, 4096));
  return m === null ? null : { schema: m[1]!.replace(/``/g, '`'), name: m[2]!.replace(/``/g, '`') };
}

function blockerOf(r: SqlRow): StallBlocker {
  const info = r['info'];
  return { id: Number(r['id']), user: String(r['user'] ?? ''), host: String(r['host'] ?? ''), command: String(r['command'] ?? ''), seconds: Number(r['t'] ?? 0), statement: typeof info === 'string' && info !== '' ? info : null };
}

/** The notice as one line: how long, what, the DR's state, and who holds the lock. */
export function describeStall(n: StallNotice): string {
  const seconds = n.waitedMs < 10_000 ? (n.waitedMs / 1000).toFixed(1) : String(Math.round(n.waitedMs / 1000));
  let text = `the DR has been running one statement${n.table === null ? '' : ` on ${n.table}`} for ${seconds} s (${n.statement}${n.statement.length >= 120 ? '…' : ''})`;
  if (n.unanswered !== null) return `${text}; asking the DR why failed: ${n.unanswered}`;
  if (n.state !== null) text += `; its state there: "${n.state}"`;
  if (n.blockers.length > 0) {
    text += `; waiting for a lock held by ${connections(n.blockers)}: that transaction must end (commit, roll back or KILL ${n.blockers[0]!.id}); innodb_lock_wait_timeout ends the wait too, and the window is then decided again`;
  } else if (n.metadataHolders.length > 0) {
    const kills = n.metadataHolders.map((b) => `KILL ${b.id}`).join(', ');
    text += `; waiting for the table's metadata lock, held by ${connections(n.metadataHolders)}: ${n.metadataHolders.length === 1 ? 'it' : 'each'} must let go of the table (a transaction by commit or roll back, LOCK TABLES by UNLOCK TABLES, an ALTER by finishing) or be ended (${kills})`;
  } else if (n.state !== null && METADATA_WAIT.test(n.state)) {
    text += "; another connection holds the table's metadata lock (an ALTER, LOCK TABLES, or a transaction left open that read the table): SHOW PROCESSLIST names it";
    if (n.metadataLocks === 'plugin-not-loaded') text += "; to have it named here, load MariaDB's metadata_lock_info plugin on the DR: INSTALL SONAME 'metadata_lock_info'";
  } else if (n.lockHoldersUnreadable === true) {
    text +=
      "; whether it waits for a lock another connection holds, and which, this account cannot see (MariaDB's information_schema.INNODB_TRX needs the PROCESS privilege, MySQL 8's performance_schema.data_lock_waits SELECT on performance_schema): SHOW PROCESSLIST as an administrator lists the connections, or grant that to this account to have the holder named here";
  }
  return text;
}

/** `connection 8 (app@10.0.0.7:45004, Sleep for 412 s)`, with its statement's start when it runs one; comma-separated. */
function connections(holders: readonly StallBlocker[]): string {
  return holders.map((b) => `connection ${b.id} (${b.user}@${b.host}, ${b.command} for ${b.seconds} s${b.statement === null ? '' : `: ${b.statement.slice(0, 80)}`})`).join(', ');
}
