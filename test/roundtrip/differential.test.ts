/**
 * Differential check: on binlogs a throwaway server writes for a mixed workload over many column
 * types, our decoded values match `mariadb-binlog --base64-output=decode-rows -vv FILE` value for
 * value, row change for row change (printing conventions in mariadb-binlog-vv.ts). Text columns
 * are limited to utf8mb4, utf8mb3 and latin1, whose bytes the comparison re-encodes exactly.
 * Seeded: ROUNDTRIP_SEED=<n> replays a run.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { RowImage } from '../../src/binlog/column.js';
import type { RowChange } from '../../src/binlog/transaction.js';
import { readTransactions } from '../../src/source/read-transactions.js';
import { withMariadb, type MariadbOptions } from '../harness/mariadb-server.js';
import { allFamilies, type ColumnSpec } from './column-catalog.js';
import { formatG, formatLikeMariadbBinlog, mariadbBinlogVerbose, parseVerboseRows, type VvCell, type VvRowChange } from './mariadb-binlog-vv.js';
import { executeCase, roundTripCase, SCHEMA } from './server-workload.js';

const SEED = Number(process.env['ROUNDTRIP_SEED'] ?? Math.floor(Math.random() * 2 ** 31));

interface Difference {
  readonly key: string;
  readonly detail: string;
}

/** What the comparison covered: cells compared and the type names mariadb-binlog printed. */
interface Coverage {
  cells: number;
  readonly types: Set<string>;
}

