import { mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import type { BinlogEvent } from '../binlog/event.js';
import type { EventHeader } from '../binlog/header.js';
import type { Gtid, TransactionItem } from '../binlog/transaction.js';
import type { BinlogFile } from './binlog-files.js';
import { checkBinlogHeads, checkFileNames, InputError, InputErrorCode, InputGuard } from './input-checks.js';
import { BinlogError, BinlogErrorCode } from '../errors.js';
import { readFileSync, statSync } from 'node:fs';
import type { ReadBatch } from './read-transactions.js';

const dir = mkdtempSync(join(tmpdir(), 'input-checks-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const header = (offset: number, flags = 0): EventHeader => ({ timestamp: 0, typeCode: 0, serverId: 1, size: 0, nextPosition: 0, flags, offset });
const fde = (flags = 0): BinlogEvent => ({ kind: 'format-description', header: header(4, flags), binlogVersion: 4, serverVersion: '10.11.19-MariaDB', createTimestamp: 0, headerLength: 19, postHeaderLengths: new Uint8Array(), checksumAlgorithm: 1, flavor: 'mariadb', inUse: false });
const list = (...gtids: [number, number, number][]): BinlogEvent => ({ kind: 'gtid-list', header: header(256), flags: 0, gtids: gtids.map(([domainId, serverId, seqNo]) => ({ domainId, serverId, seqNo: BigInt(seqNo) })) });
const mgtid = (d: number, s: number, n: number): BinlogEvent => ({ kind: 'mariadb-gtid', header: header(300), gtid: { domainId: d, serverId: s, seqNo: BigInt(n) }, flags: 0, standalone: false, commitId: null, xa: null });
const UUID = '3e11fa47-71ca-11e1-9e33-c80aa9429562';
const previous = (from: number, to: number): BinlogEvent => ({ kind: 'previous-gtids', header: header(120), sets: to < from ? [] : [{ uuid: UUID, tag: null, intervals: [{ start: BigInt(from), end: BigInt(to + 1) }] }] });
const ygtid = (n: number): BinlogEvent => ({
  kind: 'gtid', header: header(200), anonymous: false, uuid: UUID, tag: null, gno: BigInt(n), commitFlag: true, lastCommitted: null, sequenceNumber: null,
  immediateCommitTimestamp: null, originalCommitTimestamp: null, transactionLength: null, immediateServerVersion: null, originalServerVersion: null,
});
const committed = (file: string, g: Gtid): TransactionItem => ({ kind: 'transaction', tx: { gtid: g, file, pos: 300, end: 400, timestamp: 0, serverId: 1, changes: [], statements: [], annotations: [], statementMarks: [], xid: 1n, commit: 'xid' } });
const maria = (n: number): Gtid => ({ flavor: 'mariadb', domainId: 0, serverId: 1, seqNo: BigInt(n) });
const mysql = (n: number): Gtid => ({ flavor: 'mysql', uuid: UUID, tag: null, gno: BigInt(n) });

/** One file's batch: its events, and a committed transaction for each GTID event. */
function batch(file: string, events: BinlogEvent[]): ReadBatch {
  const items = events.flatMap((e) => (e.kind === 'mariadb-gtid' ? [committed(file, maria(Number(e.gtid.seqNo)))] : e.kind === 'gtid' ? [committed(file, mysql(Number(e.gno)))] : []));
  return { file, items, events, warnings: [], tail: null, bytesRead: 0, bytesTotal: 0, position: 0 };
}

function codeOf(fn: () => void): string | null {
  try {
    fn();
    return null;
  } catch (e) {
    expect(e).toBeInstanceOf(InputError);
    return (e as InputError).code;
  }
}

function run(files: [string, BinlogEvent[]][], allowRelayLog = false): string | null {
  const g = new InputGuard({ allowRelayLog });
  return codeOf(() => files.forEach(([f, ev]) => g.check(batch(f, ev))));
}

describe('InputGuard: the GTID state each file opens with continues the files before it', () => {
  const a: [string, BinlogEvent[]] = ['a', [fde(), list([0, 1, 4]), mgtid(0, 1, 5), mgtid(0, 1, 6)]];
  const b: [string, BinlogEvent[]] = ['b', [fde(), list([0, 1, 6]), mgtid(0, 1, 7)]];
  const c: [string, BinlogEvent[]] = ['c', [fde(), list([0, 1, 7]), mgtid(0, 1, 8)]];

  it('MariaDB: in order passes; a gap, an order, a repeat are refused', () => {
    expect(run([a, b, c])).toBeNull();
    expect(run([a, c])).toBe(InputErrorCode.Gap);
    expect(run([b, a, c])).toBe(InputErrorCode.OutOfOrder);
    expect(run([a, b, ['b again', b[1]]])).toBe(InputErrorCode.OutOfOrder);
    // Two files holding the same committed transaction, their lists saying nothing.
    expect(run([['x', [fde(), mgtid(0, 1, 5)]], ['y', [fde(), mgtid(0, 1, 5)]]])).toBe(InputErrorCode.Repeated);
  });

  it('MariaDB: a crash leaves a GTID event without its commit, and the next file opens after it', () => {
    const g = new InputGuard();
    const crashed = batch('a', [fde(), list([0, 1, 4]), mgtid(0, 1, 5)]);
    g.check({ ...crashed, items: [] });
    expect(codeOf(() => g.check(batch('b', [fde(), list([0, 1, 5]), mgtid(0, 1, 6)])))).toBeNull();
  });

  it('the gap message says what is missing and where', () => {
    const g = new InputGuard();
    g.check(batch(a[0], a[1]));
    expect(() => g.check(batch('/x/c', c[1]))).toThrow('c opens after 0-1-7 (its GTID list), but the files before it end at 0-1-6: 0-1-7 … 0-1-7 are in none of the files given — a file is missing before c, or a was cut short. Give the missing file, or a whole copy');
  });

  it('MySQL: PREVIOUS_GTIDS must lie between what was committed and what was begun', () => {
    const m1: [string, BinlogEvent[]] = ['m1', [fde(), previous(1, 10), ygtid(11), ygtid(12)]];
    const m2: [string, BinlogEvent[]] = ['m2', [fde(), previous(1, 12), ygtid(13)]];
    const m3: [string, BinlogEvent[]] = ['m3', [fde(), previous(1, 13), ygtid(14)]];
    expect(run([m1, m2, m3])).toBeNull();
    expect(run([m1, m3])).toBe(InputErrorCode.Gap);
    expect(run([m2, m1, m3])).toBe(InputErrorCode.OutOfOrder);
    expect(run([m1, m2, ['m2 again', m2[1]]])).toBe(InputErrorCode.OutOfOrder);
  });

  it('a relay log is refused unless allowed, and its lists are not compared', () => {
    const relay: [string, BinlogEvent[]] = ['r', [fde(0x40), fde(), list([0, 1, 99]), mgtid(0, 1, 100)]];
    expect(run([relay])).toBe(InputErrorCode.RelayLog);
    expect(run([a, relay], true)).toBeNull();
  });

  it('collects the origins: GTIDs and the lists\' entries', () => {
    const g = new InputGuard();
    g.check(batch('a', [fde(), list([0, 3, 9], [0, 1, 4]), mgtid(0, 1, 5), mgtid(7, 1, 1)]));
    expect([...g.origins.mariadb].sort()).toEqual(['0-1', '0-3', '7-1']);
  });
});

describe('checkFileNames', () => {
  const file = (name: string): BinlogFile => {
    const path = join(dir, name);
    writeFileSync(path, '');
    return { path, size: 0 };
  };

  it('a numbered series: in order passes; a gap, an order, a name twice are refused', async () => {
    const [f1, f2, f3] = [file('mysql-bin.000001'), file('mysql-bin.000002'), file('mysql-bin.000003')];
    await expect(checkFileNames([f1, f2, f3])).resolves.toBeUndefined();
    await expect(checkFileNames([f1, f3])).rejects.toMatchObject({ code: InputErrorCode.Gap, message: expect.stringMatching(/^mysql-bin\.000002 is missing between mysql-bin\.000001 and mysql-bin\.000003: /) as unknown });
    await expect(checkFileNames([f2, f1])).rejects.toMatchObject({ code: InputErrorCode.OutOfOrder });
    await expect(checkFileNames([f1, f1])).rejects.toMatchObject({ code: InputErrorCode.FileTwice });
    await expect(checkFileNames([file('mysql-bin.000001'), file('mysql-bin.000005')])).rejects.toThrow(/^3 files are missing between/);
  });

  it('the same file by another path (a link) is the same file', async () => {
    const f = file('primary-bin.000007');
    const link = join(dir, 'elsewhere');
    symlinkSync(f.path, link);
    await expect(checkFileNames([f, { path: link, size: 0 }])).rejects.toMatchObject({ code: InputErrorCode.FileTwice, message: `${link} is given twice (as ${f.path} too): each binlog file once, oldest first` });
  });

  it('names of several bases or without numbers are left to the content checks', async () => {
    await expect(checkFileNames([file('a.000002'), file('b.000001')])).resolves.toBeUndefined();
    await expect(checkFileNames([file('copy-1.bin'), file('copy-0.bin')])).resolves.toBeUndefined();
  });
});

describe('checkBinlogHeads: a file that is no binlog is said before anything else is asked', () => {
  const FIXTURES = join(import.meta.dirname, '../../../shared/fixtures/real-binlogs/local-mariadb-10.11');
  const at = (path: string): BinlogFile => ({ path, size: statSync(path).size });
  const thrown = async (files: BinlogFile[]): Promise<unknown> => checkBinlogHeads(files).then(() => null, (e: unknown) => e);

  it('passes binlogs, and a file cut inside its first events (the read reports such a tail)', async () => {
    const primary = join(FIXTURES, 'failover/primary/primary-bin.000001');
    expect(await thrown([at(primary), at(join(FIXTURES, 'failover/primary/primary-bin.000002'))])).toBeNull();
    const cut = join(dir, 'cut-bin.000001');
    writeFileSync(cut, readFileSync(primary).subarray(0, 60));
    expect(await thrown([at(cut)])).toBeNull();
  });

  it('refuses a file without the binlog magic, and an encrypted binlog, with the decoder\'s errors', async () => {
    const text = join(dir, 'notes.txt');
    writeFileSync(text, 'await new Promise(() => {});\n');
    const primary = join(FIXTURES, 'failover/primary/primary-bin.000001');
    const bad = await thrown([at(primary), at(text)]);
    expect(bad).toBeInstanceOf(BinlogError);
    expect(bad).toMatchObject({ code: BinlogErrorCode.BadMagic, details: { file: text } });
    const encrypted = await thrown([at(join(FIXTURES, 'encrypted/enc-bin.000001'))]);
    expect(encrypted).toMatchObject({ code: BinlogErrorCode.Encrypted, details: { file: join(FIXTURES, 'encrypted/enc-bin.000001') } });
  });
});
