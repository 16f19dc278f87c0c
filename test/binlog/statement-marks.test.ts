/**
 * Which statement made each row change (transaction.ts statementMarkOf) and its text read back
 * from the file (source/statement-texts.ts) when the decoder skipped the texts, as plan and apply
 * read: a statement split over several rows events, a statement logged without its annotation
 * after one logged with it, a ROLLBACK TO SAVEPOINT undoing an annotated statement, and a file
 * whose bytes at the mark are no longer the annotation.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ColumnType } from '../../src/binlog/column-types.js';
import { crc32Range } from '../../src/binlog/crc32.js';
import { statementMarkOf, type Transaction } from '../../src/binlog/transaction.js';
import { resolveBinlogFiles } from '../../src/source/binlog-files.js';
import { readTransactions } from '../../src/source/read-transactions.js';
import { readStatementTexts } from '../../src/source/statement-texts.js';
import { BinlogWriter } from '../harness/binlog-writer.js';

const int32 = (v: number): Buffer => {
  const b = Buffer.alloc(4);
  b.writeInt32LE(v);
  return b;
};
const columns = [{ type: ColumnType.LONG, name: 'id' }];

const FIRST = "INSERT INTO shop.t VALUES (1),(2),(3) /* 'Zoë' */";
const SECOND = 'INSERT INTO shop.t VALUES (4)';
const UNDONE = 'INSERT INTO shop.t VALUES (9)';

let dir: string;
let file: string;
let bytes: Buffer;

/** One MariaDB transaction: FIRST over two rows events, SECOND, a statement without annotation, then UNDONE rolled back to a savepoint. */
function build(): Buffer {
  const w = new BinlogWriter({ flavor: 'mariadb', serverId: 1, startTimestamp: 1_700_000_000 });
  w.formatDescription().gtidList([]).binlogCheckpoint('t-bin.000001');
  const map = (): BinlogWriter => w.tableMap({ tableId: 7, db: 'shop', table: 't', metadata: 'full', primaryKey: [0], columns });
  const write = (ids: number[], flags: number): BinlogWriter => w.rows({ kind: 'write', version: 1, tableId: 7, flags, rows: ids.map((id) => ({ after: [int32(id)] })) });
  w.mariadbGtid({ domainId: 0, seqNo: 1 });
  w.annotateRows(FIRST);
  map();
  write([1, 2], 0);
  write([3], 1);
  w.annotateRows(SECOND);
  map();
  write([4], 1);
  // A statement the session logged without its annotation: its change is no statement's.
  map();
  write([5], 1);
  w.query({ sql: 'SAVEPOINT a', db: 'shop' });
  w.annotateRows(UNDONE);
  map();
  write([9], 1);
  w.query({ sql: 'ROLLBACK TO a', db: 'shop' });
  w.xid(1);
  return w.toBuffer();
}

async function read(): Promise<Transaction> {
  const txs: Transaction[] = [];
  for await (const b of readTransactions(await resolveBinlogFiles([file]), { annotations: false })) for (const i of b.items) if (i.kind === 'transaction') txs.push(i.tx);
  expect(txs).toHaveLength(1);
  return txs[0]!;
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'salvage-marks-'));
  file = join(dir, 't-bin.000001');
  bytes = build();
  await writeFile(file, bytes);
});

afterAll(async () => {
  if (dir) await rm(dir, { recursive: true, force: true });
});

