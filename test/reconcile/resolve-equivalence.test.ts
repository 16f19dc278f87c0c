/**
 * Re-apply equivalence through `salvage resolve`, on real servers (issue 4, "Done when": "resolving
 * a quarantine entry equals a fresh run whose configuration would have chosen the same"). The
 * in-memory version, through a custom strategy per change, is src/reconcile/ledger.property.test.ts.
 *
 * A generated incident (one primary/DR pair for the file, fresh databases per case) has collisions
 * the built-in defaults quarantine, with random values and counts:
 *
 * - insert-unique-taken: a lost customer whose e-mail the DR took, by a customer of its own or by
 *   changing a base customer's, equal under utf8mb4_general_ci but not always byte-equal; with an
 *   explicit id or an AUTO_INCREMENT one (which the DR may have given a customer of its own, even
 *   the holder); with or without a lost order of that customer (held back as parent-missing) and,
 *   when skipped, a later rename of it (row-quarantined);
 * - update-unique-taken: a lost change of a customer's e-mail to one a DR customer holds;
 * - update-missing: the DR deleted an item the primary updates;
 * - delete-diverged: the DR changed an item the primary deletes;
 *
 * each optionally with a clean order in its transaction (held back whole: transaction-quarantined),
 * and clean changes, merges and remaps around them that no decision touches. Then:
 *
 * A. stage it, `apply` with the defaults, check the quarantine holds exactly the entries the
 *    template meant, export it, decide every entry with an action that has a strategy equivalent
 *    (skip ↔ `skip`, apply as logged ↔ `source`, link to the e-mail's holder ↔ `link`; an entry
 *    held back by another follows it: applied once its parent is linked or its transaction's
 *    conflict decided, left pending behind a skipped insert, as a fresh run quarantines it),
 *    `resolve`, snapshot the DR's data tables;
 * B. stage the same incident again, `apply` with a configuration that gives each class the
 *    strategy A chose for its entries, the class being the one whose rule quarantined the entry in
 *    A (the last rule its ledger rule path names, `built-in.CLASS`; a re-keyed insert's path names
 *    two, see the counterexamples). Where A chose differently for entries of one class of one
 *    table, that class gets a custom strategy returning, per change, the strategy A's decision
 *    stands for, so no generated case is dropped: about two thirds of the cases need one (203 of
 *    300 with the default seed).
 *
 * Property: A's data tables equal B's row for row, and A's ledger after resolve equals B's in table,
 * op, source key, outcome and new key (not class: a resolved entry keeps the class it was
 * quarantined with; B records the class the change had under its configuration). An entry resolve
 * refuses stays pending, so it must be one B quarantines too.
 *
 * The template keeps every generated row to one role, so entries wait on one another only as
 * above; held orders go to a table without AUTO_INCREMENT, because an insert applied later by
 * resolve than by a fresh run would move the counter a later remap allocates from. Outside it, by
 * design: a later change of a linked row (a fresh run merges it into the DR's record, resolve can
 * only apply its image or skip it), and column rules (the link strategy's merge applies them,
 * resolve's link writes nothing).
 *
 * Counterexamples fast-check found are kept at the end as plain tests.
 */
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { CustomDecision, CustomStrategyContext } from '../../src/reconcile/custom-strategy.js';
import { exportLine, readQuarantine, resolveQuarantine } from '../../src/pipeline/resolve.js';
import { salvage } from '../../src/pipeline/salvage.js';
import { startMariadb, type MariadbServer } from '../harness/mariadb-server.js';
import { config, stageIncident, type Incident, type Staged } from '../harness/incident-pair.js';

/** Kept small so the file runs in about 20 s (0.7 s a case, both runs); RESOLVE_EQUIVALENCE_RUNS=800 searches deeper (about 5 min). */
const RUNS = Number(process.env['RESOLVE_EQUIVALENCE_RUNS'] ?? 20);
const SEED = Number(process.env['RESOLVE_EQUIVALENCE_SEED'] ?? 20240917);

let primary: MariadbServer;
let dr: MariadbServer;

beforeAll(async () => {
  [primary, dr] = await Promise.all([startMariadb({ name: 'resolve-eq-primary' }), startMariadb({ name: 'resolve-eq-dr', serverId: 2 })]);
}, 120_000);

afterAll(async () => {
  await Promise.all([primary?.stop(), dr?.stop()]);
});

// ---- the template ----------------------------------------------------------------------------

