/**
 * A seeded, mixed OLTP workload for benchmarks and the demo, modelled on the one behind
 * docs/research/peer-baselines.md: four tables that cover the awkward column types
 * (DECIMAL, DATETIME(6), ENUM, SET, FLOAT, DOUBLE, BIGINT UNSIGNED near 2^64 and above 2^63,
 * JSON, BLOB, BIT(12), utf8mb4 text with emoji, TIME(3), TIMESTAMP(6), YEAR), transactions of
 * 1–20 row changes, multi-row INSERTs, and multi-row UPDATE/DELETE by IN lists.
 *
 * The generator is pure: it tracks the live keys itself, so the same seed yields the same
 * statements, and it knows exactly how many row changes each statement makes. `runWorkload`
 * sends them in large multi-statement batches and checks every statement's affected-row
 * count (and every AUTO_INCREMENT id) against that expectation, so the counts it returns are
 * the row events the binlog holds. Foreign keys never cascade (a customer is deleted only
 * when it has no orders, an order only after its items), because InnoDB does not binlog
 * cascaded changes and the counts would no longer match the row events.
 */
import { EngineError } from '../src/errors.js';
import { createRng, type Rng } from './lib/prng.js';

/** Bump when the statements a seed produces change, so cached binlogs are rebuilt. */
export const WORKLOAD_VERSION = 1;

export const WORKLOAD_TABLES = ['customers', 'orders', 'order_items', 'events'] as const;
export type WorkloadTable = (typeof WORKLOAD_TABLES)[number];

export interface TableCounts {
  inserts: number;
  updates: number;
  deletes: number;
}

/** What a workload wrote: row changes as the binlog's row events count them. */
export interface WorkloadCounts {
  transactions: number;
  statements: number;
  rowChanges: number;
  inserts: number;
  updates: number;
  deletes: number;
  tables: Record<WorkloadTable, TableCounts>;
}

/** One transaction's statements (without BEGIN/COMMIT) and what each must report. */
export interface WorkloadTransaction {
  readonly statements: readonly string[];
  /** Affected rows each statement must report. */
  readonly affectedRows: readonly number[];
  /** The first AUTO_INCREMENT id a statement must report, or null when it assigns none. */
  readonly insertIds: readonly (number | null)[];
  readonly rowChanges: number;
}

/** The schema's DDL, one statement per element; drops and recreates `database`. */
export function workloadSchemaSql(database = 'bench'): string[] {
  const db = `\`${database.replace(/`/g, '``')}\``;
  return [
    `DROP DATABASE IF EXISTS ${db}`,
    `CREATE DATABASE ${db} CHARACTER SET utf8mb4 COLLATE utf8mb4_general_ci`,
    `USE ${db}`,
    `CREATE TABLE customers (
      id INT UNSIGNED NOT NULL AUTO_INCREMENT PRIMARY KEY,
      email VARCHAR(191) NOT NULL,
      name VARCHAR(100) NOT NULL,
      country CHAR(2) NOT NULL,
      credit DECIMAL(14,4) NOT NULL,
      score DECIMAL(5,4) NULL,
      birth DATE NULL,
      created_at DATETIME(6) NOT NULL,
      rev INT NOT NULL DEFAULT 0,
      UNIQUE KEY uk_customers_email (email)
    ) ENGINE=InnoDB`,
    `CREATE TABLE orders (
      id BIGINT NOT NULL PRIMARY KEY,
      customer_id INT UNSIGNED NOT NULL,
      status ENUM('new','paid','shipped','delivered','cancelled','refunded') NOT NULL,
      flags SET('express','gift','b2b','promo','fragile') NOT NULL DEFAULT '',
      total DECIMAL(12,2) NOT NULL,
      placed_at DATETIME(6) NOT NULL,
      note VARCHAR(255) NULL,
      rev INT NOT NULL DEFAULT 0,
      KEY ix_orders_customer (customer_id),
      CONSTRAINT fk_orders_customer FOREIGN KEY (customer_id) REFERENCES customers (id)
    ) ENGINE=InnoDB`,
    `CREATE TABLE order_items (
      order_id BIGINT NOT NULL,
      line_no SMALLINT UNSIGNED NOT NULL,
      sku VARCHAR(32) NOT NULL,
      qty MEDIUMINT NOT NULL,
      unit_price DECIMAL(10,2) NOT NULL,
      weight FLOAT NOT NULL,
      ratio DOUBLE NOT NULL,
      discount TINYINT NOT NULL,
      rev INT NOT NULL DEFAULT 0,
      PRIMARY KEY (order_id, line_no),
      CONSTRAINT fk_items_order FOREIGN KEY (order_id) REFERENCES orders (id)
    ) ENGINE=InnoDB`,
    `CREATE TABLE events (
      id BIGINT UNSIGNED NOT NULL PRIMARY KEY,
      kind VARCHAR(32) NOT NULL,
      big_signed BIGINT NOT NULL,
      payload JSON NULL,
      blob_data BLOB NULL,
      mask BIT(12) NOT NULL,
      message VARCHAR(500) CHARACTER SET utf8mb4 NULL,
      happened_at TIMESTAMP(3) NULL,
      ts TIMESTAMP(6) NOT NULL DEFAULT CURRENT_TIMESTAMP(6),
      dur TIME(3) NULL,
      yr YEAR NULL,
      rev INT NOT NULL DEFAULT 0
    ) ENGINE=InnoDB`,
  ];
}

