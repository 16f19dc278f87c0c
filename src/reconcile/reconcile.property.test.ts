/**
 * The reconcile core against an in-memory relational oracle (DESIGN.md "Strategies", the
 * invariants paragraph), no database: generated incidents (test/harness/incident-model.ts) are
 * salvaged by a driver that mirrors salvage.ts's windows (test/harness/in-memory-dr.ts), and each
 * invariant is its own property. Counterexamples fast-check found are kept at the end as plain
 * tests.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { ColumnValue, RowImage } from '../binlog/column.js';
import type { RowChange } from '../binlog/event.js';
import type { Transaction } from '../binlog/transaction.js';
import { CUSTOMERS, NOTES, ORDERS, buildIncident, incidentArbitrary, unnamedRowChanges, type Incident, type IncidentSpec } from '../../test/harness/incident-model.js';
import { decisionSummary as summary, gnoOf, InMemoryDr, runReconcile, type RunOptions, type RunResult } from '../../test/harness/in-memory-dr.js';
import { OUTCOMES, type ChangeDecision } from '../model/decision.js';

/** Kept small so the file runs in seconds; RECONCILE_PROPERTY_RUNS=5000 searches deeper. */
const RUNS = Number(process.env['RECONCILE_PROPERTY_RUNS'] ?? 150);

function run(dr: InMemoryDr, txs: readonly Transaction[], windowSize: number, more: Partial<RunOptions> = {}): RunResult {
  return runReconcile(dr, txs, { windowSize, mode: 'apply', ...more });
}

/** The parent table an FK column of `table` points at (declared fk_customer, logical notes.order_id). */
const PARENT: Record<string, { readonly column: number; readonly name: string; readonly parent: string } | undefined> = {
  [ORDERS]: { column: 1, name: 'customer_id', parent: CUSTOMERS },
  [NOTES]: { column: 1, name: 'order_id', parent: ORDERS },
};

const qualifiedOf = (c: RowChange): string => `${c.table.schema}.${c.table.table}`;
/** A lost change's row as the primary knew it: its source id. */
const sourceId = (c: RowChange): number => Number((c.op === 'insert' ? c.after : c.before)?.[0]);

const arbitrary = incidentArbitrary();
/**
 * The default schema or one with generated ON DELETE rules (CASCADE, SET NULL, RESTRICT; both
 * sides' cascades unlogged): the invariants of the defaults hold on either. The cascade guard's
 * other modes have their own file (cascade-guard.property.test.ts).
 */
const withCascades = fc.oneof(arbitrary, incidentArbitrary({ cascade: true }));

