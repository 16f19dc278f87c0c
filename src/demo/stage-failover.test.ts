import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { harnessBinaries } from '../../test/harness/mariadb-binaries.js';
import { parseConfig } from '../config/normalise.js';
import type { SqlRow } from '../db/sql-session.js';
import {
  CASE_CLASH_EMAILS,
  FAILOVER_LOGICAL_REFERENCES,
  FAILOVER_SCHEMA,
  FAILOVER_SEED,
  FAILOVER_TABLES,
  FailoverErrorCode,
  planFailoverWorkload,
  stageFailover,
  type FailoverTable,
  type StagedFailover,
} from './stage-failover.js';

const context = { host: process, binaries: harnessBinaries() };

/** Pids of live processes whose command line names `folder` (a server left running in it). */
function holders(folder: string): string[] {
  return readdirSync('/proc')
    .filter((e) => /^\d+$/.test(e))
    .filter((pid) => {
      try {
        return readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes(folder);
      } catch {
        return false;
      }
    });
}

function row(rows: readonly SqlRow[], id: number): SqlRow | undefined {
  return rows.find((r) => r['id'] === id);
}

function ids(rows: readonly SqlRow[]): number[] {
  return rows.map((r) => Number(r['id']));
}

const range = (from: number, to: number): number[] => Array.from({ length: to - from + 1 }, (_, i) => from + i);

describe('planFailoverWorkload', () => {
  it('plans the default seed to exact counts, ids and parts', () => {
    const w = planFailoverWorkload();
    expect(w.seed).toBe(FAILOVER_SEED);
    expect([w.shared.length, w.lost.length, w.dr.length, w.lostRotateBefore]).toEqual([20, 30, 15, 15]);
    expect(w.forkNextIds).toEqual({ 'shop.customers': 13, 'shop.orders': 12, 'shop.order_notes': 13 });
    // Both sides hand out ids from the same counters: the DR's are a prefix of the primary's here.
    expect(w.lostInsertIds).toEqual({ 'shop.customers': range(13, 22), 'shop.orders': range(12, 20), 'shop.order_notes': range(13, 28) });
    expect(w.drInsertIds).toEqual({ 'shop.customers': range(13, 17), 'shop.orders': range(12, 14), 'shop.order_notes': range(13, 16) });
    expect(w.roles).toEqual({
      differentColumnsOrderId: 9,
      deletedOnDrOrderId: 3,
      updatedOnDrOrderId: 2,
      deletedOrderIds: [1, 4],
      sameColumnCustomerId: 11,
      revertedCustomerId: 1,
    });
    expect(w.caseClash).toEqual({ primaryId: 17, primaryEmail: 'Zed@example.com', drId: 15, drEmail: 'zed@example.com' });
    expect(w.lost.at(-1)?.label).toBe('customer 22 (new) places order 20 with note 28');
    expect(w.dr.map((t) => t.label)).toContain("customer 1's rename is undone (name and updated_at as at the cut)");
  });

  it('is a pure function of the seed and scale', () => {
    expect(planFailoverWorkload(7)).toEqual(planFailoverWorkload(7));
    expect(planFailoverWorkload(7)).not.toEqual(planFailoverWorkload(8));
    const doubled = planFailoverWorkload(7, 2);
    expect([doubled.shared.length, doubled.lost.length, doubled.dr.length]).toEqual([40, 60, 30]);
    // Below the scripted parts, each phase keeps them all and one more transaction.
    const tiny = planFailoverWorkload(7, 0.01);
    expect([tiny.shared.length, tiny.lost.length, tiny.dr.length]).toEqual([4, 13, 11]);
  });

  it('refuses a scale that is not a positive number', () => {
    for (const scale of [0, -1, Number.NaN, Number.POSITIVE_INFINITY]) {
      expect(() => planFailoverWorkload(1, scale)).toThrow(expect.objectContaining({ code: FailoverErrorCode.BadOption, details: { option: 'scale' } }));
    }
  });

  it('predicts consecutive AUTO_INCREMENT ids from the fork on both sides, and a change from every statement', () => {
    for (const seed of [1, 2, 3, 99, FAILOVER_SEED]) {
      for (const scale of [0.3, 1, 2.5]) {
        const w = planFailoverWorkload(seed, scale);
        for (const [phase, inserted] of [
          [w.lost, w.lostInsertIds],
          [w.dr, w.drInsertIds],
        ] as const) {
          const seen: Record<FailoverTable, number[]> = { 'shop.customers': [], 'shop.orders': [], 'shop.order_notes': [] };
          for (const s of phase.flatMap((t) => t.statements)) {
            expect(s.expectRows).toBeGreaterThan(0);
            if (s.expectInsertId === undefined) continue;
            const table = FAILOVER_TABLES.find((t) => s.sql.startsWith(`INSERT INTO ${t} `))!;
            seen[table].push(...range(s.expectInsertId, s.expectInsertId + s.expectRows - 1));
          }
          expect(seen).toEqual(inserted);
          for (const t of FAILOVER_TABLES) expect(inserted[t][0]).toBe(w.forkNextIds[t]);
        }
        // The collision and the case clash are there whatever the seed.
        expect(w.drInsertIds['shop.customers'].length).toBeGreaterThanOrEqual(3);
        expect(w.caseClash.primaryId).toBeGreaterThanOrEqual(w.forkNextIds['shop.customers']);
        expect(w.caseClash.drId).toBeGreaterThanOrEqual(w.forkNextIds['shop.customers']);
      }
    }
  });

  it('declares the logical foreign key in a form the configuration accepts', () => {
    const parsed = parseConfig({ tables: FAILOVER_LOGICAL_REFERENCES });
    expect(parsed.ok && parsed.config.tables.map((t) => [t.pattern, t.references])).toEqual([
      ['shop.order_notes', { order_id: { schema: 'shop', table: 'orders', column: 'id' } }],
    ]);
    expect(FAILOVER_SCHEMA.join('\n')).not.toMatch(/order_notes[^;]*FOREIGN KEY/);
  });
});

