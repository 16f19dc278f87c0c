/**
 * Updates and deletes of a table without a primary key, decided over the window's own earlier
 * changes (KeylessRows, the multiset overlay): equal rows are copies, each lost delete takes one,
 * an insert then an update of the same value in one window meet, a transaction held whole gives its
 * copies back, and a write that could reach rows that differ (the server's collation equates them)
 * is held. The DR is a list of rows; `serverEquals` plays the server's comparison (text under a
 * case-insensitive collation), so the reads answer as a real one would.
 */
import { describe, expect, it } from 'vitest';
import type { RowImage } from '../binlog/column.js';
import type { RowChange, TableMap } from '../binlog/event.js';
import type { Transaction } from '../binlog/transaction.js';
import { createSchemaCatalog, type ColumnSchema, type SchemaCatalog, type TableSchema } from '../model/table-schema.js';
import { transaction } from '../../test/harness/incident-model.js';
import type { ChangeDecision, WriteOp } from '../model/decision.js';
import { KeyMap } from './key-map.js';
import { KeylessRows } from './keyless-rows.js';
import { QuarantineIndex, Reconciler } from './reconciler.js';
import { collectImageReads } from './window-reads.js';
import { columnSchema } from '../../test/harness/column-schema.js';

function col(name: string, ordinal: number, text: boolean): ColumnSchema {
  return columnSchema(name, ordinal, text, { nullable: true, ...(text ? { columnType: 'varchar(40)' } : {}) });
}

const LOG: TableSchema = { schema: 'app', table: 'log', columns: [col('level', 1, true), col('msg', 2, true), col('n', 3, false)], primaryKey: null, uniqueKeys: [], foreignKeys: [], autoIncrement: null, engine: 'InnoDB' };
const MAP: TableMap = { tableId: 1, schema: 'app', table: 'log', flags: 1, columns: [], primaryKey: null, metadata: 'none' };
let offset = 0;
const change = (op: RowChange['op'], before: RowImage | null, after: RowImage | null): RowChange => ({ op, table: MAP, before, after, eventOffset: (offset += 40) });
const del = (row: RowImage): RowChange => change('delete', row, null);
const upd = (before: RowImage, after: RowImage): RowChange => change('update', before, after);
const ins = (row: RowImage): RowChange => change('insert', null, row);

/** The server's `<=>` on the logged cells, text case-insensitively (utf8mb4_general_ci). */
function serverEquals(probe: RowImage, row: RowImage): boolean {
  return probe.every((v, i) => v === undefined || (typeof v === 'string' && typeof row[i] === 'string' ? v.toLowerCase() === (row[i] as string).toLowerCase() : v === row[i]));
}

interface Run {
  readonly catalog: SchemaCatalog;
  readonly r: Reconciler;
  readonly dr: RowImage[];
  readonly unmatchable: ReadonlyMap<TableSchema, string>;
}

function setup(dr: RowImage[], options: { readonly keepTransactionsWhole?: boolean; readonly unmatchable?: ReadonlyMap<TableSchema, string> } = {}): Run {
  const catalog = createSchemaCatalog([LOG]);
  return { catalog, r: new Reconciler(catalog, new KeyMap(), new QuarantineIndex(), options), dr, unmatchable: options.unmatchable ?? new Map() };
}

/** Reads a window's images from the DR into the overlay (as salvage.ts #readWindow does), then decides it. */
function window(run: Run, txs: readonly Transaction[]): { decisions: ChangeDecision[]; writes: WriteOp[] } {
  const { catalog, r, dr } = run;
  for (const req of collectImageReads(r.rewrite(txs.flatMap((tx) => tx.changes)), catalog, r.stateSet, run.unmatchable)) {
    const keyless = r.state(req.table).keyless!;
    for (const image of req.images) keyless.load(image, dr.filter((row) => serverEquals(image, row)));
  }
  const results = txs.map((tx) => r.decide(tx));
  return { decisions: results.flatMap((x) => [...x.decisions]), writes: results.flatMap((x) => [...x.writes]) };
}

const summary = (d: ChangeDecision): unknown[] => [d.op, d.class, d.outcome];
let gno = 0;
const tx = (...changes: RowChange[]): Transaction => transaction(++gno, changes);

const A: RowImage = ['info', 'started', 1];

