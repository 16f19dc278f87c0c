/**
 * A run that waits on the DR says why (src/db/stall-watch.ts): a row an application left locked, a
 * table an ALTER or LOCK TABLES holds. Real servers: the holder is a second DR session; the run's
 * notice must name it, and the run must end as an unhindered one once the holder lets go. A
 * metadata lock's holder is named only with MariaDB's metadata_lock_info plugin: the tests that
 * need it install it on the throwaway DR and uninstall it after, so the others see a DR without.
 */
import { describe, expect, it } from 'vitest';
import { runSalvageCommand } from '../../src/cli/salvage-command.js';
import { describeStall, type StallNotice } from '../../src/db/stall-watch.js';
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

/** Runs `fn` with MariaDB's metadata_lock_info plugin loaded on the DR, unloaded after. */
async function withMetadataLockInfo(fn: () => Promise<void>): Promise<void> {
  await servers.dr.query("INSTALL SONAME 'metadata_lock_info'");
  try {
    await fn();
  } finally {
    await servers.dr.query("UNINSTALL SONAME 'metadata_lock_info'");
  }
}

/** Resolves once connection `id` waits for a metadata lock. */
async function waitingForMetadataLock(id: number): Promise<void> {
  for (let i = 0; i < 200; i++) {
    const [row] = await servers.dr.query('SELECT STATE AS state FROM information_schema.PROCESSLIST WHERE ID = ?', [id]);
    if (row?.['state'] === 'Waiting for table metadata lock') return;
    await new Promise((r) => setTimeout(r, 25));
  }
  throw new Error(`connection ${id} never waited for a metadata lock`);
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

  it('a row locked, the run under an account without PROCESS (the runbook\'s grants): the notice says the holder cannot be seen and how to see it', async () => {
    // Found walking the runbook with its least-privilege account: the warning said only
    // 'its state there: "Sending data"', as if the DR were slow, while an application held the row.
    const staged = await stage();
    await servers.dr.query("CREATE USER IF NOT EXISTS 'stall_lp'@'%' IDENTIFIED BY 'lp-pw'");
    await servers.dr.query("GRANT SELECT, INSERT, UPDATE, DELETE ON t.* TO 'stall_lp'@'%'");
    await servers.dr.query("GRANT CREATE, SELECT, INSERT, UPDATE ON salvage.* TO 'stall_lp'@'%'");
    const holder = await openSession(servers.dr.target);
    try {
      await holder.query('START TRANSACTION');
      await holder.query('SELECT * FROM t.people WHERE id = 2 FOR UPDATE');
      const watch = firstStall(holder, 'ROLLBACK');
      const target = { ...servers.dr.target, user: 'stall_lp', password: 'lp-pw', redacted: `mysql://stall_lp:***@127.0.0.1:${servers.dr.port}` };
      const report = await salvage(options(staged, { target, stallNoticeMs: 300, onStall: watch.onStall }));
      const n = await watch.seen;
      expect(n.blockers).toEqual([]);
      expect(n.lockHoldersUnreadable).toBe(true);
      expect(describeStall(n)).toMatch(
        /^the DR has been running one statement on t\.people for \d+\.\d s \(SELECT .*\); its state there: "[^"]+"; whether it waits for a lock another connection holds, and which, this account cannot see \(MariaDB's information_schema\.INNODB_TRX needs the PROCESS privilege, MySQL 8's performance_schema\.data_lock_waits SELECT on performance_schema\): SHOW PROCESSLIST as an administrator lists the connections, or grant that to this account to have the holder named here$/,
      );
      expect(report.outcomes).toMatchObject({ applied: 1, quarantined: 0 });
    } finally {
      await holder.end();
    }
  });

  it('a table another connection holds (LOCK TABLES … WRITE), on a DR without the metadata_lock_info plugin: the state says metadata lock, and the CLI prints the warning line with how to have the holder named', async () => {
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
      expect(err.text).toMatch(
        /salvage: warning: the DR has been running one statement on t\.people for \d+\.\d s \(SELECT .*\); its state there: "Waiting for table metadata lock"; another connection holds the table's metadata lock \(an ALTER, LOCK TABLES, or a transaction left open that read the table\): SHOW PROCESSLIST names it; to have it named here, load MariaDB's metadata_lock_info plugin on the DR: INSTALL SONAME 'metadata_lock_info'\n/,
      );
      expect(await servers.dr.query('SELECT id, n FROM t.people ORDER BY id')).toEqual([
        { id: 1, n: 0 },
        { id: 2, n: 7 },
      ]);
    } finally {
      await holder.end();
    }
  });

  it('LOCK TABLES … WRITE with the metadata_lock_info plugin loaded: the stall event names the holding connection', async () => {
    const staged = await stage();
    await withMetadataLockInfo(async () => {
      const holder = await openSession(servers.dr.target);
      try {
        await holder.query('LOCK TABLES t.people WRITE');
        const holderId = holder.threadId!;
        const err = new Capture();
        let released = false;
        const timer = setInterval(() => {
          if (!released && err.text.includes('"event":"stall"')) {
            released = true;
            void holder.query('UNLOCK TABLES');
          }
        }, 50);
        try {
          await runSalvageCommand('apply', ['--binlog', ...staged.files, '--target', servers.dr.url, '--from-gtid', staged.start, '--stall-notice', '0.3', '--progress', 'json'], new Capture(), err, { env: {}, home: undefined, isTty: false });
        } finally {
          clearInterval(timer);
        }
        expect(released).toBe(true);
        const stall = err.text
          .split('\n')
          .filter((l) => l.includes('"event":"stall"'))
          .map((l) => JSON.parse(l) as StallNotice & { event: string })[0]!;
        expect(stall).toMatchObject({ table: 't.people', state: 'Waiting for table metadata lock', blockers: [], metadataLocks: 'metadata-lock-info', unanswered: null });
        expect(stall.metadataHolders).toEqual([{ id: holderId, user: 'root', host: expect.stringMatching(/^(localhost|127\.0\.0\.1)/), command: 'Sleep', seconds: expect.any(Number), statement: null }]);
        expect(describeStall(stall)).toContain(`; waiting for the table's metadata lock, held by connection ${holderId} (root@`);
        expect(describeStall(stall)).toMatch(/: it must let go of the table \(a transaction by commit or roll back, LOCK TABLES by UNLOCK TABLES, an ALTER by finishing\) or be ended \(KILL \d+\)$/);
        expect(await servers.dr.query('SELECT id, n FROM t.people ORDER BY id')).toEqual([
          { id: 1, n: 0 },
          { id: 2, n: 7 },
        ]);
      } finally {
        await holder.end();
      }
    });
  });

  it('a transaction left open that read the table, an ALTER queued behind it, the run behind both: the notice names the transaction and the ALTER; the run ends as an unhindered one once the transaction ends', async () => {
    const staged = await stage();
    await withMetadataLockInfo(async () => {
      const reader = await openSession(servers.dr.target);
      const alterer = await openSession(servers.dr.target);
      try {
        // The reader holds a shared metadata lock till it ends; the ALTER waits for it with an
        // exclusive request, and every new statement on the table queues behind that request.
        await reader.query('START TRANSACTION');
        await reader.query('SELECT * FROM t.people');
        const readerId = reader.threadId!;
        const alterId = alterer.threadId!;
        const alter = alterer.query("ALTER TABLE t.people COMMENT 'held'");
        await waitingForMetadataLock(alterId);
        const watch = firstStall(reader, 'COMMIT');
        const report = await salvage(options(staged, { stallNoticeMs: 300, onStall: watch.onStall }));
        await alter;
        const n = await watch.seen;
        expect(watch.notices).toHaveLength(1);
        expect(n).toMatchObject({ table: 't.people', state: 'Waiting for table metadata lock', blockers: [], metadataLocks: 'metadata-lock-info', unanswered: null });
        expect(n.statement).toMatch(/^SELECT CAST\(`id` AS CHAR\)/);
        const host = expect.stringMatching(/^(localhost|127\.0\.0\.1)/);
        expect(n.metadataHolders).toEqual([
          { id: readerId, user: 'root', host, command: 'Sleep', seconds: expect.any(Number), statement: null },
          { id: alterId, user: 'root', host, command: 'Query', seconds: expect.any(Number), statement: "ALTER TABLE t.people COMMENT 'held'" },
        ]);
        expect(describeStall(n)).toContain(`held by connection ${readerId} (root@`);
        expect(describeStall(n)).toMatch(new RegExp(`, connection ${alterId} \\(root@[^)]*, Query for \\d+ s: ALTER TABLE t\\.people COMMENT 'held'\\): each must let go of the table .* or be ended \\(KILL ${readerId}, KILL ${alterId}\\)$`));
        expect(report.outcomes).toMatchObject({ applied: 1, quarantined: 0 });
        expect(await servers.dr.query('SELECT id, n FROM t.people ORDER BY id')).toEqual([
          { id: 1, n: 0 },
          { id: 2, n: 7 },
        ]);
      } finally {
        await reader.end();
        await alterer.end();
      }
    });
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