const CUST = 't.cust';
const ORD = 't.ord';
const ITEM = 't.item';
const SCHEMA = [
  `CREATE TABLE t.cust (id INT UNSIGNED NOT NULL AUTO_INCREMENT PRIMARY KEY, email VARCHAR(40) NOT NULL, name VARCHAR(20) NOT NULL,
     UNIQUE KEY uk_email (email)) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_general_ci`,
  `CREATE TABLE t.ord (id INT UNSIGNED NOT NULL PRIMARY KEY, cust_id INT UNSIGNED NOT NULL, total DECIMAL(8,2) NOT NULL,
     CONSTRAINT fk_cust FOREIGN KEY (cust_id) REFERENCES t.cust (id)) ENGINE=InnoDB`,
  'CREATE TABLE t.item (id INT UNSIGNED NOT NULL AUTO_INCREMENT PRIMARY KEY, label VARCHAR(20) NOT NULL, qty INT NOT NULL) ENGINE=InnoDB',
];
const BASE_CUSTOMERS = 4;
const BASE_ITEMS = 6;
/** A customer no role touches: the held orders' parent (a parent with a quarantined change of its own holds its children back too). */
const ANCHOR = BASE_CUSTOMERS + 1;
const BASE = [
  `INSERT INTO t.cust (id, email, name) VALUES ${Array.from({ length: BASE_CUSTOMERS }, (_, i) => `(${i + 1}, 'c${i + 1}@x', 'C${i + 1}')`).join(', ')}, (${ANCHOR}, 'anchor@x', 'A')`,
  `INSERT INTO t.item (id, label, qty) VALUES ${Array.from({ length: BASE_ITEMS }, (_, i) => `(${i + 1}, 'i${i + 1}', 10)`).join(', ')}`,
];

/** What a reviewer does with an entry, and the strategy that stands for it in a configuration. */
type Action = 'skip' | 'apply' | 'link';
const STRATEGY_OF: Readonly<Record<Action, string>> = { skip: 'skip', apply: 'source', link: 'link' };

/** Where a conflict sits in the lost stream, and the clean order kept whole with it (before or after it), if any. */
interface Placement {
  readonly at: number;
  readonly companion: 'none' | 'before' | 'after';
}

/** A lost customer whose e-mail the DR took: `variant` picks the case of the lost e-mail (0: byte-equal). */
interface InsertUnique extends Placement {
  readonly variant: number;
  readonly sameName: boolean;
  /** Inserted with an AUTO_INCREMENT id (which the DR may have given a customer of its own) rather than a fresh explicit one. */
  readonly autoId: boolean;
  /** A lost order of that customer, `childAfter` places it later in the stream. */
  readonly child: boolean;
  readonly childAfter: number;
  /**
   * A later lost rename of that customer, for a skipped insert only: behind a link a fresh run
   * merges it into the DR's record, which no resolve action does (apply writes the after image).
   */
  readonly rename: boolean;
  readonly renameAfter: number;
  readonly decision: 'skip' | 'link';
}

type CustomerRole =
  | { readonly k: 'none' }
  /** The DR changes this customer's e-mail to the one a lost customer inserts. */
  | ({ readonly k: 'holder' } & InsertUnique)
  /** The primary changes this customer's e-mail to one a DR customer holds. */
  | ({ readonly k: 'update-unique-taken'; readonly variant: number } & Placement)
  | { readonly k: 'rename'; readonly side: 'lost' | 'dr' | 'both'; readonly at: number };

type ItemRole =
  | { readonly k: 'none' }
  | ({ readonly k: 'update-missing'; readonly label: number } & Placement)
  | ({ readonly k: 'delete-diverged'; readonly qty: number; readonly decision: 'skip' | 'apply' } & Placement)
  /** Clean on one side, or both sides changing different columns (merged). */
  | { readonly k: 'lost-update' | 'dr-update' | 'diverged'; readonly qty: number; readonly at: number };

interface Spec {
  readonly customers: readonly CustomerRole[];
  readonly items: readonly ItemRole[];
  /** Lost customers whose e-mail a customer the DR inserted holds. */
  readonly inserts: readonly InsertUnique[];
  /** Items inserted with AUTO_INCREMENT ids on each side: the DR's take the lost ones' ids (remapped). */
  readonly lostItems: number;
  readonly drItems: number;
}

