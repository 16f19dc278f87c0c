/**
 * One round trip through a real server: create a generated table, INSERT its rows, UPDATE some
 * (so before and after images both occur), DELETE some, snapshot what SELECT returns after each
 * step through the exact path (exact-compare.ts), then decode the binlog the server wrote and
 * compare every logged cell with the snapshot of the same row. Partial row images
 * (binlog_row_image MINIMAL/NOBLOB) are checked for exactly the columns the server logs, and a
 * column it did not log must decode as `undefined`, never `null`.
 */
import fc from 'fast-check';
import type { RowDataPacket } from 'mysql2/promise';
import type { ColumnDef, ColumnValue, RowImage } from '../../src/binlog/column.js';
import type { SchemaHints } from '../../src/binlog/events/table-map.js';
import type { RowChange } from '../../src/binlog/transaction.js';
import { transactionToJson } from '../../src/binlog/transaction-json.js';
import { readTransactions } from '../../src/source/read-transactions.js';
import type { MariadbServer } from '../harness/mariadb-server.js';
import { allFamilies, columnDdl, type ColumnSpec } from './column-catalog.js';
import { canonicalProblem, cellProblem, selectExpr, showExpected, showValue } from './exact-compare.js';

export const SCHEMA = 'rt';

/** A generated table and what happens to its rows. Cell literals are SQL; null is NULL. */
export interface RoundTripCase {
  readonly columns: readonly ColumnSpec[];
  /** INSERT values per row (row i gets id i + 1), one literal per column. */
  readonly rows: ReadonlyArray<ReadonlyArray<string | null>>;
  /** UPDATEs in order: row index and (column index, new literal) pairs; `rev` is always bumped. */
  readonly updates: ReadonlyArray<{ readonly row: number; readonly sets: ReadonlyArray<readonly [number, string | null]> }>;
  /** Row indexes deleted at the end. */
  readonly deletes: readonly number[];
}

function cellArb(s: ColumnSpec): fc.Arbitrary<string | null> {
  return s.nullable ? fc.option(s.value, { freq: 8, nil: null }) : s.value;
}

/** A table with one column of every family (plus up to `extraColumns` more), `rows` rows, updates and deletes. */
export function roundTripCase(options: { rows: number; extraColumns: number; families?: fc.Arbitrary<ColumnSpec>[] }): fc.Arbitrary<RoundTripCase> {
  const families = options.families ?? allFamilies();
  const columns = fc
    .tuple(fc.tuple(...families), fc.array(fc.oneof(...families), { maxLength: options.extraColumns }))
    .map(([base, extra]) => fitRowSize([...base, ...extra]));
  return columns.chain((cols) => {
    const cells = cols.map(cellArb);
    const row = fc.tuple(...cells);
    const n = options.rows;
    type Update = RoundTripCase['updates'][number];
    type Sets = Update['sets'];
    const update = (r: number): fc.Arbitrary<Update> =>
      fc
        .uniqueArray(fc.nat(cols.length - 1), { maxLength: 6 })
        .chain((cis): fc.Arbitrary<Sets> => (cis.length === 0 ? fc.constant([]) : fc.tuple(...cis.map((ci) => cells[ci]!)).map((vals) => cis.map((ci, k) => [ci, vals[k] ?? null] as const))))
        .map((sets) => ({ row: r, sets }));
    // A fate per row: 0–4 updated (4 also deleted), 5–6 deleted, 7–9 left alone.
    const fates = fc.array(fc.integer({ min: 0, max: 9 }), { minLength: n, maxLength: n });
    return fates.chain((f) => {
      const updated = f.flatMap((x, r) => (x <= 4 ? [r] : []));
      const deleted = f.flatMap((x, r) => (x >= 4 && x <= 6 ? [r] : []));
      const updates: fc.Arbitrary<Update[]> = updated.length === 0 ? fc.constant([]) : fc.tuple(...updated.map(update));
      return fc.record<RoundTripCase>({
        columns: fc.constant(cols),
        rows: fc.array(row, { minLength: n, maxLength: n }),
        updates,
        deletes: fc.constant(deleted.length === 0 ? [0] : deleted),
      });
    });
  });
}

