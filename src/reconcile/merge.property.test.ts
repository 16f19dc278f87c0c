/**
 * The merge laws (issue 4, "Done when"), pure, no database: on threeWayMerge itself with typed
 * values (DECIMAL text, BIGINT beyond 2^53 as number or bigint, NULLs, partial images), on
 * applyDelta, and on the reconciler's merge path (test/harness/in-memory-dr.ts runReconcile with a
 * RuleBook built from a configuration as users write it). Then determinism (same inputs and
 * configuration → byte-identical ledger) and monotone strictness (replacing any strategy by
 * `quarantine` never modifies more DR rows) over generated incidents (test/harness/incident-model.ts).
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { ColumnDef, ColumnValue, RowImage } from '../binlog/column.js';
import { ColumnType } from '../binlog/column-types.js';
import type { RowChange, TableMap } from '../binlog/event.js';
import { parseConfig } from '../config/normalise.js';
import { ALLOWED_STRATEGIES, type ConflictClass, type StrategyName } from '../config/schema.js';
import type { ColumnSchema, TableSchema } from '../model/table-schema.js';
import { EngineError } from '../errors.js';
import { ledgerLine, ledgerLineText } from '../sink/ledger-entry.js';
import { InMemoryDr, runReconcile, type DrSnapshot } from '../../test/harness/in-memory-dr.js';
import { CUSTOMERS, NOTES, ORDERS, buildIncident, incidentArbitrary, transaction, type Incident } from '../../test/harness/incident-model.js';
import { applyDelta } from './column-math.js';
import type { TransactionResult } from '../model/decision.js';
import { threeWayMerge, type ConflictPolicy } from './merge.js';
import { changeLabel } from './reconciler.js';
import { RuleBook } from './rules.js';
import { sameValue } from './value-equality.js';
import { columnSchema } from '../../test/harness/column-schema.js';

/** Kept small so the file runs in seconds; MERGE_PROPERTY_RUNS=5000 searches deeper, MERGE_PROPERTY_SEED elsewhere. */
const RUNS = Number(process.env['MERGE_PROPERTY_RUNS'] ?? 200);
/** Fixed, so a run is reproducible and the `it.fails` properties fail every time. */
const SEED = Number(process.env['MERGE_PROPERTY_SEED'] ?? 20240611);

// ---------------------------------------------------------------------------------------------
// A typed table: id, text (one case-insensitive), an address pair, DECIMAL(12,2), BIGINT, a nullable note.

function column(name: string, ordinal: number, dataType: string, columnType: string, nullable = false): ColumnSchema {
  return columnSchema(name, ordinal, dataType === 'varchar', { dataType, columnType, nullable });
}

const COLUMNS: readonly ColumnSchema[] = [
  column('id', 1, 'int', 'int(11)'),
  column('name', 2, 'varchar', 'varchar(20)'),
  column('street', 3, 'varchar', 'varchar(20)'),
  column('city', 4, 'varchar', 'varchar(20)'),
  column('amount', 5, 'decimal', 'decimal(12,2)'),
  column('hits', 6, 'bigint', 'bigint(20)'),
  column('note', 7, 'varchar', 'varchar(20)', true),
];
const NAMES = COLUMNS.map((c) => c.name);
const ACCT: TableSchema = { schema: 'shop', table: 'acct', columns: COLUMNS, primaryKey: ['id'], uniqueKeys: [], foreignKeys: [], autoIncrement: null, engine: 'InnoDB' };

function typeOf(c: ColumnSchema): { type: number; meta: number } {
  if (c.dataType === 'decimal') return { type: ColumnType.NEWDECIMAL, meta: 12 * 256 + 2 };
  if (c.dataType === 'bigint') return { type: ColumnType.LONGLONG, meta: 0 };
  if (c.dataType === 'int') return { type: ColumnType.LONG, meta: 0 };
  return { type: ColumnType.VARCHAR, meta: 80 };
}

function tableMap(t: TableSchema): TableMap {
  const columns: ColumnDef[] = t.columns.map((c, index) => {
    const { type, meta } = typeOf(c);
    return { index, name: c.name, type, binlogType: type, meta, nullable: c.nullable, unsigned: false, collation: c.collationId, enumLabels: null, setLabels: null, geometryType: null, isJson: false, visible: true };
  });
  return { tableId: 7, schema: t.schema, table: t.table, flags: 1, columns, primaryKey: [0], metadata: 'full' };
}
const ACCT_MAP = tableMap(ACCT);

const BIG = 9_007_199_254_740_993n; // 2^53 + 1: not a double
const cellOf: readonly fc.Arbitrary<ColumnValue>[] = [
  fc.constant(1),
  fc.constantFrom('ann', 'bob', 'cy'),
  fc.constantFrom('Main St', 'Side St', 'High St'),
  fc.constantFrom('Oslo', 'Bergen', 'Trondheim'),
  fc.constantFrom('100.00', '150.00', '-3.25', '0.00'),
  // The same integers as number and as bigint: a representation is never a change.
  fc.constantFrom<ColumnValue>(5, 5n, BIG, BIG + 7n, -2),
  fc.constantFrom<ColumnValue>(null, 'x', 'y'),
];
const fullRow: fc.Arbitrary<RowImage> = fc.tuple(...cellOf).map((cells) => cells as RowImage);
/** An after image that may leave columns out (binlog_row_image=MINIMAL): never the key. */
const partialRow: fc.Arbitrary<RowImage> = fc.tuple(...cellOf.map((a, i) => (i === 0 ? a : fc.option(a, { nil: undefined })))).map((cells) => cells as RowImage);
const groupsArb = fc.constantFrom<(readonly string[])[]>([], [['street', 'city']], [['street', 'city'], ['amount', 'hits']], [['name', 'city', 'note']]);
const policyArb: fc.Arbitrary<Record<string, ConflictPolicy>> = fc
  .array(fc.constantFrom<ConflictPolicy | undefined>('ours', 'theirs', undefined), { minLength: NAMES.length, maxLength: NAMES.length })
  .map((ps) => Object.fromEntries(ps.flatMap((p, i) => (p === undefined ? [] : [[NAMES[i]!, p]]))));

const same = (x: RowImage, y: RowImage): boolean => x.length === y.length && x.every((v, i) => sameValue(v, y[i], COLUMNS[i] ?? null));
/** A's view of its row: its after values, the base where it logged none. */
const over = (a: RowImage, b: RowImage): RowImage => a.map((v, i) => (v === undefined ? b[i] : v));
const clone = (r: RowImage): RowImage => r.map((v) => v);

describe('threeWayMerge laws (typed values, partial images, any policy and groups)', () => {
  it('merge(b, a, b) = a: nothing changed on the DR, the lost change applies (absent columns stay b)', () => {
    fc.assert(
      fc.property(fullRow, partialRow, groupsArb, policyArb, (b, a, groups, policy) => {
        const r = threeWayMerge(b, a, b, { columns: COLUMNS, groups, policy });
        expect(same(r.row, over(a, b))).toBe(true);
        expect(r.conflicts).toEqual([]);
        expect(r.kept).toEqual([]);
      }),
      { numRuns: RUNS, seed: SEED },
    );
  });

  it('merge(b, b, d) = d: the lost change changed nothing, the DR row stays', () => {
    fc.assert(
      fc.property(fullRow, fullRow, groupsArb, policyArb, (b, d, groups, policy) => {
        const r = threeWayMerge(b, b, d, { columns: COLUMNS, groups, policy });
        expect(same(r.row, d)).toBe(true);
        expect(r.taken).toEqual([]);
        expect(r.conflicts).toEqual([]);
      }),
      { numRuns: RUNS, seed: SEED },
    );
  });

  it('merge(b, x, x) = x: the same change on both sides (or no base at all) is no conflict', () => {
    fc.assert(
      fc.property(fc.option(fullRow, { nil: null }), fullRow, groupsArb, policyArb, (b, x, groups, policy) => {
        const r = threeWayMerge(b, x, x, { columns: COLUMNS, groups, policy });
        expect(same(r.row, x)).toBe(true);
        expect(r.conflicts).toEqual([]);
      }),
      { numRuns: RUNS, seed: SEED },
    );
  });

  it('groups are never split: a group both sides changed (any members) comes wholly from D, or wholly from A’s view', () => {
    fc.assert(
      fc.property(fullRow, partialRow, fullRow, groupsArb, policyArb, (b, a, d, groups, policy) => {
        const r = threeWayMerge(b, a, d, { columns: COLUMNS, groups, policy });
        for (const g of groups) {
          const idx = g.map((n) => NAMES.indexOf(n));
          // Both sides changed the group (the same member or different ones) to different groups.
          const aView = (i: number): RowImage[number] => (a[i] === undefined ? b[i] : a[i]);
          const byA = idx.some((i) => !sameValue(aView(i), b[i], COLUMNS[i]!));
          const byD = idx.some((i) => !sameValue(d[i], b[i], COLUMNS[i]!));
          const differ = idx.some((i) => !sameValue(aView(i), d[i], COLUMNS[i]!));
          if (!(byA && byD && differ)) continue;
          const fromD = idx.every((i) => sameValue(r.row[i], d[i], COLUMNS[i]!));
          const fromA = idx.every((i) => sameValue(r.row[i], a[i] === undefined ? b[i] : a[i], COLUMNS[i]!));
          expect(fromD || fromA).toBe(true);
        }
      }),
      { numRuns: RUNS, seed: SEED },
    );
  });

  it('deterministic: the same inputs (fresh copies) give an identical result, and the inputs are not touched', () => {
    fc.assert(
      fc.property(fc.option(fullRow, { nil: null }), partialRow, fullRow, groupsArb, policyArb, (b, a, d, groups, policy) => {
        const show = (x: unknown): string => JSON.stringify(x, (_k, v: unknown) => (typeof v === 'bigint' ? `${v}n` : v === undefined ? '∅' : v));
        const before = show([b, a, d]);
        const one = threeWayMerge(b, a, d, { columns: COLUMNS, groups, policy });
        const two = threeWayMerge(b === null ? null : clone(b), clone(a), clone(d), { columns: [...COLUMNS], groups: groups.map((g) => [...g]), policy: { ...policy } });
        expect(show(two)).toBe(show(one));
        expect(show([b, a, d])).toBe(before);
      }),
      { numRuns: RUNS, seed: SEED },
    );
  });
});