const at = fc.nat({ max: 99 });
const placement = { at, companion: fc.constantFrom<Placement['companion']>('none', 'none', 'before', 'after') };
const after = fc.integer({ min: 1, max: 30 });
const insertUnique = fc.record({
  ...placement,
  variant: fc.nat({ max: 2 }),
  sameName: fc.boolean(),
  autoId: fc.boolean(),
  child: fc.boolean(),
  childAfter: after,
  rename: fc.boolean(),
  renameAfter: after,
  decision: fc.constantFrom<'skip' | 'link'>('skip', 'link'),
});
const customerRole: fc.Arbitrary<CustomerRole> = fc.oneof(
  fc.constant({ k: 'none' as const }),
  insertUnique.map((i) => ({ k: 'holder' as const, ...i })),
  fc.record({ k: fc.constant('update-unique-taken' as const), variant: fc.nat({ max: 2 }), ...placement }),
  fc.record({ k: fc.constant('rename' as const), side: fc.constantFrom<'lost' | 'dr' | 'both'>('lost', 'dr', 'both'), at }),
);
const itemRole: fc.Arbitrary<ItemRole> = fc.oneof(
  fc.constant({ k: 'none' as const }),
  fc.record({ k: fc.constant('update-missing' as const), label: fc.nat({ max: 9 }), ...placement }),
  fc.record({ k: fc.constant('delete-diverged' as const), qty: fc.integer({ min: 11, max: 99 }), decision: fc.constantFrom<'skip' | 'apply'>('skip', 'apply'), ...placement }),
  fc.record({ k: fc.constantFrom<'lost-update' | 'dr-update' | 'diverged'>('lost-update', 'dr-update', 'diverged'), qty: fc.integer({ min: 11, max: 99 }), at }),
);
const specArb: fc.Arbitrary<Spec> = fc.record({
  customers: fc.array(customerRole, { minLength: BASE_CUSTOMERS, maxLength: BASE_CUSTOMERS }),
  items: fc.array(itemRole, { minLength: BASE_ITEMS, maxLength: BASE_ITEMS }),
  inserts: fc.array(insertUnique, { maxLength: 3 }),
  lostItems: fc.nat({ max: 2 }),
  drItems: fc.nat({ max: 2 }),
});

/** How an entry is found again in the other run (GTIDs differ between the two stagings): table, op, source key. */
const identity = (table: string, op: string, key: readonly unknown[] | null): string => `${table} ${op} ${JSON.stringify(key)}`;

/** An entry the defaults must quarantine, and what A decides for it (null: left pending). */
interface Expected {
  readonly class: string;
  readonly action: Action | null;
}

interface Built {
  readonly incident: Incident;
  /** By identity. */
  readonly expected: ReadonlyMap<string, Expected>;
}

const EMAIL_CASE = [(s: string): string => s, (s: string): string => s[0]!.toUpperCase() + s.slice(1), (s: string): string => s.toUpperCase()];

/** A lost statement, or one that needs the id the primary gives lost customer `j`. */
type Sql = string | ((idOf: (j: number) => number) => string);

