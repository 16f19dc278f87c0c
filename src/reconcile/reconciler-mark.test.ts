/**
 * Reconciler.mark / rollbackTo as plan uses them: plan keeps its overlay across windows (it writes
 * nothing), so a window decided again (escalation's `stop` cuts it) must start from the state at
 * the mark — what the earlier windows decided — not from a blank overlay. Found by a review: the
 * rollback forgot the whole overlay, so the remapped row of window 1 was missing when window 2
 * was decided again (test/reconcile/strategies.test.ts, "stop cutting a window after a remap").
 *
 * The incident: customers 1 ann@x (base); after the failover the DR inserted 2 EVE@X.
 * Lost: tx1 inserts customer 2 bob@x (id taken: remapped to 3); tx2 renames it; tx3 deletes customer 1.
 */
import { describe, expect, it } from 'vitest';
import type { RowImage } from '../binlog/column.js';
import type { RowChange, TableMap } from '../binlog/event.js';
import type { Transaction } from '../binlog/transaction.js';
import { EngineError } from '../errors.js';
import { rowKey } from '../model/row-key.js';
import type { SchemaCatalog } from '../model/table-schema.js';
import { InMemoryDr } from '../../test/harness/in-memory-dr.js';
import { CUSTOMERS, TABLES, transaction } from '../../test/harness/incident-model.js';
import type { ChangeDecision } from '../model/decision.js';
import { KeyMap } from './key-map.js';
import { QuarantineIndex, Reconciler } from './reconciler.js';
import type { TableState } from './table-state.js';
import { collectReads } from './window-reads.js';

const MAP: TableMap = { tableId: 1, schema: 'shop', table: 'customers', flags: 1, columns: [], primaryKey: [0], metadata: 'none' };
let offset = 0;
const change = (op: RowChange['op'], before: RowImage | null, after: RowImage | null): RowChange => ({ op, table: MAP, before, after, eventOffset: (offset += 40) });

const K1 = rowKey([1]);
const K3 = rowKey([3]);
const ANN: RowImage = [1, 'ann@x', 'Ann'];
const LOST = [
  transaction(1, [change('insert', null, [2, 'bob@x', 'Bob'])]),
  transaction(2, [change('update', [2, 'bob@x', 'Bob'], [2, 'bob@x', 'Robert'])]),
  transaction(3, [change('delete', ANN, null)]),
];

function setup(): { dr: InMemoryDr; catalog: SchemaCatalog; r: Reconciler; customers: TableState } {
  const dr = new InMemoryDr(TABLES);
  dr.insert(CUSTOMERS, ANN);
  dr.insert(CUSTOMERS, [2, 'EVE@X', 'Eve']);
  dr.setAutoIncrement(CUSTOMERS, 3n);
  const catalog = dr.catalog();
  const r = new Reconciler(catalog, new KeyMap(), new QuarantineIndex());
  r.raiseKeyFloor(catalog.lookup(CUSTOMERS)!, 3n);
  return { dr, catalog, r, customers: r.state(catalog.lookup(CUSTOMERS)!) };
}

/** Reads a window's rows from the DR into the overlay, as plan does (a row the overlay decided keeps its value). */
function read({ dr, catalog, r }: { dr: InMemoryDr; catalog: SchemaCatalog; r: Reconciler }, window: readonly Transaction[]): void {
  const changes = r.rewrite(window.flatMap((tx) => tx.changes));
  r.noteWindow(changes);
  for (const req of collectReads(changes, catalog, r.stateSet)) {
    const state = r.state(req.table);
    state.load(dr.answer(req));
    if (req.purpose === 'pk') state.markReadKeys(req.asked);
    else state.markReadIndexKeys(req.purpose, req.asked);
  }
}

const summary = (d: ChangeDecision): unknown[] => [d.op, d.sourceKey, d.class, d.outcome, d.newKey];

