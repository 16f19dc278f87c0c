/**
 * The MySQL/MariaDB client option files a DBA already has (`~/.my.cnf`, `--defaults-file F`):
 * `user`, `password`, `host`, `port` and `socket` from the `[client]` section and the client's own
 * sections, later files and sections winning, as the mysql client reads them. Only what a
 * connection needs is read; `!include` directives are followed one level deep.
 */
import { readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { parseConnectionUrl, type ConnectionTarget } from '../db/connection-url.js';
import { UsageError } from './usage-error.js';

export interface ClientOptions {
  user?: string;
  password?: string;
  host?: string;
  port?: number;
}

const SECTIONS = new Set(['client', 'mysql', 'mariadb-client', 'client-mariadb', 'client-server']);

/** Parses option-file text (sections, `key=value`, quotes, comments). */
export function parseOptionFile(text: string, into: ClientOptions = {}, file = '', include: (path: string) => string | null = () => null): ClientOptions {
  let section = '';
  for (const raw of text.split(/\r?\n/)) {
    const line = raw.trim();
    if (line === '' || line.startsWith('#') || line.startsWith(';')) continue;
    const inc = /^!include\s+(.+)$/.exec(line);
    if (inc !== null) {
      const nested = include(resolve(dirname(file), inc[1]!.trim()));
      if (nested !== null) parseOptionFile(nested, into, file);
      continue;
    }
    const head = /^\[([^\]]+)\]$/.exec(line);
    if (head !== null) {
      section = head[1]!.trim().toLowerCase();
      continue;
    }
    if (!SECTIONS.has(section)) continue;
    const m = /^([A-Za-z_-]+)\s*(?:=\s*(.*))?$/.exec(line);
    if (m === null) continue;
    const key = m[1]!.toLowerCase().replace(/_/g, '-');
    const value = unquote((m[2] ?? '').trim());
    if (key === 'user') into.user = value;
    else if (key === 'password') into.password = value;
    else if (key === 'host') into.host = value;
    else if (key === 'port' && /^\d+$/.test(value)) into.port = Number(value);
  }
  return into;
}

function unquote(v: string): string {
  const q = v[0];
  if ((q === '"' || q === "'") && v.endsWith(q) && v.length >= 2) return v.slice(1, -1).replace(/\\(.)/g, '$1');
  return v.replace(/\s+#.*$/, '');
}

/** Reads `--defaults-file` (must exist) or else `~/.my.cnf` (if it exists). */
export function readClientOptions(defaultsFile: string | undefined, home: string | undefined): ClientOptions {
  const read = (path: string): string | null => {
    try {
      return readFileSync(path, 'utf8');
    } catch {
      return null;
    }
  };
  if (defaultsFile !== undefined) {
    const text = read(defaultsFile);
    if (text === null) throw new UsageError(`--defaults-file: cannot read ${defaultsFile}`, '--defaults-file');
    return parseOptionFile(text, {}, defaultsFile, read);
  }
  if (home === undefined) return {};
  const path = resolve(home, '.my.cnf');
  const text = read(path);
  return text === null ? {} : parseOptionFile(text, {}, path, read);
}

/**
 * Builds the DR connection (or, with `option` '--source', the live source's) from the URL, the
 * password variable and the option files.
 */
export function connectionFrom(
  url: string,
  passwordEnv: string | undefined,
  defaultsFile: string | undefined,
  env: NodeJS.ProcessEnv,
  home: string | undefined,
  option: '--target' | '--source' = '--target',
): ConnectionTarget {
  const file = readClientOptions(defaultsFile, home);
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    return parseConnectionUrl(url, option);
  }
  const envOption = `${option}-password-env`;
  if (passwordEnv !== undefined && env[passwordEnv] === undefined) throw new UsageError(`${envOption}: the environment variable ${passwordEnv} is not set`, envOption);
  const password = passwordEnv !== undefined ? env[passwordEnv] : parsed.password === '' ? file.password : undefined;
  if (parsed.username === '' && file.user !== undefined) parsed.username = encodeURIComponent(file.user);
  if (parsed.port === '' && file.port !== undefined) parsed.port = String(file.port);
  return parseConnectionUrl(parsed.toString(), option, password);
}
