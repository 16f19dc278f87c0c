/**
 * A load generator for the staged failover's DR (src/demo/stage-failover.ts tables): a few
 * connections inserting, updating and deleting customers, orders and order notes, as the
 * application does while `salvage apply` runs, each keeping a log of what it committed.
 *
 * The log is exact because every row has one writer: a connection updates only rows it inserted
 * itself and rows that existed at the failover (ids up to `sharedMax`) whose id falls to it
 * (id mod connections); it deletes only the latter. Its statements run in order, so its log
 * holds, per row, the last value it committed to each column, or that it deleted the row. Values
 * are unique to the generator (`load c1 #17`, totals from 70000.00 up), so no value it writes
 * equals a lost change's before image by chance — which the engine would rightly read as "not
 * changed on the DR". Like the application it keeps the schema's rules, the logical foreign key
 * order_notes.order_id → orders.id included: a note's order is locked (shared) before the insert,
 * an order's notes are deleted with it.
 *
 * Lock-wait timeouts, deadlocks, foreign-key refusals and (rarely) an AUTO_INCREMENT id taken by a
 * remapped row the same instant are the traffic's normal lot: the statement is counted and nothing
 * is logged.
 */
import type { SqlSession } from '../../src/db/sql-session.js';
import { createRandom, type Random } from '../../src/demo/random.js';
import type { FailoverTable } from '../../src/demo/stage-failover.js';
import { EngineError } from '../../src/errors.js';

/**
 * What the generator last committed to a row: column values it wrote, or that it deleted the row —
 * `stays` when no one may bring that id back (a row that existed at the failover: lost inserts take
 * later ids); a later id may rightly be taken again by a lost insert once it is free.
 */
export type RowLog = { readonly kind: 'row'; readonly columns: Record<string, string> } | { readonly kind: 'deleted'; readonly stays: boolean };

/** Server errors the traffic meets and shrugs off (as an application retries later). */
const EXPECTED_ERRNOS = new Set([
  1205, // ER_LOCK_WAIT_TIMEOUT
  1213, // ER_LOCK_DEADLOCK
  1451, // ER_ROW_IS_REFERENCED_2: a parent with children
  1452, // ER_NO_REFERENCED_ROW_2: a child of a row gone
  // ER_DUP_ENTRY: only an insert's AUTO_INCREMENT id can collide (every unique value it writes is its
  // own), when the engine writes a remapped row with that id in the instant after the server handed
  // it out (docs/RELIABILITY.md, section 3).
  1062,
]);

export interface LoadOptions {
  /** Opens a session on the DR (one per connection). */
  readonly connect: () => Promise<SqlSession>;
  readonly connections: number;
  readonly seed: number;
  /** Per table, the largest id that existed at the failover. */
  readonly sharedMax: Readonly<Record<FailoverTable, number>>;
  /** Rows (`table:id`) the generator leaves alone: the test writes them itself. */
  readonly reserved?: ReadonlySet<string>;
}

export interface LoadResult {
  /** `table:id` → the generator's last committed write. */
  readonly log: ReadonlyMap<string, RowLog>;
  /** Transactions committed, and refused with an expected error (by errno); inserts tried. */
  readonly committed: number;
  readonly inserts: number;
  readonly refused: Readonly<Record<number, number>>;
  /** Times (performance.now()) of every commit, to show the traffic overlapped the apply. */
  readonly commitTimes: readonly number[];
}

export interface Load {
  /** Stops after the statements in flight and returns the log. */
  stop(): Promise<LoadResult>;
}

/** Starts the connections; they run until stop(). */
export async function startShopLoad(options: LoadOptions): Promise<Load> {
  const log = new Map<string, RowLog>();
  const refused: Record<number, number> = {};
  const commitTimes: number[] = [];
  let committed = 0;
  let inserts = 0;
  let stopping = false;
  const sessions = await Promise.all(Array.from({ length: options.connections }, () => options.connect()));
  const loops = sessions.map((session, c) =>
    runConnection(session, c, createRandom(options.seed + c), options, {
      stopping: () => stopping,
      commit: (writes) => {
        for (const [key, entry] of writes) {
          const was = log.get(key);
          log.set(key, entry.kind === 'deleted' || was === undefined || was.kind === 'deleted' ? entry : { kind: 'row', columns: { ...was.columns, ...entry.columns } });
        }
        committed++;
        commitTimes.push(performance.now());
      },
      refuse: (errno) => {
        refused[errno] = (refused[errno] ?? 0) + 1;
      },
      insert: () => inserts++,
    }),
  );
  return {
    async stop() {
      stopping = true;
      try {
        await Promise.all(loops);
      } finally {
        await Promise.all(sessions.map((s) => s.end()));
      }
      return { log, committed, inserts, refused, commitTimes };
    },
  };
}

interface Sink {
  stopping(): boolean;
  commit(writes: ReadonlyMap<string, RowLog>): void;
  refuse(errno: number): void;
  insert(): void;
}

