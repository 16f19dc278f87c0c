/**
 * The backstop behind the schema check (pipeline/schema-drift.ts): an image longer than the DR's
 * table reaching the reconciler names the transaction and change, not only the table.
 */
import { describe, expect, it } from 'vitest';
import type { RowImage } from '../binlog/column.js';
import type { RowChange } from '../binlog/event.js';
import { InMemoryDr } from '../../test/harness/in-memory-dr.js';
import { CUSTOMERS, TABLES, transaction } from '../../test/harness/incident-model.js';
import { KeyMap } from './key-map.js';
import { QuarantineIndex, Reconciler } from './reconciler.js';
import { collectReads } from './window-reads.js';

describe('Reconciler: an image wider than the DR table', () => {
  it('fails with RECONCILE_IMAGE_SHAPE naming the GTID and the change', () => {
    const dr = new InMemoryDr(TABLES);
    const catalog = dr.catalog();
    const r = new Reconciler(catalog, new KeyMap(), new QuarantineIndex());
    const wide: RowImage = [9, 'x@x', 'L', 5];
    const change: RowChange = { op: 'insert', table: { tableId: 1, schema: 'shop', table: CUSTOMERS.slice(5), flags: 1, columns: [], primaryKey: [0], metadata: 'none' }, before: null, after: wide, eventOffset: 40 };
    const tx = transaction(7, [change]);
    for (const req of collectReads(r.rewrite(tx.changes), catalog, r.stateSet, () => [])) {
      const state = r.state(req.table);
      state.load(dr.answer(req));
      if (req.purpose === 'pk') state.markReadKeys(req.asked);
      else state.markReadIndexKeys(req.purpose, req.asked);
    }
    expect(() => r.decide(tx)).toThrowError(
      expect.objectContaining({ code: 'RECONCILE_IMAGE_SHAPE', message: `row image of ${CUSTOMERS} has 4 columns, the DR's table has 3, at 3e11fa47-71ca-11e1-9e33-c80aa9429562:7#0 (${tx.file}:${tx.pos})`, details: expect.objectContaining({ table: CUSTOMERS, gtid: '3e11fa47-71ca-11e1-9e33-c80aa9429562:7', change: '3e11fa47-71ca-11e1-9e33-c80aa9429562:7#0' }) }),
    );
  });
});
