/**
 * The checkpoint's position after a re-run that applies GTIDs an earlier run never read
 * (RELIABILITY 7.20, last item). It moves back to where they end, and must: a GTID of a hole in the
 * checkpoint's set, with a GTID of its server below it, is passed by the position (that is how a
 * damaged transaction a run skipped stays skipped: lost-transactions.ts checkpointDecision). Kept
 * at the furthest position instead, a re-run stopped after its first window would leave the GTIDs
 * it had not reached yet in such a hole, before that position: the resume would pass them over
 * and never apply them. This pins the resume, not the position's direction.
 */
import { describe, expect, it } from 'vitest';
import { salvage, SalvageError, SalvageErrorCode } from '../../src/pipeline/salvage.js';
import { stageIncident, useServerPair } from '../harness/incident-pair.js';

const servers = useServerPair('cp-rerun');

describe('a re-run that applies GTIDs an earlier run never read', () => {
  it('moves the position back to them, so a resume after it stopped mid-way applies the rest', async () => {
    const { primary, dr } = servers;
    const staged = await stageIncident(primary, dr, {
      schema: ['CREATE TABLE t.k (id INT PRIMARY KEY)'],
      base: ['INSERT INTO t.k VALUES (1)'],
      lost: ['INSERT INTO t.k VALUES (10)', 'INSERT INTO t.k VALUES (11)', 'INSERT INTO t.k VALUES (12)', 'INSERT INTO t.k VALUES (13)'],
    });
    const [d, s, n] = staged.start.split('-').map(Number) as [number, number, number];
    const gtid = (k: number): string => `${d}-${s}-${n + k}`;
    const checkpoint = async (): Promise<{ gtid_set: string; binlog_pos: string }> =>
      ((await dr.query('SELECT gtid_set, CAST(binlog_pos AS CHAR) AS binlog_pos FROM salvage.checkpoint')) as { gtid_set: string; binlog_pos: string }[])[0]!;
    const base = { mode: 'apply' as const, binlogs: staged.files, target: dr.target };

    // Too late: only 13 is applied, the position at its end.
    const first = await salvage({ ...base, start: { kind: 'from-gtid', set: gtid(3) } });
    expect(first.start.lostSet).toBe(gtid(4));
    const after13 = await checkpoint();
    expect(after13.gtid_set).toBe(gtid(4));

    // The corrected re-run, stopped after its first window (10 alone).
    const stop = new AbortController();
    const stopped = await salvage({ ...base, start: { kind: 'from-gtid', set: staged.start }, windowTransactions: 1, signal: stop.signal, onProgress: () => stop.abort() }).then(
      () => null,
      (e: unknown) => e,
    );
    expect(stopped).toBeInstanceOf(SalvageError);
    expect((stopped as SalvageError).code).toBe(SalvageErrorCode.Aborted);
    expect(await dr.query('SELECT id FROM t.k ORDER BY id')).toEqual([{ id: 1 }, { id: 10 }, { id: 13 }]);
    const after10 = await checkpoint();
    expect(after10.gtid_set).toBe(`${gtid(1)},${gtid(4)}`);
    expect(BigInt(after10.binlog_pos)).toBeLessThan(BigInt(after13.binlog_pos));

    // The resume applies 11 and 12, which lie in the set's hole before 13's position.
    const resumed = await salvage({ ...base, start: { kind: 'from-gtid', set: staged.start } });
    expect(resumed.start.lostSet).toBe(`${gtid(2)}-${n + 3}`);
    expect(await dr.query('SELECT id FROM t.k ORDER BY id')).toEqual([{ id: 1 }, { id: 10 }, { id: 11 }, { id: 12 }, { id: 13 }]);
    // Its position is where the last transaction it applied (12) ended: behind 13's, which it did
    // not apply (13 is in the set). Nothing is read twice or skipped for it; a later run that
    // applies past 13 moves it on.
    const done = await checkpoint();
    expect(done.gtid_set).toBe(`${d}-${s}-${n + 1}-${n + 4}`);
    expect(BigInt(done.binlog_pos)).toBeLessThan(BigInt(after13.binlog_pos));
    expect(BigInt(done.binlog_pos)).toBeGreaterThan(BigInt(after10.binlog_pos));
  }, 120_000);
});
