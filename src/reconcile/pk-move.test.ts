/**
 * A lost update that changes its row's primary key onto a key another DR row holds: a primary key is
 * a unique key, so it is update-unique-taken with the holder recorded (DESIGN.md "Conflict taxonomy"),
 * and its rule decides it — it used to be classed `clean` and quarantined by the key-change guard, so
 * no rule could target it. Strategies that cannot carry out such a move refuse it with their reason;
 * nothing overwrites the holder. The moved row is held at its new key too, so its later changes and
 * the children that point at it wait with it, and a child's parent-missing reason names the change.
 *
 * The incident: customers 1 ann@x and 2 bob@x (base); after the failover the DR inserted 5 eve@x.
 * Lost: tx1 moves customer 2 to id 5; tx2 renames it at 5; tx3 inserts its order 7 pointing at 5.
 */
import { describe, expect, it } from 'vitest';
import type { RowImage } from '../binlog/column.js';
import type { RowChange, TableMap } from '../binlog/event.js';
import { parseConfig } from '../config/normalise.js';
import { InMemoryDr, runReconcile } from '../../test/harness/in-memory-dr.js';
import { CUSTOMERS, ORDERS, TABLES, transaction } from '../../test/harness/incident-model.js';
import type { DrHistory, RowHistory } from '../model/dr-history.js';
import { rowKey } from '../model/row-key.js';
import { classifyChange } from './classify.js';
import type { CustomStrategies, CustomStrategyContext } from './custom-strategy.js';
import type { ChangeDecision } from '../model/decision.js';
import { KeyMap } from './key-map.js';
import { changeLabel } from './reconciler.js';
import { RuleBook } from './rules.js';

const mapOf = (table: string): TableMap => ({ tableId: table === CUSTOMERS ? 1 : 2, schema: 'shop', table: table.slice(5), flags: 1, columns: [], primaryKey: [0], metadata: 'none' });
let offset = 0;
const change = (op: RowChange['op'], table: string, before: RowImage | null, after: RowImage | null): RowChange => ({ op, table: mapOf(table), before, after, eventOffset: (offset += 40) });

const EVE: RowImage = [5, 'eve@x', 'Eve'];

function incident(): InMemoryDr {
  const dr = new InMemoryDr(TABLES);
  dr.insert(CUSTOMERS, [1, 'ann@x', 'Ann']);
  dr.insert(CUSTOMERS, [2, 'bob@x', 'Bob']);
  dr.insert(CUSTOMERS, EVE);
  dr.setAutoIncrement(CUSTOMERS, 6n);
  return dr;
}

const LOST = [
  transaction(1, [change('update', CUSTOMERS, [2, 'bob@x', 'Bob'], [5, 'bob@x', 'Bob'])]),
  transaction(2, [change('update', CUSTOMERS, [5, 'bob@x', 'Bob'], [5, 'bob@x', 'Robert'])]),
  transaction(3, [change('insert', ORDERS, null, [7, 5, 100])]),
];

function rules(cfg: unknown, strategies: CustomStrategies = {}): RuleBook {
  const parsed = parseConfig(cfg);
  if (!parsed.ok) throw new Error(`configuration rejected: ${JSON.stringify(parsed.problems)}`);
  return new RuleBook(parsed.config, strategies);
}

function run(cfg: unknown = {}, strategies: CustomStrategies = {}): { dr: InMemoryDr; decisions: ChangeDecision[] } {
  const dr = incident();
  const { decisions } = runReconcile(dr, LOST, { windowSize: 1, mode: 'apply', rules: rules(cfg, strategies) });
  return { dr, decisions };
}

const line = (d: ChangeDecision): unknown[] => [d.table, d.op, d.class, d.outcome, d.reason, d.rulePath];
const UNTOUCHED = [
  [1, 'ann@x', 'Ann'],
  [2, 'bob@x', 'Bob'],
  [5, 'eve@x', 'Eve'],
];
/** tx1's change, as reasons and origins name it. */
const TX1 = changeLabel(LOST[0]!, 0);
/** tx2 and tx3, held with tx1 whatever tx1's rule chose. */
const HELD_AFTER = [
  [CUSTOMERS, 'update', 'row-quarantined', 'quarantined', `an earlier change of this row is quarantined (${TX1})`, undefined],
  [ORDERS, 'insert', 'parent-missing', 'quarantined', `its parent shop.customers 5 is quarantined (${TX1})`, 'built-in.parent-missing'],
];

