import { it } from 'vitest';
import { buildIncident } from '../../test/harness/incident-model.js';
import { runReconcile } from '../../test/harness/in-memory-dr.js';
import { parseConfig } from '../config/normalise.js';
import { RuleBook } from './rules.js';
const J = (x: unknown) => JSON.stringify(x, (_k, v) => typeof v === 'bigint' ? v.toString() : v);
it('scratch', () => {
  const spec = {"baseCustomers":2,"baseOrders":[{"customer":0,"total":0}],"baseNotes":[],"lost":[[{"k":"moveOrder","order":0,"customer":3}],[{"k":"insCustomer","email":4,"variant":0,"name":0}],[{"k":"setTotal","order":0,"total":0}]],"dr":[{"k":"setTotal","order":0,"total":0},{"k":"setEmail","customer":1,"email":4,"variant":0}],"disjoint":false} as never;
  const base = {"tables":{"shop.customers":{"onConflict":{"insert-unique-taken":{"strategy":"delete-blocking","maxChildren":0}},"keyAllocation":"auto-increment","naturalKey":["email"]},"shop.orders":{"onConflict":{},"keyAllocation":"auto-increment"},"shop.notes":{"onConflict":{},"keyAllocation":"auto-increment"}}};
  const strict = JSON.parse(JSON.stringify(base)); strict.tables['shop.orders'].onConflict['update-diverged'] = 'quarantine';
  for (const [name, cfg] of [['base', base], ['strict', strict]] as const) {
    const inc = buildIncident(spec);
    const dr = inc.dr.clone();
    console.log(name, 'DR before', J(inc.dr.snapshot()));
    console.log(name, 'lost', J(inc.lost.map((t) => t.changes.map((c) => [c.op, c.table.table, c.before, c.after]))));
    const r = parseConfig(JSON.parse(JSON.stringify(cfg))); if (!r.ok) throw new Error('bad');
    const { decisions, results } = runReconcile(dr, inc.lost, { windowSize: 2, mode: 'apply', rules: new RuleBook(r.config) });
    for (const d of decisions) console.log(name, d.table, d.op, d.class, d.outcome, J(d.sourceKey), d.reason ?? '');
    for (const x of results) for (const w of x.writes) console.log(name, 'write', w.kind, w.table.table, J('key' in w ? w.key : w.row), 'set' in w ? J(w.set) : '');
    console.log(name, 'DR after', J(dr.snapshot()), J(dr.violations()));
  }
});
