/**
 * A run that waits on the DR says why (src/db/stall-watch.ts): a row an application left locked, a
 * table an ALTER or LOCK TABLES holds. Real servers: the holder is a second DR session; the run's
 * notice must name it, and the run must end as an unhindered one once the holder lets go.
 */
import { describe, expect, it } from 'vitest';
import { runSalvageCommand } from '../../src/cli/salvage-command.js';
import type { StallNotice } from '../../src/db/stall-watch.js';
import { openSession, type SqlSession } from '../../src/db/sql-session.js';
import { salvage, type SalvageOptions } from '../../src/pipeline/salvage.js';
import { Capture } from '../harness/capture.js';
import { stageIncident, useServerPair, type Staged } from '../harness/incident-pair.js';

const servers = useServerPair('stall');

const TABLE = 'CREATE TABLE t.people (id INT UNSIGNED NOT NULL PRIMARY KEY, email VARCHAR(80) NOT NULL, n INT NOT NULL DEFAULT 0) ENGINE=InnoDB';

/** Both sides with rows 1 and 2; the primary then updates row 2 (the lost change). */
function stage(): Promise<Staged> {
  return stageIncident(servers.primary, servers.dr, { schema: [TABLE], base: ["INSERT INTO t.people (id, email) VALUES (1, 'jose@x'), (2, 'ann@x')"], lost: ['UPDATE t.people SET n = 7 WHERE id = 2'] });
}

function options(staged: Staged, extra: Partial<SalvageOptions> = {}): SalvageOptions {
  return { mode: 'apply', binlogs: staged.files, target: servers.dr.target, start: { kind: 'from-gtid', set: staged.start }, ...extra };
}

/** Resolves with the first notice, and lets the holder go then. */
function firstStall(holder: SqlSession, release: string): { notices: StallNotice[]; onStall: (n: StallNotice) => void; seen: Promise<StallNotice> } {
  const notices: StallNotice[] = [];
  let resolve!: (n: StallNotice) => void;
  const seen = new Promise<StallNotice>((r) => (resolve = r));
  return {
    notices,
    seen,
    onStall: (n) => {
      notices.push(n);
      if (notices.length === 1) {
        resolve(n);
        void holder.query(release);
      }
    },
  };
}

describe('a run waiting on the DR says why', () => {
  it('a row an application holds locked: the notice names the holding connection, and the run ends as an unhindered one once it lets go', async () => {
    const staged = await stage();
    const holder = await openSession(servers.dr.target);
    try {
      await holder.query('START TRANSACTION');
      await holder.query('SELECT * FROM t.people WHERE id = 2 FOR UPDATE');
      const holderId = holder.threadId!;
      const watch = firstStall(holder, 'ROLLBACK');
      const report = await salvage(options(staged, { stallNoticeMs: 300, onStall: watch.onStall }));
      const n = await watch.seen;
      expect(watch.notices).toHaveLength(1);
      expect(n.waitedMs).toBeGreaterThanOrEqual(300);
      expect(n.statement).toMatch(/^SELECT CAST\(`id` AS CHAR\)/);
      expect(n.table).toBe('t.people');
      expect(n.state).not.toBeNull();
      expect(n.unanswered).toBeNull();
      expect(n.blockers).toEqual([{ id: holderId, user: 'root', host: expect.stringMatching(/^(localhost|127\.0\.0\.1)/), command: 'Sleep', seconds: expect.any(Number), statement: null }]);
      expect(report.outcomes).toMatchObject({ applied: 1, quarantined: 0 });
      expect(await servers.dr.query('SELECT id, n FROM t.people ORDER BY id')).toEqual([
        { id: 1, n: 0 },
        { id: 2, n: 7 },
      ]);
    } finally {
      await holder.end();
    }
  });

  it('a table another connection holds (LOCK TABLES … WRITE): the state says metadata lock, and the CLI prints the warning line', async () => {
    const staged = await stage();
    const holder = await openSession(servers.dr.target);
    try {
      await holder.query('LOCK TABLES t.people WRITE');
      const err = new Capture();
      let released = false;
      const timer = setInterval(() => {
        if (!released && err.text.includes('metadata lock')) {
          released = true;
          void holder.query('UNLOCK TABLES');
        }
      }, 50);
      try {
        await runSalvageCommand('apply', ['--binlog', ...staged.files, '--target', servers.dr.url, '--from-gtid', staged.start, '--stall-notice', '0.3', '--progress', 'plain'], new Capture(), err, { env: {}, home: undefined, isTty: false });
      } finally {
        clearInterval(timer);
      }
      expect(released).toBe(true);
      expect(err.text).toMatch(/salvage: warning: the DR has been running one statement on t\.people for \d+\.\d s \(SELECT .*\); its state there: "Waiting for table metadata lock"; another connection holds the table's metadata lock/);
      expect(await servers.dr.query('SELECT id, n FROM t.people ORDER BY id')).toEqual([
        { id: 1, n: 0 },
        { id: 2, n: 7 },
      ]);
    } finally {
      await holder.end();
    }
  });

  it('--quiet prints no stall line; --stall-notice 0 asks nothing; a bad value is a usage error', async () => {
    const staged = await stage();
    await expect(runSalvageCommand('apply', ['--binlog', ...staged.files, '--target', servers.dr.url, '--from-gtid', staged.start, '--stall-notice', 'soon'], new Capture(), new Capture(), { env: {}, home: undefined, isTty: false })).rejects.toMatchObject({
      code: 'USAGE',
      message: '--stall-notice takes seconds ≥ 0 (30, 0.5; 0: never), got "soon"',
    });
    const holder = await openSession(servers.dr.target);
    try {
      await holder.query('START TRANSACTION');
      await holder.query('SELECT * FROM t.people WHERE id = 2 FOR UPDATE');
      const notices: StallNotice[] = [];
      const release = setTimeout(() => void holder.query('ROLLBACK'), 1500);
      await salvage(options(staged, { stallNoticeMs: 0, onStall: (n) => notices.push(n) }));
      clearTimeout(release);
      expect(notices).toEqual([]);
    } finally {
      await holder.end();
    }
    const again = await stage();
    const holder2 = await openSession(servers.dr.target);
    try {
      await holder2.query('START TRANSACTION');
      await holder2.query('SELECT * FROM t.people WHERE id = 2 FOR UPDATE');
      const err = new Capture();
      const release = setTimeout(() => void holder2.query('ROLLBACK'), 1500);
      await runSalvageCommand('apply', ['--binlog', ...again.files, '--target', servers.dr.url, '--from-gtid', again.start, '--stall-notice', '0.3', '--quiet'], new Capture(), err, { env: {}, home: undefined, isTty: false });
      clearTimeout(release);
      expect(err.text).toBe('');
      expect(await servers.dr.query('SELECT id, n FROM t.people ORDER BY id')).toEqual([
        { id: 1, n: 0 },
        { id: 2, n: 7 },
      ]);
    } finally {
      await holder2.end();
    }
  });
});