/** The statements of a spec, on each side, and the quarantine entries the defaults make of them. */
function buildIncident(spec: Spec): Built {
  const lost: { at: number; order: number; sql: Sql[]; customer?: { j: number; auto: boolean } }[] = [];
  const drOwn: string[] = [];
  let drCustomers = 0;
  const drInsertCustomer = (email: string, name: string): number => {
    drOwn.push(`INSERT INTO t.cust (email, name) VALUES ('${email}', '${name}')`);
    return ANCHOR + ++drCustomers;
  };
  // Entries whose key is the id the primary gives a lost customer: known once the stream is in order.
  const expectations: ((idOf: (j: number) => number) => [string, Expected])[] = [];
  const meant = (id: string, x: Expected): void => {
    expectations.push(() => [id, x]);
  };
  let companions = 0;
  // A clean order of the anchor, with an id of its own (from 500 down: no AUTO_INCREMENT on t.ord).
  const placed = (p: Placement, sql: Sql, customer?: { j: number; auto: boolean }): void => {
    const one = { at: p.at, order: lost.length, ...(customer === undefined ? {} : { customer }) };
    if (p.companion === 'none') {
      lost.push({ ...one, sql: [sql] });
      return;
    }
    const id = 500 - companions++;
    const order = `INSERT INTO t.ord (id, cust_id, total) VALUES (${id}, ${ANCHOR}, ${id}.25)`;
    meant(identity(ORD, 'insert', [id]), { class: 'transaction-quarantined', action: 'apply' });
    lost.push({ ...one, sql: p.companion === 'before' ? ['START TRANSACTION', order, sql, 'COMMIT'] : ['START TRANSACTION', sql, order, 'COMMIT'] });
  };
  let uniques = 0;
  const insertUniqueOf = (u: InsertUnique, holder: (email: string, name: string) => void): void => {
    const j = uniques++;
    const email = `n${j}@x`;
    // Not with an AUTO_INCREMENT id: the DR may have given the holder that id, and the same row at the same key is already applied.
    holder(email, u.sameName && !u.autoId ? `L${j}` : `D${j}`);
    const lostEmail = EMAIL_CASE[u.variant]!(email);
    placed(
      u,
      (idOf) => (u.autoId ? `INSERT INTO t.cust (email, name) VALUES ('${lostEmail}', 'L${j}')` : `INSERT INTO t.cust (id, email, name) VALUES (${idOf(j)}, '${lostEmail}', 'L${j}')`),
      { j, auto: u.autoId },
    );
    expectations.push((idOf) => [identity(CUST, 'insert', [idOf(j)]), { class: 'insert-unique-taken', action: u.decision }]);
    if (u.child) {
      lost.push({ at: u.at + u.childAfter, order: lost.length, sql: [(idOf) => `INSERT INTO t.ord (id, cust_id, total) VALUES (${100 + j}, ${idOf(j)}, ${j}.50)`] });
      // Behind a linked parent it applies (a fresh run writes it with the holder's key); behind a skipped one it stays held.
      meant(identity(ORD, 'insert', [100 + j]), { class: 'parent-missing', action: u.decision === 'link' ? 'apply' : null });
    }
    if (u.rename && u.decision === 'skip') {
      lost.push({ at: u.at + u.renameAfter, order: lost.length, sql: [(idOf) => `UPDATE t.cust SET name = 'L${j}b' WHERE id = ${idOf(j)}`] });
      expectations.push((idOf) => [identity(CUST, 'update', [idOf(j)]), { class: 'row-quarantined', action: null }]);
    }
  };
  spec.customers.forEach((role, i) => {
    const id = i + 1;
    switch (role.k) {
      case 'none':
        break;
      case 'holder':
        insertUniqueOf(role, (email) => drOwn.push(`UPDATE t.cust SET email = '${email}' WHERE id = ${id}`));
        break;
      case 'update-unique-taken': {
        const email = `u${id}@x`;
        drInsertCustomer(email, `DU${id}`);
        placed(role, `UPDATE t.cust SET email = '${EMAIL_CASE[role.variant]!(email)}' WHERE id = ${id}`);
        meant(identity(CUST, 'update', [id]), { class: 'update-unique-taken', action: 'skip' });
        break;
      }
      case 'rename':
        if (role.side !== 'dr') lost.push({ at: role.at, order: lost.length, sql: [`UPDATE t.cust SET name = 'RL${id}' WHERE id = ${id}`] });
        if (role.side !== 'lost') drOwn.push(`UPDATE t.cust SET name = 'RD${id}' WHERE id = ${id}`);
        break;
    }
  });
  for (const u of spec.inserts) insertUniqueOf(u, (email, name) => void drInsertCustomer(email, name));
  spec.items.forEach((role, i) => {
    const id = i + 1;
    switch (role.k) {
      case 'none':
        break;
      case 'update-missing':
        drOwn.push(`DELETE FROM t.item WHERE id = ${id}`);
        placed(role, `UPDATE t.item SET label = 'm${role.label}' WHERE id = ${id}`);
        meant(identity(ITEM, 'update', [id]), { class: 'update-missing', action: 'skip' });
        break;
      case 'delete-diverged':
        drOwn.push(`UPDATE t.item SET qty = ${role.qty} WHERE id = ${id}`);
        placed(role, `DELETE FROM t.item WHERE id = ${id}`);
        meant(identity(ITEM, 'delete', [id]), { class: 'delete-diverged', action: role.decision });
        break;
      case 'lost-update':
      case 'dr-update':
      case 'diverged':
        if (role.k !== 'dr-update') lost.push({ at: role.at, order: lost.length, sql: [`UPDATE t.item SET label = 'l${role.qty}' WHERE id = ${id}`] });
        if (role.k !== 'lost-update') drOwn.push(`UPDATE t.item SET qty = ${role.qty} WHERE id = ${id}`);
        break;
    }
  });
  for (let n = 0; n < spec.lostItems; n++) lost.push({ at: 50 + n, order: lost.length, sql: [`INSERT INTO t.item (label, qty) VALUES ('lost${n}', ${n})`] });
  for (let n = 0; n < spec.drItems; n++) drOwn.push(`INSERT INTO t.item (label, qty) VALUES ('dr${n}', ${n})`);
  lost.sort((a, b) => a.at - b.at || a.order - b.order);
  // The primary's AUTO_INCREMENT, as it hands out ids in stream order; explicit ids count down from
  // 300 in stream order, so the counter an explicit id moves past it never reaches a later one.
  const ids = new Map<number, number>();
  let next = ANCHOR + 1;
  let explicit = 300;
  for (const t of lost) {
    if (t.customer === undefined) continue;
    const id = t.customer.auto ? next : explicit--;
    next = Math.max(next, id + 1);
    ids.set(t.customer.j, id);
  }
  const idOf = (j: number): number => ids.get(j)!;
  const render = (sql: Sql): string => (typeof sql === 'string' ? sql : sql(idOf));
  return {
    incident: { schema: SCHEMA, base: BASE, lost: lost.map((t) => t.sql.map(render).join('; ')), dr: drOwn },
    expected: new Map(expectations.map((e) => e(idOf))),
  };
}