describe('keyless tables: updates and deletes matched by image over the window', () => {
  it('two equal DR rows: two lost deletes take one each, the third is delete-missing', () => {
    const run = setup([A, ['warn', 'disk', 2], [...A]]);
    const first = window(run, [tx(del(A)), tx(del(A)), tx(del(A))]);
    expect(first.decisions.map(summary)).toEqual([
      ['delete', 'clean', 'applied'],
      ['delete', 'clean', 'applied'],
      ['delete', 'delete-missing', 'quarantined'],
    ]);
    expect(first.decisions[2]!.reason).toMatch(/^no DR row equals its before image on every logged column/);
    // Each delete names its row by the image: one of the equal rows (`LIMIT 1`), no key.
    expect(first.writes.map((w) => [w.kind, w.kind === 'insert' ? null : w.key, w.kind === 'insert' ? null : w.image])).toEqual([
      ['delete', [], A],
      ['delete', [], A],
    ]);
  });

  it('plan keeps its overlay across windows: a later window does not count the DR copies again', () => {
    const run = setup([A, [...A]]);
    run.r.mark();
    expect(window(run, [tx(del(A))]).decisions.map(summary)).toEqual([['delete', 'clean', 'applied']]);
    run.r.mark();
    expect(window(run, [tx(del(A))]).decisions.map(summary)).toEqual([['delete', 'clean', 'applied']]);
    run.r.mark();
    expect(window(run, [tx(del(A))]).decisions.map(summary)).toEqual([['delete', 'delete-missing', 'quarantined']]);
  });

  it("the window's own insert is met by its later update, which consumes it", () => {
    const run = setup([]);
    const B: RowImage = ['info', 'stopped', 1];
    const out = window(run, [tx(ins(A)), tx(upd(A, B)), tx(del(A)), tx(del(B))]);
    expect(out.decisions.map(summary)).toEqual([
      ['insert', 'clean', 'applied'],
      ['update', 'clean', 'applied'],
      ['delete', 'delete-missing', 'quarantined'],
      ['delete', 'clean', 'applied'],
    ]);
    expect(out.writes).toEqual([
      { kind: 'insert', table: LOG, row: A },
      { kind: 'update', table: LOG, key: [], set: { msg: 'stopped' }, old: A, image: A },
      { kind: 'delete', table: LOG, key: [], image: B },
    ]);
  });

  it('an update with no equal row is update-missing, and a later change of its new row follows it into quarantine', () => {
    const run = setup([['info', 'other', 1]]);
    const B: RowImage = ['info', 'stopped', 1];
    const out = window(run, [tx(upd(A, B)), tx(del(B))]);
    expect(out.decisions.map(summary)).toEqual([
      ['update', 'update-missing', 'quarantined'],
      ['delete', 'row-quarantined', 'quarantined'],
    ]);
    expect(out.writes).toEqual([]);
  });

  it('rows the server takes as equal but that differ make the write ambiguous: held as no-key', () => {
    const run = setup([['info', 'Started', 1], A]);
    const out = window(run, [tx(del(A))]);
    expect(out.decisions.map(summary)).toEqual([['delete', 'no-key', 'quarantined']]);
    expect(out.decisions[0]!.reason).toBe('app.log has no primary key: 1 other row value(s) the server takes as equal to its before image (under the columns\' collations) differ from it: the server might take one of them');
    expect(out.writes).toEqual([]);
  });

  it('a table whose rows the DR cannot give back exactly (a MySQL JSON column): updates and deletes held as no-key, nothing read, inserts applied', () => {
    const why = 'app.log.doc: no exact read path for type json';
    const run = setup([A], { unmatchable: new Map([[LOG, why]]) });
    expect(collectImageReads([del(A)], run.catalog, run.r.stateSet, run.unmatchable)).toEqual([]);
    const out = window(run, [tx(del(A)), tx(upd(['warn', 'disk', 3], ['warn', 'disk', 4])), tx(ins(A))]);
    expect(out.decisions.map(summary)).toEqual([
      ['delete', 'no-key', 'quarantined'],
      ['update', 'no-key', 'quarantined'],
      ['insert', 'clean', 'applied'],
    ]);
    expect(out.decisions[0]!.reason).toBe(`app.log has no primary key and its rows cannot be read back exactly (${why}): its deletes are not matched by image`);
    expect(out.writes.map((w) => w.kind)).toEqual(['insert']);
  });

  it('a partial image equal to two different rows is ambiguous; equal copies of one row are not', () => {
    const partial: RowImage = ['info', undefined, undefined];
    const two = window(setup([A, ['info', 'other', 2]]), [tx(del(partial))]);
    expect(two.decisions.map((d) => [d.class, d.reason])).toEqual([['no-key', 'app.log has no primary key: 2 different rows equal its before image on every logged column: the server would take any one of them']]);
    const copies = window(setup([A, [...A]]), [tx(del(partial))]);
    expect(copies.decisions.map(summary)).toEqual([['delete', 'clean', 'applied']]);
    expect(copies.writes).toEqual([{ kind: 'delete', table: LOG, key: [], image: partial }]);
  });

  it('a transaction held whole gives back the copies its changes took', () => {
    const run = setup([A]);
    const out = window(run, [tx(del(A), del(['x', 'y', 3]))]);
    expect(out.decisions.map(summary)).toEqual([
      ['delete', 'transaction-quarantined', 'quarantined'],
      ['delete', 'delete-missing', 'quarantined'],
    ]);
    expect(run.r.state(LOG).keyless!.match(A)).toEqual({ kind: 'one', row: A, copies: 1 });
  });
});

describe('KeylessRows', () => {
  it('counts copies, journals each change, and refuses an image never read', () => {
    const undo: (() => void)[] = [];
    const k = new KeylessRows(LOG, new Set(), (u) => undo.push(u));
    expect(() => k.match(A)).toThrow(expect.objectContaining({ code: 'RECONCILE_UNREAD_IMAGE' }));
    k.load(A, [A, [...A]]);
    expect(k.match(A)).toEqual({ kind: 'one', row: A, copies: 2 });
    k.take(A);
    k.take(A);
    expect(k.match(A)).toEqual({ kind: 'none', near: 0 });
    k.add(A);
    expect(k.match(A)).toEqual({ kind: 'one', row: A, copies: 1 });
    for (const u of undo.reverse()) u();
    expect(k.match(A)).toEqual({ kind: 'one', row: A, copies: 2 });
  });

  it('leaves ignored columns out of the image it searches by', () => {
    const k = new KeylessRows(LOG, new Set(['n']), () => undefined);
    expect(k.probe(A)).toEqual(['info', 'started', undefined]);
    expect(new KeylessRows(LOG, new Set(), () => undefined).probe(A)).toBe(A);
  });
});
