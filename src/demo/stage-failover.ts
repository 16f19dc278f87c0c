/**
 * Stages a real failover on two throwaway MariaDB servers, for `salvage demo` and for the
 * integration tests of the reconcile engine: a primary replicates to a DR over MariaDB GTID
 * replication; the link is cut; the primary commits transactions the DR never sees (the lost
 * ones), its binlogs are copied while it runs, and it is SIGKILLed; the DR is promoted and
 * writes on its own, handing out the same AUTO_INCREMENT ids and the same GTID sequence numbers
 * (domain 0, under server_id 2) as the primary's lost transactions. What is left is exactly what
 * a salvage starts from: the dead primary's binlog copies and a live DR that has moved on.
 *
 * Both sides' writes are planned in advance against a model of the tables (planFailoverWorkload),
 * so every id, collision and both-sides change is known before a statement runs, and each
 * statement is checked against the plan while it runs.
 */
import { copyFile } from 'node:fs/promises';
import { basename, join } from 'node:path';
import type { TableRuleInput } from '../config/schema.js';
import type { SqlRow, SqlSession } from '../db/sql-session.js';
import { EngineError } from '../errors.js';
import type { WorkloadStatement, WorkloadTransaction } from './shop-workload.js';
import { createRandom, type Random } from './random.js';
import { cutLastCommit, DemoErrorCode, type CutPoint } from './stage-incident.js';
import { startThrowawayServer, type ThrowawayContext, type ThrowawayServer } from './throwaway-server.js';

/** Stable codes of staging failures (the workload's own divergence is DemoErrorCode.WorkloadDiverged). */
export const FailoverErrorCode = {
  ReplicaStalled: 'DEMO_REPLICA_STALLED',
  BadOption: 'DEMO_BAD_OPTION',
} as const;
export type FailoverErrorCode = (typeof FailoverErrorCode)[keyof typeof FailoverErrorCode];

/**
 * The schema, one statement each; created on the primary and replicated to the DR. The table
 * collation is spelled out because the case clash depends on it: `Zed@…` = `zed@…` under
 * utf8mb4_general_ci.
 */
export const FAILOVER_SCHEMA: readonly string[] = [
  'CREATE DATABASE shop',
  `CREATE TABLE shop.customers (
     id INT UNSIGNED NOT NULL AUTO_INCREMENT PRIMARY KEY,
     email VARCHAR(120) NOT NULL,
     name VARCHAR(80),
     balance DECIMAL(12,2) NOT NULL DEFAULT 0,
     updated_at DATETIME(6) NOT NULL,
     UNIQUE KEY uk_email (email)
   ) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_general_ci`,
  `CREATE TABLE shop.orders (
     id INT UNSIGNED NOT NULL AUTO_INCREMENT PRIMARY KEY,
     customer_id INT UNSIGNED NOT NULL,
     total DECIMAL(10,2),
     status ENUM('new','paid','shipped','cancelled'),
     placed_at DATETIME(6),
     CONSTRAINT fk_orders_customer FOREIGN KEY (customer_id) REFERENCES shop.customers (id)
   ) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_general_ci`,
  // No declared foreign key: the engine learns order_id → orders.id from FAILOVER_LOGICAL_REFERENCES.
  `CREATE TABLE shop.order_notes (
     id INT UNSIGNED NOT NULL AUTO_INCREMENT PRIMARY KEY,
     order_id INT UNSIGNED NOT NULL,
     body TEXT,
     KEY idx_order_notes_order (order_id)
   ) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_general_ci`,
];

/** The configuration fragment (`tables`) that declares the logical foreign key the schema lacks. */
export const FAILOVER_LOGICAL_REFERENCES = {
  'shop.order_notes': { references: { order_id: 'shop.orders.id' } },
} as const satisfies Readonly<Record<string, TableRuleInput>>;

export const FAILOVER_TABLES = ['shop.customers', 'shop.orders', 'shop.order_notes'] as const;
export type FailoverTable = (typeof FAILOVER_TABLES)[number];

/** The seed `salvage demo` and the tests use unless told otherwise. */
export const FAILOVER_SEED = 20261127;

/** The case clash: the same email under utf8mb4_general_ci, inserted on each side. */
export const CASE_CLASH_EMAILS = { primary: 'Zed@example.com', dr: 'zed@example.com' } as const;

const BASE_COUNTS = { shared: 20, lost: 30, dr: 15 } as const;
/** Opening transactions of the shared phase: customers, their orders, a note on each order. */
const OPENING_CUSTOMERS = 8;
const PRIMARY_PEOPLE: People = {
  first: ['Ada', 'Grace', 'Alan', 'Edsger', 'Barbara', 'Donald', 'Frances', 'Ken', 'Radia', 'Niklaus'],
  last: ['Lovelace', 'Hopper', 'Turing', 'Dijkstra', 'Liskov', 'Knuth', 'Allen', 'Thompson', 'Perlman', 'Wirth'],
  domain: 'example.com',
};
// Names the primary never uses, so a DR row that took a lost row's id is visibly another record.
const DR_PEOPLE: People = {
  first: ['Hedy', 'Claude', 'John', 'Sophie', 'Leslie', 'Joan', 'Dennis', 'Shafi', 'Butler', 'Anita'],
  last: ['Lamarr', 'Shannon', 'Backus', 'Wilson', 'Lamport', 'Clarke', 'Ritchie', 'Goldwasser', 'Lampson', 'Borg'],
  domain: 'example.net',
};
const NOTE_TEXTS = ['leave at the door', 'gift wrap please', 'call before delivery', 'fragile', 'second attempt', 'customer asked for an invoice'];
// 2026-11-27 08:00:00 UTC: every timestamp is derived from it, never from the clock.
const BASE_MS = Date.UTC(2026, 10, 27, 8, 0, 0);
const CATCH_UP_TIMEOUT_MS = 30_000;
const POLL_MS = 20;