describe('stageFailover', () => {
  let filesDir = '';
  let staged: StagedFailover;

  beforeAll(async () => {
    filesDir = await mkdtemp(join(tmpdir(), 'salvage-failover-test-'));
    staged = await stageFailover({ context, filesDir, progress: () => undefined });
  });

  afterAll(async () => {
    await staged?.stop();
    await rm(filesDir, { recursive: true, force: true });
  });

  it('copies the primary binlogs and cuts the last in the middle of the last lost commit', () => {
    expect(staged.files.map((f) => basename(f))).toEqual(['mysql-bin.000001', 'mysql-bin.000002']);
    for (const f of staged.files) expect(existsSync(f)).toBe(true);
    expect(readFileSync(staged.indexFile, 'utf8').trim().split('\n').map((l) => basename(l))).toEqual(['mysql-bin.000001', 'mysql-bin.000002']);
    const cut = staged.cut!;
    expect(cut.file).toBe(staged.files[1]);
    expect(statSync(cut.file).size).toBe(cut.sizeAfter);
    expect(cut.sizeAfter).toBe(cut.eventOffset + cut.keptBytes);
    expect(staged.cutTransaction).toEqual({ label: 'customer 22 (new) places order 20 with note 28', gtid: '0-1-54' });
    expect(staged.primaryVersion).toMatch(/MariaDB/);
  });

  it('leaves the DR at the primary position of the link cut, and both sides writing the same sequence numbers', () => {
    const atCut = FAILOVER_SCHEMA.length + staged.workload.shared.length;
    expect(staged.linkCutGtidPos).toBe(`0-1-${atCut}`);
    expect(staged.drGtidSlavePos).toBe(staged.linkCutGtidPos);
    expect(staged.lost.length).toBe(30);
    expect(staged.lost.map((t) => t.gtid)).toEqual(range(atCut + 1, atCut + 30).map((n) => `0-1-${n}`));
    expect(staged.lost.map((t) => t.label)).toEqual(staged.workload.lost.map((t) => t.label));
    expect(staged.primaryFinalGtidPos).toBe(`0-1-${atCut + 30}`);
    expect(staged.drOwn.map((t) => t.gtid)).toEqual(range(atCut + 1, atCut + 15).map((n) => `0-2-${n}`));
    expect(staged.drGtidBinlogPos).toBe(`0-2-${atCut + 15}`);
  });

  it("leaves in the DR's own binlog what it replicated (server_id 1) and then what it wrote itself (server_id 2)", async () => {
    const files = await staged.dr.binlogFiles();
    expect(files.map((f) => basename(f))).toEqual(['mysql-bin.000001']);
    const events = (await staged.dr.query(`SHOW BINLOG EVENTS IN '${basename(files[0]!)}'`)).rows;
    // The GTID event of each transaction, in binlog order, as domain-server-seq.
    const gtids = events.filter((e) => e['Event_type'] === 'Gtid').map((e) => `${String(e['Server_id'])}:${String(e['Info']).replace(/^BEGIN GTID |^GTID /, '')}`);
    const atCut = FAILOVER_SCHEMA.length + staged.workload.shared.length;
    expect(gtids).toEqual([...range(1, atCut).map((n) => `1:0-1-${n}`), ...staged.drOwn.map((t) => `2:${t.gtid}`)]);
  });

  it('snapshots the DR at the failover with none of the lost rows', () => {
    const { forkNextIds } = staged.workload;
    for (const t of FAILOVER_TABLES) {
      expect(Math.max(...ids(staged.drAtFailover[t]))).toBeLessThan(forkNextIds[t]);
    }
    expect(ids(staged.drAtFailover['shop.orders'])).toEqual(range(1, 11));
  });

  it('gives DR records the ids of the primary lost inserts: the AUTO_INCREMENT collision is real', () => {
    const primary = staged.primaryFinal['shop.customers'];
    const dr = staged.drAfterPromotion['shop.customers'];
    for (const id of range(13, 17)) {
      const p = row(primary, id)!;
      const d = row(dr, id)!;
      expect(p['email']).not.toBe(d['email']);
      expect(p['name']).not.toBe(d['name']);
    }
    expect(row(primary, 13)?.['email']).toMatch(/@example\.com$/);
    expect(row(dr, 13)?.['email']).toMatch(/@example\.net$/);
    expect(ids(staged.primaryFinal['shop.orders'])).toEqual([3, 5, 6, 7, 8, 9, 10, 11, ...range(12, 20)]);
    expect(ids(staged.drAfterPromotion['shop.orders'])).toEqual([1, 2, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14]);
  });

  it('holds the case clash: emails equal under utf8mb4_general_ci, one on each side', () => {
    expect(row(staged.primaryFinal['shop.customers'], 17)).toMatchObject({ email: CASE_CLASH_EMAILS.primary, name: 'Zed Webb' });
    expect(row(staged.drAfterPromotion['shop.customers'], 15)).toMatchObject({ email: CASE_CLASH_EMAILS.dr, name: 'Zed Calloway' });
    expect(staged.drAfterPromotion['shop.customers'].filter((r) => r['email'] === CASE_CLASH_EMAILS.primary)).toEqual([]);
  });

  it('changes the pre-existing rows the plan gave a part, on the side it says', () => {
    const { roles } = staged.workload;
    const at = staged.drAtFailover;
    const p = staged.primaryFinal;
    const d = staged.drAfterPromotion;
    const differentColumns = row(at['shop.orders'], roles.differentColumnsOrderId)!;
    expect(row(p['shop.orders'], roles.differentColumnsOrderId)).toEqual({ ...differentColumns, status: 'paid' });
    expect(row(d['shop.orders'], roles.differentColumnsOrderId)).toMatchObject({ status: differentColumns['status'] });
    expect(row(d['shop.orders'], roles.differentColumnsOrderId)?.['total']).not.toBe(differentColumns['total']);
    const sameColumn = row(at['shop.customers'], roles.sameColumnCustomerId)!;
    const cents = (v: unknown): number => Math.round(Number(v) * 100);
    expect(cents(row(p['shop.customers'], roles.sameColumnCustomerId)?.['balance'])).toBe(cents(sameColumn['balance']) + 2500);
    expect(cents(row(d['shop.customers'], roles.sameColumnCustomerId)?.['balance'])).toBe(cents(sameColumn['balance']) + 1000);
    expect(row(d['shop.orders'], roles.deletedOnDrOrderId)).toBeUndefined();
    expect(row(p['shop.orders'], roles.deletedOnDrOrderId)).toBeDefined();
    expect(row(p['shop.orders'], roles.updatedOnDrOrderId)).toBeUndefined();
    expect(row(d['shop.orders'], roles.updatedOnDrOrderId)).not.toEqual(row(at['shop.orders'], roles.updatedOnDrOrderId));
    // Renamed and renamed back: the DR row is as it was at the cut, the primary's is not.
    const reverted = row(at['shop.customers'], roles.revertedCustomerId)!;
    expect(row(d['shop.customers'], roles.revertedCustomerId)).toEqual(reverted);
    expect(row(p['shop.customers'], roles.revertedCustomerId)?.['name']).toBe(`${String(reverted['name'])} Jr.`);
    // The lost note on the order the DR deleted: its parent exists only through the logical reference.
    const orphan = p['shop.order_notes'].filter((n) => n['order_id'] === roles.deletedOnDrOrderId && Number(n['id']) >= staged.workload.forkNextIds['shop.order_notes']);
    expect(orphan.length).toBe(1);
  });

  it('stops the DR and removes both folders on stop()', async () => {
    const drDir = staged.dr.rootDir;
    await staged.stop();
    expect(staged.dr.running).toBe(false);
    for (const dir of [drDir, staged.primaryDir]) {
      expect(existsSync(dir)).toBe(false);
      expect(holders(dir)).toEqual([]);
    }
  });
});

describe('stageFailover on error', () => {
  it('stops both servers and removes their folders when a step fails', async () => {
    const said: string[] = [];
    const run = stageFailover({
      context,
      filesDir: '/nonexistent/salvage-failover-target', // the copy step fails: ENOENT
      scale: 0.2,
      progress: (m) => said.push(m),
    });
    await expect(run).rejects.toMatchObject({ code: 'ENOENT' });
    const folders = [...said.join('\n').matchAll(/folder (\S+)\)/g)].map((m) => m[1]!);
    expect(folders.length).toBe(2);
    for (const folder of folders) {
      expect(folder).toMatch(/binlog-salvage-mdb-failover-(primary|dr)-/);
      expect(existsSync(folder)).toBe(false);
      expect(holders(folder)).toEqual([]);
    }
  });
});
