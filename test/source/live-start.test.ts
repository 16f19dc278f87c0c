/**
 * `--start-gtid SET` on a live source: the start state parsed from a file's first
 * SHOW BINLOG EVENTS rows (MariaDB Gtid_list, MySQL Previous_gtids), the containment rule (MariaDB
 * `d-s-n` is a position), and on a throwaway MariaDB with four binlogs: `inspect --source
 * --start-gtid SET` prints exactly the transactions after SET, starting in the right file.
 */
import { basename } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Gtid } from '../../src/binlog/transaction.js';
import { runInspect } from '../../src/cli/inspect-command.js';
import { openSession } from '../../src/db/sql-session.js';
import { findGtidStart, parseStartState, startGtidCovers, startStateWithin } from '../../src/source/live-start.js';
import { Capture } from '../harness/capture.js';
import { startMariadb, type MariadbServer } from '../harness/mariadb-server.js';

const U1 = '3e11fa47-71ca-11e1-9e33-c80aa9429562';
const U2 = '4e11fa47-71ca-11e1-9e33-c80aa9429562';

function m(d: number, s: number, n: number): Gtid {
  return { flavor: 'mariadb', domainId: d, serverId: s, seqNo: BigInt(n) };
}

describe('parseStartState', () => {
  it('reads MariaDB Gtid_list lists, empty or not', () => {
    const rows = [
      { Log_name: 'b.000002', Pos: 4, Event_type: 'Format_desc', Server_id: 1, End_log_pos: 256, Info: 'Server ver: 10.11.6-MariaDB-log, Binlog ver: 4' },
      { Log_name: 'b.000002', Pos: 256, Event_type: 'Gtid_list', Server_id: 1, End_log_pos: 299, Info: '[0-1-24,1-2-7]' },
      { Log_name: 'b.000002', Pos: 299, Event_type: 'Binlog_checkpoint', Server_id: 1, End_log_pos: 338, Info: 'b.000001' },
    ];
    expect(parseStartState(rows)).toEqual({ flavor: 'mariadb', gtids: [m(0, 1, 24), m(1, 2, 7)] });
    expect(parseStartState([{ Event_type: 'Gtid_list', Info: '[]' }])).toEqual({ flavor: 'mariadb', gtids: [] });
  });

  it('reads MySQL Previous_gtids, over several lines', () => {
    expect(parseStartState([{ Event_type: 'Format_desc', Info: 'x' }, { Event_type: 'Previous_gtids', Info: `${U1}:1-5,\n${U2}:1-3:7` }])).toEqual({ flavor: 'mysql', set: `${U1}:1-5,${U2}:1-3:7` });
    expect(parseStartState([{ Event_type: 'Previous_gtids', Info: '' }])).toEqual({ flavor: 'mysql', set: '' });
  });

  it('is null without a GTID state event, or with an unreadable list', () => {
    expect(parseStartState([{ Event_type: 'Format_desc', Info: 'x' }, { Event_type: 'Query', Info: 'BEGIN' }])).toBeNull();
    expect(parseStartState([{ Event_type: 'Gtid_list', Info: '[0-1]' }])).toBeNull();
  });
});

describe('startGtidCovers and startStateWithin', () => {
  it('reads MariaDB d-s-n as a position of its domain, ranges and MySQL entries as sets', () => {
    const covers = startGtidCovers(`0-1-24,2-5-10-12,${U1}:1-5`);
    expect([m(0, 1, 24), m(0, 1, 1), m(0, 9, 20), m(0, 1, 25), m(1, 1, 1), m(2, 5, 11), m(2, 5, 9)].map(covers)).toEqual([true, true, true, false, false, true, false]);
    expect(covers({ flavor: 'mysql', uuid: U1, tag: null, gno: 5n })).toBe(true);
    expect(covers({ flavor: 'mysql', uuid: U1, tag: null, gno: 6n })).toBe(false);
  });

  it('judges a MariaDB start state entry by entry', () => {
    const state = { flavor: 'mariadb', gtids: [m(0, 1, 24), m(1, 2, 7)] } as const;
    expect(startStateWithin(state, '0-1-24,1-2-7')).toBe(true);
    expect(startStateWithin(state, '0-1-30,1-2-9')).toBe(true);
    expect(startStateWithin(state, '0-1-23,1-2-9')).toBe(false);
    expect(startStateWithin(state, '0-1-30')).toBe(false);
    expect(startStateWithin({ flavor: 'mariadb', gtids: [] }, '0-1-1')).toBe(true);
  });

  it('judges a MySQL start state as a subset, gaps included', () => {
    const state = { flavor: 'mysql', set: `${U1}:1-5,${U2}:1-3` } as const;
    expect(startStateWithin(state, `${U1}:1-9,${U2}:1-3`)).toBe(true);
    expect(startStateWithin(state, `${U1}:1-4:6-9,${U2}:1-3`)).toBe(false);
    expect(startStateWithin(state, `${U1}:1-9`)).toBe(false);
    expect(startStateWithin({ flavor: 'mysql', set: '' }, `${U1}:1`)).toBe(true);
  });
});