// ---- the plan ---------------------------------------------------------------------------

type Status = 'new' | 'paid' | 'shipped' | 'cancelled';

interface CustomerRow {
  readonly id: number;
  email: string;
  name: string;
  balanceCents: number;
  updatedAt: string;
}

interface OrderRow {
  readonly id: number;
  readonly customerId: number;
  totalCents: number;
  status: Status;
}

interface NoteRow {
  readonly id: number;
  readonly orderId: number;
}

interface ShopModel {
  readonly customers: Map<number, CustomerRow>;
  readonly orders: Map<number, OrderRow>;
  readonly notes: Map<number, NoteRow>;
  readonly next: Record<FailoverTable, number>;
}

interface People {
  readonly first: readonly string[];
  readonly last: readonly string[];
  readonly domain: string;
}

/** Pre-existing rows (committed before the link was cut) that the plan gives a part in the incident. */
export interface FailoverRoles {
  /** An order the primary moves to another status while the DR changes its total: different columns. */
  readonly differentColumnsOrderId: number;
  /** A customer whose balance both sides change: the same column. */
  readonly sameColumnCustomerId: number;
  /**
   * An order the primary updates (and adds a note to) and the DR deletes, with its notes:
   * update-deleted-on-dr with the DR's binlog (update-missing by values alone).
   */
  readonly deletedOnDrOrderId: number;
  /** An order the primary deletes, with its notes, and the DR updates: delete-diverged. */
  readonly updatedOnDrOrderId: number;
  /** Orders only the primary deletes, with their notes. */
  readonly deletedOrderIds: readonly number[];
  /**
   * A customer the primary renames and the DR renames and then renames back (name and updated_at as
   * they were). By values the DR row equals the lost update's before image, a clean update that
   * would overwrite the DR; the DR's binlog logged the change, so it is update-diverged: the DR keeps
   * its values and the conflict is recorded.
   */
  readonly revertedCustomerId: number;
}

/** The two customers whose emails differ only in case, and the ids each side gave them. */
export interface CaseClash {
  readonly primaryId: number;
  readonly primaryEmail: string;
  readonly drId: number;
  readonly drEmail: string;
}

export interface FailoverWorkload {
  readonly seed: number;
  readonly scale: number;
  /** Committed on the primary and replicated before the link is cut (after the schema). */
  readonly shared: readonly WorkloadTransaction[];
  /** Committed on the primary after the link is cut: the lost transactions, in order; the last is the one a cut halves. */
  readonly lost: readonly WorkloadTransaction[];
  /** The primary rotates its binlog (FLUSH BINARY LOGS) before `lost[lostRotateBefore]`, so the lost range spans two files. */
  readonly lostRotateBefore: number;
  /** Committed on the promoted DR. */
  readonly dr: readonly WorkloadTransaction[];
  /** Next AUTO_INCREMENT id of each table when the link was cut: both sides hand out ids from here. */
  readonly forkNextIds: Readonly<Record<FailoverTable, number>>;
  /** Ids each side's inserts took after the cut, in order; the overlap is the AUTO_INCREMENT collision. */
  readonly lostInsertIds: Readonly<Record<FailoverTable, readonly number[]>>;
  readonly drInsertIds: Readonly<Record<FailoverTable, readonly number[]>>;
  readonly roles: FailoverRoles;
  readonly caseClash: CaseClash;
}

function cents(n: number): string {
  return `${Math.floor(n / 100)}.${String(n % 100).padStart(2, '0')}`;
}

/** `YYYY-MM-DD HH:MM:SS.ffffff` for a step of the workload. */
function datetime6(step: number, micros: number): string {
  const iso = new Date(BASE_MS + step * 61_000).toISOString();
  return `${iso.slice(0, 10)} ${iso.slice(11, 19)}.${String(micros).padStart(6, '0')}`;
}

/** A status other than `s`, along the order's life. */
function nextStatus(s: Status): Status {
  return s === 'new' ? 'paid' : s === 'paid' ? 'shipped' : s === 'shipped' ? 'cancelled' : 'new';
}

/** Which rows a phase's random transactions may update or hang children on. */
interface Pool {
  customer(c: CustomerRow): boolean;
  order(o: OrderRow): boolean;
}

/** Builds one phase's transactions against the model, recording what each statement should do. */
class PhasePlanner {
  readonly transactions: WorkloadTransaction[] = [];
  readonly inserted: Record<FailoverTable, number[]> = { 'shop.customers': [], 'shop.orders': [], 'shop.order_notes': [] };
  /** Ids of customers and orders this phase updated or deleted. */
  readonly touchedCustomers = new Set<number>();
  readonly touchedOrders = new Set<number>();
  readonly model: ShopModel;
  readonly rnd: Random;
  readonly people: People;
  step: number;
  #statements: WorkloadStatement[] = [];

  constructor(model: ShopModel, rnd: Random, people: People, step: number) {
    this.model = model;
    this.rnd = rnd;
    this.people = people;
    this.step = step;
  }

