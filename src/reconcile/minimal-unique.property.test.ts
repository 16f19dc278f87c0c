/**
 * A keyed table's updates checked on the row they write (written-row.ts), on the in-memory DR of
 * test/harness/in-memory-dr.ts, run the way salvage reads its windows. shop.items(id, label, code,
 * n) with UNIQUE(label, code) under a _ci collation; both sides change rows from small value pools
 * (so moves onto a value the other side holds, under the collation, are common). The primary logs
 * either binlog_row_image=MINIMAL (the before image the key, the after image the columns an update
 * sets) or FULL images, with a key column in ignoreColumns (a column the update did not change keeps
 * the DR's value) or without. Without the fix an update that set one part of the key was written
 * onto a value another DR row holds, and the DR refused it (here: the oracle's apply throws); so was
 * the merge of a row both sides changed (the lost change set label, the DR code: the merged row
 * holds a value neither side's row had).
 *
 * MINIMAL: each decision is the model's (a sequential replay on the DR: the row the update writes is
 * the DR row with the columns set, update-unique-taken when another row holds its key, the row then
 * held; an insert that names label alone stores code and n at their literal defaults) for every
 * window size, and the DR ends as the model says. FULL: no write is refused, no
 * key held twice, and the decisions do not depend on the window size.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { ColumnValue, RowImage } from '../binlog/column.js';
import type { RowChange, TableMap } from '../binlog/event.js';
import type { Transaction } from '../binlog/transaction.js';
import { parseConfig } from '../config/normalise.js';
import type { ColumnSchema, TableSchema } from '../model/table-schema.js';
import { InMemoryDr, runReconcile, type RunResult } from '../../test/harness/in-memory-dr.js';
import { columnSchema } from '../../test/harness/column-schema.js';
import { transaction } from '../../test/harness/incident-model.js';
import { RuleBook } from './rules.js';

const RUNS = Number(process.env['RECONCILE_PROPERTY_RUNS'] ?? 300);

const ITEMS = 'shop.items';

function column(name: string, ordinal: number, text: boolean): ColumnSchema {
  return columnSchema(name, ordinal, text, text ? { columnType: 'varchar(8)' } : {});
}

const TABLE: TableSchema = {
  schema: 'shop',
  table: 'items',
  // code and n have literal defaults: a MINIMAL insert that leaves them out logs neither.
  columns: [column('id', 1, false), column('label', 2, true), { ...column('code', 3, true), default: { kind: 'literal', value: 'x' } }, { ...column('n', 4, false), default: { kind: 'literal', value: '0' } }],
  primaryKey: ['id'],
  uniqueKeys: [{ name: 'uk_label_code', columns: ['label', 'code'] }],
  foreignKeys: [],
  autoIncrement: null,
  engine: 'InnoDB',
};

const MAP: TableMap = { tableId: 1, schema: 'shop', table: 'items', flags: 1, columns: [], primaryKey: [0], metadata: 'none' };

/** Labels and codes: `A` and `a` are one value under the collation, not exactly. */
const LABELS = ['a', 'b', 'A'] as const;
const CODES = ['x', 'y', 'X'] as const;
const COLS = ['label', 'code', 'n'] as const;

/** Sets the columns whose bit `cols` has (1 label, 2 code, 4 n; none: all three) on the row `row` picks. */
interface SetCmd {
  readonly k: 'set';
  readonly row: number;
  readonly cols: number;
  readonly label: number;
  readonly code: number;
  readonly n: number;
}
/** Inserts a row; `bare`: names label alone (code and n take their defaults, x and 0). */
interface InsCmd {
  readonly k: 'ins';
  readonly label: number;
  readonly code: number;
  readonly bare: boolean;
}
interface DelCmd {
  readonly k: 'del';
  readonly row: number;
}
type Cmd = SetCmd | InsCmd | DelCmd;