// ---- the two runs --------------------------------------------------------------------------

/** The DR's data tables, rows ordered by key. */
type Snapshot = Record<string, unknown[]>;

/** One ledger row as the comparison reads it: table, op, source key, outcome, new key (its class aside). */
type LedgerRow = [table: string, op: string, key: string, outcome: string, newKey: string | null];

interface RunOutcome {
  readonly tables: Snapshot;
  readonly ledger: LedgerRow[];
}

async function snapshot(): Promise<Snapshot> {
  return {
    cust: (await dr.query('SELECT id, email, name FROM t.cust ORDER BY id')) as unknown[],
    ord: (await dr.query('SELECT id, cust_id, total FROM t.ord ORDER BY id')) as unknown[],
    item: (await dr.query('SELECT id, label, qty FROM t.item ORDER BY id')) as unknown[],
  };
}

async function ledgerRows(): Promise<LedgerRow[]> {
  const rows = (await dr.query('SELECT table_name, op, source_key, outcome, new_key FROM salvage.ledger ORDER BY run_id, seq')) as { table_name: string; op: string; source_key: string; outcome: string; new_key: string | null }[];
  return rows.map((r) => [r.table_name, r.op, r.source_key, r.outcome, r.new_key]);
}

/**
 * The binlog file this staging wrote (stageIncident rotates after it) and the empty one after it:
 * every case writes a file more, and reading them all would make a deep search quadratic.
 */
function lostFiles(staged: Staged): string[] {
  return staged.files.slice(-2);
}

/** Why a case cannot be compared: the defaults did not quarantine what the template meant them to. */
class TemplateMismatch extends Error {}

/** What A's reviewer decided for one entry, and the rule that had quarantined it. */
interface Decided {
  readonly identity: string;
  readonly table: string;
  /** The class the entry shows. */
  readonly class: string;
  /** The class whose rule quarantined it, from the ledger's rule path (`built-in.CLASS`, its last step); null for entries held back by another. */
  readonly ruleClass: string | null;
  readonly action: Action | null;
}

/** Entries that wait on another: they follow their origin in both runs, no rule of their own decides them. */
const HELD = new Set(['parent-missing', 'transaction-quarantined', 'row-quarantined']);

/** A: apply with the defaults, decide every entry through an exported, edited file, resolve. */
async function resolvedRun(built: Built): Promise<RunOutcome & { decided: Decided[]; refused: string[] }> {
  const staged = await stageIncident(primary, dr, built.incident);
  await salvage({ mode: 'apply', binlogs: lostFiles(staged), target: dr.target, start: { kind: 'from-gtid', set: staged.start } });
  const entries = await readQuarantine({ target: dr.target });
  const found = entries.map((e) => `${identity(e.table, e.op, e.key)} ${e.class}`).sort();
  const meant = [...built.expected].map(([id, x]) => `${id} ${x.class}`).sort();
  if (JSON.stringify(found) !== JSON.stringify(meant)) throw new TemplateMismatch(`the defaults quarantined\n  ${found.join('\n  ')}\nthe template meant\n  ${meant.join('\n  ')}`);
  const rules = new Map<string, string | null>();
  for (const r of (await dr.query("SELECT table_name, op, source_key, rule_path FROM salvage.ledger WHERE outcome = 'quarantined'")) as { table_name: string; op: string; source_key: string; rule_path: string | null }[]) {
    rules.set(identity(r.table_name, r.op, JSON.parse(r.source_key) as unknown[]), r.rule_path);
  }
  const decided: Decided[] = [];
  const lines = entries.map((e) => {
    const id = identity(e.table, e.op, e.key);
    const action = built.expected.get(id)!.action;
    // The rule that quarantined it is the last one its path names (`built-in.insert-pk-taken → remap; built-in.insert-unique-taken → quarantine`).
    const rule = /^built-in\.([a-z-]+)/.exec((rules.get(id) ?? '').split('; ').at(-1) ?? '');
    decided.push({ identity: id, table: e.table, class: e.class, ruleClass: HELD.has(e.class) ? null : (rule?.[1] ?? null), action });
    // The reviewer links to the DR row the entry met: the holder of its e-mail.
    const decision = action === null ? null : action === 'link' ? { action, key: [e.dr!['id']] } : { action };
    return JSON.stringify({ ...(JSON.parse(exportLine(e)) as object), decision });
  });
  const report = await resolveQuarantine({ target: dr.target, file: 'decisions.jsonl', text: `${lines.join('\n')}\n` });
  // A refused entry stays pending: quarantined, as a fresh run that refuses the same link leaves it.
  const refused = report.entries.filter((r) => r.result === 'refused').map((r) => `${r.table} ${r.op} ${r.label}: ${r.message}`);
  return { tables: await snapshot(), ledger: await ledgerRows(), decided, refused };
}

