/**
 * A lost insert whose AUTO_INCREMENT id the DR gave a record of its own (insert-pk-taken → remap)
 * and whose unique value another DR row holds: the re-keyed row meets the holder, and the
 * insert-unique-taken rule decides it (reconciler.ts #uniqueAfterRemap). Exact decisions per
 * strategy, on the in-memory DR of test/harness/in-memory-dr.ts, one window read the way salvage
 * reads it (rewrite-unique candidates included).
 *
 * The incident: customers 1 ann@x (base); after the failover the DR inserted 2 EVE@X and 3 DEE@X.
 * Lost: tx1 inserts customer 2 dee@x (id 2 taken by EVE, e-mail held by DEE under the
 * case-insensitive collation), tx2 renames it, tx3 inserts its order, tx4 inserts customer 3 fay@x
 * (id 3 taken by DEE: remapped, to the id tx1 gave back when tx1 did not keep its fresh key).
 */
import { describe, expect, it } from 'vitest';
import type { RowImage } from '../binlog/column.js';
import type { RowChange, TableMap } from '../binlog/event.js';
import type { Transaction } from '../binlog/transaction.js';
import { parseConfig } from '../config/normalise.js';
import { InMemoryDr } from '../../test/harness/in-memory-dr.js';
import { CUSTOMERS, ORDERS, TABLES, transaction } from '../../test/harness/incident-model.js';
import type { CustomStrategies, CustomStrategyContext } from './custom-strategy.js';
import type { ChangeDecision, TransactionResult } from '../model/decision.js';
import { KeyMap } from './key-map.js';
import { QuarantineIndex, Reconciler, changeLabel } from './reconciler.js';
import { RuleBook } from './rules.js';
import { collectHolderChildReads, collectReads } from './window-reads.js';

const mapOf = (table: string): TableMap => ({ tableId: table === CUSTOMERS ? 1 : 2, schema: 'shop', table: table.slice(5), flags: 1, columns: [], primaryKey: [0], metadata: 'none' });
let offset = 0;
const change = (op: RowChange['op'], table: string, before: RowImage | null, after: RowImage | null): RowChange => ({ op, table: mapOf(table), before, after, eventOffset: (offset += 40) });

const EVE: RowImage = [2, 'EVE@X', 'D0'];
const DEE: RowImage = [3, 'DEE@X', 'D1'];

function incident(): { dr: InMemoryDr; lost: Transaction[] } {
  const dr = new InMemoryDr(TABLES);
  dr.insert(CUSTOMERS, [1, 'ann@x', 'B0']);
  dr.insert(ORDERS, [1, 1, 100]);
  dr.insert(CUSTOMERS, EVE);
  dr.insert(CUSTOMERS, DEE);
  dr.setAutoIncrement(CUSTOMERS, 4n);
  dr.setAutoIncrement(ORDERS, 2n);
  const lost = [
    transaction(1, [change('insert', CUSTOMERS, null, [2, 'dee@x', 'L0'])]),
    transaction(2, [change('update', CUSTOMERS, [2, 'dee@x', 'L0'], [2, 'dee@x', 'L1'])]),
    transaction(3, [change('insert', ORDERS, null, [2, 2, 101])]),
    transaction(4, [change('insert', CUSTOMERS, null, [3, 'fay@x', 'L2'])]),
  ];
  return { dr, lost };
}

interface Run {
  readonly dr: InMemoryDr;
  readonly results: TransactionResult[];
  readonly decisions: ChangeDecision[];
  readonly keyMap: KeyMap;
}

interface RunOptions {
  readonly strategies?: CustomStrategies;
  readonly keepTransactionsWhole?: boolean;
  /** Read the rewrite-unique candidates ahead, as salvage does (the harness's runReconcile does not). */
  readonly readCandidates?: boolean;
}