const setCmd: fc.Arbitrary<SetCmd> = fc.record({ k: fc.constant('set' as const), row: fc.nat({ max: 20 }), cols: fc.nat({ max: 7 }), label: fc.nat({ max: 2 }), code: fc.nat({ max: 2 }), n: fc.nat({ max: 2 }) });
const cmd: fc.Arbitrary<Cmd> = fc.oneof(
  { weight: 6, arbitrary: setCmd },
  { weight: 2, arbitrary: fc.record({ k: fc.constant('ins' as const), label: fc.nat({ max: 2 }), code: fc.nat({ max: 2 }), bare: fc.boolean() }) },
  { weight: 1, arbitrary: fc.record({ k: fc.constant('del' as const), row: fc.nat({ max: 20 }) }) },
);

interface Spec {
  readonly base: readonly { readonly label: number; readonly code: number }[];
  readonly lost: readonly (readonly Cmd[])[];
  readonly dr: readonly Cmd[];
}

const specArbitrary: fc.Arbitrary<Spec> = fc.record({
  base: fc.array(fc.record({ label: fc.nat({ max: 2 }), code: fc.nat({ max: 2 }) }), { minLength: 1, maxLength: 6 }),
  // One change per transaction: a quarantined change keeps its transaction whole (transaction-quarantined), which the model leaves out.
  lost: fc.array(fc.array(cmd, { minLength: 1, maxLength: 1 }), { minLength: 1, maxLength: 8 }),
  dr: fc.array(cmd, { maxLength: 5 }),
});

/** How the primary logs the items: MINIMAL, or FULL with `ignore` in ignoreColumns (null: none). */
type Images = { readonly kind: 'minimal' } | { readonly kind: 'full'; readonly ignore: 'label' | 'code' | null };

/** Runs `c` on `db` as an application would (a write the keys refuse is not made); the row change a primary logs, if any. */
function run(db: InMemoryDr, c: Cmd, nextId: () => number, images: Images): RowChange | null {
  const ids = db.rows(ITEMS).map((r) => r[0] as number);
  try {
    if (c.k === 'ins') {
      const row: RowImage = [nextId(), LABELS[c.label]!, c.bare ? 'x' : CODES[c.code]!, 0];
      db.insert(ITEMS, row);
      // MINIMAL logs the columns the INSERT named; the primary stored the defaults of the others.
      const logged: RowImage = images.kind === 'minimal' && c.bare ? [row[0], row[1], undefined, undefined] : row;
      return { op: 'insert', table: MAP, before: null, after: logged, eventOffset: 0 };
    }
    if (ids.length === 0) return null;
    const id = ids[c.row % ids.length]!;
    if (c.k === 'del') {
      const old = db.delete(ITEMS, [id]);
      return { op: 'delete', table: MAP, before: images.kind === 'minimal' ? [id, undefined, undefined, undefined] : old, after: null, eventOffset: 0 };
    }
    const set: Record<string, ColumnValue> = {};
    const values: Record<(typeof COLS)[number], ColumnValue> = { label: LABELS[c.label]!, code: CODES[c.code]!, n: c.n };
    COLS.forEach((col, i) => {
      if (c.cols === 0 || (c.cols & (1 << i)) !== 0) set[col] = values[col];
    });
    const old = db.row(ITEMS, [id]) as RowImage;
    db.update(ITEMS, [id], set);
    const now = db.row(ITEMS, [id]) as RowImage;
    // A server logs no row an UPDATE leaves exactly as it was.
    if (now.every((v, i) => v === old[i])) return null;
    if (images.kind === 'full') return { op: 'update', table: MAP, before: old, after: now, eventOffset: 0 };
    const after: RowImage = [undefined, undefined, undefined, undefined];
    TABLE.columns.forEach((col, i) => {
      if (col.name in set) after[i] = now[i];
    });
    return { op: 'update', table: MAP, before: [id, undefined, undefined, undefined], after, eventOffset: 0 };
  } catch {
    return null;
  }
}

interface Built {
  readonly dr: InMemoryDr;
  readonly lost: Transaction[];
}

