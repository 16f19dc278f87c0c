/**
 * The demo's shop: a schema with the features a salvage has to get right (AUTO_INCREMENT ids, a
 * UNIQUE email, a foreign key, DECIMAL, DATETIME(6), ENUM, JSON), and a seeded workload of
 * committed transactions over it. The workload is planned in advance against a model of the
 * tables — the ids a fresh server hands out are predictable — so the counts a decoder must find
 * are known exactly before a single statement runs.
 */
import { createRandom } from './random.js';

/** The schema, one statement each. */
export const SHOP_SCHEMA: readonly string[] = [
  'CREATE DATABASE shop',
  `CREATE TABLE shop.customers (
     id INT UNSIGNED NOT NULL AUTO_INCREMENT PRIMARY KEY,
     email VARCHAR(120) NOT NULL,
     name VARCHAR(80) NOT NULL,
     created_at DATETIME(6) NOT NULL,
     UNIQUE KEY uk_customers_email (email)
   ) ENGINE=InnoDB`,
  `CREATE TABLE shop.orders (
     id INT UNSIGNED NOT NULL AUTO_INCREMENT PRIMARY KEY,
     customer_id INT UNSIGNED NOT NULL,
     total DECIMAL(10,2) NOT NULL,
     status ENUM('new','paid','shipped','cancelled') NOT NULL DEFAULT 'new',
     placed_at DATETIME(6) NOT NULL,
     items JSON NOT NULL,
     CONSTRAINT fk_orders_customer FOREIGN KEY (customer_id) REFERENCES shop.customers (id)
   ) ENGINE=InnoDB`,
];

/** The tables the workload writes, as `inspect --stats` names them. */
export const SHOP_TABLES = ['shop.customers', 'shop.orders'] as const;
export type ShopTable = (typeof SHOP_TABLES)[number];

/** One statement and its parameters. */
export interface WorkloadStatement {
  readonly sql: string;
  readonly params: readonly unknown[];
  /** The AUTO_INCREMENT id the model expects the first inserted row to get (checked while running). */
  readonly expectInsertId?: number;
  /** Rows the model expects the statement to change (checked while running). */
  readonly expectRows: number;
}

/** One committed transaction of the workload. */
export interface WorkloadTransaction {
  /** What it does, for people: "customer 7 pays order 12". */
  readonly label: string;
  readonly statements: readonly WorkloadStatement[];
}

export interface RowCounts {
  inserts: number;
  updates: number;
  deletes: number;
  /** Transactions that changed at least one row of the table. */
  transactions: number;
}

export interface ShopWorkload {
  readonly seed: number;
  /** Committed in order; the binlog rotates (FLUSH BINARY LOGS) before transaction `rotateBefore`. */
  readonly transactions: readonly WorkloadTransaction[];
  readonly rotateBefore: number;
  /** Row changes per table, over every transaction. */
  readonly counts: Readonly<Record<ShopTable, Readonly<RowCounts>>>;
  /** The same, without the last transaction (the one the demo's crash cuts). */
  readonly countsBeforeLast: Readonly<Record<ShopTable, Readonly<RowCounts>>>;
  /** The statement left uncommitted when the server is killed. */
  readonly inFlight: WorkloadStatement & { readonly label: string };
}

/** The seed `salvage demo` uses, so its counts are the same on every run. */
export const DEMO_SEED = 20261126;

const RANDOM_STEPS = 34;
const FIRST_NAMES = ['Ada', 'Grace', 'Alan', 'Edsger', 'Barbara', 'Donald', 'Frances', 'Ken', 'Radia', 'Niklaus', 'Margaret', 'Tony'];
const LAST_NAMES = ['Lovelace', 'Hopper', 'Turing', 'Dijkstra', 'Liskov', 'Knuth', 'Allen', 'Thompson', 'Perlman', 'Wirth', 'Hamilton', 'Hoare'];
const PRODUCTS: readonly { readonly sku: string; readonly cents: number }[] = [
  { sku: 'TEA-GREEN', cents: 450 },
  { sku: 'TEA-BLACK', cents: 390 },
  { sku: 'MUG-BLUE', cents: 1250 },
  { sku: 'KETTLE-1L', cents: 3499 },
  { sku: 'HONEY-250', cents: 675 },
  { sku: 'SPOON-SET', cents: 899 },
];
// 2026-11-26 06:00:00 UTC: every timestamp is derived from it, never from the clock.
const BASE_MS = Date.UTC(2026, 10, 26, 6, 0, 0);

type Status = 'new' | 'paid' | 'shipped' | 'cancelled';

interface Customer {
  readonly id: number;
  email: string;
  readonly first: string;
  readonly last: string;
}

