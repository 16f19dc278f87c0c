/**
 * The writes of a table without a primary key: each update and delete by its before image,
 * `… LIMIT 1`, in source order, and each must reach one row — a statement that reaches none fails
 * DB_NO_ROW_MATCHED (a data rejection: the window is decided again transaction by transaction),
 * on a plain session and through the statement pipeline apply writes on.
 */
import { describe, expect, it } from 'vitest';
import type { RowImage } from '../binlog/column.js';
import { DbErrorCode, isDataRejection } from '../db/db-errors.js';
import { EngineError } from '../errors.js';
import { StatementPipeline } from '../db/statement-pipeline.js';
import type { SqlResult, SqlSession } from '../db/sql-session.js';
import type { ColumnSchema, TableSchema } from '../model/table-schema.js';
import type { WriteOp } from '../model/decision.js';
import { executeWrites } from './execute-writes.js';

function col(name: string, ordinal: number, dataType: string, columnType: string): ColumnSchema {
  return { name, ordinal, dataType, columnType, nullable: true, unsigned: false, collation: dataType === 'varchar' ? 'utf8mb4_general_ci' : null, collationId: dataType === 'varchar' ? 45 : null, isAutoIncrement: false, isGenerated: false, default: null, onUpdateCurrentTimestamp: false, isJson: false };
}

const LOG: TableSchema = {
  schema: 'app',
  table: 'log',
  columns: [col('msg', 1, 'varchar', 'varchar(40)'), col('amount', 2, 'decimal', 'decimal(8,2)'), col('ratio', 3, 'float', 'float')],
  primaryKey: null,
  uniqueKeys: [],
  foreignKeys: [],
  autoIncrement: null,
  engine: 'InnoDB',
};

/** A session that records each statement and answers `affected` rows to each. */
function recording(affected: number): { session: SqlSession; sql: string[] } {
  const sql: string[] = [];
  const session: SqlSession = {
    query: (text: string): Promise<SqlResult> => {
      sql.push(text);
      return Promise.resolve({ rows: [], affectedRows: affected, insertId: 0 });
    },
    end: () => Promise.resolve(),
    destroy: () => undefined,
  };
  return { session, sql };
}

const B: RowImage = ['a', '1.50', null];
const WRITES: WriteOp[] = [
  { kind: 'insert', table: LOG, row: ['b', '2.00', 0.5] },
  { kind: 'update', table: LOG, key: [], set: { msg: 'c' }, image: B },
  { kind: 'delete', table: LOG, key: [], image: ['c', undefined, 0.1] },
];

describe('executeWrites on a table without a primary key', () => {
  it('writes each update and delete by its image, NULL-safe, LIMIT 1, in source order', async () => {
    const { session, sql } = recording(1);
    expect(await executeWrites(session, WRITES)).toEqual({ inserted: 1, updated: 1, deleted: 1, statements: 3 });
    expect(sql).toEqual([
      "INSERT INTO `app`.`log` (`msg`, `amount`, `ratio`) VALUES ('b', '2.00', 0.5)",
      "UPDATE `app`.`log` SET `msg` = 'c' WHERE `msg` <=> 'a' AND `amount` <=> CAST('1.50' AS DECIMAL(8,2)) AND `ratio` <=> NULL LIMIT 1",
      // A cell the image does not log is left out; a FLOAT is its float32.
      "DELETE FROM `app`.`log` WHERE `msg` <=> 'c' AND `ratio` <=> 0.10000000149011612 LIMIT 1",
    ]);
  });

  it('fails DB_NO_ROW_MATCHED, a data rejection, when a statement reaches no row', async () => {
    const { session } = recording(0);
    const e = await executeWrites(session, WRITES.slice(1)).catch((x: unknown) => x);
    expect(e).toBeInstanceOf(EngineError);
    expect((e as EngineError).code).toBe(DbErrorCode.NoRowMatched);
    expect((e as EngineError).details).toEqual({ table: 'app.log', statement: 'update', affected: 0 });
    expect(isDataRejection(e as EngineError)).toBe(true);
  });

  it('through the statement pipeline: the answer is checked when it comes, and settle reports it', async () => {
    const { session } = recording(0);
    const pipe = new StatementPipeline(session);
    await executeWrites(pipe.session, WRITES.slice(2));
    const failed = await pipe.settle();
    expect((failed?.error as EngineError).code).toBe(DbErrorCode.NoRowMatched);
    expect((failed?.error as EngineError).details).toEqual({ table: 'app.log', statement: 'delete', affected: 0 });
  });

  it('verifyRows: false (a session that runs nothing, as plan --sql) checks nothing', async () => {
    const { session, sql } = recording(0);
    await executeWrites(session, WRITES, { verifyRows: false });
    expect(sql).toHaveLength(3);
  });
});