// ---------------------------------------------------------------------------------------------
// delta: D + (A − B), exact.

/** A scaled integer printed as DECIMAL text with `scale` digits, as the server prints it. */
function decimalText(v: bigint, scale: number): string {
  const neg = v < 0n;
  const digits = (neg ? -v : v).toString().padStart(scale + 1, '0');
  const text = scale === 0 ? digits : `${digits.slice(0, -scale)}.${digits.slice(-scale)}`;
  return neg ? `-${text}` : text;
}

/** An integer as the decoder holds it: a number within ±(2^53−1), else a bigint. */
const asDecoded = (v: bigint): ColumnValue => (v <= BigInt(Number.MAX_SAFE_INTEGER) && v >= -BigInt(Number.MAX_SAFE_INTEGER) ? Number(v) : v);
const SPAN = 10n ** 17n;

describe('delta composes over two sequential lost changes, exactly', () => {
  it('DECIMAL(30,s) text: applyDelta(a1, a2, applyDelta(b1, a1, d)) = applyDelta(b1, a2, d) = d + a2 − b1', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 6 }), fc.array(fc.bigInt({ min: -SPAN, max: SPAN }), { minLength: 4, maxLength: 4 }), (scale, [b1, a1, a2, d]) => {
        const col = { name: 'balance', dataType: 'decimal', columnType: `decimal(30,${scale})` };
        const t = (v: bigint): string => decimalText(v, scale);
        const stepwise = applyDelta(t(a1!), t(a2!), applyDelta(t(b1!), t(a1!), t(d!), col), col);
        expect(stepwise).toBe(applyDelta(t(b1!), t(a2!), t(d!), col));
        expect(stepwise).toBe(t(d! + a2! - b1!));
      }),
      { numRuns: RUNS, seed: SEED },
    );
  });

  it('BIGINT beyond 2^53 (numbers and bigints mixed as the decoder gives them): the same, exactly', () => {
    const big = fc.bigInt({ min: -(2n ** 62n), max: 2n ** 62n });
    fc.assert(
      fc.property(big, big, big, big, (b1, a1, a2, d) => {
        const col = { name: 'hits', dataType: 'bigint', columnType: 'bigint(20)' };
        const stepwise = applyDelta(asDecoded(a1), asDecoded(a2), applyDelta(asDecoded(b1), asDecoded(a1), asDecoded(d), col), col);
        const direct = applyDelta(asDecoded(b1), asDecoded(a2), asDecoded(d), col);
        expect(BigInt(stepwise as number | bigint)).toBe(d + a2 - b1);
        expect(BigInt(direct as number | bigint)).toBe(d + a2 - b1);
        // The representation follows the value: exact numbers stay numbers, the rest bigints.
        expect(stepwise).toEqual(asDecoded(d + a2 - b1));
      }),
      { numRuns: RUNS, seed: SEED },
    );
  });
});

// ---------------------------------------------------------------------------------------------
// The reconciler's merge path: one table, the DR row D, lost updates B → A, decided under a
// configuration as users write it.

const CLASS = 'update-diverged';

function rulesOf(input: unknown): RuleBook {
  const r = parseConfig(input);
  if (!r.ok) throw new Error(`configuration rejected: ${JSON.stringify(r.problems)}`);
  return new RuleBook(r.config);
}

/** The DR's `shop.acct` after the lost updates `steps` (each [B, A]) meet the DR row `d`. */
function reconcileAcct(table: TableSchema, map: TableMap, d: RowImage, steps: readonly (readonly [RowImage, RowImage])[], rules: RuleBook): { row: RowImage | null; outcomes: string[] } {
  const dr = new InMemoryDr([table]);
  dr.insert('shop.acct', d);
  const txs = steps.map(([b, a], i) => transaction(i + 1, [{ op: 'update', table: map, before: b, after: a, eventOffset: 40 * (i + 1) } satisfies RowChange]));
  const { decisions } = runReconcile(dr, txs, { windowSize: 1, mode: 'apply', rules });
  return { row: dr.row('shop.acct', [d[0] as ColumnValue]), outcomes: decisions.map((x) => `${x.class}/${x.outcome}`) };
}

/** Any merge configuration of shop.acct: bothChanged, per-column policies, column rules, groups. */
const mergeConfigArb: fc.Arbitrary<unknown> = fc
  .record({
    bothChanged: fc.constantFrom('dr', 'source', 'max', 'min', 'delta', 'quarantine', 'fail'),
    policy: fc.dictionary(fc.constantFrom('name', 'street', 'city', 'amount', 'hits', 'note'), fc.constantFrom('dr', 'source', 'max', 'min', 'quarantine', 'fail'), { maxKeys: 3 }),
    columns: fc.dictionary(fc.constantFrom('name', 'street', 'city', 'note'), fc.constantFrom('source', 'skip', 'max', 'min'), { maxKeys: 2 }),
    numeric: fc.dictionary(fc.constantFrom('amount', 'hits'), fc.constantFrom('source', 'skip', 'max', 'min', 'delta'), { maxKeys: 2 }),
    groups: groupsArb,
  })
  .map((c) => ({ tables: { 'shop.acct': { onConflict: { [CLASS]: { strategy: 'merge', bothChanged: c.bothChanged, policy: c.policy } }, columns: { ...c.columns, ...c.numeric }, groups: c.groups } } }));