async function runConnection(s: SqlSession, c: number, rnd: Random, o: LoadOptions, sink: Sink): Promise<void> {
  const n = o.connections;
  const mine: Record<FailoverTable, number[]> = { 'shop.customers': [], 'shop.orders': [], 'shop.order_notes': [] };
  let seq = 0;
  /** A shared row of `table` whose id falls to this connection, or null when there is none. */
  const sharedOwned = (table: FailoverTable): number | null => {
    const max = o.sharedMax[table];
    const slots = Math.floor((max - 1 - c) / n) + 1;
    if (max < 1 || slots <= 0) return null;
    const id = c + 1 + n * rnd.int(0, slots - 1);
    return id <= max && o.reserved?.has(`${table}:${id}`) !== true ? id : null;
  };
  /** A row this connection may update: one it inserted, or a shared one of its own. */
  const writable = (table: FailoverTable): number | null => (mine[table].length > 0 && rnd.int(0, 1) === 0 ? rnd.pick(mine[table]) : sharedOwned(table));
  const key = (table: FailoverTable, id: number): string => `${table}:${id}`;
  while (!sink.stopping()) {
    seq++;
    const tag = `load c${c} #${seq}`;
    const writes = new Map<string, RowLog>();
    const op = rnd.int(0, 99);
    try {
      await s.query('START TRANSACTION');
      if (op < 18) {
        sink.insert();
        const columns = { email: `load-c${c}-${seq}@load.test`, name: tag };
        const r = await s.query("INSERT INTO shop.customers (email, name, balance, updated_at) VALUES (?, ?, 0, '2026-11-28 00:00:00')", [columns.email, columns.name]);
        mine['shop.customers'].push(r.insertId);
        writes.set(key('shop.customers', r.insertId), { kind: 'row', columns });
      } else if (op < 40) {
        const id = writable('shop.customers');
        if (id !== null && (await s.query('UPDATE shop.customers SET name = ? WHERE id = ?', [tag, id])).affectedRows === 1) {
          writes.set(key('shop.customers', id), { kind: 'row', columns: { name: tag } });
        }
      } else if (op < 52) {
        const customer = rnd.pick([...mine['shop.customers'], sharedOwned('shop.customers') ?? 1]);
        const total = `${70000 + c * 10000 + seq}.00`;
        sink.insert();
        const r = await s.query("INSERT INTO shop.orders (customer_id, total, status, placed_at) VALUES (?, ?, 'new', '2026-11-28 00:00:00')", [customer, total]);
        mine['shop.orders'].push(r.insertId);
        writes.set(key('shop.orders', r.insertId), { kind: 'row', columns: { customer_id: String(customer), total } });
      } else if (op < 68) {
        const id = writable('shop.orders');
        const total = `${70000 + c * 10000 + seq}.00`;
        if (id !== null && (await s.query('UPDATE shop.orders SET total = ? WHERE id = ?', [total, id])).affectedRows === 1) {
          writes.set(key('shop.orders', id), { kind: 'row', columns: { total } });
        }
      } else if (op < 80) {
        // The logical foreign key, kept as the application keeps it: the order is held while its note goes in.
        const order = writable('shop.orders');
        if (order !== null && (await s.query('SELECT id FROM shop.orders WHERE id = ? LOCK IN SHARE MODE', [order])).rows.length === 1) {
          sink.insert();
          const r = await s.query('INSERT INTO shop.order_notes (order_id, body) VALUES (?, ?)', [order, tag]);
          mine['shop.order_notes'].push(r.insertId);
          writes.set(key('shop.order_notes', r.insertId), { kind: 'row', columns: { order_id: String(order), body: tag } });
        }
      } else if (op < 88) {
        const id = writable('shop.order_notes');
        if (id !== null && (await s.query('UPDATE shop.order_notes SET body = ? WHERE id = ?', [tag, id])).affectedRows === 1) {
          writes.set(key('shop.order_notes', id), { kind: 'row', columns: { body: tag } });
        }
      } else if (op < 96) {
        // A shared order with its notes (all of them, whoever wrote them: no orphans).
        const order = sharedOwned('shop.orders');
        if (order !== null && (await s.query('SELECT id FROM shop.orders WHERE id = ? FOR UPDATE', [order])).rows.length === 1) {
          const notes = (await s.query('SELECT id FROM shop.order_notes WHERE order_id = ? FOR UPDATE', [order])).rows.map((r) => Number(r['id']));
          await s.query('DELETE FROM shop.order_notes WHERE order_id = ?', [order]);
          await s.query('DELETE FROM shop.orders WHERE id = ?', [order]);
          writes.set(key('shop.orders', order), { kind: 'deleted', stays: true });
          for (const note of notes) writes.set(key('shop.order_notes', note), { kind: 'deleted', stays: note <= o.sharedMax['shop.order_notes'] });
        }
      } else {
        const id = sharedOwned('shop.customers');
        if (id !== null && (await s.query('DELETE FROM shop.customers WHERE id = ?', [id])).affectedRows === 1) writes.set(key('shop.customers', id), { kind: 'deleted', stays: true });
      }
      await s.query('COMMIT');
      sink.commit(writes);
    } catch (e) {
      await s.query('ROLLBACK').catch(() => undefined);
      const errno = e instanceof EngineError ? e.details.errno : undefined;
      if (errno === undefined || !EXPECTED_ERRNOS.has(errno)) throw e;
      sink.refuse(errno);
    }
  }
}