/** Bytes a column may take in the row (the server's 65,535-byte row limit counts CHAR/VARCHAR in full). */
function rowBytes(s: ColumnSpec): number {
  const m = /^(?:VAR)?(?:CHAR|BINARY)\((\d+)\)(?: CHARACTER SET (\w+))?/.exec(s.ddl);
  if (!m) return 16;
  const mb: Record<string, number> = { utf8mb4: 4, utf8mb3: 3, ucs2: 2, utf16: 4, utf16le: 4, utf32: 4, sjis: 2, cp932: 2, ujis: 3, eucjpms: 3, gbk: 2, gb2312: 2, big5: 2, euckr: 2 };
  return Number(m[1]) * (mb[m[2] ?? 'binary'] ?? 1) + 2;
}

/** Drops extra wide columns until the row fits the server's limits (the first one of each family stays). */
function fitRowSize(cols: ColumnSpec[]): ColumnSpec[] {
  const out: ColumnSpec[] = [];
  let total = 0;
  const seen = new Set<string>();
  for (const c of cols) {
    const b = rowBytes(c);
    if (seen.has(c.family) && total + b > 40000) continue;
    seen.add(c.family);
    out.push(c);
    total += b;
  }
  return out;
}

/** How the server logged row images. */
export type RowImageMode = 'FULL' | 'MINIMAL' | 'NOBLOB';

/** One cell the decoder got wrong. */
export interface Mismatch {
  readonly family: string;
  readonly ddl: string;
  readonly column: string;
  readonly rowId: number;
  /** insert.after, update.before, update.after, delete.before */
  readonly image: string;
  readonly problem: string;
  readonly expected: string;
  readonly actual: string;
}

/** What one round trip found. */
export interface RoundTripResult {
  readonly table: string;
  readonly mismatches: Mismatch[];
  /** Structural problems: missing or extra row changes, wrong images. */
  readonly problems: string[];
  /** Row images compared per family (a column present in an image counts once). */
  readonly compared: Map<string, number>;
  /** Rows generated per family (INSERTed). */
  readonly inserted: Map<string, number>;
}

/** SELECT's exact texts per row id: id, rev, then one per generated column. */
export type Snapshot = Map<number, Array<string | null>>;

async function snapshot(server: MariadbServer, table: string, cols: readonly ColumnSpec[]): Promise<Snapshot> {
  const exprs = cols.map((c, i) => `${selectExpr(c, `c${i}`)} AS e${i}`).join(', ');
  const rows = await server.query<RowDataPacket[]>(`SELECT id, CAST(rev AS CHAR) AS rev, ${exprs} FROM ${table} ORDER BY id`);
  const out: Snapshot = new Map();
  for (const r of rows) {
    const cells: Array<string | null> = [String(r['id']), String(r['rev'])];
    for (let i = 0; i < cols.length; i++) {
      const v = r[`e${i}`] as unknown;
      cells.push(v === null ? null : Buffer.isBuffer(v) ? v.toString('latin1') : String(v));
    }
    out.set(Number(r['id']), cells);
  }
  return out;
}

/** Runs statements in batches of about `maxBytes` of SQL per round trip. */
async function runBatched(server: MariadbServer, statements: readonly string[], maxBytes = 4_000_000): Promise<void> {
  let batch: string[] = [];
  let size = 0;
  for (const s of statements) {
    if (size + s.length > maxBytes && batch.length > 0) {
      await server.query(batch.join(';\n'));
      batch = [];
      size = 0;
    }
    batch.push(s);
    size += s.length + 2;
  }
  if (batch.length > 0) await server.query(batch.join(';\n'));
}

