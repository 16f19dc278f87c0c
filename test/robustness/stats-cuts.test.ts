/**
 * `inspect --stats` on several threads cuts its input at transaction starts into jobs
 * (pipeline/parallel-stats.ts: 3·threads jobs of falling size once the input is large, taken by
 * whichever thread is free). The cut input must count exactly what one pass counts. fast-check
 * generates MariaDB binlogs (CRC32) of committed transactions over tables of every column type
 * MariaDB logs, with NULLs, updates and deletes, and of the groups whose end depends on what
 * follows: a group never committed (a crash; the next GTID event ends it), a rolled-back group, a
 * standalone DDL, and XA transactions prepared in one group and committed (or not) groups later.
 *
 * - In this thread: every job plan gives, merged, the counts, incomplete groups, tails, warnings
 *   and bytes of one pass; a job that ends at a cut holding a prepared XA transaction says so
 *   (`splitXa`) exactly when a cut lies between that XA PREPARE and its XA COMMIT.
 * - Through the built worker (dist/, `npm run build` first): parallelStats on 2 and 3 threads
 *   equals 1 thread, XA split included (it then counts again in one pass).
 */
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import fc from 'fast-check';
import { afterAll, describe, expect, it } from 'vitest';
import type { ColumnDef } from '../../src/binlog/column.js';
import { ColumnType } from '../../src/binlog/column-types.js';
import { collectStats, type StatsResult } from '../../src/pipeline/collect-stats.js';
import { jobWeights, mergeResults, planRanges, type ParallelStatsOptions, type ParallelStatsResult } from '../../src/pipeline/parallel-stats.js';
import { resolveBinlogFiles } from '../../src/source/binlog-files.js';
import { BinlogWriter, type Cell } from '../harness/binlog-writer.js';
import { arbColumns, arbEncodedValue, toWriterColumn } from '../roundtrip/arbitraries.js';

const SEED = Number(process.env['FC_SEED'] ?? 20261126);
const RUNS = Number(process.env['FC_RUNS'] ?? 40);
const DIR = mkdtempSync(path.join(tmpdir(), 'stats-cuts-'));
afterAll(() => rmSync(DIR, { recursive: true, force: true }));

// ---- generated binlogs ------------------------------------------------------------------------

interface GenRows {
  readonly kind: 'write' | 'update' | 'delete';
  /** Per row: the image (write, delete) or the before and after images (update). */
  readonly images: ReadonlyArray<readonly Cell[]>;
}

type GenGroup =
  | { readonly kind: 'commit' | 'open' | 'rollback'; readonly table: number; readonly rows: readonly GenRows[] }
  | { readonly kind: 'ddl' }
  /** Prepared here; its XA COMMIT (or XA ROLLBACK) comes `after` groups later, or never when the file ends first. */
  | { readonly kind: 'xa'; readonly table: number; readonly rows: readonly GenRows[]; readonly after: number; readonly rollback: boolean };

interface GenBinlog {
  readonly tables: readonly ColumnDef[][];
  readonly groups: readonly GenGroup[];
}

function arbImage(columns: readonly ColumnDef[]): fc.Arbitrary<Cell[]> {
  return fc.tuple(...columns.map((c) => (c.nullable ? fc.option(arbEncodedValue(c).map((v) => v.bytes), { freq: 4 }) : arbEncodedValue(c).map((v) => v.bytes))));
}

function arbRows(columns: readonly ColumnDef[]): fc.Arbitrary<GenRows> {
  return fc.constantFrom('write', 'update', 'delete').chain((kind) =>
    fc.array(arbImage(columns), { minLength: kind === 'update' ? 2 : 1, maxLength: 4 }).map((images) => ({
      kind,
      // An update row is a before and an after image: an even count.
      images: kind === 'update' ? images.slice(0, images.length & ~1) : images,
    })),
  );
}

