/** The README's library example, run as written against a real fixture, through the public entry points. */
import { readdirSync, readlinkSync } from 'node:fs';
import { resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openSession } from '../../src/db/sql-session.js';
import { rejectionOf } from '../harness/error-of.js';
import { freePort } from '../harness/free-port.js';
import { startMariadb, type MariadbServer } from '../harness/mariadb-server.js';
import { SMALL_INCIDENT, stageSmallIncident } from '../harness/small-incident.js';
import * as api from '../../src/index.js';
import * as binlog from '../../src/binlog/index.js';

const PRIMARY = resolve(import.meta.dirname, '../../../shared/fixtures/real-binlogs/local-mariadb-10.11/failover/primary');

describe('library API', () => {
  it('readTransactions over an .index file yields committed transactions and reports the tail', async () => {
    const gtids: string[] = [];
    let incomplete = 0;
    for await (const batch of api.readTransactions([`${PRIMARY}/primary-bin.index`])) {
      for (const item of batch.items) {
        if (item.kind === 'transaction') gtids.push(item.tx.gtid ? api.gtidText(item.tx.gtid) : '-');
        else incomplete++;
      }
    }
    expect(gtids[0]).toBe('0-1-1');
    expect(gtids).toContain('0-1-13');
    expect(new Set(gtids).size).toBe(gtids.length);
    expect(incomplete).toBe(0);
  });

  it('exports the decoder, its errors and the canonical JSON from both entry points', () => {
    expect(binlog.BinlogDecoder).toBe(api.BinlogDecoder);
    expect(new api.BinlogError(api.BinlogErrorCode.BadMagic, 'x')).toBeInstanceOf(api.EngineError);
    const d = new binlog.BinlogDecoder({ file: 'mem' });
    expect(() => d.push(Buffer.from('not a binlog'))).toThrow(expect.objectContaining({ code: 'BINLOG_BAD_MAGIC' }));
    expect(api.GtidSet.parse('0-1-13-22,7-1-1').toString()).toBe('0-1-13-22,7-1-1');
  });

  it('exports redactSecrets, which transactionToJson takes as its sqlText (salvage inspect --json does)', () => {
    const statements = [{ sql: "CREATE USER 'app'@'%' IDENTIFIED BY 'S3cret!'", schema: '', offset: 4 }];
    const tx: api.Transaction = { gtid: null, file: 'mem', pos: 4, end: 100, timestamp: 0, serverId: 1, changes: [], statements, annotations: [], statementMarks: [], xid: null, commit: 'ddl' };
    expect(api.transactionToJson(tx)).toContain("IDENTIFIED BY 'S3cret!'");
    expect(JSON.parse(api.transactionToJson(tx, { sqlText: api.redactSecrets }))['statements']).toEqual([{ schema: '', sql: `CREATE USER 'app'@'%' IDENTIFIED BY ${api.REDACTED}` }]);
  });
});

describe('library API: the reconcile engine', () => {
  it('exports plan, apply and readBinlog; readBinlog yields the committed transactions in order', async () => {
    expect(typeof api.plan).toBe('function');
    expect(typeof api.apply).toBe('function');
    const gtids: string[] = [];
    for await (const tx of api.readBinlog([`${PRIMARY}/primary-bin.index`])) gtids.push(tx.gtid ? api.gtidText(tx.gtid) : '-');
    expect(gtids[0]).toBe('0-1-1');
    expect(gtids).toContain('0-1-13');
    expect(new Set(gtids).size).toBe(gtids.length);
  });

  it('readBinlog stops when its signal aborts', async () => {
    const ac = new AbortController();
    ac.abort();
    const read = async (): Promise<number> => {
      let n = 0;
      for await (const _ of api.readBinlog([`${PRIMARY}/primary-bin.index`], { signal: ac.signal })) n++;
      return n;
    };
    await expect(read()).rejects.toThrow();
  });
});

