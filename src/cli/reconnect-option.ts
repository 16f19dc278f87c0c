import type { ReconnectPolicy } from '../db/first-connection.js';
import { UsageError } from './usage-error.js';

/**
 * `--reconnect-attempts N` as given, checked before anything connects; undefined when not given
 * (the library's default, 10). Digits only: Number() would also take "0x10", "1e2" and " 5".
 */
export function reconnectOption(value: string | undefined): ReconnectPolicy | undefined {
  if (value === undefined) return undefined;
  const attempts = /^\d+$/.test(value) ? Number(value) : NaN;
  if (!Number.isSafeInteger(attempts) || attempts < 0) throw new UsageError(`--reconnect-attempts takes a number ≥ 0, got "${value}"`, '--reconnect-attempts');
  return { attempts };
}

/** The help of `--reconnect-attempts` for the review commands and config init. */
export const RECONNECT_HELP = `  --reconnect-attempts N    a DR that does not answer yet at the start (refused, timed out,
                            restarting, too many connections), or a connection to it lost
                            later, is tried again after a backoff (0.5 s doubling to 10 s) up
                            to N times in a row (default 10; 0: one try), and the read (resolve:
                            the entry in progress) done again; access denied, an unknown
                            database or TLS refused fail at once; each attempt is a warning
                            line on stderr
`;