describe('Reconciler.mark and rollbackTo', () => {
  it('restore the overlay, key map and floors at the mark: what earlier windows decided stays', () => {
    const run = setup();
    const { r, customers } = run;
    r.mark();
    read(run, LOST.slice(0, 1));
    expect(r.decide(LOST[0]!).decisions.map(summary)).toEqual([['insert', [2], 'insert-pk-taken', 'remapped', [3]]]);

    const mark = r.mark();
    read(run, LOST.slice(1));
    const first = LOST.slice(1).map((tx) => r.decide(tx).decisions.map(summary));
    expect(first).toEqual([[['update', [2], 'clean', 'applied', [3]]], [['delete', [1], 'clean', 'applied', null]]]);
    expect([customers.row(K3), customers.row(K1)]).toEqual([[3, 'bob@x', 'Robert'], null]);

    r.rollbackTo(mark);
    // As window 1 left them: its remapped row and the DR's row 1.
    expect([customers.row(K3), customers.row(K1)]).toEqual([[3, 'bob@x', 'Bob'], ANN]);
    expect(r.keyMap.entries()).toEqual([{ schema: 'shop', table: 'customers', oldKey: [2], newKey: [3] }]);
    // Decided again (cut after tx2), without a read: the same decision.
    r.mark();
    expect(r.decide(LOST[1]!).decisions.map(summary)).toEqual(first[0]);
    expect(customers.row(K3)).toEqual([3, 'bob@x', 'Robert']);
  });

  it('a transaction kept whole rolls back inside a marked window without undoing the window’s earlier transactions', () => {
    const run = setup();
    const { r, customers } = run;
    const mark = r.mark();
    read(run, LOST.slice(0, 1));
    r.decide(LOST[0]!);
    // A clean rename of customer 1, then an update of the remapped row to the DR's own e-mail
    // (update-unique-taken, quarantined): the transaction is kept whole, its rename undone.
    const clash = transaction(4, [change('update', ANN, [1, 'ann@x', 'Anne']), change('update', [2, 'bob@x', 'Bob'], [2, 'eve@x', 'Bob'])]);
    read(run, [clash]);
    expect(r.decide(clash).decisions.map(summary)).toEqual([
      ['update', [1], 'transaction-quarantined', 'quarantined', null],
      ['update', [2], 'update-unique-taken', 'quarantined', [3]],
    ]);
    expect([customers.row(K3), customers.row(K1)]).toEqual([[3, 'bob@x', 'Bob'], ANN]);
    // The window rolled back: tx1 undone too (row 3, the remap's fresh key, known to be free).
    r.rollbackTo(mark);
    expect([customers.row(K3), customers.row(K1)]).toEqual([null, ANN]);
    expect(r.keyMap.entries()).toEqual([]);
  });

  it('a mark taken with readAgain (apply) forgets the overlay at a rollback: the window is read again from the DR', () => {
    const run = setup();
    const { r, customers } = run;
    const mark = r.mark({ readAgain: true });
    read(run, LOST);
    for (const tx of LOST) r.decide(tx);
    expect([customers.row(K3), customers.row(K1)]).toEqual([[3, 'bob@x', 'Robert'], null]);
    // Between the attempts the DR deleted customer 1: a row kept from the first read would hide it.
    run.dr.delete(CUSTOMERS, [1]);
    r.rollbackTo(mark);
    expect([customers.knows(K3), customers.knows(K1)]).toEqual([false, false]);
    expect(r.keyMap.entries()).toEqual([]);
    r.mark({ readAgain: true });
    read(run, LOST);
    expect(LOST.map((tx) => r.decide(tx).decisions.map(summary))).toEqual([
      [['insert', [2], 'insert-pk-taken', 'remapped', [3]]],
      [['update', [2], 'clean', 'applied', [3]]],
      [['delete', [1], 'already-applied', 'skipped', null]],
    ]);
  });

  it('refuses a rollback to a mark older than the latest', () => {
    const { r } = setup();
    const old = r.mark();
    r.mark();
    let caught: unknown;
    try {
      r.rollbackTo(old);
    } catch (e) {
      caught = e;
    }
    expect(caught).toBeInstanceOf(EngineError);
    expect(caught).toMatchObject({ code: 'RECONCILE_STALE_MARK', details: { mark: 1, latest: 2 } });
  });
});