describe('the merge laws on the reconciler’s merge path (any merge configuration)', () => {
  it('merge(b, a, b) = a, merge(b, b, d) = d, merge(b, x, x) = x', () => {
    fc.assert(
      fc.property(fullRow, fullRow, fullRow, mergeConfigArb, (b, a, d, cfg) => {
        const rules = rulesOf(cfg);
        expect(same(reconcileAcct(ACCT, ACCT_MAP, b, [[b, a]], rules).row!, a)).toBe(true);
        expect(same(reconcileAcct(ACCT, ACCT_MAP, d, [[b, b]], rules).row!, d)).toBe(true);
        expect(same(reconcileAcct(ACCT, ACCT_MAP, a, [[b, a]], rules).row!, a)).toBe(true);
      }),
      { numRuns: RUNS, seed: SEED },
    );
  });

  // Only numeric columns: a text column changed back and forth is not additive, and three-way
  // merging it in two steps legitimately differs from one.
  const WALLET: TableSchema = { ...ACCT, table: 'acct', columns: [COLUMNS[0]!, { ...COLUMNS[4]!, ordinal: 2 }, { ...COLUMNS[5]!, ordinal: 3 }] };
  const WALLET_MAP = tableMap(WALLET);
  const money = fc.bigInt({ min: -(10n ** 8n), max: 10n ** 8n });
  const big = fc.bigInt({ min: -(2n ** 60n), max: 2n ** 60n });
  const walletRow = (amount: bigint, hits: bigint): RowImage => [1, decimalText(amount, 2), asDecoded(hits)];

  it.each([
    ['"delta" as the class strategy', { tables: { 'shop.acct': { onConflict: { [CLASS]: 'delta' } } } }],
    ['"delta" column rules under the built-in merge', { tables: { 'shop.acct': { columns: { amount: 'delta', hits: 'delta' } } } }],
  ])('delta composes over two sequential lost changes on DECIMAL and BIGINT (%s)', (_name, cfg) => {
    const rules = rulesOf(cfg);
    fc.assert(
      fc.property(fc.tuple(money, big), fc.tuple(money, big), fc.tuple(money, big), fc.tuple(money, big), ([b1m, b1h], [a1m, a1h], [a2m, a2h], [dm, dh]) => {
        const b1 = walletRow(b1m, b1h);
        const a1 = walletRow(a1m, a1h);
        const a2 = walletRow(a2m, a2h);
        const d = walletRow(dm, dh);
        const d1 = walletRow(dm + a1m - b1m, dh + a1h - b1h);
        // Without the DR's history a DR row equal to an after image reads as "already applied": not a delta.
        fc.pre(!same(d, a1) && !same(d1, a2) && !same(d, a2));
        const twoSteps = reconcileAcct(WALLET, WALLET_MAP, d, [[b1, a1], [a1, a2]], rules);
        const oneStep = reconcileAcct(WALLET, WALLET_MAP, d, [[b1, a2]], rules);
        expect(twoSteps.row).toEqual(walletRow(dm + a2m - b1m, dh + a2h - b1h));
        expect(oneStep.row).toEqual(twoSteps.row);
      }),
      { numRuns: RUNS, seed: SEED },
    );
  });

  it('groups are never split by bothChanged: a group with a conflict ends wholly as D or wholly as A', () => {
    const cfgArb = fc
      .constantFrom('dr', 'source')
      .map((bothChanged) => ({ tables: { 'shop.acct': { onConflict: { [CLASS]: { strategy: 'merge', bothChanged } }, groups: [['street', 'city']] } } }));
    fc.assert(fc.property(fullRow, fullRow, fullRow, cfgArb, (b, a, d, cfg) => groupHeld(b, a, d, cfg)), { numRuns: RUNS, seed: SEED });
  });

  // ENGINE BUG (Reconciler.#merge, src/reconcile/reconciler.ts): the per-column policy of a
  // conflicting column (from `policy`, or bothChanged max/min) is applied after threeWayMerge has
  // decided the group, to that one column, so it re-decides a member alone; a group whose members'
  // policies differ (street "source", city "dr") splits the same way. Counterexample (fast-check,
  // shrunk): groups [street, city], policy { street: "max" }; B = (Main St, Oslo), A = (Side St,
  // Oslo), D = (High St, Trondheim): street conflicts, the group goes to the DR (High St,
  // Trondheim), then max takes "Side St" → (Side St, Trondheim), an address neither side wrote.
  it('groups are never split by per-column policies or bothChanged max/min either', () => {
    const cfgArb = fc
      .record({
        bothChanged: fc.constantFrom('dr', 'source', 'max', 'min'),
        policy: fc.dictionary(fc.constantFrom('street', 'city'), fc.constantFrom('dr', 'source', 'max', 'min'), { maxKeys: 2 }),
      })
      .map((c) => ({ tables: { 'shop.acct': { onConflict: { [CLASS]: { strategy: 'merge', ...c } }, groups: [['street', 'city']] } } }));
    fc.assert(fc.property(fullRow, fullRow, fullRow, cfgArb, (b, a, d, cfg) => groupHeld(b, a, d, cfg)), { numRuns: RUNS, seed: SEED });
  });

  // ENGINE BUG (Reconciler.#merge, src/reconcile/reconciler.ts): a `columns` rule is applied after
  // threeWayMerge has decided the group, to every column the lost change changed, so it re-decides
  // one member alone. Counterexample (fast-check, shrunk): groups [street, city], columns
  // { street: "source" }; B = (Main St, Oslo), A = (Side St, Oslo), D = (High St, Bergen): street
  // conflicts, the group goes to the DR (High St, Bergen), then the street rule takes "Side St" →
  // (Side St, Bergen). DESIGN.md puts the group first in the precedence; a column rule should
  // decide a grouped column only together with its group.
  it('groups are never split by column rules either', () => {
    const cfgArb = fc
      .dictionary(fc.constantFrom('street', 'city'), fc.constantFrom('source', 'skip', 'max', 'min'), { minKeys: 1, maxKeys: 2 })
      .map((columns) => ({ tables: { 'shop.acct': { columns, groups: [['street', 'city']] } } }));
    fc.assert(fc.property(fullRow, fullRow, fullRow, cfgArb, (b, a, d, cfg) => groupHeld(b, a, d, cfg)), { numRuns: RUNS, seed: SEED });
  });
});

/** The group law on the reconciler path, for one B → A against D under `cfg`; true when it holds. */
function groupHeld(b: RowImage, a: RowImage, d: RowImage, cfg: unknown): boolean {
  const idx = ['street', 'city'].map((n) => NAMES.indexOf(n));
  // Both sides changed the group (the same member or different ones) to different groups.
  const byA = idx.some((i) => !sameValue(a[i], b[i], COLUMNS[i]!));
  const byD = idx.some((i) => !sameValue(d[i], b[i], COLUMNS[i]!));
  const differ = idx.some((i) => !sameValue(a[i], d[i], COLUMNS[i]!));
  if (!(byA && byD && differ)) return true;
  const { row } = reconcileAcct(ACCT, ACCT_MAP, d, [[b, a]], rulesOf(cfg));
  const fromD = idx.every((i) => sameValue(row![i], d[i], COLUMNS[i]!));
  const fromA = idx.every((i) => sameValue(row![i], a[i], COLUMNS[i]!));
  expect(fromD || fromA).toBe(true);
  return true;
}

// ---------------------------------------------------------------------------------------------
// Whole incidents under generated configurations.

const TABLE_NAMES = [CUSTOMERS, ORDERS, NOTES] as const;
/** The classes the incident model produces (its keys are all AUTO_INCREMENT: never insert-pk-same-record). */
const CLASSES: readonly ConflictClass[] = ['clean', 'already-applied', 'insert-pk-taken', 'insert-unique-taken', 'parent-missing', 'update-diverged', 'update-missing', 'update-unique-taken', 'delete-diverged'];
const VALUE_COLUMN: Record<string, string> = { [CUSTOMERS]: 'name', [ORDERS]: 'total', [NOTES]: 'body' };

/**
 * A strategy for `klass` on `table`, any the configuration allows except `fail` (it stops the
 * run), `custom` (a function, tested in ledger.property.test.ts), and `skip` for clean and parent-missing: holding a
 * change back moves later changes to other classes (a child of a held parent becomes
 * parent-missing; a row that keeps a unique value makes a later change update-unique-taken
 * instead of clean), and when the class left is the stricter (`skip`, never applied) and the class
 * reached writes (rewrite-unique, or `skip` letting the rest of a transaction through), the
 * stricter configuration writes more. fast-check found both (parent-missing "skip"; clean "skip"
 * with update-unique-taken "rewrite-unique"). No class-level `delta` on orders and notes either:
 * it adds to their foreign keys (pinned below).
 */
function strategyArb(table: string, klass: ConflictClass): fc.Arbitrary<unknown> {
  const names = ALLOWED_STRATEGIES[klass].filter(
    (s: StrategyName) =>
      s !== 'fail' &&
      s !== 'custom' &&
      (s !== 'link' || table === CUSTOMERS) &&
      !((klass === 'parent-missing' || klass === 'clean') && s === 'skip') &&
      (s !== 'delta' || table === CUSTOMERS),
  );
  const column = VALUE_COLUMN[table]!;
  return fc.constantFrom(...names).chain((name): fc.Arbitrary<unknown> => {
    switch (name) {
      case 'newest':
      case 'oldest':
        return fc.constantFrom('dr', 'source').map((tie) => ({ strategy: name, column, tie }));
      case 'max':
      case 'min':
        return fc.constantFrom('first', 'last').map((nulls) => ({ strategy: name, column, nulls }));
      case 'merge':
        // Not bothChanged "delta": on these tables' text columns it stops the run (pinned below).
        return fc.constantFrom('dr', 'source', 'max', 'min', 'quarantine').map((bothChanged) => ({ strategy: 'merge', bothChanged }));
      case 'delete-blocking':
        return fc.nat({ max: 2 }).map((maxChildren) => ({ strategy: 'delete-blocking', maxChildren }));
      default:
        return fc.constant(name);
    }
  });
}

