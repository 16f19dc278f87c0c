import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startMariadb, type MariadbServer } from '../../test/harness/mariadb-server.js';
import { openSession, transaction, type SqlResult, type SqlSession } from './sql-session.js';
import { ensureStateSchema } from './state-schema.js';
import { recordLedger, type LedgerRow, type LedgerRun } from './state-store.js';
import { StatementPipeline } from './statement-pipeline.js';

/** Text that every escape and encoding path must carry unchanged. */
const AWKWARD = ['plain', `quote ' double " back \\ slash`, 'nul \0 bs \b tab \t nl \n cr \r ctrl-z \x1a', 'é ✓ 𝄞 ∑', '', '?', "{\"a\":\"it's\"}"];

function row(i: number): LedgerRow {
  const text = AWKWARD[i % AWKWARD.length]!;
  return {
    seq: i + 1,
    gtid: i % 3 === 0 ? null : `0-1-${i}`,
    file: i % 3 === 0 ? 'mariadb-bin.000007' : null,
    pos: i % 3 === 0 ? 9223372036854775807n - BigInt(i) : null,
    changeIndex: i,
    table: 'crm.tickets',
    op: i % 2 === 0 ? 'update' : 'insert',
    sourceKey: [i, 9007199254740993n, text],
    class: 'clean',
    outcome: 'applied',
    newKey: i % 5 === 0 ? [i + 1_000_000] : null,
    reason: i % 4 === 0 ? null : text,
    rulePath: 'built-in.clean',
    beforeImage: i % 2 === 0 ? JSON.stringify({ id: i, note: text }) : null,
    afterImage: JSON.stringify({ id: i, note: `${text}${i}`, n: i / 7 }),
    drImage: null,
    otherImage: i % 7 === 0 ? JSON.stringify({ other: text }) : null,
  };
}

/** Written into the statement's text: a `?` and a quote there must stay text, not become a value mark. */
const RUN: LedgerRun = { runId: 3, sourceId: `src ? it's "\\" ✓` };

/** The session as a recorder or a test double sees it: text only. */
function textOnly(session: SqlSession): SqlSession & { statements: number } {
  const view = {
    statements: 0,
    query: (sql: string, params?: readonly unknown[]): Promise<SqlResult> => {
      view.statements++;
      return session.query(sql, params);
    },
    end: () => session.end(),
    destroy: () => session.destroy(),
  };
  return view;
}

const COLUMNS =
  'run_id, seq, source_id, change_at, change_index, gtid, binlog_file, binlog_pos, table_name, op, source_key, class, outcome, new_key, reason, rule_path, before_image, after_image, dr_image, other_image';

describe('recordLedger over prepared statements', () => {
  let db: MariadbServer;
  let session: SqlSession;

  beforeAll(async () => {
    db = await startMariadb({ name: 'state-store-prepared', binlog: false });
    session = await openSession(db.target);
    await ensureStateSchema(session, 'as_text');
    await ensureStateSchema(session, 'as_prepared');
  }, 60_000);

  afterAll(async () => {
    await session?.end();
    await db?.stop();
  });

  it('stores exactly what the text statements store; full statements are prepared, the rest go as text', async () => {
    const rows = Array.from({ length: 1_234 }, (_, i) => row(i));
    const text = textOnly(session);
    await transaction(text, (s) => recordLedger(s, 'as_text', RUN, rows));

    const prepared: string[] = [];
    const queried: string[] = [];
    const counting: SqlSession = {
      query: (sql, params) => {
        queried.push(sql);
        return session.query(sql, params);
      },
      execute: (sql, params) => {
        prepared.push(`${params.length}`);
        return session.execute!(sql, params);
      },
      end: () => session.end(),
      destroy: () => session.destroy(),
    };
    await transaction(counting, async (s) => {
      const pipe = new StatementPipeline(s);
      await recordLedger(pipe.session, 'as_prepared', RUN, rows);
      expect(await pipe.settle()).toBeNull();
    });
    // Two statements of 500 rows × 18 values (run id and source in the text), then the last 234 rows as one text statement.
    expect(prepared).toEqual(['9000', '9000']);
    expect(queried.filter((q) => q.startsWith('INSERT INTO `as_prepared`.`ledger`'))).toHaveLength(1);
    expect(text.statements).toBe(2 + 3);

    const read = async (schema: string): Promise<readonly unknown[]> => (await session.query(`SELECT ${COLUMNS} FROM \`${schema}\`.ledger ORDER BY seq`)).rows;
    const viaText = await read('as_text');
    expect(viaText).toHaveLength(1_234);
    expect(await read('as_prepared')).toEqual(viaText);
    const [first] = (await session.query('SELECT CAST(run_id AS CHAR) AS run_id, source_id FROM `as_prepared`.ledger ORDER BY seq LIMIT 1')).rows;
    expect(first).toEqual({ run_id: '3', source_id: RUN.sourceId });
  });

  it('prepares the ledger statement once for a run however many windows write it', async () => {
    await ensureStateSchema(session, 'as_windows');
    const prepares = async (): Promise<number> => Number((await session.query("SHOW SESSION STATUS LIKE 'Com_stmt_prepare'")).rows[0]?.['Value']);
    const before = await prepares();
    const rows = Array.from({ length: 1_600 }, (_, i) => row(i));
    for (const window of [rows.slice(0, 700), rows.slice(700)]) {
      await transaction(session, async (s) => {
        const pipe = new StatementPipeline(s);
        await recordLedger(pipe.session, 'as_windows', RUN, window);
        expect(await pipe.settle()).toBeNull();
      });
    }
    expect(Number((await session.query('SELECT COUNT(*) AS n FROM `as_windows`.ledger')).rows[0]?.['n'])).toBe(1_600);
    expect((await prepares()) - before).toBe(1);
  });
});