/** One window over `lost`, read and decided as salvage.ts does, then written to the DR. */
function run(cfg: unknown, options: RunOptions = {}, inc = incident()): Run {
  const parsed = parseConfig(cfg);
  if (!parsed.ok) throw new Error(`configuration rejected: ${JSON.stringify(parsed.problems)}`);
  const rules = new RuleBook(parsed.config, options.strategies ?? {});
  const { dr, lost } = inc;
  const catalog = dr.catalog();
  const keyMap = new KeyMap();
  const r = new Reconciler(catalog, keyMap, new QuarantineIndex(), { rules, keepTransactionsWhole: options.keepTransactionsWhole ?? true });
  const changes = r.rewrite(lost.flatMap((tx) => tx.changes));
  for (const req of collectReads(changes, catalog, r.stateSet, options.readCandidates === false ? () => [] : (t) => r.rewriteTemplates(t))) {
    const state = r.state(req.table);
    state.load(dr.answer(req));
    if (req.purpose === 'pk') state.markReadKeys(req.asked);
    else state.markReadIndexKeys(req.purpose, req.asked);
  }
  for (const req of collectHolderChildReads(changes, catalog, r.stateSet, (t) => r.readsHolderChildren(t))) {
    const state = r.state(req.table);
    state.load(dr.answer(req));
    if (req.purpose !== 'pk') state.markReadIndexKeys(req.purpose, req.asked);
  }
  for (const name of [CUSTOMERS, ORDERS]) {
    const table = catalog.lookup(name);
    if (table === undefined || table.autoIncrement === null) continue;
    r.raiseKeyFloor(table, table.autoIncrement.next);
    const max = dr.maxKey(name);
    if (max !== null) r.raiseKeyFloor(table, max + 1n);
  }
  // The lost range's own largest ids (lost-range-scan.ts): customers 3, orders 2.
  r.raiseKeyFloor(catalog.lookup(CUSTOMERS)!, 4n);
  r.raiseKeyFloor(catalog.lookup(ORDERS)!, 3n);
  const results = lost.map((tx) => r.decide(tx));
  dr.apply(results.flatMap((x) => x.writes));
  return { dr, results, decisions: results.flatMap((x) => [...x.decisions]), keyMap };
}

const summary = (d: ChangeDecision): unknown[] => [d.table, d.op, d.class, d.outcome, d.newKey];
const REMAP = 'built-in.insert-pk-taken → remap';
const UNIQUE = 'tables."shop.customers".onConflict.insert-unique-taken';
const MET = 'its id is taken by a different DR record, and another DR row holds unique key uk_email';
const withUnique = (strategy: unknown, extra: Record<string, unknown> = {}): unknown => ({ tables: { [CUSTOMERS]: { ...extra, onConflict: { 'insert-unique-taken': strategy } } } });
/** tx4's customer, re-keyed to the id tx1 gave back. */
const FAY_REMAPPED = [CUSTOMERS, 'insert', 'insert-pk-taken', 'remapped', [4]];

