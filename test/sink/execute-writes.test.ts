/**
 * A window's writes reduced to their net effect per row, or kept in source order when unique
 * values move between rows: the DR must end exactly as the writes one by one in source order leave
 * it, with fewer statements.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RowImage } from '../../src/binlog/column.js';
import { introspectSchemas } from '../../src/db/introspect.js';
import { openSession, transaction, type SqlSession } from '../../src/db/sql-session.js';
import type { TableSchema } from '../../src/model/table-schema.js';
import type { WriteOp } from '../../src/model/decision.js';
import { executeWrites } from '../../src/sink/execute-writes.js';
import { startMariadb, type MariadbServer } from '../harness/mariadb-server.js';

let server: MariadbServer;
let session: SqlSession;
let table: TableSchema;

beforeAll(async () => {
  server = await startMariadb({ name: 'execute-writes' });
  await server.query('CREATE DATABASE w');
  await server.query('CREATE TABLE w.t (id INT NOT NULL PRIMARY KEY, email VARCHAR(20) NOT NULL, n INT NOT NULL, UNIQUE KEY uk (email)) ENGINE=InnoDB');
  session = await openSession(server.target);
  table = (await introspectSchemas(session, ['w'])).get('w', 't')!;
}, 60_000);

afterAll(async () => {
  await session?.end();
  await server?.stop();
});

const ins = (id: number, email: string, n: number): WriteOp => ({ kind: 'insert', table, row: [id, email, n] as RowImage });
const upd = (id: number, set: Record<string, string | number>): WriteOp => ({ kind: 'update', table, key: [id], set });
const del = (id: number): WriteOp => ({ kind: 'delete', table, key: [id] });

async function reset(): Promise<void> {
  await server.query('DELETE FROM w.t');
  await server.query("INSERT INTO w.t VALUES (1, 'a', 1), (2, 'b', 2), (3, 'c', 3)");
}

async function rows(): Promise<unknown[]> {
  return (await server.query('SELECT id, email, n FROM w.t ORDER BY id')) as unknown[];
}

describe('executeWrites', () => {
  it('reduces a window to its net effect: deletes, then one multi-row UPDATE, then one multi-row INSERT', async () => {
    await reset();
    const writes = [
      ins(10, 'x', 0),
      upd(1, { n: 11 }),
      upd(10, { n: 5 }), // folded into the insert of 10
      ins(11, 'y', 0),
      del(11), // inserted and deleted: nothing
      upd(2, { n: 22 }),
      upd(1, { n: 12 }), // two updates of 1: one
      del(3),
      ins(3, 'c', 33), // deleted and inserted again: both, delete first
      ins(12, 'z', 7),
    ];
    const counts = await transaction(session, (s) => executeWrites(s, writes));
    expect(await rows()).toEqual([
      { id: 1, email: 'a', n: 12 },
      { id: 2, email: 'b', n: 22 },
      { id: 3, email: 'c', n: 33 },
      { id: 10, email: 'x', n: 5 },
      { id: 12, email: 'z', n: 7 },
    ]);
    expect(counts).toEqual({ inserted: 3, updated: 2, deleted: 1, statements: 3 });
  });

  it('keeps source order when unique values pass between rows (a batch would collide half-way)', async () => {
    await reset();
    // b → q frees b; a takes b; then q → a: in one statement in key order, 1 would take b while 2 still held it.
    const writes = [upd(2, { email: 'q' }), upd(1, { email: 'b' }), upd(2, { email: 'a' }), ins(4, 'q', 4)];
    const counts = await transaction(session, (s) => executeWrites(s, writes));
    expect(await rows()).toEqual([
      { id: 1, email: 'b', n: 1 },
      { id: 2, email: 'a', n: 2 },
      { id: 3, email: 'c', n: 3 },
      { id: 4, email: 'q', n: 4 },
    ]);
    expect(counts).toEqual({ inserted: 1, updated: 3, deleted: 0, statements: 4 });
  });

  it("keeps source order when a unique value passes between rows only under the collation ('é' takes 'e' under utf8mb4_general_ci)", async () => {
    // The case-and-spaces fold took 'é' and 'e' for different values: one statement, and the DR's duplicate-key error.
    expect(table.columns[1]!.collation).toBe('utf8mb4_general_ci');
    await server.query('DELETE FROM w.t');
    await server.query("INSERT INTO w.t VALUES (1, 'a', 1), (2, 'e', 2), (3, 'c', 3)");
    // 2 gives up 'e', then 1 takes 'é': in one statement in key order, 1 would take it while 2 still held 'e'.
    const writes: WriteOp[] = [
      { kind: 'update', table, key: [2], set: { email: 'q' }, old: [2, 'e', 2] as RowImage },
      { kind: 'update', table, key: [1], set: { email: 'é' }, old: [1, 'a', 1] as RowImage },
    ];
    const counts = await transaction(session, (s) => executeWrites(s, writes));
    expect(await rows()).toEqual([
      { id: 1, email: 'é', n: 1 },
      { id: 2, email: 'q', n: 2 },
      { id: 3, email: 'c', n: 3 },
    ]);
    expect(counts).toEqual({ inserted: 0, updated: 2, deleted: 0, statements: 2 });
  });

  it('batches updates of a composite key, and of unique columns whose values stay with their rows', async () => {
    await server.query('CREATE TABLE IF NOT EXISTS w.c (a INT NOT NULL, b INT NOT NULL, v VARCHAR(10) NOT NULL, PRIMARY KEY (a, b)) ENGINE=InnoDB');
    await server.query('DELETE FROM w.c');
    await server.query("INSERT INTO w.c VALUES (1, 1, 'p'), (1, 2, 'q'), (2, 1, 'r')");
    const c = (await introspectSchemas(session, ['w'])).get('w', 'c')!;
    const u = (a: number, b: number, v: string, old: string): WriteOp => ({ kind: 'update', table: c, key: [a, b], set: { v }, old: [a, b, old] as RowImage });
    await reset();
    const counts = await transaction(session, (s) =>
      executeWrites(s, [
        u(1, 1, 'P', 'p'),
        u(2, 1, 'R', 'r'),
        { kind: 'update', table, key: [1], set: { email: 'a2' }, old: [1, 'a', 1] as RowImage },
        { kind: 'update', table, key: [2], set: { email: 'b2' }, old: [2, 'b', 2] as RowImage },
      ]),
    );
    expect(await server.query('SELECT a, b, v FROM w.c ORDER BY a, b')).toEqual([
      { a: 1, b: 1, v: 'P' },
      { a: 1, b: 2, v: 'q' },
      { a: 2, b: 1, v: 'R' },
    ]);
    expect((await rows()).slice(0, 2)).toEqual([
      { id: 1, email: 'a2', n: 1 },
      { id: 2, email: 'b2', n: 2 },
    ]);
    expect(counts).toEqual({ inserted: 0, updated: 4, deleted: 0, statements: 2 });
  });

  it('a delete that frees a unique value runs before the insert that takes it', async () => {
    await reset();
    const counts = await transaction(session, (s) => executeWrites(s, [ins(5, 'e', 5), del(1), ins(6, 'a', 6)]));
    expect(await rows()).toEqual([
      { id: 2, email: 'b', n: 2 },
      { id: 3, email: 'c', n: 3 },
      { id: 5, email: 'e', n: 5 },
      { id: 6, email: 'a', n: 6 },
    ]);
    expect(counts.statements).toBe(2);
  });

  it('updates 120 rows in three CASE statements of at most 50 rows (the DR walks a CASE list per row), each row exactly', async () => {
    await reset();
    const ids = Array.from({ length: 120 }, (_, i) => 100 + i);
    await transaction(session, (s) => executeWrites(s, ids.map((id) => ins(id, `e${id}`, 0))));
    const counts = await transaction(session, (s) =>
      executeWrites(
        s,
        ids.map((id): WriteOp => ({ kind: 'update', table, key: [id], set: id % 2 === 0 ? { n: id * 2 } : { n: id * 3, email: `f${id}` }, old: [id, `e${id}`, 0] as RowImage })),
      ),
    );
    expect(counts).toEqual({ inserted: 0, updated: 120, deleted: 0, statements: 3 });
    const after = (await server.query('SELECT id, email, n FROM w.t WHERE id >= 100 ORDER BY id')) as unknown[];
    expect(after).toEqual(ids.map((id) => (id % 2 === 0 ? { id, email: `e${id}`, n: id * 2 } : { id, email: `f${id}`, n: id * 3 })));
  });
});