function build(spec: Spec, images: Images): Built {
  const base = new InMemoryDr([TABLE]);
  let id = 0;
  for (const b of spec.base) {
    try {
      base.insert(ITEMS, [++id, LABELS[b.label]!, CODES[b.code]!, 0]);
    } catch {
      // The keys refuse a duplicate: the base holds one of each value.
    }
  }
  const primary = base.clone();
  const dr = base.clone();
  // Ids kept apart: the primary's new rows from 50, the DR's from 100 (no insert-pk-taken here).
  let primaryId = 50;
  let drId = 100;
  const lost: Transaction[] = [];
  for (const tx of spec.lost) {
    const changes = tx.map((c) => run(primary, c, () => primaryId++, images)).filter((c): c is RowChange => c !== null);
    if (changes.length > 0) lost.push(transaction(lost.length + 1, changes.map((c, i) => ({ ...c, eventOffset: (lost.length + 1) * 1000 + i * 40 }))));
  }
  for (const c of spec.dr) run(dr, c, () => drId++, images);
  return { dr, lost };
}

function rules(images: Images): RuleBook | undefined {
  if (images.kind === 'minimal' || images.ignore === null) return undefined;
  const parsed = parseConfig({ ignoreColumns: [`shop.items.${images.ignore}`] });
  if (!parsed.ok) throw new Error(JSON.stringify(parsed.problems));
  return new RuleBook(parsed.config);
}

function reconcile(b: Built, windowSize: number, images: Images): { readonly r: RunResult; readonly dr: InMemoryDr } {
  const dr = b.dr.clone();
  const r = runReconcile(dr, b.lost, { windowSize, mode: 'apply', ...(images.kind === 'full' ? { rules: rules(images) } : {}) });
  return { r, dr };
}

const fold = (v: RowImage[number]): string => String(v).toLowerCase();

/**
 * The model's decisions for a MINIMAL run (class and outcome per change, in order), replayed on a
 * copy of the DR: a row a quarantined change holds holds its later changes; an update writes the DR
 * row with the columns it set, refused when another row holds that label and code.
 */
function modelMinimal(b: Built): { readonly decided: [string, string][]; readonly dr: InMemoryDr } {
  const dr = b.dr.clone();
  const held = new Set<number>();
  const decided: [string, string][] = [];
  const holder = (row: RowImage): boolean => dr.rows(ITEMS).some((r) => r[0] !== row[0] && fold(r[1]) === fold(row[1]) && fold(r[2]) === fold(row[2]));
  for (const tx of b.lost) {
    for (const c of tx.changes) {
      const id = (c.op === 'insert' ? c.after : c.before)![0] as number;
      if (c.op !== 'insert' && held.has(id)) {
        decided.push(['row-quarantined', 'quarantined']);
        continue;
      }
      const at = dr.row(ITEMS, [id]);
      if (c.op === 'insert') {
        // The DR stores a column the insert left out at its default, as the primary did.
        const row = c.after!.map((v, i) => (v === undefined ? [undefined, undefined, 'x', 0][i] : v));
        if (holder(row)) {
          decided.push(['insert-unique-taken', 'quarantined']);
          held.add(id);
        } else {
          dr.insert(ITEMS, row);
          decided.push(['clean', 'applied']);
        }
        continue;
      }
      if (c.op === 'delete') {
        if (at === null) decided.push(['already-applied', 'skipped']);
        else {
          dr.delete(ITEMS, [id]);
          decided.push(['clean', 'applied']);
        }
        continue;
      }
      if (at === null) {
        decided.push(['update-missing', 'quarantined']);
        held.add(id);
        continue;
      }
      const after = c.after!;
      const written = at.map((v, i) => (after[i] === undefined ? v : after[i]));
      if (written.every((v, i) => v === at[i])) {
        decided.push(['already-applied', 'skipped']);
        continue;
      }
      if (holder(written)) {
        decided.push(['update-unique-taken', 'quarantined']);
        held.add(id);
        continue;
      }
      const set: Record<string, ColumnValue> = {};
      TABLE.columns.forEach((col, i) => {
        if (after[i] !== undefined && i > 0) set[col.name] = after[i] as ColumnValue;
      });
      dr.update(ITEMS, [id], set);
      decided.push(['clean', 'applied']);
    }
  }
  return { decided, dr };
}