  commit(label: string): void {
    this.transactions.push({ label, statements: this.#statements });
    this.#statements = [];
    this.step++;
  }

  now(): string {
    return datetime6(this.step, this.rnd.int(0, 999_999));
  }

  #takeId(table: FailoverTable): number {
    const id = this.model.next[table]++;
    this.inserted[table].push(id);
    return id;
  }

  /** One multi-row INSERT; `email` may depend on the id the row gets. */
  insertCustomers(specs: readonly { readonly email: (id: number) => string; readonly name: string }[]): CustomerRow[] {
    const made: CustomerRow[] = [];
    const params: unknown[] = [];
    for (const spec of specs) {
      const id = this.#takeId('shop.customers');
      const row: CustomerRow = { id, email: spec.email(id), name: spec.name, balanceCents: this.rnd.int(0, 200) * 50, updatedAt: this.now() };
      this.model.customers.set(id, row);
      made.push(row);
      params.push(row.email, row.name, cents(row.balanceCents), row.updatedAt);
    }
    const values = specs.map(() => '(?, ?, ?, ?)').join(', ');
    this.#statements.push({
      sql: `INSERT INTO shop.customers (email, name, balance, updated_at) VALUES ${values}`,
      params,
      expectInsertId: made[0]!.id,
      expectRows: made.length,
    });
    return made;
  }

  /** A new customer named from this side's people. */
  signup(): CustomerRow {
    const first = this.rnd.pick(this.people.first);
    const last = this.rnd.pick(this.people.last);
    const domain = this.people.domain;
    return this.insertCustomers([{ email: (id) => `${first}.${last}.${id}@${domain}`.toLowerCase(), name: `${first} ${last}` }])[0]!;
  }

  insertOrder(customerId: number): OrderRow {
    const row: OrderRow = { id: this.#takeId('shop.orders'), customerId, totalCents: this.rnd.int(500, 50_000), status: 'new' };
    this.model.orders.set(row.id, row);
    this.#statements.push({
      sql: 'INSERT INTO shop.orders (customer_id, total, status, placed_at) VALUES (?, ?, ?, ?)',
      params: [customerId, cents(row.totalCents), row.status, this.now()],
      expectInsertId: row.id,
      expectRows: 1,
    });
    return row;
  }

  insertNote(orderId: number): NoteRow {
    const row: NoteRow = { id: this.#takeId('shop.order_notes'), orderId };
    this.model.notes.set(row.id, row);
    this.#statements.push({
      sql: 'INSERT INTO shop.order_notes (order_id, body) VALUES (?, ?)',
      params: [orderId, `${this.rnd.pick(NOTE_TEXTS)} (order ${orderId})`],
      expectInsertId: row.id,
      expectRows: 1,
    });
    return row;
  }

  setStatus(order: OrderRow, status: Status): void {
    order.status = status;
    this.touchedOrders.add(order.id);
    this.#statements.push({ sql: 'UPDATE shop.orders SET status = ? WHERE id = ?', params: [status, order.id], expectRows: 1 });
  }

  setTotal(order: OrderRow, totalCents: number): void {
    order.totalCents = totalCents;
    this.touchedOrders.add(order.id);
    this.#statements.push({ sql: 'UPDATE shop.orders SET total = ? WHERE id = ?', params: [cents(totalCents), order.id], expectRows: 1 });
  }

  setBalance(customer: CustomerRow, balanceCents: number): void {
    customer.balanceCents = balanceCents;
    customer.updatedAt = this.now();
    this.touchedCustomers.add(customer.id);
    this.#statements.push({
      sql: 'UPDATE shop.customers SET balance = ?, updated_at = ? WHERE id = ?',
      params: [cents(balanceCents), customer.updatedAt, customer.id],
      expectRows: 1,
    });
  }

  /** Sets name and updated_at; `updatedAt` given restores an earlier value exactly. */
  setName(customer: CustomerRow, name: string, updatedAt: string = this.now()): void {
    customer.name = name;
    customer.updatedAt = updatedAt;
    this.touchedCustomers.add(customer.id);
    this.#statements.push({ sql: 'UPDATE shop.customers SET name = ?, updated_at = ? WHERE id = ?', params: [name, updatedAt, customer.id], expectRows: 1 });
  }

  setEmail(customer: CustomerRow, email: string): void {
    customer.email = email;
    customer.updatedAt = this.now();
    this.touchedCustomers.add(customer.id);
    this.#statements.push({
      sql: 'UPDATE shop.customers SET email = ?, updated_at = ? WHERE id = ?',
      params: [email, customer.updatedAt, customer.id],
      expectRows: 1,
    });
  }

  /** Deletes the order's notes first (nothing in the schema would), then the order. */
  deleteOrder(order: OrderRow): number {
    const notes = [...this.model.notes.values()].filter((n) => n.orderId === order.id);
    for (const n of notes) this.model.notes.delete(n.id);
    if (notes.length > 0) {
      this.#statements.push({ sql: 'DELETE FROM shop.order_notes WHERE order_id = ?', params: [order.id], expectRows: notes.length });
    }
    this.model.orders.delete(order.id);
    this.touchedOrders.add(order.id);
    this.#statements.push({ sql: 'DELETE FROM shop.orders WHERE id = ?', params: [order.id], expectRows: 1 });
    return notes.length;
  }
}

