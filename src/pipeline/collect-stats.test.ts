/**
 * collectStats counts without a filter object when no filter option is set (countItems): the
 * counts must be those the filter gives, with and without options.
 */
import { resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { resolveBinlogFiles } from '../source/binlog-files.js';
import { collectStats, type PlainFilter } from './collect-stats.js';

const FILE = resolve(import.meta.dirname, '../../../shared/fixtures/real-binlogs/local-mariadb-10.11/failover/primary/primary-bin.000001');

async function count(filter: PlainFilter): Promise<{ transactions: number; rowChanges: number; tables: string[]; first: string | null; last: string | null }> {
  const r = await collectStats({ ranges: await resolveBinlogFiles([FILE]), allFiles: [FILE], filter, verifyChecksums: true });
  return { transactions: r.stats.transactions, rowChanges: r.stats.rowChanges, tables: r.stats.tables.map(([name]) => name), first: r.stats.firstGtid, last: r.stats.lastGtid };
}

describe('collectStats', () => {
  it('counts every transaction when no filter option is set', async () => {
    expect(await count({})).toEqual({ transactions: 17, rowChanges: 14, tables: ['shop.customers', 'shop.orders', 'shop.audit_nopk'], first: '0-1-1', last: '0-1-17' });
  });

  it('counts the same when an option is set but undefined', async () => {
    expect(await count({ tables: undefined, startPosition: undefined })).toEqual(await count({}));
  });

  it('applies a table filter', async () => {
    // With the row changes, the statements on shop.orders: its CREATE TABLE (0-1-5), and CREATE
    // DATABASE shop (0-1-3), which names no table and is logged in database shop.
    expect(await count({ tables: ['shop.orders'] })).toEqual({ transactions: 5, rowChanges: 4, tables: ['shop.orders'], first: '0-1-3', last: '0-1-15' });
  });

  it('applies position filters, and stops at the stop position', async () => {
    expect(await count({ startPosition: 3568, stopPosition: 4366 })).toEqual({ transactions: 1, rowChanges: 2, tables: ['shop.customers'], first: '0-1-8', last: '0-1-8' });
  });

  it('applies GTID filters', async () => {
    expect(await count({ excludeGtids: '0-1-1-16' })).toEqual({ transactions: 1, rowChanges: 1, tables: ['shop.customers'], first: '0-1-17', last: '0-1-17' });
  });
});
