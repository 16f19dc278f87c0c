/**
 * One initialised MariaDB data directory per machine, copied for each throwaway server.
 * `mariadb-install-db` costs seconds on a busy box; a copy costs tens of milliseconds.
 * The template lives under os.tmpdir() keyed by the server binary and the init options,
 * is built under a lock file so parallel vitest workers do not all build it, and is
 * published with an atomic rename so a reader never sees a half-built one.
 */
import { execFile } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { existsSync, statSync } from 'node:fs';
import { open, readFile, rename, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { EngineError } from '../../src/errors.js';
import { HarnessErrorCode, mariadbdPath, mariadbInstallDbPath } from './mariadb-binaries.js';

/** InnoDB redo size baked into the template; servers start with the same so nothing is resized. */
export const TEMPLATE_LOG_FILE_SIZE = '8M';

// Bump when the init arguments change meaning, so old cached templates are ignored.
const TEMPLATE_VERSION = 1;
const INIT_TIMEOUT_MS = 120_000;
const LOCK_STALE_MS = 180_000;

let memo: Promise<string> | undefined;

/** Path of the ready template data directory (built on first use, then cached per process and per machine). */
export function mariadbTemplateDir(): Promise<string> {
  memo ??= ensureTemplate().catch((err: unknown) => {
    memo = undefined;
    throw err;
  });
  return memo;
}

function installArgs(dataDir: string): string[] {
  return [
    '--no-defaults',
    '--auth-root-authentication-method=normal',
    '--skip-test-db',
    `--datadir=${dataDir}`,
    '--user=root',
    `--innodb-log-file-size=${TEMPLATE_LOG_FILE_SIZE}`,
    '--innodb-buffer-pool-size=64M',
    '--skip-name-resolve',
  ];
}

function templateKey(): string {
  const server = mariadbdPath();
  const s = statSync(server);
  const facts = [TEMPLATE_VERSION, server, s.size, s.mtimeMs, installArgs('').join(' ')].join('|');
  return createHash('sha256').update(facts).digest('hex').slice(0, 16);
}

async function ensureTemplate(): Promise<string> {
  const finalDir = join(tmpdir(), `binlog-salvage-mariadb-template-${templateKey()}`);
  if (existsSync(finalDir)) return finalDir;
  const lockPath = `${finalDir}.lock`;
  await acquireLock(lockPath, finalDir);
  try {
    if (!existsSync(finalDir)) await buildTemplate(finalDir);
  } finally {
    await rm(lockPath, { force: true });
  }
  return finalDir;
}

/** Takes the lock file, or returns early once another process has published the template. */
async function acquireLock(lockPath: string, finalDir: string): Promise<void> {
  const deadline = Date.now() + INIT_TIMEOUT_MS + 10_000;
  for (;;) {
    if (existsSync(finalDir)) return;
    try {
      const handle = await open(lockPath, 'wx');
      await handle.writeFile(String(process.pid));
      await handle.close();
      return;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    }
    if (await lockIsStale(lockPath)) {
      await rm(lockPath, { force: true });
      continue;
    }
    if (Date.now() > deadline) {
      throw new EngineError(HarnessErrorCode.TemplateInitFailed, `timed out waiting for another process to build ${finalDir} (lock ${lockPath})`, {
        file: lockPath,
      });
    }
    await new Promise((r) => setTimeout(r, 100));
  }
}

async function lockIsStale(lockPath: string): Promise<boolean> {
  try {
    const [text, info] = await Promise.all([readFile(lockPath, 'utf8'), stat(lockPath)]);
    const holder = Number.parseInt(text, 10);
    if (Date.now() - info.mtimeMs > LOCK_STALE_MS) return true;
    // An empty file is a holder between open and write: not stale yet.
    return Number.isInteger(holder) && holder > 0 && !processAlive(holder);
  } catch {
    return false; // vanished: the next open will tell
  }
}

/** True when `pid` names a live process (EPERM still means it exists). */
export function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

async function buildTemplate(finalDir: string): Promise<void> {
  const building = `${finalDir}.tmp-${process.pid}-${randomBytes(4).toString('hex')}`;
  try {
    await runInstallDb(building);
    await rename(building, finalDir);
  } catch (err) {
    await rm(building, { recursive: true, force: true });
    // Lost a race after a stale-lock break: the other builder's template is as good.
    if (existsSync(finalDir)) return;
    throw err;
  }
}

function runInstallDb(dataDir: string): Promise<void> {
  const program = mariadbInstallDbPath();
  return new Promise((resolve, reject) => {
    execFile(program, installArgs(dataDir), { timeout: INIT_TIMEOUT_MS, maxBuffer: 4 * 1024 * 1024 }, (err, stdout, stderr) => {
      if (err === null) {
        resolve();
        return;
      }
      const tail = `${stdout}\n${stderr}`.trim().split('\n').slice(-30).join('\n');
      reject(
        new EngineError(HarnessErrorCode.TemplateInitFailed, `${program} failed for ${dataDir}: ${err.message}\n${tail}`, { file: dataDir }, { cause: err }),
      );
    });
  });
}
