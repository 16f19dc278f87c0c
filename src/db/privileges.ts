/**
 * What a server says about the connected account and its own settings, for `salvage doctor`:
 * the account's grants (SHOW GRANTS, parsed into data), the server variables the engine depends
 * on, whether the session is encrypted, and the application's tables with their storage engines.
 *
 * SHOW GRANTS rather than information_schema's *_PRIVILEGES views: on a fresh connection it lists
 * exactly what the engine's own sessions will have — the account's grants, those of its default
 * role (MariaDB and MySQL expand only active roles) and MariaDB's PUBLIC grants — on both servers.
 * Its lines may carry the account's password hash (`IDENTIFIED BY PASSWORD '*…'`): they are
 * parsed here and never handed on as text.
 */
import type { SqlSession } from './sql-session.js';

/** Schemas that belong to the server, never to the application. */
export const SYSTEM_SCHEMAS: readonly string[] = ['mysql', 'information_schema', 'performance_schema', 'sys'];

/** Where a grant applies. Routine and proxy grants are kept as `other`: the engine needs none. */
export type GrantScope =
  | { readonly kind: 'global' }
  /** `pattern` is the database name as granted: `_` and `%` are wildcards unless escaped with `\`. */
  | { readonly kind: 'schema'; readonly pattern: string }
  | { readonly kind: 'table'; readonly schema: string; readonly table: string }
  | { readonly kind: 'other' };

/** One `GRANT privileges ON object TO grantee` line. */
export interface Grant {
  readonly scope: GrantScope;
  /** Upper-case names (`SELECT`, `REPLICATION SLAVE`); `ALL PRIVILEGES` stays as written. */
  readonly privileges: readonly string[];
  /** Privileges granted on some columns only (`UPDATE (a, b)`): they do not cover a whole row. */
  readonly columnPrivileges: readonly string[];
}

/** The account's grants: privilege grants, and the roles granted to it (active or not). */
export interface AccountGrants {
  /** `CURRENT_USER()` as the server prints it: `user@host`. */
  readonly account: string;
  readonly grants: readonly Grant[];
  readonly roles: readonly string[];
}

/** Reads the connected account's grants. */
export async function readAccountGrants(session: SqlSession): Promise<AccountGrants> {
  const who = await session.query('SELECT CURRENT_USER() AS u');
  const { rows } = await session.query('SHOW GRANTS');
  const lines = rows.map((r) => String(Object.values(r)[0] ?? ''));
  return { account: String(who.rows[0]?.['u'] ?? ''), ...parseShowGrants(lines) };
}

/** Parses SHOW GRANTS lines (MariaDB and MySQL spellings); lines it does not understand are skipped. */
export function parseShowGrants(lines: readonly string[]): { grants: Grant[]; roles: string[] } {
  const grants: Grant[] = [];
  const roles: string[] = [];
  for (const text of lines) {
    if (!/^GRANT\s/i.test(text)) continue;
    const body = text.slice(6);
    const on = topLevelIndex(body, ' ON ');
    const to = topLevelIndex(body, ' TO ');
    if (on === -1 || (to !== -1 && to < on)) {
      // `GRANT role[, role] TO account`: a role grant.
      if (to === -1) continue;
      for (const part of splitTopLevel(body.slice(0, to))) roles.push(unquoteAccount(part.trim()));
      continue;
    }
    if (to === -1) continue;
    const privilegeText = body.slice(0, on);
    const objectText = body.slice(on + 4, to).trim();
    const privileges: string[] = [];
    const columnPrivileges: string[] = [];
    for (const part of splitTopLevel(privilegeText)) {
      const p = part.trim();
      const paren = p.indexOf('(');
      if (paren === -1) privileges.push(normalisePrivilege(p));
      else columnPrivileges.push(normalisePrivilege(p.slice(0, paren)));
    }
    grants.push({ scope: parseObject(objectText), privileges, columnPrivileges });
  }
  return { grants, roles };
}

/** Privileges an account holds on a whole table (global, database and table grants; column grants do not count). */
export function privilegesOn(grants: readonly Grant[], schema: string, table: string | null, caseInsensitive = false): Set<string> {
  const out = new Set<string>();
  for (const g of grants) {
    const s = g.scope;
    const applies =
      s.kind === 'global' ||
      (s.kind === 'schema' && likeMatch(s.pattern, schema, caseInsensitive)) ||
      (s.kind === 'table' && table !== null && sameName(s.schema, schema, caseInsensitive) && sameName(s.table, table, caseInsensitive));
    if (!applies) continue;
    for (const p of g.privileges) out.add(p);
  }
  return out;
}