/** One transaction of ordinary shop traffic, touching only rows `pool` allows; returns its label. */
function randomTransaction(p: PhasePlanner, pool: Pool): string {
  const customers = (): CustomerRow[] => [...p.model.customers.values()].filter((c) => pool.customer(c));
  const orders = (status?: Status): OrderRow[] => [...p.model.orders.values()].filter((o) => pool.order(o) && (status === undefined || o.status === status));
  const actions: readonly { readonly ready: () => boolean; readonly run: () => string }[] = [
    { ready: () => true, run: () => `customer ${p.signup().id} signs up` },
    {
      ready: () => true,
      run: () => {
        const c = p.signup();
        const o = p.insertOrder(c.id);
        const n = p.insertNote(o.id);
        return `customer ${c.id} signs up and places order ${o.id} with note ${n.id}`;
      },
    },
    {
      // Any customer may place an order: the insert does not touch the customer's row.
      ready: () => p.model.customers.size > 0,
      run: () => {
        const c = p.rnd.pick([...p.model.customers.values()]);
        const o = p.insertOrder(c.id);
        if (p.rnd.int(0, 1) === 0) return `customer ${c.id} places order ${o.id}`;
        return `customer ${c.id} places order ${o.id} with note ${p.insertNote(o.id).id}`;
      },
    },
    {
      ready: () => orders().length > 0,
      run: () => {
        const o = p.rnd.pick(orders());
        return `note ${p.insertNote(o.id).id} on order ${o.id}`;
      },
    },
    {
      ready: () => orders('new').length > 0,
      run: () => {
        const o = p.rnd.pick(orders('new'));
        p.setStatus(o, 'paid');
        return `order ${o.id} is paid`;
      },
    },
    {
      ready: () => orders('paid').length > 0,
      run: () => {
        const o = p.rnd.pick(orders('paid'));
        p.setStatus(o, 'shipped');
        return `order ${o.id} ships`;
      },
    },
    {
      ready: () => customers().length > 0,
      run: () => {
        const c = p.rnd.pick(customers());
        const amount = p.rnd.int(1, 40) * 250;
        p.setBalance(c, c.balanceCents + amount);
        return `customer ${c.id} tops up ${cents(amount)}`;
      },
    },
    {
      ready: () => customers().length > 0,
      run: () => {
        const c = p.rnd.pick(customers());
        // The step makes the address unique on both sides: DR steps come after every primary step.
        p.setEmail(c, `customer${c.id}+${p.step}@example.org`);
        return `customer ${c.id} changes email`;
      },
    },
  ];
  return p.rnd.pick(actions.filter((a) => a.ready())).run();
}

/**
 * Runs `count` transactions: the scripted ones in order, spread evenly, the last scripted one
 * last, random traffic from `pool` between them.
 */
function runPhase(p: PhasePlanner, count: number, scripted: readonly (() => string)[], pool: Pool): void {
  const middle = scripted.length - 1;
  // Positions (j+1)·(count−1)/(middle+1) are at least one apart because count ≥ scripted.length + 1.
  const at = new Map<number, () => string>();
  for (let j = 0; j < middle; j++) at.set(Math.floor(((j + 1) * (count - 1)) / (middle + 1)), scripted[j]!);
  at.set(count - 1, scripted[middle]!);
  for (let i = 0; i < count; i++) {
    const script = at.get(i);
    p.commit(script === undefined ? randomTransaction(p, pool) : script());
  }
}

function phaseCount(base: number, scale: number, scripted: number): number {
  return Math.max(scripted + 1, Math.round(base * scale));
}