describe('reconcile properties (in-memory oracle)', () => {
  it('accounting: every lost change gets exactly one decision, with an outcome its class allows', () => {
    fc.assert(
      fc.property(arbitrary, fc.integer({ min: 1, max: 4 }), (spec, windowSize) => {
        const inc = buildIncident(spec);
        const { decisions } = run(inc.dr.clone(), inc.lost, windowSize);
        const expected = inc.lost.flatMap((tx) => tx.changes.map((_, index) => `${gnoOf(tx)}#${index}`));
        expect(decisions.map((d) => `${gnoOf(d.tx)}#${d.index}`)).toEqual(expected);
        for (const d of decisions) {
          expect(OUTCOMES).toContain(d.outcome);
          expect(d.change).toBe(d.tx.changes[d.index]);
          checkOutcomeClass(d);
        }
      }),
      { numRuns: RUNS },
    );
  });

  // Known limitation of the value rules, kept failing on purpose until it is lifted: run again
  // WITHOUT the checkpoint, a row the lost range changed more than once is ambiguous — a lost insert
  // whose row a later lost change updated no longer equals the DR's row at its key, and an
  // AUTO_INCREMENT key makes that `insert-pk-taken`: the engine's own earlier write is taken for a
  // different record and remapped (duplicated); an update A→B then B→A is re-applied. salvage never re-decides
  // a committed transaction (its checkpoint counts GTIDs applied under any source id, and positions
  // per source), so `apply` twice is idempotent (test/reconcile/*.test.ts); telling the engine's own
  // rows apart without it needs the identity issue 8 brings (the DR's binlog, or the ledger).
  it.fails('idempotence: a second run over the same transactions, with the key map and quarantine kept, changes nothing', () => {
    fc.assert(
      fc.property(arbitrary, (spec) => {
        const inc = buildIncident(spec);
        expect(secondRunProblems(inc)).toEqual([]);
      }),
      { numRuns: 150, seed: 20240611 },
    );
  });

  it('idempotence where the lost range changes each row once: a second run, even without the checkpoint, changes nothing', () => {
    fc.assert(
      fc.property(arbitrary, (spec) => {
        const inc = buildIncident(spec);
        fc.pre(!touchesARowTwice(inc.lost));
        expect(secondRunProblems(inc)).toEqual([]);
      }),
      { numRuns: RUNS },
    );
  });

  it('window size does not matter: 1, 3 and all in one window decide and write the same', () => {
    fc.assert(
      fc.property(arbitrary, (spec) => {
        const inc = buildIncident(spec);
        const outcomes = [1, 3, Math.max(1, inc.lost.length)].map((ws) => {
          const dr = inc.dr.clone();
          const r = run(dr, inc.lost, ws);
          return { snapshot: dr.snapshot(), decisions: r.decisions.map(summary) };
        });
        expect(outcomes[1]).toEqual(outcomes[0]);
        expect(outcomes[2]).toEqual(outcomes[0]);
      }),
      { numRuns: RUNS },
    );
  });

  // Found here: a remap that did not stand (its unique value taken, or its transaction held back
  // whole) used to keep its id reserved, so a resumed run handed out other ids (counterexample below).
  it('a run killed after k transactions and resumed (key map and quarantine reloaded) ends as one run', () => {
    fc.assert(
      fc.property(arbitrary, fc.nat(), (spec, cut) => {
        const inc = buildIncident(spec);
        expect(resumeProblems(inc, cut % (inc.lost.length + 1))).toEqual([]);
      }),
      { numRuns: 150, seed: 52 },
    );
  });

  // When the input itself is split (binlogs recovered piece by piece, the second run over the later
  // files), the first run cannot know the ids the later input inserts: a remap may take one of them,
  // and the later insert then meets the remapped row — a different source record — and is remapped
  // in turn (it used to be taken for "already applied" and lost). So the ids the engine hands out may
  // differ; what must not differ is the data: the same records, the same values, the same references,
  // the same quarantine, up to the choice of fresh ids for the rows the engine inserted.
  it('input split across runs: the first k transactions, then the rest, end with the same records as one run, up to the fresh ids chosen', () => {
    fc.assert(
      fc.property(arbitrary, fc.nat(), (spec, cut) => {
        const inc = buildIncident(spec);
        expect(splitProblems(inc, cut % (inc.lost.length + 1))).toEqual([]);
      }),
      { numRuns: RUNS },
    );
  });

  it('disjoint histories: the result equals a plain replay of the lost changes, every change applied', () => {
    fc.assert(
      fc.property(incidentArbitrary({ disjoint: true }), fc.integer({ min: 1, max: 4 }), (spec, windowSize) => {
        const inc = buildIncident(spec);
        const dr = inc.dr.clone();
        const { decisions } = run(dr, inc.lost, windowSize);
        expect(decisions.filter((d) => d.outcome !== 'applied').map(summary)).toEqual([]);
        expect(dr.snapshot()).toEqual(replay(inc).snapshot());
      }),
      { numRuns: RUNS },
    );
  });

  // On cascade schemas too: under the default cascade guard (forbid) a lost delete that DR rows
  // still point at waits, so no ON DELETE action the engine carries out reaches a row.
  it('no harm: rows the DR created keep every value, columns it changed keep its value, rows it deleted stay deleted, rows no lost change names stay as they were', () => {
    fc.assert(
      fc.property(withCascades, fc.integer({ min: 1, max: 4 }), (spec, windowSize) => {
        const inc = buildIncident(spec);
        const dr = inc.dr.clone();
        const r = run(dr, inc.lost, windowSize);
        expect(harm(inc, dr)).toEqual([]);
        expect([...unnamedRowChanges(inc, dr, r.decisions.flatMap((d) => (d.newKey === null ? [] : [`${d.table}#${String(d.newKey[0])}`]))).values()]).toEqual([]);
      }),
      { numRuns: RUNS },
    );
  });

  it('remap integrity: new keys are fresh and distinct, and every later write follows them', () => {
    fc.assert(
      fc.property(arbitrary, fc.integer({ min: 1, max: 4 }), (spec, windowSize) => {
        const inc = buildIncident(spec);
        const r = run(inc.dr.clone(), inc.lost, windowSize);
        expect(remapProblems(inc, r)).toEqual([]);
      }),
      { numRuns: RUNS },
    );
  });

  it('quarantine closure: nothing that depends on a quarantined change is applied', () => {
    fc.assert(
      fc.property(arbitrary, fc.integer({ min: 1, max: 4 }), (spec, windowSize) => {
        const inc = buildIncident(spec);
        const r = run(inc.dr.clone(), inc.lost, windowSize);
        expect(closureProblems(r.decisions)).toEqual([]);
      }),
      { numRuns: RUNS },
    );
  });

  it('constraints hold afterwards: primary and unique keys (under collation), declared and logical foreign keys', () => {
    fc.assert(
      fc.property(withCascades, fc.integer({ min: 1, max: 4 }), (spec, windowSize) => {
        const inc = buildIncident(spec);
        expect(inc.dr.violations()).toEqual([]);
        const dr = inc.dr.clone();
        run(dr, inc.lost, windowSize);
        expect(dr.violations()).toEqual([]);
      }),
      { numRuns: RUNS },
    );
  });

  it('plan decides what apply decides (its overlay kept across windows, nothing written)', () => {
    fc.assert(
      fc.property(arbitrary, fc.integer({ min: 1, max: 4 }), (spec, windowSize) => {
        const inc = buildIncident(spec);
        const dr = inc.dr.clone();
        const planned = runReconcile(dr, inc.lost, { windowSize, mode: 'plan' });
        expect(dr.snapshot()).toEqual(inc.dr.snapshot());
        const applied = run(inc.dr.clone(), inc.lost, windowSize);
        expect(planned.decisions.map(summary)).toEqual(applied.decisions.map(summary));
      }),
      { numRuns: RUNS },
    );
  });
});