type ConfigJson = { tables: Record<string, { onConflict: Record<string, unknown>; naturalKey?: string[]; keyAllocation?: unknown }>; ignoreColumns?: string[] };

const incidentConfigArb: fc.Arbitrary<ConfigJson> = fc
  .tuple(
    ...TABLE_NAMES.map((t) =>
      fc.record({
        onConflict: fc.record(Object.fromEntries(CLASSES.map((k) => [k, strategyArb(t, k)])), { requiredKeys: [] }),
        keyAllocation: fc.constantFrom<unknown>('auto-increment', { offset: 1000 }),
      }),
    ),
  )
  .chain((rules) =>
    // Columns left out of every comparison: bare and qualified, a foreign key among them.
    fc.subarray(['name', `${ORDERS}.total`, 'body', `${ORDERS}.customer_id`]).map((ignoreColumns) => ({
      tables: Object.fromEntries(rules.map((r, i) => [TABLE_NAMES[i]!, { ...r, ...(TABLE_NAMES[i] === CUSTOMERS ? { naturalKey: ['email'] } : {}) }])),
      ...(ignoreColumns.length > 0 ? { ignoreColumns } : {}),
    })),
  );

/** Every row (`table#key`) a write of the run was aimed at, at any point of the run, sorted. */
function writtenRows(results: readonly TransactionResult[]): string[] {
  const out = new Set<string>();
  for (const r of results) {
    for (const w of r.writes) out.add(`${w.table.schema}.${w.table.table}#${String(w.kind === 'insert' ? w.row[0] : w.key[0])}`);
  }
  return [...out].sort();
}

const ORDERS_RULE = `tables."${ORDERS}".onConflict.update-diverged`;

/**
 * `cfg` ordered for monotone strictness: clean changes applied (the built-in default) instead of
 * held, and no `skip` (dropping a change but applying the rest of its transaction leaves the DR
 * unlike the primary, so later changes meet other rows: a skipped rename keeps a unique value a
 * later insert then collides with, where quarantining the whole transaction leaves it free).
 */
function ordered(cfg: ConfigJson): ConfigJson {
  const out = JSON.parse(JSON.stringify(cfg)) as ConfigJson;
  for (const t of Object.values(out.tables)) {
    if (t.onConflict['clean'] === 'quarantine') delete t.onConflict['clean'];
    for (const [k, v] of Object.entries(t.onConflict)) if (v === 'skip') delete t.onConflict[k];
  }
  return out;
}

/** The rows the DR had before the run (`table#key`) that the run changed or deleted, sorted. */
function touchedRows(before: DrSnapshot, after: DrSnapshot): string[] {
  const out: string[] = [];
  for (const [table, rows] of Object.entries(before)) {
    const now = new Map((after[table] ?? []).map((r) => [String(r[0]), r]));
    for (const x of rows) {
      const y = now.get(String(x[0]));
      if (y === undefined || x.length !== y.length || x.some((v, i) => !sameValue(v, y[i]))) out.push(`${table}#${String(x[0])}`);
    }
  }
  return out.sort();
}

/**
 * Errors of engine bugs a run may meet, tolerated while they are pinned at the end of this file: a
 * run that meets one has no DR state to compare, so determinism compares the error and monotonicity
 * skips it. Empty: RECONCILE_KEY_NOT_FRESH and ORACLE_UK_DUPLICATE were listed until their pinned
 * cases passed, and 30,000 runs with them removed (seeds 1-3, with ledger.property.test.ts) met
 * neither; any error now fails the property.
 */
const KNOWN_BUGS: ReadonlySet<string> = new Set<string>([]);

type RunOutcome =
  | { readonly kind: 'done'; readonly ledger: string; readonly snapshot: DrSnapshot; readonly writes: number; readonly touched: string[]; readonly written: string[]; readonly violations: string[] }
  | { readonly kind: 'error'; readonly code: string; readonly message: string };

/** One run of `inc` under `cfg` (parsed afresh), on a copy of its DR. */
function runIncident(inc: Incident, cfg: ConfigJson, windowSize: number): RunOutcome {
  const dr = inc.dr.clone();
  try {
    const { decisions, results } = runReconcile(dr, inc.lost, { windowSize, mode: 'apply', rules: rulesOf(JSON.parse(JSON.stringify(cfg))) });
    const snapshot = dr.snapshot();
    return {
      kind: 'done',
      // Every table's key is its first column: the ledger's key positions.
      ledger: decisions.map((d) => ledgerLineText(ledgerLine(d, [0]))).join('\n'),
      snapshot,
      writes: results.reduce((n, r) => n + r.writes.length, 0),
      touched: touchedRows(inc.dr.snapshot(), snapshot),
      written: writtenRows(results),
      violations: dr.violations(),
    };
  } catch (e) {
    if (e instanceof EngineError && KNOWN_BUGS.has(e.code)) return { kind: 'error', code: e.code, message: e.message };
    throw e;
  }
}