/** Zeroed counts. */
export function emptyCounts(): WorkloadCounts {
  const tables = {} as Record<WorkloadTable, TableCounts>;
  for (const t of WORKLOAD_TABLES) tables[t] = { inserts: 0, updates: 0, deletes: 0 };
  return { transactions: 0, statements: 0, rowChanges: 0, inserts: 0, updates: 0, deletes: 0, tables };
}

function cloneCounts(c: WorkloadCounts): WorkloadCounts {
  const tables = {} as Record<WorkloadTable, TableCounts>;
  for (const t of WORKLOAD_TABLES) tables[t] = { ...c.tables[t] };
  return { ...c, tables };
}

// ---- live key bookkeeping ------------------------------------------------------------

/** A set with O(1) add, delete and uniform random pick (swap-remove), in insertion-determined order. */
class KeyPool<K> {
  readonly #keys: K[] = [];
  readonly #index = new Map<K, number>();

  get size(): number {
    return this.#keys.length;
  }

  add(key: K): void {
    if (this.#index.has(key)) return;
    this.#index.set(key, this.#keys.length);
    this.#keys.push(key);
  }

  delete(key: K): void {
    const i = this.#index.get(key);
    if (i === undefined) return;
    const last = this.#keys.pop() as K;
    this.#index.delete(key);
    if (i < this.#keys.length) {
      this.#keys[i] = last;
      this.#index.set(last, i);
    }
  }

  /** Up to n distinct keys, uniformly chosen. */
  sample(rng: Rng, n: number): K[] {
    const size = this.#keys.length;
    if (n >= size) return this.#keys.slice(0, size);
    const chosen = new Set<number>();
    while (chosen.size < n) chosen.add(Math.floor(rng.next() * size));
    return [...chosen].map((i) => this.#keys[i] as K);
  }
}

interface OrderState {
  readonly customerId: number;
  /** Live line numbers, ascending. */
  readonly lines: number[];
  nextLine: number;
}

// ---- value formatting ---------------------------------------------------------------

const SQL_ESCAPES: Record<string, string> = { '\0': '\\0', '\n': '\\n', '\r': '\\r', '\x1a': '\\Z', "'": "\\'", '\\': '\\\\' };

function sqlString(s: string): string {
  return `'${s.replace(/[\0\n\r\x1a'\\]/g, (c) => SQL_ESCAPES[c] ?? c)}'`;
}

function pad(n: number, width: number): string {
  return String(n).padStart(width, '0');
}

/** 'YYYY-MM-DD HH:MM:SS[.fff…]' in UTC from epoch seconds and a fraction of `digits` digits. */
function dateTimeText(epochSeconds: number, fraction: number, digits: number): string {
  const d = new Date(epochSeconds * 1000);
  const base = `${pad(d.getUTCFullYear(), 4)}-${pad(d.getUTCMonth() + 1, 2)}-${pad(d.getUTCDate(), 2)} ${pad(d.getUTCHours(), 2)}:${pad(d.getUTCMinutes(), 2)}:${pad(d.getUTCSeconds(), 2)}`;
  return digits === 0 ? base : `${base}.${pad(fraction, digits)}`;
}

const Y1990 = 631_152_000;
const Y2035 = 2_051_222_400;
const TIMESTAMP_MAX = 2_147_483_647; // 2038-01-19 03:14:07 UTC

function decimalText(rng: Rng, intDigits: number, scale: number, signed: boolean): string {
  const digits = rng.int(1, intDigits);
  let int = String(rng.int(1, 9));
  for (let i = 1; i < digits; i++) int += String(rng.int(0, 9));
  if (rng.chance(0.1)) int = '0';
  let frac = '';
  for (let i = 0; i < scale; i++) frac += String(rng.int(0, 9));
  const sign = signed && rng.chance(0.2) ? '-' : '';
  return `${sign}${int}${scale > 0 ? `.${frac}` : ''}`;
}

const FIRST_NAMES = ['Anna', 'Zoë', 'José', 'Bjørn', 'Søren', 'Łukasz', 'Ünal', 'Chloé', 'Mia', 'Noah', 'Ólafur', "D'Arcy", '李', '佐藤', 'Αλέξης', 'Дарья'];
const LAST_NAMES = ['Müller', 'García', 'Smith', "O'Brien", 'Nguyễn', 'Kowalski', 'Dupont', 'Rossi', 'van der Berg', '王', '山田', 'Ivanova', 'Back\\slash'];
const COUNTRIES = ['DE', 'FR', 'US', 'GB', 'JP', 'CN', 'BR', 'IN', 'PL', 'NO', 'ES', 'IT'];
const STATUSES = ['new', 'paid', 'shipped', 'delivered', 'cancelled', 'refunded'];
const FLAGS = ['express', 'gift', 'b2b', 'promo', 'fragile'];
const KINDS = ['login', 'logout', 'purchase', 'refund', 'page_view', 'search', 'error', 'audit'];
const FRAGMENTS = [
  'order shipped',
  'payment received',
  'Grüße aus Zürich',
  'naïve café',
  '🙂',
  '🚀 launch',
  '👩‍💻 dev',
  '👨‍👩‍👧‍👦',
  '🇩🇪🇯🇵',
  '日本語のテキスト',
  '中文字符',
  'Ελληνικά',
  'кириллица',
  'emoji 𝄞 clef',
  "it's quoted",
  'tab\there',
  'back\\slash',
  'line\nbreak',
  '%_wildcards_%',
  'ok',
];

function textOf(rng: Rng, parts: number): string {
  let s = rng.pick(FRAGMENTS);
  for (let i = 1; i < parts; i++) s += ` ${rng.pick(FRAGMENTS)}`;
  return s;
}

function setText(rng: Rng): string {
  const on: string[] = [];
  for (const f of FLAGS) if (rng.chance(0.3)) on.push(f);
  return on.join(',');
}

function floatText(rng: Rng): string {
  // FLOAT keeps 24 bits; the server rounds the decimal text to float32 itself.
  return String(Math.round((rng.next() * 200 - 10) * 1e6) / 1e6);
}

function doubleText(rng: Rng): string {
  const r = rng.next();
  if (r < 0.02) return rng.pick(['0', '-0', '1e-300', '1.7976931348623157e308', '4.9e-324', '-2.2250738585072014e-308']);
  return String((rng.next() - 0.5) * 10 ** rng.int(-3, 9));
}

function timeText(rng: Rng): string {
  if (rng.chance(0.02)) return rng.pick(['838:59:59.000', '-838:59:59.000', '-00:00:00.500', '00:00:00.000']);
  const sign = rng.chance(0.2) ? '-' : '';
  return `${sign}${rng.int(0, 838)}:${pad(rng.int(0, 59), 2)}:${pad(rng.int(0, 59), 2)}.${pad(rng.int(0, 999), 3)}`;
}

const TWO_64 = 1n << 64n;
const TWO_63 = 1n << 63n;

/** A JSON document as text, with integers past 2^53 and 2^64, nesting, unicode and escapes. */
function jsonText(rng: Rng, id: bigint): string {
  const tags: string[] = [];
  for (let i = rng.int(0, 5); i > 0; i--) tags.push(JSON.stringify(rng.pick(FRAGMENTS)));
  const nums: string[] = [];
  for (let i = rng.int(0, 6); i > 0; i--) nums.push(rng.chance(0.5) ? String(rng.int(-100000, 100000)) : String(rng.next() * 1000));
  const fields = [
    `"id":${id}`,
    `"v":${rng.int(1, 3)}`,
    `"user":{"id":${rng.int(1, 1_000_000)},"name":${JSON.stringify(`${rng.pick(FIRST_NAMES)} ${rng.pick(LAST_NAMES)}`)},"vip":${rng.chance(0.1)}}`,
    `"tags":[${tags.join(',')}]`,
    `"nums":[${nums.join(',')}]`,
    `"amount":${decimalText(rng, 6, 2, true)}`,
  ];
  if (rng.chance(0.3)) fields.push(`"big":${rng.chance(0.5) ? '18446744073709551615' : String(9007199254740993n + BigInt(rng.int(0, 1000)))}`);
  if (rng.chance(0.2)) fields.push('"none":null', `"nested":[[1,[2,[3]]],{"k":{"k":{"k":"deep"}}}]`);
  if (rng.chance(0.1)) fields.push(`"exp":${rng.pick(['1e300', '-2.5E-7', '0.0', '-0'])}`);
  return `{${fields.join(',')}}`;
}

function hexBlob(rng: Rng, maxBytes: number): string {
  if (rng.chance(0.1)) return 'NULL';
  return `X'${rng.bytes(rng.int(0, maxBytes)).toString('hex')}'`;
}

// ---- the generator --------------------------------------------------------------------

/** Produces the workload's transactions for one seed; pure, no database. */
export class WorkloadGenerator {
  readonly #rng: Rng;
  readonly #counts = emptyCounts();
  readonly #customers = new KeyPool<number>();
  /** Customers without orders: the only ones that may be deleted (no FK cascade). */
  readonly #childless = new KeyPool<number>();
  readonly #orderCount = new Map<number, number>();
  readonly #orders = new KeyPool<number>();
  readonly #orderState = new Map<number, OrderState>();
  readonly #events = new KeyPool<bigint>();
  #nextCustomerId = 1;
  #nextOrderId = 1;
  #nextEvent = 0n;

  // Statements of the transaction being built.
  #statements: string[] = [];
  #affected: number[] = [];
  #insertIds: (number | null)[] = [];

  constructor(seed: number) {
    this.#rng = createRng(seed);
  }

  /** Counts of every transaction produced so far (a copy). */
  get counts(): WorkloadCounts {
    return cloneCounts(this.#counts);
  }

  /** The next transaction: 1–20 row changes over one to several statements. */
  nextTransaction(): WorkloadTransaction {
    const rng = this.#rng;
    this.#statements = [];
    this.#affected = [];
    this.#insertIds = [];
    let budget = rng.int(1, 20);
    let total = 0;
    while (budget > 0) {
      const rows = this.#operation(budget);
      budget -= rows;
      total += rows;
    }
    this.#counts.transactions++;
    this.#counts.statements += this.#statements.length;
    return { statements: this.#statements, affectedRows: this.#affected, insertIds: this.#insertIds, rowChanges: total };
  }

  /** Runs one statement (or two, for an order delete) of at most `budget` rows; returns the rows it changes (≥ 1). */
  #operation(budget: number): number {
    const rng = this.#rng;
    const r = rng.next();
    // By rows, roughly the baseline's 58% inserts / 31% updates / 11% deletes (some deletes find too few rows).
    if (r < 0.55) {
      const k = rng.int(1, Math.min(budget, 10));
      const t = rng.next();
      if (t < 0.2 || this.#customers.size < 20) return this.#insertCustomers(k);
      if (t < 0.55) return this.#insertOrder(k);
      if (t < 0.65) return this.#insertItems(k) || this.#insertEvents(k);
      return this.#insertEvents(k);
    }
    if (r < 0.85) {
      const k = rng.int(1, Math.min(budget, 8));
      const t = rng.next();
      if (t < 0.2) return this.#updateCustomers(k) || this.#insertCustomers(k);
      if (t < 0.5) return this.#updateOrders(k) || this.#insertCustomers(k);
      if (t < 0.7) return this.#updateItems(k) || this.#insertCustomers(k);
      return this.#updateEvents(k) || this.#insertEvents(k);
    }
    const k = rng.int(1, Math.min(budget, 5));
    const t = rng.next();
    if (t < 0.45) return this.#deleteEvents(k) || this.#insertEvents(k);
    if (t < 0.7) return this.#deleteItems(k) || this.#deleteEvents(k) || this.#insertEvents(k);
    if (t < 0.9) return this.#deleteOrder(k) || this.#deleteItems(k) || this.#deleteEvents(k) || this.#insertEvents(k);
    return this.#deleteCustomers(k) || this.#deleteEvents(k) || this.#insertEvents(k);
  }

  #emit(sql: string, table: WorkloadTable, op: keyof TableCounts, rows: number, insertId: number | null = null): number {
    this.#statements.push(sql);
    this.#affected.push(rows);
    this.#insertIds.push(insertId);
    this.#counts.tables[table][op] += rows;
    this.#counts[op] += rows;
    this.#counts.rowChanges += rows;
    return rows;
  }

  #insertCustomers(k: number): number {
    const rng = this.#rng;
    const first = this.#nextCustomerId;
    const values: string[] = [];
    for (let i = 0; i < k; i++) {
      const id = this.#nextCustomerId++;
      const name = `${rng.pick(FIRST_NAMES)} ${rng.pick(LAST_NAMES)}${rng.chance(0.05) ? ' 🙂' : ''}`;
      const birth = rng.chance(0.2) ? 'NULL' : `'${dateTimeText(rng.int(-1_500_000_000, 1_100_000_000), 0, 0).slice(0, 10)}'`;
      const score = rng.chance(0.3) ? 'NULL' : decimalText(rng, 1, 4, false);
      const created = dateTimeText(rng.int(Y1990, Y2035), rng.int(0, 999_999), 6);
      values.push(
        `(${sqlString(`c${id}.${rng.int(0, 1e6)}@example.com`)},${sqlString(name)},'${rng.pick(COUNTRIES)}',${decimalText(rng, 10, 4, true)},${score},${birth},'${created}')`,
      );
      this.#customers.add(id);
      this.#childless.add(id);
      this.#orderCount.set(id, 0);
    }
    return this.#emit(`INSERT INTO customers (email,name,country,credit,score,birth,created_at) VALUES ${values.join(',')}`, 'customers', 'inserts', k, first);
  }

  #orderRow(id: number, customerId: number): string {
    const rng = this.#rng;
    const placed = dateTimeText(rng.int(Y1990, Y2035), rng.int(0, 999_999), 6);
    const note = rng.chance(0.5) ? 'NULL' : sqlString(textOf(rng, rng.int(1, 4)));
    return `(${id},${customerId},'${rng.pick(STATUSES)}','${setText(rng)}',${decimalText(rng, 10, 2, true)},'${placed}',${note})`;
  }

  #itemRow(orderId: number, line: number): string {
    const rng = this.#rng;
    return `(${orderId},${line},'SKU-${rng.int(0, 99999).toString(36).toUpperCase()}',${rng.int(-5, 1000)},${decimalText(rng, 8, 2, false)},${floatText(rng)},${doubleText(rng)},${rng.int(-128, 127)})`;
  }

