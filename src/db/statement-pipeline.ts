/**
 * Statements sent back to back, without waiting for each result before building the next
 * (DESIGN.md, "The streaming hot path"): a window's writes, ledger, key map and checkpoint are
 * built while the DR runs the ones already sent, so the client's CPU and the DR's overlap instead
 * of adding up. The driver keeps one queue per connection and runs it in order; this adds what a
 * transaction needs from it:
 *
 * - `settle()` waits for every statement sent and returns the first failure, in send order (the
 *   server runs them in that order, so the first to fail is the first sent that failed). The
 *   caller sends COMMIT only after a clean settle: a statement queued after a failed one still
 *   runs, and after a deadlock it runs in the implicit transaction the server opens in place of
 *   the rolled-back one, so a COMMIT queued blindly could commit part of a window.
 * - once a failure is known, further statements are refused (their promise rejects with it) so
 *   the builder stops early; nothing is lost, the caller rolls the window back.
 * - every statement's promise has its handler attached when it is sent: a failure never surfaces
 *   as an unhandled rejection, however long the builder takes to reach `settle()`.
 *
 * Each `query` of the pipelined view resolves (with an empty result) once fewer than `maxInFlight`
 * statements are unanswered, and never before a macrotask turn: the driver sends the next queued
 * statement only when it handles the previous one's result, on the event loop's I/O phase, so a
 * builder that never left the microtask queue would leave the DR idle until it is done. The bound
 * (default 2: one running on the DR, one queued behind it) keeps the statements built ahead to
 * one: a window's ledger is ≈ 7 MB of SQL, and letting the builder run ahead held it all in the
 * queue, which tripled the garbage collector's time (bench:apply, 11.5 s against 3.8 s).
 */
import type { SqlResult, SqlSession } from './sql-session.js';

const EMPTY: SqlResult = { rows: [], affectedRows: 0, insertId: 0 };
const DEFAULT_IN_FLIGHT = 2;

/** A pipeline over one session, for the statements of one transaction. */
export class StatementPipeline {
  readonly #pending: Promise<void>[] = [];
  /** The failure of the earliest statement that failed so far, with its place in send order. */
  #failure: { readonly error: unknown; readonly at: number } | null = null;
  #sent = 0;
  #unanswered = 0;
  readonly #maxInFlight: number;
  /** Builders waiting for room (one, in practice). */
  readonly #waiting: (() => void)[] = [];
  /** The view to build statements on: sends at once, results are not waited for (every result reads as empty). */
  readonly session: SqlSession;

  constructor(session: SqlSession, options: { readonly maxInFlight?: number } = {}) {
    this.#maxInFlight = Math.max(1, options.maxInFlight ?? DEFAULT_IN_FLIGHT);
    const execute = session.execute?.bind(session);
    this.session = {
      query: (sql, params) => this.#send(() => session.query(sql, params)),
      ...(execute === undefined ? {} : { execute: (sql: string, params: readonly unknown[]) => this.#send(() => execute(sql, params)) }),
      // The check runs on the answer, so a failed check fails the window in send order like a server error.
      checked: (sql: string, check: (result: SqlResult) => void) =>
        this.#send(() =>
          session.query(sql).then((r) => {
            check(r);
            return r;
          }),
        ),
      end: () => session.end(),
      destroy: () => session.destroy(),
    };
  }

  /** Statements sent so far. */
  get sent(): number {
    return this.#sent;
  }

  #send(start: () => Promise<SqlResult>): Promise<SqlResult> {
    if (this.#failure !== null) return Promise.reject(this.#failure.error);
    const at = this.#sent++;
    this.#unanswered++;
    let sent: Promise<SqlResult>;
    try {
      sent = start();
    } catch (e) {
      // A session (or a test hook in front of it) that throws instead of rejecting.
      sent = Promise.reject(e);
    }
    this.#pending.push(
      sent.then(
        () => this.#answered(),
        (e: unknown) => {
          // The server fails them in order; a hook that throws may reject a later one first.
          if (this.#failure === null || at < this.#failure.at) this.#failure = { error: e, at };
          this.#answered();
        },
      ),
    );
    if (this.#unanswered < this.#maxInFlight) return new Promise((resolve) => setImmediate(resolve, EMPTY));
    // Released from an answer's handler: the driver has sent the next queued statement by then.
    return new Promise((resolve) => this.#waiting.push(() => resolve(EMPTY)));
  }

  #answered(): void {
    this.#unanswered--;
    if (this.#unanswered < this.#maxInFlight) this.#waiting.shift()?.();
  }

  /** Waits for every statement sent; the first failure (in send order), or null when all succeeded. */
  async settle(): Promise<{ readonly error: unknown } | null> {
    // Statements may be sent while earlier ones settle (a builder still running): wait for those too.
    for (let done = 0; done < this.#pending.length; ) {
      const batch = this.#pending.slice(done);
      done += batch.length;
      await Promise.all(batch);
    }
    return this.#failure === null ? null : { error: this.#failure.error };
  }
}