describe('whole incidents under generated configurations', () => {
  const arbitrary = incidentArbitrary();

  it('determinism: the same inputs and configuration (parsed afresh) give a byte-identical ledger and the same DR', () => {
    fc.assert(
      fc.property(arbitrary, incidentConfigArb, fc.integer({ min: 1, max: 4 }), (spec, cfg, windowSize) => {
        const one = runIncident(buildIncident(spec), cfg, windowSize);
        const two = runIncident(buildIncident(spec), cfg, windowSize);
        expect(two).toEqual(one);
        if (one.kind === 'done' && two.kind === 'done') expect(two.ledger).toBe(one.ledger);
      }),
      { numRuns: RUNS, seed: SEED },
    );
  });

  it('every constraint holds afterwards (unique keys under collation, declared and logical foreign keys)', () => {
    fc.assert(
      fc.property(arbitrary, incidentConfigArb, fc.integer({ min: 1, max: 4 }), (spec, cfg, windowSize) => {
        const out = runIncident(buildIncident(spec), cfg, windowSize);
        fc.pre(out.kind === 'done');
        if (out.kind === 'done') expect(out.violations).toEqual([]);
      }),
      { numRuns: RUNS, seed: SEED },
    );
  });

  // "Modifies more DR rows" read as: no more row writes, and none of the DR's own rows (those it
  // had before the run) changed or deleted that the laxer run never wrote. Not as "ends with no
  // more rows differing from the DR before the run", nor as "changes no row the laxer run ended
  // with as it was": holding a transaction whole holds back what it undoes of an earlier, applied
  // lost transaction, which then stays until review. Fast-check found both: lost tx1 inserts note
  // 1, tx2 deletes it and takes an e-mail the DR gave another customer (under update-unique-taken
  // "skip" note 1 comes and goes, under "quarantine" tx2 waits whole and note 1 stays); and lost
  // tx1 moves the DR's order 1 to a new customer, tx2 moves it back (the laxer run writes order 1
  // twice and ends with it as it was; the stricter one holds tx2 and order 1 stays moved: the
  // exact case below). The generated configurations leave out `skip` for clean and
  // parent-missing (see strategyArb), and here the laxer configuration never quarantines clean
  // changes nor skips any (ordered): a stricter rule changes what the DR holds for the changes after
  // it, so a later change can move from one class to another — a held change that would have freed
  // a unique value leaves it taken, and a later insert of it is insert-unique-taken instead of
  // clean. That is only stricter when clean is the laxest class; a configuration that holds clean
  // changes back and links conflicting ones is not ordered that way, and `skip` leaves the DR unlike
  // the primary (fast-check found both: the cases further below).
  it('monotone strictness: replacing any one strategy by quarantine never writes more rows, nor changes a DR row the other run left alone', () => {
    fc.assert(
      fc.property(arbitrary, incidentConfigArb.map(ordered), fc.constantFrom(...TABLE_NAMES), fc.constantFrom(...CLASSES), (spec, cfg, table, klass) => {
        const inc = buildIncident(spec);
        const stricter: ConfigJson = JSON.parse(JSON.stringify(cfg)) as ConfigJson;
        stricter.tables[table]!.onConflict[klass] = 'quarantine';
        const base = runIncident(inc, cfg, 2);
        const strict = runIncident(inc, stricter, 2);
        fc.pre(base.kind === 'done' && strict.kind === 'done');
        if (base.kind !== 'done' || strict.kind !== 'done') return;
        expect(strict.writes).toBeLessThanOrEqual(base.writes);
        expect(strict.touched.filter((k) => !base.touched.includes(k) && !base.written.includes(k))).toEqual([]);
      }),
      { numRuns: RUNS, seed: SEED },
    );
  });

  // Found by the property above (MERGE_PROPERTY_RUNS=40000, MERGE_PROPERTY_SEED=25913, 2026-11-27; the
  // build of that morning fails it too). Not an engine fault but a limit of the property, as with
  // `skip` above: the laxer run applies tx1, whose rename gives customer 4 the e-mail fay@x, so tx3's
  // rename of customer 1 to fay@x collides and is held; the stricter run holds tx1 whole (its order
  // update is a clean change of orders), customer 4 keeps its e-mail, and tx3 then applies, changing
  // customer 1, which the laxer run left alone. Unique values make strictness non-monotone across
  // transactions. Kept as found, failing, until the property is stated to allow it.
  it.fails('monotone strictness counterexample (seed 25913): clean orders quarantined', () => {
    const spec = {"baseCustomers": 4, "baseOrders": [], "baseNotes": [], "lost": [[{"k": "insOrder", "customer": 0, "total": 0}, {"k": "setTotal", "order": 0, "total": 1}, {"k": "setEmail", "customer": 3, "email": 5, "variant": 0}], [{"k": "delCustomer", "customer": 7}, {"k": "insOrder", "customer": 0, "total": 0}], [{"k": "setEmail", "customer": 0, "email": 5, "variant": 0}, {"k": "setName", "customer": 0, "name": 0}]], "dr": [{"k": "insOrder", "customer": 7, "total": 0}], "disjoint": false} as Parameters<typeof buildIncident>[0];
    const cfg = {"tables": {"shop.customers": {"onConflict": {"clean": "apply", "insert-pk-taken": "source", "insert-unique-taken": "quarantine", "update-diverged": {"strategy": "merge", "bothChanged": "max"}, "update-missing": "quarantine", "update-unique-taken": "rewrite-unique", "delete-diverged": {"strategy": "newest", "column": "name", "tie": "source"}}, "keyAllocation": "auto-increment", "naturalKey": ["email"]}, "shop.orders": {"onConflict": {"already-applied": "quarantine", "update-unique-taken": "rewrite-unique", "delete-diverged": {"strategy": "oldest", "column": "total", "tie": "source"}}, "keyAllocation": "auto-increment"}, "shop.notes": {"onConflict": {"already-applied": "quarantine", "insert-unique-taken": {"strategy": "delete-blocking", "maxChildren": 1}, "parent-missing": "quarantine", "update-unique-taken": "rewrite-unique"}, "keyAllocation": {"offset": 1000}}}} as ConfigJson;
    const inc = buildIncident(spec);
    const stricter = JSON.parse(JSON.stringify(cfg)) as ConfigJson;
    stricter.tables['shop.orders']!.onConflict['clean'] = 'quarantine';
    const base = runIncident(inc, cfg, 2);
    const strict = runIncident(inc, stricter, 2);
    if (base.kind !== 'done' || strict.kind !== 'done') throw new Error('both runs end');
    expect(strict.writes).toBeLessThanOrEqual(base.writes);
    expect(strict.touched.filter((k) => !base.touched.includes(k) && !base.written.includes(k))).toEqual([]);
  });

  // Found by the property above (MERGE_PROPERTY_RUNS=5000, MERGE_PROPERTY_SEED=777), shrunk. DR:
  // customers 1 ann@x and 2 DEE@X (its own, after the failover), order 1 of customer 1. Lost: tx1
  // inserts customer 2 bob@x (remapped to 4: the DR gave 2 away), moves order 1 to it and adds a
  // note; tx2 inserts customer 3 cy@x and moves order 1 back to customer 1; tx3 inserts order 2.
  it('monotone strictness counterexample: quarantining a transaction that undoes an applied one leaves the applied one (shrunk)', () => {
    const inc = buildIncident({
      baseCustomers: 1,
      baseOrders: [{ customer: 0, total: 0 }],
      baseNotes: [],
      lost: [
        [{ k: 'insCustomer', email: 1, variant: 0, name: 0 }, { k: 'moveOrder', order: 0, customer: 3 }, { k: 'insNote', order: 0, body: 0 }],
        [{ k: 'insCustomer', email: 2, variant: 0, name: 0 }, { k: 'moveOrder', order: 0, customer: 0 }],
        [{ k: 'insOrder', customer: 0, total: 0 }],
      ],
      dr: [{ k: 'insCustomer', email: 3, variant: 0, name: 0 }],
      disjoint: false,
    });
    const tables = { [CUSTOMERS]: { onConflict: {}, keyAllocation: 'auto-increment', naturalKey: ['email'] }, [ORDERS]: { onConflict: {}, keyAllocation: 'auto-increment' }, [NOTES]: { onConflict: {}, keyAllocation: 'auto-increment' } };
    const base = runIncident(inc, { tables }, 2);
    const strict = runIncident(inc, { tables: { ...tables, [CUSTOMERS]: { ...tables[CUSTOMERS], onConflict: { clean: 'quarantine' } } } }, 2);
    if (base.kind !== 'done' || strict.kind !== 'done') throw new Error('both runs end');
    // The laxer run applies everything: order 1 goes to customer 4 and back to 1.
    expect(base.snapshot[ORDERS]).toEqual([[1, 1, 1], [2, 1, 100]]);
    expect(base.touched).toEqual([]);
    expect(base.written).toEqual([`${CUSTOMERS}#3`, `${CUSTOMERS}#4`, `${NOTES}#1`, `${ORDERS}#1`, `${ORDERS}#2`]);
    // The stricter one quarantines customer 3, holds tx2 whole, and order 1 stays with customer 4 (tx1).
    expect(strict.snapshot[CUSTOMERS]).toEqual([[1, 'ann@x', 'B0'], [2, 'DEE@X', 'D0'], [4, 'bob@x', 'L0']]);
    expect(strict.snapshot[ORDERS]).toEqual([[1, 4, 1], [2, 1, 100]]);
    expect(strict.touched).toEqual([`${ORDERS}#1`]);
    expect(strict.writes).toBeLessThan(base.writes);
    expect(strict.touched.every((k) => base.written.includes(k))).toBe(true);
  });

  // Found by the property above (MERGE_PROPERTY_RUNS=15000, MERGE_PROPERTY_SEED=11), shrunk, when
  // `link` still refused a DR row whose id a remap had moved a lost row away from. DR: its own
  // customer 2 DEE@X. Lost: tx1 inserts customer 2 bob@x; tx2 deletes note 1 and inserts customer 3
  // dee@x (insert-unique-taken: link by e-mail). The laxer run re-keys tx1's customer 2 → 4, then
  // links 3 onto the DR's 2 (old keys are source ids, so 2 → 4 and 3 → 2 never meet); the stricter
  // one (insert-pk-taken quarantined) holds tx1 and makes the same link: the same tx2 either way.
  it('a link onto a DR row whose id a remap moved a lost row away from is made, as when nothing was re-keyed (shrunk)', () => {
    const inc = buildIncident({
      baseCustomers: 1,
      baseOrders: [{ customer: 0, total: 0 }],
      baseNotes: [{ order: 0, body: 0 }],
      lost: [[{ k: 'insCustomer', email: 1, variant: 0, name: 0 }], [{ k: 'delNote', note: 0 }, { k: 'insCustomer', email: 3, variant: 0, name: 0 }]],
      dr: [{ k: 'insCustomer', email: 3, variant: 0, name: 0 }],
      disjoint: false,
    });
    const customers = { onConflict: { 'insert-unique-taken': 'link' }, keyAllocation: 'auto-increment', naturalKey: ['email'] };
    const tables = { [CUSTOMERS]: customers, [ORDERS]: { onConflict: {}, keyAllocation: 'auto-increment' }, [NOTES]: { onConflict: {}, keyAllocation: 'auto-increment' } };
    const stricter = { tables: { ...tables, [CUSTOMERS]: { ...customers, onConflict: { ...customers.onConflict, 'insert-pk-taken': 'quarantine' } } } };
    const laxer = runReconcile(inc.dr.clone(), inc.lost, { windowSize: 2, mode: 'apply', rules: rulesOf({ tables }) });
    expect(laxer.decisions.map((d) => `${d.table} ${d.class} ${d.outcome} ${JSON.stringify(d.newKey)}`)).toEqual([
      'shop.customers insert-pk-taken remapped [4]',
      'shop.notes clean applied null',
      'shop.customers insert-unique-taken merged [2]',
    ]);
    expect(laxer.results.flatMap((r) => r.remaps)).toEqual([{ table: CUSTOMERS, oldKey: [2], newKey: [4] }, { table: CUSTOMERS, oldKey: [3], newKey: [2], linked: true }]);
    const strict = runReconcile(inc.dr.clone(), inc.lost, { windowSize: 2, mode: 'apply', rules: rulesOf(stricter) });
    expect(strict.decisions.map((d) => `${d.table} ${d.class} ${d.outcome}`)).toEqual(['shop.customers insert-pk-taken quarantined', 'shop.notes clean applied', 'shop.customers insert-unique-taken merged']);
    const base = runIncident(inc, { tables }, 2);
    if (base.kind !== 'done') throw new Error('the run ends');
    expect(base.snapshot[CUSTOMERS]).toEqual([[1, 'ann@x', 'B0'], [2, 'DEE@X', 'D0'], [4, 'bob@x', 'L0']]);
    expect(base.snapshot[NOTES]).toEqual([]);
    expect(base.violations).toEqual([]);
  });

  // Found by the property above (numRuns × 40, a random seed), shrunk. DR: customer 1 renamed to
  // DEE@X. Lost: tx1 inserts customer 2 dee@x (insert-unique-taken: delete-blocking, maxChildren
  // 0); tx2 inserts an order of customer 1 and a note on it; tx3 deletes both. delete-blocking
  // deleted customer 1 — it had no child on the DR yet — and tx2's order then had no parent: a row
  // the lost range itself still needed. Rows a change of the window changes or points at are left.
  it('delete-blocking leaves a row a later lost change of the window points at (shrunk)', () => {
    const inc = buildIncident({
      baseCustomers: 1,
      baseOrders: [],
      baseNotes: [],
      lost: [[{ k: 'insCustomer', email: 3, variant: 0, name: 0 }], [{ k: 'insOrder', customer: 0, total: 0 }, { k: 'insNote', order: 0, body: 0 }], [{ k: 'delOrder', order: 0 }]],
      dr: [{ k: 'setEmail', customer: 0, email: 3, variant: 0 }],
      disjoint: false,
    });
    const cfg = { tables: { [CUSTOMERS]: { onConflict: { 'insert-unique-taken': { strategy: 'delete-blocking', maxChildren: 0 } }, naturalKey: ['email'] } } };
    const dr = inc.dr.clone();
    const { decisions } = runReconcile(dr, inc.lost, { windowSize: 2, mode: 'apply', rules: rulesOf(cfg) });
    expect(decisions.map((d) => `${d.table} ${d.op} ${d.class} ${d.outcome}`)).toEqual([
      'shop.customers insert insert-unique-taken quarantined',
      'shop.orders insert clean applied',
      'shop.notes insert clean applied',
      'shop.notes delete clean applied',
      'shop.orders delete clean applied',
    ]);
    expect(decisions[0]!.reason).toBe('delete-blocking: the DR row shop.customers 1 (holds uk_email) is changed or pointed at by a lost change of this window; nothing was deleted (tables."shop.customers".onConflict.insert-unique-taken)');
    expect(dr.rows(CUSTOMERS)).toEqual([[1, 'DEE@X', 'B0']]);
    expect(dr.violations()).toEqual([]);
  });

  // Found by the property above before it left `skip` out (MERGE_PROPERTY_RUNS=15000,
  // MERGE_PROPERTY_SEED=55), shrunk; designed. DR: its own customer with e-mail f@x (index 5).
  // Lost: tx1 inserts customer 2 e@x (re-keyed: the DR gave 2 away) and renames it f@x (so that
  // tx2 can insert another e@x); tx2
  // inserts customer 3 e@x; tx3 inserts an order of customer 3 and a note on it. Laxer
  // (update-unique-taken: skip): the rename is dropped, customer 2 keeps e@x, so tx2's e@x is taken
  // and tx2 waits, and tx3 with it (its parent waits). Stricter (quarantine): tx1 waits whole, e@x
  // stays free, and tx2 and tx3 apply: three writes against one.
  it('skip keeps a value a later change then collides with; quarantining the whole transaction does not (designed, shrunk)', () => {
    const inc = buildIncident({
      baseCustomers: 1,
      baseOrders: [],
      baseNotes: [],
      lost: [
        [{ k: 'insCustomer', email: 4, variant: 0, name: 0 }, { k: 'setEmail', customer: 3, email: 5, variant: 0 }, { k: 'delNote', note: 0 }],
        [{ k: 'insCustomer', email: 4, variant: 0, name: 0 }, { k: 'setTotal', order: 0, total: 0 }],
        [{ k: 'insOrder', customer: 5, total: 0 }, { k: 'insNote', order: 0, body: 0 }],
      ],
      dr: [{ k: 'insCustomer', email: 5, variant: 0, name: 0 }],
      disjoint: false,
    });
    const customers = (klass: string): unknown => ({ onConflict: { 'update-unique-taken': klass }, keyAllocation: 'auto-increment', naturalKey: ['email'] });
    const cfg = (klass: string): ConfigJson => ({ tables: { [CUSTOMERS]: customers(klass), [ORDERS]: { onConflict: {}, keyAllocation: 'auto-increment' }, [NOTES]: { onConflict: {}, keyAllocation: 'auto-increment' } } }) as ConfigJson;
    const outcomes = (c: ConfigJson): string[] => runReconcile(inc.dr.clone(), inc.lost, { windowSize: 2, mode: 'apply', rules: rulesOf(c) }).decisions.map((d) => `${d.table} ${d.op} ${d.class} ${d.outcome}`);
    const base = runIncident(inc, cfg('skip'), 2);
    const strict = runIncident(inc, cfg('quarantine'), 2);
    if (base.kind !== 'done' || strict.kind !== 'done') throw new Error('both runs end');
    expect(outcomes(cfg('skip'))).toEqual([
      'shop.customers insert insert-pk-taken remapped',
      'shop.customers update update-unique-taken skipped',
      'shop.customers insert insert-unique-taken quarantined',
      'shop.orders insert parent-missing quarantined',
      'shop.notes insert parent-missing quarantined',
    ]);
    expect(outcomes(cfg('quarantine'))).toEqual([
      'shop.customers insert insert-pk-taken quarantined',
      'shop.customers update update-unique-taken quarantined',
      'shop.customers insert clean applied',
      'shop.orders insert clean applied',
      'shop.notes insert clean applied',
    ]);
    expect([base.writes, strict.writes]).toEqual([1, 3]);
    expect(strict.touched).toEqual([]);
  });

  // Found by the property above before it kept clean changes applied (MERGE_PROPERTY_RUNS=15000,
  // MERGE_PROPERTY_SEED=8008), shrunk; the behaviour it shows is the one designed. DR: customer 1
  // renamed to BOB@X, its own customer 2 ANN@X. Lost: tx1 renames customer 1 to cy@x (freeing,
  // on the DR, the BOB@X that tx2's customer 3 bob@x then takes) and adds a note; tx2 inserts
  // customers 2 ann@x and 3 bob@x and changes order 1's total. Customers: clean quarantine,
  // insert-unique-taken link, update-diverged source. Laxer: tx1 is applied, bob@x is then clean,
  // so tx2 is held whole. Stricter (update-diverged quarantine): tx1 is held, BOB@X stays, bob@x
  // links to customer 1 by natural key, and tx2 — order 1 with it — applies.
  it('a stricter rule can move a later change into a laxer class (clean held, conflicts linked): designed, shrunk', () => {
    const inc = buildIncident({
      baseCustomers: 1,
      baseOrders: [{ customer: 0, total: 0 }],
      baseNotes: [],
      lost: [
        [{ k: 'setEmail', customer: 0, email: 2, variant: 0 }, { k: 'insNote', order: 0, body: 0 }],
        [{ k: 'insCustomer', email: 0, variant: 0, name: 0 }, { k: 'setTotal', order: 0, total: 0 }, { k: 'insCustomer', email: 1, variant: 0, name: 0 }],
        [{ k: 'setEmail', customer: 0, email: 0, variant: 0 }],
      ],
      dr: [{ k: 'setEmail', customer: 0, email: 1, variant: 0 }, { k: 'insCustomer', email: 0, variant: 0, name: 0 }],
      disjoint: false,
    });
    const customers = { onConflict: { clean: 'quarantine', 'insert-unique-taken': 'link', 'update-diverged': 'source' }, keyAllocation: 'auto-increment', naturalKey: ['email'] };
    const tables = { [CUSTOMERS]: customers, [ORDERS]: { onConflict: {}, keyAllocation: 'auto-increment' }, [NOTES]: { onConflict: {}, keyAllocation: 'auto-increment' } };
    const outcomes = (cfg: ConfigJson): string[] => {
      const { decisions } = runReconcile(inc.dr.clone(), inc.lost, { windowSize: 2, mode: 'apply', rules: rulesOf(cfg) });
      return decisions.map((d) => `${d.table} ${d.class} ${d.outcome}`);
    };
    expect(outcomes({ tables })).toEqual([
      'shop.customers update-diverged applied',
      'shop.notes clean applied',
      'shop.customers insert-unique-taken quarantined',
      'shop.orders transaction-quarantined quarantined',
      'shop.customers clean quarantined',
    ]);
    const stricter = { tables: { ...tables, [CUSTOMERS]: { ...customers, onConflict: { ...customers.onConflict, 'update-diverged': 'quarantine' } } } };
    expect(outcomes(stricter)).toEqual([
      'shop.customers update-diverged quarantined',
      'shop.notes transaction-quarantined quarantined',
      'shop.customers insert-unique-taken merged',
      'shop.orders clean applied',
      'shop.customers insert-unique-taken merged',
    ]);
    const base = runIncident(inc, { tables }, 2);
    const strict = runIncident(inc, stricter, 2);
    if (base.kind !== 'done' || strict.kind !== 'done') throw new Error('both runs end');
    expect(base.written).toEqual([`${CUSTOMERS}#1`, `${NOTES}#1`]);
    expect(strict.written).toEqual([`${ORDERS}#1`]);
  });

  // Found by the property above (MERGE_PROPERTY_RUNS=15000, MERGE_PROPERTY_SEED=1001), shrunk: the
  // stricter run wrote more, deleting a DR row the laxer one left alone. DR: customers 1 and 2, its
  // customer 2 renamed to EVE@X after the failover; order 1 of customer 1. Lost: tx1 moves order 1
  // to customer 2; tx2 inserts customer 3 eve@x (insert-unique-taken: delete-blocking, maxChildren
  // 0); tx3 changes order 1's total. Laxer: tx1 is merged, so customer 2 has a child and is not
  // deleted. Stricter (orders' update-diverged quarantined): tx1 is held, customer 2 had no child
  // on the DR, and delete-blocking deleted it — the row the held tx1 points at, which could then
  // never be resolved. A parent of a quarantined change is not deleted.
  it('delete-blocking leaves a DR row a quarantined change points at (monotone strictness, shrunk)', () => {
    const inc = buildIncident({
      baseCustomers: 2,
      baseOrders: [{ customer: 0, total: 0 }],
      baseNotes: [],
      lost: [[{ k: 'moveOrder', order: 0, customer: 3 }], [{ k: 'insCustomer', email: 4, variant: 0, name: 0 }], [{ k: 'setTotal', order: 0, total: 0 }]],
      dr: [{ k: 'setTotal', order: 0, total: 0 }, { k: 'setEmail', customer: 1, email: 4, variant: 0 }],
      disjoint: false,
    });
    const tables = { [CUSTOMERS]: { onConflict: { 'insert-unique-taken': { strategy: 'delete-blocking', maxChildren: 0 } }, keyAllocation: 'auto-increment', naturalKey: ['email'] }, [ORDERS]: { onConflict: {}, keyAllocation: 'auto-increment' }, [NOTES]: { onConflict: {}, keyAllocation: 'auto-increment' } };
    const base = runIncident(inc, { tables }, 2);
    const strict = runIncident(inc, { tables: { ...tables, [ORDERS]: { ...tables[ORDERS], onConflict: { 'update-diverged': 'quarantine' } } } }, 2);
    if (base.kind !== 'done' || strict.kind !== 'done') throw new Error('both runs end');
    expect(base.snapshot[CUSTOMERS]).toEqual([[1, 'ann@x', 'B0'], [2, 'EVE@X', 'B1']]);
    expect(base.snapshot[ORDERS]).toEqual([[1, 2, 200]]);
    expect(base.writes).toBe(1);
    // Stricter: nothing written; customer 2 stays, and so does order 1.
    expect(strict.snapshot).toEqual(inc.dr.snapshot());
    expect(strict.writes).toBe(0);
    const dr = inc.dr.clone();
    const stricter = rulesOf({ tables: { ...tables, [ORDERS]: { ...tables[ORDERS], onConflict: { 'update-diverged': 'quarantine' } } } });
    const { decisions } = runReconcile(dr, inc.lost, { windowSize: 2, mode: 'apply', rules: stricter });
    expect(decisions.map((d) => `${d.table} ${d.class} ${d.outcome}`)).toEqual(['shop.orders update-diverged quarantined', 'shop.customers insert-unique-taken quarantined', 'shop.orders row-quarantined quarantined']);
    expect(decisions[1]!.reason).toBe(
      `delete-blocking: the DR row shop.customers 2 (holds uk_email) is the parent of a quarantined lost change (${changeLabel(inc.lost[0]!, 0)}), which would point at nothing once resolved; nothing was deleted (tables."shop.customers".onConflict.insert-unique-taken)`,
    );
  });
});

