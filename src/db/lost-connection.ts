/**
 * What counts as a lost connection: the one test plan and apply (src/pipeline/salvage.ts) reopen
 * their DR session on, shared with the review commands and inspect so that every command reopens
 * on the same failures and no other.
 */
import { EngineError } from '../errors.js';

/** Errnos of a refusal at connect that no retry cures: access denied to a database, to the account, to a privilege. */
const REFUSED_ERRNOS: readonly number[] = [1044, 1045, 1227];
/** Server errnos meaning the session is gone: shutdown in progress, killed, server gone away, lost during a query. */
const GONE_ERRNOS: readonly number[] = [1053, 1927, 2006, 2013];

/**
 * A failure that means the server went away (no server errno, or shutdown / killed / gone away /
 * lost), or a connection attempt a retry may cure (refused, timed out, a server starting). Takes
 * errors as mapDbError (db-errors.ts) gives them.
 */
export function isLostConnection(e: unknown): e is EngineError {
  if (!(e instanceof EngineError)) return false;
  const errno = (e.details as { errno?: unknown }).errno;
  // A refusal at connect that no retry cures (connect-refusals.ts: access denied, unknown database,
  // a host not allowed) is not retryable; a server that does not answer, or is busy, is.
  if (e.code === 'DB_CONNECT') return e.retryable && !(typeof errno === 'number' && REFUSED_ERRNOS.includes(errno));
  return e.code === 'DB_QUERY' && (errno === undefined || (typeof errno === 'number' && (errno < 0 || GONE_ERRNOS.includes(errno))));
}

/**
 * A failure of a live source's binlog read (LIVE_ codes: live-source.ts) that a reconnect may
 * cure: the dump connection lost, or not opened in time. Never the DR's: those are not LIVE_ errors.
 */
export function isSourceDrop(e: unknown): e is EngineError {
  return e instanceof EngineError && e.code.startsWith('LIVE_') && e.retryable;
}
