/**
 * Identity safety with the DR's own history (issue 8, "Done when"): whatever the generated
 * histories — the DR handing the lost inserts' ids to its own records, deleting a row and giving
 * its id to a new record, changing a value and changing it back — no lost change is ever written
 * to a record the DR created after the failover. The DR's history is built from its own log by the
 * same builder salvage uses (dr-history-builder.ts); the reconcile run mirrors salvage.ts's windows
 * against the in-memory oracle (test/harness/in-memory-dr.ts).
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { buildIncident, CUSTOMERS, incidentArbitrary, type Incident, type IncidentSpec } from '../../test/harness/incident-model.js';
import { runReconcile, type RunResult } from '../../test/harness/in-memory-dr.js';
import type { DrHistory } from '../model/dr-history.js';
import { DrHistoryBuilder } from './dr-history-builder.js';
import type { WriteOp } from '../model/decision.js';

const RUNS = Number(process.env['RECONCILE_PROPERTY_RUNS'] ?? 200);

function historyOf(incident: Incident): DrHistory {
  const b = new DrHistoryBuilder({ catalog: incident.dr.catalog(), own: { serverId: 2, serverUuid: null } });
  for (const tx of incident.drLog) b.add(tx);
  return b.finish({ complete: true });
}

function salvageRun(incident: Incident, windowSize: number, history: DrHistory | null): RunResult {
  return runReconcile(incident.dr.clone(), incident.lost, { windowSize, mode: 'apply', history });
}

/** `table#id` of every update and delete the run wrote. */
function writtenRows(r: RunResult): string[] {
  const out: string[] = [];
  const key = (w: WriteOp): string => `${w.table.schema}.${w.table.table}#${String(w.kind === 'insert' ? w.row[0] : w.key[0])}`;
  for (const res of r.results) for (const w of res.writes) if (w.kind !== 'insert') out.push(key(w));
  return out;
}

describe('identity safety with the DR history (in-memory oracle)', () => {
  it('no lost change is written to a record the DR created after the failover', () => {
    fc.assert(
      fc.property(incidentArbitrary({ reuse: true }), fc.constantFrom(1, 3, 100), (spec, window) => {
        const incident = buildIncident(spec);
        const r = salvageRun(incident, window, historyOf(incident));
        const hit = writtenRows(r).filter((k) => incident.drCreated.has(k));
        expect(hit).toEqual([]);
        // And every lost change still ends in exactly one decision.
        expect(r.decisions.length).toBe(incident.lost.reduce((n, tx) => n + tx.changes.length, 0));
      }),
      { numRuns: RUNS },
    );
  });

  it('every decision says whether it was made with history', () => {
    fc.assert(
      fc.property(incidentArbitrary({ reuse: true }), (spec) => {
        const incident = buildIncident(spec);
        for (const d of salvageRun(incident, 3, null).decisions) expect(d.withoutHistory).toBe(true);
        const withHistory = salvageRun(incident, 3, historyOf(incident)).decisions;
        // The history is complete: every decision of the run was made with it.
        for (const d of withHistory) expect(d.withoutHistory).toBe(false);
      }),
      { numRuns: 100 },
    );
  });
});

describe('kept counterexamples: what the value rules get wrong and the history gets right', () => {
  // The DR deleted customer 1 and gave id 1 to a new record (another person of the same name); the primary renamed customer 1.
  const spec: IncidentSpec = {
    baseCustomers: 1,
    baseOrders: [],
    baseNotes: [],
    lost: [[{ k: 'setName', customer: 0, name: 3 }]],
    dr: [{ k: 'reuseCustomer', customer: 0, email: 4, variant: 0 }],
    disjoint: false,
  };

  it('without history the rename is merged into the DR\'s new record at id 1', () => {
    const incident = buildIncident(spec);
    expect(incident.drCreated.has(`${CUSTOMERS}#1`)).toBe(true);
    const r = salvageRun(incident, 1, null);
    expect(r.decisions.map((d) => [d.class, d.outcome])).toEqual([['update-diverged', 'merged']]);
    expect(writtenRows(r)).toEqual([`${CUSTOMERS}#1`]);
  });

  it('with history it is update-pk-reused, quarantined, nothing written', () => {
    const incident = buildIncident(spec);
    const r = salvageRun(incident, 1, historyOf(incident));
    expect(r.decisions.map((d) => [d.class, d.outcome, d.withoutHistory])).toEqual([['update-pk-reused', 'quarantined', false]]);
    expect(writtenRows(r)).toEqual([]);
  });

  // The DR changed a name and changed it back; the primary renamed the same customer.
  const bounce: IncidentSpec = { ...spec, dr: [{ k: 'bounceName', customer: 0, name: 6 }] };

  it('a DR change undone is still a change: the DR keeps its value, recorded as a conflict', () => {
    const incident = buildIncident(bounce);
    const without = salvageRun(incident, 1, null);
    expect(without.decisions.map((d) => [d.class, d.outcome])).toEqual([['clean', 'applied']]);
    const withH = salvageRun(incident, 1, historyOf(incident));
    expect(withH.decisions.map((d) => [d.class, d.outcome, d.conflicts])).toEqual([['update-diverged', 'merged', ['name']]]);
    expect(writtenRows(withH)).toEqual([]);
  });
});
