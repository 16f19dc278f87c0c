/**
 * A command's first connection to a server, tried again while the server does not answer: a DR
 * restarting, a recovered primary coming back or a network not up yet is as likely when a command
 * starts, during an incident, as in the middle of a run. plan and apply (src/pipeline/salvage.ts),
 * the review commands, doctor and inspect open theirs here, under one policy: a backoff of 0.5 s
 * doubling to 10 s, 10 attempts after the first by default, 0 for one try.
 *
 * Only DB_CONNECT flagged retryable is tried again (refused, timed out, a server starting or
 * shutting down, too many connections). A refusal no retry cures — access denied, an unknown
 * database, a host not allowed (connect-refusals.ts), TLS that cannot be set up as asked (DB_TLS) —
 * is thrown at once as openSession threw it.
 */
import type { EngineError } from '../errors.js';
import { redact, type ConnectionTarget } from './connection-url.js';
import { mapDbError } from './db-errors.js';
import { isLostConnection } from './lost-connection.js';
import { DatabaseError } from './schema-hints.js';
import { openSession, SqlSessionErrorCode, type SessionOptions, type SqlSession } from './sql-session.js';

/** How a lost or unanswered connection is tried again. */
export interface ReconnectPolicy {
  /** Attempts in a row after the first (default 10; 0: one try). */
  readonly attempts?: number;
  /** The first wait (default 500 ms), doubled at each attempt up to `maxDelayMs` (default 10 s). */
  readonly initialDelayMs?: number;
  readonly maxDelayMs?: number;
}

export const DEFAULT_RECONNECTS = 10;
export const DEFAULT_RECONNECT_DELAY_MS = 500;
export const MAX_RECONNECT_DELAY_MS = 10_000;

/** A policy with its defaults filled in: attempts in a row, first and longest backoff. */
export function reconnectPolicy(policy: ReconnectPolicy | undefined): { readonly attempts: number; readonly first: number; readonly most: number } {
  const p = policy ?? {};
  return { attempts: p.attempts ?? DEFAULT_RECONNECTS, first: p.initialDelayMs ?? DEFAULT_RECONNECT_DELAY_MS, most: p.maxDelayMs ?? MAX_RECONNECT_DELAY_MS };
}

/** The wait before reconnect attempt `attempt` (from 1). */
export function reconnectDelayMs(policy: { readonly first: number; readonly most: number }, attempt: number): number {
  return Math.min(policy.most, policy.first * 2 ** (attempt - 1));
}

/** A connection that failed, about to be tried again after `delayMs`. */
export interface ReconnectNotice {
  /** The server, as a URL without password. */
  readonly target: string;
  /**
   * Which server, when it is not the DR: `source` (a live source: `--source`), `schema` (inspect's
   * `--schema-from`). Absent for the DR, as plan's and apply's notices always were.
   */
  readonly server?: 'source' | 'schema';
  /**
   * Where the command was: `connect` (its first connection), `window` (a window of apply or plan),
   * the start-up or final step SALVAGE_FAULT's `details.step` would name (`introspection`, `lock`, …),
   * `read` (a review command's, config init's or inspect's read) or `resolve` (resolve's work).
   */
  readonly step: string;
  /** This attempt, from 1, of at most `attempts` in a row. */
  readonly attempt: number;
  readonly attempts: number;
  readonly delayMs: number;
  /** Why the last attempt failed (the password redacted), and its code (DB_CONNECT, DB_QUERY, …). */
  readonly reason: string;
  readonly code: string;
}

/** What a library function that connects takes to retry its first connection. */
export interface FirstConnectionOptions {
  /** Default: 10 attempts after the first, 0.5 s doubling to 10 s. */
  readonly reconnect?: ReconnectPolicy;
  /** Told before each wait; what it throws is thrown as it is, before the wait, and nothing is tried again. */
  readonly onReconnect?: (notice: ReconnectNotice) => void;
}

/** The option a connection's URL came from (the library's `target`, `source`, `drSource`, `schemaFrom`). */
export type ConnectionOption = '--target' | '--source' | '--dr-source' | '--schema-from';

/**
 * A failure to connect (DB_CONNECT, DB_TLS) with the option that gave the URL named at the start of
 * its message and in `details.option`: one command line may hold several URLs (plan --source A
 * --target B --dr-source C), and stderr shows no details. Anything else is returned as it is.
 */