/** Plans every write of the incident for `seed` (pure: no server involved). `scale` multiplies the transaction counts. */
export function planFailoverWorkload(seed: number = FAILOVER_SEED, scale = 1): FailoverWorkload {
  if (!(Number.isFinite(scale) && scale > 0)) {
    throw new EngineError(FailoverErrorCode.BadOption, `scale must be a positive number, got ${scale}`, { option: 'scale' });
  }
  const rnd = createRandom(seed);
  const model: ShopModel = {
    customers: new Map(),
    orders: new Map(),
    notes: new Map(),
    next: { 'shop.customers': 1, 'shop.orders': 1, 'shop.order_notes': 1 },
  };

  // ---- shared: replicated to the DR before the link is cut
  const shared = new PhasePlanner(model, rnd, PRIMARY_PEOPLE, 0);
  const opening: (() => string)[] = [
    () => {
      const specs = Array.from({ length: OPENING_CUSTOMERS }, () => {
        const first = rnd.pick(PRIMARY_PEOPLE.first);
        const last = rnd.pick(PRIMARY_PEOPLE.last);
        return { email: (id: number) => `${first}.${last}.${id}@${PRIMARY_PEOPLE.domain}`.toLowerCase(), name: `${first} ${last}` };
      });
      shared.insertCustomers(specs);
      return `${OPENING_CUSTOMERS} customers sign up (one multi-row INSERT)`;
    },
    () => {
      for (const c of [...model.customers.values()]) shared.insertOrder(c.id);
      return `each of them places an order (${OPENING_CUSTOMERS} orders in one transaction)`;
    },
    () => {
      for (const o of [...model.orders.values()]) shared.insertNote(o.id);
      return 'a note on each of those orders';
    },
  ];
  const sharedCount = phaseCount(BASE_COUNTS.shared, scale, opening.length);
  for (const open of opening) shared.commit(open());
  const all: Pool = { customer: () => true, order: () => true };
  for (let i = opening.length; i < sharedCount; i++) shared.commit(randomTransaction(shared, all));

  const fork = { ...model.next };
  const drModel = structuredClone(model);

  // Parts for pre-existing rows, drawn without replacement.
  const draw = <T>(items: T[]): T => items.splice(rnd.int(0, items.length - 1), 1)[0]!;
  const orderIds = [...model.orders.keys()];
  const customerIds = [...model.customers.keys()];
  const roles: FailoverRoles = {
    differentColumnsOrderId: draw(orderIds),
    deletedOnDrOrderId: draw(orderIds),
    updatedOnDrOrderId: draw(orderIds),
    deletedOrderIds: [draw(orderIds), draw(orderIds)].sort((a, b) => a - b),
    sameColumnCustomerId: draw(customerIds),
    revertedCustomerId: draw(customerIds),
  };
  const reservedOrders = new Set([roles.differentColumnsOrderId, roles.deletedOnDrOrderId, roles.updatedOnDrOrderId, ...roles.deletedOrderIds]);
  const reservedCustomers = new Set([roles.sameColumnCustomerId, roles.revertedCustomerId]);

  // ---- lost: the primary after the cut
  const lost = new PhasePlanner(model, rnd, PRIMARY_PEOPLE, shared.step);
  const pOrder = (id: number): OrderRow => model.orders.get(id)!;
  const pCustomer = (id: number): CustomerRow => model.customers.get(id)!;
  let caseClashPrimary = 0;
  const newCustomers = (): CustomerRow[] => [...model.customers.values()].filter((c) => c.id >= fork['shop.customers'] && c.id !== caseClashPrimary);
  const lostScript: (() => string)[] = [
    () => `customer ${lost.signup().id} signs up`,
    () => {
      const c = lost.signup();
      const o = lost.insertOrder(c.id);
      const n = lost.insertNote(o.id);
      return `customer ${c.id} signs up and places order ${o.id} with note ${n.id}`;
    },
    () => {
      const o = pOrder(roles.differentColumnsOrderId);
      const status = nextStatus(o.status);
      lost.setStatus(o, status);
      return `order ${o.id} becomes ${status} (the DR changes its total: both sides, different columns)`;
    },
    () => {
      const c = newCustomers()[0]!;
      const o = lost.insertOrder(c.id);
      const a = lost.insertNote(o.id);
      const b = lost.insertNote(o.id);
      return `customer ${c.id} (new) places order ${o.id} with notes ${a.id} and ${b.id}`;
    },
    () => {
      const id = roles.deletedOrderIds[0]!;
      return `order ${id} is deleted with its ${lost.deleteOrder(pOrder(id))} note(s)`;
    },
    () => {
      const c = pCustomer(roles.sameColumnCustomerId);
      lost.setBalance(c, c.balanceCents + 2500);
      return `customer ${c.id} tops up 25.00 (the DR changes the balance too: both sides, same column)`;
    },
    () => {
      const c = lost.insertCustomers([{ email: () => CASE_CLASH_EMAILS.primary, name: 'Zed Webb' }])[0]!;
      caseClashPrimary = c.id;
      return `customer ${c.id} signs up as ${CASE_CLASH_EMAILS.primary} (the DR gets ${CASE_CLASH_EMAILS.dr})`;
    },
    () => {
      const o = pOrder(roles.deletedOnDrOrderId);
      lost.setTotal(o, o.totalCents + 999);
      const n = lost.insertNote(o.id);
      return `order ${o.id} gets a new total and note ${n.id} (the DR deletes the order)`;
    },
    () => {
      const c = pCustomer(roles.revertedCustomerId);
      lost.setName(c, `${c.name} Jr.`);
      return `customer ${c.id} is renamed (the DR renames and renames back)`;
    },
    () => {
      const id = roles.updatedOnDrOrderId;
      return `order ${id} is deleted with its ${lost.deleteOrder(pOrder(id))} note(s) (the DR updates the order)`;
    },
    () => {
      const id = roles.deletedOrderIds[1]!;
      return `order ${id} is deleted with its ${lost.deleteOrder(pOrder(id))} note(s)`;
    },
    // Last: the transaction a truncated copy cuts in half.
    () => {
      const c = newCustomers().at(-1)!;
      const o = lost.insertOrder(c.id);
      const n = lost.insertNote(o.id);
      return `customer ${c.id} (new) places order ${o.id} with note ${n.id}`;
    },
  ];
  const lostPool: Pool = {
    customer: (c) => !reservedCustomers.has(c.id) && c.id !== caseClashPrimary,
    order: (o) => !reservedOrders.has(o.id),
  };
  const lostCount = phaseCount(BASE_COUNTS.lost, scale, lostScript.length);
  runPhase(lost, lostCount, lostScript, lostPool);

  // ---- the promoted DR: the model as it was at the cut, steps after the primary's last
  const dr = new PhasePlanner(drModel, rnd, DR_PEOPLE, lost.step);
  const dOrder = (id: number): OrderRow => drModel.orders.get(id)!;
  const dCustomer = (id: number): CustomerRow => drModel.customers.get(id)!;
  const untouched = (id: number, forkNext: number, reserved: Set<number>, touched: Set<number>): boolean =>
    id >= forkNext || (!reserved.has(id) && !touched.has(id));
  const reverted = { name: '', updatedAt: '' };
  let caseClashDr = 0;
  const drScript: (() => string)[] = [
    () => `customer ${dr.signup().id} signs up`,
    () => {
      const c = dr.insertCustomers([{ email: () => CASE_CLASH_EMAILS.dr, name: 'Zed Calloway' }])[0]!;
      caseClashDr = c.id;
      return `customer ${c.id} signs up as ${CASE_CLASH_EMAILS.dr} (the primary lost ${CASE_CLASH_EMAILS.primary})`;
    },
    () => {
      const c = dr.signup();
      const o = dr.insertOrder(c.id);
      const n = dr.insertNote(o.id);
      return `customer ${c.id} signs up and places order ${o.id} with note ${n.id}`;
    },
    () => {
      const c = dCustomer(roles.sameColumnCustomerId);
      dr.setBalance(c, c.balanceCents + 1000);
      return `customer ${c.id} is refunded 10.00 (the primary topped up 25.00)`;
    },
    () => {
      const o = dOrder(roles.differentColumnsOrderId);
      dr.setTotal(o, o.totalCents + 150);
      return `order ${o.id} gets a new total (the primary changed its status)`;
    },
    () => {
      const id = roles.deletedOnDrOrderId;
      return `order ${id} is deleted with its ${dr.deleteOrder(dOrder(id))} note(s) (the primary updated it)`;
    },
    () => {
      const c = dCustomer(roles.revertedCustomerId);
      reverted.name = c.name;
      reverted.updatedAt = c.updatedAt;
      dr.setName(c, c.name.toUpperCase());
      return `customer ${c.id} is renamed (the primary renamed it too)`;
    },
    () => {
      const o = dOrder(roles.updatedOnDrOrderId);
      const status = nextStatus(o.status);
      dr.setStatus(o, status);
      return `order ${o.id} becomes ${status} (the primary deleted it)`;
    },
    () => {
      const c = dr.rnd.pick([...drModel.customers.values()].filter((x) => x.id < fork['shop.customers']));
      const o = dr.insertOrder(c.id);
      const n = dr.insertNote(o.id);
      return `customer ${c.id} places order ${o.id} with note ${n.id}`;
    },
    () => {
      const c = dCustomer(roles.revertedCustomerId);
      dr.setName(c, reverted.name, reverted.updatedAt);
      return `customer ${c.id}'s rename is undone (name and updated_at as at the cut)`;
    },
  ];
  const drPool: Pool = {
    customer: (c) => c.id !== caseClashDr && untouched(c.id, fork['shop.customers'], reservedCustomers, lost.touchedCustomers),
    order: (o) => untouched(o.id, fork['shop.orders'], reservedOrders, lost.touchedOrders),
  };
  const drCount = phaseCount(BASE_COUNTS.dr, scale, drScript.length);
  runPhase(dr, drCount, drScript, drPool);

  return {
    seed,
    scale,
    shared: shared.transactions,
    lost: lost.transactions,
    lostRotateBefore: Math.floor(lostCount / 2),
    dr: dr.transactions,
    forkNextIds: fork,
    lostInsertIds: lost.inserted,
    drInsertIds: dr.inserted,
    roles,
    caseClash: { primaryId: caseClashPrimary, primaryEmail: CASE_CLASH_EMAILS.primary, drId: caseClashDr, drEmail: CASE_CLASH_EMAILS.dr },
  };
}