  /** An order and k - 1 (at most 8) items, as two statements. */
  #insertOrder(k: number): number {
    const customerId = this.#customers.sample(this.#rng, 1)[0];
    if (customerId === undefined) return this.#insertCustomers(k);
    const id = this.#nextOrderId++;
    const state: OrderState = { customerId, lines: [], nextLine: 1 };
    this.#orders.add(id);
    this.#orderState.set(id, state);
    const n = this.#orderCount.get(customerId) ?? 0;
    this.#orderCount.set(customerId, n + 1);
    this.#childless.delete(customerId);
    let rows = this.#emit(`INSERT INTO orders (id,customer_id,status,flags,total,placed_at,note) VALUES ${this.#orderRow(id, customerId)}`, 'orders', 'inserts', 1);
    const items = Math.min(k - 1, 8);
    if (items > 0) rows += this.#addItems(id, state, items);
    return rows;
  }

  #addItems(orderId: number, state: OrderState, k: number): number {
    const values: string[] = [];
    for (let i = 0; i < k; i++) {
      const line = state.nextLine++;
      state.lines.push(line);
      values.push(this.#itemRow(orderId, line));
    }
    return this.#emit(`INSERT INTO order_items (order_id,line_no,sku,qty,unit_price,weight,ratio,discount) VALUES ${values.join(',')}`, 'order_items', 'inserts', k);
  }

  #insertItems(k: number): number {
    const orderId = this.#orders.sample(this.#rng, 1)[0];
    if (orderId === undefined) return 0;
    const state = this.#orderState.get(orderId) as OrderState;
    if (state.nextLine + k > 60) return 0;
    return this.#addItems(orderId, state, k);
  }

  #insertEvents(k: number): number {
    const rng = this.#rng;
    const values: string[] = [];
    for (let i = 0; i < k; i++) {
      const n = this.#nextEvent++;
      // Alternate ids counting down from 2^64 - 1 and up from 2^63: both halves of the unsigned range.
      const id = n % 2n === 0n ? TWO_64 - 1n - n / 2n : TWO_63 + n / 2n;
      this.#events.add(id);
      const bigSigned = rng.chance(0.5) ? -TWO_63 + BigInt(rng.int(0, 1e9)) : TWO_63 - 1n - BigInt(rng.int(0, 1e9));
      const payload = rng.chance(0.1) ? 'NULL' : sqlString(jsonText(rng, id));
      const message = rng.chance(0.1) ? 'NULL' : sqlString(textOf(rng, rng.int(1, 6)));
      const happened = rng.chance(0.1) ? 'NULL' : `'${dateTimeText(rng.int(1, TIMESTAMP_MAX - 1), rng.int(0, 999), 3)}'`;
      const ts = dateTimeText(rng.int(Y1990, TIMESTAMP_MAX - 1), rng.int(0, 999_999), 6);
      const yr = rng.chance(0.1) ? 'NULL' : String(rng.int(1901, 2155));
      const dur = rng.chance(0.1) ? 'NULL' : `'${timeText(rng)}'`;
      values.push(
        `(${id},'${rng.pick(KINDS)}',${bigSigned},${payload},${hexBlob(rng, 160)},${rng.int(0, 4095)},${message},${happened},'${ts}',${dur},${yr})`,
      );
    }
    return this.#emit(`INSERT INTO events (id,kind,big_signed,payload,blob_data,mask,message,happened_at,ts,dur,yr) VALUES ${values.join(',')}`, 'events', 'inserts', k);
  }

  // Every UPDATE bumps rev, so each matched row really changes and is logged as a row event.

  #updateCustomers(k: number): number {
    const ids = this.#customers.sample(this.#rng, k);
    if (ids.length === 0) return 0;
    const rng = this.#rng;
    const score = rng.chance(0.3) ? 'NULL' : decimalText(rng, 1, 4, false);
    const sql = `UPDATE customers SET rev = rev + 1, credit = ${decimalText(rng, 10, 4, true)}, score = ${score}, email = CONCAT('c', id, '.r', rev, '@example.com') WHERE id IN (${ids.join(',')})`;
    return this.#emit(sql, 'customers', 'updates', ids.length);
  }

  #updateOrders(k: number): number {
    const ids = this.#orders.sample(this.#rng, k);
    if (ids.length === 0) return 0;
    const rng = this.#rng;
    const note = rng.chance(0.3) ? 'NULL' : sqlString(textOf(rng, rng.int(1, 3)));
    const sql = `UPDATE orders SET rev = rev + 1, status = '${rng.pick(STATUSES)}', flags = '${setText(rng)}', total = ${decimalText(rng, 10, 2, true)}, note = ${note} WHERE id IN (${ids.join(',')})`;
    return this.#emit(sql, 'orders', 'updates', ids.length);
  }

  /** Up to k live lines of one order with items, or null. */
  #pickLines(k: number): { orderId: number; lines: number[] } | null {
    const rng = this.#rng;
    for (let attempt = 0; attempt < 6; attempt++) {
      const orderId = this.#orders.sample(rng, 1)[0];
      if (orderId === undefined) return null;
      const state = this.#orderState.get(orderId) as OrderState;
      if (state.lines.length === 0) continue;
      const lines = new Set<number>();
      const want = Math.min(k, state.lines.length);
      while (lines.size < want) lines.add(rng.pick(state.lines));
      return { orderId, lines: [...lines].sort((a, b) => a - b) };
    }
    return null;
  }

  /**
   * A WHERE clause for some lines of one order, in the three shapes applications write.
   * A one-element row IN, `(a,b) IN ((1,2))`, scans the whole key on MariaDB 10.11, so one line uses `=`.
   */
  #linesWhere(orderId: number, lines: number[]): string {
    if (lines.length === 1) return `order_id = ${orderId} AND line_no = ${lines[0]}`;
    if (this.#rng.chance(0.5)) return `order_id = ${orderId} AND line_no IN (${lines.join(',')})`;
    return `(order_id, line_no) IN (${lines.map((l) => `(${orderId},${l})`).join(',')})`;
  }

  #updateItems(k: number): number {
    const picked = this.#pickLines(k);
    if (picked === null) return 0;
    const rng = this.#rng;
    const sql = `UPDATE order_items SET rev = rev + 1, qty = ${rng.int(0, 1000)}, weight = ${floatText(rng)}, ratio = ${doubleText(rng)} WHERE ${this.#linesWhere(picked.orderId, picked.lines)}`;
    return this.#emit(sql, 'order_items', 'updates', picked.lines.length);
  }

  #updateEvents(k: number): number {
    const ids = this.#events.sample(this.#rng, k);
    if (ids.length === 0) return 0;
    const rng = this.#rng;
    const message = rng.chance(0.1) ? 'NULL' : sqlString(textOf(rng, rng.int(1, 4)));
    const payload = rng.chance(0.1) ? 'NULL' : sqlString(jsonText(rng, ids[0] as bigint));
    const sql = `UPDATE events SET rev = rev + 1, mask = ${rng.int(0, 4095)}, message = ${message}, payload = ${payload}, dur = '${timeText(rng)}' WHERE id IN (${ids.join(',')})`;
    return this.#emit(sql, 'events', 'updates', ids.length);
  }

  #deleteEvents(k: number): number {
    const ids = this.#events.sample(this.#rng, k);
    if (ids.length === 0) return 0;
    for (const id of ids) this.#events.delete(id);
    return this.#emit(`DELETE FROM events WHERE id IN (${ids.join(',')})`, 'events', 'deletes', ids.length);
  }

  #deleteItems(k: number): number {
    const picked = this.#pickLines(k);
    if (picked === null) return 0;
    const state = this.#orderState.get(picked.orderId) as OrderState;
    for (const l of picked.lines) state.lines.splice(state.lines.indexOf(l), 1);
    return this.#emit(`DELETE FROM order_items WHERE ${this.#linesWhere(picked.orderId, picked.lines)}`, 'order_items', 'deletes', picked.lines.length);
  }

  /** An order with its items (items first: no cascade), if it fits in k rows. */
  #deleteOrder(k: number): number {
    const orderId = this.#orders.sample(this.#rng, 1)[0];
    if (orderId === undefined) return 0;
    const state = this.#orderState.get(orderId) as OrderState;
    if (state.lines.length + 1 > k) return 0;
    let rows = 0;
    if (state.lines.length > 0) {
      rows += this.#emit(`DELETE FROM order_items WHERE order_id = ${orderId}`, 'order_items', 'deletes', state.lines.length);
    }
    rows += this.#emit(`DELETE FROM orders WHERE id = ${orderId}`, 'orders', 'deletes', 1);
    this.#orders.delete(orderId);
    this.#orderState.delete(orderId);
    const left = (this.#orderCount.get(state.customerId) ?? 1) - 1;
    this.#orderCount.set(state.customerId, left);
    if (left === 0) this.#childless.add(state.customerId);
    return rows;
  }

  #deleteCustomers(k: number): number {
    const ids = this.#childless.sample(this.#rng, k);
    if (ids.length === 0) return 0;
    for (const id of ids) {
      this.#childless.delete(id);
      this.#customers.delete(id);
      this.#orderCount.delete(id);
    }
    return this.#emit(`DELETE FROM customers WHERE id IN (${ids.join(',')})`, 'customers', 'deletes', ids.length);
  }
}