/** Whether `held` (from privilegesOn) includes `privilege`, counting ALL PRIVILEGES. */
export function holds(held: ReadonlySet<string>, privilege: string): boolean {
  return held.has(privilege) || held.has('ALL PRIVILEGES') || held.has('ALL');
}

/** The server settings the engine's checks read; a variable the server does not have is absent. */
export type ServerVariables = ReadonlyMap<string, string>;

/** Names read by readServerVariables: both flavours' spellings; each server answers for those it has. */
const VARIABLES = [
  'version',
  'version_comment',
  'server_id',
  'server_uuid',
  'read_only',
  'super_read_only',
  'innodb_read_only',
  'max_allowed_packet',
  'lower_case_table_names',
  'log_bin',
  'binlog_format',
  'binlog_row_image',
  'binlog_row_metadata',
  'binlog_checksum',
  'sync_binlog',
  'innodb_flush_log_at_trx_commit',
  'gtid_mode',
  'enforce_gtid_consistency',
  'gtid_executed',
  'gtid_domain_id',
  'gtid_slave_pos',
  'gtid_binlog_pos',
  'gtid_current_pos',
  'gtid_strict_mode',
  'have_ssl',
  'default_storage_engine',
];

/** Reads the server's global settings (SHOW GLOBAL VARIABLES: no privilege needed, no error for a name the server lacks). */
export async function readServerVariables(session: SqlSession): Promise<ServerVariables> {
  const { rows } = await session.query(`SHOW GLOBAL VARIABLES WHERE Variable_name IN (${VARIABLES.map(() => '?').join(', ')})`, VARIABLES);
  const out = new Map<string, string>();
  for (const r of rows) out.set(String(r['Variable_name']).toLowerCase(), String(r['Value'] ?? ''));
  return out;
}

/** The session's TLS state: the cipher and protocol in use, or null when the connection is not encrypted. */
export async function readSessionTls(session: SqlSession): Promise<{ readonly cipher: string; readonly version: string } | null> {
  const { rows } = await session.query("SHOW SESSION STATUS WHERE Variable_name IN ('Ssl_cipher', 'Ssl_version')");
  const get = (name: string): string => String(rows.find((r) => String(r['Variable_name']) === name)?.['Value'] ?? '');
  const cipher = get('Ssl_cipher');
  return cipher === '' ? null : { cipher, version: get('Ssl_version') };
}

/** One application table the account can see. */
export interface VisibleTable {
  readonly schema: string;
  readonly table: string;
  /** Storage engine; null when the server does not say (a table it cannot open). */
  readonly engine: string | null;
}

/** The base tables of every non-system schema the account can see, except `exclude` (the state schema). */
export async function readVisibleTables(session: SqlSession, exclude: readonly string[] = []): Promise<VisibleTable[]> {
  const skip = [...SYSTEM_SCHEMAS, ...exclude];
  const { rows } = await session.query(
    `SELECT TABLE_SCHEMA AS s, TABLE_NAME AS t, ENGINE AS e FROM information_schema.TABLES
      WHERE TABLE_TYPE IN ('BASE TABLE', 'SYSTEM VERSIONED') AND TABLE_SCHEMA NOT IN (${skip.map(() => '?').join(', ')})
      ORDER BY TABLE_SCHEMA, TABLE_NAME`,
    skip,
  );
  return rows.map((r) => ({ schema: String(r['s']), table: String(r['t']), engine: r['e'] === null || r['e'] === undefined ? null : String(r['e']) }));
}

/** Binlog files the server lists (SHOW BINARY LOGS); throws the server's error when the account may not. */
export async function readBinaryLogs(session: SqlSession): Promise<string[]> {
  const { rows } = await session.query('SHOW BINARY LOGS');
  return rows.map((r) => String(r['Log_name']));
}

/** `user@host` as a quoted account name for a GRANT statement: `'user'@'host'`. */
export function accountSql(account: string): string {
  const at = account.lastIndexOf('@');
  const user = at === -1 ? account : account.slice(0, at);
  const host = at === -1 ? '%' : account.slice(at + 1);
  const q = (s: string): string => `'${s.replaceAll('\\', '\\\\').replaceAll("'", "''")}'`;
  return `${q(user)}@${q(host)}`;
}