function insertStatements(table: string, rows: RoundTripCase['rows']): string[] {
  const out: string[] = [];
  let values: string[] = [];
  let size = 0;
  rows.forEach((row, i) => {
    const tuple = `(${i + 1}, 0, ${row.map((v) => v ?? 'NULL').join(', ')})`;
    if (size + tuple.length > 1_000_000 && values.length > 0) {
      out.push(`INSERT INTO ${table} VALUES ${values.join(',\n')}`);
      values = [];
      size = 0;
    }
    values.push(tuple);
    size += tuple.length;
  });
  if (values.length > 0) out.push(`INSERT INTO ${table} VALUES ${values.join(',\n')}`);
  return out;
}

let tableCounter = 0;

/** Options of one round trip. */
export interface RoundTripOptions {
  readonly rowImage: RowImageMode;
  /** Schema hints to decode with (binlog_row_metadata=NO_LOG); loaded after the table exists. */
  readonly hints?: (server: MariadbServer) => Promise<SchemaHints>;
}

/** What executing a case left behind: the table, SELECT snapshots and the binlog files written. */
export interface ExecutedCase {
  readonly table: string;
  readonly tableName: string;
  readonly afterInsert: Snapshot;
  readonly afterUpdate: Snapshot;
  readonly deleteIds: readonly number[];
  /** Binlog files holding the case's events (the last one still open unless `flush`). */
  readonly files: string[];
}

/** Creates the case's table and runs its INSERTs, UPDATEs and DELETE, snapshotting after each step. */
export async function executeCase(server: MariadbServer, c: RoundTripCase, options: { flush: boolean } = { flush: true }): Promise<ExecutedCase> {
  const tableName = `t${++tableCounter}`;
  const table = `\`${SCHEMA}\`.\`${tableName}\``;
  const cols = c.columns;
  await server.query(`CREATE DATABASE IF NOT EXISTS ${SCHEMA}`);
  // Files before the flush: everything after it (the new current file onwards) is this case's.
  const before = new Set(await server.binlogFiles());
  await server.flushBinaryLogs();
  const ddl = cols.map((s, i) => columnDdl(`c${i}`, s)).join(',\n  ');
  await server.query(`CREATE TABLE ${table} (id INT NOT NULL PRIMARY KEY, rev INT NOT NULL DEFAULT 0,\n  ${ddl}) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4`);
  const t0 = Date.now();
  const debug = process.env['ROUNDTRIP_DEBUG'] === '1' ? (what: string) => console.log(`${table} ${what} +${Date.now() - t0} ms`) : () => {};
  await runBatched(server, insertStatements(table, c.rows));
  const afterInsert = await snapshot(server, table, cols);
  debug('inserted, snapshot 1');
  const updates = c.updates.map((u) => `UPDATE ${table} SET rev = rev + 1${u.sets.map(([ci, v]) => `, c${ci} = ${v ?? 'NULL'}`).join('')} WHERE id = ${u.row + 1}`);
  await runBatched(server, updates);
  const afterUpdate = await snapshot(server, table, cols);
  debug('updated, snapshot 2');
  const deleteIds = [...c.deletes].map((r) => r + 1).sort((a, b) => a - b);
  await server.query(`DELETE FROM ${table} WHERE id IN (${deleteIds.join(',')})`);
  if (options.flush) await server.flushBinaryLogs();
  const files = (await server.binlogFiles()).filter((f) => !before.has(f));
  return { table, tableName, afterInsert, afterUpdate, deleteIds, files };
}