describe('the statement of each row change', () => {
  it('is marked without the text on the hot path, and read back from the file for the changes asked', async () => {
    const tx = await read();
    expect(tx.annotations).toEqual([]);
    expect(tx.changes.map((c) => c.after?.[0])).toEqual([1, 2, 3, 4, 5]);
    expect(tx.statementMarks.map((m) => [m.firstChange, m.endChange, m.sql, m.textLength])).toEqual([
      [0, 3, null, Buffer.byteLength(FIRST)],
      [3, 4, null, Buffer.byteLength(SECOND)],
    ]);
    expect([0, 1, 2, 3, 4].map((i) => statementMarkOf(tx, i)?.firstChange ?? null)).toEqual([0, 0, 0, 3, null]);
    const texts = await readStatementTexts([0, 1, 2, 3, 4].map((index) => ({ tx, index })), { readFiles: true });
    expect(texts).toEqual([FIRST, FIRST, FIRST, SECOND, null]);
    // A live source's file names the server's: nothing is read.
    expect(await readStatementTexts([{ tx, index: 0 }], { readFiles: false })).toEqual([null]);
  });

  it('decoded with the texts, gives them without reading the file', async () => {
    const txs: Transaction[] = [];
    for await (const b of readTransactions(await resolveBinlogFiles([file]))) for (const i of b.items) if (i.kind === 'transaction') txs.push(i.tx);
    const tx = txs[0]!;
    expect(tx.statementMarks.map((m) => m.sql)).toEqual([FIRST, SECOND]);
    await rm(file);
    try {
      expect(await readStatementTexts([0, 3, 4].map((index) => ({ tx, index })), { readFiles: true })).toEqual([FIRST, SECOND, null]);
    } finally {
      await writeFile(file, bytes);
    }
  });

  it('of a MySQL binlog (ROWS_QUERY, always decoded) is the text the decoder kept, no file read', async () => {
    const w = new BinlogWriter({ flavor: 'mysql', serverVersion: '8.0.40', startTimestamp: 5 });
    w.formatDescription().previousGtids([]).mysqlGtid({ uuid: '3e11fa47-71ca-11e1-9e33-c80aa9429562', gno: 1 });
    w.query({ sql: 'BEGIN', db: 'shop' }).rowsQuery(SECOND);
    w.tableMap({ tableId: 7, db: 'shop', table: 't', metadata: 'full', primaryKey: [0], columns });
    w.rows({ kind: 'write', version: 2, tableId: 7, rows: [{ after: [int32(4)] }] });
    w.xid(1);
    const mysql = join(dir, 'binlog.000001');
    await writeFile(mysql, w.toBuffer());
    const txs: Transaction[] = [];
    for await (const b of readTransactions(await resolveBinlogFiles([mysql]), { annotations: false })) for (const i of b.items) if (i.kind === 'transaction') txs.push(i.tx);
    const tx = txs[0]!;
    expect(tx.statementMarks.map((m) => [m.firstChange, m.endChange, m.sql, m.textAt])).toEqual([[0, 1, SECOND, -1]]);
    await rm(mysql);
    expect(await readStatementTexts([{ tx, index: 0 }], { readFiles: true })).toEqual([SECOND]);
  });

  it('is null, not another event read as text, when the file no longer holds the annotation there', async () => {
    const tx = await read();
    const mark = tx.statementMarks[1]!;
    // The ANNOTATE_ROWS header's type code overwritten, as a file replaced since it was read.
    const changed = Buffer.from(bytes);
    changed[mark.textAt - 19 + 4] = 0x13;
    await writeFile(file, changed);
    try {
      expect(await readStatementTexts([0, 3].map((index) => ({ tx, index })), { readFiles: true })).toEqual([FIRST, null]);
      await rm(file);
      expect(await readStatementTexts([{ tx, index: 0 }], { readFiles: true })).toEqual([null]);
    } finally {
      await writeFile(file, bytes);
    }
  });

  it('is null, not the other statement, when the file now holds another valid ANNOTATE_ROWS event of the same size there', async () => {
    const tx = await read();
    const mark = tx.statementMarks[1]!;
    expect(mark.eventTimestamp).toBe(1_700_000_000);
    expect(mark.eventChecksum).toBe(bytes.readUInt32LE(mark.textAt + mark.textLength));
    const start = mark.textAt - 19;
    const end = mark.textAt + mark.textLength + 4;
    // Another statement of the same length, its event whole and its CRC valid: a file replaced since it was read.
    const other = Buffer.from(bytes);
    other.write('INSERT INTO shop.t VALUES (7)', mark.textAt, 'utf8');
    other.writeUInt32LE(crc32Range(other, start, end - 4), end - 4);
    await writeFile(file, other);
    try {
      expect(await readStatementTexts([0, 3].map((index) => ({ tx, index })), { readFiles: true })).toEqual([FIRST, null]);
      // The same statement at a later second: another event too.
      const later = Buffer.from(bytes);
      later.writeUInt32LE(1_700_000_001, start);
      later.writeUInt32LE(crc32Range(later, start, end - 4), end - 4);
      await writeFile(file, later);
      expect(await readStatementTexts([{ tx, index: 3 }], { readFiles: true })).toEqual([null]);
    } finally {
      await writeFile(file, bytes);
    }
    expect(await readStatementTexts([{ tx, index: 3 }], { readFiles: true })).toEqual([SECOND]);
  });

  it('in a file without checksums, is checked by the event size and timestamp', async () => {
    const w = new BinlogWriter({ flavor: 'mariadb', serverId: 1, startTimestamp: 1_700_000_000, checksum: false });
    w.formatDescription().gtidList([]).binlogCheckpoint('n-bin.000001');
    w.mariadbGtid({ domainId: 0, seqNo: 1 });
    w.annotateRows(SECOND);
    w.tableMap({ tableId: 7, db: 'shop', table: 't', metadata: 'full', primaryKey: [0], columns });
    w.rows({ kind: 'write', version: 1, tableId: 7, flags: 1, rows: [{ after: [int32(4)] }] });
    w.xid(1);
    const plain = w.toBuffer();
    const path = join(dir, 'n-bin.000001');
    await writeFile(path, plain);
    const txs: Transaction[] = [];
    for await (const b of readTransactions(await resolveBinlogFiles([path]), { annotations: false })) for (const i of b.items) if (i.kind === 'transaction') txs.push(i.tx);
    const tx = txs[0]!;
    expect(tx.statementMarks.map((m) => [m.eventTimestamp, m.eventChecksum])).toEqual([[1_700_000_000, -1]]);
    expect(await readStatementTexts([{ tx, index: 0 }], { readFiles: true })).toEqual([SECOND]);
    const later = Buffer.from(plain);
    later.writeUInt32LE(1_700_000_001, tx.statementMarks[0]!.textAt - 19);
    await writeFile(path, later);
    expect(await readStatementTexts([{ tx, index: 0 }], { readFiles: true })).toEqual([null]);
  });
});
