/**
 * Savepoints inside a logged transaction, built as MariaDB 10.11 writes them: every SAVEPOINT is
 * logged as "SAVEPOINT `x`", and a ROLLBACK TO is logged as "ROLLBACK TO `x`" (with the rows it
 * undid still in the group) when a non-transactional table was changed after the savepoint. They
 * are transaction control: the group commits, minus the changes a ROLLBACK TO undid.
 */
import { describe, expect, it } from 'vitest';
import { BinlogDecoder } from '../../src/binlog/decoder.js';
import { ColumnType } from '../../src/binlog/column-types.js';
import { savepointControl } from '../../src/binlog/savepoint.js';
import { gtidText, TransactionAssembler, type TransactionItem } from '../../src/binlog/transaction.js';
import { BinlogWriter } from '../harness/binlog-writer.js';

const FILE = 'mysql-bin.000001';

function int32(v: number): Buffer {
  const b = Buffer.alloc(4);
  b.writeInt32LE(v);
  return b;
}

/** One committed MariaDB transaction (GTID 0-1-5) of `steps`: a number inserts that id into db.t, a string is a query event. */
function transaction(steps: ReadonlyArray<number | string>): Buffer {
  const w = new BinlogWriter({ flavor: 'mariadb', serverId: 1 });
  w.formatDescription();
  w.mariadbGtid({ domainId: 0, seqNo: 5 });
  for (const s of steps) {
    if (typeof s === 'string') {
      w.query({ sql: s, db: 'db' });
      continue;
    }
    w.annotateRows(`INSERT INTO t VALUES (${s})`);
    w.tableMap({ tableId: 18, db: 'db', table: 't', metadata: 'full', columns: [{ type: ColumnType.LONG, name: 'id' }], primaryKey: [0] });
    w.rows({ kind: 'write', version: 1, tableId: 18, rows: [{ after: [int32(s)] }] });
  }
  w.xid(24);
  return w.toBuffer();
}

function items(bytes: Buffer): TransactionItem[] {
  const decoder = new BinlogDecoder({ file: FILE });
  const assembler = new TransactionAssembler(FILE);
  const out = assembler.push(decoder.push(bytes));
  decoder.end();
  return assembler.end(out);
}

/** `committed GTID [ids] {statements}` or `REASON` per item. */
function summary(list: readonly TransactionItem[]): string[] {
  return list.map((i) => {
    if (i.kind === 'incomplete') return `${i.tx.reason} ${i.tx.gtid === null ? '-' : gtidText(i.tx.gtid)}`;
    const t = i.tx;
    return `${t.commit} ${t.gtid === null ? '-' : gtidText(t.gtid)} [${t.changes.map((c) => String(c.after?.[0])).join(',')}] {${t.statements.map((s) => s.sql).join(' | ')}} (${t.annotations.length} annotations)`;
  });
}

describe('transaction grouping: savepoints', () => {
  it('R2: a committed transaction with ROLLBACK TO `a` commits whole, without the rows made after the savepoint', () => {
    // BEGIN; INSERT 40; SAVEPOINT a; INSERT myisam 41 (logged apart); INSERT 42; ROLLBACK TO SAVEPOINT a; INSERT 43; COMMIT
    const got = items(transaction([40, 'SAVEPOINT `a`', 42, 'ROLLBACK TO `a`', 43]));
    expect(summary(got)).toEqual(['xid 0-1-5 [40,43] {} (2 annotations)']);
  });

  it('R3: SAVEPOINT and RELEASE SAVEPOINT are not statements: the row-based transaction carries none', () => {
    const got = items(transaction([20, 'SAVEPOINT `s1`', 21, 'RELEASE SAVEPOINT `s1`']));
    expect(summary(got)).toEqual(['xid 0-1-5 [20,21] {} (2 annotations)']);
  });

  it('nested savepoints: ROLLBACK TO an outer one drops the inner one too; the outer one stays for a second rollback', () => {
    const got = items(transaction([1, 'SAVEPOINT `a`', 2, 'SAVEPOINT b', 3, 'ROLLBACK TO `a`', 4, 'ROLLBACK TO SAVEPOINT `A`', 5, 'ROLLBACK WORK TO b']));
    // ROLLBACK TO b names a savepoint the first rollback removed: kept as a statement, so the
    // transaction is quarantined whole (its SQL in order, savepoints included) rather than guessed at.
    expect(summary(got)).toEqual(['xid 0-1-5 [1,5] {SAVEPOINT `a` | SAVEPOINT b | ROLLBACK TO `a` | ROLLBACK TO SAVEPOINT `A` | ROLLBACK WORK TO b} (2 annotations)']);
  });

  it('a reused name moves the savepoint; RELEASE forgets it, so a later ROLLBACK TO it is kept as a statement', () => {
    const got = items(transaction([1, 'SAVEPOINT `a`', 2, 'SAVEPOINT `a`', 3, 'ROLLBACK TO `a`', 'RELEASE SAVEPOINT a', 'ROLLBACK TO `a`']));
    expect(summary(got)).toEqual(['xid 0-1-5 [1,2] {SAVEPOINT `a` | SAVEPOINT `a` | ROLLBACK TO `a` | RELEASE SAVEPOINT a | ROLLBACK TO `a`} (2 annotations)']);
  });

  it('beside statement-based DML the savepoint statements stay, in order, so its SQL run by hand does what the server did; rows after the savepoint are dropped', () => {
    const got = items(transaction(['UPDATE t SET n = 1', 'SAVEPOINT `a`', 'UPDATE t SET n = 2', 7, 'ROLLBACK TO `a`']));
    expect(summary(got)).toEqual(['xid 0-1-5 [] {UPDATE t SET n = 1 | SAVEPOINT `a` | UPDATE t SET n = 2 | ROLLBACK TO `a`} (0 annotations)']);
  });

  it('a plain ROLLBACK still abandons the group', () => {
    const w = new BinlogWriter({ flavor: 'mariadb', serverId: 1 });
    w.formatDescription();
    w.mariadbGtid({ domainId: 0, seqNo: 5 });
    w.query({ sql: 'SAVEPOINT `a`', db: 'db' });
    w.query({ sql: 'ROLLBACK', db: 'db' });
    expect(summary(items(w.toBuffer()))).toEqual(['rolled-back 0-1-5']);
  });

  it('savepointControl reads the forms the grammar allows, quoted names unquoted and lower-cased', () => {
    expect(savepointControl('SAVEPOINT `My``Point`')).toEqual({ kind: 'savepoint', name: 'my`point' });
    expect(savepointControl('rollback work to savepoint sp1;')).toEqual({ kind: 'rollback-to', name: 'sp1' });
    expect(savepointControl('ROLLBACK TO `a b`')).toEqual({ kind: 'rollback-to', name: 'a b' });
    expect(savepointControl('RELEASE SAVEPOINT `x`')).toEqual({ kind: 'release', name: 'x' });
    expect(savepointControl('ROLLBACK')).toBeNull();
    expect(savepointControl('INSERT INTO savepoint VALUES (1)')).toBeNull();
    expect(savepointControl('SAVEPOINT a; DELETE FROM t')).toBeNull();
  });
});
