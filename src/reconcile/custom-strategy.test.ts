/**
 * Custom strategies without a database: the in-memory DR of test/harness/in-memory-dr.ts, one
 * table, a configuration naming a function, and what that function sees and returns.
 */
import { describe, expect, it } from 'vitest';
import type { ColumnDef, RowImage } from '../binlog/column.js';
import { ColumnType } from '../binlog/column-types.js';
import type { RowChange, TableMap } from '../binlog/event.js';
import { parseConfig } from '../config/normalise.js';
import type { ColumnSchema, TableSchema } from '../model/table-schema.js';
import { InMemoryDr, runReconcile } from '../../test/harness/in-memory-dr.js';
import { transaction } from '../../test/harness/incident-model.js';
import { CustomStrategyErrorCode, type CustomStrategies, type CustomStrategyContext } from './custom-strategy.js';
import { RuleBook } from './rules.js';
import { columnSchema } from '../../test/harness/column-schema.js';

function column(name: string, ordinal: number, text: boolean): ColumnSchema {
  return columnSchema(name, ordinal, text, text ? { columnType: 'varchar(40)' } : {});
}

const ACCT: TableSchema = {
  schema: 'shop',
  table: 'acct',
  columns: [column('id', 1, false), column('email', 2, true), column('name', 3, true), column('n', 4, false)],
  primaryKey: ['id'],
  uniqueKeys: [{ name: 'uk_email', columns: ['email'] }],
  foreignKeys: [],
  autoIncrement: null,
  engine: 'InnoDB',
};
const MAP: TableMap = {
  tableId: 7,
  schema: 'shop',
  table: 'acct',
  flags: 1,
  columns: ACCT.columns.map((c, index): ColumnDef => {
    const type = c.dataType === 'int' ? ColumnType.LONG : ColumnType.VARCHAR;
    return { index, name: c.name, type, binlogType: type, meta: c.dataType === 'int' ? 0 : 160, nullable: false, unsigned: false, collation: c.collationId, enumLabels: null, setLabels: null, geometryType: null, isJson: false, visible: true };
  }),
  primaryKey: [0],
  metadata: 'full',
};
const RULE = 'tables."shop.acct".onConflict.update-diverged';
const CUSTOM = { tables: { 'shop.acct': { onConflict: { 'update-diverged': { strategy: 'custom', name: 'vip' } } } } };

function rules(input: unknown, strategies: CustomStrategies): RuleBook {
  const r = parseConfig(input);
  if (!r.ok) throw new Error(JSON.stringify(r.problems));
  return new RuleBook(r.config, strategies);
}

/** The DR holds row 1 changed by the DR (name D); the lost change renamed it to L and set n to 5. */
function diverged(strategies: CustomStrategies): { dr: InMemoryDr; run: () => ReturnType<typeof runReconcile> } {
  const dr = new InMemoryDr([ACCT]);
  dr.insert('shop.acct', [1, 'ann@x', 'D', 0]);
  const before: RowImage = [1, 'ann@x', 'B', 0];
  const after: RowImage = [1, 'ann@x', 'L', 5];
  const tx = transaction(1, [{ op: 'update', table: MAP, before, after, eventOffset: 40 } satisfies RowChange]);
  return { dr, run: () => runReconcile(dr, [tx], { windowSize: 1, mode: 'apply', rules: rules(CUSTOM, strategies) }) };
}

function errorOf(f: () => unknown): unknown {
  try {
    f();
  } catch (e) {
    return e;
  }
  throw new Error('expected a throw');
}