// ---------------------------------------------------------------------------------------------
// Engine bugs the properties above found, kept as exact cases (they fail until fixed).

describe('engine bugs found by the properties', () => {
  // ENGINE BUG (Reconciler.#link → KeyMap.set, src/reconcile/reconciler.ts): linking a lost row to
  // a DR row whose id is also the old id of a remapped lost row throws RECONCILE_KEY_NOT_FRESH
  // ("new key (I2) is an old key still to be rewritten") out of decide(), stopping the whole run
  // (salvage: SALVAGE_FAULT). Here the lost customer 2 (dee@x) meets the DR's own customer 2
  // (CY@X) and is remapped (2 → 4); the lost customer 3 (cy@x) clashes on uk_email with that same
  // DR customer 2 and `link` maps 3 → 2. It should be decided (linked, or quarantined with a
  // reason), not crash.
  it('link onto a DR row whose id a remap moved away from does not stop the run', () => {
    const inc = buildIncident({
      baseCustomers: 1,
      baseOrders: [],
      baseNotes: [],
      lost: [[{ k: 'insCustomer', email: 3, variant: 0, name: 0 }], [{ k: 'insCustomer', email: 2, variant: 0, name: 0 }]],
      dr: [{ k: 'insCustomer', email: 2, variant: 0, name: 0 }],
      disjoint: false,
    });
    const cfg: ConfigJson = { tables: { [CUSTOMERS]: { naturalKey: ['email'], onConflict: { 'insert-unique-taken': 'link' } } } };
    // Actual: { kind: 'error', code: 'RECONCILE_KEY_NOT_FRESH' }.
    expect(runIncident(inc, cfg, 1)).toMatchObject({ kind: 'done', violations: [] });
  });

  // ENGINE BUG (Reconciler.#merge, src/reconcile/reconciler.ts): bothChanged "delta" reaches
  // applyDelta for every conflicting column, text included, which throws RECONCILE_NOT_NUMERIC
  // ("column name: "delta" needs numbers on all three sides") and stops the run. The class
  // strategy "delta" checks the column is numeric first; bothChanged "delta" should too (a text
  // column changed on both sides then keeps the DR value, as under "dr").
  it('merge with bothChanged "delta": numeric conflicts add, a text conflict keeps the DR value', () => {
    const b: RowImage = [1, 'ann', 'Main St', 'Oslo', '100.00', 5, null];
    const a: RowImage = [1, 'bob', 'Main St', 'Oslo', '150.00', 5, null];
    const d: RowImage = [1, 'cy', 'Main St', 'Oslo', '90.00', 5, null];
    const { row, outcomes } = reconcileAcct(ACCT, ACCT_MAP, d, [[b, a]], rulesOf({ tables: { 'shop.acct': { onConflict: { [CLASS]: { strategy: 'merge', bothChanged: 'delta' } } } } }));
    expect(row).toEqual([1, 'cy', 'Main St', 'Oslo', '140.00', 5, null]);
    expect(outcomes).toEqual(['update-diverged/merged']);
  });

  // ENGINE BUG (Reconciler.#source, src/reconcile/reconciler.ts): `source` (here reached through
  // newest, which the lost change wins) writes the lost after image whole, also the unique columns
  // the lost change did not change, without checking the unique keys: the DR moved customer 2 off
  // bob@x and gave BOB@X to its own customer 3, and the lost rename of customer 2 writes bob@x
  // back — a duplicate under utf8mb4_general_ci. The classifier looks only at unique keys the lost
  // change changed (classify.ts classifyUpdate), the write guard (#keyChangeGuard) only at the
  // primary key and references. On a real DR the duplicate is rejected and the transaction ends as
  // dr-rejected; it should be decided as update-unique-taken (quarantined) before any write.
  it('source does not write back a unique value the DR gave another row', () => {
    const inc = buildIncident({
      baseCustomers: 2,
      baseOrders: [],
      baseNotes: [],
      lost: [[{ k: 'setName', customer: 1, name: 0 }]],
      dr: [
        { k: 'setEmail', customer: 1, email: 2, variant: 0 },
        { k: 'insCustomer', email: 1, variant: 0, name: 0 },
      ],
      disjoint: false,
    });
    const dr = inc.dr.clone();
    // Actual: the oracle refuses the write (ORACLE_UK_DUPLICATE: uk_email value "bob@x" already held by row 3).
    const { decisions } = runReconcile(dr, inc.lost, { windowSize: 1, mode: 'apply', rules: rulesOf({ tables: { [CUSTOMERS]: { onConflict: { 'update-diverged': 'source' } } } }) });
    expect(decisions.map((d) => d.outcome)).toEqual(['quarantined']);
    expect(dr.snapshot()).toEqual(inc.dr.snapshot());
  });
  // Found by the constraints property (MERGE_PROPERTY_RUNS=15000, MERGE_PROPERTY_SEED=4004), shrunk.
  // The DR moved order 1 from customer 1 to 2, then deleted customer 1; the lost change set order
  // 1's total. `source` writes the lost row whole, customer_id included, which the lost change did
  // not change: written back, it pointed at the deleted customer 1 (foreign_key_checks=0 on apply).
  it('source does not write back a reference to a parent the DR deleted', () => {
    const inc = buildIncident({
      baseCustomers: 2,
      baseOrders: [{ customer: 0, total: 0 }],
      baseNotes: [],
      lost: [[{ k: 'setTotal', order: 0, total: 0 }, { k: 'setEmail', customer: 0, email: 0, variant: 0 }]],
      dr: [{ k: 'moveOrder', order: 0, customer: 7 }, { k: 'delCustomer', customer: 0 }],
      disjoint: false,
    });
    const dr = inc.dr.clone();
    const { decisions } = runReconcile(dr, inc.lost, { windowSize: 1, mode: 'apply', rules: rulesOf({ tables: { [ORDERS]: { onConflict: { 'update-diverged': 'source' } } } }) });
    expect(decisions.map((d) => [d.class, d.outcome, d.reason])).toEqual([['parent-missing', 'quarantined', 'the lost row written whole: its parent shop.customers 1 is not on the DR (fk_customer)']]);
    expect(dr.snapshot()).toEqual(inc.dr.snapshot());
    expect(dr.violations()).toEqual([]);
  });
  // A custom strategy that edits a reference to a row the window never read: held, not written
  // (and not an internal error: the parent is not guessed at).
  it('source with a custom-edited reference to a parent the window did not read: quarantined as parent-missing', () => {
    const inc = buildIncident({ baseCustomers: 2, baseOrders: [{ customer: 0, total: 0 }], baseNotes: [], lost: [[{ k: 'setTotal', order: 0, total: 0 }]], dr: [{ k: 'setTotal', order: 0, total: 1 }], disjoint: false });
    const parsed = parseConfig({ tables: { [ORDERS]: { onConflict: { 'update-diverged': { strategy: 'custom', name: 'reassign' } } } } });
    if (!parsed.ok) throw new Error('configuration rejected');
    const rules = new RuleBook(parsed.config, { reassign: () => ({ strategy: 'source', row: { customer_id: 99 } }) });
    const dr = inc.dr.clone();
    const { decisions } = runReconcile(dr, inc.lost, { windowSize: 1, mode: 'apply', rules });
    expect(decisions.map((d) => [d.class, d.outcome])).toEqual([['parent-missing', 'quarantined']]);
    expect(decisions[0]!.reason).toBe('custom reassign edited customer_id; the lost row written whole: its parent shop.customers 99 was not read from the DR (fk_customer)');
    expect(decisions[0]!.rulePath).toBe(`${ORDERS_RULE} → custom reassign → source`);
    expect(dr.snapshot()).toEqual(inc.dr.snapshot());
  });

  // ENGINE BUG (class-level "delta", Reconciler.#merge, src/reconcile/reconciler.ts): "delta" adds
  // the lost change's difference to every integer column, foreign keys included, and the merged
  // row's references are never checked (#missingParent looks at the change's after image only).
  // The lost change moved order 1 from customer 1 to 4, the DR moved it to 2: delta writes
  // customer_id 2 + (4 − 1) = 5, a customer that does not exist (foreign_key_checks=0 on apply).
  // Expected: a foreign-key column is not additive; changed on both sides it keeps the DR value.
  it('"delta" does not add to a foreign-key column', () => {
    const inc = buildIncident({
      baseCustomers: 4,
      baseOrders: [{ customer: 0, total: 0 }],
      baseNotes: [],
      lost: [[{ k: 'moveOrder', order: 0, customer: 3 }]],
      dr: [{ k: 'moveOrder', order: 0, customer: 1 }],
      disjoint: false,
    });
    const dr = inc.dr.clone();
    runReconcile(dr, inc.lost, { windowSize: 1, mode: 'apply', rules: rulesOf({ tables: { [ORDERS]: { onConflict: { 'update-diverged': 'delta' } } } }) });
    // Actual: [[1, 5, 1]] and violations ['shop.orders row i1: fk_customer points at missing customers i5'].
    expect(dr.rows(ORDERS)).toEqual([[1, 2, 1]]);
    expect(dr.violations()).toEqual([]);
  });

  // Found here (window reads vs link): a window's reads are collected before its changes are
  // decided, so a delete whose key a `link` in the same window maps onto an existing DR row read the
  // children of the lost key, not of the DR row; the cascade guard then saw no children and the DR
  // row was deleted under its references. Here the lost customer 2 (fay@x) is linked to the DR's
  // customer 1 (FAY@X) by natural key and then deleted; delete-diverged "source" deleted DR
  // customer 1 although order 1 (applied in an earlier window) points at it. A second round of
  // reads (window-reads.ts collectHolderChildReads) now reads who points at a link's target.
  it('a delete that follows a link in the same window still meets the cascade guard', () => {
    const inc = buildIncident({
      baseCustomers: 1,
      baseOrders: [],
      baseNotes: [],
      lost: [
        [{ k: 'setEmail', customer: 0, email: 0, variant: 1 }],
        [{ k: 'insOrder', customer: 0, total: 0 }, { k: 'setEmail', customer: 0, email: 0, variant: 0 }],
        [{ k: 'insCustomer', email: 5, variant: 0, name: 0 }, { k: 'delCustomer', customer: 1 }],
      ],
      dr: [
        { k: 'setEmail', customer: 0, email: 5, variant: 0 },
        { k: 'insCustomer', email: 1, variant: 0, name: 0 },
      ],
      disjoint: false,
    });
    const dr = inc.dr.clone();
    const { decisions } = runReconcile(dr, inc.lost, { windowSize: 2, mode: 'apply', rules: rulesOf({ tables: { [CUSTOMERS]: { naturalKey: ['email'], onConflict: { 'insert-pk-taken': 'link', 'delete-diverged': 'source' } } } }) });
    // The transaction is kept whole: the link waits with the delete.
    expect(decisions.map((d) => `${d.table} ${d.op} ${d.class}/${d.outcome}`).slice(-2)).toEqual(['shop.customers insert insert-pk-taken/quarantined', 'shop.customers delete delete-diverged/quarantined']);
    expect(decisions.at(-1)?.reason).toBe('cascade guard: 1 row(s) of shop.orders still point at it (fk_customer, ON DELETE RESTRICT)');
    expect(dr.violations()).toEqual([]);
  });
});
