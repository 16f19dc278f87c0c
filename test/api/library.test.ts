/** The README's library example, run as written against a real fixture, through the public entry points. */
import { readdirSync, readlinkSync } from 'node:fs';
import { resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { rejectionOf } from '../harness/error-of.js';
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