describe('custom strategies', () => {
  it('the function sees the classified change in canonical values and its decision is carried out; the ledger records the path it took', () => {
    const seen: CustomStrategyContext[] = [];
    const { dr, run } = diverged({
      vip: (ctx) => {
        seen.push(ctx);
        return 'source';
      },
    });
    const { decisions } = run();
    expect(seen).toEqual([
      {
        class: 'update-diverged',
        table: 'shop.acct',
        op: 'update',
        columns: ['id', 'email', 'name', 'n'],
        key: [1],
        before: { id: 1, email: 'ann@x', name: 'B', n: 0 },
        after: { id: 1, email: 'ann@x', name: 'L', n: 5 },
        dr: { id: 1, email: 'ann@x', name: 'D', n: 0 },
        uniqueKey: null,
        uniqueHolder: null,
        differsFromBefore: ['name'],
        differsFromAfter: ['name', 'n'],
        change: '3e11fa47-71ca-11e1-9e33-c80aa9429562:1#0',
        rulePath: RULE,
      },
    ]);
    expect(dr.rows('shop.acct')).toEqual([[1, 'ann@x', 'L', 5]]);
    expect(decisions.map((d) => [d.class, d.outcome, d.rulePath, d.reason])).toEqual([
      ['update-diverged', 'applied', `${RULE} → custom vip → source`, `the lost change wins (${RULE} → custom vip → source)`],
    ]);
  });

  it('an option object: { strategy: "merge", bothChanged: "source" }', () => {
    const { dr, run } = diverged({ vip: () => ({ strategy: 'merge', bothChanged: 'source' }) });
    const { decisions } = run();
    expect(dr.rows('shop.acct')).toEqual([[1, 'ann@x', 'L', 5]]);
    expect(decisions.map((d) => [d.outcome, d.rulePath])).toEqual([['merged', `${RULE} → custom vip → merge`]]);
  });

  it('source with an edited row: the edited values are written, the reason says which columns', () => {
    const { dr, run } = diverged({ vip: (ctx) => ({ strategy: 'source', row: { name: `${String(ctx.dr?.['name'])}+${String(ctx.after?.['name'])}` } }) });
    const { decisions } = run();
    expect(dr.rows('shop.acct')).toEqual([[1, 'ann@x', 'D+L', 5]]);
    expect(decisions.map((d) => [d.outcome, d.reason])).toEqual([['applied', `custom vip edited name; the lost change wins (${RULE} → custom vip → source)`]]);
  });

  it('quarantine with a reason, and skip: nothing written', () => {
    const q = diverged({ vip: () => ({ strategy: 'quarantine', reason: 'VIP accounts are reviewed by hand' }) });
    expect(q.run().decisions.map((d) => [d.outcome, d.reason])).toEqual([['quarantined', `VIP accounts are reviewed by hand (${RULE} → custom vip → quarantine)`]]);
    expect(q.dr.rows('shop.acct')).toEqual([[1, 'ann@x', 'D', 0]]);
    const s = diverged({ vip: () => 'skip' });
    expect(s.run().decisions.map((d) => d.outcome)).toEqual(['skipped']);
    expect(s.dr.rows('shop.acct')).toEqual([[1, 'ann@x', 'D', 0]]);
  });

  it('a function that throws: RECONCILE_CUSTOM_THREW naming the rule and the change, its error as the cause', () => {
    const boom = new Error('no VIP table');
    const e = errorOf(() =>
      diverged({
        vip: () => {
          throw boom;
        },
      }).run(),
    );
    expect(e).toMatchObject({
      code: CustomStrategyErrorCode.Threw,
      message: `custom strategy "vip" (${RULE}) on shop.acct 1 (update at 3e11fa47-71ca-11e1-9e33-c80aa9429562:1#0) threw: no VIP table`,
      details: { table: 'shop.acct', key: '1', strategy: 'vip', rule: RULE },
      cause: boom,
    });
  });

  it.each([
    ['a number', () => 42, '42: expected a decision such as "skip" or { strategy: "merge" }'],
    ['undefined', () => undefined, 'undefined: expected a decision such as "skip" or { strategy: "merge" }'],
    ['a Promise', () => Promise.resolve('skip'), '{}: a Promise; a custom strategy decides synchronously'],
    ['a strategy the class does not allow', () => 'remap', '"remap": "remap" does not apply to update-diverged; expected one of "merge", "source", "skip", "newest", "oldest", "max", "min", "delta", "quarantine", "fail"'],
    ['an unknown name', () => 'mege', '"mege": not a decision:\n✖ unknown strategy "mege"; did you mean "merge"?'],
    ['an unknown option', () => ({ strategy: 'merge', bogus: 1 }), '{"strategy":"merge","bogus":1}: not a decision:\n✖ unknown setting "bogus" → at bogus'],
    ['a bare newest', () => 'newest', '"newest": "newest" needs a column to compare: return { strategy: "newest", column: "…" }'],
    ['another custom strategy', () => ({ strategy: 'custom', name: 'vip' }), '{"strategy":"custom","name":"vip"}: a custom strategy returns a built-in decision, not another custom one'],
    ['a row with merge', () => ({ strategy: 'merge', row: { name: 'x' } }), '{"strategy":"merge","row":{"name":"x"}}: "row" goes with { strategy: "source" } only'],
    ['a row naming no column', () => ({ strategy: 'source', row: { nom: 'x' } }), '{"strategy":"source","row":{"nom":"x"}}: "row" names "nom", which is not a column of shop.acct'],
    ['a row with a wrong type', () => ({ strategy: 'source', row: { n: 'many' } }), '{"strategy":"source","row":{"n":"many"}}: "row": column n (int(11)): expected an integer, found "many"'],
    // zod named a wrong type by `constructor.name` used as a key: a TypeError, not this error (the configuration fuzz's find).
    ['a column whose "constructor" is no class', () => ({ strategy: 'max', column: Object.assign(Object.create(null) as object, { constructor: { name: Object.create(null) as object } }) }), '{"strategy":"max","column":{"constructor":{"name":{}}}}: not a decision:\n✖ Invalid input: expected string, received object → at column'],
  ])('returns %s: RECONCILE_CUSTOM_BAD_DECISION, saying what was wrong', (_what, fn, why) => {
    const e = errorOf(() => diverged({ vip: fn as never }).run());
    expect(e).toMatchObject({ code: CustomStrategyErrorCode.BadDecision, details: { strategy: 'vip', rule: RULE } });
    expect((e as Error).message).toBe(`custom strategy "vip" (${RULE}) on shop.acct 1 (update at 3e11fa47-71ca-11e1-9e33-c80aa9429562:1#0) returned ${why}`);
  });

  it('a configuration naming a function nobody gave: RECONCILE_CUSTOM_MISSING before anything runs', () => {
    expect(() => rules(CUSTOM, {})).toThrow(
      expect.objectContaining({
        code: CustomStrategyErrorCode.Missing,
        message: `the configuration names custom strategies no function was given for: "vip" at ${RULE} (none were given; pass them as "strategies" to the library call or export them from a .mjs/.ts configuration)`,
      }),
    );
    expect(() => rules(CUSTOM, { other: () => 'skip' })).toThrow(expect.objectContaining({ message: expect.stringContaining('(given: "other";') }));
  });

  it('the configuration: "custom" needs a name, fits every class, and is no column strategy', () => {
    const problems = (input: unknown): unknown => {
      const r = parseConfig(input);
      return r.ok ? [] : r.problems;
    };
    expect(problems({ defaults: { onConflict: { 'update-pk-reused': 'custom' } } })).toEqual([
      { message: '"custom" needs the name of a function: write { "strategy": "custom", "name": "myRule" }', path: ['defaults', 'onConflict', 'update-pk-reused'] },
    ]);
    expect(problems({ defaults: { onConflict: { clean: { strategy: 'custom', name: 'x' }, 'update-pk-reused': { strategy: 'custom', name: 'y' } } } })).toEqual([]);
    expect(problems({ tables: { 'a.b': { columns: { n: { strategy: 'custom', name: 'x' } } } } })).toEqual([
      { message: '"custom" decides whole rows, not a column; expected one of "source", "skip", "newest", "oldest", "max", "min", "delta"', path: ['tables', 'a.b', 'columns', 'n'] },
    ]);
  });
});