interface Order {
  readonly id: number;
  readonly customerId: number;
  status: Status;
}

function zeroCounts(): Record<ShopTable, RowCounts> {
  return {
    'shop.customers': { inserts: 0, updates: 0, deletes: 0, transactions: 0 },
    'shop.orders': { inserts: 0, updates: 0, deletes: 0, transactions: 0 },
  };
}

function cents(n: number): string {
  return `${Math.floor(n / 100)}.${String(n % 100).padStart(2, '0')}`;
}

/** `YYYY-MM-DD HH:MM:SS.ffffff` for a step of the workload. */
function datetime6(step: number, micros: number): string {
  const iso = new Date(BASE_MS + step * 97_000).toISOString();
  return `${iso.slice(0, 10)} ${iso.slice(11, 19)}.${String(micros).padStart(6, '0')}`;
}

/** Plans the workload for `seed` (pure: no server involved). */
export function planShopWorkload(seed: number = DEMO_SEED): ShopWorkload {
  const rnd = createRandom(seed);
  const customers: Customer[] = [];
  const orders: Order[] = [];
  const transactions: WorkloadTransaction[] = [];
  const counts = zeroCounts();
  let nextCustomerId = 1;
  let nextOrderId = 1;
  let step = 0;
  let statements: WorkloadStatement[] = [];
  let touched = new Set<ShopTable>();

  const record = (table: ShopTable, op: 'inserts' | 'updates' | 'deletes', rows: number): void => {
    counts[table][op] += rows;
    touched.add(table);
  };
  const commit = (label: string): void => {
    for (const t of touched) counts[t].transactions++;
    transactions.push({ label, statements });
    statements = [];
    touched = new Set();
    step++;
  };

  const customerValues = (): { customer: Customer; params: unknown[] } => {
    const id = nextCustomerId++;
    const first = rnd.pick(FIRST_NAMES);
    const last = rnd.pick(LAST_NAMES);
    const customer: Customer = { id, first, last, email: `${first}.${last}.${id}@example.com`.toLowerCase() };
    customers.push(customer);
    return { customer, params: [customer.email, `${first} ${last}`, datetime6(step, rnd.int(0, 999_999))] };
  };
  const addCustomers = (n: number): Customer[] => {
    const made: Customer[] = [];
    const params: unknown[] = [];
    for (let i = 0; i < n; i++) {
      const v = customerValues();
      made.push(v.customer);
      params.push(...v.params);
    }
    const rows = Array.from({ length: n }, () => '(?, ?, ?)').join(', ');
    statements.push({ sql: `INSERT INTO shop.customers (email, name, created_at) VALUES ${rows}`, params, expectInsertId: made[0]!.id, expectRows: n });
    record('shop.customers', 'inserts', n);
    return made;
  };
  const cart = (): { items: string; total: string } => {
    const lines = Array.from({ length: rnd.int(1, 3) }, () => {
      const p = rnd.pick(PRODUCTS);
      return { sku: p.sku, qty: rnd.int(1, 4), price: cents(p.cents) };
    });
    const total = lines.reduce((sum, l) => sum + l.qty * Number(l.price.replace('.', '')), 0);
    return { items: JSON.stringify(lines), total: cents(total) };
  };
  const orderStatement = (customerId: number): WorkloadStatement => {
    const id = nextOrderId++;
    orders.push({ id, customerId, status: 'new' });
    const { items, total } = cart();
    return {
      sql: 'INSERT INTO shop.orders (customer_id, total, status, placed_at, items) VALUES (?, ?, ?, ?, ?)',
      params: [customerId, total, 'new', datetime6(step, rnd.int(0, 999_999)), items],
      expectInsertId: id,
      expectRows: 1,
    };
  };
  const addOrder = (customerId: number): number => {
    const s = orderStatement(customerId);
    statements.push(s);
    record('shop.orders', 'inserts', 1);
    return s.expectInsertId!;
  };
  const setStatus = (order: Order, status: Status): void => {
    order.status = status;
    statements.push({ sql: 'UPDATE shop.orders SET status = ? WHERE id = ?', params: [status, order.id], expectRows: 1 });
    record('shop.orders', 'updates', 1);
  };
  const withStatus = (status: Status): Order[] => orders.filter((o) => o.status === status);
  const withoutOrders = (): Customer[] => customers.filter((c) => !orders.some((o) => o.customerId === c.id));

  // Opening day: six sign-ups in one statement, then four orders in one transaction.
  addCustomers(6);
  commit('6 customers sign up (one multi-row INSERT)');
  for (let i = 0; i < 4; i++) addOrder(rnd.pick(customers).id);
  commit('4 orders placed in one transaction');

  type Action = { readonly name: string; readonly ready: () => boolean; readonly run: () => string };
  const actions: readonly Action[] = [
    {
      name: 'signup',
      ready: () => true,
      run: () => `customer ${addCustomers(1)[0]!.id} signs up`,
    },
    {
      name: 'signup+order',
      ready: () => true,
      run: () => {
        const c = addCustomers(1)[0]!;
        return `customer ${c.id} signs up and places order ${addOrder(c.id)}`;
      },
    },
    {
      name: 'order',
      ready: () => customers.length > 0,
      run: () => {
        const c = rnd.pick(customers);
        return `customer ${c.id} places order ${addOrder(c.id)}`;
      },
    },
    {
      name: 'pay',
      ready: () => withStatus('new').length > 0,
      run: () => {
        const o = rnd.pick(withStatus('new'));
        setStatus(o, 'paid');
        return `order ${o.id} is paid`;
      },
    },
    {
      name: 'ship',
      ready: () => withStatus('paid').length > 0,
      run: () => {
        const c = rnd.pick(withStatus('paid')).customerId;
        const batch = withStatus('paid').filter((o) => o.customerId === c);
        for (const o of batch) o.status = 'shipped';
        statements.push({ sql: "UPDATE shop.orders SET status = 'shipped' WHERE customer_id = ? AND status = 'paid'", params: [c], expectRows: batch.length });
        record('shop.orders', 'updates', batch.length);
        return `${batch.length} paid order(s) of customer ${c} ship`;
      },
    },
    {
      name: 'cancel',
      ready: () => withStatus('new').length > 0,
      run: () => {
        const o = rnd.pick(withStatus('new'));
        setStatus(o, 'cancelled');
        return `order ${o.id} is cancelled`;
      },
    },
    {
      name: 'edit-cart',
      ready: () => withStatus('new').length > 0,
      run: () => {
        const o = rnd.pick(withStatus('new'));
        const { items, total } = cart();
        // A new cart always differs: it carries the step number, so the UPDATE changes the row.
        const withNote = JSON.stringify({ edited: step, lines: JSON.parse(items) as unknown });
        statements.push({ sql: 'UPDATE shop.orders SET items = ?, total = ? WHERE id = ?', params: [withNote, total, o.id], expectRows: 1 });
        record('shop.orders', 'updates', 1);
        return `order ${o.id} has its cart edited`;
      },
    },
    {
      name: 'purge',
      ready: () => withStatus('cancelled').length > 0,
      run: () => {
        const gone = withStatus('cancelled');
        for (const o of gone) orders.splice(orders.indexOf(o), 1);
        statements.push({ sql: "DELETE FROM shop.orders WHERE status = 'cancelled'", params: [], expectRows: gone.length });
        record('shop.orders', 'deletes', gone.length);
        return `${gone.length} cancelled order(s) purged`;
      },
    },
    {
      name: 'email',
      ready: () => customers.length > 0,
      run: () => {
        const c = rnd.pick(customers);
        c.email = `${c.first}.${c.last}+${step}@example.org`.toLowerCase();
        statements.push({ sql: 'UPDATE shop.customers SET email = ? WHERE id = ?', params: [c.email, c.id], expectRows: 1 });
        record('shop.customers', 'updates', 1);
        return `customer ${c.id} changes email`;
      },
    },
    {
      name: 'close',
      ready: () => withoutOrders().length > 0,
      run: () => {
        const c = rnd.pick(withoutOrders());
        customers.splice(customers.indexOf(c), 1);
        statements.push({ sql: 'DELETE FROM shop.customers WHERE id = ?', params: [c.id], expectRows: 1 });
        record('shop.customers', 'deletes', 1);
        return `customer ${c.id} closes the account`;
      },
    },
  ];

  for (let i = 0; i < RANDOM_STEPS; i++) {
    const action = rnd.pick(actions.filter((a) => a.ready()));
    commit(action.run());
  }
  const rotateBefore = Math.floor(transactions.length / 2);

  // The last committed transaction: the one the crash cuts in half in the copied binlog.
  const before = structuredClone(counts);
  const buyer = rnd.pick(customers);
  const first = addOrder(buyer.id);
  const second = addOrder(buyer.id);
  const paid = orders.find((o) => o.id === first)!;
  setStatus(paid, 'paid');
  commit(`customer ${buyer.id} places orders ${first} and ${second} and pays the first`);

  const inFlightCustomer = rnd.pick(customers).id;
  const inFlight = { ...orderStatement(inFlightCustomer), label: `customer ${inFlightCustomer} places order ${nextOrderId - 1}` };
  return { seed, transactions, rotateBefore, counts, countsBeforeLast: before, inFlight };
}
