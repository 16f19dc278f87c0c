/**
 * A lost row bigger than the DR's max_allowed_packet (review of 2026-11-28): the DR runs with
 * max_allowed_packet=1M and the lost range holds BLOB rows of a few hundred KB (which fit one per
 * statement, not two) and one of 2 MB (which fits no statement: 4 MB as a hex literal, 2.7 MB as
 * base64 in the ledger). Before the fix the run met the server's refusal (or, past 16 MiB, a
 * connection lost mid-packet) and left its run marked running. Now:
 * - rows that fit alone are sent in smaller statements, and the DR ends with every byte of them;
 * - a row that cannot fit stops the run before anything of it is sent: DB_PACKET_TOO_LARGE under
 *   SALVAGE_FAULT (exit 1), naming the table, key, GTID, the size needed and the DR's limit, saying
 *   to raise it; the window rolled back whole, the run marked failed; raised, the same apply ends.
 */
import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { exitCodeFor } from '../../src/cli/exit-codes.js';
import { EngineError } from '../../src/errors.js';
import { salvage, SalvageErrorCode, type SalvageOptions } from '../../src/pipeline/salvage.js';
import { stageIncident, useServerPair, type Staged } from '../harness/incident-pair.js';

const LIMIT = 1 << 20;
const servers = useServerPair('packet', {}, { extraArgs: ['--max-allowed-packet=1M'] });

const SCHEMA = ['CREATE TABLE t.blobs (id INT PRIMARY KEY, note VARCHAR(20) NOT NULL, b LONGBLOB NOT NULL) ENGINE=InnoDB'];
const BASE = ["INSERT INTO t.blobs VALUES (1, 'base', 'x')"];
/** 200 KB and 880 KB of hex: together over 1 MiB, each alone under it. */
const FITTING = "INSERT INTO t.blobs VALUES (10, 'small', REPEAT('a', 100000)), (11, 'large', REPEAT('b', 440000))";
const TOO_LARGE = "INSERT INTO t.blobs VALUES (20, 'huge', REPEAT('z', 2000000))";

function options(staged: Staged, extra: Partial<SalvageOptions> = {}): SalvageOptions {
  return { mode: 'apply', binlogs: staged.files, target: servers.dr.target, start: { kind: 'from-gtid', set: staged.start }, ...extra };
}

async function rows(): Promise<string[]> {
  const r = (await servers.dr.query('SELECT id, note, LENGTH(b) AS len, MD5(b) AS md5 FROM t.blobs ORDER BY id')) as { id: number; note: string; len: number; md5: string }[];
  return r.map((x) => `${x.id} ${x.note} ${x.len} ${x.md5}`);
}

/** MD5 of `n` times `c`, as the DR's MD5(b) prints it (the DR's own REPEAT would pass its max_allowed_packet). */
function md5Of(c: string, n: number): string {
  return createHash('md5').update(c.repeat(n)).digest('hex');
}

async function rejection(p: Promise<unknown>): Promise<EngineError> {
  try {
    await p;
  } catch (e) {
    if (e instanceof EngineError) return e;
    throw e;
  }
  throw new Error('expected the apply to fail');
}

async function gtidOfLast(): Promise<string> {
  return String(((await servers.primary.query('SELECT @@gtid_binlog_pos AS p')) as { p: string }[])[0]!.p);
}

async function runStatuses(): Promise<string[]> {
  return ((await servers.dr.query('SELECT status FROM salvage.runs ORDER BY id')) as { status: string }[]).map((r) => r.status);
}