describe('a lost primary-key change onto a key the DR holds', () => {
  it('is update-unique-taken with the holder recorded, and its rule decides it (built-in: quarantine)', () => {
    const { dr, decisions } = run();
    expect(decisions.map(line)).toEqual([[CUSTOMERS, 'update', 'update-unique-taken', 'quarantined', 'another DR row already holds the new primary key of the row', 'built-in.update-unique-taken'], ...HELD_AFTER]);
    // The holder is the DR row the decision shows; the row at the old key beside it.
    expect(decisions[0]!.drRow).toEqual(EVE);
    expect(decisions[0]!.otherRow).toEqual([2, 'bob@x', 'Bob']);
    expect(decisions[0]!.holds).toEqual([
      [CUSTOMERS, 'I2'],
      [CUSTOMERS, 'I5'],
    ]);
    // The order's origin is the move that would make its parent.
    expect(decisions[2]!.origin).toBe(TX1);
    expect(dr.rows(CUSTOMERS)).toEqual(UNTOUCHED);
    expect(dr.rows(ORDERS)).toEqual([]);
  });

  it.each([
    ['skip', 'skip: the lost row would stay at its old key while its later changes name the new one, held by another DR row'],
    ['rewrite-unique', 'rewrite-unique: rewrites a unique value by a template; it does not make up a primary key, and the new primary key of the row is held by another DR row'],
    ['delete-blocking', 'delete-blocking: deletes DR rows that hold a unique value, not the DR record at the primary key the lost row moves to'],
  ])('%s cannot carry out such a move: quarantined with its reason, the holder untouched', (strategy, reason) => {
    const path = 'tables."shop.customers".onConflict.update-unique-taken';
    const { dr, decisions } = run({ tables: { [CUSTOMERS]: { onConflict: { 'update-unique-taken': strategy } } } });
    expect(decisions.map(line)).toEqual([[CUSTOMERS, 'update', 'update-unique-taken', 'quarantined', `${reason} (${path})`, path], ...HELD_AFTER]);
    expect(decisions[0]!.drRow).toEqual(EVE);
    expect(dr.rows(CUSTOMERS)).toEqual(UNTOUCHED);
    expect(dr.rows(ORDERS)).toEqual([]);
    expect(dr.violations()).toEqual([]);
  });

  it('a custom function is told the key is PRIMARY, and a skip it returns is refused as the configured one is', () => {
    const seen: unknown[] = [];
    const strategies: CustomStrategies = {
      keep: (ctx: CustomStrategyContext) => {
        seen.push([ctx.class, ctx.uniqueKey, ctx.uniqueHolder, ctx.dr]);
        return 'skip';
      },
    };
    const path = 'tables."shop.customers".onConflict.update-unique-taken → custom keep → skip';
    const { dr, decisions } = run({ tables: { [CUSTOMERS]: { onConflict: { 'update-unique-taken': { strategy: 'custom', name: 'keep' } } } } }, strategies);
    expect(seen).toEqual([['update-unique-taken', 'PRIMARY', { id: 5, email: 'eve@x', name: 'Eve' }, { id: 2, email: 'bob@x', name: 'Bob' }]]);
    expect(decisions.map(line)[0]).toEqual([CUSTOMERS, 'update', 'update-unique-taken', 'quarantined', `skip: the lost row would stay at its old key while its later changes name the new one, held by another DR row (${path})`, path]);
    expect(dr.rows(CUSTOMERS)).toEqual(UNTOUCHED);
  });

  it('a move onto a free key is clean and applied; its later changes and children follow it', () => {
    const dr = incident();
    dr.delete(CUSTOMERS, [5]);
    const { decisions } = runReconcile(dr, LOST, { windowSize: 1, mode: 'apply' });
    expect(decisions.map((d) => [d.op, d.class, d.outcome])).toEqual([
      ['update', 'clean', 'applied'],
      ['update', 'clean', 'applied'],
      ['insert', 'clean', 'applied'],
    ]);
    expect(dr.rows(CUSTOMERS)).toEqual([
      [1, 'ann@x', 'Ann'],
      [5, 'bob@x', 'Robert'],
    ]);
    expect(dr.rows(ORDERS)).toEqual([[7, 5, 100]]);
  });

  it('a move of a row the DR changed since (update-diverged) is merged at the new key: the move was dropped, its later changes then missed the row', () => {
    const dr = incident();
    dr.delete(CUSTOMERS, [5]);
    dr.update(CUSTOMERS, [2], { name: 'Bobby' });
    const lost = [LOST[0]!, transaction(2, [change('update', CUSTOMERS, [5, 'bob@x', 'Bob'], [5, 'rob@x', 'Bob'])]), LOST[2]!];
    const { decisions } = runReconcile(dr, lost, { windowSize: 1, mode: 'apply' });
    expect(decisions.map((d) => [d.op, d.class, d.outcome, d.reason])).toEqual([
      ['update', 'update-diverged', 'merged', 'three-way merge: took id from the lost change'],
      ['update', 'update-diverged', 'merged', 'three-way merge: took email from the lost change'],
      ['insert', 'clean', 'applied', null],
    ]);
    expect(dr.rows(CUSTOMERS)).toEqual([
      [1, 'ann@x', 'Ann'],
      [5, 'rob@x', 'Bobby'],
    ]);
    expect(dr.rows(ORDERS)).toEqual([[7, 5, 100]]);
  });

  it('source carries the move out too; a DR row pointing at the old key holds it (key-change guard), the row held at both keys', () => {
    const moved = incident();
    moved.delete(CUSTOMERS, [5]);
    moved.update(CUSTOMERS, [2], { name: 'Bobby' });
    const a = runReconcile(moved, [LOST[0]!], { windowSize: 1, mode: 'apply', rules: rules({ tables: { [CUSTOMERS]: { onConflict: { 'update-diverged': 'source' } } } }) });
    expect(a.decisions.map((d) => [d.class, d.outcome])).toEqual([['update-diverged', 'applied']]);
    expect(moved.rows(CUSTOMERS)).toEqual([
      [1, 'ann@x', 'Ann'],
      [5, 'bob@x', 'Bob'],
    ]);
    const guarded = incident();
    guarded.delete(CUSTOMERS, [5]);
    guarded.update(CUSTOMERS, [2], { name: 'Bobby' });
    guarded.insert(ORDERS, [3, 2, 30]);
    const { decisions } = runReconcile(guarded, LOST, { windowSize: 1, mode: 'apply' });
    expect(decisions.map((d) => [d.op, d.class, d.outcome, d.reason])).toEqual([
      ['update', 'update-diverged', 'quarantined', '1 row(s) of shop.orders still point at it (fk_customer, ON UPDATE RESTRICT)'],
      ['update', 'row-quarantined', 'quarantined', `an earlier change of this row is quarantined (${TX1})`],
      ['insert', 'parent-missing', 'quarantined', `its parent shop.customers 5 is quarantined (${TX1})`],
    ]);
    expect(guarded.rows(CUSTOMERS)).toEqual([
      [1, 'ann@x', 'Ann'],
      [2, 'bob@x', 'Bobby'],
    ]);
    expect(guarded.rows(ORDERS)).toEqual([[3, 2, 30]]);
  });

  it('classify: the DR row at the new key is the holder, under the key name PRIMARY', () => {
    const schema = incident().catalog().lookup(CUSTOMERS)!;
    const c = classifyChange({ change: LOST[0]!.changes[0]!, schema, drRowByPk: [2, 'bob@x', 'Bob'], drRowAtNewPk: EVE, drRowsByUnique: [], pkIsAutoIncrement: true });
    expect([c.class, c.uniqueKey, c.uniqueHolder, c.drRow]).toEqual(['update-unique-taken', 'PRIMARY', EVE, [2, 'bob@x', 'Bob']]);
    // Without the row at the new key (what the window gave before): clean.
    expect(classifyChange({ change: LOST[0]!.changes[0]!, schema, drRowByPk: [2, 'bob@x', 'Bob'], drRowsByUnique: [], pkIsAutoIncrement: true }).class).toBe('clean');
  });
});

