/**
 * The MySQL/MariaDB client option files a DBA already has (`~/.my.cnf`, `--defaults-file F`):
 * `user`, `password`, `host`, `port` and `socket` from the `[client]` section and the client's own
 * sections, later files and sections winning, as the mysql client reads them, and TLS: `ssl-mode`,
 * `ssl-ca`, `ssl-capath`, `ssl-cert`, `ssl-key`, `ssl-cipher`, `ssl-crl`, `ssl-crlpath`, `tls-version`, and MariaDB's `ssl` (REQUIRED), `skip-ssl` (DISABLED) and
 * `ssl-verify-server-cert` (VERIFY_IDENTITY). Only what a connection needs is read; `!include`
 * directives are followed one level deep.
 */
import { readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { connectionTargetOf, parseConnectionUrlParts, type ConnectionTarget } from '../db/connection-url.js';
import { checkTlsSettings, parseTlsMode, parseTlsVersions, TlsError, type TlsMode, type TlsSettings, type TlsVersion } from '../db/tls.js';
import { UsageError } from './usage-error.js';

export interface ClientOptions {
  user?: string;
  password?: string;
  host?: string;
  port?: number;
  /** The server's Unix socket, used (as the mysql client uses it) when the host is localhost or not given. */
  socket?: string;
  /** TLS as the option file gives it: the mode as written (checked when the connection is built) and PEM file paths. */
  sslMode?: string;
  sslCa?: string;
  sslCapath?: string;
  sslCert?: string;
  sslKey?: string;
  sslCipher?: string;
  sslCrl?: string;
  sslCrlpath?: string;
  /** The list as written (`TLSv1.2,TLSv1.3`), checked when the connection is built. */
  tlsVersion?: string;
}

/** The TLS command-line options of one connection (`--ssl-mode`, or `--source-ssl-mode` for the source, …), as given. */
export interface TlsFlags {
  readonly mode?: string;
  readonly ca?: string;
  readonly capath?: string;
  readonly cert?: string;
  readonly key?: string;
  readonly cipher?: string;
  readonly crl?: string;
  readonly crlpath?: string;
  readonly tlsVersion?: string;
}

const SSL_FLAGS = ['mode', 'ca', 'capath', 'cert', 'key', 'cipher', 'crl', 'crlpath'] as const;
type TlsFlagName<P extends string> = `${P}ssl-${(typeof SSL_FLAGS)[number]}` | `${P}tls-version`;

/** The names (without `--`) of one connection's TLS flags: `ssl-mode` …, `tls-version`, with the prefix. */
export function tlsFlagNames<P extends '' | 'source-' | 'schema-'>(prefix: P): readonly TlsFlagName<P>[] {
  return [...SSL_FLAGS.map((name) => `${prefix}ssl-${name}` as const), `${prefix}tls-version` as const];
}

/** parseArgs definitions of one connection's TLS flags (`--ssl-*` and `--tls-version`, or `--source-ssl-*` …). */
export function tlsOptions<P extends '' | 'source-' | 'schema-'>(prefix: P): Readonly<Record<TlsFlagName<P>, { readonly type: 'string' }>> {
  return Object.fromEntries(tlsFlagNames(prefix).map((name) => [name, { type: 'string' as const }])) as Readonly<Record<TlsFlagName<P>, { readonly type: 'string' }>>;
}

/** The DR's TLS flags alone (`--ssl-*`), for the commands that connect to the DR only. */
export const DR_TLS_OPTIONS = tlsOptions('');

/** parseArgs definitions of the TLS flags for the DR (`--ssl-*`) and a live source (`--source-ssl-*`). */
export const TLS_OPTIONS = { ...DR_TLS_OPTIONS, ...tlsOptions('source-') };

/** The --help lines of the DR's TLS flags, as every command that connects to the DR shows them. */
export const DR_TLS_HELP = `  --ssl-mode MODE           TLS to the DR: DISABLED, PREFERRED (default), REQUIRED, VERIFY_CA,
                            VERIFY_IDENTITY (see "salvage apply --help")
  --ssl-ca F, --ssl-cert F, --ssl-key F
                            the CA that signed the DR's certificate; a client certificate and key
${tlsMoreHelp('')}`;

/**
 * The two help lines of the TLS flags past mode, CA and client certificate, for one connection's
 * prefix (`--ssl-capath`, or `--source-ssl-capath` …).
 */
export function tlsMoreHelp(prefix: '' | 'source-' | 'schema-'): string {
  const version = `  --${prefix}tls-version LIST`;
  return `  --${prefix}ssl-capath DIR, --${prefix}ssl-cipher LIST, --${prefix}ssl-crl F, --${prefix}ssl-crlpath DIR,
${version.padEnd(27)} CA directory, ciphers, revocation lists, TLSv1.2,TLSv1.3 (as mysql)
`;
}

/** The `--ssl-*` flags (or `--source-ssl-*`) of a command's parsed options, as connectionFrom takes them. */
export function tlsFlagsOf(values: Readonly<Record<string, unknown>>, prefix: '' | 'source-' | 'schema-'): TlsFlags {
  const flag = (name: string): string | undefined => {
    const v = values[`${prefix}ssl-${name}`];
    return typeof v === 'string' ? v : undefined;
  };
  const v = values[`${prefix}tls-version`];
  return {
    mode: flag('mode'),
    ca: flag('ca'),
    capath: flag('capath'),
    cert: flag('cert'),
    key: flag('key'),
    cipher: flag('cipher'),
    crl: flag('crl'),
    crlpath: flag('crlpath'),
    tlsVersion: typeof v === 'string' ? v : undefined,
  };
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
    else if (key === 'socket') into.socket = value;
    else if (key === 'ssl-mode') into.sslMode = value;
    else if (key === 'ssl-ca') into.sslCa = value;
    else if (key === 'ssl-capath') into.sslCapath = value;
    else if (key === 'ssl-cert') into.sslCert = value;
    else if (key === 'ssl-key') into.sslKey = value;
    else if (key === 'ssl-cipher') into.sslCipher = value;
    else if (key === 'ssl-crl') into.sslCrl = value;
    else if (key === 'ssl-crlpath') into.sslCrlpath = value;
    else if (key === 'tls-version') into.tlsVersion = value;
    else if (key === 'ssl') into.sslMode = /^(0|OFF|FALSE)$/i.test(value) ? 'DISABLED' : 'REQUIRED';
    else if (key === 'skip-ssl') into.sslMode = 'DISABLED';
    else if (key === 'ssl-verify-server-cert' && !/^(0|OFF|FALSE)$/i.test(value)) into.sslMode = 'VERIFY_IDENTITY';
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
 * Builds the DR connection (or, with `option` '--source', the live source's; '--schema-from',
 * inspect's schema server) from the URL, the password variable, the TLS flags and the option files.
 */
export function connectionFrom(
  url: string,
  passwordEnv: string | undefined,
  defaultsFile: string | undefined,
  env: NodeJS.ProcessEnv,
  home: string | undefined,
  option: '--target' | '--source' | '--dr-source' | '--schema-from' = '--target',
  tlsFlags: TlsFlags = {},
): ConnectionTarget {
  const file = readClientOptions(defaultsFile, home);
  const parts = parseConnectionUrlParts(url, option);
  const envOption = option === '--schema-from' ? '--schema-password-env' : `${option}-password-env`;
  if (passwordEnv !== undefined && env[passwordEnv] === undefined) throw new UsageError(`${envOption}: the environment variable ${passwordEnv} is not set`, envOption);
  const password = passwordEnv !== undefined ? env[passwordEnv] : parts.password === undefined ? file.password : undefined;
  // What the URL leaves out comes from the option file, as the mysql client fills its own options.
  const host = parts.host ?? file.host;
  // The mysql client connects through the socket when the host is localhost or not given at all.
  const socket = parts.socket ?? (host === undefined || host === 'localhost' ? file.socket : undefined);
  const target = connectionTargetOf({ ...parts, user: parts.user ?? file.user, host, port: parts.port ?? file.port, socket }, password);
  // --dr-source takes the DR's own TLS flags (--ssl-…): it reads the same server.
  const tls = tlsFrom(tlsFlags, file, option === '--source' ? '--source-' : option === '--schema-from' ? '--schema-' : '--');
  return { ...target, tls };
}

/**
 * The connection's TLS settings: the flags win over the option file. Without a mode, a CA (file or
 * directory) given means VERIFY_CA (a CA is given to be checked against), else PREFERRED, as the mysql client defaults.
 */
export function tlsFrom(flags: TlsFlags, file: ClientOptions, prefix: '--' | '--source-' | '--schema-'): TlsSettings {
  const modeText = flags.mode ?? file.sslMode;
  let mode: TlsMode | undefined;
  if (modeText !== undefined) {
    mode = parseTlsMode(modeText);
    const where = flags.mode !== undefined ? `${prefix}ssl-mode` : 'ssl-mode in the option file';
    if (mode === undefined) throw new UsageError(`${where} takes DISABLED, PREFERRED, REQUIRED, VERIFY_CA or VERIFY_IDENTITY, got "${modeText}"`, `${prefix}ssl-mode`);
  }
  const ca = flags.ca ?? file.sslCa;
  const capath = flags.capath ?? file.sslCapath;
  const cert = flags.cert ?? file.sslCert;
  const key = flags.key ?? file.sslKey;
  const cipher = flags.cipher ?? file.sslCipher;
  const crl = flags.crl ?? file.sslCrl;
  const crlpath = flags.crlpath ?? file.sslCrlpath;
  const versionText = flags.tlsVersion ?? file.tlsVersion;
  let tlsVersions: readonly TlsVersion[] | undefined;
  if (versionText !== undefined) {
    try {
      tlsVersions = parseTlsVersions(versionText, flags.tlsVersion !== undefined ? `${prefix}tls-version` : 'tls-version in the option file');
    } catch (e) {
      if (e instanceof TlsError) throw new UsageError(e.message, `${prefix}tls-version`);
      throw e;
    }
  }
  const settings: TlsSettings = {
    mode: mode ?? (ca !== undefined || capath !== undefined ? 'VERIFY_CA' : 'PREFERRED'),
    ...(ca === undefined ? {} : { ca }),
    ...(capath === undefined ? {} : { capath }),
    ...(cert === undefined ? {} : { cert }),
    ...(key === undefined ? {} : { key }),
    ...(cipher === undefined ? {} : { cipher }),
    ...(crl === undefined ? {} : { crl }),
    ...(crlpath === undefined ? {} : { crlpath }),
    ...(tlsVersions === undefined ? {} : { tlsVersions }),
    // The DR's flags are the default a failure names; any other connection's are said.
    ...(prefix === '--' ? {} : { flagPrefix: prefix }),
  };
  try {
    checkTlsSettings(settings, prefix);
  } catch (e) {
    if (e instanceof TlsError) throw new UsageError(e.message, typeof e.details.option === 'string' ? e.details.option : `${prefix}ssl-mode`);
    throw e;
  }
  return settings;
}