export function namingOption(e: unknown, option: ConnectionOption | undefined): unknown {
  if (option === undefined || !(e instanceof DatabaseError) || (e.code !== SqlSessionErrorCode.Connect && e.code !== SqlSessionErrorCode.Tls)) return e;
  return new DatabaseError(e.code, `${option}: ${e.message}`, { ...e.details, option }, { retryable: e.retryable, cause: e.cause });
}

/** How openFirstSession tells, names and stops its attempts. */
export interface FirstSessionOptions {
  readonly reconnect?: ReconnectPolicy;
  /** Told each attempt before its wait (a caller that must type a throw wraps it here). */
  readonly notify?: (notice: ReconnectNotice) => void;
  /** Absent: the DR. */
  readonly server?: 'source' | 'schema';
  /** Named in the message and `details.option` of a failure to connect (namingOption); absent: not named. */
  readonly option?: ConnectionOption;
  /** Appended to the last error's message when the attempts run out: what was done so far (`nothing was written`). */
  readonly hint?: string;
  readonly signal?: AbortSignal;
  /** The error when `signal` aborts a wait (default: the last DB_CONNECT, saying it stopped on request). */
  readonly stopped?: (last: DatabaseError) => Error;
  readonly sessionOptions?: SessionOptions;
}

/**
 * Opens a session to `target`, tried again under `options.reconnect` while the server does not
 * answer; a refusal no retry cures is thrown at once. When the attempts run out, the last
 * DB_CONNECT (retryable, `details.attempts`), its message saying how many connections were tried.
 * Either is named after `options.option` (namingOption).
 */
export async function openFirstSession(target: ConnectionTarget, options: FirstSessionOptions = {}): Promise<SqlSession> {
  try {
    return await openTrying(target, options);
  } catch (e) {
    throw namingOption(e, options.option);
  }
}

async function openTrying(target: ConnectionTarget, options: FirstSessionOptions): Promise<SqlSession> {
  const policy = reconnectPolicy(options.reconnect);
  const { attempts } = policy;
  const tail = options.hint === undefined ? '' : `; ${options.hint}`;
  for (let failures = 0; ; ) {
    try {
      return await openSession(target, options.sessionOptions);
    } catch (e) {
      if (!(e instanceof DatabaseError) || e.code !== SqlSessionErrorCode.Connect || !e.retryable) throw e;
      failures++;
      if (failures > attempts) {
        const why = attempts === 0 ? 'not reconnecting (reconnect attempts: 0)' : `gave up after ${failures} connection attempts (the first and ${attempts} reconnect attempt(s))`;
        throw new DatabaseError(e.code, `${e.message}; ${why}${tail}`, { ...e.details, attempts: failures }, { retryable: true, cause: e });
      }
      const delayMs = reconnectDelayMs(policy, failures);
      options.notify?.({ target: target.redacted, ...(options.server === undefined ? {} : { server: options.server }), step: 'connect', attempt: failures, attempts, delayMs, reason: redact(e.message), code: e.code });
      await sleep(delayMs, options.signal);
      if (options.signal?.aborted === true) {
        throw options.stopped?.(e) ?? new DatabaseError(e.code, `stopped on request while waiting for ${target.redacted}: ${redact(e.message)}${tail}`, { ...e.details, attempts: failures }, { retryable: true, cause: e });
      }
    }
  }
}

/** Waits `ms`, or less when `signal` aborts; leaves no listener behind (a follow may wait many times on one signal). */
export function sleep(ms: number, signal: AbortSignal | undefined): Promise<void> {
  return new Promise((resolve) => {
    if (signal?.aborted === true) return resolve();
    const done = (): void => {
      clearTimeout(t);
      signal?.removeEventListener('abort', done);
      resolve();
    };
    const t = setTimeout(done, ms);
    signal?.addEventListener('abort', done, { once: true });
  });
}

/**
 * A session that is opened again when its connection is lost after the command started, under
 * the same policy as its first connection: the review commands (src/pipeline/resolve.ts,
 * report-from-ledger.ts) and inspect's reads. What counts as lost is isLostConnection
 * (lost-connection.ts), as for plan and apply; the attempts count in a row, from the loss until
 * a session opens and its work goes through (`settled`).
 */