describe('library API: a stopped read is the engine\'s typed error', () => {
  const FIRST = `${PRIMARY}/primary-bin.000001`;

  it('an aborted readBinlog / readTransactions rejects with SourceError SOURCE_ABORTED, the signal\'s reason as cause', async () => {
    const ac = new AbortController();
    const reason = new Error('shutting down');
    ac.abort(reason);
    const read = async (): Promise<void> => {
      for await (const tx of api.readBinlog([FIRST], { signal: ac.signal })) void tx;
    };
    const e = await rejectionOf(read());
    expect(e).toBeInstanceOf(api.SourceError);
    expect(e).toMatchObject({ code: api.SourceErrorCode.Aborted, retryable: false, cause: reason });
  });

  it('aborted between chunks, the read names the file and offset and closes the file', async () => {
    const ac = new AbortController();
    let batches = 0;
    const read = async (): Promise<void> => {
      for await (const batch of api.readTransactions([FIRST], { signal: ac.signal, chunkSize: 4096 })) {
        if (++batches === 2) ac.abort();
        void batch;
      }
    };
    const e = await rejectionOf(read());
    expect(e).toBeInstanceOf(api.SourceError);
    expect((e as api.SourceError).code).toBe('SOURCE_ABORTED');
    expect((e as api.SourceError).details).toEqual({ file: FIRST, offset: 8192 });
    expect(openFiles(FIRST)).toBe(0);
  });

  it('a chunkSize below 1 is BAD_OPTION (0 read every file as empty: BINLOG_BAD_MAGIC; -1 a raw RangeError)', async () => {
    for (const chunkSize of [0, -1, 1.5, Number.NaN]) {
      const read = async (): Promise<void> => {
        for await (const tx of api.readBinlog([FIRST], { chunkSize })) void tx;
      };
      const e = await rejectionOf(read());
      expect(e, String(chunkSize)).toBeInstanceOf(api.SourceError);
      expect(e, String(chunkSize)).toMatchObject({ code: api.SourceErrorCode.BadOption, details: { option: 'chunkSize' } });
    }
  });

  it('breaking out of readBinlog early closes the file', async () => {
    for await (const tx of api.readBinlog([FIRST])) {
      void tx;
      break;
    }
    expect(openFiles(FIRST)).toBe(0);
  });
});

/** How many of this process's descriptors are open on `path`. */
function openFiles(path: string): number {
  return readdirSync('/proc/self/fd').filter((fd) => {
    try {
      return readlinkSync(`/proc/self/fd/${fd}`) === path;
    } catch {
      return false;
    }
  }).length;
}

