/**
 * The cascade guard (DESIGN.md "Conflict taxonomy", clean delete; "Run-level controls") against the
 * in-memory oracle, over incidents whose foreign keys are drawn too (test/harness/incident-model.ts
 * `cascade`): orders → customers RESTRICT, CASCADE or SET NULL, notes → orders logical or any of
 * the three, both sides' applications deleting with the server's checks on, so the lost history
 * logs a parent's delete and not what InnoDB cascaded from it.
 *
 * salvage writes with foreign_key_checks=0 (InMemoryDr.apply: no ON DELETE action fires), so the
 * engine must do, or refuse, what the server would have done. Each engine delete is checked against
 * the oracle's own InnoDB (InMemoryDr.referentialEffects, to any depth) on the DR as it stood
 * before the writes the engine made for that delete:
 *
 * - `forbid` (the default): no delete the engine writes would have had any referential action, and
 *   every DR row no lost change names is exactly as it was (the no-harm property of
 *   reconcile.property.test.ts covers what the DR created or changed, on these schemas too);
 * - `report` / `allowUpTo n`: the rows the engine deletes or nulls for a delete are exactly those
 *   InnoDB would have reached, each archived (role `cascade-delete` / `cascade-set-null`, the row as
 *   it was) and counted in the decision's reason; every DR row the run removed or changed that no
 *   lost change names is among them; declared keys hold afterwards; every lost change ends in
 *   exactly one decision; and under `allowUpTo n` no delete takes more than n rows with it;
 * - under `report` / `allowUpTo`, the window size does not change what is decided or written, and
 *   plan decides what apply decides.
 *
 * Counterexamples fast-check found are kept at the end as plain tests.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { ColumnValue } from '../binlog/column.js';
import { parseConfig, type CascadeGuard } from '../config/normalise.js';
import { buildIncident, incidentArbitrary, unnamedRowChanges, type Incident, type IncidentSpec } from '../../test/harness/incident-model.js';
import { gnoOf, InMemoryDr, OracleErrorCode, runReconcile, type ReferentialEffect, type RunResult } from '../../test/harness/in-memory-dr.js';
import { EngineError } from '../errors.js';
import type { ChangeDecision, WriteOp } from '../model/decision.js';
import { changeLabel } from './reconciler.js';
import { RuleBook } from './rules.js';

/** Kept small so the file runs in seconds; RECONCILE_PROPERTY_RUNS=5000 searches deeper. */
const RUNS = Number(process.env['RECONCILE_PROPERTY_RUNS'] ?? 150);

const arbitrary = incidentArbitrary({ cascade: true });

function rulesFor(guard: CascadeGuard): RuleBook {
  const input = guard.kind === 'forbid' ? 'forbid' : guard.kind === 'report' ? 'report' : { allowUpTo: guard.limit };
  const r = parseConfig({ cascadeGuard: input });
  if (!r.ok) throw new Error(`configuration rejected: ${JSON.stringify(r.problems)}`);
  return new RuleBook(r.config);
}

function run(inc: Incident, guard: CascadeGuard, windowSize: number): { dr: InMemoryDr; result: RunResult } {
  const dr = inc.dr.clone();
  return { dr, result: runReconcile(dr, inc.lost, { windowSize, mode: 'apply', rules: rulesFor(guard) }) };
}

const tableOf = (w: WriteOp): string => `${w.table.schema}.${w.table.table}`;
const keyOf = (w: WriteOp): ColumnValue[] => (w.kind === 'insert' ? [w.row[0] as ColumnValue] : [...w.key]);
const effectText = (e: ReferentialEffect): string => `${e.action} ${e.table} ${JSON.stringify(e.row)}`;

/**
 * Replays the run's writes one by one on the DR as it was (apply mode writes exactly these, window
 * after window), judging each delete against the oracle's InnoDB; returns what does not hold and
 * the rows archived for a cascade (`table#id`).
 */