async function inspect(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  const stdout = new Capture();
  const stderr = new Capture();
  const code = await runInspect(args, stdout, stderr, {});
  return { code, stdout: stdout.text, stderr: stderr.text };
}

interface Tx {
  readonly file: string;
  readonly gtid: string;
}

/** JSONL lines with `file` reduced to the server's name, and their parsed form. */
function lines(jsonl: string): { text: string; tx: Tx }[] {
  return jsonl
    .trim()
    .split('\n')
    .filter((l) => l.length > 0)
    .map((l) => {
      const tx = JSON.parse(l) as Tx;
      const named = { ...tx, file: basename(tx.file) };
      return { text: JSON.stringify(named), tx: named };
    });
}

const seq = (gtid: string): number => Number(gtid.split('-')[2]);

describe('inspect --source --start-gtid on MariaDB', () => {
  let db: MariadbServer;
  let all: { text: string; tx: Tx }[];
  let names: string[];
  beforeAll(async () => {
    db = await startMariadb({ name: 'live-start' });
    await db.query('CREATE DATABASE ls');
    await db.query('CREATE TABLE ls.t (id INT PRIMARY KEY, v VARCHAR(10))');
    let id = 0;
    for (let f = 0; f < 4; f++) {
      if (f > 0) await db.flushBinaryLogs();
      for (let i = 0; i < 3; i++) await db.query(`INSERT INTO ls.t VALUES (${++id}, 'f${f}')`);
    }
    const files = await db.binlogFiles();
    names = files.map((f) => basename(f));
    all = lines((await inspect('--json', ...files)).stdout);
  });
  afterAll(async () => {
    await db?.stop();
  });

  it('prints exactly the transactions after a position inside the third file, starting there', async () => {
    expect(names.length).toBe(4);
    const third = all.filter((l) => l.tx.file === names[2]);
    expect(third.length).toBe(3);
    const set = third[0]!.tx.gtid;
    const control = await openSession(db.target);
    try {
      expect(await findGtidStart(control, set)).toEqual({ file: names[2], position: 4 });
    } finally {
      await control.end();
    }
    const out = await inspect('--json', '--source', db.url, '--start-gtid', set);
    expect(out.code).toBe(0);
    const got = lines(out.stdout);
    expect(got.map((l) => l.text)).toEqual(all.filter((l) => seq(l.tx.gtid) > seq(set)).map((l) => l.text));
    expect(got[0]!.tx.file).toBe(names[2]);
    expect(got[0]!.text).toBe(third[1]!.text);
  });

  it('starts in the next file when SET ends exactly where a file begins', async () => {
    const secondLast = all.filter((l) => l.tx.file === names[1]).at(-1)!;
    const control = await openSession(db.target);
    try {
      expect(await findGtidStart(control, secondLast.tx.gtid)).toEqual({ file: names[2], position: 4 });
      // A set older than every file: the first binlog (its Gtid_list is empty).
      expect(await findGtidStart(control, '0-1-0')).toEqual({ file: names[0], position: 4 });
    } finally {
      await control.end();
    }
    const got = lines((await inspect('--json', '--source', db.url, '--start-gtid', secondLast.tx.gtid)).stdout);
    expect(got.map((l) => l.text)).toEqual(all.filter((l) => seq(l.tx.gtid) > seq(secondLast.tx.gtid)).map((l) => l.text));
    expect(got[0]!.tx.file).toBe(names[2]);
  });

  it('refuses --start-gtid with --start-file, and a malformed set, as usage errors', async () => {
    await expect(inspect('--json', '--source', db.url, '--start-gtid', '0-1-3', '--start-file', names[1]!)).rejects.toMatchObject({ code: 'USAGE', details: { option: '--start-gtid' } });
    await expect(inspect('--json', '--source', db.url, '--start-gtid', 'nonsense')).rejects.toMatchObject({ code: 'GTID_SET_SYNTAX' });
  });
});
