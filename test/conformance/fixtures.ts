/**
 * The real binlog fixtures beside the repository (`<repo>/../shared/fixtures/real-binlogs`): where
 * they are, what their MANIFESTs say about every file, and helpers to decode one whole or in
 * chunks and reduce the events to a stable text for comparing runs.
 */
import { createHash } from 'node:crypto';
import { existsSync, readFileSync, readdirSync, statSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { gunzipSync } from 'node:zlib';
import { BinlogDecoder, type DecoderOptions, type IncompleteTail } from '../../src/binlog/decoder.js';
import type { ColumnValue, RowImage } from '../../src/binlog/column.js';
import type { BinlogEvent, DecodeWarning, RowsEvent } from '../../src/binlog/event.js';
import { BinlogError } from '../../src/errors.js';
import { JsonDecimal, JsonValue, type JsonNode } from '../../src/binlog/values/json-value.js';

const HERE = path.dirname(fileURLToPath(import.meta.url));
/** The repository root: this file is test/conformance/fixtures.ts. */
export const REPO_ROOT = path.resolve(HERE, '../..');
/** Where the fixtures live: beside the clone, never copied into it. */
export const FIXTURES_ROOT = path.resolve(REPO_ROOT, '../shared/fixtures/real-binlogs');

/** The fixtures root; throws (failing the suite loudly, at collection) when it is not there. */
export function requireFixturesRoot(root: string = FIXTURES_ROOT): string {
  if (!existsSync(path.join(root, 'MANIFEST.md'))) {
    throw new Error(
      `real binlog fixtures not found at ${root} (expected <clone>/../shared/fixtures/real-binlogs with MANIFEST.md). ` +
        'The conformance suite does not skip: check out the shared fixtures beside the repository.',
    );
  }
  return root;
}

/** One binary file as a MANIFEST table row describes it. */
export interface ManifestEntry {
  /** Path relative to the fixtures root, with forward slashes: `rust_mysql_common/vector.binlog`. */
  readonly rel: string;
  readonly abs: string;
  /** The MANIFEST folder (first path segment). */
  readonly folder: string;
  readonly bytes: number;
  readonly sha16: string;
  /** FDE server version, or null where the MANIFEST says `-`. */
  readonly server: string | null;
  /** `CRC32`, `NONE`, `NONE(pre-5.6 FDE)` or null. */
  readonly checksum: string | null;
  /** `in-use`, `closed` or null. */
  readonly fdeFlag: string | null;
  /** Rows events (incl. inside payloads) as the MANIFEST counted them, or null. */
  readonly rowEvents: number | null;
  readonly contents: string;
  readonly expected: string;
}

const ROW = /^\|\s*`([^`]+)`\s*\|(.*)\|\s*$/;

/** Every binary file listed in the per-folder MANIFESTs, in MANIFEST order. */
export function readManifests(root: string): ManifestEntry[] {
  const out: ManifestEntry[] = [];
  for (const folder of readdirSync(root).sort()) {
    const manifest = path.join(root, folder, 'MANIFEST.md');
    if (!statSync(path.join(root, folder)).isDirectory() || !existsSync(manifest)) continue;
    let section = '';
    for (const line of readFileSync(manifest, 'utf8').split('\n')) {
      // local-mariadb-10.11 lists files under "### failover/primary (…)" headings.
      const heading = /^###\s+([\w./-]+)/.exec(line);
      if (heading) section = heading[1]!;
      const m = ROW.exec(line);
      if (!m) continue;
      const cells = m[2]!.split('|').map((c) => c.trim());
      // | file | bytes | sha256[:16] | server | checksum | FDE flag | row events | contents | expected |
      if (cells.length < 8 || !/^\d+$/.test(cells[0]!)) continue;
      const name = m[1]!;
      const candidates = [path.join(folder, section, name), path.join(folder, name)];
      const rel = candidates.find((c) => existsSync(path.join(root, c))) ?? candidates[candidates.length - 1]!;
      const dash = (s: string): string | null => (s === '-' || s === '' ? null : s.replaceAll('`', ''));
      out.push({
        rel: rel.split(path.sep).join('/'),
        abs: path.join(root, rel),
        folder,
        bytes: Number(cells[0]),
        sha16: cells[1]!.replaceAll('`', ''),
        server: dash(cells[2]!),
        checksum: dash(cells[3]!),
        fdeFlag: dash(cells[4]!),
        rowEvents: /^\d+$/.test(cells[5]!) ? Number(cells[5]) : null,
        contents: cells[6]!,
        expected: cells.slice(7).join(' | '),
      });
    }
  }
  return out;
}

/** Files under the root that look like binlogs (not MANIFESTs, text references, state dumps, SQL or indexes). */
export function binaryFilesOnDisk(root: string): string[] {
  const out: string[] = [];
  const walk = (dir: string): void => {
    for (const name of readdirSync(dir).sort()) {
      const p = path.join(dir, name);
      if (statSync(p).isDirectory()) {
        if (name !== '_decoded' && name !== 'state' && name !== 'workload') walk(p);
      } else if (!/\.(md|txt|tsv|index|sql)$/.test(name) && !/-result(\.\d+)?$/.test(name)) {
        out.push(path.relative(root, p).split(path.sep).join('/'));
      }
    }
  };
  walk(root);
  return out.sort();
}