// ---- staging on real servers ------------------------------------------------------------

export interface StageFailoverOptions {
  readonly context: ThrowawayContext;
  /** Folder the primary's binlog copies go to (the caller creates it and decides whether it stays). */
  readonly filesDir: string;
  readonly seed?: number;
  /** Cut the last copy in the middle of its last commit event, as a crash mid-write would (default true). */
  readonly truncateLast?: boolean;
  /** Keep both servers' folders after stop() (datadirs, error logs). */
  readonly keepServers?: boolean;
  /** Multiplies the transaction counts of every phase (default 1). */
  readonly scale?: number;
  /**
   * The promoted DR's gtid_domain_id for its own writes (SET GLOBAL before them; default 0, the
   * primary's domain, where they reuse the lost transactions' sequence numbers). Not kept across a
   * restart of the DR: set it again after one.
   */
  readonly drGtidDomainId?: number;
  /** Progress lines, for stderr. */
  readonly progress: (message: string) => void;
}

/** A committed transaction: what it did, and the GTID its server gave it (`domain-server-seq`). */
export interface CommittedTransaction {
  readonly label: string;
  readonly gtid: string;
}

/** Rows of every table, `SELECT * … ORDER BY id`, as a src/db session returns them (INT as numbers; DECIMAL, DATETIME as strings). */
export type TableSnapshot = Readonly<Record<FailoverTable, readonly SqlRow[]>>;

export interface StagedFailover {
  readonly workload: FailoverWorkload;
  /** `SELECT VERSION()` of the primary. */
  readonly primaryVersion: string;
  /** The dead primary's folder (removed by stop() unless kept). */
  readonly primaryDir: string;
  /** The promoted DR, still running: stop() (or dr.stop()) ends it. */
  readonly dr: ThrowawayServer;
  readonly drUrl: string;
  /** The primary's binlog copies, oldest first, and the copied index file listing them. */
  readonly files: readonly string[];
  readonly indexFile: string;
  /** Where truncateLast cut the last copy, and the lost transaction it cut; null when not truncated. */
  readonly cut: CutPoint | null;
  readonly cutTransaction: CommittedTransaction | null;
  /** The primary's @@gtid_binlog_pos when the link was cut: everything the DR received. */
  readonly linkCutGtidPos: string;
  /** The primary's @@gtid_binlog_pos just before the kill. */
  readonly primaryFinalGtidPos: string;
  readonly shared: readonly CommittedTransaction[];
  /** The primary's transactions after the cut, in commit order: what a salvage must recover. */
  readonly lost: readonly CommittedTransaction[];
  /** The promoted DR's own transactions, in commit order. */
  readonly drOwn: readonly CommittedTransaction[];
  /** The primary's committed rows just before the kill (including the transaction a cut halves). */
  readonly primaryFinal: TableSnapshot;
  /** The DR's rows right after STOP SLAVE. */
  readonly drAtFailover: TableSnapshot;
  /** The DR's rows after its own writes. */
  readonly drAfterPromotion: TableSnapshot;
  /** Read from the DR at the end. */
  readonly drGtidSlavePos: string;
  readonly drGtidBinlogPos: string;
  /** Stops the DR and removes both folders (unless kept). Idempotent. */
  stop(): Promise<void>;
}