/** Compares one image cell by cell; `specs` names the generated columns (index 2 onwards). */
function compareImage(where: string, ours: RowImage | null, theirs: Map<number, VvCell> | null, ch: RowChange, specs: readonly ColumnSpec[] | undefined, out: Difference[], seen: Coverage): void {
  if ((ours === null) !== (theirs === null)) {
    out.push({ key: 'image presence', detail: `${where}: ours ${ours === null ? 'absent' : 'present'}, mariadb-binlog ${theirs === null ? 'absent' : 'present'}` });
    return;
  }
  if (ours === null || theirs === null) return;
  const cols = ch.table.columns;
  for (let i = 0; i < cols.length; i++) {
    const col = cols[i]!;
    const printed = theirs.get(i);
    const v = ours[i];
    const spec = i >= 2 ? specs?.[i - 2] : undefined;
    const label = `${spec?.ddl ?? col.name} (${printed?.typeName ?? 'not printed'})`;
    if (printed === undefined || v === undefined) {
      if (printed !== undefined || v !== undefined) out.push({ key: `${spec?.family ?? col.name}: logged-column mismatch`, detail: `${where} @${i + 1} ${label}: ours ${v === undefined ? 'undefined' : 'a value'}, mariadb-binlog ${printed === undefined ? 'nothing' : printed.text}` });
      continue;
    }
    seen.cells++;
    seen.types.add(printed.typeName.replace(/\(.*/, ''));
    let mine: string;
    try {
      mine = formatLikeMariadbBinlog(v, col);
    } catch (e) {
      mine = `<cannot format: ${(e as Error).message}>`;
    }
    if (mine !== printed.text) {
      const show = (s: string) => JSON.stringify(s.length > 160 ? s.slice(0, 160) + '…' : s);
      out.push({ key: `${spec?.family ?? col.name}`, detail: `${where} @${i + 1} ${label}: mariadb-binlog ${show(printed.text)}, ours ${show(mine)}` });
    }
  }
}

function summarize(diffs: readonly Difference[], perKey = 3): string {
  const groups = new Map<string, string[]>();
  for (const d of diffs) groups.set(d.key, [...(groups.get(d.key) ?? []), d.detail]);
  return [...groups].map(([k, ds]) => `${k}: ${ds.length}\n${ds.slice(0, perKey).map((d) => `    ${d}`).join('\n')}`).join('\n');
}

const VARIANTS: ReadonlyArray<{ name: string; server: MariadbOptions }> = [
  { name: 'row image FULL', server: {} },
  { name: 'row image MINIMAL', server: { rowImage: 'MINIMAL' } },
];

describe('differential: our decoder against mariadb-binlog -vv', () => {
  it.each(VARIANTS)(`$name: every value as mariadb-binlog prints it (seed ${SEED})`, { timeout: 120_000 }, async (variant) => {
    await withMariadb({ name: `differential-${variant.server.rowImage ?? 'full'}`, ...variant.server }, async (server) => {
      const families = allFamilies(['utf8mb4', 'utf8mb3', 'latin1']);
      const cases = fc.sample(roundTripCase({ rows: 120, extraColumns: 6, families }), { seed: SEED, numRuns: 2 });
      const specsByTable = new Map<string, readonly ColumnSpec[]>();
      const tables: string[] = [];
      for (const c of cases) {
        const done = await executeCase(server, c, { flush: false });
        specsByTable.set(done.tableName, c.columns);
        tables.push(done.table);
      }
      // A mixed transaction over both tables: INSERT … SELECT, UPDATE and DELETE in one commit.
      const [t1, t2] = tables as [string, string];
      await server.query(`BEGIN; INSERT INTO ${t1} SELECT id + 1000, rev, ${cases[0]!.columns.map((_, i) => `c${i}`).join(', ')} FROM ${t1} WHERE id <= 15; UPDATE ${t2} SET rev = rev + 10 WHERE id <= 30; DELETE FROM ${t1} WHERE id BETWEEN 1001 AND 1005; DELETE FROM ${t2} WHERE id > 100; COMMIT`);
      await server.flushBinaryLogs();
      const files = await server.binlogFiles();

      const ours: RowChange[] = [];
      for await (const batch of readTransactions(files)) {
        for (const item of batch.items) if (item.kind === 'transaction') ours.push(...item.tx.changes.filter((ch) => ch.table.schema === SCHEMA));
      }
      const theirs: VvRowChange[] = [];
      for (const f of files) theirs.push(...parseVerboseRows(await mariadbBinlogVerbose(f)).filter((ch) => ch.schema === SCHEMA));

      expect(ours.length).toBeGreaterThan(300);
      const diffs: Difference[] = [];
      const seen: Coverage = { cells: 0, types: new Set() };
      if (ours.length !== theirs.length) diffs.push({ key: 'row change count', detail: `ours ${ours.length}, mariadb-binlog ${theirs.length}` });
      for (let k = 0; k < Math.min(ours.length, theirs.length); k++) {
        const a = ours[k]!;
        const b = theirs[k]!;
        const where = `change #${k} ${a.op} ${a.table.table}`;
        if (a.op !== b.op || a.table.table !== b.table) {
          diffs.push({ key: 'row change order', detail: `${where}: mariadb-binlog has ${b.op} ${b.table}` });
          continue;
        }
        const specs = specsByTable.get(a.table.table);
        compareImage(`${where} before`, a.before, b.before, a, specs, diffs, seen);
        compareImage(`${where} after`, a.after, b.after, a, specs, diffs, seen);
      }
      // Every kind of value the tool prints was compared, and plenty of cells.
      const required = ['BIT', 'DATE', 'DATETIME', 'DECIMAL', 'DOUBLE', 'ENUM', 'FLOAT', 'GEOMETRY', 'INT', 'LONGBLOB/LONGTEXT', 'LONGINT', 'MEDIUMINT', 'SET', 'SHORTINT', 'STRING', 'TIME', 'TIMESTAMP', 'TINYINT', 'VARSTRING', 'YEAR'];
      expect(required.filter((t) => !seen.types.has(t))).toEqual([]);
      expect(seen.cells).toBeGreaterThan(variant.server.rowImage === 'MINIMAL' ? 10_000 : 20_000);
      if (diffs.length > 0) expect.fail(`ROUNDTRIP_SEED=${SEED} (${variant.name}): ${diffs.length} difference(s)\n${summarize(diffs)}`);
    });
  });
});

describe('printf %g as mariadb-binlog prints FLOAT and DOUBLE', () => {
  it('matches glibc on exact values, ties to even and exponents', () => {
    expect(formatG(0.1, 6)).toBe('0.1');
    expect(formatG(Math.fround(0.1), 20)).toBe('0.10000000149011611938');
    expect(formatG(3.4028234663852886e38, 6)).toBe('3.40282e+38');
    expect(formatG(-1.401298464324817e-45, 6)).toBe('-1.4013e-45');
    expect(formatG(0.30000000000000004, 20)).toBe('0.30000000000000004441');
    expect(formatG(9370.328532531857, 20)).toBe('9370.3285325318574905');
    expect(formatG(12345.25, 6)).toBe('12345.2');
    expect(formatG(12345.75, 6)).toBe('12345.8');
    expect(formatG(999999.5, 6)).toBe('1e+06');
    expect(formatG(100000, 6)).toBe('100000');
    expect(formatG(1e-4, 6)).toBe('0.0001');
    expect(formatG(1e-5, 6)).toBe('1e-05');
    expect(formatG(-0, 6)).toBe('-0');
    expect(formatG(5e-324, 20)).toBe('4.9406564584124654418e-324');
  });
});