/** The file's bytes as a binlog reader sees them (`.gz` fixtures are decompressed in memory). */
export function readBinlogBytes(entry: ManifestEntry): Buffer {
  const raw = readFileSync(entry.abs);
  return entry.rel.endsWith('.gz') ? gunzipSync(raw) : raw;
}

/** The first 16 hex digits of the sha256, as the MANIFESTs list them. */
export function sha256Prefix(bytes: Buffer): string {
  return createHash('sha256').update(bytes).digest('hex').slice(0, 16);
}

/** The mariadb-binlog reference text of a fixture, when one exists. */
export function referenceTextPath(entry: ManifestEntry): string | null {
  const p = path.join(path.dirname(entry.abs), '_decoded', `${path.basename(entry.abs)}.mariadb-binlog-10.11.txt`);
  return existsSync(p) ? p : null;
}

/** What decoding a byte stream produced: events up to the first error, the error, the tail. */
export interface DecodeRun {
  readonly events: BinlogEvent[];
  readonly error: unknown;
  readonly tail: IncompleteTail | null;
  readonly warnings: DecodeWarning[];
  /** The decoder's position when the run ended. */
  readonly position: number;
}

/** Feeds `bytes` to a fresh decoder in chunks of `chunk` bytes (0 = all at once), stopping at the first error. */
export function decodeInChunks(bytes: Buffer, chunk: number, file: string, options: Omit<DecoderOptions, 'file' | 'onWarning'> = {}): DecodeRun {
  const warnings: DecodeWarning[] = [];
  const decoder = new BinlogDecoder({ ...options, file, onWarning: (w) => warnings.push(w) });
  const events: BinlogEvent[] = [];
  const step = chunk <= 0 ? Math.max(bytes.length, 1) : chunk;
  try {
    for (let at = 0; at < bytes.length; at += step) {
      const got = decoder.push(bytes.subarray(at, Math.min(at + step, bytes.length)));
      for (const e of got) events.push(e);
    }
    const tail = decoder.end();
    return { events, error: null, tail, warnings, position: decoder.position };
  } catch (error) {
    return { events, error, tail: null, warnings, position: decoder.position };
  }
}

/** The error of a run as a BinlogError, failing with the real error otherwise. */
export function asBinlogError(error: unknown): BinlogError {
  if (error instanceof BinlogError) return error;
  throw error instanceof Error ? error : new Error(String(error));
}

// ---- stable summaries -----------------------------------------------------------------------

function jsonNode(n: JsonNode): unknown {
  if (typeof n === 'bigint') return `${n}n`;
  if (n instanceof JsonDecimal) return { decimal: n.text };
  if (Array.isArray(n)) return n.map(jsonNode);
  if (n !== null && typeof n === 'object') {
    const o: Record<string, unknown> = {};
    for (const k of Object.keys(n)) o[k] = jsonNode(n[k]!);
    return o;
  }
  return n;
}

/** A column value as JSON that keeps its kind (bigint, Buffer, JSON) apart from lookalikes. */
export function valueSummary(v: ColumnValue | undefined): unknown {
  if (v === undefined) return { absent: true };
  if (v === null) return null;
  if (typeof v === 'bigint') return `${v}n`;
  if (Buffer.isBuffer(v)) return { hex: v.toString('hex') };
  if (v instanceof JsonValue) return { json: jsonNode(v.node) };
  if (typeof v === 'number' && Object.is(v, -0)) return '-0';
  return v;
}

function imageSummary(row: RowImage | null): unknown {
  if (row === null) return null;
  const out: unknown[] = [];
  for (let i = 0; i < row.length; i++) out.push(valueSummary(row[i]));
  return out;
}

function replacer(_key: string, v: unknown): unknown {
  if (typeof v === 'bigint') return `${v}n`;
  if (v instanceof Uint8Array) return { hex: Buffer.from(v).toString('hex') };
  return v;
}

/** One event as stable JSON: every field, rows reduced to value summaries, the table of a rows event by id and name. */
export function eventSummary(e: BinlogEvent): string {
  if (e.kind === 'rows') return rowsSummary(e);
  if (e.kind === 'transaction-payload') {
    const { events, ...rest } = e;
    return JSON.stringify({ ...rest, events: events.map(eventSummary) }, replacer);
  }
  if (e.kind === 'format-description') return JSON.stringify({ ...e, postHeaderLengths: Array.from(e.postHeaderLengths) }, replacer);
  return JSON.stringify(e, (k, v: unknown) => (v !== null && typeof v === 'object' && (v as { type?: unknown }).type === 'Buffer' ? replacer(k, Buffer.from((v as { data: number[] }).data)) : replacer(k, v)));
}

function rowsSummary(e: RowsEvent): string {
  return JSON.stringify(
    {
      kind: e.kind,
      header: e.header,
      op: e.op,
      table: `${e.table.tableId}:${e.table.schema}.${e.table.table}`,
      flags: e.flags,
      partialJson: e.partialJson,
      rows: e.rows.map((r) => [imageSummary(r.before), imageSummary(r.after)]),
    },
    replacer,
  );
}

/** Rows events of a run, including those inside transaction payloads. */
export function rowsEvents(events: readonly BinlogEvent[]): RowsEvent[] {
  const out: RowsEvent[] = [];
  for (const e of events) {
    if (e.kind === 'rows') out.push(e);
    else if (e.kind === 'transaction-payload') for (const i of e.events) if (i.kind === 'rows') out.push(i);
  }
  return out;
}
