/**
 * A live source read again after a run that started too late. Bug this pins (found by a review):
 * without --start-file a live run began reading at the checkpoint's position, so the corrected
 * re-run (an earlier --from-gtid) never read the lost transactions before it and applied nothing.
 */
import { describe, expect, it } from 'vitest';
import { salvage } from '../../src/pipeline/salvage.js';
import { stageIncident, useServerPair } from '../harness/incident-pair.js';

const servers = useServerPair('live-restart');

describe('a live run after one that started too late', () => {
  it('reads from where the checkpoint cannot vouch for, and applies what the first run never read', async () => {
    const { primary, dr } = servers;
    const staged = await stageIncident(primary, dr, {
      schema: ['CREATE TABLE t.k (id INT PRIMARY KEY)'],
      base: ['INSERT INTO t.k VALUES (1)'],
      lost: ['INSERT INTO t.k VALUES (10)', 'INSERT INTO t.k VALUES (11)', 'INSERT INTO t.k VALUES (12)'],
    });
    const [d, s, n] = staged.start.split('-').map(Number) as [number, number, number];
    const source = { target: primary.target };
    // Too late: only 12 is lost after d-s-(n+2).
    const first = await salvage({ mode: 'apply', source, target: dr.target, start: { kind: 'from-gtid', set: `${d}-${s}-${n + 2}` } });
    expect(first.start.lostSet).toBe(`${d}-${s}-${n + 3}`);
    const again = await salvage({ mode: 'apply', source, target: dr.target, start: { kind: 'from-gtid', set: staged.start } });
    expect(again.start.lostSet).toBe(`${d}-${s}-${n + 1}-${n + 2}`);
    expect(await dr.query('SELECT id FROM t.k ORDER BY id')).toEqual([{ id: 1 }, { id: 10 }, { id: 11 }, { id: 12 }]);
  }, 120_000);
});