/** What a second run over the same transactions, on the DR the first left, changed or decided differently. */
function secondRunProblems(inc: Incident): string[] {
  const dr = inc.dr.clone();
  const first = run(dr, inc.lost, 2);
  const after = JSON.stringify(dr.snapshot());
  const remaps = first.keyMap.size;
  const second = run(dr, inc.lost, 2, { keyMap: first.keyMap, quarantine: first.quarantine });
  const found: string[] = [];
  if (JSON.stringify(dr.snapshot()) !== after) found.push(`the DR changed: ${after} became ${JSON.stringify(dr.snapshot())}`);
  if (first.keyMap.size !== remaps) found.push(`${first.keyMap.size - remaps} new remap(s)`);
  second.decisions.forEach((d, i) => {
    const was = first.decisions[i];
    if (d.outcome === 'remapped' || (was?.outcome === 'quarantined' && d.outcome !== 'quarantined')) found.push(`${gnoOf(d.tx)}#${d.index} ${d.table} ${d.op}: ${was?.outcome ?? '?'} then ${d.outcome} (${d.class})`);
  });
  return found;
}

/**
 * Whether the lost range changes some row more than once. Decided again without the checkpoint,
 * such a row is ambiguous to value rules: an insert later updated looks like a different record
 * (the limitation above), and an update A→B followed by B→A finds the row equal to its before image
 * again and is re-applied (found by this property at 4,000 runs). Rows changed once are not.
 */
function touchesARowTwice(lost: readonly Transaction[]): boolean {
  const seen = new Set<string>();
  for (const tx of lost) {
    for (const c of tx.changes) {
      const key = `${qualifiedOf(c)}#${sourceId(c)}`;
      if (seen.has(key)) return true;
      seen.add(key);
    }
  }
  return false;
}

/** Differences between one run and a run killed after `k` transactions and resumed. */
function resumeProblems(inc: Incident, k: number): string[] {
  return twoRunProblems(inc, k, true);
}

/**
 * Differences between one run and the same input split after `k` transactions into two runs (the
 * first not seeing the rest), comparing records up to the fresh ids chosen: every row the engine
 * inserted is named by its source record, and every reference to it too.
 */
function splitProblems(inc: Incident, k: number): string[] {
  const one = inc.dr.clone();
  const whole = run(one, inc.lost, 2);
  const two = inc.dr.clone();
  const a = run(two, inc.lost.slice(0, k), 2);
  const b = run(two, inc.lost.slice(k), 2, { keyMap: a.keyMap, quarantine: a.quarantine });
  const found: string[] = [];
  const oneHeld = whole.decisions.filter((d) => d.outcome === 'quarantined').map((d) => `${gnoOf(d.tx)}#${d.index}`);
  const twoHeld = [...a.decisions, ...b.decisions].filter((d) => d.outcome === 'quarantined').map((d) => `${gnoOf(d.tx)}#${d.index}`);
  if (JSON.stringify(oneHeld) !== JSON.stringify(twoHeld)) found.push(`quarantined: one run ${oneHeld.join(' ')}, split ${twoHeld.join(' ')}`);
  const x = JSON.stringify(bySourceRecord(one.snapshot(), whole.decisions));
  const y = JSON.stringify(bySourceRecord(two.snapshot(), [...a.decisions, ...b.decisions]));
  if (x !== y) found.push(`DR up to fresh ids: one run ${x}, split ${y}`);
  return found;
}

