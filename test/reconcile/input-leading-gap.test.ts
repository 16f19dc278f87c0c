/**
 * Input that begins after lost transactions. Bug this pins (found on real servers): with the file
 * holding the first lost transactions left out, plan and apply read the later files only, applied
 * what they held, and the checkpoint then hid the earlier transactions from every later run.
 */
import { describe, expect, it } from 'vitest';
import { salvage } from '../../src/pipeline/salvage.js';
import { InputError } from '../../src/source/input-checks.js';
import { useServerPair } from '../harness/incident-pair.js';
import { REPLICA_ARGS, stageReplicatedIncident } from '../harness/replicated-incident.js';

const servers = useServerPair('gap', { serverId: 1 }, { extraArgs: [...REPLICA_ARGS] });

describe('a leading binlog file left out', () => {
  it('is refused naming the file and the GTIDs before it; all files apply; later files alone after that are fine', async () => {
    const { primary, dr } = servers;
    const staged = await stageReplicatedIncident(
      primary,
      dr,
      {
        schema: ['CREATE DATABASE g', 'CREATE TABLE g.t (id INT PRIMARY KEY)'],
        base: ['INSERT INTO g.t VALUES (1)'],
        lost: ['INSERT INTO g.t VALUES (10)', 'FLUSH BINARY LOGS', 'INSERT INTO g.t VALUES (11)', 'FLUSH BINARY LOGS', 'INSERT INTO g.t VALUES (12)'],
      },
      ['g'],
    );
    expect(staged.linkCut).toBe('0-1-3');
    const [first, second, ...rest] = staged.files;
    const e = await salvage({ mode: 'plan', binlogs: [second!, ...rest], target: dr.target }).then(
      () => null,
      (err: unknown) => err,
    );
    expect(e).toBeInstanceOf(InputError);
    expect((e as InputError).code).toBe('INPUT_LEADING_GAP');
    expect((e as InputError).message).toMatch(/^mysql-bin\.000002 opens after 0-1-4 \(its GTID list\), which the DR never received and no run applied: lost transactions are in binlog files before mysql-bin\.000002/);
    expect(await dr.query('SELECT id FROM g.t ORDER BY id')).toEqual([{ id: 1 }]);

    const report = await salvage({ mode: 'apply', binlogs: [first!, second!, ...rest], target: dr.target });
    expect(report.start.lostSet).toBe('0-1-4-6');
    expect(await dr.query('SELECT id FROM g.t ORDER BY id')).toEqual([{ id: 1 }, { id: 10 }, { id: 11 }, { id: 12 }]);
    // What the later files open after was applied by the run before: nothing is missing.
    const again = await salvage({ mode: 'plan', binlogs: rest, target: dr.target });
    expect(again.start.lostSet).toBe('(none)');
  }, 120_000);
});
