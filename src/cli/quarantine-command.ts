/** `salvage quarantine list|show|export`: what waits for a decision, and the file a DBA edits to decide it. */
import type { Writable } from 'node:stream';
import { stringifyCanonical, type CanonicalValue } from '../binlog/values/canonical-json.js';
import type { QuarantineStatusFilter } from '../db/quarantine-store.js';
import { DEFAULT_STATE_SCHEMA } from '../db/state-schema.js';
import { exportLine, readQuarantine, ReviewError, ReviewErrorCode, shortLabel, type QuarantineEntry } from '../pipeline/resolve.js';
import { ExitCode } from './exit-codes.js';
import { targetFrom, type SalvageCommandEnvironment } from './salvage-command.js';
import { DR_TLS_HELP, DR_TLS_OPTIONS, tlsFlagsOf } from './option-file.js';
import { stateSchemaOption } from './state-schema-option.js';
import { parseCommandArgs, UsageError } from './usage-error.js';
import { RECONNECT_HELP, reconnectOption } from './reconnect-option.js';
import { QUIET_HELP, QUIET_OPTION, quietableReconnectNotices } from './quiet-option.js';
import type { ReconnectNotice, ReconnectPolicy } from '../db/first-connection.js';

export const CONNECTION_HELP = `The DR:
  --target URL              mysql://user@host:port of the DR
  --target-password-env VAR read the password from this environment variable
  --defaults-file F         read user/password/host/port/socket from this option file ([client]);
                            without it, ~/.my.cnf is read when present (ssl-mode, ssl-ca, … too)
${DR_TLS_HELP}${RECONNECT_HELP}  --state-schema NAME       the engine's own schema on the DR (default salvage)
${QUIET_HELP}`;

export const QUARANTINE_HELP = `salvage quarantine list|show ID|export --target URL [options]

What "salvage apply" held back for review: each entry is one lost row change with the reason it
was not applied, its before (B) and after (A) images from the binlog, and the DR row it met (D).
An entry held back because of another one (a later change of the same row, a child of a held
parent, the rest of a transaction kept whole) names that origin in its reason, and is listed
among the origin's dependants.

  list                      one line per entry: id, change (GTID#index), table, op, class, reason
  show ID                   one entry: the SQL statement that made the change (when the binlog
                            logged it: binlog_annotate_row_events / binlog_rows_query_log_events),
                            its images side by side, its origin and its dependants
  export                    one JSON line per entry, the file to decide them in (salvage resolve
                            --help): {id, gtid, index, table, op, class, reason, statement?, key,
                            before, after, dr, dependants, decision: null}

${CONNECTION_HELP}
Output:
  --status pending|resolved|all   list and export: which entries (default pending); show ID
                            shows its entry whatever its status
  --json                    list and show: one JSON object per entry and line (export writes
                            JSON Lines always: --json there exits 2)

Examples:
  salvage quarantine list --target mysql://salvage@dr:3306 --target-password-env DR_PASSWORD
  salvage quarantine show 12 --target mysql://salvage@dr:3306 --target-password-env DR_PASSWORD
  salvage quarantine export --target mysql://salvage@dr:3306 --target-password-env DR_PASSWORD > decisions.jsonl
`;

/** The connection options every review command takes, and `--quiet` (its help is in CONNECTION_HELP too). */
export const CONNECTION_OPTIONS = {
  target: { type: 'string' },
  'target-password-env': { type: 'string' },
  'defaults-file': { type: 'string' },
  'state-schema': { type: 'string' },
  'reconnect-attempts': { type: 'string' },
  ...DR_TLS_OPTIONS,
  ...QUIET_OPTION,
} as const;

/**
 * What a review command's library call takes from `--reconnect-attempts` and `--quiet`: the policy
 * of its first connection, and a warning line on stderr per attempt, none under `--quiet` (these
 * commands draw no progress line).
 */