function arbGroup(tables: readonly ColumnDef[][]): fc.Arbitrary<GenGroup> {
  const onTable = fc.integer({ min: 0, max: tables.length - 1 }).chain((table) => fc.tuple(fc.constant(table), fc.array(arbRows(tables[table]!), { minLength: 1, maxLength: 3 })));
  return fc.oneof(
    { weight: 12, arbitrary: onTable.map(([table, rows]): GenGroup => ({ kind: 'commit', table, rows })) },
    { weight: 1, arbitrary: onTable.map(([table, rows]): GenGroup => ({ kind: 'open', table, rows })) },
    { weight: 1, arbitrary: onTable.map(([table, rows]): GenGroup => ({ kind: 'rollback', table, rows })) },
    { weight: 1, arbitrary: fc.constant<GenGroup>({ kind: 'ddl' }) },
    {
      weight: 2,
      arbitrary: fc
        .tuple(onTable, fc.integer({ min: 0, max: 6 }), fc.boolean())
        .map(([[table, rows], after, rollback]): GenGroup => ({ kind: 'xa', table, rows, after, rollback: rollback && after % 3 === 0 })),
    },
  );
}

const arbBinlog: fc.Arbitrary<GenBinlog> = fc
  .array(arbColumns('mariadb', { minColumns: 1, maxColumns: 6 }), { minLength: 1, maxLength: 3 })
  .chain((tables) => fc.array(arbGroup(tables), { minLength: 10, maxLength: 60 }).map((groups) => ({ tables, groups })));

/** Where an XA transaction was prepared and where the group that ends it starts (null: never). */
interface XaSpan {
  readonly prepared: number;
  readonly ended: number | null;
}

/** Writes the binlog; returns its bytes and the XA spans (offsets of the PREPARE event and of the ending group). */
function writeBinlog(gen: GenBinlog): { bytes: Buffer; xa: XaSpan[] } {
  const w = new BinlogWriter({ flavor: 'mariadb' });
  w.formatDescription().gtidList([]).binlogCheckpoint('cuts-bin.000001');
  let seq = 0;
  const gtid = (standalone: boolean): BinlogWriter => w.mariadbGtid({ domainId: 0, seqNo: ++seq, standalone });
  const rows = (table: number, list: readonly GenRows[]): void => {
    const columns = gen.tables[table]!;
    w.annotateRows(`-- rows of t${table}`);
    w.tableMap({ tableId: 100 + table, db: 'cuts', table: `t${table}`, columns: columns.map((c) => toWriterColumn(c, 'mariadb')), metadata: 'full' });
    for (const r of list) {
      const images = r.kind === 'update' ? Array.from({ length: r.images.length / 2 }, (_, i) => ({ before: r.images[2 * i]!, after: r.images[2 * i + 1]! })) : r.images.map((image) => (r.kind === 'write' ? { after: image } : { before: image }));
      w.rows({ kind: r.kind, version: 1, tableId: 100 + table, rows: images });
    }
  };
  /** XA transactions waiting for their XA COMMIT: groups still to pass, and their span. */
  const pending: Array<{ left: number; xid: string; rollback: boolean; span: { prepared: number; ended: number | null } }> = [];
  const spans: Array<{ prepared: number; ended: number | null }> = [];
  let xaCount = 0;
  for (const g of gen.groups) {
    for (const p of pending.filter((x) => x.left-- === 0)) {
      p.span.ended = w.position;
      gtid(true).query({ sql: `XA ${p.rollback ? 'ROLLBACK' : 'COMMIT'} ${p.xid}`, db: 'cuts' });
      pending.splice(pending.indexOf(p), 1);
    }
    switch (g.kind) {
      case 'commit':
        gtid(false);
        rows(g.table, g.rows);
        w.xid(seq);
        break;
      case 'open':
        gtid(false);
        rows(g.table, g.rows);
        break;
      case 'rollback':
        gtid(false);
        rows(g.table, g.rows);
        w.query({ sql: 'ROLLBACK', db: 'cuts' });
        break;
      case 'ddl':
        gtid(true).query({ sql: `CREATE TABLE d${seq} (a INT)`, db: 'cuts' });
        break;
      case 'xa': {
        const gtrid = `x${++xaCount}`;
        const xid = `X'${Buffer.from(gtrid).toString('hex')}',X'',1`;
        gtid(false).query({ sql: `XA START ${xid}`, db: 'cuts' });
        rows(g.table, g.rows);
        w.query({ sql: `XA END ${xid}`, db: 'cuts' });
        const span = { prepared: w.position, ended: null };
        w.xaPrepare({ formatId: 1, gtrid: Buffer.from(gtrid), bqual: Buffer.alloc(0) });
        spans.push(span);
        pending.push({ left: g.after, xid, rollback: g.rollback, span });
        break;
      }
    }
  }
  return { bytes: w.toBuffer(), xa: spans };
}