/**
 * Why reopening a lost connection stopped, for the error that says so: on request, with no
 * attempts allowed, or with the attempts in a row run out (the last failure named).
 */
export function reopenGaveUp(aborted: boolean, attempts: number, last: EngineError): string {
  if (aborted) return 'stopped on request';
  if (attempts === 0) return 'not reconnecting (reconnect attempts: 0)';
  return `gave up after ${attempts} reconnect attempt(s), the last: ${redact(last.message)} [${last.code}]`;
}

export class ReopenedSession {
  readonly #target: ConnectionTarget;
  readonly #o: FirstSessionOptions;
  readonly #policy: { readonly attempts: number; readonly first: number; readonly most: number };
  #failures = 0;

  constructor(target: ConnectionTarget, options: FirstSessionOptions = {}) {
    this.#target = target;
    this.#o = options;
    this.#policy = reconnectPolicy(options.reconnect);
  }

  /** The first session, tried again while the server does not answer (openFirstSession). */
  open(): Promise<SqlSession> {
    return openFirstSession(this.#target, this.#o);
  }

  /** The work done since the last loss went through: the next loss starts a new count. */
  settled(): void {
    this.#failures = 0;
  }

  /**
   * After `lost` (a failure isLostConnection accepts, in `step`): waits the backoff, told to
   * `notify`, and opens a new session, until one opens or the attempts in a row run out; then
   * throws `giveUp(why, last failure)`. A failure no reconnect cures while reopening (access
   * denied) is thrown as it is.
   */
  async reopen(lost: EngineError, step: string, giveUp: (why: string, last: EngineError) => Error): Promise<SqlSession> {
    const { attempts } = this.#policy;
    let failure = lost;
    for (;;) {
      this.#failures++;
      const aborted = isAborted(this.#o.signal);
      if (this.#failures > attempts || aborted) {
        throw giveUp(reopenGaveUp(aborted, attempts, failure), failure);
      }
      const delayMs = reconnectDelayMs(this.#policy, this.#failures);
      this.#o.notify?.({ target: this.#target.redacted, ...(this.#o.server === undefined ? {} : { server: this.#o.server }), step, attempt: this.#failures, attempts, delayMs, reason: redact(failure.message), code: failure.code });
      await sleep(delayMs, this.#o.signal);
      // Stopped during the wait: the next turn says so.
      if (isAborted(this.#o.signal)) continue;
      try {
        return await openSession(this.#target, this.#o.sessionOptions);
      } catch (e) {
        const m = mapDbError(e);
        if (!isLostConnection(m)) throw m;
        failure = m;
      }
    }
  }

  /**
   * Runs `work` on a session, and again from its start on a new one when the connection is lost
   * while it runs (a read, or work a second run leaves as the first did). Gives up, when the
   * attempts run out, with the failure that lost the connection, its message saying so. Ends the
   * session it used.
   */
  async run<T>(step: string, work: (session: SqlSession) => Promise<T>): Promise<T> {
    let last = await this.open();
    try {
      const done = await this.on(last, step, (session) => {
        last = session;
        return work(session);
      });
      return done.result;
    } finally {
      // A lost one is destroyed already: ending it does nothing.
      await last.end().catch(() => undefined);
    }
  }

  /**
   * Runs `work` on `session`, and again from its start on a reopened one when the connection is
   * lost while it runs; returns the session it ended on (the caller ends it) with the result. A
   * lost session is destroyed; when the attempts run out, the failure that lost the connection,
   * its message saying so.
   */
  async on<T>(session: SqlSession, step: string, work: (session: SqlSession) => Promise<T>): Promise<{ readonly session: SqlSession; readonly result: T }> {
    let current = session;
    for (;;) {
      try {
        const result = await work(current);
        this.settled();
        return { session: current, result };
      } catch (raw) {
        const e = mapDbError(raw);
        if (!isLostConnection(e)) throw raw;
        current.destroy();
        current = await this.reopen(e, step, (why, last) => new DatabaseError(e.code, `${redact(e.message)}; ${why}${this.#o.hint === undefined ? '' : `; ${this.#o.hint}`}`, { ...last.details }, { retryable: true, cause: last }));
      }
    }
  }
}

function isAborted(signal: AbortSignal | undefined): boolean {
  return signal?.aborted === true;
}