const summary = (r: RunResult): [string, string][] => r.decisions.map((d) => [d.class, d.outcome]);

/** A MINIMAL run of `spec` in windows of `window` decides as the model and leaves the DR as it says. */
function agreesWithModel(spec: Spec, window: number): void {
  const b = build(spec, { kind: 'minimal' });
  const model = modelMinimal(b);
  const { r, dr } = reconcile(b, window, { kind: 'minimal' });
  expect(summary(r)).toEqual(model.decided);
  expect(dr.snapshot()).toEqual(model.dr.snapshot());
  expect(dr.violations()).toEqual([]);
}

describe('a keyed update checked on the row it writes (in-memory oracle)', () => {
  it('MINIMAL images: every decision is the model’s, for any window size, and the DR ends as the model says', () => {
    fc.assert(fc.property(specArbitrary, fc.constantFrom(1, 2, 100), agreesWithModel), { numRuns: RUNS });
  });

  // Found by the property once inserts could leave code and n to their defaults (bare), each failing
  // before its fix; kept, as the default number of runs does not always reach them.
  it.each([
    {
      // The bare insert's (b, x): the DR's own row holds it. Was written (the DR refused it): the
      // insert's unique value left out its default part.
      why: 'an insert whose defaulted unique value the DR holds is insert-unique-taken',
      spec: { base: [{ label: 0, code: 0 }], lost: [[{ k: 'ins', label: 1, code: 0, bare: true }]], dr: [{ k: 'ins', label: 1, code: 0, bare: false }] },
    },
    {
      // Row 50 (a, x) moved onto (b, x), the DR's row 100's. Was held as clean in windows longer
      // than one (the code the insert left to its default unknown), update-unique-taken in one.
      why: 'an update of a row the window’s bare insert made is decided on its default code',
      spec: { base: [{ label: 0, code: 1 }], lost: [[{ k: 'ins', label: 0, code: 0, bare: true }], [{ k: 'set', row: 1, cols: 1, label: 1, code: 0, n: 0 }]], dr: [{ k: 'ins', label: 1, code: 0, bare: false }] },
    },
    {
      why: 'a bare insert, its row relabelled and set whole in later windows (window 2)',
      spec: {
        base: [{ label: 0, code: 1 }],
        lost: [[{ k: 'ins', label: 0, code: 0, bare: true }], [{ k: 'set', row: 0, cols: 1, label: 2, code: 0, n: 0 }], [{ k: 'set', row: 0, cols: 0, label: 0, code: 0, n: 0 }]],
        dr: [{ k: 'set', row: 0, cols: 0, label: 1, code: 0, n: 0 }],
      },
    },
  ] satisfies { why: string; spec: Spec }[])('counterexample, kept: $why', ({ spec }) => {
    for (const window of [1, 2, 100]) agreesWithModel(spec, window);
  });

  it('FULL images, a key column in ignoreColumns or none (a merge of a row both sides changed): no write is refused, no key held twice, the same decisions for any window size', () => {
    fc.assert(
      fc.property(specArbitrary, fc.constantFrom<'label' | 'code' | null>('label', 'code', null), (spec, ignore) => {
        const images: Images = { kind: 'full', ignore };
        const b = build(spec, images);
        const one = reconcile(b, 1, images);
        const all = reconcile(b, 100, images);
        expect(one.dr.violations()).toEqual([]);
        expect(summary(all.r)).toEqual(summary(one.r));
        expect(all.dr.snapshot()).toEqual(one.dr.snapshot());
      }),
      { numRuns: RUNS },
    );
  });
});