let fileCount = 0;
function saveBinlog(bytes: Buffer): string {
  const file = path.join(DIR, `cuts-bin.${String(++fileCount).padStart(6, '0')}`);
  writeFileSync(file, bytes);
  return file;
}

// ---- comparison -------------------------------------------------------------------------------

/** Everything `inspect --stats` prints or reports, as plain data. */
function printed(r: Omit<ParallelStatsResult, 'bytesTotal' | 'threads'>): unknown {
  return { stats: r.stats.snapshot(), incomplete: r.incomplete, tails: r.tails, warnings: r.warnings, bytes: r.bytes };
}

async function onePass(file: string): Promise<StatsResult> {
  return collectStats({ ranges: await resolveBinlogFiles([file]), allFiles: [file], filter: {}, verifyChecksums: true });
}

const PLANS: ReadonlyArray<readonly number[]> = [jobWeights(2, 1, 0), jobWeights(3, 1, 0), [1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1]];

describe('stats of a cut input equal one pass', () => {
  it('job plans of every shape, run in this thread and merged in order', async () => {
    let cutsSeen = 0;
    let xaSplits = 0;
    await fc.assert(
      fc.asyncProperty(arbBinlog, async (gen) => {
        const { bytes, xa } = writeBinlog(gen);
        const file = saveBinlog(bytes);
        const whole = await onePass(file);
        expect(whole.splitXa).toBe(false);
        for (const weights of PLANS) {
          const jobs = await planRanges(await resolveBinlogFiles([file]), weights);
          const cuts = jobs.slice(1).map((j) => j[0]!.range!.start);
          cutsSeen += cuts.length;
          // The jobs tile the file: each starts where the one before it ends.
          expect(jobs.flat().map((f) => [f.range?.start ?? 0, f.range?.end ?? f.size])).toEqual([0, ...cuts].map((start, k) => [start, cuts[k] ?? bytes.length]));
          const results: StatsResult[] = [];
          for (let k = 0; k < jobs.length; k++) results.push(await collectStats({ ranges: jobs[k]!, allFiles: [file], filter: {}, verifyChecksums: true, more: k < jobs.length - 1 }));
          // A job ends at a cut holding a prepared XA transaction when the cut comes after its
          // PREPARE and not after the group that ends it.
          const heldAtCut = xa.some((s) => cuts.some((c) => c > s.prepared && (s.ended === null || c <= s.ended)));
          expect(results.some((r) => r.splitXa)).toBe(heldAtCut);
          if (heldAtCut) xaSplits++;
          else expect(printed(mergeResults(results))).toEqual(printed(mergeResults([whole])));
        }
      }),
      { seed: SEED, numRuns: RUNS },
    );
    // The generator must reach the cases it is for.
    expect(cutsSeen).toBeGreaterThan(RUNS * 4);
    expect(xaSplits).toBeGreaterThan(0);
  });

  it('a group open at a cut is reported as one pass reports it (new-group-started), not as the end of the input', async () => {
    const file = saveBinlog(openGroupsBinlog());
    const whole = await onePass(file);
    expect(whole.incomplete.map((t) => t.reason)).toEqual(Array.from({ length: 10 }, () => 'new-group-started'));
    let openAtCut = 0;
    for (const weights of PLANS) {
      const jobs = await planRanges(await resolveBinlogFiles([file]), weights);
      expect(jobs.length).toBe(weights.length);
      // An abandoned group's end takes in the GTID event that ended it: here, the one at a cut.
      const cuts = jobs.slice(1).map((j) => j[0]!.range!.start);
      openAtCut += cuts.filter((c) => whole.incomplete.some((t) => t.pos < c && t.end > c)).length;
      const results: StatsResult[] = [];
      for (let k = 0; k < jobs.length; k++) results.push(await collectStats({ ranges: jobs[k]!, allFiles: [file], filter: {}, verifyChecksums: true, more: k < jobs.length - 1 }));
      expect(printed(mergeResults(results))).toEqual(printed(mergeResults([whole])));
    }
    expect(openAtCut).toBeGreaterThan(0);
  });
});