/** The snapshot with every engine-inserted row's id, and every reference to it, replaced by `s<source id>`. */
function bySourceRecord(snapshot: ReturnType<InMemoryDr['snapshot']>, decisions: readonly ChangeDecision[]): Record<string, unknown[][]> {
  const names = new Map<string, Map<number, string>>();
  for (const d of decisions) {
    if (d.op !== 'insert' || (d.outcome !== 'applied' && d.outcome !== 'remapped') || d.sourceKey === null) continue;
    const at = Number((d.newKey ?? d.sourceKey)[0]);
    let m = names.get(d.table);
    if (m === undefined) names.set(d.table, (m = new Map()));
    m.set(at, `s${Number(d.sourceKey[0])}`);
  }
  const rename = (table: string, id: unknown): unknown => names.get(table)?.get(Number(id)) ?? id;
  const out: Record<string, unknown[][]> = {};
  for (const [table, rows] of Object.entries(snapshot)) {
    const ref = PARENT[table];
    out[table] = (rows as unknown[][])
      .map((row) => row.map((v, i) => (i === 0 ? rename(table, v) : ref !== undefined && i === ref.column ? rename(ref.parent, v) : v)))
      .sort((p, q) => (String(p[0]) < String(q[0]) ? -1 : String(p[0]) > String(q[0]) ? 1 : 0));
  }
  return out;
}

/**
 * One run against two: the first over the first `k` transactions (having scanned all of them when
 * `killed`, as a run stopped part way through has), the second over the rest, with the key map and
 * quarantine the first left (salvage reloads both from its state schema).
 */
function twoRunProblems(inc: Incident, k: number, killed: boolean): string[] {
  const one = inc.dr.clone();
  const whole = run(one, inc.lost, 2);
  const two = inc.dr.clone();
  const a = run(two, inc.lost.slice(0, k), 2, killed ? { scanned: inc.lost } : {});
  const b = run(two, inc.lost.slice(k), 2, { keyMap: a.keyMap, quarantine: a.quarantine });
  const found: string[] = [];
  const split = [...a.decisions, ...b.decisions].map(summary);
  whole.decisions.map(summary).forEach((d, i) => {
    const s = split[i];
    if (JSON.stringify(s) !== JSON.stringify(d)) found.push(`${d.gno}#${d.index} ${d.table} ${d.op}: one run ${d.outcome} ${d.class} ${JSON.stringify(d.newKey)}, split ${s?.outcome ?? '?'} ${s?.class ?? '?'} ${JSON.stringify(s?.newKey ?? null)}`);
  });
  if (JSON.stringify(two.snapshot()) !== JSON.stringify(one.snapshot())) found.push(`DR: one run ${JSON.stringify(one.snapshot())}, split ${JSON.stringify(two.snapshot())}`);
  return found;
}

/** The classes each outcome may carry under the built-in defaults. */
function checkOutcomeClass(d: ChangeDecision): void {
  switch (d.outcome) {
    case 'applied':
      expect(d.class).toBe('clean');
      break;
    case 'skipped':
      expect(d.class).toBe('already-applied');
      break;
    case 'merged':
      expect(['update-diverged', 'insert-pk-same-record']).toContain(d.class);
      break;
    case 'remapped':
      expect([d.class, d.op, d.newKey === null]).toEqual(['insert-pk-taken', 'insert', false]);
      break;
    case 'quarantined':
      expect(d.reason).not.toBeNull();
      break;
  }
}

/** The DR after replaying every lost change as it was logged (replication with no conflicts). */
function replay(inc: Incident): InMemoryDr {
  const dr = inc.dr.clone();
  for (const tx of inc.lost) {
    for (const c of tx.changes) {
      const t = qualifiedOf(c);
      if (c.op === 'insert') dr.insert(t, c.after as RowImage);
      else if (c.op === 'delete') dr.delete(t, [(c.before as RowImage)[0] as ColumnValue]);
      else {
        const after = c.after as RowImage;
        const set = Object.fromEntries(c.table.columns.map((col, i) => [col.name, after[i] as ColumnValue]));
        dr.update(t, [(c.before as RowImage)[0] as ColumnValue], set);
      }
    }
  }
  return dr;
}