export function reviewReconnect(
  values: { readonly 'reconnect-attempts'?: string | undefined; readonly quiet?: boolean | undefined },
  stderr: Writable,
): { readonly reconnect?: ReconnectPolicy; readonly onReconnect: (n: ReconnectNotice) => void } {
  const reconnect = reconnectOption(values['reconnect-attempts']);
  return { ...(reconnect === undefined ? {} : { reconnect }), onReconnect: quietableReconnectNotices(stderr, values.quiet) };
}

function line(out: Writable, s = ''): void {
  out.write(`${s}\n`);
}

/** Runs `salvage quarantine …`; returns the exit code. */
export async function runQuarantine(args: string[], stdout: Writable, stderr: Writable, environment: SalvageCommandEnvironment): Promise<number> {
  const parsed = parseCommandArgs('quarantine', { args, allowPositionals: true, options: { ...CONNECTION_OPTIONS, status: { type: 'string' }, json: { type: 'boolean' } } });
  const o = parsed.values;
  const [sub, ...rest] = parsed.positionals;
  if (sub !== 'list' && sub !== 'show' && sub !== 'export') throw new UsageError(`quarantine: expected list, show ID or export, got ${sub === undefined ? 'nothing' : `"${sub}"`}; see "salvage quarantine --help"`);
  let id: number | null = null;
  if (sub === 'show') {
    if (rest.length !== 1 || !/^\d+$/.test(rest[0]!)) throw new UsageError('quarantine show: give the entry number (from "salvage quarantine list"): salvage quarantine show 12 --target URL');
    id = Number(rest[0]);
  } else if (rest.length > 0) throw new UsageError(`quarantine ${sub}: unexpected argument "${rest[0]!}"`);
  // export writes JSON Lines already: taken there, --json would change nothing without a word.
  if (sub === 'export' && o.json === true) throw new UsageError('quarantine export: --json goes with list and show; export always writes JSON Lines', '--json');
  const status = o.status ?? 'pending';
  if (status !== 'pending' && status !== 'resolved' && status !== 'all') throw new UsageError(`--status takes pending, resolved or all, got "${status}"`, '--status');
  if (o.target === undefined) throw new UsageError(`quarantine ${sub}: --target mysql://user@host:port (the DR) is required`, '--target');
  const target = targetFrom(o.target, o['target-password-env'], o['defaults-file'], environment.env, environment.home, '--target', tlsFlagsOf(o, ''));
  const schema = stateSchemaOption(o['state-schema']) ?? DEFAULT_STATE_SCHEMA;
  const all = await readQuarantine({ target, stateSchema: schema, ...reviewReconnect(o, stderr), status: id === null ? (status as QuarantineStatusFilter) : 'all' });
  if (sub === 'export') {
    for (const e of all) line(stdout, exportLine(e));
    return ExitCode.Done;
  }
  if (sub === 'show') {
    const e = all.find((x) => x.id === id);
    if (e === undefined) throw new ReviewError(ReviewErrorCode.UnknownEntry, `the quarantine in the state schema \`${schema}\` has no entry ${id}; "salvage quarantine list --status all" lists them`, { key: String(id) });
    if (o.json) line(stdout, entryJson(e));
    else for (const l of showEntry(e, all)) line(stdout, l);
    return ExitCode.Done;
  }
  if (o.json) {
    for (const e of all) line(stdout, entryJson(e));
    return ExitCode.Done;
  }
  for (const l of listEntries(all, status as QuarantineStatusFilter, schema)) line(stdout, l);
  return ExitCode.Done;
}

/** An entry as one JSON line (`--json`). */
function entryJson(e: QuarantineEntry): string {
  return stringifyCanonical(e as unknown as Record<string, unknown>);
}

/** The lines of `list`. */
export function listEntries(entries: readonly QuarantineEntry[], status: QuarantineStatusFilter, schema: string): string[] {
  if (entries.length === 0) return [`no ${status === 'all' ? '' : `${status} `}entries in the quarantine (state schema ${schema})`];
  const withStatus = status !== 'pending';
  const head = ['id', ...(withStatus ? ['status'] : []), 'change', 'table', 'op', 'class', 'reason'];
  const rows = entries.map((e) => [String(e.id), ...(withStatus ? [e.status] : []), shortLabel(e.label), e.table, e.op, e.class, e.reason ?? '']);
  const out = columns([head, ...rows]);
  const pending = entries.filter((e) => e.status === 'pending').length;
  if (pending > 0) out.push(`${pending} pending: "salvage quarantine show ID" shows one; "salvage quarantine export … > decisions.jsonl", then "salvage resolve … decisions.jsonl" decides them`);
  return out;
}

