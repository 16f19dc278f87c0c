/**
 * Says why a DR statement is taking long. A run that waits on the DR looks like a hung run: a row
 * an application holds locked (a transaction left open), a metadata lock behind an `ALTER`, a disk
 * that filled up (the server waits for space rather than failing). lock_wait_timeout is a year by
 * default, so nothing ends such a wait on its own. Once a statement has waited `afterMs`, a second
 * connection asks the DR what the run's connection is doing (PROCESSLIST) and who holds the InnoDB
 * lock it waits for, and the answer goes to `onStall`; again every `everyMs` while it lasts.
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
  /** Why the DR could not be asked, when it could not. */
  readonly unanswered: string | null;
}

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
    const base = { waitedMs: waited, statement: p.sql.slice(0, 120).replace(/\s+/g, ' '), table: tableOf(p.sql), connectionId: this.#inner.threadId ?? null };
    const connectionId = this.#inner.threadId;
    if (connectionId === undefined) return { ...base, state: null, blockers: [], unanswered: 'the connection id is unknown' };
    try {
      this.#side ??= this.#o.openSide();
      const side = await this.#side;
      const self = (await side.query('SELECT STATE AS state FROM information_schema.PROCESSLIST WHERE ID = ?', [connectionId])).rows[0];
      const ids = await lockHolders(side, connectionId);
      const blockers = ids.length === 0 ? [] : (await side.query(`SELECT ID AS id, USER AS user, HOST AS host, COMMAND AS command, TIME AS t, LEFT(INFO, 200) AS info FROM information_schema.PROCESSLIST WHERE ID IN (${ids.map(() => '?').join(', ')}) ORDER BY ID`, ids)).rows.map(blockerOf);
      const state = self?.['state'];
      return { ...base, state: typeof state === 'string' && state !== '' ? state : null, blockers, unanswered: null };
    } catch (e) {
      // The side connection may be what failed (the DR out of connections): asked again next time.
      this.#side = null;
      return { ...base, state: null, blockers: [], unanswered: e instanceof Error ? e.message : String(e) };
    }
  }
}

/**
 * The connections holding the InnoDB locks `connectionId` waits for: MariaDB and MySQL 5.7 list lock
 * waits in information_schema, MySQL 8 in performance_schema (which MariaDB lacks).
 */
async function lockHolders(side: SqlSession, connectionId: number): Promise<number[]> {
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
      // The other server's tables: the next query.
    }
  }
  return [];
}

/** `db.table` of the first table a statement names after FROM, INTO or UPDATE (as the engine quotes them). */
function tableOf(sql: string): string | null {
  const m = /\b(?:FROM|INTO|UPDATE)\s+`((?:[^`]|``)+)`\.`((?:[^`]|``)+)`/.exec(sql.slice(0, 4096));
  return m === null ? null : `${m[1]!.replace(/``/g, '`')}.${m[2]!.replace(/``/g, '`')}`;
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
    const who = n.blockers.map((b) => `connection ${b.id} (${b.user}@${b.host}, ${b.command} for ${b.seconds} s${b.statement === null ? '' : `: ${b.statement.slice(0, 80)}`})`).join(', ');
    text += `; waiting for a lock held by ${who}: that transaction must end (commit, roll back or KILL ${n.blockers[0]!.id}); innodb_lock_wait_timeout ends the wait too, and the window is then decided again`;
  } else if (n.state !== null && /metadata lock/i.test(n.state)) {
    text += "; another connection holds the table's metadata lock (an ALTER, LOCK TABLES, or a transaction left open that read the table): SHOW PROCESSLIST names it";
  }
  return text;
}