/** Rows the DR created, changed or deleted after the failover that the run harmed, described. */
function harm(inc: Incident, final: InMemoryDr): string[] {
  const found: string[] = [];
  // Values the lost history itself wrote, per row and column: a DR change to the same value cannot
  // be told from the lost one by value (DESIGN.md: without the DR's binlog), so it is not judged.
  // Before images count too: a value the primary held that no logged change wrote came from its
  // own ON DELETE SET NULL (unlogged), the same change the DR's cascade made (found at 3,000 runs:
  // both sides null order 1's customer, the lost delete of order 1 then meets its before image).
  const lostWrote = new Set<string>();
  for (const tx of inc.lost) for (const c of tx.changes) for (const image of [c.before, c.after]) image?.forEach((v, i) => lostWrote.add(`${qualifiedOf(c)}#${sourceId(c)}#${i}#${String(v)}`));
  for (const t of [CUSTOMERS, ORDERS, NOTES]) {
    const base = new Map(inc.base.rows(t).map((r) => [Number(r[0]), r]));
    const dr = new Map(inc.dr.rows(t).map((r) => [Number(r[0]), r]));
    for (const [id, row] of dr) {
      const now = final.row(t, [id]);
      const was = base.get(id);
      if (was === undefined) {
        if (JSON.stringify(now) !== JSON.stringify(row)) found.push(`${t} ${id} created by the DR: ${JSON.stringify(row)} became ${JSON.stringify(now)}`);
        continue;
      }
      row.forEach((v, i) => {
        if (v === was[i] || lostWrote.has(`${t}#${id}#${i}#${String(v)}`)) return;
        if (now === null || now[i] !== v) found.push(`${t} ${id} column ${i} changed by the DR to ${String(v)}: now ${JSON.stringify(now)}`);
      });
    }
    for (const id of base.keys()) if (!dr.has(id) && final.row(t, [id]) !== null) found.push(`${t} ${id} deleted by the DR is back`);
  }
  return found;
}

/** Remaps that are not fresh, and writes that do not follow a remap, described. */
function remapProblems(inc: Incident, r: RunResult): string[] {
  const found: string[] = [];
  const oldKeys = new Map<string, Set<number>>();
  const newKeys = new Map<string, Set<number>>();
  const inserted = new Map<string, Set<number>>();
  for (const tx of inc.lost) for (const c of tx.changes) if (c.op === 'insert') setOf(inserted, qualifiedOf(c)).add(sourceId(c));
  for (const res of r.results) {
    for (const m of res.remaps) {
      const oldK = Number(m.oldKey[0]);
      const newK = Number(m.newKey[0]);
      if (inc.dr.row(m.table, [newK]) !== null) found.push(`${m.table} ${oldK} → ${newK}: ${newK} was on the DR`);
      if (inserted.get(m.table)?.has(newK) === true) found.push(`${m.table} ${oldK} → ${newK}: ${newK} is a lost row's own id`);
      if (setOf(newKeys, m.table).has(newK)) found.push(`${m.table} ${newK} given twice`);
      setOf(newKeys, m.table).add(newK);
      setOf(oldKeys, m.table).add(oldK);
    }
  }
  const remapped = (table: string, v: ColumnValue | undefined): boolean => oldKeys.get(table)?.has(Number(v)) === true;
  for (const res of r.results) {
    for (const w of res.writes) {
      const t = `${w.table.schema}.${w.table.table}`;
      const ref = PARENT[t];
      if (w.kind === 'insert') {
        if (remapped(t, w.row[0]) && newKeys.get(t)?.has(Number(w.row[0])) !== true) found.push(`${t}: insert at remapped old key ${String(w.row[0])}`);
        if (ref !== undefined && remapped(ref.parent, w.row[ref.column])) found.push(`${t} ${String(w.row[0])}: insert points at ${ref.parent}'s remapped old key ${String(w.row[ref.column])}`);
      } else {
        if (remapped(t, w.key[0])) found.push(`${t}: ${w.kind} of remapped old key ${String(w.key[0])} (the DR's own row)`);
        if (w.kind === 'update' && ref !== undefined) {
          const v = w.set[ref.name];
          if (v !== undefined && remapped(ref.parent, v)) found.push(`${t} ${String(w.key[0])}: update points at ${ref.parent}'s remapped old key ${String(v)}`);
        }
      }
    }
  }
  // A change of a remapped row decided after its remap says where the row is.
  const at = new Map<string, number>();
  for (const d of r.decisions) {
    if (d.change === null) continue;
    const key = `${d.table}#${sourceId(d.change)}`;
    const target = at.get(key);
    if (target !== undefined && d.outcome !== 'quarantined' && Number(d.newKey?.[0]) !== target) found.push(`${key} ${d.op} decided ${d.outcome} without following its remap to ${target}`);
    if (d.outcome === 'remapped') at.set(key, Number(d.newKey?.[0]));
  }
  return found;
}