function cascadeProblems(inc: Incident, r: RunResult, final: InMemoryDr, guard: CascadeGuard): { problems: string[]; archived: Set<string> } {
  const problems: string[] = [];
  const archived = new Set<string>();
  const byLabel = new Map<string, ChangeDecision>(r.decisions.map((d) => [changeLabel(d.tx, d.index), d]));
  /** Per decision label, the rows its cascade archived, by table and action. */
  const counted = new Map<string, Map<string, number>>();
  const dr = inc.dr.clone();
  let before: InMemoryDr | null = null;
  let pending: ReferentialEffect[] = [];
  for (const w of r.results.flatMap((x) => x.writes)) {
    const at = `${w.kind} ${tableOf(w)} ${JSON.stringify(keyOf(w))}`;
    if (w.kind !== 'insert' && w.archive !== undefined) {
      const a = w.archive;
      const want = w.kind === 'delete' ? 'cascade-delete' : 'cascade-set-null';
      if (a.role !== want) problems.push(`${at}: archived as ${a.role}, expected ${want}`);
      const now = dr.row(tableOf(w), keyOf(w));
      if (JSON.stringify(now) !== JSON.stringify(a.row)) problems.push(`${at}: archived ${JSON.stringify(a.row)}, the DR held ${JSON.stringify(now)}`);
      const d = byLabel.get(a.change);
      if (d === undefined || d.op !== 'delete' || d.outcome !== 'applied') problems.push(`${at}: archived for ${a.change}, which is not an applied delete`);
      const per = counted.get(a.change) ?? new Map<string, number>();
      const slot = `${w.kind === 'delete' ? 'deleted' : 'nulled'} ${tableOf(w)}`;
      per.set(slot, (per.get(slot) ?? 0) + 1);
      counted.set(a.change, per);
      archived.add(`${tableOf(w)}#${String(keyOf(w)[0])}`);
      before ??= dr.clone();
      pending.push({ table: tableOf(w), action: w.kind === 'delete' ? 'delete' : 'set-null', row: a.row });
    } else if (w.kind === 'delete') {
      // The parent: what InnoDB, checks on, would have done on the DR before the cascade's writes.
      let effects: ReferentialEffect[];
      try {
        effects = (before ?? dr).referentialEffects(tableOf(w), keyOf(w));
      } catch (e) {
        if (!(e instanceof EngineError) || e.code !== OracleErrorCode.FkRestrict) throw e;
        problems.push(`${at}: InnoDB would refuse it (${e.message})`);
        effects = [];
      }
      const want = effects.map(effectText).sort();
      const did = pending.map(effectText).sort();
      if (JSON.stringify(did) !== JSON.stringify(want)) problems.push(`${at}: the engine ${did.length === 0 ? 'carried out nothing' : `carried out [${did.join('; ')}]`}, InnoDB would have [${want.join('; ')}]`);
      if (guard.kind === 'allow-up-to' && pending.length > guard.limit) problems.push(`${at}: ${pending.length} row(s) cascaded, more than allowUpTo ${guard.limit}`);
      if (guard.kind === 'forbid' && pending.length > 0) problems.push(`${at}: ${pending.length} row(s) cascaded under forbid`);
      pending = [];
      before = null;
    } else if (pending.length > 0) {
      problems.push(`${at}: written between a cascade and the delete it belongs to`);
    }
    dr.apply([w]);
  }
  if (pending.length > 0) problems.push(`cascade writes with no delete after them: ${pending.map(effectText).join('; ')}`);
  if (JSON.stringify(dr.snapshot()) !== JSON.stringify(final.snapshot())) problems.push('replaying the writes does not give the DR the run left');
  // The reason records what the archive holds: "deleted N row(s) of T" / "… to NULL in N row(s) of T".
  for (const [label, per] of counted) {
    const reason = byLabel.get(label)?.reason ?? '';
    const said = new Map<string, number>();
    for (const m of reason.matchAll(/deleted (\d+) row\(s\) of ([\w.]+) \(/g)) said.set(`deleted ${m[2]}`, (said.get(`deleted ${m[2]}`) ?? 0) + Number(m[1]));
    for (const m of reason.matchAll(/to NULL in (\d+) row\(s\) of ([\w.]+) \(/g)) said.set(`nulled ${m[2]}`, (said.get(`nulled ${m[2]}`) ?? 0) + Number(m[1]));
    const a = JSON.stringify([...per].sort());
    const b = JSON.stringify([...said].sort());
    if (a !== b) problems.push(`${label}: archived ${a}, its reason says ${b} (${reason})`);
  }
  return { problems, archived };
}

function accountingProblems(inc: Incident, r: RunResult): string[] {
  const expected = inc.lost.flatMap((tx) => tx.changes.map((_, index) => `${gnoOf(tx)}#${index}`));
  const got = r.decisions.map((d) => `${gnoOf(d.tx)}#${d.index}`);
  return JSON.stringify(got) === JSON.stringify(expected) ? [] : [`decisions ${got.join(' ')}, lost changes ${expected.join(' ')}`];
}

/** Everything the properties below hold a run to, under `guard`. */
function guardProblems(spec: IncidentSpec, guard: CascadeGuard, windowSize: number): string[] {
  const inc = buildIncident(spec);
  const { dr, result } = run(inc, guard, windowSize);
  const { problems, archived } = cascadeProblems(inc, result, dr, guard);
  problems.push(...accountingProblems(inc, result));
  const unnamed = unnamedRowChanges(inc, dr, result.decisions.flatMap((d) => (d.newKey === null ? [] : [`${d.table}#${String(d.newKey[0])}`])));
  if (guard.kind === 'forbid') {
    problems.push(...unnamed.values());
    problems.push(...dr.violations());
  } else {
    for (const [id, text] of unnamed) if (!archived.has(id)) problems.push(`${text}, and no archive row says so`);
    // Logical references are left as they are under report (the reason says so): declared keys only.
    problems.push(...dr.violations({ logical: false }));
  }
  return problems;
}

describe('cascade guard properties (in-memory oracle, generated ON DELETE rules)', () => {
  it('the model: both histories keep every declared and logical key, and some lost delete meets a DR child', () => {
    let met = 0;
    fc.assert(
      fc.property(arbitrary, (spec) => {
        const inc = buildIncident(spec);
        expect(inc.dr.violations()).toEqual([]);
        expect(inc.primary.violations()).toEqual([]);
        for (const tx of inc.lost) for (const c of tx.changes) if (c.op === 'delete' && c.before !== null && inc.dr.row(`${c.table.schema}.${c.table.table}`, [c.before[0] as ColumnValue]) !== null) {
          try {
            if (inc.dr.referentialEffects(`${c.table.schema}.${c.table.table}`, [c.before[0] as ColumnValue]).length > 0) met++;
          } catch (e) {
            if (!(e instanceof EngineError) || e.code !== OracleErrorCode.FkRestrict) throw e;
          }
        }
      }),
      { numRuns: RUNS },
    );
    // The generator is worth its time only if lost deletes meet cascades on the DR.
    expect(met).toBeGreaterThan(RUNS / 10);
  });

  it('forbid (the default): no delete the engine writes needs a referential action, and no DR row the lost changes never name changes', () => {
    fc.assert(
      fc.property(arbitrary, fc.integer({ min: 1, max: 4 }), (spec, windowSize) => {
        expect(guardProblems(spec, { kind: 'forbid' }, windowSize)).toEqual([]);
      }),
      { numRuns: RUNS },
    );
  });

  it('report: every row a cascade removes or nulls is what InnoDB would, archived and counted in the reason; declared keys hold; every lost change decided once', () => {
    fc.assert(
      fc.property(arbitrary, fc.integer({ min: 1, max: 4 }), (spec, windowSize) => {
        expect(guardProblems(spec, { kind: 'report' }, windowSize)).toEqual([]);
      }),
      { numRuns: RUNS },
    );
  });

  // A delete whose cascade InnoDB would take past n rows can only be quarantined: carried out, its
  // writes would either differ from InnoDB's or exceed n, and cascadeProblems flags both.
  it('allowUpTo n: no delete takes more than n rows with it, and the rest holds as under report', () => {
    fc.assert(
      fc.property(arbitrary, fc.nat({ max: 3 }), fc.integer({ min: 1, max: 4 }), (spec, limit, windowSize) => {
        expect(guardProblems(spec, { kind: 'allow-up-to', limit }, windowSize)).toEqual([]);
      }),
      { numRuns: RUNS },
    );
  });
});

const summaryOf = (r: RunResult): unknown[] => r.decisions.map((d) => [gnoOf(d.tx), d.index, d.table, d.op, d.class, d.outcome, d.reason, d.newKey]);

describe('cascade guard: window size and plan', () => {
  // DESIGN.md: the outcome does not depend on window size. The one-level cascade is refused when a
  // cascaded row may have rows of its own that the window did not read; the window now reads them
  // (collectCascadeChildReads), where it used to depend on whether another change of the same
  // window had, and lists what the cascade reaches in key order, not in the order reads loaded it
  // (shrunk cases below).
  it('report / allowUpTo: windows of 1, 3 and all decide and write the same, and plan decides what apply decides', () => {
    fc.assert(
      fc.property(arbitrary, fc.constantFrom<CascadeGuard>({ kind: 'report' }, { kind: 'allow-up-to', limit: 1 }), (spec, guard) => {
        const inc = buildIncident(spec);
        const outcomes = [1, 3, Math.max(1, inc.lost.length)].map((ws) => {
          const { dr, result } = run(inc, guard, ws);
          return { snapshot: dr.snapshot(), decisions: summaryOf(result) };
        });
        expect(outcomes[1]).toEqual(outcomes[0]);
        expect(outcomes[2]).toEqual(outcomes[0]);
        const planned = runReconcile(inc.dr.clone(), inc.lost, { windowSize: 2, mode: 'plan', rules: rulesFor(guard) });
        expect(summaryOf(planned)).toEqual(summaryOf(run(inc, guard, 2).result));
      }),
      // Five runs per case: half the cases keep the file within a few seconds.
      { numRuns: Math.ceil(RUNS / 2) },
    );
  });
});

describe('shrunk counterexamples', () => {
  // Found by the window-size property above (before collectCascadeChildReads), shrunk. fk_customer
  // CASCADE, notes → orders a logical reference. Lost: tx1 changes order 1's total; tx2 deletes
  // customer 1 (the primary's cascade took order 1, unlogged) and adds customer 2. In one window
  // tx1's update had read who points at order 1 (no note), so the cascade went ahead; one
  // transaction per window, nothing had, and the delete was quarantined "which the window did not
  // read" — and customer 2 with it, its email still held by customer 1.
  it('report, CASCADE one level: windows of 1 and 3 both carry out the cascade', () => {
    const inc = buildIncident({
      baseCustomers: 1, baseOrders: [{ customer: 0, total: 0 }], baseNotes: [],
      lost: [[{ k: 'setTotal', order: 0, total: 0 }], [{ k: 'delCustomer', customer: 0 }, { k: 'insCustomer', email: 0, variant: 0, name: 0 }]],
      dr: [], disjoint: false, fks: { customer: 'CASCADE', note: 'logical' },
    });
    for (const windowSize of [1, 3]) {
      const { dr, result } = run(inc, { kind: 'report' }, windowSize);
      expect(result.decisions.map((d) => [d.table, d.op, d.class, d.outcome, d.reason])).toEqual([
        ['shop.orders', 'update', 'clean', 'applied', null],
        ['shop.customers', 'delete', 'clean', 'applied', 'cascade: deleted 1 row(s) of shop.orders (fk_customer ON DELETE CASCADE)'],
        ['shop.customers', 'insert', 'clean', 'applied', null],
      ]);
      expect(dr.snapshot()).toEqual({ 'shop.customers': [[2, 'ann@x', 'L0']], 'shop.notes': [], 'shop.orders': [] });
    }
  });

  // Found by the same property once the reads were in, shrunk. The DR ordered for customer 1
  // (order 1). Lost: tx1 orders for customer 1 too (re-keyed to 2: the DR took id 1) and deletes
  // customer 2; tx2 deletes customer 1 (its cascade takes orders 1 and 2) and adds a customer. One
  // transaction per window, order 2 is on the DR when tx2's window reads, and who points at it is
  // read: none, the cascade goes ahead. In one window order 2 is the window's own insert, re-keyed
  // while deciding, after the reads, and the delete used to be quarantined ("which the window did
  // not read"): a re-keyed row sits at a fresh key no DR row pointed at.
  it('report: a row the same window inserted (re-keyed) and then cascades is judged as one window apart would', () => {
    const inc = buildIncident({
      baseCustomers: 2, baseOrders: [], baseNotes: [],
      lost: [[{ k: 'insOrder', customer: 0, total: 0 }, { k: 'delCustomer', customer: 1 }], [{ k: 'delCustomer', customer: 0 }, { k: 'insCustomer', email: 0, variant: 0, name: 0 }]],
      dr: [{ k: 'insOrder', customer: 0, total: 0 }], disjoint: false, fks: { customer: 'CASCADE', note: 'logical' },
    });
    const one = run(inc, { kind: 'report' }, 1);
    const all = run(inc, { kind: 'report' }, 3);
    expect(one.result.decisions.map((d) => [d.table, d.op, d.class, d.outcome, d.reason])).toEqual([
      ['shop.orders', 'insert', 'insert-pk-taken', 'remapped', 'the DR gave id 1 to a different record: re-keyed to 2 in shop.orders'],
      ['shop.customers', 'delete', 'clean', 'applied', null],
      ['shop.customers', 'delete', 'clean', 'applied', 'cascade: deleted 2 row(s) of shop.orders (fk_customer ON DELETE CASCADE)'],
      ['shop.customers', 'insert', 'clean', 'applied', null],
    ]);
    expect(summaryOf(all.result)).toEqual(summaryOf(one.result));
    expect(all.dr.snapshot()).toEqual(one.dr.snapshot());
  });

  // Found by the same property, shrunk: two orders of customer 2 each have a note (notes → orders a
  // logical reference), so the delete of customer 2 is refused for both. The reason listed them in
  // the order reads had loaded them (order 2 first in one window, order 1 first in three): now in
  // key order.
  it('report: what a refused cascade reaches is listed in key order whatever the window size', () => {
    const inc = buildIncident({
      baseCustomers: 2, baseOrders: [{ customer: 3, total: 0 }, { customer: 3, total: 0 }], baseNotes: [{ order: 0, body: 0 }],
      lost: [[{ k: 'insOrder', customer: 0, total: 0 }, { k: 'delOrder', order: 0 }], [{ k: 'delCustomer', customer: 3 }, { k: 'delOrder', order: 0 }], [{ k: 'insCustomer', email: 0, variant: 0, name: 0 }]],
      dr: [{ k: 'insNote', order: 1, body: 0 }, { k: 'delCustomer', customer: 0 }], disjoint: false, fks: { customer: 'CASCADE', note: 'logical' },
    });
    for (const windowSize of [1, 3]) {
      const d = run(inc, { kind: 'report' }, windowSize).result.decisions.find((x) => x.table === 'shop.customers' && x.op === 'delete');
      expect([d?.outcome, d?.reason]).toEqual([
        'quarantined',
        'cascade guard: the cascade reaches shop.orders 1, and 1 row(s) of shop.notes point at it (config:order_id): only one level is carried out; the cascade reaches shop.orders 2, and 1 row(s) of shop.notes point at it (config:order_id): only one level is carried out',
      ]);
    }
  });

  // Found by the report property (seed 1672192151), shrunk: the DR ordered for customer 1 after the
  // failover (order 1, a row the lost range never saw); the primary deleted customer 1, and
  // fk_customer is ON DELETE SET NULL. Under report the engine nulls the DR's order itself — and
  // used to write no archive row for it, so the DR's own value was gone without a copy.
  const dRsOrder: IncidentSpec = {
    baseCustomers: 1, baseOrders: [], baseNotes: [],
    lost: [[{ k: 'delCustomer', customer: 0 }]],
    dr: [{ k: 'insOrder', customer: 0, total: 0 }],
    disjoint: false, fks: { customer: 'SET NULL', note: 'logical' },
  };

  it('report, SET NULL: the DR order the cascade nulls is archived as it was, and the reason counts it', () => {
    const inc = buildIncident(dRsOrder);
    const { dr, result } = run(inc, { kind: 'report' }, 1);
    expect(result.decisions.map((d) => [d.table, d.op, d.class, d.outcome, d.reason])).toEqual([
      ['shop.customers', 'delete', 'clean', 'applied', 'cascade: set customer_id to NULL in 1 row(s) of shop.orders (fk_customer ON DELETE SET NULL)'],
    ]);
    expect(result.results.flatMap((r) => r.writes).map((w) => [w.kind, tableOf(w), keyOf(w), w.kind === 'insert' ? null : (w.archive ?? null)])).toEqual([
      ['update', 'shop.orders', [1], { change: `${changeLabel(inc.lost[0]!, 0)}`, role: 'cascade-set-null', row: [1, 1, 200] }],
      ['delete', 'shop.customers', [1], null],
    ]);
    expect(dr.snapshot()).toEqual({ 'shop.customers': [], 'shop.notes': [], 'shop.orders': [[1, null, 200]] });
  });

  // Found by the allowUpTo property (seed -21985593), shrunk: order 1 has note 1 (fk_order ON DELETE
  // SET NULL); the primary deleted order 1. allowUpTo 1 lets the one-row cascade through, which
  // used to null the note with no archive row.
  it('allowUpTo 1, SET NULL one level down the schema: the nulled note is archived', () => {
    const inc = buildIncident({
      baseCustomers: 1, baseOrders: [{ customer: 0, total: 0 }], baseNotes: [{ order: 0, body: 0 }],
      lost: [[{ k: 'delOrder', order: 0 }]],
      dr: [], disjoint: false, fks: { customer: 'RESTRICT', note: 'SET NULL' },
    });
    const { dr, result } = run(inc, { kind: 'allow-up-to', limit: 1 }, 1);
    expect(result.decisions.map((d) => [d.table, d.op, d.class, d.outcome, d.reason])).toEqual([
      ['shop.orders', 'delete', 'clean', 'applied', 'cascade: set order_id to NULL in 1 row(s) of shop.notes (fk_order ON DELETE SET NULL)'],
    ]);
    expect(result.results.flatMap((r) => r.writes).map((w) => [w.kind, tableOf(w), keyOf(w), w.kind === 'insert' ? null : (w.archive ?? null)])).toEqual([
      ['update', 'shop.notes', [1], { change: `${changeLabel(inc.lost[0]!, 0)}`, role: 'cascade-set-null', row: [1, 1, 'b0'] }],
      ['delete', 'shop.orders', [1], null],
    ]);
    expect(dr.snapshot()).toEqual({ 'shop.customers': [[1, 'ann@x', 'B0']], 'shop.notes': [[1, null, 'b0']], 'shop.orders': [] });
  });

  // The fix above for ON DELETE CASCADE (written by hand, beside the shrunk ones): the base order
  // and the order the DR added after the failover both go with customer 1, each archived first.
  it('report, CASCADE: both orders the cascade deletes, the DR\'s new one too, are archived as they were', () => {
    const inc = buildIncident({
      baseCustomers: 1, baseOrders: [{ customer: 0, total: 4 }], baseNotes: [],
      lost: [[{ k: 'delCustomer', customer: 0 }]],
      dr: [{ k: 'insOrder', customer: 0, total: 3 }], disjoint: false, fks: { customer: 'CASCADE', note: 'none' },
    });
    const { dr, result } = run(inc, { kind: 'report' }, 1);
    const label = changeLabel(inc.lost[0]!, 0);
    expect(result.decisions.map((d) => [d.table, d.op, d.class, d.outcome, d.reason])).toEqual([
      ['shop.customers', 'delete', 'clean', 'applied', 'cascade: deleted 2 row(s) of shop.orders (fk_customer ON DELETE CASCADE)'],
    ]);
    expect(result.results.flatMap((r) => r.writes).map((w) => [w.kind, tableOf(w), keyOf(w), w.kind === 'insert' ? null : (w.archive ?? null)])).toEqual([
      ['delete', 'shop.orders', [1], { change: label, role: 'cascade-delete', row: [1, 1, 5] }],
      ['delete', 'shop.orders', [2], { change: label, role: 'cascade-delete', row: [2, 1, 203] }],
      ['delete', 'shop.customers', [1], null],
    ]);
    expect(dr.snapshot()).toEqual({ 'shop.customers': [], 'shop.notes': [], 'shop.orders': [] });
  });
});