// ---- sending it ---------------------------------------------------------------------

/** Runs SQL (several statements) and resolves to the driver's result: one result header per statement. */
export type ExecuteSql = (sql: string) => Promise<unknown>;

export interface RunWorkloadOptions {
  readonly seed: number;
  /** Database to (re)create and use; default 'bench'. */
  readonly database?: string;
  /** Checked after every round trip with the counts committed so far; true stops the workload. */
  readonly until: (counts: WorkloadCounts) => boolean | Promise<boolean>;
  /** SQL text per round trip (default 1 MiB; keep under max_allowed_packet, 16 MiB by default). */
  readonly batchBytes?: number;
  /** Called after every round trip. */
  readonly onBatch?: (counts: WorkloadCounts) => void;
}

export const WorkloadErrorCode = {
  Mismatch: 'BENCH_WORKLOAD_MISMATCH',
} as const;

interface Batch {
  readonly sql: string;
  readonly affectedRows: number[];
  readonly insertIds: (number | null)[];
  readonly countsAfter: WorkloadCounts;
}

function nextBatch(gen: WorkloadGenerator, batchBytes: number): Batch {
  const parts: string[] = [];
  const affectedRows: number[] = [];
  const insertIds: (number | null)[] = [];
  let size = 0;
  while (size < batchBytes) {
    const tx = gen.nextTransaction();
    parts.push('BEGIN', ...tx.statements, 'COMMIT');
    affectedRows.push(0, ...tx.affectedRows, 0);
    insertIds.push(null, ...tx.insertIds, null);
    for (const s of tx.statements) size += s.length + 2;
  }
  return { sql: parts.join(';\n'), affectedRows, insertIds, countsAfter: gen.counts };
}