/** Runs `c` against `server` and compares the decoded binlog with SELECT. */
export async function runRoundTrip(server: MariadbServer, c: RoundTripCase, options: RoundTripOptions): Promise<RoundTripResult> {
  const cols = c.columns;
  const { table, tableName, afterInsert, afterUpdate, deleteIds, files } = await executeCase(server, c);
  const schemaHints = options.hints ? await options.hints(server) : undefined;
  const changes: RowChange[] = [];
  const jsonProblems: string[] = [];
  for await (const batch of readTransactions(files, { schemaHints })) {
    for (const item of batch.items) {
      if (item.kind !== 'transaction') continue;
      // Every transaction must also print as canonical JSON (inspect --json, plans, reports).
      try {
        JSON.parse(transactionToJson(item.tx));
      } catch (e) {
        jsonProblems.push(`${table}: transactionToJson of the transaction at ${item.tx.pos} failed: ${(e as Error).message}`);
      }
      for (const ch of item.tx.changes) if (ch.table.schema === SCHEMA && ch.table.table === tableName) changes.push(ch);
    }
  }

  const result: RoundTripResult = { table, mismatches: [], problems: jsonProblems, compared: new Map(), inserted: new Map() };
  for (const s of cols) result.inserted.set(s.family, (result.inserted.get(s.family) ?? 0) + c.rows.length);
  const expected = expectedChanges(c, deleteIds);
  if (changes.length !== expected.length) result.problems.push(`${table}: ${changes.length} row changes decoded, ${expected.length} made`);
  const assignedBy = new Map(c.updates.map((u) => [u.row + 1, new Set(u.sets.map(([ci]) => ci + 2))]));
  for (let k = 0; k < Math.min(changes.length, expected.length); k++) {
    const ch = changes[k]!;
    const want = expected[k]!;
    const id = Number((ch.before ?? ch.after)?.[0]);
    if (ch.op !== want.op || (want.op !== 'delete' && id !== want.id)) {
      result.problems.push(`${table}: change #${k} is ${ch.op} of id ${id}, expected ${want.op} of id ${want.id}`);
      continue;
    }
    const cmp = new Comparer(result, cols, ch.table.columns, id, options.rowImage);
    if (ch.op === 'insert') cmp.image('insert.after', ch.after, afterInsert, 'all');
    else if (ch.op === 'update') {
      cmp.image('update.before', ch.before, afterInsert, 'before');
      cmp.image('update.after', ch.after, afterUpdate, assignedBy.get(id) ?? new Set());
    } else cmp.image('delete.before', ch.before, afterUpdate, 'before');
  }
  const deleted = changes.filter((ch) => ch.op === 'delete').map((ch) => Number(ch.before?.[0]));
  if (deleted.join() !== deleteIds.join()) result.problems.push(`${table}: deleted ids ${deleted.join()} decoded, ${deleteIds.join()} deleted`);
  return result;
}

function expectedChanges(c: RoundTripCase, deleteIds: readonly number[]): Array<{ op: RowChange['op']; id: number }> {
  return [
    ...c.rows.map((_, i) => ({ op: 'insert' as const, id: i + 1 })),
    ...c.updates.map((u) => ({ op: 'update' as const, id: u.row + 1 })),
    ...deleteIds.map((id) => ({ op: 'delete' as const, id })),
  ];
}

/** Compares the images of one row change with the snapshots. */
class Comparer {
  constructor(
    private readonly result: RoundTripResult,
    private readonly specs: readonly ColumnSpec[],
    private readonly defs: readonly ColumnDef[],
    private readonly id: number,
    private readonly mode: RowImageMode,
  ) {}