/** Decisions applied although something they depend on is quarantined, described. */
function closureProblems(decisions: readonly ChangeDecision[]): string[] {
  const found: string[] = [];
  const held = new Set<string>();
  const byTx = new Map<Transaction, ChangeDecision[]>();
  for (const d of decisions) {
    const list = byTx.get(d.tx) ?? [];
    list.push(d);
    byTx.set(d.tx, list);
  }
  for (const [tx, list] of byTx) {
    // Kept whole (the default): one quarantined change holds back its transaction.
    if (list.some((d) => d.outcome === 'quarantined') && list.some((d) => d.outcome !== 'quarantined')) found.push(`transaction ${gnoOf(tx)} split: ${list.map((d) => d.outcome).join(', ')}`);
    for (const d of list) {
      const c = d.change;
      if (c === null) continue;
      const self = `${d.table}#${sourceId(c)}`;
      const ref = PARENT[d.table];
      const parent = ref === undefined || c.after === null ? null : `${ref.parent}#${String(c.after[ref.column])}`;
      const setsParent = parent !== null && (c.op === 'insert' || String(c.before?.[ref?.column ?? 0]) !== String(c.after?.[ref?.column ?? 0]));
      if (d.outcome !== 'quarantined') {
        if (held.has(self)) found.push(`${gnoOf(tx)}#${d.index} ${d.op} ${self} ${d.outcome} after an earlier change of the row was quarantined`);
        if (setsParent && parent !== null && held.has(parent)) found.push(`${gnoOf(tx)}#${d.index} ${d.op} ${self} ${d.outcome} pointing at quarantined ${parent}`);
      }
    }
    for (const d of list) if (d.outcome === 'quarantined' && d.change !== null) held.add(`${d.table}#${sourceId(d.change)}`);
  }
  return found;
}

function setOf(map: Map<string, Set<number>>, key: string): Set<number> {
  let s = map.get(key);
  if (s === undefined) map.set(key, (s = new Set()));
  return s;
}

describe('the checks see what they look for', () => {
  it('no harm flags a plain replay that overwrites a name the DR changed', () => {
    const inc = buildIncident({ baseCustomers: 1, baseOrders: [], baseNotes: [], lost: [[{ k: 'setName', customer: 0, name: 1 }]], dr: [{ k: 'setName', customer: 0, name: 0 }], disjoint: false });
    expect(harm(inc, replay(inc))).toEqual(['shop.customers 1 column 2 changed by the DR to D0: now [1,"ann@x","L1"]']);
    const dr = inc.dr.clone();
    expect(run(dr, inc.lost, 1).decisions.map((d) => [d.class, d.outcome, d.conflicts])).toEqual([['update-diverged', 'merged', ['name']]]);
    expect(harm(inc, dr)).toEqual([]);
  });

  it('quarantine closure flags a transaction that was not kept whole', () => {
    // bob@x is taken on the DR (BOB@X): the customer insert is quarantined, the order for customer 1 is not.
    const inc = buildIncident({ baseCustomers: 1, baseOrders: [], baseNotes: [], lost: [[{ k: 'insCustomer', email: 1, variant: 0, name: 0 }, { k: 'insOrder', customer: 0, total: 0 }]], dr: [{ k: 'insCustomer', email: 5, variant: 0, name: 0 }, { k: 'insCustomer', email: 1, variant: 0, name: 0 }], disjoint: false });
    const r = run(inc.dr.clone(), inc.lost, 1, { keepTransactionsWhole: false });
    expect(r.decisions.map((d) => [d.class, d.outcome])).toEqual([['insert-unique-taken', 'quarantined'], ['clean', 'applied']]);
    expect(closureProblems(r.decisions)).toEqual(['transaction 1 split: quarantined, applied']);
  });
});

