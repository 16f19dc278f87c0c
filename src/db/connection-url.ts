/**
 * `mysql://user[:password]@host[:port][/db]` → connection options. Messages only ever show the
 * redacted form: a password never reaches output, logs or errors.
 */
import { EngineError } from '../errors.js';
import type { TlsSettings } from './tls.js';

export interface ConnectionTarget {
  readonly host: string;
  readonly port: number;
  readonly user: string;
  readonly password: string | undefined;
  readonly database: string | undefined;
  /** The URL with any password replaced by `***`, for messages. */
  readonly redacted: string;
  /** TLS (src/db/tls.ts); absent: PREFERRED, encrypted whenever the server offers it. */
  readonly tls?: TlsSettings;
}

export class ConnectionUrlError extends EngineError {}

/** Parses a connection URL; `password` (from an environment variable) wins over one in the URL. */
export function parseConnectionUrl(text: string, option: string, password?: string): ConnectionTarget {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    throw new ConnectionUrlError('BAD_URL', `${option}: expected mysql://user@host:port, got "${redact(text)}"`, { option });
  }
  if (url.protocol !== 'mysql:' && url.protocol !== 'mariadb:') {
    throw new ConnectionUrlError('BAD_URL', `${option}: the URL must start with mysql:// (got ${url.protocol}//)`, { option });
  }
  const user = decodeURIComponent(url.username || 'root');
  const inUrl = url.password ? decodeURIComponent(url.password) : undefined;
  const database = url.pathname.length > 1 ? decodeURIComponent(url.pathname.slice(1)) : undefined;
  const port = url.port ? Number(url.port) : 3306;
  const host = url.hostname || '127.0.0.1';
  return { host, port, user, password: password ?? inUrl, database, redacted: `mysql://${user}${inUrl || password ? ':***' : ''}@${host}:${port}${database ? `/${database}` : ''}` };
}

/** Replaces the password of anything that looks like a URL with `***`. */
export function redact(text: string): string {
  // Greedy up to the last '@' of the URL: a password may itself hold '@' (or ':').
  return text.replace(/(\w+:\/\/[^:/@\s]*):(\S*)@/g, '$1:***@');
}