/** 41 one-row transactions on one INT column, every fourth never committed (the next GTID event ends it). */
function openGroupsBinlog(): Buffer {
  const column: ColumnDef = { index: 0, name: 'a', type: ColumnType.LONG, binlogType: ColumnType.LONG, meta: 0, nullable: false, unsigned: false, collation: null, enumLabels: null, setLabels: null, geometryType: null, isJson: false, visible: true };
  const groups: GenGroup[] = Array.from({ length: 41 }, (_, i) => ({ kind: i % 4 === 3 ? 'open' : 'commit', table: 0, rows: [{ kind: 'write', images: [[Buffer.from([i, 0, 0, 0])]] }] }));
  return writeBinlog({ tables: [[column]], groups }).bytes;
}

// ---- through the worker threads ----------------------------------------------------------------

const DIST = path.resolve(import.meta.dirname, '../../dist/pipeline/parallel-stats.js');

async function distParallelStats(): Promise<(paths: readonly string[], options: ParallelStatsOptions) => Promise<ParallelStatsResult>> {
  if (!existsSync(DIST)) throw new Error(`${DIST} does not exist: run \`npm run build\` first (the worker threads run the built code)`);
  return ((await import(pathToFileURL(DIST).href)) as { parallelStats: (paths: readonly string[], options: ParallelStatsOptions) => Promise<ParallelStatsResult> }).parallelStats;
}

describe('parallelStats through its worker threads', () => {
  it('2 and 3 threads (4 jobs per thread) equal 1 thread on generated binlogs, XA split across a cut included', async () => {
    const parallel = await distParallelStats();
    const samples = fc.sample(arbBinlog, { seed: SEED, numRuns: 8 });
    let refused = 0;
    for (const gen of samples) {
      const { bytes } = writeBinlog(gen);
      const file = saveBinlog(bytes);
      const one = await parallel([file], { threads: 1 });
      expect(one.threads).toBe(1);
      for (const threads of [2, 3]) {
        const many = await parallel([file], { threads, minBytesPerThread: 0 });
        expect(printed(many)).toEqual(printed(one));
        expect(many.bytesTotal).toBe(bytes.length);
        // One pass again when a cut held a prepared XA transaction, else the threads ran.
        if (many.threads === 1) refused++;
      }
    }
    expect(refused).toBeGreaterThan(0);
    expect(refused).toBeLessThan(samples.length * 2);
  });

  it('groups open at the cuts: 2, 3 and 4 threads equal 1 thread', async () => {
    const parallel = await distParallelStats();
    const file = saveBinlog(openGroupsBinlog());
    const one = await parallel([file], { threads: 1 });
    for (const threads of [2, 3, 4]) {
      const many = await parallel([file], { threads, minBytesPerThread: 0 });
      expect(many.threads).toBe(threads);
      expect(printed(many)).toEqual(printed(one));
    }
  });
});
