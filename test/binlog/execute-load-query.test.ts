/**
 * LOAD DATA logged as a statement (binlog_format=STATEMENT): BEGIN_LOAD_QUERY carries the file's
 * bytes, EXECUTE_LOAD_QUERY the statement, with QUERY's layout and 13 more post-header bytes. The
 * statement is decoded as a query event so that its transaction carries it (and is quarantined with
 * its SQL), never an empty transaction. mariadb-binlog reads the writer's bytes too, so the layout
 * is checked against the server's own reader as well as ours.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { BinlogDecoder } from '../../src/binlog/decoder.js';
import type { BinlogEvent } from '../../src/binlog/event.js';
import { gtidText, TransactionAssembler, type TransactionItem } from '../../src/binlog/transaction.js';
import { BinlogWriter } from '../harness/binlog-writer.js';
import { mariadbBinlogPath } from '../harness/mariadb-binaries.js';

const FILE = 'mysql-bin.000001';
// As MariaDB 10.11 logs `LOAD DATA LOCAL INFILE '…' INTO TABLE shop.t (id, v)` (LOCAL implies IGNORE).
const SQL =
  "LOAD DATA LOCAL INFILE '/tmp/load.tsv' IGNORE INTO TABLE `shop`.`t` FIELDS TERMINATED BY '\\t' ENCLOSED BY '' ESCAPED BY '\\\\' LINES TERMINATED BY '\\n' (`id`, `v`)";

const dir = mkdtempSync(join(tmpdir(), 'execute-load-query-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function loadTransaction(): Buffer {
  const w = new BinlogWriter({ flavor: 'mariadb', serverId: 1 });
  w.formatDescription();
  w.mariadbGtid({ domainId: 0, seqNo: 4 });
  w.beginLoadQuery(1, Buffer.from('100\tloaded-a\n101\tloaded-b\n'));
  w.executeLoadQuery({ sql: SQL, db: 'shop', fileId: 1, duplicateHandling: 1 });
  w.xid(23);
  return w.toBuffer();
}

function decode(bytes: Buffer): { events: BinlogEvent[]; items: TransactionItem[] } {
  const decoder = new BinlogDecoder({ file: FILE });
  const assembler = new TransactionAssembler(FILE);
  const events = decoder.push(bytes);
  decoder.end();
  const items = assembler.push(events);
  assembler.end(items);
  return { events, items };
}

describe('EXECUTE_LOAD_QUERY', () => {
  it('decodes as a query event with the statement, its schema and the file facts', () => {
    const { events } = decode(loadTransaction());
    expect(events.map((e) => e.kind)).toEqual(['format-description', 'mariadb-gtid', 'ignored', 'query', 'xid']);
    const q = events[3]!;
    if (q.kind !== 'query') throw new Error('not a query event');
    expect({ sql: q.sql, schema: q.schema, load: q.load, type: q.header.typeCode, threadId: q.threadId }).toEqual({
      sql: SQL,
      schema: 'shop',
      load: { fileId: 1, fnPosStart: 9, fnPosEnd: 50, duplicateHandling: 1 },
      type: 18,
      threadId: 1,
    });
    expect(SQL.slice(9, 50)).toBe(" LOCAL INFILE '/tmp/load.tsv' IGNORE INTO");
  });

  it('its transaction carries the statement (it was committed empty, its rows lost without a word)', () => {
    const { items } = decode(loadTransaction());
    expect(items.map((i) => (i.kind === 'transaction' ? [i.tx.gtid === null ? null : gtidText(i.tx.gtid), i.tx.commit, i.tx.changes.length, i.tx.statements.map((s) => [s.schema, s.sql])] : i.tx.reason))).toEqual([
      ['0-1-4', 'xid', 0, [['shop', SQL]]],
    ]);
  });

  it('a plain QUERY event has no file facts', () => {
    const w = new BinlogWriter({ flavor: 'mariadb', serverId: 1 });
    w.formatDescription();
    w.query({ sql: 'CREATE TABLE t (a INT)', db: 'shop' });
    const q = decode(w.toBuffer()).events[1]!;
    expect(q.kind === 'query' && q.load).toBeNull();
  });

  it('mariadb-binlog reads the writer\'s event as the same LOAD DATA of file 1', () => {
    const path = join(dir, FILE);
    writeFileSync(path, loadTransaction());
    const text = execFileSync(mariadbBinlogPath(), ['--verify-binlog-checksum', path], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
    expect(text).toContain('Execute_load_query');
    expect(text).toContain('# file_id: 1');
    // It rewrites the span between the offsets to name its local copy (and, as for the server's own
    // event, prints no IGNORE for LOCAL); the rest of the statement is ours, read past the longer post-header.
    expect(text).toMatch(/\nLOAD DATA LOCAL INFILE '[^']*SQL_LOAD_MB-1-[0-9a-z]+' INTO TABLE `shop`\.`t` FIELDS TERMINATED BY .* \(`id`, `v`\)\n/);
  });
});