/**
 * Which class B's configuration sets for an entry: the one whose rule quarantined it (`rule`, what
 * the ledger's rule path names last), or the one the entry shows (`class`). They differed for a lost
 * insert whose id and e-mail the DR both took until its re-key handed it to the insert-unique-taken
 * rule: see "counterexamples" below.
 */
type KeyBy = 'rule' | 'class';

/**
 * B's configuration: per table and class, the strategy every entry was decided with; a class
 * decided two ways gets the custom strategy `review`, which answers per change by its identity.
 */
function freshConfig(decided: readonly Decided[], by: KeyBy): { cfg: unknown; strategies: Record<string, (ctx: CustomStrategyContext) => CustomDecision>; mixed: boolean } {
  const byTable = new Map<string, Map<string, Set<Action>>>();
  const perChange = new Map<string, string>();
  for (const d of decided) {
    const klass = by === 'rule' ? d.ruleClass : HELD.has(d.class) ? null : d.class;
    if (d.action === null || klass === null) continue;
    const classes = byTable.get(d.table) ?? new Map<string, Set<Action>>();
    byTable.set(d.table, classes);
    classes.set(klass, (classes.get(klass) ?? new Set<Action>()).add(d.action));
    perChange.set(d.identity, STRATEGY_OF[d.action]);
  }
  let mixed = false;
  const tables: Record<string, { naturalKey?: string[]; onConflict: Record<string, unknown> }> = {};
  for (const [table, classes] of byTable) {
    const onConflict: Record<string, unknown> = {};
    for (const [klass, actions] of classes) {
      mixed ||= actions.size > 1;
      onConflict[klass] = actions.size === 1 ? STRATEGY_OF[[...actions][0]!] : { strategy: 'custom', name: 'review' };
    }
    tables[table] = { ...(table === CUST ? { naturalKey: ['email'] } : {}), onConflict };
  }
  const review = (ctx: CustomStrategyContext): CustomDecision => {
    const s = perChange.get(identity(ctx.table, ctx.op, ctx.key));
    if (s === undefined) throw new Error(`review: no decision for ${identity(ctx.table, ctx.op, ctx.key)} (${ctx.class})`);
    return s as CustomDecision;
  };
  return { cfg: { tables }, strategies: { review }, mixed };
}

/** B: a fresh run whose configuration chooses what A's reviewer chose. */
async function freshRun(built: Built, decided: readonly Decided[], by: KeyBy): Promise<RunOutcome> {
  const { cfg, strategies } = freshConfig(decided, by);
  const staged = await stageIncident(primary, dr, built.incident);
  await salvage({ mode: 'apply', binlogs: lostFiles(staged), target: dr.target, start: { kind: 'from-gtid', set: staged.start }, config: config(cfg), strategies });
  return { tables: await snapshot(), ledger: await ledgerRows() };
}

/** Both runs of a spec: A's tables and ledger after resolve beside B's. */
async function compare(spec: Spec, by: KeyBy = 'rule'): Promise<{ a: RunOutcome; b: RunOutcome; decided: Decided[]; refused: string[] }> {
  const built = buildIncident(spec);
  const a = await resolvedRun(built);
  const b = await freshRun(built, a.decided, by);
  return { a: { tables: a.tables, ledger: a.ledger }, b, decided: a.decided, refused: a.refused };
}

