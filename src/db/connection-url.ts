/**
 * `mysql://user[:password]@host[:port][/db][?socket=PATH]` → connection options. Messages only ever
 * show the redacted form: a password never reaches output, logs or errors.
 */
import { EngineError } from '../errors.js';
import type { TlsSettings } from './tls.js';

export interface ConnectionTarget {
  readonly host: string;
  readonly port: number;
  readonly user: string;
  readonly password: string | undefined;
  readonly database: string | undefined;
  /** Connect through this Unix socket instead of host:port (`?socket=` or the option file's `socket`). */
  readonly socket?: string;
  /** The URL with any password replaced by `***`, for messages. */
  readonly redacted: string;
  /** TLS (src/db/tls.ts); absent: PREFERRED, encrypted whenever the server offers it. */
  readonly tls?: TlsSettings;
}

export class ConnectionUrlError extends EngineError {}

/** What a URL itself says, each part undefined when the URL leaves it out (the option file may fill it). */
export interface ConnectionUrlParts {
  readonly user: string | undefined;
  readonly password: string | undefined;
  readonly host: string | undefined;
  readonly port: number | undefined;
  readonly database: string | undefined;
  readonly socket: string | undefined;
}

/** Parses a connection URL; `password` (from an environment variable) wins over one in the URL. */
export function parseConnectionUrl(text: string, option: string, password?: string): ConnectionTarget {
  return connectionTargetOf(parseConnectionUrlParts(text, option), password);
}

/** Splits a connection URL into the parts it gives, percent-decoded; throws BAD_URL naming `option`. */
export function parseConnectionUrlParts(text: string, option: string): ConnectionUrlParts {
  // Where the password can come from instead (inspect's --schema-from takes --schema-password-env).
  const passwordEnv = option === '--schema-from' ? '--schema-password-env' : `${option}-password-env`;
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    // A password holding '/', '#', '?' or '@' cuts the URL short where it stands: the usual cause.
    const hint = text.includes('@') ? `; percent-encode any / # ? @ % in the user or password (/ as %2F, # as %23, ? as %3F, @ as %40, % as %25), or give the password with ${passwordEnv}` : '';
    throw new ConnectionUrlError('BAD_URL', `${option}: expected mysql://user@host:port, got "${redactUrlArgument(text)}"${hint}`, { option });
  }
  if (url.protocol !== 'mysql:' && url.protocol !== 'mariadb:') {
    throw new ConnectionUrlError('BAD_URL', `${option}: the URL must start with mysql:// (got ${url.protocol}//)`, { option });
  }
  const decode = (part: string, what: string): string => {
    try {
      return decodeURIComponent(part);
    } catch {
      // decodeURIComponent throws URIError on a '%' not followed by two hex digits.
      throw new ConnectionUrlError('BAD_URL', `${option}: the ${what} in "${redactUrlArgument(text)}" holds a % that is not a %XX escape; write % as %25${what === 'password' ? ` (or give the password with ${passwordEnv})` : ''}`, { option });
    }
  };
  const socketParam = url.searchParams.get('socket');
  if (socketParam === '') throw new ConnectionUrlError('BAD_URL', `${option}: ?socket= needs the path of the server's Unix socket`, { option });
  // url.hostname keeps an IPv6 literal's brackets ([::1]); the driver wants the bare address.
  const host = url.hostname.startsWith('[') && url.hostname.endsWith(']') ? url.hostname.slice(1, -1) : url.hostname;
  return {
    user: url.username === '' ? undefined : decode(url.username, 'user'),
    password: url.password === '' ? undefined : decode(url.password, 'password'),
    host: host === '' ? undefined : host,
    port: url.port === '' ? undefined : Number(url.port),
    database: url.pathname.length > 1 ? decode(url.pathname.slice(1), 'database') : undefined,
    socket: socketParam ?? undefined,
  };
}

/**
 * The connection the parts name, with the mysql client's defaults: user root; a socket given
 * means host localhost, else 127.0.0.1; port 3306. `password` wins over the parts' password.
 */
export function connectionTargetOf(parts: ConnectionUrlParts, password?: string): ConnectionTarget {
  const user = parts.user ?? 'root';
  const host = parts.host ?? (parts.socket !== undefined ? 'localhost' : '127.0.0.1');
  const port = parts.port ?? 3306;
  const pw = password ?? parts.password;
  const db = parts.database ? `/${parts.database}` : '';
  const at = parts.socket !== undefined ? `${hostForUrl(host)}${db}?socket=${parts.socket}` : `${hostForUrl(host)}:${port}${db}`;
  return {
    host,
    port,
    user,
    password: pw,
    database: parts.database,
    ...(parts.socket === undefined ? {} : { socket: parts.socket }),
    redacted: `mysql://${user}${pw ? ':***' : ''}@${at}`,
  };
}

/**
 * The server a target reaches, as the URL grammar writes it and without password or database
 * (reports name the DR by it): `mysql://user@host:port`, or `mysql://user@host?socket=PATH` for a
 * socket, which host:port would misname (the driver never dials it).
 */
export function serverLabel(target: Pick<ConnectionTarget, 'user' | 'host' | 'port' | 'socket'>): string {
  const at = target.socket !== undefined ? `${hostForUrl(target.host)}?socket=${target.socket}` : `${hostForUrl(target.host)}:${target.port}`;
  return redact(`mysql://${target.user}@${at}`);
}

/** An IPv6 address goes in brackets in a URL. */
function hostForUrl(host: string): string {
  return host.includes(':') ? `[${host}]` : host;
}

/**
 * One connection-URL argument as a message quotes it, its password replaced by `***`. The whole
 * argument is the URL, so its password runs from the user's `:` to the last `@`, spaces and all
 * (redact, for free text, stops at a space). Without an `@`, `mysql://root:pw` is a password
 * whose host was forgotten as often as a mistyped port: what follows the `:` is kept only when it
 * is a port (digits).
 */
export function redactUrlArgument(text: string): string {
  const scheme = /^[A-Za-z][\w+.-]*:\/\//.exec(text);
  if (scheme === null) return redact(text);
  const rest = text.slice(scheme[0].length);
  const at = rest.lastIndexOf('@');
  const colon = rest.indexOf(':');
  if (at >= 0) return colon >= 0 && colon < at ? `${scheme[0]}${rest.slice(0, colon)}:***${rest.slice(at)}` : text;
  if (colon < 0) return text;
  const after = rest.slice(colon + 1);
  return /^\d*(?:[/?#]|$)/.test(after) ? text : `${scheme[0]}${rest.slice(0, colon)}:***`;
}

/** Replaces the password of anything that looks like a URL with `***`. */
export function redact(text: string): string {
  // Greedy up to the last '@' of the URL: a password may itself hold '@' (or ':').
  return text.replace(/(\w+:\/\/[^:/@\s]*):(\S*)@/g, '$1:***@');
}