/** Whether `name` matches a database grant's pattern (`_` one character, `%` any run, `\` escapes). */
export function likeMatch(pattern: string, name: string, caseInsensitive = false): boolean {
  let re = '^';
  for (let i = 0; i < pattern.length; i++) {
    const ch = pattern[i]!;
    if (ch === '\\' && i + 1 < pattern.length) re += escapeRegex(pattern[++i]!);
    else if (ch === '%') re += '[\\s\\S]*';
    else if (ch === '_') re += '[\\s\\S]';
    else re += escapeRegex(ch);
  }
  return new RegExp(`${re}$`, caseInsensitive ? 'iu' : 'u').test(name);
}

function escapeRegex(ch: string): string {
  return ch.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');
}

function sameName(a: string, b: string, caseInsensitive: boolean): boolean {
  return caseInsensitive ? a.toLowerCase() === b.toLowerCase() : a === b;
}

function normalisePrivilege(p: string): string {
  const upper = p.trim().replace(/\s+/g, ' ').toUpperCase();
  return upper === 'ALL' ? 'ALL PRIVILEGES' : upper;
}

/** `*.*`, `*`, `db`.*, `db`.`t`, `FUNCTION db.f`, `PROCEDURE …`, `PACKAGE …`, or a proxied account. */
function parseObject(text: string): GrantScope {
  if (/^(FUNCTION|PROCEDURE|PACKAGE)\s/i.test(text)) return { kind: 'other' };
  const t = text.replace(/^TABLE\s+/i, '');
  if (t === '*.*' || t === '*') return { kind: 'global' };
  const [first, rest] = readIdentifier(t);
  if (first === null || !rest.startsWith('.')) return { kind: 'other' };
  const after = rest.slice(1);
  if (after === '*') return { kind: 'schema', pattern: first };
  const [second, tail] = readIdentifier(after);
  if (second === null || tail !== '') return { kind: 'other' };
  return { kind: 'table', schema: first, table: second };
}

/** Reads one identifier (backticked, with `` for a backtick, or bare) off the front of `text`. */
function readIdentifier(text: string): [string | null, string] {
  if (text.startsWith('`')) {
    let out = '';
    for (let i = 1; i < text.length; i++) {
      const ch = text[i]!;
      if (ch === '`' && text[i + 1] === '`') {
        out += '`';
        i++;
      } else if (ch === '`') return [out, text.slice(i + 1)];
      else out += ch;
    }
    return [null, ''];
  }
  const m = /^[^.`\s]+/.exec(text);
  return m === null ? [null, text] : [m[0], text.slice(m[0].length)];
}

/** `'r'@'%'`, `` `r`@`%` `` or `` `r` `` → `r` (the role's name; its host part, MySQL's, dropped). */
function unquoteAccount(text: string): string {
  const m = /^[`'"]((?:[^`'"]|``|'')*)[`'"]/.exec(text);
  return m === null ? text.split('@')[0]! : m[1]!.replaceAll('``', '`').replaceAll("''", "'");
}

/** Index of `needle` in `text` outside backticks, quotes and parentheses, or -1. */
function topLevelIndex(text: string, needle: string): number {
  let depth = 0;
  let quote: string | null = null;
  for (let i = 0; i < text.length; i++) {
    const ch = text[i]!;
    if (quote !== null) {
      if (ch === quote) {
        if (text[i + 1] === quote) i++;
        else quote = null;
      }
      continue;
    }
    if (ch === '`' || ch === "'" || ch === '"') quote = ch;
    else if (ch === '(') depth++;
    else if (ch === ')') depth--;
    else if (depth === 0 && text.startsWith(needle, i)) return i;
  }
  return -1;
}

/** Splits on commas outside backticks, quotes and parentheses. */
function splitTopLevel(text: string): string[] {
  const parts: string[] = [];
  let rest = text;
  for (;;) {
    const i = topLevelIndex(rest, ',');
    if (i === -1) break;
    parts.push(rest.slice(0, i));
    rest = rest.slice(i + 1);
  }
  parts.push(rest);
  return parts.filter((p) => p.trim() !== '');
}
