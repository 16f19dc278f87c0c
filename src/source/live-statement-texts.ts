/**
 * The statement texts of a few row changes read from a live MariaDB source. Its binlog dump is
 * asked without ANNOTATE_ROWS (live-source.ts: they are ≈ 42 % of the bytes), so a transaction
 * read live has no marks; for the changes a person reviews, the server lists the transaction's
 * events again with SHOW BINLOG EVENTS, whose Info of an Annotate_rows event is its text (MariaDB
 * log_event_server.cc Annotate_rows_log_event::pack_info) and of a rows event its flags.
 */
import type { ChangeRef } from './statement-texts.js';
import type { ControlSession } from './live-source.js';

/** Events listed per SHOW BINLOG EVENTS: a transaction longer than this is listed page by page. */
const PAGE = 1000;

/** Quotes a binlog name for SHOW BINLOG EVENTS IN '…' (names come from the server's own positions). */
function quoted(name: string): string {
  return `'${name.replace(/\\/g, '\\\\').replace(/'/g, "\\'")}'`;
}

function text(v: unknown): string {
  return Buffer.isBuffer(v) ? v.toString('utf8') : String(v ?? '');
}

/**
 * Each change's statement, in order: the Annotate_rows text before its rows event, if no rows event
 * that ended a statement (STMT_END_F) came between; null where there is none, or the server cannot
 * list the file any more (purged, the connection lost — a report's detail never fails the run).
 */
export async function readLiveStatementTexts(control: ControlSession, changes: readonly ChangeRef[]): Promise<(string | null)[]> {
  // Rows event offset → its statement, per transaction listed once.
  const byTx = new Map<ChangeRef['tx'], Map<number, string> | null>();
  for (const { tx } of changes) {
    if (byTx.has(tx)) continue;
    try {
      byTx.set(tx, await statementsOf(control, tx.file, tx.pos, tx.end));
    } catch {
      byTx.set(tx, null);
    }
  }
  return changes.map(({ tx, index }) => {
    const change = tx.changes[index];
    return change === undefined ? null : (byTx.get(tx)?.get(change.eventOffset) ?? null);
  });
}

/** The statement of each rows event of [pos, end) in `file`, keyed by the event's offset. */
async function statementsOf(control: ControlSession, file: string, pos: number, end: number): Promise<Map<number, string>> {
  const out = new Map<number, string>();
  let current: string | null = null;
  for (let from = pos; from < end; ) {
    const { rows } = await control.query(`SHOW BINLOG EVENTS IN ${quoted(file)} FROM ${from} LIMIT ${PAGE}`);
    if (rows.length === 0) break;
    for (const row of rows) {
      const at = Number(row['Pos']);
      if (at >= end) return out;
      const type = text(row['Event_type']);
      if (type === 'Annotate_rows') current = text(row['Info']);
      else if (/_rows(?:_compressed)?(?:_v\d)?$/i.test(type)) {
        if (current !== null) out.set(at, current);
        // The statement's last rows event: the next rows event is another statement's, annotated or not.
        if (/\bSTMT_END_F\b/.test(text(row['Info']))) current = null;
      }
    }
    from = Number(rows[rows.length - 1]!['End_log_pos']);
    if (!Number.isFinite(from) || rows.length < PAGE) break;
  }
  return out;
}