/** Runs the whole staging; on any error both servers are stopped (folders removed unless kept) before it rethrows. */
export async function stageFailover(options: StageFailoverOptions): Promise<StagedFailover> {
  const workload = planFailoverWorkload(options.seed ?? FAILOVER_SEED, options.scale ?? 1);
  const keep = options.keepServers ?? false;
  const truncateLast = options.truncateLast ?? true;
  const say = options.progress;

  say('starting a throwaway MariaDB primary (server_id 1) and DR (server_id 2, log_slave_updates), both gtid domain 0…');
  const [primary, dr] = await startPair(options.context, keep);
  const stopBoth = async (): Promise<void> => {
    await Promise.all([primary.stop({ keep }), dr.stop({ keep })]);
  };
  try {
    say(`primary up on ${primary.url} (folder ${primary.rootDir}); DR up on ${dr.url} (folder ${dr.rootDir})`);
    const primaryVersion = String((await primary.query('SELECT VERSION() AS v')).rows[0]?.['v']);

    // root has no password over TCP in a throwaway server, and holds REPLICATION SLAVE.
    await dr.query(
      `CHANGE MASTER TO MASTER_HOST='${primary.host}', MASTER_PORT=${primary.port}, MASTER_USER='root', MASTER_USE_GTID=slave_pos, MASTER_CONNECT_RETRY=1`,
    );
    await dr.query('START SLAVE');

    const session = await primary.session();
    let shared: CommittedTransaction[];
    let lost: CommittedTransaction[];
    let linkCutGtidPos: string;
    let drAtFailover: TableSnapshot;
    try {
      for (const ddl of FAILOVER_SCHEMA) await session.query(ddl);
      await waitForReplica(primary, dr);
      say(`schema replicated; ${workload.shared.length} shared transactions on the primary…`);
      shared = await runTransactions(session, workload.shared, async () => undefined);
      linkCutGtidPos = await waitForReplica(primary, dr);
      await dr.query('STOP SLAVE');
      drAtFailover = await snapshot(dr);
      say(`DR caught up at ${linkCutGtidPos}; link cut (STOP SLAVE). ${workload.lost.length} transactions on the primary the DR will never see…`);
      lost = await runTransactions(session, workload.lost, async (i) => {
        if (i === workload.lostRotateBefore) await primary.flushBinaryLogs();
      });
    } finally {
      await session.end();
    }
    const primaryFinal = await snapshot(primary);
    const primaryFinalGtidPos = await variable(primary, 'gtid_binlog_pos');
    const files = await copyBinlogs(primary, options.filesDir);
    await primary.kill();
    say(`copied ${files.length} binlog files of the running primary, then SIGKILLed it at ${primaryFinalGtidPos}`);
    const cut = truncateLast ? await cutLastCommit(files[files.length - 1]!) : null;
    if (cut !== null) say(`cut ${basename(cut.file)} in the middle of its last commit event (${lost.at(-1)!.gtid})`);

    say(`promoting the DR (STOP SLAVE; RESET SLAVE ALL; read_only=0) and running ${workload.dr.length} transactions on it…`);
    await dr.query('STOP SLAVE');
    await dr.query('RESET SLAVE ALL');
    await dr.query('SET GLOBAL read_only = 0');
    if (options.drGtidDomainId !== undefined) await dr.query(`SET GLOBAL gtid_domain_id = ${options.drGtidDomainId}`);
    const drSession = await dr.session();
    let drOwn: CommittedTransaction[];
    try {
      drOwn = await runTransactions(drSession, workload.dr, async () => undefined);
    } finally {
      await drSession.end();
    }
    const drAfterPromotion = await snapshot(dr);
    const drGtidSlavePos = await variable(dr, 'gtid_slave_pos');
    const drGtidBinlogPos = await variable(dr, 'gtid_binlog_pos');
    say(`DR at gtid_slave_pos ${drGtidSlavePos}, gtid_binlog_pos ${drGtidBinlogPos}`);

    return {
      workload,
      primaryVersion,
      primaryDir: primary.rootDir,
      dr,
      drUrl: dr.url,
      files,
      indexFile: join(options.filesDir, 'mysql-bin.index'),
      cut,
      cutTransaction: cut === null ? null : lost.at(-1)!,
      linkCutGtidPos,
      primaryFinalGtidPos,
      shared,
      lost,
      drOwn,
      primaryFinal,
      drAtFailover,
      drAfterPromotion,
      drGtidSlavePos,
      drGtidBinlogPos,
      stop: stopBoth,
    };
  } catch (e) {
    await stopBoth();
    throw e;
  }
}