describe('re-apply equivalence through salvage resolve', () => {
  it('resolving every quarantine entry equals a fresh run whose configuration chooses the same', async () => {
    const stats = { cases: 0, mixed: 0, entries: 0, decided: 0, refused: 0 };
    console.log(`resolve-equivalence: seed ${SEED}, ${RUNS} runs (RESOLVE_EQUIVALENCE_SEED / RESOLVE_EQUIVALENCE_RUNS)`);
    await fc.assert(
      fc.asyncProperty(specArb, async (spec) => {
        const { a, b, decided, refused } = await compare(spec);
        stats.refused += refused.length;
        stats.cases++;
        stats.entries += decided.length;
        stats.decided += decided.filter((d) => d.action !== null).length;
        if (freshConfig(decided, 'rule').mixed) stats.mixed++;
        expect(a.tables).toEqual(b.tables);
        expect(a.ledger).toEqual(b.ledger);
      }),
      { numRuns: RUNS, seed: SEED },
    );
    console.log(`resolve-equivalence: ${stats.cases} cases, ${stats.entries} quarantine entries (${stats.decided} decided, ${stats.refused} of them refused by resolve), ${stats.mixed} cases with a class decided two ways (custom strategy)`);
  }, 600_000);
});

// ---- counterexamples -------------------------------------------------------------------------

const NONE = { k: 'none' } as const;

/** A spec with every role `none` but the ones given. */
function specOf(parts: Partial<Spec>): Spec {
  return { customers: [NONE, NONE, NONE, NONE], items: [NONE, NONE, NONE, NONE, NONE, NONE], inserts: [], lostItems: 0, drItems: 0, ...parts };
}

/** A lost customer whose e-mail the DR took, explicit id, skipped, unless said otherwise. */
function clash(parts: Partial<InsertUnique> = {}): InsertUnique {
  return { at: 0, companion: 'none', variant: 0, sameName: false, autoId: false, child: false, childAfter: 1, rename: false, renameAfter: 1, decision: 'skip', ...parts };
}

const BASE_CUST = [
  { id: 1, email: 'c1@x', name: 'C1' },
  { id: 2, email: 'c2@x', name: 'C2' },
  { id: 3, email: 'c3@x', name: 'C3' },
  { id: 4, email: 'c4@x', name: 'C4' },
  { id: 5, email: 'anchor@x', name: 'A' },
];

