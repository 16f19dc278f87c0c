/**
 * plan and apply read the lost range without the ANNOTATE_ROWS statement texts (DESIGN.md,
 * pitfalls: ≈ 41 % of a MariaDB binlog's bytes, and nothing in either reads them). The pre-scan is
 * where that shows from outside: its first and last lost transactions carry no annotations, where
 * the same file read with the decoder's defaults has them.
 */
import { resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { scanFiles } from '../../src/pipeline/checked-input.js';
import { createLostFilter } from '../../src/reconcile/lost-transactions.js';
import { resolveBinlogFiles } from '../../src/source/binlog-files.js';
import { readTransactions } from '../../src/source/read-transactions.js';
import { REAL_BINLOGS, haveRealBinlogs } from '../robustness/decode-properties.js';

// A MariaDB 10.11 primary's binlog, logged with binlog_annotate_row_events on (the server's default).
const FILE = resolve(REAL_BINLOGS, 'local-mariadb-10.11/failover/primary/primary-bin.000001');

describe.skipIf(!haveRealBinlogs)('the lost-range scan of plan and apply', () => {
  it('reads transactions without their ANNOTATE_ROWS texts, which the decoder keeps by default', async () => {
    const files = await resolveBinlogFiles([FILE]);
    // The file read with the decoder's defaults: its row transactions carry their statements.
    const withTexts = new Map<number, string[]>();
    for await (const batch of readTransactions(files)) {
      for (const item of batch.items) if (item.kind === 'transaction' && item.tx.changes.length > 0) withTexts.set(item.tx.pos, item.tx.annotations);
    }
    expect(withTexts.size).toBeGreaterThan(2);
    for (const texts of withTexts.values()) expect(texts.length).toBeGreaterThan(0);
    const from = Math.min(...withTexts.keys());

    const scan = await scanFiles(files, () => createLostFilter({ kind: 'from-position', file: files[0]!.path, pos: from }), {});
    expect(scan.damage).toBeNull();
    const { first, last } = scan.scan;
    expect(first?.pos).toBe(from);
    expect(last?.pos).toBe(Math.max(...withTexts.keys()));
    for (const tx of [first!, last!]) {
      expect(tx.changes.length).toBeGreaterThan(0);
      expect(tx.annotations).toEqual([]);
    }
  });
});