/** Starts both servers at once; if one fails, the other is stopped before the error is rethrown. */
async function startPair(context: ThrowawayContext, keep: boolean): Promise<[ThrowawayServer, ThrowawayServer]> {
  const common = { binlog: true, checksum: 'CRC32', rowImage: 'FULL', rowMetadata: 'FULL', gtidDomainId: 0, keep } as const;
  const started = await Promise.allSettled([
    startThrowawayServer({ ...common, name: 'failover-primary', serverId: 1 }, context),
    // read_only as a standby runs; log_slave_updates so the DR's own binlog holds what it replicated.
    startThrowawayServer(
      { ...common, name: 'failover-dr', serverId: 2, extraArgs: ['--log-slave-updates=ON', '--read-only=ON', '--relay-log=relay-bin'] },
      context,
    ),
  ]);
  const [a, b] = started;
  if (a.status === 'fulfilled' && b.status === 'fulfilled') return [a.value, b.value];
  await Promise.all(started.map((s) => (s.status === 'fulfilled' ? s.value.stop({ keep }) : undefined)));
  throw a.status === 'rejected' ? a.reason : (b as PromiseRejectedResult).reason;
}

/** Commits each planned transaction, checking it against the plan, and reads the GTID the server gave it. */
async function runTransactions(
  session: SqlSession,
  transactions: readonly WorkloadTransaction[],
  before: (index: number) => Promise<void>,
): Promise<CommittedTransaction[]> {
  const committed: CommittedTransaction[] = [];
  for (const [i, tx] of transactions.entries()) {
    await before(i);
    await session.query('START TRANSACTION');
    try {
      for (const s of tx.statements) await runChecked(session, s, tx.label);
      await session.query('COMMIT');
    } catch (e) {
      await session.query('ROLLBACK').catch(() => undefined);
      throw e;
    }
    // @@last_gtid: the GTID of this session's last binlogged transaction (MariaDB).
    const { rows } = await session.query('SELECT @@last_gtid AS g');
    committed.push({ label: tx.label, gtid: String(rows[0]?.['g']) });
  }
  return committed;
}

/** Runs a planned statement and checks the server did what the model predicted, so the plan's ids are the real ones. */
async function runChecked(session: SqlSession, s: WorkloadStatement, label: string): Promise<void> {
  const result = await session.query(s.sql, s.params);
  const idOk = s.expectInsertId === undefined || result.insertId === s.expectInsertId;
  if (!idOk || result.affectedRows !== s.expectRows) {
    throw new EngineError(
      DemoErrorCode.WorkloadDiverged,
      `failover workload diverged from its plan at "${label}": expected ${s.expectRows} rows${s.expectInsertId === undefined ? '' : ` and id ${s.expectInsertId}`}, the server reported ${result.affectedRows} rows and id ${result.insertId}`,
    );
  }
}

/** Waits until the DR's gtid_slave_pos equals the primary's gtid_binlog_pos, and returns that position. */
async function waitForReplica(primary: ThrowawayServer, dr: ThrowawayServer): Promise<string> {
  const target = await variable(primary, 'gtid_binlog_pos');
  const deadline = Date.now() + CATCH_UP_TIMEOUT_MS;
  for (let polls = 1; ; polls++) {
    const at = await variable(dr, 'gtid_slave_pos');
    if (at === target) return target;
    const late = Date.now() > deadline;
    // A broken replica never catches up: look every ~10 polls rather than wait out the deadline.
    if (late || polls % 10 === 0) {
      const status = (await dr.query('SHOW SLAVE STATUS')).rows[0];
      const io = String(status?.['Slave_IO_Running'] ?? 'none');
      const sql = String(status?.['Slave_SQL_Running'] ?? 'none');
      if (late || io === 'No' || sql === 'No' || status === undefined) {
        const errors = [status?.['Last_IO_Error'], status?.['Last_SQL_Error']].filter((x) => typeof x === 'string' && x !== '').join('; ');
        throw new EngineError(
          FailoverErrorCode.ReplicaStalled,
          `the DR did not reach the primary's ${target} (at "${at}", IO thread ${io}, SQL thread ${sql}${errors === '' ? '' : `: ${errors}`})\n${dr.logTail(20)}`,
          { gtid: target, file: dr.errorLogPath },
        );
      }
    }
    await new Promise((resolve) => setTimeout(resolve, POLL_MS).unref());
  }
}

async function variable(server: ThrowawayServer, name: 'gtid_binlog_pos' | 'gtid_slave_pos'): Promise<string> {
  const { rows } = await server.query(`SELECT @@${name} AS v`);
  return String(rows[0]?.['v'] ?? '');
}

async function snapshot(server: ThrowawayServer): Promise<TableSnapshot> {
  const read = async (table: FailoverTable): Promise<readonly SqlRow[]> => (await server.query(`SELECT * FROM ${table} ORDER BY id`)).rows;
  return {
    'shop.customers': await read('shop.customers'),
    'shop.orders': await read('shop.orders'),
    'shop.order_notes': await read('shop.order_notes'),
  };
}

/** Copies the running primary's binlogs and index: the last copy carries the in-use flag, as a crashed server's file does. */
async function copyBinlogs(primary: ThrowawayServer, filesDir: string): Promise<string[]> {
  const copies: string[] = [];
  for (const source of await primary.binlogFiles()) {
    const copy = join(filesDir, basename(source));
    await copyFile(source, copy);
    copies.push(copy);
  }
  await copyFile(`${primary.binlogBasename!}.index`, join(filesDir, 'mysql-bin.index'));
  return copies;
}