describe('counterexamples the property found', () => {
  // resolve recorded a link as `remapped`, which the reports read as "the DR had given these ids to
  // different records"; the link strategy records the same decision as `merged` (the lost row is
  // the DR's record, merged into it with the DR keeping every differing column: nothing written).
  // Fixed in resolve.ts: a link by review is `merged` too.
  it('a link by review is recorded as the link strategy records it: merged, with the DR key; its order follows it', async () => {
    const { a, b } = await compare(specOf({ inserts: [clash({ decision: 'link', variant: 2, child: true })] }));
    expect(a.tables).toEqual({
      cust: [...BASE_CUST, { id: 6, email: 'n0@x', name: 'D0' }],
      ord: [{ id: 100, cust_id: 6, total: '0.50' }],
      item: [1, 2, 3, 4, 5, 6].map((id) => ({ id, label: `i${id}`, qty: 10 })),
    });
    expect(a.ledger).toEqual([
      [CUST, 'insert', '[300]', 'merged', '[6]'],
      [ORD, 'insert', '[100]', 'applied', null],
    ]);
    expect(b).toEqual(a);
  });

  // A lost customer whose AUTO_INCREMENT id and e-mail both belong to one DR customer: the link to
  // it is a link onto the row at its own key. resolve recorded `skipped` without a key; the link
  // strategy `merged` with that key. Fixed in resolve.ts as the previous one.
  it('a link by review onto the DR row at the lost row’s own key is merged with that key', async () => {
    const { a, b, decided } = await compare(
      specOf({
        customers: [{ k: 'update-unique-taken', variant: 0, at: 0, companion: 'none' }, NONE, NONE, { k: 'holder', ...clash({ autoId: true }) }],
        inserts: [clash({ autoId: true, decision: 'link' })],
      }),
    );
    expect(decided.map((d) => [d.identity, d.class, d.ruleClass, d.action])).toEqual([
      [`${CUST} update [1]`, 'update-unique-taken', 'update-unique-taken', 'skip'],
      [`${CUST} insert [6]`, 'insert-unique-taken', 'insert-unique-taken', 'skip'],
      [`${CUST} insert [7]`, 'insert-unique-taken', 'insert-unique-taken', 'link'],
    ]);
    expect(a.tables.cust).toEqual([...BASE_CUST.slice(0, 3), { id: 4, email: 'n0@x', name: 'C4' }, BASE_CUST[4], { id: 6, email: 'u1@x', name: 'DU1' }, { id: 7, email: 'n1@x', name: 'D1' }]);
    expect(a.ledger).toEqual([
      [CUST, 'update', '[1]', 'skipped', null],
      [CUST, 'insert', '[6]', 'skipped', null],
      [CUST, 'insert', '[7]', 'merged', '[7]'],
    ]);
    expect(b).toEqual(a);
  });

  // Two reviewed links onto ids that look like a chain (lost 6 → DR 3, then lost 300 → DR 6, the id
  // the first lost row had): old keys are source ids and every image is rewritten once from its
  // own values, so the two never meet (KeyMap.link). Resolve makes both links, as a fresh run's
  // link strategy does. (Until 2026-11-27 both refused the second, "decide by hand".)
  it('a link onto a DR row whose id a linked lost row had is made by resolve and by a fresh run alike', async () => {
    const { a, b, refused } = await compare(specOf({ customers: [NONE, NONE, { k: 'holder', ...clash({ autoId: true, decision: 'link' }) }, NONE], inserts: [clash({ decision: 'link' })] }));
    expect(refused).toEqual([]);
    expect(a.ledger).toEqual([
      [CUST, 'insert', '[6]', 'merged', '[3]'],
      [CUST, 'insert', '[300]', 'merged', '[6]'],
    ]);
    expect(b).toEqual(a);
  });

  // A lost customer whose AUTO_INCREMENT id the DR gave a customer of its own, and whose e-mail
  // another DR customer holds, is quarantined as insert-unique-taken (quarantine list, export and
  // the ledger's class say so): the re-key (built-in remap of insert-pk-taken) met the e-mail's
  // holder and handed the change to the insert-unique-taken rule (reconciler.ts #uniqueAfterRemap),
  // whose built-in quarantine held it back. The ledger's rule path names both rules
  // (`built-in.insert-pk-taken → remap; built-in.insert-unique-taken → quarantine`); the one that
  // quarantined it, the last, is insert-unique-taken's, and a configuration for that class decides
  // it as the review did. (The rule path used to name insert-pk-taken only: #remap quarantined the
  // change itself, and only an insert-pk-taken rule could change that.)
  it('a lost insert whose id and e-mail the DR took shows insert-unique-taken, decided by the insert-unique-taken rule after the re-key', async () => {
    const spec = specOf({ customers: [NONE, { k: 'update-unique-taken', variant: 0, at: 0, companion: 'none' }, NONE, NONE], inserts: [clash({ autoId: true })] });
    const { a, b, decided } = await compare(spec);
    expect(decided.map((d) => [d.identity, d.class, d.ruleClass, d.action])).toEqual([
      [`${CUST} update [2]`, 'update-unique-taken', 'update-unique-taken', 'skip'],
      [`${CUST} insert [6]`, 'insert-unique-taken', 'insert-unique-taken', 'skip'],
    ]);
    expect(a.ledger).toEqual([
      [CUST, 'update', '[2]', 'skipped', null],
      [CUST, 'insert', '[6]', 'skipped', null],
    ]);
    expect(b).toEqual(a);
  });

  // The same change, with B configured by the class the entry shows: `insert-unique-taken: skip`
  // reaches it after the built-in remap of insert-pk-taken re-keyed it and met the e-mail's holder,
  // so a DBA who writes a rule for the class `salvage quarantine list` prints gets what the review
  // chose. The fresh id the remap took goes back unused (a later remap would take it). B's ledger
  // (the last run on the DR) names both rules.
  it('a configuration for the class the quarantine shows (insert-unique-taken: skip) decides it as the review did', async () => {
    const spec = specOf({ customers: [NONE, { k: 'update-unique-taken', variant: 0, at: 0, companion: 'none' }, NONE, NONE], inserts: [clash({ autoId: true })] });
    const { a, b } = await compare(spec, 'class');
    expect(b.ledger).toEqual(a.ledger);
    expect(await dr.query("SELECT op, class, outcome, rule_path FROM salvage.ledger WHERE table_name = 't.cust' ORDER BY seq")).toEqual([
      { op: 'update', class: 'update-unique-taken', outcome: 'skipped', rule_path: 'tables."t.cust".onConflict.update-unique-taken' },
      { op: 'insert', class: 'insert-unique-taken', outcome: 'skipped', rule_path: 'built-in.insert-pk-taken → remap; tables."t.cust".onConflict.insert-unique-taken → skip' },
    ]);
  });
});