/**
 * A move the DR holds already — nothing at the old key, the after image at the new one (an earlier
 * partial recovery wrote it, or this is a re-run) — is already-applied and skipped, as the other
 * already-applied cases are; it was update-missing and quarantined. The row's later changes then
 * follow it at the new key.
 */
describe('a lost primary-key change the DR already holds', () => {
  function moved(): InMemoryDr {
    const dr = new InMemoryDr(TABLES);
    dr.insert(CUSTOMERS, [1, 'ann@x', 'Ann']);
    dr.insert(CUSTOMERS, [5, 'bob@x', 'Bob']);
    dr.setAutoIncrement(CUSTOMERS, 6n);
    return dr;
  }

  /** A complete history in which the DR wrote only `rows` (key → entry) of shop.customers. */
  function historyOf(rows: ReadonlyMap<string, RowHistory>): DrHistory {
    const none = undefined;
    return {
      complete: true,
      untracked: new Map(),
      row: (table: string, pk: string) => (table === CUSTOMERS ? rows.get(pk) : none),
      uniqueInserted: () => none,
      prepare: () => Promise.resolve(),
      close: () => Promise.resolve(),
    } as unknown as DrHistory;
  }

  it('is already-applied and skipped, the DR row at the new key shown; its later changes and children follow it', () => {
    const dr = moved();
    const { decisions } = runReconcile(dr, LOST, { windowSize: 1, mode: 'apply' });
    expect(decisions.map((d) => [d.op, d.class, d.outcome, d.reason])).toEqual([
      ['update', 'already-applied', 'skipped', 'already on the DR'],
      ['update', 'clean', 'applied', null],
      ['insert', 'clean', 'applied', null],
    ]);
    expect(decisions[0]!.drRow).toEqual([5, 'bob@x', 'Bob']);
    expect(dr.rows(CUSTOMERS)).toEqual([
      [1, 'ann@x', 'Ann'],
      [5, 'bob@x', 'Robert'],
    ]);
    expect(dr.rows(ORDERS)).toEqual([[7, 5, 100]]);
  });

  it('in one window too (the window reads the new key with the old)', () => {
    const dr = moved();
    const { decisions } = runReconcile(dr, LOST, { windowSize: 100, mode: 'apply' });
    expect(decisions.map((d) => [d.op, d.class, d.outcome])).toEqual([
      ['update', 'already-applied', 'skipped'],
      ['update', 'clean', 'applied'],
      ['insert', 'clean', 'applied'],
    ]);
    expect(dr.rows(CUSTOMERS)).toEqual([
      [1, 'ann@x', 'Ann'],
      [5, 'bob@x', 'Robert'],
    ]);
  });

  it("with a complete DR history that never saw either key (the engine's own writes are not history): already-applied", () => {
    const dr = moved();
    const { decisions } = runReconcile(dr, [LOST[0]!], { windowSize: 1, mode: 'apply', history: historyOf(new Map()) });
    expect(decisions.map((d) => [d.class, d.outcome, d.withoutHistory])).toEqual([['already-applied', 'skipped', false]]);
  });

  it('a row the DR put at the new key itself (its history) is its own record whatever its values: not already-applied', () => {
    const inserted: RowHistory = { insertedByDr: true, existedAtFailover: false, deletedByDr: false, changedColumns: new Set(), first: '0-2-1', last: '0-2-1' };
    const dr = moved();
    const { decisions } = runReconcile(dr, [LOST[0]!], { windowSize: 1, mode: 'apply', history: historyOf(new Map([[rowKey([5]), inserted]])) });
    expect(decisions.map((d) => [d.class, d.outcome])).toEqual([['update-never-existed', 'quarantined']]);
    expect(dr.rows(CUSTOMERS)).toEqual([
      [1, 'ann@x', 'Ann'],
      [5, 'bob@x', 'Bob'],
    ]);
  });

  it('a row this engine re-keyed another lost row onto (the key map) is another record: not already-applied', () => {
    const keyMap = new KeyMap();
    keyMap.set('shop', 'customers', [9], [5]);
    const dr = moved();
    const { decisions } = runReconcile(dr, [LOST[0]!], { windowSize: 1, mode: 'apply', keyMap });
    expect(decisions.map((d) => [d.class, d.outcome])).toEqual([['update-missing', 'quarantined']]);
    expect(dr.rows(CUSTOMERS)).toEqual([
      [1, 'ann@x', 'Ann'],
      [5, 'bob@x', 'Bob'],
    ]);
  });

  it('classify: no row at the old key, the after image at the new one', () => {
    const schema = moved().catalog().lookup(CUSTOMERS)!;
    const c = classifyChange({ change: LOST[0]!.changes[0]!, schema, drRowByPk: null, drRowAtNewPk: [5, 'bob@x', 'Bob'], drRowsByUnique: [], pkIsAutoIncrement: true });
    expect([c.class, c.drRow]).toEqual(['already-applied', [5, 'bob@x', 'Bob']]);
    // A different row there: the move is not on the DR.
    expect(classifyChange({ change: LOST[0]!.changes[0]!, schema, drRowByPk: null, drRowAtNewPk: [5, 'bob@x', 'Bobby'], drRowsByUnique: [], pkIsAutoIncrement: true }).class).toBe('update-missing');
  });
});