describe('a re-keyed insert that meets a unique holder is decided by the insert-unique-taken rule', () => {
  it('built-in: quarantined, both steps in the rule path, the fresh id given back', () => {
    const { decisions, keyMap, dr } = run({ tables: {} });
    expect(decisions.map(summary)).toEqual([
      [CUSTOMERS, 'insert', 'insert-unique-taken', 'quarantined', null],
      [CUSTOMERS, 'update', 'row-quarantined', 'quarantined', null],
      [ORDERS, 'insert', 'parent-missing', 'quarantined', null],
      FAY_REMAPPED,
    ]);
    const d = decisions[0]!;
    expect([d.reason, d.rulePath, d.drRow, d.otherRow]).toEqual([MET, `${REMAP}; built-in.insert-unique-taken → quarantine`, DEE, EVE]);
    expect(keyMap.entries()).toEqual([{ schema: 'shop', table: 'customers', oldKey: [3], newKey: [4] }]);
    expect(dr.rows(CUSTOMERS)).toEqual([[1, 'ann@x', 'B0'], EVE, DEE, [4, 'fay@x', 'L2']]);
  });

  it('skip: skipped (its later changes held back), the fresh id given back', () => {
    const { decisions, keyMap, dr } = run(withUnique('skip'));
    expect(decisions.map(summary)).toEqual([
      [CUSTOMERS, 'insert', 'insert-unique-taken', 'skipped', null],
      [CUSTOMERS, 'update', 'row-quarantined', 'quarantined', null],
      [ORDERS, 'insert', 'parent-missing', 'quarantined', null],
      FAY_REMAPPED,
    ]);
    const d = decisions[0]!;
    expect([d.reason, d.rulePath, d.drRow, d.otherRow]).toEqual([`${MET}; the DR keeps its row (${UNIQUE})`, `${REMAP}; ${UNIQUE} → skip`, DEE, EVE]);
    expect(keyMap.entries()).toEqual([{ schema: 'shop', table: 'customers', oldKey: [3], newKey: [4] }]);
    expect(dr.rows(CUSTOMERS)).toEqual([[1, 'ann@x', 'B0'], EVE, DEE, [4, 'fay@x', 'L2']]);
  });

  it('link: mapped onto the holder and merged into it; its rename and order follow it there', () => {
    const { decisions, keyMap, dr, results } = run(withUnique('link', { naturalKey: ['email'] }));
    expect(decisions.map(summary)).toEqual([
      [CUSTOMERS, 'insert', 'insert-unique-taken', 'merged', [3]],
      [CUSTOMERS, 'update', 'update-diverged', 'merged', [3]],
      [ORDERS, 'insert', 'clean', 'applied', null],
      [CUSTOMERS, 'insert', 'insert-pk-taken', 'remapped', [4]],
    ]);
    const d = decisions[0]!;
    expect([d.reason, d.rulePath, d.drRow, d.otherRow]).toEqual([`${MET}; linked to the DR's 3 by natural key (email); same record changed on the DR since: kept the DR's id, email, name`, `${REMAP}; ${UNIQUE} → link`, DEE, EVE]);
    expect(results[0]!.remaps).toEqual([{ table: CUSTOMERS, oldKey: [2], newKey: [3], linked: true }]);
    expect(keyMap.entries()).toEqual([
      { schema: 'shop', table: 'customers', oldKey: [2], newKey: [3] },
      { schema: 'shop', table: 'customers', oldKey: [3], newKey: [4] },
    ]);
    expect(dr.rows(CUSTOMERS)).toEqual([[1, 'ann@x', 'B0'], EVE, DEE, [4, 'fay@x', 'L2']]);
    expect(dr.rows(ORDERS)).toEqual([[1, 1, 100], [2, 3, 101]]);
  });

  it('rewrite-unique: keeps the fresh id and rewrites the e-mail (remapped); its rename and order follow it', () => {
    const { decisions, keyMap, dr, results } = run(withUnique('rewrite-unique'));
    expect(decisions.map(summary)).toEqual([
      [CUSTOMERS, 'insert', 'insert-unique-taken', 'remapped', [4]],
      [CUSTOMERS, 'update', 'update-diverged', 'merged', [4]],
      [ORDERS, 'insert', 'clean', 'applied', null],
      [CUSTOMERS, 'insert', 'insert-pk-taken', 'remapped', [5]],
    ]);
    const d = decisions[0]!;
    expect([d.reason, d.rulePath, d.drRow, d.otherRow]).toEqual([
      `the DR gave id 2 to a different record: re-keyed to 4 in shop.customers, and another DR row holds unique key uk_email; unique value rewritten for review: email "dee@x" → "dee@x~salvaged-1" (${UNIQUE})`,
      `${REMAP}; ${UNIQUE} → rewrite-unique`,
      EVE,
      DEE,
    ]);
    expect(results[0]!.writes).toEqual([{ kind: 'insert', table: expect.objectContaining({ table: 'customers' }), row: [4, 'dee@x~salvaged-1', 'L0'] }]);
    expect(results[0]!.remaps).toEqual([{ table: CUSTOMERS, oldKey: [2], newKey: [4] }]);
    expect(keyMap.entries()).toEqual([
      { schema: 'shop', table: 'customers', oldKey: [2], newKey: [4] },
      { schema: 'shop', table: 'customers', oldKey: [3], newKey: [5] },
    ]);
    expect(dr.rows(CUSTOMERS)).toEqual([[1, 'ann@x', 'B0'], EVE, DEE, [4, 'dee@x~salvaged-1', 'L1'], [5, 'fay@x', 'L2']]);
    expect(dr.rows(ORDERS)).toEqual([[1, 1, 100], [2, 4, 101]]);
  });

  it('rewrite-unique that finds no free value: quarantined, and the fresh id goes back even with transactions decided row by row', () => {
    const { decisions, keyMap } = run(withUnique('rewrite-unique'), { readCandidates: false, keepTransactionsWhole: false });
    expect(decisions.map(summary)).toEqual([
      [CUSTOMERS, 'insert', 'insert-unique-taken', 'quarantined', null],
      [CUSTOMERS, 'update', 'row-quarantined', 'quarantined', null],
      [ORDERS, 'insert', 'parent-missing', 'quarantined', null],
      FAY_REMAPPED,
    ]);
    expect([decisions[0]!.reason, decisions[0]!.rulePath]).toEqual([`${MET}; rewrite-unique: the first 5 rewritten values of email are taken on the DR (${UNIQUE})`, `${REMAP}; ${UNIQUE} → rewrite-unique`]);
    expect(keyMap.entries()).toEqual([{ schema: 'shop', table: 'customers', oldKey: [3], newKey: [4] }]);
  });

  it('delete-blocking: archives and deletes the holder, keeps the fresh id (remapped)', () => {
    const { decisions, dr, results } = run(withUnique({ strategy: 'delete-blocking' }));
    expect(decisions.map(summary)).toEqual([
      [CUSTOMERS, 'insert', 'insert-unique-taken', 'remapped', [4]],
      [CUSTOMERS, 'update', 'clean', 'applied', [4]],
      [ORDERS, 'insert', 'clean', 'applied', null],
      // The DR's customer 3 is gone: the lost customer 3 meets no row at its id.
      [CUSTOMERS, 'insert', 'clean', 'applied', null],
    ]);
    const d = decisions[0]!;
    expect([d.reason, d.rulePath, d.drRow, d.otherRow]).toEqual([
      `the DR gave id 2 to a different record: re-keyed to 4 in shop.customers, and another DR row holds unique key uk_email; deleted the DR row 3 that held uk_email (archived), then applied the lost change (${UNIQUE})`,
      `${REMAP}; ${UNIQUE} → delete-blocking`,
      EVE,
      DEE,
    ]);
    expect(results[0]!.writes).toEqual([
      { kind: 'delete', table: expect.objectContaining({ table: 'customers' }), key: [3], archive: { change: changeLabel(results[0]!.tx, 0), role: 'blocking', row: DEE } },
      { kind: 'insert', table: expect.objectContaining({ table: 'customers' }), row: [4, 'dee@x', 'L0'] },
    ]);
    expect(dr.rows(CUSTOMERS)).toEqual([[1, 'ann@x', 'B0'], EVE, [3, 'fay@x', 'L2'], [4, 'dee@x', 'L1']]);
  });

  it('fail: stops the run, naming both steps', () => {
    expect(() => run(withUnique('fail'))).toThrow(expect.objectContaining({ code: 'RECONCILE_RULE_FAIL', message: `shop.customers 2: insert-unique-taken — the configuration says stop here (${REMAP}; ${UNIQUE} → fail)` }));
  });

  it('custom: the function sees the change at its fresh id beside the holder, and its choice is carried out', () => {
    const seen: CustomStrategyContext[] = [];
    const strategies: CustomStrategies = {
      pick: (ctx) => {
        seen.push(ctx);
        return 'link';
      },
    };
    const { decisions, keyMap } = run(withUnique({ strategy: 'custom', name: 'pick' }, { naturalKey: ['email'] }), { strategies });
    expect(seen.map((c) => [c.class, c.key, c.after, c.dr, c.uniqueKey, c.uniqueHolder, c.rulePath])).toEqual([
      ['insert-unique-taken', [2], { id: 4, email: 'dee@x', name: 'L0' }, null, 'uk_email', { id: 3, email: 'DEE@X', name: 'D1' }, UNIQUE],
    ]);
    expect(decisions.map(summary).slice(0, 1)).toEqual([[CUSTOMERS, 'insert', 'insert-unique-taken', 'merged', [3]]]);
    expect(decisions[0]!.rulePath).toBe(`${REMAP}; ${UNIQUE} → custom pick → link`);
    expect(keyMap.entries()[0]).toEqual({ schema: 'shop', table: 'customers', oldKey: [2], newKey: [3] });
  });

  it('a custom insert-pk-taken rule that re-keys hands on the same way: both custom steps in the path', () => {
    const strategies: CustomStrategies = { rekey: () => 'remap', keep: () => ({ strategy: 'skip', reason: 'reviewed: not ours' }) };
    const cfg = { tables: { [CUSTOMERS]: { onConflict: { 'insert-pk-taken': { strategy: 'custom', name: 'rekey' }, 'insert-unique-taken': { strategy: 'custom', name: 'keep' } } } } };
    const { decisions } = run(cfg, { strategies });
    const pk = 'tables."shop.customers".onConflict.insert-pk-taken';
    expect(decisions.map(summary)[0]).toEqual([CUSTOMERS, 'insert', 'insert-unique-taken', 'skipped', null]);
    expect([decisions[0]!.reason, decisions[0]!.rulePath]).toEqual([`${MET}; reviewed: not ours (${UNIQUE} → custom keep → skip)`, `${pk} → custom rekey → remap; ${UNIQUE} → custom keep → skip`]);
    expect(decisions[3]!.rulePath).toBe(`${pk} → custom rekey → remap`);
  });

  it('the holder is the DR record at its own id: link merges into it at that id, kept in the key map as a link in place', () => {
    const inc = incident();
    inc.lost.splice(0, inc.lost.length, transaction(1, [change('insert', CUSTOMERS, null, [2, 'eve@x', 'L0'])]));
    const { decisions, keyMap } = run(withUnique('link', { naturalKey: ['email'] }), {}, inc);
    expect(decisions.map(summary)).toEqual([[CUSTOMERS, 'insert', 'insert-unique-taken', 'merged', [2]]]);
    expect([decisions[0]!.rulePath, decisions[0]!.drRow, decisions[0]!.otherRow]).toEqual([`${REMAP}; ${UNIQUE} → link`, EVE, null]);
    expect(keyMap.entries()).toEqual([{ schema: 'shop', table: 'customers', oldKey: [2], newKey: [2] }]);
    expect(keyMap.isLinkedInPlace('shop', 'customers', [2])).toBe(true);
  });
});