describe('shrunk counterexamples', () => {
  it('the incident model builds a consistent base', () => {
    const spec: IncidentSpec = { baseCustomers: 2, baseOrders: [{ customer: 1, total: 4 }], baseNotes: [{ order: 0, body: 1 }], lost: [[{ k: 'insCustomer', email: 2, variant: 0, name: 1 }]], dr: [], disjoint: false };
    const inc = buildIncident(spec);
    expect(inc.dr.snapshot()).toEqual({
      [CUSTOMERS]: [[1, 'ann@x', 'B0'], [2, 'bob@x', 'B1']],
      [NOTES]: [[1, 1, 'b1']],
      [ORDERS]: [[1, 2, 5]],
    });
    expect(inc.lost.map((tx) => tx.changes.map((c) => [c.op, c.after]))).toEqual([[['insert', [3, 'cy@x', 'L1']]]]);
  });

  // Idempotence. Lost: tx1 inserts order 1 (customer 1, total 100); tx2 sets its total to 101 and
  // inserts note 1 for it. The first run applies all three. The second decides tx1's insert
  // against DR order 1 = (1, 1, 101): not equal to (1, 1, 100), AUTO_INCREMENT key → insert-pk-taken
  // → remapped to 2; tx2's update follows to 2 (clean, applied) and its note, pointing at order 2
  // now, meets DR note 1 → remapped to 2: order (2, 1, 101) and note (2, 2, 'l0') are duplicates.
  const idempotence: IncidentSpec = {
    baseCustomers: 1, baseOrders: [], baseNotes: [],
    lost: [[{ k: 'insOrder', customer: 0, total: 0 }], [{ k: 'setTotal', order: 0, total: 1 }, { k: 'insNote', order: 0, body: 0 }]],
    dr: [], disjoint: false,
  };

  it('idempotence counterexample: the first run applies everything', () => {
    const inc = buildIncident(idempotence);
    const dr = inc.dr.clone();
    const r = run(dr, inc.lost, 2);
    expect(r.decisions.map((d) => [d.op, d.class, d.outcome])).toEqual([['insert', 'clean', 'applied'], ['update', 'clean', 'applied'], ['insert', 'clean', 'applied']]);
    expect(dr.snapshot()).toEqual({ [CUSTOMERS]: [[1, 'ann@x', 'B0']], [NOTES]: [[1, 1, 'l0']], [ORDERS]: [[1, 1, 101]] });
  });

  // The known limitation above, shrunk.
  it.fails('idempotence counterexample: the second run changes nothing', () => {
    expect(secondRunProblems(buildIncident(idempotence))).toEqual([]);
  });

  // Split input, shrunk by fast-check (cut after tx1). DR: customer 2 BOB@X. Lost: tx1 inserts
  // customer 2 (cy@x); tx2 inserts customer 3 (bob@x) and renames customer 1; tx3 deletes customer 1.
  // One run floors remaps at 4 (tx2's insert of 3 is in its input): 2 → 4, and tx2 is quarantined
  // (insert-unique-taken: BOB@X holds bob@x). Split, the first run floors at 3: 2 → 3, and the second
  // then meets customer 3 at the DR (the remapped row): insert-pk-taken, its remap quarantined.
  it('split counterexample: customer ids (shrunk)', () => {
    const spec: IncidentSpec = {
      baseCustomers: 1, baseOrders: [], baseNotes: [],
      lost: [[{ k: 'insCustomer', email: 2, variant: 0, name: 0 }], [{ k: 'insCustomer', email: 1, variant: 0, name: 0 }, { k: 'setName', customer: 0, name: 0 }], [{ k: 'delCustomer', customer: 0 }]],
      dr: [{ k: 'insCustomer', email: 1, variant: 0, name: 0 }], disjoint: false,
    };
    expect(splitProblems(buildIncident(spec), 1)).toEqual([]);
  });

  // Split input, data loss. DR: order 1 (customer 1, 200). Lost: tx1 inserts order 1, tx2 order 2,
  // both (customer 1, 100). One run: 1 → 3, order 2 applied: three orders. Split after tx1: the first
  // run remaps 1 → 2; the second finds (2, 1, 100) at the DR, equal to its insert: already-applied,
  // skipped. The second lost order is gone, and every later change of it would hit the first.
  const lostOrder: IncidentSpec = {
    baseCustomers: 1, baseOrders: [], baseNotes: [],
    lost: [[{ k: 'insOrder', customer: 0, total: 0 }], [{ k: 'insOrder', customer: 0, total: 0 }]],
    dr: [{ k: 'insOrder', customer: 0, total: 0 }], disjoint: false,
  };

  it('split counterexample: one run keeps both lost orders', () => {
    const inc = buildIncident(lostOrder);
    const dr = inc.dr.clone();
    const r = run(dr, inc.lost, 2);
    expect(r.decisions.map((d) => [d.op, d.class, d.outcome, d.newKey])).toEqual([['insert', 'insert-pk-taken', 'remapped', [3]], ['insert', 'clean', 'applied', null]]);
    expect(dr.snapshot()[ORDERS]).toEqual([[1, 1, 200], [2, 1, 100], [3, 1, 100]]);
  });

  // Found here: the second order used to be taken for "already applied" (equal values) and lost.
  it('split counterexample: split after the first transaction, the second lost order is kept too (remapped: the first took its id)', () => {
    const inc = buildIncident(lostOrder);
    const dr = inc.dr.clone();
    const a = run(dr, inc.lost.slice(0, 1), 2);
    const b = run(dr, inc.lost.slice(1), 2, { keyMap: a.keyMap, quarantine: a.quarantine });
    expect(a.decisions.map((d) => [d.op, d.class, d.outcome, d.newKey])).toEqual([['insert', 'insert-pk-taken', 'remapped', [2]]]);
    expect(b.decisions.map((d) => [d.op, d.class, d.outcome, d.newKey])).toEqual([['insert', 'insert-pk-taken', 'remapped', [3]]]);
    expect(dr.snapshot()[ORDERS]).toEqual([[1, 1, 200], [2, 1, 100], [3, 1, 100]]);
  });

  // Kill and resume, shrunk by fast-check (killed after tx1). DR: customers 2 BOB@X, 3 DEE@X. Lost:
  // tx1 inserts customer 2 (dee@x): pk taken, remap takes 4, then DEE@X holds dee@x: quarantined,
  // but the floor stays at 5. tx2 inserts customer 3 (cy@x): pk taken, remapped to 5 in one run; the
  // resumed run rebuilds its floor from the DR (MAX 3, AUTO_INCREMENT 4) and remaps it to 4.
  const burned: IncidentSpec = {
    baseCustomers: 1, baseOrders: [], baseNotes: [],
    lost: [[{ k: 'insCustomer', email: 3, variant: 0, name: 0 }], [{ k: 'insCustomer', email: 2, variant: 0, name: 0 }, { k: 'insCustomer', email: 0, variant: 0, name: 0 }]],
    dr: [{ k: 'insCustomer', email: 1, variant: 0, name: 0 }, { k: 'insCustomer', email: 3, variant: 0, name: 0 }], disjoint: false,
  };

  it('resume counterexample: one run gives back the id a quarantined remap took', () => {
    const inc = buildIncident(burned);
    const r = run(inc.dr.clone(), inc.lost, 2);
    expect(r.decisions.map((d) => [d.op, d.class, d.outcome, d.newKey])).toEqual([['insert', 'insert-unique-taken', 'quarantined', null], ['insert', 'insert-pk-taken', 'remapped', [4]]]);
  });

  it('resume counterexample: killed after tx1 and resumed, customer 3 gets the same id', () => {
    expect(resumeProblems(buildIncident(burned), 1)).toEqual([]);
  });

  // No harm on a cascade schema, shrunk by fast-check (RECONCILE_PROPERTY_RUNS=3000; a false alarm
  // of the check, not an engine fault). fk_customer is ON DELETE SET NULL. Both sides delete
  // customer 1, and each server nulls order 1's customer_id itself, unlogged. The lost history then
  // deletes order 1 with before image (1, NULL, 1): the DR row equals it, a clean delete. The DR's
  // change (the NULL) is the primary's too, which only the before image shows.
  it('no harm counterexample: a value both sides\' cascades set is not the DR\'s alone', () => {
    const inc = buildIncident({
      baseCustomers: 1, baseOrders: [{ customer: 0, total: 0 }], baseNotes: [],
      lost: [[{ k: 'delCustomer', customer: 0 }, { k: 'insNote', order: 0, body: 0 }], [{ k: 'delOrder', order: 0 }]],
      dr: [{ k: 'delCustomer', customer: 0 }], disjoint: false, fks: { customer: 'SET NULL', note: 'logical' },
    });
    expect(inc.dr.snapshot()[ORDERS]).toEqual([[1, null, 1]]);
    expect(inc.lost.map((tx) => tx.changes.map((c) => [c.op, c.table.table, c.before]))).toEqual([
      [['delete', 'customers', [1, 'ann@x', 'B0']], ['insert', 'notes', null]],
      [['delete', 'notes', [1, 1, 'l0']], ['delete', 'orders', [1, null, 1]]],
    ]);
    const dr = inc.dr.clone();
    const r = run(dr, inc.lost, 1);
    expect(r.decisions.map((d) => [d.table, d.op, d.class, d.outcome])).toEqual([
      [CUSTOMERS, 'delete', 'already-applied', 'skipped'],
      [NOTES, 'insert', 'clean', 'applied'],
      [NOTES, 'delete', 'clean', 'applied'],
      [ORDERS, 'delete', 'clean', 'applied'],
    ]);
    expect(dr.snapshot()).toEqual({ [CUSTOMERS]: [], [NOTES]: [], [ORDERS]: [] });
    expect(harm(inc, dr)).toEqual([]);
  });
});