/** The lines of `show`: the entry, its origin and dependants, and its images side by side. */
export function showEntry(e: QuarantineEntry, all: readonly QuarantineEntry[]): string[] {
  const byId = new Map(all.map((x) => [x.id, x]));
  const out = [`entry ${e.id} (${e.status}): ${shortLabel(e.label)} ${e.table} ${e.op}${e.key === null ? '' : `, key ${stringifyCanonical(e.key)}`}`];
  const field = (name: string, value: string): void => {
    out.push(`${`${name}:`.padEnd(12)} ${value}`);
  };
  field('class', e.class);
  field('reason', e.reason ?? '-');
  if (e.statement !== undefined) out.push(...multilineField('statement', e.statement, ''));
  if (e.status !== 'pending') field('resolved', `${e.resolvedAt ?? '?'} UTC: ${e.resolution ?? '-'}`);
  if (e.origin !== null) {
    const o = e.origin.id === null ? undefined : byId.get(e.origin.id);
    field('origin', o === undefined ? `${shortLabel(e.origin.label)} (not in this quarantine)` : `entry ${o.id} (${shortLabel(o.label)}), ${o.status}${o.status === 'pending' ? ': resolve it first' : ''}`);
  }
  const deps = e.dependants.map((id) => {
    const d = byId.get(id);
    return d === undefined ? String(id) : `${id} (${shortLabel(d.label)} ${d.table} ${d.op}, ${d.class})`;
  });
  field('dependants', deps.length === 0 ? 'none' : deps.join(', '));
  field('run', `${e.runId} (source ${e.sourceId})`);
  out.push(...imageTable([
    { title: 'before', row: e.before },
    { title: 'after', row: e.after },
    { title: 'dr', row: e.dr },
  ]));
  return out;
}

/**
 * A field whose value may span lines (a statement's text as logged): its first line after the name,
 * each further line under it, indented to the value's column, so the text reads back exactly.
 */
export function multilineField(name: string, value: string, indent: string): string[] {
  const [first, ...rest] = value.split('\n');
  const pad = ' '.repeat(13);
  return [`${indent}${`${name}:`.padEnd(12)} ${first}`, ...rest.map((l) => `${indent}${pad}${l}`)];
}

/**
 * Row images side by side, one line per column: values in canonical JSON (long ones cut), `-` for
 * an image the change has not, blank for a column an image did not log.
 */
export function imageTable(images: readonly { readonly title: string; readonly row: Readonly<Record<string, CanonicalValue>> | null }[]): string[] {
  const names: string[] = [];
  for (const img of images) for (const name of Object.keys(img.row ?? {})) if (!names.includes(name)) names.push(name);
  if (names.length === 0) return [];
  const cell = (row: Readonly<Record<string, CanonicalValue>> | null, name: string): string => {
    if (row === null) return '-';
    if (!Object.hasOwn(row, name)) return '';
    const s = stringifyCanonical(row[name]);
    return s.length > 40 ? `${s.slice(0, 39)}…` : s;
  };
  return columns([['column', ...images.map((i) => i.title)], ...names.map((n) => [n, ...images.map((i) => cell(i.row, n))])]).map((l) => `  ${l}`);
}

/** Left-aligned columns two spaces apart; the last column is not padded. */
export function columns(rows: readonly (readonly string[])[]): string[] {
  const widths: number[] = [];
  for (const r of rows) r.forEach((c, i) => (widths[i] = Math.max(widths[i] ?? 0, c.length)));
  return rows.map((r) => r.map((c, i) => (i === r.length - 1 ? c : c.padEnd(widths[i]!))).join('  ').trimEnd());
}