describe('a lost row bigger than the DR max_allowed_packet', () => {
  it('rows that fit alone are sent in smaller statements: every byte of them reaches the DR', async () => {
    const staged = await stageIncident(servers.primary, servers.dr, { schema: SCHEMA, base: BASE, lost: [FITTING] });
    expect(Number(((await servers.dr.query('SELECT @@GLOBAL.max_allowed_packet AS p')) as { p: number }[])[0]!.p)).toBe(LIMIT);
    const report = await salvage(options(staged));
    expect(report.outcomes).toEqual({ applied: 2, merged: 0, remapped: 0, skipped: 0, quarantined: 0 });
    expect(await rows()).toEqual([`1 base 1 ${md5Of('x', 1)}`, `10 small 100000 ${md5Of('a', 100000)}`, `11 large 440000 ${md5Of('b', 440000)}`]);
    expect(await runStatuses()).toEqual(['completed']);
  });

  it('updates batched into one CASE statement over the limit are sent one by one: every byte reaches the DR', async () => {
    const base = [...BASE, "INSERT INTO t.blobs VALUES (2, 'two', 'y'), (3, 'three', 'y')"];
    const staged = await stageIncident(servers.primary, servers.dr, { schema: SCHEMA, base, lost: ["UPDATE t.blobs SET b = IF(id = 2, REPEAT('c', 100000), REPEAT('d', 440000)) WHERE id IN (2, 3)"] });
    const report = await salvage(options(staged));
    expect(report.outcomes).toEqual({ applied: 2, merged: 0, remapped: 0, skipped: 0, quarantined: 0 });
    expect(await rows()).toEqual([`1 base 1 ${md5Of('x', 1)}`, `2 two 100000 ${md5Of('c', 100000)}`, `3 three 440000 ${md5Of('d', 440000)}`]);
    expect(await runStatuses()).toEqual(['completed']);
  });

  it('a row that fits no statement: DB_PACKET_TOO_LARGE naming it, the window rolled back, the run failed; raised, the same apply ends', async () => {
    const staged = await stageIncident(servers.primary, servers.dr, { schema: SCHEMA, base: BASE, lost: [FITTING, TOO_LARGE] });
    const gtid = await gtidOfLast();
    const e = await rejection(salvage(options(staged)));
    expect(e.code).toBe(SalvageErrorCode.Fault);
    expect(exitCodeFor(e)).toBe(1);
    const cause = e.cause as EngineError;
    expect(cause.code).toBe('DB_PACKET_TOO_LARGE');
    // The ledger row goes first (2.7 MB of base64); the INSERT then needs more (the blob as a hex
    // literal): the figure given is the transaction's, so one raise is enough.
    const bytes = cause.details['needed'] as number;
    const insert = `INSERT INTO \`t\`.\`blobs\` (\`id\`, \`note\`, \`b\`) VALUES (20, 'huge', X'${'7a'.repeat(2_000_000)}')`.length;
    expect(cause.details).toEqual({ table: 't.blobs', key: '[20]', gtid, statement: 'ledger', needed: insert + 2, maxAllowedPacket: LIMIT });
    const setting = Math.ceil((insert + 2) / 1024) * 1024;
    expect(e.message).toMatch(
      new RegExp(
        `^the row \\[20\\] of t\\.blobs \\(change ${gtid}\\) needs a statement \\(ledger\\) of 26671\\d\\d bytes: more than the DR's max_allowed_packet of ${LIMIT} allows; its transaction needs a max_allowed_packet of at least ${bytes}; nothing of it was sent \\[DB_PACKET_TOO_LARGE\\]; the window in progress was rolled back; raise max_allowed_packet on the DR \\(SET GLOBAL max_allowed_packet = ${setting}; connections opened after it take it, as the next run's does\\); nothing was committed by this run; run apply again to start over$`,
      ),
    );
    // Nothing of the window, not even the rows that fit; the run is failed, not left running.
    expect(await rows()).toEqual([`1 base 1 ${md5Of('x', 1)}`]);
    expect(await runStatuses()).toEqual(['failed']);
    expect(await servers.dr.query('SELECT COUNT(*) AS n FROM salvage.checkpoint')).toEqual([{ n: '0' }]);

    await servers.dr.query(`SET GLOBAL max_allowed_packet = ${setting}`);
    try {
      const report = await salvage(options(staged));
      expect(report.outcomes.applied).toBe(3);
      expect(report.warnings).toEqual([]);
      expect(await rows()).toEqual([
        `1 base 1 ${md5Of('x', 1)}`,
        `10 small 100000 ${md5Of('a', 100000)}`,
        `11 large 440000 ${md5Of('b', 440000)}`,
        `20 huge 2000000 ${md5Of('z', 2000000)}`,
      ]);
      expect(await runStatuses()).toEqual(['failed', 'completed']);
    } finally {
      await servers.dr.query(`SET GLOBAL max_allowed_packet = ${LIMIT}`);
    }
  });

  it('plan --sql cuts its statements under the limit as apply does, and stops at a row no statement carries, as apply would (it wrote them as one statement over the limit)', async () => {
    const staged = await stageIncident(servers.primary, servers.dr, { schema: SCHEMA, base: BASE, lost: [FITTING] });
    const sql: string[] = [];
    await salvage(options(staged, { mode: 'plan', onSql: (s) => sql.push(s) }));
    const inserts = sql.filter((s) => s.startsWith('INSERT'));
    expect(inserts.map((s) => /VALUES \((\d+),/.exec(s)![1])).toEqual(['10', '11']);
    for (const s of sql) expect(Buffer.byteLength(s)).toBeLessThan(LIMIT);
    expect(await rows()).toEqual([`1 base 1 ${md5Of('x', 1)}`]);

    const more = await stageIncident(servers.primary, servers.dr, { schema: SCHEMA, base: BASE, lost: [TOO_LARGE] });
    const gtid = await gtidOfLast();
    const e = await rejection(salvage(options(more, { mode: 'plan', onSql: () => undefined })));
    expect(e.code).toBe(SalvageErrorCode.Fault);
    expect(exitCodeFor(e)).toBe(1);
    const cause = e.cause as EngineError;
    expect(cause.code).toBe('DB_PACKET_TOO_LARGE');
    const insert = `INSERT INTO \`t\`.\`blobs\` (\`id\`, \`note\`, \`b\`) VALUES (20, 'huge', X'${'7a'.repeat(2_000_000)}')`.length;
    // The figure is the transaction's, its ledger row measured too: the one apply gives.
    expect(cause.details).toEqual({ table: 't.blobs', key: '[20]', gtid, statement: 'insert', needed: insert + 2, maxAllowedPacket: LIMIT });
    expect(e.message).toContain(`[DB_PACKET_TOO_LARGE]; apply would stop here before writing this window; raise max_allowed_packet on the DR (SET GLOBAL max_allowed_packet = ${Math.ceil((insert + 2) / 1024) * 1024};`);
    expect(await servers.dr.query("SELECT COUNT(*) AS n FROM information_schema.SCHEMATA WHERE SCHEMA_NAME = 'salvage'")).toEqual([{ n: '0' }]);
  });

  it('without images in the ledger the data statement is the one too big: named by its key and GTID all the same', async () => {
    const staged = await stageIncident(servers.primary, servers.dr, { schema: SCHEMA, base: BASE, lost: [TOO_LARGE] });
    const gtid = await gtidOfLast();
    const e = await rejection(salvage(options(staged, { ledgerImages: 'conflicts' })));
    const cause = e.cause as EngineError;
    expect(cause.code).toBe('DB_PACKET_TOO_LARGE');
    // The blob as a hex literal: X'…' of 4,000,000 digits, in the INSERT's text.
    const bytes = `INSERT INTO \`t\`.\`blobs\` (\`id\`, \`note\`, \`b\`) VALUES (20, 'huge', X'${'7a'.repeat(2_000_000)}')`.length;
    expect(cause.details).toEqual({ table: 't.blobs', key: '[20]', gtid, statement: 'insert', needed: bytes + 2, maxAllowedPacket: LIMIT });
    expect(e.message).toContain(`needs a statement (insert) of ${bytes} bytes: more than the DR's max_allowed_packet of ${LIMIT} allows; its transaction needs a max_allowed_packet of at least ${bytes + 2};`);
    expect(await rows()).toEqual([`1 base 1 ${md5Of('x', 1)}`]);
    expect(await runStatuses()).toEqual(['failed']);
  });
});