describe('library API against servers: typed errors, callbacks, options', () => {
  let primary: MariadbServer;
  let dr: MariadbServer;
  let files: string[];
  let start: string;

  beforeAll(async () => {
    [primary, dr] = await Promise.all([startMariadb({ name: 'libapi-primary' }), startMariadb({ name: 'libapi-dr', serverId: 2 })]);
    ({ start, files } = await stageSmallIncident(primary, dr));
  }, 120_000);

  afterAll(async () => {
    await Promise.all([primary?.stop(), dr?.stop()]);
  });

  const options = (): api.SalvageRunOptions => ({
    binlogs: files,
    target: dr.target,
    start: { kind: 'from-gtid', set: start },
    logicalReferences: SMALL_INCIDENT.references,
  });
  const schemas = async (): Promise<string[]> =>
    ((await dr.query("SELECT SCHEMA_NAME AS s FROM information_schema.SCHEMATA WHERE SCHEMA_NAME LIKE 'salv%' ORDER BY 1")) as { s: string }[]).map((r) => r.s);
  const ledgerCount = async (schema: string): Promise<number> => Number(((await dr.query(`SELECT COUNT(*) AS n FROM ${schema}.ledger`)) as { n: number }[])[0]!.n);

  it('an empty binlogs list, or a configuration not passed through parseConfig, is BAD_OPTION before anything runs', async () => {
    const empty = await rejectionOf(api.plan({ ...options(), binlogs: [] }));
    expect(empty).toBeInstanceOf(api.SalvageError);
    expect(empty).toMatchObject({ code: api.SalvageErrorCode.BadOption, details: { option: '--binlog' } });
    const raw = { tables: { 'shop.customers': { onConflict: { 'update-diverged': 'dr' } } } };
    const unparsed = await rejectionOf(api.plan({ ...options(), config: raw as unknown as api.NormalisedConfig }));
    expect(unparsed).toBeInstanceOf(api.SalvageError);
    expect(unparsed).toMatchObject({ code: api.SalvageErrorCode.BadOption, details: { option: '--config' } });
    // What strict TypeScript refuses, from a plain JavaScript caller: a TypeError deep inside before.
    const untyped = (o: Record<string, unknown>): api.SalvageRunOptions => ({ ...options(), ...o }) as unknown as api.SalvageRunOptions;
    for (const [o, option] of [
      [{ binlogs: files[0] }, '--binlog'],
      [{ start: { kind: 'from-gtdi', set: start } }, '--from'],
      [{ ddl: 'maybe' }, '--ddl'],
      [{ target: undefined }, '--target'],
    ] as const) {
      expect(await rejectionOf(api.plan(untyped(o))), option).toMatchObject({ code: api.SalvageErrorCode.BadOption, details: { option } });
    }
    expect(await schemas()).toEqual([]);
  });

  it('a window limit below 1 (which never closed a window: the process spun) is BAD_OPTION naming the option', async () => {
    for (const [bad, option] of [
      [{ windowTransactions: 0 }, 'windowTransactions'],
      [{ windowTransactions: -5 }, 'windowTransactions'],
      [{ windowRows: 0 }, 'windowRows'],
      [{ windowRows: Number.NaN }, 'windowRows'],
      [{ reconnect: { attempts: 1.5 } }, 'reconnect.attempts'],
    ] as const) {
      const e = await rejectionOf(api.plan({ ...options(), ...bad }));
      expect(e, option).toBeInstanceOf(api.SalvageError);
      expect(e, option).toMatchObject({ code: api.SalvageErrorCode.BadOption, details: { option } });
    }
  });

  it('a refused account is DB_CONNECT not retryable (errno 1045), for a run and for inspect\'s schemaFrom; a server that does not answer is DB_CONNECT retryable', async () => {
    const denied = await rejectionOf(api.plan({ ...options(), target: api.parseConnectionUrl(`mysql://nobody:wrong@127.0.0.1:${dr.port}`, 'target') }));
    expect(denied).toBeInstanceOf(api.DatabaseError);
    expect(denied).toMatchObject({ code: api.SqlSessionErrorCode.Connect, retryable: false, details: { errno: 1045 } });
    const inspect = async (): Promise<void> => {
      for await (const item of api.inspectBinlogs(files, { schemaFrom: api.parseConnectionUrl(`mysql://nobody:wrong@127.0.0.1:${dr.port}`, '--schema-from') })) void item;
    };
    expect(await rejectionOf(inspect())).toMatchObject({ code: api.SqlSessionErrorCode.Connect, retryable: false, details: { errno: 1045, option: '--schema-from' } });
    const port = await freePort();
    // Tried again under the run's reconnect policy (the first connection included), then the last failure.
    const silent = await rejectionOf(api.plan({ ...options(), target: api.parseConnectionUrl(`mysql://root@127.0.0.1:${port}`, 'target'), reconnect: { attempts: 1, initialDelayMs: 10 } }));
    expect(silent).toBeInstanceOf(api.DatabaseError);
    expect(silent).toMatchObject({ code: api.SqlSessionErrorCode.Connect, retryable: true, details: { attempts: 2 } });
    expect((silent as Error).message).toMatch(/; gave up after 2 connection attempts \(the first and 1 reconnect attempt\(s\)\); plan wrote nothing$/);
  });

  it('a live read whose signal is already aborted rejects with LIVE_ABORTED, not the platform AbortError', async () => {
    const control = await openSession(primary.target);
    try {
      const ac = new AbortController();
      ac.abort();
      const read = async (): Promise<void> => {
        for await (const batch of api.readLiveTransactions(primary.target, { control, follow: true, signal: ac.signal })) void batch;
      };
      const e = await rejectionOf(read());
      expect(e).toBeInstanceOf(api.LiveSourceError);
      expect((e as api.LiveSourceError).code).toBe(api.LiveSourceErrorCode.Aborted);
    } finally {
      await control.end();
    }
  });

  it('readLiveTransactions opens its own control session when given none, reads to the end and leaves no connection behind', async () => {
    const connections = async (): Promise<number> => ((await primary.query('SELECT ID FROM information_schema.PROCESSLIST WHERE ID <> CONNECTION_ID()')) as unknown[]).length;
    const before = await connections();
    const gtids: string[] = [];
    for await (const batch of api.readLiveTransactions(primary.target)) {
      for (const item of batch.items) if (item.kind === 'transaction' && item.tx.gtid) gtids.push(api.gtidText(item.tx.gtid));
    }
    expect(gtids[0]).toBe('0-1-1');
    expect(gtids).toHaveLength(new Set(gtids).size);
    expect(gtids.length).toBeGreaterThanOrEqual(SMALL_INCIDENT.lost.length);
    let after = await connections();
    for (let i = 0; i < 40 && after !== before; i++) {
      await new Promise((r) => setTimeout(r, 50));
      after = await connections();
    }
    expect(after).toBe(before);
  });

  it("apply keeps its state in the configuration's stateSchema, as the CLI does with the same file", async () => {
    const parsed = api.parseConfig({ stateSchema: 'salv_cfg' });
    if (!parsed.ok) throw new Error(api.formatProblems(parsed.problems));
    const report = await api.apply({ ...options(), config: parsed.config });
    expect(report.outcomes).toEqual({ applied: 1, merged: 1, remapped: 2, skipped: 0, quarantined: 2 });
    expect(await schemas()).toEqual(['salv_cfg']);
    expect(await ledgerCount('salv_cfg')).toBe(6);
  });

  it('an apply aborted between windows rejects with SALVAGE_ABORTED naming the checkpoint it resumes from; the resume applies the rest once', async () => {
    const ac = new AbortController();
    const e = await rejectionOf(api.apply({ ...options(), stateSchema: 'salv_abort', windowTransactions: 2, signal: ac.signal, onProgress: () => ac.abort() }));
    expect(e).toBeInstanceOf(api.SalvageError);
    const checkpoint = ((await dr.query("SELECT binlog_file, binlog_pos FROM salv_abort.checkpoint")) as { binlog_file: string; binlog_pos: number }[])[0]!;
    expect(e).toMatchObject({ code: api.SalvageErrorCode.Aborted, details: { committedThrough: `${checkpoint.binlog_file}:${checkpoint.binlog_pos}` } });
    expect(await ledgerCount('salv_abort')).toBe(2);
    const rest = await api.apply({ ...options(), stateSchema: 'salv_abort' });
    expect(rest.lost.transactions).toBe(4);
    expect(await ledgerCount('salv_abort')).toBe(6);
  });

  it('a callback that throws stops the run with SALVAGE_CALLBACK_THREW (its error as cause); the same apply again resumes exactly once', async () => {
    const boom = new Error('the application failed');
    let lines = 0;
    const e = await rejectionOf(
      api.apply({
        ...options(),
        stateSchema: 'salv_cb',
        onLedger: () => {
          lines++;
          throw boom;
        },
      }),
    );
    expect(e).toBeInstanceOf(api.SalvageError);
    expect(e).toMatchObject({ code: api.SalvageErrorCode.CallbackThrew, details: { option: 'onLedger' }, cause: boom });
    expect(lines).toBe(1);
    // The window had committed before its ledger lines were handed over: all six decisions are recorded, once.
    expect(await ledgerCount('salv_cb')).toBe(6);
    const again = await api.apply({ ...options(), stateSchema: 'salv_cb', onProgress: () => undefined });
    expect(again.lost.transactions).toBe(0);
    expect(await ledgerCount('salv_cb')).toBe(6);

    const progress = await rejectionOf(api.plan({ ...options(), onProgress: () => { throw boom; } }));
    expect(progress).toMatchObject({ code: api.SalvageErrorCode.CallbackThrew, details: { option: 'onProgress' }, cause: boom });
    const sql = await rejectionOf(api.plan({ ...options(), onSql: () => { throw boom; } }));
    expect(sql).toMatchObject({ code: api.SalvageErrorCode.CallbackThrew, details: { option: 'onSql' }, cause: boom });
  });
});
