/**
 * `--schema-from` (and the DR's own schema) label a binlog without column metadata by position: a
 * schema whose columns were reordered or retyped since the binlog was written must not lend its
 * names and signedness to the wrong columns.
 */
import { describe, expect, it } from 'vitest';
import { BinlogDecoder } from '../../src/binlog/decoder.js';
import { ColumnType } from '../../src/binlog/column-types.js';
import type { BinlogEvent } from '../../src/binlog/event.js';
import type { ColumnHint, SchemaHints } from '../../src/binlog/events/table-map.js';
import { TransactionAssembler, type Transaction } from '../../src/binlog/transaction.js';
import { MetadataNotes } from '../../src/pipeline/inspect.js';
import { BinlogWriter } from '../harness/binlog-writer.js';
import { encodeColumnValue, testColumn } from '../harness/value-encoder.js';

/** m.u (a INT UNSIGNED, b VARCHAR(10)) as MariaDB logs it with binlog_row_metadata=NO_LOG: one insert. */
function binlog(): Buffer {
  const w = new BinlogWriter({ flavor: 'mariadb', serverVersion: '10.11.6-MariaDB-log', startTimestamp: 1_700_000_000 });
  w.formatDescription();
  w.mariadbGtid({ domainId: 0, seqNo: 1 });
  w.tableMap({ tableId: 1, db: 'm', table: 'u', metadata: 'none', columns: [{ type: ColumnType.LONG }, { type: ColumnType.VARCHAR, meta: 10 }] });
  const a = encodeColumnValue(-294967296, testColumn(ColumnType.LONG));
  const b = encodeColumnValue(Buffer.from('é', 'latin1'), testColumn(ColumnType.VARCHAR, { meta: 10 }));
  w.rows({ kind: 'write', version: 1, tableId: 1, rows: [{ after: [a, b] }] }).xid(1);
  return w.toBuffer();
}

function decode(hints: SchemaHints): Transaction {
  const decoder = new BinlogDecoder({ file: 'x', schemaHints: hints });
  const events: BinlogEvent[] = decoder.push(binlog());
  const items = new TransactionAssembler('x').push(events);
  return items.flatMap((i) => (i.kind === 'transaction' ? [i.tx] : []))[0]!;
}

const hintsOf = (columns: ColumnHint[]): SchemaHints => (schema, table, count) => (schema === 'm' && table === 'u' && count === columns.length ? columns : undefined);

describe('schema hints are checked against the binlog column types', () => {
  it('a schema with the same types names the columns and gives their signedness', () => {
    const tx = decode(hintsOf([{ name: 'a', unsigned: true, dataType: 'int' }, { name: 'b', collation: 8, dataType: 'varchar' }]));
    expect(tx.changes[0]!.table.columns.map((c) => c.name)).toEqual(['a', 'b']);
    expect(tx.changes[0]!.after![0]).toBe(4_000_000_000);
  });

  it('a schema whose columns were reordered is not used: @1…@n, and the MISSING_METADATA warning says why', () => {
    // Found by a review: the INT was printed under the VARCHAR's name, and no warning was given.
    const hints = hintsOf([{ name: 'b', collation: 45, dataType: 'varchar' }, { name: 'a', unsigned: true, dataType: 'int' }]);
    const tx = decode(hints);
    expect(tx.changes[0]!.table.columns.map((c) => c.name)).toEqual(['@1', '@2']);
    expect(tx.changes[0]!.after![0]).toBe(-294967296);
    const warnings = new MetadataNotes(hints).check(tx);
    expect(warnings.map((w) => w.code)).toEqual(['MISSING_METADATA']);
    expect(warnings[0]!.message).toContain('the schema given has other column types for m.u (column 1: varchar where the binlog has LONG), so its names and types are not used');
  });
});

describe('schema hints are matched by name where the binlog logs names', () => {
  /** m.u (id INT, doc LONGTEXT) with binlog_row_metadata=FULL: one insert. */
  function named(): Buffer {
    const w = new BinlogWriter({ flavor: 'mariadb', serverVersion: '10.11.6-MariaDB-log', startTimestamp: 1_700_000_000 });
    w.formatDescription();
    w.mariadbGtid({ domainId: 0, seqNo: 1 });
    w.tableMap({ tableId: 1, db: 'm', table: 'u', metadata: 'full', columns: [{ type: ColumnType.LONG, name: 'id' }, { type: ColumnType.BLOB, meta: 4, name: 'doc', charset: 45 }] });
    const a = encodeColumnValue(7, testColumn(ColumnType.LONG));
    const b = encodeColumnValue(Buffer.from('{"k":1}'), testColumn(ColumnType.BLOB, { meta: 4 }));
    w.rows({ kind: 'write', version: 1, tableId: 1, rows: [{ after: [a, b] }] }).xid(1);
    return w.toBuffer();
  }

  it('a schema with a column added in the middle and another order lends each column its own hint', () => {
    // Found with the by-name matching of images: by position, doc would have taken note's hint (a VARCHAR: dropped) and not its own JSON-ness.
    const hints: SchemaHints = (schema, table) => (schema === 'm' && table === 'u' ? [{ name: 'note', dataType: 'varchar' }, { name: 'DOC', dataType: 'longtext', isJson: true }, { name: 'id', dataType: 'int' }] : undefined);
    const decoder = new BinlogDecoder({ file: 'x', schemaHints: hints });
    const items = new TransactionAssembler('x').push(decoder.push(named()));
    const tx = items.flatMap((i) => (i.kind === 'transaction' ? [i.tx] : []))[0]!;
    expect(tx.changes[0]!.table.columns.map((c) => [c.name, c.isJson])).toEqual([['id', false], ['doc', true]]);
  });
});