function header(result: unknown): { affectedRows: number; insertId: number } {
  const r = result as { affectedRows?: unknown; insertId?: unknown } | null;
  return { affectedRows: Number(r?.affectedRows ?? NaN), insertId: Number(r?.insertId ?? NaN) };
}

function verify(batch: Batch, result: unknown): void {
  const results = Array.isArray(result) ? result : [result];
  if (results.length !== batch.affectedRows.length) {
    throw new EngineError(WorkloadErrorCode.Mismatch, `workload batch: expected ${batch.affectedRows.length} statement results, got ${results.length}`);
  }
  for (let i = 0; i < results.length; i++) {
    const got = header(results[i]);
    const want = batch.affectedRows[i];
    const wantId = batch.insertIds[i];
    if (got.affectedRows !== want || (wantId != null && got.insertId !== wantId)) {
      throw new EngineError(
        WorkloadErrorCode.Mismatch,
        `workload statement ${i} changed ${got.affectedRows} rows (insert id ${got.insertId}), expected ${want}${wantId == null ? '' : ` (insert id ${wantId})`}: ${batch.sql.split(';\n')[i]?.slice(0, 300)}`,
      );
    }
  }
}

/** Creates the schema, then sends the seed's transactions in large batches until `until` says stop; returns what was committed. */
export async function runWorkload(execute: ExecuteSql, options: RunWorkloadOptions): Promise<WorkloadCounts> {
  const batchBytes = options.batchBytes ?? 1 << 20;
  await execute(workloadSchemaSql(options.database).join(';\n'));
  const gen = new WorkloadGenerator(options.seed);
  let committed = emptyCounts();
  // Generate the next batch while the server executes this one: the two overlap on 2 cores.
  let inFlight: Promise<void> | null = null;
  for (;;) {
    const batch = nextBatch(gen, batchBytes);
    if (inFlight !== null) {
      await inFlight;
      if (await options.until(committed)) break;
    }
    inFlight = execute(batch.sql).then((result) => {
      verify(batch, result);
      committed = batch.countsAfter;
      options.onBatch?.(committed);
    });
    // Keep a rejection from being reported as unhandled before it is awaited.
    inFlight.catch(() => undefined);
  }
  return committed;
}