  /** Which table columns (0 = id, 1 = rev, 2 + k = spec k) the server logs in this image. */
  #logged(i: number, which: 'all' | 'before' | ReadonlySet<number>): boolean {
    if (this.mode === 'FULL' || which === 'all') return true;
    const blob = i >= 2 && this.specs[i - 2]!.blob;
    if (this.mode === 'MINIMAL') return which === 'before' ? i === 0 : i === 1 || which.has(i);
    // NOBLOB: every non-blob column; a blob only when the statement assigned it.
    return !blob || (which !== 'before' && which.has(i));
  }

  image(name: string, row: RowImage | null, snap: Snapshot, which: 'all' | 'before' | ReadonlySet<number>): void {
    const table = this.result.table;
    if (row === null) {
      this.result.problems.push(`${table} id ${this.id}: ${name} image missing`);
      return;
    }
    if (row.length !== this.defs.length) this.result.problems.push(`${table} id ${this.id}: ${name} has ${row.length} cells for ${this.defs.length} columns`);
    const want = snap.get(this.id);
    if (!want) {
      this.result.problems.push(`${table}: no snapshot row for id ${this.id}`);
      return;
    }
    for (let i = 0; i < this.defs.length; i++) {
      const v = row[i];
      const logged = this.#logged(i, which);
      if (!logged) {
        if (v !== undefined) this.#mismatch(i, name, `the server did not log this column; decoded ${v === null ? 'null' : 'a value'} instead of undefined`, 'undefined', v);
        continue;
      }
      if (v === undefined) {
        this.#mismatch(i, name, 'logged column decoded as undefined', want[i] ?? null, v);
        continue;
      }
      if (i < 2) {
        if (String(v) !== want[i]) this.#mismatch(i, name, 'different value', want[i] ?? null, v);
        continue;
      }
      const spec = this.specs[i - 2]!;
      const expected = want[i] ?? null;
      this.result.compared.set(spec.family, (this.result.compared.get(spec.family) ?? 0) + 1);
      const problem = cellProblem(spec, expected, v);
      if (problem !== null) {
        this.#mismatch(i, name, problem, expected, v);
        continue;
      }
      const canon = canonicalProblem(spec, expected, v, this.defs[i]!);
      if (canon !== null) this.#mismatch(i, name, canon, expected, v);
    }
  }

  #mismatch(i: number, image: string, problem: string, expected: string | null, actual: ColumnValue | undefined): void {
    const spec = i >= 2 ? this.specs[i - 2] : undefined;
    this.result.mismatches.push({
      family: spec?.family ?? (i === 0 ? 'id' : 'rev'),
      ddl: spec?.ddl ?? 'INT',
      column: this.defs[i]?.name ?? `#${i}`,
      rowId: this.id,
      image,
      problem,
      expected: showExpected(expected),
      actual: showValue(actual),
    });
  }
}

/** A readable report of mismatches: at most `perKey` examples per (family, problem). */
export function describeMismatches(ms: readonly Mismatch[], perKey = 3): string {
  const groups = new Map<string, Mismatch[]>();
  for (const m of ms) {
    const key = `${m.family} — ${m.problem.replace(/canonical .*/, 'canonical JSON differs')}`;
    const g = groups.get(key) ?? [];
    g.push(m);
    groups.set(key, g);
  }
  const lines: string[] = [];
  for (const [key, g] of groups) {
    lines.push(`${key}: ${g.length} cell(s)`);
    for (const m of g.slice(0, perKey)) lines.push(`    ${m.ddl} ${m.column} id=${m.rowId} ${m.image}: ${m.problem}; SELECT ${m.expected}, decoded ${m.actual}`);
  }
  return lines.join('\n');
}

/** Adds `from` into `into`. */
export function addCounts(into: Map<string, number>, from: ReadonlyMap<string, number>): void {
  for (const [k, v] of from) into.set(k, (into.get(k) ?? 0) + v);
}


/** Every decoded row change of `schema.table` in the server's binlogs (flushed first). */
export async function decodedChanges(server: MariadbServer, schema: string, table: string, schemaHints?: SchemaHints): Promise<RowChange[]> {
  await server.flushBinaryLogs();
  const out: RowChange[] = [];
  for await (const batch of readTransactions(await server.binlogFiles(), { schemaHints })) {
    for (const item of batch.items) {
      if (item.kind === 'transaction') out.push(...item.tx.changes.filter((ch) => ch.table.schema === schema && ch.table.table === table));
    }
  }
  return out;
}
