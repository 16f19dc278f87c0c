/**
 * A small hand-built incident for the end-to-end tests of plan, apply and their outputs: a shop
 * whose primary and DR share base rows, lost changes on the primary (one transaction each) and the
 * DR's own writes after the failover. What each lost change meets on the DR:
 *   1. customer 4 (alice) — the DR's own customer 4 (zed): insert-pk-taken → remapped
 *   2. an order of customer 4 — follows the remap
 *   3. a note on that order — the DR's own note 2 took its id: remapped
 *   4. customer 2's e-mail — the DR renamed customer 2: update-diverged → merged
 *   5. customer Zed@X — the DR's zed@x under utf8mb4_general_ci: insert-unique-taken → quarantined
 *   6. delete of order 2 — the DR's own note still points at it: the cascade guard quarantines it
 */
import type { MariadbServer } from './mariadb-server.js';

export const SMALL_INCIDENT = {
  schema: [
    'CREATE DATABASE shop',
    `CREATE TABLE shop.customers (id INT UNSIGNED NOT NULL AUTO_INCREMENT PRIMARY KEY, email VARCHAR(120) NOT NULL, name VARCHAR(80) NOT NULL,
       UNIQUE KEY uk_email (email)) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_general_ci`,
    `CREATE TABLE shop.orders (id INT UNSIGNED NOT NULL AUTO_INCREMENT PRIMARY KEY, customer_id INT UNSIGNED NOT NULL, total DECIMAL(10,2) NOT NULL,
       CONSTRAINT fk_customer FOREIGN KEY (customer_id) REFERENCES shop.customers (id)) ENGINE=InnoDB`,
    `CREATE TABLE shop.notes (id INT UNSIGNED NOT NULL AUTO_INCREMENT PRIMARY KEY, order_id INT UNSIGNED NOT NULL, body TEXT NOT NULL, KEY (order_id)) ENGINE=InnoDB`,
  ],
  base: [
    "INSERT INTO shop.customers (id, email, name) VALUES (1, 'ann@x', 'Ann'), (2, 'ben@x', 'Ben'), (3, 'cy@x', 'Cy')",
    'INSERT INTO shop.orders (id, customer_id, total) VALUES (1, 1, 10.00), (2, 2, 20.00)',
    "INSERT INTO shop.notes (id, order_id, body) VALUES (1, 1, 'first')",
  ],
  lost: [
    "INSERT INTO shop.customers (email, name) VALUES ('alice@x', 'Alice')",
    'INSERT INTO shop.orders (customer_id, total) VALUES (4, 44.00)',
    "INSERT INTO shop.notes (order_id, body) VALUES (3, 'for alice')",
    "UPDATE shop.customers SET email = 'ben@new' WHERE id = 2",
    "INSERT INTO shop.customers (email, name) VALUES ('Zed@X', 'Zed P')",
    'DELETE FROM shop.orders WHERE id = 2',
  ],
  drOwn: [
    "INSERT INTO shop.customers (email, name) VALUES ('zed@x', 'Zed D')",
    "UPDATE shop.customers SET name = 'Benjamin' WHERE id = 2",
    "INSERT INTO shop.notes (order_id, body) VALUES (2, 'dr note')",
  ],
  /** The logical foreign key shop.notes.order_id → shop.orders.id the schema does not declare. */
  references: { 'shop.notes': { references: { order_id: 'shop.orders.id' } } },
} as const;

/** The pair's side of a staged SMALL_INCIDENT: where the lost range starts, and the primary's closed binlog files. */
export interface StagedSmallIncident {
  readonly start: string;
  readonly files: string[];
}

/**
 * Stages SMALL_INCIDENT on a fresh primary and DR: schema and base rows on both, the lost changes
 * on the primary (its binlog then closed), the DR's own writes on the DR.
 */
export async function stageSmallIncident(primary: MariadbServer, dr: MariadbServer): Promise<StagedSmallIncident> {
  for (const sql of [...SMALL_INCIDENT.schema, ...SMALL_INCIDENT.base]) {
    await primary.query(sql);
    await dr.query(sql);
  }
  const start = String(((await primary.query('SELECT @@gtid_binlog_pos AS p')) as { p: string }[])[0]!.p);
  for (const sql of SMALL_INCIDENT.lost) await primary.query(sql);
  for (const sql of SMALL_INCIDENT.drOwn) await dr.query(sql);
  await primary.flushBinaryLogs();
  return { start, files: await primary.binlogFiles() };
}
