/**
 * Options refused before anything connects, in process: `--state-schema` for every command that
 * takes it, and the "done" event `--progress json` owes a wrapper even when plan/apply stop on
 * their options.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { exitCodeFor } from '../../src/cli/exit-codes.js';
import { runConfigInit } from '../../src/cli/config-command.js';
import { runDoctor } from '../../src/cli/doctor-command.js';
import { runInspect } from '../../src/cli/inspect-command.js';
import { runExplain } from '../../src/cli/explain-command.js';
import { runQuarantine } from '../../src/cli/quarantine-command.js';
import { runReport } from '../../src/cli/report-command.js';
import { runResolve } from '../../src/cli/resolve-command.js';
import { runSalvageCommand, type SalvageCommandEnvironment } from '../../src/cli/salvage-command.js';
import { parseCommandArgs, UsageError } from '../../src/cli/usage-error.js';
import { GtidSetError } from '../../src/model/gtid-set.js';
import { Capture } from '../harness/capture.js';

const ENV: SalvageCommandEnvironment = { env: {}, home: undefined, isTty: false };
// Nothing listens on port 1: a command that got past its options would fail to connect instead.
const TARGET = ['--target', 'mysql://root@127.0.0.1:1'];

async function rejection(p: Promise<unknown>): Promise<unknown> {
  try {
    await p;
  } catch (e) {
    return e;
  }
  throw new Error('expected a rejection');
}

describe('--state-schema', () => {
  const commands: [string, (schema: string) => Promise<number>][] = [
    ['plan', (s) => runSalvageCommand('plan', ['--binlog', 'x', ...TARGET, '--state-schema', s], new Capture(), new Capture(), ENV)],
    ['apply', (s) => runSalvageCommand('apply', ['--binlog', 'x', ...TARGET, '--state-schema', s], new Capture(), new Capture(), ENV)],
    ['doctor', (s) => runDoctor([...TARGET, '--state-schema', s], new Capture(), new Capture(), ENV)],
    ['explain', (s) => runExplain([...TARGET, '--state-schema', s, '0-1-1'], new Capture(), new Capture(), ENV)],
    ['quarantine list', (s) => runQuarantine(['list', ...TARGET, '--state-schema', s], new Capture(), new Capture(), ENV)],
    ['report', (s) => runReport([...TARGET, '--state-schema', s], new Capture(), new Capture(), ENV)],
    ['resolve', (s) => runResolve([...TARGET, '--state-schema', s, 'decisions.jsonl'], new Capture(), new Capture(), ENV)],
  ];
  for (const [name, run] of commands) {
    it(`${name}: a name the server would refuse ("bad ", "") is bad input naming --state-schema, before connecting`, async () => {
      for (const schema of ['bad ', '']) {
        const e = await rejection(run(schema));
        expect(e).toBeInstanceOf(UsageError);
        expect(exitCodeFor(e)).toBe(2);
        expect((e as UsageError).details).toMatchObject({ option: '--state-schema' });
        expect((e as Error).message).toMatch(/^--state-schema: /);
      }
    });
  }
});

describe('--progress json on a run that stops on its options', () => {
  it('prints {"event":"done","ok":false} for a bad --config, --window 0 and an unwritable --ledger', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'salvage-progress-'));
    try {
      const bad = join(dir, 'bad.json');
      await writeFile(bad, JSON.stringify({ tables: { 'shop.t': { onConflict: { clean: 'remap' } } } }));
      for (const extra of [['--config', bad], ['--window', '0'], ['--ledger', join(dir, 'no', 'such', 'l.jsonl')]]) {
        const stderr = new Capture();
        const e = await rejection(runSalvageCommand('plan', ['--binlog', 'x', ...TARGET, '--progress', 'json', ...extra], new Capture(), stderr, ENV));
        expect(exitCodeFor(e)).toBe(2);
        expect(stderr.text.trim().split('\n').map((l) => JSON.parse(l) as unknown)).toEqual([{ event: 'done', ok: false, command: 'plan' }]);
      }
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});

describe('whole-number options', () => {
  it('--window, --window-rows and --reconnect-attempts take decimal digits only (not 0x10, 1e2, " 5")', async () => {
    for (const [option, value] of [['--window', '0x10'], ['--window', '1e2'], ['--window', ' 5'], ['--window-rows', '0x10'], ['--window-rows', '0'], ['--reconnect-attempts', '0x1'], ['--reconnect-attempts', '1e1']]) {
      const e = await rejection(runSalvageCommand('plan', ['--binlog', 'x', ...TARGET, option!, value!], new Capture(), new Capture(), ENV));
      expect(e).toBeInstanceOf(UsageError);
      expect((e as Error).message).toContain(`${option} takes a number`);
    }
  });
});

describe('a GTID set that does not parse', () => {
  // details.option held the bad text itself ("garbage"), so a wrapper reading it for the option to
  // fix got none; it is the option's name now, the text in details.value.
  const file = '/nonexistent/mysql-bin.000001';
  const cases: [string, () => Promise<number>, string, string][] = [
    ['inspect --include-gtids', () => runInspect(['--include-gtids', 'garbage', file], new Capture(), new Capture(), {}), '--include-gtids', 'garbage'],
    ['inspect --exclude-gtids (repeated: the union)', () => runInspect(['--exclude-gtids', '0-1-1', '--exclude-gtids', 'x:1', file], new Capture(), new Capture(), {}), '--exclude-gtids', '0-1-1,x:1'],
    ['inspect --start-gtid', () => runInspect(['--source', 'mysql://root@127.0.0.1:1', '--start-gtid', '0-1-5,garbage'], new Capture(), new Capture(), {}), '--start-gtid', '0-1-5,garbage'],
    ['plan --start-gtid', () => runSalvageCommand('plan', ['--source', 'mysql://root@127.0.0.1:1', '--start-gtid', 'garbage', ...TARGET], new Capture(), new Capture(), ENV), '--start-gtid', 'garbage'],
  ];
  for (const [name, run, option, value] of cases) {
    it(`${name}: details name the option and the text`, async () => {
      const e = await rejection(run());
      expect(e).toBeInstanceOf(GtidSetError);
      expect(e).toMatchObject({ code: 'GTID_SET_SYNTAX', details: { option, value } });
      expect(exitCodeFor(e)).toBe(2);
    });
  }
});

describe('a GTID or GTID set with a number wider than servers write', () => {
  // MariaDB: 32-bit domain and server ids, a 64-bit sequence number; MySQL: a signed 64-bit gno. A
  // typo's extra digits name a point no server reaches: --start-gtid and --from-gtid took them and
  // failed (or matched nothing) only once connected. Each is refused at option parsing, exit 2,
  // before anything connects (port 1: a command that got past its options would fail to connect).
  const file = '/nonexistent/mysql-bin.000001';
  const uuid = '3e11fa47-71ca-11e1-9e33-c80aa9429562';
  const live = ['--source', 'mysql://root@127.0.0.1:1'];
  const plan = (...args: string[]) => (): Promise<number> => runSalvageCommand('plan', [...args, ...TARGET], new Capture(), new Capture(), ENV);
  const apply = (...args: string[]) => (): Promise<number> => runSalvageCommand('apply', [...args, ...TARGET], new Capture(), new Capture(), ENV);
  const inspect = (...args: string[]) => (): Promise<number> => runInspect(args, new Capture(), new Capture(), {});
  const cases: [string, () => Promise<number>, string, string, string][] = [
    ['inspect --source --start-gtid, sequence', inspect(...live, '--start-gtid', '0-1-99999999999999999999999'), '--start-gtid', '0-1-99999999999999999999999', 'sequence number 99999999999999999999999'],
    ['inspect --source --start-gtid, domain', inspect(...live, '--start-gtid', '4294967296-1-5'), '--start-gtid', '4294967296-1-5', 'domain id 4294967296'],
    ['inspect --source --start-gtid, server id', inspect(...live, '--start-gtid', '0-4294967296-5,0-1-2-3'), '--start-gtid', '0-4294967296-5,0-1-2-3', 'server id 4294967296'],
    ['inspect --source --start-gtid, MySQL', inspect(...live, '--start-gtid', `${uuid}:1-9223372036854775808`), '--start-gtid', `${uuid}:1-9223372036854775808`, 'transaction number 9223372036854775808'],
    ['inspect --include-gtids', inspect('--include-gtids', '0-1-18446744073709551616', file), '--include-gtids', '0-1-18446744073709551616', 'sequence number 18446744073709551616'],
    ['inspect --exclude-gtids', inspect('--exclude-gtids', `${uuid}:9223372036854775808`, file), '--exclude-gtids', `${uuid}:9223372036854775808`, 'transaction number 9223372036854775808'],
    ['plan --source --start-gtid', plan(...live, '--start-gtid', '0-1-99999999999999999999999'), '--start-gtid', '0-1-99999999999999999999999', 'sequence number 99999999999999999999999'],
    ['apply --source --start-gtid', apply(...live, '--start-gtid', '4294967296-1-5'), '--start-gtid', '4294967296-1-5', 'domain id 4294967296'],
    ['plan --from-gtid, MariaDB position', plan('--binlog', file, '--from-gtid', '0-1-99999999999999999999999'), '--from-gtid', '0-1-99999999999999999999999', 'sequence number 99999999999999999999999'],
    ['plan --from-gtid, MariaDB range', plan('--binlog', file, '--from-gtid', '0-1-5,0-1-7-18446744073709551616'), '--from-gtid', '0-1-5,0-1-7-18446744073709551616', 'sequence number 18446744073709551616'],
    ['apply --from-gtid, server id', apply('--binlog', file, '--from-gtid', '0-4294967296-5'), '--from-gtid', '0-4294967296-5', 'server id 4294967296'],
    ['apply --from-gtid, MySQL', apply('--binlog', file, '--from-gtid', `${uuid}:1-9223372036854775808`), '--from-gtid', `${uuid}:1-9223372036854775808`, 'transaction number 9223372036854775808'],
  ];
  for (const [name, run, option, value, what] of cases) {
    it(`${name}: GTID_SET_SYNTAX naming the option and the text, exit 2`, async () => {
      const e = await rejection(run());
      expect(e).toBeInstanceOf(GtidSetError);
      expect(e).toMatchObject({ code: 'GTID_SET_SYNTAX', details: { option, value } });
      expect((e as Error).message).toContain(`${what} in GTID set "${value}" is larger than any server writes`);
      expect(exitCodeFor(e)).toBe(2);
    });
  }

  it('plan --from-gtid with two positions for one domain is the user\'s input (exit 2), not the DR\'s state (exit 1), and said before connecting', async () => {
    const e = await rejection(plan('--binlog', file, '--from-gtid', '0-1-5,0-2-6')());
    expect(e).toBeInstanceOf(GtidSetError);
    expect(e).toMatchObject({ code: 'GTID_SET_SYNTAX', message: '--from-gtid: two entries for domain 0 in "0-1-5,0-2-6" (a position has one per domain)', details: { option: '--from-gtid', value: '0-1-5,0-2-6' } });
    expect(exitCodeFor(e)).toBe(2);
  });

  it('plan --from-gtid that does not parse is refused before the binlogs are read or the DR connected', async () => {
    const e = await rejection(plan('--binlog', file, '--from-gtid', 'garbage')());
    expect(e).toMatchObject({ code: 'GTID_SET_SYNTAX', details: { option: '--from-gtid', value: 'garbage' } });
  });

  it('--failover-at: a MySQL transaction number past 2^63−1 (and 0) is BAD_OPTION naming the option and the text, exit 2', async () => {
    for (const value of [`${uuid}:9223372036854775808`, `${uuid}:0`, '0-1-18446744073709551616', '4294967296-1-5']) {
      const e = await rejection(plan('--binlog', file, '--dr-binlog', file, '--failover-at', value)());
      expect(e, value).toMatchObject({ code: 'BAD_OPTION', details: { option: '--failover-at', value } });
      expect(exitCodeFor(e)).toBe(2);
    }
  });

  it('explain GTID: a number no server writes is EXPLAIN_BAD_CHANGE (exit 2) before connecting, not "not in the ledger"', async () => {
    for (const [change, what] of [['0-1-99999999999999999999999', 'sequence number 99999999999999999999999'], ['4294967296-1-5#2', 'domain id 4294967296'], [`${uuid}:9223372036854775808`, 'transaction number 9223372036854775808']] as const) {
      const e = await rejection(runExplain([...TARGET, change], new Capture(), new Capture(), ENV));
      expect(e, change).toMatchObject({ code: 'EXPLAIN_BAD_CHANGE', details: { option: 'CHANGE', value: change } });
      expect((e as Error).message).toContain(`"${change}" names no change: ${what} in GTID set`);
      expect(exitCodeFor(e)).toBe(2);
    }
  });

  it('the library refuses the same before connecting: plan({ start: from-gtid }) and plan({ source: { start: { gtid } } })', async () => {
    const api = await import('../../src/index.js');
    const target = api.parseConnectionUrl('mysql://root@127.0.0.1:1', '--target');
    const fromGtid = await rejection(api.plan({ binlogs: [file], target, start: { kind: 'from-gtid', set: '0-1-99999999999999999999999' } }));
    expect(fromGtid).toMatchObject({ code: 'GTID_SET_SYNTAX', details: { option: '--from-gtid', value: '0-1-99999999999999999999999' } });
    const startGtid = await rejection(api.plan({ source: { target, start: { gtid: '0-4294967296-1' } }, target }));
    expect(startGtid).toMatchObject({ code: 'GTID_SET_SYNTAX', details: { option: '--start-gtid', value: '0-4294967296-1' } });
  });
});

describe('input that is no binlog', () => {
  it('plan and apply say a wrong or encrypted file before connecting to the DR (it said DB_CONNECT when the DR did not answer)', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'salvage-not-binlog-'));
    try {
      const notes = join(dir, 'notes.txt');
      await writeFile(notes, 'not a binlog\n');
      for (const command of ['plan', 'apply'] as const) {
        const e = await rejection(runSalvageCommand(command, ['--binlog', notes, '--from', 'notes.txt:4', '--reconnect-attempts', '0', ...TARGET], new Capture(), new Capture(), ENV));
        expect(e).toMatchObject({ code: 'BINLOG_BAD_MAGIC', details: { file: notes } });
        expect(exitCodeFor(e)).toBe(2);
      }
      const encrypted = join(import.meta.dirname, '../../../shared/fixtures/real-binlogs/local-mariadb-10.11/encrypted/enc-bin.000001');
      const e = await rejection(runSalvageCommand('plan', ['--binlog', encrypted, '--from', 'enc-bin.000001:4', '--reconnect-attempts', '0', ...TARGET], new Capture(), new Capture(), ENV));
      expect(e).toMatchObject({ code: 'BINLOG_ENCRYPTED' });
      expect(exitCodeFor(e)).toBe(2);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});

describe('an unknown option', () => {
  // A mistyped flag, as a DBA types it; each command's own parser, so every one of them is held to it.
  const commands: [string, (flag: string) => Promise<number>][] = [
    ['inspect', (f) => runInspect(['mysql-bin.000001', f, 'x'], new Capture(), new Capture(), {})],
    ['plan', (f) => runSalvageCommand('plan', ['--binlog', 'x', ...TARGET, f, 'x'], new Capture(), new Capture(), ENV)],
    ['apply', (f) => runSalvageCommand('apply', ['--binlog', 'x', ...TARGET, f, 'x'], new Capture(), new Capture(), ENV)],
    ['doctor', (f) => runDoctor([...TARGET, f, 'x'], new Capture(), new Capture(), ENV)],
    ['quarantine', (f) => runQuarantine(['list', ...TARGET, f, 'x'], new Capture(), new Capture(), ENV)],
    ['resolve', (f) => runResolve([...TARGET, f, 'x', 'decisions.jsonl'], new Capture(), new Capture(), ENV)],
    ['explain', (f) => runExplain([...TARGET, f, 'x', '0-1-1'], new Capture(), new Capture(), ENV)],
    ['report', (f) => runReport([...TARGET, f, 'x'], new Capture(), new Capture(), ENV)],
    ['config init', (f) => runConfigInit([...TARGET, f, 'x'], new Capture(), new Capture(), ENV)],
  ];
  for (const [command, run] of commands) {
    it(`${command}: named alone, with the command's --help, exit 2 (Node's advice to pass it after "--" left out)`, async () => {
      for (const [flag, named] of [['--dr-binlogs', '--dr-binlogs'], ['--dr-binlogs=x', '--dr-binlogs'], ['-Z', '-Z']] as const) {
        const e = await rejection(run(flag));
        expect(e).toBeInstanceOf(UsageError);
        expect((e as UsageError).message).toBe(`${command}: unknown option ${named}; see "salvage ${command.split(' ')[0]!} --help"`);
        expect((e as UsageError).details).toEqual({ option: named });
        expect(exitCodeFor(e)).toBe(2);
      }
    });
  }

  it("keeps Node's message for the other argument errors", () => {
    expect(() => parseCommandArgs('apply', { args: ['--target'], options: { target: { type: 'string' } } })).toThrow(
      new UsageError(`apply: Option '--target <value>' argument missing; see "salvage apply --help"`),
    );
  });
});

describe('an option that takes one value, given twice', () => {
  // parseArgs kept the last one silently: `--target DR --target PRIMARY` went to the primary. Each
  // command's own parser, as inspect already refused it (test/cli/inspect-filters.test.ts).
  const other = 'mysql://root@127.0.0.1:2';
  const commands: [string, (extra: string[]) => Promise<number>][] = [
    ['plan', (x) => runSalvageCommand('plan', ['--binlog', 'x', ...TARGET, ...x], new Capture(), new Capture(), ENV)],
    ['apply', (x) => runSalvageCommand('apply', ['--binlog', 'x', ...TARGET, ...x], new Capture(), new Capture(), ENV)],
    ['doctor', (x) => runDoctor([...TARGET, ...x], new Capture(), new Capture(), ENV)],
    ['quarantine', (x) => runQuarantine(['list', ...TARGET, ...x], new Capture(), new Capture(), ENV)],
    ['resolve', (x) => runResolve([...TARGET, ...x, 'decisions.jsonl'], new Capture(), new Capture(), ENV)],
    ['explain', (x) => runExplain([...TARGET, ...x, '0-1-1'], new Capture(), new Capture(), ENV)],
    ['report', (x) => runReport([...TARGET, ...x], new Capture(), new Capture(), ENV)],
    ['config init', (x) => runConfigInit([...TARGET, ...x], new Capture(), new Capture(), ENV)],
  ];
  for (const [command, run] of commands) {
    it(`${command}: refused with inspect's message, naming it, exit 2 (--target, and as --opt=value)`, async () => {
      // --reconnect-attempts 0: without the refusal a command fails fast on the closed port instead.
      for (const [extra, option] of [[['--target', other, '--reconnect-attempts', '0'], '--target'], [[`--target=${other}`, '--reconnect-attempts', '0'], '--target'], [['--reconnect-attempts', '0', '--reconnect-attempts=1'], '--reconnect-attempts']] as const) {
        const e = await rejection(run([...extra]));
        expect(e, extra.join(' ')).toBeInstanceOf(UsageError);
        expect((e as UsageError).message).toBe(`${option} was given twice; give it once`);
        expect((e as UsageError).details).toEqual({ option });
        expect(exitCodeFor(e)).toBe(2);
      }
    });
  }

  it('the options documented as adding up still do, and a repeated flag is one flag', async () => {
    const missing = '/nonexistent/mysql-bin.000001';
    const repeats: [string, () => Promise<number>][] = [
      ['plan --binlog twice', () => runSalvageCommand('plan', ['--binlog', missing, '--binlog', '/nonexistent/mysql-bin.000002', ...TARGET, '--reconnect-attempts', '0'], new Capture(), new Capture(), ENV)],
      ['apply --dr-binlog twice', () => runSalvageCommand('apply', ['--binlog', missing, '--dr-binlog', missing, '--dr-binlog', missing, ...TARGET, '--reconnect-attempts', '0'], new Capture(), new Capture(), ENV)],
      ['doctor --binlog twice', () => runDoctor([...TARGET, '--binlog', missing, '--binlog', missing, '--reconnect-attempts', '0', '--json'], new Capture(), new Capture(), ENV)],
      ['plan --quiet --quiet --json --json', () => runSalvageCommand('plan', ['--binlog', missing, ...TARGET, '--quiet', '--quiet', '--json', '--json', '--reconnect-attempts', '0'], new Capture(), new Capture(), ENV)],
      ['quarantine --json --json', () => runQuarantine(['list', ...TARGET, '--json', '--json', '--reconnect-attempts', '0'], new Capture(), new Capture(), ENV)],
      ['inspect --tables twice', () => runInspect([missing, '--tables', 'a.b', '--tables', 'c.d'], new Capture(), new Capture(), {})],
    ];
    for (const [what, run] of repeats) {
      // Each gets past its options and fails on the missing file or the closed port instead.
      const e = await run().catch((x: unknown) => x);
      expect(e instanceof UsageError && /given twice/.test(e.message), what).toBe(false);
    }
  });
});

describe('inspect --schema-from: a server that does not answer', () => {
  it('names --schema-from in the message, not only in details.option (inspect --source may name the same URL)', async () => {
    const binlog = join(import.meta.dirname, '../../../shared/fixtures/real-binlogs/local-mariadb-10.11/failover/primary/primary-bin.000001');
    const e = await rejection(runInspect([binlog, '--schema-from', 'mysql://root@127.0.0.1:1', '--reconnect-attempts', '0', '--quiet'], new Capture(), new Capture(), {}));
    expect(e).toMatchObject({ code: 'DB_CONNECT', details: { option: '--schema-from' } });
    expect((e as Error).message).toBe('--schema-from: cannot connect to mysql://root@127.0.0.1:1: connect ECONNREFUSED 127.0.0.1:1; not reconnecting (reconnect attempts: 0)');
    expect(exitCodeFor(e)).toBe(1);
  });
});
